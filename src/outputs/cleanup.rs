//! Cleanup exports: `OUT/cleanup/<action>.csv`, the findings regrouped by what the admin has to
//! do (remove a proxy address on-prem, hard-match a cloud user, delete a leftover...), one row per
//! object with a ready PowerShell command (and the Graph request, where Graph can do it), plus
//! `OUT/cleanup/README.txt` saying what each file does and in which order to apply them.
//!
//! This module derives actions from findings the engine produced and quotes values for
//! PowerShell; it judges nothing about the tenant, runs nothing, and never calls Graph. A finding
//! gets no row when no single command fixes it safely (sync health, provisioning errors, an
//! admin-role conflict): those stay in findings.csv for a person to decide.
//!
//! Directory values are attacker-controlled (anyone who can edit their own display name or a
//! contact's address chooses them), so every value goes into a command through [`ps_quote`], and
//! every CSV cell through `report::csv_safe`. Objects are named by GUID / object id, never by a
//! name, wherever the finding has one.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::audit::findings::{CleanupAction, Finding, RuleCleanup, Severity, evidence};
use crate::graph::url::path_segment;
use crate::outputs::report::csv_safe;

/// What the file of `action` holds and what to check before running it (README.txt).
fn description(action: CleanupAction) -> &'static str {
    match action {
        CleanupAction::ClearOnpremConsistencyGuid => {
            "On-prem objects that carry another object's source anchor in mS-DS-ConsistencyGuid \
                 (duplicate-source-anchor). The command clears it on the object the finding names, \
                 so Entra Connect stamps the object's own objectGUID. First check which of the two \
                 objects (other_holder) owns the anchor: the one whose cloud twin has it as \
                 onPremisesImmutableId keeps it."
        }
        CleanupAction::RemoveOnpremProxyAddress => {
            "SMTP addresses two objects would hold (duplicate-attribute). The command removes \
                 the address from the proxyAddresses of the on-prem object the finding names; \
                 other_holder is the object that keeps it. If that object should give the address \
                 up instead, run the command against the other holder."
        }
        CleanupAction::ClearOnpremMail => {
            "A mail value two objects would hold (duplicate-attribute). The command clears \
                 mail on the on-prem object the finding names; other_holder keeps the value."
        }
        CleanupAction::ChangeOnpremUpn => {
            "A userPrincipalName two objects would hold (duplicate-attribute). The new UPN is \
                 yours to choose: set $NewUpn first (the command refuses to run without it)."
        }
        CleanupAction::FixUpnSuffix => {
            "On-prem users whose UPN suffix is not a verified domain (upn-suffix-unverified). \
                 Either verify the suffix in the tenant (then skip this file) or set $UpnSuffix to \
                 a verified domain and run the commands (they refuse to run without it)."
        }
        CleanupAction::ResolveObjectTypeMismatch => {
            "An on-prem object would soft-match a cloud object of another type \
                 (object-type-mismatch) that no other file deletes. Nothing can be changed safely \
                 without a decision: the command shows the cloud object; then either remove the \
                 address from it (where it is managed: Exchange Online or its own forest) or \
                 change the on-prem object's address."
        }
        CleanupAction::HardMatchSetImmutableId => {
            "Cloud users that the on-prem user of the same row should take over \
                 (invalid-soft-match refused because of another immutableId, a past sync or a \
                 tenant block; soft-match-takeover, to make the join explicit). The command sets \
                 the cloud user's onPremisesImmutableId to the on-prem source anchor. Run it only \
                 when both rows are the same person, on cloud-managed users, before the next sync."
        }
        CleanupAction::ClearImmutableId => {
            "Cloud-only users that carry an onPremisesImmutableId no exported object has \
                 (stale-cloud-only). Clearing it makes them plain cloud users again, so a future \
                 on-prem account can soft-match them. If the identity is retired, delete the user \
                 instead."
        }
        CleanupAction::DeleteStaleCloudUser => {
            "Leftover cloud users of an on-prem identity (stale-cloud-only): formerly synced \
                 with no source, or blocking an on-prem object of another type. Deleted users can \
                 be restored for 30 days."
        }
        CleanupAction::DeleteStaleCloudGroup => {
            "Leftover cloud groups (stale-cloud-only). Remove-MgGroup deletes security and \
                 Microsoft 365 groups; a distribution group created in Exchange Online is removed \
                 there (Remove-DistributionGroup)."
        }
        CleanupAction::DeleteStaleCloudContact => {
            "Leftover cloud contacts (stale-cloud-only). Contacts are read-only in Microsoft \
                 Graph (https://learn.microsoft.com/graph/api/resources/orgcontact), so the \
                 command is Exchange Online PowerShell (Connect-ExchangeOnline first), finding the \
                 contact by its Entra object id (ExternalDirectoryObjectId)."
        }
        CleanupAction::DeleteOrphanedSyncedObject => {
            "Synced cloud users and groups whose on-prem source is gone \
                 (orphaned-synced-object). First make sure the source really is gone (not just \
                 outside the export). A synced object cannot be deleted in the cloud, so the \
                 command first marks it cloud-managed (onPremisesSyncBehavior, a beta API: \
                 https://learn.microsoft.com/graph/api/onpremisessyncbehavior-update?view=graph-rest-beta, \
                 which needs User- or Group-OnPremisesSyncBehavior.ReadWrite.All), then deletes it."
        }
    }
}

