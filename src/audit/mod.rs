//! The `check` pipeline, wired end to end: load the rules, import the on-prem exports, read the
//! cloud snapshot, build the tables, run the rules, and assemble the [`AuditReport`].
//!
//! It owns the order of the steps and the decisions that span inputs (the as-of time, objects
//! exported twice); it must not contain rule logic, parse files itself, or render output.

pub(crate) mod findings;
pub(crate) mod result;
pub(crate) mod rules;
pub(crate) mod schedule;
mod summary;
pub(crate) mod sync_model;
pub(crate) mod tables;
pub(crate) mod timings;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use rayon::prelude::*;

use crate::audit::findings::{RuleOutcome, RuleResult};
use crate::audit::result::{
    AuditReport, CloudInput, Inputs, NotEvaluated, OnPremFile, SCHEMA_VERSION,
};
use crate::audit::rules::engine;
use crate::audit::sync_model::{SyncChoices, SyncConfig};
use crate::audit::tables::Params;
use crate::inputs::onprem::{self, OnPremObject, RejectedRecord};
use crate::inputs::snapshot;

/// What `check` was asked to do.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub cloud: Option<PathBuf>,
    pub onprem: Vec<PathBuf>,
    pub rules_dir: Option<PathBuf>,
    pub as_of: Option<DateTime<Utc>>,
    pub directory_sync_max_age: chrono::Duration,
    pub password_sync_max_age: chrono::Duration,
    pub cloud_sync_max_age: chrono::Duration,
    /// Run only these rules (all when `None`).
    pub only: Option<BTreeSet<String>>,
    /// The sync engine's configuration as flags and `--sync-config` give it; `auto` parts are
    /// inferred from the data.
    pub sync: SyncConfig,
}

impl Default for CheckOptions {
    /// The command line's defaults (`check --help`).
    fn default() -> Self {
        Self {
            cloud: None,
            onprem: Vec::new(),
            rules_dir: None,
            as_of: None,
            directory_sync_max_age: chrono::Duration::hours(3),
            password_sync_max_age: chrono::Duration::hours(24),
            cloud_sync_max_age: chrono::Duration::hours(24),
            only: None,
            sync: SyncConfig::default(),
        }
    }
}

/// Runs the audit and returns its report (nothing is written here).
pub fn check(options: &CheckOptions) -> anyhow::Result<AuditReport> {
    let rules = load_rules(options)?;
    let mut inputs = Inputs::default();
    let clock = timings::Clock::start();
    let (onprem, cloud) = read_inputs(options, &mut inputs, clock)?;
    if onprem.is_none() && cloud.is_none() {
        anyhow::bail!("nothing to audit: give --cloud DIR, --onprem FILE, or both");
    }

    // Judge against a fixed time so a snapshot audits the same way next week.
    let as_of = options
        .as_of
        .or_else(|| {
            cloud
                .as_ref()
                .and_then(|c| c.manifest.as_ref())
                .and_then(|m| m.collected_at)
        })
        .unwrap_or_else(Utc::now);
    let params = Params {
        as_of,
        directory_sync_max_age: options.directory_sync_max_age,
        password_sync_max_age: options.password_sync_max_age,
        cloud_sync_max_age: options.cloud_sync_max_age,
    };
    // The sync model decides which objects sync at all and with which anchor: only those reach
    // the tables, so no rule can report an object the engine never looks at.
    // What the exports held before scoping: an export with nothing usable, or with no object of
    // a class a rule reports on, must not let that rule pass (scoped-out objects are different:
    // the engine will not sync them, so there is nothing to report). They are the classes
    // `read_inputs` counted, not counted again.
    let imported_classes: Option<BTreeSet<onprem::ObjectClass>> = onprem.as_ref().map(|_| {
        inputs
            .onprem_objects
            .keys()
            .filter_map(|name| onprem::ObjectClass::from_name(name))
            .collect()
    });
    let began = timings::Began::now();
    let (onprem, choices) = match onprem {
        Some(objects) => {
            let model = sync_model::build(&options.sync, &objects, cloud.as_ref());
            let (kept, scope) = sync_model::apply(&model, objects);
            let choices = model.choices();
            inputs.sync_model = Some(model);
            inputs.scope = Some(scope);
            (Some(kept), choices)
        }
        None => (None, SyncChoices::default()),
    };
    clock.done("sync model and scope", began, onprem.as_ref().map(Vec::len));
    let began = timings::Began::now();
    let tenant_id = cloud.as_ref().and_then(snapshot::CloudSnapshot::tenant_id);
    // The tables hold everything the rules read: the parsed inputs are consumed (freed a chunk
    // at a time) while they are built, so the two are never both whole in memory.
    // With both sides, the directory's cloud tables are built when the first rule reading one
    // runs (see `tables::build`).
    let mut tables =
        tables::build(&params, onprem, choices, cloud).context("building the audit tables")?;
    tables
        .put_out_of_scope(inputs.scope.as_ref())
        .context("building the out-of-scope table")?;
    if let Some(classes) = imported_classes {
        tables.set_imported_onprem_classes(classes);
    }
    clock.done("tables", began, None);
    timings::tables_held(&tables.memory());
    let began = timings::Began::now();
    let only = options.only.as_ref();
    let mut output = engine::run_timed(&rules, &mut tables, only, &summary::kept(), clock);
    clock.done("rules", began, Some(output.findings.len()));
    // The summary reads the cloud tables even when no rule run did (`--rule` of on-prem rules).
    tables
        .build_deferred()
        .context("building the cloud tables")?;
    // After the rules: the summary reuses the views they built (the links join among them).
    let began = timings::Began::now();
    let tenant_summary = summary::tenant_summary(&tables, &rules, &params, &output.views)
        .context("computing the tenant summary")?;
    output.views.clear();
    clock.done("tenant summary", began, None);

    inputs.rules_not_evaluated = not_evaluated(&output.results);
    inputs.rejected_count = inputs.rejected_records.len();

    let mut findings = output.findings;
    // Most severe first, then by rule and object: the order a reader triages in, and stable.
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(AuditReport {
        schema_version: SCHEMA_VERSION,
        tool: format!("entra-audit {}", crate::VERSION),
        as_of: rfc3339(as_of),
        tenant_id,
        inputs,
        rules: output.results,
        findings,
        tenant_summary,
        baseline: None,
        resolved: None,
        not_rechecked: None,
        suppressions: None,
        rule_docs: rules
            .iter()
            .filter(|r| r.kind == rules::Kind::Rule)
            .map(|r| (r.name.clone(), r.docs.clone()))
            .collect(),
        rule_cleanup: rules
            .iter()
            .filter(|r| r.kind == rules::Kind::Rule)
            .map(|r| (r.name.clone(), r.cleanup.clone()))
            .collect(),
    })
}

