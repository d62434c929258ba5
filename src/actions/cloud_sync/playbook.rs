//! The playbook: for a quarantined job, what each documented quarantine reason (`quarantineReason`,
//! <https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationquarantine>)
//! means and the step that clears it, with its reset scope; for a job
//! that keeps failing, what the documented Cloud Sync error code means and how to fix it
//! (reference-error-codes). Each entry cites its doc. It owns the advice text and the command
//! line it recommends; it must not send anything or decide exit codes.

use super::actions::{DEFAULT_SCOPE, FORCE_DELETES_FLAG};

/// Microsoft's pages the advice follows.
pub(crate) mod docs {
    /// Quarantine reasons, escrow thresholds, how to get out of quarantine.
    pub(crate) const QUARANTINE: &str = "https://learn.microsoft.com/entra/identity/app-provisioning/application-provisioning-quarantine-status";
    /// `quarantineReason` values.
    pub(crate) const QUARANTINE_RESOURCE: &str =
        "https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationquarantine";
    /// Reset scopes of a restart.
    pub(crate) const RESTART: &str =
        "https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-restart";
    /// Start clears a quarantine.
    pub(crate) const START: &str =
        "https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-start";
    /// Accidental-deletion threshold, `StagedDelete` entries, allowing or rejecting deletes.
    pub(crate) const ACCIDENTAL_DELETES: &str =
        "https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-accidental-deletes";
    /// "issue a restart with just `ForceDeletes` as the scope".
    pub(crate) const CLOUD_SYNC_GRAPH: &str = "https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph";
    pub(crate) const TROUBLESHOOT: &str =
        "https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-troubleshoot";
    pub(crate) const ERROR_CODES: &str =
        "https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/reference-error-codes";
}

/// The step that follows once the cause is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `POST …/start`: "If the job is in quarantine, the quarantine status is cleared"
    /// (<https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-start>).
    Start,
    /// `POST …/restart` with the default scope `Watermark, Escrows, QuarantineState`.
    Restart,
    /// Review the held deletions; only if intended, restart with `ForceDeletes`; otherwise fix
    /// the cause and restart with the default scope.
    ReviewDeletesThenForceDeletes,
    /// Nothing to send: an active job retries on its own schedule once the cause is fixed.
    LetItRetry,
}

/// Advice for one reason or error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advice {
    /// The reason or error code this entry is for (`None`: the fallback for an unlisted one).
    pub key: Option<&'static str>,
    /// What it means, after the docs.
    pub meaning: &'static str,
    /// What to fix before acting on the job.
    pub fix: &'static str,
    pub step: Step,
    pub docs: &'static [&'static str],
}

#[cfg(test)]
/// The documented `quarantineReason` values (CSDL;
/// <https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationquarantine>).
pub(crate) const QUARANTINE_REASONS: [&str; 8] = [
    "EncounteredBaseEscrowThreshold",
    "EncounteredTotalEscrowThreshold",
    "EncounteredEscrowProportionThreshold",
    "EncounteredQuarantineException",
    "Unknown",
    "QuarantinedOnDemand",
    "TooManyDeletes",
    "IngestionInterrupted",
];

const ESCROW_FIX: &str = "Read the provisioning logs of the job (Entra admin center > Monitoring & \
health > Provisioning logs, or GET /auditLogs/provisioning filtered on the job id) and fix the \
objects that fail: duplicate attributes, invalid values, objects out of scope of the agent. \
Restarting first only repeats the failures.";

