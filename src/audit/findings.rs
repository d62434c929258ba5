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
    SourceAnchorMissing,
    UpnReplacedWithInitialDomain,
    IdentityDataValidationFailed,
    ValueRewritten,
    AccountStillCreated,
    LargeObject,
    NotSynced,
    SourceMissing,
    CloudLeftover,
    CloudManaged,
    SyncStopped,
    PasswordSyncStopped,
    JobQuarantined,
    JobFailing,
    JobEscrowed,
    JobPaused,
    JobNotRun,
}

impl PredictedOutcome {
    pub const ALL: [PredictedOutcome; 24] = [
        PredictedOutcome::SoftMatchTakeover,
        PredictedOutcome::InvalidSoftMatch,
        PredictedOutcome::ExistingAdminRoleConflict,
        PredictedOutcome::ObjectTypeMismatch,
        PredictedOutcome::AttributeValueMustBeUnique,
        PredictedOutcome::InvalidHardMatch,
        PredictedOutcome::DuplicateSourceAnchor,
        PredictedOutcome::SourceAnchorMissing,
        PredictedOutcome::UpnReplacedWithInitialDomain,
        PredictedOutcome::IdentityDataValidationFailed,
        PredictedOutcome::ValueRewritten,
        PredictedOutcome::AccountStillCreated,
        PredictedOutcome::LargeObject,
        PredictedOutcome::NotSynced,
        PredictedOutcome::SourceMissing,
        PredictedOutcome::CloudLeftover,
        PredictedOutcome::CloudManaged,
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
            PredictedOutcome::SourceAnchorMissing => "SourceAnchorMissing",
            PredictedOutcome::UpnReplacedWithInitialDomain => "UpnReplacedWithInitialDomain",
            PredictedOutcome::IdentityDataValidationFailed => "IdentityDataValidationFailed",
            PredictedOutcome::ValueRewritten => "ValueRewritten",
            PredictedOutcome::AccountStillCreated => "AccountStillCreated",
            PredictedOutcome::LargeObject => "LargeObject",
            PredictedOutcome::NotSynced => "NotSynced",
            PredictedOutcome::SourceMissing => "SourceMissing",
            PredictedOutcome::CloudLeftover => "CloudLeftover",
            PredictedOutcome::CloudManaged => "CloudManaged",
            PredictedOutcome::SyncStopped => "SyncStopped",
            PredictedOutcome::PasswordSyncStopped => "PasswordSyncStopped",
            PredictedOutcome::JobQuarantined => "JobQuarantined",
            PredictedOutcome::JobFailing => "JobFailing",
            PredictedOutcome::JobEscrowed => "JobEscrowed",
            PredictedOutcome::JobPaused => "JobPaused",
            PredictedOutcome::JobNotRun => "JobNotRun",
        }
    }

    /// What happens, in one sentence (docs/outputs.md's vocabulary table is generated from this).
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
            PredictedOutcome::SourceAnchorMissing => {
                "the user has no usable value in the custom source anchor attribute: it cannot be hard-matched, and what Entra Connect does with it is not documented (it may not be exported)"
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
            PredictedOutcome::CloudManaged => {
                "nothing from sync: the object was converted to cloud management (onPremisesSyncBehavior isCloudManaged, or the tenant switched directory sync off), so updates from on-premises AD are blocked; it is no leftover, and it still holds its values against on-prem objects"
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

/// The table of the outcome vocabulary in docs/outputs.md.
pub fn outcome_vocabulary_markdown() -> String {
    let mut out = String::from("| predicted_outcome | what happens |\n|---|---|\n");
    for outcome in PredictedOutcome::ALL {
        let _ = writeln!(out, "| `{outcome}` | {} |", outcome.meaning());
    }
    out
}

/// The evidence columns the cleanup files read, named once here (a rule's `evidence` declares
/// them; [`CleanupAction::evidence_needed`] says which an action needs).
pub(crate) mod evidence {
    pub(crate) const OTHER_ONPREM_OBJECT_GUID: &str = "other_onprem_object_guid";
    pub(crate) const OTHER_ONPREM_DISTINGUISHED_NAME: &str = "other_onprem_distinguished_name";
    pub(crate) const ONPREM_SOURCE_ANCHOR: &str = "onprem_source_anchor";
    pub(crate) const HARD_MATCH_BLOCKED: &str = "hard_match_blocked";
    pub(crate) const REFUSAL_CODE: &str = "refusal_code";
    pub(crate) const CLOUD_SYNC_STATE: &str = "cloud_sync_state";
    pub(crate) const CLOUD_IMMUTABLE_ID: &str = "cloud_immutable_id";
    pub(crate) const CLOUD_ADMIN_ROLES: &str = "cloud_admin_roles";
    pub(crate) const CLOUD_DOMAIN_FEDERATED: &str = "cloud_domain_federated";
    pub(crate) const CLOUD_MANAGED: &str = "cloud_managed";
}

/// What the admin has to do about a finding, as its rule declares it (front matter
/// `cleanup = [...]`, spelled as below); each action is one cleanup file, `cleanup/<name>.csv`.
/// The order of the variants is the order to apply them in (the cleanup README says why).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CleanupAction {
    ClearOnpremConsistencyGuid,
    RemoveOnpremProxyAddress,
    ClearOnpremMail,
    ChangeOnpremUpn,
    FixUpnSuffix,
    ResolveObjectTypeMismatch,
    HardMatchSetImmutableId,
    ClearImmutableId,
    DeleteStaleCloudUser,
    DeleteStaleCloudGroup,
    DeleteStaleCloudContact,
    DeleteOrphanedSyncedObject,
}

impl CleanupAction {
    pub const ALL: [CleanupAction; 12] = [
        CleanupAction::ClearOnpremConsistencyGuid,
        CleanupAction::RemoveOnpremProxyAddress,
        CleanupAction::ClearOnpremMail,
        CleanupAction::ChangeOnpremUpn,
        CleanupAction::FixUpnSuffix,
        CleanupAction::ResolveObjectTypeMismatch,
        CleanupAction::HardMatchSetImmutableId,
        CleanupAction::ClearImmutableId,
        CleanupAction::DeleteStaleCloudUser,
        CleanupAction::DeleteStaleCloudGroup,
        CleanupAction::DeleteStaleCloudContact,
        CleanupAction::DeleteOrphanedSyncedObject,
    ];

    /// The evidence columns every rule that declares this action must declare, or the action
    /// would quietly act without the facts that make it safe (the other holder, a blocked hard
    /// match, an admin role). Checked when a rule loads, custom rules included.
    pub(crate) fn evidence_needed(self) -> &'static [&'static str] {
        self.evidence_read().0
    }

    /// Evidence read when a finding has it (a refused soft match has a refusal, a takeover none):
    /// at least one built-in rule that declares the action declares each (a unit test checks), so
    /// a renamed column cannot silently turn the check off.
    #[cfg(test)]
    pub(crate) fn evidence_when_present(self) -> &'static [&'static str] {
        self.evidence_read().1
    }

    /// (needed, read when present).
    fn evidence_read(self) -> (&'static [&'static str], &'static [&'static str]) {
        use evidence::{
            CLOUD_ADMIN_ROLES, CLOUD_DOMAIN_FEDERATED, CLOUD_IMMUTABLE_ID, CLOUD_MANAGED,
            CLOUD_SYNC_STATE, HARD_MATCH_BLOCKED, ONPREM_SOURCE_ANCHOR,
            OTHER_ONPREM_DISTINGUISHED_NAME, OTHER_ONPREM_OBJECT_GUID, REFUSAL_CODE,
        };
        match self {
            CleanupAction::ClearOnpremConsistencyGuid
            | CleanupAction::RemoveOnpremProxyAddress
            | CleanupAction::ClearOnpremMail
            | CleanupAction::ChangeOnpremUpn => (
                &[OTHER_ONPREM_OBJECT_GUID, OTHER_ONPREM_DISTINGUISHED_NAME],
                &[],
            ),
            CleanupAction::FixUpnSuffix | CleanupAction::ResolveObjectTypeMismatch => (&[], &[]),
            CleanupAction::HardMatchSetImmutableId => (
                &[ONPREM_SOURCE_ANCHOR, HARD_MATCH_BLOCKED],
                &[REFUSAL_CODE, CLOUD_SYNC_STATE],
            ),
            CleanupAction::ClearImmutableId
            | CleanupAction::DeleteStaleCloudUser
            | CleanupAction::DeleteStaleCloudGroup
            | CleanupAction::DeleteStaleCloudContact => (
                &[
                    CLOUD_IMMUTABLE_ID,
                    CLOUD_ADMIN_ROLES,
                    CLOUD_DOMAIN_FEDERATED,
                    CLOUD_MANAGED,
                ],
                &[],
            ),
            // A synced object's immutableId is its anchor: no federated-domain doubt to read.
            CleanupAction::DeleteOrphanedSyncedObject => (&[CLOUD_ADMIN_ROLES, CLOUD_MANAGED], &[]),
        }
    }

    /// The spelling in a rule's front matter, and the cleanup file's name without `.csv`.
    pub fn name(self) -> &'static str {
        match self {
            CleanupAction::ClearOnpremConsistencyGuid => "clear-onprem-consistency-guid",
            CleanupAction::RemoveOnpremProxyAddress => "remove-onprem-proxy-address",
            CleanupAction::ClearOnpremMail => "clear-onprem-mail",
            CleanupAction::ChangeOnpremUpn => "change-onprem-upn",
            CleanupAction::FixUpnSuffix => "fix-upn-suffix",
            CleanupAction::ResolveObjectTypeMismatch => "resolve-object-type-mismatch",
            CleanupAction::HardMatchSetImmutableId => "hard-match-set-immutable-id",
            CleanupAction::ClearImmutableId => "clear-immutable-id",
            CleanupAction::DeleteStaleCloudUser => "delete-stale-cloud-user",
            CleanupAction::DeleteStaleCloudGroup => "delete-stale-cloud-group",
            CleanupAction::DeleteStaleCloudContact => "delete-stale-cloud-contact",
            CleanupAction::DeleteOrphanedSyncedObject => "delete-orphaned-synced-object",
        }
    }
}

