//! Delta queries of the simulated Graph (`GET /users/delta`, `/contacts/delta`, `/groups/delta`)
//! and the change log they read. A first round pages through the whole collection with
//! `@odata.nextLink`s and ends with an `@odata.deltaLink`; calling that link later returns only
//! the objects changed since, and removed objects as `{"id", "@removed": {"reason"}}`
//! (<https://learn.microsoft.com/graph/delta-query-overview>).
//!
//! The change log holds one entry per change made through the `SimHandle` hooks (`change`,
//! `add`, `remove`), never a copy of the tenant, and keeps at most `MAX_CHANGES` entries: a token
//! older than what it still holds answers 410 Gone like an expired one. Tokens are opaque and
//! signed (`odata::sign_token`) and carry the `$select` of the first request and the log position
//! the round covers. Changes made with `SimHandle::update_tenant` bypass the log and are
//! invisible to delta queries. A first round pages by position, like `GET /users`: an object
//! removed during the round shifts the rest, so "Your application must be prepared for replays"
//! holds here too, and a round interrupted by removals should be restarted for certainty.

use std::collections::{HashMap, HashSet, VecDeque};

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::model::{Group, OrgContact, SimTenant, User};
use super::odata;
use super::resources::{Ctx, GraphOk, GraphResult, KindInfo, resolve_select, write_json};
use super::response::ErrorResponse;
use super::select::Selected;

/// Entries the change log keeps; older ones are dropped and tokens that need them get 410.
const MAX_CHANGES: usize = 250_000;
/// "For directory objects, the limit is seven days"
/// (<https://learn.microsoft.com/graph/delta-query-overview>).
const TOKEN_LIFETIME_SECS: i64 = 7 * 24 * 3600;

/// The collections that support delta queries here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeltaKind {
    User,
    Contact,
    Group,
}

/// How an object left the tenant, as a delta round reports it: `changed` "indicates the item was
/// deleted and can be restored from deletedItems", `deleted` "indicates the item is deleted and
/// cannot be restored" (delta-query-overview).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Soft-deleted (in deleted items): `"@removed": {"reason": "changed"}`.
    SoftDeleted,
    /// Permanently deleted: `"@removed": {"reason": "deleted"}`.
    Permanent,
}

impl Removal {
    fn reason(self) -> &'static str {
        match self {
            Removal::SoftDeleted => "changed",
            Removal::Permanent => "deleted",
        }
    }
}

/// A tenant record that delta queries track: users, org contacts and groups.
pub trait DeltaObject: Serialize + Sized {
    const KIND: DeltaKind;
    fn object_id(&self) -> &str;
    fn collection(tenant: &SimTenant) -> &Vec<Self>;
    fn collection_mut(tenant: &mut SimTenant) -> &mut Vec<Self>;
}

impl DeltaObject for User {
    const KIND: DeltaKind = DeltaKind::User;
    fn object_id(&self) -> &str {
        &self.id
    }
    fn collection(tenant: &SimTenant) -> &Vec<Self> {
        &tenant.users
    }
    fn collection_mut(tenant: &mut SimTenant) -> &mut Vec<Self> {
        &mut tenant.users
    }
}

impl DeltaObject for OrgContact {
    const KIND: DeltaKind = DeltaKind::Contact;
    fn object_id(&self) -> &str {
        &self.id
    }
    fn collection(tenant: &SimTenant) -> &Vec<Self> {
        &tenant.contacts
    }
    fn collection_mut(tenant: &mut SimTenant) -> &mut Vec<Self> {
        &mut tenant.contacts
    }
}

impl DeltaObject for Group {
    const KIND: DeltaKind = DeltaKind::Group;
    fn object_id(&self) -> &str {
        &self.id
    }
    fn collection(tenant: &SimTenant) -> &Vec<Self> {
        &tenant.groups
    }
    fn collection_mut(tenant: &mut SimTenant) -> &mut Vec<Self> {
        &mut tenant.groups
    }
}

/// What happened to an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum What {
    Added,
    /// The JSON property names whose values changed.
    Changed(Vec<String>),
    Removed(Removal),
}

#[derive(Debug, Clone)]
struct Change {
    seq: u64,
    kind: DeltaKind,
    id: String,
    what: What,
}

