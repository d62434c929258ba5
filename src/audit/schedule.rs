//! Scheduled audits: comparing a run with the previous one (`--baseline PREVIOUS/findings.json`:
//! each finding new or unchanged, baseline findings gone are resolved), muting accepted findings
//! (`--suppressions FILE`, each with a reason and an expiry date), the exit decision
//! (`--fail-on`, `--fail-on-new`) and the one-line summary a scheduler's log keeps.
//!
//! It reads the two files, puts the comparison and the suppressions on the typed report before
//! anything is written (findings.json's additive keys: `schema_version` 1 stays valid, no
//! existing key changes) and decides the exit code. It writes no file, must not run rules and
//! must not change what a finding says: a muted finding is still written, only marked.
//!
//! Findings are recognised across runs by their stable id (`findings::finding_id`: rule, both
//! objects, attribute and value), so a finding is "unchanged" when the same problem is still
//! there, whatever its message says now.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::audit::findings::{
    AppliedSuppression, BaselineComparison, BaselineFinding, BaselineStatus, Finding, RuleOutcome,
    Severity, SuppressionsApplied,
};
use crate::audit::result::AuditReport;

/// One line of the suppressions file: mutes the findings of `rule` about `object` until
/// `expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub rule: String,
    /// A cloud object id, an on-prem objectGUID, a distinguished name, a finding id, or `*` (every
    /// finding of the rule). Compared case-insensitively.
    pub object: String,
    pub reason: String,
    /// The first day on which the suppression no longer applies (00:00 UTC).
    pub expires: NaiveDate,
    /// `FILE:LINE`, for messages.
    pub source: String,
}

impl Suppression {
    fn matches(&self, f: &Finding) -> bool {
        if self.rule != f.rule {
            return false;
        }
        if self.object == "*" {
            return true;
        }
        let object = self.object.as_str();
        [
            Some(f.id.as_str()),
            f.cloud_object_id.as_deref(),
            f.onprem_object_guid.as_deref(),
            f.onprem_distinguished_name.as_deref(),
        ]
        .into_iter()
        .flatten()
        .any(|candidate| candidate.eq_ignore_ascii_case(object))
    }

    /// Whether it still applies at `as_of`: until the start of its expiry date, UTC.
    pub fn active_at(&self, as_of: DateTime<Utc>) -> bool {
        as_of
            < self
                .expires
                .and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc()
    }
}

/// The suppressions file: TOML, one `[[suppress]]` table per suppression.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuppressionsFile {
    #[serde(default)]
    suppress: Vec<toml::Spanned<SuppressionEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuppressionEntry {
    rule: Option<String>,
    object: Option<String>,
    reason: Option<String>,
    expires: Option<toml::Value>,
}

/// Reads and validates a suppressions file; every error names the file and the line.
pub fn load_suppressions(path: &Path) -> anyhow::Result<Vec<Suppression>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the suppressions file {}", path.display()))?;
    parse_suppressions(&text, path)
}

fn parse_suppressions(text: &str, path: &Path) -> anyhow::Result<Vec<Suppression>> {
    let file: SuppressionsFile = toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|span| format!(":{}", line_of(text, span.start)))
            .unwrap_or_default();
        anyhow::anyhow!("{}{at}: {}", path.display(), e.message().trim_end())
    })?;
    let mut out = Vec::with_capacity(file.suppress.len());
    for spanned in file.suppress {
        let line = line_of(text, spanned.span().start);
        let source = format!("{}:{line}", path.display());
        let entry = spanned.into_inner();
        let required = |value: Option<String>, field: &str, what: &str| {
            value
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| anyhow::anyhow!("{source}: suppression without `{field}` ({what})"))
        };
        let rule = required(
            entry.rule,
            "rule",
            "the rule's name, as `entra-audit rules` lists it",
        )?;
        let object = required(
            entry.object,
            "object",
            "a cloud object id, on-prem objectGUID, DN, finding id, or \"*\"",
        )?;
        let reason = required(entry.reason, "reason", "why the finding is accepted")?;
        let expires = match entry.expires {
            None => bail!(
                "{source}: suppression without `expires` (YYYY-MM-DD): every suppression must expire"
            ),
            Some(toml::Value::Datetime(dt)) => match (dt.date, dt.time) {
                (Some(d), None) => NaiveDate::from_ymd_opt(
                    i32::from(d.year),
                    u32::from(d.month),
                    u32::from(d.day),
                ),
                _ => None,
            },
            Some(toml::Value::String(s)) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok(),
            Some(_) => None,
        }
        .ok_or_else(|| anyhow::anyhow!("{source}: `expires` must be a date, YYYY-MM-DD"))?;
        out.push(Suppression {
            rule,
            object,
            reason,
            expires,
            source,
        });
    }
    Ok(out)
}

