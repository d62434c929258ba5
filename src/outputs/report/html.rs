//! `report.html`: the pre-migration readiness report, one self-contained file an identity admin
//! opens offline, reads and prints. It owns the readiness verdict's rule, the page's layout
//! (template `report.html.j2`, style `report.css`, script `report.js`, all embedded at build time),
//! the SVG charts' geometry and the rendering of the rules' Markdown docs.
//!
//! It must not compute findings or load anything: the page names no external resource (rule docs'
//! links are shown as text, never as `href`/`src`), every value goes through the template's HTML
//! autoescape, and the findings travel as JSON in a `<script type="application/json">` in which
//! every `<`, `>` and `&` is written as a `\u` escape, so no directory value can close the element
//! (OWASP XSS Prevention Cheat Sheet, "HTML entity encoding" and "JSON in HTML" rules:
//! <https://cheatsheetseries.owasp.org/cheatsheets/Cross_Site_Scripting_Prevention_Cheat_Sheet.html>).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;

use crate::audit::findings::{Finding, RuleOutcome, RuleResult, Severity};
use crate::audit::result::{AuditReport, SyncFreshness, SyncJobSummary};
use crate::inputs::snapshot::CollectionState;

const TEMPLATE: &str = include_str!("report.html.j2");
const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// Findings shown under each rule in the static part of the page (readable without JavaScript
/// and on paper); the full list is the interactive table and findings.csv.
const EXAMPLES_PER_RULE: usize = 10;
/// Rejected input records listed in the page; findings.json lists them all.
const REJECTED_SHOWN: usize = 50;

/// The verdict's rule, shown verbatim in the page so the reader can check it.
pub const VERDICT_RULE: [(&str, &str); 4] = [
    (
        "Not ready",
        "at least one critical or high finding: sync would fail, merge the wrong objects or take over cloud accounts.",
    ),
    (
        "Incomplete",
        "no critical or high finding, but a rule was not evaluated or errored, a cloud collection failed, or an on-prem export is probably truncated: the audit cannot vouch for what it did not check.",
    ),
    (
        "Ready with warnings",
        "only medium or low findings, or input records were rejected, or rules ran without an optional input.",
    ),
    (
        "Ready",
        "none of the above (informational findings allowed).",
    ),
];

/// The readiness verdict: a level (for the page's colour), its label and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// `not-ready`, `incomplete`, `warnings` or `ready`.
    pub level: &'static str,
    pub label: &'static str,
    pub reasons: Vec<String>,
}

/// Applies [`VERDICT_RULE`] to an audit; `active` are its findings less the muted ones (an
/// accepted risk does not hold a migration back, as it does not fail `--fail-on`).
pub fn verdict(report: &AuditReport, active: &[&Finding]) -> Verdict {
    let count = |s: Severity| active.iter().filter(|f| f.severity == s).count();
    let (critical, high, medium, low) = (
        count(Severity::Critical),
        count(Severity::High),
        count(Severity::Medium),
        count(Severity::Low),
    );
    let not_evaluated: Vec<&str> =
        rules_where(report, |o| matches!(o, RuleOutcome::NotEvaluated { .. }));
    let errored: Vec<&str> = rules_where(report, |o| matches!(o, RuleOutcome::Errored { .. }));
    let failed_collections: Vec<&str> = report
        .inputs
        .cloud
        .iter()
        .flat_map(|c| &c.collections)
        .filter(|(_, s)| matches!(s, CollectionState::Failed { .. }))
        .map(|(name, _)| name.as_str())
        .collect();
    let caveated = report
        .rules
        .iter()
        .filter(|r| !r.caveats.is_empty())
        .count();
    let rejected = report.inputs.rejected_count;
    let doubtful_exports: Vec<String> = report
        .inputs
        .onprem
        .iter()
        .filter(|f| !f.warnings.is_empty())
        .map(|f| f.path.display().to_string())
        .collect();

    let mut reasons = Vec::new();
    let severe = plural_list(&[(critical, "critical"), (high, "high")]);
    if !severe.is_empty() {
        reasons.push(format!("{severe} finding(s)"));
    }
    if !errored.is_empty() {
        reasons.push(format!("rule(s) errored: {}", errored.join(", ")));
    }
    if !not_evaluated.is_empty() {
        reasons.push(format!(
            "rule(s) not evaluated: {}",
            not_evaluated.join(", ")
        ));
    }
    if !failed_collections.is_empty() {
        reasons.push(format!(
            "cloud collection(s) unusable: {}",
            failed_collections.join(", ")
        ));
    }
    if !doubtful_exports.is_empty() {
        reasons.push(format!(
            "on-prem export(s) probably incomplete: {}",
            doubtful_exports.join(", ")
        ));
    }
    let warnings = plural_list(&[(medium, "medium"), (low, "low")]);
    if !warnings.is_empty() {
        reasons.push(format!("{warnings} finding(s)"));
    }
    if rejected > 0 {
        reasons.push(format!("{} input record(s) rejected", thousands(rejected)));
    }
    if caveated > 0 {
        reasons.push(format!("{caveated} rule(s) ran without an optional input"));
    }

    let (level, index) = if critical + high > 0 {
        ("not-ready", 0)
    } else if !not_evaluated.is_empty()
        || !errored.is_empty()
        || !failed_collections.is_empty()
        || !doubtful_exports.is_empty()
    {
        ("incomplete", 1)
    } else if medium + low > 0 || rejected > 0 || caveated > 0 {
        ("warnings", 2)
    } else {
        ("ready", 3)
    };
    Verdict {
        level,
        label: VERDICT_RULE[index].0,
        reasons,
    }
}

