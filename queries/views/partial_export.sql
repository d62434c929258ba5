/*
+++
name     = "partial_export"
kind     = "view"
title    = "Whether the on-prem export looks partial (one row, with the reason, when it does)"
category = "hygiene"
requires = ["onprem_objects", "cloud_objects", "onprem_links", "out_of_scope_links"]
optional = ["sync_behavior"]
+++
## What it does
Counts, for the domains and object types the export covers, the synced cloud users and groups
that no exported object is the source of. When at least 10 of them, and more than a fifth of the
synced objects, look orphaned, the export is far more likely partial than the directory emptied:
a non-paged `ldapsearch` stops at 1,000 entries on Windows AD (MaxPageSize), a search base below
the domain root leaves whole OUs out, and an export filter may skip a class. Rules whose findings
would tell the admin to delete those cloud objects (`orphaned-synced-object`) are then not
evaluated, with this reason, and no delete rows are written.

Objects converted to cloud management (`sync_behavior.is_cloud_managed`) are not counted: their
source may be gone on purpose. Nor are those whose source was exported but is out of scope
(`out_of_scope_links`): their source is in the export.

The threshold is a judgement, not a documented number: a real mass deletion on-prem is rare and
is better confirmed by the admin than predicted.

## References
- MaxPageSize and paged searches: https://learn.microsoft.com/troubleshoot/windows-server/active-directory/view-set-ldap-policy-using-ntdsutil
*/
-- The domains the export covers, per type: a cloud object is judged only where its type was
-- exported from its domain. Two single-column IN lists, not a semi join on (domain, type): a
-- join on two text columns encodes every row of a million first, and the IN lists are tiny.
WITH exported_user_domains AS (
    SELECT DISTINCT domain FROM onprem_objects WHERE object_type = 'user' AND domain IS NOT NULL
),
exported_group_domains AS (
    SELECT DISTINCT domain FROM onprem_objects WHERE object_type = 'group' AND domain IS NOT NULL
),
synced AS (
    SELECT c.id
    FROM cloud_objects c
    LEFT JOIN sync_behavior sb ON c.id = sb.object_id
    WHERE c.sync_state = 'synced'
      AND ((c.object_type = 'user' AND c.onprem_domain_name IN (SELECT domain FROM exported_user_domains))
        OR (c.object_type = 'group' AND c.onprem_domain_name IN (SELECT domain FROM exported_group_domains)))
      AND NOT COALESCE(sb.is_cloud_managed, FALSE)
),
orphans AS (
    SELECT s.id FROM synced s
    ANTI JOIN onprem_links l ON s.id = l.cloud_object_id
    -- A source that was exported but is out of scope is not missing from the export.
    ANTI JOIN out_of_scope_links x ON s.id = x.cloud_object_id
),
synced_total AS (
    SELECT COUNT(*) AS synced_count FROM synced
),
orphan_total AS (
    SELECT COUNT(*) AS orphan_count FROM orphans
)
SELECT
    CAST(orphan_count AS VARCHAR) || ' of ' || CAST(synced_count AS VARCHAR)
        || ' synced cloud users and groups of the exported domains have no source in the export: it is probably partial '
        || '(a non-paged ldapsearch stops at 1,000 entries, a search base below the domain root leaves OUs out); '
        || 're-export the whole domain with paging before deleting anything' AS reason
FROM synced_total CROSS JOIN orphan_total
WHERE orphan_count >= 10 AND orphan_count * 5 > synced_count
