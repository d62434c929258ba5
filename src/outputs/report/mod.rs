//! Renders an audit: the terminal summary, `findings.json`, `findings.csv`, one CSV per rule
//! (`rules/<name>.csv`, with the rule's evidence columns) and `report.html` (in [`html`]). Every
//! output shows rules that were not evaluated as such, with the reason, and counts the input
//! records that were rejected.
//!
//! This module computes no findings and judges nothing: it lays out what the engine produced.

pub(crate) mod html;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::inputs::snapshot::CollectionState;
use anyhow::Context as _;

use crate::audit::findings::{Finding, RuleOutcome, RuleResult, Severity};
use crate::audit::result::{AuditReport, Inputs};

/// Writes findings.json, findings.csv, report.html and rules/<name>.csv into `out`; returns the
/// files written.
pub(crate) fn write_all(report: &AuditReport, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out.join("rules"))
        .with_context(|| format!("cannot create the output directory {}", out.display()))?;
    // Stale per-rule files from an earlier run would contradict this one.
    if let Ok(entries) = std::fs::read_dir(out.join("rules")) {
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "csv") {
                std::fs::remove_file(entry.path()).ok();
            }
        }
    }
    let json = || -> anyhow::Result<PathBuf> {
        let json_path = out.join("findings.json");
        let file = std::fs::File::create(&json_path)
            .with_context(|| format!("cannot write {}", json_path.display()))?;
        let mut writer = std::io::BufWriter::new(file);
        serde_json::to_writer_pretty(&mut writer, report)
            .with_context(|| format!("cannot write {}", json_path.display()))?;
        writer.write_all(b"\n")?;
        writer.flush()?;
        Ok(json_path)
    };
    let csv = || -> anyhow::Result<PathBuf> {
        let csv_path = out.join("findings.csv");
        write_findings_csv(&csv_path, &report.findings, &[])?;
        Ok(csv_path)
    };
    let html = || -> anyhow::Result<PathBuf> {
        let html_path = out.join("report.html");
        html::write(report, &html_path)?;
        Ok(html_path)
    };
    let scope = || -> anyhow::Result<Option<PathBuf>> {
        let Some(scope) = &report.inputs.scope else {
            return Ok(None);
        };
        let path = out.join("out-of-scope.csv");
        write_out_of_scope_csv(&path, scope)?;
        Ok(Some(path))
    };
    let rules = || -> anyhow::Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for result in &report.rules {
            if !matches!(result.outcome, RuleOutcome::Failed { .. }) {
                continue;
            }
            let findings: Vec<&Finding> = report
                .findings
                .iter()
                .filter(|f| f.rule == result.rule)
                .collect();
            let evidence: BTreeSet<&str> = findings
                .iter()
                .flat_map(|f| f.evidence.keys().map(String::as_str))
                .collect();
            let evidence: Vec<&str> = evidence.into_iter().collect();
            let path = out.join("rules").join(format!("{}.csv", result.rule));
            let owned: Vec<Finding> = findings.into_iter().cloned().collect();
            write_findings_csv(&path, &owned, &evidence)?;
            written.push(path);
        }
        Ok(written)
    };
    // The files are independent: written side by side (a million-object audit's 11,000 findings
    // are 45 MB of JSON, HTML and CSV, 0.3 s on one core). Listed, and their errors reported, in
    // this order.
    let ((json, html), ((csv, scope), rules)) = rayon::join(
        || rayon::join(json, html),
        || rayon::join(|| rayon::join(csv, scope), rules),
    );
    let mut written = vec![json?, csv?, html?];
    written.extend(scope?);
    written.extend(rules?);
    Ok(written)
}

/// `predicted_outcome` came after the first release: it is last, so positional readers of the
/// earlier columns keep working.
const CSV_COLUMNS: [&str; 12] = [
    "id",
    "rule",
    "severity",
    "cloud_object_id",
    "cloud_object_type",
    "onprem_object_guid",
    "onprem_distinguished_name",
    "attribute",
    "value",
    "message",
    "remediation",
    "predicted_outcome",
];

