//! Live collection from Microsoft Graph into a cloud snapshot directory (the `--cloud DIR` layout
//! that [`crate::inputs::snapshot`] reads). What each collection is and how Graph serves it
//! (version, path, `$select`, permissions) is the snapshot's catalogue
//! ([`crate::inputs::snapshot::catalogue`]); this module reads them all at once on one shared
//! [`GraphClient`] and writes each one's file and `manifest.json`. Every file is written under a
//! temporary name and renamed once its collection is complete, so a failed collection never
//! leaves a file that looks complete; a failed or forbidden collection is recorded as such and
//! never aborts the others. It must not interpret the objects (that is the tables' and rules'
//! job).
//!
//! - [`directory`]: users, contacts and groups, streamed page by page to `NAME.jsonl` (memory
//!   does not grow with the tenant); a large one in disjoint partitions planned by
//!   [`partition`] and paged side by side, checked against `/$count`.
//! - [`errors_only`]: `--errors-only`, the objects with provisioning errors only.
//! - [`held`]: the small collections, held and written whole.
//! - [`sync_behavior`]: onPremisesSyncBehavior of the leftover rules' candidates, per object in
//!   JSON batches, beside users and groups: [`candidates`] gathers them from the pages as they
//!   arrive and says which are already sure to be read under the cap.
//! - [`jsonl`]: the files; [`manifest`]: `manifest.json`.
//!
//! All requests go through the client's rate limiter and `Retry-After` gate; the directory
//! collections and the onPremisesSyncBehavior batches share one limit of requests in flight on
//! top ([`CollectOptions::partition_concurrency`]).

mod candidates;
mod directory;
mod errors_only;
mod held;
mod jsonl;
mod manifest;
mod partition;
mod sync_behavior;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use crate::graph::{CallStats, GraphClient, GraphError};
use crate::inputs::snapshot::Collection;
pub(crate) use crate::inputs::snapshot::CollectionStatus;
use candidates::Candidates;
use held::RoleSource;
use jsonl::{JsonlWriter, create_new, remove_if_exists};

/// What `collect` is asked to do.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// `$top` of the paged collections (Graph's maximum for users, contacts and groups is 999).
    pub top: u32,
    /// Collections not to read: recorded as `skipped` (so the rules needing them are not
    /// evaluated, with that reason).
    pub skip: BTreeSet<Collection>,
    /// Told the objects of every page received (for progress bars; it must not block).
    pub progress: Option<Progress>,
    /// Read only the users, contacts and groups with provisioning errors (a quick scheduled
    /// check); the snapshot then marks them `"scope": "provisioning-errors"`.
    pub errors_only: bool,
    /// Users, contacts and groups are partitioned when their `/$count` says more than this; a
    /// smaller collection is one sequential pass. Two full pages by default: a third page is
    /// what the sample (one page's time) and partitions of a page or two each start to win back.
    pub partition_threshold: u64,
    /// Requests in flight for the users, contacts and groups together, and the
    /// onPremisesSyncBehavior batches read beside them (a partition holds its place from its
    /// first page to its last, a batch for its request). What binds is the client's pace
    /// (`--requests-per-second`, 50 by default): Graph documents no limit of concurrent
    /// requests for the identity and access resources (it documents one for some other
    /// services, e.g. Bookings' four per mailbox), only resource units per application and
    /// tenant: 3,500, 5,000 or 8,000 per 10 s by tenant size, where a `$select`ed page of users
    /// costs 1 (base 2, minus 1 for `$select`) and of contacts or groups 1
    /// (<https://learn.microsoft.com/graph/throttling-limits>, "Identity and access service
    /// limits"). At 50 requests/s that is 500 units per 10 s: 6 % of a large tenant's budget,
    /// 14 % of the smallest's. 64 in flight at Graph's 1-2 s per 999-object page is what keeps
    /// 50 requests/s busy, and no more.
    pub partition_concurrency: usize,
    /// The most objects one partition is planned to hold: a larger prefix is split by its next
    /// character (again and again, up to sixteen characters). Paged alone, a partition is a chain of pages one
    /// after another (at Graph's 1.3 s a page of 999, 12,000 objects take 16 s), so this bounds
    /// the long pole; a smaller collection gets smaller partitions (about 64 of them, but never
    /// under one full page), so a 20,000-user tenant is paged in chains of one or two pages.
    pub partition_split_above: u64,
    /// Partitions planned below this are paged together, up to this many objects and
    /// 15 clauses in one `startswith(...) or ...` filter: a small partition costs a request
    /// chain of its own (and, where Graph scans rather than seeks, several nearly empty pages).
    /// 0: every partition alone (those the sample did not see still go together).
    pub partition_pack_to: u64,
    /// The most users and groups whose onPremisesSyncBehavior is read (one batch item each,
    /// the formerly synced first). The candidates beyond it are recorded as not read. 1,000 is
    /// 50 batches, about 2,000 resource units: a quarter of the 8,000 a large tenant's app may
    /// spend in 10 s (<https://learn.microsoft.com/graph/throttling-limits>), where reading
    /// every synced object of a 500,000-user tenant would cost minutes of that budget.
    pub sync_behavior_cap: usize,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            top: 999,
            skip: BTreeSet::new(),
            progress: None,
            errors_only: false,
            partition_threshold: 2 * 999,
            partition_concurrency: 64,
            partition_split_above: 12_000,
            partition_pack_to: 10_000,
            sync_behavior_cap: 1_000,
        }
    }
}

