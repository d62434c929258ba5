//! Runs rules against the tables: registers every table in one catalogue (each query gets a
//! polars `SQLContext` of its own from it), runs each rule (building the views it reads first, in
//! dependency order, when no rule before it did), checks its output contract and turns its rows
//! into [`Finding`]s, and records an outcome for every rule (passed, failed, not evaluated with
//! the reason, errored). Tables not built yet ([`Tables::deferred_tables`]) are built when the
//! first rule needing one runs, after every rule needing none; a table or view no rule still to
//! run reads is released.
//!
//! Partial tables (built from an errors-only snapshot, see [`tables::Partial`]) are complete
//! only for the objects of another table: a rule runs on them only when it requires that table
//! (it reports on its rows), with a caveat; any other rule reading them is not evaluated, since
//! it would take a part for the whole. Views built from partial tables are partial too.
//!
//! The output contract: every rule returns [`FINDING_COLUMNS`] (any may be null except `message`
//! and `remediation`); an optional [`OUTCOME_COLUMN`] overrides the rule's declared outcome per
//! row; extra columns become evidence, and must be exactly the columns the rule declares in its
//! front matter (`evidence`), so a renamed column fails the rule (and `cargo test`) instead of
//! silently starving what reads it (the cleanup files). The engine must not know what any rule
//! means: it only checks inputs are available and outputs are well-formed.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;
use polars::sql::SQLContext;

use super::{Kind, Rule, guard};
use crate::audit::findings::{Finding, PredictedOutcome, RuleOutcome, RuleResult, finding_id};
use crate::audit::tables::{self, Tables};
use crate::audit::timings::{Began, Clock};

/// The columns every rule returns, in this order of importance.
pub(crate) const FINDING_COLUMNS: [&str; 8] = [
    "cloud_object_id",
    "cloud_object_type",
    "onprem_object_guid",
    "onprem_distinguished_name",
    "attribute",
    "value",
    "message",
    "remediation",
];

/// The optional column that states a row's outcome when it differs from the rule's `outcome`.
pub(crate) const OUTCOME_COLUMN: &str = "predicted_outcome";

/// Everything one run produced.
#[derive(Debug, Default)]
pub(crate) struct RunOutput {
    pub results: Vec<RuleResult>,
    pub findings: Vec<Finding>,
    /// Why each view could not be built (rules needing it say so in their own outcome).
    pub views_unavailable: BTreeMap<String, String>,
    /// The views built on the audit's tables that the caller keeps (`kept` of [`run_timed`]), by
    /// name: the tenant summary reuses the links rather than joining a million objects again.
    pub views: BTreeMap<String, DataFrame>,
}

/// [`run_timed`] on a fresh clock, for the unit tests.
#[cfg(test)]
pub(crate) fn run(rules: &[Rule], tables: &Tables, only: Option<&BTreeSet<String>>) -> RunOutput {
    run_timed(rules, &mut tables.clone(), only, &[], Clock::start())
}

/// Runs `rules` (rules and views) against `tables`, logging each view's and rule's time against
/// `clock` (the audit's own). `only`, when given, limits which rules run (views are still built
/// as needed).
///
/// A table or view no rule still to run reads is released (removed from `tables`) unless it is
/// one of `kept` (what the caller reads afterwards), and the rules run in an order that lets the
/// largest tables go first: at a million objects a side `onprem_names` and `onprem_values` have
/// the most rows, and holding them through the million-row joins of the object tables set the
/// audit's peak. A view is built when the first rule reading it runs, so the rules before it run
/// without it (and without the tables only it reads). The results and findings are still
/// returned in the catalogue's order.
pub(crate) fn run_timed(
    rules: &[Rule],
    tables: &mut Tables,
    only: Option<&BTreeSet<String>>,
    kept: &[&str],
    clock: Clock,
) -> RunOutput {
    let mut catalog = Catalog::default();
    for spec in tables::TABLES {
        catalog.register_table(tables, spec);
    }
    let mut unavailable: BTreeMap<String, String> = tables
        .unavailable
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();

    let mut output = RunOutput::default();
    let views: Vec<&Rule> = rules.iter().filter(|r| r.kind == Kind::View).collect();
    register_view_placeholders(&mut catalog, &views);
    let mut partial = partial_inputs(rules, tables, &unavailable);

    let to_run: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.kind == Kind::Rule && only.is_none_or(|only| only.contains(&r.name)))
        .collect();
    // Tables built only when the first rule reading one runs (the cloud tables of an audit of
    // both sides): the rules that do not read them run first.
    let deferred: BTreeSet<String> = tables
        .deferred_tables()
        .iter()
        .map(|spec| spec.name.to_owned())
        .collect();
    let mut releases = Releases::new(&to_run, &views, tables, kept, deferred);
    let mut ran: Vec<Option<(RuleResult, Vec<Finding>)>> =
        std::iter::repeat_with(|| None).take(to_run.len()).collect();
    for index in releases.order() {
        let rule = to_run[index];
        if releases.needs_deferred(index) {
            build_deferred(
                tables,
                &mut catalog,
                &mut unavailable,
                &mut releases,
                kept,
                clock,
            );
            partial = partial_inputs(rules, tables, &unavailable);
        }
        // The views this rule reads, and those they build on, are built now if no rule before it
        // built them: built before the first rule, they were held (with the tables they read)
        // through the rules that read the largest tables, which set the audit's peak.
        let wanted = releases.views_to_build(index);
        if !wanted.is_empty() {
            let building: Vec<&Rule> = views
                .iter()
                .filter(|v| wanted.contains(&v.name))
                .copied()
                .collect();
            for (name, frame) in materialise(&mut catalog, &building, &mut unavailable, Some(clock))
            {
                if kept.contains(&name.as_str()) {
                    output.views.insert(name, frame);
                }
            }
            for view in &building {
                releases.built(&view.name);
            }
        }
        let (result, findings) = judge(rule, tables, &catalog, &unavailable, &partial, clock);
        ran[index] = Some((result, findings));
        for name in releases.ran(index) {
            catalog.remove(&name);
            tables.frames.remove(name.as_str());
        }
    }
    output.views_unavailable = views_unavailable(&views, &unavailable);
    for (result, findings) in ran.into_iter().flatten() {
        output.results.push(result);
        output.findings.extend(findings);
    }
    output
}

