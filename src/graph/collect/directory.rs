//! Users, contacts and groups in full: `/$count` and a sample of the partitioned property side
//! by side, then (above the threshold) the partitions [`super::partition`] plans, paged
//! together with the other directory collections' under one limit of requests in flight, each
//! page written as it arrives; or one sequential pass when the collection is small, its count
//! is not to be had, or the partitions do not account for every object (the manifest's
//! `strategy` says which, and why). It owns the checks that make a partitioned pass complete:
//! each partition pages exactly its first page's `@odata.count`, and the counts add up to
//! `/$count`. It must not interpret the objects.

use std::time::Instant;

use futures::StreamExt as _;
use futures::future::Either;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::value::RawValue;
use tokio::sync::Semaphore;

use super::jsonl::JsonlWriter;
use super::partition::{self, Part, Sizes};
use super::{
    CollectOptions, CollectionOutcome, CollectionStatus, Failure, Task, encode_query_value,
    is_query_refusal, refusal_summary,
};
use crate::graph::{CallStats, GraphClient, GraphError, Page, Pager};
use crate::inputs::snapshot::catalogue::{Partitioning, Reading};

/// What a partition's pages ask for.
#[derive(Clone, Copy)]
struct Query<'a> {
    entity: &'a str,
    select: &'a str,
    top: u32,
    plan: Partitioning,
}

/// The sample of the partitioned property: one page of the collection, `$select`ing only it
/// (a page of users costs 1 resource unit with `$select`, as any page; throttling-limits).
const SAMPLE_SIZE: u32 = 999;

/// The planner aims at this share (in percent) of the requests in flight as partitions per
/// collection, fewer when they would be smaller than [`SMALLEST_SPLIT`]. Not all of them: a
/// plan comes out with more partitions than it aims at (the sample's estimates, the rest of a
/// split prefix), and a chain left without a place starts only when a whole chain has ended,
/// which doubles the longest one. Aiming at 64 of 64 planned 70 partitions of 8 pages for
/// 515k users: the 6 left over ended 10 s after the others (24.9 s of a 650k collect).
const TARGET_PARTITIONS_PERCENT: u64 = 75;

/// One full page: a partition smaller than this is no shorter a chain than one of a page.
const SMALLEST_SPLIT: u64 = 999;

