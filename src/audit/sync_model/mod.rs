//! The sync model: which engine syncs each domain, which attribute is the source anchor, which
//! attribute becomes the cloud userPrincipalName, and which OUs are in scope. Each part carries
//! where it came from (a flag, the `--sync-config` file, inferred from the tenant's own data with
//! the evidence, or the documented default), so the report can show what the prediction assumed.
//!
//! Applying the model to the imported objects is the step between import and tables: objects
//! that never sync are set aside with their reason ([`scope`]), and each remaining object gets
//! the source anchor its engine will use. It must not read files (the command layer hands it
//! the settings), judge matches (the rules do), or let an out-of-scope object reach the tables.
//!
//! Documented behaviour followed:
//! - source anchor: <https://learn.microsoft.com/entra/identity/hybrid/connect/plan-connect-design-concepts>
//!   (`ConsistencyGuid` mode uses mS-DS-ConsistencyGuid for users and objectGUID for other types;
//!   objectGUID mode was the default up to 1.1.486 and stays after a `DirSync` upgrade);
//! - Cloud Sync: mS-DS-ConsistencyGuid when present, else objectGUID, not configurable
//!   (<https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/plan-cloud-sync-topologies>);
//! - alternate login ID (another attribute as the cloud UPN):
//!   <https://learn.microsoft.com/entra/identity/hybrid/connect/plan-connect-userprincipalname>;
//! - a custom source anchor attribute (a custom install's "A specific attribute"): "If the
//!   selected sourceAnchor isn't of type string, then Microsoft Entra Connect `Base64Encode` the
//!   attribute value", and "The sourceAnchor attribute is case-sensitive"
//!   (<https://learn.microsoft.com/entra/identity/hybrid/connect/plan-connect-design-concepts>).
//!   A string attribute's value is the immutableId as it is; one named `NAME;binary` is base64 of
//!   its bytes. Not documented, and chosen here: the custom attribute anchors users only (the
//!   page speaks of users; groups and contacts keep objectGUID, as in `ConsistencyGuid` mode); an
//!   integer attribute's encoding (which bytes are base64-encoded) is not documented, so such an
//!   anchor is not predicted; what the engine does with a user that has no value is not
//!   documented either: the user stays in the audit (its UPN and addresses still collide) with no
//!   anchor, and `source-anchor-missing` reports it.

pub(crate) mod scope;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use compact_str::CompactString;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::inputs::onprem::{
    AnchorAttribute, AttributeName, ExtraAttribute, ExtraValue, ObjectClass, OnPremObject,
    base64_text, first_unescaped_comma,
};
use crate::inputs::snapshot::{CloudSnapshot, ObjectRef};
use crate::text::{lowercase_hash, same_lowercase};

pub(crate) use scope::{OuFilter, ScopeReport};

/// Which engine the admin says runs (`--sync-engine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineSetting {
    #[default]
    Auto,
    Connect,
    CloudSync,
}

/// The source anchor attribute the admin says Entra Connect uses (`--source-anchor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AnchorSetting {
    #[default]
    Auto,
    ConsistencyGuid,
    ObjectGuid,
    /// Another attribute (a custom install), `NAME` (string) or `NAME;binary`.
    Custom(ExtraAttribute),
}

/// The attribute that becomes the cloud UPN (`--upn-source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpnSetting {
    #[default]
    Auto,
    UserPrincipalName,
    Mail,
    /// Another attribute (alternate login ID).
    Custom(AttributeName),
}

impl FromStr for EngineSetting {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "connect" => Ok(Self::Connect),
            "cloud-sync" => Ok(Self::CloudSync),
            _ => Err(format!(
                "unknown sync engine '{s}': expected auto, connect or cloud-sync"
            )),
        }
    }
}

impl FromStr for AnchorSetting {
    type Err = String;
    /// Case-insensitive, as LDAP attribute names are.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "ms-ds-consistencyguid" | "msds-consistencyguid" => Ok(Self::ConsistencyGuid),
            "objectguid" => Ok(Self::ObjectGuid),
            // `NAME;binary` (RFC 4522's transfer option) for a binary attribute, whose value
            // Entra Connect base64-encodes; a string attribute is used as it is.
            _ => ExtraAttribute::parse(s)
                .map(Self::Custom)
                .map_err(|e| format!("source anchor '{s}': {e}")),
        }
    }
}

impl FromStr for UpnSetting {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "userprincipalname" => Ok(Self::UserPrincipalName),
            "mail" => Ok(Self::Mail),
            _ => AttributeName::parse(s)
                .map(Self::Custom)
                .map_err(|e| format!("UPN source '{s}': {e}")),
        }
    }
}

impl<'de> Deserialize<'de> for AnchorSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for UpnSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// What the admin configured, from flags or a file (`--sync-config`, or a tenant's `[sync]` in
/// tenants.toml). `None` means "not said here".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SyncSettings {
    pub sync_engine: Option<EngineSetting>,
    pub source_anchor: Option<AnchorSetting>,
    pub upn_source: Option<UpnSetting>,
    #[serde(default)]
    pub scope_ou: Vec<String>,
    #[serde(default)]
    pub exclude_ou: Vec<String>,
}

