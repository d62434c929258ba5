//! `entra-audit doctor`: signs in, reads which permissions the token carries (the `roles` or
//! `scp` claim, when the token is a JWT: it is read for diagnosis only, never trusted; Graph
//! decides), then probes each collection with one small request, and says which collections
//! the token cannot read, which rules that disables, and the least-privilege permissions to
//! grant for a read-only audit and for Cloud Sync actions. It owns the collection → rule
//! mapping (the permissions and tables of each collection are the snapshot's catalogue); it
//! must not collect (that is `collect`) or change anything in the tenant.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::audit::rules::{self, Kind, Rule};
use crate::commands::progress;
use crate::commands::sign_in::{ConnectOptions, Session, connect};
use crate::graph::auth::AccessToken;
use crate::graph::cloud_sync_discovery::CLOUD_SYNC_APP_ID;
use crate::graph::{CallStats, GraphError};
use crate::inputs::snapshot::{CATALOGUE, Collection};

/// Permissions the Cloud Sync actions (`cloud-sync start|pause|restart`) need on top.
pub(crate) const CLOUD_SYNC_ACTIONS: &str = "application: Synchronization.ReadWrite.All; delegated: \
Synchronization.ReadWrite.All with the Hybrid Identity Administrator role";

/// What a probe of one collection found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Access {
    Readable,
    /// 403, with Graph's error code.
    Forbidden(String),
    /// Another failure (the message).
    Failed(String),
}

/// The token's claims that say what it may do, when it is a JWT.
#[derive(Debug, Default, Clone)]
pub(crate) struct TokenClaims {
    /// Application permissions (`roles`).
    pub roles: BTreeSet<String>,
    /// Delegated permissions (`scp`).
    pub scopes: BTreeSet<String>,
}

/// Reads `roles` and `scp` from a JWT access token without checking its signature (only
/// Graph validates tokens; this is a diagnosis). `None` for an opaque token.
pub(crate) fn token_claims(token: &str) -> Option<TokenClaims> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let strings = |v: Option<&Value>| -> BTreeSet<String> {
        match v {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            _ => BTreeSet::new(),
        }
    };
    Some(TokenClaims {
        roles: strings(claims.get("roles")),
        scopes: strings(claims.get("scp")),
    })
}

/// The request that shows whether a collection is readable (the smallest one `collect` sends).
fn probe_url(collection: Collection) -> String {
    match collection {
        // onPremisesSyncBehavior is read per object: probed on the first user found.
        Collection::Users | Collection::SyncBehavior => "/v1.0/users?$select=id&$top=1".into(),
        Collection::Contacts => "/v1.0/contacts?$select=id&$top=1".into(),
        Collection::Groups => "/v1.0/groups?$select=id&$top=1".into(),
        Collection::Organization => "/beta/organization?$select=id".into(),
        Collection::Domains => "/v1.0/domains?$select=id".into(),
        Collection::SynchronizationJobs => {
            format!("/v1.0/servicePrincipals?$filter=appId%20eq%20'{CLOUD_SYNC_APP_ID}'&$select=id")
        }
        Collection::DirectoryRoles => "/v1.0/directoryRoles?$expand=members".into(),
        Collection::RoleAssignments => {
            "/v1.0/roleManagement/directory/roleAssignments?$top=1".into()
        }
        Collection::RoleEligibilities => {
            "/v1.0/roleManagement/directory/roleEligibilitySchedules?$top=1".into()
        }
        Collection::OnPremisesSynchronization => "/v1.0/directory/onPremisesSynchronization".into(),
    }
}

/// The per-object read to probe after [`probe_url`] found an object: the service principal
/// list answers to Application.Read.All, its jobs need Synchronization.Read.All; the users list
/// answers to User.Read.All, onPremisesSyncBehavior needs its own (`ReadWrite`) permission.
fn probe_per_object(collection: Collection) -> Option<fn(&str) -> String> {
    match collection {
        Collection::SynchronizationJobs => {
            Some(|id| format!("/v1.0/servicePrincipals/{id}/synchronization/jobs"))
        }
        Collection::SyncBehavior => Some(|id| format!("/beta/users/{id}/onPremisesSyncBehavior")),
        _ => None,
    }
}

