//! Microsoft Graph over HTTP: a client with a rate limiter and a shared `Retry-After` pause gate
//! ([`client`]), a pure retry policy ([`retry`]), an `OData` pager that follows `@odata.nextLink`
//! verbatim ([`pager`]) and typed errors that carry Graph's error code and request-id
//! ([`error`]). It gets tokens through [`crate::graph::auth::TokenSource`]; it must not know which
//! collections an audit reads, nor rules or tables.

pub(crate) mod auth;
pub(crate) mod client;
pub(crate) mod cloud_sync_discovery;
pub(crate) mod collect;
pub(crate) mod error;
pub(crate) mod pager;
pub(crate) mod retry;
#[doc(hidden)]
pub mod test_support;
pub(crate) mod url;

pub(crate) use client::{CallStats, GraphClient, GraphClientOptions};
pub(crate) use error::GraphError;
pub(crate) use pager::{Page, Pager};
pub(crate) use retry::RetryPolicy;

#[cfg(test)]
mod tests;
