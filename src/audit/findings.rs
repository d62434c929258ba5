//! The finding model shared by the rule engine (which produces findings) and the reports (which
//! render them): one [`Finding`] per problem, the [`RuleOutcome`] of every rule, and the stable id
//! that lets a scheduled audit recognise the same finding on the next run.
//!
//! It lives apart from `report` so that data keeps flowing one way (rules → findings → reports):
//! the engine never depends on a renderer. It computes nothing about tenants.

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown severity '{s}': expected one of critical, high, medium, low, info")
            })
    }
}

/// What Entra ID will do (or did) with the object, as Microsoft documents it: a closed
/// vocabulary, so a scheduled job can act on it. Names follow the error names of
/// <https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors> where
/// there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PredictedOutcome {
    SoftMatchTakeover,
    InvalidSoftMatch,
    ExistingAdminRoleConflict,
    ObjectTypeMismatch,
    AttributeValueMustBeUnique,
    InvalidHardMatch,
    DuplicateSourceAnchor,
    UpnReplacedWithInitialDomain,
    IdentityDataValidationFailed,
    ValueRewritten,
    AccountStillCreated,
    LargeObject,
    NotSynced,
    SourceMissing,
    CloudLeftover,
    SyncStopped,
    PasswordSyncStopped,
    JobQuarantined,
    JobFailing,
    JobEscrowed,
    JobPaused,
    JobNotRun,
}

