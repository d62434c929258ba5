//! `report.html`: the pre-migration readiness report, one self-contained file an identity admin
//! opens offline, reads and prints. It owns the readiness verdict's rule, the page's layout
//! (template `report.html.j2`, style `report.css`, script `report.js`, all embedded at build time),
//! the SVG charts' geometry and the rendering of the rules' Markdown docs.
//!
//! It must not compute findings or load anything: the page names no external resource (the rule
//! docs' http(s) references are links a reader may click, never a `src`), every value goes
//! through the template's HTML
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

use crate::audit::findings::{BaselineFinding, Finding, RuleOutcome, RuleResult, Severity};
use crate::audit::result::{AuditReport, SyncFreshness, SyncJobSummary};
use crate::inputs::snapshot::{CollectionState, JobHealth};

const TEMPLATE: &str = include_str!("report.html.j2");
const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// Findings shown under each rule in the static part of the page (readable without JavaScript
/// and on paper); the full list is the interactive table and findings.csv.
const EXAMPLES_PER_RULE: usize = 10;
/// Rejected input records listed in the page; findings.json lists them all.
const REJECTED_SHOWN: usize = 50;

/// The readiness rule, shown verbatim in the page so the reader can check it.
pub(crate) const READINESS_RULE: [(&str, &str); 4] = [
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

/// The page's readiness verdict: a level (for the page's colour), its label and why. (The exit
/// code is another decision: `baseline::ExitDecision`, from --fail-on.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// `not-ready`, `incomplete`, `warnings` or `ready`.
    pub level: &'static str,
    pub label: &'static str,
    pub reasons: Vec<String>,
}