impl Task<'_> {
    /// Users, contacts or groups, partitioned by `plan.property` when the collection is large;
    /// how it ended is reported to the candidates of onPremisesSyncBehavior.
    pub(super) async fn directory(
        self,
        top: u32,
        options: &CollectOptions,
        in_flight: &Semaphore,
    ) -> CollectionOutcome {
        let (candidates, collection) = (self.candidates, self.collection);
        let outcome = self.read_directory(top, options, in_flight).await;
        if let Some(c) = candidates {
            c.ended(collection, outcome.status == CollectionStatus::Complete);
        }
        outcome
    }

    async fn read_directory(
        self,
        top: u32,
        options: &CollectOptions,
        in_flight: &Semaphore,
    ) -> CollectionOutcome {
        if self.skip {
            return self.skipped().await;
        }
        let started = Instant::now();
        let spec = self.collection.spec();
        let entity = spec.path.trim_start_matches('/');
        let select = spec.select;
        let Reading::Partitioned(plan) = spec.reading else {
            // The catalogue partitions every collection this is called for.
            return self.small().await.0;
        };
        let sequential_url = format!("{}&$top={top}", spec.url());
        let mut stats = CallStats::default();
        let mut planned = None;
        let mut outcome = self
            .streamed(&mut stats, async |task, w, stats| {
                // The count and the sample side by side; a collection the count says is small
                // (or has no count) is read in one pass, its sample only accounted for.
                let sampling = sample(task.client, entity, plan, in_flight);
                futures::pin_mut!(sampling);
                let mut sampled = None;
                let counted = {
                    let counting = task.count(entity, in_flight);
                    futures::pin_mut!(counting);
                    match futures::future::select(counting, sampling.as_mut()).await {
                        Either::Left((counted, _)) => counted,
                        Either::Right((sample, counting)) => {
                            sampled = Some(sample);
                            counting.await
                        }
                    }
                };
                stats.add(counted.1);
                let large = matches!(counted.0, Ok(n) if n > options.partition_threshold);
                // Not needed when the collection is read in one pass, but its request was sent:
                // its requests, retries and 429s are counted (a manifest that leaves out a
                // request Graph answered with 429 would misstate the budget used), so one still
                // out is waited for, beside the sequential pass rather than before it (a page of
                // 999 at Graph's latency, the first second of a small tenant's collect).
                let sample_out = !large && sampled.is_none();
                let sample = match (large, sampled) {
                    (false, Some(sample)) => (Ok(Vec::new()), sample.1),
                    (false, None) => (Ok(Vec::new()), CallStats::default()),
                    (true, Some(sample)) => sample,
                    (true, None) => sampling.as_mut().await,
                };
                stats.add(sample.1);
                let reason = match (counted.0, sample.0) {
                    (Err(why), _) => why,
                    (Ok(total), _) if !large => format!(
                        "{total} {entity}, partitioned above {}",
                        options.partition_threshold
                    ),
                    (Ok(_), Err(e)) if is_query_refusal(&e) => format!(
                        "sampling {} refused: {}",
                        plan.property,
                        refusal_summary(&e)
                    ),
                    (Ok(_), Err(e)) => return Err(Failure::Graph(e)),
                    (Ok(total), Ok(sample)) => {
                        let query = Query { entity, select, top, plan };
                        let parts = task.plan(query, &sample, total, options, started);
                        planned = Some(started.elapsed());
                        let paged = task
                            .page_parts(query, w, total, &parts, in_flight, stats)
                            .await?;
                        match paged {
                            Ok(n) => return Ok(Some(format!("partitioned({n})"))),
                            Err(why) => {
                                tracing::warn!(
                                    collection = %task.collection,
                                    reason = %why,
                                    "partitions discarded; reading the collection in one sequential pass"
                                );
                                w.restart().await?;
                                if let Some(c) = task.candidates {
                                    c.restart(task.collection);
                                }
                                why
                            }
                        }
                    }
                };
                let paged = async {
                    // One chain of pages: one request in flight.
                    let _permit = in_flight.acquire().await;
                    task.page_into(&sequential_url, w, &|_| true, stats).await
                };
                let sample_stats = async {
                    if sample_out {
                        sampling.as_mut().await.1
                    } else {
                        CallStats::default()
                    }
                };
                let (paged, sample_stats) = futures::join!(paged, sample_stats);
                stats.add(sample_stats);
                paged?;
                Ok(Some(format!("sequential ({reason})")))
            })
            .await;
        outcome.timings.plan = planned;
        outcome
    }

    /// The partitions of a collection of `total` objects, from its sample (`started`: when the
    /// collection started, for the log).
    fn plan(
        &self,
        query: Query<'_>,
        sample: &[Option<String>],
        total: u64,
        options: &CollectOptions,
        started: Instant,
    ) -> Vec<Part> {
        let sizes = sizes(total, options);
        let parts = partition::plan(query.plan, sample, total, sizes);
        tracing::info!(
            collection = %self.collection,
            total,
            partitions = parts.len(),
            largest = parts.first().map_or(0, |p| p.estimate),
            split_above = sizes.split_above,
            plan_ms = started.elapsed().as_millis(),
            "partitions planned; paging them"
        );
        parts
    }

    /// `/$count`, and for users and groups whose onPremisesSyncBehavior is read, side by side,
    /// the count of those with `onPremisesSyncEnabled eq true`, both reported to the candidates
    /// (which read early the behaviours sure to be read: [`super::candidates`]). The property
    /// "Supports `$filter` (`eq`, `ne`, `not`, `in`, and `eq` on null values)"
    /// (<https://learn.microsoft.com/graph/api/resources/user>,
    /// <https://learn.microsoft.com/graph/api/resources/group>), and `/$count` with a `$filter`
    /// is an advanced query, with `ConsistencyLevel: eventual`
    /// (<https://learn.microsoft.com/graph/aad-advanced-queries>); it costs a request in flight
    /// and a resource unit, and its refusal only means fewer behaviours are read early.
    async fn count(&self, entity: &str, in_flight: &Semaphore) -> (Result<u64, String>, CallStats) {
        let Some(candidates) = self.candidates else {
            return count_all(self.client, entity, None, in_flight).await;
        };
        let ((total, mut stats), (synced, synced_stats)) = futures::join!(
            count_all(self.client, entity, None, in_flight),
            count_all(
                self.client,
                entity,
                Some("onPremisesSyncEnabled eq true"),
                in_flight
            ),
        );
        stats.add(synced_stats);
        if let Ok(total) = total {
            candidates.counted(self.collection, total, synced.ok());
        }
        (total, stats)
    }

    /// Pages `parts` into `w`, all at once under `in_flight`, and checks that each paged
    /// exactly its first page's `@odata.count` and that the counts add up to `total`.
    /// `Ok(Ok(n))`: the `n` partitions are complete; `Ok(Err(why))`: they are not (or Graph
    /// refused a partition's query) and must be discarded; `Err`: the collection failed.
    async fn page_parts(
        &self,
        query: Query<'_>,
        w: &mut JsonlWriter,
        total: u64,
        parts: &[Part],
        in_flight: &Semaphore,
        stats: &mut CallStats,
    ) -> Result<Result<usize, String>, Failure> {
        let Query {
            entity,
            select,
            top,
            plan,
        } = query;
        let streams = parts.iter().enumerate().map(|(i, part)| {
            let url = format!(
                "/v1.0/{entity}?$filter={}&$select={select}&$top={top}&$count=true",
                encode_query_value(&part.filter(plan)),
            );
            let (name, value) = eventual();
            Box::pin(part_events(
                i,
                self.client.get_pages(&url).header(name, value),
                in_flight,
            ))
        });
        // Every partition waits for a place under `in_flight` (first come, first served: the
        // largest asked first) and keeps it until its last page, so a long chain is never
        // queued behind the first pages of short ones. Pages are written as they arrive, so
        // memory holds at most the pages in flight.
        let mut events = futures::stream::iter(streams).flatten_unordered(None);
        let mut counts: Vec<Option<u64>> = vec![None; parts.len()];
        let mut paged = vec![0u64; parts.len()];
        let mut refused_remainder = None;
        let mut failure = None;
        while let Some(event) = events.next().await {
            match event {
                PartEvent::Page(i, page) => {
                    if page.count.is_some() {
                        counts[i] = page.count;
                    }
                    paged[i] += page.value.len() as u64;
                    self.progress(page.value.len());
                    let objects: Vec<&RawValue> = page.value.iter().map(AsRef::as_ref).collect();
                    self.write_page(w, &objects).await?;
                }
                PartEvent::Done(s) => stats.add(s),
                PartEvent::Failed(i, e, s) => {
                    stats.add(s);
                    if parts[i].is_remainder() && is_query_refusal(&e) && paged[i] == 0 {
                        // Needed only when names start outside the alphabet, which the sum
                        // below then says.
                        tracing::info!(
                            collection = %self.collection,
                            "the remainder partition was refused; partitions cover the alphabet only"
                        );
                        refused_remainder = Some(i);
                        continue;
                    }
                    failure = Some((i, e));
                    break;
                }
            }
        }
        // The partitions still in flight are dropped here; their requests so far are not
        // counted (the pagers go with them).
        drop(events);
        if let Some((i, e)) = failure {
            if is_query_refusal(&e) {
                return Ok(Err(format!(
                    "partition {} refused: {}",
                    parts[i],
                    refusal_summary(&e)
                )));
            }
            return Err(Failure::Graph(e));
        }
        let sum: u64 = counts.iter().flatten().sum();
        if sum != total {
            return Ok(Err(format!(
                "the partitions add up to {sum} {entity} but /{entity}/$count says {total}"
            )));
        }
        let mut complete = 0;
        for (i, part) in parts.iter().enumerate() {
            if refused_remainder == Some(i) {
                continue;
            }
            let Some(count) = counts[i] else {
                return Ok(Err(format!("partition {part} came without @odata.count")));
            };
            if count != paged[i] {
                return Ok(Err(format!(
                    "partition {part} counted {count} {entity} but paged {}",
                    paged[i]
                )));
            }
            complete += 1;
        }
        Ok(Ok(complete))
    }
}

