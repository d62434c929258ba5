/*
+++
name     = "duplicate-source-anchor"
title    = "Two on-prem objects with the same source anchor"
severity = "critical"
category = "uniqueness"
outcome  = "DuplicateSourceAnchor"
requires = ["onprem_objects"]
evidence = ["other_onprem_object_guid", "other_onprem_distinguished_name"]
cleanup  = ["clear-onprem-consistency-guid"]
+++
## What it does
Finds on-prem objects whose source anchor (mS-DS-ConsistencyGuid when set, else objectGUID, in
base64) is the same. objectGUIDs are unique in a forest, so this happens when
mS-DS-ConsistencyGuid was copied: ADMT cross-forest migrations that carry it over, restores from
another forest, or scripts that stamped the same value twice.

## Why is this bad?
The source anchor is the identity of an object in Entra ID. Two objects with one anchor hard-match
the same cloud object: one of them fails to sync, or worse, the two take turns overwriting one
cloud account (its mailbox, licences and sign-in).

## Remediation
Find which object legitimately owns the anchor (the one whose cloud twin holds it as
`onPremisesImmutableId`). On the other, clear mS-DS-ConsistencyGuid
(`Set-ADUser <dn> -Clear 'mS-DS-ConsistencyGuid'`) so that Entra Connect writes its own objectGUID
there, or remove it from the sync scope if it is a migration leftover.

## References
- Source anchor and mS-DS-ConsistencyGuid: https://learn.microsoft.com/entra/identity/hybrid/connect/plan-connect-design-concepts
*/
-- Only the anchors held more than once are self-joined: joining a million objects with
-- themselves first paired every object with itself (0.4-0.9 s at a million objects). The table
-- counts each anchor's holders once it is built (`anchor_holders`): a window over the anchor
-- here, and a GROUP BY ... HAVING joined back before it, made polars list the rows of each of a
-- million anchors.
WITH held AS (
    SELECT * FROM onprem_objects WHERE anchor_holders > 1
)
SELECT
    CAST(NULL AS VARCHAR) AS cloud_object_id,
    CAST(NULL AS VARCHAR) AS cloud_object_type,
    b.object_guid AS onprem_object_guid,
    b.distinguished_name AS onprem_distinguished_name,
    b.anchor_attribute AS attribute,
    b.source_anchor AS value,
    'On-prem ' || b.object_type || ' ' || b.distinguished_name || ' has the same source anchor ' || b.source_anchor
        || ' (from ' || b.anchor_attribute || ') as on-prem ' || a.object_type || ' ' || a.distinguished_name
        || ' (from ' || a.anchor_attribute || '): both would hard-match one cloud object.' AS message,
    -- Named by objectGUID (hex and dashes only), never by DN: see upn-suffix-unverified.
    'Keep the anchor on the object whose cloud twin carries it; on the other, clear mS-DS-ConsistencyGuid (Set-ADObject -Identity '''
        || b.object_guid || ''' -Clear ''mS-DS-ConsistencyGuid'') or take it out of sync scope.' AS remediation,
    a.object_guid AS other_onprem_object_guid,
    a.distinguished_name AS other_onprem_distinguished_name
FROM held a
JOIN held b ON a.source_anchor = b.source_anchor
WHERE a.object_guid < b.object_guid
