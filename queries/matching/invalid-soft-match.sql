/*
+++
name     = "invalid-soft-match"
title    = "On-prem object would soft-match a cloud object that soft match refuses (InvalidSoftMatch)"
severity = "high"
category = "matching"
outcome  = "InvalidSoftMatch"
requires = ["soft_match_candidates", "onprem_objects"]
evidence = ["refusal_code", "onprem_source_anchor", "cloud_immutable_id", "cloud_sync_state", "cloud_admin_roles", "hard_match_blocked"]
cleanup  = ["hard-match-set-immutable-id"]
cloud_object_blocks_onprem = true
optional = ["role_members", "sync_features"]
+++
## What it does
Finds on-prem objects with no hard match whose userPrincipalName or primary SMTP address equals
that of a cloud object of the same type which soft match will refuse to join:

- the cloud user already carries an `onPremisesImmutableId` (another source anchor). The
  documented condition is only this: a formerly synced user whose immutableId was cleared is
  taken over (`soft-match-takeover`), not refused;
- it is synced from another source; a group or contact was synced before (Graph shows no anchor
  for them, so the past sync is taken to have left one);
- the cloud user holds a directory role: the outcome is **Existing Admin Role Conflict**
  (`predicted_outcome` `ExistingAdminRoleConflict`), never a reason to delete the cloud user;
- the tenant blocks soft match (`blockSoftMatchEnabled`).

`softMatchOnUpnEnabled` false turns off only the UPN key: the primary SMTP key still matches, and
a UPN equal to a cloud object's is then a duplicate value (`duplicate-attribute`), not an
InvalidSoftMatch. Only the candidate soft match actually tries is judged (see
`soft_match_candidates`: one join per on-prem object).

Admin roles and the tenant switches are read from `directoryRoles` and
`/directory/onPremisesSynchronization`; when those were not collected, the rule says so in its
outcome and judges without them.

## Why is this bad?
Sync cannot create the on-prem object in Entra ID: the value it needs is taken, and the object it
would join is off limits. Entra Connect reports InvalidSoftMatch (or, with duplicate attribute
resiliency, quarantines the value and leaves the user with a placeholder UPN), so the person gets
no working cloud account, or two half-accounts.

## Remediation
Decide whether the two objects are the same identity.
- Same identity, cloud object carries another immutableId or was synced before: set the cloud
  object's `onPremisesImmutableId` to the on-prem object's source anchor (hard match), for
  example `Update-MgUser -UserId <id> -OnPremisesImmutableId <anchor>` on a cloud-managed user.
- Same identity, cloud user holds a role (Existing Admin Role Conflict), as documented: remove the
  cloud user from all admin roles, hard-delete the quarantined object sync created if a sync
  already failed, let the next sync soft-match the two, then restore the roles.
- Tenant blocks soft match: hard-match by setting the immutableId, rather than lifting the block.
- Different identities: change the UPN or primary SMTP address of one of them before syncing.

## References
- InvalidSoftMatch: https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors#invalidsoftmatch
- Soft and hard match: https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-install-existing-tenant
- Existing admin role conflict: https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors#existing-admin-role-conflict
- Tenant switches: https://learn.microsoft.com/graph/api/resources/onpremisesdirectorysynchronizationfeature
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
    'On-prem ' || o.object_type || ' ' || o.distinguished_name || ' would soft-match cloud ' || s.cloud_object_type
        || ' ''' || COALESCE(s.cloud_display_name, s.cloud_object_id) || ''' (' || s.cloud_object_id || ') on ' || s.attribute
        || ' ' || s.address || ', but soft match refuses it: '
        || CASE s.refusal_code
            WHEN 'immutable_id' THEN 'the cloud object already has onPremisesImmutableId ' || s.cloud_immutable_id
                || ', not this object''s source anchor ' || o.source_anchor
            WHEN 'synced_elsewhere' THEN 'the cloud object is synced from another on-prem object'
            WHEN 'formerly_synced' THEN 'the cloud object was synced from on-prem before'
            WHEN 'admin_role' THEN 'the cloud user holds the directory role(s) ' || s.cloud_admin_roles
            ELSE 'the tenant blocks soft match (blockSoftMatchEnabled)'
        END || CASE s.refusal_code
            WHEN 'admin_role' THEN '. Sync will fail with an Existing Admin Role Conflict.'
            ELSE '. Sync will fail with InvalidSoftMatch.'
        END AS message,
    CASE s.refusal_code
        WHEN 'admin_role' THEN 'Do not delete the cloud user. If they are the same person: remove the role(s) ' || s.cloud_admin_roles
            || ' from cloud user ' || s.cloud_object_id || ', hard-delete the quarantined object sync created if a sync already failed, let the next sync soft-match the two, then restore the role(s). Otherwise change the '
            || s.attribute || ' of one of them.'
        WHEN 'synced_elsewhere' THEN 'Change the ' || s.attribute || ' of one of the two objects: the cloud object belongs to another on-prem object.'
        WHEN hm.blocked THEN 'The tenant blocks cloud-object takeover through hard match, so setting the immutableId would fail with InvalidHardMatch: if they are the same identity, clear onPremisesImmutableId of cloud object '
            || s.cloud_object_id || ' or delete it after moving what it owns; otherwise change the ' || s.attribute || ' of one of them.'
        ELSE 'If they are the same identity, hard-match them: set onPremisesImmutableId of cloud object ' || s.cloud_object_id
            || ' to ' || o.source_anchor || '. Otherwise change the ' || s.attribute || ' of one of them.'
    END AS remediation,
    CASE s.refusal_code WHEN 'admin_role' THEN 'ExistingAdminRoleConflict' ELSE 'InvalidSoftMatch' END AS predicted_outcome,
    s.refusal_code,
    o.source_anchor AS onprem_source_anchor,
    s.cloud_immutable_id,
    s.cloud_sync_state,
    s.cloud_admin_roles,
    CASE WHEN hm.blocked THEN 'true' END AS hard_match_blocked
FROM soft_match_candidates s
JOIN onprem_objects o ON s.object_row = o.object_row
CROSS JOIN hard_match hm
WHERE s.verdict = 'refused'