/// The rules that were not evaluated, with why (the report repeats them under its inputs).
fn not_evaluated(results: &[RuleResult]) -> Vec<NotEvaluated> {
    results
        .iter()
        .filter_map(|r| match &r.outcome {
            RuleOutcome::NotEvaluated { reason } => Some(NotEvaluated {
                rule: r.rule.clone(),
                reason: reason.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// The built-in rules (and `--rules-dir`'s), after checking every `--rule` names one of them.
fn load_rules(options: &CheckOptions) -> anyhow::Result<Vec<rules::Rule>> {
    let rules = match &options.rules_dir {
        Some(dir) => rules::with_custom(dir)?,
        None => rules::embedded()?,
    };
    if let Some(only) = &options.only {
        let known: BTreeSet<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        if let Some(unknown) = only.iter().find(|n| !known.contains(n.as_str())) {
            anyhow::bail!("unknown rule '{unknown}' in --rule (see `entra-audit rules`)");
        }
    }
    Ok(rules)
}

/// Reads the on-prem exports and the cloud snapshot (at the same time: they are independent) and
/// records what was read in `inputs`.
fn read_inputs(
    options: &CheckOptions,
    inputs: &mut Inputs,
    clock: timings::Clock,
) -> anyhow::Result<(Option<Vec<OnPremObject>>, Option<snapshot::CloudSnapshot>)> {
    // The on-prem exports and the cloud snapshot are independent: read them at the same time.
    let (onprem, cloud) = std::thread::scope(|scope| {
        let cloud = scope.spawn(|| {
            let began = timings::Began::now();
            let cloud = options.cloud.as_deref().map(snapshot::load).transpose();
            let objects = cloud
                .as_ref()
                .ok()
                .and_then(Option::as_ref)
                .map(|c| c.users.len() + c.contacts.len() + c.groups.len());
            clock.done("cloud snapshot read", began, objects);
            cloud
        });
        let began = timings::Began::now();
        let onprem = if options.onprem.is_empty() {
            None
        } else {
            // A custom source anchor or UPN attribute is carried by the import for the model.
            let import = onprem::ImportOptions {
                extra_attributes: options.sync.extra_attributes(),
            };
            Some(import_onprem(&options.onprem, &import, inputs))
        };
        let objects = onprem.as_ref().and_then(|o| o.as_ref().ok()).map(Vec::len);
        clock.done("on-prem import", began, objects);
        let cloud = cloud.join().expect("the snapshot reader does not panic");
        (onprem.transpose(), cloud)
    });
    let (onprem, cloud) = (onprem?, cloud?);
    if let Some(objects) = &onprem {
        for (class, count) in class_counts(objects) {
            *inputs
                .onprem_objects
                .entry(class.as_str().to_owned())
                .or_default() += count;
        }
    }
    if let Some(cloud) = &cloud {
        inputs
            .rejected_records
            .extend(cloud.rejected.iter().cloned());
        inputs.cloud = Some(CloudInput {
            dir: cloud.dir.clone(),
            collected_at: cloud
                .manifest
                .as_ref()
                .and_then(|m| m.collected_at)
                .map(rfc3339),
            collections: cloud
                .states
                .iter()
                .map(|(c, s)| (c.file_stem().to_owned(), s.clone()))
                .collect(),
        });
    }
    Ok((onprem, cloud))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// How many of `objects` are of each class, for the classes they hold. Counted in an array in
/// one pass: a map entry looked up, and a key string made, for each of a million objects ran
/// on one core between the read and the sync model.
fn class_counts(objects: &[OnPremObject]) -> BTreeMap<onprem::ObjectClass, usize> {
    use onprem::ObjectClass;
    let mut counts = [0usize; ObjectClass::ALL.len()];
    for object in objects {
        // A class's place in ObjectClass::ALL (which lists every class) is its counter.
        if let Some(slot) = ObjectClass::ALL.iter().position(|&c| c == object.class) {
            counts[slot] += 1;
        }
    }
    ObjectClass::ALL
        .into_iter()
        .zip(counts)
        .filter(|&(_, count)| count > 0)
        .collect()
}

/// Imports every export; an object exported twice (overlapping exports) is kept once and the
/// repeat is listed as rejected, so it can neither vanish nor count double.
fn import_onprem(
    paths: &[PathBuf],
    import: &onprem::ImportOptions,
    inputs: &mut Inputs,
) -> anyhow::Result<Vec<OnPremObject>> {
    // Each file's objects, and which of them are kept: they stay where the import put them and
    // the repeats are dropped in place (moving a million objects, half a gigabyte, into a second
    // vector cost a copy, its page faults, and both vectors in memory at once).
    let mut files: Vec<(Vec<OnPremObject>, Vec<bool>)> = Vec::with_capacity(paths.len());
    let mut total = 0;
    let mut outcomes = Vec::with_capacity(paths.len());
    for path in paths {
        let (format, mut outcome) = onprem::import_with(path, import)?;
        files.push((std::mem::take(&mut outcome.objects), Vec::new()));
        outcomes.push((path, format, outcome));
    }
    let dedupe_rejected = drop_repeats(&mut files);
    for (((path, format, outcome), (_, keep)), dedupe) in
        outcomes.into_iter().zip(&files).zip(dedupe_rejected)
    {
        let kept = keep.iter().filter(|&&k| k).count();
        total += kept;
        let mut rejected = outcome.rejected;
        rejected.extend(dedupe);
        inputs.onprem.push(OnPremFile {
            path: path.clone(),
            format,
            objects: kept,
            rejected: rejected.len(),
            skipped: outcome
                .skipped_classes
                .into_iter()
                .collect::<BTreeMap<_, _>>(),
            warnings: outcome.warnings,
        });
        inputs.rejected_records.extend(rejected);
    }
    // Only now: until every file is judged, the objects stay where the import put them.
    let mut kept = Vec::new();
    for (mut objects, keep) in files {
        let mut keep = keep.into_iter();
        objects.retain(|_| keep.next().unwrap_or(false));
        if kept.is_empty() {
            kept = objects;
            kept.reserve_exact(total - kept.len());
        } else {
            kept.append(&mut objects);
        }
    }
    Ok(kept)
}

/// Marks in each file's `keep` (filled here) the objects to keep: all but the second and later
/// holders of an objectGUID or a DN, judged in file order so the first of two is the one kept.
/// Returns each file's rejected repeats, in file order.
fn drop_repeats(files: &mut [(Vec<OnPremObject>, Vec<bool>)]) -> Vec<Vec<RejectedRecord>> {
    use std::hash::BuildHasher as _;
    // Each objectGUID judged so far, pointing at the object kept under it (file and index: its
    // file and line are read from there, not copied per key).
    let mut seen: foldhash::HashMap<[u8; 16], (usize, usize)> = foldhash::HashMap::default();
    // One DN, two objectGUIDs: the export is inconsistent (taken while an object was deleted
    // and re-created?); keeping both would make them duplicates of each other in every rule.
    // Keyed by the DN's hash with the object's place, compared with `same_object` on a match:
    // a million lower-cased copies of DNs were a million allocations, made one at a time.
    let mut seen_dn: hashbrown::HashTable<(u64, usize, usize)> = hashbrown::HashTable::new();
    let dn_state = foldhash::fast::RandomState::default();
    // Hashed on every core. Only the objects whose objectGUID or DN hash another object shares
    // can repeat one (nearly none: a hash table of a million keys, filled one object at a time,
    // was a quarter of a second after the import); they are then judged in file order, so the
    // first of two is the one kept.
    let guid_state = foldhash::fast::RandomState::default();
    let (guid_hashes, dn_hashes): (Vec<Vec<u64>>, Vec<Vec<u64>>) = files
        .iter()
        .map(|(objects, _)| {
            objects
                .par_iter()
                .map(|o| {
                    let guid = guid_state.hash_one(o.object_guid);
                    (guid, o.distinguished_name.hash_lowercase(&dn_state))
                })
                .unzip()
        })
        .unzip();
    let shared_guid = crate::repeats::repeated(guid_hashes.concat());
    let shared_dn = crate::repeats::repeated(dn_hashes.concat());
    let mut dedupe_rejected: Vec<Vec<RejectedRecord>> = vec![Vec::new(); files.len()];
    for file in 0..files.len() {
        let mut keep = vec![true; files[file].0.len()];
        let first = |(f, i): (usize, usize)| -> &OnPremObject { &files[f].0[i] };
        for (index, object) in files[file].0.iter().enumerate() {
            let dn_hash = dn_hashes[file][index];
            if !shared_guid.contains(&guid_hashes[file][index]) && !shared_dn.contains(&dn_hash) {
                continue;
            }
            if let Some(first) = seen.get(&object.object_guid).map(|&at| &first(at).origin) {
                dedupe_rejected[file].push(RejectedRecord {
                    file: object.origin.file.to_path_buf(),
                    line: object.origin.line,
                    record: object.distinguished_name.to_string(),
                    reason: format!(
                        "objectGUID {} was already imported from {}:{}",
                        onprem::guid_to_string(&object.object_guid),
                        first.file.display(),
                        first.line
                    ),
                });
                keep[index] = false;
            } else if let Some(first) = seen_dn
                .find(dn_hash, |&(hash, f, i)| {
                    hash == dn_hash
                        && first((f, i))
                            .distinguished_name
                            .same_object(&object.distinguished_name)
                })
                .map(|&(_, f, i)| first((f, i)))
            {
                dedupe_rejected[file].push(RejectedRecord {
                    file: object.origin.file.to_path_buf(),
                    line: object.origin.line,
                    record: crate::preview::preview(&object.distinguished_name),
                    reason: format!(
                        "its DN was already imported from {}:{} with another objectGUID ({} here, \
                         {} there): one of the two records is stale; export again",
                        first.origin.file.display(),
                        first.origin.line,
                        onprem::guid_to_string(&object.object_guid),
                        onprem::guid_to_string(&first.object_guid),
                    ),
                });
                keep[index] = false;
            } else {
                seen_dn.insert_unique(dn_hash, (dn_hash, file, index), |&(hash, _, _)| hash);
                seen.insert(object.object_guid, (file, index));
            }
        }
        files[file].1 = keep;
    }
    dedupe_rejected
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::onprem::ObjectClass;

    /// Each class is counted, and a class no object has is not listed (the report says which
    /// classes an export held).
    #[test]
    fn classes_are_counted_and_absent_ones_left_out() {
        let object = |class| {
            crate::audit::sync_model::tests::sample(class, [1; 16], "CN=x,DC=corp,DC=example")
        };
        let objects = [
            object(ObjectClass::User),
            object(ObjectClass::Group),
            object(ObjectClass::User),
        ];
        assert_eq!(
            class_counts(&objects),
            BTreeMap::from([(ObjectClass::User, 2), (ObjectClass::Group, 1)])
        );
        let every_class = ObjectClass::ALL.map(object);
        assert_eq!(
            class_counts(&every_class),
            ObjectClass::ALL
                .into_iter()
                .map(|class| (class, 1))
                .collect()
        );
        assert!(class_counts(&[]).is_empty());
    }
}
