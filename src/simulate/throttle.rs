//! Throttling of the simulated Graph as the identity and access service limits describe it
//! (<https://learn.microsoft.com/graph/throttling-limits>): a token bucket of
//! resource units per application + tenant per 10 seconds, sized by the tenant's user count
//! (S < 50 users: 3,500; M 50–500: 5,000; L > 500: 8,000), request costs (GET users 2, other
//! reads 1, `$select` −1, `$expand` +1, `$top` < 20 −1, never below 1, writes 1), a write quota of
//! 3,000 requests per 2 minutes 30 seconds, and the response headers of
//! <https://learn.microsoft.com/graph/throttling> (fractional `Retry-After`,
//! `x-ms-throttle-scope`, `x-ms-throttle-information`, `x-ms-throttle-limit-percentage`).
//!
//! It also keeps the promise tests depend on: a request that arrives from an application before
//! the `Retry-After` it was given has elapsed is counted as an early retry. Throttled requests
//! are charged too, because "Microsoft Graph continues to log resource usage while a client is
//! being throttled" (THR), so hammering a throttled endpoint prolongs the throttling. This module
//! decides; it does not build HTTP responses.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Tenant size classes of the application + tenant limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeClass {
    /// Under 50 users: 3,500 resource units per 10 s.
    S,
    /// 50 to 500 users: 5,000 per 10 s.
    M,
    /// Above 500 users: 8,000 per 10 s.
    L,
}

impl SizeClass {
    pub fn for_user_count(users: usize) -> Self {
        match users {
            0..50 => SizeClass::S,
            50..=500 => SizeClass::M,
            _ => SizeClass::L,
        }
    }

    pub fn resource_units_per_window(self) -> u32 {
        match self {
            SizeClass::S => 3_500,
            SizeClass::M => 5_000,
            SizeClass::L => 8_000,
        }
    }
}

/// How the simulator throttles.
#[derive(Debug, Clone)]
pub struct ThrottleOptions {
    pub enabled: bool,
    /// Overrides the class derived from the number of users.
    pub size_class: Option<SizeClass>,
    /// Overrides the class's resource units per window (tests use tiny limits).
    pub resource_units: Option<u32>,
    /// The resource-unit window; Graph's is 10 s. Tests shrink it to keep waits short.
    pub window: Duration,
    /// Writes per write window (Graph: 3,000 per 2 min 30 s).
    pub write_limit: u32,
    pub write_window: Duration,
}

impl Default for ThrottleOptions {
    fn default() -> Self {
        Self {
            enabled: true,
            size_class: None,
            resource_units: None,
            window: Duration::from_secs(10),
            write_limit: 3_000,
            write_window: Duration::from_secs(150),
        }
    }
}

impl ThrottleOptions {
    /// No throttling at all.
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }
}

/// `--throttle` values: `on` (size class from the user count), `off`, `S`, `M`, `L`, or a number
/// of resource units per 10 s.
impl FromStr for ThrottleOptions {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut o = Self::default();
        match s.trim().to_ascii_lowercase().as_str() {
            "on" | "graph" | "" => {}
            "off" | "0" | "none" => o.enabled = false,
            "s" => o.size_class = Some(SizeClass::S),
            "m" => o.size_class = Some(SizeClass::M),
            "l" => o.size_class = Some(SizeClass::L),
            n => {
                o.resource_units = Some(n.parse().map_err(|_| {
                    format!(
                        "invalid throttle '{s}': expected on, off, S, M, L or resource units per 10 s"
                    )
                })?);
            }
        }
        Ok(o)
    }
}

/// What a request looks like to the cost table (one flag per documented modifier).
#[derive(Debug, Clone, Copy)]
#[allow(clippy::struct_excessive_bools)]
pub(crate) struct RequestShape {
    pub write: bool,
    /// `GET /users...` (base cost 2).
    pub users: bool,
    pub select: bool,
    pub expand: bool,
    pub top: Option<u32>,
}

/// The documented cost of a request in resource units.
pub(crate) fn cost(shape: RequestShape) -> u32 {
    if shape.write {
        return 1;
    }
    let mut c: i64 = if shape.users { 2 } else { 1 };
    if shape.select {
        c -= 1;
    }
    if shape.expand {
        c += 1;
    }
    if shape.top.is_some_and(|t| t < 20) {
        c -= 1;
    }
    u32::try_from(c.max(1)).unwrap_or(1)
}

/// The outcome for one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    Allowed {
        /// Share of the limit in use, reported only above 0.8 (the header's documented range is
        /// 0.8 to 1.8).
        limit_percentage: Option<f64>,
    },
    Throttled {
        retry_after: Duration,
        /// `x-ms-throttle-scope`: `Tenant_Application/{Read|Write|ReadWrite}/{appId}/{tenantId}`.
        scope: String,
        /// `x-ms-throttle-information`.
        information: &'static str,
    },
}

