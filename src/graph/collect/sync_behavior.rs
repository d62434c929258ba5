//! `onPremisesSyncBehavior`: whether a synced-looking user or group was converted to cloud
//! management (its source of authority moved to the cloud, `isCloudManaged` true: "updates from
//! on-premises Active Directory are blocked in the cloud",
//! <https://learn.microsoft.com/graph/api/resources/onpremisessyncbehavior?view=graph-rest-beta>).
//!
//! Graph serves it per object only (`GET /beta/{users|groups}/{id}/onPremisesSyncBehavior`, a
//! navigation property the get documents no query parameter for:
//! <https://learn.microsoft.com/graph/api/onpremisessyncbehavior-get?view=graph-rest-beta>), so
//! it is read after users and groups, only for the objects the leftover rules can judge (a sign
//! of sync: `onPremisesSyncEnabled` set, an `onPremisesImmutableId` or a last sync time), in JSON
//! batches of 20 (<https://learn.microsoft.com/graph/json-batching>), at most
//! [`super::CollectOptions::sync_behavior_cap`] objects. Every candidate gets a record: read, or
//! not read with the reason (over the cap, or what Graph answered for it), so nothing unread is
//! taken for "not cloud-managed". When Graph refuses every item with 403 the collection is
//! forbidden: the permissions it needs are `ReadWrite` ones, which an audit app often lacks.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{CollectionOutcome, Failure, Task};
use crate::graph::error::ErrorDetail;
use crate::graph::{CallStats, GraphError};
use crate::inputs::snapshot::{Collection, SyncBehavior};

/// "JSON batch requests are currently limited to 20 individual requests" (json-batching).
pub(super) const BATCH_SIZE: usize = 20;

/// Batches sent at once: 25 requests, fewer than the 64 the directory paging keeps in flight,
/// and the default cap's 50 batches in two waves (500 reads, about 1,000 resource units: an
/// eighth of a large tenant's 10-second budget). "Requests in a batch are
/// evaluated individually against the applicable throttling limits" and a throttled one fails
/// with 429 (<https://learn.microsoft.com/graph/json-batching>); its Retry-After then holds the
/// whole client, and the item is resent "after the longest retry-after value"
/// (<https://learn.microsoft.com/graph/throttling>).
const BATCHES_IN_FLIGHT: usize = 25;

/// Rounds of resending the items Graph answered 429 or 5xx to.
const ROUNDS: usize = 5;

/// The longest `Retry-After` of a throttled item honoured before the next round.
const MAX_ITEM_WAIT: Duration = Duration::from_secs(30);

/// A user or group as read back from the collected file (the properties that decide whether it
/// is a candidate).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    id: String,
    on_premises_sync_enabled: Option<bool>,
    on_premises_immutable_id: Option<String>,
    on_premises_last_sync_date_time: Option<String>,
}

impl Listed {
    /// A sign of a past or present sync: what `orphaned-synced-object` (synced) and
    /// `stale-cloud-only` (formerly synced, or carrying an anchor or a sync time) judge.
    fn is_candidate(&self) -> bool {
        self.on_premises_sync_enabled.is_some()
            || self
                .on_premises_immutable_id
                .as_deref()
                .is_some_and(|s| !s.is_empty())
            || self
                .on_premises_last_sync_date_time
                .as_deref()
                .is_some_and(|s| !s.is_empty())
    }
}

/// One object whose behaviour is to be read.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub(super) id: String,
    /// `users` or `groups`.
    pub(super) set: &'static str,
    /// `onPremisesSyncEnabled` true: synced now, where the others were synced once (or carry
    /// an anchor or a sync time): `stale-cloud-only`'s population, usually far smaller.
    pub(super) synced: bool,
}

impl Candidate {
    fn object_type(&self) -> &'static str {
        if self.set == "users" { "user" } else { "group" }
    }
}

