//! Live collection from Microsoft Graph into a cloud snapshot directory (the `--cloud DIR` layout
//! that [`crate::snapshot`] reads). This module owns which collections an audit needs, the Graph
//! URL of each (with `$select` of exactly the properties [`crate::snapshot`] reads, since Graph
//! leaves the sync properties out by default, and `$top=999`), the Cloud Sync service principal
//! discovery (union of the app id, application template and service principal name filters,
//! graph-api.md §4.5), and `manifest.json` (status, objects, requests, retries and 429s per
//! collection). Collections run in parallel on one shared [`GraphClient`]; users, contacts and
//! groups stream page by page to `NAME.jsonl` so memory does not grow with the tenant (only the
//! small collections are held, one at a time). Every file is written under a temporary name and
//! renamed once its collection is complete, so a failed collection never leaves a file that looks
//! complete; a failed or forbidden collection is recorded as such and never aborts the others.
//! It must not interpret the objects (that is the tables' and rules' job).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use tokio::io::AsyncWriteExt;

use crate::graph::{CallStats, GraphClient, GraphError};
use crate::snapshot::Collection;

/// The `manifest.json` schema this module writes.
pub const MANIFEST_SCHEMA_VERSION: u32 = 1;

/// The Cloud Sync application (and application template) id (graph-api.md §4.5).
pub const CLOUD_SYNC_APP_ID: &str = "1a4721b3-e57f-4451-ae87-ef078703ec94";

const USER_SELECT: &str = "id,displayName,userPrincipalName,mail,mailNickname,proxyAddresses,\
onPremisesImmutableId,onPremisesSyncEnabled,onPremisesLastSyncDateTime,\
onPremisesDistinguishedName,onPremisesSamAccountName,onPremisesDomainName,\
onPremisesSecurityIdentifier,onPremisesUserPrincipalName,onPremisesProvisioningErrors,\
createdDateTime,accountEnabled,userType";
/// orgContact has no UPN, immutable id, on-prem names or `createdDateTime` in v1.0 (§1.1).
const CONTACT_SELECT: &str = "id,displayName,mail,mailNickname,proxyAddresses,\
onPremisesSyncEnabled,onPremisesLastSyncDateTime,onPremisesProvisioningErrors";
/// group has no `onPremisesDistinguishedName` in v1.0 (§1.1).
const GROUP_SELECT: &str = "id,displayName,mail,mailNickname,proxyAddresses,\
onPremisesSyncEnabled,onPremisesLastSyncDateTime,onPremisesSamAccountName,onPremisesDomainName,\
onPremisesSecurityIdentifier,onPremisesProvisioningErrors,createdDateTime,mailEnabled,\
securityEnabled";
/// Beta: `onPremisesLastPasswordSyncDateTime` is not in v1.0 (§5.1).
const ORGANIZATION_SELECT: &str = "id,displayName,onPremisesSyncEnabled,\
onPremisesLastSyncDateTime,onPremisesLastPasswordSyncDateTime,verifiedDomains";
const DOMAIN_SELECT: &str = "id,isVerified,isDefault,isInitial,authenticationType";

/// What `collect` is asked to do.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// `$top` of the paged collections (Graph's maximum for users, contacts and groups is 999).
    pub top: u32,
    /// Collections not to read: recorded as `skipped` (so the rules needing them are not
    /// evaluated, with that reason).
    pub skip: BTreeSet<Collection>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            top: 999,
            skip: BTreeSet::new(),
        }
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
            .fold(CallStats::default(), |acc, o| add(acc, o.stats))
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }
}

