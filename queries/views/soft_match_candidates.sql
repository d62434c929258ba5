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

- Soft match is tried only when hard match finds nothing. Its keys are the user's cloud UPN (the
  sync model's UPN source) and the primary SMTP address (`SMTP:` in proxyAddresses; mail when
  there is none). The primary-SMTP key is always on; `softMatchOnUpnEnabled` false turns off only
  the UPN key, so a UPN equal to a cloud object's is then no match at all (the value collides:
  `duplicate-attribute`). Mail-enabled groups and contacts soft-match on the primary SMTP
  address; other groups never match.
- The cloud side is the cloud object's UPN (for the UPN key) or any of its SMTP addresses. Which
  cloud addresses a takeover joins on is ambiguous in the docs (the existing-tenant page says
  "primary SMTP address"; the sync-errors page shows secondary addresses causing InvalidSoftMatch
  and ObjectTypeMismatch). The reading chosen hides no collision: a secondary address counts for
  a refusal or a type mismatch, but a takeover is predicted only on the cloud object's UPN or
  primary SMTP address; a would-be takeover on a secondary address only is `secondary_address`,
  and `duplicate-attribute` reports the value as colliding, saying the join is uncertain.
- One on-prem object joins at most one cloud object. When its keys point at several cloud objects,
  the UPN candidate is taken first, then the SMTP one (the order is UNVERIFIED: the docs do not
  say), and every other candidate is `other_candidate`: its value collides with the joined
  object's (reported by `duplicate-attribute`).
- `verdict` of the joined candidate:
  - `takeover`: same type, nothing refuses it: sync will join the two and take the cloud object
    over, overwriting every cloud attribute that has an on-prem value.
  - `refused`: same type, but soft match refuses (`refusal_code`): the cloud user carries an
    immutableId (`immutable_id`); the cloud object is synced from another source
    (`synced_elsewhere`); a group or contact was synced before (`formerly_synced`: Graph shows no
    anchor for them, so a past sync is taken as one); the cloud user holds a directory role
    (`admin_role`, Existing Admin Role Conflict); the tenant blocks soft match
    (`tenant_blocks_soft_match`). A formerly synced user whose immutableId was cleared is taken
    over: the documented condition is only that the cloud object has no immutableId.
  - `type_mismatch`: the cloud object is of another type (ObjectTypeMismatch).
  - `linked_elsewhere`: the cloud object is the twin of another on-prem object in the snapshot;
    the root cause is then a value two on-prem objects hold (reported by `duplicate-attribute`).

