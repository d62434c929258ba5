//! Writes a [`SimTenant`] to disk: the on-prem export in the three formats the tool reads (LDIF as
//! `ldifde -f` writes it, CSV as Windows PowerShell 5.1 `Export-Csv` writes it, JSON as the
//! `entra-audit onprem-script` export writes it), the cloud snapshot in the `check --cloud DIR`
//! layout (what `collect` writes), and the ground truth (`expected.json`).
//!
//! It also writes `planted.json` (each planting case: the objects it made and why each expected
//! finding follows). It owns these file shapes. It streams every file through a `BufWriter`
//! (never a whole file in memory), so a 500,000-user tenant writes in little extra memory. It must not decide what is in the tenant (that is the
//! generator's job) and must not use the tool's readers or matching code: the written files are
//! what the tool is tested against.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Datelike as _, Timelike as _, Utc};
use serde::Serialize;

use super::model::{DirectoryRole, OnPremRecord, PlantedProblem, SimTenant, SyncJob};

/// The on-prem export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnPremFormat {
    /// `ldifde -f ad.ldif`: CRLF, a leading blank line, `changetype: add`, binary and non-ASCII
    /// values in base64, lines folded at 78 characters.
    Ldif,
    /// Windows PowerShell 5.1 `Get-ADObject ... | Select-Object ... | Export-Csv -Encoding UTF8`:
    /// UTF-8 with BOM, a `#TYPE` line, every field quoted, multi-values joined with `;`.
    Csv,
    /// What `entra-audit onprem-script` writes: UTF-8 without BOM, CRLF, an array of
    /// `ConvertTo-Json -Compress` objects, one per line.
    Json,
}

impl OnPremFormat {
    pub const ALL: [OnPremFormat; 3] = [OnPremFormat::Ldif, OnPremFormat::Csv, OnPremFormat::Json];

    /// `ad.ldif`, `ad.csv` or `ad.json`.
    pub fn file_name(self) -> &'static str {
        match self {
            OnPremFormat::Ldif => "ad.ldif",
            OnPremFormat::Csv => "ad.csv",
            OnPremFormat::Json => "ad.json",
        }
    }
}

/// Writes `ad.ldif`, `ad.csv` and `ad.json` (the same objects, plus OUs and computers the
/// importer must skip) into `dir`, creating it when needed.
pub fn write_onprem(tenant: &SimTenant, dir: &Path) -> anyhow::Result<()> {
    write_onprem_formats(tenant, dir, &OnPremFormat::ALL)
}

/// Writes the on-prem export in the given formats into `dir` (`ad.ldif`, `ad.csv`, `ad.json`).
pub(crate) fn write_onprem_formats(
    tenant: &SimTenant,
    dir: &Path,
    formats: &[OnPremFormat],
) -> anyhow::Result<()> {
    let mut writer = OnPremWriter::create(dir, formats)?;
    for record in &tenant.onprem {
        writer.write(record);
    }
    writer.finish()
}

/// Streams on-prem records into the export files as they come (see
/// [`generate_streaming`](super::generator::generate_streaming)), so a large export never has to
/// be held in memory. The first write error is kept and returned by [`OnPremWriter::finish`];
/// nothing is written after it.
pub struct OnPremWriter {
    ldif: Option<Out>,
    csv: Option<Out>,
    json: Option<Out>,
    records: usize,
    scratch: String,
    error: Option<anyhow::Error>,
}

impl OnPremWriter {
    /// Creates the files of `formats` in `dir` (creating `dir` when needed) and writes their
    /// headers.
    pub fn create(dir: &Path, formats: &[OnPremFormat]) -> anyhow::Result<OnPremWriter> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let open = |format: OnPremFormat| -> anyhow::Result<Option<Out>> {
            if !formats.contains(&format) {
                return Ok(None);
            }
            let mut out = Out::create(&dir.join(format.file_name()))?;
            let header = match format {
                OnPremFormat::Ldif => ldif_header(&mut out.w),
                OnPremFormat::Csv => csv_header(&mut out.w),
                OnPremFormat::Json => out.w.write_all(b"[\r\n"),
            };
            header.with_context(|| format!("writing {}", out.path.display()))?;
            Ok(Some(out))
        };
        Ok(OnPremWriter {
            ldif: open(OnPremFormat::Ldif)?,
            csv: open(OnPremFormat::Csv)?,
            json: open(OnPremFormat::Json)?,
            records: 0,
            scratch: String::with_capacity(256),
            error: None,
        })
    }

    /// Appends one record to every file.
    pub fn write(&mut self, record: &OnPremRecord) {
        if self.error.is_some() {
            return;
        }
        let first = self.records == 0;
        self.records += 1;
        let scratch = &mut self.scratch;
        let results = [
            self.ldif
                .as_mut()
                .map(|out| (ldif_record(&mut out.w, scratch, record), &out.path)),
            self.csv
                .as_mut()
                .map(|out| (csv_record(&mut out.w, record), &out.path)),
            self.json
                .as_mut()
                .map(|out| (json_record(&mut out.w, record, first), &out.path)),
        ];
        for (result, path) in results.into_iter().flatten() {
            if let Err(e) = result {
                self.error = Some(e.context(format!("writing {}", path.display())));
                return;
            }
        }
    }

    /// Writes the trailers, flushes every file to disk and reports the first error.
    pub fn finish(self) -> anyhow::Result<()> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if let Some(out) = self.ldif {
            out.finish()?;
        }
        if let Some(out) = self.csv {
            out.finish()?;
        }
        if let Some(mut out) = self.json {
            out.w
                .write_all(b"\r\n]\r\n")
                .with_context(|| format!("writing {}", out.path.display()))?;
            out.finish()?;
        }
        Ok(())
    }
}

