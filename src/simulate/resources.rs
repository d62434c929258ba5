//! The Graph resources of the simulated tenant: which paths exist under `/v1.0` and `/beta`,
//! what each kind of object allows (properties, default property set, `$filter` table, paging),
//! collection pages with `@odata.nextLink`/`@odata.count`, single entities, `$count`, directory
//! roles and their members, and the Cloud Sync job actions (start, pause, restart) with the
//! state changes the synchronization API documents
//! (<https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-start>, `-pause`,
//! `-restart`). Delta queries
//! (`/users/delta`, `/contacts/delta`, `/groups/delta`) are routed here and served by `delta`.
//!
//! Pages are written record by record into one buffer, never as a whole-collection JSON value.
//! This module answers with bodies or `ErrorResponse`s; authentication, throttling, faults,
//! latency and headers belong to `server`. It shares no code with the project's Graph client.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use super::delta::delta;
use super::folded::FoldedColumn;
use super::model::{
    DirectoryRole, DirectorySynchronization, Domain, Group, OrgContact, Organization,
    ServicePrincipal, SimTenant, SyncJob, User,
};
use super::odata::{self, FilterTable, FilterTarget, PageToken, Query, Text, percent_encode};
use super::response::{ErrorResponse, GRAPH_JSON};
use super::select::{Selected, property_names, property_value};
use super::server::Shared;
use super::token::Caller;

/// The resource kinds the simulator serves and what each allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    User,
    Contact,
    Group,
    ServicePrincipal,
    DirectoryRole,
    Domain,
    Organization,
    SyncJob,
    DirSync,
}

pub(super) struct KindInfo {
    pub(super) entity_set: &'static str,
    type_name: &'static str,
    resource: &'static str,
    properties: Vec<String>,
    /// What Graph's v1.0 metadata declares for the type: a `$select` of one of these that the
    /// simulator does not model is accepted (and not returned) instead of refused.
    graph_declared: std::collections::BTreeSet<String>,
    /// Returned without `$select` (None: every property).
    defaults: Option<Vec<String>>,
    filters: Option<FilterTable>,
    pageable: bool,
}

pub(super) struct Meta {
    kinds: Vec<(Kind, KindInfo)>,
    /// v1.0's organization: the beta resource minus its beta-only properties.
    organization_v1: KindInfo,
    /// v1.0's servicePrincipal: without publisherName, which only the beta schema declares.
    service_principal_v1: KindInfo,
    /// A national cloud: its beta organization is the v1.0 one (no password-sync time).
    national_cloud: bool,
}

impl Meta {
    // One entry per resource kind: a table, not logic.
    #[allow(clippy::too_many_lines)]
    pub(super) fn new(national_cloud: bool) -> Self {
        let info = |entity_set, type_name, resource, properties: Vec<String>, filters, pageable| {
            KindInfo {
                entity_set,
                type_name,
                resource,
                properties,
                graph_declared: crate::graph_metadata::declared(type_name, "v1.0"),
                defaults: None,
                filters,
                pageable,
            }
        };
        let mut user = info(
            "users",
            "user",
            "User",
            property_names::<User>(),
            Some(odata::USER_FILTERS),
            true,
        );
        // Without $select only the default property set comes back
        // (https://learn.microsoft.com/graph/api/user-list).
        user.defaults = Some(User::DEFAULT_PROPERTIES.map(str::to_owned).to_vec());
        let org_props = property_names::<Organization>();
        let org_v1: Vec<String> = org_props
            .iter()
            .filter(|p| !Organization::BETA_ONLY_PROPERTIES.contains(&p.as_str()))
            .cloned()
            .collect();
        let sp_v1: Vec<String> = property_names::<ServicePrincipal>()
            .into_iter()
            .filter(|p| !ServicePrincipal::BETA_ONLY_PROPERTIES.contains(&p.as_str()))
            .collect();
        Self {
            kinds: vec![
                (Kind::User, user),
                (
                    Kind::Contact,
                    info(
                        "contacts",
                        "orgContact",
                        "OrgContact",
                        property_names::<OrgContact>(),
                        Some(odata::CONTACT_FILTERS),
                        true,
                    ),
                ),
                (
                    Kind::Group,
                    info(
                        "groups",
                        "group",
                        "Group",
                        property_names::<Group>(),
                        Some(odata::GROUP_FILTERS),
                        true,
                    ),
                ),
                (
                    Kind::ServicePrincipal,
                    info(
                        "servicePrincipals",
                        "servicePrincipal",
                        "ServicePrincipal",
                        property_names::<ServicePrincipal>(),
                        Some(odata::SERVICE_PRINCIPAL_FILTERS),
                        true,
                    ),
                ),
                (
                    Kind::DirectoryRole,
                    info(
                        "directoryRoles",
                        "directoryRole",
                        "DirectoryRole",
                        property_names::<DirectoryRole>(),
                        Some(odata::DIRECTORY_ROLE_FILTERS),
                        false,
                    ),
                ),
                (
                    Kind::Domain,
                    info(
                        "domains",
                        "domain",
                        "Domain",
                        property_names::<Domain>(),
                        None,
                        false,
                    ),
                ),
                (
                    Kind::Organization,
                    info(
                        "organization",
                        "organization",
                        "Organization",
                        org_props,
                        None,
                        false,
                    ),
                ),
                (
                    Kind::SyncJob,
                    info(
                        "jobs",
                        "synchronizationJob",
                        "SynchronizationJob",
                        property_names::<SyncJob>(),
                        None,
                        false,
                    ),
                ),
                (
                    Kind::DirSync,
                    info(
                        "onPremisesSynchronization",
                        "onPremisesDirectorySynchronization",
                        "OnPremisesDirectorySynchronization",
                        property_names::<DirectorySynchronization>(),
                        None,
                        false,
                    ),
                ),
            ],
            organization_v1: info(
                "organization",
                "organization",
                "Organization",
                org_v1,
                None,
                false,
            ),
            service_principal_v1: info(
                "servicePrincipals",
                "servicePrincipal",
                "ServicePrincipal",
                sp_v1,
                Some(odata::SERVICE_PRINCIPAL_FILTERS),
                true,
            ),
            national_cloud,
        }
    }

    fn get(&self, kind: Kind, beta: bool) -> &KindInfo {
        if kind == Kind::Organization && (!beta || self.national_cloud) {
            return &self.organization_v1;
        }
        if kind == Kind::ServicePrincipal && !beta {
            return &self.service_principal_v1;
        }
        self.kinds
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(&self.organization_v1, |(_, i)| i)
    }
}

/// A successful Graph answer before headers, faults, latency and compression.
pub(super) struct GraphOk {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    /// Objects on the page (for the per-object latency).
    pub objects: usize,
}

