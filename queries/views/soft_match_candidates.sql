/*
+++
name     = "soft_match_candidates"
kind     = "view"
title    = "What soft match will do with each on-prem object that has no twin yet"
category = "matching"
requires = ["onprem_objects", "cloud_objects", "cloud_addresses", "onprem_links"]
optional = ["role_members", "sync_features"]
+++
## What it does
For every on-prem object that is not joined to a cloud object yet (see `onprem_links`), finds the
cloud objects that soft match will consider, and predicts the verdict, as Microsoft documents it:

- Soft match is tried only when hard match finds nothing. It uses the user's userPrincipalName
  and the primary SMTP address (`SMTP:` in proxyAddresses; mail when there is none). Mail-enabled
  groups and contacts soft-match on the primary SMTP address; other groups never match.
- The cloud side is the cloud object's UPN (for a UPN key) or any of its SMTP addresses.
- `verdict`:
  - `takeover`: same type, nothing refuses it: sync will join the two and take the cloud object over.
  - `refused`: same type, but soft match will refuse (`refusal_code`): the cloud object already
    carries an immutableId (`immutable_id`), is synced from another source (`synced_elsewhere`),
    was synced before (`formerly_synced`), holds a directory role (`admin_role`), the tenant blocks
    soft match (`tenant_blocks_soft_match`), or UPN soft match is off (`upn_soft_match_disabled`).
  - `type_mismatch`: the cloud object is of another type (ObjectTypeMismatch).
  - `linked_elsewhere`: the cloud object is the twin of another on-prem object in the snapshot;
    the root cause is then a value two on-prem objects hold (reported by `duplicate-attribute`).
- One row per (on-prem object, cloud object): a UPN match wins over an SMTP match.

## References
- https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-install-existing-tenant
- https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors
- https://learn.microsoft.com/graph/api/resources/onpremisesdirectorysynchronizationfeature
*/
WITH unlinked AS (
    SELECT o.object_guid, o.object_type, o.upn_lower, o.primary_smtp, o.mail_enabled
    FROM onprem_objects o
    ANTI JOIN onprem_links l ON o.object_guid = l.object_guid
),
match_keys AS (
    SELECT object_guid, object_type, 'upn' AS kind, upn_lower AS address, 'userPrincipalName' AS attribute
    FROM unlinked
    WHERE object_type = 'user' AND upn_lower IS NOT NULL
    UNION ALL
    SELECT object_guid, object_type, 'smtp' AS kind, primary_smtp AS address, 'proxyAddresses' AS attribute
    FROM unlinked
    WHERE primary_smtp IS NOT NULL AND mail_enabled
),
linked AS (
    SELECT DISTINCT cloud_object_id FROM onprem_links
),
-- Active holders only (directly or through a role-assignable group): whether an eligible (PIM)
-- assignment blocks a soft match is not documented.
admins AS (
    SELECT member_id, STRING_AGG(role_name, ', ') AS roles
    FROM role_members
    WHERE assignment = 'active'
    GROUP BY member_id
),
-- One row per switch that is on; the kinds it turns off soft match for.
blocked_kinds AS (
    SELECT DISTINCT 'upn' AS kind, 'tenant_blocks_soft_match' AS code FROM sync_features WHERE block_soft_match
    UNION ALL
    SELECT DISTINCT 'smtp' AS kind, 'tenant_blocks_soft_match' AS code FROM sync_features WHERE block_soft_match
    UNION ALL
    SELECT DISTINCT 'upn' AS kind, 'upn_soft_match_disabled' AS code FROM sync_features WHERE soft_match_on_upn = FALSE AND NOT block_soft_match
),
candidates AS (
    SELECT
        k.object_guid,
        k.object_type AS onprem_object_type,
        k.kind,
        k.address,
        k.attribute,
        c.id AS cloud_object_id,
        c.object_type AS cloud_object_type,
        c.display_name AS cloud_display_name,
        c.sync_state AS cloud_sync_state,
        c.immutable_id AS cloud_immutable_id,
        c.last_sync_time AS cloud_last_sync_time,
        adm.roles AS cloud_admin_roles,
        lk.cloud_object_id AS linked_cloud_object_id,
        b.code AS block_code
    FROM match_keys k
    JOIN cloud_addresses a ON k.kind = a.kind AND k.address = a.address
    JOIN cloud_objects c ON a.object_id = c.id
    LEFT JOIN linked lk ON c.id = lk.cloud_object_id
    LEFT JOIN admins adm ON c.id = adm.member_id
    LEFT JOIN blocked_kinds b ON k.kind = b.kind
),
judged AS (
    SELECT
        *,
        CASE
            WHEN linked_cloud_object_id IS NOT NULL THEN 'linked_elsewhere'
            WHEN cloud_object_type <> onprem_object_type THEN 'type_mismatch'
            WHEN cloud_immutable_id IS NOT NULL OR cloud_sync_state <> 'cloud_only'
                OR cloud_last_sync_time IS NOT NULL OR cloud_admin_roles IS NOT NULL
                OR block_code IS NOT NULL THEN 'refused'
            ELSE 'takeover'
        END AS verdict,
        CASE
            WHEN linked_cloud_object_id IS NOT NULL OR cloud_object_type <> onprem_object_type THEN NULL
            WHEN cloud_immutable_id IS NOT NULL THEN 'immutable_id'
            WHEN cloud_sync_state = 'synced' THEN 'synced_elsewhere'
            WHEN cloud_sync_state = 'formerly_synced' OR cloud_last_sync_time IS NOT NULL THEN 'formerly_synced'
            WHEN cloud_admin_roles IS NOT NULL THEN 'admin_role'
            ELSE block_code
        END AS refusal_code
    FROM candidates
)
SELECT * EXCLUDE (linked_cloud_object_id, block_code)
FROM judged
QUALIFY ROW_NUMBER() OVER (PARTITION BY object_guid, cloud_object_id ORDER BY kind DESC) = 1
