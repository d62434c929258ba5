//! The simulated tenant served over HTTP: Microsoft Graph (`/v1.0`, `/beta`) and the Entra token
//! endpoint on one loopback listener, plus `/_simulator/` hooks for tests and demos (stats,
//! recorded writes, device-code approval). It wires the other modules together: `token` for
//! credentials, `odata` for query options, `throttle` for resource units and 429s, `faults` for
//! injected failures, `resources` for the Graph paths themselves, `response` for bodies and
//! headers.
//!
//! The store is the typed `SimTenant` behind a lock (pages are serialised record by record, so
//! 500,000 users stay within the memory budget). The order of checks on a Graph request is:
//! bearer token, injected transport faults, throttling, then the resource; latency, body faults
//! and gzip are applied to the answer. Behaviour follows the Graph docs cited at each step.
//! JSON batching (`POST /$batch`) lives here too: each item goes through the same
//! throttling and resource code as a direct request (<https://learn.microsoft.com/graph/json-batching>).
//! Delta queries are in `delta`, fed by the change log the `SimHandle` hooks (`change`, `add`,
//! `remove`) keep. This module must not share request or parsing code with the project's Graph
//! client.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::delta::{ChangeLog, DeltaObject, Removal, What, changed_properties};
use super::faults::{ConnInfo, FaultKind, FaultOptions, Faults, SimListener};
use super::folded::FoldedColumns;
use super::model::{SimTenant, User};
use super::odata::{self, percent_decode};
use super::resources::{Ctx, GraphOk, Meta, resource};
use super::response::{
    ErrorResponse, GRAPH_JSON, RequestIds, accepts_gzip, error_body, gzip, throttled_body,
};
use super::throttle::{Decision, RequestShape, Throttle, ThrottleOptions, format_retry_after};
use super::token::{Caller, ClientApp, DeviceCodeOptions, TokenProblem, TokenReply, TokenService};

/// Graph's default page size for directory collections
/// (<https://learn.microsoft.com/graph/api/user-list>: "The default and maximum page sizes are 100
/// and 999").
const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest request body accepted (job actions are tiny; this bounds a hostile client).
const MAX_BODY: usize = 1 << 20;
/// Distinct paths counted one by one in `Stats::paths`; further ones (a client reading 500,000
/// users one by one) share one entry so the counters stay small.
const MAX_STAT_PATHS: usize = 1_000;
const OTHER_PATHS: &str = "(other paths)";

/// Latency added to each Graph response: `base` plus `per_object` for every object on a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    pub base: Duration,
    pub per_object: Duration,
}

impl Latency {
    /// No added latency (tests, benchmarks of the client itself).
    pub const ZERO: Latency = Latency {
        base: Duration::ZERO,
        per_object: Duration::ZERO,
    };

    /// What Graph shows in practice: about 1.3 s for a 999-user page with `$select`
    /// (300 ms + 1 ms per object; client logs and the issue put it at 1–2 s: no doc states it).
    pub fn graph_like() -> Self {
        Self {
            base: Duration::from_millis(300),
            per_object: Duration::from_millis(1),
        }
    }

    fn for_objects(self, n: usize) -> Duration {
        self.base + self.per_object * u32::try_from(n).unwrap_or(u32::MAX)
    }
}

/// The longest `--latency` part (base or per object) accepted.
const MAX_LATENCY: Duration = Duration::from_mins(1);

/// `--latency` values: `0`/`off`, `graph` (the default), or `BASE_MS+PER_OBJECT_MS` such as
/// `300+1` or `50+0.2`.
impl FromStr for Latency {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s.to_ascii_lowercase().as_str() {
            "0" | "off" | "none" => return Ok(Latency::ZERO),
            "graph" | "default" => return Ok(Latency::graph_like()),
            _ => {}
        }
        let ms = |v: &str| -> Result<Duration, String> {
            let v = v.trim().trim_end_matches("ms");
            let f: f64 = v
                .parse()
                .map_err(|_| format!("latency '{s}': '{v}' is not a number of milliseconds"))?;
            let d = Duration::try_from_secs_f64(f / 1000.0)
                .map_err(|e| format!("latency '{s}': {e}"))?;
            // Longer is a typo (and a demo that never answers); it also keeps `per_object` times
            // a page of objects far from overflowing.
            if d > MAX_LATENCY {
                return Err(format!("latency '{s}': at most 60000 ms"));
            }
            Ok(d)
        };
        let (base, per) = s.split_once('+').unwrap_or((s, "0"));
        Ok(Latency {
            base: ms(base)?,
            per_object: ms(per)?,
        })
    }
}

/// How the simulator behaves. The tenant id comes from `SimTenant::tenant_id`.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Registered applications (client id, secret, optional certificate).
    pub apps: Vec<ClientApp>,
    /// Lifetime of access tokens (`expires_in`). Entra's is about an hour.
    pub token_lifetime: Duration,
    pub device_code: DeviceCodeOptions,
    pub latency: Latency,
    pub throttle: ThrottleOptions,
    pub faults: FaultOptions,
    /// Base URL the simulator advertises (nextLinks, assertion `aud`, verification URI).
    /// Default: `http://{listener address}`.
    pub public_base_url: Option<String>,
    /// Extra scope resources accepted besides `https://graph.microsoft.com` and the base URL.
    pub extra_graph_resources: Vec<String>,
    /// Page size without `$top` (Graph: 100).
    pub default_page_size: u32,
    /// Records a filtered page examines at most; past that it returns what it found (possibly
    /// nothing) with a nextLink, as Graph may ("A page of results may contain zero or more
    /// results", <https://learn.microsoft.com/graph/paging>).
    pub max_scan_per_page: usize,
    /// Serve a national cloud's schema: its beta `organization` lacks
    /// onPremisesLastPasswordSyncDateTime (absent from the US Government and China beta metadata),
    /// so a `$select` of it is a 400 there as in v1.0.
    pub national_cloud: bool,
}

