//! `OData` paging (<https://learn.microsoft.com/graph/paging>): follows `@odata.nextLink` verbatim
//! (never rebuilding it from a `$skiptoken`), re-sends the caller's headers such as
//! `ConsistencyLevel` on every page (Graph does not carry them over), and hands each page's
//! `value` over as raw JSON, untouched, with `@odata.count` (first page only) and the
//! `@odata.deltaLink` of a delta round. It pages; what the objects mean is the caller's business.

use futures::Stream;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::client::{CallStats, GraphClient};
use super::error::GraphError;

/// One page of a collection.
#[derive(Debug, Deserialize)]
pub struct Page {
    /// The objects, as Graph sent them. "A page of results may contain zero or more results."
    #[serde(default)]
    pub value: Vec<Box<RawValue>>,
    /// `@odata.count` (with `$count=true`; present only on the first page).
    #[serde(rename = "@odata.count", default)]
    pub count: Option<u64>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", default)]
    pub delta_link: Option<String>,
}

/// Pages of one collection, fetched one at a time.
#[derive(Debug)]
pub struct Pager {
    client: GraphClient,
    next: Option<String>,
    headers: HeaderMap,
    stats: CallStats,
}

impl GraphClient {
    /// Pages `url` (absolute, or a path under the base URL) until no `@odata.nextLink` is left.
    pub fn get_pages(&self, url: &str) -> Pager {
        Pager {
            next: Some(self.url(url)),
            client: self.clone(),
            headers: HeaderMap::new(),
            stats: CallStats::default(),
        }
    }

    /// Every object of every page of `url` (for small collections), its requests, retries and
    /// 429s added to `stats` whether it succeeds or not.
    pub async fn get_all(
        &self,
        url: &str,
        stats: &mut CallStats,
    ) -> Result<Vec<Box<RawValue>>, GraphError> {
        let mut pager = self.get_pages(url);
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
        stats.add(pager.stats());
        result.map(|()| objects)
    }
}

impl Pager {
    /// A header sent with every page (e.g. `ConsistencyLevel: eventual` for `$count`).
    #[must_use]
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// The next page; `None` after the last page or after an error.
    pub async fn next(&mut self) -> Option<Result<Page, GraphError>> {
        let url = self.next.take()?;
        let result = self
            .client
            .send(
                Method::GET,
                &url,
                &self.headers,
                None,
                &mut self.stats,
                |b, _| serde_json::from_slice::<Page>(b),
            )
            .await;
        if let Ok(page) = &result {
            self.next.clone_from(&page.next_link);
        }
        Some(result)
    }

    /// Requests, retries and 429s so far.
    pub fn stats(&self) -> CallStats {
        self.stats
    }

    /// The pages as a stream (the counters are then the stream's business; read them before).
    pub fn into_stream(self) -> impl Stream<Item = Result<Page, GraphError>> {
        futures::stream::unfold(self, |mut pager| async move {
            pager.next().await.map(|page| (page, pager))
        })
    }
}