/// The 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text.get(..at)
        .map_or(0, |before| before.bytes().filter(|b| *b == b'\n').count())
        + 1
}

/// The previous run's findings.json, as far as a comparison needs it.
#[derive(Debug)]
pub struct Baseline {
    pub path: PathBuf,
    pub tenant_id: Option<String>,
    pub as_of: Option<String>,
    /// The baseline's findings as written (so a resolved one is reported with all it said).
    findings: Vec<Value>,
}

impl Baseline {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the baseline {}", path.display()))?;
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}:{}: the baseline is not valid JSON: {e}",
                path.display(),
                e.line()
            )
        })?;
        let version = value.get("schema_version").and_then(Value::as_u64);
        if version != Some(u64::from(crate::audit::result::SCHEMA_VERSION)) {
            bail!(
                "{}: not an entra-audit findings.json of schema_version {} (found {})",
                path.display(),
                crate::audit::result::SCHEMA_VERSION,
                version.map_or_else(|| "none".to_owned(), |v| v.to_string())
            );
        }
        let Some(findings) = value.get("findings").and_then(Value::as_array) else {
            bail!("{}: no `findings` list", path.display());
        };
        for (i, f) in findings.iter().enumerate() {
            if f.get("id").and_then(Value::as_str).is_none()
                || f.get("rule").and_then(Value::as_str).is_none()
            {
                bail!(
                    "{}: finding {} has no string `id` and `rule`",
                    path.display(),
                    i + 1
                );
            }
        }
        let text_of = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        Ok(Self {
            path: path.to_owned(),
            tenant_id: text_of("tenant_id"),
            as_of: text_of("as_of"),
            findings: findings.clone(),
        })
    }
}

/// The two optional inputs of a scheduled run, read before the audit so a typo fails fast.
#[derive(Debug, Default)]
pub struct ScheduleInputs {
    pub baseline: Option<Baseline>,
    pub suppressions: Option<(PathBuf, Vec<Suppression>)>,
}

impl ScheduleInputs {
    pub fn load(baseline: Option<&Path>, suppressions: Option<&Path>) -> anyhow::Result<Self> {
        Ok(Self {
            baseline: baseline.map(Baseline::load).transpose()?,
            suppressions: suppressions
                .map(|p| load_suppressions(p).map(|s| (p.to_owned(), s)))
                .transpose()?,
        })
    }