/// One row of a cleanup file: one finding, one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub action: CleanupAction,
    pub finding_id: String,
    pub rule: String,
    pub severity: Severity,
    pub cloud_object_id: String,
    pub cloud_object_type: String,
    pub onprem_object_guid: String,
    pub onprem_distinguished_name: String,
    pub attribute: String,
    pub value: String,
    /// The object that keeps the value (or the other side of the conflict), for the reviewer.
    pub other_holder: String,
    pub powershell: String,
    /// `METHOD /v1.0/path` and the JSON body, where Graph can do it.
    pub graph_request: String,
}

const COLUMNS: [&str; 14] = [
    "action",
    "finding_id",
    "rule",
    "severity",
    "cloud_object_id",
    "cloud_object_type",
    "onprem_object_guid",
    "onprem_distinguished_name",
    "attribute",
    "value",
    "other_holder",
    "powershell",
    "graph_request",
    "review",
];

/// What every rule declares about cleaning up its findings (front matter `cleanup` and
/// `cloud_object_blocks_onprem`), by rule name: [`plan`] dispatches on this, never on a rule's name.
pub(crate) type Declarations = BTreeMap<String, RuleCleanup>;

/// The cleanup rows of `findings`, leaving out the muted ones (a suppression accepts the risk). Each
/// finding gets the row of the first action its rule declares that applies to it (none when the
/// rule declares none). Rows come in the order of the findings; an object gets at most one
/// destructive action.
pub fn plan(findings: &[Finding], declarations: &Declarations) -> Vec<Row> {
    let undeclared = RuleCleanup::default();
    let declared = |f: &Finding| declarations.get(&f.rule).unwrap_or(&undeclared);
    let active: Vec<&Finding> = findings.iter().filter(|f| !f.is_muted()).collect();
    // A cloud user that one finding says to hard-match must not be deleted or cleared because
    // another finding (a leftover) calls it one: the two would undo each other.
    let hard_matched: HashSet<&str> = active
        .iter()
        .filter(|f| {
            declared(f)
                .actions
                .contains(&CleanupAction::HardMatchSetImmutableId)
                && hard_match_anchor(f).is_some()
        })
        .filter_map(|f| f.cloud_object_id.as_deref())
        .collect();
    // Pairs a rule reports as a cloud object blocking an on-prem one: a leftover finding names
    // such a pair when the cloud object is the blocker; any other on-prem object it names is its
    // own source, which is brought back into sync scope rather than deleted in the cloud.
    let blocking_pairs: HashSet<(&str, &str)> = active
        .iter()
        .filter(|f| declared(f).cloud_object_blocks_onprem)
        .filter_map(|f| {
            Some((
                f.cloud_object_id.as_deref()?,
                f.onprem_object_guid.as_deref()?,
            ))
        })
        .collect();
    let context = Context {
        hard_matched: &hard_matched,
        blocking_pairs: &blocking_pairs,
    };
    let mut deleted: HashSet<&str> = HashSet::new();
    let mut rows = Vec::new();
    for f in &active {
        let row = declared(f)
            .actions
            .iter()
            .find_map(|action| build(*action, f, &context));
        if let Some(row) = row {
            if is_delete(row.action) && (keep_cloud_object(f) || !deleted.insert(cloud_id(f))) {
                continue;
            }
            if row.action == CleanupAction::ClearImmutableId && needs_its_immutable_id(f) {
                continue;
            }
            rows.push(row);
        }
    }
    // A type mismatch whose cloud object is deleted as a leftover needs nothing more.
    rows.retain(|r| {
        r.action != CleanupAction::ResolveObjectTypeMismatch
            || !deleted.contains(r.cloud_object_id.as_str())
    });
    rows
}

/// What [`build`] needs to know about the other findings of the run.
struct Context<'a> {
    /// Cloud users a hard-match row joins to an on-prem user.
    hard_matched: &'a HashSet<&'a str>,
    /// (cloud object id, on-prem objectGUID) pairs in which the cloud object blocks the on-prem one.
    blocking_pairs: &'a HashSet<(&'a str, &'a str)>,
}

/// The row of `action` for `f`, when the action applies to it (each builder checks the
/// attribute, object type and evidence it needs).
fn build(action: CleanupAction, f: &Finding, context: &Context<'_>) -> Option<Row> {
    match action {
        CleanupAction::ClearOnpremConsistencyGuid => clear_consistency_guid(f),
        CleanupAction::RemoveOnpremProxyAddress => {
            if f.attribute.as_deref() == Some("proxyAddresses") {
                remove_proxy_address(f, f.value.as_deref()?)
            } else {
                None
            }
        }
        CleanupAction::ClearOnpremMail | CleanupAction::ChangeOnpremUpn => {
            duplicate_value(action, f)
        }
        CleanupAction::FixUpnSuffix => fix_upn_suffix(f),
        CleanupAction::ResolveObjectTypeMismatch => type_mismatch(f),
        CleanupAction::HardMatchSetImmutableId => hard_match(f),
        CleanupAction::ClearImmutableId
        | CleanupAction::DeleteStaleCloudUser
        | CleanupAction::DeleteStaleCloudGroup
        | CleanupAction::DeleteStaleCloudContact => {
            let cloud = cloud_id(f);
            let blocks = f
                .onprem_object_guid
                .as_deref()
                .is_some_and(|g| context.blocking_pairs.contains(&(cloud, g)));
            if context.hard_matched.contains(cloud) || (f.onprem_object_guid.is_some() && !blocks) {
                None
            } else {
                leftover(action, f)
            }
        }
        CleanupAction::DeleteOrphanedSyncedObject => {
            if context.hard_matched.contains(cloud_id(f)) {
                None
            } else {
                delete_orphan(f)
            }
        }
    }
}