/// Writes `expected.json`: every finding the audit must report, sorted, as
/// `[{"rule", "cloud_object_id", "onprem_object_guid", "note"}]`, one per line. A tuple appears
/// twice when the rule must report it twice (two provisioning errors on one object).
pub fn write_ground_truth(tenant: &SimTenant, path: &Path) -> anyhow::Result<()> {
    let mut rows: Vec<&PlantedProblem> = tenant.ground_truth.iter().collect();
    rows.sort();
    let mut out = Out::create(path)?;
    let result = (|| -> anyhow::Result<()> {
        out.w.write_all(b"[\n")?;
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                out.w.write_all(b",\n")?;
            }
            serde_json::to_writer(&mut out.w, row)?;
        }
        out.w.write_all(b"\n]\n")?;
        Ok(())
    })();
    result.with_context(|| format!("writing {}", path.display()))?;
    out.finish()
}

/// Writes `planted.json`: `{"command": how the tenant was generated, "cases": [...]}` with, per
/// planting case as it ran, the on-prem objectGUIDs and cloud ids it made and the findings they
/// imply with why (`{"rule", "cloud_object_id", "onprem_object_guid", "why"}`), one case a line.
/// For people reading the fixture; the audit is checked against `expected.json`.
pub(crate) fn write_planted(tenant: &SimTenant, command: &str, path: &Path) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct Expected<'a> {
        rule: &'a str,
        cloud_object_id: Option<&'a str>,
        onprem_object_guid: Option<&'a str>,
        why: &'a str,
    }
    #[derive(Serialize)]
    struct CaseRecord<'a> {
        case: &'a str,
        onprem: Vec<String>,
        cloud: &'a [String],
        expected: Vec<Expected<'a>>,
    }
    let mut out = Out::create(path)?;
    let result = (|| -> anyhow::Result<()> {
        out.w.write_all(b"{\"command\": ")?;
        serde_json::to_writer(&mut out.w, command)?;
        out.w.write_all(b",\n\"cases\": [\n")?;
        for (i, case) in tenant.planted_cases.iter().enumerate() {
            if i > 0 {
                out.w.write_all(b",\n")?;
            }
            let record = CaseRecord {
                case: &case.case,
                onprem: case.onprem.iter().map(guid_text).collect(),
                cloud: &case.cloud,
                expected: case
                    .expected
                    .iter()
                    .map(|p| Expected {
                        rule: &p.rule,
                        cloud_object_id: p.cloud_object_id.as_deref(),
                        onprem_object_guid: p.onprem_object_guid.as_deref(),
                        why: &p.note,
                    })
                    .collect(),
            };
            serde_json::to_writer(&mut out.w, &record)?;
        }
        out.w.write_all(b"\n]}\n")?;
        Ok(())
    })();
    result.with_context(|| format!("writing {}", path.display()))?;
    out.finish()
}

/// Writes the tenant as a cloud snapshot directory (the layout `check --cloud DIR` reads and
/// `collect` writes): users, contacts and groups as `.jsonl` (one Graph object per line), the
/// other collections as Graph collection responses (`{"value":[...]}`), synchronization jobs with
/// the `servicePrincipalId` and `servicePrincipalDisplayName` the collector adds, directory roles
/// with their `members`, the beta organization resource, and `manifest.json` with `collected_at`
/// (the audit's as-of; the tenant's times are relative to it) and each collection's count.
///
/// Files of the same collections with the other extension are removed: the reader prefers
/// `.json`, so a stale one would shadow what is written here.
pub fn write_snapshot(
    tenant: &SimTenant,
    dir: &Path,
    collected_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    write_snapshot_as(tenant, dir, collected_at, SnapshotFormat::Jsonl)
}

/// How the snapshot holds users, contacts and groups (the reader takes both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SnapshotFormat {
    /// `NAME.jsonl`, one Graph object per line (what `collect` writes).
    Jsonl,
    /// `NAME.json`, a Graph collection response `{"value":[...]}` with one object per line
    /// (what a saved Graph Explorer response looks like; easier to read in a small fixture).
    Json,
}

