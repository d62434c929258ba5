//! Injected failures for reliability tests: 503 (with `Retry-After`) and 504 answers, connection
//! resets, bodies cut off mid-transfer, syntactically broken JSON pages, short pages, access
//! tokens that stop working after a number of requests, and collections that answer 403.
//!
//! Every decision is a pure function of the seed, the request's ordinal and the rule, so a
//! sequential client sees the same faults on every run. This module owns the fault options, the
//! decision, and the connection wrapper that can reset a TCP connection on demand; it must not
//! build Graph bodies (the server does) and must not fire on the token endpoint or the
//! `/_simulator/` test hooks.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A kind of injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// 503 Service Unavailable with a `Retry-After` header.
    ServiceUnavailable,
    /// 504 Gateway Timeout.
    GatewayTimeout,
    /// The TCP connection is reset instead of answering.
    ConnectionReset,
    /// Headers announce the full length, then the connection closes halfway through the body.
    TruncatedBody,
    /// A complete 200 response whose JSON is cut short (a client must fail to parse it).
    MalformedJson,
    /// A collection page with fewer objects than `$top` (half), still followed by a nextLink:
    /// "the server may return fewer" (<https://learn.microsoft.com/graph/paging>), so a client
    /// must not stop paging on a short page.
    ShortPage,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::ServiceUnavailable => "503",
            FaultKind::GatewayTimeout => "504",
            FaultKind::ConnectionReset => "reset",
            FaultKind::TruncatedBody => "truncate",
            FaultKind::MalformedJson => "malformed",
            FaultKind::ShortPage => "short",
        }
    }

    /// Whether the fault replaces a successful body (so it applies to 200 JSON answers only).
    pub fn spoils_body(self) -> bool {
        matches!(
            self,
            FaultKind::TruncatedBody | FaultKind::MalformedJson | FaultKind::ShortPage
        )
    }
}

impl FromStr for FaultKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "503" => FaultKind::ServiceUnavailable,
            "504" => FaultKind::GatewayTimeout,
            "reset" => FaultKind::ConnectionReset,
            "truncate" => FaultKind::TruncatedBody,
            "malformed" => FaultKind::MalformedJson,
            "short" => FaultKind::ShortPage,
            other => return Err(format!("unknown fault kind '{other}'")),
        })
    }
}

/// One fault rule: fires on a share of the Graph requests whose path starts with `path_prefix`
/// (case-insensitive; all Graph requests when `None`), at most `max` times.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub kind: FaultKind,
    /// 0.0 to 1.0.
    pub rate: f64,
    pub path_prefix: Option<String>,
    pub max: Option<u64>,
}

impl FaultRule {
    pub fn new(kind: FaultKind, rate: f64) -> Self {
        Self {
            kind,
            rate,
            path_prefix: None,
            max: None,
        }
    }

    #[must_use]
    pub fn on_path(mut self, prefix: &str) -> Self {
        self.path_prefix = Some(prefix.to_owned());
        self
    }

    #[must_use]
    pub fn at_most(mut self, times: u64) -> Self {
        self.max = Some(times);
        self
    }
}

/// Fault injection settings. `Default` injects nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultOptions {
    pub seed: u64,
    /// Checked in order; the first rule that fires wins.
    pub rules: Vec<FaultRule>,
    /// An access token stops working (401 "expired") after this many Graph requests.
    pub expire_token_after: Option<u64>,
    /// Collections answering 403 `Authorization_RequestDenied`, by first path segment after the
    /// version (`groups`, `contacts`, `servicePrincipals`, ...), case-insensitive.
    pub forbidden: Vec<String>,
    /// `Retry-After` sent with an injected 503.
    pub retry_after_503: Duration,
    /// Added to every count the tenant reports (`/users/$count` and `@odata.count`): an
    /// eventually consistent index that disagrees with what paging returns.
    pub count_offset: i64,
    /// `$count` (the `/$count` segment and `$count=true`) refused with the documented 400
    /// "$count is not currently supported." whatever the headers, as in tenants without
    /// advanced query support.
    pub refuse_count: bool,
    /// The collections (`users`, `contacts`, `groups`, ...) `count_offset` and `refuse_count`
    /// apply to, case-insensitive; empty: every collection. One collection's index can lag
    /// while the others' agree, and a client must fall back for that collection alone.
    pub count_faults_on: Vec<String>,
    /// Properties (or collections, e.g. `onPremisesProvisioningErrors`) whose `$filter` clauses
    /// are refused with 400 `Request_UnsupportedQuery`, as older services refused the
    /// provisioning-error filter (older revisions of
    /// <https://learn.microsoft.com/graph/aad-advanced-queries>), case-insensitive.
    pub refuse_filters: Vec<String>,
}

impl Default for FaultOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            rules: Vec::new(),
            expire_token_after: None,
            forbidden: Vec::new(),
            retry_after_503: Duration::from_secs(1),
            count_offset: 0,
            refuse_count: false,
            count_faults_on: Vec::new(),
            refuse_filters: Vec::new(),
        }
    }
}

