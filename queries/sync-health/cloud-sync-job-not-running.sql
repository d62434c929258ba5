/*
+++
name     = "cloud-sync-job-not-running"
title    = "Cloud Sync job paused, or never through its first run"
severity = "medium"
category = "sync-health"
outcome  = "JobPaused"
requires = ["sync_jobs"]
evidence = ["job_id", "status_code", "schedule_state"]
+++
## What it does
Reports Cloud Sync provisioning jobs that sync nothing although they exist: a job whose status code
is `Paused` (usually paused by an administrator, and easily forgotten), and a job whose status code
is `NotRun` (it has not completed its first run). The predicted outcome says which: `JobPaused` or
`JobNotRun`.

## Why is this bad?
Nothing of the configuration's domain reaches Entra ID while the job is paused, and a job that
never completes its first run has never synced anything: new hires get no account, leavers keep
theirs.

## Remediation
If the pause was deliberate and is over, start the job: `entra-audit cloud-sync start --job JOB`
(it prints the request; add `--yes` to send it). A job stuck before its first run usually has no
active agent or cannot reach a domain controller: check the agents in the Entra admin center and
`entra-audit cloud-sync status` for the job's last error.

## References
- synchronizationStatus codes (NotConfigured, NotRun, Active, Paused, Quarantine): https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationstatus
- Start a job: https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-start
*/
SELECT
    j.service_principal_id AS cloud_object_id,
    'synchronizationJob' AS cloud_object_type,
    CAST(NULL AS VARCHAR) AS onprem_object_guid,
    CAST(NULL AS VARCHAR) AS onprem_distinguished_name,
    'status.code' AS attribute,
    j.job_id AS value,
    'Cloud Sync job ' || j.job_id || ' (' || COALESCE(j.configuration, j.domain, j.service_principal_id, 'unknown configuration') || ') '
        || CASE j.health
            WHEN 'paused' THEN 'is paused: it syncs nothing until it is started'
            ELSE 'has not completed its first run: it has synced nothing yet'
        END
        || COALESCE('; last error: ' || j.last_execution_error_code || COALESCE(' ' || RTRIM(j.last_execution_error_message, '.'), ''), '')
        || '.' AS message,
    CASE j.health
        WHEN 'paused' THEN 'If the pause is over, start it: `entra-audit cloud-sync start --job ' || j.job_id
            || COALESCE(' --service-principal ' || j.service_principal_id, '') || '` (it prints the request; add --yes to send it).'
        ELSE 'Check that a provisioning agent is active and can reach a domain controller (`entra-audit cloud-sync status` shows the last error), then let the job run.'
    END AS remediation,
    CASE j.health WHEN 'paused' THEN 'JobPaused' ELSE 'JobNotRun' END AS predicted_outcome,
    j.job_id,
    j.status_code,
    j.schedule_state
FROM sync_jobs j
WHERE j.health IN ('paused', 'notRun')