/// [`write_snapshot`] with users, contacts and groups in `format`.
pub(crate) fn write_snapshot_as(
    tenant: &SimTenant,
    dir: &Path,
    collected_at: DateTime<Utc>,
    format: SnapshotFormat,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let objects = |name: &str,
                   len: usize,
                   write: &dyn Fn(&mut dyn Write) -> anyhow::Result<()>|
     -> anyhow::Result<usize> {
        write_objects(dir, name, format, write)?;
        Ok(len)
    };
    let counts: [(&str, usize); 11] = [
        (
            "users",
            objects("users", tenant.users.len(), &|w| {
                write_lines(w, &tenant.users, format)
            })?,
        ),
        (
            "contacts",
            objects("contacts", tenant.contacts.len(), &|w| {
                write_lines(w, &tenant.contacts, format)
            })?,
        ),
        (
            "groups",
            objects("groups", tenant.groups.len(), &|w| {
                write_lines(w, &tenant.groups, format)
            })?,
        ),
        (
            "organization",
            write_collection(
                dir,
                "organization",
                std::slice::from_ref(&tenant.organization),
            )?,
        ),
        (
            "domains",
            write_collection(dir, "domains", &tenant.domains)?,
        ),
        (
            "synchronizationJobs",
            write_collection(dir, "synchronizationJobs", &job_records(tenant))?,
        ),
        (
            "directoryRoles",
            write_collection(dir, "directoryRoles", &role_records(tenant))?,
        ),
        (
            "onPremisesSynchronization",
            write_collection(
                dir,
                "onPremisesSynchronization",
                std::slice::from_ref(&tenant.directory_synchronization),
            )?,
        ),
        (
            "roleAssignments",
            write_collection(dir, "roleAssignments", &role_holders(tenant, false))?,
        ),
        (
            "roleEligibilities",
            write_collection(dir, "roleEligibilities", &role_holders(tenant, true))?,
        ),
        (
            "onPremisesSyncBehavior",
            write_collection(dir, "onPremisesSyncBehavior", &sync_behaviors(tenant))?,
        ),
    ];
    let collections: serde_json::Map<String, serde_json::Value> = counts
        .iter()
        .map(|(name, n)| {
            (
                (*name).to_owned(),
                serde_json::json!({"status": "complete", "objects": n}),
            )
        })
        .collect();
    let manifest = serde_json::json!({
        "schema_version": 1,
        "tenant_id": tenant.tenant_id,
        "collected_at": graph_time(collected_at),
        "collections": collections,
    });
    let path = dir.join("manifest.json");
    let mut out = Out::create(&path)?;
    pretty(&mut out.w, &manifest)
        .and_then(|()| Ok(out.w.write_all(b"\n")?))
        .with_context(|| format!("writing {}", path.display()))?;
    out.finish()
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

/// A buffered file that names its path in every error.
struct Out {
    path: PathBuf,
    w: BufWriter<File>,
}

impl Out {
    fn create(path: &Path) -> anyhow::Result<Out> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Out {
            path: path.to_owned(),
            w: BufWriter::with_capacity(1 << 20, file),
        })
    }

    fn finish(self) -> anyhow::Result<()> {
        let Out { path, w } = self;
        let file = w
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)
            .with_context(|| format!("writing {}", path.display()))?;
        file.sync_data()
            .with_context(|| format!("writing {}", path.display()))
    }
}

fn remove_other(dir: &Path, name: &str, keep: &str) -> anyhow::Result<()> {
    for ext in ["json", "jsonl"] {
        if ext == keep {
            continue;
        }
        let stale = dir.join(format!("{name}.{ext}"));
        match std::fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("removing stale {}", stale.display()));
            }
        }
    }
    Ok(())
}

/// Writes `NAME.jsonl` or `NAME.json` (removing the other) through `write`.
fn write_objects(
    dir: &Path,
    name: &str,
    format: SnapshotFormat,
    write: &dyn Fn(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let ext = match format {
        SnapshotFormat::Jsonl => "jsonl",
        SnapshotFormat::Json => "json",
    };
    remove_other(dir, name, ext)?;
    let path = dir.join(format!("{name}.{ext}"));
    let mut out = Out::create(&path)?;
    write(&mut out.w).with_context(|| format!("writing {}", path.display()))?;
    out.finish()
}

/// One compact Graph object per line, streamed: as JSONL, or inside `{"value":[` ... `]}`.
fn write_lines<T: Serialize>(
    w: &mut dyn Write,
    items: &[T],
    format: SnapshotFormat,
) -> anyhow::Result<()> {
    let json = format == SnapshotFormat::Json;
    if json {
        w.write_all(b"{\"value\":[\n")?;
    }
    for (i, item) in items.iter().enumerate() {
        if json && i > 0 {
            w.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut *w, item)?;
        if !json {
            w.write_all(b"\n")?;
        }
    }
    if json {
        w.write_all(b"\n]}\n")?;
    }
    Ok(())
}

/// A Graph collection response, `{"value":[...]}`, indented for people to read.
fn write_collection<T: Serialize>(dir: &Path, name: &str, items: &[T]) -> anyhow::Result<usize> {
    #[derive(Serialize)]
    struct Envelope<'a, T> {
        value: &'a [T],
    }
    remove_other(dir, name, "json")?;
    let path = dir.join(format!("{name}.json"));
    let mut out = Out::create(&path)?;
    pretty(&mut out.w, &Envelope { value: items })
        .and_then(|()| Ok(out.w.write_all(b"\n")?))
        .with_context(|| format!("writing {}", path.display()))?;
    out.finish()?;
    Ok(items.len())
}