/// `--faults` syntax: comma-separated `key=value`, e.g.
/// `seed=7,503=0.02,504=0.01,reset=0.01,truncate=0.01,malformed=0.01,short=0.1,expire-token-after=500,forbid=groups+contacts,retry-after=2,count-offset=3,refuse-count=true,count-faults-on=contacts+groups,refuse-filter=onPremisesProvisioningErrors`.
impl FromStr for FaultOptions {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut o = FaultOptions::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("fault '{part}' must be key=value"))?;
            let number = |v: &str| -> Result<f64, String> {
                v.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("fault '{part}': '{v}' is not a number"))
            };
            match key.trim().to_ascii_lowercase().as_str() {
                "seed" => {
                    o.seed = value
                        .trim()
                        .parse()
                        .map_err(|_| format!("fault seed '{value}' is not an integer"))?;
                }
                "expire-token-after" => {
                    o.expire_token_after =
                        Some(value.trim().parse().map_err(|_| {
                            format!("expire-token-after '{value}' is not an integer")
                        })?);
                }
                "forbid" => o
                    .forbidden
                    .extend(value.split('+').map(|c| c.trim().to_owned())),
                "count-offset" => {
                    o.count_offset = value
                        .trim()
                        .parse()
                        .map_err(|_| format!("count-offset '{value}' is not an integer"))?;
                }
                "refuse-count" => {
                    o.refuse_count = value
                        .trim()
                        .parse()
                        .map_err(|_| format!("refuse-count '{value}' is not true or false"))?;
                }
                "count-faults-on" => o
                    .count_faults_on
                    .extend(value.split('+').map(|c| c.trim().to_owned())),
                "refuse-filter" => o
                    .refuse_filters
                    .extend(value.split('+').map(|c| c.trim().to_owned())),
                "retry-after" => {
                    o.retry_after_503 = Duration::try_from_secs_f64(number(value)?)
                        .map_err(|e| format!("retry-after: {e}"))?;
                }
                kind => {
                    let rate = number(value)?;
                    if !(0.0..=1.0).contains(&rate) {
                        return Err(format!("fault rate '{value}' must be between 0 and 1"));
                    }
                    o.rules.push(FaultRule::new(kind.parse()?, rate));
                }
            }
        }
        Ok(o)
    }
}