/// The `id` of the first object of a list answer.
fn first_id(list: &Value) -> Option<&str> {
    list.get("value")
        .and_then(Value::as_array)
        .and_then(|v| v.first())
        .and_then(|o| o.get("id"))
        .and_then(Value::as_str)
}

async fn probe(session: &Session, collection: Collection) -> Access {
    let mut stats = CallStats::default();
    let first = session
        .graph
        .get_json(&probe_url(collection), &HeaderMap::new(), &mut stats)
        .await;
    // Some collections are read per object found by the first request: probe that read on the
    // first one (none found: the first request is all there is to probe).
    let result = match (first, probe_per_object(collection)) {
        (Ok(found), Some(path_for)) => match first_id(&found) {
            Some(id) => session
                .graph
                .get_json(&path_for(id), &HeaderMap::new(), &mut stats)
                .await
                .map(|_| ()),
            None => Ok(()),
        },
        (result, _) => result.map(|_| ()),
    };
    match result {
        Ok(()) => Access::Readable,
        Err(e @ GraphError::Forbidden(_)) => {
            Access::Forbidden(e.code().unwrap_or("Forbidden").to_owned())
        }
        Err(e) => Access::Failed(e.to_string()),
    }
}

/// The tables a rule reads, its views resolved to the tables they read.
fn tables_of(rule: &Rule, all: &[Rule], optional: bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let names = if optional {
        &rule.optional
    } else {
        &rule.requires
    };
    for name in names {
        match all.iter().find(|r| r.kind == Kind::View && &r.name == name) {
            Some(view) => out.extend(tables_of(view, all, optional)),
            None => {
                out.insert(name.clone());
            }
        }
    }
    out
}

/// What the token is: it decides which permissions to ask for and which refusals are expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// An application token (client secret or certificate): its permissions are `roles`.
    Application,
    /// A user's token (device code): its permissions are `scp`.
    Delegated,
}

impl std::fmt::Display for TokenKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenKind::Application => "application",
            TokenKind::Delegated => "delegated",
        })
    }
}

/// The doctor's findings, ready to print.
#[derive(Debug)]
pub(crate) struct Diagnosis {
    pub token_kind: TokenKind,
    pub claims: Option<TokenClaims>,
    pub access: BTreeMap<Collection, Access>,
    /// Rules that cannot run, with the collections they lack.
    pub disabled_rules: BTreeMap<String, BTreeSet<Collection>>,
    /// Rules that run with less (an optional table is missing).
    pub degraded_rules: BTreeMap<String, BTreeSet<Collection>>,
}

impl Diagnosis {
    #[cfg(test)]
    pub(crate) fn all_readable(&self) -> bool {
        self.access.values().all(|a| *a == Access::Readable)
    }

    /// Whether something unreadable can be fixed by granting a permission: everything but a
    /// delegated-only collection refused to an application token (which no grant changes).
    pub(crate) fn needs_a_grant(&self) -> bool {
        self.access.iter().any(|(c, a)| {
            *a != Access::Readable
                && !(self.token_kind == TokenKind::Application && c.delegated_only())
                && !c.needs_write_permission()
        })
    }
}