impl fmt::Display for CleanupAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a rule declares about cleaning up its findings (front matter `cleanup` and
/// `cloud_object_blocks_onprem`): the cleanup files dispatch on this, never on rule names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleCleanup {
    /// The actions that may fix a finding, tried in this order; the first that applies to the
    /// finding (its attribute, object type, evidence) gives its row. Empty: no single command
    /// fixes it safely, and the finding stays in findings.csv for a person to decide.
    pub actions: Vec<CleanupAction>,
    /// Each finding names a cloud object that stops the on-prem object it names from syncing
    /// (a refused soft match, a type mismatch): a leftover finding naming the same pair is the
    /// blocker, to be deleted, not the on-prem object's own cloud twin.
    pub cloud_object_blocks_onprem: bool,
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
    /// With `--baseline`: whether the baseline had it (set by the schedule before anything is
    /// written; findings.json's additive `status` key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<BaselineStatus>,
    /// With `--suppressions`: whether a suppression mutes it (findings.json's `muted` key, on
    /// every finding of such a run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<bool>,
    /// The suppression that mutes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<AppliedSuppression>,
}

impl Finding {
    /// Whether a suppression mutes it (left out of counts, the exit decision, readiness and
    /// the cleanup files; still in findings.json).
    pub fn is_muted(&self) -> bool {
        self.muted == Some(true)
    }
}