impl GraphOk {
    pub(super) fn json(body: Vec<u8>, objects: usize) -> Self {
        Self {
            status: StatusCode::OK,
            body,
            content_type: GRAPH_JSON,
            objects,
        }
    }

    fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: Vec::new(),
            content_type: GRAPH_JSON,
            objects: 0,
        }
    }
}

pub(super) type GraphResult = Result<GraphOk, ErrorResponse>;

/// Everything a Graph resource handler needs to know about the request.
pub(super) struct Ctx<'a> {
    pub s: &'a Shared,
    pub version: &'a str,
    pub beta: bool,
    pub headers: &'a HeaderMap,
    /// The request path as received (nextLinks repeat it).
    pub path: &'a str,
    pub q: &'a Query,
    /// Serve half a page (the `short` fault).
    pub short_page: bool,
}

impl Ctx<'_> {
    pub(super) fn context_url(&self, fragment: &str) -> String {
        format!("{}/{}/$metadata#{fragment}", self.s.base_url, self.version)
    }

    fn eventual(&self) -> bool {
        self.headers
            .get("consistencylevel")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"))
    }
}

fn unsupported_expand(kind: &KindInfo) -> ErrorResponse {
    ErrorResponse::unsupported_query(format!(
        "The simulated tenant does not implement $expand on {}.",
        kind.entity_set
    ))
}

