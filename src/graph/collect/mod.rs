//! Live collection from Microsoft Graph into a cloud snapshot directory (the `--cloud DIR` layout
//! that [`crate::inputs::snapshot`] reads). This module owns which collections an audit needs, the Graph
//! URL of each (with `$select` of exactly the properties [`crate::inputs::snapshot`] reads, since Graph
//! leaves the sync properties out by default, and `$top=999`), the Cloud Sync service principal
//! discovery (union of the app id, application template and service principal name filters,
//! <https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph>),
//! and `manifest.json` (status, objects, requests, retries and 429s per
//! collection). Collections run in parallel on one shared [`GraphClient`]; users, contacts and
//! groups stream page by page to `NAME.jsonl` so memory does not grow with the tenant (only the
//! small collections are held, one at a time). Every file is written under a temporary name and
//! renamed once its collection is complete, so a failed collection never leaves a file that looks
//! complete; a failed or forbidden collection is recorded as such and never aborts the others.
//! It must not interpret the objects (that is the tables' and rules' job).
//!
//! Large tenants: users, contacts and groups are split into disjoint partitions by the first
//! character of the UPN or the display name (a partition too large to page alone by its first
//! two characters), paged several at a time and streamed into the same file; the partitions'
//! `@odata.count`s must add up to `/{users,contacts,groups}/$count` and each must page exactly
//! its count, else the partitions are discarded and the collection is read in one sequential
//! pass (the manifest's `strategy` says which, and why). `--errors-only` reads only
//! the users, contacts and groups that carry provisioning errors (server-side filter, or a scan
//! of the synced objects where Graph refuses it) and marks them `"scope": "provisioning-errors"`
//! so that no rule takes them for the whole directory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt as _;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use tokio::io::AsyncWriteExt;

use crate::graph::{CallStats, GraphClient, GraphError, Page, Pager};
use crate::inputs::snapshot::{Collection, PROVISIONING_ERRORS_SCOPE};

/// The `manifest.json` schema this module writes.
pub const MANIFEST_SCHEMA_VERSION: u32 = 1;

const USER_SELECT: &str = "id,displayName,userPrincipalName,mail,mailNickname,proxyAddresses,\
onPremisesImmutableId,onPremisesSyncEnabled,onPremisesLastSyncDateTime,\
onPremisesDistinguishedName,onPremisesSamAccountName,onPremisesDomainName,\
onPremisesSecurityIdentifier,onPremisesUserPrincipalName,onPremisesProvisioningErrors,\
createdDateTime,accountEnabled,userType";
/// orgContact has no UPN, immutable id, on-prem names or `createdDateTime` in v1.0
/// (<https://learn.microsoft.com/graph/api/resources/orgcontact>).
const CONTACT_SELECT: &str = "id,displayName,mail,mailNickname,proxyAddresses,\
onPremisesSyncEnabled,onPremisesLastSyncDateTime,onPremisesProvisioningErrors";
/// group has no `onPremisesDistinguishedName` in v1.0
/// (<https://learn.microsoft.com/graph/api/resources/group>).
const GROUP_SELECT: &str = "id,displayName,mail,mailNickname,proxyAddresses,\
onPremisesSyncEnabled,onPremisesLastSyncDateTime,onPremisesSamAccountName,onPremisesDomainName,\
onPremisesSecurityIdentifier,onPremisesProvisioningErrors,createdDateTime,mailEnabled,\
securityEnabled";
/// Beta: `onPremisesLastPasswordSyncDateTime` is not in v1.0
/// (<https://learn.microsoft.com/graph/api/resources/organization?view=graph-rest-beta>).
const ORGANIZATION_SELECT: &str = "id,displayName,onPremisesSyncEnabled,\
onPremisesLastSyncDateTime,onPremisesLastPasswordSyncDateTime,verifiedDomains";
/// The v1.0 fallback: onPremisesLastPasswordSyncDateTime exists only in the global cloud's beta
/// schema (absent from the national clouds' beta metadata), and Graph answers a `$select` of an
/// unknown property with 400, so the organization is read without it there.
const ORGANIZATION_SELECT_V1: &str =
    "id,displayName,onPremisesSyncEnabled,onPremisesLastSyncDateTime,verifiedDomains";
const DOMAIN_SELECT: &str = "id,isVerified,isDefault,isInitial,authenticationType";

/// The characters a UPN may start with, one partition each. The user resource documents the
/// UPN's characters: "Only the following characters are allowed A - Z, a - z, 0 - 9,
/// ' . - _ ! # ^ ~" (<https://learn.microsoft.com/graph/api/resources/user>, userPrincipalName).
/// Graph's `startswith` is case-insensitive, so 'a' covers 'A' (and partitions stay disjoint);
/// a UPN outside this set would make the partitions' counts fall short of `/users/$count`,
/// which sends the collection to one sequential pass.
pub const UPN_FIRST_CHARACTERS: &str = "abcdefghijklmnopqrstuvwxyz0123456789'.-_!#^~";

/// What extends a UPN prefix when its partition is split: any UPN character, or the `@` that
/// ends the local part (`j@contoso.com` starts with `j@`).
const UPN_NEXT_CHARACTERS: &str = "abcdefghijklmnopqrstuvwxyz0123456789'.-_!#^~@";

/// The characters a contact's or group's `displayName` is partitioned by. A display name may
/// start with any character (`Łukasz`, `(Archive)`, `山田`), so these letters and digits cover
/// the usual names and one more partition, `not(startswith(displayName,'a') or ...)`, reads the
/// rest; a tenant where Graph refuses that query and names start elsewhere falls back to one
/// sequential pass (the counts do not add up).
pub const DISPLAY_NAME_FIRST_CHARACTERS: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

/// What usually follows a display name's first character: letters, digits, a space and the
/// punctuation of names like `A. Smith`, `O'Brien`, `R&D`, `IT-Ops`. A name going on with
/// anything else keeps its first character's partition whole (see [`PartitionPlan::split`]).
const DISPLAY_NAME_NEXT_CHARACTERS: &str = "abcdefghijklmnopqrstuvwxyz0123456789 .-_'&,()";

