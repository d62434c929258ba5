//! The command line: clap definitions only. The doc comments here are the `--help` text; the
//! logic behind each command lives in its module under `crate::commands`, and nothing below the
//! command layer may use these types (`tests/architecture.rs`).
// Doc comments here are printed by `--help` as they are: Markdown backticks and angle brackets
// would show up literally, and flags are naturally many booleans.
#![allow(
    clippy::doc_markdown,
    clippy::doc_link_with_quotes,
    clippy::struct_excessive_bools
)]

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};

use crate::audit::schedule::FailOn;
use crate::graph::auth::Cloud;

/// Audits hybrid identity: predicts what Entra Connect / Cloud Sync will do with every on-prem
/// Active Directory object, and what is wrong, naming both sides and the fix.
#[derive(Debug, Parser)]
#[command(name = "entra-audit", version = crate::VERSION, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr: text for people, json (one object per line) for schedulers.
    /// The level comes from ENTRA_AUDIT_LOG (e.g. info, debug; default warn).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// For people.
    Text,
    /// One JSON object per line, for schedulers and log collectors.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit the tenant (live from Graph, or a snapshot with --cloud) against an on-prem AD
    /// export and write the findings.
    ///
    /// Without --cloud but with a tenant (--tenant or AZURE_TENANT_ID), signs in (see the
    /// Sign-in options), collects the tenant into OUT/cloud and audits that snapshot:
    /// `check --cloud OUT/cloud` repeats the audit offline. With neither, audits the on-prem
    /// export alone.
    ///
    /// Exit code: 0 when no finding is at or above --fail-on, 1 when one is, 2 on error, and
    /// (unless --allow-partial) when a collection failed, a given input was unusable (a snapshot
    /// collection failed or incomplete, an export whose every record was rejected) or a rule
    /// named with --rule could not be evaluated.
    Check(Box<CheckArgs>),
    /// Collect the tenant from Microsoft Graph into a snapshot directory (what `check --cloud`
    /// reads) with a manifest.json saying what was collected, how, and what failed.
    ///
    /// Exit code: 0 when every collection is complete (or forbidden/skipped, which the manifest
    /// records), 2 when one failed (unless --allow-partial) or on error.
    #[command(after_long_help = collections_help())]
    Collect(CollectArgs),
    /// Check the sign-in and the permissions: which collections the token can read, which
    /// rules a missing permission disables, and the least-privilege permissions to grant.
    ///
    /// Exit code: 0 when everything this sign-in can read is readable (an application sign-in
    /// never reads onPremisesSynchronization), 1 when a permission is missing, 2 when sign-in
    /// fails.
    Doctor(DoctorArgs),
    /// Run the whole job on a built-in simulated tenant: start it on loopback, collect from it
    /// over HTTP with the real client, audit against its on-prem export and write the report.
    /// No credentials, no network.
    Demo(DemoArgs),
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
    /// Show Cloud Sync configurations and jobs, and clear a quarantine, restart, start or pause a
    /// job, safely: without --yes the exact request is printed and nothing is sent.
    ///
    /// Exit code: 0 done (or nothing to do), 1 a job is quarantined or failing (status) or did
    /// not reach the expected state in time (actions), 2 on error.
    CloudSync(CloudSyncArgs),
    /// Read users, contacts and groups from Active Directory over LDAP (LDAPS or StartTLS, paged)
    /// into the JSON file `check --onprem` reads (the same as `onprem-script`'s).
    ///
    /// The bind password comes from ENTRA_AUDIT_LDAP_PASSWORD or --bind-password-file, never
    /// from the command line. A search that does not complete writes nothing.
    ///
    /// Exit code: 0 when every object was read, 2 on error.
    CollectAd(CollectAdArgs),
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish.
    ///
    /// PowerShell: entra-audit completions powershell | Out-String | Invoke-Expression (add
    /// that line to $PROFILE to keep it).
    ///
    /// bash: source <(entra-audit completions bash), or save the output as
    /// ~/.local/share/bash-completion/completions/entra-audit.
    ///
    /// zsh: save it as _entra-audit in a folder of $fpath. fish: save it as
    /// ~/.config/fish/completions/entra-audit.fish.
    Completions(CompletionsArgs),
    /// Write the manual pages: entra-audit(1) and one per command (entra-audit-check(1), ...), to
    /// stdout one after the other, or as files into --out DIR (e.g. /usr/local/share/man/man1).
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one file per page (entra-audit.1, entra-audit-check.1, ...) into this folder,
    /// which must exist, instead of printing them.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CollectAdArgs {
    /// The domain controller: ldaps://dc1.corp.contoso.com (or ldap://... with --start-tls;
    /// plain ldap:// with a password only on loopback).
    #[arg(long, value_name = "URL")]
    pub server: String,

    /// The JSON file to write (replaced only when the whole directory was read).
    #[arg(long, value_name = "FILE", default_value = "entra-audit-ad.json")]
    pub out: PathBuf,

    /// Also read this attribute (repeatable): a custom source anchor or UPN attribute that
    /// `check --source-anchor`/`--upn-source` will name (e.g. employeeID; NAME;binary for a
    /// binary one, written as base64).
    #[arg(long = "attribute", value_name = "NAME", value_parser = parse_extra_attribute)]
    pub attributes: Vec<crate::inputs::onprem::ExtraAttribute>,

    #[command(flatten)]
    pub ldap: LdapArgs,
}