/// The candidates of one collected users or groups file (`.jsonl` as `collect` writes it, or
/// `.json`), in file order.
pub(super) fn candidates_in(path: &Path, set: &'static str) -> anyhow::Result<Vec<Candidate>> {
    use std::io::BufRead as _;
    let mut out = Vec::new();
    let mut push = |listed: Listed| {
        if listed.is_candidate() {
            let synced = listed.on_premises_sync_enabled == Some(true);
            out.push(Candidate {
                id: listed.id,
                set,
                synced,
            });
        }
    };
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let reader = std::io::BufReader::new(file);
    if path.extension().is_some_and(|e| e == "json") {
        #[derive(Deserialize)]
        struct Envelope {
            value: Vec<Listed>,
        }
        let envelope: Envelope = serde_json::from_reader(reader)
            .with_context(|| format!("reading {}", path.display()))?;
        envelope.value.into_iter().for_each(&mut push);
    } else {
        // Line by line: a 500,000-user file is half a gigabyte, never held whole.
        for (n, line) in reader.lines().enumerate() {
            let line = line.with_context(|| format!("reading {}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let listed: Listed = serde_json::from_str(&line)
                .with_context(|| format!("{} line {}", path.display(), n + 1))?;
            push(listed);
        }
    }
    Ok(out)
}

/// What became of the candidates.
struct Read {
    records: Vec<SyncBehavior>,
    /// Items Graph answered 403 (the permission is missing).
    forbidden: Option<ErrorDetail>,
    forbidden_items: usize,
    batches: usize,
}

impl Task<'_> {
    /// Reads the behaviour of the candidates among the `users` and `groups` just collected (the
    /// first [`super::CollectOptions::sync_behavior_cap`]; the rest are recorded as not read) and
    /// writes `onPremisesSyncBehavior.json`.
    pub(super) async fn sync_behavior(
        self,
        users: &CollectionOutcome,
        groups: &CollectionOutcome,
        options: &super::CollectOptions,
    ) -> CollectionOutcome {
        if self.skip {
            return self.skipped().await;
        }
        let cap = options.sync_behavior_cap;
        let candidates = collected_candidates(self.out, users, groups, options.errors_only);
        let candidates = match candidates {
            Ok(c) => c,
            Err(why) => {
                let mut outcome = self.skipped().await;
                outcome.error = Some(why);
                return outcome;
            }
        };
        let mut stats = CallStats::default();
        let total = candidates.len();
        let (to_read, over_cap) = candidates.split_at(total.min(cap));
        let result = self.read_behaviours(to_read, &mut stats).await;
        let read = match result {
            Ok(read) => read,
            Err(e) => return self.finish("json", Err(Failure::Graph(e)), 0, stats).await,
        };
        if read.forbidden_items > 0 && read.forbidden_items == to_read.len() {
            let detail = read.forbidden.unwrap_or_else(|| ErrorDetail {
                method: "GET".to_owned(),
                url: "/beta/users/{id}/onPremisesSyncBehavior".to_owned(),
                status: 403,
                code: None,
                message: None,
                request_id: None,
            });
            return self
                .finish(
                    "json",
                    Err(Failure::Graph(GraphError::Forbidden(Box::new(detail)))),
                    0,
                    stats,
                )
                .await;
        }
        let over_cap_why =
            format!("over the cap of {cap} objects read per run ({total} candidates)");
        let count = read.records.len() + over_cap.len();
        let not_read =
            read.records.iter().filter(|r| r.not_read.is_some()).count() + over_cap.len();
        // Serialised one by one into the file's text: at 500,000 candidates, records, their
        // JSON and the text held side by side were 400 MiB of a collect that otherwise needs 60.
        let records = read
            .records
            .into_iter()
            .chain(over_cap.iter().map(|c| SyncBehavior {
                id: c.id.clone(),
                object_type: Some(c.object_type().to_owned()),
                is_cloud_managed: None,
                not_read: Some(over_cap_why.clone()),
            }));
        let result = self.write_value(records).await;
        let mut outcome = self.finish("json", result, count, stats).await;
        outcome.strategy = Some(format!(
            "{} of {total} candidate users and groups read in {} batches of up to {BATCH_SIZE}; {not_read} not read",
            count - not_read,
            read.batches
        ));
        outcome
    }

    /// Sends the candidates in batches, resending throttled or failed items for a few rounds.
    async fn read_behaviours(
        &self,
        candidates: &[Candidate],
        stats: &mut CallStats,
    ) -> Result<Read, GraphError> {
        let mut read = Read {
            records: Vec::with_capacity(candidates.len()),
            forbidden: None,
            forbidden_items: 0,
            batches: 0,
        };
        let mut pending: Vec<&Candidate> = candidates.iter().collect();
        for round in 0..ROUNDS {
            if pending.is_empty() {
                break;
            }
            let mut retry: Vec<&Candidate> = Vec::new();
            // Several batches in flight (Graph runs a batch's independent items in parallel
            // too), answered in the order sent so the records keep the candidates' order.
            let mut answered = futures::stream::iter(pending.chunks(BATCH_SIZE))
                .map(|chunk| async move {
                    let mut batch_stats = CallStats::default();
                    let answers = self.batch(chunk, &mut batch_stats).await;
                    (chunk, answers, batch_stats)
                })
                .buffered(BATCHES_IN_FLIGHT);
            while let Some((chunk, answers, batch_stats)) = answered.next().await {
                stats.add(batch_stats);
                let answers = answers?;
                read.batches += 1;
                // A throttled item's Retry-After holds for the requests after it too: every
                // request of the client waits it out (its own gate sees only the batch's 200).
                let mut wait = Duration::ZERO;
                for (candidate, answer) in chunk.iter().zip(answers) {
                    let record = |is_cloud_managed, not_read| SyncBehavior {
                        id: candidate.id.clone(),
                        object_type: Some(candidate.object_type().to_owned()),
                        is_cloud_managed,
                        not_read,
                    };
                    match answer {
                        Answer::Read(v) => read.records.push(record(v, None)),
                        Answer::Retry(after, throttled) if round + 1 < ROUNDS => {
                            stats.throttled += u64::from(throttled);
                            stats.retries += 1;
                            wait = wait.max(after.min(MAX_ITEM_WAIT));
                            retry.push(candidate);
                        }
                        Answer::Retry(..) => read.records.push(record(
                            None,
                            Some(format!("throttled or failing after {ROUNDS} tries")),
                        )),
                        Answer::Refused(detail) => {
                            let why = match &detail.code {
                                Some(code) => format!("HTTP {} {code}", detail.status),
                                None => format!("HTTP {}", detail.status),
                            };
                            if detail.status == 403 {
                                read.forbidden_items += 1;
                                read.forbidden.get_or_insert(detail);
                            }
                            read.records.push(record(None, Some(why)));
                        }
                    }
                }
                if !wait.is_zero() {
                    self.client.pause_for(wait);
                }
            }
            drop(answered);
            pending = retry;
        }
        Ok(read)
    }

    /// One `$batch` of GETs; the answers in the order of `chunk`.
    async fn batch(
        &self,
        chunk: &[&Candidate],
        stats: &mut CallStats,
    ) -> Result<Vec<Answer>, GraphError> {
        let requests: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({
                    "id": (i + 1).to_string(),
                    "method": "GET",
                    "url": format!("/{}/{}/onPremisesSyncBehavior", c.set, c.id),
                })
            })
            .collect();
        let body = json!({ "requests": requests });
        let response = self
            .client
            .post_read_batch("/beta/$batch", &body, stats)
            .await?;
        let mut by_id: BTreeMap<String, &Value> = BTreeMap::new();
        for item in response
            .get("responses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(id) = item.get("id").and_then(Value::as_str) {
                by_id.insert(id.to_owned(), item);
            }
        }
        Ok(chunk
            .iter()
            .enumerate()
            .map(|(i, c)| match by_id.get(&(i + 1).to_string()) {
                Some(item) => Answer::of(item, c),
                // "The response might not be in the same order"; a missing one is retried.
                None => Answer::Retry(Duration::from_secs(1), false),
            })
            .collect())
    }
}