/// How a large directory collection is split into disjoint `startswith` partitions.
///
/// `startswith` on these properties works without advanced query parameters, and `$count` (the
/// `/$count` segment and `$count=true`) with `ConsistencyLevel: eventual`, on all three
/// resources (the "User", "Group" and "Organizational contact properties" tables of
/// <https://learn.microsoft.com/graph/aad-advanced-queries>; `/contacts/$count`
/// and `startswith(displayName,'A')` with `$count=true` are examples 2 and 3 of
/// <https://learn.microsoft.com/graph/api/orgcontact-list>, `/groups/$count` and
/// `startswith(displayName, 'a')` examples 3 and 4 of
/// <https://learn.microsoft.com/graph/api/group-list>).
#[derive(Debug, Clone, Copy)]
struct PartitionPlan {
    /// The entity set: `users`, `contacts`, `groups`.
    entity: &'static str,
    property: &'static str,
    select: &'static str,
    /// One partition per character.
    alphabet: &'static str,
    /// What extends a prefix whose partition is too large to page alone (the long pole of the
    /// collection); `None`: never split. The children replace their parent only when their
    /// counts add up to its count (no object starts with the prefix and then something outside
    /// this set), else the parent is paged whole.
    split: Option<&'static str>,
    /// Whether objects whose property starts outside the alphabet are read through one more
    /// partition, `not(startswith(p,'a') or ...)`. Documented with advanced query parameters:
    /// "Use of `$filter` with `not` and `startsWith` operators", `~/users?$filter=NOT
    /// startsWith(displayName, 'Conf')&$count=true`, and `startsWith(...) OR startsWith(...)`
    /// (<https://learn.microsoft.com/graph/aad-advanced-queries>, "Query scenarios that require
    /// advanced query capabilities"); such a filter is limited by the URL's 2,048 characters
    /// (<https://developer.microsoft.com/graph/known-issues/?search=13635>), which 36 clauses
    /// stay under.
    remainder: bool,
}

const USER_PARTITIONS: PartitionPlan = PartitionPlan {
    entity: "users",
    property: "userPrincipalName",
    select: USER_SELECT,
    alphabet: UPN_FIRST_CHARACTERS,
    split: Some(UPN_NEXT_CHARACTERS),
    remainder: false,
};

const CONTACT_PARTITIONS: PartitionPlan = PartitionPlan {
    entity: "contacts",
    property: "displayName",
    select: CONTACT_SELECT,
    alphabet: DISPLAY_NAME_FIRST_CHARACTERS,
    split: Some(DISPLAY_NAME_NEXT_CHARACTERS),
    remainder: true,
};

const GROUP_PARTITIONS: PartitionPlan = PartitionPlan {
    entity: "groups",
    property: "displayName",
    select: GROUP_SELECT,
    alphabet: DISPLAY_NAME_FIRST_CHARACTERS,
    split: Some(DISPLAY_NAME_NEXT_CHARACTERS),
    remainder: true,
};

/// The server-side provisioning-error filter
/// (<https://learn.microsoft.com/graph/aad-advanced-queries>: `eq` inside `any` on `category` is
/// supported without advanced query parameters; `PropertyConflict` is the only
/// documented category).
const PROVISIONING_ERROR_FILTER: &str =
    "onPremisesProvisioningErrors/any(o:o/category eq 'PropertyConflict')";
/// The fallback scan when Graph refuses that filter (older revisions of the filter table listed it
/// as unsupported; our choice, not a documented procedure): every synced object,
/// keeping those with a non-empty `onPremisesProvisioningErrors`.
const SYNCED_FILTER: &str = "onPremisesSyncEnabled eq true";

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
    /// smaller collection is one sequential pass (the partitions' extra requests would cost more
    /// than they save).
    pub partition_threshold: u64,
    /// Partition pages in flight per collection. Each is one request; Graph's budget for a large
    /// tenant is 8,000 resource units per 10 s and a `$select`ed page of users, contacts or
    /// groups costs 1 (<https://learn.microsoft.com/graph/throttling-limits>), so 16 pages in
    /// flight for each of the three (about
    /// 12 requests/s each at Graph's 1-2 s a page) stay far below it; all go through the
    /// client's shared rate limiter and `Retry-After` gate anyway.
    pub partition_concurrency: usize,
    /// A partition counted above this many objects is split by its prefix's next character
    /// (where [`PartitionPlan::split`] allows): paged alone it would be the long pole, one page
    /// after another, long after the others finished (at Graph's 1.3 s a page of 999, 30,000
    /// users take 39 s, about what 500,000 take in 16 partitions at once). Lower, and the
    /// extra counting requests (one per next character) cost more than the split saves.
    pub partition_split_above: u64,
    /// Partitions smaller than this are paged together, up to this many objects and
    /// [`MAX_PREFIXES_PER_PARTITION`] prefixes in one `startswith(...) or startswith(...)`
    /// filter: a small partition costs a request chain of its own (and, where Graph scans
    /// rather than seeks, several nearly empty pages), so 200 of them would be paid for in
    /// latency, not in objects. 0: every partition alone.
    pub partition_pack_to: u64,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            top: 999,
            skip: BTreeSet::new(),
            progress: None,
            errors_only: false,
            partition_threshold: 20_000,
            partition_concurrency: 16,
            partition_split_above: 30_000,
            partition_pack_to: 10_000,
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

/// How one collection ended, as `manifest.json` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionStatus {
    Complete,
    Failed,
    /// Graph answered 403: the token lacks the permission (or the resource refuses app-only).
    Forbidden,
    Skipped,
}

