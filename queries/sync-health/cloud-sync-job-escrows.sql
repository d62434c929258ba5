/*
+++
name     = "cloud-sync-job-escrows"
title    = "Cloud Sync job runs, but objects fail and wait in escrow"
severity = "medium"
category = "sync-health"
outcome  = "JobEscrowed"
requires = ["sync_jobs"]
evidence = ["job_id", "escrowed_count", "last_execution_state", "last_execution_ended", "last_success_time"]
+++
## What it does
Reports Cloud Sync jobs that keep running (their last run ended within `--cloud-sync-max-age`) but
whose last run left objects in escrow (`lastExecution.countEscrowed` above zero). Such a job is
not failing: `lastSuccessfulExecution` is the last run *without errors*, so it falls behind while
the job works for every other object. The finding gives the count.

## Why is this bad?
The escrowed objects do not sync: a new hire gets no account, a changed address does not flow.
After enough retries the service prunes escrows (`escrowsPruned`), and the objects stay out until
something changes them again.

## Remediation
Open the provisioning logs for the job (Entra admin center > Cloud Sync > the configuration >
Provisioning logs, or `GET /auditLogs/provisioning` filtered on the job id) to see which objects
fail and why; duplicate attributes and scoping filters are the usual causes (`duplicate-attribute`,
`provisioning-error`). Once fixed, `entra-audit cloud-sync restart --job JOB --scope Escrows`
retries the escrowed objects at once (it prints the request; add `--yes` to send it).

## References
- synchronizationStatus (countEscrowed, escrowsPruned, lastSuccessfulExecution): https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationstatus
- Cloud Sync troubleshooting: https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-troubleshoot
*/
SELECT
    j.service_principal_id AS cloud_object_id,
    'synchronizationJob' AS cloud_object_type,
    CAST(NULL AS VARCHAR) AS onprem_object_guid,
    CAST(NULL AS VARCHAR) AS onprem_distinguished_name,
    'status.lastExecution.countEscrowed' AS attribute,
    j.job_id AS value,
    'Cloud Sync job ' || j.job_id || ' (' || COALESCE(j.configuration, j.domain, j.service_principal_id, 'unknown configuration') || ') runs, but its last run left '
        || CAST(j.escrowed_count AS VARCHAR) || ' object(s) in escrow'
        || COALESCE('; last run without errors: ' || STRFTIME(j.last_success_time, '%Y-%m-%dT%H:%M:%SZ'), '; it has not had a run without errors')
        || '.' AS message,
    'Read the provisioning logs of job ' || j.job_id || ' for the objects that fail and why, fix them, then retry them at once with `entra-audit cloud-sync restart --job '
        || j.job_id || COALESCE(' --service-principal ' || j.service_principal_id, '') || ' --scope Escrows` (it prints the request; add --yes to send it).' AS remediation,
    j.job_id,
    j.escrowed_count,
    j.last_execution_state,
    j.last_execution_ended,
    j.last_success_time
FROM sync_jobs j
WHERE j.health = 'escrowed'
