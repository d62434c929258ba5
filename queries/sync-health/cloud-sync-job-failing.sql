/*
+++
name     = "cloud-sync-job-failing"
title    = "Cloud Sync job failing or without a successful run"
severity = "high"
category = "sync-health"
outcome  = "JobFailing"
requires = ["sync_jobs"]
evidence = ["job_id", "successive_failures", "last_execution_state", "last_success_time", "last_execution_ended"]
+++
## What it does
Reports active Cloud Sync jobs (status code `Active`, not quarantined) that keep failing
(`countSuccessiveCompleteFailures` above zero, or the last execution `Failed`), or whose last
successful execution is older than `--cloud-sync-max-age` (default 24 hours) before the as-of
time, or that have never succeeded although they have run.

`lastSuccessfulExecution` is the last run *without errors*: a job whose recent runs complete with
escrowed objects leaves it behind without failing. Such a job is not reported here but by
`cloud-sync-job-escrows`, with the count. The judgement is the `sync_jobs.health` column, made once
for this rule, `entra-audit cloud-sync status` and the report.

## Why is this bad?
A failing job is one step from quarantine, and until then changes do not flow: the portal shows
"Active", so nobody looks.

## Remediation
Read the last execution's error and the provisioning logs for the job: `entra-audit cloud-sync
status` shows it with what the documented error code means. Common causes are an agent that is down
or cannot reach a domain controller, expired credentials of the gMSA or the sync service account,
and scoping filter errors. Fix the cause; the job retries on its own schedule (every 2 minutes by
default). To re-evaluate every object at once afterwards instead of retrying the old failures:
`entra-audit cloud-sync restart --job JOB --service-principal SP --scope Watermark,Escrows` (it prints
the request; add `--yes` to send it).

## References
- synchronizationStatus: https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationstatus
- Cloud Sync troubleshooting: https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-troubleshoot
- Error codes: https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/reference-error-codes
*/
SELECT
    j.service_principal_id AS cloud_object_id,
    'synchronizationJob' AS cloud_object_type,
    CAST(NULL AS VARCHAR) AS onprem_object_guid,
    CAST(NULL AS VARCHAR) AS onprem_distinguished_name,
    'status.lastSuccessfulExecution' AS attribute,
    j.job_id AS value,
    'Cloud Sync job ' || j.job_id || ' (' || COALESCE(j.configuration, j.domain, j.service_principal_id, 'unknown configuration') || ') '
        || CASE
            WHEN COALESCE(j.successive_failures, 0) > 0 THEN 'failed ' || CAST(j.successive_failures AS VARCHAR) || ' times in a row'
            WHEN j.last_execution_state = 'Failed' THEN 'failed its last run'
            WHEN j.last_success_time IS NULL THEN 'has run but never succeeded'
            ELSE 'has not succeeded since ' || STRFTIME(j.last_success_time, '%Y-%m-%dT%H:%M:%SZ')
        END
        || COALESCE('; last error: ' || j.last_execution_error_code || COALESCE(' ' || RTRIM(j.last_execution_error_message, '.'), ''), '')
        || '.' AS message,
    'Read the last error' || COALESCE(' (' || j.last_execution_error_code || ')', '')
        || ' and what it means with `entra-audit cloud-sync status`; check that a provisioning agent is running and can reach a domain controller, fix the cause and let the job retry. To re-evaluate every object at once afterwards: `entra-audit cloud-sync restart --job ' || j.job_id
        || COALESCE(' --service-principal ' || j.service_principal_id, '')
        || ' --scope Watermark,Escrows` (it prints the request; add --yes to send it).' AS remediation,
    j.job_id,
    j.successive_failures,
    j.last_execution_state,
    j.last_success_time,
    j.last_execution_ended
FROM sync_jobs j
WHERE j.health = 'failing'