/// Runs `rule` when its inputs allow (else says why not), and its result and findings.
fn judge(
    rule: &Rule,
    tables: &Tables,
    catalog: &Catalog,
    unavailable: &BTreeMap<String, String>,
    partial: &BTreeMap<String, tables::Partial>,
    clock: Clock,
) -> (RuleResult, Vec<Finding>) {
    let (mut missing, caveats) = readiness(rule, tables, unavailable, partial);
    // A rule may name a view that, when it has rows, says the data cannot support the rule
    // (an export that is probably partial): the rule is then not evaluated, with that reason.
    if missing.is_empty()
        && let Some(guard) = &rule.not_evaluated_when
    {
        match guard_reason(&mut catalog.context(), guard) {
            Ok(Some(reason)) => missing.push(reason),
            Ok(None) => {}
            Err(error) => missing.push(format!("{guard} unavailable: {error}")),
        }
    }
    let (outcome, findings) = if missing.is_empty() {
        // A context of its own per rule (see `Catalog`).
        match run_rule(&mut catalog.context(), rule, clock) {
            Ok(rows) if rows.is_empty() => (RuleOutcome::Passed, rows),
            Ok(rows) => (
                RuleOutcome::Failed {
                    findings: rows.len(),
                },
                rows,
            ),
            Err(error) => (RuleOutcome::Errored { error }, Vec::new()),
        }
    } else {
        let reason = missing.join("; ");
        (RuleOutcome::NotEvaluated { reason }, Vec::new())
    };
    // A rule that did not run has no partial result to qualify.
    let caveats = if matches!(outcome, RuleOutcome::NotEvaluated { .. }) {
        Vec::new()
    } else {
        caveats
    };
    let result = RuleResult {
        rule: rule.name.clone(),
        title: rule.title.clone(),
        severity: rule.severity,
        category: rule.category.clone(),
        outcome,
        caveats,
    };
    (result, findings)
}

/// Builds the tables that waited for the first rule reading one ([`Tables::build_deferred`]),
/// puts them in `catalog` and their reasons in `unavailable` when they could not be built, and
/// logs the phase and what they hold. A build that fails leaves them unavailable, with the
/// error, and the rules needing them not evaluated.
fn build_deferred(
    tables: &mut Tables,
    catalog: &mut Catalog,
    unavailable: &mut BTreeMap<String, String>,
    releases: &mut Releases,
    kept: &[&str],
    clock: Clock,
) {
    let specs = tables.deferred_tables();
    let started = Began::now();
    if let Err(error) = tables.build_deferred() {
        for spec in specs {
            tables
                .unavailable
                .insert(spec.name, format!("could not be built: {error}"));
        }
    }
    for spec in specs {
        if let Some(reason) = tables.unavailable.get(spec.name) {
            unavailable.insert(spec.name.to_owned(), reason.clone());
        }
        catalog.register_table(tables, spec);
    }
    releases.deferred_built(tables, kept);
    clock.done("cloud tables", started, None);
    let built: Vec<tables::TableMemory> = tables
        .memory()
        .into_iter()
        .filter(|table| specs.iter().any(|spec| spec.name == table.name))
        .collect();
    crate::audit::timings::tables_held(&built);
}

/// What keeps `rule` from being evaluated (unavailable or partial inputs, classes the exports
/// lack) and the caveats it runs with (optional inputs missing, partial tables it is scoped to).
fn readiness(
    rule: &Rule,
    tables: &Tables,
    unavailable: &BTreeMap<String, String>,
    partial: &BTreeMap<String, tables::Partial>,
) -> (Vec<String>, Vec<String>) {
    let mut missing: Vec<String> = unavailable_requirements(rule, unavailable)
        .into_iter()
        .chain(missing_onprem_classes(rule, tables))
        .collect();
    let mut caveats: Vec<String> = rule
        .optional
        .iter()
        .filter_map(|t| {
            unavailable
                .get(t)
                .map(|why| format!("ran without {t} ({why})"))
        })
        .collect();
    for t in rule.requires.iter().chain(&rule.optional) {
        let Some(p) = partial.get(t) else { continue };
        let scoped_rule = rule.requires.iter().any(|r| r == p.complete_for)
            && !partial.contains_key(p.complete_for)
            && !unavailable.contains_key(p.complete_for);
        if scoped_rule {
            caveats.push(format!(
                "{t} holds only the objects in {} ({}): what the rule looks up beyond them is not in this snapshot",
                p.complete_for, p.reason
            ));
        } else {
            missing.push(format!(
                "{t} holds only part of the directory: {}",
                p.reason
            ));
        }
    }
    (missing, caveats)
}

/// What each rule still to run reads, so that a table or view goes as soon as the last rule
/// reading it has run, and a view is built only when the first rule reading it runs (see
/// [`run_timed`]). A rule reads a view's inputs too until the view is built.
struct Releases {
    /// For each rule to run (by its place in the catalogue), the tables and views it names
    /// (`None`: SQL that does not parse, which may read anything); emptied once it ran.
    reads: Vec<Option<BTreeSet<String>>>,
    /// Each releasable table's size in rows, the readers of the largest running first; a view
    /// is releasable too, with size 0 (it is built when the first rule reading it runs, so it
    /// does not decide the order). Rows, not polars' estimated bytes:
    /// those count a text buffer once for every column pointing into it, so a table's estimate
    /// grew with its text columns, not with what releasing it frees; and a table of many rows is
    /// what a query makes large intermediates of. At a million objects a side this runs the
    /// readers of `onprem_names` and `onprem_values` (4.7 and 4.6 million rows) first, then
    /// those of the address tables, and the million-row joins of the object tables without
    /// them (docs/performance.md).
    sizes: BTreeMap<String, usize>,
    /// What each view not built yet names (`None`: may read anything). A built view needs
    /// its inputs no more.
    unbuilt: BTreeMap<String, Option<BTreeSet<String>>>,
    /// Releasable tables and views a rule or view has read, not released yet.
    read: BTreeSet<String>,
    /// Tables not built yet: built when the first rule needing one runs, after every rule that
    /// needs none ([`Tables::deferred_tables`]).
    deferred: BTreeSet<String>,
}

impl Releases {
    fn new(
        to_run: &[&Rule],
        views: &[&Rule],
        tables: &Tables,
        kept: &[&str],
        deferred: BTreeSet<String>,
    ) -> Self {
        let sizes: BTreeMap<String, usize> = tables
            .rows()
            .map(|(name, rows)| (name.to_owned(), rows))
            .chain(views.iter().map(|v| (v.name.clone(), 0)))
            .filter(|(name, _)| !kept.contains(&name.as_str()))
            .collect();
        Releases {
            reads: to_run.iter().map(|rule| names_read(rule)).collect(),
            sizes,
            unbuilt: views
                .iter()
                .map(|v| (v.name.clone(), names_read(v)))
                .collect(),
            read: BTreeSet::new(),
            deferred,
        }
    }

    /// Whether the rule at `index` needs a table not built yet (a rule whose SQL does not
    /// parse may read anything, and does).
    fn needs_deferred(&self, index: usize) -> bool {
        !self.deferred.is_empty()
            && self
                .needed(self.reads[index].as_ref())
                .is_none_or(|names| !names.is_disjoint(&self.deferred))
    }

    /// Records that the deferred tables were built: those of them that are not `kept` may be
    /// released as any table once no rule still to run reads them.
    fn deferred_built(&mut self, tables: &Tables, kept: &[&str]) {
        let deferred = std::mem::take(&mut self.deferred);
        self.sizes.extend(
            tables
                .rows()
                .filter(|(name, _)| deferred.contains(*name) && !kept.contains(name))
                .map(|(name, rows)| (name.to_owned(), rows)),
        );
    }