/// How to reach and read Active Directory over LDAP (`collect-ad`, `check --ad-server`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Active Directory over LDAP")]
pub struct LdapArgs {
    /// The DN to read below (default: the domain, from the rootDSE's defaultNamingContext).
    #[arg(long, value_name = "DN")]
    pub base: Option<String>,

    /// The account to bind as: svc-audit@corp.contoso.com or its DN (any domain user can read
    /// what is collected). Without it the bind is anonymous, which AD refuses for searches.
    #[arg(long, value_name = "ACCOUNT")]
    pub bind: Option<String>,

    /// A file whose first line is the bind password (else ENTRA_AUDIT_LDAP_PASSWORD).
    #[arg(long, value_name = "FILE")]
    pub bind_password_file: Option<PathBuf>,

    /// Upgrade an ldap:// connection with StartTLS before binding.
    #[arg(long)]
    pub start_tls: bool,

    /// PEM file of the CA(s) that issued the domain controller's certificate (default: the
    /// system's trusted CAs).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

impl LdapArgs {
    /// The collection options for `server`, writing `out`; reads the password (file or env).
    pub fn collect_options(
        &self,
        server: &str,
        out: PathBuf,
    ) -> anyhow::Result<crate::inputs::ldap::CollectAdOptions> {
        use std::io::IsTerminal as _;
        Ok(crate::inputs::ldap::CollectAdOptions {
            server: server.to_owned(),
            base: self.base.clone(),
            bind: self.bind.clone(),
            password: crate::inputs::ldap::Password::load(self.bind_password_file.as_deref())?,
            start_tls: self.start_tls,
            ca_file: self.ca_file.clone(),
            out,
            progress: std::io::stderr().is_terminal(),
            extra_attributes: Vec::new(),
        })
    }
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
    /// Write the whole tenant as files into DIR and exit instead of serving: DIR/onprem/ (the
    /// export, see --formats), DIR/cloud/ (the snapshot, see --snapshot-format),
    /// DIR/expected.json (the ground truth) and DIR/planted.json (each planting case: the objects
    /// it made and why each expected finding follows). What tests/bench/run.sh and the fixture
    /// tenant use.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["write_onprem", "write_snapshot"])]
    pub out: Option<PathBuf>,
    /// On-prem export formats to write, comma-separated: ldif, csv, json.
    #[arg(long, value_delimiter = ',', default_value = "ldif,csv,json",
          value_parser = ["ldif", "csv", "json"])]
    pub formats: Vec<String>,
    /// How the snapshot holds users, contacts and groups: jsonl (one object a line, as
    /// `collect` writes) or json (a `{"value":[...]}` collection response).
    #[arg(long, default_value = "jsonl", value_parser = ["jsonl", "json"])]
    pub snapshot_format: String,
    /// Cloud Sync configurations whose job is in quarantine.
    #[arg(long, default_value_t = 1)]
    pub quarantined_jobs: usize,
    /// Cloud Sync configurations whose job is active but failing.
    #[arg(long, default_value_t = 1)]
    pub failing_jobs: usize,
    /// At least this many planted cases of each kind (so every rule has findings in a small
    /// tenant).
    #[arg(long, default_value_t = 1)]
    pub min_per_case: usize,
    /// The snapshot time every generated time is relative to, RFC 3339 (default: now). Fix it
    /// for files that must not change between runs.
    #[arg(long, value_name = "TIME")]
    pub collected_at: Option<String>,
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

