//! The HTTP side of the Graph client: one reqwest client (gzip, timeouts), the token from a
//! [`TokenSource`], a governor rate limiter shared by every request, and a shared "pause until"
//! gate that every request waits on once Graph answered 429/503 with `Retry-After`
//! (<https://learn.microsoft.com/graph/throttling>). When `x-ms-throttle-limit-percentage`
//! nears 1 (Graph sends it above 0.8 of the limit) the pace halves for a while. It sends requests
//! and applies the retry policy; it must not know Graph resources, rules or tables.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::error::{ErrorDetail, GraphError};
use super::retry::{Attempts, Decision, Failure, RetryPolicy, parse_retry_after};
use crate::graph::auth::TokenSource;

/// Margin added to a `Retry-After` wait: Graph's fractional values are rounded to milliseconds.
const RETRY_AFTER_MARGIN: Duration = Duration::from_millis(10);

/// Settings of a [`GraphClient`].
#[derive(Debug, Clone)]
pub struct GraphClientOptions {
    /// Steady request rate of the whole client (all collections together).
    pub requests_per_second: u32,
    /// Requests that may go at once after a quiet spell.
    pub burst: u32,
    pub retry: RetryPolicy,
    /// Per request, body included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// `x-ms-throttle-limit-percentage` at or above which the pace halves.
    pub slow_down_at: f64,
    /// How long the pace stays halved after such an answer (Graph's window is 10 s).
    pub slow_down_for: Duration,
}

impl Default for GraphClientOptions {
    fn default() -> Self {
        Self {
            requests_per_second: 50,
            burst: 10,
            retry: RetryPolicy::default(),
            timeout: Duration::from_mins(2),
            connect_timeout: Duration::from_secs(15),
            slow_down_at: 0.9,
            slow_down_for: Duration::from_secs(10),
        }
    }
}

/// Counters of one call (one request with its retries, or one pager).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallStats {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Requests that were retries.
    pub retries: u64,
    /// 429 answers.
    pub throttled: u64,
}

impl CallStats {
    /// Adds another call's counters to these.
    pub fn add(&mut self, other: CallStats) {
        self.requests += other.requests;
        self.retries += other.retries;
        self.throttled += other.throttled;
    }
}

/// What Graph said about a successful answer besides its body: the status line and its
/// `request-id` header (what Microsoft support asks for; logged by the Cloud Sync actions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivered {
    pub status: u16,
    pub request_id: Option<String>,
}

/// The pace every request keeps: the rate limiter, the pause gate and the slow-down.
struct Pace {
    limiter: DefaultDirectRateLimiter,
    paused_until: Mutex<Option<Instant>>,
    slow_until: Mutex<Option<Instant>>,
    slow_down_at: f64,
    slow_down_for: Duration,
}

impl Pace {
    async fn ready(&self) {
        loop {
            self.wait_pause().await;
            self.limiter.until_ready().await;
            if lock(&self.slow_until).is_some_and(|t| t > Instant::now()) {
                // Two cells per request: half the pace, for every task sharing the client.
                self.limiter.until_ready().await;
            }
            // A pause set while this request waited in the limiter still holds it, and the
            // requests it held go through the limiter again afterwards: released together they
            // would reach Graph as one burst, before the first of them learnt whether the
            // throttling is over (Graph counts those as retries before `Retry-After`).
            if !self.is_paused() {
                break;
            }
        }
    }

    fn is_paused(&self) -> bool {
        lock(&self.paused_until).is_some_and(|t| t > Instant::now())
    }

    async fn wait_pause(&self) {
        loop {
            let until = *lock(&self.paused_until);
            match until {
                Some(t) if t > Instant::now() => {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await;
                }
                _ => break,
            }
        }
    }

    fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = lock(&self.paused_until);
        if paused.is_none_or(|t| t < until) {
            *paused = Some(until);
        }
    }

    fn observe(&self, headers: &HeaderMap) {
        let share = headers
            .get("x-ms-throttle-limit-percentage")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        if share.is_some_and(|s| s >= self.slow_down_at) {
            *lock(&self.slow_until) = Some(Instant::now() + self.slow_down_for);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    tokens: Arc<dyn TokenSource>,
    retry: RetryPolicy,
    pace: Pace,
}

/// A Microsoft Graph client. Cheap to clone; clones share the connection pool, the rate limiter
/// and the pause gate.
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("base_url", &self.inner.base_url)
            .finish_non_exhaustive()
    }
}