/// The tenant's changes in order, each with a position (`seq`) that only grows.
#[derive(Debug, Default)]
pub(super) struct ChangeLog {
    /// Position of the latest change (0: none yet).
    seq: u64,
    /// Tokens from positions below this are no longer served (entries were dropped).
    floor: u64,
    entries: VecDeque<Change>,
}

impl ChangeLog {
    pub(super) fn position(&self) -> u64 {
        self.seq
    }

    pub(super) fn record(&mut self, kind: DeltaKind, id: String, what: What) {
        self.seq += 1;
        self.entries.push_back(Change {
            seq: self.seq,
            kind,
            id,
            what,
        });
        if self.entries.len() > MAX_CHANGES {
            // Drop the oldest half at once, so trimming is rare.
            let drop = MAX_CHANGES / 2;
            if let Some(last) = self.entries.drain(..drop).next_back() {
                self.floor = last.seq;
            }
        }
    }

    /// Objects of `kind` changed in `(from, to]`, latest change last, with what a round reports:
    /// `None` = the object as it is now, `Some(removal)` = its last removal. With an explicit
    /// `$select`, a change to none of its properties is skipped ("If a change occurs to a
    /// property that is not selected, the resource for which that property changed does not
    /// appear in the delta response", <https://learn.microsoft.com/graph/delta-query-overview>).
    fn since(
        &self,
        kind: DeltaKind,
        from: u64,
        to: u64,
        select: Option<&[String]>,
    ) -> Vec<(String, Option<Removal>)> {
        // Per id: (last relevant seq, last removal if it was the latest event).
        let mut last: HashMap<&str, (u64, Option<Removal>)> = HashMap::new();
        for c in self
            .entries
            .iter()
            .filter(|c| c.kind == kind && c.seq > from && c.seq <= to)
        {
            let relevant = match &c.what {
                What::Changed(props) => select.is_none_or(|sel| {
                    props
                        .iter()
                        .any(|p| sel.iter().any(|s| s.eq_ignore_ascii_case(p)))
                }),
                What::Added | What::Removed(_) => true,
            };
            if !relevant {
                continue;
            }
            let removal = match c.what {
                What::Removed(r) => Some(r),
                _ => None,
            };
            last.insert(c.id.as_str(), (c.seq, removal));
        }
        let mut out: Vec<(u64, String, Option<Removal>)> = last
            .into_iter()
            .map(|(id, (seq, r))| (seq, id.to_owned(), r))
            .collect();
        out.sort_unstable_by_key(|(seq, _, _)| *seq);
        out.into_iter().map(|(_, id, r)| (id, r)).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum TokenUse {
    /// `$skiptoken` of a nextLink: the rest of a round.
    #[serde(rename = "n")]
    NextPage,
    /// `$deltatoken` of a deltaLink: the next round.
    #[serde(rename = "d")]
    NextRound,
}

/// The state inside a delta `$skiptoken` / `$deltatoken` (names unlike `PageToken`'s, so one
/// kind of token never decodes as the other).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeltaState {
    #[serde(rename = "u")]
    token_use: TokenUse,
    /// The lowercased request path (`/v1.0/users/delta`).
    #[serde(rename = "r")]
    path: String,
    /// The first request's `$select`, as canonical property names.
    #[serde(rename = "sel")]
    select: Option<Vec<String>>,
    /// Changes after this position (None: the first, full round).
    #[serde(rename = "from")]
    from: Option<u64>,
    /// The log position the round covers up to.
    #[serde(rename = "to")]
    to: u64,
    /// Index of the next object on the round's list.
    #[serde(rename = "at")]
    at: usize,
    /// Issued at (Unix seconds), for the seven-day lifetime.
    #[serde(rename = "iat")]
    issued: i64,
}

/// 410 Gone with a `Location` to restart from: "Delta query can return a response code of
/// `410 (gone)` and a **Location** header containing a request URL with an empty `$deltaToken`
/// … the application must restart with a full synchronization"; the code for an expired token is
/// `syncStateNotFound` (<https://learn.microsoft.com/graph/delta-query-overview>).
fn gone(ctx: &Ctx<'_>, why: &str) -> ErrorResponse {
    let mut e = ErrorResponse::new(
        StatusCode::GONE,
        "syncStateNotFound",
        format!("{why} Restart with a full synchronization from the Location header."),
    );
    e.location = Some(format!("{}{}?$deltatoken=", ctx.s.base_url, ctx.path));
    e
}

/// The state a request continues from, after checking its token.
fn request_state(
    ctx: &Ctx<'_>,
    kind: &KindInfo,
    log: &ChangeLog,
    now: i64,
) -> Result<(DeltaState, bool), ErrorResponse> {
    let q = ctx.q;
    let path = ctx.path.to_ascii_lowercase();
    let fresh = |select: Option<Vec<String>>| DeltaState {
        token_use: TokenUse::NextPage,
        path: path.clone(),
        select,
        from: None,
        to: log.position(),
        at: 0,
        issued: now,
    };
    let explicit_select = || -> Result<Option<Vec<String>>, ErrorResponse> {
        q.select
            .as_ref()
            .map(|s| resolve_select(kind, Some(s)))
            .transpose()
    };
    let (raw, expected) = match (&q.skiptoken, &q.deltatoken) {
        (Some(_), Some(_)) => {
            return Err(ErrorResponse::bad_request(
                "BadRequest",
                "Specify either $skiptoken or $deltatoken, not both.",
            ));
        }
        (None, None) => return Ok((fresh(explicit_select()?), false)),
        // "Append `$deltaToken=latest` to the delta function and the response will contain a
        // `@odata.deltaLink` and no resource data" (delta-query-overview).
        (None, Some(t)) if t.eq_ignore_ascii_case("latest") => {
            return Ok((fresh(explicit_select()?), true));
        }
        // The restart URL of a 410 carries an empty $deltaToken: a full round.
        (None, Some(t)) if t.is_empty() => return Ok((fresh(explicit_select()?), false)),
        (Some(t), None) => (t, TokenUse::NextPage),
        (None, Some(t)) => (t, TokenUse::NextRound),
    };
    let state: DeltaState = odata::verify_token(&ctx.s.skiptoken_key, raw)
        .filter(|s: &DeltaState| s.token_use == expected && s.path == path)
        .ok_or_else(|| gone(ctx, "The delta token is not valid for this request."))?;
    if now.saturating_sub(state.issued) > TOKEN_LIFETIME_SECS {
        return Err(gone(ctx, "The delta token has expired."));
    }
    let state = match expected {
        TokenUse::NextPage => state,
        // A new round: changes after the position the last round covered.
        TokenUse::NextRound => DeltaState {
            token_use: TokenUse::NextPage,
            from: Some(state.to),
            to: log.position(),
            at: 0,
            issued: now,
            ..state
        },
    };
    if state.from.is_some_and(|f| f < log.floor) {
        return Err(gone(
            ctx,
            "The changes since this delta token are no longer kept.",
        ));
    }
    Ok((state, false))
}

/// "$expand is not supported. $top is not supported. $orderby is not supported." (UDELTA);
/// `$filter=id eq '…'` scoping is not simulated.
fn refuse_options(q: &odata::Query) -> Result<(), ErrorResponse> {
    for (given, name) in [
        (q.expand.is_some(), "$expand"),
        (q.top.is_some(), "$top"),
        (q.filter.is_some(), "$filter"),
        (q.count, "$count"),
    ] {
        if given {
            return Err(ErrorResponse::unsupported_query(format!(
                "The query option '{name}' is not supported with delta queries."
            )));
        }
    }
    Ok(())
}

/// `GET /{users|contacts|groups}/delta`: one page of a delta round.
pub(super) fn delta<T: DeltaObject>(
    ctx: &Ctx<'_>,
    kind: &KindInfo,
    tenant: &SimTenant,
    log: &ChangeLog,
) -> GraphResult {
    refuse_options(ctx.q)?;
    let now = chrono::Utc::now().timestamp();
    let (state, latest) = request_state(ctx, kind, log, now)?;
    let mut names = resolve_select(kind, state.select.as_ref())?;
    // A delta entry is always identified by its id.
    if !names.iter().any(|n| n == "id") {
        names.insert(0, "id".to_owned());
    }
    let names_ref: Vec<&str> = names.iter().map(String::as_str).collect();
    let size = ctx.s.default_page_size as usize;
    let items = T::collection(tenant);

    let mut values: Vec<Value> = Vec::new();
    let mut rendered: Vec<u8> = Vec::new();
    let (done, objects) = if latest {
        (true, 0)
    } else if let Some(from) = state.from {
        let changed = log.since(T::KIND, from, state.to, state.select.as_deref());
        let end = changed.len().min(state.at.saturating_add(size));
        let page = changed.get(state.at..end).unwrap_or(&[]);
        // One pass over the collection finds the page's objects (no per-id scans).
        let wanted: HashSet<&str> = page.iter().map(|(id, _)| id.as_str()).collect();
        let present: HashMap<&str, &T> = items
            .iter()
            .filter(|it| wanted.contains(it.object_id()))
            .map(|it| (it.object_id(), it))
            .collect();
        for (id, removal) in page {
            match (present.get(id.as_str()), removal) {
                (Some(item), _) => values.push(
                    serde_json::to_value(Selected::new(*item, &names_ref)).unwrap_or(Value::Null),
                ),
                (None, Some(r)) => {
                    values.push(json!({"id": id, "@removed": {"reason": r.reason()}}));
                }
                // Gone without a recorded removal (changed through update_tenant): skipped.
                (None, None) => {}
            }
        }
        (end >= changed.len(), values.len())
    } else {
        let end = items.len().min(state.at.saturating_add(size));
        let page = items.get(state.at..end).unwrap_or(&[]);
        for (n, item) in page.iter().enumerate() {
            if n > 0 {
                rendered.push(b',');
            }
            write_json(&mut rendered, &Selected::new(item, &names_ref))?;
        }
        (end >= items.len(), page.len())
    };

    let next = DeltaState {
        token_use: if done {
            TokenUse::NextRound
        } else {
            TokenUse::NextPage
        },
        at: if done { 0 } else { state.at + size },
        issued: now,
        ..state.clone()
    };
    let token = odata::sign_token(&ctx.s.skiptoken_key, &next);
    let (link_name, link) = if done {
        (
            "@odata.deltaLink",
            format!("{}{}?$deltatoken={token}", ctx.s.base_url, ctx.path),
        )
    } else {
        (
            "@odata.nextLink",
            format!("{}{}?$skiptoken={token}", ctx.s.base_url, ctx.path),
        )
    };
    let fragment = match &state.select {
        Some(_) => format!("{}({})", kind.entity_set, names.join(",")),
        None => kind.entity_set.to_owned(),
    };
    let mut out = Vec::with_capacity(128 + rendered.len());
    out.extend_from_slice(b"{\"@odata.context\":");
    write_json(&mut out, &ctx.context_url(&fragment))?;
    out.push(b',');
    write_json(&mut out, link_name)?;
    out.push(b':');
    write_json(&mut out, &link)?;
    out.extend_from_slice(b",\"value\":[");
    if values.is_empty() {
        out.extend_from_slice(&rendered);
    } else {
        for (n, v) in values.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            write_json(&mut out, v)?;
        }
    }
    out.extend_from_slice(b"]}");
    Ok(GraphOk::json(out, objects))
}

