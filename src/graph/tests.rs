//! Tests of the Graph client: the retry policy as pure functions (injected clock and random
//! source), and the client and pager against the simulated tenant in-process (127.0.0.1:0, no
//! latency, small tenants, throttling and faults switched on per test).

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::SeedableRng;
use rand::rngs::StdRng;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::*;
use crate::graph::auth::{AccessToken, AuthError, TokenSource};
use crate::graph::retry::{Attempts, Decision, Failure, parse_retry_after};
use crate::simulate::faults::{FaultKind, FaultOptions, FaultRule};
use crate::simulate::generator::{GeneratorOptions, generate};
use crate::simulate::{ServerOptions, SimServer, ThrottleOptions};

const CLIENT: &str = "9a3d526c-2222-4b5c-8d9e-0f1a2b3c4d5e";
const SECRET: &str = "sim-secret~value";

// ---------------------------------------------------------------------------------------------
// Retry policy

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn retry_after_accepts_fractional_seconds_integers_and_http_dates() {
    let now = at(1_800_000_000);
    assert_eq!(
        parse_retry_after("2.128", now),
        Some(Duration::from_millis(2128))
    );
    assert_eq!(parse_retry_after(" 3 ", now), Some(Duration::from_secs(3)));
    assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
    let date = httpdate::fmt_http_date(at(1_800_000_007));
    assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(7)));
    // A date already past means "now", not an error.
    let past = httpdate::fmt_http_date(at(1_799_999_000));
    assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("-1", now), None);
    assert_eq!(parse_retry_after("soon", now), None);
}

#[test]
fn backoff_is_full_jitter_under_an_exponential_capped_ceiling() {
    let policy = RetryPolicy::default();
    assert_eq!(policy.ceiling(0), Duration::from_millis(500));
    assert_eq!(policy.ceiling(1), Duration::from_secs(1));
    assert_eq!(policy.ceiling(5), Duration::from_secs(16));
    assert_eq!(policy.ceiling(6), Duration::from_secs(30), "capped");
    assert_eq!(
        policy.ceiling(1_000),
        Duration::from_secs(30),
        "no overflow"
    );
    let mut rng = StdRng::seed_from_u64(7);
    for retry in 0..8 {
        let ceiling = policy.ceiling(retry);
        let samples: Vec<Duration> = (0..500).map(|_| policy.jittered(retry, &mut rng)).collect();
        assert!(samples.iter().all(|d| *d <= ceiling), "retry {retry}");
        // Full jitter spreads over the whole range, not just near the ceiling.
        assert!(samples.iter().any(|d| *d < ceiling / 4), "retry {retry}");
        assert!(
            samples.iter().any(|d| *d > ceiling * 3 / 4),
            "retry {retry}"
        );
    }
}

fn status(code: u16, retry_after: Option<f64>) -> Failure {
    Failure::Status {
        status: code,
        retry_after: retry_after.map(Duration::from_secs_f64),
    }
}

#[test]
fn policy_decisions_by_status_method_and_attempt() {
    let policy = RetryPolicy::default();
    let mut rng = StdRng::seed_from_u64(1);
    let mut decide = |failure, idempotent| {
        policy.decide(failure, idempotent, &mut Attempts::default(), &mut rng)
    };
    // Throttling: wait exactly as told, GET or POST.
    assert_eq!(
        decide(status(429, Some(2.128)), true),
        Decision::WaitAsTold(Duration::from_millis(2128))
    );
    assert_eq!(
        decide(status(503, Some(1.0)), true),
        Decision::WaitAsTold(Duration::from_secs(1))
    );
    assert_eq!(
        decide(status(429, Some(0.5)), false),
        Decision::WaitAsTold(Duration::from_millis(500))
    );
    // POST is never retried blindly.
    for failure in [
        status(503, Some(1.0)),
        status(429, None),
        status(500, None),
        Failure::Transport,
        Failure::Decode,
    ] {
        assert_eq!(decide(failure, false), Decision::GiveUp, "{failure:?}");
    }
    // GET backs off on 5xx, 408, transport and decode failures, and 429 without Retry-After.
    for failure in [
        status(500, None),
        status(502, None),
        status(504, None),
        status(503, None),
        status(408, None),
        status(429, None),
        Failure::Transport,
        Failure::Decode,
    ] {
        assert!(
            matches!(decide(failure, true), Decision::Backoff(d) if d <= policy.base),
            "{failure:?}"
        );
    }
    // Other 4xx: never.
    for code in [400, 403, 404, 409, 412] {
        assert_eq!(decide(status(code, None), true), Decision::GiveUp, "{code}");
    }
    // 401: renew the token up to MAX_TOKEN_RENEWALS times, then give up.
    let mut attempts = Attempts::default();
    for _ in 0..crate::graph::retry::MAX_TOKEN_RENEWALS {
        assert_eq!(
            policy.decide(status(401, None), true, &mut attempts, &mut rng),
            Decision::RenewToken
        );
    }
    assert_eq!(
        policy.decide(status(401, None), true, &mut attempts, &mut rng),
        Decision::GiveUp
    );
}