/// Whether a finding was in the baseline of a scheduled audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineStatus {
    New,
    Unchanged,
}

impl BaselineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineStatus::New => "new",
            BaselineStatus::Unchanged => "unchanged",
        }
    }
}

/// The suppression that mutes a finding, as findings.json shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedSuppression {
    pub reason: String,
    /// YYYY-MM-DD: the first day it no longer applies.
    pub expires: String,
    pub object: String,
    /// `FILE:LINE` of the suppression.
    pub source: String,
}

/// A finding of the baseline that this run no longer has, kept as the baseline file wrote it
/// (an older findings.json may carry keys this version does not know; they are passed on).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct BaselineFinding(pub serde_json::Value);

impl BaselineFinding {
    /// A text field of the record (`id`, `rule`, `message`, ...), empty when absent.
    pub fn text(&self, key: &str) -> &str {
        self.0
            .get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
    }
}

/// With `--baseline`: which file the run was compared to and what came of it (findings.json's
/// top-level `baseline`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineComparison {
    pub path: std::path::PathBuf,
    /// The baseline's own `as_of`.
    pub as_of: Option<String>,
    pub new: usize,
    pub unchanged: usize,
    pub resolved: usize,
}

/// With `--suppressions`: the file, how many findings it muted and what did not apply
/// (findings.json's top-level `suppressions`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuppressionsApplied {
    pub path: std::path::PathBuf,
    pub muted: usize,
    pub warnings: Vec<String>,
}

