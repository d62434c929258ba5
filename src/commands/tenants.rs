//! `check --config tenants.toml`: several tenants audited in one run, for MSPs. This module owns
//! the tenants file (its format, its validation with file-and-line errors) and the fan-out: every
//! tenant signs in with its own credentials and is collected concurrently on its own Graph
//! client (so each has its own rate limit), then audited into its own folder `OUT/<name>/`, and
//! an index page `OUT/index.html` (plus `OUT/index.json`) lists every tenant's verdict and links
//! its report. A tenant that fails (sign-in, a failed collection, a bad on-prem file) is marked
//! failed in the index and never stops the others. Secrets are never in the file itself: it
//! names an environment variable or a file that holds each tenant's secret.
//!
//! It must not collect, audit or render by itself: it calls `connect`, `collect`, `audit` and the
//! report writer like the single-tenant `check` does.
//!
//! ```toml
//! [defaults]                 # optional; every key may also be set per tenant
//! requests_per_second = 20
//! national_cloud = "global"
//!
//! [[tenant]]
//! name = "contoso"           # folder name: letters, digits, '-', '_', '.'
//! tenant = "contoso.onmicrosoft.com"
//! client_id = "6f1b3c5d-..."
//! client_secret_env = "CONTOSO_CLIENT_SECRET"   # or client_secret_file, or certificate
//! onprem = ["exports/contoso.ldif"]              # relative to the tenants file
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::Deserialize;

use crate::commands::sign_in::ConnectOptions;
use crate::graph::auth::{Cloud, Secret};

/// One tenant of the tenants file, resolved (paths absolute, defaults applied).
#[derive(Debug, Clone)]
pub struct TenantEntry {
    pub name: String,
    pub connect: ConnectOptions,
    /// Where the secret comes from, for messages (never the secret itself).
    pub secret_source: String,
    pub onprem: Vec<PathBuf>,
    pub baseline: Option<PathBuf>,
    pub suppressions: Option<PathBuf>,
    /// The tenant's sync engine configuration (`[tenant.sync]`, same keys as `--sync-config`).
    pub sync: Option<crate::audit::sync_model::SyncSettings>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// Only in a `[[tenant]]` entry.
    name: Option<String>,
    tenant: Option<String>,
    client_id: Option<String>,
    client_secret_env: Option<String>,
    client_secret_file: Option<PathBuf>,
    certificate: Option<PathBuf>,
    national_cloud: Option<String>,
    authority_host: Option<String>,
    graph_endpoint: Option<String>,
    requests_per_second: Option<u32>,
    #[serde(default)]
    onprem: Vec<PathBuf>,
    baseline: Option<PathBuf>,
    suppressions: Option<PathBuf>,
    sync: Option<crate::audit::sync_model::SyncSettings>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantsFile {
    #[serde(default)]
    defaults: Option<Settings>,
    #[serde(default, rename = "tenant")]
    tenants: Vec<Settings>,
}

/// Reads and validates a tenants file. Errors name the file (and the line, for TOML errors) and
/// the tenant.
pub fn load(path: &Path) -> anyhow::Result<Vec<TenantEntry>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the tenants file {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, base, &path.display().to_string(), &|name| {
        std::env::var(name).ok()
    })
}

/// The parser behind [`load`]; `env` looks up environment variables (tests give their own).
fn parse(
    text: &str,
    base: &Path,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Vec<TenantEntry>> {
    let parsed: TenantsFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        match line {
            Some(line) => anyhow::anyhow!("{file}:{line}: {}", e.message()),
            None => anyhow::anyhow!("{file}: {}", e.message()),
        }
    })?;
    if parsed.tenants.is_empty() {
        bail!("{file}: no [[tenant]] entries");
    }
    let defaults = parsed.defaults.unwrap_or_default();
    if defaults.name.is_some() {
        bail!("{file}: [defaults] cannot have a name (names belong to [[tenant]] entries)");
    }
    let mut names = BTreeSet::new();
    let mut entries = Vec::new();
    for t in parsed.tenants {
        let name = t.name.as_deref().unwrap_or_default().trim().to_owned();
        let ok = !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            bail!(
                "{file}: tenant name '{name}' must be letters, digits, '-', '_' or '.' (it names the output folder)"
            );
        }
        if !names.insert(name.to_ascii_lowercase()) {
            bail!("{file}: tenant name '{name}' appears twice");
        }
        let s = merge(&defaults, t);
        entries.push(resolve(name, &s, base, file, env)?);
    }
    Ok(entries)
}