/// Applies [`READINESS_RULE`] to an audit; `active` are its findings less the muted ones (an
/// accepted risk does not hold a migration back, as it does not fail `--fail-on`).
pub fn readiness(report: &AuditReport, active: &[&Finding]) -> Readiness {
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
    Readiness {
        level,
        label: READINESS_RULE[index].0,
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
pub(crate) fn content_security_policy() -> String {
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
pub(crate) fn write(report: &AuditReport, path: &Path) -> anyhow::Result<()> {
    let html = render(report)?;
    crate::outputs::replace::write_file(path, html.as_bytes())
}

/// Renders the page, with a scheduled run's statuses, resolved and muted findings when the
/// schedule put them on the report.
pub fn render(report: &AuditReport) -> anyhow::Result<String> {
    let mut env = Environment::new();
    // Whatever the template's name, everything is HTML-escaped unless marked safe in this file.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template("report.html", TEMPLATE)
        .context("report.html template")?;
    let page = Page::new(report)?;
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
    readiness: Readiness,
    readiness_rule: Vec<(&'static str, &'static str)>,
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

/// A resolved or muted finding, as the page lists it.
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
    /// `None` for a run without `--baseline` or `--suppressions`.
    fn new(report: &AuditReport) -> Option<Self> {
        if report.baseline.is_none() && report.suppressions.is_none() {
            return None;
        }
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let listed = |f: &Finding, note: String| ListedFinding {
            rule: f.rule.clone(),
            severity: f.severity.as_str().to_owned(),
            cloud: text(&f.cloud_object_id),
            cloud_type: text(&f.cloud_object_type),
            onprem_guid: text(&f.onprem_object_guid),
            onprem_dn: text(&f.onprem_distinguished_name),
            attribute: text(&f.attribute),
            value: text(&f.value),
            message: f.message.clone(),
            note,
        };
        // Resolved findings are the baseline file's records, passed on as it wrote them.
        let resolved_listed = |f: &BaselineFinding| ListedFinding {
            rule: f.text("rule").to_owned(),
            severity: f.text("severity").to_owned(),
            cloud: f.text("cloud_object_id").to_owned(),
            cloud_type: f.text("cloud_object_type").to_owned(),
            onprem_guid: f.text("onprem_object_guid").to_owned(),
            onprem_dn: f.text("onprem_distinguished_name").to_owned(),
            attribute: f.text("attribute").to_owned(),
            value: f.text("value").to_owned(),
            message: f.text("message").to_owned(),
            note: String::new(),
        };
        let muted: Vec<&Finding> = report.findings.iter().filter(|f| f.is_muted()).collect();
        let resolved = report.resolved.as_deref().unwrap_or_default();
        let mut view = ScheduleView {
            resolved: resolved.iter().take(LISTED).map(resolved_listed).collect(),
            resolved_more: resolved.len().saturating_sub(LISTED),
            not_rechecked: report
                .not_rechecked
                .iter()
                .flatten()
                .map(|(rule, n)| (rule.clone(), *n as u64))
                .collect(),
            muted: muted
                .iter()
                .take(LISTED)
                .map(|f| {
                    let mut note = String::new();
                    if let Some(s) = &f.suppression {
                        note.push_str(&s.reason);
                        if !s.expires.is_empty() {
                            let _ = write!(note, " (until {})", s.expires);
                        }
                        if !s.source.is_empty() {
                            let _ = write!(note, " · {}", s.source);
                        }
                    }
                    listed(f, note)
                })
                .collect(),
            muted_count: muted.len(),
            muted_more: muted.len().saturating_sub(LISTED),
            ..ScheduleView::default()
        };
        if let Some(b) = &report.baseline {
            view.has_baseline = true;
            view.baseline_path = b.path.display().to_string();
            view.baseline_as_of = b.as_of.as_deref().map(human_time).unwrap_or_default();
            view.new = b.new as u64;
            view.unchanged = b.unchanged as u64;
            view.resolved_count = b.resolved as u64;
        }
        if let Some(s) = &report.suppressions {
            view.has_suppressions = true;
            view.suppressions_path = s.path.display().to_string();
            view.warnings.clone_from(&s.warnings);
        }
        Some(view)
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
    fn new(report: &'a AuditReport) -> anyhow::Result<Self> {
        let summary = &report.tenant_summary;
        // The table gets the findings as findings.json has them (with a schedule: status, muted).
        let findings_json = serde_json::to_string(&report.findings)
            .context("serialising the findings for report.html")?;
        let muted: HashSet<&str> = report
            .findings
            .iter()
            .filter(|f| f.is_muted())
            .map(|f| f.id.as_str())
            .collect();
        let active: Vec<&Finding> = report.findings.iter().filter(|f| !f.is_muted()).collect();
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
            readiness: readiness(report, &active),
            readiness_rule: READINESS_RULE.to_vec(),
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
            schedule: ScheduleView::new(report),
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
    match j.health {
        Some(JobHealth::Quarantined) => "quarantine",
        Some(JobHealth::Failing) => "failing",
        Some(JobHealth::Escrowed) => "escrowed",
        Some(JobHealth::Paused | JobHealth::NotRun | JobHealth::NotConfigured) => "paused",
        Some(JobHealth::Healthy) => "ok",
        None => "stale",
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
pub(crate) fn json_for_script(json: &str) -> String {
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
pub(crate) fn escape(text: &str) -> String {
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

/// Renders a rule's Markdown docs with a `CommonMark` parser (pulldown-cmark,
/// <https://spec.commonmark.org/>), treating the text as untrusted: a rule file from --rules-dir
/// is anyone's. So:
/// - raw HTML (blocks and inline tags) is shown as text, escaped, never passed through;
/// - a link becomes `<a href>` only when its target is http, https or relative (a path or
///   `#fragment`); any other scheme (`javascript:`, `data:`, `vbscript:`, `file:`) or a
///   scheme-relative `//host` keeps its text and loses its target;
/// - images are never loaded: their alt text stays, as text;
/// - bare `http(s)://` URLs (how the rules' References are written) become links;
/// - headings become `<h4>`, the level the section titles around them use.
///
/// Links carry `rel="noopener noreferrer"`: the report's address never reaches the linked site
/// (<https://html.spec.whatwg.org/multipage/links.html#link-type-noreferrer>).
pub(crate) fn markdown_to_html(md: &str) -> String {
    use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd, TextMergeStream};

    let mut events: Vec<Event<'_>> = Vec::new();
    // One entry per open link: whether its <a> was written (an unsafe target writes none).
    let mut links: Vec<bool> = Vec::new();
    let parser = Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
    for event in TextMergeStream::new(parser) {
        match event {
            Event::Html(raw) | Event::InlineHtml(raw) => events.push(Event::Text(raw)),
            Event::Start(Tag::Link { dest_url, .. }) => {
                let target = link_target(&dest_url);
                if let Some(href) = target {
                    events.push(Event::InlineHtml(anchor("ref", href).into()));
                }
                links.push(target.is_some());
            }
            Event::End(TagEnd::Link) => {
                if links.pop() == Some(true) {
                    events.push(Event::InlineHtml("</a>".into()));
                }
            }
            // Dropping the image's start and end leaves its alt text as ordinary text.
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => {}
            Event::Start(Tag::Heading { .. }) => events.push(Event::Start(Tag::Heading {
                level: HeadingLevel::H4,
                id: None,
                classes: Vec::new(),
                attrs: Vec::new(),
            })),
            Event::End(TagEnd::Heading(_)) => {
                events.push(Event::End(TagEnd::Heading(HeadingLevel::H4)));
            }
            Event::Text(text) if links.is_empty() => link_bare_urls(text, &mut events),
            other => events.push(other),
        }
    }
    let mut out = String::with_capacity(md.len() * 3 / 2);
    // Text is escaped here, as everything else in this file is (quotes included), then written
    // as it is.
    let escaped = events.into_iter().map(|event| match event {
        Event::Text(text) => Event::InlineHtml(escape(&text).into()),
        other => other,
    });
    pulldown_cmark::html::push_html(&mut out, escaped);
    out
}

/// The `<a>` start tag for a vetted target: class `url` for a bare URL (shown as itself), `ref`
/// for a labelled link (whose target the print style adds after it).
fn anchor(class: &str, href: &str) -> String {
    format!(
        "<a class=\"{class}\" href=\"{}\" rel=\"noopener noreferrer\">",
        escape(href)
    )
}

/// The target a link may have in the report: http(s) or relative, nothing else. A scheme is
/// what RFC 3986 says it is (a letter, then letters, digits, `+`, `-`, `.`, before the first
/// `:` that comes before any `/`, `?` or `#`); browsers strip tabs and newlines inside URLs and
/// read `\` as `/` (WHATWG URL, <https://url.spec.whatwg.org/#concept-basic-url-parser>), so a
/// target holding whitespace, a control character or a backslash is refused outright.
fn link_target(dest: &str) -> Option<&str> {
    let dest = dest.trim();
    if dest.is_empty()
        || dest
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return None;
    }
    let scheme_end = dest.find(['/', '?', '#', ':']);
    match scheme_end.map(|at| (at, dest.as_bytes()[at])) {
        Some((at, b':')) => {
            let scheme = dest[..at].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https")
                .then_some(dest)
                .filter(|d| d.len() > at + 3 && d[at + 1..].starts_with("//"))
        }
        // `//host/path` is relative to the scheme only: another site.
        _ if dest.starts_with("//") => None,
        _ => Some(dest),
    }
}

/// Text with every bare `http://` or `https://` URL made a link. Sentence punctuation after a
/// URL is not part of it, nor is a closing parenthesis the URL did not open.
fn link_bare_urls<'a>(
    text: pulldown_cmark::CowStr<'a>,
    events: &mut Vec<pulldown_cmark::Event<'a>>,
) {
    use pulldown_cmark::Event;
    let mut rest: &str = &text;
    let mut pieces: Vec<Event<'a>> = Vec::new();
    while let Some(at) = find_url_start(rest) {
        let tail = &rest[at..];
        let len = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
            .unwrap_or(tail.len());
        let mut url = &tail[..len];
        loop {
            let trimmed = url.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'']);
            let unbalanced = trimmed.ends_with(')')
                && trimmed.matches(')').count() > trimmed.matches('(').count();
            let trimmed = if unbalanced {
                &trimmed[..trimmed.len() - 1]
            } else {
                trimmed
            };
            if trimmed.len() == url.len() {
                break;
            }
            url = trimmed;
        }
        let Some(href) = link_target(url) else {
            pieces.push(Event::Text(rest[..at + url.len().max(1)].to_owned().into()));
            rest = &rest[at + url.len().max(1)..];
            continue;
        };
        if at > 0 {
            pieces.push(Event::Text(rest[..at].to_owned().into()));
        }
        pieces.push(Event::InlineHtml(anchor("url", href).into()));
        pieces.push(Event::Text(url.to_owned().into()));
        pieces.push(Event::InlineHtml("</a>".into()));
        rest = &rest[at + url.len()..];
    }
    if pieces.is_empty() {
        events.push(Event::Text(text));
        return;
    }
    if !rest.is_empty() {
        pieces.push(Event::Text(rest.to_owned().into()));
    }
    events.extend(pieces);
}

/// Where the next `http://` or `https://` starts (ASCII case-insensitively).
fn find_url_start(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    [lower.find("https://"), lower.find("http://")]
        .into_iter()
        .flatten()
        .min()
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
    fn markdown_renders_commonmark_and_links_bare_references() {
        let html = markdown_to_html(
            "Finds `<script>` & \"quotes\".\nSecond line.\n\n- one [docs](https://example.com/a?b=1&c=2)\n  wrapped\n  - nested\n- **two**\n\n1. first\n2. https://learn.microsoft.com/x.\n\n### Sub\n",
        );
        assert_eq!(
            html,
            "<p>Finds <code>&lt;script&gt;</code> &amp; &quot;quotes&quot;.\nSecond line.</p>\n\
             <ul>\n<li>one <a class=\"ref\" href=\"https://example.com/a?b=1&amp;c=2\" rel=\"noopener noreferrer\">docs</a>\nwrapped\n\
             <ul>\n<li>nested</li>\n</ul>\n</li>\n<li><strong>two</strong></li>\n</ul>\n\
             <ol>\n<li>first</li>\n<li><a class=\"url\" href=\"https://learn.microsoft.com/x\" rel=\"noopener noreferrer\">https://learn.microsoft.com/x</a>.</li>\n</ol>\n\
             <h4>Sub</h4>\n"
        );
    }

    #[test]
    fn markdown_escapes_raw_html_and_refuses_unsafe_links() {
        let html = markdown_to_html(
            "<script>alert(1)</script>\n\nText <img src=x onerror=alert(2)> and <b>bold</b>.\n\n\
             [a](javascript:alert(3)) [b](JaVaScRiPt:alert(4)) [c](java&#115;cript:alert(5)) \
             [d](<java script:x>) [e](data:text/html,<p>) [f](//evil.example/x) [g](vbscript:x) \
             [h](file:///etc/passwd) [i](\\\\evil\\x) ![alt text](https://tracker.example/p.png) \
             [rel](../docs/rules.md#x) [frag](#top) <javascript:alert(6)> <https://ok.example/>",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("&lt;img src=x onerror=alert(2)&gt;"),
            "{html}"
        );
        // Every href is http(s) or relative; the refused ones keep their text only.
        let hrefs: Vec<&str> = html
            .split("href=\"")
            .skip(1)
            .map(|rest| &rest[..rest.find('"').unwrap()])
            .collect();
        assert_eq!(
            hrefs,
            ["../docs/rules.md#x", "#top", "https://ok.example/"],
            "{html}"
        );
        for label in ["a", "b", "c", "d", "e", "f", "g", "h", "i", "alt text"] {
            assert!(
                html.contains(&format!(" {label} ")) || html.contains(&format!(">{label} ")),
                "{label} in {html}"
            );
        }
        assert_eq!(html.matches("rel=\"noopener noreferrer\"").count(), 3);
    }

    #[test]
    fn bare_urls_stop_at_punctuation_and_unopened_parentheses() {
        let html = markdown_to_html(
            "See https://a.example/x_(y) and (https://b.example/z), HTTPS://C.example/q; http://",
        );
        assert!(html.contains("href=\"https://a.example/x_(y)\""), "{html}");
        assert!(html.contains("href=\"https://b.example/z\""), "{html}");
        assert!(html.contains("href=\"HTTPS://C.example/q\""), "{html}");
        assert!(html.ends_with("; http://</p>\n"), "{html}");
        assert_eq!(
            markdown_to_html("Zoë — 日本 'q'"),
            "<p>Zoë — 日本 &#39;q&#39;</p>\n"
        );
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