impl CollectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionStatus::Complete => "complete",
            CollectionStatus::Failed => "failed",
            CollectionStatus::Forbidden => "forbidden",
            CollectionStatus::Skipped => "skipped",
        }
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
    tokio::fs::create_dir_all(out)
        .await
        .with_context(|| format!("creating {}", out.display()))?;
    // A manifest of an earlier run must not vouch for the files this run replaces, and until
    // this run's manifest is in place the folder says it is being written: a killed run leaves
    // a folder `check --cloud` refuses instead of a silent mix of two runs' collections.
    remove_if_exists(&out.join("manifest.json")).await?;
    let marker = out.join(crate::inputs::snapshot::COLLECTING_MARKER);
    remove_if_exists(&marker).await?;
    create_new(&marker)
        .await?
        .write_all(format!("pid {}\n", std::process::id()).as_bytes())
        .await
        .with_context(|| format!("writing {}", marker.display()))?;
    let collected_at = Utc::now();
    let top = options.top.clamp(1, 999);
    let run = |collection: Collection| Task {
        client,
        out,
        collection,
        skip: options.skip.contains(&collection),
        progress: options.progress.as_ref(),
    };

    let directory = |collection: Collection, plan: PartitionPlan| {
        let task = run(collection);
        // Boxed: three such state machines inline would make `collect`'s future needlessly
        // large for every caller's stack.
        Box::pin(async move {
            if options.errors_only {
                task.errors_only(plan.entity, plan.select, top).await
            } else {
                task.directory(plan, top, options).await
            }
        })
    };

    let (users, contacts, groups, organization, domains, jobs, roles, dir_sync, (active, eligible)) = futures::join!(
        directory(Collection::Users, USER_PARTITIONS),
        directory(Collection::Contacts, CONTACT_PARTITIONS),
        directory(Collection::Groups, GROUP_PARTITIONS),
        run(Collection::Organization).organization(),
        run(Collection::Domains).small(format!("/v1.0/domains?$select={DOMAIN_SELECT}")),
        run(Collection::SynchronizationJobs).sync_jobs(),
        run(Collection::DirectoryRoles).small("/v1.0/directoryRoles?$expand=members".to_owned()),
        run(Collection::OnPremisesSynchronization)
            .small("/v1.0/directory/onPremisesSynchronization".to_owned()),
        async {
            futures::join!(
                run(Collection::RoleAssignments).role_holders(RoleSource::Active),
                run(Collection::RoleEligibilities).role_holders(RoleSource::Eligible),
            )
        },
    );
    let (organization, tenant_id) = organization;
    let collections: BTreeMap<Collection, CollectionOutcome> = [
        (Collection::Users, users),
        (Collection::Contacts, contacts),
        (Collection::Groups, groups),
        (Collection::Organization, organization),
        (Collection::Domains, domains.0),
        (Collection::SynchronizationJobs, jobs),
        (Collection::DirectoryRoles, roles.0),
        (Collection::OnPremisesSynchronization, dir_sync.0),
        (Collection::RoleAssignments, active),
        (Collection::RoleEligibilities, eligible),
    ]
    .into_iter()
    .collect();
    let report = CollectReport {
        dir: out.to_owned(),
        tenant_id,
        collected_at,
        collections,
    };
    write_manifest(&report).await?;
    remove_if_exists(&marker).await?;
    for (collection, outcome) in &report.collections {
        if outcome.status == CollectionStatus::Complete {
            tracing::info!(
                %collection,
                objects = outcome.objects,
                strategy = outcome.strategy.as_deref().unwrap_or("sequential"),
                scope = outcome.scope.unwrap_or("all"),
                "collected"
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
    Ok(report)
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
                    },
                    Failure::Io(e) => CollectionOutcome {
                        status: CollectionStatus::Failed,
                        objects: objects_so_far,
                        error: Some(format!("{e:#}")),
                        code: None,
                        stats,
                        strategy: None,
                        scope: None,
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
            for raw in page.value.iter().filter(|r| keep(r)) {
                if let Err(e) = w.write(raw).await {
                    result = Err(Failure::Io(e));
                    break;
                }
            }
            if result.is_err() {
                break;
            }
        }
        stats.add(pager.stats());
        result
    }

    /// Users, contacts or groups: partitioned by the first character of `plan.property` when
    /// the collection is large and its `/$count` answers, else (or when the partitions do not
    /// add up, or Graph refuses a partition's query) one sequential pass.
    async fn directory(
        self,
        plan: PartitionPlan,
        top: u32,
        options: &CollectOptions,
    ) -> CollectionOutcome {
        if self.skip {
            return self.skipped().await;
        }
        let entity = plan.entity;
        let sequential_url = format!("/v1.0/{entity}?$select={}&$top={top}", plan.select);
        let mut stats = CallStats::default();
        self.streamed(&mut stats, async |task, w, stats| {
            let reason = match count_all(task.client, entity, stats).await {
                Err(why) => why,
                Ok(total) if total <= options.partition_threshold => format!(
                    "{total} {entity}, partitioned above {}",
                    options.partition_threshold
                ),
                Ok(total) => match task
                    .partitioned(plan, w, top, total, options, stats)
                    .await?
                {
                    Ok(parts) => return Ok(Some(format!("partitioned({parts})"))),
                    Err(why) => {
                        tracing::warn!(
                            collection = %task.collection,
                            reason = %why,
                            "partitions discarded; reading the collection in one sequential pass"
                        );
                        w.restart().await?;
                        why
                    }
                },
            };
            task.page_into(&sequential_url, w, &|_| true, stats).await?;
            Ok(Some(format!("sequential ({reason})")))
        })
        .await
    }

    /// Counts every partition of `plan` (one `$top=1` request each, `partition_concurrency`
    /// at a time), splits those above `partition_split_above` where the plan allows, then pages
    /// the non-empty ones, largest first, into `w`. `Ok(Ok(n))`: the `n` partitions paged are
    /// complete and add up to `total`; `Ok(Err(why))`: they do not (or Graph refused a
    /// partition's query) and must be discarded; `Err`: the collection failed.
    async fn partitioned(
        &self,
        plan: PartitionPlan,
        w: &mut JsonlWriter,
        top: u32,
        total: u64,
        options: &CollectOptions,
        stats: &mut CallStats,
    ) -> Result<Result<usize, String>, Failure> {
        let entity = plan.entity;
        let concurrency = options.partition_concurrency.max(1);
        let mut parts: Vec<Part> = plan
            .alphabet
            .chars()
            .map(|c| Part::Prefix(c.to_string()))
            .collect();
        if plan.remainder {
            parts.push(Part::Remainder);
        }
        let counted = match self.count_parts(plan, &parts, concurrency, stats).await? {
            Ok(counts) => counts,
            Err(why) => return Ok(Err(why)),
        };
        let mut plan_parts: Vec<(Part, u64)> = Vec::with_capacity(parts.len());
        for (part, count) in parts.into_iter().zip(counted) {
            if let Some(n) = count {
                plan_parts.push((part, n));
            } else {
                // Only the remainder may go uncounted (refused): needed only when the letters
                // and digits fall short, which the sum below then says.
                tracing::info!(
                    collection = %self.collection,
                    "the remainder partition was refused; partitions cover the alphabet only"
                );
            }
        }
        let sum: u64 = plan_parts.iter().map(|(_, n)| n).sum();
        if sum != total {
            return Ok(Err(format!(
                "the partitions add up to {sum} {entity} but /{entity}/$count says {total}"
            )));
        }
        if let Some(next) = plan.split {
            plan_parts = match self
                .split_large(plan, plan_parts, next, concurrency, options, stats)
                .await?
            {
                Ok(parts) => parts,
                Err(why) => return Ok(Err(why)),
            };
        }
        // Empty partitions need no paging, small ones are paged together, and the largest
        // start first, so that the long poles are not left for the end.
        plan_parts.retain(|(_, n)| *n > 0);
        let mut plan_parts = pack(plan_parts, options.partition_pack_to);
        plan_parts.sort_by_key(|p| std::cmp::Reverse(p.1));
        tracing::debug!(
            collection = %self.collection,
            partitions = plan_parts.len(),
            largest = plan_parts.first().map_or(0, |p| p.1),
            "partitions counted; paging them"
        );
        self.page_parts(plan, w, top, &plan_parts, concurrency, stats)
            .await
    }

    /// Replaces each partition counted above `partition_split_above` by its children (the
    /// prefix extended by each of `next`), when the children's counts add up to the parent's;
    /// otherwise the parent stays whole (slower, still complete). The children of every large
    /// partition are counted together, `concurrency` at a time.
    async fn split_large(
        &self,
        plan: PartitionPlan,
        parts: Vec<(Part, u64)>,
        next: &str,
        concurrency: usize,
        options: &CollectOptions,
        stats: &mut CallStats,
    ) -> Result<Result<Vec<(Part, u64)>, String>, Failure> {
        let children = |part: &Part| -> Vec<Part> {
            match part {
                Part::Prefix(prefix) => next
                    .chars()
                    .map(|c| Part::Prefix(format!("{prefix}{c}")))
                    .collect(),
                Part::Prefixes(_) | Part::Remainder => Vec::new(),
            }
        };
        let large = |part: &Part, count: u64| {
            count > options.partition_split_above && matches!(part, Part::Prefix(_))
        };
        let all_children: Vec<Part> = parts
            .iter()
            .filter(|(part, count)| large(part, *count))
            .flat_map(|(part, _)| children(part))
            .collect();
        if all_children.is_empty() {
            return Ok(Ok(parts));
        }
        let counts = match self
            .count_parts(plan, &all_children, concurrency, stats)
            .await?
        {
            Ok(counts) => counts,
            Err(why) => return Ok(Err(why)),
        };
        let mut counted = all_children.into_iter().zip(counts);
        let mut out = Vec::with_capacity(parts.len());
        for (part, count) in parts {
            if !large(&part, count) {
                out.push((part, count));
                continue;
            }
            let mine: Vec<(Part, Option<u64>)> =
                counted.by_ref().take(next.chars().count()).collect();
            let sum: u64 = mine.iter().filter_map(|(_, n)| *n).sum();
            if sum == count && mine.iter().all(|(_, n)| n.is_some()) {
                out.extend(mine.into_iter().map(|(p, n)| (p, n.unwrap_or_default())));
            } else {
                tracing::info!(
                    collection = %self.collection,
                    partition = %part,
                    count,
                    children = sum,
                    "the children of a large partition do not add up; paging it whole"
                );
                out.push((part, count));
            }
        }
        Ok(Ok(out))
    }

    /// `@odata.count` of each partition, from a `$top=1` page (`ConsistencyLevel: eventual`,
    /// `$count=true`: examples 3 of orgcontact-list and 4 of group-list). `None` for a refused
    /// remainder; `Ok(Err(why))` when a prefix's query is refused or comes without a count.
    async fn count_parts(
        &self,
        plan: PartitionPlan,
        parts: &[Part],
        concurrency: usize,
        stats: &mut CallStats,
    ) -> Result<Result<Vec<Option<u64>>, String>, Failure> {
        let probes = parts.iter().map(|part| {
            let url = format!(
                "/v1.0/{}?$filter={}&$select=id&$top=1&$count=true",
                plan.entity,
                encode_query_value(&part.filter(plan))
            );
            let (name, value) = eventual();
            let mut pager = self.client.get_pages(&url).header(name, value);
            async move {
                let page = pager.next().await;
                (page, pager.stats())
            }
        });
        let answers: Vec<_> = futures::stream::iter(probes)
            .buffered(concurrency)
            .collect()
            .await;
        let mut counts = Vec::with_capacity(parts.len());
        let mut refusal = None;
        for (part, (page, s)) in parts.iter().zip(answers) {
            stats.add(s);
            match page {
                Some(Ok(page)) => match page.count {
                    Some(n) => counts.push(Some(n)),
                    None => {
                        refusal.get_or_insert_with(|| {
                            format!("partition {part} came without @odata.count")
                        });
                    }
                },
                Some(Err(e)) if is_query_refusal(&e) => {
                    if *part == Part::Remainder {
                        counts.push(None);
                    } else {
                        refusal.get_or_insert_with(|| {
                            format!("partition {part} refused: {}", refusal_summary(&e))
                        });
                    }
                }
                Some(Err(e)) => return Err(Failure::Graph(e)),
                None => {
                    refusal.get_or_insert_with(|| format!("partition {part} returned no page"));
                }
            }
        }
        Ok(match refusal {
            Some(why) => Err(why),
            None => Ok(counts),
        })
    }

    /// Pages `parts` (`concurrency` at a time) into `w` and checks each paged exactly what its
    /// first page's `@odata.count` said, and that those counts match the ones counted before.
    async fn page_parts(
        &self,
        plan: PartitionPlan,
        w: &mut JsonlWriter,
        top: u32,
        parts: &[(Part, u64)],
        concurrency: usize,
        stats: &mut CallStats,
    ) -> Result<Result<usize, String>, Failure> {
        let entity = plan.entity;
        let streams = parts.iter().enumerate().map(|(i, (part, _))| {
            let url = format!(
                "/v1.0/{entity}?$filter={}&$select={}&$top={top}&$count=true",
                encode_query_value(&part.filter(plan)),
                plan.select
            );
            let (name, value) = eventual();
            Box::pin(part_events(
                i,
                self.client.get_pages(&url).header(name, value),
            ))
        });
        // Pages are written as they arrive, so at most one page per partition in flight is
        // held: memory does not grow with the tenant.
        let mut events = futures::stream::iter(streams).flatten_unordered(concurrency);
        let mut counts: Vec<Option<u64>> = vec![None; parts.len()];
        let mut paged = vec![0u64; parts.len()];
        let mut failure = None;
        while let Some(event) = events.next().await {
            match event {
                PartEvent::Page(i, page) => {
                    if page.count.is_some() {
                        counts[i] = page.count;
                    }
                    paged[i] += page.value.len() as u64;
                    self.progress(page.value.len());
                    for raw in &page.value {
                        w.write(raw).await?;
                    }
                }
                PartEvent::Done(s) => stats.add(s),
                PartEvent::Failed(i, e, s) => {
                    stats.add(s);
                    failure = Some((i, e));
                    break;
                }
            }
        }
        tracing::debug!(collection = %self.collection, "partitions paged");
        // The partitions still in flight are dropped here; their requests so far are not
        // counted (the pagers go with them).
        drop(events);
        if let Some((i, e)) = failure {
            if is_query_refusal(&e) {
                return Ok(Err(format!(
                    "partition {} refused: {}",
                    parts[i].0,
                    refusal_summary(&e)
                )));
            }
            return Err(Failure::Graph(e));
        }
        for (i, (part, counted)) in parts.iter().enumerate() {
            let Some(count) = counts[i] else {
                return Ok(Err(format!("partition {part} came without @odata.count")));
            };
            if count != *counted || count != paged[i] {
                return Ok(Err(format!(
                    "partition {part} counted {counted} {entity}, then {count}, but paged {}",
                    paged[i]
                )));
            }
        }
        Ok(Ok(parts.len()))
    }

    /// Users, contacts or groups with provisioning errors only: the server-side filter, or,
    /// when Graph refuses it, a scan of the synced objects keeping those with errors.
    async fn errors_only(self, entity: &str, select: &str, top: u32) -> CollectionOutcome {
        if self.skip {
            return self.skipped().await;
        }
        let url = |filter: &str| {
            format!(
                "/v1.0/{entity}?$filter={}&$select={select}&$top={top}",
                encode_query_value(filter)
            )
        };
        let mut stats = CallStats::default();
        let mut outcome = self
            .streamed(&mut stats, async |task, w, stats| {
                let filtered = task
                    .page_into(&url(PROVISIONING_ERROR_FILTER), w, &|_| true, stats)
                    .await;
                let refusal = match filtered {
                    Ok(()) => return Ok(Some(format!("filter {PROVISIONING_ERROR_FILTER}"))),
                    // Refused up front (nothing written yet): the documented fallback.
                    Err(Failure::Graph(e)) if w.written == 0 && is_query_refusal(&e) => {
                        refusal_summary(&e)
                    }
                    Err(e) => return Err(e),
                };
                tracing::warn!(
                    collection = %task.collection,
                    refusal = %refusal,
                    "the provisioning-error filter was refused; scanning the synced objects"
                );
                w.restart().await?;
                task.page_into(&url(SYNCED_FILTER), w, &has_provisioning_errors, stats)
                    .await?;
                Ok(Some(format!(
                    "scan {SYNCED_FILTER} (the filter {PROVISIONING_ERROR_FILTER} was refused: {refusal})"
                )))
            })
            .await;
        outcome.scope = Some(PROVISIONING_ERRORS_SCOPE);
        outcome
    }

    /// The organization from `/beta` (for onPremisesLastPasswordSyncDateTime); when beta answers
    /// 400 (a national cloud whose beta schema lacks the property), from v1.0 without it: the
    /// organization collection stays complete and password-sync freshness is "not evaluated".
    async fn organization(self) -> (CollectionOutcome, Option<String>) {
        if self.skip {
            return (self.skipped().await, None);
        }
        let mut stats = CallStats::default();
        let beta = format!("/beta/organization?$select={ORGANIZATION_SELECT}");
        let mut result = self.client.get_all(&beta, &mut stats).await;
        if matches!(&result, Err(e) if e.status() == Some(400)) {
            tracing::warn!(
                "beta organization refused the $select (a national cloud without onPremisesLastPasswordSyncDateTime); reading v1.0 without it"
            );
            let v1 = format!("/v1.0/organization?$select={ORGANIZATION_SELECT_V1}");
            result = self.client.get_all(&v1, &mut stats).await;
        }
        self.write_held(result, stats).await
    }

    /// A small collection: all pages held, then written as `{"value":[...]}`. Also returns the
    /// first object's `id` (the tenant id, for the organization).
    async fn small(self, url: String) -> (CollectionOutcome, Option<String>) {
        if self.skip {
            return (self.skipped().await, None);
        }
        let mut stats = CallStats::default();
        let result = self.client.get_all(&url, &mut stats).await;
        self.write_held(result, stats).await
    }

    /// Writes a collection whose pages were all held, and returns its outcome and the first
    /// object's `id`.
    async fn write_held(
        self,
        result: Result<Vec<Box<RawValue>>, GraphError>,
        stats: CallStats,
    ) -> (CollectionOutcome, Option<String>) {
        let first_id = result
            .as_ref()
            .ok()
            .and_then(|objects| objects.first())
            .and_then(|raw| serde_json::from_str::<IdOnly>(raw.get()).ok())
            .map(|o| o.id);
        let count = result.as_ref().map_or(0, Vec::len);
        let result = match result {
            Ok(objects) => self.write_value(&objects).await.map(|()| objects.len()),
            Err(e) => Err(Failure::Graph(e)),
        };
        (self.finish("json", result, count, stats).await, first_id)
    }

    /// Cloud Sync jobs: the union of the three discovery queries (deduplicated by service
    /// principal id), then each one's jobs with `servicePrincipalId` and
    /// `servicePrincipalDisplayName` added (the job resource does not name its parent).
    async fn sync_jobs(self) -> CollectionOutcome {
        if self.skip {
            return self.skipped().await;
        }
        let mut stats = CallStats::default();
        let mut count = 0;
        let result = async {
            // One discovery path for `collect` and `cloud-sync` (`graph::cloud_sync_discovery`).
            let mut jobs = Vec::new();
            for principal in
                crate::graph::cloud_sync_discovery::principals(self.client, &mut stats).await?
            {
                for mut job in crate::graph::cloud_sync_discovery::raw_jobs(
                    self.client,
                    &principal,
                    &mut stats,
                )
                .await?
                {
                    // A provisioning job's scope lives in its schema: the OUs it syncs, added to
                    // the job record as `includedContainers` (the audit's sync model applies
                    // them). A schema that cannot be read is said, never taken as "whole domain".
                    let provisioning = job
                        .get("templateId")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.eq_ignore_ascii_case("AD2AADProvisioning"));
                    let job_id = job.get("id").and_then(Value::as_str).map(str::to_owned);
                    if let (true, Some(job_id)) = (provisioning, job_id) {
                        match crate::graph::cloud_sync_discovery::included_containers(
                            self.client,
                            &principal.id,
                            &job_id,
                            &mut stats,
                        )
                        .await
                        {
                            Ok(containers) => {
                                job.insert("includedContainers".to_owned(), json!(containers));
                            }
                            Err(e) => {
                                job.insert("scopeUnavailable".to_owned(), json!(e.to_string()));
                            }
                        }
                    }
                    jobs.push(
                        serde_json::value::to_raw_value(&job)
                            .context("serialising a synchronization job")?,
                    );
                }
            }
            count = jobs.len();
            self.write_value(&jobs).await?;
            Ok::<usize, Failure>(jobs.len())
        }
        .await;
        self.finish("json", result, count, stats).await
    }

    /// Everyone who holds (or is eligible for) a Microsoft Entra role, completely: the paged
    /// unifiedRoleAssignment (or unifiedRoleEligibilitySchedule) list with each principal's type,
    /// the role names from the role definitions, and the transitive members of role-assignable
    /// groups. `directoryRoles?$expand=members` is not used for this: Graph returns at most 20
    /// expanded members with no next link (<https://learn.microsoft.com/graph/known-issues>).
    async fn role_holders(self, source: RoleSource) -> CollectionOutcome {
        if self.skip {
            return self.skipped().await;
        }
        let mut stats = CallStats::default();
        let mut count = 0;
        let result = async {
            let definitions = self
                .client
                .get_all(
                    "/v1.0/roleManagement/directory/roleDefinitions?$select=id,displayName,templateId",
                    &mut stats,
                )
                .await?;
            let names: BTreeMap<String, RoleDefinition> = definitions
                .iter()
                .filter_map(|raw| serde_json::from_str::<RoleDefinition>(raw.get()).ok())
                .map(|d| (d.id.clone(), d))
                .collect();
            let url = format!(
                "/v1.0/roleManagement/directory/{}?$expand=principal($select=id)",
                source.entity_set()
            );
            let mut holders = Vec::new();
            let mut group_members: BTreeMap<String, Vec<DirectoryObjectRef>> = BTreeMap::new();
            for raw in self.client.get_all(&url, &mut stats).await? {
                let a: Assignment = serde_json::from_str(raw.get())
                    .with_context(|| format!("reading a {}", source.entity_set()))?;
                let principal_type = a.principal.as_ref().and_then(DirectoryObjectRef::kind);
                let definition = names.get(&a.role_definition_id);
                let holder = |member_id: &str, member_type: Option<&str>| crate::inputs::snapshot::RoleHolder {
                    id: a.id.clone(),
                    role_definition_id: a.role_definition_id.clone(),
                    role_display_name: definition.and_then(|d| d.display_name.clone()),
                    role_template_id: definition.and_then(|d| d.template_id.clone()),
                    principal_id: a.principal_id.clone(),
                    principal_type: principal_type.map(str::to_owned),
                    member_id: member_id.to_owned(),
                    member_type: member_type.map(str::to_owned),
                    directory_scope_id: a.directory_scope_id.clone(),
                };
                holders.push(holder(&a.principal_id, principal_type));
                if principal_type == Some("group") {
                    if !group_members.contains_key(&a.principal_id) {
                        let members = self
                            .client
                            .get_all(
                                &format!(
                                    "/v1.0/groups/{}/transitiveMembers?$select=id",
                                    a.principal_id
                                ),
                                &mut stats,
                            )
                            .await?
                            .iter()
                            .filter_map(|raw| serde_json::from_str(raw.get()).ok())
                            .collect();
                        group_members.insert(a.principal_id.clone(), members);
                    }
                    for m in &group_members[&a.principal_id] {
                        holders.push(holder(&m.id, m.kind()));
                    }
                }
            }
            let records = holders
                .iter()
                .map(|h| serde_json::value::to_raw_value(h).context("serialising a role holder"))
                .collect::<anyhow::Result<Vec<_>>>()?;
            count = records.len();
            self.write_value(&records).await?;
            Ok::<usize, Failure>(records.len())
        }
        .await;
        self.finish("json", result, count, stats).await
    }

    async fn write_value(&self, objects: &[Box<RawValue>]) -> Result<(), Failure> {
        let temp = self.temp_path("json");
        let mut text = String::with_capacity(objects.iter().map(|o| o.get().len() + 2).sum());
        text.push_str("{\"value\":[\n");
        for (i, raw) in objects.iter().enumerate() {
            if i > 0 {
                text.push_str(",\n");
            }
            text.push_str(raw.get());
        }
        text.push_str("\n]}\n");
        let mut file = create_new(&temp).await?;
        file.write_all(text.as_bytes())
            .await
            .with_context(|| format!("writing {}", temp.display()))?;
        file.sync_all()
            .await
            .with_context(|| format!("writing {}", temp.display()))?;
        Ok(())
    }
}

