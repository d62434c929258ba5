//! Reading Active Directory live over LDAP (`entra-audit collect-ad`, `check --ad-server`): a
//! simple bind over LDAPS or `StartTLS`, the base DN from the rootDSE, one paged subtree search
//! (1,000 entries per page, AD's default `MaxPageSize`) for users, contacts and groups with every
//! attribute the importer reads ([`onprem::attribute_names`]), binary attributes read as bytes.
//! It writes the JSON the export script writes (`src/inputs/onprem/script.ps1`), one object per line, so
//! the importer reads both the same way.
//!
//! It owns the LDAP conversation and the output file. It must not send a password anywhere but
//! the server, and never over plain LDAP off loopback; it must not log or print the password; it
//! must not leave a file that looks complete when the search did not finish (the output is
//! written to a temporary file and renamed only after the last page's result is `success`); it
//! must not interpret the objects (that is the importer's job).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ldap3::controls::{ControlType, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};

use crate::inputs::onprem::{self, AttributeKind};

/// AD's default `MaxPageSize`: a larger page is cut to it, so asking for more gains nothing.
/// <https://learn.microsoft.com/troubleshoot/windows-server/active-directory/view-set-ldap-policy-using-ntdsutil>
pub(crate) const PAGE_SIZE: i32 = 1_000;

/// The environment variable a bind password is read from (or use `--bind-password-file`).
pub(crate) const PASSWORD_ENV: &str = "ENTRA_AUDIT_LDAP_PASSWORD";

/// Users (not computers, which derive from user), contacts and groups: what the export script
/// exports.
pub(crate) const FILTER: &str =
    "(|(&(objectClass=user)(!(objectClass=computer)))(objectClass=contact)(objectClass=group))";

/// How long one page (or the bind, or the rootDSE read) may take before the collection fails.
const OPERATION_TIMEOUT: Duration = Duration::from_mins(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A bind password. Its `Debug` is redacted so it cannot reach a log by accident.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// From `--bind-password-file` (its first line) when given, else [`PASSWORD_ENV`].
    pub fn load(file: Option<&Path>) -> anyhow::Result<Option<Password>> {
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the bind password file {}", path.display())
            })?;
            let line = text.lines().next().unwrap_or_default();
            if line.is_empty() {
                bail!("the bind password file {} is empty", path.display());
            }
            return Ok(Some(Password(line.to_owned())));
        }
        Ok(std::env::var(PASSWORD_ENV)
            .ok()
            .filter(|p| !p.is_empty())
            .map(Password))
    }
}

/// What `collect-ad` was asked to do.
#[derive(Debug, Clone)]
pub struct CollectAdOptions {
    /// `ldaps://host[:port]` or `ldap://host[:port]`.
    pub server: String,
    /// The DN to search below; the rootDSE's `defaultNamingContext` when `None`.
    pub base: Option<String>,
    /// The account to bind as (`user@domain` or a DN); anonymous when `None`.
    pub bind: Option<String>,
    pub password: Option<Password>,
    pub start_tls: bool,
    /// PEM file with the CA certificate(s) to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    pub out: PathBuf,
    /// Show a progress line on a terminal.
    pub progress: bool,
    /// Attributes to read beyond the importer's own: a custom source anchor or UPN attribute
    /// the sync settings name (`check --ad-server` adds them; `collect-ad --attribute`).
    pub extra_attributes: Vec<onprem::ExtraAttribute>,
}

/// What one collection read.
#[derive(Debug, Clone, Default)]
pub(crate) struct CollectAdSummary {
    pub server: String,
    pub base: String,
    pub out: PathBuf,
    /// Objects written, by most specific objectClass.
    pub objects: BTreeMap<String, usize>,
    pub pages: usize,
    /// Search references (other partitions) the server returned; not followed.
    pub references: usize,
    pub elapsed: Duration,
}