/// The exported objects the engine never syncs, one row each with the reason and what the
/// reason means, so that an admin can check the scope the audit assumed in a spreadsheet.
fn write_out_of_scope_csv(
    path: &Path,
    scope: &crate::audit::sync_model::ScopeReport,
) -> anyhow::Result<()> {
    let mut writer =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    writer.write_record([
        "onprem_object_guid",
        "object_type",
        "onprem_distinguished_name",
        "reason",
        "rule",
    ])?;
    for o in &scope.objects {
        let row = [
            o.object_guid.as_str(),
            o.object_type,
            o.distinguished_name.as_str(),
            o.reason.as_str(),
            o.reason.doc(),
        ];
        writer.write_record(row.iter().map(|cell| csv_safe(cell).into_owned()))?;
    }
    writer
        .flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// One row per finding. `evidence_columns` become columns of their own (per-rule files); without
/// them the evidence is one `key=value; ...` column (the combined file, where rules differ).
fn write_findings_csv(
    path: &Path,
    findings: &[Finding],
    evidence_columns: &[&str],
) -> anyhow::Result<()> {
    let mut writer =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut header: Vec<&str> = CSV_COLUMNS.to_vec();
    if evidence_columns.is_empty() {
        header.push("evidence");
    } else {
        header.extend_from_slice(evidence_columns);
    }
    writer.write_record(&header)?;
    for f in findings {
        let mut row: Vec<String> = vec![
            f.id.clone(),
            f.rule.clone(),
            f.severity.to_string(),
            f.cloud_object_id.clone().unwrap_or_default(),
            f.cloud_object_type.clone().unwrap_or_default(),
            f.onprem_object_guid.clone().unwrap_or_default(),
            f.onprem_distinguished_name.clone().unwrap_or_default(),
            f.attribute.clone().unwrap_or_default(),
            f.value.clone().unwrap_or_default(),
            f.message.clone(),
            f.remediation.clone(),
            f.predicted_outcome
                .map(|o| o.as_str().to_owned())
                .unwrap_or_default(),
        ];
        if evidence_columns.is_empty() {
            row.push(
                f.evidence
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
        } else {
            row.extend(
                evidence_columns
                    .iter()
                    .map(|c| f.evidence.get(*c).cloned().unwrap_or_default()),
            );
        }
        writer.write_record(row.iter().map(|cell| csv_safe(cell).into_owned()))?;
    }
    writer
        .flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Spreadsheets run a cell that starts with `=`, `+`, `-`, `@` (or a tab / carriage return) as a
/// formula; directory values are attacker-controlled (anyone can be named `=HYPERLINK(...)`), so
/// such cells get a leading apostrophe, which Excel shows as text (OWASP "CSV Injection").
pub(crate) fn csv_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// The terminal summary: one line per rule, then what was not evaluated, the inputs, and where
/// the files are.
pub(crate) fn terminal_summary(report: &AuditReport, written: &[PathBuf]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "entra-audit check: tenant {} as of {}\n",
        report.tenant_id.as_deref().unwrap_or("(unknown)"),
        report.as_of
    );
    let mut rules: Vec<&RuleResult> = report.rules.iter().collect();
    rules.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(&b.rule)));
    rule_lines(&mut out, &rules, report);
    input_lines(&mut out, &report.inputs);
    if !written.is_empty() {
        // Per-rule CSVs are many: count them instead of listing them.
        let per_rule = |p: &&PathBuf| {
            p.parent()
                .and_then(Path::file_name)
                .is_some_and(|d| d == "rules")
        };
        let shown: Vec<String> = written
            .iter()
            .filter(|p| !per_rule(p))
            .map(|p| p.display().to_string())
            .collect();
        let _ = writeln!(out, "wrote {}", shown.join(", "));
        let rules = written.iter().filter(per_rule).count();
        if rules > 0 {
            let _ = writeln!(out, "      and {rules} per-rule CSV file(s)");
        }
    }
    out
}