impl PredictedOutcome {
    pub const ALL: [PredictedOutcome; 22] = [
        PredictedOutcome::SoftMatchTakeover,
        PredictedOutcome::InvalidSoftMatch,
        PredictedOutcome::ExistingAdminRoleConflict,
        PredictedOutcome::ObjectTypeMismatch,
        PredictedOutcome::AttributeValueMustBeUnique,
        PredictedOutcome::InvalidHardMatch,
        PredictedOutcome::DuplicateSourceAnchor,
        PredictedOutcome::UpnReplacedWithInitialDomain,
        PredictedOutcome::IdentityDataValidationFailed,
        PredictedOutcome::ValueRewritten,
        PredictedOutcome::AccountStillCreated,
        PredictedOutcome::LargeObject,
        PredictedOutcome::NotSynced,
        PredictedOutcome::SourceMissing,
        PredictedOutcome::CloudLeftover,
        PredictedOutcome::SyncStopped,
        PredictedOutcome::PasswordSyncStopped,
        PredictedOutcome::JobQuarantined,
        PredictedOutcome::JobFailing,
        PredictedOutcome::JobEscrowed,
        PredictedOutcome::JobPaused,
        PredictedOutcome::JobNotRun,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PredictedOutcome::SoftMatchTakeover => "SoftMatchTakeover",
            PredictedOutcome::InvalidSoftMatch => "InvalidSoftMatch",
            PredictedOutcome::ExistingAdminRoleConflict => "ExistingAdminRoleConflict",
            PredictedOutcome::ObjectTypeMismatch => "ObjectTypeMismatch",
            PredictedOutcome::AttributeValueMustBeUnique => "AttributeValueMustBeUnique",
            PredictedOutcome::InvalidHardMatch => "InvalidHardMatch",
            PredictedOutcome::DuplicateSourceAnchor => "DuplicateSourceAnchor",
            PredictedOutcome::UpnReplacedWithInitialDomain => "UpnReplacedWithInitialDomain",
            PredictedOutcome::IdentityDataValidationFailed => "IdentityDataValidationFailed",
            PredictedOutcome::ValueRewritten => "ValueRewritten",
            PredictedOutcome::AccountStillCreated => "AccountStillCreated",
            PredictedOutcome::LargeObject => "LargeObject",
            PredictedOutcome::NotSynced => "NotSynced",
            PredictedOutcome::SourceMissing => "SourceMissing",
            PredictedOutcome::CloudLeftover => "CloudLeftover",
            PredictedOutcome::SyncStopped => "SyncStopped",
            PredictedOutcome::PasswordSyncStopped => "PasswordSyncStopped",
            PredictedOutcome::JobQuarantined => "JobQuarantined",
            PredictedOutcome::JobFailing => "JobFailing",
            PredictedOutcome::JobEscrowed => "JobEscrowed",
            PredictedOutcome::JobPaused => "JobPaused",
            PredictedOutcome::JobNotRun => "JobNotRun",
        }
    }

    /// What happens, in one sentence (the README's vocabulary table is generated from this).
    pub fn meaning(self) -> &'static str {
        match self {
            PredictedOutcome::SoftMatchTakeover => {
                "sync joins the on-prem object to the existing cloud object by UPN or primary SMTP address and takes it over: every cloud attribute with an on-prem value is overwritten"
            }
            PredictedOutcome::InvalidSoftMatch => {
                "export fails: the object's UPN or primary SMTP address matches a cloud object that soft match may not join (it has an immutableId, or the tenant blocks the match)"
            }
            PredictedOutcome::ExistingAdminRoleConflict => {
                "export fails: the matching cloud user holds an admin role, and soft match never joins such a user"
            }
            PredictedOutcome::ObjectTypeMismatch => {
                "export fails: the matching cloud object is of another type (a contact or group where a user comes, ...)"
            }
            PredictedOutcome::AttributeValueMustBeUnique => {
                "the value is already held by another object: duplicate attribute resiliency quarantines it (a UPN is replaced by a placeholder on the initial domain, a proxy address is dropped) and records a provisioning error"
            }
            PredictedOutcome::InvalidHardMatch => {
                "export fails: the source anchor equals the immutableId of a cloud object that is not synced, and the tenant blocks takeover through hard match or (since June 2026) the cloud user holds a Microsoft Entra role"
            }
            PredictedOutcome::DuplicateSourceAnchor => {
                "two on-prem objects carry one source anchor: only one of them can own the cloud object, the other fails"
            }
            PredictedOutcome::UpnReplacedWithInitialDomain => {
                "the UPN suffix is not a verified domain: sync writes the UPN on the tenant's initial (onmicrosoft.com) domain instead"
            }
            PredictedOutcome::IdentityDataValidationFailed => {
                "export fails: a value breaks Entra ID's rules for the attribute (characters, format, length)"
            }
            PredictedOutcome::ValueRewritten => {
                "no export error: the service replaces what it cannot hold (an invalid character in mailNickname becomes `_`), so the value in Entra ID differs from on-prem"
            }
            PredictedOutcome::AccountStillCreated => {
                "no export error: the value is invalid but Microsoft documents that the account is still created (sAMAccountName with a valid UPN)"
            }
            PredictedOutcome::LargeObject => {
                "export fails or a value is dropped: an attribute exceeds a size or count limit"
            }
            PredictedOutcome::NotSynced => {
                "the object is not synchronized (no longer in the engine's scope)"
            }
            PredictedOutcome::SourceMissing => {
                "the cloud object is synced, but its on-prem source is not in the export: deleted on-prem (the next sync deletes it) or left out of the export"
            }
            PredictedOutcome::CloudLeftover => {
                "nothing: the cloud object stays, no longer managed from on-prem, and may block an on-prem object"
            }
            PredictedOutcome::SyncStopped => {
                "directory sync has stopped: no change on-prem reaches Entra ID"
            }
            PredictedOutcome::PasswordSyncStopped => {
                "password hash sync has stopped: password changes on-prem do not reach Entra ID"
            }
            PredictedOutcome::JobQuarantined => {
                "the Cloud Sync job is in quarantine: it syncs nothing until the cause is fixed"
            }
            PredictedOutcome::JobFailing => {
                "the Cloud Sync job runs but fails: changes do not reach Entra ID"
            }
            PredictedOutcome::JobEscrowed => {
                "the Cloud Sync job runs, but some objects fail and wait in escrow"
            }
            PredictedOutcome::JobPaused => {
                "the Cloud Sync job is paused: it syncs nothing until started"
            }
            PredictedOutcome::JobNotRun => "the Cloud Sync job has not completed its first run",
        }
    }
}

