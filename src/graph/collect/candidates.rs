//! The candidates of `onPremisesSyncBehavior` ([`super::sync_behavior`]), gathered while the
//! users and groups pages arrive, and which of them are already sure to be read under the cap.
//!
//! The order the cap follows is the one the behaviour read has always had: the formerly synced
//! first (users, then groups), then the synced (users, then groups), each in the order the
//! objects were written to their file. A candidate is *sure* once no object still to come can
//! take its place under the cap: the candidates before it, plus an upper bound of those still
//! to come in every class before it, are fewer than the cap. The bounds come from the
//! collection's `/$count` and the count of its objects with `onPremisesSyncEnabled eq true`
//! (only those can be synced candidates, only the others formerly synced ones), less the
//! objects seen so far. So the behaviour of most candidates is read while the last pages are
//! still arriving, and the set read is the one the whole files would have given. Counts are
//! eventually consistent: should one be off, the behaviour read still reads every candidate
//! the cap selects once the files are complete, and keeps what it read early (see
//! [`super::sync_behavior`]). A collection that restarts (its partitions discarded for one
//! sequential pass) starts its candidates over, and nothing more is read early.

use std::sync::{Mutex, PoisonError};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::inputs::snapshot::{Collection, SyncBehaviorObject};

/// A user or group as collected (the properties that decide whether it is a candidate).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    id: String,
    on_premises_sync_enabled: Option<bool>,
    on_premises_immutable_id: Option<String>,
    on_premises_last_sync_date_time: Option<String>,
}

impl Listed {
    /// A sign of a past or present sync: what `orphaned-synced-object` (synced) and
    /// `stale-cloud-only` (formerly synced, or carrying an anchor or a sync time) judge.
    fn is_candidate(&self) -> bool {
        self.on_premises_sync_enabled.is_some()
            || self
                .on_premises_immutable_id
                .as_deref()
                .is_some_and(|s| !s.is_empty())
            || self
                .on_premises_last_sync_date_time
                .as_deref()
                .is_some_and(|s| !s.is_empty())
    }
}

/// An object's id: a GUID in lower-case canonical form (what Graph's directory object ids are)
/// held in 16 bytes, any other text as it came. Displays exactly as it came. Every candidate of a
/// 500,000-user tenant is held until its record is written: 32 bytes each instead of about 90
/// with the text on the heap.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Id {
    Guid([u8; 16]),
    Text(Box<str>),
}

impl Id {
    fn new(text: String) -> Id {
        // Only the lower-case form is held as bytes: it displays back exactly as it came.
        match crate::guid::parse(&text) {
            Some(guid) if !text.bytes().any(|b| b.is_ascii_uppercase()) => Id::Guid(guid),
            _ => Id::Text(text.into_boxed_str()),
        }
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Id::Text(text) => f.write_str(text),
            Id::Guid(guid) => f.write_str(&crate::guid::format(guid)),
        }
    }
}

/// One object whose behaviour is to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Candidate {
    pub(super) id: Id,
    /// A group (else a user).
    group: bool,
}

impl Candidate {
    /// `users` or `groups`.
    pub(super) fn set(&self) -> &'static str {
        if self.group { "groups" } else { "users" }
    }

    pub(super) fn object_type(&self) -> SyncBehaviorObject {
        if self.group {
            SyncBehaviorObject::Group
        } else {
            SyncBehaviorObject::User
        }
    }
}

/// The users' (0) or groups' (1) side.
fn side(collection: Collection) -> Option<usize> {
    match collection {
        Collection::Users => Some(0),
        Collection::Groups => Some(1),
        _ => None,
    }
}

/// The classes in the cap's order: (side, synced).
const CLASSES: [(usize, bool); 4] = [(0, false), (1, false), (0, true), (1, true)];

/// How one collection (users or groups) is going.
#[derive(Debug, Default, Clone)]
struct Side {
    /// `/$count`.
    total: Option<u64>,
    /// `/$count` of the objects with `onPremisesSyncEnabled eq true`.
    synced_total: Option<u64>,
    /// Objects written so far with and without `onPremisesSyncEnabled` true (an object whose
    /// record cannot be read counts as without).
    synced_objects: u64,
    other_objects: u64,
    /// The candidates so far, formerly synced and synced, in file order: synced now, where the
    /// others were synced once (or carry an anchor or a sync time), is `stale-cloud-only`'s
    /// population, usually far smaller.
    formerly: Vec<Candidate>,
    synced: Vec<Candidate>,
    /// `Some(complete)` once the collection has ended.
    ended: Option<bool>,
}

