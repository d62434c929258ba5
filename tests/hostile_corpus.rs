//! The hostile-input corpus: every file under `fixtures/hostile/` (on-prem LDIF, CSV and JSON,
//! cloud snapshots, tenants/suppressions/baseline files, rule packs) and the command-line cases,
//! each with its exact expected outcome in `fixtures/hostile/manifest.toml`: a clear error naming
//! the file (and line), a rejected record with its reason, or correct handling. Whatever the
//! input: never a panic, never a hang (each case has 30 seconds), never a secret in the output.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use serde::Deserialize;

const SECRET: &str = "S3cr3t-Value-Do-Not-Print";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    case: Vec<Case>,
    cli: Vec<CliCase>,
}

/// One file (or snapshot folder, or rule pack folder) and what reading it must give.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    path: String,
    /// `error`, `rejected` or `ok`.
    expect: String,
    /// Substrings of the error, or of the rejected reasons.
    #[serde(default)]
    says: Vec<String>,
    /// The line the error or the first rejected record names.
    line: Option<usize>,
    /// Objects imported (on-prem) or loaded (snapshot).
    objects: Option<usize>,
    rejected: Option<usize>,
    /// Snapshot collections that must be unusable.
    #[serde(default)]
    unusable: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CliCase {
    name: String,
    /// `{corpus}` is replaced by the corpus folder.
    args: Vec<String>,
    code: i32,
    #[serde(default)]
    says: Vec<String>,
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hostile")
}

/// What reading a case gave: the error, or the counts and every rejected (line, reason).
#[derive(Debug, Default)]
struct Outcome {
    error: Option<String>,
    objects: usize,
    rejected: Vec<(usize, String)>,
    unusable: Vec<String>,
}

fn read(path: &Path, kind: &str) -> Outcome {
    let mut out = Outcome::default();
    match kind {
        "onprem" => match entra_audit::testing::inputs::onprem::import(path) {
            Ok((_, o)) => {
                out.objects = o.objects.len();
                out.rejected = o.rejected.into_iter().map(|r| (r.line, r.reason)).collect();
            }
            Err(e) => out.error = Some(e.to_string()),
        },
        // The on-prem cases that only the audit's cross-record checks catch.
        "audit" => {
            let options = entra_audit::testing::audit::CheckOptions {
                onprem: vec![path.to_owned()],
                ..entra_audit::testing::audit::CheckOptions::default()
            };
            match crate::common::check_on_main_stack(options) {
                Ok(report) => {
                    out.objects = report.inputs.onprem.iter().map(|f| f.objects).sum();
                    out.rejected = report
                        .inputs
                        .rejected_records
                        .into_iter()
                        .map(|r| (r.line, r.reason))
                        .collect();
                }
                Err(e) => out.error = Some(format!("{e:#}")),
            }
        }
        "cloud" => match entra_audit::testing::inputs::snapshot::load(path) {
            Ok(s) => {
                out.objects = s.users.len() + s.contacts.len() + s.groups.len();
                out.rejected = s.rejected.into_iter().map(|r| (r.line, r.reason)).collect();
                out.unusable = s
                    .states
                    .iter()
                    .filter(|(_, st)| {
                        matches!(
                            st,
                            entra_audit::testing::inputs::snapshot::CollectionState::Failed { .. }
                        )
                    })
                    .map(|(c, _)| c.file_stem().to_owned())
                    .collect();
            }
            Err(e) => out.error = Some(e.to_string()),
        },
        "tenants" => {
            if let Err(e) = entra_audit::testing::commands::tenants::load(path) {
                out.error = Some(format!("{e:#}"));
            }
        }
        "suppressions" => {
            if let Err(e) =
                entra_audit::testing::audit::schedule::ScheduleInputs::load(None, Some(path))
            {
                out.error = Some(format!("{e:#}"));
            }
        }
        "baseline" => {
            if let Err(e) =
                entra_audit::testing::audit::schedule::ScheduleInputs::load(Some(path), None)
            {
                out.error = Some(format!("{e:#}"));
            }
        }
        "rules" => {
            if let Err(e) = entra_audit::testing::audit::rules::with_custom(path) {
                out.error = Some(e.to_string());
            }
        }
        other => panic!("unknown kind {other}"),
    }
    out
}

fn kind_of(case: &str) -> &'static str {
    let name = case.rsplit('/').next().unwrap_or(case);
    match case.split('/').next().unwrap_or("") {
        "onprem" if name.contains("same-dn") || name.contains("duplicate-guid") => "audit",
        "onprem" => "onprem",
        "cloud" => "cloud",
        "rules" => "rules",
        "config" if name.starts_with("tenants") => "tenants",
        "config" if name.starts_with("suppressions") => "suppressions",
        "config" if name.starts_with("baseline") => "baseline",
        other => panic!("{case}: no reader for {other}"),
    }
}

/// Runs `read` on another thread: a panic or a hang is a failure of that case, not of the run.
fn read_guarded(path: PathBuf, kind: &'static str) -> Result<Outcome, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(|| read(&path, kind));
        let _ = tx.send(result);
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(_)) => Err("panicked".to_owned()),
        Err(_) => Err("hung (no outcome in 30 s)".to_owned()),
    }
}