    /// What `reads` needs while the views not yet built are: the names and, through each such
    /// view, what it reads. `None`: anything.
    fn needed(&self, reads: Option<&BTreeSet<String>>) -> Option<BTreeSet<String>> {
        let mut names = reads?.clone();
        let mut through: Vec<String> = names
            .iter()
            .filter(|n| self.unbuilt.contains_key(*n))
            .cloned()
            .collect();
        while let Some(view) = through.pop() {
            for name in self.unbuilt[&view].as_ref()? {
                if names.insert(name.clone()) && self.unbuilt.contains_key(name) {
                    through.push(name.clone());
                }
            }
        }
        Some(names)
    }

    /// The releasable tables and views the rule at `index` needs.
    fn releasable_needed(&self, index: usize) -> BTreeSet<String> {
        among(self.needed(self.reads[index].as_ref()), &self.sizes)
    }

    /// The rules' places in the catalogue, in the order to run them: those needing no table
    /// not built yet first, and among them those reading the largest releasable table first (so
    /// it can go early), ties in catalogue order.
    fn order(&self) -> Vec<usize> {
        let largest = |index: usize| {
            self.releasable_needed(index)
                .iter()
                .map(|t| self.sizes[t])
                .max()
                .unwrap_or(0)
        };
        let mut order: Vec<usize> = (0..self.reads.len()).collect();
        order.sort_by_cached_key(|&index| {
            (
                self.needs_deferred(index),
                std::cmp::Reverse(largest(index)),
            )
        });
        order
    }

    /// The views not built yet that the rule at `index` reads, itself or through another.
    fn views_to_build(&self, index: usize) -> BTreeSet<String> {
        among(self.needed(self.reads[index].as_ref()), &self.unbuilt)
    }

    /// Records that `view` was built (or could not be): what it reads is needed through it no
    /// more, and may go once no rule still to run reads it.
    fn built(&mut self, view: &str) {
        if let Some(reads) = self.unbuilt.remove(view) {
            let reads = among(reads, &self.sizes);
            self.read.extend(reads);
        }
    }

    /// Records that the rule at `index` ran; returns the tables and views no rule still to run
    /// needs.
    fn ran(&mut self, index: usize) -> Vec<String> {
        let done = self.releasable_needed(index);
        self.read.extend(done);
        self.reads[index] = Some(BTreeSet::new());
        let mut still: BTreeSet<String> = BTreeSet::new();
        for later in 0..self.reads.len() {
            still.extend(self.releasable_needed(later));
        }
        let released: Vec<String> = self.read.difference(&still).cloned().collect();
        for name in &released {
            self.read.remove(name);
            self.sizes.remove(name);
        }
        released
    }
}

/// The `names` that are keys of `of`; every key when `names` is `None` (anything).
fn among<V>(names: Option<BTreeSet<String>>, of: &BTreeMap<String, V>) -> BTreeSet<String> {
    match names {
        Some(names) => names.into_iter().filter(|n| of.contains_key(n)).collect(),
        None => of.keys().cloned().collect(),
    }
}

/// The tables and views `rule` (a rule or a view) names, lower-cased: in its SQL, its `requires`
/// and `optional`, and its `not_evaluated_when` view. `None` when the SQL does not parse: it may
/// read anything, and holds every table and view until it ran.
fn names_read(rule: &Rule) -> Option<BTreeSet<String>> {
    let declared = rule
        .requires
        .iter()
        .chain(&rule.optional)
        .chain(&rule.not_evaluated_when)
        .map(|t| t.to_lowercase());
    guard::relations(&rule.sql).map(|read| read.into_iter().chain(declared).collect())
}

/// Why `rule` cannot be evaluated for want of on-prem objects of the classes it reports on: the
/// exports hold none of them (an export of users only says nothing about contacts).
fn missing_onprem_classes(rule: &Rule, tables: &Tables) -> Option<String> {
    let present = tables.onprem_classes.as_ref()?;
    if rule.onprem_classes.is_empty() || rule.onprem_classes.iter().any(|c| present.contains(c)) {
        return None;
    }
    let wanted: Vec<&str> = rule.onprem_classes.iter().map(|c| c.as_str()).collect();
    Some(format!(
        "the on-prem exports hold no {} object (the classes this rule reports on)",
        wanted.join(" or ")
    ))
}

/// The partial tables and the views built on them (a view reading a partial input is partial
/// the same way), by name.
fn partial_inputs(
    rules: &[Rule],
    tables: &Tables,
    unavailable: &BTreeMap<String, String>,
) -> BTreeMap<String, tables::Partial> {
    let mut partial: BTreeMap<String, tables::Partial> = tables
        .partial
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    loop {
        let before = partial.len();
        for view in rules.iter().filter(|r| r.kind == Kind::View) {
            if partial.contains_key(&view.name) || unavailable.contains_key(&view.name) {
                continue;
            }
            let input = view
                .requires
                .iter()
                .chain(&view.optional)
                .find_map(|t| partial.get(t).cloned());
            if let Some(p) = input {
                partial.insert(view.name.clone(), p);
            }
        }
        if partial.len() == before {
            return partial;
        }
    }
}

/// The tables and views a query may name. Every query runs on a context of its own, built from
/// this list: polars' `SQLContext` clones share one table map, and a query registers its derived
/// tables' aliases there (`JOIN (SELECT ...) o`), so on a clone one rule's alias would shadow the
/// table another rule names `o`, and a query that fails part-way would leave its aliases behind.
#[derive(Default)]
struct Catalog {
    frames: Vec<(String, LazyFrame)>,
}

impl Catalog {
    /// Registers `spec`'s table as queries read it. An unavailable (or not yet built) table is
    /// registered empty so optional inputs work; a rule that *requires* one is never run (see
    /// [`readiness`]), so the empty stand-in cannot pass for real data.
    fn register_table(&mut self, tables: &Tables, spec: &'static tables::TableSpec) {
        let frame = tables
            .lazy(spec)
            .unwrap_or_else(|| spec.query(spec.empty().lazy()));
        self.register(spec.name, frame);
    }

    /// Registers `frame` as `name`, replacing an earlier frame of that name (a view's empty
    /// placeholder).
    fn register(&mut self, name: &str, frame: LazyFrame) {
        match self.frames.iter_mut().find(|(n, _)| n == name) {
            Some((_, existing)) => *existing = frame,
            None => self.frames.push((name.to_owned(), frame)),
        }
    }

    /// Forgets a released table: later contexts no longer hold it.
    fn remove(&mut self, name: &str) {
        self.frames.retain(|(n, _)| n != name);
    }

    /// A fresh context holding every registered table and view.
    fn context(&self) -> SQLContext {
        let ctx = SQLContext::new();
        for (name, frame) in &self.frames {
            ctx.register(name, frame.clone());
        }
        ctx
    }
}