/// Which rules each unreadable collection disables (required) or degrades (optional).
pub(crate) fn judge(
    access: BTreeMap<Collection, Access>,
    claims: Option<TokenClaims>,
    token_kind: TokenKind,
    rules: &[Rule],
) -> Diagnosis {
    let unreadable_tables: BTreeMap<&str, BTreeSet<Collection>> = CATALOGUE
        .iter()
        .filter(|r| {
            access
                .get(&r.collection)
                .is_some_and(|a| *a != Access::Readable)
        })
        .flat_map(|r| r.tables.iter().map(move |t| (*t, r.collection)))
        .fold(BTreeMap::new(), |mut acc, (t, c)| {
            acc.entry(t).or_insert_with(BTreeSet::new).insert(c);
            acc
        });
    let lacking = |tables: &BTreeSet<String>| -> BTreeSet<Collection> {
        tables
            .iter()
            .filter_map(|t| unreadable_tables.get(t.as_str()))
            .flatten()
            .copied()
            .collect()
    };
    let mut disabled_rules = BTreeMap::new();
    let mut degraded_rules = BTreeMap::new();
    for rule in rules.iter().filter(|r| r.kind == Kind::Rule) {
        let required = lacking(&tables_of(rule, rules, false));
        if required.is_empty() {
            let optional = lacking(&tables_of(rule, rules, true));
            if !optional.is_empty() {
                degraded_rules.insert(rule.name.clone(), optional);
            }
        } else {
            disabled_rules.insert(rule.name.clone(), required);
        }
    }
    Diagnosis {
        token_kind,
        claims,
        access,
        disabled_rules,
        degraded_rules,
    }
}

/// The printed diagnosis.
pub(crate) fn render(session_line: &str, d: &Diagnosis) -> String {
    let mut out = format!("{session_line}\n");
    match &d.claims {
        Some(c) if d.token_kind == TokenKind::Application => {
            let _ = writeln!(out, "token: application; roles: {}", join_or_none(&c.roles));
        }
        Some(c) => {
            let _ = writeln!(out, "token: delegated; scopes: {}", join_or_none(&c.scopes));
        }
        None => {
            let _ = writeln!(
                out,
                "token: {} (opaque: its permissions are judged by the probes below)",
                d.token_kind
            );
        }
    }
    out.push_str(&headline(d));
    let _ = writeln!(
        out,
        "\n  {:<26} {:<10} least privilege",
        "collection", "access"
    );
    for req in CATALOGUE {
        let access = d.access.get(&req.collection);
        let (status, detail) = match access {
            Some(Access::Readable) => ("ok", String::new()),
            Some(Access::Forbidden(code)) => ("FORBIDDEN", format!("\n      Graph said: {code}")),
            Some(Access::Failed(e)) => ("FAILED", format!("\n      {e}")),
            None => ("-", String::new()),
        };
        let wanted = if d.token_kind == TokenKind::Application {
            req.application
        } else {
            req.delegated
        };
        let permission = if wanted.is_empty() {
            "not available to application tokens".to_owned()
        } else {
            wanted.join(" + ")
        };
        let note = if req.note.is_empty() {
            String::new()
        } else {
            format!("; {}", req.note)
        };
        let _ = writeln!(
            out,
            "  {:<26} {:<10} {permission}{note}{detail}",
            req.collection.file_stem(),
            status
        );
    }
    if d.disabled_rules.is_empty() && d.degraded_rules.is_empty() {
        out.push_str("\nEvery rule can be evaluated.\n");
    }
    for (title, rules) in [
        ("not evaluated", &d.disabled_rules),
        ("evaluated with less", &d.degraded_rules),
    ] {
        if rules.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\nRules {title} with this token:");
        for (rule, collections) in rules {
            let names: Vec<&str> = collections.iter().map(|c| c.file_stem()).collect();
            let _ = writeln!(out, "  {rule:<28} lacks {}", names.join(", "));
        }
    }
    let _ = writeln!(
        out,
        "\nLeast privilege for a read-only audit (application permissions, admin consent):\n  {}",
        least_privilege(true).join(", ")
    );
    let _ = writeln!(
        out,
        "  plus, delegated only (--device-code as a Global Administrator): OnPremDirectorySynchronization.Read.All"
    );
    let sync_behavior = Collection::SyncBehavior.spec();
    let _ = writeln!(
        out,
        "  optional, to tell objects converted to cloud management apart ({}; no read-only permission exists): {}",
        sync_behavior.collection,
        sync_behavior.application.join(", ")
    );
    let _ = writeln!(out, "For Cloud Sync actions: {CLOUD_SYNC_ACTIONS}");
    out
}

