//! The retry policy, as pure functions of what happened, the time and a random source (both
//! injected, so tests need neither a server nor a clock): 429 and 503 wait the `Retry-After` Graph
//! sent, as fractional seconds (`2.128`) or an HTTP-date
//! (<https://learn.microsoft.com/graph/throttling>); other 5xx, 408 and transport failures
//! (including truncated and malformed bodies) back off exponentially with full jitter, capped;
//! other 4xx are never retried; a 401 renews the token, at most [`MAX_TOKEN_RENEWALS`] times per
//! request. Requests that are not idempotent
//! (POST) are retried only when Graph said when (429 with `Retry-After`). It sleeps nowhere and
//! knows nothing of HTTP clients.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// Limits of the retry policy.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// First backoff ceiling; doubles with each failed attempt.
    pub base: Duration,
    /// Largest backoff ceiling.
    pub cap: Duration,
    /// Attempts in all for failures that back off (5xx, 408, transport, undecodable bodies).
    pub max_attempts: u32,
    /// Waits as told by `Retry-After` before giving up: Graph says "if the request fails again
    /// with a 429 error code, you are still being throttled", so these get a larger budget.
    pub max_throttle_waits: u32,
    /// A `Retry-After` above this is clamped (a broken header must not park the run for days).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            max_attempts: 6,
            max_throttle_waits: 30,
            max_retry_after: Duration::from_mins(5),
        }
    }
}

/// What went wrong with one attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Failure {
    /// An HTTP answer that is not a success; `retry_after` is the parsed `Retry-After` header.
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No complete answer: connect error, reset, timeout, body cut off.
    Transport,
    /// A 2xx answer whose body could not be decoded (malformed or cut-off JSON).
    Decode,
}

/// The attempts made so far for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    /// Failures that backed off (5xx, 408, transport, decode).
    pub failures: u32,
    /// Waits on `Retry-After`.
    pub throttle_waits: u32,
    /// How often the token was renewed after a 401.
    pub token_renewals: u32,
}

/// How often one request renews the token after a 401. More than once: a token can expire while
/// many requests are in flight, and the one this request renewed to can be replaced by another
/// request's renewal before this one retries. A credential Entra refuses fails at the renewal
/// itself (the token endpoint's error), so a bad secret is not retried three times.
pub(crate) const MAX_TOKEN_RENEWALS: u32 = 3;

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long (as told by `Retry-After`; every request of the client should wait too).
    WaitAsTold(Duration),
    /// Back off this long (only this request).
    Backoff(Duration),
    /// Forget the token and retry at once.
    RenewToken,
    /// Return the error.
    GiveUp,
}

impl RetryPolicy {
    /// Decides, and records the attempt in `attempts`. `idempotent` is false for POST.
    pub fn decide(
        &self,
        failure: Failure,
        idempotent: bool,
        attempts: &mut Attempts,
        rng: &mut impl Rng,
    ) -> Decision {
        match failure {
            Failure::Status { status: 401, .. } => {
                if attempts.token_renewals >= MAX_TOKEN_RENEWALS {
                    Decision::GiveUp
                } else {
                    attempts.token_renewals += 1;
                    Decision::RenewToken
                }
            }
            Failure::Status {
                status: status @ (429 | 503),
                retry_after: Some(after),
            } if idempotent || status == 429 => {
                if attempts.throttle_waits >= self.max_throttle_waits {
                    return Decision::GiveUp;
                }
                attempts.throttle_waits += 1;
                Decision::WaitAsTold(after.min(self.max_retry_after))
            }
            Failure::Status { status, .. }
                if idempotent && (status == 408 || status >= 500 || status == 429) =>
            {
                self.back_off(attempts, rng)
            }
            Failure::Transport | Failure::Decode if idempotent => self.back_off(attempts, rng),
            _ => Decision::GiveUp,
        }
    }

    fn back_off(&self, attempts: &mut Attempts, rng: &mut impl Rng) -> Decision {
        attempts.failures += 1;
        // `failures` counts this one: after `max_attempts` failed attempts, stop.
        if attempts.failures >= self.max_attempts {
            return Decision::GiveUp;
        }
        Decision::Backoff(self.jittered(attempts.failures - 1, rng))
    }

    /// The backoff ceiling before retry number `retry + 1`: `base · 2^retry`, at most `cap`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// "Full jitter" (uniform between zero and the ceiling): spreads clients that failed together
    /// (<https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/>).
    pub fn jittered(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(retry);
        if ceiling.is_zero() {
            return ceiling;
        }
        ceiling.mul_f64(rng.random::<f64>())
    }
}

/// Parses a `Retry-After` value: seconds, fractional as Graph sends them (`2.128`), or an
/// HTTP-date (RFC 9110 §10.2.3), relative to `now`. A date in the past means "now".
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}
