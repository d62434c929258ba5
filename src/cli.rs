//! The command line: clap definitions only. The doc comments here are the `--help` text; the
//! logic behind each command lives in its module (`audit`, `rules`, `onprem`, `report`).

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};

use crate::findings::Severity;

/// Audits hybrid identity: predicts what Entra Connect / Cloud Sync will do with every on-prem
/// Active Directory object, and what is wrong, naming both sides and the fix.
#[derive(Debug, Parser)]
#[command(name = "entra-audit", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit a cloud snapshot against an on-prem AD export and write the findings.
    ///
    /// Exit code: 0 when no finding is at or above --fail-on, 1 when one is, 2 on error.
    Check(CheckArgs),
    /// List the audit rules, or explain one.
    Rules {
        #[command(subcommand)]
        command: Option<RulesCommand>,
    },
    /// Describe the tables (and their columns) that rules query: what a custom rule can use.
    Tables,
    /// Print a PowerShell script that exports users, contacts and groups the way `--onprem` reads them.
    OnpremScript,
    /// Serve a simulated hybrid tenant on loopback that behaves like Microsoft Graph and the
    /// Entra token endpoint, and write its on-prem export and ground truth.
    ///
    /// For tests, the demo and benchmarks, and for trying other Graph tooling (the Graph SDKs, the
    /// CLI for Microsoft 365) against a tenant with known problems.
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Healthy synced on-prem users (each with its cloud twin); planted problems come on top.
    #[arg(long, default_value_t = 200)]
    pub users: usize,
    /// Healthy synced mail contacts.
    #[arg(long, default_value_t = 20)]
    pub contacts: usize,
    /// Healthy synced groups.
    #[arg(long, default_value_t = 20)]
    pub groups: usize,
    /// Cloud-only users that match nothing on-prem.
    #[arg(long, default_value_t = 10)]
    pub cloud_only: usize,
    /// Seed of the generator: the same seed gives the same tenant.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Planted problems as a fraction of the on-prem objects (at least one of each kind).
    #[arg(long, default_value_t = 0.01)]
    pub problem_rate: f64,
    /// Tenant-level sync state: healthy, dirsync-stale or phs-stale (default: phs-stale for
    /// small tenants, healthy above 10,000 users).
    #[arg(long, value_parser = ["healthy", "dirsync-stale", "phs-stale"])]
    pub tenant_health: Option<String>,
    /// Address to listen on (loopback only; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Directory for the on-prem export (ad.ldif, ad.csv, ad.json) and the ground truth
    /// (expected.json).
    #[arg(long, value_name = "DIR", default_value = "entra-audit-simulated")]
    pub write_onprem: PathBuf,
    /// Also write the cloud side as a snapshot directory (the `check --cloud` layout).
    #[arg(long, value_name = "DIR")]
    pub write_snapshot: Option<PathBuf>,
    /// Response latency: `graph` (about 1-2 s per 999-user page, as Graph shows), `0`, or
    /// `BASE+PER_OBJECT` in milliseconds (e.g. `300+1`).
    #[arg(long, default_value = "graph")]
    pub latency: String,
    /// Throttling: on (size class from the tenant), off, S, M, L, or resource units per 10 s.
    #[arg(long, default_value = "on")]
    pub throttle: String,
    /// Injected faults, e.g. seed=7,503=0.02,reset=0.01,truncate=0.01,malformed=0.01,
    /// expire-token-after=500,forbid=groups.
    #[arg(long, default_value = "")]
    pub faults: String,
    /// Tenant id the simulator answers for (default: generated from the seed).
    #[arg(long)]
    pub tenant_id: Option<String>,
    /// Client id it accepts (default: made up and printed).
    #[arg(long)]
    pub client_id: Option<String>,
    /// Client secret it accepts. This is the simulator's own made-up credential (default: made
    /// up and printed), never a real one.
    #[arg(long)]
    pub client_secret: Option<String>,
    /// PEM certificate: client assertions signed with its key are accepted.
    #[arg(long, value_name = "PEM")]
    pub certificate: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List every rule with its severity and title (the default).
    List,
    /// Show a rule's documentation: what it does, why it matters, how to fix it.
    Explain {
        /// The rule's name, as `entra-audit rules` lists it.
        name: String,
    },
    /// Print the rule catalogue as Markdown (the README's catalogue is this output).
    Catalogue,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Cloud snapshot directory: users.json, contacts.json, groups.json, organization.json,
    /// domains.json, synchronizationJobs.json, directoryRoles.json (Graph JSON, or .jsonl).
    #[arg(long, value_name = "DIR")]
    pub cloud: Option<PathBuf>,

    /// On-prem AD export: ldifde LDIF, PowerShell Export-Csv CSV or ConvertTo-Json JSON (format
    /// detected from content). Repeat for several domains or forests.
    #[arg(long, value_name = "FILE")]
    pub onprem: Vec<PathBuf>,

    /// Directory to write findings.json, findings.csv and rules/<rule>.csv into.
    #[arg(long, value_name = "DIR", default_value = "entra-audit-report")]
    pub out: PathBuf,

    /// Exit with code 1 when a finding has this severity or higher (critical, high, medium, low,
    /// info), or never.
    #[arg(long, value_name = "SEVERITY", default_value = "high", value_parser = parse_fail_on)]
    pub fail_on: FailOn,

    /// Judge times against this instant (RFC 3339 or YYYY-MM-DD) instead of the snapshot's
    /// collection time (or now, when the snapshot has no manifest).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub as_of: Option<DateTime<Utc>>,

    /// Directory sync older than this is stale (e.g. 90m, 3h, 2d).
    #[arg(long, value_name = "AGE", default_value = "3h", value_parser = parse_age)]
    pub directory_sync_max_age: chrono::Duration,

    /// Password hash sync older than this, while directory sync is fresh, is stale.
    #[arg(long, value_name = "AGE", default_value = "24h", value_parser = parse_age)]
    pub password_sync_max_age: chrono::Duration,

    /// A Cloud Sync job without a successful run for this long is failing.
    #[arg(long, value_name = "AGE", default_value = "24h", value_parser = parse_age)]
    pub cloud_sync_max_age: chrono::Duration,

    /// Extra rules: every .sql file below DIR is loaded beside the built-in rules.
    #[arg(long, value_name = "DIR")]
    pub rules_dir: Option<PathBuf>,

    /// Run only this rule (repeatable).
    #[arg(long = "rule", value_name = "NAME")]
    pub rules: Vec<String>,

    /// Print the summary only; write no files.
    #[arg(long)]
    pub no_files: bool,
}