/// A callback told, page by page, how many objects of a collection arrived.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(Collection, usize) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// One collection's outcome.
#[derive(Debug, Clone)]
pub struct CollectionOutcome {
    pub status: CollectionStatus,
    /// Objects written (complete), or received before the failure.
    pub objects: usize,
    /// Why it is not complete.
    pub error: Option<String>,
    /// Graph's `error.code` of the refusal, when there was one.
    pub code: Option<String>,
    pub stats: CallStats,
    /// How the collection was read, when there was a choice: `partitioned(44)`,
    /// `sequential (why)`, or the errors-only filter or scan.
    pub strategy: Option<String>,
    /// `provisioning-errors` when only objects with provisioning errors were collected.
    pub scope: Option<&'static str>,
    pub timings: Timings,
}

/// Where one collection's time went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// From the start of `collect` to the collection's file in place.
    pub elapsed: Duration,
    /// Of it, until the partitions were planned (the count and the sample), when partitioned.
    pub plan: Option<Duration>,
    /// Requests sent before the collections this one is read from had ended: the
    /// onPremisesSyncBehavior batches sent while users and groups were still paged.
    pub early_requests: u64,
}

/// What `collect` did.
#[derive(Debug, Clone)]
pub struct CollectReport {
    pub dir: PathBuf,
    pub tenant_id: Option<String>,
    pub collected_at: DateTime<Utc>,
    pub collections: BTreeMap<Collection, CollectionOutcome>,
}

impl CollectReport {
    /// Collections that are not complete (failed, forbidden or skipped).
    pub fn incomplete(&self) -> Vec<Collection> {
        self.collections
            .iter()
            .filter(|(_, o)| o.status != CollectionStatus::Complete)
            .map(|(c, _)| *c)
            .collect()
    }

    /// Collections that failed (not forbidden, not skipped): what makes a run partial.
    pub fn failed(&self) -> Vec<Collection> {
        self.collections
            .iter()
            .filter(|(_, o)| o.status == CollectionStatus::Failed)
            .map(|(c, _)| *c)
            .collect()
    }

    /// All collections' requests, retries and 429s together.
    pub fn total_stats(&self) -> CallStats {
        self.collections
            .values()
            .fold(CallStats::default(), |mut acc, o| {
                acc.add(o.stats);
                acc
            })
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }
}