/// The split and pack sizes for a collection of `total` objects: the options' ceilings, made
/// smaller for a collection that would otherwise be paged in a handful of long chains (a
/// 20,000-user tenant is about twenty partitions of a page, not two of ten pages).
fn sizes(total: u64, options: &CollectOptions) -> Sizes {
    let concurrency = u64::try_from(options.partition_concurrency).unwrap_or(u64::MAX);
    let target = (concurrency.saturating_mul(TARGET_PARTITIONS_PERCENT) / 100).max(1);
    let aim = (total / target).max(SMALLEST_SPLIT);
    let split_above = options.partition_split_above.min(aim);
    Sizes {
        split_above,
        pack_to: options.partition_pack_to.min(split_above),
    }
}

/// `ConsistencyLevel: eventual`: what `$count` needs
/// (<https://learn.microsoft.com/graph/aad-advanced-queries>), re-sent on every page by the pager
/// (headers "are not included by default in subsequent page requests",
/// <https://learn.microsoft.com/graph/paging>).
pub(super) fn eventual() -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static("consistencylevel"),
        HeaderValue::from_static("eventual"),
    )
}

/// `GET /v1.0/{entity}/$count` (text/plain), of the objects `filter` keeps when there is one.
/// `Err` says why the count is not to be had; a refusal (e.g. the documented 400 "$count is not
/// currently supported.") is not a failure of the collection, only the end of partitioning.
async fn count_all(
    client: &GraphClient,
    entity: &str,
    filter: Option<&str>,
    in_flight: &Semaphore,
) -> (Result<u64, String>, CallStats) {
    let (name, value) = eventual();
    let mut headers = HeaderMap::new();
    headers.insert(name, value);
    let url = match filter {
        None => client.url(&format!("/v1.0/{entity}/$count")),
        Some(f) => client.url(&format!(
            "/v1.0/{entity}/$count?$filter={}",
            encode_query_value(f)
        )),
    };
    let mut stats = CallStats::default();
    let _permit = in_flight.acquire().await;
    let result = client
        .send(Method::GET, &url, &headers, None, &mut stats, |body, _| {
            parse_count(body)
        })
        .await
        .map_err(|e| format!("/{entity}/$count unavailable: {}", refusal_summary(&e)));
    (result, stats)
}