fn check_case(case: &Case) -> Result<(), String> {
    let path = corpus().join(&case.path);
    let outcome = read_guarded(path.clone(), kind_of(&case.path))?;
    let everything = format!("{outcome:?}");
    if everything.contains(SECRET) {
        return Err(format!("the secret is in the outcome: {everything}"));
    }
    match (case.expect.as_str(), &outcome.error) {
        ("error", Some(error)) => {
            let file = path.file_name().unwrap().to_string_lossy();
            if !error.contains(file.as_ref()) {
                return Err(format!("the error does not name the file: {error}"));
            }
            for s in &case.says {
                if !error.contains(s.as_str()) {
                    return Err(format!("the error does not say {s:?}: {error}"));
                }
            }
            if let Some(line) = case.line
                && !error.contains(&format!("line {line}"))
                && !error.contains(&format!(":{line}"))
            {
                return Err(format!("the error does not name line {line}: {error}"));
            }
        }
        ("rejected" | "ok", None) => {
            let reasons: Vec<&str> = outcome.rejected.iter().map(|(_, r)| r.as_str()).collect();
            for s in &case.says {
                if !reasons.iter().any(|r| r.contains(s.as_str())) {
                    return Err(format!("no rejected reason says {s:?}: {reasons:?}"));
                }
            }
            if case.expect == "ok" && !outcome.rejected.is_empty() {
                return Err(format!("rejected: {reasons:?}"));
            }
            if case.expect == "rejected" && outcome.rejected.is_empty() {
                return Err("nothing was rejected".to_owned());
            }
            if let Some(line) = case.line
                && outcome.rejected.first().map(|(l, _)| *l) != Some(line)
            {
                return Err(format!(
                    "the rejected record is not on line {line}: {:?}",
                    outcome.rejected
                ));
            }
            if case.objects.is_some_and(|n| n != outcome.objects) {
                return Err(format!(
                    "{} objects, expected {:?}",
                    outcome.objects, case.objects
                ));
            }
            if case.rejected.is_some_and(|n| n != outcome.rejected.len()) {
                return Err(format!(
                    "{} rejected, expected {:?}",
                    outcome.rejected.len(),
                    case.rejected
                ));
            }
            if outcome.unusable != case.unusable {
                return Err(format!(
                    "unusable {:?}, expected {:?}",
                    outcome.unusable, case.unusable
                ));
            }
        }
        (_, _) => return Err(format!("expected {}, got {everything}", case.expect)),
    }
    Ok(())
}

fn manifest() -> Manifest {
    toml::from_str(&std::fs::read_to_string(corpus().join("manifest.toml")).unwrap())
        .unwrap_or_else(|e| panic!("manifest.toml: {e}"))
}

#[test]
fn every_hostile_file_has_its_exact_outcome() {
    let manifest = manifest();
    if std::env::var_os("HOSTILE_SHOW").is_some() {
        for case in &manifest.case {
            let path = corpus().join(&case.path);
            eprintln!(
                "{} => {:?}",
                case.path,
                read_guarded(path, kind_of(&case.path))
            );
        }
    }
    let failures: Vec<String> = manifest
        .case
        .iter()
        .filter_map(|case| {
            check_case(case)
                .err()
                .map(|e| format!("{}: {e}", case.path))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    // Every file of the corpus is in the manifest (a file without an expected outcome proves
    // nothing), and the corpus is as large as promised.
    let listed: std::collections::BTreeSet<PathBuf> = manifest
        .case
        .iter()
        .map(|c| corpus().join(&c.path))
        .collect();
    let mut files = Vec::new();
    walk(&corpus(), &mut files);
    let unlisted: Vec<&PathBuf> = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "manifest.toml"))
        .filter(|f| !listed.iter().any(|l| f.starts_with(l)))
        .collect();
    assert!(
        unlisted.is_empty(),
        "files without an outcome: {unlisted:?}"
    );
    assert!(files.len() > 50, "only {} files", files.len());
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn every_hostile_command_line_has_its_exact_outcome() {
    let corpus = corpus().display().to_string();
    let mut failures = Vec::new();
    for case in manifest().cli {
        let out = tempfile::tempdir().unwrap();
        let args: Vec<String> = case
            .args
            .iter()
            .map(|a| {
                a.replace("{corpus}", &corpus)
                    .replace("{out}", &out.path().display().to_string())
            })
            .collect();
        let o = assert_cmd::Command::cargo_bin("entra-audit")
            .unwrap()
            .args(&args)
            .env_remove("AZURE_TENANT_ID")
            .timeout(Duration::from_mins(1))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        if std::env::var_os("HOSTILE_SHOW").is_some() {
            eprintln!("{} => {:?} {text}", case.name, o.status.code());
        }
        if o.status.code() != Some(case.code) {
            failures.push(format!(
                "{}: exit {:?}, expected {}: {text}",
                case.name,
                o.status.code(),
                case.code
            ));
        }
        for s in &case.says {
            if !text.contains(s.as_str()) {
                failures.push(format!("{}: does not say {s:?}: {text}", case.name));
            }
        }
        if text.contains(SECRET) || text.contains('\u{1b}') {
            failures.push(format!(
                "{}: a secret or an escape sequence in the output",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