/// Routes a Graph path (segments after the version, percent-decoded).
// A routing table reads best as one match.
#[allow(clippy::too_many_lines)]
pub(super) fn resource(
    ctx: &Ctx<'_>,
    caller: &Caller,
    method: &Method,
    segs: &[String],
    body: &Bytes,
) -> GraphResult {
    let lower: Vec<String> = segs.iter().map(|x| x.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let get = *method == Method::GET;
    let tenant = ctx.s.read_tenant();
    let info = |k| ctx.s.meta.get(k, ctx.beta);
    match l.as_slice() {
        [] => Err(ErrorResponse::unknown_segment("")),
        // Delta queries (https://learn.microsoft.com/graph/delta-query-overview); the change
        // log is locked after the tenant, as the SimHandle hooks do.
        [set @ ("users" | "contacts" | "groups"), "delta"] => {
            if !get {
                return Err(ErrorResponse::method_not_allowed());
            }
            let log = ctx.s.change_log();
            match *set {
                "users" => delta::<User>(ctx, info(Kind::User), &tenant, &log),
                "contacts" => delta::<OrgContact>(ctx, info(Kind::Contact), &tenant, &log),
                _ => delta::<Group>(ctx, info(Kind::Group), &tenant, &log),
            }
        }
        // GET .../synchronization/jobs/{jobId}/schema: the job's synchronization rules with their
        // container filter (a beta property: https://learn.microsoft.com/graph/api/resources/synchronization-containerfilter?view=graph-rest-beta).
        [
            "serviceprincipals",
            _,
            "synchronization",
            "jobs",
            _,
            "schema",
        ] if get => {
            let (sp, job_id) = (&segs[1], &segs[4]);
            let job = tenant
                .sync_jobs
                .iter()
                .find(|j| {
                    j.service_principal_id.eq_ignore_ascii_case(sp)
                        && j.id.eq_ignore_ascii_case(job_id)
                })
                .ok_or_else(|| ErrorResponse::not_found(job_id))?;
            let body =
                serde_json::to_vec(&job_schema(ctx, sp, job)).expect("a JSON value serialises");
            Ok(GraphOk::json(body, 1))
        }
        // POST .../synchronization/jobs/{jobId}/{start|pause|restart}
        ["serviceprincipals", _, "synchronization", "jobs", _, action] => {
            if *method != Method::POST {
                return Err(ErrorResponse::method_not_allowed());
            }
            drop(tenant);
            job_action(ctx, &segs[1], &segs[4], action, body)
        }
        _ if !get => Err(ErrorResponse::method_not_allowed()),
        [set @ ("users" | "groups"), _, "onpremisessyncbehavior"] => {
            sync_behavior(ctx, &tenant, set, &segs[1], &segs[2])
        }
        ["users"] => list(ctx, info(Kind::User), &tenant.users, None),
        ["users", "$count"] => count(ctx, info(Kind::User), &tenant.users),
        ["users", _] => {
            let key = &segs[1];
            // A user can be addressed by id or by userPrincipalName.
            let user = tenant.users.iter().find(|u| {
                u.id.eq_ignore_ascii_case(key) || u.user_principal_name.eq_ignore_ascii_case(key)
            });
            one(ctx, info(Kind::User), user, key, None)
        }
        ["contacts"] => list(ctx, info(Kind::Contact), &tenant.contacts, None),
        ["contacts", "$count"] => count(ctx, info(Kind::Contact), &tenant.contacts),
        ["contacts", _] => {
            let c = tenant
                .contacts
                .iter()
                .find(|c| c.id.eq_ignore_ascii_case(&segs[1]));
            one(ctx, info(Kind::Contact), c, &segs[1], None)
        }
        ["groups"] => list(ctx, info(Kind::Group), &tenant.groups, None),
        ["groups", "$count"] => count(ctx, info(Kind::Group), &tenant.groups),
        ["groups", _] => {
            let g = tenant
                .groups
                .iter()
                .find(|g| g.id.eq_ignore_ascii_case(&segs[1]));
            one(ctx, info(Kind::Group), g, &segs[1], None)
        }
        ["organization"] => list(
            ctx,
            info(Kind::Organization),
            std::slice::from_ref(&tenant.organization),
            None,
        ),
        ["organization", _] => {
            let o = Some(&tenant.organization).filter(|o| o.id.eq_ignore_ascii_case(&segs[1]));
            one(ctx, info(Kind::Organization), o, &segs[1], None)
        }
        ["domains"] => list(ctx, info(Kind::Domain), &tenant.domains, None),
        ["domains", _] => {
            let d = tenant
                .domains
                .iter()
                .find(|d| d.id.eq_ignore_ascii_case(&segs[1]));
            one(ctx, info(Kind::Domain), d, &segs[1], None)
        }
        ["directoryroles"] => directory_roles(ctx, &tenant, None),
        ["directoryroles", _] => directory_roles(ctx, &tenant, Some(&segs[1])),
        ["directoryroles", _, "members"] => role_members(ctx, &tenant, &segs[1]),
        ["rolemanagement", "directory", "roledefinitions"] => role_definitions(ctx, &tenant),
        ["rolemanagement", "directory", "roleassignments"] => {
            role_assignments(ctx, &tenant, RoleList::Active)
        }
        ["rolemanagement", "directory", "roleeligibilityschedules"] => {
            role_assignments(ctx, &tenant, RoleList::Eligible)
        }
        ["groups", _, "transitivemembers"] => transitive_members(ctx, &tenant, &segs[1]),
        ["directory", "onpremisessynchronization", rest @ ..] => {
            // "Application: Not supported." (onpremisesdirectorysynchronization-get): app-only
            // tokens are refused whatever they hold.
            if !caller.delegated {
                return Err(ErrorResponse::forbidden());
            }
            let ds = std::slice::from_ref(&tenant.directory_synchronization);
            match rest {
                [] => list(
                    ctx,
                    info(Kind::DirSync),
                    ds,
                    Some("directory/onPremisesSynchronization".to_owned()),
                ),
                [id] => {
                    let found = ds.first().filter(|d| d.id.eq_ignore_ascii_case(id));
                    one(
                        ctx,
                        info(Kind::DirSync),
                        found,
                        id,
                        Some("directory/onPremisesSynchronization/$entity".to_owned()),
                    )
                }
                _ => Err(ErrorResponse::unknown_segment(&segs[segs.len() - 1])),
            }
        }
        ["serviceprincipals"] => list(
            ctx,
            info(Kind::ServicePrincipal),
            &tenant.service_principals,
            None,
        ),
        ["serviceprincipals", "$count"] => count(
            ctx,
            info(Kind::ServicePrincipal),
            &tenant.service_principals,
        ),
        ["serviceprincipals", _] => {
            let sp = tenant
                .service_principals
                .iter()
                .find(|p| p.id.eq_ignore_ascii_case(&segs[1]));
            one(ctx, info(Kind::ServicePrincipal), sp, &segs[1], None)
        }
        ["serviceprincipals", _, "synchronization", "jobs"] => {
            let sp = &segs[1];
            if !tenant
                .service_principals
                .iter()
                .any(|p| p.id.eq_ignore_ascii_case(sp))
            {
                return Err(ErrorResponse::not_found(sp));
            }
            let jobs: Vec<SyncJob> = tenant
                .sync_jobs
                .iter()
                .filter(|j| j.service_principal_id.eq_ignore_ascii_case(sp))
                .cloned()
                .collect();
            list(
                ctx,
                info(Kind::SyncJob),
                &jobs,
                Some(format!("servicePrincipals('{sp}')/synchronization/jobs")),
            )
        }
        ["serviceprincipals", _, "synchronization", "jobs", _] => {
            let (sp, job_id) = (&segs[1], &segs[4]);
            let job = tenant.sync_jobs.iter().find(|j| {
                j.service_principal_id.eq_ignore_ascii_case(sp) && j.id.eq_ignore_ascii_case(job_id)
            });
            one(
                ctx,
                info(Kind::SyncJob),
                job,
                job_id,
                Some(format!(
                    "servicePrincipals('{sp}')/synchronization/jobs/$entity"
                )),
            )
        }
        _ => Err(ErrorResponse::unknown_segment(
            segs.last().map_or("", String::as_str),
        )),
    }
}

/// The property names a request sees: its `$select` (checked against the type) or the
/// resource's default set.
pub(super) fn resolve_select(
    kind: &KindInfo,
    select: Option<&Vec<String>>,
) -> Result<Vec<String>, ErrorResponse> {
    let Some(names) = select else {
        return Ok(kind
            .defaults
            .clone()
            .unwrap_or_else(|| kind.properties.clone()));
    };
    let mut out: Vec<String> = Vec::new();
    for name in names {
        if name == "*" {
            return Ok(kind.properties.clone());
        }
        let modelled = kind
            .properties
            .iter()
            .find(|p| p.eq_ignore_ascii_case(name));
        // A real property the simulator does not model is accepted and left out, as a tenant
        // without a value would; only a property Graph does not declare is a 400.
        if modelled.is_none()
            && kind
                .graph_declared
                .iter()
                .any(|p| p.eq_ignore_ascii_case(name))
        {
            continue;
        }
        let canonical = modelled.ok_or_else(|| {
            ErrorResponse::bad_request(
                "BadRequest",
                format!(
                    "Could not find a property named '{name}' on type 'microsoft.graph.{}'.",
                    kind.type_name
                ),
            )
        })?;
        if !out.contains(canonical) {
            out.push(canonical.clone());
        }
    }
    Ok(out)
}

fn select_suffix(q: &Query, selected: &[String]) -> String {
    if q.select.is_some() {
        format!("({})", selected.join(","))
    } else {
        String::new()
    }
}

/// A filter parsed and checked for this resource; `advanced` = `ConsistencyLevel: eventual`
/// with `$count=true` (<https://learn.microsoft.com/graph/aad-advanced-queries>).
fn resolve_filter(
    ctx: &Ctx<'_>,
    kind: &KindInfo,
    advanced: bool,
) -> Result<Option<odata::Filter>, ErrorResponse> {
    let Some(text) = &ctx.q.filter else {
        return Ok(None);
    };
    let Some(table) = kind.filters else {
        return Err(ErrorResponse::unsupported_query(format!(
            "The {} collection does not support $filter.",
            kind.entity_set
        )));
    };
    let target = FilterTarget {
        resource: kind.resource,
        type_name: kind.type_name,
        properties: &kind.properties,
        table,
    };
    let filter = odata::parse_filter(text)?.resolve(&target, advanced)?;
    // The `refuse-filter` fault: the wording Graph uses for a clause it cannot serve
    // ("Unsupported or invalid query filter clause specified for property ... of resource
    // 'User'.", https://learn.microsoft.com/answers/questions/577870).
    if let Some(refused) = filter
        .properties()
        .into_iter()
        .find(|p| ctx.s.faults().refuses_filter_on(p))
    {
        ctx.s.count_fault("refused-filter");
        return Err(ErrorResponse::unsupported_query(format!(
            "Unsupported or invalid query filter clause specified for property '{refused}' of resource '{}'.",
            kind.resource
        )));
    }
    Ok(Some(filter))
}

fn count_requires_eventual() -> ErrorResponse {
    // fixtures/graph-samples/advanced-query-count-missing.error.json
    ErrorResponse::bad_request("Request_BadRequest", "$count is not currently supported.")
}

/// Refuses `$count` when the `refuse-count` fault is set for this collection (the documented
/// 400 whatever the headers).
fn check_count_fault(ctx: &Ctx<'_>, kind: &KindInfo) -> Result<(), ErrorResponse> {
    let faults = ctx.s.faults();
    if faults.options().refuse_count && faults.count_faults_apply_to(kind.entity_set) {
        ctx.s.count_fault("refused-count");
        return Err(count_requires_eventual());
    }
    Ok(())
}

/// The `/$count` segment: refused by the fault, else without `ConsistencyLevel: eventual` (AQ;
/// fixtures/graph-samples/advanced-query-count-missing.error.json).
fn check_count_allowed(ctx: &Ctx<'_>, kind: &KindInfo) -> Result<(), ErrorResponse> {
    check_count_fault(ctx, kind)?;
    if !ctx.eventual() {
        return Err(count_requires_eventual());
    }
    Ok(())
}

/// A count as the tenant reports it: exact, unless the `count-offset` fault skews it for this
/// collection.
fn reported_count(ctx: &Ctx<'_>, kind: &KindInfo, n: usize) -> i64 {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let faults = ctx.s.faults();
    let offset = faults.options().count_offset;
    if offset == 0 || !faults.count_faults_apply_to(kind.entity_set) {
        return n;
    }
    ctx.s.count_fault("miscount");
    n.saturating_add(offset).max(0)
}

fn matches_filter<T: Serialize + QuickText>(filter: Option<&odata::Filter>, item: &T) -> bool {
    filter.is_none_or(|f| {
        f.matches_with(&|p: &str| item.quick_text(p), &|p: &str| {
            property_value(item, p)
        })
    })
}

/// As [`matches_filter`] for record `i` of its collection, reading the properties `folded`
/// holds from their columns.
fn matches_filter_at<T: Serialize + QuickText>(
    filter: Option<&odata::Filter>,
    item: &T,
    folded: &[(&str, Arc<FoldedColumn>)],
    i: usize,
) -> bool {
    filter.is_none_or(|f| {
        f.matches_with(
            &|p: &str| match folded.iter().find(|(name, _)| *name == p) {
                Some((_, column)) => column.get(i),
                None => item.quick_text(p),
            },
            &|p: &str| property_value(item, p),
        )
    })
}

/// The folded columns of the properties `filter` reads that the records answer directly.
fn folded_columns<'f, T: QuickText + 'static>(
    ctx: &Ctx<'_>,
    filter: &'f odata::Filter,
    items: &[T],
) -> Vec<(&'f str, Arc<FoldedColumn>)> {
    let generation = ctx.s.generation();
    let mut names = filter.properties();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .filter_map(|p| Some((p, ctx.s.folded.get(items, p, generation)?)))
        .collect()
}

/// The string properties a record answers without being serialised: those partitioned paging
/// filters on (`startswith(userPrincipalName,'a')`, `startswith(displayName,'a')`), which a
/// filtered page evaluates on every record it scans. `None`: not offered here (the filter then
/// reads the property from the record's JSON, with the same result).
pub(super) trait QuickText {
    fn quick_text(&self, _canonical: &str) -> Text<'_> {
        Text::Unknown
    }
}