/// How a live command signs in to Microsoft Graph. A client secret is read from
/// `AZURE_CLIENT_SECRET` or `--client-secret-file`, never from a flag value (argv is visible to
/// every user of the machine).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Sign-in")]
pub struct AuthArgs {
    /// Tenant id or a verified domain name.
    #[arg(long, env = "AZURE_TENANT_ID", value_name = "TENANT")]
    pub tenant: Option<String>,
    /// Application (client) id of the app registration.
    #[arg(long, env = "AZURE_CLIENT_ID", value_name = "GUID")]
    pub client_id: Option<String>,
    /// File holding the client secret (default: the AZURE_CLIENT_SECRET environment variable).
    #[arg(long, value_name = "FILE")]
    pub client_secret_file: Option<PathBuf>,
    /// Sign in with a certificate: PEM file with the private key and the certificate, or PFX
    /// (password in AZURE_CLIENT_CERTIFICATE_PASSWORD).
    #[arg(long, env = "AZURE_CLIENT_CERTIFICATE_PATH", value_name = "FILE")]
    pub certificate: Option<PathBuf>,
    /// Sign a user in with the device code flow (delegated: reads
    /// /directory/onPremisesSynchronization, which application tokens cannot).
    #[arg(long)]
    pub device_code: bool,
    /// National cloud: global, usgov, usgov-dod or china. (Named --national-cloud because
    /// `check --cloud DIR` is the snapshot directory.)
    #[arg(
        long,
        value_name = "CLOUD",
        default_value = "global",
        value_parser = parse_cloud
    )]
    pub national_cloud: Cloud,
    /// Login host override, e.g. https://login.microsoftonline.com (plain http only on loopback).
    #[arg(long, env = "AZURE_AUTHORITY_HOST", value_name = "URL")]
    pub authority_host: Option<String>,
    /// Graph host override, e.g. https://graph.microsoft.com (plain http only on loopback).
    #[arg(long, value_name = "URL")]
    pub graph_endpoint: Option<String>,
    /// Steady Graph request rate of this run, all collections together.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub requests_per_second: u32,
}

impl AuthArgs {
    pub fn connect_options(&self) -> crate::commands::sign_in::ConnectOptions {
        crate::commands::sign_in::ConnectOptions {
            tenant: self.tenant.clone(),
            client_id: self.client_id.clone(),
            client_secret_file: self.client_secret_file.clone(),
            client_secret: None,
            certificate: self.certificate.clone(),
            device_code: self.device_code,
            cloud: self.national_cloud,
            authority_host: self.authority_host.clone(),
            graph_endpoint: self.graph_endpoint.clone(),
            requests_per_second: self.requests_per_second,
        }
    }
}

fn parse_cloud(s: &str) -> Result<Cloud, String> {
    s.parse()
        .map_err(|e: crate::graph::auth::AuthError| e.message().to_owned())
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
    /// Print the rule catalogue as Markdown (docs/rules.md's catalogue is this output).
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

    /// Directory to write report.html, findings.json, findings.csv, rules/<rule>.csv and
    /// cleanup/<action>.csv into.
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

    /// The previous run's findings.json: marks each finding new or unchanged and lists the
    /// baseline's findings that are gone as resolved.
    #[arg(long, value_name = "FILE", help_heading = "Scheduled audits")]
    pub baseline: Option<PathBuf>,

    /// TOML file of accepted findings (`[[suppress]]` with rule, object, reason, expires): they
    /// are written as muted and left out of the counts and --fail-on until they expire.
    #[arg(long, value_name = "FILE", help_heading = "Scheduled audits")]
    pub suppressions: Option<PathBuf>,

    /// Exit 1 only for NEW findings (not in --baseline) at or above --fail-on.
    #[arg(long, requires = "baseline", help_heading = "Scheduled audits")]
    pub fail_on_new: bool,

    /// Start every CSV file with a UTF-8 byte order mark, so that Excel reads non-ASCII names
    /// correctly.
    #[arg(long)]
    pub csv_bom: bool,

    /// Audit several tenants in one run: a TOML file naming each tenant, its credentials
    /// (an environment variable or file holding the secret, or a certificate), its rate limit
    /// and its on-prem exports. Each gets OUT/<name>/; OUT/index.html lists them all.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cloud", "onprem", "snapshot_dir", "baseline", "suppressions", "ad_server"])]
    pub config: Option<PathBuf>,

    /// Live run: where the collected snapshot goes (default OUT/cloud).
    #[arg(long, value_name = "DIR", conflicts_with = "cloud")]
    pub snapshot_dir: Option<PathBuf>,

    /// Audit even when a collection failed or a given input is unusable, and exit 0 or 1 as
    /// the findings say; the rules that need it are reported as not evaluated.
    #[arg(long)]
    pub allow_partial: bool,

    /// Live run: collect only the objects with provisioning errors (see `collect --errors-only`):
    /// a fast scheduled check of sync errors and sync health on a large tenant.
    #[arg(long, conflicts_with = "cloud")]
    pub errors_only: bool,

    /// Read Active Directory live from this domain controller (see `collect-ad`) into
    /// OUT/ad.json and audit it, with any --onprem exports.
    #[arg(long, value_name = "URL", help_heading = "Active Directory over LDAP")]
    pub ad_server: Option<String>,

    #[command(flatten)]
    pub ldap: LdapArgs,

    #[command(flatten)]
    pub sync: SyncArgs,

    #[command(flatten)]
    pub auth: AuthArgs,
}