#[test]
fn policy_gives_up_after_max_attempts_and_max_throttle_waits() {
    let policy = RetryPolicy {
        max_attempts: 4,
        max_throttle_waits: 3,
        max_retry_after: Duration::from_mins(1),
        ..RetryPolicy::default()
    };
    let mut rng = StdRng::seed_from_u64(2);
    let mut attempts = Attempts::default();
    let decisions: Vec<Decision> = (0..4)
        .map(|_| policy.decide(status(500, None), true, &mut attempts, &mut rng))
        .collect();
    assert!(
        decisions[..3]
            .iter()
            .all(|d| matches!(d, Decision::Backoff(_)))
    );
    assert_eq!(decisions[3], Decision::GiveUp, "4 attempts in all");

    let mut attempts = Attempts::default();
    let decisions: Vec<Decision> = (0..4)
        .map(|_| policy.decide(status(429, Some(600.0)), true, &mut attempts, &mut rng))
        .collect();
    assert_eq!(
        decisions[..3],
        [Decision::WaitAsTold(Duration::from_mins(1)); 3],
        "clamped to max_retry_after"
    );
    assert_eq!(decisions[3], Decision::GiveUp);
}

// ---------------------------------------------------------------------------------------------
// Against the simulator

/// Client-credentials tokens straight from the simulator's token endpoint, counting fetches and
/// invalidations.
struct SimTokens {
    url: String,
    http: reqwest::Client,
    cached: Mutex<Option<AccessToken>>,
    fetched: AtomicU32,
    invalidated: AtomicU32,
}

impl TokenSource for SimTokens {
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<AccessToken, AuthError>> + Send + '_>> {
        Box::pin(async move {
            if let Some(token) = self.cached.lock().unwrap().clone() {
                return Ok(token);
            }
            let form = [
                ("client_id", CLIENT),
                ("client_secret", SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
                ("grant_type", "client_credentials"),
            ];
            let body: Value = self
                .http
                .post(&self.url)
                .form(&form)
                .send()
                .await
                .map_err(|e| {
                    AuthError::new(
                        crate::graph::auth::AuthErrorKind::Unreachable,
                        e.to_string(),
                    )
                })?
                .json()
                .await
                .map_err(|e| {
                    AuthError::new(
                        crate::graph::auth::AuthErrorKind::Unreachable,
                        e.to_string(),
                    )
                })?;
            let token = AccessToken {
                secret: body["access_token"].as_str().unwrap().to_owned(),
                expires_at: Instant::now() + Duration::from_mins(50),
                delegated: false,
            };
            self.fetched.fetch_add(1, Ordering::SeqCst);
            *self.cached.lock().unwrap() = Some(token.clone());
            Ok(token)
        })
    }

    fn invalidate(&self, rejected: &AccessToken) {
        let mut cached = self.cached.lock().unwrap();
        if cached.as_ref().is_some_and(|t| t.secret == rejected.secret) {
            *cached = None;
        }
        self.invalidated.fetch_add(1, Ordering::SeqCst);
    }
}

struct Setup {
    server: SimServer,
    tokens: Arc<SimTokens>,
    client: GraphClient,
    users: usize,
}

fn fast_options() -> GraphClientOptions {
    GraphClientOptions {
        requests_per_second: 1_000,
        burst: 100,
        retry: RetryPolicy {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(100),
            ..RetryPolicy::default()
        },
        timeout: Duration::from_secs(20),
        ..GraphClientOptions::default()
    }
}

