/*
+++
name     = "soft-match-takeover"
title    = "Cloud-only object that sync will take over by soft match"
severity = "info"
category = "matching"
outcome  = "SoftMatchTakeover"
requires = ["soft_match_candidates", "onprem_objects"]
evidence = ["onprem_source_anchor", "hard_match_blocked"]
cleanup  = ["hard-match-set-immutable-id"]
optional = ["role_members", "sync_features"]
+++
## What it does
Lists every cloud-only object that the next sync will join to an on-prem object by soft match
(same type, same userPrincipalName or primary SMTP address, and nothing refuses the match). This is
the migration preview: which cloud accounts become on-prem managed.

## Why is this bad?
It is not, when it is intended: that is how existing cloud accounts are brought under Active
Directory. But the takeover overwrites every cloud attribute that has a value on-prem, and it is
silent. A wrong pair (two people who share an address by accident) gives one person the other's
mailbox and files.

## Remediation
Review the pairs. Where a pair is wrong, change the address of one of the two before the first
sync. Where it is right, nothing to do; to be explicit, hard-match instead by setting the cloud
object's `onPremisesImmutableId` to the on-prem source anchor given here.

## References
- https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-install-existing-tenant
*/
-- The tenant blocks takeover through hard match: setting the immutableId is then no fix
-- (InvalidHardMatch), and the cleanup files offer no hard-match row (evidence hard_match_blocked).
WITH hard_match AS (
    SELECT COALESCE(MAX(CASE WHEN block_hard_match_takeover THEN 1 ELSE 0 END), 0) = 1 AS blocked
    FROM sync_features
)
SELECT
    s.cloud_object_id,
    s.cloud_object_type,
    o.object_guid AS onprem_object_guid,
    o.distinguished_name AS onprem_distinguished_name,
    s.attribute,
    s.address AS value,
    'Cloud-only ' || s.cloud_object_type || ' ''' || COALESCE(s.cloud_display_name, s.cloud_object_id) || ''' ('
        || s.cloud_object_id || ') will be joined by soft match on ' || s.address || ' to on-prem '
        || o.object_type || ' ' || o.distinguished_name || ' and become on-prem managed.' AS message,
    'Confirm that both are the same identity. If not, change the ' || s.attribute
        || ' of one of them before the next sync. To make the join explicit, set onPremisesImmutableId to '
        || o.source_anchor || '.' AS remediation,
    o.source_anchor AS onprem_source_anchor,
    CASE WHEN hm.blocked THEN 'true' END AS hard_match_blocked
FROM soft_match_candidates s
JOIN onprem_objects o ON s.object_row = o.object_row
CROSS JOIN hard_match hm
WHERE s.verdict = 'takeover'