#[derive(serde::Deserialize)]
struct IdOnly {
    id: String,
}

/// Which role holders a collection reads.
#[derive(Debug, Clone, Copy)]
enum RoleSource {
    /// Active assignments (RoleManagement.Read.Directory).
    Active,
    /// Eligible PIM assignments (RoleEligibilitySchedule.Read.Directory).
    Eligible,
}

impl RoleSource {
    fn entity_set(self) -> &'static str {
        match self {
            RoleSource::Active => "roleAssignments",
            RoleSource::Eligible => "roleEligibilitySchedules",
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleDefinition {
    id: String,
    display_name: Option<String>,
    template_id: Option<String>,
}

/// A unifiedRoleAssignment or unifiedRoleEligibilitySchedule (the properties read).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Assignment {
    id: String,
    principal_id: String,
    role_definition_id: String,
    directory_scope_id: Option<String>,
    principal: Option<DirectoryObjectRef>,
}

/// A directory object as `$expand` or `$select=id` returns it: an id and its `@odata.type`.
#[derive(serde::Deserialize)]
struct DirectoryObjectRef {
    id: String,
    #[serde(rename = "@odata.type")]
    odata_type: Option<String>,
}

impl DirectoryObjectRef {
    /// `user`, `group`, `servicePrincipal`, ... from `#microsoft.graph.user`.
    fn kind(&self) -> Option<&str> {
        self.odata_type
            .as_deref()
            .map(|t| t.trim_start_matches("#microsoft.graph."))
    }
}

/// `ConsistencyLevel: eventual`: what `$count` needs
/// (<https://learn.microsoft.com/graph/aad-advanced-queries>), re-sent on every page by the pager
/// (headers "are not included by default in subsequent page requests",
/// <https://learn.microsoft.com/graph/paging>).
fn eventual() -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static("consistencylevel"),
        HeaderValue::from_static("eventual"),
    )
}