/// One batch item's answer.
enum Answer {
    Read(Option<bool>),
    /// 429 (`true`) or 5xx: send again after this long.
    Retry(Duration, bool),
    Refused(ErrorDetail),
}

impl Answer {
    fn of(item: &Value, candidate: &Candidate) -> Answer {
        let status = item
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(0);
        let body = item.get("body");
        match status {
            200 => Answer::Read(
                body.and_then(|b| b.get("isCloudManaged"))
                    .and_then(Value::as_bool),
            ),
            429 | 500..=599 | 0 => {
                let after = item
                    .get("headers")
                    .and_then(|h| h.as_object())
                    .and_then(|h| {
                        h.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                            .map(|(_, v)| v)
                    })
                    .and_then(|v| match v {
                        Value::Number(n) => {
                            n.as_f64().and_then(|s| Duration::try_from_secs_f64(s).ok())
                        }
                        Value::String(s) => {
                            crate::graph::retry::parse_retry_after(s, std::time::SystemTime::now())
                        }
                        _ => None,
                    })
                    .unwrap_or(Duration::from_secs(1));
                Answer::Retry(after, status == 429)
            }
            _ => {
                let error = body.and_then(|b| b.get("error"));
                let text = |k: &str| {
                    error
                        .and_then(|e| e.get(k))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                Answer::Refused(ErrorDetail {
                    method: "GET".to_owned(),
                    url: format!(
                        "/beta/{}/{}/onPremisesSyncBehavior",
                        candidate.set, candidate.id
                    ),
                    status,
                    code: text("code"),
                    message: text("message"),
                    request_id: None,
                })
            }
        }
    }
}

/// The candidates of the users and groups just collected, or why there are none to read.
pub(super) fn collected_candidates(
    out: &Path,
    users: &CollectionOutcome,
    groups: &CollectionOutcome,
    errors_only: bool,
) -> Result<Vec<Candidate>, String> {
    use super::CollectionStatus;
    if errors_only {
        return Err(
            "errors-only run: users and groups hold only objects with provisioning errors"
                .to_owned(),
        );
    }
    if users.status != CollectionStatus::Complete || groups.status != CollectionStatus::Complete {
        return Err(
            "users and groups were not both collected completely, so the candidates are unknown"
                .to_owned(),
        );
    }
    let mut all = Vec::new();
    for (collection, set) in [(Collection::Users, "users"), (Collection::Groups, "groups")] {
        let path = ["json", "jsonl"]
            .iter()
            .map(|ext| out.join(format!("{}.{ext}", collection.file_stem())))
            .find(|p| p.exists())
            .ok_or_else(|| format!("{collection} has no file to read the candidates from"))?;
        all.extend(candidates_in(&path, set).map_err(|e| format!("{e:#}"))?);
    }
    // Under the cap, the formerly synced come first: they are few, and each is a leftover
    // the rules judge from the cloud alone; a synced one is judged only without its source.
    all.sort_by_key(|c| c.synced);
    Ok(all)
}
