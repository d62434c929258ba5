//! Planning the partitions of a large directory collection (users, contacts, groups): which
//! disjoint `startswith` filters together cover the collection, so that they can be paged side
//! by side and none is a long chain of pages. It plans from a sample of the partitioned
//! property (the values of one page of the collection) and the collection's total, without a
//! request of its own; whether the plan really covered the collection is checked by the pager
//! (each partition's `@odata.count` against what it paged, their sum against `/$count`). It
//! must not send requests or write files.
//!
//! `startswith` on `userPrincipalName` and `displayName` works without advanced query
//! parameters on users, contacts and groups; `not` and `or` of `startsWith` need them
//! (`ConsistencyLevel: eventual` and `$count=true`, which every partition page sends):
//! <https://learn.microsoft.com/graph/aad-advanced-queries> ("Use of `$filter` with `not` and
//! `startsWith` operators", `~/users?$filter=NOT startsWith(displayName, 'Conf')&$count=true`).

use std::collections::BTreeMap;

use crate::inputs::snapshot::catalogue::Partitioning;

/// The longest prefix a split makes. A prefix goes on being split while the sample says it
/// holds more than the target (`j`, `jo`, `john`, `john.`, `john.s`...); past sixteen
/// characters that is one value repeated with a counter (`svc-printer-0001`...), which stays
/// one partition.
pub(crate) const MAX_PREFIX_CHARS: usize = 16;

/// The most clauses joined by `or` in one partition's filter. Graph limits the `in` operator to
/// 15 expressions by default; an `or` chain is held to the same 15.
pub(crate) const MAX_CLAUSES_PER_PARTITION: usize = 15;

/// The longest `$filter` (percent-encoded) of one partition. Advanced queries are limited to a
/// URL of 2,048 characters (<https://developer.microsoft.com/graph/known-issues/?search=13635>);
/// the `$select` of users takes about 400 and the host and path under 100, so 1,500 leave room.
pub(crate) const MAX_FILTER_CHARS: usize = 1_500;

/// One clause of a partition's filter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Clause {
    /// `startswith(p,'P')`.
    Prefix(String),
    /// `(startswith(p,'P') and not(startswith(p,'Pa') or ...))`: the objects under `P` that
    /// none of its split-off children holds (values equal to `P` or going on with a character
    /// outside the split alphabet included, so the split never loses an object).
    Rest { prefix: String, except: Vec<String> },
    /// `not(startswith(p,'a') or ...)` over the alphabet: values starting elsewhere, or missing.
    Remainder,
}

/// One partition: clauses joined by `or`, and how many objects the sample says it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub clauses: Vec<Clause>,
    pub estimate: u64,
}

/// What a plan aims at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    /// A prefix estimated above this many objects is split by its next character.
    pub split_above: u64,
    /// Partitions estimated below this are paged together, up to this many objects; 0: each
    /// partition alone (the ones the sample did not see still go together).
    pub pack_to: u64,
}

/// The partitions covering a collection of `total` objects whose partitioned property takes
/// the `sample`d values (`None`: missing). When the sample is the whole collection, partitions
/// it shows empty are left out; otherwise they are kept (packed together), because the sample
/// not seeing a prefix does not make it empty.
pub(crate) fn plan(
    plan: Partitioning,
    sample: &[Option<String>],
    total: u64,
    sizes: Sizes,
) -> Vec<Part> {
    let complete = sample.len() as u64 == total;
    let values: Vec<String> = sample
        .iter()
        .flatten()
        .map(|v| v.to_ascii_lowercase())
        .collect();
    let scale = Scale {
        total,
        sample: sample.len() as u64,
    };
    let mut items: Vec<(Clause, u64)> = Vec::new();
    let mut by_first: BTreeMap<char, Vec<&str>> = BTreeMap::new();
    let mut elsewhere = sample.len() - values.len();
    for v in &values {
        match v.chars().next() {
            Some(c) if plan.alphabet.contains(c) => by_first.entry(c).or_default().push(v),
            _ => elsewhere += 1,
        }
    }
    for c in plan.alphabet.chars() {
        let prefix = c.to_string();
        let under = by_first.remove(&c).unwrap_or_default();
        split(plan, sizes, scale, prefix, &under, &mut items);
    }
    if plan.remainder {
        items.push((Clause::Remainder, scale.estimate(elsewhere)));
    }
    if complete {
        items.retain(|(_, n)| *n > 0);
    }
    pack(plan, items, sizes.pack_to)
}

