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
//! testing: re-exports for tests/ and fuzz/; nothing in the product uses it
//! ```
//!
//! `docs/ARCHITECTURE.md` is the map; `tests/architecture.rs` enforces which layer may use which.

// Everything is crate-private but the command layer the binary calls and the `testing` facade the
// integration tests and fuzz targets drive, so the compiler reports dead code, and
// `unreachable_pub` keeps a `pub` item from claiming a visibility it does not have.
#![deny(unreachable_pub)]

pub(crate) mod actions;
pub(crate) mod audit;
pub mod commands;
pub(crate) mod graph;
mod graph_metadata;
mod guid;
pub(crate) mod inputs;
pub(crate) mod outputs;
pub(crate) mod preview;
mod repeats;
pub(crate) mod simulate;
#[doc(hidden)]
pub mod testing;
mod text;

/// The version and the commit this binary was built from, as `--version` prints it and the
/// outputs' `tool` field records it: `0.1.0 (commit 1a2b3c4)`, `-dirty` when the tree had local
/// changes, `unknown` when the build could not tell (see `build/commit.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ENTRA_AUDIT_BUILD_COMMIT"),
    ")"
);
