/*
+++
name     = "duplicate-attribute"
title    = "A UPN, proxy address or mail value two objects would hold after sync (AttributeValueMustBeUnique)"
severity = "high"
category = "uniqueness"
outcome  = "AttributeValueMustBeUnique"
requires = ["onprem_objects", "onprem_addresses", "cloud_addresses", "cloud_objects", "onprem_links", "soft_match_candidates"]
evidence = ["other_onprem_object_guid", "other_onprem_distinguished_name", "other_attribute", "placeholder_upn"]
optional = ["domains"]
cleanup  = ["remove-onprem-proxy-address", "clear-onprem-mail", "change-onprem-upn"]
+++
## What it does
Finds values Entra ID requires to be unique (userPrincipalName; SMTP addresses, where mail and
every `smtp:` proxy address share one namespace) that two objects would hold once sync has run:

- two on-prem objects hold the same value (a secondary address of one equal to the primary of
  another counts too);
- an on-prem object holds a value that a cloud object not joined to it holds, where no match
  will join the two: a cloud object that is not the twin of any on-prem object in the snapshot.
  Cloud objects joined to an on-prem object are judged by their on-prem values (those are what
  they will hold after sync). So is a cloud object the next sync takes over by soft match: the
  takeover overwrites every cloud attribute that has an on-prem value, so its old UPN goes, and
  its old addresses go when the on-prem object has SMTP addresses of its own. The candidate soft
  match joins, refuses or finds of another type is left to the matching rules; every other
  candidate of the same on-prem object (one object joins one cloud object) collides, and a
  would-be takeover on a cloud object's secondary address only is reported here with the
  uncertainty said (the docs are ambiguous on whether secondary addresses soft-match).

Comparisons are case-insensitive, as in Entra ID. Each pair is one finding. A UPN finding states
the placeholder UPN the refused user gets (`placeholder_upn`): duplicate attribute resiliency
gives it `<OriginalPrefix>+<4DigitNumber>@<InitialTenantDomain>.onmicrosoft.com`, here with the
tenant's initial domain from `domains` (the four digits are random, so they are written
`<4 digits>`).

## Why is this bad?
Entra ID refuses the second holder: sync reports AttributeValueMustBeUnique, or (with duplicate
attribute resiliency, on by default) quarantines the value, gives a user a placeholder UPN such as
`name1234@tenant.onmicrosoft.com`, and records an onPremisesProvisioningErrors entry. Mail for the
address goes to the wrong object or bounces, and sign-in with the expected UPN fails.

## Remediation
Decide which object keeps the value and remove it from the other: on-prem with
`Set-ADUser -Remove @{proxyAddresses='smtp:value'}` (or the object's mail / UPN), or in the cloud
for a cloud-only holder. If the cloud holder is a leftover of the same person, delete it or
hard-match it instead.

## References
- AttributeValueMustBeUnique: https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors#attributevaluemustbeunique
- Duplicate attribute resiliency: https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-syncservice-duplicate-attribute-resiliency
- proxyAddresses uniqueness: https://learn.microsoft.com/graph/api/resources/user
*/
-- The tenant's initial domain, for the placeholder UPN a refused user gets (one row, or none
-- without the domains collection).
WITH initial AS (
    SELECT MIN(name) AS initial_domain FROM domains WHERE is_initial
),
-- Each object holds an address once (the address table is distinct per object), so a value held
-- twice is held by two objects. Keeping only those before the self-join spares joining millions
-- of addresses with themselves. The table counts them once it is built (`holders`, by kind and
-- address): a window over the address here made polars list the rows of each of millions of
-- addresses (0.5 s of the rule's 0.8 s at a million objects), and a GROUP BY ... HAVING joined
-- back took longer still.
onprem_repeated AS (
    SELECT object_row, object_type, kind, address, origin, raw
    FROM onprem_addresses
    WHERE holders > 1
),
-- Both ways round here; each pair is kept once below, the lower GUID first (by GUID, not row:
-- the same pair reads the same way whatever order the export lists the two objects in).
onprem_pairs AS (
    SELECT
        a.object_row AS row_a, b.object_row AS row_b, a.kind, a.address,
        a.origin AS origin_a, b.origin AS origin_b, a.raw AS raw_a, b.raw AS raw_b
    FROM onprem_repeated a
    JOIN onprem_repeated b ON a.kind = b.kind AND a.address = b.address
    WHERE a.object_row <> b.object_row
),
-- A takeover overwrites the UPN, and the addresses when the on-prem object has SMTP addresses.
taken_over AS (
    SELECT s.cloud_object_id, MAX(CASE WHEN o.primary_smtp IS NOT NULL THEN 1 ELSE 0 END) = 1 AS smtp_overwritten
    FROM soft_match_candidates s
    JOIN onprem_objects o ON s.object_row = o.object_row
    WHERE s.verdict = 'takeover'
    GROUP BY s.cloud_object_id
),
-- Cloud objects keep their own values only when no on-prem object in the snapshot is their twin
-- and no takeover overwrites them.
-- The objects are found first (a few thousand of a million), then their addresses: probing every
-- cloud address against a million links took twice as long.
unlinked_cloud AS (
    SELECT c.id, c.object_row FROM cloud_objects c ANTI JOIN onprem_links l ON c.object_row = l.cloud_object_row
),
cloud_holders AS (
    SELECT u.id AS object_id, u.object_row, a.object_type, a.kind, a.address, a.origin, a.raw
    FROM cloud_addresses a
    JOIN unlinked_cloud u ON a.object_row = u.object_row
    LEFT JOIN taken_over t ON u.id = t.cloud_object_id
    WHERE t.cloud_object_id IS NULL OR (a.kind = 'smtp' AND NOT t.smtp_overwritten)
),
cloud_pairs AS (
    SELECT oo.object_guid AS guid, o.object_row AS onprem_row, c.object_id AS cloud_id, c.object_row AS cloud_row, o.kind, o.address, o.origin,
        o.raw AS raw_onprem, c.raw AS raw_cloud
    FROM onprem_addresses o
    JOIN cloud_holders c ON o.address = c.address
    JOIN onprem_objects oo ON o.object_row = oo.object_row
    WHERE o.kind = c.kind
),
-- Pairs the matching rules report (the one candidate soft match tries) are theirs; the others
-- collide. A secondary-address candidate is kept with its verdict, to say why.
judged_elsewhere AS (
    SELECT object_guid, cloud_object_id FROM soft_match_candidates
    WHERE verdict IN ('takeover', 'refused', 'type_mismatch', 'linked_elsewhere')
),
cloud_pairs_unmatched AS (
    SELECT p.*, s.verdict AS candidate_verdict
    FROM cloud_pairs p
    LEFT JOIN soft_match_candidates s ON p.guid = s.object_guid AND p.cloud_id = s.cloud_object_id
    ANTI JOIN judged_elsewhere j ON p.guid = j.object_guid AND p.cloud_id = j.cloud_object_id
)
SELECT
    CAST(NULL AS VARCHAR) AS cloud_object_id,
    CAST(NULL AS VARCHAR) AS cloud_object_type,
    a.object_guid AS onprem_object_guid,
    a.distinguished_name AS onprem_distinguished_name,
    p.origin_a AS attribute,
    p.address AS value,
    'On-prem ' || a.object_type || ' ' || a.distinguished_name || ' and on-prem ' || b.object_type || ' '
        || b.distinguished_name || ' both hold ' || p.address || ' (' || p.raw_a || ' / ' || p.raw_b
        || '). Entra ID accepts it on one of them only'
        || CASE WHEN p.kind = 'upn' THEN '; the user that exports second is quarantined with a placeholder UPN of the form '
            || SPLIT_PART(p.raw_a, '@', 1) || '<4 digits>@' || COALESCE(i.initial_domain, '<initial domain>.onmicrosoft.com') ELSE '' END
        || '.' AS message,
    'Keep ' || p.address || ' on the object that should receive it and remove it on-prem from the other ('
        || p.origin_b || ' of ' || b.distinguished_name || ', or ' || p.origin_a || ' of ' || a.distinguished_name || ').' AS remediation,
    b.object_guid AS other_onprem_object_guid,
    b.distinguished_name AS other_onprem_distinguished_name,
    p.origin_b AS other_attribute,
    CASE WHEN p.kind = 'upn' THEN SPLIT_PART(p.raw_a, '@', 1) || '<4 digits>@' || COALESCE(i.initial_domain, '<initial domain>.onmicrosoft.com') END AS placeholder_upn
FROM onprem_pairs p
JOIN onprem_objects a ON p.row_a = a.object_row
JOIN onprem_objects b ON p.row_b = b.object_row
CROSS JOIN (SELECT MAX(initial_domain) AS initial_domain FROM initial) i
WHERE a.object_guid < b.object_guid
UNION ALL
SELECT
    c.id AS cloud_object_id,
    c.object_type AS cloud_object_type,
    o.object_guid AS onprem_object_guid,
    o.distinguished_name AS onprem_distinguished_name,
    p.origin AS attribute,
    p.address AS value,
    'On-prem ' || o.object_type || ' ' || o.distinguished_name || ' holds ' || p.raw_onprem || ', which '
        || CASE c.sync_state WHEN 'cloud_only' THEN 'cloud-only ' WHEN 'formerly_synced' THEN 'formerly synced ' ELSE 'synced ' END
        || c.object_type || ' ''' || COALESCE(c.display_name, c.id) || ''' (' || c.id || ') already holds as '
        || p.raw_cloud || CASE p.candidate_verdict
            WHEN 'other_candidate' THEN '; the on-prem object joins another cloud object (one object joins one), so Entra ID will refuse the value here.'
            WHEN 'secondary_address' THEN '; it is only a secondary address of the cloud object, and whether soft match joins on one is ambiguous in the docs: if it does not, Entra ID will refuse the value.'
            ELSE '; no match joins the two, so Entra ID will refuse the value.'
        END
        || CASE WHEN p.kind = 'upn' THEN ' The on-prem user is quarantined with a placeholder UPN of the form '
            || SPLIT_PART(p.raw_onprem, '@', 1) || '<4 digits>@' || COALESCE(i.initial_domain, '<initial domain>.onmicrosoft.com') || '.' ELSE '' END AS message,
    'Remove ' || p.address || ' from one of the two: from ' || p.origin || ' of on-prem ' || o.distinguished_name
        || ', or from cloud ' || c.object_type || ' ' || c.id || '.' AS remediation,
    CAST(NULL AS VARCHAR) AS other_onprem_object_guid,
    CAST(NULL AS VARCHAR) AS other_onprem_distinguished_name,
    p.raw_cloud AS other_attribute,
    CASE WHEN p.kind = 'upn' THEN SPLIT_PART(p.raw_onprem, '@', 1) || '<4 digits>@' || COALESCE(i.initial_domain, '<initial domain>.onmicrosoft.com') END AS placeholder_upn
FROM cloud_pairs_unmatched p
JOIN onprem_objects o ON p.onprem_row = o.object_row
-- On the cloud object's row: its id's text hashed a million ids to find a few.
JOIN cloud_objects c ON p.cloud_row = c.object_row
CROSS JOIN (SELECT MAX(initial_domain) AS initial_domain FROM initial) i
