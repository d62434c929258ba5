//! After an audit, everything a run hands over: the schedule applied (baseline statuses,
//! suppressions), the files written (findings, report.html, cleanup exports, the optional UTF-8
//! BOM), the terminal summary and the exit decision (exit code and one-line summary). `check` and each
//! tenant of `check --config` go through this one function, so a tenant of a multi-tenant run
//! gets exactly what a single run gets. It must not audit or collect, and it prints nothing: the
//! caller decides where the text goes.

use std::path::Path;

use std::fmt::Write as _;

use crate::audit::findings::RuleOutcome;
use crate::audit::result::AuditReport;
use crate::audit::schedule::FailOn;
use crate::audit::schedule::{Completeness, ExitDecision, ScheduleInputs};
use crate::inputs::snapshot::CollectionState;
use crate::outputs::replace::Staging;
use crate::outputs::{cleanup, report};

/// The entries of the output folder a run writes (and replaces whole); anything else in the folder
/// (a live run's `cloud/` snapshot, a user's files) is left alone.
pub(crate) const OWNED_ENTRIES: [&str; 6] = [
    "findings.json",
    "findings.csv",
    "out-of-scope.csv",
    "report.html",
    "rules",
    "cleanup",
];

/// How the outputs are written and judged.
#[derive(Debug, Clone, Copy)]
// One field per command-line flag, as cli.rs (which allows the same lint) has them.
#[allow(clippy::struct_excessive_bools)]
pub(crate) struct PublishOptions<'a> {
    pub out: &'a Path,
    /// Summary only, no files.
    pub no_files: bool,
    pub csv_bom: bool,
    pub fail_on: FailOn,
    pub fail_on_new: bool,
    /// Exit 0/1 even when a given input was unusable or a `--rule` could not run.
    pub allow_partial: bool,
    /// Rules were named with `--rule`: each must run.
    pub rules_named: bool,
}

/// What a run shows once its files are written.
#[derive(Debug)]
pub(crate) struct Published {
    /// The terminal summary (findings by rule, files written, cleanup and schedule lines).
    pub terminal: String,
    pub exit: ExitDecision,
}

/// Applies the schedule to the report, writes the files and decides the exit code.
pub(crate) fn publish(
    mut audit: AuditReport,
    schedule: ScheduleInputs,
    options: &PublishOptions<'_>,
) -> anyhow::Result<Published> {
    let clock = crate::audit::timings::Clock::start();
    let began = crate::audit::timings::Began::now();
    let schedule = schedule.apply(&audit)?;
    // The schedule goes onto the typed report before anything is written: findings.json and
    // report.html are each written once, from the same model.
    schedule.annotate(&mut audit);
    let out = options.out;
    let (written, cleanup_files) = if options.no_files {
        (Vec::new(), Vec::new())
    } else {
        // Everything is written into a staging folder and swapped in at the end: an interrupted
        // run leaves the previous run's files, never a mix (see `replace`).
        let staging = Staging::begin(out)?;
        let dir = staging.path();
        // Side by side: neither writes a file the other does.
        let (written, cleanup_files) = rayon::join(
            || report::write_all(&audit, dir),
            || cleanup::write_all(&audit.findings, &audit.rule_cleanup, dir),
        );
        let (written, cleanup_files) = (written?, cleanup_files?);
        if options.csv_bom {
            cleanup::add_utf8_bom(&written)?;
            cleanup::add_utf8_bom(&cleanup_files)?;
        }
        let written: Vec<_> = written.iter().map(|p| staging.final_path(p)).collect();
        let cleanup_files: Vec<_> = cleanup_files
            .iter()
            .map(|p| staging.final_path(p))
            .collect();
        staging.commit(&OWNED_ENTRIES, "findings.json")?;
        (written, cleanup_files)
    };
    clock.done("outputs", began, Some(audit.findings.len()));
    let completeness = completeness(&audit, options);
    let exit = schedule.exit_decision(
        &audit.findings,
        options.fail_on,
        options.fail_on_new,
        &completeness,
    );
    // Muted findings are in the files; the terminal counts leave them out.
    audit.findings.retain(|f| !f.is_muted());
    let mut terminal = report::terminal_summary(&audit, &written);
    if !options.no_files {
        terminal.push_str(&cleanup::terminal_line(&cleanup_files, out));
    }
    terminal.push_str(&schedule.terminal_lines());
    if completeness.fails() {
        let _ = writeln!(
            terminal,
            "\nincomplete audit (exit 2; --allow-partial accepts it):\n  {}",
            completeness.unusable.join("\n  ")
        );
    }
    Ok(Published { terminal, exit })
}

/// What could not be evaluated, and which given inputs were unusable: a cloud collection that
/// failed, came in part or lacks the properties the rules read; an on-prem export of which every
/// record was rejected, or that is probably truncated; a rule named with `--rule` that was not evaluated or errored. An input
/// that was not given (no `--cloud`) is not unusable: its rules are simply not evaluated.
fn completeness(audit: &AuditReport, options: &PublishOptions<'_>) -> Completeness {
    let mut unusable = Vec::new();
    if let Some(cloud) = &audit.inputs.cloud {
        for (name, state) in &cloud.collections {
            if let CollectionState::Failed { reason } = state {
                unusable.push(format!("cloud collection {name} is unusable: {reason}"));
            }
        }
    }
    for file in &audit.inputs.onprem {
        if file.objects == 0 && file.rejected > 0 {
            unusable.push(format!(
                "every record of {} was rejected ({})",
                file.path.display(),
                file.rejected
            ));
        }
        // A probably truncated export is a partial one until the admin says otherwise.
        for warning in &file.warnings {
            unusable.push(format!("{}: {warning}", file.path.display()));
        }
    }
    let mut rules_not_evaluated = 0;
    for result in &audit.rules {
        let why = match &result.outcome {
            RuleOutcome::NotEvaluated { reason } => reason,
            RuleOutcome::Errored { error } => error,
            _ => continue,
        };
        rules_not_evaluated += 1;
        if options.rules_named {
            unusable.push(format!(
                "--rule {} could not run: {}",
                result.rule,
                crate::preview::preview(why)
            ));
        }
    }
    Completeness {
        rules_not_evaluated,
        unusable,
        allow_partial: options.allow_partial,
    }
}
