/*
+++
name     = "directory-sync-stale"
title    = "Directory sync is enabled but has not run recently"
severity = "high"
category = "sync-health"
outcome  = "SyncStopped"
requires = ["organization", "params"]
+++
## What it does
Checks the organization's `onPremisesLastSyncDateTime` while `onPremisesSyncEnabled` is true, and
reports it when it is older than `--directory-sync-max-age` (default 3 hours) before the as-of
time, or missing. Entra Connect syncs every 30 minutes by default, Cloud Sync every 2 minutes.

## Why is this bad?
Nothing on-prem reaches the cloud any more: new hires get no account, leavers keep theirs,
disabled accounts stay enabled in Entra ID, and password changes stop flowing. The usual causes
are a stopped scheduler (`Set-ADSyncScheduler -SyncCycleEnabled $false` left behind after
maintenance), a server that is down or cannot reach the internet, an expired service account
password, or both Entra Connect servers in staging mode.

## Remediation
On the Entra Connect server: `Get-ADSyncScheduler` (SyncCycleEnabled, StagingModeEnabled) and the
Synchronization Service Manager's run history; fix the cause, then `Start-ADSyncSyncCycle -PolicyType
Delta`. For Cloud Sync, check the agent and the job status (`cloud-sync-job-failing`,
`cloud-sync-quarantine`).

## References
- organization.onPremisesLastSyncDateTime: https://learn.microsoft.com/graph/api/resources/organization
- Scheduler: https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-feature-scheduler
*/
SELECT
    o.tenant_id AS cloud_object_id,
    'organization' AS cloud_object_type,
    CAST(NULL AS VARCHAR) AS onprem_object_guid,
    CAST(NULL AS VARCHAR) AS onprem_distinguished_name,
    'onPremisesLastSyncDateTime' AS attribute,
    STRFTIME(o.last_sync_time, '%Y-%m-%dT%H:%M:%SZ') AS value,
    CASE
        WHEN o.last_sync_time IS NULL THEN 'Directory sync is enabled for the tenant but it has never synced (onPremisesLastSyncDateTime is empty).'
        ELSE 'Directory sync is enabled but the last sync was ' || CAST(DIV(CAST(p.as_of AS BIGINT) - CAST(o.last_sync_time AS BIGINT), 3600000000) AS VARCHAR)
            || ' hours before the audit time (limit: ' || CAST(DIV(CAST(p.as_of AS BIGINT) - CAST(p.directory_sync_cutoff AS BIGINT), 3600000000) AS VARCHAR) || ' hours).'
    END AS message,
    'On the Entra Connect server run Get-ADSyncScheduler (SyncCycleEnabled, StagingModeEnabled) and check the run history; fix the cause and run Start-ADSyncSyncCycle -PolicyType Delta. For Cloud Sync, check the agents and the job status.' AS remediation,
    o.last_sync_time AS last_sync_time,
    p.as_of
FROM organization o
CROSS JOIN params p
WHERE o.sync_enabled AND (o.last_sync_time IS NULL OR o.last_sync_time < p.directory_sync_cutoff)