/// How the tenant's sync engine is configured. Every part defaults to `auto`: inferred from the
/// tenant's own data where it can be, else the documented default; findings.json
/// (`inputs.sync_model`) and the summary say which.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Sync model")]
pub struct SyncArgs {
    /// The engine: auto, connect (Entra Connect Sync) or cloud-sync. Auto takes Cloud Sync for the
    /// domains a Cloud Sync provisioning job names, Entra Connect for the others.
    #[arg(long, value_name = "ENGINE")]
    pub sync_engine: Option<crate::audit::sync_model::EngineSetting>,

    /// Entra Connect's source anchor: auto, mS-DS-ConsistencyGuid, objectGUID (any case), or the
    /// attribute a custom install selected: NAME for a string attribute (its value becomes the
    /// immutableId as it is), NAME;binary for a binary one (base64 of its bytes). ConsistencyGuid
    /// mode anchors users on mS-DS-ConsistencyGuid and other objects on objectGUID; a custom
    /// attribute anchors users (other objects keep objectGUID), and the import then carries it.
    /// Cloud Sync always uses mS-DS-ConsistencyGuid when set, else objectGUID.
    #[arg(long, value_name = "ATTRIBUTE")]
    pub source_anchor: Option<crate::audit::sync_model::AnchorSetting>,

    /// The on-prem attribute that becomes the cloud userPrincipalName: auto, userPrincipalName,
    /// mail, or any other attribute (alternate login ID; the import then carries it).
    #[arg(long, value_name = "ATTRIBUTE")]
    pub upn_source: Option<crate::audit::sync_model::UpnSetting>,

    /// Only objects at or below this OU sync (repeatable), as the engine's OU filtering is set.
    #[arg(long, value_name = "DN")]
    pub scope_ou: Vec<String>,

    /// Objects at or below this OU do not sync (repeatable).
    #[arg(long, value_name = "DN")]
    pub exclude_ou: Vec<String>,

    /// A TOML file with the same keys (sync-engine, source-anchor, upn-source, scope-ou,
    /// exclude-ou); flags win over it part by part.
    #[arg(long, value_name = "FILE")]
    pub sync_config: Option<PathBuf>,
}

impl SyncArgs {
    /// The settings as the audit takes them (reads `--sync-config`).
    pub fn config(&self) -> anyhow::Result<crate::audit::sync_model::SyncConfig> {
        let file = match &self.sync_config {
            Some(path) => crate::audit::sync_model::SyncSettings::load(path)?,
            None => crate::audit::sync_model::SyncSettings::default(),
        };
        Ok(crate::audit::sync_model::SyncConfig {
            flags: crate::audit::sync_model::SyncSettings {
                sync_engine: self.sync_engine,
                source_anchor: self.source_anchor,
                upn_source: self.upn_source,
                scope_ou: self.scope_ou.clone(),
                exclude_ou: self.exclude_ou.clone(),
            },
            file,
        })
    }
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Snapshot directory to write (created when needed; files of an earlier run are replaced).
    #[arg(long, value_name = "DIR", default_value = "entra-audit-snapshot")]
    pub out: PathBuf,