impl QuickText for User {
    fn quick_text(&self, canonical: &str) -> Text<'_> {
        match canonical {
            "userPrincipalName" => Text::Str(&self.user_principal_name),
            "displayName" => Text::from(self.display_name.as_deref()),
            _ => Text::Unknown,
        }
    }
}

// The small collections: their filters read the JSON.
impl QuickText for Organization {}
impl QuickText for Domain {}
impl QuickText for DirectorySynchronization {}
impl QuickText for ServicePrincipal {}
impl QuickText for SyncJob {}
impl QuickText for DirectoryRole {}

impl QuickText for OrgContact {
    fn quick_text(&self, canonical: &str) -> Text<'_> {
        if canonical == "displayName" {
            Text::from(self.display_name.as_deref())
        } else {
            Text::Unknown
        }
    }
}

impl QuickText for Group {
    fn quick_text(&self, canonical: &str) -> Text<'_> {
        if canonical == "displayName" {
            Text::from(self.display_name.as_deref())
        } else {
            Text::Unknown
        }
    }
}

pub(super) fn write_json<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> Result<(), ErrorResponse> {
    serde_json::to_writer(&mut *out, value).map_err(|e| {
        ErrorResponse::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            format!("serialising the response failed: {e}"),
        )
    })
}

/// A collection page: `$select`, `$filter`, `$count`, `$top` and `$skiptoken` paging
/// (<https://learn.microsoft.com/graph/paging>). `fragment` overrides the `@odata.context`
/// fragment (default: the entity set).
fn list<T: Serialize + QuickText + 'static>(
    ctx: &Ctx<'_>,
    kind: &KindInfo,
    items: &[T],
    fragment: Option<String>,
) -> GraphResult {
    let q = ctx.q;
    if q.expand.is_some() {
        return Err(unsupported_expand(kind));
    }
    // `$count=true` without `ConsistencyLevel: eventual` is not an error: Graph ignores it and
    // returns no @odata.count (only the `/$count` segment answers 400 without the header).
    if q.count {
        check_count_fault(ctx, kind)?;
        // A later page of a counted query without the header: what Graph answers is not
        // documented (UNVERIFIED); the simulator keeps refusing it, so a pager that forgets to
        // re-send the header is caught.
        if q.skiptoken.is_some() && !ctx.eventual() {
            return Err(count_requires_eventual());
        }
    }
    let advanced = q.count && ctx.eventual();
    let filter = resolve_filter(ctx, kind, advanced)?;
    let selected = resolve_select(kind, q.select.as_ref())?;
    let names: Vec<&str> = selected.iter().map(String::as_str).collect();

    let fingerprint = odata::fingerprint(ctx.path, q);
    let start = match &q.skiptoken {
        Some(t) => odata::decode_skiptoken(&ctx.s.skiptoken_key, t, &fingerprint)?.pos,
        None => 0,
    };
    let first_page = q.skiptoken.is_none();
    let size = if kind.pageable {
        let asked = q.top.unwrap_or(ctx.s.default_page_size) as usize;
        if ctx.short_page {
            ctx.s.count_fault("short");
            asked.div_ceil(2)
        } else {
            asked
        }
    } else {
        // Small collections come back whole (roles, domains, jobs...).
        usize::MAX
    };
    let folded = filter
        .as_ref()
        .map(|f| folded_columns(ctx, f, items))
        .unwrap_or_default();
    let matches = |i: usize| matches_filter_at(filter.as_ref(), &items[i], &folded, i);
    let mut picked: Vec<&T> = Vec::with_capacity(size.min(1000));
    let mut i = start.min(items.len());
    let mut scanned = 0;
    while i < items.len() && picked.len() < size && scanned < ctx.s.max_scan {
        if matches(i) {
            picked.push(&items[i]);
        }
        i += 1;
        scanned += 1;
    }
    let next = (i < items.len()).then(|| next_link(ctx, fingerprint.clone(), i));
    // "@odata.count ... will be present only in the first page" (PAGING).
    let total = (advanced && first_page).then(|| {
        let n = (0..items.len()).filter(|&i| matches(i)).count();
        reported_count(ctx, kind, n)
    });

    let fragment =
        fragment.unwrap_or_else(|| format!("{}{}", kind.entity_set, select_suffix(q, &selected)));
    let mut out = Vec::with_capacity(64 + picked.len() * 400);
    out.extend_from_slice(b"{\"@odata.context\":");
    write_json(&mut out, &ctx.context_url(&fragment))?;
    if let Some(n) = total {
        out.extend_from_slice(b",\"@odata.count\":");
        write_json(&mut out, &n)?;
    }
    if let Some(link) = &next {
        out.extend_from_slice(b",\"@odata.nextLink\":");
        write_json(&mut out, link)?;
    }
    out.extend_from_slice(b",\"value\":[");
    for (n, item) in picked.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write_json(&mut out, &Selected::new(*item, &names))?;
    }
    out.extend_from_slice(b"]}");
    Ok(GraphOk::json(out, picked.len()))
}