impl CollectAdSummary {
    pub(crate) fn total(&self) -> usize {
        self.objects.values().sum()
    }
}

impl fmt::Display for CollectAdSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let classes: Vec<String> = self
            .objects
            .iter()
            .map(|(class, n)| format!("{n} {class}"))
            .collect();
        let seconds = self.elapsed.as_secs_f64();
        #[allow(clippy::cast_precision_loss)] // a count of objects, far below 2^52
        let rate = if seconds > 0.0 {
            self.total() as f64 / seconds
        } else {
            0.0
        };
        writeln!(
            f,
            "collect-ad: {} objects ({}) from {} below {} in {} page(s), {:.1} s ({rate:.0} objects/s); \
             {} search reference(s) to other partitions not followed",
            self.total(),
            if classes.is_empty() {
                "none".to_owned()
            } else {
                classes.join(", ")
            },
            self.server,
            self.base,
            self.pages,
            seconds,
            self.references
        )?;
        writeln!(f, "collect-ad: wrote {}", self.out.display())
    }
}

/// Collects users, contacts and groups into `options.out` and says what was read. Blocking: it
/// runs its own single-threaded runtime.
pub(crate) fn collect(options: &CollectAdOptions) -> anyhow::Result<CollectAdSummary> {
    // polars brings rustls' ring provider into the build next to aws-lc-rs, so rustls cannot
    // pick a process default by itself (it panics); ldap3 needs one for the system trust store.
    // An earlier install (another part of the program) is fine: the error only says so.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the LDAP runtime")?;
    runtime.block_on(collect_async(options))
}

/// The server's URL, checked: the scheme decides TLS, and a password never goes over plain LDAP
/// to anything but loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Server {
    url: String,
    host: String,
    ldaps: bool,
}