/// What the probes found and what to do next, in a few lines, before the details. A
/// delegated-only collection refused to an application token is expected, not something to
/// grant: it is said apart from the permissions that are missing.
fn headline(d: &Diagnosis) -> String {
    let expected = |c: &Collection| d.token_kind == TokenKind::Application && c.delegated_only();
    let unreadable: Vec<Collection> = d
        .access
        .iter()
        .filter(|(_, a)| **a != Access::Readable)
        .map(|(c, _)| *c)
        .collect();
    let (optional, unreadable): (Vec<Collection>, Vec<Collection>) = unreadable
        .into_iter()
        .partition(|c| c.needs_write_permission());
    let (by_design, missing): (Vec<Collection>, Vec<Collection>) =
        unreadable.iter().partition(|c| expected(c));
    let readable = d.access.len() - unreadable.len() - optional.len();
    let mut out = String::from("\n");
    if missing.is_empty() {
        let _ = writeln!(
            out,
            "{readable} of {} collections are readable: everything this sign-in can read.",
            d.access.len()
        );
    } else {
        let names: Vec<&str> = missing.iter().map(|c| c.file_stem()).collect();
        let grant: BTreeSet<&str> = CATALOGUE
            .iter()
            .filter(|r| missing.contains(&r.collection))
            .flat_map(|r| {
                if d.token_kind == TokenKind::Application {
                    r.application.iter()
                } else {
                    r.delegated.iter()
                }
            })
            .copied()
            .collect();
        let _ = writeln!(out, "Not readable: {}.", names.join(", "));
        let _ = writeln!(
            out,
            "Next: grant {} ({}), then run `entra-audit doctor` again; until then {} rule(s) are not evaluated.",
            grant.into_iter().collect::<Vec<_>>().join(", "),
            if d.token_kind == TokenKind::Application {
                "application permissions, with admin consent"
            } else {
                "delegated permissions"
            },
            d.disabled_rules.len()
        );
    }
    for c in &by_design {
        let _ = writeln!(
            out,
            "{c} is {} (--device-code); the rules that use it run without it.",
            Collection::DELEGATED_ONLY_NOTE
        );
    }
    for c in &optional {
        let spec = c.spec();
        let permissions = if d.token_kind == TokenKind::Application {
            spec.application
        } else {
            spec.delegated
        };
        let _ = writeln!(
            out,
            "{c} is not readable: optional, it needs {} (no read-only permission exists); without it the leftover rules cannot tell objects converted to cloud management apart, and say so.",
            permissions.join(" + ")
        );
    }
    if missing.is_empty() {
        out.push_str("Next: entra-audit check --onprem <AD export> --out <folder>\n");
    }
    out
}

fn join_or_none(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "(none)".to_owned()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// The union of the least-privilege permissions of every collection a read-only audit reads
/// (not the optional ones that only a `ReadWrite` permission opens).
pub(crate) fn least_privilege(application: bool) -> Vec<&'static str> {
    let set: BTreeSet<&'static str> = CATALOGUE
        .iter()
        .filter(|r| !r.collection.needs_write_permission())
        .flat_map(|r| {
            if application {
                r.application.iter()
            } else {
                r.delegated.iter()
            }
        })
        .copied()
        .collect();
    set.into_iter().collect()
}