async fn setup(users: usize, configure: impl FnOnce(&mut ServerOptions)) -> Setup {
    let tenant = generate(&GeneratorOptions {
        users,
        ..GeneratorOptions::default()
    });
    let count = tenant.users.len();
    let tenant_id = tenant.tenant_id.clone();
    let mut options = ServerOptions::for_tests(CLIENT, SECRET);
    configure(&mut options);
    let server = SimServer::start(tenant, options).await.unwrap();
    let tokens = Arc::new(SimTokens {
        url: format!("{}/{tenant_id}/oauth2/v2.0/token", server.base_url()),
        http: reqwest::Client::new(),
        cached: Mutex::new(None),
        fetched: AtomicU32::new(0),
        invalidated: AtomicU32::new(0),
    });
    let client = GraphClient::new(server.base_url(), tokens.clone(), &fast_options()).unwrap();
    Setup {
        server,
        tokens,
        client,
        users: count,
    }
}

fn faults(rules: Vec<FaultRule>) -> impl FnOnce(&mut ServerOptions) {
    move |o| {
        o.faults = FaultOptions {
            seed: 1,
            rules,
            retry_after_503: Duration::from_millis(50),
            ..FaultOptions::default()
        };
    }
}

/// Pages to the end (bounded), returning the distinct ids and the number of pages.
async fn all_ids(pager: &mut Pager) -> Result<(BTreeSet<String>, usize), GraphError> {
    let mut ids = BTreeSet::new();
    let mut page_count = 0;
    while let Some(page) = pager.next().await {
        let page = page?;
        page_count += 1;
        assert!(page_count < 1_000, "runaway paging");
        for raw in page.value {
            let object: Value = serde_json::from_str(raw.get()).unwrap();
            assert!(ids.insert(object["id"].as_str().unwrap().to_owned()));
        }
    }
    Ok((ids, page_count))
}