fn pretty<W: Write, T: Serialize + ?Sized>(w: &mut W, value: &T) -> anyhow::Result<()> {
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut serializer = serde_json::Serializer::with_formatter(w, formatter);
    value.serialize(&mut serializer)?;
    Ok(())
}

/// A synchronization job as the collector saves it: the Graph resource plus its parent.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobRecord<'a> {
    #[serde(flatten)]
    job: &'a SyncJob,
    service_principal_id: &'a str,
    service_principal_display_name: Option<&'a str>,
}

fn job_records(tenant: &SimTenant) -> Vec<JobRecord<'_>> {
    tenant
        .sync_jobs
        .iter()
        .map(|job| JobRecord {
            job,
            service_principal_id: &job.service_principal_id,
            service_principal_display_name: tenant
                .service_principals
                .iter()
                .find(|sp| sp.id == job.service_principal_id)
                .map(|sp| sp.display_name.as_str()),
        })
        .collect()
}

/// A directory role as `GET /directoryRoles?$expand=members` returns it.
#[derive(Serialize)]
struct RoleRecord<'a> {
    #[serde(flatten)]
    role: &'a DirectoryRole,
    members: Vec<RoleMember<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleMember<'a> {
    #[serde(rename = "@odata.type")]
    odata_type: &'a str,
    id: &'a str,
    display_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_principal_name: Option<&'a str>,
}

/// One record of `onPremisesSyncBehavior.json` as `collect` writes it: one per user or group
/// carrying a sign of sync (onPremisesSyncEnabled set, an immutableId, a last sync time), with
/// what `GET /beta/{users|groups}/{id}/onPremisesSyncBehavior` says of it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SyncBehaviorRecord<'a> {
    id: &'a str,
    object_type: &'static str,
    is_cloud_managed: bool,
}

fn sync_behaviors(tenant: &SimTenant) -> Vec<SyncBehaviorRecord<'_>> {
    let some = |s: Option<&String>| s.is_some_and(|s| !s.is_empty());
    let users = tenant
        .users
        .iter()
        .filter(|u| {
            u.on_premises_sync_enabled.is_some()
                || some(u.on_premises_immutable_id.as_ref())
                || some(u.on_premises_last_sync_date_time.as_ref())
        })
        .map(|u| (u.id.as_str(), "user"));
    let groups = tenant
        .groups
        .iter()
        .filter(|g| {
            g.on_premises_sync_enabled.is_some() || some(g.on_premises_last_sync_date_time.as_ref())
        })
        .map(|g| (g.id.as_str(), "group"));
    users
        .chain(groups)
        .map(|(id, object_type)| SyncBehaviorRecord {
            id,
            object_type,
            is_cloud_managed: tenant.cloud_managed.contains(id),
        })
        .collect()
}

/// One record of `roleAssignments.json` / `roleEligibilities.json`: the collector flattens three
/// Graph responses into it, so it is not a Graph shape. Written here independently of the
/// product's reader (the simulator imports nothing from the product); the demo and the snapshot
/// tests read what this writes back through that reader.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleHolderRecord {
    id: String,
    role_definition_id: String,
    role_display_name: Option<String>,
    role_template_id: Option<String>,
    principal_id: String,
    principal_type: Option<String>,
    member_id: String,
    member_type: Option<String>,
    directory_scope_id: Option<String>,
}

/// Role holders as `collect` writes them (roleAssignments.json / roleEligibilities.json): one
/// record per principal and role, plus one per transitive member of a role-assignable group.
fn role_holders(tenant: &SimTenant, eligible: bool) -> Vec<RoleHolderRecord> {
    let kind = |t: &str| t.trim_start_matches("#microsoft.graph.").to_owned();
    let mut out = Vec::new();
    for role in &tenant.directory_roles {
        let holders = if eligible {
            &role.eligible
        } else {
            &role.members
        };
        for (principal, t) in holders {
            let holder = |member: &str, member_type: &str| RoleHolderRecord {
                id: format!(
                    "{}-{}-{principal}",
                    if eligible { "es" } else { "ra" },
                    role.role_template_id
                ),
                role_definition_id: role.role_template_id.clone(),
                role_display_name: Some(role.display_name.clone()),
                role_template_id: Some(role.role_template_id.clone()),
                principal_id: principal.clone(),
                principal_type: Some(kind(t)),
                member_id: member.to_owned(),
                member_type: Some(kind(member_type)),
                directory_scope_id: Some("/".to_owned()),
            };
            out.push(holder(principal, t));
            if let Some(group) = tenant.groups.iter().find(|g| &g.id == principal) {
                for (member, member_type) in &group.members {
                    out.push(holder(member, member_type));
                }
            }
        }
    }
    out
}

