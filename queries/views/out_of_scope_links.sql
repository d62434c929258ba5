/*
+++
name     = "out_of_scope_links"
kind     = "view"
title    = "The cloud objects whose source is an exported object the sync model leaves out of scope"
category = "hygiene"
requires = ["onprem_out_of_scope", "cloud_objects"]
+++
## What it does
Pairs each cloud user and group with an exported on-prem object that is its source but that
the sync model leaves out of scope (`inputs.scope`: a configured OU filter, a Cloud Sync job's
containers, or the out-of-box rules). Such a cloud object is not an orphan: its source exists.
Either the engine deletes it itself at its next export (an object that leaves the sync scope is
deleted in Entra ID, within the accidental-deletion threshold), or the scope the audit assumes
is not the one the engine runs; in neither case is deleting it by hand the fix, and a wrong
`--scope-ou` or `--exclude-ou` must never turn live objects into delete rows.

The links are wider than `onprem_links` on purpose (this view only ever spares objects):
users by source anchor and by objectSid, groups by objectSid, or by sAMAccountName in the same
domain when the export has no SIDs.

## References
- Objects that leave the sync scope (an OU unselected or renamed) are deleted in Entra ID, up to the deletion threshold: https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-feature-prevent-accidental-deletes
- Filtering: https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-configure-filtering
*/
SELECT c.id AS cloud_object_id, x.object_guid, x.reason
FROM cloud_objects c
JOIN onprem_out_of_scope x ON c.immutable_id = x.source_anchor
WHERE c.object_type = 'user' AND x.object_type = 'user'
UNION ALL
SELECT c.id AS cloud_object_id, x.object_guid, x.reason
FROM cloud_objects c
JOIN onprem_out_of_scope x ON c.onprem_security_identifier = x.object_sid
WHERE c.object_type IN ('user', 'group') AND x.object_type = c.object_type
UNION ALL
SELECT c.id AS cloud_object_id, x.object_guid, x.reason
FROM cloud_objects c
JOIN onprem_out_of_scope x ON lower(x.sam_account_name) = lower(c.onprem_sam_account_name) AND x.domain = c.onprem_domain_name
WHERE c.object_type = 'group' AND x.object_type = 'group' AND x.object_sid IS NULL