fn rules_where(report: &AuditReport, pred: impl Fn(&RuleOutcome) -> bool) -> Vec<&str> {
    report
        .rules
        .iter()
        .filter(|r| pred(&r.outcome))
        .map(|r| r.rule.as_str())
        .collect()
}

fn plural_list(parts: &[(usize, &str)]) -> String {
    parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{} {what}", thousands(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The page's Content-Security-Policy: nothing may load (`default-src 'none'`), and only the one
/// `<style>` and the one `<script>` of this file may apply or run, each allowed by the SHA-256
/// of its exact text (CSP Level 3 hash sources:
/// <https://www.w3.org/TR/CSP3/#grammardef-hash-source>,
/// <https://developer.mozilla.org/docs/Web/HTTP/Reference/Headers/Content-Security-Policy/script-src>).
/// A script injected into the page, even past the escaping, has another hash and does not run;
/// no `'unsafe-inline'`, no style attributes, no images, no forms, no `<base>`.
pub fn content_security_policy() -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = |text: &str| {
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text.as_bytes()))
    };
    format!(
        "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; base-uri 'none'; form-action 'none'",
        hash(STYLE),
        hash(SCRIPT)
    )
}

/// Writes `report.html`.
pub fn write(report: &AuditReport, path: &Path) -> anyhow::Result<()> {
    let html = render(report)?;
    crate::outputs::replace::write_file(path, html.as_bytes())
}