/// The advice for a quarantine reason (`None` or unlisted: the fallback, which follows the
/// general "resolve the issue, then restart" of the quarantine doc).
pub fn for_quarantine(reason: Option<&str>) -> Advice {
    let escrow = |key, meaning| Advice {
        key: Some(key),
        meaning,
        fix: ESCROW_FIX,
        step: Step::Restart,
        docs: &[docs::QUARANTINE, docs::RESTART],
    };
    match reason.map(str::trim) {
        Some("EncounteredBaseEscrowThreshold") => escrow(
            "EncounteredBaseEscrowThreshold",
            "Too many object-level failures (escrows): the count passed the minimum at which the \
             service evaluates quarantine (the docs give about 5,000 failures as that minimum).",
        ),
        Some("EncounteredTotalEscrowThreshold") => escrow(
            "EncounteredTotalEscrowThreshold",
            "Too many object-level failures (escrows) in total: the docs give 40,000 failures, or \
             60,000 counting reference failures, as the absolute thresholds.",
        ),
        Some("EncounteredEscrowProportionThreshold") => escrow(
            "EncounteredEscrowProportionThreshold",
            "Provisioning exceeded the escrow threshold: more than 40% of provisioning events \
             failed (evaluated from about 5,000 failures on).",
        ),
        Some("EncounteredQuarantineException") => Advice {
            key: Some("EncounteredQuarantineException"),
            meaning: "The service cannot connect the source and the target system: the docs name \
                      invalid credentials. For Cloud Sync that is the provisioning agent or its \
                      service accounts; the quarantine's error code says which.",
            fix: "Fix what the quarantine's error code names: an agent that is stopped or cannot \
                  reach Azure Service Bus, an expired or deleted sync service account \
                  (Repair-AADCloudSyncToolsAccount), an expired gMSA password.",
            step: Step::Start,
            docs: &[docs::QUARANTINE, docs::ERROR_CODES, docs::START],
        },
        Some("QuarantinedOnDemand") => Advice {
            key: Some("QuarantinedOnDemand"),
            meaning: "The job was put in quarantine on purpose: the docs say Microsoft detected an \
                      issue with the configuration and set the quarantine manually.",
            fix: "Read the quarantine's error and the provisioning logs; if the cause is not \
                  clear, open a support case with the job id before starting it again.",
            step: Step::Start,
            docs: &[docs::QUARANTINE, docs::START],
        },
        Some("TooManyDeletes") => Advice {
            key: Some("TooManyDeletes"),
            meaning: "A run would delete more objects than the accidental-deletion threshold \
                      allows (QuarantineTooManyDeletesThreshold, 500 by default), so \
                      synchronization stopped before deleting anything.",
            fix: "Review the pending deletions first: the StagedDelete entries in the provisioning \
                  logs, and the accidental-deletion threshold of the configuration. If they are \
                  NOT intended (an OU moved out of scope, a changed scoping filter), fix the \
                  cause and restart with the default scope; the deletions are then not made.",
            step: Step::ReviewDeletesThenForceDeletes,
            docs: &[
                docs::ACCIDENTAL_DELETES,
                docs::CLOUD_SYNC_GRAPH,
                docs::RESTART,
            ],
        },
        Some("IngestionInterrupted") => Advice {
            key: Some("IngestionInterrupted"),
            meaning: "Reading changes from the source was interrupted. The docs list the value but \
                      do not describe it further; the quarantine's error code says what stopped it.",
            fix: "Check that a provisioning agent for the domain is running and can reach a domain \
                  controller and Azure Service Bus, and fix what the error code names.",
            step: Step::Start,
            docs: &[docs::QUARANTINE_RESOURCE, docs::TROUBLESHOOT, docs::START],
        },
        Some("Unknown") => Advice {
            key: Some("Unknown"),
            meaning: "The service did not classify the cause (documented value Unknown).",
            fix: "Read the quarantine's error code and message and the provisioning logs, and fix \
                  what they name.",
            step: Step::Start,
            docs: &[docs::QUARANTINE, docs::START],
        },
        _ => Advice {
            key: None,
            meaning: "The job is in quarantine without a documented reason (the docs' own sample \
                      shows an empty one): most or all of its calls failed.",
            fix: "Read the quarantine's error code and message and the provisioning logs, and fix \
                  what they name.",
            step: Step::Start,
            docs: &[docs::QUARANTINE, docs::START],
        },
    }
}