#[tokio::test]
async fn pages_every_user_with_select_top_999_and_count() {
    let s = setup(2_100, |_| {}).await;
    assert!(s.users > 1_998, "three pages at least: {}", s.users);
    let mut pager = s
        .client
        .get_pages(
            "/v1.0/users?$select=id,userPrincipalName,onPremisesImmutableId&$top=999&$count=true",
        )
        .header(
            HeaderName::from_static("consistencylevel"),
            HeaderValue::from_static("eventual"),
        );
    let mut ids = BTreeSet::new();
    let mut counts = Vec::new();
    while let Some(page) = pager.next().await {
        let page = page.unwrap();
        assert!(page.value.len() <= 999);
        counts.push(page.count);
        for raw in page.value {
            let object: Value = serde_json::from_str(raw.get()).unwrap();
            assert!(object.get("userPrincipalName").is_some(), "{object}");
            assert!(object.get("displayName").is_none(), "$select honoured");
            ids.insert(object["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(ids.len(), s.users);
    let page_count = s.users.div_ceil(999);
    assert_eq!(counts.len(), page_count);
    // `@odata.count` on the first page only; every later page still carried ConsistencyLevel
    // (the simulator refuses `$count` without it).
    assert_eq!(counts[0], Some(s.users as u64));
    let stats = pager.stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.throttled),
        (page_count as u64, 0, 0)
    );
    assert_eq!(s.server.handle().stats().graph_requests, page_count as u64);
}

#[tokio::test]
async fn throttling_is_waited_out_as_told_and_every_user_arrives() {
    let s = setup(40, |o| {
        o.throttle = ThrottleOptions {
            resource_units: Some(3),
            window: Duration::from_millis(300),
            ..ThrottleOptions::default()
        };
    })
    .await;
    let mut pager = s.client.get_pages("/v1.0/users?$select=id&$top=5");
    let (ids, page_count) = all_ids(&mut pager).await.unwrap();
    assert_eq!(ids.len(), s.users);
    let server = s.server.handle().stats();
    let stats = pager.stats();
    assert!(server.throttled > 0, "the throttle must bite: {server:?}");
    assert_eq!(server.early_retries, 0, "waited as told: {server:?}");
    assert_eq!(stats.throttled, server.throttled);
    assert_eq!(stats.retries, stats.throttled);
    assert_eq!(stats.requests, page_count as u64 + stats.retries);
}

#[tokio::test]
async fn service_unavailable_is_retried_after_its_retry_after() {
    let s = setup(
        40,
        faults(vec![
            FaultRule::new(FaultKind::ServiceUnavailable, 0.5).at_most(3),
            FaultRule::new(FaultKind::GatewayTimeout, 0.5).at_most(2),
        ]),
    )
    .await;
    let mut pager = s.client.get_pages("/v1.0/users?$select=id&$top=5");
    let (ids, _) = all_ids(&mut pager).await.unwrap();
    assert_eq!(ids.len(), s.users);
    let server = s.server.handle().stats();
    let fired = server.faults.values().sum::<u64>();
    assert!(
        server.faults.get("503").copied().unwrap_or(0) > 0,
        "{server:?}"
    );
    assert_eq!(pager.stats().retries, fired);
    assert_eq!(server.early_retries, 0);
}

#[tokio::test]
async fn truncated_and_malformed_pages_are_fetched_again() {
    for kind in [FaultKind::TruncatedBody, FaultKind::MalformedJson] {
        let s = setup(40, faults(vec![FaultRule::new(kind, 1.0).at_most(2)])).await;
        let mut pager = s
            .client
            .get_pages("/v1.0/users?$select=id,proxyAddresses&$top=20");
        let (ids, _) = all_ids(&mut pager).await.unwrap();
        assert_eq!(ids.len(), s.users, "{kind:?}");
        assert_eq!(s.server.handle().stats().faults[kind.name()], 2);
        assert_eq!(pager.stats().retries, 2, "{kind:?}");
    }
}

#[tokio::test]
async fn connection_resets_are_retried() {
    let s = setup(
        40,
        faults(vec![
            FaultRule::new(FaultKind::ConnectionReset, 1.0).at_most(3),
        ]),
    )
    .await;
    let mut pager = s.client.get_pages("/v1.0/users?$select=id&$top=20");
    let (ids, _) = all_ids(&mut pager).await.unwrap();
    assert_eq!(ids.len(), s.users);
    assert_eq!(s.server.handle().stats().faults["reset"], 3);
    assert_eq!(pager.stats().retries, 3);
}

#[tokio::test]
async fn a_forbidden_collection_is_a_typed_error_without_retries() {
    let s = setup(10, |o| o.faults.forbidden = vec!["groups".into()]).await;
    let mut pager = s.client.get_pages("/v1.0/groups?$select=id");
    let error = pager.next().await.unwrap().unwrap_err();
    assert!(error.is_forbidden(), "{error}");
    assert_eq!(error.code(), Some("Authorization_RequestDenied"));
    let detail = error.detail().unwrap();
    assert_eq!(detail.status, 403);
    assert!(detail.request_id.is_some(), "{detail:?}");
    assert!(
        detail.url.ends_with("/v1.0/groups?$select=id"),
        "{}",
        detail.url
    );
    assert!(pager.next().await.is_none(), "a pager stops after an error");
    assert_eq!((pager.stats().requests, pager.stats().retries), (1, 0));
    assert_eq!(s.server.handle().stats().graph_requests, 1);
    // The message names the URL and code, never the token.
    let token = s.tokens.token().await.unwrap().secret;
    assert!(!error.to_string().contains(&token));
}

#[tokio::test]
async fn a_bad_request_is_not_retried() {
    let s = setup(10, |_| {}).await;
    let mut stats = CallStats::default();
    let error = s
        .client
        .get_json(
            "/v1.0/users?$filter=startswith(notAProperty,'x')",
            &HeaderMap::new(),
            &mut stats,
        )
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(400), "{error}");
    assert!(!error.is_forbidden());
    assert!(error.code().is_some(), "{error}");
    assert_eq!((stats.requests, stats.retries), (1, 0));
    assert_eq!(s.server.handle().stats().graph_requests, 1);
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_mid_run() {
    let s = setup(40, |o| o.faults.expire_token_after = Some(3)).await;
    // Five pages: three on the first token, the fourth is refused once, then a new token.
    let top = s.users.div_ceil(5);
    let mut pager = s
        .client
        .get_pages(&format!("/v1.0/users?$select=id&$top={top}"));
    let (ids, page_count) = all_ids(&mut pager).await.unwrap();
    assert_eq!(ids.len(), s.users);
    assert_eq!(page_count, 5);
    assert_eq!(s.tokens.invalidated.load(Ordering::SeqCst), 1);
    assert_eq!(s.tokens.fetched.load(Ordering::SeqCst), 2);
    let server = s.server.handle().stats();
    assert_eq!(server.unauthorized, 1);
    assert_eq!(pager.stats().retries, 1);
}
