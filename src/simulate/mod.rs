//! The simulated hybrid tenant: an independent twin of Microsoft Graph and the Entra token
//! endpoint, served over HTTP on loopback for tests, the demo and benchmarks
//! (`entra-audit simulate`).
//!
//! `model` is the tenant's state (typed records that serialise to Graph JSON); `server` serves
//! it, with `token`, `resources`, `delta` (delta queries and the change log), `odata`,
//! `throttle`, `faults`, `select` and `response` as its parts. Start one with
//! [`SimServer::start`] (tests, the demo and `entra-audit simulate`: a handle for stats and
//! state). This module must not share request or parsing
//! code with the project's Graph client: a bug shared by both sides would pass every test.

pub(crate) mod command;
mod delta;
pub(crate) mod export;
pub(crate) mod faults;
mod folded;
pub(crate) mod generator;
pub(crate) mod model;
mod odata;
mod resources;
mod response;
mod select;
pub(crate) mod server;
pub(crate) mod throttle;
pub(crate) mod token;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_batch_delta;

pub(crate) use faults::FaultOptions;
pub(crate) use server::{Latency, ServerOptions, SimServer};
pub(crate) use throttle::ThrottleOptions;
pub(crate) use token::ClientApp;

/// Whether `text` parses as a `$filter` expression: the fuzz targets' entry into the simulator's
/// OData parser (`fuzz/fuzz_targets/odata_filter.rs`), which is otherwise private.
#[doc(hidden)]
pub fn filter_parses(text: &str) -> bool {
    odata::parse_filter(text).is_ok()
}

/// Whether `raw` parses as a request's query string (`$filter`, `$select`, `$top`, ...), for the
/// fuzz targets.
#[doc(hidden)]
pub fn query_parses(raw: &str) -> bool {
    odata::parse_query(Some(raw), false).is_ok()
}

#[cfg(test)]
mod fuzz_regressions {
    /// Found by the `odata_filter` fuzz target: deep nesting overflowed the parser's stack.
    #[test]
    fn a_deeply_nested_filter_is_refused_not_a_stack_overflow() {
        let parens = format!("{}a eq 'b'{}", "(".repeat(100_000), ")".repeat(100_000));
        let nots = format!("{}a eq 'b'", "not ".repeat(100_000));
        let any = "p/any(x:".repeat(50_000);
        for text in [parens, nots, any] {
            assert!(!super::filter_parses(&text));
            let _ = super::query_parses(&format!("$filter={text}"));
        }
        assert!(super::filter_parses("((a eq 'b') and not (c eq 'd'))"));
    }
}