impl ServerOptions {
    /// One application with a client secret, Graph-like latency and throttling, no faults.
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        Self {
            apps: vec![ClientApp::with_secret(client_id, client_secret)],
            token_lifetime: Duration::from_secs(3599),
            device_code: DeviceCodeOptions::default(),
            latency: Latency::graph_like(),
            throttle: ThrottleOptions::default(),
            faults: FaultOptions::default(),
            public_base_url: None,
            extra_graph_resources: Vec::new(),
            default_page_size: DEFAULT_PAGE_SIZE,
            max_scan_per_page: 100_000,
            national_cloud: false,
        }
    }

    /// As `new`, without latency or throttling: what unit and integration tests want.
    pub fn for_tests(client_id: &str, client_secret: &str) -> Self {
        Self {
            latency: Latency::ZERO,
            throttle: ThrottleOptions::off(),
            ..Self::new(client_id, client_secret)
        }
    }
}

/// Counters per request path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PathStats {
    pub requests: u64,
    pub resource_units: u64,
    pub throttled: u64,
    pub early_retries: u64,
}

/// What the simulator has seen (also at `GET /_simulator/stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Requests to `/v1.0` and `/beta` (a `$batch` counts once; its items are counted in
    /// `paths` under their own paths).
    pub graph_requests: u64,
    /// Requests to the token and device-code endpoints.
    pub token_requests: u64,
    /// Resource units charged (throttled requests included: Graph keeps counting them).
    pub resource_units: u64,
    /// 429 answers.
    pub throttled: u64,
    /// Requests that arrived before the `Retry-After` given to their application had elapsed.
    pub early_retries: u64,
    /// 401 answers to Graph calls.
    pub unauthorized: u64,
    /// Injected faults by kind (`503`, `504`, `reset`, `truncate`, `malformed`, `expired-token`,
    /// `forbidden`).
    pub faults: BTreeMap<String, u64>,
    /// Per request path (without the query string); past 1,000 distinct paths the rest are
    /// counted under `(other paths)`.
    pub paths: BTreeMap<String, PathStats>,
}

impl Stats {
    fn path_entry(&mut self, path: &str) -> &mut PathStats {
        let key = if self.paths.len() < MAX_STAT_PATHS || self.paths.contains_key(path) {
            path
        } else {
            OTHER_PATHS
        };
        self.paths.entry(key.to_owned()).or_default()
    }
}

/// A write request as received (method, path with query, body) and the status it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedWrite {
    pub method: String,
    pub path: String,
    pub body: String,
    pub status: u16,
}

/// State shared by every request of one simulator.
pub(super) struct Shared {
    tenant: RwLock<SimTenant>,
    pub(super) meta: Meta,
    tokens: TokenService,
    throttle: Throttle,
    faults: Faults,
    latency: Latency,
    pub(super) default_page_size: u32,
    pub(super) max_scan: usize,
    pub(super) base_url: String,
    tenant_id: String,
    pub(super) skiptoken_key: [u8; 32],
    ordinal: AtomicU64,
    stats: Mutex<Stats>,
    writes: Mutex<Vec<RecordedWrite>>,
    /// Changes for delta queries; always locked after `tenant`.
    changes: Mutex<ChangeLog>,
    /// Bumped each time the tenant is locked for writing: what says a folded column is stale.
    generation: AtomicU64,
    pub(super) folded: FoldedColumns,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(super) fn read_tenant(&self) -> std::sync::RwLockReadGuard<'_, SimTenant> {
        self.tenant
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn write_tenant(&self) -> std::sync::RwLockWriteGuard<'_, SimTenant> {
        let guard = self
            .tenant
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Bumped under the write lock: a reader (under the read lock) sees the generation of
        // the records it reads.
        self.generation.fetch_add(1, Ordering::Relaxed);
        guard
    }

    /// The tenant's generation; read it under the tenant lock with the records it stands for.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// The change log (lock it while holding the tenant lock, never the other way round).
    pub(super) fn change_log(&self) -> std::sync::MutexGuard<'_, ChangeLog> {
        lock(&self.changes)
    }

    /// The fault settings (the resource handlers apply the query-level ones: refused `$count`
    /// and filters, miscounts).
    pub(super) fn faults(&self) -> &Faults {
        &self.faults
    }

    pub(super) fn count_fault(&self, name: &str) {
        *lock(&self.stats).faults.entry(name.to_owned()).or_default() += 1;
    }
}