/// Registers every view empty, with the schema it has on empty tables, so a rule may list a view
/// as `optional`; the views are built when a rule first reads them ([`Releases`]), and one that
/// cannot be built makes the rules that require it "not evaluated". A view that fails even on
/// empty tables gets no placeholder: the real build fails the same way and records why.
fn register_view_placeholders(catalog: &mut Catalog, views: &[&Rule]) {
    let mut empty = Catalog::default();
    for spec in tables::TABLES {
        empty.register(spec.name, spec.query(spec.empty().lazy()));
    }
    let mut no_gaps = BTreeMap::new();
    for (name, frame) in materialise(&mut empty, views, &mut no_gaps, None) {
        catalog.register(&name, frame.lazy());
    }
}

/// Why each view a rule read could not be built.
fn views_unavailable(
    views: &[&Rule],
    unavailable: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    views
        .iter()
        .filter_map(|v| {
            unavailable
                .get(&v.name)
                .map(|why| (v.name.clone(), why.clone()))
        })
        .collect()
}

/// Each table or view `rule` requires that is unavailable, with why: a rule or view with any is
/// not evaluated.
fn unavailable_requirements(rule: &Rule, unavailable: &BTreeMap<String, String>) -> Vec<String> {
    rule.requires
        .iter()
        .filter_map(|t| {
            unavailable
                .get(t)
                .map(|why| format!("{t} unavailable: {why}"))
        })
        .collect()
}

/// Runs each view whose requirements are met (registering its result as it goes, for views built
/// on views) and returns the results; records why the others could not be built.
fn materialise(
    catalog: &mut Catalog,
    views: &[&Rule],
    unavailable: &mut BTreeMap<String, String>,
    clock: Option<Clock>,
) -> Vec<(String, DataFrame)> {
    let mut built: Vec<(String, DataFrame)> = Vec::new();
    // Each view with what it names, in its SQL or declared (read once, not every round): it
    // waits for every view being built among them, since a view built before one it reads
    // without declaring it would read that view's empty placeholder.
    let mut pending: Vec<(&Rule, BTreeSet<String>)> = views
        .iter()
        .map(|view| (*view, names_read(view).unwrap_or_default()))
        .collect();
    loop {
        let mut progressed = false;
        let mut waiting_views = Vec::new();
        for (view, names) in pending {
            let gaps = unavailable_requirements(view, unavailable);
            if !gaps.is_empty() {
                unavailable.insert(view.name.clone(), gaps.join("; "));
                progressed = true;
                continue;
            }
            let waits = names.iter().any(|t| {
                views.iter().any(|v| &v.name == t && v.name != view.name)
                    && !built.iter().any(|(name, _)| name == t)
                    && !unavailable.contains_key(t)
            });
            if waits {
                waiting_views.push((view, names));
                continue;
            }
            let started = Began::now();
            // A context of its own, as for rules (see `Catalog`).
            match catalog
                .context()
                .execute(&view.sql)
                .and_then(LazyFrame::collect)
            {
                Ok(frame) => {
                    if let Some(clock) = clock {
                        clock.done(
                            &format!("view {}", view.name),
                            started,
                            Some(frame.height()),
                        );
                    }
                    catalog.register(&view.name, frame.clone().lazy());
                    built.push((view.name.clone(), frame));
                }
                Err(e) => {
                    unavailable.insert(
                        view.name.clone(),
                        format!("view {} failed: {e}", view.source.display()),
                    );
                }
            }
            progressed = true;
        }
        pending = waiting_views;
        if pending.is_empty() || !progressed {
            break;
        }
    }
    for (view, _) in pending {
        unavailable.insert(
            view.name.clone(),
            "it depends on other views in a cycle".to_owned(),
        );
    }
    built
}

fn run_rule(ctx: &mut SQLContext, rule: &Rule, clock: Clock) -> Result<Vec<Finding>, String> {
    let started = Began::now();
    let frame = ctx
        .execute(&rule.sql)
        .and_then(LazyFrame::collect)
        .map_err(|e| format!("{}: {e}", rule.source.display()))?;
    let findings = findings_from_frame(rule, &frame);
    clock.done(
        &format!("rule {}", rule.name),
        started,
        Some(frame.height()),
    );
    findings
}

/// The first `reason` of a guard view, if it has a row.
fn guard_reason(ctx: &mut SQLContext, view: &str) -> Result<Option<String>, String> {
    let frame = ctx
        .execute(&format!("SELECT reason FROM {view} LIMIT 1"))
        .and_then(LazyFrame::collect)
        .map_err(|e| e.to_string())?;
    let column = frame.column("reason").map_err(|e| e.to_string())?;
    Ok(column_as_strings(column)?.into_iter().next().flatten())
}

/// Turns a rule's result rows into findings, enforcing the output contract.
pub(crate) fn findings_from_frame(rule: &Rule, frame: &DataFrame) -> Result<Vec<Finding>, String> {
    let names: Vec<String> = frame
        .get_column_names()
        .iter()
        .map(ToString::to_string)
        .collect();
    let missing: Vec<&str> = FINDING_COLUMNS
        .iter()
        .filter(|c| !names.iter().any(|n| n == *c))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{}: the query must return the finding columns; missing: {}",
            rule.source.display(),
            missing.join(", ")
        ));
    }
    check_declared_evidence(rule, &names)?;
    let columns: Vec<(String, Vec<Option<String>>)> = names
        .iter()
        .map(|name| {
            let column = frame.column(name).map_err(|e| e.to_string())?;
            Ok((name.clone(), column_as_strings(column)?))
        })
        .collect::<Result<_, String>>()?;
    let get = |row: usize, name: &str| -> Option<String> {
        columns
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, values)| values[row].clone())
    };
    let mut findings = Vec::with_capacity(frame.height());
    let mut ids = BTreeSet::new();
    for row in 0..frame.height() {
        let cloud_object_id = get(row, "cloud_object_id");
        let onprem_object_guid = get(row, "onprem_object_guid").map(|g| g.to_lowercase());
        let attribute = get(row, "attribute");
        let value = get(row, "value");
        let id = finding_id(
            &rule.name,
            cloud_object_id.as_deref(),
            onprem_object_guid.as_deref(),
            attribute.as_deref(),
            value.as_deref(),
        );
        // The same problem reported twice by one query (e.g. through two join paths) is one finding.
        if !ids.insert(id.clone()) {
            continue;
        }
        let message = get(row, "message")
            .ok_or_else(|| format!("{}: row {} has no message", rule.source.display(), row + 1))?;
        let remediation = get(row, "remediation").ok_or_else(|| {
            format!(
                "{}: row {} has no remediation",
                rule.source.display(),
                row + 1
            )
        })?;
        let predicted_outcome = match get(row, OUTCOME_COLUMN) {
            Some(text) => Some(
                text.parse::<PredictedOutcome>()
                    .map_err(|e| format!("{}: row {}: {e}", rule.source.display(), row + 1))?,
            ),
            None => rule.outcome,
        };
        let evidence = columns
            .iter()
            .filter(|(n, _)| !FINDING_COLUMNS.contains(&n.as_str()) && n != OUTCOME_COLUMN)
            .filter_map(|(n, values)| values[row].clone().map(|v| (n.clone(), v)))
            .collect();
        findings.push(Finding {
            id,
            rule: rule.name.clone(),
            severity: rule.severity,
            predicted_outcome,
            cloud_object_id,
            cloud_object_type: get(row, "cloud_object_type"),
            onprem_object_guid,
            onprem_distinguished_name: get(row, "onprem_distinguished_name"),
            attribute,
            value,
            message,
            remediation,
            evidence,
            status: None,
            muted: None,
            suppression: None,
        });
    }
    Ok(findings)
}