/// One entity (`GET /users/{id}`): `$select` applies, `$filter`/`$top` do not.
/// `GET /beta/{users|groups}/{id}/onPremisesSyncBehavior`
/// (<https://learn.microsoft.com/graph/api/onpremisessyncbehavior-get?view=graph-rest-beta>):
/// beta only (v1.0 does not know the segment), one object, `{"id", "isCloudManaged"}`. Its
/// permissions are `ReadWrite` ones, so the `forbidden` fault names it on its own
/// (`onPremisesSyncBehavior`), apart from the users and groups lists.
fn sync_behavior(
    ctx: &Ctx<'_>,
    tenant: &SimTenant,
    set: &str,
    key: &str,
    segment: &str,
) -> GraphResult {
    if !ctx.beta {
        return Err(ErrorResponse::unknown_segment(segment));
    }
    if ctx.s.faults().is_forbidden("onPremisesSyncBehavior") {
        ctx.s.count_fault("forbidden");
        return Err(ErrorResponse::forbidden());
    }
    let id = if set == "users" {
        tenant
            .users
            .iter()
            .find(|u| u.id.eq_ignore_ascii_case(key))
            .map(|u| u.id.as_str())
    } else {
        tenant
            .groups
            .iter()
            .find(|g| g.id.eq_ignore_ascii_case(key))
            .map(|g| g.id.as_str())
    }
    .ok_or_else(|| ErrorResponse::not_found(key))?;
    let entity = if set == "users" { "users" } else { "groups" };
    let body = serde_json::json!({
        "@odata.context": ctx.context_url(&format!("{entity}('{id}')/onPremisesSyncBehavior/$entity")),
        "id": id,
        "isCloudManaged": tenant.cloud_managed.contains(id),
    });
    let bytes = serde_json::to_vec(&body).expect("a JSON value serialises");
    Ok(GraphOk::json(bytes, 1))
}

fn one<T: Serialize>(
    ctx: &Ctx<'_>,
    kind: &KindInfo,
    item: Option<&T>,
    key: &str,
    fragment: Option<String>,
) -> GraphResult {
    let item = item.ok_or_else(|| ErrorResponse::not_found(key))?;
    if ctx.q.expand.is_some() {
        return Err(unsupported_expand(kind));
    }
    let selected = resolve_select(kind, ctx.q.select.as_ref())?;
    let names: Vec<&str> = selected.iter().map(String::as_str).collect();
    let fragment = fragment.unwrap_or_else(|| {
        format!(
            "{}{}/$entity",
            kind.entity_set,
            select_suffix(ctx.q, &selected)
        )
    });
    let mut value = serde_json::to_value(Selected::new(item, &names)).map_err(|e| {
        ErrorResponse::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            e.to_string(),
        )
    })?;
    let mut out = serde_json::Map::new();
    out.insert(
        "@odata.context".to_owned(),
        Value::String(ctx.context_url(&fragment)),
    );
    if let Value::Object(fields) = &mut value {
        out.append(fields);
    }
    let body = serde_json::to_vec(&Value::Object(out)).unwrap_or_default();
    Ok(GraphOk::json(body, 1))
}

/// `GET /users/$count` (needs `ConsistencyLevel: eventual`; AQ): a plain-text number.
fn count<T: Serialize + QuickText>(ctx: &Ctx<'_>, kind: &KindInfo, items: &[T]) -> GraphResult {
    check_count_allowed(ctx, kind)?;
    let filter = resolve_filter(ctx, kind, true)?;
    let n = items
        .iter()
        .filter(|it| matches_filter(filter.as_ref(), *it))
        .count();
    let n = reported_count(ctx, kind, n);
    Ok(GraphOk {
        status: StatusCode::OK,
        body: n.to_string().into_bytes(),
        content_type: "text/plain;charset=utf-8",
        objects: 0,
    })
}

/// A directory object by id, as a role's member: the object's default properties with its
/// `@odata.type` (<https://learn.microsoft.com/graph/api/directoryrole-list-members>).
fn render_member(ctx: &Ctx<'_>, tenant: &SimTenant, id: &str, odata_type: &str) -> Value {
    let typed = |v: Result<Value, serde_json::Error>| v.unwrap_or(Value::Null);
    let with_type = |names: &[String], f: &dyn Fn(&[&str]) -> Result<Value, serde_json::Error>| {
        let n: Vec<&str> = names.iter().map(String::as_str).collect();
        typed(f(&n))
    };
    let meta = |k| ctx.s.meta.get(k, ctx.beta);
    let defaults = |k: Kind| {
        let i = meta(k);
        i.defaults.clone().unwrap_or_else(|| i.properties.clone())
    };
    if let Some(u) = tenant.users.iter().find(|u| u.id == id) {
        return with_type(&defaults(Kind::User), &|n| {
            serde_json::to_value(Selected {
                value: u,
                props: n,
                odata_type: Some("#microsoft.graph.user"),
            })
        });
    }
    if let Some(g) = tenant.groups.iter().find(|g| g.id == id) {
        return with_type(&defaults(Kind::Group), &|n| {
            serde_json::to_value(Selected {
                value: g,
                props: n,
                odata_type: Some("#microsoft.graph.group"),
            })
        });
    }
    if let Some(sp) = tenant.service_principals.iter().find(|p| p.id == id) {
        return with_type(&defaults(Kind::ServicePrincipal), &|n| {
            serde_json::to_value(Selected {
                value: sp,
                props: n,
                odata_type: Some("#microsoft.graph.servicePrincipal"),
            })
        });
    }
    json!({"@odata.type": odata_type, "id": id})
}

