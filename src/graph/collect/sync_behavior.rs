//! `onPremisesSyncBehavior`: whether a synced-looking user or group was converted to cloud
//! management (its source of authority moved to the cloud, `isCloudManaged` true: "updates from
//! on-premises Active Directory are blocked in the cloud",
//! <https://learn.microsoft.com/graph/api/resources/onpremisessyncbehavior?view=graph-rest-beta>).
//!
//! Graph serves it per object only (`GET /beta/{users|groups}/{id}/onPremisesSyncBehavior`, a
//! navigation property the get documents no query parameter for:
//! <https://learn.microsoft.com/graph/api/onpremisessyncbehavior-get?view=graph-rest-beta>), so
//! it is read only for the users and groups the leftover rules can judge (a sign of sync:
//! `onPremisesSyncEnabled` set, an `onPremisesImmutableId` or a last sync time), in JSON batches
//! of 20 (<https://learn.microsoft.com/graph/json-batching>), at most
//! [`super::CollectOptions::sync_behavior_cap`] objects, the formerly synced first. It runs
//! beside users and groups: the candidates already sure to be read under the cap
//! ([`super::candidates`]) are read while the last pages arrive, the rest once both collections
//! are complete; the set read is the one the complete files select, and a candidate read early
//! that they do not select (a count was off) keeps what Graph answered, counted as read. Every
//! candidate gets a record: read, or
//! not read with the reason (over the cap, or what Graph answered for it), so nothing unread is
//! taken for "not cloud-managed". When Graph refuses every item with 403 the collection is
//! forbidden: the permissions it needs are `ReadWrite` ones, which an audit app often lacks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::candidates::{Candidate, Candidates, Id, Ordered};
use super::{CollectionOutcome, Failure, Task};
use crate::graph::error::ErrorDetail;
use crate::graph::{CallStats, GraphError};
use crate::inputs::snapshot::SyncBehavior;

/// "JSON batch requests are currently limited to 20 individual requests" (json-batching).
pub(super) const BATCH_SIZE: usize = 20;

/// Batches sent at once: at most 25 requests, each holding a place under the limit of requests
/// in flight it shares with the users, contacts and groups
/// ([`super::CollectOptions::partition_concurrency`]), so reading beside their paging never
/// adds to it; the default cap's 50 batches in two waves (500 reads, about 1,000 resource
/// units: an eighth of a large tenant's 10-second budget). "Requests in a batch are
/// evaluated individually against the applicable throttling limits" and a throttled one fails
/// with 429 (<https://learn.microsoft.com/graph/json-batching>); its Retry-After then holds the
/// whole client, and the item is resent "after the longest retry-after value"
/// (<https://learn.microsoft.com/graph/throttling>).
const BATCHES_IN_FLIGHT: usize = 25;

/// Rounds of resending the items Graph answered 429 or 5xx to.
const ROUNDS: usize = 5;

/// The longest `Retry-After` of a throttled item honoured before the next round.
const MAX_ITEM_WAIT: Duration = Duration::from_secs(30);

/// What became of the candidates sent so far.
#[derive(Default)]
struct Read {
    /// Each answered candidate's record (read, refused, or given up on), by id.
    records: HashMap<Id, SyncBehavior>,
    /// Candidates to send again, with the tries so far.
    retry: Vec<(Candidate, usize)>,
    /// Items Graph answered 403 (the permission is missing).
    forbidden: Option<ErrorDetail>,
    forbidden_items: usize,
    batches: usize,
    stats: CallStats,
    /// A batch that failed as a whole (after the client's own retries): nothing more is sent.
    failed: Option<GraphError>,
}

impl Read {
    /// Takes one batch's answers; returns the longest `Retry-After` of its throttled items.
    fn absorb(
        &mut self,
        chunk: Vec<(Candidate, usize)>,
        answers: Result<Vec<Answer>, GraphError>,
        stats: CallStats,
    ) -> Duration {
        self.stats.add(stats);
        let answers = match answers {
            Ok(answers) => answers,
            Err(e) => {
                self.failed.get_or_insert(e);
                return Duration::ZERO;
            }
        };
        self.batches += 1;
        let mut wait = Duration::ZERO;
        for ((candidate, tries), answer) in chunk.into_iter().zip(answers) {
            let not_read = match answer {
                Answer::Read(v) => {
                    self.record(&candidate, v, None);
                    continue;
                }
                Answer::Retry(after, throttled) if tries + 1 < ROUNDS => {
                    self.stats.throttled += u64::from(throttled);
                    self.stats.retries += 1;
                    wait = wait.max(after.min(MAX_ITEM_WAIT));
                    self.retry.push((candidate, tries + 1));
                    continue;
                }
                Answer::Retry(..) => format!("throttled or failing after {ROUNDS} tries"),
                Answer::Refused(detail) => {
                    let why = match &detail.code {
                        Some(code) => format!("HTTP {} {code}", detail.status),
                        None => format!("HTTP {}", detail.status),
                    };
                    if detail.status == 403 {
                        self.forbidden_items += 1;
                        self.forbidden.get_or_insert(detail);
                    }
                    why
                }
            };
            self.record(&candidate, None, Some(not_read));
        }
        wait
    }