/// The severity threshold for a non-zero exit, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    AtOrAbove(Severity),
    Never,
}

fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    if s.eq_ignore_ascii_case("never") {
        Ok(FailOn::Never)
    } else {
        s.parse().map(FailOn::AtOrAbove)
    }
}

/// `90m`, `3h`, `2d` (a bare number is hours).
pub fn parse_age(s: &str) -> Result<chrono::Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, "h"),
    };
    let n: i64 = number.parse().map_err(|_| {
        format!("'{s}' is not an age: write a whole number and a unit, like 90m, 3h or 2d")
    })?;
    match unit.trim() {
        "m" | "min" => Ok(chrono::Duration::minutes(n)),
        "h" => Ok(chrono::Duration::hours(n)),
        "d" => Ok(chrono::Duration::days(n)),
        other => Err(format!("'{s}': unknown unit '{other}' (use m, h or d)")),
    }
}

/// RFC 3339 (`2026-11-01T08:00:00Z`) or a date (`2026-11-01`, midnight UTC).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
        .map_err(|_| {
            format!(
                "'{s}' is not a time: use RFC 3339 (2026-11-01T08:00:00Z) or a date (2026-11-01)"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ages_and_times_parse() {
        assert_eq!(parse_age("90m"), Ok(chrono::Duration::minutes(90)));
        assert_eq!(parse_age("3"), Ok(chrono::Duration::hours(3)));
        assert_eq!(parse_age("2d"), Ok(chrono::Duration::days(2)));
        assert!(parse_age("3 weeks").unwrap_err().contains("unknown unit"));
        assert!(parse_age("h").is_err());
        assert_eq!(
            parse_time("2026-11-01").unwrap().to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_fail_on("never"), Ok(FailOn::Never));
        assert_eq!(
            parse_fail_on("Medium"),
            Ok(FailOn::AtOrAbove(Severity::Medium))
        );
    }
}