    /// Compares `report` with the baseline and applies the suppressions at the audit's as-of.
    pub fn apply(self, report: &AuditReport) -> anyhow::Result<Schedule> {
        let as_of = DateTime::parse_from_rfc3339(&report.as_of)
            .with_context(|| format!("the audit's as-of time '{}'", report.as_of))?
            .with_timezone(&Utc);
        if let (Some(baseline), Some(now)) = (&self.baseline, &report.tenant_id)
            && let Some(then) = &baseline.tenant_id
            && !then.eq_ignore_ascii_case(now)
        {
            bail!(
                "{} is an audit of tenant {then}, this one is of tenant {now}: compare runs of one tenant",
                baseline.path.display()
            );
        }
        // Rules whose findings this run can vouch for: a rule not evaluated now (missing input,
        // error, or left out with --rule) says nothing about its earlier findings.
        let evaluated: HashSet<&str> = report
            .rules
            .iter()
            .filter(|r| matches!(r.outcome, RuleOutcome::Passed | RuleOutcome::Failed { .. }))
            .map(|r| r.rule.as_str())
            .collect();

        let mut schedule = Schedule {
            tenant_id: report.tenant_id.clone(),
            ..Schedule::default()
        };
        if let Some(baseline) = self.baseline {
            let current: HashSet<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
            let before: HashSet<&str> = baseline
                .findings
                .iter()
                .filter_map(|f| f.get("id").and_then(Value::as_str))
                .collect();
            for f in &report.findings {
                let status = if before.contains(f.id.as_str()) {
                    BaselineStatus::Unchanged
                } else {
                    BaselineStatus::New
                };
                schedule.status.insert(f.id.clone(), status);
            }
            let mut seen = HashSet::new();
            for f in &baseline.findings {
                let id = f["id"].as_str().unwrap_or_default();
                let rule = f["rule"].as_str().unwrap_or_default();
                if current.contains(id) || !seen.insert(id.to_owned()) {
                    continue;
                }
                if evaluated.contains(rule) {
                    schedule.resolved.push(BaselineFinding(f.clone()));
                } else {
                    *schedule.not_rechecked.entry(rule.to_owned()).or_default() += 1;
                }
            }
            schedule.baseline = Some((baseline.path, baseline.as_of));
        }
        if let Some((path, suppressions)) = self.suppressions {
            let known: BTreeSet<&str> = report.rules.iter().map(|r| r.rule.as_str()).collect();
            for (index, s) in suppressions.iter().enumerate() {
                let describe = format!(
                    "suppression {} (rule {}, object {})",
                    s.source, s.rule, s.object
                );
                if !s.active_at(as_of) {
                    schedule.warnings.push(format!(
                        "{describe} expired on {}: its findings count again",
                        s.expires
                    ));
                    continue;
                }
                let mut matched = 0;
                for f in &report.findings {
                    if s.matches(f) && !schedule.muted.contains_key(&f.id) {
                        schedule.muted.insert(f.id.clone(), index);
                        matched += 1;
                    }
                }
                if matched == 0 {
                    if !known.contains(s.rule.as_str()) {
                        schedule.warnings.push(format!(
                            "{describe} names no rule of this run (see `entra-audit rules`)"
                        ));
                    } else if evaluated.contains(s.rule.as_str()) {
                        schedule.warnings.push(format!(
                            "{describe} matches no finding: the problem is gone or the object is misspelt"
                        ));
                    }
                }
            }
            schedule.suppressions = Some((path, suppressions));
        }
        Ok(schedule)
    }
}

/// What the baseline and the suppressions made of one run.
#[derive(Debug, Default)]
pub struct Schedule {
    pub tenant_id: Option<String>,
    /// The baseline file and its as-of, when there was one.
    pub baseline: Option<(PathBuf, Option<String>)>,
    /// Finding id → new or unchanged (only with a baseline).
    pub status: HashMap<String, BaselineStatus>,
    /// Baseline findings gone in this run, of rules this run evaluated (as the baseline wrote them).
    pub resolved: Vec<BaselineFinding>,
    /// Baseline findings of rules not evaluated now, by rule: neither resolved nor present.
    pub not_rechecked: BTreeMap<String, usize>,
    /// Finding id → index of the suppression that mutes it.
    pub muted: HashMap<String, usize>,
    pub suppressions: Option<(PathBuf, Vec<Suppression>)>,
    pub warnings: Vec<String>,
}

/// How complete the run was: rules that could not be evaluated, and given inputs that could not
/// be used (which make the run exit 2 unless `--allow-partial`).
#[derive(Debug, Clone, Default)]
pub struct Completeness {
    pub rules_not_evaluated: usize,
    /// Why each unusable given input (or `--rule` that could not run) is unusable.
    pub unusable: Vec<String>,
    pub allow_partial: bool,
}

impl Completeness {
    /// Whether the run must exit 2.
    pub fn fails(&self) -> bool {
        !self.unusable.is_empty() && !self.allow_partial
    }
}

/// The exit decision and the line that says it (the page's readiness is another judgement:
/// `report::html::Readiness`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitDecision {
    /// 0: nothing at or above --fail-on (new ones only, with --fail-on-new); 1: something is;
    /// 2: a given input was unusable or a rule named with --rule could not run (without
    /// --allow-partial).
    pub code: u8,
    /// `entra-audit: tenant T, 61 findings (3 new, 2 resolved, 1 muted), worst high, exit 1`
    pub summary: String,
}

