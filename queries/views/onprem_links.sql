/*
+++
name     = "onprem_links"
kind     = "view"
title    = "The cloud object each on-prem object is already joined to"
category = "matching"
requires = ["onprem_objects", "cloud_objects"]
+++
## What it does
Pairs each on-prem object with the cloud object sync already treats as its twin, so that no rule
mistakes an object's own cloud copy for a conflicting one.

- Users: hard match, the source anchor equals the cloud user's `onPremisesImmutableId`
  (case-sensitive, as the source anchor is). This holds whatever the cloud user's sync state:
  a formerly synced or cloud-only user with that immutableId is joined by hard match.
- Groups: Graph exposes no anchor for groups; a group whose `onPremisesSecurityIdentifier` equals
  the on-prem objectSid is the twin, whatever its sync state (as for users: a formerly synced group
  with that SID is that object's copy). When the export has no SIDs, a synced group with the same
  sAMAccountName in the same domain is taken instead.
- Contacts: Graph exposes no anchor for contacts; a synced contact with the same primary SMTP
  address is taken as the twin.

Each link names both objects by row only (`object_row` in `onprem_objects`, `cloud_object_row` in
`cloud_objects`): join those tables on them for a GUID, an id or anything else of the objects.
A number is hashed and compared faster than an id's text, and at a million links the GUIDs and
ids the view used to hold were about 110 MiB held through every rule after it (docs/performance.md).

## References
- Hard match and source anchor: https://learn.microsoft.com/entra/identity/hybrid/connect/plan-connect-design-concepts
- Group and contact matching: https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-install-existing-tenant
*/
SELECT o.object_row, c.object_row AS cloud_object_row, 'source_anchor' AS link_kind
FROM onprem_objects o
JOIN cloud_objects c ON o.source_anchor = c.immutable_id
WHERE o.object_type = 'user' AND c.object_type = 'user'
UNION ALL
SELECT o.object_row, c.object_row AS cloud_object_row, 'security_identifier' AS link_kind
FROM onprem_objects o
JOIN cloud_objects c ON o.object_sid = c.onprem_security_identifier
WHERE o.object_type = 'group' AND c.object_type = 'group'
UNION ALL
SELECT o.object_row, c.object_row AS cloud_object_row, 'sam_account_name' AS link_kind
FROM onprem_objects o
JOIN cloud_objects c ON lower(o.sam_account_name) = lower(c.onprem_sam_account_name) AND o.domain = c.onprem_domain_name
WHERE o.object_type = 'group' AND c.object_type = 'group' AND o.object_sid IS NULL AND c.sync_state = 'synced'
UNION ALL
SELECT o.object_row, c.object_row AS cloud_object_row, 'primary_smtp' AS link_kind
FROM onprem_objects o
JOIN cloud_objects c ON o.primary_smtp = c.primary_smtp
WHERE o.object_type = 'contact' AND c.object_type = 'contact' AND c.sync_state = 'synced'