fn role_records(tenant: &SimTenant) -> Vec<RoleRecord<'_>> {
    // Role members are few: look their names up in one pass over the directory.
    let wanted: std::collections::HashSet<&str> = tenant
        .directory_roles
        .iter()
        .flat_map(|r| r.members.iter().map(|(id, _)| id.as_str()))
        .collect();
    let mut names: HashMap<&str, (Option<&str>, Option<&str>)> = HashMap::new();
    for u in &tenant.users {
        if wanted.contains(u.id.as_str()) {
            names.insert(
                &u.id,
                (u.display_name.as_deref(), Some(&u.user_principal_name)),
            );
        }
    }
    for g in &tenant.groups {
        if wanted.contains(g.id.as_str()) {
            names.insert(&g.id, (g.display_name.as_deref(), None));
        }
    }
    for sp in &tenant.service_principals {
        if wanted.contains(sp.id.as_str()) {
            names.insert(&sp.id, (Some(&sp.display_name), None));
        }
    }
    tenant
        .directory_roles
        .iter()
        .map(|role| RoleRecord {
            role,
            members: role
                .members
                .iter()
                .map(|(id, odata_type)| {
                    let (display_name, user_principal_name) =
                        names.get(id.as_str()).copied().unwrap_or_default();
                    RoleMember {
                        odata_type,
                        id,
                        display_name,
                        user_principal_name,
                    }
                })
                .collect(),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// On-prem formats
// ---------------------------------------------------------------------------------------------

/// What ldifde writes: lines longer than this continue on lines that start with one space.
const LDIF_WIDTH: usize = 78;

/// The `objectClass` chain and `objectCategory` of each class (what AD stores).
fn ldif_class(class: &str) -> (&'static [&'static str], &str) {
    match class {
        "user" => (&["top", "person", "organizationalPerson", "user"], "Person"),
        "contact" => (
            &["top", "person", "organizationalPerson", "contact"],
            "Person",
        ),
        "group" => (&["top", "group"], "Group"),
        "computer" => (
            &["top", "person", "organizationalPerson", "user", "computer"],
            "Computer",
        ),
        "organizationalUnit" => (&["top", "organizationalUnit"], "Organizational-Unit"),
        other => (&["top"], other),
    }
}

/// Writes one logical LDIF line, folded.
fn ldif_fold<W: Write>(w: &mut W, line: &str) -> std::io::Result<()> {
    // Every line is ASCII by construction (non-ASCII values go out as base64), so bytes are
    // characters and a fold never splits one.
    debug_assert!(line.is_ascii());
    let bytes = line.as_bytes();
    let first = bytes.len().min(LDIF_WIDTH);
    w.write_all(&bytes[..first])?;
    for chunk in bytes[first..].chunks(LDIF_WIDTH - 1) {
        w.write_all(b"\r\n ")?;
        w.write_all(chunk)?;
    }
    w.write_all(b"\r\n")
}

/// `name: value`, or `name:: base64` for non-ASCII text and values LDIF cannot hold plainly.
fn ldif_text<W: Write>(
    w: &mut W,
    scratch: &mut String,
    name: &str,
    value: &str,
) -> std::io::Result<()> {
    scratch.clear();
    let plain = value.is_ascii() && !value.starts_with([' ', ':', '<']) && !value.ends_with(' ');
    scratch.push_str(name);
    if plain {
        scratch.push_str(": ");
        scratch.push_str(value);
    } else {
        scratch.push_str(":: ");
        BASE64.encode_string(value.as_bytes(), scratch);
    }
    ldif_fold(w, scratch)
}

fn ldif_binary<W: Write>(
    w: &mut W,
    scratch: &mut String,
    name: &str,
    data: &[u8],
) -> std::io::Result<()> {
    scratch.clear();
    scratch.push_str(name);
    scratch.push_str(":: ");
    BASE64.encode_string(data, scratch);
    ldif_fold(w, scratch)
}

/// Writes `value` when it is set and not empty.
fn ldif_opt<W: Write>(
    w: &mut W,
    scratch: &mut String,
    name: &str,
    value: Option<&str>,
) -> std::io::Result<()> {
    match value {
        Some(v) if !v.is_empty() => ldif_text(w, scratch, name, v),
        _ => Ok(()),
    }
}

/// ldifde starts with a blank line.
fn ldif_header<W: Write>(w: &mut W) -> std::io::Result<()> {
    w.write_all(b"\r\n")
}

fn ldif_record<W: Write>(w: &mut W, s: &mut String, o: &OnPremRecord) -> anyhow::Result<()> {
    let dn = o.distinguished_name.as_str();
    let cn = rdn_value(dn);
    let (classes, category) = ldif_class(&o.object_class);
    let category = format!("CN={category},CN=Schema,CN=Configuration,{}", dc_suffix(dn));
    let created = o.when_created.map(generalized_time);
    ldif_text(w, s, "dn", dn)?;
    w.write_all(b"changetype: add\r\n")?;
    for class in classes {
        ldif_text(w, s, "objectClass", class)?;
    }
    if o.object_class == "organizationalUnit" {
        ldif_text(w, s, "ou", &cn)?;
        ldif_text(w, s, "distinguishedName", dn)?;
        w.write_all(b"instanceType: 4\r\n")?;
        ldif_opt(w, s, "whenCreated", created.as_deref())?;
        ldif_text(w, s, "name", &cn)?;
        ldif_binary(w, s, "objectGUID", &o.object_guid)?;
        ldif_text(w, s, "objectCategory", &category)?;
        w.write_all(b"\r\n")?;
        return Ok(());
    }
    ldif_text(w, s, "cn", &cn)?;
    ldif_opt(w, s, "sn", o.surname.as_deref())?;
    ldif_opt(w, s, "title", o.title.as_deref())?;
    ldif_opt(w, s, "givenName", o.given_name.as_deref())?;
    ldif_text(w, s, "distinguishedName", dn)?;
    w.write_all(b"instanceType: 4\r\n")?;
    ldif_opt(w, s, "whenCreated", created.as_deref())?;
    ldif_opt(w, s, "displayName", o.display_name.as_deref())?;
    ldif_opt(w, s, "department", o.department.as_deref())?;
    ldif_opt(w, s, "company", o.company.as_deref())?;
    ldif_text(w, s, "name", &cn)?;
    ldif_binary(w, s, "objectGUID", &o.object_guid)?;
    if let Some(uac) = o.user_account_control {
        ldif_text(w, s, "userAccountControl", &uac.to_string())?;
    }
    if let Some(group_type) = o.group_type {
        ldif_text(w, s, "groupType", &group_type.to_string())?;
    }
    if o.critical_system_object {
        w.write_all(b"isCriticalSystemObject: TRUE\r\n")?;
    }
    ldif_opt(w, s, "adminDescription", o.admin_description.as_deref())?;
    if let Some(sid) = o.object_sid.as_deref().filter(|sid| !sid.is_empty()) {
        ldif_binary(w, s, "objectSid", &sid_bytes(sid))?;
    }
    ldif_opt(w, s, "sAMAccountName", o.sam_account_name.as_deref())?;
    ldif_opt(w, s, "userPrincipalName", o.user_principal_name.as_deref())?;
    if let Some(dns) = o.dns_host_name.as_deref() {
        ldif_text(w, s, "dNSHostName", dns)?;
        ldif_text(w, s, "operatingSystem", "Windows 11 Enterprise")?;
    }
    ldif_text(w, s, "objectCategory", &category)?;
    ldif_opt(w, s, "mail", o.mail.as_deref())?;
    ldif_opt(w, s, "mailNickname", o.mail_nickname.as_deref())?;
    ldif_opt(w, s, "targetAddress", o.target_address.as_deref())?;
    for n in 0..o.certificate_count {
        // A stand-in DER prefix per value: the importer counts values, it never parses them.
        ldif_binary(
            w,
            s,
            "userCertificate",
            &[0x30, 0x82, 0x01, n.to_le_bytes()[0]],
        )?;
    }
    for proxy in &o.proxy_addresses {
        ldif_text(w, s, "proxyAddresses", proxy)?;
    }
    if let Some(cguid) = &o.consistency_guid {
        ldif_binary(w, s, "mS-DS-ConsistencyGuid", cguid)?;
    }
    w.write_all(b"\r\n")?;
    Ok(())
}

const CSV_COLUMNS: [&str; 22] = [
    "DistinguishedName",
    "Name",
    "ObjectClass",
    "ObjectGUID",
    "objectSid",
    "userPrincipalName",
    "sAMAccountName",
    "mail",
    "mailNickname",
    "proxyAddresses",
    "displayName",
    "givenName",
    "sn",
    "targetAddress",
    "userCertificateCount",
    "department",
    "title",
    "userAccountControl",
    "mS-DS-ConsistencyGuid",
    "groupType",
    "isCriticalSystemObject",
    "adminDescription",
];

/// One `Export-Csv` field: always quoted, quotes doubled; an unset value is `""`.
fn csv_field<W: Write>(w: &mut W, value: Option<&str>) -> std::io::Result<()> {
    w.write_all(b"\"")?;
    if let Some(v) = value {
        let mut rest = v;
        while let Some(at) = rest.find('"') {
            w.write_all(&rest.as_bytes()[..=at])?;
            w.write_all(b"\"")?;
            rest = &rest[at + 1..];
        }
        w.write_all(rest.as_bytes())?;
    }
    w.write_all(b"\"")
}

fn csv_header<W: Write>(w: &mut W) -> std::io::Result<()> {
    // Windows PowerShell 5.1 `-Encoding UTF8` writes a byte-order mark.
    w.write_all("\u{FEFF}".as_bytes())?;
    w.write_all(b"#TYPE Selected.Microsoft.ActiveDirectory.Management.ADObject\r\n")?;
    for (i, column) in CSV_COLUMNS.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        csv_field(w, Some(column))?;
    }
    w.write_all(b"\r\n")
}