/// A cloud object no cleanup file may delete, whatever the finding: one that holds a directory
/// role (deleting it can lock the tenant out, and soft match refuses it anyway: the documented fix
/// for an Existing Admin Role Conflict removes the roles, not the user), or a cloud user of a
/// federated domain (it carries an immutableId by design, so "leftover" is a guess), or an object
/// converted to cloud management (`onPremisesSyncBehavior/isCloudManaged` true: its source of
/// authority is the cloud by decision, so it is no leftover of a sync). The finding stays in
/// findings.csv with a remediation that says so.
fn keep_cloud_object(f: &Finding) -> bool {
    f.evidence
        .get(evidence::CLOUD_ADMIN_ROLES)
        .is_some_and(|v| !v.is_empty())
        || needs_its_immutable_id(f)
        || evidence_true(f, evidence::CLOUD_MANAGED)
}

/// A cloud user of a federated domain signs in through its immutableId ("onPremisesImmutableId
/// ... must be specified ... if you're using a federated domain for the user's
/// userPrincipalName", <https://learn.microsoft.com/graph/api/resources/user>): clearing it
/// breaks the user's sign-in, so no cleanup file clears it (or deletes the user).
fn needs_its_immutable_id(f: &Finding) -> bool {
    evidence_true(f, evidence::CLOUD_DOMAIN_FEDERATED)
}

/// Whether the finding's evidence `key` is `true`.
fn evidence_true(f: &Finding, key: &str) -> bool {
    f.evidence.get(key).is_some_and(|v| v == "true")
}

fn is_delete(action: CleanupAction) -> bool {
    matches!(
        action,
        CleanupAction::DeleteStaleCloudUser
            | CleanupAction::DeleteStaleCloudGroup
            | CleanupAction::DeleteStaleCloudContact
            | CleanupAction::DeleteOrphanedSyncedObject
    )
}

fn cloud_id(f: &Finding) -> &str {
    f.cloud_object_id.as_deref().unwrap_or("")
}

/// A row for `f` with the identifying columns filled in.
fn row(action: CleanupAction, f: &Finding, powershell: String, graph_request: String) -> Row {
    Row {
        action,
        finding_id: f.id.clone(),
        rule: f.rule.clone(),
        severity: f.severity,
        cloud_object_id: f.cloud_object_id.clone().unwrap_or_default(),
        cloud_object_type: f.cloud_object_type.clone().unwrap_or_default(),
        onprem_object_guid: f.onprem_object_guid.clone().unwrap_or_default(),
        onprem_distinguished_name: f.onprem_distinguished_name.clone().unwrap_or_default(),
        attribute: f.attribute.clone().unwrap_or_default(),
        value: f.value.clone().unwrap_or_default(),
        other_holder: String::new(),
        powershell,
        graph_request,
    }
}

/// How a command names the on-prem object: its objectGUID when the finding has it (a GUID
/// cannot be mistyped into another object and survives renames and moves), else its DN. The
/// `ActiveDirectory` cmdlets' `-Identity` accepts either.
fn onprem_identity(f: &Finding) -> Option<String> {
    f.onprem_object_guid
        .as_deref()
        .or(f.onprem_distinguished_name.as_deref())
        .map(ps_quote)
}

/// Clears or changes a duplicated mail or UPN on the on-prem object the finding names, when
/// `action` is the one for the finding's attribute.
fn duplicate_value(action: CleanupAction, f: &Finding) -> Option<Row> {
    f.value.as_deref()?;
    let identity = onprem_identity(f)?;
    let powershell = match (action, f.attribute.as_deref()?) {
        (CleanupAction::ClearOnpremMail, "mail") => {
            format!("Set-ADObject -Identity {identity} -Clear mail")
        }
        (CleanupAction::ChangeOnpremUpn, "userPrincipalName") => format!(
            "if (-not $NewUpn) {{ throw 'set $NewUpn to the new UPN first' }}; \
             Set-ADUser -Identity {identity} -UserPrincipalName $NewUpn"
        ),
        _ => return None,
    };
    let mut r = row(action, f, powershell, String::new());
    r.other_holder = other_holder(f);
    Some(r)
}