fn parse_server(options: &CollectAdOptions) -> anyhow::Result<Server> {
    let url = options.server.trim();
    let (ldaps, rest) = if let Some(rest) = url.strip_prefix("ldaps://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("ldap://") {
        (false, rest)
    } else {
        bail!(
            "--ad-server/--server `{url}` must start with ldaps:// (or ldap:// with --start-tls)"
        );
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        bail!("--server `{url}` names no host");
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default().to_owned()
    } else {
        authority.split(':').next().unwrap_or_default().to_owned()
    };
    if ldaps && options.start_tls {
        bail!("--start-tls is for ldap:// URLs; ldaps:// is TLS from the start");
    }
    let encrypted = ldaps || options.start_tls;
    if options.password.is_some() && !encrypted && !is_loopback(&host) {
        bail!(
            "refusing to send the bind password in clear text to {host}: use ldaps:// or --start-tls \
             (plain ldap:// with a password is allowed only on loopback)"
        );
    }
    Ok(Server {
        url: format!("{}://{authority}", if ldaps { "ldaps" } else { "ldap" }),
        host,
        ldaps,
    })
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// TLS trust: only the CAs in `--ca-file` when given, else the system's (ldap3 loads them).
fn tls_settings(options: &CollectAdOptions) -> anyhow::Result<LdapConnSettings> {
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(CONNECT_TIMEOUT)
        .set_starttls(options.start_tls);
    if let Some(path) = &options.ca_file {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject as _;
        let mut roots = rustls::RootCertStore::empty();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .with_context(|| format!("cannot read the CA file {}", path.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}: not a PEM certificate file", path.display()))?;
        if certs.is_empty() {
            bail!(
                "{}: no certificate (-----BEGIN CERTIFICATE-----) in it",
                path.display()
            );
        }
        for cert in certs {
            roots.add(cert).with_context(|| {
                format!("{}: a certificate in it is not usable", path.display())
            })?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_root_certificates(roots)
        .with_no_client_auth();
        settings = settings.set_config(Arc::new(config));
    }
    Ok(settings)
}

/// An LDAP error as an admin can act on it.
fn explain(error: &LdapError, server: &Server, what: &str) -> anyhow::Error {
    let text = error.to_string();
    let hint = if text.contains("UnknownIssuer") || text.contains("invalid peer certificate") {
        "; the server's certificate is not issued by a trusted CA: pass the CA that issued the DC's \
         certificate with --ca-file ca.pem"
    } else if text.contains("NotValidForName") {
        "; the certificate does not name this host: use the name in the DC's certificate in --server"
    } else if matches!(error, LdapError::Timeout { .. }) {
        "; the server did not answer in time"
    } else if text.contains("channel closed") || text.contains("connection") {
        "; the connection to the server was lost (the server stopped or closed it)"
    } else {
        ""
    };
    anyhow!("{what} {}: {text}{hint}", server.url)
}

async fn collect_async(options: &CollectAdOptions) -> anyhow::Result<CollectAdSummary> {
    let started = Instant::now();
    let (server, mut ldap) = open(options).await?;
    let base = match &options.base {
        Some(base) => base.clone(),
        None => default_naming_context(&mut ldap, &server).await?,
    };
    let summary = search_to_file(&mut ldap, &server, &base, options, started)
        .await
        .map_err(|e| anyhow!("{e:#}; nothing was written to {}", options.out.display()));
    let _ = ldap.unbind().await;
    summary
}

/// Connects (TLS as the URL and --start-tls say) and binds.
async fn open(options: &CollectAdOptions) -> anyhow::Result<(Server, Ldap)> {
    let server = parse_server(options)?;
    let settings = tls_settings(options)?;
    let (connection, mut ldap) = LdapConnAsync::with_settings(settings, &server.url)
        .await
        .map_err(|e| explain(&e, &server, "cannot connect to"))?;
    ldap3::drive!(connection);

    match (&options.bind, &options.password) {
        (Some(bind), Some(password)) => {
            let result = ldap
                .with_timeout(OPERATION_TIMEOUT)
                .simple_bind(bind, &password.0)
                .await
                .map_err(|e| explain(&e, &server, "bind failed at"))?;
            if result.rc != 0 {
                // rc 49 is invalidCredentials; AD's text carries the reason code (data 52e: bad
                // password, 775: locked out, 533: disabled...).
                bail!(
                    "the server {} refused the bind as {bind}: {} ({}){}",
                    server.url,
                    result.text.trim_end_matches('\0').trim(),
                    result.rc,
                    if result.rc == 49 {
                        "; check the account and its password (ENTRA_AUDIT_LDAP_PASSWORD or --bind-password-file)"
                    } else {
                        ""
                    }
                );
            }
        }
        (Some(bind), None) => bail!(
            "--bind {bind} needs a password: set {PASSWORD_ENV} or pass --bind-password-file FILE \
             (never on the command line)"
        ),
        (None, Some(_)) => bail!("a bind password was given but no --bind account"),
        (None, None) => {}
    }
    Ok((server, ldap))
}

/// What `doctor --ad-server` found: the connection works, and which attributes the importer
/// reads are carried by none of the objects on the first page.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    pub server: String,
    pub bound_as: Option<String>,
    pub base: String,
    /// Users, contacts and groups on the first page (at most [`PAGE_SIZE`]).
    pub sampled: usize,
    /// Attributes (with their aliases) that none of the sampled objects carry.
    pub missing: Vec<String>,
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Active Directory over LDAP: {}", self.server)?;
        writeln!(
            f,
            "  connected and bound as {}",
            self.bound_as.as_deref().unwrap_or("anonymous")
        )?;
        writeln!(f, "  base DN: {}", self.base)?;
        writeln!(
            f,
            "  one paged search: {} users, contacts and groups on the first page",
            self.sampled
        )?;
        if self.missing.is_empty() {
            writeln!(f, "  every attribute the audit reads is present on them")
        } else {
            writeln!(
                f,
                "  not on any of them (rules that read these see no value; Exchange attributes \
                 exist only after Exchange's /PrepareSchema): {}",
                self.missing.join(", ")
            )
        }
    }
}

/// The AD module's computed properties that are never LDAP attributes (`Enabled` is read from
/// userAccountControl's ACCOUNTDISABLE bit over LDAP).
const NOT_LDAP_ATTRIBUTES: [&str; 1] = ["Enabled"];

/// `doctor --ad-server`: connect, bind, read the rootDSE and one page, and say what is missing.
pub(crate) fn probe(options: &CollectAdOptions) -> anyhow::Result<Probe> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the LDAP runtime")?;
    runtime.block_on(async {
        let (server, mut ldap) = open(options).await?;
        let base = match &options.base {
            Some(base) => base.clone(),
            None => default_naming_context(&mut ldap, &server).await?,
        };
        let attributes: Vec<String> = onprem::attribute_names().map(str::to_owned).collect();
        let mut seen: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        let mut sampled = 0;
        let page = read_page(
            &mut ldap,
            &server,
            &base,
            &attributes,
            Vec::new(),
            |entry| {
                sampled += 1;
                seen.extend(entry.attrs.keys().map(|k| k.to_ascii_lowercase()));
                seen.extend(entry.bin_attrs.keys().map(|k| k.to_ascii_lowercase()));
                Ok(())
            },
        )
        .await?;
        let _ = ldap.unbind().await;
        if page.result.rc != 0 && page.result.rc != 4 {
            bail!(
                "the search below {base} at {} ended with result {} ({})",
                server.url,
                page.result.rc,
                page.result.text.trim_end_matches('\0').trim()
            );
        }
        let missing = onprem::attribute_groups()
            .into_iter()
            .filter(|names| !names.iter().all(|n| NOT_LDAP_ATTRIBUTES.contains(n)))
            .filter(|names| {
                // The DN comes with every entry, whether or not it is also an attribute.
                !names.iter().any(|n| {
                    n.eq_ignore_ascii_case("distinguishedName")
                        || seen.contains(&n.to_ascii_lowercase())
                })
            })
            .map(|names| names[0].to_owned())
            .collect();
        Ok(Probe {
            server: server.url,
            bound_as: options.bind.clone(),
            base,
            sampled,
            missing,
        })
    })
}