/// Runs the doctor: exit code 0 when every collection this sign-in can read is readable, 1 when a
/// permission is missing (sign-in failures are errors, exit 2).
pub(crate) fn run(options: &ConnectOptions) -> anyhow::Result<u8> {
    let rules = rules::embedded()?;
    let session = connect(options)?;
    let (token, access) = progress::runtime()?.block_on(async {
        let token: AccessToken = session.sign_in().await?;
        let probes = Collection::ALL.map(|c| {
            let session = &session;
            async move { (c, probe(session, c).await) }
        });
        let access: BTreeMap<Collection, Access> = futures::future::join_all(probes)
            .await
            .into_iter()
            .collect();
        Ok::<_, anyhow::Error>((token, access))
    })?;
    let token_kind = if token.delegated {
        TokenKind::Delegated
    } else {
        TokenKind::Application
    };
    let claims = token_claims(&token.secret);
    let diagnosis = judge(access, claims, token_kind, &rules);
    let line = format!(
        "signed in to tenant {} as {} with a {} ({})",
        session.tenant,
        session.client_id,
        session.credential_kind,
        session.endpoints.graph()
    );
    print!(
        "{}",
        crate::preview::terminal_safe(&render(&line, &diagnosis))
    );
    Ok(u8::from(diagnosis.needs_a_grant()))
}