/// `GET /v1.0/{entity}/$count` (text/plain). `Err` says why the count is not to be had; a
/// refusal (e.g. the documented 400 "$count is not currently supported.") is not a failure of
/// the collection, only the end of partitioning.
async fn count_all(
    client: &GraphClient,
    entity: &str,
    stats: &mut CallStats,
) -> Result<u64, String> {
    let (name, value) = eventual();
    let mut headers = HeaderMap::new();
    headers.insert(name, value);
    let url = client.url(&format!("/v1.0/{entity}/$count"));
    client
        .send(Method::GET, &url, &headers, None, stats, |body, _| {
            parse_count(body)
        })
        .await
        .map_err(|e| format!("/{entity}/$count unavailable: {}", refusal_summary(&e)))
}

/// One partition of a collection: a prefix of the property, or everything outside the
/// plan's alphabet.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Prefix(String),
    /// Several small prefixes paged together.
    Prefixes(Vec<String>),
    Remainder,
}

/// The most `startswith` clauses joined by `or` in one partition's filter. Graph limits the
/// `in` operator to 15 expressions by default (and a filter to a URL of 2,048 characters with
/// advanced query parameters, <https://developer.microsoft.com/graph/known-issues/?search=13635>);
/// an `or` chain is held to the same 15, which keeps the URL short too.
pub const MAX_PREFIXES_PER_PARTITION: usize = 15;