fn csv_record<W: Write>(w: &mut W, o: &OnPremRecord) -> anyhow::Result<()> {
    let guid = guid_text(&o.object_guid);
    let proxies = o.proxy_addresses.join(";");
    let uac = o.user_account_control.map(|v| v.to_string());
    let cguid = o.consistency_guid.map(|c| BASE64.encode(c));
    let cn = rdn_value(&o.distinguished_name);
    let certificates = (o.certificate_count > 0).then(|| o.certificate_count.to_string());
    let group_type = o.group_type.map(|t| t.to_string());
    let row: [Option<&str>; 22] = [
        Some(&o.distinguished_name),
        Some(&cn),
        Some(&o.object_class),
        Some(&guid),
        o.object_sid.as_deref(),
        o.user_principal_name.as_deref(),
        o.sam_account_name.as_deref(),
        o.mail.as_deref(),
        o.mail_nickname.as_deref(),
        Some(&proxies),
        o.display_name.as_deref(),
        o.given_name.as_deref(),
        o.surname.as_deref(),
        o.target_address.as_deref(),
        certificates.as_deref(),
        o.department.as_deref(),
        o.title.as_deref(),
        uac.as_deref(),
        cguid.as_deref(),
        group_type.as_deref(),
        // Export-Csv writes an unset attribute as an empty cell, a set boolean as True.
        o.critical_system_object.then_some("True"),
        o.admin_description.as_deref(),
    ];
    for (i, value) in row.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        csv_field(w, *value)?;
    }
    w.write_all(b"\r\n")?;
    Ok(())
}