/// The query's evidence columns must be the ones its front matter declares (when it declares
/// them): both ways, so neither a new column nor a renamed one goes unnoticed.
fn check_declared_evidence(rule: &Rule, returned: &[String]) -> Result<(), String> {
    let Some(declared) = &rule.evidence else {
        return Ok(());
    };
    let returned: Vec<&str> = returned
        .iter()
        .map(String::as_str)
        .filter(|n| !FINDING_COLUMNS.contains(n) && *n != OUTCOME_COLUMN)
        .collect();
    let undeclared: Vec<&str> = returned
        .iter()
        .copied()
        .filter(|n| !declared.iter().any(|d| d == n))
        .collect();
    let absent: Vec<&str> = declared
        .iter()
        .map(String::as_str)
        .filter(|d| !returned.contains(d))
        .collect();
    if undeclared.is_empty() && absent.is_empty() {
        return Ok(());
    }
    let mut problems = Vec::new();
    if !undeclared.is_empty() {
        problems.push(format!(
            "returned but not declared: {}",
            undeclared.join(", ")
        ));
    }
    if !absent.is_empty() {
        problems.push(format!("declared but not returned: {}", absent.join(", ")));
    }
    Err(format!(
        "{}: rule '{}': the query's evidence columns differ from its front matter `evidence` ({})",
        rule.source.display(),
        rule.name,
        problems.join("; ")
    ))
}

/// Renders a result column as text; times as RFC 3339 UTC, so evidence reads the same everywhere.
fn column_as_strings(column: &Column) -> Result<Vec<Option<String>>, String> {
    let series = column.as_materialized_series();
    match series.dtype() {
        DataType::Datetime(unit, _) => {
            let unit = *unit;
            let values = series.datetime().map_err(|e| e.to_string())?;
            Ok(values
                .physical()
                .iter()
                .map(|v| v.and_then(|v| format_time(v, unit)))
                .collect())
        }
        DataType::Null => Ok(vec![None; series.len()]),
        _ => {
            let text = series.cast(&DataType::String).map_err(|e| e.to_string())?;
            let text = text.str().map_err(|e| e.to_string())?;
            Ok(text.iter().map(|v| v.map(str::to_owned)).collect())
        }
    }
}

