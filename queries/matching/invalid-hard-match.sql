/*
+++
name     = "invalid-hard-match"
title    = "On-prem user whose hard match onto a cloud-managed user Entra ID will refuse (InvalidHardMatch)"
severity = "high"
category = "matching"
outcome  = "InvalidHardMatch"
requires = ["onprem_objects", "cloud_objects"]
evidence = ["refusal", "cloud_sync_state", "role_name", "allow_onprem_object_identifier_update"]
optional = ["sync_features", "role_members"]
+++
## What it does
Finds on-prem users whose source anchor equals the onPremisesImmutableId of a cloud user that is
not currently synced (cloud-only, or formerly synced: `onPremisesSyncEnabled` null or false).
Sync would take that cloud user over by hard match, but Entra ID refuses the match when:

- the tenant blocks cloud-object takeover through hard match
  (`blockCloudObjectTakeoverThroughHardMatchEnabled`, from sync_features): Entra Connect's
  error page documents InvalidHardMatch for exactly this case (a user restored or brought back
  into scope after it left sync, while the block is on);
- the cloud user holds a Microsoft Entra role (from role_members): since June 2026 Entra ID
  blocks hard matches onto cloud-managed users with Microsoft Entra roles, for Entra Connect and
  Cloud Sync alike, whatever the tenant's flags (message center MC1262584; the finding names the
  role). Whether an *eligible* (PIM) assignment counts as holding the role is UNVERIFIED: the
  announcement says "hold"; role_members rows marked eligible are counted, the cautious reading.
  Whether every role counts or only privileged ones is UNVERIFIED too (the announcement says
  "Microsoft Entra roles"; third-party summaries say privileged): every role counts here.

Not evaluated, and said so: the July 2026 protection (MC1263280), under which Entra ID refuses
to re-map a cloud user whose onPremisesObjectIdentifier is already set to another on-prem
object unless the tenant sets `allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled`: Microsoft
Graph's published user metadata has no onPremisesObjectIdentifier property, so the snapshot
cannot show which users carry one. The flag itself is shown as evidence when it was read.
Without sync_features (read only with a delegated Global Administrator token), only the role
protection is evaluated; the run's caveats say so.

## Why is this bad?
The on-prem user is not exported: sync reports InvalidHardMatch and retries every cycle, and the
person keeps the cloud account as it is (not managed from AD, no password hash sync). Bringing
the user back into sync scope does not help: that is what triggers the refusal.

## Remediation
Follow the documented path, not another sync attempt:
- tenant block: decide whether this AD user really is the owner of the cloud account. If it is,
  turn the block off for the takeover (`Update-MgDirectoryOnPremiseSynchronization` with
  `features.blockCloudObjectTakeoverThroughHardMatchEnabled = $false`), run a sync cycle, and
  turn it back on at once. If it is not, clear the cloud user's onPremisesImmutableId or give
  the AD user a different source anchor, so the two are not matched.
- role holder: Microsoft recommends privileged accounts stay cloud-only. Keep the admin
  cloud-only and take the AD user out of sync scope, or, if the account must become synced,
  remove its role assignments (active and eligible) first, let sync join it, then assign the
  roles again (that the match then succeeds is UNVERIFIED).

## References
- InvalidHardMatch: https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors
- Hard match and the takeover block: https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-install-existing-tenant#hard-match-vs-soft-match
- Tenant flags (blockCloudObjectTakeoverThroughHardMatchEnabled, allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled): https://learn.microsoft.com/graph/api/resources/onpremisesdirectorysynchronizationfeature
- June 2026 role protection and the 2026 hardening: https://learn.microsoft.com/entra/fundamentals/whats-new (message center MC1262584, MC1263280)
*/
WITH candidates AS (
    SELECT
        o.object_guid, o.distinguished_name, o.source_anchor,
        c.id AS cloud_id, c.display_name AS cloud_display_name, c.user_principal_name AS cloud_upn,
        c.sync_state, TRUE AS tenant_key
    FROM onprem_objects o
    JOIN cloud_objects c ON o.source_anchor = c.immutable_id
    WHERE o.object_type = 'user' AND c.object_type = 'user' AND c.sync_state <> 'synced'
),
roles AS (
    SELECT
        member_id,
        MIN(role_name || CASE WHEN assignment = 'eligible' THEN ' (eligible)' ELSE '' END
            || CASE WHEN via_group_id IS NOT NULL THEN ' (through group ' || via_group_id || ')' ELSE '' END) AS role_name,
        COUNT(*) AS role_count
    FROM role_members
    GROUP BY member_id
),
flags AS (
    SELECT
        TRUE AS tenant_key,
        block_hard_match_takeover,
        allow_onprem_object_identifier_update
    FROM sync_features
),
judged AS (
    SELECT
        k.*, r.role_name, r.role_count, f.block_hard_match_takeover, f.allow_onprem_object_identifier_update
    FROM candidates k
    LEFT JOIN roles r ON k.cloud_id = r.member_id
    LEFT JOIN flags f ON k.tenant_key = f.tenant_key
)
SELECT
    j.cloud_id AS cloud_object_id,
    'user' AS cloud_object_type,
    j.object_guid AS onprem_object_guid,
    j.distinguished_name AS onprem_distinguished_name,
    'sourceAnchor' AS attribute,
    j.source_anchor AS value,
    'On-prem user ' || j.distinguished_name || ' has source anchor ' || j.source_anchor || ', the onPremisesImmutableId of '
        || CASE j.sync_state WHEN 'formerly_synced' THEN 'formerly synced' ELSE 'cloud-only' END
        || ' user ' || COALESCE(j.cloud_upn, j.cloud_display_name, j.cloud_id) || ' (' || j.cloud_id || '), but Entra ID will refuse the hard match ('
        || CONCAT_WS(' and ',
            CASE WHEN j.block_hard_match_takeover THEN 'the tenant blocks cloud-object takeover through hard match' END,
            CASE WHEN j.role_name IS NOT NULL THEN 'the cloud user holds the Microsoft Entra role ' || j.role_name
                || CASE WHEN j.role_count > 1 THEN ' and ' || CAST(j.role_count - 1 AS VARCHAR) || ' more' ELSE '' END END)
        || '): sync reports InvalidHardMatch and the on-prem user is not exported.' AS message,
    CASE
        WHEN j.role_name IS NOT NULL
            THEN 'Keep the admin ' || j.cloud_id || ' cloud-only (Microsoft''s advice for privileged accounts) and take '
                || j.distinguished_name || ' out of sync scope; or, if it must become synced, remove its role assignments (active and eligible), let sync join it, then assign them again.'
        ELSE 'If ' || j.distinguished_name || ' owns cloud user ' || j.cloud_id
            || ', turn off blockCloudObjectTakeoverThroughHardMatchEnabled for one sync cycle and turn it back on; otherwise clear the cloud user''s onPremisesImmutableId so the two are not matched. Bringing the user back into sync scope does not help.'
    END AS remediation,
    'InvalidHardMatch' AS predicted_outcome,
    CONCAT_WS('; ',
        CASE WHEN j.block_hard_match_takeover THEN 'blockCloudObjectTakeoverThroughHardMatchEnabled' END,
        CASE WHEN j.role_name IS NOT NULL THEN 'cloud user holds a Microsoft Entra role (June 2026 protection)' END) AS refusal,
    j.sync_state AS cloud_sync_state,
    j.role_name,
    CAST(j.allow_onprem_object_identifier_update AS VARCHAR) AS allow_onprem_object_identifier_update
FROM judged j
WHERE j.block_hard_match_takeover OR j.role_name IS NOT NULL