/// A handle on a running simulator: stats, recorded writes, test hooks, tenant access.
#[derive(Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT` (or `public_base_url`): authority host and Graph endpoint.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    pub fn tenant_id(&self) -> &str {
        &self.shared.tenant_id
    }

    pub fn stats(&self) -> Stats {
        lock(&self.shared.stats).clone()
    }

    /// Every write request (POST/PATCH/PUT/DELETE under `/v1.0` or `/beta`), in arrival order.
    pub fn writes(&self) -> Vec<RecordedWrite> {
        lock(&self.shared.writes).clone()
    }

    /// Forgets stats and recorded writes.
    pub fn reset_stats(&self) {
        *lock(&self.shared.stats) = Stats::default();
        lock(&self.shared.writes).clear();
    }

    /// The user approves a pending device code (the test hook of the device code flow).
    /// Returns false when no such code is waiting.
    pub fn approve_device_code(&self, user_code: &str) -> bool {
        self.shared.tokens.decide_device_code(user_code, true)
    }

    /// The user declines a pending device code.
    pub fn decline_device_code(&self, user_code: &str) -> bool {
        self.shared.tokens.decide_device_code(user_code, false)
    }

    /// User codes waiting for the user.
    pub fn pending_user_codes(&self) -> Vec<String> {
        self.shared.tokens.pending_user_codes()
    }

    /// Expires every access token issued so far (clients must get new ones).
    pub fn expire_all_tokens(&self) {
        self.shared.tokens.expire_all();
    }

    /// Reads the tenant as it is now.
    pub fn read_tenant<R>(&self, f: impl FnOnce(&SimTenant) -> R) -> R {
        f(&self.shared.read_tenant())
    }

    /// Changes the tenant (between collection rounds, to plant or fix a problem...). Requests
    /// wait while `f` runs. A paging client keeps its positions: deleting records shifts them.
    /// Delta queries do not see these changes; use `change`, `add` and `remove` for that.
    pub fn update_tenant<R>(&self, f: impl FnOnce(&mut SimTenant) -> R) -> R {
        f(&mut self.shared.write_tenant())
    }

    /// Changes one user, contact or group (by id, case-insensitive) and records it for delta
    /// queries with the properties that changed. Returns false when there is no such object.
    pub fn change<T: DeltaObject>(&self, id: &str, f: impl FnOnce(&mut T)) -> bool {
        let mut tenant = self.shared.write_tenant();
        let Some(obj) = T::collection_mut(&mut tenant)
            .iter_mut()
            .find(|o| o.object_id().eq_ignore_ascii_case(id))
        else {
            return false;
        };
        let before = serde_json::to_value(&*obj).unwrap_or(Value::Null);
        f(obj);
        let after = serde_json::to_value(&*obj).unwrap_or(Value::Null);
        let props = changed_properties(&before, &after);
        if !props.is_empty() {
            let id = obj.object_id().to_owned();
            self.shared
                .change_log()
                .record(T::KIND, id, What::Changed(props));
        }
        true
    }

    /// Adds a user, contact or group (at the end of its collection) and records it for delta.
    pub fn add<T: DeltaObject>(&self, obj: T) {
        let mut tenant = self.shared.write_tenant();
        let id = obj.object_id().to_owned();
        T::collection_mut(&mut tenant).push(obj);
        self.shared.change_log().record(T::KIND, id, What::Added);
    }

    /// Deletes a user, contact or group and records how for delta (`@removed` reason).
    /// Returns false when there is no such object.
    pub fn remove<T: DeltaObject>(&self, id: &str, how: Removal) -> bool {
        let mut tenant = self.shared.write_tenant();
        let items = T::collection_mut(&mut tenant);
        let Some(pos) = items
            .iter()
            .position(|o| o.object_id().eq_ignore_ascii_case(id))
        else {
            return false;
        };
        let obj = items.remove(pos);
        self.shared
            .change_log()
            .record(T::KIND, obj.object_id().to_owned(), What::Removed(how));
        true
    }

    /// `change` for a user.
    pub fn change_user(&self, id: &str, f: impl FnOnce(&mut User)) -> bool {
        self.change::<User>(id, f)
    }

    /// `add` for a user.
    pub fn add_user(&self, user: User) {
        self.add(user);
    }

    /// Soft-deletes a user (to deleted items: delta reports `"reason": "changed"`).
    pub fn delete_user(&self, id: &str) -> bool {
        self.remove::<User>(id, Removal::SoftDeleted)
    }
}

/// A simulator running in the background of the current tokio runtime.
pub struct SimServer {
    handle: SimHandle,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl SimServer {
    /// Binds `127.0.0.1:0` and serves in the background.
    pub async fn start(tenant: SimTenant, options: ServerOptions) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding 127.0.0.1:0 for the simulator")?;
        Self::start_on(tenant, options, listener)
    }

    /// Serves on an already bound listener in the background. The simulator answers as soon
    /// as this returns.
    pub fn start_on(
        tenant: SimTenant,
        options: ServerOptions,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let (handle, router) = prepare(tenant, options, &listener)?;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(
                SimListener { inner: listener },
                router.into_make_service_with_connect_info::<ConnInfo>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
        });
        Ok(Self {
            handle,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub fn base_url(&self) -> &str {
        self.handle.base_url()
    }

    pub fn handle(&self) -> &SimHandle {
        &self.handle
    }

    /// Stops accepting, lets in-flight requests finish (at most 5 s), then stops.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            match tokio::time::timeout(Duration::from_secs(5), &mut task).await {
                Ok(joined) => joined.context("simulator task")?.context("simulator")?,
                // Idle keep-alive connections hold a graceful shutdown open; stop anyway.
                Err(_) => task.abort(),
            }
        }
        Ok(())
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn prepare(
    tenant: SimTenant,
    options: ServerOptions,
    listener: &TcpListener,
) -> anyhow::Result<(SimHandle, Router)> {
    if tenant.tenant_id.is_empty() {
        bail!("the simulated tenant has no tenant id");
    }
    let base_url = match &options.public_base_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!(
            "http://{}",
            listener
                .local_addr()
                .context("simulator listener address")?
        ),
    };
    let tokens = TokenService::new(
        &tenant.tenant_id,
        &tenant.initial_domain,
        &base_url,
        options.extra_graph_resources,
        options.token_lifetime,
        options.device_code,
        &options.apps,
    )?;
    let shared = Arc::new(Shared {
        throttle: Throttle::new(options.throttle, tenant.users.len()),
        tenant_id: tenant.tenant_id.clone(),
        tenant: RwLock::new(tenant),
        meta: Meta::new(options.national_cloud),
        tokens,
        faults: Faults::new(options.faults),
        latency: options.latency,
        default_page_size: options.default_page_size.clamp(1, odata::MAX_TOP),
        max_scan: options.max_scan_per_page.max(1),
        base_url,
        skiptoken_key: rand::rng().random(),
        ordinal: AtomicU64::new(0),
        stats: Mutex::new(Stats::default()),
        writes: Mutex::new(Vec::new()),
        changes: Mutex::new(ChangeLog::default()),
        generation: AtomicU64::new(0),
        folded: FoldedColumns::default(),
    });
    let router = Router::new().fallback(dispatch).with_state(shared.clone());
    Ok((SimHandle { shared }, router))
}