/// The Cloud Sync error codes Microsoft documents (reference-error-codes) and their fix.
pub(crate) const ERROR_CODES: [(&str, &str); 10] = [
    (
        "TimeOut",
        "A request to the on-premises agent timed out (10 minutes): check the agent's server, \
         its connectivity and load (troubleshooting guide).",
    ),
    (
        "HybridSynchronizationActiveDirectoryInternalServerError",
        "The agent could not process a search against Active Directory: check that the agent can \
         reach a domain controller; if it persists, contact support with the job id.",
    ),
    (
        "HybridIdentityServiceNoAgentsAssigned",
        "No agent is assigned to the domain (agents were removed): install and register a \
         provisioning agent again.",
    ),
    (
        "HybridIdentityServiceNoActiveAgents",
        "No agent is listening: on the agent's server check that the service \"Microsoft Entra \
         Connect cloud sync agent\" is running and that a firewall or proxy lets it reach Azure \
         Service Bus.",
    ),
    (
        "HybridIdentityServiceInvalidResource",
        "The Cloud Sync setup is inconsistent: register the agent on the on-premises domain again \
         and restart the configuration.",
    ),
    (
        "HybridIdentityServiceAgentSignalingError",
        "Service Bus could not reach the agent (an outage, or the agent does not respond): check \
         the agent; if it persists, contact support with the job id.",
    ),
    (
        "AzureDirectoryServiceServerBusy",
        "Microsoft Entra ID was busy; the service retries by itself. Contact support if it \
         lasts more than 24 hours.",
    ),
    (
        "AzureActiveDirectoryInvalidCredential",
        "The sync service account (ADToAADSyncServiceAccount) does not exist in the tenant, often \
         deleted by accident: repair it with Repair-AADCloudSyncToolsAccount.",
    ),
    (
        "AzureActiveDirectoryExpiredCredentials",
        "The sync service account's credentials expired: repair the cloud service account \
         (Repair-AADCloudSyncToolsAccount).",
    ),
    (
        "AzureActiveDirectoryAuthenticationFailed",
        "Authentication of the sync service failed for an unknown reason: if it persists, contact \
         support with the job id.",
    ),
];

/// The documented fix for a Cloud Sync error code, when it is one.
pub(crate) fn for_error_code(code: &str) -> Option<&'static str> {
    ERROR_CODES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code.trim()))
        .map(|(_, fix)| *fix)
}

/// The advice for an active job that keeps failing (no quarantine yet).
pub(crate) fn for_failing(error_code: Option<&str>) -> Advice {
    Advice {
        key: error_code.and_then(|c| ERROR_CODES.iter().find(|(k, _)| *k == c).map(|(k, _)| *k)),
        meaning: "The job runs but its runs fail (or have not succeeded for a long time): \
                  changes do not flow, and enough failures put it in quarantine.",
        fix: "Read the last run's error and the provisioning logs of the job, and fix the \
              cause; common causes are a stopped agent, an agent that cannot reach a domain \
              controller, and expired service account credentials.",
        step: Step::LetItRetry,
        docs: &[docs::TROUBLESHOOT, docs::ERROR_CODES],
    }
}

/// The `entra-audit` command that takes the step, for a job of a service principal. Commands
/// without `--yes` only print the request, so copying one is safe.
pub fn command(step: Step, job_id: &str, service_principal_id: &str) -> Option<String> {
    let base = |verb: &str| {
        format!(
            "entra-audit cloud-sync {verb} --job {job_id} --service-principal {service_principal_id}"
        )
    };
    match step {
        Step::Start => Some(base("start")),
        Step::Restart => Some(format!("{} --scope {DEFAULT_SCOPE}", base("restart"))),
        Step::ReviewDeletesThenForceDeletes => Some(format!(
            "{} --scope ForceDeletes {FORCE_DELETES_FLAG}",
            base("restart")
        )),
        Step::LetItRetry => None,
    }
}

