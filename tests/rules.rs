//! Per-rule fixtures: `fixtures/rules/<rule>.json` holds one or more cases, each a small tenant
//! (an on-prem export in PowerShell `ConvertTo-Json` shape and a cloud snapshot in Graph shape).
//! Objects are named `flag: ...` when the rule must report them and `ok: ...` when it must not;
//! the test checks both ways, through the real readers and the real engine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use entra_audit::testing::audit::CheckOptions;

use crate::common;
use entra_audit::testing::audit::findings::{Finding, RuleOutcome};
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules")
}

/// Writes a case as a real snapshot directory and export file, and returns the options to audit it.
fn materialise(case: &Value, dir: &Path) -> CheckOptions {
    let cloud = dir.join("cloud");
    std::fs::create_dir_all(&cloud).unwrap();
    let as_of = case["as_of"].as_str().unwrap();
    let mut collections = serde_json::Map::new();
    for (name, objects) in case["cloud"].as_object().unwrap() {
        let body = serde_json::json!({ "value": objects });
        std::fs::write(cloud.join(format!("{name}.json")), body.to_string()).unwrap();
        collections.insert(
            name.clone(),
            serde_json::json!({"status": "complete", "objects": objects.as_array().unwrap().len()}),
        );
    }
    let manifest =
        serde_json::json!({"schema_version": 1, "collected_at": as_of, "collections": collections});
    std::fs::write(cloud.join("manifest.json"), manifest.to_string()).unwrap();
    let mut onprem = Vec::new();
    if !case["onprem"].as_array().unwrap().is_empty() {
        let path = dir.join("ad.json");
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&case["onprem"]).unwrap(),
        )
        .unwrap();
        onprem.push(path);
    }
    let mut options = common::options(&cloud, onprem);
    // `"sync": {"upn-source": "mail"}`: the case's sync configuration, as a --sync-config file.
    if let Some(sync) = case.get("sync") {
        options.sync.file = serde_json::from_value(sync.clone()).expect("a valid sync config");
    }
    options
}

/// Display name of every object in the case, by the id a finding would use for it.
fn names(case: &Value) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for o in case["onprem"].as_array().unwrap() {
        names.insert(
            o["ObjectGUID"].as_str().unwrap().to_lowercase(),
            o["DisplayName"].as_str().unwrap().to_owned(),
        );
    }
    for (collection, objects) in case["cloud"].as_object().unwrap() {
        for o in objects.as_array().unwrap() {
            let (id, name) = if collection == "synchronizationJobs" {
                (&o["servicePrincipalId"], &o["servicePrincipalDisplayName"])
            } else {
                (&o["id"], &o["displayName"])
            };
            if let (Some(id), Some(name)) = (id.as_str(), name.as_str()) {
                names.insert(id.to_owned(), name.to_owned());
            }
        }
    }
    names
}

/// Every object a finding names: both sides, and the "other" objects its evidence points at.
fn involved(finding: &Finding) -> Vec<String> {
    let mut ids: Vec<String> = finding
        .cloud_object_id
        .iter()
        .chain(finding.onprem_object_guid.iter())
        .cloned()
        .collect();
    for (key, value) in &finding.evidence {
        if key.ends_with("_object_guid") || key.ends_with("_object_id") {
            ids.push(value.to_lowercase());
            ids.push(value.clone());
        }
    }
    ids
}

/// One fixture case audited: its rule, its name, the report and the planted names by id.
struct CaseRun<'a> {
    rule: &'a str,
    case_name: &'a str,
    report: &'a entra_audit::testing::audit::result::AuditReport,
    names: &'a BTreeMap<String, String>,
}