impl Side {
    fn class(&self, synced: bool) -> &Vec<Candidate> {
        if synced { &self.synced } else { &self.formerly }
    }

    /// At most this many candidates of the class are still to come (`u64::MAX`: unknown).
    fn still_to_come(&self, synced: bool) -> u64 {
        if self.ended.is_some() {
            return 0;
        }
        let Some(total) = self.total else {
            return u64::MAX;
        };
        let unseen = total.saturating_sub(self.synced_objects + self.other_objects);
        let of_kind = match (synced, self.synced_total) {
            (true, Some(s)) => s.saturating_sub(self.synced_objects),
            (false, Some(s)) => total.saturating_sub(s).saturating_sub(self.other_objects),
            (_, None) => u64::MAX,
        };
        unseen.min(of_kind)
    }
}

#[derive(Debug, Default)]
struct State {
    sides: [Side; 2],
    /// A collection restarted: nothing more is read early.
    restarted: bool,
}

impl State {
    /// How many leading candidates of each class (in [`CLASSES`] order) are sure to be read
    /// under `cap`, whatever the objects still to come are.
    fn sure(&self, cap: usize) -> [usize; 4] {
        let mut sure = [0; 4];
        let both_counted = self.sides.iter().all(|s| s.total.is_some());
        if self.restarted || !both_counted || self.sides.iter().any(|s| s.ended == Some(false)) {
            return sure;
        }
        let cap = u64::try_from(cap).unwrap_or(u64::MAX);
        // Candidates that may come before the next class's first, at most.
        let mut before: u64 = 0;
        for (k, &(side, synced)) in CLASSES.iter().enumerate() {
            let s = &self.sides[side];
            let seen = s.class(synced).len();
            let room = usize::try_from(cap.saturating_sub(before)).unwrap_or(usize::MAX);
            sure[k] = seen.min(room);
            before = before
                .saturating_add(seen as u64)
                .saturating_add(s.still_to_come(synced));
        }
        sure
    }
}

/// The candidates of one collect run, shared by the users and groups collections (which report
/// their counts and pages) and the behaviour read (which takes the sure ones as they come).
#[derive(Debug)]
pub(super) struct Candidates {
    cap: usize,
    state: Mutex<State>,
    changed: tokio::sync::Notify,
}