impl Schedule {
    fn suppression_of(&self, id: &str) -> Option<&Suppression> {
        let index = *self.muted.get(id)?;
        self.suppressions.as_ref().map(|(_, s)| &s[index])
    }

    /// Puts a scheduled run's additive keys on the typed report, before anything is written:
    /// per finding `status` (with a baseline) and `muted` / `suppression` (with suppressions); at
    /// the top `baseline`, `resolved`, `not_rechecked` and `suppressions`. Nothing when neither
    /// was given. Every output (findings.json, report.html, the cleanup files, the terminal) then
    /// reads the same model.
    pub fn annotate(&self, report: &mut AuditReport) {
        if self.baseline.is_none() && self.suppressions.is_none() {
            return;
        }
        for f in &mut report.findings {
            f.status = self.status.get(&f.id).copied();
            if self.suppressions.is_some() {
                let suppression = self.suppression_of(&f.id);
                f.muted = Some(suppression.is_some());
                f.suppression = suppression.map(|s| AppliedSuppression {
                    reason: s.reason.clone(),
                    expires: s.expires.to_string(),
                    object: s.object.clone(),
                    source: s.source.clone(),
                });
            }
        }
        if let Some((path, as_of)) = &self.baseline {
            report.baseline = Some(BaselineComparison {
                path: path.clone(),
                as_of: as_of.clone(),
                new: self.count(BaselineStatus::New),
                unchanged: self.count(BaselineStatus::Unchanged),
                resolved: self.resolved.len(),
            });
            report.resolved = Some(self.resolved.clone());
            report.not_rechecked = Some(self.not_rechecked.clone());
        }
        if let Some((path, _)) = &self.suppressions {
            report.suppressions = Some(SuppressionsApplied {
                path: path.clone(),
                muted: self.muted.len(),
                warnings: self.warnings.clone(),
            });
        }
    }

    fn count(&self, status: BaselineStatus) -> usize {
        self.status.values().filter(|s| **s == status).count()
    }

    /// Lines for the terminal, after the audit's own summary: baseline comparison, muted
    /// findings, warnings.
    pub fn terminal_lines(&self) -> String {
        let mut out = String::new();
        if let Some((path, as_of)) = &self.baseline {
            let _ = writeln!(
                out,
                "baseline {}{}: {} new, {} unchanged, {} resolved",
                path.display(),
                as_of
                    .as_deref()
                    .map(|t| format!(" (as of {t})"))
                    .unwrap_or_default(),
                self.count(BaselineStatus::New),
                self.count(BaselineStatus::Unchanged),
                self.resolved.len()
            );
            for f in self.resolved.iter().take(10) {
                let _ = writeln!(out, "  resolved: {} {}", f.text("id"), f.text("message"));
            }
            if self.resolved.len() > 10 {
                let _ = writeln!(
                    out,
                    "  ... and {} more (findings.json: resolved)",
                    self.resolved.len() - 10
                );
            }
            if !self.not_rechecked.is_empty() {
                let total: usize = self.not_rechecked.values().sum();
                let rules: Vec<&str> = self.not_rechecked.keys().map(String::as_str).collect();
                let _ = writeln!(
                    out,
                    "  not re-checked: {total} baseline finding(s) of rules not evaluated in this run ({}): neither resolved nor present",
                    rules.join(", ")
                );
            }
        }
        if self.suppressions.is_some() {
            let _ = writeln!(
                out,
                "muted: {} finding(s) by suppressions (written to findings.json, left out of the counts above and of --fail-on)",
                self.muted.len()
            );
        }
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        out
    }

