//! The outputs layer: everything a run hands over after an audit. [`report`] lays out the
//! findings (terminal, `findings.json`, CSV, `report.html`), [`cleanup`] regroups them into
//! ready-to-run cleanup exports, [`publish`] writes one run's files and decides its verdict, and
//! [`replace`] swaps a run's files in whole or not at all.
//!
//! It renders what the audit layer produced; it judges nothing about the tenant, runs no rule
//! and never calls Graph.

pub(crate) mod cleanup;
pub(crate) mod publish;
pub(crate) mod replace;
pub(crate) mod report;