/// Collects every collection from Graph into `out` (created when needed) and writes
/// `manifest.json`. Errors only when the directory or the manifest cannot be written; a
/// collection Graph failed or refused is recorded in the report and the manifest.
pub async fn collect(
    client: &GraphClient,
    out: &Path,
    options: &CollectOptions,
) -> anyhow::Result<CollectReport> {
    let marker = start_collecting(out).await?;
    let collected_at = Utc::now();
    let top = options.top.clamp(1, 999);
    // The candidates of onPremisesSyncBehavior, reported by users and groups as their pages
    // arrive and read beside them.
    let candidates = (!options.errors_only && !options.skip.contains(&Collection::SyncBehavior))
        .then(|| Candidates::new(options.sync_behavior_cap));
    let candidates = candidates.as_ref();
    let run = |collection: Collection| Task {
        client,
        out,
        collection,
        skip: options.skip.contains(&collection),
        progress: options.progress.as_ref(),
        candidates: candidates.filter(|_| Candidates::follows(collection)),
    };

    // Requests in flight for the users, contacts and groups together, and the behaviour batches.
    let in_flight = Semaphore::new(options.partition_concurrency.max(1));
    let started = Instant::now();
    let directory = |collection: Collection| {
        let task = run(collection);
        let in_flight = &in_flight;
        // Boxed: three such state machines inline would make `collect`'s future needlessly
        // large for every caller's stack.
        Box::pin(timed(started, async move {
            if options.errors_only {
                let spec = collection.spec();
                task.errors_only(spec.path.trim_start_matches('/'), spec.select, top)
                    .await
            } else {
                task.directory(top, options, in_flight).await
            }
        }))
    };
    let small =
        |collection: Collection| timed(started, async move { run(collection).small().await.0 });
    let holders = |collection, source| timed(started, run(collection).role_holders(source));
    // Beside users and groups: which objects it is read for comes from them. Boxed, as the
    // directory collections are.
    let behaviour = Box::pin(timed(
        started,
        run(Collection::SyncBehavior).sync_behavior(candidates, options, &in_flight),
    ));

    // Boxed: the collections' state machines together would make `collect`'s future large for
    // every caller's stack.
    let (users, contacts, groups, organization, domains, jobs, roles, dir_sync, rest) =
        Box::pin(async {
            futures::join!(
                directory(Collection::Users),
                directory(Collection::Contacts),
                directory(Collection::Groups),
                async {
                    let (mut outcome, tenant_id) =
                        run(Collection::Organization).organization().await;
                    outcome.timings.elapsed = started.elapsed();
                    (outcome, tenant_id)
                },
                small(Collection::Domains),
                timed(started, run(Collection::SynchronizationJobs).sync_jobs()),
                small(Collection::DirectoryRoles),
                small(Collection::OnPremisesSynchronization),
                futures::future::join3(
                    holders(Collection::RoleAssignments, RoleSource::Active),
                    holders(Collection::RoleEligibilities, RoleSource::Eligible),
                    behaviour,
                ),
            )
        })
        .await;
    let (organization, tenant_id) = organization;
    let (active, eligible, behaviour) = rest;
    let collections: BTreeMap<Collection, CollectionOutcome> = [
        (Collection::Users, users),
        (Collection::Contacts, contacts),
        (Collection::Groups, groups),
        (Collection::Organization, organization),
        (Collection::Domains, domains),
        (Collection::SynchronizationJobs, jobs),
        (Collection::DirectoryRoles, roles),
        (Collection::OnPremisesSynchronization, dir_sync),
        (Collection::RoleAssignments, active),
        (Collection::RoleEligibilities, eligible),
        (Collection::SyncBehavior, behaviour),
    ]
    .into_iter()
    .collect();
    let report = CollectReport {
        dir: out.to_owned(),
        tenant_id,
        collected_at,
        collections,
    };
    let collected = started.elapsed();
    manifest::write(&report).await?;
    remove_if_exists(&marker).await?;
    log_timings(
        &report,
        collected,
        started.elapsed().saturating_sub(collected),
    );
    Ok(report)
}

/// Creates `out` and marks it as being written; returns the marker to remove at the end. A
/// manifest of an earlier run must not vouch for the files this run replaces, and until this
/// run's manifest is in place the folder says it is being written: a killed run leaves a folder
/// `check --cloud` refuses instead of a silent mix of two runs' collections.
async fn start_collecting(out: &Path) -> anyhow::Result<PathBuf> {
    tokio::fs::create_dir_all(out)
        .await
        .with_context(|| format!("creating {}", out.display()))?;
    remove_if_exists(&out.join("manifest.json")).await?;
    let marker = out.join(crate::inputs::snapshot::COLLECTING_MARKER);
    remove_if_exists(&marker).await?;
    create_new(&marker)
        .await?
        .write_all(format!("pid {}\n", std::process::id()).as_bytes())
        .await
        .with_context(|| format!("writing {}", marker.display()))?;
    Ok(marker)
}

