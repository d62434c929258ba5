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

/// One problem with one object (or one pair of objects), naming both sides where there are two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable across runs: derived from the rule and the identifying fields, see [`finding_id`].
    pub id: String,
    pub rule: String,
    pub severity: Severity,
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
