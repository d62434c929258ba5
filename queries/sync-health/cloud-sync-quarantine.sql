/*
+++
name     = "cloud-sync-quarantine"
title    = "Cloud Sync job in quarantine"
severity = "critical"
category = "sync-health"
outcome  = "JobQuarantined"
requires = ["sync_jobs"]
evidence = ["job_id", "quarantine_reason", "quarantine_since", "quarantine_next_attempt", "quarantine_error_code", "troubleshooting_url"]
+++
## What it does
Reports every Cloud Sync synchronization job whose status code is `Quarantine`, with the
quarantine reason, since when (the series began), the next attempt, how often it was re-evaluated,
and the error, and recommends the step that fits the reason.

## Why is this bad?
While a job is quarantined, the provisioning service only retries it at a reduced frequency and
nothing else syncs for that configuration: new accounts, changes, disables and deletes all wait.
Quarantine does not clear itself while its cause remains.

## Remediation
Fix the cause first, then lift the quarantine. `entra-audit cloud-sync status` shows every job with
what its reason means and the command for it; each command below prints the exact request and
sends it only with `--yes`.
- `EncounteredBaseEscrowThreshold`, `EncounteredTotalEscrowThreshold`,
  `EncounteredEscrowProportionThreshold`: too many objects failed. Fix the object errors (provisioning
  logs), then `entra-audit cloud-sync restart --job JOB --service-principal SP --scope
  Watermark,Escrows,QuarantineState`.
- `TooManyDeletes`: a run would delete more objects than the accidental-deletion threshold allows.
  Review the pending deletions (StagedDelete entries in the provisioning logs) and the threshold
  before anything else. Only if the deletions are intended: `entra-audit cloud-sync restart --job JOB
  --service-principal SP --scope ForceDeletes --allow-force-deletes`. If they are not, fix the
  scoping or OU change that caused them, then restart with `--scope Watermark,Escrows,QuarantineState`.
- `EncounteredQuarantineException`, `IngestionInterrupted`, `Unknown`: read the error code (for
  example `HybridIdentityServiceNoActiveAgents`: no provisioning agent is running), fix it, then
  `entra-audit cloud-sync start --job JOB --service-principal SP` (start clears the quarantine).
- `QuarantinedOnDemand`: Microsoft quarantined it on purpose; read the error, then start it when ready.

Never use the `Full` scope for this: it includes ConnectorDataStore, which the docs say not to use
(`entra-audit` refuses it without `--i-understand-full-resync`).

## References
- synchronizationQuarantine: https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationquarantine
- Restart and reset scopes: https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-restart
- Cloud Sync troubleshooting: https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-troubleshoot
*/
SELECT
    j.service_principal_id AS cloud_object_id,
    'synchronizationJob' AS cloud_object_type,
    CAST(NULL AS VARCHAR) AS onprem_object_guid,
    CAST(NULL AS VARCHAR) AS onprem_distinguished_name,
    'status.quarantine' AS attribute,
    j.job_id AS value,
    'Cloud Sync job ' || j.job_id || ' (' || COALESCE(j.configuration, j.domain, j.service_principal_id, 'unknown configuration') || ') is in quarantine'
        || COALESCE(' for ' || j.quarantine_reason, '')
        || COALESCE(' since ' || STRFTIME(j.quarantine_since, '%Y-%m-%dT%H:%M:%SZ'), '')
        || COALESCE(', re-evaluated ' || CAST(j.quarantine_series_count AS VARCHAR) || ' times', '')
        || COALESCE(', next attempt ' || STRFTIME(j.quarantine_next_attempt, '%Y-%m-%dT%H:%M:%SZ'), '')
        || COALESCE(': ' || j.quarantine_error_code || COALESCE(' ' || RTRIM(j.quarantine_error_message, '.'), ''), '') || '.' AS message,
    CASE
        WHEN j.quarantine_reason IN ('EncounteredBaseEscrowThreshold', 'EncounteredTotalEscrowThreshold', 'EncounteredEscrowProportionThreshold')
            THEN 'Too many objects failed: fix the object errors in the provisioning logs, then clear the quarantine with `entra-audit cloud-sync restart --job ' || j.job_id || COALESCE(' --service-principal ' || j.service_principal_id, '') || ' --scope Watermark,Escrows,QuarantineState` (it prints the request; add --yes to send it).'
        WHEN j.quarantine_reason = 'TooManyDeletes'
            THEN 'A run would exceed the accidental-deletion threshold: review the pending deletions (StagedDelete entries in the provisioning logs) and the threshold first. Only if they are intended: `entra-audit cloud-sync restart --job ' || j.job_id || COALESCE(' --service-principal ' || j.service_principal_id, '') || ' --scope ForceDeletes --allow-force-deletes`; otherwise fix the scoping change that caused them, then `entra-audit cloud-sync restart --job ' || j.job_id || COALESCE(' --service-principal ' || j.service_principal_id, '') || ' --scope Watermark,Escrows,QuarantineState` (each prints the request; add --yes to send it).'
        WHEN j.quarantine_reason = 'QuarantinedOnDemand'
            THEN 'The job was quarantined on demand: read the error, then start it when it should run again: `entra-audit cloud-sync start --job ' || j.job_id || COALESCE(' --service-principal ' || j.service_principal_id, '') || '` (it prints the request; add --yes to send it).'
        ELSE 'Fix the cause named by the error' || COALESCE(' (' || j.quarantine_error_code || ')', '') || ', then start the job, which clears the quarantine: `entra-audit cloud-sync start --job ' || j.job_id || COALESCE(' --service-principal ' || j.service_principal_id, '') || '` (it prints the request; add --yes to send it).'
    END AS remediation,
    j.job_id,
    j.quarantine_reason,
    j.quarantine_since,
    j.quarantine_next_attempt,
    j.quarantine_error_code,
    j.troubleshooting_url
FROM sync_jobs j
WHERE j.status_code = 'Quarantine'
