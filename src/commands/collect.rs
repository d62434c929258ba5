//! `entra-audit collect`: signs in and collects the tenant into a snapshot directory, with
//! progress on a terminal and a per-collection summary after. `check` without `--cloud` uses the
//! same [`collect_live`].

use super::cli::{AuthArgs, CollectArgs};
use super::{progress, sign_in};
use crate::graph::collect::{CollectOptions, CollectReport};
use crate::preview::terminal_safe;

/// Signs in and collects into `dir`; returns the report and its printed summary.
pub(crate) fn collect_live(
    auth: &AuthArgs,
    dir: &std::path::Path,
    options: CollectOptions,
    then: progress::Then,
) -> anyhow::Result<(CollectReport, String)> {
    let session = sign_in::connect(&auth.connect_options())?;
    progress::runtime()?.block_on(async {
        session.sign_in().await?;
        let started = std::time::Instant::now();
        let report = progress::collect_with_progress(
            &session.graph,
            dir,
            options,
            progress::show_progress(),
        )
        .await?;
        let summary = progress::collect_summary(&report, started.elapsed(), then);
        Ok((report, summary))
    })
}

/// Runs `collect`: 0 when every collection completed (or `--allow-partial`), else 2.
pub(crate) fn execute(args: &CollectArgs) -> anyhow::Result<u8> {
    let options = CollectOptions {
        skip: args.skip.iter().copied().collect(),
        errors_only: args.errors_only,
        sync_behavior_cap: args.sync_behavior_cap,
        ..CollectOptions::default()
    };
    let (report, summary) = collect_live(&args.auth, &args.out, options, progress::Then::Stop)?;
    print!("{}", terminal_safe(&summary));
    let complete = report.failed().is_empty();
    if complete || args.allow_partial {
        // What to do with a snapshot: audit it (offline, as often as wanted).
        println!(
            "next: entra-audit check --cloud {} --onprem <AD export> --out <report folder>",
            terminal_safe(&args.out.display().to_string())
        );
    }
    Ok(if complete || args.allow_partial { 0 } else { 2 })
}