/// The JSON property names whose values differ between two serialisations of one record.
pub(super) fn changed_properties(before: &Value, after: &Value) -> Vec<String> {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => a
            .iter()
            .filter(|(k, v)| b.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .chain(b.keys().filter(|k| !a.contains_key(*k)).cloned())
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_keeps_the_latest_event_per_object_in_order() {
        let mut log = ChangeLog::default();
        log.record(
            DeltaKind::User,
            "a".into(),
            What::Changed(vec!["mail".into()]),
        );
        log.record(DeltaKind::User, "b".into(), What::Added);
        log.record(DeltaKind::Group, "g".into(), What::Added);
        log.record(
            DeltaKind::User,
            "a".into(),
            What::Removed(Removal::SoftDeleted),
        );
        log.record(
            DeltaKind::User,
            "c".into(),
            What::Changed(vec!["city".into()]),
        );
        let all = log.since(DeltaKind::User, 0, log.position(), None);
        assert_eq!(
            all,
            [
                ("b".to_owned(), None),
                ("a".to_owned(), Some(Removal::SoftDeleted)),
                ("c".to_owned(), None)
            ]
        );
        // A change to an unselected property does not appear.
        let sel = ["mail".to_owned()];
        let some = log.since(DeltaKind::User, 0, log.position(), Some(&sel));
        assert_eq!(some.len(), 2);
        assert!(log.since(DeltaKind::User, 2, 3, None).is_empty());
    }

    #[test]
    fn changed_properties_diffs_top_level_names() {
        let b = json!({"id": "1", "mail": "a", "city": null});
        let a = json!({"id": "1", "mail": "b", "city": null});
        assert_eq!(changed_properties(&b, &a), ["mail"]);
    }
}