/// One page of `plan.property` values (`None`: the object has none).
async fn sample(
    client: &GraphClient,
    entity: &str,
    plan: Partitioning,
    in_flight: &Semaphore,
) -> (Result<Vec<Option<String>>, GraphError>, CallStats) {
    let url = format!(
        "/v1.0/{entity}?$select={}&$top={SAMPLE_SIZE}",
        plan.property
    );
    let mut pager = client.get_pages(&url);
    let page = {
        let _permit = in_flight.acquire().await;
        pager.next().await
    };
    let result = match page {
        None => Ok(Vec::new()),
        Some(Err(e)) => Err(e),
        Some(Ok(page)) => Ok(page
            .value
            .iter()
            .map(|raw| property_of(raw, plan.property))
            .collect()),
    };
    (result, pager.stats())
}

fn property_of(raw: &RawValue, property: &str) -> Option<String> {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(raw.get()).ok()?;
    object.get(property)?.as_str().map(str::to_owned)
}

/// The body of a `/$count` request: a number in plain text. Some `OData` services put a UTF-8
/// byte-order mark before it, and clients are told to expect one
/// (<https://github.com/oasis-tcs/odata-specs/issues/325>).
pub(super) fn parse_count(body: &[u8]) -> Result<u64, serde_json::Error> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    serde_json::from_slice(body.trim_ascii())
}

/// One partition's progress, as the merged stream reports it.
enum PartEvent {
    Page(usize, Page),
    Done(CallStats),
    Failed(usize, GraphError, CallStats),
}

/// A pager's pages as events of partition `part`, ending with `Done` or `Failed`. The chain
/// takes one of `in_flight`'s places before its first request and gives it back after its last.
fn part_events(
    part: usize,
    pager: Pager,
    in_flight: &Semaphore,
) -> impl futures::Stream<Item = PartEvent> + '_ {
    futures::stream::unfold(Some((pager, None)), move |state| async move {
        let (mut pager, permit) = state?;
        let permit = match permit {
            Some(permit) => permit,
            None => in_flight.acquire().await.ok()?,
        };
        match pager.next().await {
            Some(Ok(page)) => Some((PartEvent::Page(part, page), Some((pager, Some(permit))))),
            Some(Err(e)) => {
                let stats = pager.stats();
                Some((PartEvent::Failed(part, e, stats), None))
            }
            None => Some((PartEvent::Done(pager.stats()), None)),
        }
    })
}
