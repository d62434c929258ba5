//! What a live run shows while it collects and after: indicatif progress bars (only when stderr
//! is a terminal: a scheduler's log gets the tracing lines instead) and the per-collection table
//! of a [`CollectReport`] (status, objects, requests, retries, 429s). It owns that presentation
//! and the async runtime a command runs on; collecting is `collect`'s job and signing in is
//! `sign_in`'s.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::graph::GraphClient;
use crate::graph::collect::{CollectOptions, CollectReport, CollectionStatus, Progress, collect};
use crate::inputs::snapshot::Collection;

/// The multi-threaded runtime a live command runs on.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Whether progress bars go to stderr: a terminal, and not turned off by the user.
pub(crate) fn show_progress() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("ENTRA_AUDIT_NO_PROGRESS").is_none()
}

/// Collects with progress bars on a terminal (one spinner per large collection).
pub(crate) async fn collect_with_progress(
    client: &GraphClient,
    out: &Path,
    mut options: CollectOptions,
    progress: bool,
) -> anyhow::Result<CollectReport> {
    let bars = progress.then(Bars::new);
    if let Some(bars) = &bars {
        let bars = bars.clone();
        options.progress = Some(Progress(Arc::new(move |collection, objects| {
            bars.add(collection, objects);
        })));
    }
    // Boxed: the collection future is large, and it would be copied into every caller's.
    let report = Box::pin(collect(client, out, &options)).await;
    if let Some(bars) = &bars {
        bars.finish();
    }
    report
}

/// One spinner per paged collection, created on its first page.
#[derive(Clone)]
struct Bars {
    multi: MultiProgress,
    bars: Arc<Mutex<BTreeMap<Collection, ProgressBar>>>,
}

impl Bars {
    fn new() -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    fn add(&self, collection: Collection, objects: usize) {
        let mut bars = self
            .bars
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bar = bars.entry(collection).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:<10} {pos:>9} objects  {per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(collection.file_stem());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.inc(objects as u64);
    }

    fn finish(&self) {
        let bars = self
            .bars
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for bar in bars.values() {
            bar.finish_and_clear();
        }
    }
}

/// What follows the collection summary: nothing yet (`collect`), or the audit, whose summary
/// says once what the rules ran without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Then {
    Stop,
    Audit,
}

/// The per-collection table printed after a collection, and where the snapshot is.
pub(crate) fn collect_summary(report: &CollectReport, elapsed: Duration, then: Then) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "collected tenant {} into {} in {:.1} s",
        report.tenant_id.as_deref().unwrap_or("(unknown)"),
        report.dir.display(),
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "  {:<26} {:<9} {:>9} {:>8} {:>7} {:>5}",
        "collection", "status", "objects", "requests", "retries", "429s"
    );
    for (collection, o) in &report.collections {
        let _ = writeln!(
            out,
            "  {:<26} {:<9} {:>9} {:>8} {:>7} {:>5}",
            collection.file_stem(),
            o.status.as_str(),
            o.objects,
            o.stats.requests,
            o.stats.retries,
            o.stats.throttled
        );
        // A 403 is a permission to grant (doctor names it) or, for a delegated-only
        // collection, what every application sign-in gets: either way the request's URL and id
        // help nobody here (manifest.json keeps them). A failure's error is the diagnosis.
        match (o.status, &o.error) {
            (CollectionStatus::Forbidden, _) if collection.delegated_only() => {
                let _ = match then {
                    Then::Audit => writeln!(
                        out,
                        "      not for an application sign-in: see the rules marked * below"
                    ),
                    Then::Stop => writeln!(
                        out,
                        "      {} (--device-code); the rules that use it run without it",
                        Collection::DELEGATED_ONLY_NOTE
                    ),
                };
            }
            (CollectionStatus::Forbidden, _) => {
                let code = o.code.as_deref().unwrap_or("403");
                let _ = writeln!(
                    out,
                    "      the token lacks its permission (Graph said {code}): `entra-audit doctor` names the one to grant"
                );
            }
            (CollectionStatus::Complete, _) | (_, None) => {}
            (_, Some(error)) => {
                let _ = writeln!(out, "      {error}");
            }
        }
    }
    let total = report.total_stats();
    let _ = writeln!(
        out,
        "  {} requests, {} retries, {} throttled; manifest: {}",
        total.requests,
        total.retries,
        total.throttled,
        report.manifest_path().display()
    );
    let failed = report.failed();
    if !failed.is_empty() {
        let names: Vec<&str> = failed.iter().map(|c| c.file_stem()).collect();
        let _ = writeln!(
            out,
            "INCOMPLETE: {} failed after retries; the rules that need them cannot be evaluated",
            names.join(", ")
        );
    }
    out
}