/// One `[[tenant]]` entry, merged with the defaults, checked and resolved.
fn resolve(
    name: String,
    s: &Settings,
    base: &Path,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<TenantEntry> {
    let what = |key: &str| format!("{file}: tenant '{name}': {key}");
    let tenant = s
        .tenant
        .clone()
        .with_context(|| what("no `tenant` (tenant id or domain)"))?;
    let client_id = s
        .client_id
        .clone()
        .with_context(|| what("no `client_id`"))?;
    let resolve_path = |p: &PathBuf| {
        if p.is_absolute() {
            p.clone()
        } else {
            base.join(p)
        }
    };
    let sources = usize::from(s.client_secret_env.is_some())
        + usize::from(s.client_secret_file.is_some())
        + usize::from(s.certificate.is_some());
    if sources != 1 {
        bail!(
            "{}",
            what(
                "give exactly one of client_secret_env, client_secret_file, certificate (a secret never goes in this file)"
            )
        );
    }
    let (client_secret, secret_source) = match &s.client_secret_env {
        Some(var) => {
            let value = env(var).filter(|v| !v.trim().is_empty()).with_context(|| {
                what(&format!(
                    "the environment variable {var} is not set or empty"
                ))
            })?;
            (
                Some(Secret::new(value.trim())),
                format!("environment variable {var}"),
            )
        }
        None => (
            None,
            s.client_secret_file.as_ref().map_or_else(
                || "certificate".to_owned(),
                |p| format!("file {}", resolve_path(p).display()),
            ),
        ),
    };
    let national_cloud: Cloud = match &s.national_cloud {
        Some(c) => c
            .parse()
            .map_err(|e: crate::graph::auth::AuthError| anyhow::anyhow!("{}", what(e.message())))?,
        None => Cloud::Global,
    };
    Ok(TenantEntry {
        name,
        connect: ConnectOptions {
            tenant: Some(tenant),
            client_id: Some(client_id),
            client_secret_file: s.client_secret_file.as_ref().map(resolve_path),
            client_secret,
            certificate: s.certificate.as_ref().map(resolve_path),
            device_code: false,
            cloud: national_cloud,
            authority_host: s.authority_host.clone(),
            graph_endpoint: s.graph_endpoint.clone(),
            requests_per_second: s.requests_per_second.unwrap_or(20).max(1),
        },
        secret_source,
        onprem: s.onprem.iter().map(resolve_path).collect(),
        baseline: s.baseline.as_ref().map(resolve_path),
        suppressions: s.suppressions.as_ref().map(resolve_path),
        sync: s.sync.clone(),
    })
}

impl TenantEntry {
    /// The `check` options for this tenant: the command line's, with this tenant's snapshot,
    /// exports and sync configuration.
    fn check_options(
        &self,
        template: &crate::audit::CheckOptions,
        snapshot: PathBuf,
    ) -> crate::audit::CheckOptions {
        crate::audit::CheckOptions {
            cloud: Some(snapshot),
            onprem: self.onprem.clone(),
            // A tenant's own [sync] replaces --sync-config; flags still win part by part.
            sync: crate::audit::sync_model::SyncConfig {
                flags: template.sync.flags.clone(),
                file: self
                    .sync
                    .clone()
                    .unwrap_or_else(|| template.sync.file.clone()),
            },
            ..template.clone()
        }
    }
}

/// `own`, or the default when the tenant may inherit it.
fn pick<T: Clone>(own: Option<T>, default: Option<&T>, inherit: bool) -> Option<T> {
    if own.is_some() || !inherit {
        own
    } else {
        default.cloned()
    }
}

/// A tenant's settings over the defaults.
fn merge(d: &Settings, t: Settings) -> Settings {
    // A tenant that names its own secret source does not inherit another kind from defaults.
    let own_secret =
        t.client_secret_env.is_some() || t.client_secret_file.is_some() || t.certificate.is_some();
    Settings {
        name: t.name,
        tenant: t.tenant.or_else(|| d.tenant.clone()),
        client_id: t.client_id.or_else(|| d.client_id.clone()),
        client_secret_env: pick(
            t.client_secret_env,
            d.client_secret_env.as_ref(),
            !own_secret,
        ),
        client_secret_file: pick(
            t.client_secret_file,
            d.client_secret_file.as_ref(),
            !own_secret,
        ),
        certificate: pick(t.certificate, d.certificate.as_ref(), !own_secret),
        national_cloud: t.national_cloud.or_else(|| d.national_cloud.clone()),
        authority_host: t.authority_host.or_else(|| d.authority_host.clone()),
        graph_endpoint: t.graph_endpoint.or_else(|| d.graph_endpoint.clone()),
        requests_per_second: t.requests_per_second.or(d.requests_per_second),
        onprem: if t.onprem.is_empty() {
            d.onprem.clone()
        } else {
            t.onprem
        },
        baseline: t.baseline.or_else(|| d.baseline.clone()),
        suppressions: t.suppressions.or_else(|| d.suppressions.clone()),
        sync: t.sync.or_else(|| d.sync.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "CONTOSO_SECRET").then(|| "s3cr3t-value".to_owned())
    }

    const FILE: &str = r#"
[defaults]
requests_per_second = 15
client_id = "00000000-0000-4000-8000-000000000001"

[[tenant]]
name = "contoso"
tenant = "contoso.onmicrosoft.com"
client_secret_env = "CONTOSO_SECRET"
onprem = ["exports/contoso.ldif"]

[[tenant]]
name = "fabrikam"
tenant = "fabrikam.onmicrosoft.com"
certificate = "/etc/entra-audit/fabrikam.pem"
national_cloud = "usgov"
requests_per_second = 5
"#;

    #[test]
    fn tenants_get_their_own_credentials_defaults_and_paths() {
        let entries = parse(FILE, Path::new("/srv/audit"), "tenants.toml", &env).unwrap();
        assert_eq!(entries.len(), 2);
        let contoso = &entries[0];
        assert_eq!(contoso.connect.requests_per_second, 15);
        assert_eq!(
            contoso.connect.client_secret.as_ref().map(Secret::expose),
            Some("s3cr3t-value")
        );
        assert_eq!(contoso.secret_source, "environment variable CONTOSO_SECRET");
        assert_eq!(
            contoso.onprem,
            [PathBuf::from("/srv/audit/exports/contoso.ldif")]
        );
        let fabrikam = &entries[1];
        assert_eq!(fabrikam.connect.requests_per_second, 5);
        assert_eq!(fabrikam.connect.cloud, Cloud::UsGov);
        assert!(fabrikam.connect.client_secret.is_none());
        assert_eq!(
            fabrikam.connect.client_id.as_deref(),
            Some("00000000-0000-4000-8000-000000000001")
        );
        // Debug output of an entry never shows the secret.
        assert!(!format!("{entries:?}").contains("s3cr3t-value"));
    }

    /// A tenant's `[tenant.sync]` (the `--sync-config` keys) is its sync configuration file, a
    /// tenant without one inherits `[defaults.sync]`, and a flag still wins part by part: what
    /// the sync model then says came from where.
    #[test]
    fn a_tenants_sync_table_is_its_sync_config_and_flags_still_win() {
        use crate::audit::sync_model::{self, AnchorMode, Source, UpnSource};
        let text = format!(
            "{FILE}\n[tenant.sync]\nupn-source = \"mail\"\nsource-anchor = \"mS-DS-ConsistencyGuid\"\n\n\
             [defaults.sync]\nscope-ou = [\"OU=Staff,DC=fabrikam,DC=local\"]\n"
        );
        let entries = parse(&text, Path::new("/srv/audit"), "tenants.toml", &env).unwrap();
        // The [tenant.sync] after the second [[tenant]] belongs to fabrikam.
        let (contoso, fabrikam) = (&entries[0], &entries[1]);
        assert_eq!(
            contoso.sync.as_ref().map(|s| s.scope_ou.clone()),
            Some(vec!["OU=Staff,DC=fabrikam,DC=local".to_owned()]),
            "contoso inherits [defaults.sync]"
        );
        let mut template = crate::audit::CheckOptions::default();
        template.sync.flags.source_anchor = Some("objectGUID".parse().unwrap());
        template.sync.file.upn_source = Some("userPrincipalName".parse().unwrap());
        let options = fabrikam.check_options(&template, PathBuf::from("/snap"));
        let model = sync_model::build(&options.sync, &[], None);
        assert_eq!(
            (model.source_anchor.value, model.source_anchor.source),
            (AnchorMode::ObjectGuid, Source::Flag),
            "the flag wins over the tenant's file"
        );
        assert_eq!(
            (model.upn_source.value, model.upn_source.source),
            (UpnSource::Mail, Source::File),
            "the tenant's [tenant.sync] replaces --sync-config"
        );
        assert_eq!(model.scope_ous.source, Source::Default, "{model:?}");
        let contoso_model = sync_model::build(
            &contoso
                .check_options(&template, PathBuf::from("/snap"))
                .sync,
            &[],
            None,
        );
        assert_eq!(contoso_model.scope_ous.source, Source::File);
        assert_eq!(contoso_model.upn_source.value, UpnSource::UserPrincipalName);
        // A typo in a tenant's sync table is an error naming the key.
        let typo = format!("{FILE}\n[tenant.sync]\nupn-sorce = \"mail\"\n");
        let e = parse(&typo, Path::new("/x"), "tenants.toml", &env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("upn-sorce"), "{e}");
    }

    #[test]
    fn mistakes_are_named_with_file_line_and_tenant() {
        let err = |text: &str| {
            parse(text, Path::new("/x"), "tenants.toml", &env)
                .unwrap_err()
                .to_string()
        };
        let e = err(
            "[[tenant]]\nname = \"a\"\ntenant = \"t\"\nclient_id = \"c\"\nclient_secret = \"inline\"\n",
        );
        assert!(
            e.starts_with("tenants.toml:5:") && e.contains("client_secret"),
            "{e}"
        );
        let e = err(
            "[[tenant]]\nname = \"a\"\ntenant = \"t\"\nclient_id = \"c\"\nclient_secret_env = \"MISSING\"\n",
        );
        assert!(
            e.contains("tenant 'a'") && e.contains("MISSING is not set"),
            "{e}"
        );
        let e = err("[[tenant]]\nname = \"../evil\"\n");
        assert!(e.contains("must be letters"), "{e}");
        let e = err("[[tenant]]\nname = \"a\"\ntenant = \"t\"\nclient_id = \"c\"\n");
        assert!(e.contains("exactly one of"), "{e}");
        let twice = "[[tenant]]\nname = \"a\"\ntenant = \"t\"\nclient_id = \"c\"\nclient_secret_env = \"CONTOSO_SECRET\"\n";
        let e = err(&format!(
            "{twice}{}",
            twice.replace("name = \"a\"", "name = \"A\"")
        ));
        assert!(e.contains("appears twice"), "{e}");
        assert!(err("").contains("no [[tenant]]"));
    }
}

/// How one tenant's run ended, for the index.
#[derive(Debug, Clone)]
pub(crate) struct TenantOutcome {
    pub name: String,
    pub tenant: String,
    /// The exit code this tenant alone would give (0, 1 or 2).
    pub code: u8,
    /// The one-line summary (or the error).
    pub summary: String,
    /// Findings by severity, worst first (empty on error).
    pub counts: Vec<(crate::audit::findings::Severity, usize)>,
    /// The tenant's folder, relative to OUT.
    pub folder: String,
    /// Collections that failed, were forbidden or skipped.
    pub incomplete: Vec<String>,
}

/// What to do with one tenant's audit: write its outputs into the folder and judge it
/// (the same code as a single-tenant `check`). Returns (exit code, one-line summary).
pub(crate) type Finish<'a> = dyn Fn(&TenantEntry, crate::audit::result::AuditReport, &Path) -> anyhow::Result<(u8, String)>
    + Sync
    + 'a;

/// Collects every tenant concurrently (each on its own client and rate limit), then audits
/// them one after another (the audit uses every core already) and writes the index.
pub(crate) fn run_all(
    entries: &[TenantEntry],
    out: &Path,
    template: &crate::audit::CheckOptions,
    allow_partial: bool,
    finish: &Finish<'_>,
) -> anyhow::Result<Vec<TenantOutcome>> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let runtime = crate::commands::progress::runtime()?;
    let collected = runtime.block_on(futures::future::join_all(entries.iter().map(|entry| {
        let dir = out.join(&entry.name).join("cloud");
        async move {
            let started = std::time::Instant::now();
            let result = async {
                let session = crate::commands::sign_in::connect(&entry.connect)?;
                session.sign_in().await?;
                crate::commands::progress::collect_with_progress(
                    &session.graph,
                    &dir,
                    crate::graph::collect::CollectOptions::default(),
                    false,
                )
                .await
            }
            .await;
            if let Ok(report) = &result {
                tracing::info!(
                    tenant = %entry.name,
                    "{}",
                    crate::commands::progress::collect_summary(
                        report,
                        started.elapsed(),
                        crate::commands::progress::Then::Audit
                    )
                );
            }
            (dir, result)
        }
    })));
    let mut outcomes = Vec::new();
    for (entry, (dir, collected)) in entries.iter().zip(collected) {
        let folder = out.join(&entry.name);
        let tenant = entry.connect.tenant.clone().unwrap_or_default();
        let failed = |summary: String, incomplete: Vec<String>| TenantOutcome {
            name: entry.name.clone(),
            tenant: tenant.clone(),
            code: 2,
            summary,
            counts: Vec::new(),
            folder: entry.name.clone(),
            incomplete,
        };
        let report = match collected {
            Ok(report) => report,
            Err(e) => {
                outcomes.push(failed(format!("{e:#}"), Vec::new()));
                continue;
            }
        };
        let incomplete: Vec<String> = report
            .incomplete()
            .iter()
            .map(|c| {
                format!(
                    "{} ({})",
                    c.file_stem(),
                    report.collections[c].status.as_str()
                )
            })
            .collect();
        if !report.failed().is_empty() && !allow_partial {
            let names: Vec<&str> = report.failed().iter().map(|c| c.file_stem()).collect();
            outcomes.push(failed(
                format!(
                    "collection incomplete ({} failed; see {}); not audited without --allow-partial",
                    names.join(", "),
                    report.manifest_path().display()
                ),
                incomplete,
            ));
            continue;
        }
        let options = entry.check_options(template, dir);
        let audited = crate::audit::check(&options).and_then(|audit| {
            let counts = crate::audit::findings::Severity::ALL
                .into_iter()
                .map(|s| (s, audit.findings.iter().filter(|f| f.severity == s).count()))
                .filter(|(_, n)| *n > 0)
                .collect::<Vec<_>>();
            finish(entry, audit, &folder).map(|(code, summary)| (code, summary, counts))
        });
        outcomes.push(match audited {
            Ok((code, summary, counts)) => TenantOutcome {
                name: entry.name.clone(),
                tenant: tenant.clone(),
                code,
                summary,
                counts,
                folder: entry.name.clone(),
                incomplete,
            },
            Err(e) => failed(format!("{e:#}"), incomplete),
        });
    }
    write_index(&outcomes, out)?;
    Ok(outcomes)
}