/// Removes a duplicated SMTP address on-prem from the holder that should lose it: the one that
/// holds it as a secondary (`smtp:`) while the other holds it as its primary (`SMTP:`), since
/// removing a secondary never changes where the owner's mail goes. When the on-prem object holds
/// the primary and a cloud object the secondary, the cloud side should give it up: no on-prem
/// row then. Otherwise (both primary, both secondary) the object the finding names is proposed,
/// and README.txt says to decide first.
fn remove_proxy_address(f: &Finding, value: &str) -> Option<Row> {
    let forms = proxy_forms(&f.message, value);
    let named_primary = forms.first().copied().unwrap_or(false);
    let other_secondary = forms.get(1) == Some(&false);
    let mut r = row(
        CleanupAction::RemoveOnpremProxyAddress,
        f,
        String::new(),
        String::new(),
    );
    r.other_holder = other_holder(f);
    let mut prefix = if named_primary { "SMTP" } else { "smtp" };
    if named_primary && other_secondary {
        let other = f.evidence.get(evidence::OTHER_ONPREM_OBJECT_GUID)?;
        r.other_holder = format!(
            "on-prem {}{}",
            r.onprem_object_guid,
            f.onprem_distinguished_name
                .as_deref()
                .map(|dn| format!(" {dn}"))
                .unwrap_or_default()
        );
        r.onprem_object_guid.clone_from(other);
        r.onprem_distinguished_name = f
            .evidence
            .get(evidence::OTHER_ONPREM_DISTINGUISHED_NAME)
            .cloned()
            .unwrap_or_default();
        prefix = "smtp";
    }
    let identity = if r.onprem_object_guid.is_empty() {
        ps_quote(&r.onprem_distinguished_name)
    } else {
        ps_quote(&r.onprem_object_guid)
    };
    r.powershell = format!(
        "Set-ADObject -Identity {identity} -Remove @{{proxyAddresses={}}}",
        ps_quote(&format!("{prefix}:{value}"))
    );
    Some(r)
}

/// Whether each raw proxy address the message quotes for `value` is a primary (`SMTP:`), in the
/// order the message names them (duplicate-attribute names the finding's object first). The
/// address table keeps only the lower-cased value, so the raw forms come from the message; ASCII
/// lower-casing keeps byte offsets aligned with the original text.
fn proxy_forms(message: &str, value: &str) -> Vec<bool> {
    let lower = message.to_ascii_lowercase();
    let needle = format!("smtp:{}", value.to_ascii_lowercase());
    lower
        .match_indices(&needle)
        .map(|(at, _)| message.get(at..at + 5) == Some("SMTP:"))
        .collect()
}

fn other_holder(f: &Finding) -> String {
    if let Some(guid) = f.evidence.get(evidence::OTHER_ONPREM_OBJECT_GUID) {
        let dn = f
            .evidence
            .get(evidence::OTHER_ONPREM_DISTINGUISHED_NAME)
            .map(|dn| format!(" {dn}"))
            .unwrap_or_default();
        format!("on-prem {guid}{dn}")
    } else if let Some(id) = &f.cloud_object_id {
        format!(
            "cloud {} {id}",
            f.cloud_object_type.as_deref().unwrap_or("object")
        )
    } else {
        String::new()
    }
}

fn clear_consistency_guid(f: &Finding) -> Option<Row> {
    // An anchor taken from objectGUID cannot be cleared: only a copied consistency GUID can.
    if f.attribute.as_deref() != Some("mS-DS-ConsistencyGuid") {
        return None;
    }
    let identity = onprem_identity(f)?;
    let mut r = row(
        CleanupAction::ClearOnpremConsistencyGuid,
        f,
        format!("Set-ADObject -Identity {identity} -Clear 'mS-DS-ConsistencyGuid'"),
        String::new(),
    );
    r.other_holder = other_holder(f);
    Some(r)
}

fn fix_upn_suffix(f: &Finding) -> Option<Row> {
    let identity = onprem_identity(f)?;
    let upn = f.value.as_deref()?;
    let local = upn.rsplit_once('@').map_or(upn, |(local, _)| local);
    Some(row(
        CleanupAction::FixUpnSuffix,
        f,
        format!(
            "if (-not $UpnSuffix) {{ throw 'set $UpnSuffix to a verified domain first' }}; \
             Set-ADUser -Identity {identity} -UserPrincipalName ({} + '@' + $UpnSuffix)",
            ps_quote(local)
        ),
        String::new(),
    ))
}

/// The on-prem source anchor to hard-match the finding's cloud user to, when hard match is the
/// fix: users only (Graph has no immutableId for groups or contacts), and not when soft match
/// refused because the cloud user is synced from elsewhere (another person) or holds an admin
/// role (remove the role and let soft match join instead).
fn hard_match_anchor(f: &Finding) -> Option<&str> {
    // A synced cloud user belongs to another on-prem object until sync lets go of it: setting
    // its immutableId is refused (its source of authority is on-prem); orphaned-synced-object
    // covers it when that source is gone.
    // With blockCloudObjectTakeoverThroughHardMatchEnabled the hard match itself fails
    // (InvalidHardMatch): no row that would only produce that error.
    if f.cloud_object_type.as_deref() != Some("user")
        || f.evidence
            .get(evidence::CLOUD_SYNC_STATE)
            .map(String::as_str)
            == Some("synced")
        || f.evidence
            .get(evidence::HARD_MATCH_BLOCKED)
            .map(String::as_str)
            == Some("true")
    {
        return None;
    }
    // A takeover has no refusal; a refused soft match is a hard-match case only for the
    // refusals a hard match overcomes.
    let fits = match f.evidence.get(evidence::REFUSAL_CODE).map(String::as_str) {
        None => true,
        Some(code) => matches!(
            code,
            "immutable_id"
                | "formerly_synced"
                | "tenant_blocks_soft_match"
                | "upn_soft_match_disabled"
        ),
    };
    if fits {
        f.evidence
            .get(evidence::ONPREM_SOURCE_ANCHOR)
            .map(String::as_str)
    } else {
        None
    }
}