impl Candidates {
    pub(super) fn new(cap: usize) -> Self {
        Candidates {
            cap,
            state: Mutex::new(State::default()),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// Whether `collection` reports here (users and groups do).
    pub(super) fn follows(collection: Collection) -> bool {
        side(collection).is_some()
    }

    fn update(&self, collection: Collection, f: impl FnOnce(&mut State, usize)) {
        let Some(i) = side(collection) else {
            return;
        };
        f(
            &mut self.state.lock().unwrap_or_else(PoisonError::into_inner),
            i,
        );
        // A permit is kept when the reader is not waiting yet: no change is missed.
        self.changed.notify_one();
    }

    /// The collection's `/$count`, and the count of its objects with `onPremisesSyncEnabled`
    /// true when that was to be had.
    pub(super) fn counted(&self, collection: Collection, total: u64, synced: Option<u64>) {
        self.update(collection, |state, i| {
            let side = &mut state.sides[i];
            side.total = Some(total);
            side.synced_total = synced;
        });
    }

    /// A page of objects as written to the collection's file.
    pub(super) fn page<'r>(
        &self,
        collection: Collection,
        objects: impl IntoIterator<Item = &'r RawValue>,
    ) {
        let Some(i) = side(collection) else {
            return;
        };
        // Parsed before the lock: the other collection's pages need not wait.
        let mut listed = Vec::new();
        let mut unreadable = 0u64;
        for raw in objects {
            match serde_json::from_str::<Listed>(raw.get()) {
                Ok(l) => listed.push(l),
                Err(_) => unreadable += 1,
            }
        }
        self.update(collection, |state, _| {
            let side = &mut state.sides[i];
            // An object without an id cannot be read; counted as seen, as it is in the file.
            side.other_objects += unreadable;
            for l in listed {
                let synced = l.on_premises_sync_enabled == Some(true);
                if synced {
                    side.synced_objects += 1;
                } else {
                    side.other_objects += 1;
                }
                if l.is_candidate() {
                    let c = Candidate {
                        id: Id::new(l.id),
                        group: i == 1,
                    };
                    if synced {
                        side.synced.push(c);
                    } else {
                        side.formerly.push(c);
                    }
                }
            }
        });
    }

    /// The collection's file starts over (partitions discarded for one sequential pass).
    pub(super) fn restart(&self, collection: Collection) {
        self.update(collection, |state, i| {
            let side = &mut state.sides[i];
            *side = Side {
                total: side.total,
                synced_total: side.synced_total,
                ..Side::default()
            };
            state.restarted = true;
        });
    }

    /// The collection ended, complete or not.
    pub(super) fn ended(&self, collection: Collection, complete: bool) {
        self.update(collection, |state, i| state.sides[i].ended = Some(complete));
    }

    /// The sure candidates not taken yet (`taken` counts, per class, those already taken), and
    /// whether users and groups have both ended.
    pub(super) fn take_sure(&self, taken: &mut [usize; 4]) -> (Vec<Candidate>, bool) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let sure = state.sure(self.cap);
        let mut out = Vec::new();
        for (k, &(side, synced)) in CLASSES.iter().enumerate() {
            let class = state.sides[side].class(synced);
            if sure[k] > taken[k] {
                out.extend_from_slice(&class[taken[k]..sure[k]]);
                taken[k] = sure[k];
            }
        }
        let ended = state.sides.iter().all(|s| s.ended.is_some());
        (out, ended)
    }

    /// Waits for the next report of the users or groups.
    pub(super) async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Whether users and groups both ended complete.
    pub(super) fn complete(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.sides.iter().all(|s| s.ended == Some(true))
    }

    /// Every candidate in the cap's order (taken out, not copied).
    pub(super) fn ordered(&self) -> Ordered {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        Ordered(CLASSES.map(|(side, synced)| {
            let s = &mut state.sides[side];
            std::mem::take(if synced {
                &mut s.synced
            } else {
                &mut s.formerly
            })
        }))
    }
}

/// The candidates in the cap's order: the formerly synced first (users, then groups), then the
/// synced, each in file order.
pub(super) struct Ordered([Vec<Candidate>; 4]);