## References
- https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-install-existing-tenant
- https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors
- https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-syncservice-features
- https://learn.microsoft.com/graph/api/resources/onpremisesdirectorysynchronizationfeature
*/
WITH unlinked AS (
    SELECT o.object_guid, o.object_row, o.object_type, o.upn_lower, o.primary_smtp, o.mail_enabled
    FROM onprem_objects o
    ANTI JOIN onprem_links l ON o.object_row = l.object_row
),
-- The tenant's switches, one row; without their table (not readable with an application token)
-- both are at their defaults: soft match allowed, UPN key on.
switches AS (
    SELECT
        COALESCE(MAX(CASE WHEN block_soft_match THEN 1 ELSE 0 END), 0) = 1 AS tenant_blocks,
        COALESCE(MAX(CASE WHEN soft_match_on_upn = FALSE THEN 1 ELSE 0 END), 0) = 1 AS upn_key_off
    FROM sync_features
),
match_keys AS (
    SELECT u.object_guid, u.object_row, u.object_type, 'upn' AS kind, u.upn_lower AS address, 'userPrincipalName' AS attribute
    FROM unlinked u
    CROSS JOIN switches s
    WHERE u.object_type = 'user' AND u.upn_lower IS NOT NULL AND NOT s.upn_key_off
    UNION ALL
    SELECT object_guid, object_row, object_type, 'smtp' AS kind, primary_smtp AS address, 'proxyAddresses' AS attribute
    FROM unlinked
    WHERE primary_smtp IS NOT NULL AND mail_enabled
),
-- Active holders only (directly or through a role-assignable group): whether an eligible (PIM)
-- assignment blocks a soft match is not documented.
admins AS (
    SELECT member_id, STRING_AGG(role_name, ', ') AS roles
    FROM role_members
    WHERE assignment = 'active'
    GROUP BY member_id
),
pairs_found AS (
    SELECT
        k.object_guid,
        -- The on-prem object's row too: the rules that read the candidates join
        -- `onprem_objects` on it (a number hashes faster than a million GUIDs' text).
        k.object_row,
        k.object_type AS onprem_object_type,
        k.kind,
        k.address,
        k.attribute,
        c.id AS cloud_object_id,
        -- Its row too, to look the links up by (onprem_links holds rows, not ids).
        c.object_row AS cloud_object_row,
        c.object_type AS cloud_object_type,
        c.display_name AS cloud_display_name,
        c.sync_state AS cloud_sync_state,
        c.immutable_id AS cloud_immutable_id,
        c.last_sync_time AS cloud_last_sync_time,
        adm.roles AS cloud_admin_roles,
        -- The UPN is always the cloud object's own; an SMTP address may be a secondary one.
        a.kind = 'upn' OR a.is_primary AS on_cloud_primary,
        s.tenant_blocks
    FROM match_keys k
    CROSS JOIN switches s
    -- Joined on the address alone and the kind compared after: a key of two text columns is
    -- encoded row by row first, for every one of millions of cloud addresses.
    JOIN cloud_addresses a ON k.address = a.address
    JOIN cloud_objects c ON a.object_row = c.object_row
    LEFT JOIN admins adm ON c.id = adm.member_id
    WHERE k.kind = a.kind
),
-- Which of the few cloud objects found are joined to another on-prem object: the links are
-- searched for them, rather than every linked id of the tenant being gathered and hashed first
-- (a million at a million objects).
linked AS (
    SELECT DISTINCT l.cloud_object_row
    FROM onprem_links l
    SEMI JOIN pairs_found p ON l.cloud_object_row = p.cloud_object_row
),
candidates AS (
    SELECT p.*, lk.cloud_object_row AS linked_cloud_object_row
    FROM pairs_found p
    LEFT JOIN linked lk ON p.cloud_object_row = lk.cloud_object_row
),
judged AS (
    SELECT
        *,
        CASE
            WHEN linked_cloud_object_row IS NOT NULL THEN 'linked_elsewhere'
            WHEN cloud_object_type <> onprem_object_type THEN 'type_mismatch'
            WHEN cloud_immutable_id IS NOT NULL OR cloud_sync_state = 'synced'
                OR (cloud_object_type <> 'user' AND cloud_sync_state = 'formerly_synced')
                OR cloud_admin_roles IS NOT NULL OR tenant_blocks THEN 'refused'
            WHEN NOT on_cloud_primary THEN 'secondary_address'
            ELSE 'takeover'
        END AS pair_verdict,
        CASE
            WHEN linked_cloud_object_row IS NOT NULL OR cloud_object_type <> onprem_object_type THEN NULL
            WHEN cloud_immutable_id IS NOT NULL THEN 'immutable_id'
            WHEN cloud_sync_state = 'synced' THEN 'synced_elsewhere'
            WHEN cloud_object_type <> 'user' AND cloud_sync_state = 'formerly_synced' THEN 'formerly_synced'
            WHEN cloud_admin_roles IS NOT NULL THEN 'admin_role'
            WHEN tenant_blocks THEN 'tenant_blocks_soft_match'
            ELSE NULL
        END AS refusal_code
    FROM candidates
),
-- One row per (on-prem object, cloud object): a UPN match wins over an SMTP match.
pairs AS (
    SELECT * FROM judged
    QUALIFY ROW_NUMBER() OVER (PARTITION BY object_guid, cloud_object_id ORDER BY kind DESC) = 1
),
-- One join per on-prem object: the UPN candidate first, then SMTP; ties by cloud object id so the
-- prediction is the same on every run.
ranked AS (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY object_guid ORDER BY key_order, cloud_object_id) AS candidate_rank
    FROM (SELECT *, CASE kind WHEN 'upn' THEN 0 ELSE 1 END AS key_order FROM pairs) p
)
SELECT * EXCLUDE (cloud_object_row, linked_cloud_object_row, tenant_blocks, key_order, candidate_rank, pair_verdict),
    CASE WHEN candidate_rank = 1 THEN pair_verdict ELSE 'other_candidate' END AS verdict
FROM ranked