impl SyncSettings {
    /// Reads a `--sync-config` TOML file (the same keys as the flags).
    pub fn load(path: &std::path::Path) -> anyhow::Result<SyncSettings> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read sync config {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("sync config {}: {e}", path.display()))
    }
}

/// Where a part of the model came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Flag,
    File,
    Inferred,
    Default,
}

/// One part of the model: its value, its source, and the evidence behind an inference.
#[derive(Debug, Clone, Serialize)]
pub struct Part<T> {
    pub value: T,
    pub source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// The engine that syncs a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    Connect,
    CloudSync,
}

/// Entra Connect's source anchor mode (Cloud Sync has no choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorMode {
    /// Users: mS-DS-ConsistencyGuid when set, else objectGUID; other types: objectGUID.
    ConsistencyGuid,
    ObjectGuid,
    /// Users: this attribute (a custom install); other types: objectGUID.
    Custom(ExtraAttribute),
}

impl AnchorMode {
    /// As the setting spells it: `mS-DS-ConsistencyGuid`, `objectGUID`, `NAME` or `NAME;binary`.
    pub fn name(&self) -> String {
        match self {
            AnchorMode::ConsistencyGuid => "mS-DS-ConsistencyGuid".to_owned(),
            AnchorMode::ObjectGuid => "objectGUID".to_owned(),
            AnchorMode::Custom(a) if a.binary => format!("{};binary", a.name),
            AnchorMode::Custom(a) => a.name.to_string(),
        }
    }
}

impl Serialize for AnchorMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// The sync model's choices the on-prem tables show: the attribute sync writes to the cloud UPN,
/// and the custom source anchor attribute (an object records only that its anchor is the custom
/// one). Without an on-prem export, the defaults: userPrincipalName and no custom anchor.
#[derive(Debug, Clone, Copy)]
pub struct SyncChoices {
    pub upn_source: UpnSource,
    pub custom_anchor: Option<AttributeName>,
}

impl Default for SyncChoices {
    fn default() -> Self {
        SyncChoices {
            upn_source: UpnSource::UserPrincipalName,
            custom_anchor: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpnSource {
    UserPrincipalName,
    Mail,
    /// Another attribute (alternate login ID), carried by the import for this.
    Custom(AttributeName),
}

impl Serialize for UpnSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.attribute())
    }
}

impl UpnSource {
    /// The value of this attribute on `object`: what sync writes to the cloud UPN. A custom
    /// attribute's first text value (it is single-valued in any sane configuration).
    pub fn value<'o>(&self, object: &'o OnPremObject) -> Option<&'o str> {
        match self {
            UpnSource::UserPrincipalName => object.user_principal_name.as_deref(),
            UpnSource::Mail => object.mail.as_deref(),
            UpnSource::Custom(name) => object.extra(*name).iter().find_map(|v| match v {
                ExtraValue::Text(text) => Some(text.as_str()),
                ExtraValue::Bytes(_) | ExtraValue::Integer(_) => None,
            }),
        }
    }

    pub fn attribute(&self) -> &str {
        match self {
            UpnSource::UserPrincipalName => "userPrincipalName",
            UpnSource::Mail => "mail",
            UpnSource::Custom(name) => name.as_str(),
        }
    }
}

/// The model the audit predicts with (findings.json `inputs.sync_model`).
#[derive(Debug, Clone, Serialize)]
pub struct SyncModel {
    /// The engine of domains no Cloud Sync configuration names.
    pub engine: Part<Engine>,
    /// Domains a Cloud Sync configuration syncs (Cloud Sync's anchor rule applies there).
    pub cloud_sync_domains: BTreeSet<String>,
    /// Cloud Sync domains whose provisioning job includes only some OUs (the job schema's
    /// container filter, read from Graph): only objects below them sync.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cloud_sync_scope: BTreeMap<String, Vec<String>>,
    /// Cloud Sync domains whose job schema could not be read: their scope is taken as the whole
    /// domain, and this says so.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cloud_sync_scope_unknown: BTreeMap<String, String>,
    /// Cloud Sync domains whose job narrows its scope further in ways the audit does not
    /// evaluate (a group filter, attribute scoping filters): the objects of these domains are
    /// taken as in scope, and this says that some of them may not sync at all.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cloud_sync_scope_not_evaluated: BTreeMap<String, Vec<String>>,
    pub source_anchor: Part<AnchorMode>,
    pub upn_source: Part<UpnSource>,
    pub scope_ous: Part<Vec<String>>,
    pub exclude_ous: Part<Vec<String>>,
}

impl SyncModel {
    fn engine_of(&self, object: &OnPremObject) -> Engine {
        let in_cloud_sync = !self.cloud_sync_domains.is_empty()
            && object
                .distinguished_name
                .domain()
                .is_some_and(|d| self.cloud_sync_domains.contains(d));
        if in_cloud_sync {
            Engine::CloudSync
        } else {
            self.engine.value
        }
    }