/// Where the time went, per collection, and how each ended, at info (`ENTRA_AUDIT_LOG=info`).
fn log_timings(report: &CollectReport, collected: Duration, manifest: Duration) {
    tracing::info!(
        collect_ms = collected.as_millis(),
        manifest_ms = manifest.as_millis(),
        "collection finished"
    );
    for (collection, outcome) in &report.collections {
        if outcome.status == CollectionStatus::Complete {
            tracing::info!(
                %collection,
                objects = outcome.objects,
                requests = outcome.stats.requests,
                strategy = outcome.strategy.as_deref().unwrap_or("sequential"),
                scope = outcome.scope.unwrap_or("all"),
                elapsed_ms = outcome.timings.elapsed.as_millis(),
                plan_ms = outcome.timings.plan.map(|d| d.as_millis()),
                "collected"
            );
        } else if outcome.status == CollectionStatus::Forbidden && collection.delegated_only() {
            // Expected for every application token: not a warning (the summary says it once).
            tracing::info!(
                %collection,
                status = outcome.status.as_str(),
                error = outcome.error.as_deref().unwrap_or(""),
                "not read: {}",
                Collection::DELEGATED_ONLY_NOTE
            );
        } else {
            tracing::warn!(
                %collection,
                status = outcome.status.as_str(),
                error = outcome.error.as_deref().unwrap_or(""),
                "collection incomplete"
            );
        }
    }
}

/// `outcome` with the time from `started` to its end.
async fn timed(
    started: Instant,
    outcome: impl std::future::Future<Output = CollectionOutcome>,
) -> CollectionOutcome {
    let mut outcome = outcome.await;
    outcome.timings.elapsed = started.elapsed();
    outcome
}

/// Why a collection did not complete.
enum Failure {
    Graph(GraphError),
    Io(anyhow::Error),
}

impl From<GraphError> for Failure {
    fn from(e: GraphError) -> Self {
        Failure::Graph(e)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Io(e)
    }
}

/// One collection's run: where it goes and whether it is skipped.
struct Task<'a> {
    client: &'a GraphClient,
    out: &'a Path,
    collection: Collection,
    skip: bool,
    progress: Option<&'a Progress>,
    /// Where users and groups report their counts and pages for onPremisesSyncBehavior.
    candidates: Option<&'a Candidates>,
}

