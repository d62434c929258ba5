//! Microsoft Graph over HTTP: a client with a rate limiter and a shared `Retry-After` pause gate
//! ([`client`]), a pure retry policy ([`retry`]), an `OData` pager that follows `@odata.nextLink`
//! verbatim ([`pager`]) and typed errors that carry Graph's error code and request-id
//! ([`error`]). It gets tokens through [`crate::graph::auth::TokenSource`]; it must not know which
//! collections an audit reads, nor rules or tables.

pub mod auth;
pub mod client;
pub mod cloud_sync_discovery;
pub mod collect;
pub mod error;
pub mod pager;
pub mod retry;
#[doc(hidden)]
pub mod test_support;
pub mod url;

pub use client::{CallStats, Delivered, GraphClient, GraphClientOptions};
pub use error::{ErrorDetail, GraphError};
pub use pager::{Page, Pager};
pub use retry::{Attempts, Decision, Failure, RetryPolicy, parse_retry_after};

#[cfg(test)]
mod tests;