/// `doctor`: the LDAP side when --ad-server is given, the Graph side when there is a tenant to
/// sign in to (or nothing else was asked); the worse exit code wins.
pub(crate) fn execute(args: &crate::commands::cli::DoctorArgs) -> anyhow::Result<u8> {
    let mut code = 0;
    if let Some(server) = &args.ad_server {
        let out = std::path::PathBuf::new();
        let probe = crate::inputs::ldap::probe(&args.ldap.collect_options(server, out)?)?;
        print!("{probe}");
        code = u8::from(!probe.missing.is_empty());
        if args.auth.tenant.is_none() && !args.auth.device_code {
            return Ok(code);
        }
    }
    Ok(code.max(run(&args.auth.connect_options())?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::tables;

    #[test]
    fn every_cloud_table_is_fed_by_a_known_collection() {
        let fed: BTreeSet<&str> = CATALOGUE
            .iter()
            .flat_map(|r| r.tables.iter().copied())
            .collect();
        for table in tables::TABLES {
            let cloud = !matches!(
                table.name,
                "params"
                    | "onprem_objects"
                    | "onprem_addresses"
                    | "onprem_values"
                    | "onprem_names"
                    | "onprem_out_of_scope"
            );
            assert_eq!(fed.contains(table.name), cloud, "{}", table.name);
        }
        for name in &fed {
            assert!(tables::TABLES.iter().any(|t| t.name == *name), "{name}");
        }
    }

    #[test]
    fn claims_are_read_from_a_jwt_and_an_opaque_token_has_none() {
        let payload = URL_SAFE_NO_PAD
            .encode(br#"{"tid":"t1","roles":["User.Read.All","Domain.Read.All"],"idtyp":"app"}"#);
        let claims = token_claims(&format!("eyJhbGciOiJSUzI1NiJ9.{payload}.sig")).unwrap();
        assert!(claims.roles.contains("Domain.Read.All"));
        let delegated =
            URL_SAFE_NO_PAD.encode(br#"{"scp":"User.Read.All Synchronization.Read.All"}"#);
        let claims = token_claims(&format!("h.{delegated}.s")).unwrap();
        assert_eq!(claims.scopes.len(), 2);
        assert!(token_claims("opaque-token-value").is_none());
    }

    /// An application token that can read everything but `forbidden`.
    fn diagnosis_with_forbidden(forbidden: Collection) -> Diagnosis {
        let rules = rules::embedded().unwrap();
        let mut access: BTreeMap<Collection, Access> = Collection::ALL
            .iter()
            .map(|c| (*c, Access::Readable))
            .collect();
        access.insert(
            forbidden,
            Access::Forbidden("Authorization_RequestDenied".into()),
        );
        judge(access, None, TokenKind::Application, &rules)
    }

    #[test]
    fn a_forbidden_collection_disables_exactly_the_rules_that_need_it() {
        let d = diagnosis_with_forbidden(Collection::SynchronizationJobs);
        let disabled: Vec<&str> = d.disabled_rules.keys().map(String::as_str).collect();
        assert_eq!(
            disabled,
            [
                "cloud-sync-job-escrows",
                "cloud-sync-job-failing",
                "cloud-sync-job-not-running",
                "cloud-sync-quarantine"
            ]
        );
        assert!(!d.all_readable());
        let text = render("signed in", &d);
        let jobs = text
            .lines()
            .find(|l| l.trim_start().starts_with("synchronizationJobs"))
            .unwrap();
        assert!(jobs.contains("FORBIDDEN"), "{jobs}");
        assert!(
            text.contains("Graph said: Authorization_RequestDenied"),
            "{text}"
        );
        assert!(text.contains("Synchronization.ReadWrite.All"));
    }

    #[test]
    fn the_headline_tells_a_permission_to_grant_from_a_delegated_only_collection() {
        let by_design = render(
            "signed in",
            &diagnosis_with_forbidden(Collection::OnPremisesSynchronization),
        );
        let head: Vec<&str> = by_design.lines().take(6).collect();
        let head = head.join("\n");
        assert!(
            head.contains("10 of 11 collections are readable: everything this sign-in can read."),
            "{head}"
        );
        assert!(head.contains("onPremisesSynchronization is readable only with a delegated Global Administrator sign-in (--device-code); the rules that use it run without it."), "{head}");
        assert!(head.contains("Next: entra-audit check --onprem"), "{head}");
        assert!(!head.contains("grant"), "{head}");
        assert!(!diagnosis_with_forbidden(Collection::OnPremisesSynchronization).needs_a_grant());
        assert!(diagnosis_with_forbidden(Collection::Contacts).needs_a_grant());

        let missing = render("signed in", &diagnosis_with_forbidden(Collection::Contacts));
        let head: Vec<&str> = missing.lines().take(6).collect();
        let head = head.join("\n");
        assert!(head.contains("Not readable: contacts."), "{head}");
        assert!(
            head.contains(
                "Next: grant OrgContact.Read.All (application permissions, with admin consent)"
            ),
            "{head}"
        );
    }

    /// onPremisesSyncBehavior needs `ReadWrite` permissions (none read-only exists): without them
    /// the leftover rules run with less, the doctor says so apart, and a read-only audit app is
    /// not told it lacks something (exit 0).
    #[test]
    fn a_forbidden_sync_behavior_is_optional_and_offered_apart() {
        let d = diagnosis_with_forbidden(Collection::SyncBehavior);
        assert!(!d.needs_a_grant());
        assert!(d.disabled_rules.is_empty(), "{:?}", d.disabled_rules);
        let degraded: Vec<&str> = d.degraded_rules.keys().map(String::as_str).collect();
        assert_eq!(degraded, ["orphaned-synced-object", "stale-cloud-only"]);
        let text = render("signed in", &d);
        assert!(
            text.contains("onPremisesSyncBehavior is not readable: optional, it needs User-OnPremisesSyncBehavior.ReadWrite.All + Group-OnPremisesSyncBehavior.ReadWrite.All (no read-only permission exists)"),
            "{text}"
        );
        assert!(!text.contains("Not readable:"), "{text}");
        assert!(
            !least_privilege(true)
                .iter()
                .any(|p| p.contains("OnPremisesSyncBehavior")),
            "a read-only audit is not asked for a ReadWrite permission"
        );
    }

    #[test]
    fn forbidden_users_disable_the_matching_rules_but_not_tenant_health() {
        let d = diagnosis_with_forbidden(Collection::Users);
        assert!(d.disabled_rules.contains_key("invalid-soft-match"));
        assert!(d.disabled_rules.contains_key("duplicate-attribute"));
        assert!(!d.disabled_rules.contains_key("directory-sync-stale"));
        assert!(!d.disabled_rules.contains_key("password-hash-sync-stale"));
    }
}
