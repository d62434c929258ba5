//! entra-audit: audits hybrid identity (on-premises Active Directory synchronised to Microsoft
//! Entra ID). Data flows one way, and the folders under `src/` are its layers:
//!
//! ```text
//!            graph (sign-in, client, collect) ─▶ inputs::snapshot ─┐
//! AD export / LDAP ─▶ inputs::onprem ─────────────────────────────┤
//!                                                                  ▼
//!        audit: sync_model ─▶ tables ─▶ rules ─▶ findings ─▶ schedule
//!                                                                  ▼
//!                 outputs: report, cleanup exports, publish (files, verdict)
//!
//! actions: Cloud Sync job operations (the only writes to a tenant)
//! commands: one module per command, the clap types; main.rs dispatches
//! simulate: the simulated tenant (imports nothing from the product)
//! ```
//!
//! `docs/ARCHITECTURE.md` is the map; `tests/architecture.rs` enforces which layer may use which.

pub mod actions;
pub mod audit;
pub mod commands;
pub mod graph;
mod graph_metadata;
pub mod inputs;
pub mod outputs;
pub mod preview;
pub mod simulate;

/// The version and the commit this binary was built from, as `--version` prints it and the
/// outputs' `tool` field records it: `0.1.0 (commit 1a2b3c4)`, `-dirty` when the tree had local
/// changes, `unknown` when the build could not tell (see `build/commit.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ENTRA_AUDIT_BUILD_COMMIT"),
    ")"
);
