//! entra-audit: audits hybrid identity (on-premises Active Directory synchronised to Microsoft
//! Entra ID). Data flows one way, one module per arrow:
//!
//! ```text
//! snapshot (cloud JSON) ─┐
//!                        ├─▶ tables ─▶ rules ─▶ findings ─▶ report
//! onprem (AD export) ────┘
//! ```
//!
//! `audit` wires the arrows together for `check`; `cli` only declares the command line.

pub mod audit;
pub mod auth;
pub mod baseline;
pub mod cleanup;
pub mod cli;
pub mod cloudsync;
pub mod collect;
pub mod connect;
pub mod demo;
pub mod doctor;
pub mod findings;
pub mod graph;
mod graph_metadata;
pub mod inputs;
pub mod ldap;
pub mod live;
pub mod onprem;
pub mod preview;
pub mod publish;
pub mod replace;
pub mod report;
pub mod rules;
pub mod simulate;
pub mod snapshot;
pub mod sync_model;
pub mod tables;
pub mod tenants;

/// The version and the commit this binary was built from, as `--version` prints it and the
/// outputs' `tool` field records it: `0.1.0 (commit 1a2b3c4)`, `-dirty` when the tree had local
/// changes, `unknown` when the build could not tell (see `build/commit.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ENTRA_AUDIT_BUILD_COMMIT"),
    ")"
);