fn format_time(value: i64, unit: TimeUnit) -> Option<String> {
    let micros = match unit {
        TimeUnit::Nanoseconds => value / 1000,
        TimeUnit::Microseconds => value,
        TimeUnit::Milliseconds => value.checked_mul(1000)?,
    };
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules::embedded;

    /// Every embedded rule and view runs against empty tables with the declared schemas: a typo in
    /// a column or table name fails here, at `cargo test`, not in an admin's audit.
    #[test]
    fn every_rule_runs_on_empty_tables() {
        let rules = embedded().unwrap();
        assert!(
            rules.iter().any(|r| r.kind == Kind::Rule),
            "no rules embedded"
        );
        // On a stack like the audit's own (see main.rs): polars plans a query recursively, and
        // a debug build's frames are large; the 2 MiB of a test thread ran out on a union of
        // joins.
        let output = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .stack_size(8 << 20)
                .spawn_scoped(scope, || run(&rules, &Tables::empty(), None))
                .expect("a thread for the rules")
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        assert!(
            output.views_unavailable.is_empty(),
            "{:?}",
            output.views_unavailable
        );
        // A view is built only for a rule reading it: every embedded view is read by a rule or
        // a view, so every one was built above.
        for view in rules.iter().filter(|r| r.kind == Kind::View) {
            assert!(
                rules
                    .iter()
                    .filter(|r| r.name != view.name)
                    .any(|r| names_read(r).is_some_and(|read| read.contains(&view.name))),
                "no rule or view reads {}",
                view.name
            );
        }
        // Every rule that does not pass, at once (an evidence column missing from the front
        // matter's `evidence` shows up here, naming the rule and the column).
        let broken: Vec<String> = output
            .results
            .iter()
            .filter(|r| r.outcome != RuleOutcome::Passed)
            .map(|r| format!("{}: {:?}", r.rule, r.outcome))
            .collect();
        assert!(broken.is_empty(), "{}", broken.join("\n"));
        assert_eq!(
            output.results.len(),
            rules.iter().filter(|r| r.kind == Kind::Rule).count()
        );
    }

    /// A rule's output columns with no object in them, for rules that only need to run.
    const NO_FINDING_COLUMNS: &str = "NULL AS cloud_object_id, NULL AS cloud_object_type, \
        NULL AS onprem_object_guid, NULL AS onprem_distinguished_name, NULL AS attribute, \
        NULL AS value, 'm' AS message, 'r' AS remediation";

    fn rule(sql: &str, requires: &[&str]) -> Rule {
        Rule {
            name: "t".into(),
            title: "t".into(),
            severity: crate::audit::findings::Severity::High,
            category: "test".into(),
            requires: requires.iter().map(|s| (*s).to_owned()).collect(),
            optional: vec![],
            onprem_classes: vec![],
            kind: Kind::Rule,
            outcome: Some(PredictedOutcome::CloudLeftover),
            not_evaluated_when: None,
            evidence: None,
            cleanup: crate::audit::findings::RuleCleanup::default(),
            docs: String::new(),
            sql: sql.into(),
            source: "t.sql".into(),
        }
    }

    /// A rule named `name` reading `relation` (a table or view) and finding nothing.
    fn reading(name: &str, relation: &str, requires: &[&str]) -> Rule {
        Rule {
            name: name.into(),
            ..rule(
                &format!("SELECT {NO_FINDING_COLUMNS} FROM {relation} LIMIT 0"),
                requires,
            )
        }
    }

    /// `tables` with `spec`'s table of `rows` null rows.
    fn holding(tables: &mut Tables, spec: &'static tables::TableSpec, rows: usize) {
        tables
            .frames
            .insert(spec.name, DataFrame::full_null(&spec.held_schema(), rows));
    }

    #[test]
    fn a_table_is_released_after_the_last_rule_reading_it_and_results_keep_catalogue_order() {
        let rules = [
            reading("first", "cloud_objects", &["cloud_objects"]),
            // Reads onprem_values without declaring it: it must still find it.
            reading("second", "onprem_values", &["onprem_objects"]),
            reading("third", "onprem_values", &["onprem_values"]),
        ];
        let mut tables = Tables::empty();
        // The largest table: the rules reading it run first, and it goes after them.
        holding(&mut tables, &tables::ONPREM_VALUES, 1000);
        let to_run: Vec<&Rule> = rules.iter().collect();
        let releases = Releases::new(&to_run, &[], &tables, &["cloud_objects"], BTreeSet::new());
        assert_eq!(releases.order(), [1, 2, 0], "onprem_values' readers first");
        let out = run_timed(
            &rules,
            &mut tables,
            None,
            &["cloud_objects"],
            Clock::start(),
        );
        let names: Vec<&str> = out.results.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(names, ["first", "second", "third"]);
        for result in &out.results {
            assert_eq!(result.outcome, RuleOutcome::Passed, "{result:?}");
        }
        assert!(!tables.frames.contains_key("onprem_values"));
        assert!(
            !tables.frames.contains_key("onprem_objects"),
            "read, not kept"
        );
        assert!(tables.frames.contains_key("cloud_objects"), "kept");
        assert!(
            tables.frames.contains_key("domains"),
            "read by no rule: left alone"
        );
    }

    /// Rules needing a table not built yet run after every rule needing none, whatever the
    /// sizes of what they read.
    #[test]
    fn rules_needing_a_deferred_table_run_last() {
        let rules = [
            reading("cloud", "cloud_objects", &["cloud_objects"]),
            reading("values", "onprem_values", &["onprem_values"]),
            reading("objects", "onprem_objects", &["onprem_objects"]),
        ];
        let mut tables = Tables::empty();
        holding(&mut tables, &tables::CLOUD_OBJECTS, 5000);
        holding(&mut tables, &tables::ONPREM_VALUES, 1000);
        let to_run: Vec<&Rule> = rules.iter().collect();
        let deferred = BTreeSet::from(["cloud_objects".to_owned()]);
        let releases = Releases::new(&to_run, &[], &tables, &[], deferred);
        assert_eq!(releases.order(), [1, 2, 0]);
        assert!(releases.needs_deferred(0) && !releases.needs_deferred(1));
    }

    /// With both sides, the directory's cloud tables wait until the first rule reading one runs,
    /// are then built from the snapshot (the rule sees its objects), and are released as any
    /// table; the on-prem rule runs before them.
    #[test]
    fn deferred_cloud_tables_are_built_for_the_first_rule_reading_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("users.json"),
            r#"{"value":[{"id":"u1","userPrincipalName":"a@contoso.com","proxyAddresses":[],
                "onPremisesImmutableId":null,"onPremisesSyncEnabled":null,
                "onPremisesProvisioningErrors":[],"onPremisesLastSyncDateTime":""}]}"#,
        )
        .unwrap();
        for empty in ["contacts.json", "groups.json"] {
            std::fs::write(dir.path().join(empty), r#"{"value":[]}"#).unwrap();
        }
        let cloud = crate::inputs::snapshot::load(dir.path()).unwrap();
        let onprem = vec![crate::audit::sync_model::tests::sample(
            crate::inputs::onprem::ObjectClass::User,
            [1; 16],
            "CN=a,DC=contoso,DC=com",
        )];
        let params = tables::Params {
            as_of: chrono::Utc::now(),
            directory_sync_max_age: chrono::Duration::hours(3),
            password_sync_max_age: chrono::Duration::hours(24),
            cloud_sync_max_age: chrono::Duration::hours(24),
        };
        let mut tables = tables::build(
            &params,
            Some(onprem),
            crate::audit::sync_model::SyncChoices::default(),
            Some(cloud),
        )
        .unwrap();
        assert_eq!(tables.deferred_tables().len(), 4);
        assert!(!tables.frames.contains_key("cloud_objects"));
        assert!(!tables.unavailable.contains_key("cloud_objects"));
        assert!(
            tables.unavailable.contains_key("domains"),
            "the small tables are built at once: no domains collection"
        );
        let finds_the_user = Rule {
            name: "cloud".into(),
            ..rule(
                "SELECT id AS cloud_object_id, 'user' AS cloud_object_type,                  NULL AS onprem_object_guid, NULL AS onprem_distinguished_name,                  NULL AS attribute, NULL AS value, 'm' AS message, 'r' AS remediation                  FROM cloud_objects",
                &["cloud_objects"],
            )
        };
        let rules = [
            finds_the_user,
            reading("onprem", "onprem_objects", &["onprem_objects"]),
        ];
        let out = run_timed(&rules, &mut tables, None, &[], Clock::start());
        let outcomes: Vec<(&str, &RuleOutcome)> = out
            .results
            .iter()
            .map(|r| (r.rule.as_str(), &r.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("cloud", &RuleOutcome::Failed { findings: 1 }),
                ("onprem", &RuleOutcome::Passed)
            ]
        );
        assert_eq!(out.findings[0].cloud_object_id.as_deref(), Some("u1"));
        assert!(tables.deferred_tables().is_empty(), "built");
        assert!(
            !tables.frames.contains_key("cloud_objects"),
            "released after its reader"
        );
        assert!(
            tables.unavailable["sync_behavior"].contains("not in the snapshot"),
            "a deferred table that could not be built says why: {:?}",
            tables.unavailable
        );
        assert!(
            tables.frames.contains_key("cloud_addresses"),
            "read by no rule: left alone"
        );
    }

    fn view(name: &str, sql: &str, requires: &[&str]) -> Rule {
        Rule {
            name: name.into(),
            kind: Kind::View,
            outcome: None,
            ..rule(sql, requires)
        }
    }

    #[test]
    fn a_view_is_built_when_a_rule_first_reads_it_and_goes_after_its_last_reader() {
        let to_run = [
            reading("reads-values", "onprem_values", &[]),
            reading("reads-outer", "outer_view", &[]),
            reading("reads-inner", "inner_view", &[]),
        ];
        // outer_view builds on inner_view, which alone reads domains.
        let views = [
            view("outer_view", "SELECT * FROM inner_view", &["inner_view"]),
            view("inner_view", "SELECT name FROM domains", &["domains"]),
        ];
        let mut tables = Tables::empty();
        holding(&mut tables, &tables::ONPREM_VALUES, 1000);
        holding(&mut tables, &tables::DOMAINS, 10);
        let to_run: Vec<&Rule> = to_run.iter().collect();
        let views: Vec<&Rule> = views.iter().collect();
        let mut releases = Releases::new(&to_run, &views, &tables, &[], BTreeSet::new());
        assert_eq!(releases.order(), [0, 1, 2], "onprem_values' reader first");
        let names = |names: &[&str]| -> BTreeSet<String> {
            names.iter().map(|n| (*n).to_owned()).collect()
        };
        assert!(releases.views_to_build(0).is_empty());
        assert_eq!(releases.ran(0), ["onprem_values"]);
        // The first reader of outer_view builds it and inner_view it builds on; domains is needed
        // until they are built, and inner_view until its own reader ran.
        assert_eq!(
            releases.views_to_build(1),
            names(&["inner_view", "outer_view"])
        );
        releases.built("inner_view");
        releases.built("outer_view");
        assert_eq!(releases.ran(1), ["domains", "outer_view"]);
        assert!(releases.views_to_build(2).is_empty(), "built already");
        assert_eq!(releases.ran(2), ["inner_view"]);
    }

    #[test]
    fn views_are_built_for_the_rules_that_read_them_and_only_kept_ones_are_returned() {
        // A rule reporting each name `relation` holds.
        let reporting = |name: &str, relation: &str| Rule {
            name: name.into(),
            ..rule(
                &format!(
                    "SELECT NULL AS cloud_object_id, NULL AS cloud_object_type, NULL AS onprem_object_guid, \
                     NULL AS onprem_distinguished_name, NULL AS attribute, name AS value, 'm' AS message, \
                     'r' AS remediation FROM {relation}"
                ),
                &[relation],
            )
        };
        let rules = [
            // Names `verified` in its SQL only, and comes first: it must still be built after it.
            view("verified_again", "SELECT name FROM verified", &["domains"]),
            view(
                "verified",
                "SELECT name FROM domains WHERE is_verified",
                &["domains"],
            ),
            view("kept_view", "SELECT name FROM domains", &["domains"]),
            // Would fail if it were built: no rule reads it, so it is not.
            view("unread", "SELECT no_such_column FROM domains", &["domains"]),
            view("broken", "SELECT no_such_column FROM domains", &["domains"]),
            // Runs first, so it builds both views: verified_again must wait for verified.
            reporting("reads-verified-again", "verified_again"),
            reporting("reads-verified", "verified"),
            reporting("reads-kept", "kept_view"),
            reporting("reads-broken", "broken"),
        ];
        let mut tables = Tables::empty();
        let domains = df!(
            "name" => ["contoso.com", "unverified.example"],
            "is_verified" => [true, false],
            "is_default" => [true, false],
            "is_initial" => [false, false],
            "authentication_type" => ["Managed", "Managed"],
        )
        .unwrap();
        tables.frames.insert(tables::DOMAINS.name, domains);
        let out = run_timed(&rules, &mut tables, None, &["kept_view"], Clock::start());
        let values = |rule: &str| -> Vec<Option<String>> {
            out.findings
                .iter()
                .filter(|f| f.rule == rule)
                .map(|f| f.value.clone())
                .collect()
        };
        assert_eq!(values("reads-verified"), [Some("contoso.com".to_owned())]);
        assert_eq!(
            values("reads-verified-again"),
            [Some("contoso.com".to_owned())],
            "a view waits for a view its SQL names"
        );
        assert_eq!(values("reads-kept").len(), 2);
        let broken = &out.results[3];
        assert!(
            matches!(&broken.outcome, RuleOutcome::NotEvaluated { reason } if reason.contains("broken unavailable")),
            "{broken:?}"
        );
        assert_eq!(
            out.views_unavailable.keys().collect::<Vec<_>>(),
            ["broken"],
            "only the views rules read are built"
        );
        assert_eq!(out.views.keys().collect::<Vec<_>>(), ["kept_view"]);
        assert!(
            !tables.frames.contains_key("domains"),
            "released once the views reading it were built and their readers ran"
        );
    }

    #[test]
    fn a_failing_rule_does_not_break_the_next_one() {
        // Found when a rule with an ambiguous column ran before upn-suffix-unverified.
        let failing = rule(
            "WITH domains AS (SELECT address AS name FROM cloud_addresses) \
             SELECT object_row FROM onprem_addresses a JOIN domains c ON a.address = c.name \
             JOIN cloud_addresses d ON a.address = d.address",
            &["onprem_addresses", "cloud_addresses"],
        );
        let fine = rule(
            "SELECT NULL AS cloud_object_id, NULL AS cloud_object_type, o.object_guid AS onprem_object_guid, \
             o.distinguished_name AS onprem_distinguished_name, NULL AS attribute, o.user_principal_name AS value, \
             'm' AS message, 'r' AS remediation FROM onprem_objects o \
             WHERE o.upn_suffix NOT IN (SELECT name FROM domains WHERE is_verified)",
            &["onprem_objects", "domains"],
        );
        let out = run(&[failing, fine], &Tables::empty(), None);
        assert!(matches!(
            out.results[0].outcome,
            RuleOutcome::Errored { .. }
        ));
        assert_eq!(
            out.results[1].outcome,
            RuleOutcome::Passed,
            "{:?}",
            out.results[1]
        );
    }

    /// polars' SQL contexts share one table map between clones, and a query registers its
    /// derived tables' aliases there: run on a clone, a rule's `JOIN (SELECT ...) o` would make
    /// `o` in the next rule that derived table instead of its own `onprem_objects o`.
    #[test]
    fn a_derived_table_alias_in_one_rule_does_not_shadow_a_table_in_the_next() {
        let columns = NO_FINDING_COLUMNS;
        let derived = rule(
            &format!(
                "SELECT {columns} FROM onprem_objects x \
                 SEMI JOIN (SELECT object_guid AS g FROM onprem_objects) o ON x.object_guid = o.g"
            ),
            &["onprem_objects"],
        );
        let named = rule(
            &format!("SELECT {columns} FROM onprem_objects o WHERE o.object_guid IS NULL"),
            &["onprem_objects"],
        );
        let out = run(&[derived, named], &Tables::empty(), None);
        for result in &out.results {
            assert_eq!(result.outcome, RuleOutcome::Passed, "{result:?}");
        }
    }

    #[test]
    fn a_row_may_state_its_own_outcome_and_an_unknown_one_is_an_error() {
        let base = "SELECT NULL AS cloud_object_id, NULL AS cloud_object_type, NULL AS onprem_object_guid, \
                    NULL AS onprem_distinguished_name, NULL AS attribute, v AS value, 'm' AS message, 'r' AS remediation";
        let sql = format!(
            "{base}, CASE WHEN v = 'a' THEN 'ExistingAdminRoleConflict' END AS predicted_outcome \
             FROM (SELECT 'a' AS v UNION ALL SELECT 'b' AS v) t"
        );
        let out = run(&[rule(&sql, &[])], &Tables::empty(), None);
        let mut outcomes: Vec<_> = out
            .findings
            .iter()
            .map(|f| (f.value.clone().unwrap(), f.predicted_outcome))
            .collect();
        outcomes.sort();
        assert_eq!(
            outcomes,
            [
                (
                    "a".to_owned(),
                    Some(PredictedOutcome::ExistingAdminRoleConflict)
                ),
                ("b".to_owned(), Some(PredictedOutcome::CloudLeftover)),
            ]
        );
        assert!(
            out.findings
                .iter()
                .all(|f| !f.evidence.contains_key("predicted_outcome")),
            "the outcome column is not evidence"
        );
        let bad = format!("{base}, 'Deleted' AS predicted_outcome FROM (SELECT 'a' AS v) t");
        let out = run(&[rule(&bad, &[])], &Tables::empty(), None);
        assert!(
            matches!(&out.results[0].outcome, RuleOutcome::Errored { error } if error.contains("unknown predicted outcome 'Deleted'")),
            "{:?}",
            out.results[0].outcome
        );
    }

    #[test]
    fn missing_table_means_not_evaluated_never_passed() {
        let mut tables = Tables::empty();
        tables.frames.remove("domains");
        tables
            .unavailable
            .insert("domains", "domains: forbidden".into());
        let out = run(&[rule("SELECT 1 AS x", &["domains"])], &tables, None);
        assert!(
            matches!(&out.results[0].outcome, RuleOutcome::NotEvaluated { reason } if reason.contains("forbidden"))
        );
    }

    #[test]
    fn a_class_the_exports_lack_means_not_evaluated_never_passed() {
        use crate::inputs::onprem::ObjectClass;
        let sql = format!("SELECT {NO_FINDING_COLUMNS} FROM onprem_objects WHERE 1 = 0");
        let contacts_rule = Rule {
            onprem_classes: vec![ObjectClass::Contact],
            ..rule(&sql, &["onprem_objects"])
        };
        let mut tables = Tables::empty();
        tables.onprem_classes = Some([ObjectClass::User, ObjectClass::Group].into());
        let out = run(std::slice::from_ref(&contacts_rule), &tables, None);
        assert!(
            matches!(&out.results[0].outcome, RuleOutcome::NotEvaluated { reason }
                if reason == "the on-prem exports hold no contact object (the classes this rule reports on)"),
            "{:?}",
            out.results[0].outcome
        );
        tables.onprem_classes = Some([ObjectClass::Contact].into());
        let out = run(std::slice::from_ref(&contacts_rule), &tables, None);
        assert_eq!(out.results[0].outcome, RuleOutcome::Passed);
        // A rule that names no class runs whatever the exports hold.
        tables.onprem_classes = Some([ObjectClass::User].into());
        let out = run(&[rule(&sql, &["onprem_objects"])], &tables, None);
        assert_eq!(out.results[0].outcome, RuleOutcome::Passed);
    }

    #[test]
    fn partial_tables_run_only_the_rules_scoped_to_them() {
        let mut tables = Tables::empty();
        tables.partial.insert(
            "cloud_objects",
            tables::Partial {
                reason: tables::ERRORS_ONLY_REASON.to_owned(),
                complete_for: "provisioning_errors",
            },
        );
        let view = Rule {
            name: "v".into(),
            kind: Kind::View,
            ..rule("SELECT id FROM cloud_objects", &["cloud_objects"])
        };
        let scoped = Rule {
            name: "scoped".into(),
            ..rule(
                "SELECT * FROM provisioning_errors",
                &["provisioning_errors", "cloud_objects"],
            )
        };
        let whole = Rule {
            name: "whole".into(),
            ..rule("SELECT * FROM cloud_objects", &["cloud_objects"])
        };
        let via_view = Rule {
            name: "via-view".into(),
            ..rule("SELECT * FROM v", &["v"])
        };
        let unrelated = Rule {
            name: "unrelated".into(),
            ..rule("SELECT * FROM domains", &["domains"])
        };
        let sql = format!("SELECT {NO_FINDING_COLUMNS} FROM ");
        let with_contract = |mut r: Rule| {
            let table = r.sql.rsplit(' ').next().unwrap().to_owned();
            r.sql = format!("{sql}{table} WHERE 1 = 0");
            r
        };
        let rules = vec![
            view,
            with_contract(scoped),
            with_contract(whole),
            with_contract(via_view),
            with_contract(unrelated),
        ];
        let out = run(&rules, &tables, None);
        let result = |name: &str| out.results.iter().find(|r| r.rule == name).unwrap();
        assert_eq!(result("scoped").outcome, RuleOutcome::Passed);
        assert!(
            result("scoped").caveats[0].contains("only the objects in provisioning_errors"),
            "{:?}",
            result("scoped").caveats
        );
        for name in ["whole", "via-view"] {
            assert!(
                matches!(&result(name).outcome, RuleOutcome::NotEvaluated { reason } if reason.contains(tables::ERRORS_ONLY_REASON)),
                "{name}: {:?}",
                result(name).outcome
            );
        }
        assert_eq!(result("unrelated").outcome, RuleOutcome::Passed);
        assert!(result("unrelated").caveats.is_empty());
    }

    #[test]
    fn evidence_columns_must_match_the_declaration_both_ways() {
        let base = "SELECT NULL AS cloud_object_id, NULL AS cloud_object_type, NULL AS onprem_object_guid, \
                    NULL AS onprem_distinguished_name, NULL AS attribute, 'v' AS value, 'm' AS message, \
                    'r' AS remediation";
        let declared = |sql: String, evidence: &[&str]| Rule {
            name: "declared".into(),
            evidence: Some(evidence.iter().map(|s| (*s).to_owned()).collect()),
            ..rule(&sql, &[])
        };
        let matching = declared(format!("{base}, 'h' AS other_holder"), &["other_holder"]);
        let out = run(&[matching], &Tables::empty(), None);
        assert_eq!(out.results[0].outcome, RuleOutcome::Failed { findings: 1 });
        assert_eq!(out.findings[0].evidence["other_holder"], "h");

        let renamed = declared(format!("{base}, 'h' AS holder"), &["other_holder"]);
        let out = run(&[renamed], &Tables::empty(), None);
        assert!(
            matches!(&out.results[0].outcome, RuleOutcome::Errored { error }
                if error == "t.sql: rule 'declared': the query's evidence columns differ from its front matter `evidence` (returned but not declared: holder; declared but not returned: other_holder)"),
            "{:?}",
            out.results[0].outcome
        );
        assert!(
            out.findings.is_empty(),
            "an errored rule reports no findings"
        );
    }

    #[test]
    fn output_contract_is_enforced() {
        let out = run(
            &[rule("SELECT 'x' AS message", &[])],
            &Tables::empty(),
            None,
        );
        assert!(
            matches!(&out.results[0].outcome, RuleOutcome::Errored { error } if error.contains("remediation"))
        );
    }

    #[test]
    fn rows_become_findings_with_evidence_and_stable_ids() {
        let sql = "SELECT 'c1' AS cloud_object_id, 'user' AS cloud_object_type, 'ABC' AS onprem_object_guid, \
                   NULL AS onprem_distinguished_name, 'mail' AS attribute, 'a@x.com' AS value, 'm' AS message, \
                   'r' AS remediation, p.as_of AS seen FROM params p";
        let mut tables = Tables::empty();
        let as_of = chrono::DateTime::parse_from_rfc3339("2026-11-01T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let params = tables::Params {
            as_of,
            directory_sync_max_age: chrono::Duration::hours(3),
            password_sync_max_age: chrono::Duration::hours(24),
            cloud_sync_max_age: chrono::Duration::hours(24),
        };
        let built = tables::build(
            &params,
            None,
            crate::audit::sync_model::SyncChoices::default(),
            None,
        )
        .unwrap();
        tables
            .frames
            .insert("params", built.frames["params"].clone());
        let out = run(&[rule(sql, &[])], &tables, None);
        assert_eq!(out.results[0].outcome, RuleOutcome::Failed { findings: 1 });
        let f = &out.findings[0];
        assert_eq!(f.onprem_object_guid.as_deref(), Some("abc"));
        assert_eq!(f.evidence["seen"], "2026-11-01T10:00:00Z");
        assert_eq!(f.onprem_distinguished_name, None);
        assert_eq!(
            f.id,
            finding_id("t", Some("c1"), Some("abc"), Some("mail"), Some("A@X.com"))
        );
    }
}