/// Packs the partitions smaller than `target` objects into shared partitions of at most
/// `target` objects and [`MAX_PREFIXES_PER_PARTITION`] prefixes (first fit, largest first);
/// larger ones and the remainder stay alone. Disjoint prefixes make disjoint unions, and each
/// packed partition's count is the sum of its members'.
fn pack(parts: Vec<(Part, u64)>, target: u64) -> Vec<(Part, u64)> {
    let (mut small, mut out): (Vec<_>, Vec<_>) = parts
        .into_iter()
        .partition(|(part, n)| *n < target && matches!(part, Part::Prefix(_)));
    small.sort_by_key(|p| std::cmp::Reverse(p.1));
    let mut bins: Vec<(Vec<String>, u64)> = Vec::new();
    for (part, n) in small {
        let Part::Prefix(prefix) = part else {
            continue;
        };
        match bins
            .iter_mut()
            .find(|(b, total)| total + n <= target && b.len() < MAX_PREFIXES_PER_PARTITION)
        {
            Some((b, total)) => {
                b.push(prefix);
                *total += n;
            }
            None => bins.push((vec![prefix], n)),
        }
    }
    out.extend(bins.into_iter().map(|(mut b, n)| {
        if b.len() == 1 {
            (Part::Prefix(b.remove(0)), n)
        } else {
            (Part::Prefixes(b), n)
        }
    }));
    out
}