    /// The exit decision: 1 when an unmuted finding (a new one, with `fail_on_new`) is at or
    /// above `fail_on`, else 0; and the one-line summary for logs. Reads the findings as
    /// [`Schedule::annotate`] left them (muted, status).
    pub fn exit_decision(
        &self,
        findings: &[Finding],
        fail_on: FailOn,
        fail_on_new: bool,
        completeness: &Completeness,
    ) -> ExitDecision {
        let active: Vec<&Finding> = findings.iter().filter(|f| !f.is_muted()).collect();
        let failing = match fail_on {
            FailOn::Never => false,
            FailOn::AtOrAbove(threshold) => active.iter().any(|f| {
                f.severity >= threshold && (!fail_on_new || f.status == Some(BaselineStatus::New))
            }),
        };
        let code = if completeness.fails() {
            2
        } else {
            u8::from(failing)
        };
        let mut details = Vec::new();
        if self.baseline.is_some() {
            let new = active
                .iter()
                .filter(|f| f.status == Some(BaselineStatus::New))
                .count();
            details.push(format!("{new} new"));
            details.push(format!("{} resolved", self.resolved.len()));
        }
        if self.suppressions.is_some() {
            details.push(format!("{} muted", self.muted.len()));
        }
        let worst = active
            .iter()
            .map(|f| f.severity)
            .max()
            .map_or("none", Severity::as_str);
        let not_evaluated = match completeness.rules_not_evaluated {
            0 => String::new(),
            1 => ", 1 rule not evaluated".to_owned(),
            n => format!(", {n} rules not evaluated"),
        };
        let summary = format!(
            "entra-audit: tenant {}, {} finding{}{}, worst {worst}{not_evaluated}, exit {code}",
            self.tenant_id.as_deref().unwrap_or("(unknown)"),
            active.len(),
            if active.len() == 1 { "" } else { "s" },
            if details.is_empty() {
                String::new()
            } else {
                format!(" ({})", details.join(", "))
            },
        );
        ExitDecision { code, summary }
    }
}

/// When a run exits 1: findings at or above a severity (`--fail-on high`), or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    AtOrAbove(Severity),
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<Vec<Suppression>> {
        parse_suppressions(text, Path::new("mute.toml"))
    }

    #[test]
    fn a_suppression_file_parses_with_dates_or_strings() {
        let s = parse(
            "# accepted\n[[suppress]]\nrule = \"stale-cloud-only\"\nobject = \"*\"\nreason = \"merger\"\nexpires = 2026-12-31\n\n\
             [[suppress]]\nrule = \"upn-suffix-unverified\"\nobject = \"CN=A,DC=x\"\nreason = \"r\"\nexpires = \"2027-01-01\"\n",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].expires, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
        assert_eq!(s[0].source, "mute.toml:2");
        assert_eq!(s[1].source, "mute.toml:8");
        assert_eq!(s[1].object, "CN=A,DC=x");
    }

    #[test]
    fn bad_suppressions_name_file_and_line() {
        let missing = parse("[[suppress]]\nrule = \"r\"\nobject = \"*\"\nreason = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(missing.starts_with("mute.toml:1: "), "{missing}");
        assert!(missing.contains("expires"), "{missing}");

        let bad_date = parse(
            "\n\n[[suppress]]\nrule = \"r\"\nobject = \"*\"\nreason = \"x\"\nexpires = \"31/12/2026\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(bad_date.starts_with("mute.toml:3: "), "{bad_date}");

        let unknown = parse("[[suppress]]\nrule = \"r\"\nobject = \"*\"\nreason = \"x\"\nexpires = 2026-01-01\nowner = \"me\"\n")
            .unwrap_err()
            .to_string();
        assert!(unknown.starts_with("mute.toml:6: "), "{unknown}");
        assert!(unknown.contains("owner"), "{unknown}");

        let syntax = parse("[[suppress]]\nrule = \n").unwrap_err().to_string();
        assert!(syntax.starts_with("mute.toml:2: "), "{syntax}");

        let empty_reason = parse(
            "[[suppress]]\nrule = \"r\"\nobject = \"*\"\nreason = \" \"\nexpires = 2026-01-01\n",
        )
        .unwrap_err()
        .to_string();
        assert!(empty_reason.contains("`reason`"), "{empty_reason}");
    }

    #[test]
    fn a_suppression_applies_until_the_start_of_its_expiry_date() {
        let s = &parse(
            "[[suppress]]\nrule = \"r\"\nobject = \"*\"\nreason = \"x\"\nexpires = 2026-11-02\n",
        )
        .unwrap()[0];
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        assert!(s.active_at(at("2026-11-01T23:59:59Z")));
        assert!(!s.active_at(at("2026-11-02T00:00:00Z")));
    }
}