/// The id of a finding: the same problem gets the same id on every run, whatever the row order,
/// so baselines and suppressions can refer to it. Values compare case-insensitively, like Entra.
pub(crate) fn finding_id(
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
    fn cleanup_actions_are_spelled_in_front_matter_as_their_file_names() {
        for action in CleanupAction::ALL {
            let parsed: CleanupAction =
                serde_json::from_value(serde_json::json!(action.name())).unwrap();
            assert_eq!(parsed, action);
        }
    }

    /// findings.json's per-finding keys: a plain run has none of the schedule's; a scheduled
    /// run appends `status`, `muted`, `suppression` after `evidence`, in that order, as the
    /// file written before the typed model had them (and as older baselines hold them).
    #[test]
    fn schedule_keys_are_additive_and_in_their_old_order() {
        let mut f = Finding {
            id: "r:1".into(),
            rule: "r".into(),
            severity: Severity::Low,
            predicted_outcome: None,
            cloud_object_id: None,
            cloud_object_type: None,
            onprem_object_guid: None,
            onprem_distinguished_name: None,
            attribute: None,
            value: None,
            message: "m".into(),
            remediation: "x".into(),
            evidence: [("k".to_owned(), "v".to_owned())].into(),
            status: None,
            muted: None,
            suppression: None,
        };
        let keys = |f: &Finding| -> Vec<String> {
            let text = serde_json::to_string(f).unwrap();
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            let object = value.as_object().unwrap();
            let mut keys: Vec<(usize, String)> = object
                .keys()
                .map(|k| (text.find(&format!("\"{k}\":")).unwrap(), k.clone()))
                .collect();
            keys.sort();
            keys.into_iter().map(|(_, k)| k).collect()
        };
        assert_eq!(keys(&f).last().map(String::as_str), Some("evidence"));
        f.status = Some(BaselineStatus::New);
        f.muted = Some(true);
        f.suppression = Some(AppliedSuppression {
            reason: "merger".into(),
            expires: "2099-12-31".into(),
            object: "*".into(),
            source: "mute.toml:1".into(),
        });
        assert_eq!(
            keys(&f)[keys(&f).len() - 4..],
            ["evidence", "status", "muted", "suppression"]
        );
        let text = serde_json::to_string(&f).unwrap();
        assert!(text.contains(r#""status":"new","muted":true,"suppression":{"reason":"merger","expires":"2099-12-31","object":"*","source":"mute.toml:1"}"#), "{text}");
        // And it reads back: a baseline written by a scheduled run is a findings.json too.
        assert_eq!(serde_json::from_str::<Finding>(&text).unwrap(), f);
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