impl Part {
    /// The partition's `$filter`.
    fn filter(&self, plan: PartitionPlan) -> String {
        let p = plan.property;
        match self {
            Part::Prefix(prefix) => format!("startswith({p},'{}')", odata_literal(prefix)),
            Part::Prefixes(prefixes) => prefixes
                .iter()
                .map(|prefix| format!("startswith({p},'{}')", odata_literal(prefix)))
                .collect::<Vec<_>>()
                .join(" or "),
            Part::Remainder => {
                let clauses: Vec<String> = plan
                    .alphabet
                    .chars()
                    .map(|c| format!("startswith({p},'{}')", odata_literal(&c.to_string())))
                    .collect();
                format!("not({})", clauses.join(" or "))
            }
        }
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Part::Prefix(prefix) => write!(f, "'{prefix}'"),
            Part::Prefixes(prefixes) => write!(f, "'{}'", prefixes.join("' or '")),
            Part::Remainder => f.write_str("(the rest)"),
        }
    }
}

/// A quote inside an `OData` string literal is doubled.
fn odata_literal(text: &str) -> String {
    text.replace('\'', "''")
}

/// The body of a `/$count` request: a number in plain text. Some `OData` services put a UTF-8
/// byte-order mark before it, and clients are told to expect one
/// (<https://github.com/oasis-tcs/odata-specs/issues/325>).
fn parse_count(body: &[u8]) -> Result<u64, serde_json::Error> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    serde_json::from_slice(body.trim_ascii())
}