fn add(a: CallStats, b: CallStats) -> CallStats {
    CallStats {
        requests: a.requests + b.requests,
        retries: a.retries + b.retries,
        throttled: a.throttled + b.throttled,
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
    // A manifest of an earlier run must not vouch for the files this run replaces.
    remove_if_exists(&out.join("manifest.json")).await?;
    let collected_at = Utc::now();
    let top = options.top.clamp(1, 999);
    let run = |collection: Collection| Task {
        client,
        out,
        collection,
        skip: options.skip.contains(&collection),
    };

    let (users, contacts, groups, organization, domains, jobs, roles, dir_sync) = futures::join!(
        run(Collection::Users).paged(format!("/v1.0/users?$select={USER_SELECT}&$top={top}")),
        run(Collection::Contacts).paged(format!(
            "/v1.0/contacts?$select={CONTACT_SELECT}&$top={top}"
        )),
        run(Collection::Groups).paged(format!("/v1.0/groups?$select={GROUP_SELECT}&$top={top}")),
        run(Collection::Organization)
            .small(format!("/beta/organization?$select={ORGANIZATION_SELECT}")),
        run(Collection::Domains).small(format!("/v1.0/domains?$select={DOMAIN_SELECT}")),
        run(Collection::SynchronizationJobs).sync_jobs(),
        run(Collection::DirectoryRoles).small("/v1.0/directoryRoles?$expand=members".to_owned()),
        run(Collection::OnPremisesSynchronization)
            .small("/v1.0/directory/onPremisesSynchronization".to_owned()),
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
    for (collection, outcome) in &report.collections {
        if outcome.status == CollectionStatus::Complete {
            tracing::info!(%collection, objects = outcome.objects, "collected");
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
                    },
                    Failure::Io(e) => CollectionOutcome {
                        status: CollectionStatus::Failed,
                        objects: objects_so_far,
                        error: Some(format!("{e:#}")),
                        code: None,
                        stats,
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
        }
    }

    /// A large collection: every page streamed to `NAME.jsonl`, one object per line.
    async fn paged(self, url: String) -> CollectionOutcome {
        if self.skip {
            return self.skipped().await;
        }
        let temp = self.temp_path("jsonl");
        let mut pager = self.client.get_pages(&url);
        let mut written = 0;
        let result = async {
            let file = tokio::fs::File::create(&temp)
                .await
                .with_context(|| format!("creating {}", temp.display()))?;
            let mut w = tokio::io::BufWriter::with_capacity(1 << 20, file);
            while let Some(page) = pager.next().await {
                for raw in page?.value {
                    write_line(&mut w, &raw)
                        .await
                        .with_context(|| format!("writing {}", temp.display()))?;
                    written += 1;
                }
            }
            close(w, &temp).await?;
            Ok::<usize, Failure>(written)
        }
        .await;
        let stats = pager.stats();
        self.finish("jsonl", result, written, stats).await
    }

    /// A small collection: all pages held, then written as `{"value":[...]}`. Also returns the
    /// first object's `id` (the tenant id, for the organization).
    async fn small(self, url: String) -> (CollectionOutcome, Option<String>) {
        if self.skip {
            return (self.skipped().await, None);
        }
        let mut stats = CallStats::default();
        let result = page_all(self.client, &url, &mut stats).await;
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
            let mut principals: BTreeMap<String, Option<String>> = BTreeMap::new();
            for filter in [
                format!("appId eq '{CLOUD_SYNC_APP_ID}'"),
                format!("applicationTemplateId eq '{CLOUD_SYNC_APP_ID}'"),
                format!("servicePrincipalNames/any(p:p eq '{CLOUD_SYNC_APP_ID}')"),
            ] {
                let url = format!(
                    "/v1.0/servicePrincipals?$filter={}&$select=id,displayName",
                    filter.replace(' ', "%20")
                );
                for raw in page_all(self.client, &url, &mut stats).await? {
                    let sp: Principal = serde_json::from_str(raw.get())
                        .with_context(|| format!("a service principal from {url}"))?;
                    principals.entry(sp.id).or_insert(sp.display_name);
                }
            }
            let mut jobs = Vec::new();
            for (id, name) in &principals {
                let url = format!("/v1.0/servicePrincipals/{id}/synchronization/jobs");
                for raw in page_all(self.client, &url, &mut stats).await? {
                    let mut job: Map<String, Value> = serde_json::from_str(raw.get())
                        .with_context(|| format!("a synchronization job from {url}"))?;
                    job.insert("servicePrincipalId".to_owned(), json!(id));
                    job.insert("servicePrincipalDisplayName".to_owned(), json!(name));
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
        let mut file = tokio::fs::File::create(&temp)
            .await
            .with_context(|| format!("creating {}", temp.display()))?;
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

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Principal {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
}

/// Every page's objects of `url`, counted into `stats`.
async fn page_all(
    client: &GraphClient,
    url: &str,
    stats: &mut CallStats,
) -> Result<Vec<Box<RawValue>>, GraphError> {
    let mut pager = client.get_pages(url);
    let mut objects = Vec::new();
    let mut result = Ok(());
    while let Some(page) = pager.next().await {
        match page {
            Ok(page) => objects.extend(page.value),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    *stats = add(*stats, pager.stats());
    result.map(|()| objects)
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
            (
                collection.file_stem().to_owned(),
                json!({
                    "status": o.status.as_str(),
                    "objects": o.objects,
                    "error": o.error,
                    "code": o.code,
                    "requests": o.stats.requests,
                    "retries": o.stats.retries,
                    "throttled": o.stats.throttled,
                }),
            )
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
    let mut file = tokio::fs::File::create(&temp)
        .await
        .with_context(|| format!("creating {}", temp.display()))?;
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