fn hard_match(f: &Finding) -> Option<Row> {
    let anchor = hard_match_anchor(f)?;
    let id = f.cloud_object_id.as_deref()?;
    let body = serde_json::json!({ "onPremisesImmutableId": anchor });
    let mut r = row(
        CleanupAction::HardMatchSetImmutableId,
        f,
        format!(
            "Update-MgUser -UserId {} -OnPremisesImmutableId {}",
            ps_quote(id),
            ps_quote(anchor)
        ),
        format!("PATCH /v1.0/users/{} {body}", path_segment(id)),
    );
    anchor.clone_into(&mut r.value);
    "onPremisesImmutableId".clone_into(&mut r.attribute);
    r.other_holder = f
        .onprem_object_guid
        .as_deref()
        .map(|g| format!("on-prem {g}"))
        .unwrap_or_default();
    Some(r)
}

/// The leftover's row, when `action` is the one its object type and anchor call for.
fn leftover(action: CleanupAction, f: &Finding) -> Option<Row> {
    stale_cloud_only(f).filter(|r| r.action == action)
}

fn stale_cloud_only(f: &Finding) -> Option<Row> {
    let id = f.cloud_object_id.as_deref()?;
    let quoted = ps_quote(id);
    let segment = path_segment(id);
    let r = match f.cloud_object_type.as_deref()? {
        // A cloud-only user (never synced) with a stale anchor and nothing it blocks is a
        // working cloud account: clearing the anchor is the fix that loses nothing.
        "user"
            if f.value.as_deref() == Some("null")
                && f.evidence.contains_key(evidence::CLOUD_IMMUTABLE_ID)
                && f.onprem_object_guid.is_none() =>
        {
            let mut r = row(
                CleanupAction::ClearImmutableId,
                f,
                format!(
                    "Invoke-MgGraphRequest -Method PATCH -Uri {} -Body '{{\"onPremisesImmutableId\":null}}'",
                    ps_quote(&format!("v1.0/users/{segment}"))
                ),
                format!("PATCH /v1.0/users/{segment} {{\"onPremisesImmutableId\":null}}"),
            );
            "onPremisesImmutableId".clone_into(&mut r.attribute);
            r.value = f
                .evidence
                .get(evidence::CLOUD_IMMUTABLE_ID)
                .cloned()
                .unwrap_or_default();
            r
        }
        "user" => row(
            CleanupAction::DeleteStaleCloudUser,
            f,
            format!("Remove-MgUser -UserId {quoted}"),
            format!("DELETE /v1.0/users/{segment}"),
        ),
        "group" => row(
            CleanupAction::DeleteStaleCloudGroup,
            f,
            format!("Remove-MgGroup -GroupId {quoted}"),
            format!("DELETE /v1.0/groups/{segment}"),
        ),
        "contact" => {
            // The id goes inside an OPATH filter inside a double-quoted PowerShell string, where
            // only a plain GUID is inert; Graph ids are GUIDs, anything else gets no command.
            let powershell = if is_guid(id) {
                format!(
                    "Get-MailContact -Filter \"ExternalDirectoryObjectId -eq '{id}'\" | Remove-MailContact"
                )
            } else {
                String::new()
            };
            row(
                CleanupAction::DeleteStaleCloudContact,
                f,
                powershell,
                String::new(),
            )
        }
        _ => return None,
    };
    Some(r)
}

/// A type mismatch needs a decision (which side gives up the address, and the cloud side is
/// managed wherever it came from), so the command only shows the cloud object to decide on.
fn type_mismatch(f: &Finding) -> Option<Row> {
    let id = f.cloud_object_id.as_deref()?;
    let mut r = row(
        CleanupAction::ResolveObjectTypeMismatch,
        f,
        format!(
            "Get-MgDirectoryObject -DirectoryObjectId {} | Format-List *",
            ps_quote(id)
        ),
        format!("GET /v1.0/directoryObjects/{}", path_segment(id)),
    );
    r.other_holder = format!(
        "cloud {} {id}",
        f.cloud_object_type.as_deref().unwrap_or("object")
    );
    Some(r)
}

