/*
+++
name     = "orphaned-synced-object"
title    = "Synced cloud object whose on-prem source is gone"
severity = "medium"
category = "hygiene"
outcome  = "SourceMissing"
requires = ["cloud_objects", "synced_of_exported_domains", "orphans_not_judged"]
evidence = ["onprem_domain_name", "cloud_last_sync_time", "cloud_admin_roles", "cloud_managed"]
cleanup  = ["delete-orphaned-synced-object"]
not_evaluated_when = "orphans_not_judged"
optional = ["role_members", "sync_behavior"]
+++
## What it does
Finds cloud users and groups that Entra ID says are synced (`onPremisesSyncEnabled` true) but that
no on-prem object of the snapshot is joined to (users: no source anchor equals their
`onPremisesImmutableId`; groups: no objectSid or sAMAccountName matches), where the snapshot covers
their domain and their type (`onPremisesDomainName` is a domain some exported object of the same
type lives in: an export of users only says nothing about groups). Contacts are not judged: Graph
exposes no anchor or domain for them.

An object converted to cloud management (its `onPremisesSyncBehavior` says `isCloudManaged`
true: "updates from on-premises Active Directory are blocked in the cloud") is not an orphan: its
source of authority moved to the cloud by decision, and its on-prem source may be gone on
purpose. It is not reported, and no cleanup row deletes it. `collect` reads that behaviour per
object for the synced-looking users and groups (a beta API needing
`User-OnPremisesSyncBehavior.ReadWrite.All` and `Group-OnPremisesSyncBehavior.ReadWrite.All`);
without it the rule runs and says so, and a finding whose object was not read says that too
(`cloud_managed`: `false`, or `not read: ...`).

A cloud object whose source *was* exported but is out of the sync scope (`inputs.scope`: an
`--exclude-ou`, a `--scope-ou` it is not below, a Cloud Sync job's containers, or the out-of-box
rules; the `out_of_scope_links` view) is not an orphan either, and is not reported: its source
exists. If the scope is as the audit models it, the engine deletes the cloud object itself at its
next export; if it is not (a wrong `--scope-ou`), deleting it by hand would delete a live object.

When a large share of the synced objects of the exported domains look orphaned, the export is
probably partial, not the directory emptied: the rule is then not evaluated, with that reason
(`partial_export`), so that no one deletes cloud objects because an export stopped at 1,000
entries. Nor is it evaluated when directory sync is switched off for the tenant
(`organization.onPremisesSyncEnabled` false): turning it off converts the synced objects to
cloud-only by the tenant's decision, so none is left over by a sync (`orphans_not_judged`;
`directory-sync-stale` reports the switch once).

## Why is this bad?
Sync should have deleted or updated these objects when their source went away. When it did not,
the sync server no longer sees them (a disconnected connector space, a removed OU filter, a
decommissioned Entra Connect server, or a forest that is no longer synced). They keep licences,
group memberships and sign-in, cannot be edited in the cloud, and block their addresses.

## Remediation
If the source was deleted on purpose, convert the object to cloud-managed and delete it (or let a
healthy sync cycle delete it). If the source still exists outside the export (the export was
limited to some OUs), widen the export: the rule assumes the snapshot holds the whole domain. If
the object moved to another forest, re-anchor it by setting `onPremisesImmutableId` to its new
source anchor.

## References
- https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-technical-concepts
- onPremisesSyncEnabled: https://learn.microsoft.com/graph/api/resources/user
- Turn off directory synchronization: https://learn.microsoft.com/office365/enterprise/turn-off-directory-synchronization
- isCloudManaged (source of authority): https://learn.microsoft.com/graph/api/resources/onpremisessyncbehavior?view=graph-rest-beta
*/
-- The synced objects of the exported domains whose source is missing from the export (judged
-- with partial_export's count, in one place): the objects reported, and whose behaviours are read.
WITH missing AS (
    SELECT cloud_object_id, cloud_object_row FROM synced_of_exported_domains WHERE source_missing
),
admins AS (
    SELECT member_id, STRING_AGG(role_name, ', ') AS roles FROM role_members GROUP BY member_id
)
SELECT
    c.id AS cloud_object_id,
    c.object_type AS cloud_object_type,
    CAST(NULL AS VARCHAR) AS onprem_object_guid,
    c.onprem_distinguished_name AS onprem_distinguished_name,
    CASE c.object_type WHEN 'user' THEN 'onPremisesImmutableId' ELSE 'onPremisesSecurityIdentifier' END AS attribute,
    CASE c.object_type WHEN 'user' THEN c.immutable_id ELSE c.onprem_security_identifier END AS value,
    'Cloud ' || c.object_type || ' ''' || COALESCE(c.display_name, c.id) || ''' (' || c.id || ') is synced from '
        || c.onprem_domain_name || COALESCE(' (' || c.onprem_distinguished_name || ')', '')
        || ', but no object exported from that domain is its source'
        || COALESCE('; it holds the directory role(s) ' || adm.roles, '')
        || COALESCE('; whether it was converted to cloud management was not read (' || sb.not_read || ')', '') || '.' AS message,
    CASE
        WHEN adm.roles IS NOT NULL THEN 'Do not delete it: it holds the directory role(s) ' || adm.roles
            || '. Check whether the source still exists in ' || c.onprem_domain_name || ' and move the roles before anything else.'
        ELSE 'Check whether the source still exists in ' || c.onprem_domain_name
            || '. If it was deleted, remove the cloud object; if it moved, re-anchor it; if the export left it out, export the whole domain.'
    END AS remediation,
    c.onprem_domain_name,
    c.last_sync_time AS cloud_last_sync_time,
    adm.roles AS cloud_admin_roles,
    CASE WHEN sb.is_cloud_managed = FALSE THEN 'false' WHEN sb.not_read IS NOT NULL THEN 'not read: ' || sb.not_read END AS cloud_managed
FROM cloud_objects c
SEMI JOIN missing m ON c.object_row = m.cloud_object_row
LEFT JOIN admins adm ON c.id = adm.member_id
-- Only the behaviours of the objects reported, found by a set lookup: a left join with the whole
-- table hashed a million behaviours' ids into a table of its own.
LEFT JOIN (
    SELECT object_id, is_cloud_managed, not_read FROM sync_behavior
    WHERE object_id IN (SELECT cloud_object_id FROM missing)
) sb ON c.id = sb.object_id