impl Ordered {
    pub(super) fn len(&self) -> usize {
        self.0.iter().map(Vec::len).sum()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Candidate> {
        self.0.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(id: &str, sync: Option<bool>, anchor: bool) -> Box<RawValue> {
        let v = serde_json::json!({
            "id": id,
            "onPremisesSyncEnabled": sync,
            "onPremisesImmutableId": if anchor { Some("abc") } else { None },
        });
        RawValue::from_string(v.to_string()).unwrap()
    }

    fn ids<'c>(c: impl IntoIterator<Item = &'c Candidate>) -> Vec<String> {
        c.into_iter().map(|c| c.id.to_string()).collect()
    }

    fn page(c: &Candidates, collection: Collection, objects: &[Box<RawValue>]) {
        c.page(collection, objects.iter().map(AsRef::as_ref));
    }

    /// A lower-case GUID is held in 16 bytes, anything else as it came; both display exactly as
    /// they came (the record's id is the collected one).
    #[test]
    fn an_id_displays_exactly_as_it_came() {
        for (text, compact) in [
            ("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", true),
            ("ffffffff-ffff-ffff-ffff-ffffffffffff", true),
            ("0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0", false),
            ("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f", false),
            ("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0x", false),
            ("0f1e2d3c+4b5a-6978-8796-a5b4c3d2e1f0", false),
            ("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1g0", false),
            ("not a guid", false),
            ("", false),
        ] {
            let id = Id::new(text.to_owned());
            assert_eq!(matches!(id, Id::Guid(_)), compact, "{text}");
            assert_eq!(id.to_string(), text);
        }
        assert!(std::mem::size_of::<Candidate>() <= 32);
    }

    /// Nothing is sure before both collections are counted; then the formerly synced are sure
    /// at once, and a synced one only once the objects still to come cannot outnumber the
    /// room left under the cap.
    #[test]
    fn a_candidate_is_sure_once_nothing_still_to_come_can_take_its_place() {
        let c = Candidates::new(4);
        let mut taken = [0; 4];
        page(
            &c,
            Collection::Users,
            &[
                raw("s1", Some(true), true),
                raw("f1", Some(false), true),
                raw("cloud", None, false),
                raw("s2", Some(true), true),
            ],
        );
        assert_eq!(c.take_sure(&mut taken), (vec![], false), "not counted yet");
        // 10 users, 8 of them synced: at most 10 - 8 - 2 = 0 more formerly synced users; 3
        // groups, 1 synced: at most 2 formerly synced groups, so 1 + 2 ahead of the synced.
        c.counted(Collection::Users, 10, Some(8));
        c.counted(Collection::Groups, 3, Some(1));
        let (sure, ended) = c.take_sure(&mut taken);
        assert_eq!(ids(&sure), ["f1", "s1"]);
        assert!(!ended);
        // A formerly synced group takes a place; a synced user the last one.
        page(
            &c,
            Collection::Groups,
            &[raw("gf", Some(false), false), raw("gc", None, false)],
        );
        assert_eq!(ids(&c.take_sure(&mut taken).0), ["gf", "s2"]);
        page(&c, Collection::Users, &[raw("s3", Some(true), true)]);
        assert_eq!(c.take_sure(&mut taken).0, vec![], "the cap is reached");
        c.ended(Collection::Users, true);
        c.ended(Collection::Groups, true);
        assert!(c.complete());
        assert_eq!(c.take_sure(&mut taken), (vec![], true));
        assert_eq!(ids(c.ordered().iter()), ["f1", "gf", "s1", "s2", "s3"]);
    }

    /// Without the synced count, only the objects still to come bound the formerly synced.
    #[test]
    fn without_the_synced_count_the_unseen_objects_bound_what_is_still_to_come() {
        let c = Candidates::new(3);
        let mut taken = [0; 4];
        c.counted(Collection::Users, 4, None);
        c.counted(Collection::Groups, 0, None);
        page(
            &c,
            Collection::Users,
            &[raw("s1", Some(true), true), raw("s2", Some(true), true)],
        );
        // The 2 users still to come may both be formerly synced: 1 place is left.
        assert_eq!(ids(&c.take_sure(&mut taken).0), ["s1"]);
        page(&c, Collection::Users, &[raw("s3", Some(true), true)]);
        assert_eq!(ids(&c.take_sure(&mut taken).0), ["s2"]);
        page(&c, Collection::Users, &[raw("f1", None, true)]);
        assert_eq!(ids(&c.take_sure(&mut taken).0), ["f1"]);
        assert_eq!(ids(c.ordered().iter()), ["f1", "s1", "s2", "s3"]);
    }

    /// A restart starts the collection's candidates over and ends early reading; a collection
    /// that ended incomplete ends it too.
    #[test]
    fn a_restart_or_an_incomplete_collection_stops_early_reading() {
        let c = Candidates::new(10);
        let mut taken = [0; 4];
        c.counted(Collection::Users, 2, Some(1));
        c.counted(Collection::Groups, 0, Some(0));
        page(&c, Collection::Users, &[raw("f1", Some(false), true)]);
        assert_eq!(ids(&c.take_sure(&mut taken).0), ["f1"]);
        c.restart(Collection::Users);
        page(
            &c,
            Collection::Users,
            &[raw("s1", Some(true), true), raw("f1", Some(false), true)],
        );
        assert_eq!(c.take_sure(&mut taken).0, vec![]);
        assert_eq!(ids(c.ordered().iter()), ["f1", "s1"]);

        let c = Candidates::new(10);
        c.counted(Collection::Users, 2, Some(1));
        c.counted(Collection::Groups, 0, Some(0));
        c.ended(Collection::Groups, false);
        page(&c, Collection::Users, &[raw("f1", Some(false), true)]);
        assert_eq!(c.take_sure(&mut [0; 4]).0, vec![]);
        assert!(!c.complete());
    }
}