/// One partition's progress, as the merged stream reports it.
enum PartEvent {
    Page(usize, Page),
    Done(CallStats),
    Failed(usize, GraphError, CallStats),
}

/// A pager's pages as events of partition `part`, ending with `Done` or `Failed`.
fn part_events(part: usize, pager: Pager) -> impl futures::Stream<Item = PartEvent> {
    futures::stream::unfold(Some(pager), move |state| async move {
        let mut pager = state?;
        match pager.next().await {
            Some(Ok(page)) => Some((PartEvent::Page(part, page), Some(pager))),
            Some(Err(e)) => {
                let stats = pager.stats();
                Some((PartEvent::Failed(part, e, stats), None))
            }
            None => Some((PartEvent::Done(pager.stats()), None)),
        }
    })
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

/// An object whose `onPremisesProvisioningErrors` is a non-empty list.
fn has_provisioning_errors(raw: &RawValue) -> bool {
    #[derive(serde::Deserialize)]
    struct Errors {
        #[serde(rename = "onPremisesProvisioningErrors", default)]
        errors: Option<Vec<serde::de::IgnoredAny>>,
    }
    serde_json::from_str::<Errors>(raw.get())
        .ok()
        .and_then(|e| e.errors)
        .is_some_and(|e| !e.is_empty())
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

/// `NAME.jsonl` being written: one object a line, through a 1 MiB buffer, counted.
struct JsonlWriter {
    path: PathBuf,
    w: tokio::io::BufWriter<tokio::fs::File>,
    written: usize,
}

impl JsonlWriter {
    async fn create(path: &Path) -> anyhow::Result<Self> {
        let file = create_new(path).await?;
        Ok(Self {
            path: path.to_owned(),
            w: tokio::io::BufWriter::with_capacity(1 << 20, file),
            written: 0,
        })
    }

    async fn write(&mut self, raw: &RawValue) -> anyhow::Result<()> {
        write_line(&mut self.w, raw)
            .await
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.written += 1;
        Ok(())
    }

    /// Starts the file over (a discarded partitioned pass, a refused filter).
    async fn restart(&mut self) -> anyhow::Result<()> {
        *self = Self::create(&self.path).await?;
        Ok(())
    }

    async fn close(self) -> anyhow::Result<usize> {
        close(self.w, &self.path).await?;
        Ok(self.written)
    }
}

/// One object on one line: Graph may pretty-print, and whitespace between tokens is the only
/// place a raw line break can be, so such an object is re-serialised compactly.
async fn write_line<W: tokio::io::AsyncWrite + Unpin>(
    w: &mut W,
    raw: &RawValue,
) -> anyhow::Result<()> {
    let text = raw.get();
    if text.contains(['\n', '\r']) {
        let value: Value = serde_json::from_str(text)?;
        w.write_all(serde_json::to_string(&value)?.as_bytes())
            .await?;
    } else {
        w.write_all(text.as_bytes()).await?;
    }
    w.write_all(b"\n").await?;
    Ok(())
}

async fn close(mut w: tokio::io::BufWriter<tokio::fs::File>, path: &Path) -> anyhow::Result<()> {
    w.flush()
        .await
        .with_context(|| format!("writing {}", path.display()))?;
    w.into_inner()
        .sync_all()
        .await
        .with_context(|| format!("writing {}", path.display()))
}

/// Creates a temporary file afresh: whatever is at `path` (a file of a killed run, a planted
/// link) is removed first, and `create_new` refuses to open anything that reappears there, so a
/// write never goes through a link.
async fn create_new(path: &Path) -> anyhow::Result<tokio::fs::File> {
    remove_if_exists(path).await?;
    tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .await
        .with_context(|| format!("creating {}", path.display()))
}

async fn remove_if_exists(path: &Path) -> anyhow::Result<()> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing stale {}", path.display())),
    }
}

/// `manifest.json`, written under a temporary name and renamed.
async fn write_manifest(report: &CollectReport) -> anyhow::Result<()> {
    let collections: Map<String, Value> = report
        .collections
        .iter()
        .map(|(collection, o)| {
            (collection.file_stem().to_owned(), {
                let mut entry = json!({
                    "status": o.status.as_str(),
                    "objects": o.objects,
                    "error": o.error,
                    "code": o.code,
                    "requests": o.stats.requests,
                    "retries": o.stats.retries,
                    "throttled": o.stats.throttled,
                });
                // Only when there was a choice or a narrower scope: absent means one
                // sequential pass over every object.
                if let Some(strategy) = &o.strategy {
                    entry["strategy"] = json!(strategy);
                }
                if let Some(scope) = o.scope {
                    entry["scope"] = json!(scope);
                }
                entry
            })
        })
        .collect();
    let manifest = json!({
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "tenant_id": report.tenant_id,
        "collected_at": report.collected_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "tool": concat!("entra-audit/", env!("CARGO_PKG_VERSION")),
        "collections": collections,
    });
    let path = report.manifest_path();
    let temp = report.dir.join(".manifest.json.partial");
    let mut text = serde_json::to_string_pretty(&manifest)?;
    text.push('\n');
    let mut file = create_new(&temp).await?;
    file.write_all(text.as_bytes())
        .await
        .with_context(|| format!("writing {}", temp.display()))?;
    file.sync_all()
        .await
        .with_context(|| format!("writing {}", temp.display()))?;
    tokio::fs::rename(&temp, &path)
        .await
        .with_context(|| format!("renaming {} to {}", temp.display(), path.display()))
}

#[cfg(test)]
mod tests;