fn select_value(mut v: Value, select: Option<&Vec<String>>) -> Value {
    if let (Some(names), Value::Object(map)) = (select, &mut v) {
        map.retain(|k, _| k == "@odata.type" || names.iter().any(|n| n.eq_ignore_ascii_case(k)));
    }
    v
}

/// `GET /directoryRoles` (optionally `$expand=members`) and `GET /directoryRoles/{id}`.
fn directory_roles(ctx: &Ctx<'_>, tenant: &SimTenant, id: Option<&str>) -> GraphResult {
    let kind = ctx.s.meta.get(Kind::DirectoryRole, ctx.beta);
    let expand = match ctx.q.expand.as_deref().map(str::trim) {
        None => false,
        Some(e) if e.eq_ignore_ascii_case("members") => true,
        Some(other) => {
            return Err(ErrorResponse::bad_request(
                "BadRequest",
                format!(
                    "Parsing OData Select and Expand failed: Could not find a property named '{other}' on type 'microsoft.graph.directoryRole'."
                ),
            ));
        }
    };
    // `$count=true` without `ConsistencyLevel: eventual` is ignored, as in `list`.
    let counted = ctx.q.count && ctx.eventual();
    let filter = resolve_filter(ctx, kind, counted)?;
    let selected = resolve_select(kind, ctx.q.select.as_ref())?;
    let names: Vec<&str> = selected.iter().map(String::as_str).collect();
    let render = |role: &DirectoryRole| -> Value {
        let mut v = serde_json::to_value(Selected::new(role, &names)).unwrap_or(Value::Null);
        if expand {
            // Graph returns at most 20 expanded directory objects and no next link
            // (https://learn.microsoft.com/graph/known-issues, "$expand ... 20 objects").
            let members: Vec<Value> = role
                .members
                .iter()
                .take(EXPAND_LIMIT)
                .map(|(mid, t)| render_member(ctx, tenant, mid, t))
                .collect();
            v["members"] = Value::Array(members);
        }
        v
    };
    let suffix = select_suffix(ctx.q, &selected);
    if let Some(id) = id {
        let role = tenant
            .directory_roles
            .iter()
            .find(|r| r.id.eq_ignore_ascii_case(id) || r.role_template_id.eq_ignore_ascii_case(id))
            .ok_or_else(|| ErrorResponse::not_found(id))?;
        let mut v = render(role);
        if let Value::Object(map) = &mut v {
            let mut out = serde_json::Map::new();
            out.insert(
                "@odata.context".to_owned(),
                Value::String(ctx.context_url(&format!("directoryRoles{suffix}/$entity"))),
            );
            out.append(map);
            v = Value::Object(out);
        }
        return Ok(GraphOk::json(serde_json::to_vec(&v).unwrap_or_default(), 1));
    }
    let roles: Vec<Value> = tenant
        .directory_roles
        .iter()
        .filter(|r| matches_filter(filter.as_ref(), *r))
        .map(render)
        .collect();
    let mut body = serde_json::Map::new();
    body.insert(
        "@odata.context".to_owned(),
        Value::String(ctx.context_url(&format!("directoryRoles{suffix}"))),
    );
    if counted {
        body.insert("@odata.count".to_owned(), json!(roles.len()));
    }
    let n = roles.len();
    body.insert("value".to_owned(), Value::Array(roles));
    Ok(GraphOk::json(
        serde_json::to_vec(&Value::Object(body)).unwrap_or_default(),
        n,
    ))
}

/// How many objects Graph expands on a directory object's relationship (known issues page).
const EXPAND_LIMIT: usize = 20;

#[derive(Debug, Clone, Copy)]
enum RoleList {
    Active,
    Eligible,
}

/// `GET /roleManagement/directory/roleDefinitions`: the built-in roles the tenant's
/// directoryRoles activate (a built-in role's definition id is its template id).
fn role_definitions(ctx: &Ctx<'_>, tenant: &SimTenant) -> GraphResult {
    if ctx.q.filter.is_some() || ctx.q.expand.is_some() {
        return Err(ErrorResponse::unsupported_query(
            "The simulated tenant implements only $select on roleDefinitions.",
        ));
    }
    let defs: Vec<Value> = tenant
        .directory_roles
        .iter()
        .map(|r| {
            select_value(
                json!({
                    "id": r.role_template_id,
                    "displayName": r.display_name,
                    "description": r.description,
                    "templateId": r.role_template_id,
                    "isBuiltIn": true,
                    "isEnabled": true,
                }),
                ctx.q.select.as_ref(),
            )
        })
        .collect();
    let n = defs.len();
    let body = json!({
        "@odata.context": ctx.context_url("roleManagement/directory/roleDefinitions"),
        "value": defs,
    });
    Ok(GraphOk::json(
        serde_json::to_vec(&body).unwrap_or_default(),
        n,
    ))
}

/// `GET /roleManagement/directory/roleAssignments` and `.../roleEligibilitySchedules`: one
/// entry per principal and role, paged with `$top` and `$skiptoken` (the collection is not
/// capped like `$expand`), with `$expand=principal` (optionally `($select=id)`).
fn role_assignments(ctx: &Ctx<'_>, tenant: &SimTenant, list: RoleList) -> GraphResult {
    let q = ctx.q;
    if q.filter.is_some() || q.select.is_some() {
        return Err(ErrorResponse::unsupported_query(
            "The simulated tenant implements only $expand=principal, $top and paging on role assignments.",
        ));
    }
    let expand = match q.expand.as_deref().map(str::trim) {
        None => false,
        Some(e)
            if e.eq_ignore_ascii_case("principal")
                || e.to_ascii_lowercase().starts_with("principal(") =>
        {
            true
        }
        Some(other) => {
            return Err(ErrorResponse::bad_request(
                "BadRequest",
                format!(
                    "Could not find a property named '{other}' on type 'microsoft.graph.unifiedRoleAssignment'."
                ),
            ));
        }
    };
    let (entity, prefix) = match list {
        RoleList::Active => ("roleAssignments", "ra"),
        RoleList::Eligible => ("roleEligibilitySchedules", "es"),
    };
    let items: Vec<Value> = tenant
        .directory_roles
        .iter()
        .flat_map(|r| {
            let holders = match list {
                RoleList::Active => &r.members,
                RoleList::Eligible => &r.eligible,
            };
            holders.iter().map(move |(principal, t)| (r, principal, t))
        })
        .map(|(r, principal, t)| {
            let mut v = json!({
                "id": format!("{prefix}-{}-{principal}", r.role_template_id),
                "principalId": principal,
                "roleDefinitionId": r.role_template_id,
                "directoryScopeId": "/",
            });
            if expand {
                v["principal"] = json!({"@odata.type": t, "id": principal});
            }
            v
        })
        .collect();
    page_of_values(ctx, &items, &format!("roleManagement/directory/{entity}"))
}