impl fmt::Display for PredictedOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PredictedOutcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PredictedOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown predicted outcome '{s}': expected one of {}",
                    PredictedOutcome::ALL
                        .map(PredictedOutcome::as_str)
                        .join(", ")
                )
            })
    }
}

/// The README's table of the outcome vocabulary.
pub fn outcome_vocabulary_markdown() -> String {
    let mut out = String::from("| predicted_outcome | what happens |\n|---|---|\n");
    for outcome in PredictedOutcome::ALL {
        let _ = writeln!(out, "| `{outcome}` | {} |", outcome.meaning());
    }
    out
}

/// One problem with one object (or one pair of objects), naming both sides where there are two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable across runs: derived from the rule and the identifying fields, see [`finding_id`].
    pub id: String,
    pub rule: String,
    pub severity: Severity,
    /// What Entra ID will do with the object; every built-in rule states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_outcome: Option<PredictedOutcome>,
    pub cloud_object_id: Option<String>,
    pub cloud_object_type: Option<String>,
    /// Lower-case 8-4-4-4-12.
    pub onprem_object_guid: Option<String>,
    pub onprem_distinguished_name: Option<String>,
    pub attribute: Option<String>,
    pub value: Option<String>,
    pub message: String,
    pub remediation: String,
    /// Extra columns the rule returned (the other holder of a value, timestamps, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub evidence: BTreeMap<String, String>,
}

/// The id of a finding: the same problem gets the same id on every run, whatever the row order,
/// so baselines and suppressions can refer to it. Values compare case-insensitively, like Entra.
pub fn finding_id(
    rule: &str,
    cloud_object_id: Option<&str>,
    onprem_object_guid: Option<&str>,
    attribute: Option<&str>,
    value: Option<&str>,
) -> String {
    let mut hasher = Sha256::new();
    for part in [
        Some(rule),
        cloud_object_id,
        onprem_object_guid,
        attribute,
        value.map(str::to_lowercase).as_deref(),
    ] {
        hasher.update(part.unwrap_or("").as_bytes());
        // A separator that cannot appear in the parts keeps ("ab","c") apart from ("a","bc").
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    digest[..8].iter().fold(format!("{rule}:"), |mut id, b| {
        let _ = write!(id, "{b:02x}");
        id
    })
}

/// What happened to one rule in one run. "Not evaluated" is never shown as passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RuleOutcome {
    Passed,
    Failed { findings: usize },
    NotEvaluated { reason: String },
    Errored { error: String },
}

impl RuleOutcome {
    pub fn label(&self) -> String {
        match self {
            RuleOutcome::Passed => "passed".to_owned(),
            RuleOutcome::Failed { findings } => format!("failed ({findings})"),
            RuleOutcome::NotEvaluated { .. } => "not evaluated".to_owned(),
            RuleOutcome::Errored { .. } => "errored".to_owned(),
        }
    }
}

/// The outcome of one rule with the rule's identity, as the reports show it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub category: String,
    #[serde(flatten)]
    pub outcome: RuleOutcome,
    /// Inputs that were missing but optional: the rule ran, with less information (said here).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caveats: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_id_is_stable_and_case_insensitive_on_value() {
        let a = finding_id("r", Some("c1"), Some("g1"), Some("mail"), Some("A@X.com"));
        let b = finding_id("r", Some("c1"), Some("g1"), Some("mail"), Some("a@x.COM"));
        assert_eq!(a, b);
        assert!(a.starts_with("r:"));
        assert_eq!(a.len(), "r:".len() + 16);
    }

    #[test]
    fn finding_id_separates_fields() {
        let a = finding_id("r", Some("ab"), Some("c"), None, None);
        let b = finding_id("r", Some("a"), Some("bc"), None, None);
        assert_ne!(a, b);
    }

    #[test]
    fn severity_parses_and_orders() {
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        assert!(
            "urgent"
                .parse::<Severity>()
                .unwrap_err()
                .contains("critical, high")
        );
    }
}