/// One object as the export script's `ConvertTo-Json -Compress` writes it.
#[derive(Serialize)]
struct PsObject<'a> {
    #[serde(rename = "ObjectClass")]
    object_class: [&'a str; 1],
    #[serde(rename = "ObjectGUID")]
    object_guid: String,
    #[serde(rename = "DistinguishedName")]
    distinguished_name: &'a str,
    #[serde(rename = "mS-DS-ConsistencyGuid")]
    consistency_guid: Option<String>,
    #[serde(rename = "objectSid")]
    object_sid: Option<&'a str>,
    #[serde(rename = "userPrincipalName")]
    user_principal_name: Option<&'a str>,
    #[serde(rename = "sAMAccountName")]
    sam_account_name: Option<&'a str>,
    mail: Option<&'a str>,
    #[serde(rename = "mailNickname")]
    mail_nickname: Option<&'a str>,
    #[serde(rename = "proxyAddresses")]
    proxy_addresses: &'a [String],
    #[serde(rename = "displayName")]
    display_name: Option<&'a str>,
    #[serde(rename = "givenName")]
    given_name: Option<&'a str>,
    sn: Option<&'a str>,
    #[serde(rename = "targetAddress")]
    target_address: Option<&'a str>,
    #[serde(rename = "userCertificateCount")]
    user_certificate_count: u32,
    #[serde(rename = "userAccountControl")]
    user_account_control: Option<u32>,
    #[serde(rename = "isCriticalSystemObject")]
    critical_system_object: Option<bool>,
    #[serde(rename = "msExchRecipientTypeDetails")]
    recipient_type_details: Option<i64>,
    #[serde(rename = "groupType")]
    group_type: Option<i32>,
    #[serde(rename = "adminDescription")]
    admin_description: Option<&'a str>,
}