/// A job's synchronizationSchema, reduced to what the audit reads: one rule per object type,
/// carrying the job's container filter (beta only: v1.0 has no `containerFilter`).
fn job_schema(ctx: &Ctx<'_>, sp: &str, job: &SyncJob) -> Value {
    let container_filter = if ctx.beta && !job.included_containers.is_empty() {
        json!({"includedContainers": job.included_containers})
    } else {
        Value::Null
    };
    // The user mapping, with the job's attribute scoping filter when it has one (one filter
    // group of EQUALS clauses, as the portal writes it).
    let object_mappings = if job.user_scoping_clauses.is_empty() {
        json!([])
    } else {
        let clauses: Vec<Value> = job
            .user_scoping_clauses
            .iter()
            .map(|(attribute, value)| {
                json!({
                    "operatorName": "EQUALS",
                    "sourceOperandName": attribute,
                    "targetOperand": {"kind": "Constant", "values": [value]},
                })
            })
            .collect();
        json!([{
            "enabled": true,
            "flowTypes": "Add, Update, Delete",
            "name": "Provision Active Directory users",
            "sourceObjectName": "user",
            "targetObjectName": "User",
            "attributeMappings": [],
            "metadata": [],
            "scope": {
                "categoryFilterGroups": [],
                "inputFilterGroups": [],
                "groups": [{"name": "in scope", "clauses": clauses}],
            },
        }])
    };
    let rule = |id: &str, name: &str| {
        json!({
            "id": id,
            "name": name,
            "editable": true,
            "priority": 1,
            "sourceDirectoryName": "Active Directory",
            "targetDirectoryName": "Azure Active Directory",
            "containerFilter": container_filter,
            "groupFilter": null,
            "objectMappings": object_mappings,
        })
    };
    json!({
        "@odata.context": ctx.context_url(&format!(
            "servicePrincipals('{sp}')/synchronization/jobs('{}')/schema/$entity",
            job.id
        )),
        "id": job.id,
        "version": "Date:2026-10-01~ID:1",
        "synchronizationRules": [rule("AD2AADProvisioning", "USER")],
        "directories": [],
    })
}

/// The next page's link: the request's own path and query with a signed `$skiptoken` for `pos`.
fn next_link(ctx: &Ctx<'_>, fingerprint: String, pos: usize) -> String {
    let token = odata::encode_skiptoken(
        &ctx.s.skiptoken_key,
        &PageToken {
            q: fingerprint,
            pos,
        },
    );
    let mut link = format!("{}{}?", ctx.s.base_url, ctx.path);
    for (k, v) in &ctx.q.pairs {
        link.push_str(&percent_encode(k));
        link.push('=');
        link.push_str(&percent_encode(v));
        link.push('&');
    }
    link.push_str("$skiptoken=");
    link.push_str(&token);
    link
}

/// `GET /groups/{id}/transitiveMembers` (`$select=id` only), paged.
fn transitive_members(ctx: &Ctx<'_>, tenant: &SimTenant, id: &str) -> GraphResult {
    let group = tenant
        .groups
        .iter()
        .find(|g| g.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| ErrorResponse::not_found(id))?;
    if ctx.q.filter.is_some() || ctx.q.expand.is_some() {
        return Err(ErrorResponse::unsupported_query(
            "The simulated tenant implements only $select and paging on transitiveMembers.",
        ));
    }
    let items: Vec<Value> = group
        .members
        .iter()
        .map(|(mid, t)| json!({"@odata.type": t, "id": mid}))
        .collect();
    page_of_values(ctx, &items, "directoryObjects")
}

/// One page of already-rendered values, `$top` (else the default page size) at a time, with a
/// signed `$skiptoken` next link.
fn page_of_values(ctx: &Ctx<'_>, items: &[Value], context: &str) -> GraphResult {
    let q = ctx.q;
    let fingerprint = odata::fingerprint(ctx.path, q);
    let start = match &q.skiptoken {
        Some(t) => odata::decode_skiptoken(&ctx.s.skiptoken_key, t, &fingerprint)?.pos,
        None => 0,
    }
    .min(items.len());
    let size = (q.top.unwrap_or(ctx.s.default_page_size) as usize).max(1);
    let end = start.saturating_add(size).min(items.len());
    let mut body = serde_json::Map::new();
    body.insert(
        "@odata.context".to_owned(),
        Value::String(ctx.context_url(context)),
    );
    if end < items.len() {
        body.insert(
            "@odata.nextLink".to_owned(),
            Value::String(next_link(ctx, fingerprint, end)),
        );
    }
    let page = items[start..end].to_vec();
    let n = page.len();
    body.insert("value".to_owned(), Value::Array(page));
    Ok(GraphOk::json(
        serde_json::to_vec(&Value::Object(body)).unwrap_or_default(),
        n,
    ))
}

/// `GET /directoryRoles/{id}/members`.
fn role_members(ctx: &Ctx<'_>, tenant: &SimTenant, id: &str) -> GraphResult {
    let role = tenant
        .directory_roles
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(id) || r.role_template_id.eq_ignore_ascii_case(id))
        .ok_or_else(|| ErrorResponse::not_found(id))?;
    if ctx.q.filter.is_some() {
        return Err(ErrorResponse::unsupported_query(
            "The simulated tenant does not implement $filter on role members.",
        ));
    }
    let members: Vec<Value> = role
        .members
        .iter()
        .map(|(mid, t)| select_value(render_member(ctx, tenant, mid, t), ctx.q.select.as_ref()))
        .collect();
    let n = members.len();
    let body = json!({
        "@odata.context": ctx.context_url("directoryObjects"),
        "value": members,
    });
    Ok(GraphOk::json(
        serde_json::to_vec(&body).unwrap_or_default(),
        n,
    ))
}

/// The members of `synchronizationJobRestartScope` (flags in Graph's CSDL;
/// <https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationjobrestartcriteria>).
const RESET_SCOPES: [&str; 7] = [
    "None",
    "ConnectorDataStore",
    "Escrows",
    "Watermark",
    "QuarantineState",
    "Full",
    "ForceDeletes",
];