    /// What the on-prem tables show of the model's choices ([`SyncChoices`]).
    pub fn choices(&self) -> SyncChoices {
        SyncChoices {
            upn_source: self.upn_source.value,
            custom_anchor: self.custom_anchor(),
        }
    }

    /// The custom source anchor attribute the settings name, if they name one: the name of
    /// every object's [`AnchorAttribute::Custom`].
    pub fn custom_anchor(&self) -> Option<AttributeName> {
        match self.source_anchor.value {
            AnchorMode::Custom(custom) => Some(custom.name),
            AnchorMode::ConsistencyGuid | AnchorMode::ObjectGuid => None,
        }
    }

    /// The anchor attribute the engine uses for this object.
    pub fn anchor_attribute(&self, object: &OnPremObject) -> AnchorAttribute {
        let consistency = if object.consistency_guid.is_some() {
            AnchorAttribute::ConsistencyGuid
        } else {
            AnchorAttribute::ObjectGuid
        };
        match (self.engine_of(object), self.source_anchor.value) {
            (Engine::CloudSync, _) => consistency,
            (Engine::Connect, AnchorMode::ObjectGuid) => AnchorAttribute::ObjectGuid,
            (Engine::Connect, AnchorMode::ConsistencyGuid) => match object.class {
                ObjectClass::User => consistency,
                ObjectClass::Contact | ObjectClass::Group => AnchorAttribute::ObjectGuid,
            },
            (Engine::Connect, AnchorMode::Custom(_)) => match object.class {
                ObjectClass::User => AnchorAttribute::Custom,
                ObjectClass::Contact | ObjectClass::Group => AnchorAttribute::ObjectGuid,
            },
        }
    }

    /// Sets each object's source anchor to what its engine will write to onPremisesImmutableId,
    /// or, for a custom anchor it cannot predict, leaves it empty with the reason.
    fn anchor(&self, object: &mut OnPremObject) {
        let attribute = self.anchor_attribute(object);
        object.anchor_problem = None;
        // A GUID's base64 is held inline (`base64_text`): no string is made.
        object.anchor_attribute = match (attribute, &object.consistency_guid, self.custom_anchor())
        {
            (AnchorAttribute::ConsistencyGuid, Some(bytes), _) => {
                object.source_anchor = base64_text(bytes);
                AnchorAttribute::ConsistencyGuid
            }
            (AnchorAttribute::Custom, _, Some(name)) => {
                match custom_anchor(object.extra(name), name) {
                    Ok(anchor) => object.source_anchor = anchor,
                    Err(problem) => {
                        object.anchor_problem = Some(problem.into_boxed_str());
                        object.source_anchor.clear();
                    }
                }
                attribute
            }
            _ => {
                object.source_anchor = base64_text(&object.object_guid);
                AnchorAttribute::ObjectGuid
            }
        };
    }

