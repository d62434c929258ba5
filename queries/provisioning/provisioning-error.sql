/*
+++
name     = "provisioning-error"
title    = "Entra ID recorded a provisioning error (duplicate value quarantined)"
severity = "high"
category = "provisioning"
outcome  = "AttributeValueMustBeUnique"
requires = ["provisioning_errors", "cloud_objects", "cloud_addresses"]
evidence = ["category", "occurred_time", "other_cloud_object_id", "other_onprem_object_guid"]
optional = ["onprem_objects", "onprem_addresses", "onprem_links"]
+++
## What it does
Reports every `onPremisesProvisioningErrors` entry on users, contacts and groups, and names the
other holder of the conflicting value where it can be found: cloud objects that hold the value
today, and (with an on-prem export) on-prem objects that hold it, other than the erroring object's
own source. Graph writes the property as `ProxyAddress` or `ProxyAddresses`; both are read. The
holder is of the error's kind: for a `UserPrincipalName` conflict the object whose UPN is the value,
for a proxy address conflict the object holding the value as an address (one value can be both,
with different holders: each error names its own).

## Why is this bad?
Entra ID could not apply a value sync sent, because another object already holds it (duplicate
attribute resiliency quarantined it). The object synced without it: a user may carry a placeholder
UPN (`name1234@tenant.onmicrosoft.com`) or miss an address, so sign-in or mail delivery is wrong
until the conflict is resolved. Graph's own view of the error does not say who the other holder is.

## Remediation
Remove the value from the object that should not have it (the other holder named here, or the
erroring object's on-prem source). Entra ID re-checks quarantined values about every hour and
releases them once the conflict is gone; the error then disappears on its own.

## References
- onPremisesProvisioningError: https://learn.microsoft.com/graph/api/resources/onpremisesprovisioningerror
- Duplicate attribute resiliency: https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-syncservice-duplicate-attribute-resiliency
*/
-- One source per cloud object: two on-prem objects sharing an anchor (duplicate-source-anchor)
-- must not turn one error entry into two findings.
-- The errors meet the links and the cloud objects on the object's row, which names it as its
-- id does: a number is hashed faster than a million ids' text (0.1 s at 1M).
WITH sources AS (
    -- Only the links of objects with an error: grouping every link first cost a second at 1M.
    SELECT l.cloud_object_row, MIN(o.object_guid) AS source_guid
    FROM (
        SELECT l.object_row, l.cloud_object_row
        FROM onprem_links l
        SEMI JOIN provisioning_errors pe ON l.cloud_object_row = pe.object_row
    ) l
    JOIN onprem_objects o ON l.object_row = o.object_row
    GROUP BY l.cloud_object_row
),
-- The addresses some error names (a handful of the millions): each address table is narrowed to
-- them by a set lookup before it is joined. Joined directly, every address was hashed into a
-- 24-byte entry first, 80 MiB at the audit's peak at 1M x 1M.
named AS (
    SELECT address FROM provisioning_errors
),
errors AS (
    SELECT e.*, c.display_name, l.source_guid
    FROM provisioning_errors e
    JOIN cloud_objects c ON e.object_row = c.object_row
    LEFT JOIN sources l ON e.object_row = l.cloud_object_row
),
cloud_holders AS (
    SELECT e.object_id, e.kind, e.address, STRING_AGG(c.object_type || ' ' || c.id, ', ') AS holders,
           MIN(c.id) AS first_holder
    FROM errors e
    -- On the address alone, the kind compared after (a two-column key is encoded row by row
    -- first).
    JOIN (
        SELECT address, kind, object_row FROM cloud_addresses WHERE address IN (SELECT address FROM named)
    ) a ON e.address = a.address
    JOIN cloud_objects c ON a.object_row = c.object_row
    WHERE e.kind = a.kind AND c.id <> e.object_id
    GROUP BY e.object_id, e.kind, e.address
),
onprem_holders AS (
    SELECT e.object_id, e.kind, e.address, STRING_AGG(o.distinguished_name, '; ') AS holders,
           MIN(o.object_guid) AS first_holder
    FROM errors e
    JOIN (
        SELECT address, kind, object_row FROM onprem_addresses WHERE address IN (SELECT address FROM named)
    ) a ON e.address = a.address
    JOIN onprem_objects o ON a.object_row = o.object_row
    WHERE e.kind = a.kind AND (e.source_guid IS NULL OR o.object_guid <> e.source_guid)
    GROUP BY e.object_id, e.kind, e.address
)
SELECT
    e.object_id AS cloud_object_id,
    e.object_type AS cloud_object_type,
    e.source_guid AS onprem_object_guid,
    src.distinguished_name AS onprem_distinguished_name,
    e.property AS attribute,
    e.value,
    'Entra ID quarantined ' || COALESCE(e.property, 'a') || ' value ' || COALESCE(e.value, '(empty)') || ' on ' || e.object_type || ' '''
        || COALESCE(e.display_name, e.object_id) || ''' (' || e.object_id || ')'
        || CASE
            WHEN ch.holders IS NOT NULL AND oh.holders IS NOT NULL THEN ': it is held by cloud ' || ch.holders || ' and on-prem by ' || oh.holders
            WHEN ch.holders IS NOT NULL THEN ': it is held by cloud ' || ch.holders
            WHEN oh.holders IS NOT NULL THEN ': on-prem it is also held by ' || oh.holders
            ELSE ' (' || COALESCE(e.category, 'PropertyConflict') || '); no other holder is in the snapshot'
        END || '.' AS message,
    CASE
        WHEN ch.holders IS NOT NULL OR oh.holders IS NOT NULL THEN 'Remove ' || COALESCE(e.address, e.value, 'the value') || ' from the object that should not hold it ('
            || COALESCE('cloud ' || ch.holders, oh.holders) || ', or the on-prem source of ' || e.object_id || '); the error clears within about an hour.'
        ELSE 'Find the holder with Get-MgUser/Get-MgGroup -Filter on the value (it may be soft-deleted: check deleted items), remove the value there, and wait for the hourly re-check.'
    END AS remediation,
    e.category,
    e.occurred_time,
    ch.first_holder AS other_cloud_object_id,
    oh.first_holder AS other_onprem_object_guid
FROM errors e
-- By kind too: one object may have a UPN and a proxy error on the same value, each with its own
-- holders (the UPN's holder is the object with that UPN, the address's the object with that address).
LEFT JOIN cloud_holders ch ON e.object_id = ch.object_id AND e.kind = ch.kind AND e.address = ch.address
LEFT JOIN onprem_holders oh ON e.object_id = oh.object_id AND e.kind = oh.kind AND e.address = oh.address
-- The sources' objects found first (a few among a million): a left join with onprem_objects
-- hashed every object's GUID into a table of its own.
LEFT JOIN (
    SELECT o.object_guid, o.distinguished_name FROM onprem_objects o
    SEMI JOIN sources s ON o.object_guid = s.source_guid
) src ON e.source_guid = src.object_guid