impl GraphClient {
    /// `base_url` is `https://graph.microsoft.com` (or a national cloud's, or the simulator's),
    /// without a version.
    pub fn new(
        base_url: &str,
        tokens: Arc<dyn TokenSource>,
        options: &GraphClientOptions,
    ) -> Result<Self, GraphError> {
        let http = reqwest::Client::builder()
            .gzip(true)
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .user_agent(concat!("entra-audit/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GraphError::InvalidRequest(e.to_string()))?;
        let rps = NonZeroU32::new(options.requests_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(options.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base_url: base_url.trim_end_matches('/').to_owned(),
                tokens,
                retry: options.retry.clone(),
                pace: Pace {
                    limiter: RateLimiter::direct(Quota::per_second(rps).allow_burst(burst)),
                    paused_until: Mutex::new(None),
                    slow_until: Mutex::new(None),
                    slow_down_at: options.slow_down_at,
                    slow_down_for: options.slow_down_for,
                },
            }),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// An absolute URL as is; a path (`/v1.0/users?...`) appended to the base URL.
    pub fn url(&self, url_or_path: &str) -> String {
        if url_or_path.starts_with("https://") || url_or_path.starts_with("http://") {
            url_or_path.to_owned()
        } else if url_or_path.starts_with('/') {
            format!("{}{url_or_path}", self.inner.base_url)
        } else {
            format!("{}/{url_or_path}", self.inner.base_url)
        }
    }

    /// GET a JSON object (retried by the policy).
    pub async fn get_json(
        &self,
        url: &str,
        headers: &HeaderMap,
        stats: &mut CallStats,
    ) -> Result<Value, GraphError> {
        let url = self.url(url);
        self.send(Method::GET, &url, headers, None, stats, |b, _| {
            serde_json::from_slice(b)
        })
        .await
    }

    /// POST a JSON body; retried only on 429 with `Retry-After`. An empty answer (204) is `null`.
    pub async fn post_json(
        &self,
        url: &str,
        body: &Value,
        headers: &HeaderMap,
        stats: &mut CallStats,
    ) -> Result<Value, GraphError> {
        let url = self.url(url);
        self.send(Method::POST, &url, headers, Some(body), stats, |b, _| {
            if b.iter().all(u8::is_ascii_whitespace) {
                Ok(Value::Null)
            } else {
                serde_json::from_slice(b)
            }
        })
        .await
    }

    /// Holds every request of this client (and its clones) for `wait`: a `Retry-After` the
    /// client could not see itself, such as a throttled item inside a `$batch`'s 200.
    pub(crate) fn pause_for(&self, wait: Duration) {
        self.inner.pace.pause_for(wait);
    }

    /// POST a JSON batch (`/$batch`) of GET requests only: reading changes nothing, so the batch
    /// is retried like a GET (transport errors, 5xx, a malformed answer), not only on 429
    /// (<https://learn.microsoft.com/graph/json-batching>). Items are answered one by one inside;
    /// the caller reads their statuses.
    pub async fn post_read_batch(
        &self,
        url: &str,
        body: &Value,
        stats: &mut CallStats,
    ) -> Result<Value, GraphError> {
        let url = self.url(url);
        self.send_as(
            Method::POST,
            true,
            &url,
            &HeaderMap::new(),
            Some(body),
            stats,
            |b, _| serde_json::from_slice(b),
        )
        .await
    }

    /// Sends one request with its retries; `decode` turns a success body (and its status and
    /// request-id) into `T` (a decode failure counts as a retryable failure for idempotent
    /// methods: a malformed page).
    pub(crate) async fn send<T>(
        &self,
        method: Method,
        url: &str,
        headers: &HeaderMap,
        body: Option<&Value>,
        stats: &mut CallStats,
        decode: impl Fn(&[u8], &Delivered) -> Result<T, serde_json::Error>,
    ) -> Result<T, GraphError> {
        let idempotent = method.is_idempotent();
        self.send_as(method, idempotent, url, headers, body, stats, decode)
            .await
    }

    /// [`GraphClient::send`], with whether the request may be resent said by the caller.
    #[allow(clippy::too_many_arguments)] // send's own, plus whether it may be resent
    async fn send_as<T>(
        &self,
        method: Method,
        idempotent: bool,
        url: &str,
        headers: &HeaderMap,
        body: Option<&Value>,
        stats: &mut CallStats,
        decode: impl Fn(&[u8], &Delivered) -> Result<T, serde_json::Error>,
    ) -> Result<T, GraphError> {
        let inner = &*self.inner;
        let mut attempts = Attempts::default();
        loop {
            inner.pace.ready().await;
            let token = inner.tokens.token().await?;
            let mut request = inner
                .http
                .request(method.clone(), url)
                .headers(headers.clone())
                .bearer_auth(&token.secret);
            if let Some(body) = body {
                request = request.json(body);
            }
            stats.requests += 1;
            let transport = |e: reqwest::Error| GraphError::Transport {
                method: method.to_string(),
                url: url.to_owned(),
                source: e.without_url(),
            };
            let (failure, error) = match request.send().await {
                Err(e) if e.is_builder() => {
                    return Err(GraphError::InvalidRequest(e.without_url().to_string()));
                }
                Err(e) => (Failure::Transport, transport(e)),
                Ok(response) => {
                    let http_status = response.status();
                    let response_headers = response.headers().clone();
                    inner.pace.observe(&response_headers);
                    match response.bytes().await {
                        Err(e) => (Failure::Transport, transport(e)),
                        Ok(bytes) if http_status.is_success() => match decode(
                            &bytes,
                            &Delivered {
                                status: http_status.as_u16(),
                                request_id: response_headers
                                    .get("request-id")
                                    .and_then(|v| v.to_str().ok())
                                    .map(str::to_owned),
                            },
                        ) {
                            Ok(value) => return Ok(value),
                            Err(e) => (
                                Failure::Decode,
                                GraphError::Decode {
                                    method: method.to_string(),
                                    url: url.to_owned(),
                                    source: e,
                                },
                            ),
                        },
                        Ok(bytes) => {
                            if http_status == StatusCode::TOO_MANY_REQUESTS {
                                stats.throttled += 1;
                            }
                            let retry_after = response_headers
                                .get(RETRY_AFTER)
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| parse_retry_after(v, SystemTime::now()));
                            let detail = Box::new(ErrorDetail::from_response(
                                method.as_str(),
                                url,
                                http_status,
                                &response_headers,
                                &bytes,
                            ));
                            let error = if http_status == StatusCode::FORBIDDEN {
                                GraphError::Forbidden(detail)
                            } else {
                                GraphError::Status(detail)
                            };
                            (
                                Failure::Status {
                                    status: http_status.as_u16(),
                                    retry_after,
                                },
                                error,
                            )
                        }
                    }
                }
            };
            let decision = inner
                .retry
                .decide(failure, idempotent, &mut attempts, &mut rand::rng());
            match decision {
                Decision::GiveUp => return Err(error),
                Decision::RenewToken => inner.tokens.invalidate(&token),
                Decision::WaitAsTold(wait) => inner.pace.pause_for(wait + RETRY_AFTER_MARGIN),
                Decision::Backoff(wait) => tokio::time::sleep(wait).await,
            }
            tracing::debug!(%error, ?decision, "retrying Graph request");
            stats.retries += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace(rps: u32) -> Pace {
        let rps = NonZeroU32::new(rps).unwrap();
        Pace {
            limiter: RateLimiter::direct(Quota::per_second(rps).allow_burst(NonZeroU32::MIN)),
            paused_until: Mutex::new(None),
            slow_until: Mutex::new(None),
            slow_down_at: 0.9,
            slow_down_for: Duration::from_secs(5),
        }
    }

    fn share(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-ms-throttle-limit-percentage", value.parse().unwrap());
        headers
    }

    #[tokio::test]
    async fn the_pace_halves_when_the_limit_share_nears_one() {
        let pace = pace(20);
        pace.observe(&share("0.85"));
        assert!(lock(&pace.slow_until).is_none(), "below the threshold");
        pace.observe(&share("0.95"));
        assert!(lock(&pace.slow_until).is_some());
        let start = Instant::now();
        for _ in 0..5 {
            pace.ready().await;
        }
        // Two cells of 50 ms per request, the first one free: at least 9 × 50 ms.
        assert!(
            start.elapsed() >= Duration::from_millis(440),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn every_request_waits_for_the_pause_gate() {
        let pace = pace(1_000);
        pace.pause_for(Duration::from_millis(200));
        // A shorter pause does not cut the longer one short.
        pace.pause_for(Duration::from_millis(10));
        let start = Instant::now();
        pace.ready().await;
        assert!(
            start.elapsed() >= Duration::from_millis(195),
            "{:?}",
            start.elapsed()
        );
    }
}
