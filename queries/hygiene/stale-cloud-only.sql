/*
+++
name     = "stale-cloud-only"
title    = "Cloud object left over from an on-prem identity"
severity = "medium"
category = "hygiene"
outcome  = "CloudLeftover"
requires = ["cloud_objects"]
evidence = ["cloud_immutable_id", "cloud_last_sync_time", "cloud_admin_roles", "cloud_domain_federated", "cloud_managed"]
cleanup  = ["clear-immutable-id", "delete-stale-cloud-user", "delete-stale-cloud-group", "delete-stale-cloud-contact"]
optional = ["soft_match_candidates", "onprem_links", "out_of_scope_links", "onprem_objects", "domains", "organization", "role_members", "sync_behavior"]
+++
## What it does
Finds cloud objects that are not synced today (`onPremisesSyncEnabled` false or null) but are
leftovers of an on-prem identity:

- they carry an `onPremisesImmutableId` (a source anchor from a past sync or an import), or
- they were synced before (a past `onPremisesLastSyncDateTime`, or `onPremisesSyncEnabled` false), or
- they block an on-prem object of the snapshot from syncing (soft match would refuse them, or they
  are of another type).

Not leftovers, and not reported:
- a cloud-only object whose immutableId equals the source anchor of an exported on-prem object: a
  pending hard match (the usual fix for a takeover);
- an object the next sync takes over by soft match (`soft-match-takeover`): the takeover
  overwrites it with the on-prem values;
- a cloud-only user of a **federated** domain whose immutableId no exported object carries: such
  users must carry an immutableId to sign in (the user resource doc), so it is no sign of a past
  sync;
- when the tenant's directory sync is switched off (`organization.onPremisesSyncEnabled` false),
  every formerly synced object is cloud-managed by decision, not a leftover (`directory-sync-stale`
  reports the switch); only those that would block an on-prem object if sync were switched on
  again are reported, as `CloudManaged` (`cloud_managed` true), with a remediation that never
  deletes them, and no cleanup row;
- an object whose source was exported but is out of the sync scope (`out_of_scope_links`: an
  `--exclude-ou`, a `--scope-ou` it is not below, a Cloud Sync job's containers, or the out-of-box
  rules): its source exists and is not synced by configuration, and an out-of-scope object is
  never either side of a finding, nor the reason for a cleanup row (unless the cloud object
  blocks an in-scope object, which is reported for that object);
- an object converted to cloud management (`onPremisesSyncBehavior/isCloudManaged` true: its
  source of authority moved to the cloud, and "updates from on-premises Active Directory are
  blocked in the cloud"): it is cloud-managed by decision. Only one that blocks an on-prem object
  is reported, as `CloudManaged`, with a remediation that never deletes it, and no cleanup row.
  `collect` reads the behaviour per object (a beta API that needs
  `User-OnPremisesSyncBehavior.ReadWrite.All` and `Group-OnPremisesSyncBehavior.ReadWrite.All`);
  without it the rule runs and says so (`cloud_managed` is then empty, or `not read: ...` for an
  object beyond the cap).

With an on-prem export, the finding names the on-prem object that is the leftover's source or that
it blocks.

## Why is this bad?
A leftover shadows the person it came from: it keeps addresses and the UPN, so the real on-prem
account cannot sync (InvalidSoftMatch, ObjectTypeMismatch, duplicate values), mail goes to the
wrong place, and it often still has licences and group memberships nobody reviews because
"it is synced".

## Remediation
If the on-prem identity is still in use, join the leftover to it (set `onPremisesImmutableId` to
the on-prem source anchor) or delete the leftover and let sync create the object afresh. If the
identity is gone, delete the leftover (users can be restored for 30 days).

Never delete a leftover that holds a directory role: remove its roles first and let the on-prem
user join it (Existing Admin Role Conflict), or the tenant loses an administrator.

## References
- onPremisesSyncEnabled tri-state: https://learn.microsoft.com/graph/api/resources/group
- Turning directory sync off converts synced users to cloud-only: https://learn.microsoft.com/office365/enterprise/turn-off-directory-synchronization
- onPremisesImmutableId required for federated cloud users: https://learn.microsoft.com/graph/api/resources/user
- Soft-match takeover overwrites the cloud object: https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-install-existing-tenant
- Existing Admin Role Conflict: https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors#existing-admin-role-conflict
- isCloudManaged (source of authority): https://learn.microsoft.com/graph/api/resources/onpremisessyncbehavior?view=graph-rest-beta
*/
-- MIN, not FIRST: when a leftover blocks or mirrors two on-prem objects, the finding must name
-- the same one on every run (its id depends on it).
WITH blocking AS (
    SELECT cloud_object_id, MIN(object_guid) AS blocked_guid
    FROM soft_match_candidates
    WHERE verdict IN ('refused', 'type_mismatch')
    GROUP BY cloud_object_id
),
taken_over AS (
    SELECT DISTINCT cloud_object_id FROM soft_match_candidates WHERE verdict = 'takeover'
),
-- The objects this rule can report (not synced), whose links and sync behaviours it reads.
unsynced AS (
    SELECT id, object_row FROM cloud_objects WHERE sync_state <> 'synced'
),
-- Only the links of objects this rule can report: grouping all million links first was most of
-- its time.
source AS (
    SELECT c.id AS cloud_object_id, MIN(o.object_guid) AS source_guid
    FROM (
        SELECT l.object_row, l.cloud_object_row
        FROM onprem_links l
        SEMI JOIN unsynced u ON l.cloud_object_row = u.object_row
    ) l
    JOIN onprem_objects o ON l.object_row = o.object_row
    JOIN cloud_objects c ON l.cloud_object_row = c.object_row
    GROUP BY c.id
),
federated AS (
    SELECT name FROM domains WHERE lower(authentication_type) = 'federated'
),
-- One row: true when the tenant's directory sync has been switched off.
tenant AS (
    SELECT COALESCE(MAX(CASE WHEN sync_enabled = FALSE THEN 1 ELSE 0 END), 0) = 1 AS sync_switched_off
    FROM organization
),
admins AS (
    SELECT member_id, STRING_AGG(role_name, ', ') AS roles FROM role_members GROUP BY member_id
)
SELECT
    c.id AS cloud_object_id,
    c.object_type AS cloud_object_type,
    COALESCE(src.source_guid, b.blocked_guid) AS onprem_object_guid,
    o.distinguished_name AS onprem_distinguished_name,
    'onPremisesSyncEnabled' AS attribute,
    CASE c.sync_state WHEN 'formerly_synced' THEN 'false' ELSE 'null' END AS value,
    CASE
        WHEN (t.sync_switched_off AND c.sync_state = 'formerly_synced') THEN 'Formerly synced ' || c.object_type || ' ''' || COALESCE(c.display_name, c.id) || ''' (' || c.id
            || ') became cloud-managed when the tenant switched directory sync off (organization onPremisesSyncEnabled false), so it is no leftover, but it blocks on-prem '
            || o.object_type || ' ' || o.distinguished_name || ' from syncing if directory sync is switched on again'
            || COALESCE('; it holds the directory role(s) ' || adm.roles, '') || '.'
        WHEN sb.is_cloud_managed THEN 'Cloud ' || c.object_type || ' ''' || COALESCE(c.display_name, c.id) || ''' (' || c.id
            || ') was converted to cloud management (onPremisesSyncBehavior isCloudManaged: updates from on-premises AD are blocked), so it is no leftover, but it blocks on-prem '
            || o.object_type || ' ' || o.distinguished_name || ' from syncing'
            || COALESCE('; it holds the directory role(s) ' || adm.roles, '') || '.'
        ELSE
    CASE c.sync_state WHEN 'formerly_synced' THEN 'Formerly synced ' ELSE 'Cloud-only ' END || c.object_type
        || ' ''' || COALESCE(c.display_name, c.id) || ''' (' || c.id || ') is a leftover of an on-prem identity: '
        || CASE
            WHEN src.source_guid IS NOT NULL THEN 'its source ' || o.distinguished_name || ' still exists on-prem but the object is no longer synced'
            WHEN b.blocked_guid IS NOT NULL THEN 'it blocks on-prem ' || o.object_type || ' ' || o.distinguished_name || ' from syncing'
            WHEN c.immutable_id IS NOT NULL THEN 'it carries onPremisesImmutableId ' || c.immutable_id
            ELSE 'it was synced before'
        END || COALESCE('; it holds the directory role(s) ' || adm.roles, '')
        || COALESCE('; whether it was converted to cloud management was not read (' || sb.not_read || ')', '') || '.'
    END AS message,
    CASE
        -- Cloud-managed since the tenant switched sync off: a live account, never deleted on our advice.
        WHEN (t.sync_switched_off AND c.sync_state = 'formerly_synced') THEN 'Do not delete it: it is managed in the cloud since directory sync was switched off. Before switching directory sync on again, change the conflicting value of '
            || o.distinguished_name || ' on-prem, or keep that object out of sync scope.'
        -- Converted to cloud management: never deleted on our advice.
        WHEN sb.is_cloud_managed THEN 'Do not delete it: its source of authority is the cloud by decision. Change the conflicting value of '
            || o.distinguished_name || ' on-prem (or keep it out of sync scope); only if AD should manage this object again, set its onPremisesSyncBehavior isCloudManaged to false so the on-prem object can take it over.'
        -- An administrator is never deleted on our advice: soft match refuses role holders, and
        -- the documented fix removes the roles instead (Existing Admin Role Conflict).
        WHEN adm.roles IS NOT NULL AND b.blocked_guid IS NOT NULL THEN 'Do not delete it: it holds the directory role(s) ' || adm.roles
            || '. If it is the same person as ' || o.distinguished_name || ', remove the roles, let sync join the two (hard-delete the quarantined duplicate if a sync already failed), then restore the roles; otherwise change the conflicting value of one of them.'
        WHEN adm.roles IS NOT NULL THEN 'Do not delete it without review: it holds the directory role(s) ' || adm.roles
            || '. Decide whether the administrator still needs the account, and move the roles before removing it.'
        WHEN src.source_guid IS NOT NULL THEN 'Bring ' || o.distinguished_name || ' back into sync scope so it joins its cloud object again, or delete the cloud object if the identity is retired.'
        -- Hard match (onPremisesImmutableId) exists for users only.
        WHEN b.blocked_guid IS NOT NULL AND c.object_type = 'user' THEN 'Delete cloud user ' || c.id || ' or hard-match it to ' || o.distinguished_name || ' (set onPremisesImmutableId to ' || o.source_anchor || ').'
        WHEN b.blocked_guid IS NOT NULL THEN 'Delete cloud ' || c.object_type || ' ' || c.id || ' (or remove the conflicting address from it) so that ' || o.distinguished_name || ' can sync.'
        ELSE 'Delete cloud ' || c.object_type || ' ' || c.id || ' if the identity is retired, or re-join it to its on-prem object by setting onPremisesImmutableId.'
    END AS remediation,
    CASE
        WHEN sb.is_cloud_managed OR (t.sync_switched_off AND c.sync_state = 'formerly_synced') THEN 'CloudManaged'
        WHEN src.source_guid IS NOT NULL THEN 'NotSynced'
        ELSE 'CloudLeftover'
    END AS predicted_outcome,
    c.immutable_id AS cloud_immutable_id,
    c.last_sync_time AS cloud_last_sync_time,
    adm.roles AS cloud_admin_roles,
    CASE WHEN fd.name IS NOT NULL THEN 'true' END AS cloud_domain_federated,
    CASE
        WHEN sb.is_cloud_managed OR (t.sync_switched_off AND c.sync_state = 'formerly_synced') THEN 'true'
        WHEN sb.is_cloud_managed = FALSE THEN 'false'
        WHEN sb.not_read IS NOT NULL THEN 'not read: ' || sb.not_read
    END AS cloud_managed
FROM cloud_objects c
CROSS JOIN tenant t
LEFT JOIN blocking b ON c.id = b.cloud_object_id
LEFT JOIN source src ON c.id = src.cloud_object_id
LEFT JOIN admins adm ON c.id = adm.member_id
LEFT JOIN taken_over tk ON c.id = tk.cloud_object_id
LEFT JOIN federated fd ON c.upn_suffix = fd.name
-- Only the behaviours of objects not synced, found by a set lookup: a left join with the whole
-- table hashed a million behaviours' ids into a table of its own.
LEFT JOIN (
    SELECT object_id, is_cloud_managed, not_read FROM sync_behavior
    WHERE object_id IN (SELECT id FROM unsynced)
) sb ON c.id = sb.object_id
LEFT JOIN (SELECT DISTINCT cloud_object_id FROM out_of_scope_links) oos ON c.id = oos.cloud_object_id
-- A cloud-managed object is reported only for the on-prem object it blocks. Only the few
-- objects blocked or mirrored are looked up (a set lookup): a left join with onprem_objects
-- hashed every object's GUID into a table of its own.
LEFT JOIN (
    SELECT object_guid, object_type, distinguished_name, source_anchor FROM onprem_objects
    WHERE object_guid IN (SELECT blocked_guid FROM blocking)
       OR object_guid IN (SELECT source_guid FROM source)
) o ON CASE WHEN COALESCE(sb.is_cloud_managed, FALSE) OR (t.sync_switched_off AND c.sync_state = 'formerly_synced') THEN b.blocked_guid ELSE COALESCE(src.source_guid, b.blocked_guid) END = o.object_guid
WHERE c.sync_state <> 'synced'
  -- A cloud-only object whose immutableId an on-prem object carries is a pending hard match, not a leftover.
  AND NOT (c.sync_state = 'cloud_only' AND src.source_guid IS NOT NULL)
  -- Its source was exported but is out of scope: not synced by configuration, no leftover.
  AND NOT (oos.cloud_object_id IS NOT NULL AND src.source_guid IS NULL AND b.blocked_guid IS NULL)
  -- The next sync takes it over and overwrites it.
  AND tk.cloud_object_id IS NULL
  -- Federated cloud-only users carry an immutableId by design.
  AND NOT (c.sync_state = 'cloud_only' AND c.object_type = 'user' AND c.last_sync_time IS NULL
           AND src.source_guid IS NULL AND b.blocked_guid IS NULL
           AND fd.name IS NOT NULL)
  -- Sync switched off for the whole tenant: formerly synced objects are cloud-managed by decision.
  AND NOT (t.sync_switched_off AND c.sync_state = 'formerly_synced' AND b.blocked_guid IS NULL)
  -- Converted to cloud management: cloud-managed by decision, unless it blocks an on-prem object.
  AND NOT (COALESCE(sb.is_cloud_managed, FALSE) AND b.blocked_guid IS NULL)
  AND (c.immutable_id IS NOT NULL OR c.last_sync_time IS NOT NULL OR c.sync_state = 'formerly_synced'
       OR b.blocked_guid IS NOT NULL)
