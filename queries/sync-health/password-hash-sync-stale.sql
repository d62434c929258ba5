/*
+++
name     = "password-hash-sync-stale"
title    = "Password hash sync stopped while directory sync still runs"
severity = "high"
category = "sync-health"
outcome  = "PasswordSyncStopped"
requires = ["password_sync", "organization", "params"]
evidence = ["last_password_sync_time", "last_directory_sync_time"]
optional = ["sync_features"]
+++
## What it does
Compares the beta organization property `onPremisesLastPasswordSyncDateTime` with the directory
sync time. It reports the tenant when directory sync is fresh (within `--directory-sync-max-age`)
but the last password sync is older than `--password-sync-max-age` (default 24 hours), or missing
while the tenant says password hash sync is enabled (`passwordSyncEnabled`, when
`/directory/onPremisesSynchronization` was collected).

Only when password hash sync is enabled: when the tenant's switches say `passwordSyncEnabled`
false, an old password sync time is the last sync before it was switched off, and nothing is
reported. Without the switches (they are readable only with a delegated Global Administrator
sign-in) a password sync time that exists shows the feature was on; the finding then says it
assumes the feature is still on.

## Why is this bad?
Password hash sync fails quietly: objects keep syncing, so the portal looks healthy, but password
changes made on-prem no longer reach Entra ID. Users sign in to the cloud with old passwords,
leaked passwords are not caught by leaked-credential detection, and the fallback to cloud
authentication during a federation or pass-through outage does not work.

## Remediation
On the Entra Connect server, check the Application event log for password sync events (611, 650,
651, 656, 657) and run `Invoke-ADSyncDiagnostics -PasswordSync`. A full password sync can be
triggered by disabling and re-enabling password hash sync on the connector. The common causes are
the AD DS connector account losing "Replicate Directory Changes All", or a service restart that
never completed.

## References
- Troubleshoot password hash sync: https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-password-hash-synchronization
- onPremisesLastPasswordSyncDateTime (beta organization): https://learn.microsoft.com/graph/api/resources/organization?view=graph-rest-beta
*/
WITH phs_on AS (
    SELECT DISTINCT tenant_id FROM sync_features WHERE password_sync_enabled
),
-- Known to be switched off: then an old time is the last sync before the switch, not a failure.
phs_off AS (
    SELECT DISTINCT tenant_id FROM sync_features WHERE password_sync_enabled = FALSE
)
SELECT
    o.tenant_id AS cloud_object_id,
    'organization' AS cloud_object_type,
    CAST(NULL AS VARCHAR) AS onprem_object_guid,
    CAST(NULL AS VARCHAR) AS onprem_distinguished_name,
    'onPremisesLastPasswordSyncDateTime' AS attribute,
    STRFTIME(ps.last_password_sync_time, '%Y-%m-%dT%H:%M:%SZ') AS value,
    CASE
        WHEN ps.last_password_sync_time IS NULL THEN 'Password hash sync is enabled but no password has ever been synced, while directory sync ran at '
            || STRFTIME(o.last_sync_time, '%Y-%m-%dT%H:%M:%SZ') || '.'
        ELSE 'The last password hash sync was ' || CAST(DIV(CAST(p.as_of AS BIGINT) - CAST(ps.last_password_sync_time AS BIGINT), 3600000000) AS VARCHAR)
            || ' hours before the audit time, while directory sync ran at ' || STRFTIME(o.last_sync_time, '%Y-%m-%dT%H:%M:%SZ')
            || ': password hash sync has stopped on its own'
            || CASE WHEN f.tenant_id IS NULL THEN ' (assuming it is still enabled: the tenant''s passwordSyncEnabled switch was not readable).' ELSE '.' END
    END AS message,
    'On the Entra Connect server check the Application event log (events 611, 650, 651, 656, 657) and run Invoke-ADSyncDiagnostics -PasswordSync; make sure the AD DS connector account has Replicate Directory Changes All.' AS remediation,
    ps.last_password_sync_time,
    o.last_sync_time AS last_directory_sync_time
FROM password_sync ps
JOIN organization o ON ps.tenant_id = o.tenant_id
CROSS JOIN params p
LEFT JOIN phs_on f ON o.tenant_id = f.tenant_id
LEFT JOIN phs_off x ON o.tenant_id = x.tenant_id
WHERE o.sync_enabled
  AND x.tenant_id IS NULL
  AND o.last_sync_time >= p.directory_sync_cutoff
  AND (ps.last_password_sync_time < p.password_sync_cutoff
       OR (ps.last_password_sync_time IS NULL AND f.tenant_id IS NOT NULL))
