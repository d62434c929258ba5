/*
+++
name     = "directory-sync-stale"
title    = "Directory sync has stopped: not run recently, or switched off for the tenant"
severity = "high"
category = "sync-health"
outcome  = "SyncStopped"
requires = ["organization", "params"]
evidence = ["last_sync_time", "as_of"]
+++
## What it does
Checks the organization's `onPremisesLastSyncDateTime` while `onPremisesSyncEnabled` is true, and
reports it when it is older than `--directory-sync-max-age` (default 3 hours) before the as-of
time, or missing. Entra Connect syncs every 30 minutes by default, Cloud Sync every 2 minutes.

It also reports a tenant whose directory sync was switched off (`onPremisesSyncEnabled` false
after a sync): every formerly synced object is now managed in the cloud. That may be a decision
(a move to cloud-only); it is reported once, here, instead of as a pile of leftovers
(`stale-cloud-only` leaves those objects alone).

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

If directory sync was switched off on purpose, nothing is to be done: suppress the finding. If
not, re-enable it before the next sync cycle, knowing that objects changed in the cloud meanwhile
are overwritten by their on-prem values.

## References
- Turn off directory synchronization: https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-turn-off
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
        WHEN NOT o.sync_enabled THEN 'Directory sync is switched off for the tenant (onPremisesSyncEnabled false; last sync '
            || STRFTIME(o.last_sync_time, '%Y-%m-%dT%H:%M:%SZ') || '): no on-prem change reaches Entra ID, and every formerly synced object is now managed in the cloud.'
        WHEN o.last_sync_time IS NULL THEN 'Directory sync is enabled for the tenant but it has never synced (onPremisesLastSyncDateTime is empty).'
        ELSE 'Directory sync is enabled but the last sync was ' || CAST(DIV(CAST(p.as_of AS BIGINT) - CAST(o.last_sync_time AS BIGINT), 3600000000) AS VARCHAR)
            || ' hours before the audit time (limit: ' || CAST(DIV(CAST(p.as_of AS BIGINT) - CAST(p.directory_sync_cutoff AS BIGINT), 3600000000) AS VARCHAR) || ' hours).'
    END AS message,
    CASE
        WHEN NOT o.sync_enabled THEN 'If directory sync was switched off on purpose (a move to cloud-only), suppress this finding: the formerly synced objects are not leftovers. If not, re-enable it, knowing that cloud changes made meanwhile are overwritten by the on-prem values.'
        ELSE 'On the Entra Connect server run Get-ADSyncScheduler (SyncCycleEnabled, StagingModeEnabled) and check the run history; fix the cause and run Start-ADSyncSyncCycle -PolicyType Delta. For Cloud Sync, check the agents and the job status.'
    END AS remediation,
    o.last_sync_time AS last_sync_time,
    p.as_of
FROM organization o
CROSS JOIN params p
WHERE (o.sync_enabled AND (o.last_sync_time IS NULL OR o.last_sync_time < p.directory_sync_cutoff))
   OR (NOT o.sync_enabled AND o.last_sync_time IS NOT NULL)