/// `OUT/index.json` and `OUT/index.html`: every tenant's verdict, linking its report.
fn write_index(outcomes: &[TenantOutcome], out: &Path) -> anyhow::Result<()> {
    let json: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| {
            serde_json::json!({
                "name": o.name,
                "tenant": o.tenant,
                "exit_code": o.code,
                "summary": o.summary,
                "findings": o
                    .counts
                    .iter()
                    .map(|(s, n)| (s.as_str().to_owned(), serde_json::Value::from(*n)))
                    .collect::<serde_json::Map<_, _>>(),
                "incomplete_collections": o.incomplete,
                "report": format!("{}/report.html", o.folder),
            })
        })
        .collect();
    let path = out.join("index.json");
    // Replaced whole (temporary file + rename), like every output.
    crate::outputs::replace::write_file(
        &path,
        (serde_json::to_string_pretty(&json)? + "\n").as_bytes(),
    )?;
    let path = out.join("index.html");
    crate::outputs::replace::write_file(&path, index_html(outcomes).as_bytes())?;
    Ok(())
}

/// A self-contained page (no external loads) with one row per tenant.
fn index_html(outcomes: &[TenantOutcome]) -> String {
    use crate::outputs::report::html::escape;
    use std::fmt::Write as _;
    let mut rows = String::new();
    for o in outcomes {
        let (class, verdict) = match o.code {
            0 => ("ok", "passed"),
            1 => ("warn", "findings at or above --fail-on"),
            _ => ("bad", "failed to audit"),
        };
        let counts: Vec<String> = o
            .counts
            .iter()
            .map(|(s, n)| format!("{n} {}", s.as_str()))
            .collect();
        let link = if o.code == 2 && o.counts.is_empty() {
            "-".to_owned()
        } else {
            format!(
                "<a href=\"{0}/report.html\">report</a> · <a href=\"{0}/findings.csv\">findings.csv</a>",
                escape(&o.folder)
            )
        };
        let _ = writeln!(
            rows,
            "<tr class=\"{class}\"><td>{}</td><td><code>{}</code></td><td>{verdict}</td><td>{}</td><td>{}</td><td>{}</td><td>{link}</td></tr>",
            escape(&o.name),
            escape(&o.tenant),
            escape(&counts.join(", ")),
            escape(&o.incomplete.join(", ")),
            escape(&o.summary),
        );
    }
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>entra-audit: {n} tenants</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1f2328}}
table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #d0d7de;vertical-align:top}}
th{{background:#f6f8fa}}tr.ok td:nth-child(3){{color:#1a7f37}}tr.warn td:nth-child(3){{color:#9a6700}}tr.bad td:nth-child(3){{color:#cf222e;font-weight:600}}
code{{font-size:12px}}
</style></head><body>
<h1>entra-audit: {n} tenants</h1>
<table><thead><tr><th>Name</th><th>Tenant</th><th>Verdict</th><th>Findings</th><th>Incomplete collections</th><th>Summary</th><th>Outputs</th></tr></thead>
<tbody>
{rows}</tbody></table>
</body></html>
"#,
        n = outcomes.len()
    )
}