/// splitmix64: a well-mixed 64-bit hash, enough to turn (seed, ordinal, rule) into a draw.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A deterministic draw in [0, 1).
// 53 random bits and 2^53 are exact in an f64: no precision is lost.
#[allow(clippy::cast_precision_loss)]
fn draw(seed: u64, ordinal: u64, rule: usize) -> f64 {
    let h = mix(seed ^ mix(ordinal ^ mix(rule as u64)));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Decides which fault, if any, hits a request.
pub(crate) struct Faults {
    options: FaultOptions,
    fired: Mutex<Vec<u64>>,
}

impl Faults {
    pub(crate) fn new(options: FaultOptions) -> Self {
        let fired = Mutex::new(vec![0; options.rules.len()]);
        Self { options, fired }
    }

    pub(crate) fn options(&self) -> &FaultOptions {
        &self.options
    }

    /// The fault for the `ordinal`-th Graph request on `path`, if one fires. `body_ok` says
    /// whether the request could produce a 200 JSON body (a GET), which the body faults need.
    pub(crate) fn decide(&self, ordinal: u64, path: &str, body_ok: bool) -> Option<FaultKind> {
        let mut fired = self
            .fired
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (i, rule) in self.options.rules.iter().enumerate() {
            if rule.kind.spoils_body() && !body_ok {
                continue;
            }
            if let Some(prefix) = &rule.path_prefix {
                let matches = path
                    .get(..prefix.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(prefix));
                if !matches {
                    continue;
                }
            }
            if rule.max.is_some_and(|m| fired[i] >= m) {
                continue;
            }
            if draw(self.options.seed, ordinal, i) < rule.rate {
                fired[i] += 1;
                return Some(rule.kind);
            }
        }
        None
    }

    /// Whether `$filter` clauses on `property` are refused.
    pub(crate) fn refuses_filter_on(&self, property: &str) -> bool {
        self.options
            .refuse_filters
            .iter()
            .any(|p| p.eq_ignore_ascii_case(property))
    }

    /// Whether `count_offset` and `refuse_count` apply to `collection` (an entity set).
    pub(crate) fn count_faults_apply_to(&self, collection: &str) -> bool {
        let on = &self.options.count_faults_on;
        on.is_empty() || on.iter().any(|c| c.eq_ignore_ascii_case(collection))
    }

    pub(crate) fn is_forbidden(&self, collection: &str) -> bool {
        self.options
            .forbidden
            .iter()
            .any(|c| c.eq_ignore_ascii_case(collection))
    }
}

// ---------------------------------------------------------------------------------------------
// Connection resets

/// A TCP listener whose connections can be reset from a request handler.
pub(crate) struct SimListener {
    pub inner: TcpListener,
}

impl axum::serve::Listener for SimListener {
    type Io = ResettableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    // Small JSON pages are written in one go; Nagle would only add delay.
                    let _ = stream.set_nodelay(true);
                    let io = ResettableStream {
                        inner: stream,
                        reset: Arc::new(AtomicBool::new(false)),
                    };
                    return (io, addr);
                }
                // Out of file descriptors and the like: back off briefly, as axum's own
                // listener does, instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP stream that fails every read and write once `reset` is set, after arming `SO_LINGER`
/// with a zero timeout so that dropping it sends an RST rather than a FIN.
pub(crate) struct ResettableStream {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl ResettableStream {
    fn check(&self) -> io::Result<()> {
        if self.reset.load(Ordering::Relaxed) {
            let _ = self.inner.set_zero_linger();
            return Err(io::Error::from(io::ErrorKind::ConnectionReset));
        }
        Ok(())
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// What a handler knows about its connection: the switch that resets it.
#[derive(Clone, Debug)]
pub(crate) struct ConnInfo {
    reset: Arc<AtomicBool>,
}

impl ConnInfo {
    /// Resets the connection: the response being written is never delivered.
    pub(crate) fn reset(&self) {
        self.reset.store(true, Ordering::Relaxed);
    }
}

impl Connected<IncomingStream<'_, SimListener>> for ConnInfo {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        ConnInfo {
            reset: stream.io().reset.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_fault_flags() {
        let o: FaultOptions =
            "seed=7, 503=0.5,reset=0.1,expire-token-after=20,forbid=groups+contacts,retry-after=2.5"
                .parse()
                .unwrap();
        assert_eq!(o.seed, 7);
        assert_eq!(o.rules.len(), 2);
        assert_eq!(o.rules[0].kind, FaultKind::ServiceUnavailable);
        assert_eq!(o.expire_token_after, Some(20));
        assert_eq!(o.forbidden, ["groups", "contacts"]);
        assert_eq!(o.retry_after_503, Duration::from_millis(2500));
        assert_eq!(o.count_offset, 0);
        let o: FaultOptions =
            "count-offset=-2,refuse-count=true,refuse-filter=onPremisesProvisioningErrors+mail"
                .parse()
                .unwrap();
        assert_eq!(o.count_offset, -2);
        assert!(o.refuse_count);
        assert!(Faults::new(o.clone()).refuses_filter_on("onpremisesprovisioningerrors"));
        assert_eq!(o.refuse_filters.len(), 2);
        // Unscoped, the count faults apply to every collection; scoped, to those named only.
        assert!(Faults::new(o.clone()).count_faults_apply_to("users"));
        let o: FaultOptions = "count-offset=1,count-faults-on=Contacts+groups"
            .parse()
            .unwrap();
        assert_eq!(o.count_faults_on, ["Contacts", "groups"]);
        let faults = Faults::new(o);
        assert!(faults.count_faults_apply_to("contacts"));
        assert!(faults.count_faults_apply_to("groups"));
        assert!(!faults.count_faults_apply_to("users"));
        assert!("refuse-count=yes".parse::<FaultOptions>().is_err());
        assert!("503=2".parse::<FaultOptions>().is_err());
        assert!("boom=0.1".parse::<FaultOptions>().is_err());
        assert!("503".parse::<FaultOptions>().is_err());
    }

    #[test]
    fn decisions_are_deterministic_and_rate_shaped() {
        let opts = FaultOptions {
            seed: 42,
            rules: vec![FaultRule::new(FaultKind::GatewayTimeout, 0.2)],
            ..FaultOptions::default()
        };
        let run = || {
            let f = Faults::new(opts.clone());
            (0..1000)
                .map(|n| f.decide(n, "/v1.0/users", true).is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run(), "same seed, same faults");
        let hits = a.iter().filter(|h| **h).count();
        assert!((150..250).contains(&hits), "{hits} of 1000 at rate 0.2");
        let other = Faults::new(FaultOptions { seed: 43, ..opts });
        let b: Vec<_> = (0..1000)
            .map(|n| other.decide(n, "/v1.0/users", true).is_some())
            .collect();
        assert_ne!(a, b, "another seed, other faults");
    }

    #[test]
    fn rules_respect_path_max_and_body_needs() {
        let f = Faults::new(FaultOptions {
            rules: vec![
                FaultRule::new(FaultKind::MalformedJson, 1.0).on_path("/v1.0/groups"),
                FaultRule::new(FaultKind::ServiceUnavailable, 1.0)
                    .on_path("/v1.0/users")
                    .at_most(2),
            ],
            ..FaultOptions::default()
        });
        assert_eq!(
            f.decide(0, "/v1.0/Groups", true),
            Some(FaultKind::MalformedJson)
        );
        assert_eq!(f.decide(1, "/v1.0/groups", false), None, "not a GET");
        assert_eq!(
            f.decide(2, "/v1.0/users", true),
            Some(FaultKind::ServiceUnavailable)
        );
        assert_eq!(
            f.decide(3, "/v1.0/users", true),
            Some(FaultKind::ServiceUnavailable)
        );
        assert_eq!(f.decide(4, "/v1.0/users", true), None, "at most twice");
    }
}