fn delete_orphan(f: &Finding) -> Option<Row> {
    let id = f.cloud_object_id.as_deref()?;
    let segment = path_segment(id);
    let (collection, remove) = match f.cloud_object_type.as_deref()? {
        "user" => ("users", format!("Remove-MgUser -UserId {}", ps_quote(id))),
        "group" => (
            "groups",
            format!("Remove-MgGroup -GroupId {}", ps_quote(id)),
        ),
        _ => return None,
    };
    // Beta only: onPremisesSyncBehavior has no v1.0 endpoint
    // (<https://learn.microsoft.com/graph/api/onpremisessyncbehavior-update?view=graph-rest-beta>).
    let behavior = format!("beta/{collection}/{segment}/onPremisesSyncBehavior");
    Some(row(
        CleanupAction::DeleteOrphanedSyncedObject,
        f,
        format!(
            "Invoke-MgGraphRequest -Method PATCH -Uri {} -Body '{{\"isCloudManaged\":true}}'; {remove}",
            ps_quote(&behavior)
        ),
        format!(
            "PATCH /{behavior} {{\"isCloudManaged\":true}} then DELETE /v1.0/{collection}/{segment}"
        ),
    ))
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Characters PowerShell treats as a single quote (the PowerShell language specification, §2.3.5.2.2
/// "single-quote-character", and `about_Quoting_Rules`: "To include a single quotation mark in a
/// single-quoted string, use a second consecutive single quote"): the ASCII apostrophe and the
/// Unicode quotes U+2018, U+2019, U+201A and U+201B. A smart quote in a name would otherwise end
/// the string early and turn the rest of the name into code.
/// <https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_quoting_rules>
/// <https://learn.microsoft.com/powershell/scripting/lang-spec/chapter-02#22-lexical-structure>
fn is_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

/// Characters a single-quoted string could hold but a reviewer could not see or a CSV cell would
/// break on: control characters (newlines too: a command must stay on one line), bidirectional
/// overrides and invisible formatting characters that make a command read differently from what
/// it does.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// `s` as a PowerShell expression whose value is exactly `s`: a single-quoted (verbatim) string,
/// in which nothing expands (`$`, backtick, `"` and `;` are plain text), with every single-quote
/// character doubled. Characters listed in [`needs_escape`] are joined in as `[char]0xNNNN`,
/// making the expression `('a' + [char]0x000A + 'b')`: one line, every character visible.
pub fn ps_quote(s: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut open = false;
    for c in s.chars() {
        if needs_escape(c) {
            if open {
                current.push('\'');
                parts.push(std::mem::take(&mut current));
                open = false;
            }
            parts.push(format!("[char]0x{:04X}", u32::from(c)));
        } else {
            if !open {
                current.push('\'');
                open = true;
            }
            if is_single_quote(c) {
                current.push(c);
            }
            current.push(c);
        }
    }
    if open {
        current.push('\'');
        parts.push(current);
    }
    match parts.len() {
        0 => "''".to_owned(),
        1 if parts[0].starts_with('\'') => parts.pop().expect("one part"),
        _ => {
            // `[char]` first would make `+` add numbers: start from a string.
            if !parts[0].starts_with('\'') {
                parts.insert(0, "''".to_owned());
            }
            format!("({})", parts.join(" + "))
        }
    }
}

/// Writes `OUT/cleanup/<action>.csv` for each action that has rows, and `OUT/cleanup/README.txt`;
/// returns the CSV files written. Files of an earlier run are removed first (they would
/// contradict this one).
pub(crate) fn write_all(
    findings: &[Finding],
    declarations: &Declarations,
    out: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let dir = out.join("cleanup");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "csv") {
                std::fs::remove_file(entry.path()).ok();
            }
        }
    }
    let mut by_action: BTreeMap<CleanupAction, Vec<Row>> = BTreeMap::new();
    for r in plan(findings, declarations) {
        by_action.entry(r.action).or_default().push(r);
    }
    let mut written = Vec::new();
    for (action, rows) in &by_action {
        let path = dir.join(format!("{}.csv", action.name()));
        write_csv(&path, rows)?;
        written.push(path);
    }
    let readme = dir.join("README.txt");
    std::fs::write(&readme, readme_text(&by_action))
        .with_context(|| format!("cannot write {}", readme.display()))?;
    Ok(written)
}

fn write_csv(path: &Path, rows: &[Row]) -> anyhow::Result<()> {
    let mut writer =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    writer.write_record(COLUMNS)?;
    for r in rows {
        let cells = [
            r.action.name(),
            &r.finding_id,
            &r.rule,
            r.severity.as_str(),
            &r.cloud_object_id,
            &r.cloud_object_type,
            &r.onprem_object_guid,
            &r.onprem_distinguished_name,
            &r.attribute,
            &r.value,
            &r.other_holder,
            &r.powershell,
            &r.graph_request,
            "review before running",
        ];
        writer.write_record(cells.iter().map(|c| csv_safe(c).into_owned()))?;
    }
    writer
        .flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn readme_text(by_action: &BTreeMap<CleanupAction, Vec<Row>>) -> String {
    let mut out = String::from(
        "entra-audit cleanup exports\n\
         ===========================\n\n\
         REVIEW EVERY ROW BEFORE RUNNING ITS COMMAND. These files propose fixes derived from the\n\
         audit's findings; they cannot know which of two objects should keep a value, or whether\n\
         two accounts are the same person. Run the commands yourself, a few at a time, and re-run\n\
         the audit between steps.\n\n\
         Each file lists one kind of change, one row per object, with both sides of the finding\n\
         (cloud object id and type, on-prem objectGUID and DN), the value, the finding id (the\n\
         same id as in findings.json), a PowerShell command and, where Graph can do it, the Graph\n\
         request (prefix your cloud's Graph host, e.g. https://graph.microsoft.com).\n\
         Objects are named by objectGUID / object id. Values are single-quoted for PowerShell;\n\
         control and invisible characters appear as [char]0xNNNN. A cell that starts with\n\
         = + - @ is prefixed with ' so spreadsheets show it as text: remove that ' if you copy such\n\
         a cell into a command.\n\n\
         Modules: ActiveDirectory (Set-ADObject, Set-ADUser), Microsoft.Graph (Update-MgUser,\n\
         Remove-MgUser, Remove-MgGroup, Invoke-MgGraphRequest; Connect-MgGraph -Scopes\n\
         User.ReadWrite.All, Group.ReadWrite.All, User-OnPremisesSyncBehavior.ReadWrite.All,\n\
         Group-OnPremisesSyncBehavior.ReadWrite.All), ExchangeOnlineManagement (Remove-MailContact).\n\n\
         Order: on-prem changes first (they reach the cloud at the next sync cycle), then hard\n\
         matches (before the next sync, so sync joins objects instead of failing or duplicating\n\
         them), deletions last (after the hard matches are confirmed). Muted findings\n\
         (--suppressions) get no row; findings no single command fixes (sync health, provisioning\n\
         errors, admin-role conflicts, objects synced from another forest) stay in findings.csv.\n\n",
    );
    let mut step = 0;
    for action in CleanupAction::ALL {
        let Some(rows) = by_action.get(&action) else {
            continue;
        };
        step += 1;
        let _ = writeln!(
            out,
            "{step}. {}.csv ({} row{})\n{}\n",
            action.name(),
            rows.len(),
            if rows.len() == 1 { "" } else { "s" },
            wrap(description(action), 92)
        );
    }
    if step == 0 {
        out.push_str("No finding of this audit has a cleanup action.\n");
    }
    out
}

fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::from("   ");
    for word in text.split_whitespace() {
        if line.len() + word.len() + 1 > width && !line.trim().is_empty() {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from("   ");
        }
        line.push_str(word);
        line.push(' ');
    }
    out.push_str(line.trim_end());
    out
}