/// The step in words, with the command when there is one.
pub(crate) fn step_text(step: Step, job_id: &str, service_principal_id: &str) -> String {
    let cmd = command(step, job_id, service_principal_id).unwrap_or_default();
    match step {
        Step::Start => format!(
            "then start the job, which clears the quarantine: `{cmd}` (prints the request; add \
             --yes to send it)"
        ),
        Step::Restart => format!(
            "then restart it, clearing the escrows that count toward the quarantine, the \
             watermark and the quarantine itself: `{cmd}` (prints the request; add --yes to send \
             it)"
        ),
        Step::ReviewDeletesThenForceDeletes => format!(
            "only if the deletions are intended, let them through: `{cmd}` (prints the request; \
             add --yes to send it). Otherwise, after fixing the cause: `{}`",
            command(Step::Restart, job_id, service_principal_id).unwrap_or_default()
        ),
        // Clearing escrows stops the retries of old failures and removing the watermark
        // re-evaluates every object
        // (graph/api/resources/synchronization-synchronizationjobrestartcriteria): optional,
        // once the cause is fixed.
        Step::LetItRetry => format!(
            "then let the job retry on its own schedule (every few minutes); to re-evaluate every \
             object at once instead: `entra-audit cloud-sync restart --job {job_id} \
             --service-principal {service_principal_id} --scope Watermark,Escrows` (prints the \
             request; add --yes to send it)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_quarantine_reason_has_its_own_entry_with_a_doc() {
        for reason in QUARANTINE_REASONS {
            let advice = for_quarantine(Some(reason));
            assert_eq!(advice.key, Some(reason), "{reason} falls back");
            assert!(!advice.docs.is_empty(), "{reason}");
            assert!(
                advice
                    .docs
                    .iter()
                    .all(|d| d.starts_with("https://learn.microsoft.com/")),
                "{reason}"
            );
        }
        assert_eq!(for_quarantine(Some("")).key, None);
        assert_eq!(for_quarantine(None).key, None);
        assert_eq!(for_quarantine(Some("SomethingNew")).step, Step::Start);
    }

    #[test]
    fn each_reason_gets_the_right_step_and_scope() {
        for reason in [
            "EncounteredBaseEscrowThreshold",
            "EncounteredTotalEscrowThreshold",
            "EncounteredEscrowProportionThreshold",
        ] {
            assert_eq!(for_quarantine(Some(reason)).step, Step::Restart, "{reason}");
        }
        for reason in [
            "EncounteredQuarantineException",
            "QuarantinedOnDemand",
            "IngestionInterrupted",
            "Unknown",
        ] {
            assert_eq!(for_quarantine(Some(reason)).step, Step::Start, "{reason}");
        }
        let deletes = for_quarantine(Some("TooManyDeletes"));
        assert_eq!(deletes.step, Step::ReviewDeletesThenForceDeletes);
        // Review the threshold and the pending deletions before anything like ForceDeletes.
        assert!(
            deletes
                .fix
                .starts_with("Review the pending deletions first")
        );
        assert!(deletes.fix.contains("threshold"));
        let text = step_text(deletes.step, "AD2AADProvisioning.x", "sp-1");
        assert!(
            text.starts_with("only if the deletions are intended"),
            "{text}"
        );
        assert!(
            text.contains("--scope ForceDeletes --allow-force-deletes"),
            "{text}"
        );
        assert!(
            text.contains("--scope Watermark,Escrows,QuarantineState"),
            "{text}"
        );
    }

    #[test]
    fn commands_name_the_job_and_its_service_principal() {
        assert_eq!(
            command(Step::Start, "AD2AADProvisioning.abc", "sp-1").unwrap(),
            "entra-audit cloud-sync start --job AD2AADProvisioning.abc --service-principal sp-1"
        );
        assert_eq!(
            command(Step::Restart, "j", "s").unwrap(),
            "entra-audit cloud-sync restart --job j --service-principal s --scope Watermark,Escrows,QuarantineState"
        );
        assert_eq!(command(Step::LetItRetry, "j", "s"), None);
    }

    #[test]
    fn documented_error_codes_have_a_fix() {
        assert!(
            for_error_code("HybridIdentityServiceNoActiveAgents")
                .unwrap()
                .contains("Microsoft Entra Connect cloud sync agent")
        );
        assert!(
            for_error_code("azureactivedirectoryinvalidcredential")
                .unwrap()
                .contains("Repair-AADCloudSyncToolsAccount")
        );
        assert_eq!(for_error_code("SalesforceInvalidCredentials"), None);
        assert_eq!(for_failing(Some("TimeOut")).key, Some("TimeOut"),);
    }
}