impl Task<'_> {
    fn final_path(&self, ext: &str) -> PathBuf {
        self.out
            .join(format!("{}.{ext}", self.collection.file_stem()))
    }

    fn temp_path(&self, ext: &str) -> PathBuf {
        self.out
            .join(format!(".{}.{ext}.partial", self.collection.file_stem()))
    }

    /// Turns a result into the outcome, putting the file in place (complete) or removing every
    /// file of the collection (anything else: the reader then says why from the manifest).
    async fn finish(
        &self,
        ext: &str,
        result: Result<usize, Failure>,
        objects_so_far: usize,
        stats: CallStats,
    ) -> CollectionOutcome {
        let temp = self.temp_path(ext);
        let result = match result {
            Ok(objects) => self.put_in_place(ext, &temp).await.map(|()| objects),
            Err(e) => Err(e),
        };
        match result {
            Ok(objects) => CollectionOutcome {
                status: CollectionStatus::Complete,
                objects,
                error: None,
                code: None,
                stats,
                strategy: None,
                scope: None,
                timings: Timings::default(),
            },
            Err(failure) => {
                let _ = tokio::fs::remove_file(&temp).await;
                let mut outcome = match failure {
                    Failure::Graph(e) => CollectionOutcome {
                        status: if e.is_forbidden() {
                            CollectionStatus::Forbidden
                        } else {
                            CollectionStatus::Failed
                        },
                        objects: objects_so_far,
                        code: e.code().map(str::to_owned),
                        error: Some(e.to_string()),
                        stats,
                        strategy: None,
                        scope: None,
                        timings: Timings::default(),
                    },
                    Failure::Io(e) => CollectionOutcome {
                        status: CollectionStatus::Failed,
                        objects: objects_so_far,
                        error: Some(format!("{e:#}")),
                        code: None,
                        stats,
                        strategy: None,
                        scope: None,
                        timings: Timings::default(),
                    },
                };
                if let Err(e) = self.remove_finals().await {
                    outcome.error = Some(format!("{}; {e:#}", outcome.error.unwrap_or_default()));
                }
                outcome
            }
        }
    }

    async fn put_in_place(&self, ext: &str, temp: &Path) -> Result<(), Failure> {
        let other = if ext == "json" { "jsonl" } else { "json" };
        // The reader prefers `.json`: a stale one from an earlier run would shadow this file.
        remove_if_exists(&self.final_path(other)).await?;
        let target = self.final_path(ext);
        tokio::fs::rename(temp, &target)
            .await
            .with_context(|| format!("renaming {} to {}", temp.display(), target.display()))?;
        Ok(())
    }

    async fn remove_finals(&self) -> anyhow::Result<()> {
        for ext in ["json", "jsonl"] {
            remove_if_exists(&self.final_path(ext)).await?;
        }
        Ok(())
    }

    async fn skipped(&self) -> CollectionOutcome {
        let error = match self.remove_finals().await {
            Ok(()) => "skipped by request".to_owned(),
            Err(e) => format!("skipped by request; {e:#}"),
        };
        CollectionOutcome {
            status: CollectionStatus::Skipped,
            objects: 0,
            error: Some(error),
            code: None,
            stats: CallStats::default(),
            strategy: None,
            scope: None,
            timings: Timings::default(),
        }
    }

    /// Streams into `NAME.jsonl` with `fill` (which may start the file over), then puts it in
    /// place. `fill` returns the strategy to record.
    async fn streamed(
        &self,
        stats: &mut CallStats,
        fill: impl AsyncFnOnce(
            &Self,
            &mut JsonlWriter,
            &mut CallStats,
        ) -> Result<Option<String>, Failure>,
    ) -> CollectionOutcome {
        let temp = self.temp_path("jsonl");
        let mut w = match JsonlWriter::create(&temp).await {
            Ok(w) => w,
            Err(e) => return self.finish("jsonl", Err(e.into()), 0, *stats).await,
        };
        let result = fill(self, &mut w, stats).await;
        let written = w.written;
        let (result, strategy) = match result {
            Ok(strategy) => (w.close().await.map_err(Failure::Io), strategy),
            Err(e) => (Err(e), None),
        };
        let mut outcome = self.finish("jsonl", result, written, *stats).await;
        outcome.strategy = strategy;
        outcome
    }

    /// Tells the progress callback about a page.
    fn progress(&self, objects: usize) {
        if let Some(progress) = self.progress {
            (progress.0)(self.collection, objects);
        }
    }

    /// Writes a page's objects to the collection's file and tells the candidates what it wrote
    /// (they follow the file: see [`candidates`]).
    async fn write_page(&self, w: &mut JsonlWriter, page: &[&RawValue]) -> anyhow::Result<()> {
        for raw in page {
            w.write(raw).await?;
        }
        if let Some(c) = self.candidates {
            c.page(self.collection, page.iter().copied());
        }
        Ok(())
    }

    /// Pages `url` into `w`, keeping the objects `keep` accepts.
    async fn page_into(
        &self,
        url: &str,
        w: &mut JsonlWriter,
        keep: &(dyn Fn(&RawValue) -> bool + Sync),
        stats: &mut CallStats,
    ) -> Result<(), Failure> {
        let mut pager = self.client.get_pages(url);
        let mut result = Ok(());
        while let Some(page) = pager.next().await {
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    result = Err(Failure::Graph(e));
                    break;
                }
            };
            self.progress(page.value.len());
            let kept: Vec<&RawValue> = page
                .value
                .iter()
                .map(AsRef::as_ref)
                .filter(|r| keep(r))
                .collect();
            if let Err(e) = self.write_page(w, &kept).await {
                result = Err(Failure::Io(e));
                break;
            }
        }
        stats.add(pager.stats());
        result
    }
}

/// Whether Graph refused the query itself (400, or 501 for a query feature it does not
/// implement) rather than failing to answer it: the fallbacks apply only then.
fn is_query_refusal(e: &GraphError) -> bool {
    matches!(e.status(), Some(400 | 501))
}

/// A refusal's status and code, short enough for a manifest line (the full error is logged).
fn refusal_summary(e: &GraphError) -> String {
    match (e.status(), e.code()) {
        (Some(status), Some(code)) => format!("HTTP {status} {code}"),
        (Some(status), None) => format!("HTTP {status}"),
        _ => e.to_string(),
    }
}

/// Percent-encodes a query value (an `OData` `$filter`): everything but RFC 3986 unreserved
/// characters and the `OData` punctuation that is safe in a query; `#` and `^` must not appear
/// raw in a URL, and a space is `%20`.
fn encode_query_value(value: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(value.len() + 16);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~'()/:,$@!*".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests;