    fn record(
        &mut self,
        candidate: &Candidate,
        is_cloud_managed: Option<bool>,
        not_read: Option<String>,
    ) {
        self.records.insert(
            candidate.id.clone(),
            behaviour(candidate, is_cloud_managed, not_read),
        );
    }
}

/// The record written for `candidate`.
fn behaviour(
    candidate: &Candidate,
    is_cloud_managed: Option<bool>,
    not_read: Option<String>,
) -> SyncBehavior {
    SyncBehavior {
        id: candidate.id.to_string(),
        object_type: Some(candidate.object_type()),
        is_cloud_managed,
        not_read,
    }
}

/// A batch's candidates (with their tries so far), its answers and its requests.
type Sent = (
    Vec<(Candidate, usize)>,
    Result<Vec<Answer>, GraphError>,
    CallStats,
);

impl Task<'_> {
    /// Reads the behaviour of the candidates among the `users` and `groups` being collected
    /// (the first [`super::CollectOptions::sync_behavior_cap`]; the rest are recorded as not
    /// read) and writes `onPremisesSyncBehavior.json`. Runs beside the users and groups: the
    /// candidates sure to be read under the cap ([`Candidates`]) are read as their pages arrive,
    /// the others once both collections are complete.
    pub(super) async fn sync_behavior(
        self,
        candidates: Option<&Candidates>,
        options: &super::CollectOptions,
        in_flight: &Semaphore,
    ) -> CollectionOutcome {
        if self.skip {
            return self.skipped().await;
        }
        let unknown = async |why: &str, stats: CallStats| {
            let mut outcome = self.skipped().await;
            outcome.error = Some(why.to_owned());
            outcome.stats = stats;
            outcome
        };
        // `collect` follows candidates in every run that reads the behaviour, except an
        // errors-only one.
        let Some(candidates) = candidates else {
            return unknown(
                "errors-only run: users and groups hold only objects with provisioning errors",
                CallStats::default(),
            )
            .await;
        };
        let incomplete =
            "users and groups were not both collected completely, so the candidates are unknown";
        let cap = options.sync_behavior_cap;
        let mut read = Read::default();
        self.read_early(candidates, in_flight, &mut read).await;
        let early = read.stats.requests;
        if read.failed.is_none() && !candidates.complete() {
            // Whatever was read early is not written: which candidates the cap selects is
            // unknown. Its requests are counted.
            return unknown(incomplete, read.stats).await;
        }
        let ordered = candidates.ordered();
        let total = ordered.len();
        let selected = total.min(cap);
        let retrying: HashSet<Id> = read.retry.iter().map(|(c, _)| c.id.clone()).collect();
        let mut pending: Vec<(Candidate, usize)> = ordered
            .iter()
            .take(selected)
            .filter(|c| !read.records.contains_key(&c.id) && !retrying.contains(&c.id))
            .map(|c| (c.clone(), 0))
            .collect();
        pending.append(&mut read.retry);
        while !pending.is_empty() && read.failed.is_none() {
            self.send_all(pending, in_flight, &mut read).await;
            pending = std::mem::take(&mut read.retry);
        }
        if let Some(e) = read.failed.take() {
            return self
                .finish("json", Err(Failure::Graph(e)), 0, read.stats)
                .await;
        }
        tracing::info!(
            candidates = total,
            batches = read.batches,
            early_requests = early,
            "onPremisesSyncBehavior read"
        );
        let mut outcome = self.write_records(read, ordered, cap).await;
        outcome.timings.early_requests = early;
        outcome
    }

    /// Writes one record per candidate, or the forbidden outcome when Graph refused every item
    /// with 403.
    async fn write_records(
        &self,
        mut read: Read,
        ordered: Ordered,
        cap: usize,
    ) -> CollectionOutcome {
        let total = ordered.len();
        let selected = total.min(cap);
        if read.forbidden_items > 0 && read.forbidden_items == read.records.len() {
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
                    read.stats,
                )
                .await;
        }
        let over_cap_why =
            format!("over the cap of {cap} objects read per run ({total} candidates)");
        let answered = ordered
            .iter()
            .filter(|c| {
                read.records
                    .get(&c.id)
                    .is_some_and(|r| r.not_read.is_none())
            })
            .count();
        let not_read = total - answered;
        // One record per candidate, in the cap's order: those read (or refused), then those
        // over the cap (a candidate read early although the cap did not select it in the end,
        // when a count was off, keeps what Graph answered). Serialised one by one into the
        // file's text: at 500,000 candidates, records, their JSON and the text held side by
        // side were 400 MiB of a collect that otherwise needs 60.
        let mut records = std::mem::take(&mut read.records);
        let records = ordered.iter().enumerate().map(|(i, c)| {
            records.remove(&c.id).unwrap_or_else(|| {
                let why = if i < selected {
                    "no answer from Graph".to_owned()
                } else {
                    over_cap_why.clone()
                };
                behaviour(c, None, Some(why))
            })
        });
        let result = self.write_value(records).await;
        let mut outcome = self.finish("json", result, total, read.stats).await;
        outcome.strategy = Some(format!(
            "{answered} of {total} candidate users and groups read in {} batches of up to {BATCH_SIZE}; {not_read} not read",
            read.batches
        ));
        outcome
    }

    /// While users and groups are paged: reads the candidates sure to be read as they come, in
    /// full batches (what is left is read with the rest), until both collections have ended.
    async fn read_early(&self, candidates: &Candidates, in_flight: &Semaphore, read: &mut Read) {
        let mut taken = [0; 4];
        let mut ready: Vec<Candidate> = Vec::new();
        let mut batches = FuturesUnordered::new();
        loop {
            let (sure, ended) = candidates.take_sure(&mut taken);
            ready.extend(sure);
            while !ended
                && read.failed.is_none()
                && ready.len() >= BATCH_SIZE
                && batches.len() < BATCHES_IN_FLIGHT
            {
                let chunk = ready.drain(..BATCH_SIZE).map(|c| (c, 0)).collect();
                batches.push(self.send(chunk, in_flight));
            }
            if batches.is_empty() && (ended || read.failed.is_some()) {
                break;
            }
            tokio::select! {
                Some((chunk, answers, stats)) = batches.next(), if !batches.is_empty() => {
                    let wait = read.absorb(chunk, answers, stats);
                    self.pause_for(wait);
                }
                () = candidates.changed(), if !ended && read.failed.is_none() => {}
            }
        }
    }

    /// Sends `items` in batches, [`BATCHES_IN_FLIGHT`] at a time; what is to be resent is left
    /// in `read.retry`. Nothing more is sent once a batch failed as a whole.
    async fn send_all(
        &self,
        items: Vec<(Candidate, usize)>,
        in_flight: &Semaphore,
        read: &mut Read,
    ) {
        let mut chunks = items.chunks(BATCH_SIZE).map(<[_]>::to_vec);
        let mut batches = FuturesUnordered::new();
        loop {
            while read.failed.is_none() && batches.len() < BATCHES_IN_FLIGHT {
                let Some(chunk) = chunks.next() else { break };
                batches.push(self.send(chunk, in_flight));
            }
            let Some((chunk, answers, stats)) = batches.next().await else {
                break;
            };
            let wait = read.absorb(chunk, answers, stats);
            self.pause_for(wait);
        }
    }

    /// A throttled item's Retry-After holds for the requests after it too: every request of
    /// the client waits it out (its own gate sees only the batch's 200).
    fn pause_for(&self, wait: Duration) {
        if !wait.is_zero() {
            self.client.pause_for(wait);
        }
    }

    /// One batch, holding a place under the limit of requests in flight it shares with the
    /// users, contacts and groups.
    async fn send(&self, chunk: Vec<(Candidate, usize)>, in_flight: &Semaphore) -> Sent {
        let _place = in_flight.acquire().await;
        let mut stats = CallStats::default();
        let answers = self.batch(&chunk, &mut stats).await;
        (chunk, answers, stats)
    }

    /// One `$batch` of GETs; the answers in the order of `chunk`.
    async fn batch(
        &self,
        chunk: &[(Candidate, usize)],
        stats: &mut CallStats,
    ) -> Result<Vec<Answer>, GraphError> {
        let requests: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, (c, _))| {
                json!({
                    "id": (i + 1).to_string(),
                    "method": "GET",
                    "url": format!("/{}/{}/onPremisesSyncBehavior", c.set(), c.id),
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
            .map(|(i, (c, _))| match by_id.get(&(i + 1).to_string()) {
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
                        candidate.set(),
                        candidate.id
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