/// The domain's DN, from the rootDSE (readable without binding, on AD and Samba).
async fn default_naming_context(ldap: &mut Ldap, server: &Server) -> anyhow::Result<String> {
    let (entries, result) = ldap
        .with_timeout(OPERATION_TIMEOUT)
        .search(
            "",
            Scope::Base,
            "(objectClass=*)",
            vec!["defaultNamingContext"],
        )
        .await
        .map_err(|e| explain(&e, server, "cannot read the rootDSE of"))?
        .success()
        .map_err(|e| explain(&e, server, "cannot read the rootDSE of"))?;
    let _ = result;
    entries
        .into_iter()
        .map(SearchEntry::construct)
        .find_map(|e| e.attrs.get("defaultNamingContext").and_then(|v| v.first().cloned()))
        .ok_or_else(|| {
            anyhow!(
                "the rootDSE of {} has no defaultNamingContext (is it an AD domain controller?); pass --base DN",
                server.url
            )
        })
}

/// Deletes the temporary output unless the collection completed.
struct PendingFile {
    path: PathBuf,
    done: bool,
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

async fn search_to_file(
    ldap: &mut Ldap,
    server: &Server,
    base: &str,
    options: &CollectAdOptions,
    started: Instant,
) -> anyhow::Result<CollectAdSummary> {
    let attributes: Vec<String> = onprem::attribute_names()
        .map(str::to_owned)
        .chain(options.extra_attributes.iter().map(|a| a.name.to_string()))
        .collect();
    let file_name = options
        .out
        .file_name()
        .ok_or_else(|| anyhow!("--out {} is not a file name", options.out.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(".partial");
    let tmp_path = options.out.with_file_name(tmp_name);
    let mut pending = PendingFile {
        path: tmp_path.clone(),
        done: false,
    };
    let file = std::fs::File::create(&tmp_path)
        .with_context(|| format!("cannot create {}", tmp_path.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    let write_error = |e: std::io::Error| anyhow!("cannot write {}: {e}", tmp_path.display());

    let progress = if options.progress {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut summary = CollectAdSummary {
        server: server.url.clone(),
        base: base.to_owned(),
        out: options.out.clone(),
        ..CollectAdSummary::default()
    };
    writer.write_all(b"[\n").map_err(write_error)?;
    let mut cookie: Vec<u8> = Vec::new();
    loop {
        let result = read_page(ldap, server, base, &attributes, cookie, |entry| {
            let (class, json) = entry_json(entry, &options.extra_attributes);
            let cannot_write =
                |e: &dyn fmt::Display| anyhow!("cannot write {}: {e}", tmp_path.display());
            if summary.total() > 0 {
                writer.write_all(b",\n").map_err(|e| cannot_write(&e))?;
            }
            serde_json::to_writer(&mut writer, &json).map_err(|e| cannot_write(&e))?;
            *summary.objects.entry(class).or_default() += 1;
            if summary.total().is_multiple_of(1_000) {
                progress.set_message(format!("{} objects", summary.total()));
            }
            Ok(())
        })
        .await?;
        summary.pages += 1;
        summary.references += result.references;
        let result = result.result;
        if result.rc != 0 {
            // sizeLimitExceeded (4), timeLimitExceeded (3), busy, unavailable, a dropped
            // connection (ldap3 reports 80): what was read is not the directory.
            bail!(
                "the search below {base} at {} ended with result {} ({}) after {} objects in {} page(s): \
                 the export would be incomplete, so nothing was written",
                server.url,
                result.rc,
                result.text.trim_end_matches('\0').trim(),
                summary.total(),
                summary.pages
            );
        }
        cookie = next_cookie(&result);
        if cookie.is_empty() {
            break;
        }
    }
    writer.write_all(b"\n]\n").map_err(write_error)?;
    let file = writer
        .into_inner()
        .map_err(|e| anyhow!("cannot write {}: {}", tmp_path.display(), e.error()))?;
    file.sync_all().map_err(write_error)?;
    drop(file);
    std::fs::rename(&tmp_path, &options.out).with_context(|| {
        format!(
            "cannot move {} to {}",
            tmp_path.display(),
            options.out.display()
        )
    })?;
    pending.done = true;
    progress.finish_and_clear();
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// One page's outcome: the server's result and the search references passed over.
struct Page {
    result: ldap3::LdapResult,
    references: usize,
}

/// Reads one page of the paged search (from `cookie`), handing each entry to `write`. LDAP
/// errors come back as the error an admin reads; `write`'s errors are wrapped by the caller.
async fn read_page(
    ldap: &mut Ldap,
    server: &Server,
    base: &str,
    attributes: &[String],
    cookie: Vec<u8>,
    mut write: impl FnMut(SearchEntry) -> anyhow::Result<()>,
) -> anyhow::Result<Page> {
    let control = PagedResults {
        size: PAGE_SIZE,
        cookie,
    };
    let mut stream = ldap
        .with_controls(control)
        .with_timeout(OPERATION_TIMEOUT)
        .streaming_search(base, Scope::Subtree, FILTER, attributes.to_vec())
        .await
        .map_err(|e| explain(&e, server, "the search failed at"))?;
    let mut references = 0;
    while let Some(entry) = stream
        .next()
        .await
        .map_err(|e| explain(&e, server, "the search broke off at"))?
    {
        if entry.is_ref() {
            references += 1;
        } else if !entry.is_intermediate() {
            write(SearchEntry::construct(entry))?;
        }
    }
    Ok(Page {
        result: stream.finish().await,
        references,
    })
}

/// The paged results cookie of a page's result; empty when it was the last page (or the server
/// answered without paging, which means it sent everything).
fn next_cookie(result: &ldap3::LdapResult) -> Vec<u8> {
    result
        .ctrls
        .iter()
        .find_map(|ctrl| match ctrl {
            ldap3::controls::Control(Some(ControlType::PagedResults), raw) => {
                Some(raw.parse::<PagedResults>().cookie)
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// One entry as the export script writes it: the importer's attribute names as keys, one value
/// as a string, several as an array; objectGUID as GUID text, objectSid as `S-1-...`, other
/// binary values as base64. Returns the most specific objectClass too (for the summary).
fn entry_json(
    entry: SearchEntry,
    extras: &[onprem::ExtraAttribute],
) -> (String, serde_json::Value) {
    use serde_json::Value;
    let mut object = serde_json::Map::new();
    object.insert("distinguishedName".into(), Value::String(entry.dn));
    let SearchEntry {
        attrs, bin_attrs, ..
    } = entry;
    let mut values: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for (name, texts) in attrs {
        values
            .entry(name)
            .or_default()
            .extend(texts.into_iter().map(String::into_bytes));
    }
    for (name, bytes) in bin_attrs {
        values.entry(name).or_default().extend(bytes);
    }
    let mut class = String::new();
    for (name, raw) in values {
        if name.eq_ignore_ascii_case("distinguishedName") {
            continue;
        }
        if name.eq_ignore_ascii_case("objectClass") {
            class = raw
                .last()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .unwrap_or_default();
        }
        // A `;binary` extra attribute is written as base64, as the importer reads it.
        let kind = if extras.iter().any(|a| a.binary && a.name.matches(&name)) {
            AttributeKind::Bytes
        } else {
            onprem::attribute_kind(&name)
        };
        let mut rendered: Vec<Value> = raw.into_iter().map(|v| render(kind, v)).collect();
        let value = if rendered.len() == 1 && !name.eq_ignore_ascii_case("objectClass") {
            rendered.pop().unwrap_or(Value::Null)
        } else {
            Value::Array(rendered)
        };
        object.insert(name, value);
    }
    (class, Value::Object(object))
}

fn render(kind: AttributeKind, value: Vec<u8>) -> serde_json::Value {
    use serde_json::Value;
    let text = match kind {
        AttributeKind::Guid => match <[u8; 16]>::try_from(value.as_slice()) {
            Ok(guid) => onprem::guid_to_string(&guid),
            // Not 16 bytes: base64, which the importer then reports as a bad GUID.
            Err(_) => BASE64.encode(&value),
        },
        AttributeKind::Sid => {
            onprem::sid_to_string(&value).unwrap_or_else(|| BASE64.encode(&value))
        }
        AttributeKind::Bytes => BASE64.encode(&value),
        AttributeKind::Text => match String::from_utf8(value) {
            Ok(text) => text,
            Err(err) => BASE64.encode(err.into_bytes()),
        },
    };
    Value::String(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(server: &str) -> CollectAdOptions {
        CollectAdOptions {
            server: server.into(),
            base: None,
            bind: Some("svc@corp.contoso.com".into()),
            password: Some(Password("secret".into())),
            start_tls: false,
            ca_file: None,
            out: "ad.json".into(),
            progress: false,
            extra_attributes: Vec::new(),
        }
    }

    #[test]
    fn a_password_never_goes_over_plain_ldap_off_loopback() {
        let error = parse_server(&options("ldap://dc1.corp.contoso.com"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("refusing to send the bind password in clear text"),
            "{error}"
        );
        assert!(!error.contains("secret"));
        for ok in [
            "ldaps://dc1.corp.contoso.com",
            "ldap://127.0.0.1:389",
            "ldap://localhost",
            "ldap://[::1]:389",
        ] {
            assert!(parse_server(&options(ok)).is_ok(), "{ok}");
        }
        let start_tls = CollectAdOptions {
            start_tls: true,
            ..options("ldap://dc1.corp.contoso.com")
        };
        assert!(parse_server(&start_tls).is_ok());
        assert!(parse_server(&options("https://dc1")).is_err());
        assert!(
            parse_server(&CollectAdOptions {
                start_tls: true,
                ..options("ldaps://dc1")
            })
            .is_err()
        );
    }

    #[test]
    fn the_password_is_redacted_in_debug_output() {
        let shown = format!("{:?}", options("ldaps://dc1"));
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn entries_are_written_in_the_shape_the_importer_reads() {
        let guid = [
            0xf4, 0x62, 0xaf, 0x52, 0x3d, 0xdb, 0xd0, 0x46, 0x90, 0x7b, 0x59, 0x34, 0x24, 0xa7,
            0x26, 0xd3,
        ];
        let sid = vec![
            1u8, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0x51, 4, 0,
            0,
        ];
        let entry = SearchEntry {
            dn: "CN=Zoë Çelik,OU=Staff,DC=corp,DC=contoso,DC=com".into(),
            attrs: [
                (
                    "objectClass".to_owned(),
                    vec!["top".into(), "person".into(), "user".into()],
                ),
                (
                    "proxyAddresses".to_owned(),
                    vec!["SMTP:zoe@contoso.com".into()],
                ),
                ("userAccountControl".to_owned(), vec!["512".into()]),
            ]
            .into(),
            bin_attrs: [
                ("objectGUID".to_owned(), vec![guid.to_vec()]),
                ("objectSid".to_owned(), vec![sid]),
                (
                    "mS-DS-ConsistencyGuid".to_owned(),
                    vec![vec![0xde, 0xad, 0xbe, 0xef]],
                ),
            ]
            .into(),
        };
        let employee = onprem::AttributeName::parse("employeeID").unwrap();
        let badge = onprem::AttributeName::parse("exampleBadge").unwrap();
        let extras = [
            onprem::ExtraAttribute {
                name: employee,
                binary: false,
            },
            onprem::ExtraAttribute {
                name: badge,
                binary: true,
            },
        ];
        let mut entry = entry;
        entry
            .attrs
            .insert("employeeID".to_owned(), vec!["E1001".into()]);
        // Bytes that happen to be UTF-8 (ldap3 then reports them as text) stay bytes.
        entry
            .attrs
            .insert("exampleBadge".to_owned(), vec!["AB".into()]);
        let (class, json) = entry_json(entry, &extras);
        assert_eq!(class, "user");
        let text = format!("[{json}]");
        let (_, outcome) = onprem::import_bytes_with(
            text.into_bytes(),
            Path::new("ad.json"),
            &onprem::ImportOptions {
                extra_attributes: extras.to_vec(),
            },
        )
        .expect("importable");
        assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
        let [object] = outcome.objects.as_slice() else {
            panic!("one object: {outcome:?}")
        };
        assert_eq!(object.object_guid, guid);
        assert_eq!(object.object_sid.as_deref(), Some("S-1-5-21-1-2-3-1105"));
        assert_eq!(object.source_anchor, "3q2+7w==");
        assert_eq!(
            object.extra(employee),
            [onprem::ExtraValue::Text("E1001".into())]
        );
        assert_eq!(
            object.extra(badge),
            [onprem::ExtraValue::Bytes(b"AB".to_vec())]
        );
        assert_eq!(object.proxy_addresses, ["SMTP:zoe@contoso.com"]);
        assert_eq!(object.enabled, Some(true));
        assert_eq!(
            object.distinguished_name,
            "CN=Zoë Çelik,OU=Staff,DC=corp,DC=contoso,DC=com"
        );
    }
}
