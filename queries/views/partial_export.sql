/*
+++
name     = "partial_export"
kind     = "view"
title    = "Whether the on-prem export looks partial (one row, with the reason, when it does)"
category = "hygiene"
requires = ["synced_of_exported_domains"]
+++
## What it does
Counts, for the domains and object types the export covers, the synced cloud users and groups
that no exported object is the source of (`synced_of_exported_domains`). When at least 10 of them, and more than a fifth of the
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
WITH totals AS (
    SELECT
        COUNT(*) AS synced_count,
        COALESCE(SUM(CASE WHEN source_missing THEN 1 ELSE 0 END), 0) AS orphan_count
    FROM synced_of_exported_domains
)
SELECT
    CAST(orphan_count AS VARCHAR) || ' of ' || CAST(synced_count AS VARCHAR)
        || ' synced cloud users and groups of the exported domains have no source in the export: it is probably partial '
        || '(a non-paged ldapsearch stops at 1,000 entries, a search base below the domain root leaves OUs out); '
        || 're-export the whole domain with paging before deleting anything' AS reason
FROM totals
WHERE orphan_count >= 10 AND orphan_count * 5 > synced_count