/// Sample counts to object counts.
#[derive(Debug, Clone, Copy)]
struct Scale {
    total: u64,
    sample: u64,
}

impl Scale {
    fn estimate(self, in_sample: usize) -> u64 {
        if self.sample == 0 {
            return 0;
        }
        (in_sample as u64 * self.total).div_ceil(self.sample)
    }
}

/// The items covering `prefix`, whose sampled values are `under`: the prefix itself, or (above
/// `split_above`) its largest children split off one by one (each split again when it is still
/// too large) until the rest of the prefix fits.
fn split(
    plan: Partitioning,
    sizes: Sizes,
    scale: Scale,
    prefix: String,
    under: &[&str],
    items: &mut Vec<(Clause, u64)>,
) {
    let estimate = scale.estimate(under.len());
    let depth = prefix.chars().count();
    let Some(next) = plan.split else {
        items.push((Clause::Prefix(prefix), estimate));
        return;
    };
    if estimate <= sizes.split_above || depth >= MAX_PREFIX_CHARS {
        items.push((Clause::Prefix(prefix), estimate));
        return;
    }
    let mut children: BTreeMap<char, Vec<&str>> = BTreeMap::new();
    for v in under {
        if let Some(c) = v.chars().nth(depth)
            && next.contains(c)
        {
            children.entry(c).or_default().push(v);
        }
    }
    let mut children: Vec<(char, Vec<&str>)> = children.into_iter().collect();
    // Largest first; ties by character, so a plan is reproducible.
    children.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let mut rest = under.len();
    let mut except = Vec::new();
    for (c, values) in children {
        if scale.estimate(rest) <= sizes.split_above {
            break;
        }
        rest -= values.len();
        let child = format!("{prefix}{c}");
        except.push(child.clone());
        split(plan, sizes, scale, child, &values, items);
    }
    if except.is_empty() {
        items.push((Clause::Prefix(prefix), estimate));
    } else {
        except.sort();
        items.push((Clause::Rest { prefix, except }, scale.estimate(rest)));
    }
}

/// Packs items into partitions: those estimated below `pack_to` together, up to `pack_to`
/// objects, [`MAX_CLAUSES_PER_PARTITION`] clauses and [`MAX_FILTER_CHARS`] (first fit, largest
/// first); the rest, and the remainder, alone. Items estimated empty always go together. The
/// partitions come largest first, so the long chains start first.
fn pack(plan: Partitioning, items: Vec<(Clause, u64)>, pack_to: u64) -> Vec<Part> {
    let mut items = items;
    items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut parts: Vec<Part> = Vec::new();
    let mut bins: Vec<Part> = Vec::new();
    for (clause, n) in items {
        let packable = clause != Clause::Remainder && (n == 0 || n < pack_to);
        if !packable {
            parts.push(Part {
                clauses: vec![clause],
                estimate: n,
            });
            continue;
        }
        // An empty item may join any bin; a non-empty one only bins of non-empty items
        // within the target (empty bins of unseen prefixes stay apart when packing is off).
        let fits = |b: &Part| {
            b.clauses.len() < MAX_CLAUSES_PER_PARTITION
                && (n == 0 || (pack_to > 0 && b.estimate + n <= pack_to))
                && filter_chars(plan, &b.clauses) + clause_chars(plan, &clause) + 8
                    <= MAX_FILTER_CHARS
        };
        match bins.iter_mut().find(|b| fits(b)) {
            Some(b) => {
                b.clauses.push(clause);
                b.estimate += n;
            }
            None => bins.push(Part {
                clauses: vec![clause],
                estimate: n,
            }),
        }
    }
    parts.extend(bins);
    for p in &mut parts {
        p.clauses.sort();
    }
    parts.sort_by(|a, b| {
        b.estimate
            .cmp(&a.estimate)
            .then_with(|| a.clauses.cmp(&b.clauses))
    });
    parts
}