/// Puts a UTF-8 byte order mark at the start of each CSV file in `paths` that has none: Excel
/// reads a CSV without one in the machine's ANSI code page, mangling every non-ASCII name.
pub(crate) fn add_utf8_bom(paths: &[PathBuf]) -> anyhow::Result<()> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    for path in paths {
        if path.extension().is_none_or(|e| e != "csv") {
            continue;
        }
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        if bytes.starts_with(BOM) {
            continue;
        }
        let mut file = std::fs::File::create(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        file.write_all(BOM)
            .and_then(|()| file.write_all(&bytes))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The terminal's line about the cleanup files.
pub(crate) fn terminal_line(files: &[PathBuf], out: &Path) -> String {
    if files.is_empty() {
        return String::new();
    }
    format!(
        "cleanup: {} file(s) in {}; read README.txt there and review every row before running it\n",
        files.len(),
        out.join("cleanup").display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftover(id: &str, evidence: &[(&str, &str)]) -> Finding {
        Finding {
            id: format!("stale-cloud-only:{id}"),
            rule: "stale-cloud-only".into(),
            severity: Severity::Medium,
            predicted_outcome: None,
            cloud_object_id: Some(id.into()),
            cloud_object_type: Some("user".into()),
            onprem_object_guid: None,
            onprem_distinguished_name: None,
            attribute: Some("onPremisesSyncEnabled".into()),
            value: Some("false".into()),
            message: "m".into(),
            remediation: "r".into(),
            evidence: evidence
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            status: None,
            muted: None,
            suppression: None,
        }
    }

    /// The built-in rules' declarations, as a run has them.
    fn declarations() -> Declarations {
        crate::audit::rules::embedded()
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == crate::audit::rules::Kind::Rule)
            .map(|r| (r.name, r.cleanup))
            .collect()
    }

    #[test]
    fn every_declared_action_has_the_evidence_it_reads() {
        let mut declared_somewhere = std::collections::BTreeSet::new();
        let mut optional_declared: std::collections::BTreeSet<(CleanupAction, String)> =
            std::collections::BTreeSet::new();
        for rule in crate::audit::rules::embedded().unwrap() {
            let evidence = rule.evidence.clone().unwrap_or_default();
            for action in &rule.cleanup.actions {
                declared_somewhere.insert(*action);
                for column in action.evidence_needed() {
                    assert!(
                        evidence.iter().any(|e| e == column),
                        "{}: declares cleanup '{action}', which reads evidence '{column}' the rule does not declare",
                        rule.name
                    );
                }
                optional_declared.extend(evidence.iter().map(|e| (*action, e.clone())));
            }
        }
        for action in CleanupAction::ALL {
            for column in action.evidence_when_present() {
                assert!(
                    optional_declared.contains(&(action, (*column).to_owned())),
                    "cleanup '{action}' reads evidence '{column}' when present, but no rule that declares the action declares it"
                );
            }
        }
        // Every cleanup file is reachable from some rule: an action no rule declares is dead.
        assert_eq!(
            declared_somewhere.into_iter().collect::<Vec<_>>(),
            CleanupAction::ALL
        );
    }

    #[test]
    fn rows_follow_the_declaration_not_the_rule_name() {
        let renamed = Finding {
            rule: "my-leftovers".into(),
            ..leftover("c1", &[])
        };
        let mut declared = declarations();
        assert!(
            plan(std::slice::from_ref(&renamed), &declared).is_empty(),
            "a rule that declares no cleanup gets no row"
        );
        declared.insert(
            "my-leftovers".into(),
            RuleCleanup {
                actions: vec![CleanupAction::DeleteStaleCloudUser],
                cloud_object_blocks_onprem: false,
            },
        );
        let rows = plan(std::slice::from_ref(&renamed), &declared);
        assert_eq!(
            rows.iter().map(|r| r.action).collect::<Vec<_>>(),
            [CleanupAction::DeleteStaleCloudUser]
        );
        // An action the finding does not fit (a group action for a user) gives no row.
        declared.get_mut("my-leftovers").unwrap().actions =
            vec![CleanupAction::DeleteStaleCloudGroup];
        assert!(plan(std::slice::from_ref(&renamed), &declared).is_empty());
    }

    #[test]
    fn a_muted_finding_gets_no_row() {
        let mut muted = leftover("c2", &[]);
        muted.muted = Some(true);
        let rows = plan(&[leftover("c1", &[]), muted], &declarations());
        let ids: Vec<&str> = rows.iter().map(|r| r.cloud_object_id.as_str()).collect();
        assert_eq!(ids, ["c1"]);
    }

    #[test]
    fn no_hard_match_row_when_the_tenant_blocks_hard_match_takeover() {
        let takeover = |id: &str, evidence: &[(&str, &str)]| Finding {
            rule: "soft-match-takeover".into(),
            ..leftover(id, evidence)
        };
        let findings = [
            takeover("c1", &[("onprem_source_anchor", "YW5jaG9y")]),
            takeover(
                "c2",
                &[
                    ("onprem_source_anchor", "YW5jaG9y"),
                    ("hard_match_blocked", "true"),
                ],
            ),
        ];
        let rows = plan(&findings, &declarations());
        let matched: Vec<&str> = rows
            .iter()
            .filter(|r| r.action == CleanupAction::HardMatchSetImmutableId)
            .map(|r| r.cloud_object_id.as_str())
            .collect();
        assert_eq!(matched, ["c1"]);
    }

    #[test]
    fn no_delete_row_for_a_role_holder_a_federated_cloud_user_or_a_cloud_managed_object() {
        let findings = [
            leftover("c1", &[]),
            leftover("c2", &[("cloud_admin_roles", "Global Administrator")]),
            leftover("c3", &[("cloud_domain_federated", "true")]),
            leftover("c4", &[("cloud_managed", "true")]),
            leftover("c5", &[("cloud_managed", "not read: HTTP 503")]),
        ];
        let rows = plan(&findings, &declarations());
        let deleted: Vec<&str> = rows
            .iter()
            .filter(|r| is_delete(r.action))
            .map(|r| r.cloud_object_id.as_str())
            .collect();
        assert_eq!(deleted, ["c1", "c5"]);
    }

    /// A cloud-only user with a stale immutableId gets a row that clears it, except in a
    /// federated domain, where the immutableId is what the user signs in with.
    #[test]
    fn no_clear_immutable_id_row_for_a_federated_cloud_user() {
        let cloud_only = |id: &str, federated: bool| {
            let mut evidence = vec![("cloud_immutable_id", "c3RhbGU=")];
            if federated {
                evidence.push(("cloud_domain_federated", "true"));
            }
            Finding {
                value: Some("null".into()),
                ..leftover(id, &evidence)
            }
        };
        let rows = plan(
            &[cloud_only("c1", false), cloud_only("c2", true)],
            &declarations(),
        );
        let cleared: Vec<&str> = rows
            .iter()
            .filter(|r| r.action == CleanupAction::ClearImmutableId)
            .map(|r| r.cloud_object_id.as_str())
            .collect();
        assert_eq!(cleared, ["c1"]);
        assert_eq!(
            rows.len(),
            1,
            "and no other row for the federated user: {rows:?}"
        );
    }

    #[test]
    fn an_orphan_is_made_cloud_managed_through_the_beta_endpoint() {
        let mut f = leftover("u1", &[]);
        f.rule = "orphaned-synced-object".into();
        let row = delete_orphan(&f).expect("a row");
        assert!(
            row.graph_request
                .starts_with("PATCH /beta/users/u1/onPremisesSyncBehavior "),
            "{}",
            row.graph_request
        );
        assert!(
            row.powershell
                .contains("'beta/users/u1/onPremisesSyncBehavior'")
        );
    }

    #[test]
    fn plain_values_are_single_quoted() {
        assert_eq!(ps_quote("abc"), "'abc'");
        assert_eq!(ps_quote(""), "''");
        assert_eq!(ps_quote("a$b`c\"d;e|f"), "'a$b`c\"d;e|f'");
    }

    #[test]
    fn every_single_quote_character_is_doubled() {
        assert_eq!(ps_quote("O'Brien"), "'O''Brien'");
        assert_eq!(ps_quote("O\u{2019}Brien"), "'O\u{2019}\u{2019}Brien'");
        assert_eq!(
            ps_quote("\u{2018}\u{201A}\u{201B}"),
            "'\u{2018}\u{2018}\u{201A}\u{201A}\u{201B}\u{201B}'"
        );
    }

    #[test]
    fn control_and_invisible_characters_are_spelled_out() {
        assert_eq!(ps_quote("a\nb"), "('a' + [char]0x000A + 'b')");
        assert_eq!(ps_quote("\r\n"), "('' + [char]0x000D + [char]0x000A)");
        assert_eq!(ps_quote("x\u{202E}"), "('x' + [char]0x202E)");
    }

    #[test]
    fn path_segments_cannot_escape_the_path() {
        assert_eq!(path_segment("0a1b-C"), "0a1b-C");
        assert_eq!(path_segment("a/../b?x=1"), "a%2F..%2Fb%3Fx%3D1");
    }

    #[test]
    fn guids_are_recognised() {
        assert!(is_guid("e24a6b78-41a0-4756-8179-3312a9bfecee"));
        assert!(!is_guid("e24a6b78-41a0-4756-8179-3312a9bfecee'"));
        assert!(!is_guid("e24a6b78x41a0-4756-8179-3312a9bfecee"));
    }
}