/// One compressed object per line, the lines joined by `,` (inside the `[`...`]` the writer adds).
fn json_record<W: Write>(w: &mut W, o: &OnPremRecord, first: bool) -> anyhow::Result<()> {
    if !first {
        w.write_all(b",\r\n")?;
    }
    let record = PsObject {
        object_class: [&o.object_class],
        object_guid: guid_text(&o.object_guid),
        distinguished_name: &o.distinguished_name,
        consistency_guid: o.consistency_guid.map(|c| BASE64.encode(c)),
        object_sid: o.object_sid.as_deref(),
        user_principal_name: o.user_principal_name.as_deref(),
        sam_account_name: o.sam_account_name.as_deref(),
        mail: o.mail.as_deref(),
        mail_nickname: o.mail_nickname.as_deref(),
        proxy_addresses: &o.proxy_addresses,
        display_name: o.display_name.as_deref(),
        given_name: o.given_name.as_deref(),
        sn: o.surname.as_deref(),
        target_address: o.target_address.as_deref(),
        user_certificate_count: o.certificate_count,
        user_account_control: o.user_account_control,
        critical_system_object: o.critical_system_object.then_some(true),
        recipient_type_details: None,
        group_type: o.group_type,
        admin_description: o.admin_description.as_deref(),
    };
    serde_json::to_writer(w, &record)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// The value of a DN's first RDN, unescaped: `CN=Smith\, John (js1),OU=x` -> `Smith, John (js1)`
/// (what AD stores as `cn` and `name`).
fn rdn_value(dn: &str) -> String {
    let value = dn.split_once('=').map_or(dn, |(_, rest)| rest);
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            }
            ',' => break,
            _ => out.push(c),
        }
    }
    out
}

/// The `DC=` suffix of a DN (`DC=corp,DC=local`), where the schema lives.
fn dc_suffix(dn: &str) -> &str {
    if dn.len() >= 3 && dn[..3].eq_ignore_ascii_case("DC=") {
        return dn;
    }
    dn.to_ascii_uppercase()
        .find(",DC=")
        .map_or("", |at| &dn[at + 1..])
}

/// LDAP `GeneralizedTime` as ldifde writes whenCreated: `20160824051827.0Z`.
fn generalized_time(t: DateTime<Utc>) -> String {
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}.0Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `2026-11-02T08:00:00Z`.
fn graph_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The canonical text of a GUID given in `Guid.ToByteArray()` order.
fn guid_text(b: &[u8; 16]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(36);
    for (position, index) in [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]
        .into_iter()
        .enumerate()
    {
        if matches!(position, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        let _ = write!(text, "{:02x}", b[index]);
    }
    text
}

/// The binary form of `S-1-5-21-a-b-c-rid`: revision, sub-authority count, the 48-bit authority
/// big-endian, then each sub-authority little-endian (MS-DTYP 2.4.2.2).
fn sid_bytes(sid: &str) -> Vec<u8> {
    let parts: Vec<&str> = sid.split('-').collect();
    let number = |s: &str| s.parse::<u64>().unwrap_or(0);
    let subs: Vec<u32> = parts
        .iter()
        .skip(3)
        .map(|s| u32::try_from(number(s)).unwrap_or(0))
        .collect();
    let mut out = Vec::with_capacity(8 + 4 * subs.len());
    out.push(u8::try_from(number(parts.get(1).copied().unwrap_or("1"))).unwrap_or(1));
    out.push(u8::try_from(subs.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(&number(parts.get(2).copied().unwrap_or("0")).to_be_bytes()[2..]);
    for sub in subs {
        out.extend_from_slice(&sub.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldif_folds_at_78_and_encodes_what_ldif_cannot_hold_plainly() {
        let mut out = Vec::new();
        let mut s = String::new();
        ldif_text(&mut out, &mut s, "displayName", "Zoë Smith").unwrap();
        ldif_text(&mut out, &mut s, "sn", " leading").unwrap();
        ldif_text(&mut out, &mut s, "proxyAddresses", &"x".repeat(200)).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            format!("displayName:: {}", BASE64.encode("Zoë Smith"))
        );
        assert!(lines[1].starts_with("sn:: "));
        assert_eq!(lines[2].len(), 78);
        assert!(lines[3].starts_with(' ') && lines[3].len() == 78);
        let unfolded: String = lines[2..]
            .iter()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect();
        assert_eq!(unfolded, format!("proxyAddresses: {}", "x".repeat(200)));
    }

    #[test]
    fn csv_quotes_every_field_and_doubles_quotes() {
        let mut out = Vec::new();
        csv_field(&mut out, Some("Zoë \"Zo\" Smith, X")).unwrap();
        csv_field(&mut out, None).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"Zoë \"\"Zo\"\" Smith, X\"\"\""
        );
    }

    #[test]
    fn values_are_converted_as_windows_writes_them() {
        assert_eq!(
            rdn_value("CN=Smith\\, John (js1),OU=Users,DC=corp,DC=local"),
            "Smith, John (js1)"
        );
        assert_eq!(rdn_value("OU=Seattle,DC=corp,DC=local"), "Seattle");
        assert_eq!(dc_suffix("CN=x,OU=y,DC=corp,DC=local"), "DC=corp,DC=local");
        assert_eq!(
            sid_bytes("S-1-5-21-1-2-3-1105"),
            [
                1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0x51, 4,
                0, 0
            ]
        );
        let mut guid = [0u8; 16];
        guid[0] = 0x33;
        guid[15] = 0xff;
        assert_eq!(guid_text(&guid), "00000033-0000-0000-0000-0000000000ff");
    }
}
