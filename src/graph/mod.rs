//! Microsoft Graph over HTTP: a client with a rate limiter and a shared `Retry-After` pause gate
//! ([`client`]), a pure retry policy ([`retry`]), an `OData` pager that follows `@odata.nextLink`
//! verbatim ([`pager`]) and typed errors that carry Graph's error code and request-id
//! ([`error`]). It gets tokens through [`crate::auth::TokenSource`]; it must not know which
//! collections an audit reads, nor rules or tables.

pub mod client;
pub mod error;
pub mod pager;
pub mod retry;

pub use client::{CallStats, Delivered, GraphClient, GraphClientOptions};
pub use error::{ErrorDetail, GraphError};
pub use pager::{Page, Pager};
pub use retry::{Attempts, Decision, Failure, RetryPolicy, parse_retry_after};

/// Percent-encodes everything but RFC 3986 unreserved characters, so that an id put in a URL
/// path can never add a segment or a query (Graph ids are GUIDs, or `Template.hex` job ids: they
/// pass unchanged).
pub fn path_segment(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests;