    /// One line per part, for the terminal summary.
    pub fn summary_lines(&self) -> Vec<String> {
        fn line<T: fmt::Debug>(name: &str, value: &str, part: &Part<T>) -> String {
            let source = match part.source {
                Source::Flag => "flag",
                Source::File => "sync config",
                Source::Inferred => "inferred",
                Source::Default => "default",
            };
            match &part.evidence {
                Some(evidence) => format!("{name}: {value} ({source}: {evidence})"),
                None => format!("{name}: {value} ({source})"),
            }
        }
        let engine = match self.engine.value {
            Engine::Connect => "Entra Connect",
            Engine::CloudSync => "Cloud Sync",
        };
        let mut lines = vec![line("sync engine", engine, &self.engine)];
        if !self.cloud_sync_domains.is_empty() {
            lines.push(format!(
                "cloud sync domains: {}",
                self.cloud_sync_domains
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for (domain, ous) in &self.cloud_sync_scope {
            lines.push(format!(
                "cloud sync scope of {domain}: {} (from the job's schema in Graph)",
                ous.join("; ")
            ));
        }
        for (domain, why) in &self.cloud_sync_scope_unknown {
            lines.push(format!(
                "cloud sync scope of {domain}: unknown, taken as the whole domain ({why})"
            ));
        }
        for (domain, filters) in &self.cloud_sync_scope_not_evaluated {
            lines.push(format!(
                "cloud sync scope of {domain}: also narrowed by {}, not evaluated: objects outside \
                 it do not sync, so findings about them may never happen; check them against \
                 the job's scoping before acting",
                filters.join(" and ")
            ));
        }
        let anchor = match self.source_anchor.value {
            AnchorMode::ConsistencyGuid => {
                "mS-DS-ConsistencyGuid (users), objectGUID (others)".to_owned()
            }
            AnchorMode::ObjectGuid => "objectGUID".to_owned(),
            AnchorMode::Custom(custom) => format!(
                "{} (users, {}), objectGUID (others)",
                custom.name,
                if custom.binary {
                    "binary: base64 of its bytes"
                } else {
                    "string: its value as it is"
                }
            ),
        };
        lines.push(line("source anchor", &anchor, &self.source_anchor));
        lines.push(line(
            "cloud UPN from",
            self.upn_source.value.attribute(),
            &self.upn_source,
        ));
        let ous = |v: &[String]| {
            if v.is_empty() {
                "(whole export)".to_owned()
            } else {
                v.join("; ")
            }
        };
        lines.push(line(
            "scope OUs",
            &ous(&self.scope_ous.value),
            &self.scope_ous,
        ));
        if !self.exclude_ous.value.is_empty() {
            lines.push(line(
                "excluded OUs",
                &ous(&self.exclude_ous.value),
                &self.exclude_ous,
            ));
        }
        lines
    }
}

/// Settings from the command line and from a file; the command line wins part by part.
#[derive(Debug, Clone, Default)]
pub struct SyncConfig {
    pub flags: SyncSettings,
    pub file: SyncSettings,
}

impl SyncConfig {
    /// The attributes the import must carry for these settings: a custom source anchor or UPN
    /// attribute (the one that wins, flag over file), so the sync model can read it.
    pub fn extra_attributes(&self) -> Vec<ExtraAttribute> {
        let mut out = Vec::new();
        if let Some((AnchorSetting::Custom(custom), _)) = configured(
            self.flags.source_anchor,
            self.file.source_anchor,
            AnchorSetting::Auto,
        ) {
            out.push(custom);
        }
        if let Some((UpnSetting::Custom(name), _)) = configured(
            self.flags.upn_source,
            self.file.upn_source,
            UpnSetting::Auto,
        ) && !out.iter().any(|a| a.name == name)
        {
            out.push(ExtraAttribute {
                name,
                binary: false,
            });
        }
        out
    }
}

/// A custom anchor attribute's immutableId: a string value as it is, a binary one base64 of its
/// bytes (plan-connect-design-concepts); or why it cannot be predicted.
fn custom_anchor(values: &[ExtraValue], name: AttributeName) -> Result<CompactString, String> {
    match values {
        [] => Err(format!(
            "has no {name}, the source anchor attribute the sync settings name: Microsoft does not document what Entra Connect does with such an object (it cannot be hard-matched, and it may not be exported at all)"
        )),
        [ExtraValue::Text(text)] => Ok(text.as_str().into()),
        [ExtraValue::Bytes(bytes)] => Ok(base64_text(bytes)),
        [ExtraValue::Integer(n)] => Err(format!(
            "has the integer {n} in {name}: Entra Connect base64-encodes a non-string source anchor, but which bytes of an integer it encodes is not documented, so the anchor is not predicted"
        )),
        [..] => Err(format!(
            "has {} values in {name}: a source anchor must be single-valued",
            values.len()
        )),
    }
}

/// Picks a configured value: flag first, then file.
fn configured<T: Copy + PartialEq>(
    flag: Option<T>,
    file: Option<T>,
    auto: T,
) -> Option<(T, Source)> {
    match (flag, file) {
        (Some(v), _) if v != auto => Some((v, Source::Flag)),
        (_, Some(v)) if v != auto => Some((v, Source::File)),
        _ => None,
    }
}

/// Builds the model: configured parts as given, `auto` parts inferred from the tenant where the
/// data is enough, else the documented default, saying which.
pub fn build(
    config: &SyncConfig,
    onprem: &[OnPremObject],
    cloud: Option<&CloudSnapshot>,
) -> SyncModel {
    let links = cloud.map(|c| Links::new(onprem, c));

    let cloud_sync_domains: BTreeSet<String> = cloud.map(cloud_sync_domains).unwrap_or_default();
    let CloudSyncScopes {
        scoped: cloud_sync_scope,
        unknown: cloud_sync_scope_unknown,
        not_evaluated: cloud_sync_scope_not_evaluated,
    } = cloud.map(cloud_sync_scopes).unwrap_or_default();
    let engine = match configured(
        config.flags.sync_engine,
        config.file.sync_engine,
        EngineSetting::Auto,
    ) {
        Some((EngineSetting::CloudSync, source)) => part(Engine::CloudSync, source, None),
        Some((_, source)) => part(Engine::Connect, source, None),
        None => match cloud {
            Some(c)
                if c.state(crate::inputs::snapshot::Collection::SynchronizationJobs)
                    .is_loaded() =>
            {
                let evidence = if cloud_sync_domains.is_empty() {
                    "no Cloud Sync provisioning job in the tenant".to_owned()
                } else {
                    format!(
                        "Cloud Sync provisioning jobs for {}; other domains are taken as Entra Connect",
                        cloud_sync_domains
                            .iter()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                part(Engine::Connect, Source::Inferred, Some(evidence))
            }
            _ => part(
                Engine::Connect,
                Source::Default,
                Some("Cloud Sync jobs were not collected".to_owned()),
            ),
        },
    };

    let source_anchor = match configured(
        config.flags.source_anchor,
        config.file.source_anchor,
        AnchorSetting::Auto,
    ) {
        Some((AnchorSetting::ObjectGuid, source)) => part(AnchorMode::ObjectGuid, source, None),
        Some((AnchorSetting::Custom(custom), source)) => {
            part(AnchorMode::Custom(custom), source, None)
        }
        Some((_, source)) => part(AnchorMode::ConsistencyGuid, source, None),
        None => infer_anchor(links.as_ref()),
    };

    let upn_source = match configured(
        config.flags.upn_source,
        config.file.upn_source,
        UpnSetting::Auto,
    ) {
        Some((UpnSetting::Mail, source)) => part(UpnSource::Mail, source, None),
        Some((UpnSetting::Custom(name), source)) => part(UpnSource::Custom(name), source, None),
        Some((_, source)) => part(UpnSource::UserPrincipalName, source, None),
        None => infer_upn_source(links.as_ref()),
    };

    let ous = |flag: &[String], file: &[String]| -> Part<Vec<String>> {
        if !flag.is_empty() {
            part(flag.to_vec(), Source::Flag, None)
        } else if !file.is_empty() {
            part(file.to_vec(), Source::File, None)
        } else {
            part(Vec::new(), Source::Default, None)
        }
    };
    let mut scope_ous = ous(&config.flags.scope_ou, &config.file.scope_ou);
    if scope_ous.source == Source::Default {
        scope_ous.evidence = links.as_ref().and_then(Links::ou_evidence);
    }
    let exclude_ous = ous(&config.flags.exclude_ou, &config.file.exclude_ou);

    SyncModel {
        engine,
        cloud_sync_domains,
        cloud_sync_scope,
        cloud_sync_scope_unknown,
        cloud_sync_scope_not_evaluated,
        source_anchor,
        upn_source,
        scope_ous,
        exclude_ous,
    }
}

fn part<T>(value: T, source: Source, evidence: Option<String>) -> Part<T> {
    Part {
        value,
        source,
        evidence,
    }
}

/// Applies the model: the objects that sync, each with its engine's source anchor, and what was
/// left out.
pub(crate) fn apply(
    model: &SyncModel,
    mut objects: Vec<OnPremObject>,
) -> (Vec<OnPremObject>, ScopeReport) {
    let ous = OuFilter {
        include: model.scope_ous.value.clone(),
        exclude: model.exclude_ous.value.clone(),
        cloud_sync: model.cloud_sync_scope.clone(),
    };
    // Every object is anchored, the out-of-scope ones too: a cloud object anchored to one of
    // them has a source (out of scope), and must not be taken for an orphan.
    objects
        .par_iter_mut()
        .for_each(|object| model.anchor(object));
    scope::apply(objects, &ous)
}

/// Domains named by Cloud Sync provisioning jobs (`AD2AADProvisioning`; the password hash job
/// does not provision objects).
fn cloud_sync_domains(cloud: &CloudSnapshot) -> BTreeSet<String> {
    cloud
        .sync_jobs
        .iter()
        .filter(|j| {
            j.template_id
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("AD2AADProvisioning"))
        })
        .filter_map(|j| {
            j.setting("DomainFQDN")
                .or(j.service_principal_display_name.as_deref())
        })
        .map(|d| d.trim().to_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

/// What the Cloud Sync provisioning jobs' schemas say about scope, per domain.
#[derive(Default)]
struct CloudSyncScopes {
    /// The OUs the job includes, when it includes only some.
    scoped: BTreeMap<String, Vec<String>>,
    /// Domains whose schema could not be read, with why.
    unknown: BTreeMap<String, String>,
    /// Group and attribute scoping the audit does not evaluate.
    not_evaluated: BTreeMap<String, Vec<String>>,
}

fn cloud_sync_scopes(cloud: &CloudSnapshot) -> CloudSyncScopes {
    let mut scoped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut unknown = BTreeMap::new();
    let mut not_evaluated: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for job in cloud.sync_jobs.iter().filter(|j| {
        j.template_id
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("AD2AADProvisioning"))
    }) {
        let Some(domain) = job
            .setting("DomainFQDN")
            .or(job.service_principal_display_name.as_deref())
            .map(|d| d.trim().to_lowercase())
        else {
            continue;
        };
        if let Some(filters) = job.scope_not_evaluated.as_ref().filter(|f| !f.is_empty()) {
            not_evaluated
                .entry(domain.clone())
                .or_default()
                .extend(filters.iter().cloned());
        }
        match (&job.included_containers, &job.scope_unavailable) {
            (Some(containers), _) if !containers.is_empty() => {
                scoped
                    .entry(domain)
                    .or_default()
                    .extend(containers.iter().cloned());
            }
            (None, Some(why)) => {
                unknown.insert(domain, why.clone());
            }
            _ => {}
        }
    }
    CloudSyncScopes {
        scoped,
        unknown,
        not_evaluated,
    }
}

/// The synced users by objectSid, compared without regard to ASCII case; a SID two users carry
/// gives the last of them (what a map filled in their order gives). The SIDs are hashed on every
/// core before they go into the table, which compares texts only where hashes meet: a map hashing
/// a million SID texts as it was filled, one user at a time, took 0.18 s (docs/performance.md).
struct SidIndex<'s, 'a> {
    /// Each SID's hash, the SID and its (last) user's place in `users` (an index, not the
    /// 32-byte reference: the entries stay 32 bytes).
    table: hashbrown::HashTable<(u64, &'a str, usize)>,
    users: &'s [ObjectRef<'a>],
    state: foldhash::fast::RandomState,
}

impl<'s, 'a> SidIndex<'s, 'a> {
    fn new(users: &'s [ObjectRef<'a>]) -> Self {
        let state = foldhash::fast::RandomState::default();
        // `lowercase_hash` gives two texts that differ only in ASCII case one hash, which is all
        // an ASCII-case-blind comparison needs of it.
        // One entry a user, `None` without a SID: collected from a map, the vector is written
        // in place on every core (from a filter, each core's share grew by doubling and was
        // then copied into it).
        let keyed: Vec<Option<(u64, &'a str)>> = users
            .par_iter()
            .map(|user| {
                let sid = user.on_premises_security_identifier()?;
                Some((lowercase_hash(&state, &[sid]), sid))
            })
            .collect();
        let mut table =
            hashbrown::HashTable::with_capacity(keyed.iter().filter(|k| k.is_some()).count());
        for (user, (hash, sid)) in keyed
            .into_iter()
            .enumerate()
            .filter_map(|(user, key)| Some((user, key?)))
        {
            let same = |&(h, other, _): &(u64, &str, _)| h == hash && same_sid(other, sid);
            match table.entry(hash, same, |&(h, _, _)| h) {
                hashbrown::hash_table::Entry::Occupied(mut kept) => kept.get_mut().2 = user,
                hashbrown::hash_table::Entry::Vacant(new) => {
                    new.insert((hash, sid, user));
                }
            }
        }
        SidIndex {
            table,
            users,
            state,
        }
    }

    fn get(&self, sid: &str) -> Option<ObjectRef<'a>> {
        let hash = lowercase_hash(&self.state, &[sid]);
        self.table
            .find(hash, |&(h, other, _)| h == hash && same_sid(other, sid))
            .map(|&(_, _, index)| self.users[index])
    }
}

/// SIDs are compared without regard to ASCII case (`s-1-5-...` is the SID `S-1-5-...`).
fn same_sid(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Values under a key of `N` text parts compared without regard to case (as
/// [`crate::text::lowercase`] gives them: AD compares DNs and names that way), without a
/// lower-case copy of each key: a million DNs, nearly all with upper-case letters (`CN=`,
/// `OU=`), were a million copies. Inserting a key that is there already replaces its value, as
/// a map's insert does.
struct LowercaseIndex<'a, const N: usize, V> {
    table: hashbrown::HashTable<(u64, [&'a str; N], V)>,
    state: foldhash::fast::RandomState,
}

impl<'a, const N: usize, V> LowercaseIndex<'a, N, V> {
    fn new(state: foldhash::fast::RandomState) -> Self {
        LowercaseIndex {
            table: hashbrown::HashTable::new(),
            state,
        }
    }

    /// The value under `key`, made with `make` when the key is new.
    fn entry(&mut self, key: [&'a str; N], make: impl FnOnce() -> V) -> &mut V {
        let hash = lowercase_hash(&self.state, &key);
        let entry = self
            .table
            .entry(
                hash,
                |(h, k, _)| *h == hash && same_key(k, &key),
                |(h, _, _)| *h,
            )
            .or_insert_with(|| (hash, key, make()));
        &mut entry.into_mut().2
    }

    fn get(&self, key: [&str; N]) -> Option<&V> {
        let hash = lowercase_hash(&self.state, &key);
        self.table
            .find(hash, |(h, k, _)| *h == hash && same_key(k, &key))
            .map(|(_, _, value)| value)
    }

    fn len(&self) -> usize {
        self.table.len()
    }
}

fn same_key<const N: usize>(a: &[&str; N], b: &[&str; N]) -> bool {
    a.iter().zip(b).all(|(a, b)| same_lowercase(a, b))
}

/// Links the exported users SID did not link (`None` in `linked`) to the synced user whose
/// `cloud_key` equals their `onprem_key` without regard to case, the last such user when there
/// are several (what a map of the synced users by that key, looked up for each of them, gave).
/// The unlinked users' keys are indexed and every synced user is looked up there, on every
/// core (hashing a million keys is the work): a million-key map of the synced users for each
/// key took longer.
fn link_unlinked<'a, const N: usize>(
    linked: &mut [Option<ObjectRef<'a>>],
    exported_users: &[&'a OnPremObject],
    synced: &[ObjectRef<'a>],
    onprem_key: impl Fn(&'a OnPremObject) -> Option<[&'a str; N]>,
    cloud_key: impl Fn(ObjectRef<'a>) -> Option<[&'a str; N]> + Sync,
) {
    // Each key: where its unlinked users are listed in `waiting`.
    let mut slots: LowercaseIndex<'a, N, usize> =
        LowercaseIndex::new(foldhash::fast::RandomState::default());
    let mut waiting: Vec<Vec<usize>> = Vec::new();
    for (index, user) in exported_users.iter().enumerate() {
        if linked[index].is_some() {
            continue;
        }
        if let Some(key) = onprem_key(user) {
            let slot = *slots.entry(key, || {
                waiting.push(Vec::new());
                waiting.len() - 1
            });
            waiting[slot].push(index);
        }
    }
    if waiting.is_empty() {
        return;
    }
    // In the synced users' order, so that the last user of a key is linked last.
    let found: Vec<(usize, ObjectRef<'a>)> = synced
        .par_iter()
        .filter_map(|&user| Some((*slots.get(cloud_key(user)?)?, user)))
        .collect();
    let mut last: Vec<Option<ObjectRef<'a>>> = vec![None; waiting.len()];
    for (slot, user) in found {
        last[slot] = Some(user);
    }
    for (indices, user) in waiting.into_iter().zip(last) {
        if let Some(user) = user {
            for index in indices {
                linked[index] = Some(user);
            }
        }
    }
}

/// On-prem users paired with the synced cloud user that carries their objectSid, their DN, or
/// their sAMAccountName in their domain (`onPremisesSamAccountName` + `onPremisesDomainName`, for
/// exports without SIDs whose DNs moved): the tenant's own record of which on-prem object each
/// synced user came from, independent of the anchor (which is what is being inferred).
struct Links<'a> {
    pairs: Vec<(&'a OnPremObject, ObjectRef<'a>)>,
    exported_users: Vec<&'a OnPremObject>,
}

impl<'a> Links<'a> {
    fn new(onprem: &'a [OnPremObject], cloud: &'a CloudSnapshot) -> Self {
        // Room for every user made once (at most a few megabytes more than needed): collected
        // from a filter, each vector grew by doubling, every step a copy into fresh pages
        // (tens of megabytes at a million users; docs/performance.md).
        let mut synced: Vec<ObjectRef<'a>> = Vec::with_capacity(cloud.users.len());
        synced.extend(
            cloud
                .users
                .iter()
                .filter(|u| u.on_premises_sync_enabled() == Some(true)),
        );
        let by_sid = SidIndex::new(&synced);
        let mut exported_users: Vec<&OnPremObject> = Vec::with_capacity(onprem.len());
        exported_users.extend(onprem.iter().filter(|o| o.class == ObjectClass::User));
        // By objectSid; then, for the users that leaves unlinked, by DN, and then by
        // sAMAccountName in the DN's domain (unique within a domain only: the key is both).
        let mut linked: Vec<Option<ObjectRef<'a>>> = exported_users
            .par_iter()
            .map(|o| by_sid.get(o.object_sid.as_deref()?))
            .collect();
        link_unlinked(
            &mut linked,
            &exported_users,
            &synced,
            |o| Some([o.distinguished_name.as_str()]),
            |u| Some([u.on_premises_distinguished_name()?]),
        );
        link_unlinked(
            &mut linked,
            &exported_users,
            &synced,
            |o| {
                Some([
                    o.sam_account_name.as_deref()?,
                    o.distinguished_name.domain()?,
                ])
            },
            |u| {
                let sam = u.on_premises_sam_account_name()?;
                Some([sam, u.on_premises_domain_name()?.trim()])
            },
        );
        let mut pairs = Vec::with_capacity(exported_users.len());
        pairs.extend(
            exported_users
                .iter()
                .zip(linked)
                .filter_map(|(o, c)| Some((*o, c?))),
        );
        Links {
            pairs,
            exported_users,
        }
    }

    /// Where the linked users sit, and how many exported users sit elsewhere: evidence an admin
    /// can turn into `--scope-ou`. Not applied on its own: a new OU of new hires would look the
    /// same, and leaving it out would hide every finding there.
    fn ou_evidence(&self) -> Option<String> {
        if self.pairs.is_empty() {
            return None;
        }
        // A few containers for a million users, nearly always spelled alike: each core counts
        // the spellings of its share as they are (a hash of the text), the shares are merged,
        // and only the few spellings are compared without regard to case.
        let linked = parent_spellings(self.pairs.par_iter().map(|(o, _)| *o));
        let exported = parent_spellings(self.exported_users.par_iter().copied());
        let mut parents = LowercaseIndex::new(foldhash::fast::RandomState::default());
        for parent in linked.keys() {
            parents.entry([*parent], || ());
        }
        let outside: usize = exported
            .iter()
            .filter(|(parent, _)| parents.get([**parent]).is_none())
            .map(|(_, users)| users)
            .sum();
        Some(format!(
            "synced users sit in {} container(s); {} exported user(s) sit in other containers \
             (not applied: give --scope-ou when the engine filters by OU)",
            parents.len(),
            outside
        ))
    }
}

/// How many of `objects` sit in each container, by the container's DN as spelled.
fn parent_spellings<'a>(
    objects: impl ParallelIterator<Item = &'a OnPremObject>,
) -> foldhash::HashMap<&'a str, usize> {
    objects
        .fold(foldhash::HashMap::default, |mut counts, o| {
            *counts
                .entry(parent_container(&o.distinguished_name))
                .or_default() += 1;
            counts
        })
        .reduce(foldhash::HashMap::default, |mut all, share| {
            for (parent, users) in share {
                *all.entry(parent).or_default() += users;
            }
            all
        })
}

/// The DN of the container holding `dn` (everything after the first unescaped comma).
fn parent_container(dn: &str) -> &str {
    first_unescaped_comma(dn).map_or("", |at| &dn[at + 1..])
}

/// objectGUID mode or `ConsistencyGuid` mode, from linked users whose two candidate anchors differ
/// (a user whose mS-DS-ConsistencyGuid equals its objectGUID, or is unset, says nothing).
fn infer_anchor(links: Option<&Links>) -> Part<AnchorMode> {
    const DEFAULT: &str = "ConsistencyGuid mode is Entra Connect's default since 1.1.486";
    let Some(links) = links else {
        return part(
            AnchorMode::ConsistencyGuid,
            Source::Default,
            Some(format!("no cloud snapshot to infer from; {DEFAULT}")),
        );
    };
    // Counted on every core: (carries the objectGUID, the mS-DS-ConsistencyGuid, discriminates).
    let (guid, consistency, discriminating) = links
        .pairs
        .par_iter()
        .filter_map(|(o, c)| {
            // The on-prem side first: most users' mS-DS-ConsistencyGuid is their objectGUID,
            // and then the cloud user (elsewhere in memory) is not read at all.
            let cg = o.consistency_guid.as_ref()?;
            if **cg == o.object_guid[..] {
                return None;
            }
            let immutable = c.on_premises_immutable_id()?;
            Some(if base64_text(&o.object_guid) == immutable {
                (1, 0, 1)
            } else if base64_text(cg) == immutable {
                (0, 1, 1)
            } else {
                (0, 0, 1)
            })
        })
        .reduce(
            || (0usize, 0usize, 0usize),
            |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2),
        );
    let evidence = format!(
        "{} exported user(s) linked to synced cloud users by objectSid, DN or sAMAccountName and domain; of the {discriminating} \
         whose mS-DS-ConsistencyGuid differs from objectGUID, {guid} carry the objectGUID and \
         {consistency} the mS-DS-ConsistencyGuid as onPremisesImmutableId",
        links.pairs.len()
    );
    if guid > consistency {
        part(AnchorMode::ObjectGuid, Source::Inferred, Some(evidence))
    } else if consistency > 0 {
        part(
            AnchorMode::ConsistencyGuid,
            Source::Inferred,
            Some(evidence),
        )
    } else {
        part(
            AnchorMode::ConsistencyGuid,
            Source::Default,
            Some(format!("{evidence}: too little evidence; {DEFAULT}")),
        )
    }
}

/// userPrincipalName, or mail as an alternate login ID, from linked users whose cloud UPN equals
/// one of the two but not the other.
fn infer_upn_source(links: Option<&Links>) -> Part<UpnSource> {
    let Some(links) = links else {
        return part(UpnSource::UserPrincipalName, Source::Default, None);
    };
    // Counted on every core: (the userPrincipalName's only, the mail's only).
    let (upn, mail) = links
        .pairs
        .par_iter()
        .filter_map(|(o, c)| {
            // Only a user whose userPrincipalName and mail differ (ASCII case aside) can match
            // one and not the other: the others are passed without reading the cloud user.
            match (
                o.user_principal_name.as_deref().map(str::trim),
                o.mail.as_deref().map(str::trim),
            ) {
                (None, None) => return None,
                (Some(upn), Some(mail)) if upn.eq_ignore_ascii_case(mail) => return None,
                _ => {}
            }
            let cloud_upn = c.user_principal_name()?;
            let same =
                |v: Option<&str>| v.is_some_and(|v| v.trim().eq_ignore_ascii_case(cloud_upn));
            match (
                same(o.user_principal_name.as_deref()),
                same(o.mail.as_deref()),
            ) {
                (true, false) => Some((1, 0)),
                (false, true) => Some((0, 1)),
                _ => None,
            }
        })
        .reduce(|| (0usize, 0usize), |a, b| (a.0 + b.0, a.1 + b.1));
    let evidence = format!(
        "of {} linked user(s), {upn} have the cloud UPN of their userPrincipalName only and {mail} of their mail only",
        links.pairs.len()
    );
    if mail > upn {
        part(UpnSource::Mail, Source::Inferred, Some(evidence))
    } else if upn > 0 {
        part(
            UpnSource::UserPrincipalName,
            Source::Inferred,
            Some(evidence),
        )
    } else {
        part(
            UpnSource::UserPrincipalName,
            Source::Default,
            Some(format!("{evidence}: too little evidence")),
        )
    }
}

#[cfg(test)]
pub(crate) mod tests;