// ---------------------------------------------------------------------------------------------
// Dispatch

async fn dispatch(
    State(s): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnInfo>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let ids = RequestIds::for_request(&parts.headers);
    let mut response = match to_bytes(body, MAX_BODY).await {
        Ok(bytes) => route(&s, &conn, &parts, &bytes, &ids).await,
        Err(_) => graph_error_response(
            &ErrorResponse::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request_BadRequest",
                "The request body is too large.",
            ),
            &ids,
        ),
    };
    ids.apply(response.headers_mut());
    response
}

async fn route(
    s: &Arc<Shared>,
    conn: &ConnInfo,
    parts: &axum::http::request::Parts,
    body: &Bytes,
    ids: &RequestIds,
) -> Response {
    let path = parts.uri.path();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let lower: Vec<String> = segs.iter().map(|x| x.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    match l.as_slice() {
        ["_simulator", rest @ ..] => simulator_hook(s, &parts.method, rest, &parts.uri, body),
        ["v1.0" | "beta", ..] => graph(s, conn, parts, body, ids).await,
        [_, "oauth2", "v2.0", "token"] if parts.method == Method::POST => {
            lock(&s.stats).token_requests += 1;
            token_reply(s.tokens.token_endpoint(segs[0], &parts.headers, body))
        }
        [_, "oauth2", "v2.0", "devicecode"] if parts.method == Method::POST => {
            lock(&s.stats).token_requests += 1;
            token_reply(s.tokens.device_code_endpoint(segs[0], &parts.headers, body))
        }
        [_, "v2.0", ".well-known", "openid-configuration"] => {
            token_reply(s.tokens.openid_configuration(segs[0]))
        }
        ["common", "discovery", "instance"] => token_reply(s.tokens.instance_discovery()),
        _ => graph_error_response(
            &ErrorResponse::new(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("The simulated tenant serves no '{path}'."),
            ),
            ids,
        ),
    }
}

fn token_reply(reply: TokenReply) -> Response {
    let TokenReply { status, body } = reply;
    let mut r = (status, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

fn graph_error_response(err: &ErrorResponse, ids: &RequestIds) -> Response {
    let mut r = (err.status, error_body(err, ids)).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(GRAPH_JSON));
    if let Some(v) = err
        .location
        .as_deref()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// `/_simulator/...`: test and demo hooks, outside Graph (no auth, throttling or faults).
fn simulator_hook(
    s: &Arc<Shared>,
    method: &Method,
    rest: &[&str],
    uri: &axum::http::Uri,
    body: &Bytes,
) -> Response {
    let handle = SimHandle { shared: s.clone() };
    match (method.as_str(), rest) {
        ("GET", ["stats"]) => {
            let mut v = serde_json::to_value(handle.stats()).unwrap_or(Value::Null);
            v["resourceUnitsPerWindow"] = json!(s.throttle.units_per_window());
            json_response(StatusCode::OK, &v)
        }
        ("GET", ["writes"]) => json_response(StatusCode::OK, &handle.writes()),
        ("POST", ["reset"]) => {
            handle.reset_stats();
            StatusCode::NO_CONTENT.into_response()
        }
        ("POST", ["expire-tokens"]) => {
            handle.expire_all_tokens();
            StatusCode::NO_CONTENT.into_response()
        }
        ("GET", ["devicelogin"]) => {
            let pending = handle.pending_user_codes();
            let list = pending.iter().fold(String::new(), |mut out, c| {
                let _ = write!(out, "<li><code>{c}</code></li>");
                out
            });
            let page = format!(
                "<!doctype html><title>Simulated device login</title>\
                 <h1>Simulated tenant: device login</h1>\
                 <p>Pending codes:</p><ul>{list}</ul>\
                 <form method=post><input name=user_code placeholder=CODE>\
                 <button name=action value=approve>Approve</button>\
                 <button name=action value=deny>Deny</button></form>"
            );
            let mut r = page.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        ("POST", ["devicelogin"]) => {
            // Form body or query string: user_code=...&action=approve|deny.
            let text = std::str::from_utf8(body).unwrap_or("");
            let mut pairs = odata::parse_urlencoded(text).unwrap_or_default();
            pairs.extend(odata::parse_urlencoded(uri.query().unwrap_or("")).unwrap_or_default());
            let field = |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            let Some(code) = field("user_code") else {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    &json!({"error": "user_code is required"}),
                );
            };
            let approve = field("action").is_none_or(|a| !a.eq_ignore_ascii_case("deny"));
            let done = s.tokens.decide_device_code(&code, approve);
            let status = if done {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            json_response(
                status,
                &json!({"user_code": code, "approved": approve && done, "declined": !approve && done}),
            )
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": "unknown simulator hook", "hooks": ["GET stats", "GET writes", "POST reset", "POST expire-tokens", "GET|POST devicelogin"]}),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Graph

#[allow(clippy::too_many_lines)]
async fn graph(
    s: &Arc<Shared>,
    conn: &ConnInfo,
    parts: &axum::http::request::Parts,
    body: &Bytes,
    ids: &RequestIds,
) -> Response {
    let method = &parts.method;
    let path = parts.uri.path();
    // A `$batch` is recorded item by item, not as one write.
    let write = !is_batch_path(path) && !matches!(*method, Method::GET | Method::HEAD);
    let ordinal = s.ordinal.fetch_add(1, Ordering::Relaxed);
    {
        let mut stats = lock(&s.stats);
        stats.graph_requests += 1;
        stats.path_entry(path).requests += 1;
    }
    let response = graph_inner(s, conn, parts, body, ids, write, ordinal).await;
    if write {
        lock(&s.writes).push(RecordedWrite {
            method: method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map_or_else(|| path.to_owned(), ToString::to_string),
            body: String::from_utf8_lossy(body).into_owned(),
            status: response.status().as_u16(),
        });
    }
    response
}

#[allow(clippy::too_many_lines)]
async fn graph_inner(
    s: &Arc<Shared>,
    conn: &ConnInfo,
    parts: &axum::http::request::Parts,
    body: &Bytes,
    ids: &RequestIds,
    write: bool,
    ordinal: u64,
) -> Response {
    let path = parts.uri.path();
    let headers = &parts.headers;

    // 1. The bearer token (https://learn.microsoft.com/graph/auth/auth-concepts).
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let caller = match s
        .tokens
        .authenticate(authorization, s.faults.options().expire_token_after)
    {
        Ok(c) => c,
        Err(problem) => {
            {
                let mut stats = lock(&s.stats);
                stats.unauthorized += 1;
                if problem == TokenProblem::Expired
                    && s.faults.options().expire_token_after.is_some()
                {
                    *stats.faults.entry("expired-token".to_owned()).or_default() += 1;
                }
            }
            let mut r = graph_error_response(
                &ErrorResponse::new(
                    StatusCode::UNAUTHORIZED,
                    "InvalidAuthenticationToken",
                    problem.message(),
                ),
                ids,
            );
            let challenge = format!(
                "Bearer realm=\"\", authorization_uri=\"{}/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
                s.base_url
            );
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            return r;
        }
    };

    // 2. Transport-level faults decided up front.
    let fault = s.faults.decide(ordinal, path, parts.method == Method::GET);
    match fault {
        Some(FaultKind::ServiceUnavailable) => {
            s.count_fault("503");
            let mut r = graph_error_response(
                &ErrorResponse::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "serviceNotAvailable",
                    "The service is temporarily unavailable. Please retry after the interval in the Retry-After header.",
                ),
                ids,
            );
            if let Ok(v) =
                HeaderValue::from_str(&format_retry_after(s.faults.options().retry_after_503))
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
        Some(FaultKind::GatewayTimeout) => {
            s.count_fault("504");
            return graph_error_response(
                &ErrorResponse::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "UnknownError",
                    "The upstream service did not respond in time.",
                ),
                ids,
            );
        }
        Some(FaultKind::ConnectionReset) => {
            s.count_fault("reset");
            conn.reset();
            // Never delivered: the connection fails on the first write.
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        _ => {}
    }

    if is_batch_path(path) {
        return batch(s, &caller, parts, body, ids, fault).await;
    }
    serve_resource(s, &caller, parts, body, ids, write, fault).await
}

/// Throttling, the resource, latency and the answer's headers: what a direct request and a
/// `$batch` item share.
#[allow(clippy::too_many_lines)]
async fn serve_resource(
    s: &Arc<Shared>,
    caller: &Caller,
    parts: &axum::http::request::Parts,
    body: &Bytes,
    ids: &RequestIds,
    write: bool,
    fault: Option<FaultKind>,
) -> Response {
    let path = parts.uri.path();
    let headers = &parts.headers;

    // 3. Query options (needed for the request's cost).
    let beta = path.len() > 1 && path[1..].to_ascii_lowercase().starts_with("beta");
    let query = odata::parse_query(parts.uri.query(), beta);
    let segs: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .skip(1)
        .filter(|x| !x.is_empty())
        .map(|x| percent_decode(x, false).unwrap_or_else(|_| x.to_owned()))
        .collect();
    let first = segs
        .first()
        .map(|x| x.to_ascii_lowercase())
        .unwrap_or_default();

    // 4. Throttling (https://learn.microsoft.com/graph/throttling-limits).
    let shape = RequestShape {
        write,
        users: first == "users",
        select: query.as_ref().is_ok_and(|q| q.select.is_some()),
        expand: query.as_ref().is_ok_and(|q| q.expand.is_some()),
        top: query.as_ref().ok().and_then(|q| q.top),
    };
    let cost = super::throttle::cost(shape);
    let (decision, early) =
        s.throttle
            .check(&caller.app_id, &s.tenant_id, cost, write, Instant::now());
    {
        let mut stats = lock(&s.stats);
        stats.resource_units += u64::from(cost);
        let p = stats.path_entry(path);
        p.resource_units += u64::from(cost);
        if early {
            p.early_retries += 1;
        }
        if matches!(decision, Decision::Throttled { .. }) {
            p.throttled += 1;
            stats.throttled += 1;
        }
        if early {
            stats.early_retries += 1;
        }
    }
    let limit_percentage = match decision {
        Decision::Throttled {
            retry_after,
            scope,
            information,
        } => {
            let mut r = (StatusCode::TOO_MANY_REQUESTS, throttled_body(ids)).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(GRAPH_JSON));
            for (name, value) in [
                ("retry-after", format_retry_after(retry_after)),
                ("x-ms-throttle-scope", scope),
                ("x-ms-throttle-information", information.to_owned()),
                ("x-ms-resource-unit", cost.to_string()),
            ] {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    h.insert(name, v);
                }
            }
            return r;
        }
        Decision::Allowed { limit_percentage } => limit_percentage,
    };

    // 5. The resource.
    let result = match query {
        Err(e) => Err(e),
        Ok(q) => {
            let version = if beta { "beta" } else { "v1.0" };
            let ctx = Ctx {
                s,
                version,
                beta,
                headers,
                path,
                q: &q,
                short_page: fault == Some(FaultKind::ShortPage),
            };
            if s.faults.is_forbidden(&first) {
                s.count_fault("forbidden");
                Err(ErrorResponse::forbidden())
            } else {
                resource(&ctx, caller, &parts.method, &segs, body)
            }
        }
    };

    let mut response = match result {
        Err(e) => graph_error_response(&e, ids),
        Ok(ok) => {
            let delay = s.latency.for_objects(ok.objects);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            finish_ok(s, ok, fault, headers)
        }
    };
    let h = response.headers_mut();
    h.insert("x-ms-resource-unit", HeaderValue::from(cost));
    if let Some(p) = limit_percentage
        && let Ok(v) = HeaderValue::from_str(&format!("{p:.1}"))
    {
        h.insert("x-ms-throttle-limit-percentage", v);
    }
    response
}

// ---------------------------------------------------------------------------------------------
// JSON batching (https://learn.microsoft.com/graph/json-batching)

/// "JSON batch requests are currently limited to 20 individual requests."
const MAX_BATCH: usize = 20;

/// `/v1.0/$batch` or `/beta/$batch`.
fn is_batch_path(path: &str) -> bool {
    let mut segs = path.trim_start_matches('/').split('/');
    let _version = segs.next();
    matches!((segs.next(), segs.next()), (Some(b), None) if b.eq_ignore_ascii_case("$batch"))
}

#[derive(Debug, Deserialize)]
struct BatchRequest {
    requests: Vec<BatchItem>,
}

/// One request of a batch: "id (required, unique, not case-sensitive), method, url (relative),
/// headers (required when the body is specified), body, dependsOn" (json-batching).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchItem {
    id: String,
    method: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    depends_on: Vec<String>,
}

fn batch_error(message: impl Into<String>) -> ErrorResponse {
    // The wording is the simulator's; the docs only say "If the batch request itself is
    // malformed, the status code is 400" (json-batching).
    ErrorResponse::bad_request("BadRequest", message)
}

/// The order to run the items in: request order, except that an item waits for the items it
/// depends on. Unknown dependencies and cycles make the batch malformed.
fn batch_order(items: &[BatchItem]) -> Result<Vec<usize>, ErrorResponse> {
    let index: HashMap<String, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.id.to_ascii_lowercase(), i))
        .collect();
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(items.len());
    for it in items {
        let mut d = Vec::new();
        for dep in &it.depends_on {
            let j = index.get(&dep.to_ascii_lowercase()).ok_or_else(|| {
                batch_error(format!(
                    "Request '{}' depends on '{dep}', which is not in the batch.",
                    it.id
                ))
            })?;
            d.push(*j);
        }
        deps.push(d);
    }
    let mut placed = vec![false; items.len()];
    let mut order = Vec::with_capacity(items.len());
    while order.len() < items.len() {
        let next = (0..items.len())
            .find(|&i| !placed[i] && deps[i].iter().all(|&j| placed[j]))
            .ok_or_else(|| batch_error("The dependsOn relations of the batch form a cycle."))?;
        placed[next] = true;
        order.push(next);
    }
    Ok(order)
}

/// Encodes what `Uri` refuses in an item's relative URL (spaces in `$filter`, quotes...).
fn encode_item_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for b in url.bytes() {
        if b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Response headers as Graph spells them in batch answers (sample json-batch.response.json).
fn batch_header_name(name: &str) -> String {
    match name {
        "content-type" => "Content-Type".to_owned(),
        "cache-control" => "Cache-Control".to_owned(),
        "odata-version" => "OData-Version".to_owned(),
        "retry-after" => "Retry-After".to_owned(),
        "location" => "Location".to_owned(),
        other => other.to_owned(),
    }
}

/// An item's answer as `{id, status, headers, body}`.
async fn batch_entry(id: &str, response: Response) -> Value {
    let status = response.status().as_u16();
    let mut headers = serde_json::Map::new();
    for (name, value) in response.headers() {
        if matches!(
            name.as_str(),
            "content-length" | "request-id" | "client-request-id" | "vary" | "content-encoding"
        ) {
            continue;
        }
        if let Ok(v) = value.to_str() {
            headers.insert(
                batch_header_name(name.as_str()),
                Value::String(v.to_owned()),
            );
        }
    }
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let mut entry = json!({"id": id, "status": status, "headers": headers});
    if !bytes.is_empty() {
        entry["body"] = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    }
    entry
}

/// An item refused before it reaches the resource (bad method, URL or headers).
fn item_error(err: &ErrorResponse, ids: &RequestIds) -> Response {
    graph_error_response(err, ids)
}

/// Builds the request an item stands for: the batch's version and token, the item's method,
/// URL, headers and body.
fn item_request(
    outer: &axum::http::request::Parts,
    version: &str,
    item: &BatchItem,
) -> Result<(axum::http::request::Parts, Bytes), ErrorResponse> {
    let method = Method::from_bytes(item.method.trim().to_ascii_uppercase().as_bytes())
        .ok()
        .filter(|m| {
            [
                Method::GET,
                Method::POST,
                Method::PATCH,
                Method::PUT,
                Method::DELETE,
            ]
            .contains(m)
        })
        .ok_or_else(|| {
            ErrorResponse::bad_request(
                "BadRequest",
                format!("Invalid method '{}' in a batch request.", item.method),
            )
        })?;
    let relative = item.url.trim().trim_start_matches('/');
    if relative.contains("://") {
        return Err(ErrorResponse::bad_request(
            "BadRequest",
            "The url of a batch request must be relative (e.g. '/users').",
        ));
    }
    let target = relative.split(['?', '/']).next().unwrap_or("");
    if target.eq_ignore_ascii_case("$batch") {
        return Err(ErrorResponse::bad_request(
            "BadRequest",
            "A batch request cannot contain another batch.",
        ));
    }
    let uri: axum::http::Uri = format!("/{version}/{}", encode_item_url(relative))
        .parse()
        .map_err(|_| {
            ErrorResponse::bad_request("BadRequest", format!("Invalid url '{}'.", item.url))
        })?;
    let mut headers = HeaderMap::new();
    for (name, value) in &item.headers {
        let name = header::HeaderName::from_bytes(name.as_bytes());
        let value = HeaderValue::from_str(value);
        match (name, value) {
            // The item's body is plain JSON: compression belongs to the batch as a whole.
            (Ok(n), _) if n == header::ACCEPT_ENCODING => {}
            (Ok(n), Ok(v)) => {
                headers.insert(n, v);
            }
            _ => {
                return Err(ErrorResponse::bad_request(
                    "BadRequest",
                    "Invalid header in a batch request.",
                ));
            }
        }
    }
    // "headers … required when the body is specified" (json-batching).
    let body = match &item.body {
        None => Bytes::new(),
        Some(_) if !headers.contains_key(header::CONTENT_TYPE) => {
            return Err(ErrorResponse::bad_request(
                "BadRequest",
                "A Content-Type header is required when a batch request has a body.",
            ));
        }
        Some(Value::String(text)) => Bytes::from(text.clone()),
        Some(v) => Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
    };
    if let Some(auth) = outer.headers.get(header::AUTHORIZATION) {
        headers.insert(header::AUTHORIZATION, auth.clone());
    }
    let (mut parts, ()) = Request::builder()
        .method(method)
        .uri(uri)
        .body(())
        .map_err(|e| ErrorResponse::bad_request("BadRequest", e.to_string()))?
        .into_parts();
    parts.headers = headers;
    Ok((parts, body))
}

/// A batch's items and the order to run them in, or 400 when the batch is malformed: not
/// JSON of the documented shape, over 20 requests, duplicate ids, unknown or cyclic
/// dependencies.
fn parse_batch(body: &[u8]) -> Result<(Vec<BatchItem>, Vec<usize>), ErrorResponse> {
    let request: BatchRequest = serde_json::from_slice(body)
        .map_err(|e| batch_error(format!("Invalid batch payload format: {e}.")))?;
    let items = request.requests;
    if items.len() > MAX_BATCH {
        return Err(batch_error(format!(
            "A batch can hold at most {MAX_BATCH} requests; this one has {}.",
            items.len()
        )));
    }
    let mut seen = HashSet::new();
    for it in &items {
        // Ids are "Not case-sensitive" (json-batching).
        if !seen.insert(it.id.to_ascii_lowercase()) {
            return Err(batch_error(format!(
                "The batch holds more than one request with id '{}'.",
                it.id
            )));
        }
    }
    let order = batch_order(&items)?;
    Ok((items, order))
}

/// `POST /$batch`: runs the items side by side (none depends on another) or one by one (in
/// request order, dependencies first) through throttling and the resources, and answers 200
/// with every item's answer. "Requests in a batch are evaluated individually against the
/// applicable throttling limits"; "If an individual request fails, any request that depends on
/// that request fails with status code 424" (json-batching, throttling).
async fn batch(
    s: &Arc<Shared>,
    caller: &Caller,
    parts: &axum::http::request::Parts,
    body: &Bytes,
    ids: &RequestIds,
    fault: Option<FaultKind>,
) -> Response {
    if parts.method != Method::POST {
        return graph_error_response(&ErrorResponse::method_not_allowed(), ids);
    }
    let (items, order) = match parse_batch(body) {
        Ok(parsed) => parsed,
        Err(e) => return graph_error_response(&e, ids),
    };
    let version = parts
        .uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("v1.0")
        .to_owned();
    // "Batch should be either fully sequential or fully parallel": without dependsOn, the
    // items run side by side, so a batch takes as long as its slowest item, not their sum.
    if items.iter().all(|item| item.depends_on.is_empty()) {
        let answers = futures::future::join_all(items.iter().map(|item| async {
            let response = batch_item(s, caller, parts, &version, item, ids).await;
            batch_entry(&item.id, response).await
        }))
        .await;
        return batch_answer(s, &answers, fault, &parts.headers);
    }
    let mut failed = vec![false; items.len()];
    let mut answers: Vec<Value> = vec![Value::Null; items.len()];
    let index: HashMap<String, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.id.to_ascii_lowercase(), i))
        .collect();
    for i in order {
        let item = &items[i];
        let failed_dep = item.depends_on.iter().find(|d| {
            index
                .get(&d.to_ascii_lowercase())
                .is_some_and(|&j| failed[j])
        });
        let response = if let Some(dep) = failed_dep {
            // The error code is the simulator's (the docs give only the status).
            item_error(
                &ErrorResponse::new(
                    StatusCode::FAILED_DEPENDENCY,
                    "FailedDependency",
                    format!(
                        "Request '{}' depends on request '{dep}', which failed.",
                        item.id
                    ),
                ),
                ids,
            )
        } else {
            batch_item(s, caller, parts, &version, item, ids).await
        };
        failed[i] = response.status().is_client_error() || response.status().is_server_error();
        answers[i] = batch_entry(&item.id, response).await;
    }
    batch_answer(s, &answers, fault, &parts.headers)
}

/// One batch item through throttling and the resources, a write recorded as a direct one is.
async fn batch_item(
    s: &Arc<Shared>,
    caller: &Caller,
    parts: &axum::http::request::Parts,
    version: &str,
    item: &BatchItem,
    ids: &RequestIds,
) -> Response {
    match item_request(parts, version, item) {
        Err(e) => item_error(&e, ids),
        Ok((item_parts, item_body)) => {
            let path = item_parts.uri.path().to_owned();
            lock(&s.stats).path_entry(&path).requests += 1;
            let write = item_parts.method != Method::GET;
            let r = serve_resource(s, caller, &item_parts, &item_body, ids, write, None).await;
            if write {
                lock(&s.writes).push(RecordedWrite {
                    method: item_parts.method.to_string(),
                    path: item_parts
                        .uri
                        .path_and_query()
                        .map_or(path, ToString::to_string),
                    body: String::from_utf8_lossy(&item_body).into_owned(),
                    status: r.status().as_u16(),
                });
            }
            r
        }
    }
}

/// The batch's 200 with every item's answer. "Individual responses might appear in a different
/// order than the requests"; request order is one of the allowed orders.
fn batch_answer(
    s: &Arc<Shared>,
    answers: &[Value],
    fault: Option<FaultKind>,
    headers: &HeaderMap,
) -> Response {
    let body = serde_json::to_vec(&json!({ "responses": answers })).unwrap_or_default();
    let ok = GraphOk {
        status: StatusCode::OK,
        body,
        content_type: GRAPH_JSON,
        objects: 0,
    };
    finish_ok(s, ok, fault, headers)
}

/// Headers, body faults and gzip for a successful answer.
fn finish_ok(s: &Shared, ok: GraphOk, fault: Option<FaultKind>, req: &HeaderMap) -> Response {
    if ok.status == StatusCode::NO_CONTENT {
        return StatusCode::NO_CONTENT.into_response();
    }
    let mut body = ok.body;
    let json_page = ok.status == StatusCode::OK && ok.content_type == GRAPH_JSON;
    if fault == Some(FaultKind::MalformedJson) && json_page {
        s.count_fault("malformed");
        // A complete HTTP answer whose JSON stops two thirds of the way in.
        body.truncate(body.len() * 2 / 3);
    }
    let gzipped = accepts_gzip(req) && body.len() > 512;
    if gzipped {
        body = gzip(&body);
    }
    let mut r = if fault == Some(FaultKind::TruncatedBody) && json_page {
        s.count_fault("truncate");
        let full = body.len();
        let half = Bytes::from(body).slice(..full / 2);
        // The pause lets hyper flush the headers and the first half before the error aborts
        // the connection (an immediate error would drop the unflushed response entirely).
        let stream = futures::stream::iter([Ok::<Bytes, std::io::Error>(half)]).chain(
            futures::stream::once(async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err(std::io::Error::other("simulated truncated body"))
            }),
        );
        let mut r = Response::new(Body::from_stream(stream));
        // The announced length is the whole body: the client sees the connection close early.
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
        r
    } else {
        Response::new(Body::from(body))
    };
    *r.status_mut() = ok.status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(ok.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("odata-version", HeaderValue::from_static("4.0"));
    if gzipped {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    r
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn latency_flag() {
        assert_eq!("0".parse::<Latency>().unwrap(), Latency::ZERO);
        assert_eq!("graph".parse::<Latency>().unwrap(), Latency::graph_like());
        let l: Latency = "50+0.5".parse().unwrap();
        assert_eq!(l.base, Duration::from_millis(50));
        assert_eq!(l.per_object, Duration::from_micros(500));
        assert_eq!(l.for_objects(4), Duration::from_millis(52));
        assert!("fast".parse::<Latency>().is_err());
        // A latency that would never answer is a typo, refused.
        for extreme in ["99999999999999999999+1", "60001", "0+60001", "1e400", "-5"] {
            assert!(extreme.parse::<Latency>().is_err(), "{extreme}");
        }
        assert!("60000+60000".parse::<Latency>().is_ok());
        let d = Latency::graph_like().for_objects(999);
        assert!(
            d >= Duration::from_secs(1) && d <= Duration::from_secs(2),
            "{d:?}"
        );
    }
}