fn rule_lines(out: &mut String, rules: &[&RuleResult], report: &AuditReport) {
    let width = rules
        .iter()
        .map(|r| r.rule.len())
        .max()
        .unwrap_or(10)
        .max(4);
    let _ = writeln!(out, "  {:<width$}  {:<8}  result", "rule", "severity");
    for r in rules {
        let caveat = if r.caveats.is_empty() { "" } else { " *" };
        let _ = writeln!(
            out,
            "  {:<width$}  {:<8}  {}{caveat}",
            r.rule,
            r.severity.as_str(),
            r.outcome.label()
        );
    }
    let by_severity: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|s| {
            let n = report.findings.iter().filter(|f| f.severity == *s).count();
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect();
    let _ = write!(out, "\nfindings: {}", report.findings.len());
    if by_severity.is_empty() {
        out.push('\n');
    } else {
        let _ = writeln!(out, " ({})", by_severity.join(", "));
    }
    for r in rules {
        match &r.outcome {
            RuleOutcome::NotEvaluated { reason } => {
                let _ = writeln!(out, "not evaluated: {}: {reason}", r.rule);
            }
            RuleOutcome::Errored { error } => {
                let _ = writeln!(out, "errored: {}: {error}", r.rule);
            }
            _ => {}
        }
    }
    // The same missing optional input qualifies several rules: say it once, naming them.
    let mut caveats: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in rules {
        for caveat in &r.caveats {
            caveats.entry(caveat).or_default().push(&r.rule);
        }
    }
    for (caveat, affected) in caveats {
        let _ = writeln!(out, "* {}: {caveat}", affected.join(", "));
    }
}

fn input_lines(out: &mut String, inputs: &Inputs) {
    if !inputs.onprem.is_empty() {
        let total: usize = inputs.onprem_objects.values().sum();
        let by_type: Vec<String> = inputs
            .onprem_objects
            .iter()
            .map(|(k, v)| format!("{v} {k}s"))
            .collect();
        let _ = writeln!(
            out,
            "on-prem: {total} objects ({}) from {} file(s)",
            by_type.join(", "),
            inputs.onprem.len()
        );
        for file in &inputs.onprem {
            for warning in &file.warnings {
                let _ = writeln!(out, "warning: {}: {warning}", file.path.display());
            }
        }
    }
    if let Some(scope) = &inputs.scope
        && scope.out_of_scope > 0
    {
        let reasons: Vec<String> = scope
            .by_reason
            .iter()
            .map(|(reason, n)| format!("{n} {}", reason.as_str()))
            .collect();
        let _ = writeln!(
            out,
            "never synced (out of the engine's scope, in no finding): {} ({}; listed in findings.json under inputs.scope)",
            scope.out_of_scope,
            reasons.join(", ")
        );
    }
    if let Some(model) = &inputs.sync_model {
        for line in model.summary_lines() {
            let _ = writeln!(out, "sync model: {line}");
        }
    }
    if let Some(cloud) = &inputs.cloud {
        let loaded: Vec<String> = cloud
            .collections
            .iter()
            .filter_map(|(name, state)| match state {
                CollectionState::Loaded { objects, .. } => Some(format!("{objects} {name}")),
                _ => None,
            })
            .collect();
        let _ = writeln!(out, "cloud: {}", loaded.join(", "));
        for (name, state) in &cloud.collections {
            if let CollectionState::Failed { reason } = state {
                let _ = writeln!(out, "cloud collection unusable: {name}: {reason}");
            }
        }
    }
    if inputs.rejected_count > 0 {
        let _ = writeln!(
            out,
            "rejected input records: {} (listed in findings.json under inputs.rejected_records)",
            inputs.rejected_count
        );
        for r in inputs.rejected_records.iter().take(5) {
            let record = if r.record.is_empty() {
                String::new()
            } else {
                format!("{}: ", crate::preview::preview(&r.record))
            };
            let _ = writeln!(
                out,
                "  {}:{}: {record}{}",
                r.file.display(),
                r.line,
                r.reason
            );
        }
        if inputs.rejected_count > 5 {
            let _ = writeln!(out, "  ... and {} more", inputs.rejected_count - 5);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_that_spreadsheets_would_evaluate_are_defused() {
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("+1"), "'+1");
        assert_eq!(csv_safe("-2"), "'-2");
        assert_eq!(csv_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_safe("ann@contoso.com"), "ann@contoso.com");
        assert_eq!(csv_safe(""), "");
    }
}