/// `Retry-After` with millisecond precision, as in the doc sample `2.128`.
pub(crate) fn format_retry_after(d: Duration) -> String {
    let ms = d.as_millis().max(1);
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

struct Bucket {
    /// Remaining units; negative while a client keeps calling during its throttling.
    tokens: f64,
    capacity: f64,
    per_second: f64,
    refilled: Instant,
}

impl Bucket {
    fn new(capacity: u32, window: Duration, now: Instant) -> Self {
        let capacity = f64::from(capacity.max(1));
        Self {
            tokens: capacity,
            capacity,
            per_second: capacity / window.as_secs_f64().max(0.001),
            refilled: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.refilled = now;
    }

    /// Charges `cost`; returns the wait until the charge would have been covered, if it was not.
    fn charge(&mut self, cost: f64, now: Instant) -> Option<Duration> {
        self.refill(now);
        if self.tokens >= cost {
            self.tokens -= cost;
            return None;
        }
        // Charged anyway (usage is logged while throttled), floored so a client that hammers
        // recovers within a couple of windows.
        self.tokens = (self.tokens - cost).max(-self.capacity);
        Some(Duration::from_secs_f64(
            (cost - self.tokens) / self.per_second,
        ))
    }

    fn used_share(&self) -> f64 {
        (self.capacity - self.tokens) / self.capacity
    }
}

struct AppState {
    units: Bucket,
    writes: Bucket,
    throttled_until: Option<Instant>,
}

/// The per application + tenant buckets.
pub(crate) struct Throttle {
    options: ThrottleOptions,
    units_per_window: u32,
    apps: Mutex<HashMap<String, AppState>>,
}

impl Throttle {
    pub(crate) fn new(options: ThrottleOptions, user_count: usize) -> Self {
        let class = options
            .size_class
            .unwrap_or_else(|| SizeClass::for_user_count(user_count));
        let units_per_window = options
            .resource_units
            .unwrap_or_else(|| class.resource_units_per_window());
        Self {
            options,
            units_per_window,
            apps: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn units_per_window(&self) -> u32 {
        self.units_per_window
    }

    /// Decides on one request of `app_id` in `tenant_id` costing `cost` units; the flag says
    /// whether it arrived before a `Retry-After` given to that application had elapsed.
    pub(crate) fn check(
        &self,
        app_id: &str,
        tenant_id: &str,
        cost: u32,
        write: bool,
        now: Instant,
    ) -> (Decision, bool) {
        if !self.options.enabled {
            return (
                Decision::Allowed {
                    limit_percentage: None,
                },
                false,
            );
        }
        let mut apps = self
            .apps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let state = apps.entry(app_id.to_owned()).or_insert_with(|| AppState {
            units: Bucket::new(self.units_per_window, self.options.window, now),
            writes: Bucket::new(self.options.write_limit, self.options.write_window, now),
            throttled_until: None,
        });
        let early = state.throttled_until.is_some_and(|until| now < until);
        if !early {
            state.throttled_until = None;
        }
        let mut wait = state.units.charge(f64::from(cost), now);
        let mut information = "ResourceUnitLimitExceeded";
        let mut limit = "ReadWrite";
        if write && wait.is_none() {
            wait = state.writes.charge(1.0, now);
            information = "WriteLimitExceeded";
            limit = "Write";
        }
        let decision = match wait {
            None => {
                let share = state.units.used_share();
                Decision::Allowed {
                    limit_percentage: (share > 0.8).then_some(share.min(1.8)),
                }
            }
            Some(retry_after) => {
                let until = now + retry_after;
                state.throttled_until = Some(state.throttled_until.map_or(until, |u| u.max(until)));
                Decision::Throttled {
                    retry_after,
                    scope: format!("Tenant_Application/{limit}/{app_id}/{tenant_id}"),
                    information,
                }
            }
        };
        (decision, early)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> RequestShape {
        RequestShape {
            write: false,
            users: true,
            select: false,
            expand: false,
            top: None,
        }
    }

    #[test]
    fn documented_costs() {
        assert_eq!(cost(shape()), 2);
        assert_eq!(
            cost(RequestShape {
                select: true,
                ..shape()
            }),
            1
        );
        assert_eq!(
            cost(RequestShape {
                select: true,
                top: Some(5),
                ..shape()
            }),
            1,
            "never below 1"
        );
        assert_eq!(
            cost(RequestShape {
                users: false,
                expand: true,
                ..shape()
            }),
            2
        );
        assert_eq!(
            cost(RequestShape {
                write: true,
                expand: true,
                ..shape()
            }),
            1
        );
    }

    #[test]
    fn size_classes() {
        assert_eq!(SizeClass::for_user_count(49), SizeClass::S);
        assert_eq!(SizeClass::for_user_count(50), SizeClass::M);
        assert_eq!(SizeClass::for_user_count(500), SizeClass::M);
        assert_eq!(SizeClass::for_user_count(501), SizeClass::L);
        assert_eq!(
            "L".parse::<ThrottleOptions>().unwrap().size_class,
            Some(SizeClass::L)
        );
        assert!(!"off".parse::<ThrottleOptions>().unwrap().enabled);
        assert_eq!(
            "42".parse::<ThrottleOptions>().unwrap().resource_units,
            Some(42)
        );
        assert!("lots".parse::<ThrottleOptions>().is_err());
    }

    #[test]
    fn bucket_throttles_and_counts_early_retries() {
        let t = Throttle::new(
            ThrottleOptions {
                resource_units: Some(10),
                ..ThrottleOptions::default()
            },
            10,
        );
        let start = Instant::now();
        for _ in 0..5 {
            assert!(matches!(
                t.check("app", "t", 2, false, start).0,
                Decision::Allowed { .. }
            ));
        }
        let (d, early) = t.check("app", "t", 2, false, start);
        let Decision::Throttled {
            retry_after, scope, ..
        } = d
        else {
            panic!("expected a 429")
        };
        assert!(!early);
        assert_eq!(scope, "Tenant_Application/ReadWrite/app/t");
        // 10 units per 10 s refill 1 unit/s; the throttled request was charged too, so 4 units
        // must come back.
        assert!(
            (retry_after.as_secs_f64() - 4.0).abs() < 0.01,
            "{retry_after:?}"
        );
        let (_, early) = t.check("app", "t", 2, false, start + Duration::from_secs(1));
        assert!(early, "a retry before Retry-After elapsed");
        // Another application has its own bucket.
        assert!(matches!(
            t.check("other", "t", 2, false, start).0,
            Decision::Allowed { .. }
        ));
        assert_eq!(format_retry_after(Duration::from_millis(2128)), "2.128");
    }
}