impl CaseRun<'_> {
    /// The findings of the case's rule that name the object `name`.
    fn findings_naming<'r>(&'r self, name: &'r str) -> impl Iterator<Item = &'r Finding> {
        self.report
            .findings
            .iter()
            .filter(|f| f.rule == self.rule)
            .filter(move |f| {
                involved(f)
                    .iter()
                    .any(|id| self.names.get(id).is_some_and(|n| n == name))
            })
    }

    /// `"outcomes": {"flag: x": "ExistingAdminRoleConflict"}` in a case: the outcome every
    /// finding of the rule that names x must predict.
    fn check_outcomes(&self, case: &Value, failures: &mut Vec<String>) {
        let Some(outcomes) = case.get("outcomes").and_then(Value::as_object) else {
            return;
        };
        let (rule, case_name) = (self.rule, self.case_name);
        for (name, want) in outcomes {
            let want = want.as_str().unwrap();
            let got: BTreeSet<String> = self
                .findings_naming(name)
                .map(|f| {
                    f.predicted_outcome
                        .map_or_else(String::new, |o| o.to_string())
                })
                .collect();
            if got.is_empty() || got.iter().any(|g| g != want) {
                failures.push(format!(
                    "{rule}/{case_name}: '{name}' should predict {want}, predicts {got:?}"
                ));
            }
        }
    }

    /// `"evidence": {"flag: x": {"key": "value"}}` in a case: some finding of the rule that
    /// names x carries these evidence values.
    fn check_evidence(&self, case: &Value, failures: &mut Vec<String>) {
        let Some(wanted) = case.get("evidence").and_then(Value::as_object) else {
            return;
        };
        let (rule, case_name) = (self.rule, self.case_name);
        for (name, want) in wanted {
            let want = want.as_object().unwrap();
            let candidates: Vec<&Finding> = self.findings_naming(name).collect();
            let holds = candidates.iter().any(|f| {
                want.iter()
                    .all(|(k, v)| f.evidence.get(k).map(String::as_str) == v.as_str())
            });
            if !holds {
                let got: Vec<_> = candidates.iter().map(|f| &f.evidence).collect();
                failures.push(format!(
                    "{rule}/{case_name}: no finding naming '{name}' carries {want:?}; they carry {got:?}"
                ));
            }
        }
    }
}

#[test]
fn every_rule_flags_its_flag_objects_and_spares_its_ok_objects() {
    let rules = entra_audit::testing::audit::rules::embedded().unwrap();
    let rule_names: BTreeSet<String> = rules
        .iter()
        .filter(|r| r.kind == entra_audit::testing::audit::rules::Kind::Rule)
        .map(|r| r.name.clone())
        .collect();
    let mut covered = BTreeSet::new();
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let path = entry.unwrap().path();
        let fixture: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let rule = fixture["rule"].as_str().unwrap().to_owned();
        assert!(
            rule_names.contains(&rule),
            "{}: no rule named {rule}",
            path.display()
        );
        covered.insert(rule.clone());
        for (case_name, case) in fixture["cases"].as_object().unwrap() {
            let tmp = tempfile::tempdir().unwrap();
            let report = common::check_on_main_stack(materialise(case, tmp.path()))
                .unwrap_or_else(|e| panic!("{rule}/{case_name}: {e:#}"));
            let result = report.rules.iter().find(|r| r.rule == rule).unwrap();
            // `"not_evaluated": "text"`: the case's data cannot support the rule, and it must say so.
            if let Some(want) = case.get("not_evaluated").and_then(Value::as_str) {
                let said = matches!(&result.outcome, RuleOutcome::NotEvaluated { reason } if reason.contains(want));
                if !said || report.findings.iter().any(|f| f.rule == rule) {
                    failures.push(format!(
                        "{rule}/{case_name}: should be not evaluated ({want}), is {:?}",
                        result.outcome
                    ));
                }
                continue;
            }
            if matches!(
                result.outcome,
                RuleOutcome::NotEvaluated { .. } | RuleOutcome::Errored { .. }
            ) {
                failures.push(format!("{rule}/{case_name}: {:?}", result.outcome));
                continue;
            }
            let names = names(case);
            let flagged: BTreeSet<&str> = report
                .findings
                .iter()
                .filter(|f| f.rule == rule)
                .flat_map(involved)
                .filter_map(|id| names.get(&id).map(String::as_str))
                .collect();
            let mut flags = 0;
            for name in names.values() {
                if name.starts_with("flag:") {
                    flags += 1;
                    if !flagged.contains(name.as_str()) {
                        failures.push(format!("{rule}/{case_name}: '{name}' is not reported"));
                    }
                } else if name.starts_with("ok:") && flagged.contains(name.as_str()) {
                    failures.push(format!(
                        "{rule}/{case_name}: '{name}' is reported but must not be"
                    ));
                }
            }
            let run = CaseRun {
                rule: &rule,
                case_name,
                report: &report,
                names: &names,
            };
            run.check_outcomes(case, &mut failures);
            run.check_evidence(case, &mut failures);
            if flags == 0 && report.findings.iter().any(|f| f.rule == rule) {
                failures.push(format!(
                    "{rule}/{case_name}: findings in a case with no flag: objects"
                ));
            }
        }
    }
    let uncovered: Vec<&String> = rule_names.difference(&covered).collect();
    assert!(
        uncovered.is_empty(),
        "rules without a fixture: {uncovered:?}"
    );
    assert!(
        failures.is_empty(),
        "rule fixture failures:\n{}",
        failures.join("\n")
    );
}