/// Re-renders `OUT/report.html` from `OUT/findings.json` once a scheduled run (`--baseline`,
/// `--suppressions`) has annotated it, so the page shows each finding's status, the resolved
/// findings and the muted ones. Does nothing for a run without either. Returns whether it wrote.
pub fn refresh_after_schedule(report: &AuditReport, out: &Path) -> anyhow::Result<bool> {
    let json_path = out.join("findings.json");
    let text = std::fs::read_to_string(&json_path)
        .with_context(|| format!("cannot read {}", json_path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not JSON", json_path.display()))?;
    let Some(annotations) = Annotations::from_findings_json(value) else {
        return Ok(false);
    };
    let html = render_with(report, Some(&annotations))?;
    let path = out.join("report.html");
    crate::outputs::replace::write_file(&path, html.as_bytes())?;
    Ok(true)
}

/// What a scheduled run added to findings.json, read back from the annotated file: its keys
/// (per finding `status`, `muted`, `suppression`; at the top `baseline`, `resolved`,
/// `not_rechecked`, `suppressions`) are the contract, so this page does not depend on how the
/// comparison is computed.
#[derive(Debug, Default)]
pub struct Annotations {
    /// The findings as findings.json has them, annotations included.
    findings: Vec<serde_json::Value>,
    baseline: Option<serde_json::Value>,
    resolved: Vec<serde_json::Value>,
    not_rechecked: Vec<(String, u64)>,
    suppressions: Option<serde_json::Value>,
}

impl Annotations {
    /// `None` when findings.json carries no scheduled-run keys.
    pub fn from_findings_json(mut value: serde_json::Value) -> Option<Self> {
        let mut take = |key: &str| value.get_mut(key).map(serde_json::Value::take);
        let baseline = take("baseline").filter(|v| !v.is_null());
        let suppressions = take("suppressions").filter(|v| !v.is_null());
        if baseline.is_none() && suppressions.is_none() {
            return None;
        }
        let array = |v: Option<serde_json::Value>| match v {
            Some(serde_json::Value::Array(items)) => items,
            _ => Vec::new(),
        };
        Some(Annotations {
            findings: array(take("findings")),
            resolved: array(take("resolved")),
            not_rechecked: take("not_rechecked")
                .and_then(|v| v.as_object().cloned())
                .into_iter()
                .flatten()
                .map(|(rule, n)| (rule, n.as_u64().unwrap_or(0)))
                .collect(),
            baseline,
            suppressions,
        })
    }

    fn muted_ids(&self) -> HashSet<&str> {
        self.findings
            .iter()
            .filter(|f| f["muted"] == serde_json::Value::Bool(true))
            .filter_map(|f| f["id"].as_str())
            .collect()
    }
}

/// Renders the page.
pub fn render(report: &AuditReport) -> anyhow::Result<String> {
    render_with(report, None)
}

/// Renders the page, with a scheduled run's annotations when there are some.
pub fn render_with(
    report: &AuditReport,
    annotations: Option<&Annotations>,
) -> anyhow::Result<String> {
    let mut env = Environment::new();
    // Whatever the template's name, everything is HTML-escaped unless marked safe in this file.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template("report.html", TEMPLATE)
        .context("report.html template")?;
    let page = Page::new(report, annotations)?;
    env.get_template("report.html")
        .and_then(|t| t.render(Value::from(minijinja::value::Serde(&page))))
        .context("rendering report.html")
}

/// Everything the template shows, laid out; the raw report comes along so fields added later
/// (baseline status, muted findings) reach the template without a change here.
#[derive(Serialize)]
struct Page<'a> {
    report: &'a AuditReport,
    style: Value,
    script: Value,
    /// The page's Content-Security-Policy, see [`content_security_policy`] (built from constants:
    /// quotes, letters and base64, nothing to escape).
    csp: Value,
    findings_json: Value,
    as_of: String,
    collected_at: Option<String>,
    verdict: Verdict,
    verdict_rule: Vec<(&'static str, &'static str)>,
    totals: Totals,
    objects: Vec<ObjectRow>,
    freshness: Vec<FreshnessRow>,
    jobs: Option<Vec<JobRow>>,
    jobs_unknown: String,
    examples_per_rule: usize,
    unavailable: Vec<(String, String)>,
    onprem_files: Vec<FileRow>,
    /// The sync model the prediction assumed, one line per part.
    sync_model: Vec<String>,
    /// Exported objects the engine never syncs: (reason, what it means, count).
    out_of_scope: Vec<(&'static str, &'static str, usize)>,
    collections: Vec<CollectionRow>,
    rejected: Vec<RejectedRow>,
    rejected_more: usize,
    not_evaluated: Vec<(String, String)>,
    errored: Vec<(String, String)>,
    caveats: Vec<(String, String)>,
    failed_rules: Vec<RuleSection>,
    passed_rules: Vec<&'a RuleResult>,
    findings_chart: Chart,
    freshness_chart: Chart,
    muted_rules: Vec<(String, String, Severity)>,
    schedule: Option<ScheduleView>,
    rule_options: Vec<(String, String)>,
}

#[derive(Serialize)]
struct Totals {
    findings: String,
    by_severity: Vec<(&'static str, String)>,
    rules: usize,
    failed: usize,
    passed: usize,
    not_evaluated: usize,
    errored: usize,
}

#[derive(Serialize)]
struct ObjectRow {
    kind: String,
    synced: String,
    formerly_synced: String,
    cloud_only: String,
    onprem: String,
    onprem_only: String,
}

#[derive(Serialize)]
struct FreshnessRow {
    what: &'static str,
    state: &'static str,
    last: String,
    age: String,
    limit: String,
    note: String,
}

#[derive(Serialize)]
struct JobRow {
    configuration: String,
    template: String,
    domain: String,
    state: &'static str,
    status: String,
    schedule: String,
    last_run: String,
    last_success: String,
    failures: String,
    problem: String,
}

#[derive(Serialize)]
struct FileRow {
    path: String,
    format: String,
    objects: String,
    rejected: usize,
    skipped: String,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct CollectionRow {
    name: String,
    status: &'static str,
    objects: String,
    rejected: usize,
    reason: String,
}

#[derive(Serialize)]
struct RejectedRow {
    place: String,
    record: String,
    reason: String,
}

#[derive(Serialize)]
struct RuleSection {
    rule: String,
    title: String,
    severity: Severity,
    category: String,
    count: String,
    muted: usize,
    caveats: Vec<String>,
    docs: Vec<(String, Value)>,
    example_rows: Vec<ExampleRow>,
    more: usize,
}

#[derive(Serialize)]
struct ExampleRow {
    cloud: String,
    cloud_type: String,
    onprem_guid: String,
    onprem_dn: String,
    attribute: String,
    value: String,
    message: String,
    remediation: String,
    outcome: &'static str,
}

/// The baseline comparison and the muted findings of a scheduled run, laid out.
#[derive(Serialize, Default)]
struct ScheduleView {
    has_baseline: bool,
    baseline_path: String,
    baseline_as_of: String,
    new: u64,
    unchanged: u64,
    resolved_count: u64,
    resolved: Vec<ListedFinding>,
    resolved_more: usize,
    not_rechecked: Vec<(String, u64)>,
    has_suppressions: bool,
    suppressions_path: String,
    muted: Vec<ListedFinding>,
    muted_count: usize,
    muted_more: usize,
    warnings: Vec<String>,
}

/// A finding read back from findings.json (resolved ones exist only there).
#[derive(Serialize)]
struct ListedFinding {
    rule: String,
    severity: String,
    cloud: String,
    cloud_type: String,
    onprem_guid: String,
    onprem_dn: String,
    attribute: String,
    value: String,
    message: String,
    note: String,
}

/// Resolved and muted findings listed in the page; findings.json has them all.
const LISTED: usize = 200;

impl ScheduleView {
    fn new(a: &Annotations) -> Self {
        let text =
            |v: &serde_json::Value, key: &str| v[key].as_str().unwrap_or_default().to_owned();
        let number = |v: &serde_json::Value, key: &str| v[key].as_u64().unwrap_or(0);
        let listed = |f: &serde_json::Value, note: String| ListedFinding {
            rule: text(f, "rule"),
            severity: text(f, "severity"),
            cloud: text(f, "cloud_object_id"),
            cloud_type: text(f, "cloud_object_type"),
            onprem_guid: text(f, "onprem_object_guid"),
            onprem_dn: text(f, "onprem_distinguished_name"),
            attribute: text(f, "attribute"),
            value: text(f, "value"),
            message: text(f, "message"),
            note,
        };
        let muted: Vec<&serde_json::Value> = a
            .findings
            .iter()
            .filter(|f| f["muted"] == serde_json::Value::Bool(true))
            .collect();
        let mut view = ScheduleView {
            resolved: a
                .resolved
                .iter()
                .take(LISTED)
                .map(|f| listed(f, String::new()))
                .collect(),
            resolved_more: a.resolved.len().saturating_sub(LISTED),
            not_rechecked: a.not_rechecked.clone(),
            muted: muted
                .iter()
                .take(LISTED)
                .map(|f| {
                    let s = &f["suppression"];
                    let mut note = text(s, "reason");
                    let expires = text(s, "expires");
                    if !expires.is_empty() {
                        let _ = write!(note, " (until {expires})");
                    }
                    let source = text(s, "source");
                    if !source.is_empty() {
                        let _ = write!(note, " · {source}");
                    }
                    listed(f, note)
                })
                .collect(),
            muted_count: muted.len(),
            muted_more: muted.len().saturating_sub(LISTED),
            ..ScheduleView::default()
        };
        if let Some(b) = &a.baseline {
            view.has_baseline = true;
            view.baseline_path = b["path"].as_str().map(str::to_owned).unwrap_or_default();
            view.baseline_as_of = b["as_of"].as_str().map(human_time).unwrap_or_default();
            view.new = number(b, "new");
            view.unchanged = number(b, "unchanged");
            view.resolved_count = number(b, "resolved");
        }
        if let Some(s) = &a.suppressions {
            view.has_suppressions = true;
            view.suppressions_path = s["path"].as_str().map(str::to_owned).unwrap_or_default();
            view.warnings = s["warnings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|w| w.as_str().map(str::to_owned))
                .collect();
        }
        view
    }
}

/// An SVG chart as rows; the template draws them, the geometry is decided here.
#[derive(Serialize)]
struct Chart {
    width: u32,
    height: u32,
    label_width: u32,
    rows: Vec<ChartRow>,
    /// Vertical markers (x, label).
    marks: Vec<(u32, String)>,
    empty: bool,
}

#[derive(Serialize)]
struct ChartRow {
    y: u32,
    label: String,
    class: String,
    bar: u32,
    text: String,
    overflow: bool,
}

impl<'a> Page<'a> {
    fn new(report: &'a AuditReport, annotations: Option<&Annotations>) -> anyhow::Result<Self> {
        let summary = &report.tenant_summary;
        // With annotations, the table gets the findings as findings.json has them (status, muted).
        let findings_json = match annotations {
            Some(a) => serde_json::to_string(&a.findings),
            None => serde_json::to_string(&report.findings),
        }
        .context("serialising the findings for report.html")?;
        let muted = annotations.map(Annotations::muted_ids).unwrap_or_default();
        let active: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| !muted.contains(f.id.as_str()))
            .collect();
        let mut unavailable: Vec<(String, String)> = summary
            .unavailable
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        unavailable.sort();
        let totals = Totals::new(report, &active);
        let mut sorted_rules: Vec<&RuleResult> = report.rules.iter().collect();
        sorted_rules.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(&b.rule)));

        let by_rule = group_by_rule(&active);
        let failed_rules = sorted_rules
            .iter()
            .filter_map(|r| {
                let findings = by_rule.get(r.rule.as_str())?;
                Some(rule_section(r, report, findings, &muted))
            })
            .collect();
        // A rule whose every finding is muted has nothing left to fix: it is listed, not detailed.
        let muted_rules = sorted_rules
            .iter()
            .filter(|r| {
                matches!(r.outcome, RuleOutcome::Failed { .. })
                    && !by_rule.contains_key(r.rule.as_str())
            })
            .map(|r| (r.rule.clone(), r.title.clone(), r.severity))
            .collect();
        let passed_rules = sorted_rules
            .iter()
            .copied()
            .filter(|r| matches!(r.outcome, RuleOutcome::Passed))
            .collect();
        Ok(Page {
            report,
            style: Value::from_safe_string(STYLE.to_owned()),
            script: Value::from_safe_string(SCRIPT.to_owned()),
            csp: Value::from_safe_string(content_security_policy()),
            findings_json: Value::from_safe_string(json_for_script(&findings_json)),
            as_of: human_time(&report.as_of),
            collected_at: report
                .inputs
                .cloud
                .as_ref()
                .and_then(|c| c.collected_at.as_deref())
                .map(human_time),
            verdict: verdict(report, &active),
            verdict_rule: VERDICT_RULE.to_vec(),
            totals,
            objects: object_rows(report),
            freshness: freshness_rows(report),
            jobs: job_rows(report),
            jobs_unknown: summary
                .unavailable
                .get("sync_jobs")
                .cloned()
                .unwrap_or_else(|| "the synchronization jobs were not collected".to_owned()),
            examples_per_rule: EXAMPLES_PER_RULE,
            unavailable,
            onprem_files: file_rows(report),
            sync_model: report
                .inputs
                .sync_model
                .as_ref()
                .map(crate::audit::sync_model::SyncModel::summary_lines)
                .unwrap_or_default(),
            out_of_scope: report
                .inputs
                .scope
                .iter()
                .flat_map(|s| s.by_reason.iter())
                .map(|(reason, count)| (reason.as_str(), reason.doc(), *count))
                .collect(),
            collections: collection_rows(report),
            rejected: rejected_rows(report),
            rejected_more: report
                .inputs
                .rejected_records
                .len()
                .saturating_sub(REJECTED_SHOWN),
            not_evaluated: outcome_reasons(&sorted_rules, false),
            errored: outcome_reasons(&sorted_rules, true),
            caveats: caveat_rows(&sorted_rules),
            failed_rules,
            passed_rules,
            findings_chart: findings_chart(&sorted_rules, &by_rule),
            muted_rules,
            schedule: annotations.map(ScheduleView::new),
            freshness_chart: freshness_chart(report),
            rule_options: rule_options(&sorted_rules),
        })
    }
}

impl Totals {
    fn new(report: &AuditReport, active: &[&Finding]) -> Self {
        let count_outcome =
            |p: fn(&RuleOutcome) -> bool| report.rules.iter().filter(|r| p(&r.outcome)).count();
        Totals {
            findings: thousands(active.len()),
            by_severity: Severity::ALL
                .iter()
                .map(|s| {
                    let n = active.iter().filter(|f| f.severity == *s).count();
                    (s.as_str(), thousands(n))
                })
                .collect(),
            rules: report.rules.len(),
            failed: count_outcome(|o| matches!(o, RuleOutcome::Failed { .. })),
            passed: count_outcome(|o| matches!(o, RuleOutcome::Passed)),
            not_evaluated: count_outcome(|o| matches!(o, RuleOutcome::NotEvaluated { .. })),
            errored: count_outcome(|o| matches!(o, RuleOutcome::Errored { .. })),
        }
    }
}

/// Rules not evaluated (`errors` false) or errored (true), with why.
fn outcome_reasons(rules: &[&RuleResult], errors: bool) -> Vec<(String, String)> {
    rules
        .iter()
        .filter_map(|r| match (&r.outcome, errors) {
            (RuleOutcome::NotEvaluated { reason }, false)
            | (RuleOutcome::Errored { error: reason }, true) => {
                Some((r.rule.clone(), reason.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The rule filter's options: every rule with findings (muted ones included: the table can show them).
fn rule_options(rules: &[&RuleResult]) -> Vec<(String, String)> {
    rules
        .iter()
        .filter_map(|r| match r.outcome {
            RuleOutcome::Failed { findings } => Some((
                r.rule.clone(),
                format!("{} ({})", r.rule, thousands(findings)),
            )),
            _ => None,
        })
        .collect()
}

/// Each caveat once, with the rules it qualifies.
fn caveat_rows(rules: &[&RuleResult]) -> Vec<(String, String)> {
    let mut caveats: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in rules {
        for caveat in &r.caveats {
            caveats.entry(caveat).or_default().push(&r.rule);
        }
    }
    caveats
        .into_iter()
        .map(|(c, rules)| (rules.join(", "), c.to_owned()))
        .collect()
}

fn rejected_rows(report: &AuditReport) -> Vec<RejectedRow> {
    report
        .inputs
        .rejected_records
        .iter()
        .take(REJECTED_SHOWN)
        .map(|r| RejectedRow {
            place: format!("{}:{}", r.file.display(), r.line),
            record: r.record.clone(),
            reason: r.reason.clone(),
        })
        .collect()
}

fn group_by_rule<'f>(findings: &[&'f Finding]) -> BTreeMap<&'f str, Vec<&'f Finding>> {
    let mut by_rule: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings.iter().copied() {
        by_rule.entry(f.rule.as_str()).or_default().push(f);
    }
    by_rule
}

fn rule_section(
    r: &RuleResult,
    report: &AuditReport,
    findings: &[&Finding],
    muted: &HashSet<&str>,
) -> RuleSection {
    let muted_here = report
        .findings
        .iter()
        .filter(|f| f.rule == r.rule && muted.contains(f.id.as_str()))
        .count();
    let docs = report
        .rule_docs
        .get(&r.rule)
        .map(|d| doc_sections(d))
        .unwrap_or_default()
        .into_iter()
        .map(|(title, body)| (title, Value::from_safe_string(markdown_to_html(&body))))
        .collect();
    RuleSection {
        rule: r.rule.clone(),
        title: r.title.clone(),
        severity: r.severity,
        category: r.category.clone(),
        count: thousands(findings.len()),
        muted: muted_here,
        caveats: r.caveats.clone(),
        docs,
        example_rows: findings
            .iter()
            .take(EXAMPLES_PER_RULE)
            .map(|f| ExampleRow {
                cloud: f.cloud_object_id.clone().unwrap_or_default(),
                cloud_type: f.cloud_object_type.clone().unwrap_or_default(),
                onprem_guid: f.onprem_object_guid.clone().unwrap_or_default(),
                onprem_dn: f.onprem_distinguished_name.clone().unwrap_or_default(),
                attribute: f.attribute.clone().unwrap_or_default(),
                value: f.value.clone().unwrap_or_default(),
                message: f.message.clone(),
                remediation: f.remediation.clone(),
                outcome: f.predicted_outcome.map_or("", |o| o.as_str()),
            })
            .collect(),
        more: findings.len().saturating_sub(EXAMPLES_PER_RULE),
    }
}

fn known(n: Option<usize>) -> String {
    n.map_or_else(|| "unknown".to_owned(), thousands)
}

fn object_rows(report: &AuditReport) -> Vec<ObjectRow> {
    report
        .tenant_summary
        .objects
        .iter()
        .map(|(kind, c)| ObjectRow {
            kind: format!("{kind}s"),
            synced: known(c.synced),
            formerly_synced: known(c.formerly_synced),
            cloud_only: known(c.cloud_only),
            onprem: known(c.onprem),
            onprem_only: known(c.onprem_only),
        })
        .collect()
}

/// `ok`, `stale`, `never` or `unknown` against the threshold the rules use (the rules, not this,
/// decide what is a finding; the colour only mirrors the same comparison).
fn freshness_state(f: &SyncFreshness) -> &'static str {
    match (f.known, f.age_hours) {
        (false, _) => "unknown",
        (true, None) => "never",
        (true, Some(age)) if age > f.max_age_hours => "stale",
        (true, Some(_)) => "ok",
    }
}

fn freshness_rows(report: &AuditReport) -> Vec<FreshnessRow> {
    let s = &report.tenant_summary;
    let row = |what: &'static str, f: &SyncFreshness, unknown_because: Option<&String>| {
        let state = freshness_state(f);
        let mut note = String::new();
        if f.enabled == Some(false) {
            note.push_str("directory sync is turned off for this tenant");
        }
        if state == "unknown" {
            note = unknown_because
                .map_or_else(|| "not in the snapshot".to_owned(), ToString::to_string);
        }
        FreshnessRow {
            what,
            state,
            last: f.last.as_deref().map_or_else(
                || {
                    if f.known {
                        "never".to_owned()
                    } else {
                        "unknown".to_owned()
                    }
                },
                human_time,
            ),
            age: f.age_hours.map(age_text).unwrap_or_default(),
            limit: age_text(f.max_age_hours),
            note,
        }
    };
    vec![
        row(
            "Directory sync",
            &s.directory_sync,
            s.unavailable.get("organization"),
        ),
        row(
            "Password hash sync",
            &s.password_hash_sync,
            s.unavailable.get("password_sync"),
        ),
    ]
}

/// The report's label for a job's health, which `sync_jobs.health` judged (the same judgement
/// as the rules and `cloud-sync status`).
fn job_state(j: &SyncJobSummary) -> &'static str {
    match j.health.as_deref() {
        Some("quarantined") => "quarantine",
        Some("failing") => "failing",
        Some("escrowed") => "escrowed",
        Some("paused" | "notRun" | "notConfigured") => "paused",
        Some("healthy") => "ok",
        _ => "stale",
    }
}

fn job_rows(report: &AuditReport) -> Option<Vec<JobRow>> {
    let s = &report.tenant_summary;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let jobs = s.cloud_sync_jobs.as_ref()?;
    Some(
        jobs.iter()
            .map(|j| JobRow {
                configuration: j.configuration.clone().unwrap_or_else(|| j.job_id.clone()),
                template: opt(&j.template_id),
                domain: opt(&j.domain),
                state: job_state(j),
                status: opt(&j.status_code),
                schedule: opt(&j.schedule_state),
                last_run: match (&j.last_execution_state, &j.last_execution_ended) {
                    (Some(state), Some(t)) => format!("{state}, {}", short_time(t)),
                    (Some(state), None) => state.clone(),
                    (None, Some(t)) => short_time(t),
                    (None, None) => "never".to_owned(),
                },
                last_success: j.last_success_time.as_deref().map_or_else(
                    || "never".to_owned(),
                    |t| match j.last_success_age_hours {
                        Some(age) => format!("{} ({} ago)", short_time(t), age_text(age)),
                        None => short_time(t),
                    },
                ),
                failures: j
                    .successive_failures
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
                problem: [
                    j.quarantine_reason
                        .as_deref()
                        .map(|r| match &j.quarantine_since {
                            Some(t) => format!("quarantined ({r}) since {}", human_time(t)),
                            None => format!("quarantined ({r})"),
                        }),
                    j.error.clone(),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": "),
            })
            .collect(),
    )
}

fn file_rows(report: &AuditReport) -> Vec<FileRow> {
    report
        .inputs
        .onprem
        .iter()
        .map(|f| FileRow {
            path: f.path.display().to_string(),
            format: serde_json::to_value(f.format)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            objects: thousands(f.objects),
            rejected: f.rejected,
            skipped: f
                .skipped
                .iter()
                .map(|(class, n)| format!("{} {class}", thousands(*n)))
                .collect::<Vec<_>>()
                .join(", "),
            warnings: f.warnings.clone(),
        })
        .collect()
}

fn collection_rows(report: &AuditReport) -> Vec<CollectionRow> {
    let Some(cloud) = &report.inputs.cloud else {
        return Vec::new();
    };
    let mut rows: Vec<CollectionRow> = cloud
        .collections
        .iter()
        .map(|(name, state)| match state {
            CollectionState::Loaded {
                objects, rejected, ..
            } => CollectionRow {
                name: name.clone(),
                status: "loaded",
                objects: thousands(*objects),
                rejected: *rejected,
                reason: String::new(),
            },
            CollectionState::Missing { reason } => CollectionRow {
                name: name.clone(),
                status: "missing",
                objects: String::new(),
                rejected: 0,
                reason: reason.clone(),
            },
            CollectionState::Failed { reason } => CollectionRow {
                name: name.clone(),
                status: "failed",
                objects: String::new(),
                rejected: 0,
                reason: reason.clone(),
            },
        })
        .collect();
    // Unusable collections first: they are what the reader must not miss.
    rows.sort_by_key(|r| match r.status {
        "failed" => 0,
        "missing" => 1,
        _ => 2,
    });
    rows
}

// The charts span the page (about 1270 px): a viewBox of the same width keeps text at its size.
const CHART_WIDTH: u32 = 1240;
const LABEL_WIDTH: u32 = 380;
const ROW_HEIGHT: u32 = 24;
const VALUE_WIDTH: u32 = 240;

/// Findings by rule, one bar per failed rule in the rule's severity colour, most severe first.
fn findings_chart(rules: &[&RuleResult], active: &BTreeMap<&str, Vec<&Finding>>) -> Chart {
    let failed: Vec<(&RuleResult, usize)> = rules
        .iter()
        .filter_map(|r| Some((*r, active.get(r.rule.as_str())?.len())))
        .collect();
    let max = failed.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let span = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH / 2;
    let rows: Vec<ChartRow> = failed
        .iter()
        .zip(0u32..)
        .map(|((r, n), i)| ChartRow {
            y: i * ROW_HEIGHT,
            label: r.rule.clone(),
            class: format!("sev-{}", r.severity),
            // Proportional, but never so thin that a single finding disappears.
            bar: scale(*n, max, span).max(3),
            text: format!("{} ({})", thousands(*n), r.severity),
            overflow: false,
        })
        .collect();
    Chart {
        width: CHART_WIDTH,
        height: chart_height(rows.len()),
        label_width: LABEL_WIDTH,
        empty: rows.is_empty(),
        rows,
        marks: Vec::new(),
    }
}

/// How old each sync is, as a share of its own limit: every row's limit sits at the same x, so
/// a 3-hour and a 24-hour threshold read alike. Ages beyond 2.5 limits are clipped and marked.
fn freshness_chart(report: &AuditReport) -> Chart {
    const RANGE: f64 = 2.5;
    let s = &report.tenant_summary;
    let mut items: Vec<(String, Option<f64>, f64, &'static str)> = Vec::new();
    for (label, f) in [
        ("Directory sync", &s.directory_sync),
        ("Password hash sync", &s.password_hash_sync),
    ] {
        if f.known {
            items.push((
                label.to_owned(),
                f.age_hours,
                f.max_age_hours,
                freshness_state(f),
            ));
        }
    }
    for j in s.cloud_sync_jobs.iter().flatten() {
        let name = j.configuration.as_deref().unwrap_or(&j.job_id);
        let template = j.template_id.as_deref().unwrap_or("job");
        items.push((
            format!("Cloud Sync {name} ({template})"),
            j.last_success_age_hours,
            s.cloud_sync_max_age_hours,
            match job_state(j) {
                "ok" | "escrowed" => "ok",
                "paused" => "unknown",
                _ => "stale",
            },
        ));
    }
    let span = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    let at = |share: f64| -> u32 {
        // share is within 0..=RANGE here, so the product fits a u32 pixel offset.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let px = (share / RANGE * f64::from(span)).round() as u32;
        px
    };
    let rows: Vec<ChartRow> = items
        .into_iter()
        .zip(0u32..)
        .map(|((label, age, limit, state), i)| {
            let share = age.map_or(RANGE, |a| if limit > 0.0 { a / limit } else { RANGE });
            ChartRow {
                y: i * ROW_HEIGHT,
                label,
                class: format!("fresh-{state}"),
                bar: at(share.clamp(0.0, RANGE)).max(3),
                text: match age {
                    Some(a) => format!("{} ago (limit {})", age_text(a), age_text(limit)),
                    None => "never".to_owned(),
                },
                overflow: share > RANGE,
            }
        })
        .collect();
    Chart {
        width: CHART_WIDTH,
        height: chart_height(rows.len()),
        label_width: LABEL_WIDTH,
        empty: rows.is_empty(),
        rows,
        marks: vec![
            (at(1.0), "limit".to_owned()),
            (at(2.0), "2× limit".to_owned()),
        ],
    }
}

fn chart_height(rows: usize) -> u32 {
    u32::try_from(rows)
        .unwrap_or(u32::MAX / ROW_HEIGHT)
        .saturating_mul(ROW_HEIGHT)
        + 24
}

fn scale(n: usize, max: usize, span: u32) -> u32 {
    let n = u64::try_from(n).unwrap_or(u64::MAX);
    let max = u64::try_from(max).unwrap_or(u64::MAX).max(1);
    u32::try_from(n.saturating_mul(u64::from(span)) / max).unwrap_or(span)
}

/// The findings JSON made safe inside `<script type="application/json">`: the HTML parser ends
/// that element at the first `</script`, whatever the JSON means, so `<` (and, for good measure,
/// `>` and `&`) become JSON `\u` escapes, which `JSON.parse` reads back unchanged. U+2028 and
/// U+2029 are escaped too, for tools that still treat the blob as JavaScript.
pub fn json_for_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Splits a rule's docs into its `## ` sections, in order.
fn doc_sections(docs: &str) -> Vec<(String, String)> {
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in docs.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            sections.push((title.trim().to_owned(), String::new()));
        } else if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    sections
        .into_iter()
        .filter(|(_, body)| !body.trim().is_empty())
        .collect()
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders the Markdown subset the rule docs use, escaping everything first: paragraphs, `-`/`*`
/// and `1.` lists (indented items nest one level), `### ` headings, `` `code` ``, `**strong**`,
/// and links, which become their text followed by the URL as text. Nothing becomes a link or a
/// resource: the report must work offline and must not send the reader anywhere by a click it
/// did not mean (a copied URL is a decision; a rule file from --rules-dir is not trusted).
pub fn markdown_to_html(md: &str) -> String {
    let mut out = String::new();
    let mut paragraph: Vec<&str> = Vec::new();
    // (ordered, items as (nested, text))
    let mut list: Option<(bool, Vec<(bool, String)>)> = None;
    let flush_paragraph = |out: &mut String, paragraph: &mut Vec<&str>| {
        if !paragraph.is_empty() {
            let _ = write!(out, "<p>{}</p>", inline(&paragraph.join(" ")));
            paragraph.clear();
        }
    };
    let flush_list = |out: &mut String, list: &mut Option<(bool, Vec<(bool, String)>)>| {
        if let Some((ordered, items)) = list.take() {
            let tag = if ordered { "ol" } else { "ul" };
            let _ = write!(out, "<{tag}>");
            for (nested, text) in items {
                let class = if nested { " class=\"sub\"" } else { "" };
                let _ = write!(out, "<li{class}>{}</li>", inline(&text));
            }
            let _ = write!(out, "</{tag}>");
        }
    };
    for line in md.lines() {
        let trimmed = line.trim();
        let indented = line.starts_with("  ") || line.starts_with('\t');
        if trimmed.is_empty() {
            flush_paragraph(&mut out, &mut paragraph);
            flush_list(&mut out, &mut list);
        } else if let Some(title) = trimmed.strip_prefix('#').map(|t| t.trim_start_matches('#')) {
            flush_paragraph(&mut out, &mut paragraph);
            flush_list(&mut out, &mut list);
            let _ = write!(out, "<h4>{}</h4>", inline(title.trim()));
        } else if let Some((ordered, item)) = list_item(trimmed) {
            flush_paragraph(&mut out, &mut paragraph);
            let (_, items) = list.get_or_insert_with(|| (ordered, Vec::new()));
            items.push((indented && !items.is_empty(), item.to_owned()));
        } else if let Some((_, items)) = list.as_mut().filter(|_| indented) {
            // A wrapped line of the current item.
            if let Some((_, text)) = items.last_mut() {
                text.push(' ');
                text.push_str(trimmed);
            }
        } else {
            flush_list(&mut out, &mut list);
            paragraph.push(trimmed);
        }
    }
    flush_paragraph(&mut out, &mut paragraph);
    flush_list(&mut out, &mut list);
    out
}

fn list_item(line: &str) -> Option<(bool, &str)> {
    if let Some(item) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
        return Some((false, item));
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        return line[digits..].strip_prefix(". ").map(|item| (true, item));
    }
    None
}

/// Inline Markdown: `code`, **strong**, [text](url) and bare URLs; everything else is escaped.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '`'
            && let Some(end) = rest[1..].find('`')
        {
            let _ = write!(out, "<code>{}</code>", escape(&rest[1..=end]));
            rest = &rest[end + 2..];
            continue;
        }
        if rest.starts_with("**")
            && let Some(end) = rest[2..].find("**")
        {
            let _ = write!(out, "<strong>{}</strong>", escape(&rest[2..2 + end]));
            rest = &rest[end + 4..];
            continue;
        }
        if c == '['
            && let Some(close) = rest.find("](")
            && let Some(end) = rest[close..].find(')')
        {
            let label = &rest[1..close];
            let url = &rest[close + 2..close + end];
            if label == url {
                let _ = write!(out, "<span class=\"url\">{}</span>", escape(url));
            } else {
                let _ = write!(
                    out,
                    "{} <span class=\"url\">{}</span>",
                    inline(label),
                    escape(url)
                );
            }
            rest = &rest[close + end + 1..];
            continue;
        }
        if rest.starts_with("https://") || rest.starts_with("http://") {
            let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
            // Sentence punctuation after a URL is not part of it.
            let url = rest[..len].trim_end_matches(['.', ',', ';', ':', ')']);
            let _ = write!(out, "<span class=\"url\">{}</span>", escape(url));
            rest = &rest[url.len()..];
            continue;
        }
        out.push_str(&escape(&rest[..c.len_utf8()]));
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `2026-11-02T08:00:00Z` as `2026-11-02 08:00 UTC`; anything else as given.
fn human_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339).map_or_else(
        |_| rfc3339.to_owned(),
        |t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        },
    )
}

