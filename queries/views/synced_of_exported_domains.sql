/*
+++
name     = "synced_of_exported_domains"
kind     = "view"
title    = "The synced cloud users and groups of the domains the export covers, and whether their source is missing from it"
category = "hygiene"
requires = ["onprem_objects", "cloud_objects", "onprem_links", "out_of_scope_links"]
optional = ["sync_behavior"]
+++
## What it does
One row per synced cloud user or group (`onPremisesSyncEnabled` true) of a domain the export
covers for its type, unless it was converted to cloud management
(`sync_behavior.is_cloud_managed`: its source may be gone on purpose). `source_missing` is true
when no exported object is its source: no link (`onprem_links`), and no exported object that is
out of scope either (`out_of_scope_links`: its source is in the export). The object is named by
id (`cloud_object_id`) and by row (`cloud_object_row`, its row in `cloud_objects`).

`partial_export` counts these rows and `orphaned-synced-object` reports the ones whose source is
missing: both judge the same objects, from this one place.

## References
- onPremisesSyncEnabled and onPremisesDomainName: https://learn.microsoft.com/graph/api/resources/user
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
    SELECT c.id, c.object_row
    FROM cloud_objects c
    -- Converted to cloud management: no leftover of a sync, whatever became of its source. The
    -- few converted objects are left out with an anti join: a left join with every object's
    -- sync behaviour (a million rows, read per object) took a quarter of the view's time.
    ANTI JOIN (SELECT object_id FROM sync_behavior WHERE is_cloud_managed) managed ON c.id = managed.object_id
    WHERE c.sync_state = 'synced'
      AND ((c.object_type = 'user' AND c.onprem_domain_name IN (SELECT domain FROM exported_user_domains))
        OR (c.object_type = 'group' AND c.onprem_domain_name IN (SELECT domain FROM exported_group_domains)))
),
missing AS (
    SELECT s.id, s.object_row FROM synced s
    ANTI JOIN onprem_links l ON s.object_row = l.cloud_object_row
    -- A source that was exported but is out of scope is not missing from the export.
    ANTI JOIN out_of_scope_links x ON s.id = x.cloud_object_id
)
SELECT s.id AS cloud_object_id, s.object_row AS cloud_object_row, m.id IS NOT NULL AS source_missing
FROM synced s
LEFT JOIN missing m ON s.object_row = m.object_row