    /// Do not collect this collection (repeatable): one of the names listed under
    /// "Collections" (--help).
    #[arg(long, value_name = "COLLECTION", value_parser = parse_collection)]
    pub skip: Vec<crate::inputs::snapshot::Collection>,

    /// Exit 0 even when a collection failed (the manifest still marks it failed).
    #[arg(long)]
    pub allow_partial: bool,

    /// A quick sweep: collect only the users, contacts and groups that have provisioning errors
    /// (server-side filter, with a scan when Graph refuses it) plus the tenant-level state.
    /// Only the provisioning-error and sync-health rules can be evaluated on such a snapshot.
    #[arg(long)]
    pub errors_only: bool,

    /// The most users and groups whose onPremisesSyncBehavior (converted to cloud management?)
    /// is read, one batch item each, the formerly synced first; the rest are recorded as not
    /// read, and the leftover rules say so.
    #[arg(long, value_name = "N", default_value_t = crate::graph::collect::CollectOptions::default().sync_behavior_cap)]
    pub sync_behavior_cap: usize,

    #[command(flatten)]
    pub auth: AuthArgs,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also check Active Directory over LDAP: connect, bind, read the rootDSE and one page, and
    /// list the attributes the audit reads that none of those objects carry. Without a tenant
    /// (--tenant or AZURE_TENANT_ID) only this is checked.
    #[arg(long, value_name = "URL", help_heading = "Active Directory over LDAP")]
    pub ad_server: Option<String>,

    #[command(flatten)]
    pub ldap: LdapArgs,

    #[command(flatten)]
    pub auth: AuthArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for everything the demo writes: the simulated on-prem export (onprem/), the
    /// collected snapshot (cloud/) and the report.
    #[arg(long, value_name = "DIR", default_value = "entra-audit-demo")]
    pub out: PathBuf,
    /// Healthy synced users of the simulated tenant (planted problems come on top).
    #[arg(long, default_value_t = 2_000)]
    pub users: usize,
    /// Seed of the simulated tenant.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Response latency of the simulated Graph: `graph` (as Graph shows), `0`, or
    /// `BASE+PER_OBJECT` in milliseconds.
    #[arg(long, default_value = "graph")]
    pub latency: String,
}

/// `collect --help`'s list of collections, from the snapshot's catalogue: the name `--skip`
/// takes, where Graph serves it, how it is read, and the least-privilege permissions.
fn collections_help() -> String {
    use crate::inputs::snapshot::catalogue::Reading;
    use std::fmt::Write as _;
    let threshold = crate::graph::collect::CollectOptions::default().partition_threshold;
    let mut out =
        String::from("Collections (file name in the snapshot, and the name --skip takes):\n");
    for spec in &crate::inputs::snapshot::CATALOGUE {
        let reading = match spec.reading {
            Reading::Partitioned(p) => format!(
                "paged; above {threshold} objects in partitions by {}",
                p.property
            ),
            Reading::Whole => "read whole".to_owned(),
            Reading::Assembled(how) => how.to_owned(),
        };
        let permissions = if spec.application.is_empty() {
            format!("delegated {}", spec.delegated.join(" + "))
        } else {
            spec.application.join(" + ")
        };
        let path = spec.path.split('?').next().unwrap_or(spec.path);
        let _ = writeln!(
            out,
            "  {:<27} GET /{}{path}\n  {:<27} {reading}; needs {permissions}",
            spec.collection.file_stem(),
            spec.version.as_str(),
            ""
        );
    }
    out
}

fn parse_extra_attribute(s: &str) -> Result<crate::inputs::onprem::ExtraAttribute, String> {
    crate::inputs::onprem::ExtraAttribute::parse(s)
}

fn parse_collection(s: &str) -> Result<crate::inputs::snapshot::Collection, String> {
    crate::inputs::snapshot::Collection::ALL
        .into_iter()
        .find(|c| c.file_stem().eq_ignore_ascii_case(s))
        .ok_or_else(|| {
            let names: Vec<&str> = crate::inputs::snapshot::Collection::ALL
                .iter()
                .map(|c| c.file_stem())
                .collect();
            format!(
                "unknown collection '{s}': expected one of {}",
                names.join(", ")
            )
        })
}

fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    if s.eq_ignore_ascii_case("never") {
        Ok(FailOn::Never)
    } else {
        s.parse().map(FailOn::AtOrAbove)
    }
}

/// The longest `--*-max-age`: ten years. Longer is a typo, and an unbounded one would overflow
/// the time arithmetic.
pub const MAX_AGE: std::time::Duration = std::time::Duration::from_hours(24 * 3650);
/// The longest `--timeout` / `--poll-interval`: a day.
pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_hours(24);

/// The one duration parser behind every duration flag: a whole number and a unit from `units`
/// (`default_unit` when bare), at most `max`; never a panic, whatever the number (checked
/// arithmetic, then the bound).
fn parse_duration(
    s: &str,
    units: &[(&str, u64)],
    default_unit: &str,
    max: std::time::Duration,
) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let names = units.iter().map(|(u, _)| *u).collect::<Vec<_>>().join(", ");
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let unit = match unit.trim() {
        "" => default_unit,
        other => other,
    };
    let Some(&(_, millis_per_unit)) = units.iter().find(|(u, _)| *u == unit) else {
        return Err(format!("'{s}': unknown unit '{unit}' (use {names})"));
    };
    let n: u64 = number.parse().map_err(|e: std::num::ParseIntError| {
        if number.is_empty() {
            format!("'{s}' is not a duration: write a whole number and a unit ({names})")
        } else {
            format!("'{s}': {e}")
        }
    })?;
    let too_long = || format!("'{s}' is too long: at most {}", describe(max, units));
    let millis = n.checked_mul(millis_per_unit).ok_or_else(too_long)?;
    let duration = std::time::Duration::from_millis(millis);
    if duration > max {
        return Err(too_long());
    }
    Ok(duration)
}

/// `max` in the largest of `units` that divides it (`3650d`, `1440m`).
fn describe(max: std::time::Duration, units: &[(&str, u64)]) -> String {
    let millis = max.as_millis();
    let mut units = units.to_vec();
    units.sort_by_key(|(_, per)| std::cmp::Reverse(*per));
    units
        .iter()
        .find(|(_, per)| millis.is_multiple_of(u128::from(*per)))
        .map_or_else(
            || format!("{millis}ms"),
            |(u, per)| format!("{}{u}", millis / u128::from(*per)),
        )
}

const AGE_UNITS: [(&str, u64); 4] = [
    ("m", 60_000),
    ("min", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];
const WAIT_UNITS: [(&str, u64); 4] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("min", 60_000)];

/// `90m`, `3h`, `2d` (a bare number is hours), at most [`MAX_AGE`].
pub fn parse_age(s: &str) -> Result<chrono::Duration, String> {
    let d = parse_duration(s, &AGE_UNITS, "h", MAX_AGE)?;
    chrono::Duration::from_std(d).map_err(|e| format!("'{s}': {e}"))
}

/// RFC 3339 (`2026-11-01T08:00:00Z`) or a date (`2026-11-01`, midnight UTC).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let time = if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        t.with_timezone(&Utc)
    } else {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
            .ok_or_else(|| {
                format!(
                    "'{s}' is not a time: use RFC 3339 (2026-11-01T08:00:00Z) or a date (2026-11-01)"
                )
            })?
    };
    // The cutoffs are as-of minus an age: keep both far from the calendar's ends.
    if !(1900..=9999).contains(&chrono::Datelike::year(&time)) {
        return Err(format!("'{s}': the year must be between 1900 and 9999"));
    }
    Ok(time)
}

/// `entra-audit cloud-sync`: one subcommand per operation.
#[derive(Debug, Args)]
pub struct CloudSyncArgs {
    #[command(subcommand)]
    pub command: CloudSyncCommand,
}

#[derive(Debug, Subcommand)]
pub enum CloudSyncCommand {
    /// Every Cloud Sync configuration (by domain) and each of its jobs: status, quarantine, last
    /// runs, failures, escrows, steady state; for a quarantined or failing job what it means and
    /// the command that clears it.
    ///
    /// Exit code: 0 no job quarantined or failing, 1 one is, 2 on error.
    Status(CloudSyncStatusArgs),
    /// Restart a job, resetting what --scope names (by default the watermark, the escrows and
    /// the quarantine: what clears a quarantine once its cause is fixed).
    Restart(CloudSyncRestartArgs),
    /// Start a paused or quarantined job (this clears its quarantine). Do not use it on a job
    /// that is running.
    Start(CloudSyncActionArgs),
    /// Pause a job; all its progress, including the job's state, is kept.
    Pause(CloudSyncActionArgs),
}