impl Part {
    /// The partition's `$filter`.
    pub(crate) fn filter(&self, plan: Partitioning) -> String {
        self.clauses
            .iter()
            .map(|c| c.filter(plan, self.clauses.len() > 1))
            .collect::<Vec<_>>()
            .join(" or ")
    }

    /// Whether this is the remainder (refused by some tenants: then left out, and the counts
    /// say whether anything was lost).
    pub(crate) fn is_remainder(&self) -> bool {
        self.clauses == [Clause::Remainder]
    }
}

impl Clause {
    fn filter(&self, plan: Partitioning, in_or: bool) -> String {
        let p = plan.property;
        let starts = |prefix: &str| format!("startswith({p},'{}')", odata_literal(prefix));
        let any = |prefixes: &mut dyn Iterator<Item = String>| {
            prefixes
                .map(|x| starts(&x))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        match self {
            Clause::Prefix(prefix) => starts(prefix),
            Clause::Rest { prefix, except } => {
                let text = format!(
                    "{} and not({})",
                    starts(prefix),
                    any(&mut except.iter().cloned())
                );
                if in_or { format!("({text})") } else { text }
            }
            Clause::Remainder => {
                format!("not({})", any(&mut plan.alphabet.chars().map(String::from)))
            }
        }
    }
}

impl std::fmt::Display for Clause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Clause::Prefix(prefix) => write!(f, "'{prefix}'"),
            Clause::Rest { prefix, except } => {
                write!(f, "'{prefix}' but '{}'", except.join("', '"))
            }
            Clause::Remainder => f.write_str("(the rest)"),
        }
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, c) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(" or ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

fn clause_chars(plan: Partitioning, clause: &Clause) -> usize {
    super::encode_query_value(&clause.filter(plan, true)).len()
}

fn filter_chars(plan: Partitioning, clauses: &[Clause]) -> usize {
    clauses.iter().map(|c| clause_chars(plan, c) + 8).sum()
}

/// A quote inside an `OData` string literal is doubled.
pub(crate) fn odata_literal(text: &str) -> String {
    text.replace('\'', "''")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::snapshot::Collection;
    use crate::inputs::snapshot::catalogue::Reading;

    fn by(collection: Collection) -> Partitioning {
        match collection.spec().reading {
            Reading::Partitioned(p) => p,
            _ => panic!("{collection} is partitioned"),
        }
    }

    /// What Graph's case-insensitive `startswith` makes of a clause.
    fn holds(plan: Partitioning, clause: &Clause, value: Option<&str>) -> bool {
        let v = value.map(str::to_ascii_lowercase);
        let starts = |p: &str| v.as_deref().is_some_and(|v| v.starts_with(p));
        match clause {
            Clause::Prefix(p) => starts(p),
            Clause::Rest { prefix, except } => starts(prefix) && !except.iter().any(|e| starts(e)),
            Clause::Remainder => !plan.alphabet.chars().any(|c| starts(&c.to_string())),
        }
    }

    /// A skewed tenant: a few first names hold most users, as in a real directory.
    fn upns(n: usize) -> Vec<Option<String>> {
        let names = [
            "john", "johanna", "jonas", "josef", "mary", "maria", "michael", "anna",
        ];
        let last = [
            "smith", "jones", "brown", "taylor", "wilson", "evans", "white",
        ];
        (0..n)
            .map(|i| {
                let name = if i % 3 == 0 {
                    names[i % 2]
                } else {
                    names[i % names.len()]
                };
                Some(format!(
                    "{name}.{}{i}@contoso.com",
                    last[(i / 8) % last.len()]
                ))
            })
            .collect()
    }

    #[test]
    fn a_plan_from_a_sample_covers_every_object_exactly_once() {
        let plan = by(Collection::Users);
        let all = upns(30_000);
        // The first page as the sample, as `collect` takes it.
        let sample = &all[..999];
        let sizes = Sizes {
            split_above: 2_000,
            pack_to: 2_000,
        };
        let parts = super::plan(plan, sample, all.len() as u64, sizes);
        let mut held = vec![0usize; parts.len()];
        for v in &all {
            let mut owners = parts
                .iter()
                .enumerate()
                .filter(|(_, p)| p.clauses.iter().any(|c| holds(plan, c, v.as_deref())));
            let (i, _) = owners
                .next()
                .unwrap_or_else(|| panic!("{v:?} in no partition"));
            assert!(owners.next().is_none(), "{v:?} in two partitions");
            held[i] += 1;
        }
        for (part, n) in parts.iter().zip(&held) {
            assert!(part.clauses.len() <= MAX_CLAUSES_PER_PARTITION, "{part}");
            assert!(
                super::super::encode_query_value(&part.filter(plan)).len() <= MAX_FILTER_CHARS,
                "{part}"
            );
            // The sample's estimates are rough, but no partition is many times the target.
            assert!(*n <= 3 * 2_000, "{part}: {n}");
        }
        // The largest names were split far below the first character.
        assert!(
            parts.iter().flat_map(|p| &p.clauses).any(
                |c| matches!(c, Clause::Prefix(p) | Clause::Rest { prefix: p, .. } if p.len() >= 4)
            ),
            "{parts:?}"
        );
    }

    #[test]
    fn a_complete_sample_plans_exactly_and_leaves_out_the_empty() {
        let plan = by(Collection::Contacts);
        let mut names: Vec<Option<String>> = (0..600)
            .map(|i| {
                Some(format!(
                    "{} Contact {i}",
                    ["Alex", "Alma", "Bo", "Zoe"][i % 4]
                ))
            })
            .collect();
        names.push(None);
        names.push(Some("Łukasz".to_owned()));
        let sizes = Sizes {
            split_above: 100,
            pack_to: 0,
        };
        let parts = super::plan(plan, &names, names.len() as u64, sizes);
        let total: u64 = parts.iter().map(|p| p.estimate).sum();
        assert_eq!(total, names.len() as u64);
        for part in &parts {
            let n = names
                .iter()
                .filter(|v| part.clauses.iter().any(|c| holds(plan, c, v.as_deref())))
                .count() as u64;
            assert_eq!(n, part.estimate, "{part}");
            assert!(
                n > 0 && (n <= 100 || part.clauses.len() == 1),
                "{part}: {n}"
            );
        }
        // The names outside the alphabet (and the missing one) are the remainder.
        assert!(parts.iter().any(|p| p.is_remainder() && p.estimate == 2));
    }

    #[test]
    fn filters_are_startswith_clauses_joined_by_or() {
        let plan = by(Collection::Groups);
        let part = Part {
            clauses: vec![
                Clause::Prefix("q".into()),
                Clause::Rest {
                    prefix: "o'".into(),
                    except: vec!["o'b".into()],
                },
            ],
            estimate: 1,
        };
        assert_eq!(
            part.filter(plan),
            "startswith(displayName,'q') or (startswith(displayName,'o''') and \
             not(startswith(displayName,'o''b')))"
        );
        let rest = Part {
            clauses: vec![Clause::Remainder],
            estimate: 1,
        };
        assert!(
            rest.filter(plan)
                .starts_with("not(startswith(displayName,'a') or startswith(displayName,'b') or ")
        );
    }
}