/// Parses `criteria.resetScope`: comma-separated members, or empty (like the portal's
/// "Restart provisioning": `QuarantineState, Watermark, Escrows`).
fn parse_reset_scope(text: Option<&str>) -> Result<Vec<&'static str>, ErrorResponse> {
    let text = text.unwrap_or("").trim();
    if text.is_empty() {
        return Ok(vec!["QuarantineState", "Watermark", "Escrows"]);
    }
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim) {
        let member = RESET_SCOPES
            .iter()
            .find(|m| m.eq_ignore_ascii_case(part))
            .ok_or_else(|| {
                ErrorResponse::bad_request(
                    "BadRequest",
                    format!("Requested value '{part}' was not found."),
                )
            })?;
        if *member == "Full" {
            // Full = ConnectorDataStore | Escrows | Watermark | QuarantineState (flags 15).
            out.extend([
                "ConnectorDataStore",
                "Escrows",
                "Watermark",
                "QuarantineState",
            ]);
        } else {
            out.push(*member);
        }
    }
    Ok(out)
}

fn payload_error() -> ErrorResponse {
    ErrorResponse::bad_request(
        "BadRequest",
        "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
    )
}

/// `POST .../jobs/{jobId}/start|pause|restart`: 204 and the job's new state
/// (<https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-start>).
fn job_action(ctx: &Ctx<'_>, sp: &str, job_id: &str, action: &str, body: &Bytes) -> GraphResult {
    if !matches!(action, "start" | "pause" | "restart") {
        return Err(ErrorResponse::unknown_segment(action));
    }
    // Validate the request before touching state.
    let scope = if action == "restart" {
        let payload: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(body).map_err(|_| payload_error())?
        };
        let text = payload
            .get("criteria")
            .and_then(|c| c.get("resetScope"))
            .and_then(Value::as_str);
        if payload
            .get("criteria")
            .and_then(|c| c.get("resetScope"))
            .is_some_and(|v| !v.is_string() && !v.is_null())
        {
            return Err(payload_error());
        }
        Some(parse_reset_scope(text)?)
    } else {
        None
    };
    let mut tenant = ctx.s.write_tenant();
    if !tenant
        .service_principals
        .iter()
        .any(|p| p.id.eq_ignore_ascii_case(sp))
    {
        return Err(ErrorResponse::not_found(sp));
    }
    let job = tenant
        .sync_jobs
        .iter_mut()
        .find(|j| {
            j.service_principal_id.eq_ignore_ascii_case(sp) && j.id.eq_ignore_ascii_case(job_id)
        })
        .ok_or_else(|| ErrorResponse::not_found(job_id))?;
    apply_job_action(job, action, scope.as_deref());
    Ok(GraphOk::no_content())
}

const NEVER: &str = "0001-01-01T00:00:00Z";

fn activate(job: &mut SyncJob) {
    "Active".clone_into(&mut job.status.code);
    "Active".clone_into(&mut job.schedule.state);
}

fn lift_quarantine(job: &mut SyncJob) {
    job.status.quarantine = None;
    job.status.count_successive_complete_failures = 0;
}

/// The documented effect of each action on a job's status.
fn apply_job_action(job: &mut SyncJob, action: &str, scope: Option<&[&str]>) {
    match action {
        // "If the job is in a paused state, it continues processing changes from the point
        // where it was paused. If the job is in quarantine, the quarantine status is cleared."
        "start" => {
            lift_quarantine(job);
            activate(job);
        }
        // "All the progress, including job state, is persisted."
        "pause" => {
            "Paused".clone_into(&mut job.status.code);
            "Paused".clone_into(&mut job.schedule.state);
        }
        // "Restart a stopped synchronization job, forcing it to reprocess all the objects in the
        // directory. Optionally clears existing the synchronization state and previous errors."
        _ => {
            let scope = scope.unwrap_or(&[]);
            let has = |m: &str| scope.contains(&m);
            if has("Escrows") {
                // "Clearing escrows will stop the service from retrying failures."
                for exec in [
                    &mut job.status.last_execution,
                    &mut job.status.last_successful_execution,
                ]
                .into_iter()
                .flatten()
                {
                    exec.count_escrowed = 0;
                    exec.count_escrowed_raw = 0;
                }
            }
            if has("Watermark") || has("ConnectorDataStore") {
                // "Removing the watermark causes the service to re-evaluate all the users":
                // the job has not reached steady state since.
                NEVER.clone_into(&mut job.status.steady_state_last_achieved_time);
                job.status.progress.clear();
            }
            let quarantined = job.status.quarantine.is_some() || job.status.code == "Quarantine";
            let deletes_blocked = job
                .status
                .quarantine
                .as_ref()
                .is_some_and(|q| q.reason == "TooManyDeletes");
            // QuarantineState "temporarily lifts the quarantine"; ForceDeletes lets the pending
            // deletes through, which ends a TooManyDeletes quarantine; None "starts a paused or
            // quarantined provisioning job".
            let lifts =
                has("QuarantineState") || has("None") || (has("ForceDeletes") && deletes_blocked);
            if lifts {
                lift_quarantine(job);
            }
            if !quarantined || lifts {
                activate(job);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every property the simulator serves (and accepts in `$select`) is one Graph's published
    /// metadata declares for that type and version: the simulator must not invent properties a
    /// real tenant would refuse with 400.
    #[test]
    fn served_properties_are_declared_in_graphs_metadata() {
        let types = [
            (Kind::User, "user"),
            (Kind::Contact, "orgContact"),
            (Kind::Group, "group"),
            (Kind::ServicePrincipal, "servicePrincipal"),
            (Kind::DirectoryRole, "directoryRole"),
            (Kind::Domain, "domain"),
            (Kind::Organization, "organization"),
            (Kind::SyncJob, "synchronizationJob"),
            (Kind::DirSync, "onPremisesDirectorySynchronization"),
        ];
        let mut failures = Vec::new();
        for national_cloud in [false, true] {
            let meta = Meta::new(national_cloud);
            for (kind, type_name) in types {
                for (beta, version) in [(false, "v1.0"), (true, "beta")] {
                    let declared = crate::graph_metadata::declared(type_name, version);
                    for p in &meta.get(kind, beta).properties {
                        if !declared.contains(p) {
                            failures.push(format!("{version} {type_name}.{p}"));
                        }
                    }
                }
            }
        }
        failures.sort();
        failures.dedup();
        assert!(failures.is_empty(), "not in Graph's metadata: {failures:?}");
    }

    #[test]
    fn reset_scope_parsing() {
        assert_eq!(
            parse_reset_scope(Some("Watermark, Escrows, QuarantineState")).unwrap(),
            ["Watermark", "Escrows", "QuarantineState"]
        );
        assert_eq!(parse_reset_scope(None).unwrap().len(), 3);
        assert_eq!(parse_reset_scope(Some("Full")).unwrap().len(), 4);
        let e = parse_reset_scope(Some("Watermark, ForceDeletion")).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.contains("ForceDeletion"));
    }
}