/// [`human_time`] without the zone, for table columns whose header says UTC.
fn short_time(rfc3339: &str) -> String {
    human_time(rfc3339).trim_end_matches(" UTC").to_owned()
}

/// An age in hours, in the unit a person would say it in.
fn age_text(hours: f64) -> String {
    let hours = hours.max(0.0);
    if hours < 1.0 {
        format!("{:.0} min", hours * 60.0)
    } else if hours < 48.0 {
        let text = format!("{hours:.1}");
        format!("{} h", text.trim_end_matches(".0"))
    } else {
        format!("{:.1} days", hours / 24.0)
    }
}

/// 12345 as `12,345`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_subset_escapes_first_and_loads_nothing() {
        let html = markdown_to_html(
            "Finds `<script>` & \"quotes\".\nSecond line.\n\n- one [docs](https://example.com/a?b=1&c=2)\n  wrapped\n  - nested\n- **two** <b>\n\n1. first\n2. https://learn.microsoft.com/x.\n",
        );
        assert_eq!(
            html,
            "<p>Finds <code>&lt;script&gt;</code> &amp; &quot;quotes&quot;. Second line.</p>\
             <ul><li>one docs <span class=\"url\">https://example.com/a?b=1&amp;c=2</span> wrapped</li>\
             <li class=\"sub\">nested</li><li><strong>two</strong> &lt;b&gt;</li></ul>\
             <ol><li>first</li><li><span class=\"url\">https://learn.microsoft.com/x</span>.</li></ol>"
        );
        assert!(!html.contains("href") && !html.contains("src"));
    }

    #[test]
    fn markdown_handles_unclosed_markup_and_unicode() {
        assert_eq!(inline("a `b"), "a `b");
        assert_eq!(inline("**x"), "**x");
        assert_eq!(inline("[x](y"), "[x](y");
        assert_eq!(inline("Zoë — 日本 'q'"), "Zoë — 日本 &#39;q&#39;");
    }

    #[test]
    fn json_for_script_cannot_close_the_element_and_round_trips() {
        let value = "</script><script>alert(1)</script> & \u{2028} ok";
        let json = serde_json::to_string(&value).unwrap();
        let safe = json_for_script(&json);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        assert!(!safe.contains('\u{2028}'));
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn doc_sections_split_on_level_two_headings() {
        let sections =
            doc_sections("## What it does\nFinds.\n\n## Why is this bad?\nBad.\n## Empty\n\n");
        assert_eq!(
            sections,
            vec![
                ("What it does".to_owned(), "Finds.\n\n".to_owned()),
                ("Why is this bad?".to_owned(), "Bad.\n".to_owned())
            ]
        );
    }

    #[test]
    fn numbers_times_and_ages_read_like_prose() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(50_000_000), "50,000,000");
        assert_eq!(human_time("2026-11-02T08:00:00Z"), "2026-11-02 08:00 UTC");
        assert_eq!(human_time("yesterday"), "yesterday");
        assert_eq!(age_text(0.5), "30 min");
        assert_eq!(age_text(3.0), "3 h");
        assert_eq!(age_text(5.25), "5.2 h");
        assert_eq!(age_text(72.0), "3.0 days");
    }
}