#[derive(Debug, Args)]
pub struct CloudSyncStatusArgs {
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// An active job without a successful run for this long is failing (e.g. 90m, 3h, 2d).
    #[arg(long, value_name = "AGE", default_value = "24h", value_parser = parse_age)]
    pub max_age: chrono::Duration,
    #[command(flatten)]
    pub auth: AuthArgs,
}

#[derive(Debug, Args)]
pub struct CloudSyncActionArgs {
    /// The job: its id (AD2AADProvisioning.…) or its configuration's domain name (contoso.com).
    #[arg(long, value_name = "JOB")]
    pub job: String,
    /// The configuration's service principal (id or display name), when JOB alone is ambiguous.
    #[arg(long, value_name = "SP")]
    pub service_principal: Option<String>,
    /// Send the request. Without it the request is printed and, on a terminal, sent only once
    /// confirmed at the prompt; when stdin is not a terminal nothing is sent.
    #[arg(long)]
    pub yes: bool,
    /// How long to wait for the job's status to change after the request (e.g. 90s, 2m).
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_wait)]
    pub timeout: std::time::Duration,
    /// How often to read the job while waiting.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_wait)]
    pub poll_interval: std::time::Duration,
    /// JSON-lines file every request sent is appended to.
    #[arg(long, value_name = "FILE", default_value = "entra-audit-actions.jsonl")]
    pub action_log: PathBuf,
    #[command(flatten)]
    pub auth: AuthArgs,
}

#[derive(Debug, Args)]
pub struct CloudSyncRestartArgs {
    /// What to reset, comma-separated: Watermark, Escrows, QuarantineState; Full and
    /// ConnectorDataStore need --i-understand-full-resync, ForceDeletes --allow-force-deletes;
    /// None is refused (use `start`).
    #[arg(long, value_name = "SCOPE", default_value = crate::actions::cloud_sync::actions::DEFAULT_SCOPE,
          value_parser = parse_reset_scope)]
    pub scope: crate::actions::cloud_sync::actions::ResetScope,
    /// Allow Full or ConnectorDataStore: a full resynchronization that the docs say not to use.
    #[arg(long)]
    pub i_understand_full_resync: bool,
    /// Allow ForceDeletes: the deletions held back by the accidental-deletion threshold go
    /// through.
    #[arg(long)]
    pub allow_force_deletes: bool,
    #[command(flatten)]
    pub action: CloudSyncActionArgs,
}

fn parse_reset_scope(s: &str) -> Result<crate::actions::cloud_sync::actions::ResetScope, String> {
    s.parse()
}

/// `500ms`, `30s`, `2m` (a bare number is seconds), at most [`MAX_WAIT`].
pub fn parse_wait(s: &str) -> Result<std::time::Duration, String> {
    parse_duration(s, &WAIT_UNITS, "s", MAX_WAIT)
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
        assert_eq!(parse_age("3650d"), Ok(chrono::Duration::days(3650)));
        for extreme in [
            "3651d",
            "100000000d",
            "18446744073709551615m",
            "99999999999999999999999h",
            "-1h",
        ] {
            let error = parse_age(extreme).unwrap_err();
            assert!(error.contains(extreme), "{error}");
        }
        assert!(
            parse_age("100000000d")
                .unwrap_err()
                .contains("at most 3650d")
        );
        assert_eq!(
            parse_wait("24h").unwrap_err(),
            "'24h': unknown unit 'h' (use ms, s, m, min)"
        );
        assert_eq!(parse_wait("1440m"), Ok(std::time::Duration::from_hours(24)));
        assert!(
            parse_wait("18446744073709551615m")
                .unwrap_err()
                .contains("at most 1440m")
        );
        assert!(parse_time("0001-01-01").is_err());
        assert!(parse_time("+262143-12-31").is_err());
        assert_eq!(
            parse_time("2026-11-01").unwrap().to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_fail_on("never"), Ok(FailOn::Never));
        assert_eq!(
            parse_fail_on("Medium"),
            Ok(FailOn::AtOrAbove(crate::audit::findings::Severity::Medium))
        );
    }
}
