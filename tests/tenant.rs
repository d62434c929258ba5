//! The hybrid fixture tenant (`fixtures/tenant/`, written by `entra-audit simulate --out`; see
//! `planted.json` for the exact command and why each problem is there): its findings are exactly the
//! planted problems of `expected.json`, and the on-prem export gives the same findings whether it
//! is read as LDIF, PowerShell CSV or JSON.

use std::path::{Path, PathBuf};

use crate::common;

use crate::common::fixture_tenant as tenant;

#[test]
fn findings_are_exactly_the_planted_problems_in_every_format() {
    let expected = common::ground_truth(&tenant().join("expected.json"));
    assert!(
        expected.len() > 40,
        "the fixture tenant lost its planted problems"
    );
    let ids_by_format: Vec<Vec<String>> = ["ad.ldif", "ad.csv", "ad.json"]
        .iter()
        .map(|format| {
            let report = common::audit(
                &tenant().join("cloud"),
                &tenant().join("onprem").join(format),
            );
            common::assert_exactly(format, &report, &expected)
        })
        .collect();
    assert_eq!(
        ids_by_format[0], ids_by_format[1],
        "LDIF and CSV give different findings"
    );
    assert_eq!(
        ids_by_format[0], ids_by_format[2],
        "LDIF and JSON give different findings"
    );
}

/// Every file under `dir`, by path relative to it.
fn files(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    out
}

/// The fixture is what the one generator writes for the command `planted.json` records: a
/// planted case lives in `src/simulate/generator/cases.rs` only, and changing it means
/// regenerating the fixture with that command.
#[test]
fn the_fixture_is_what_its_recorded_simulate_command_writes() {
    let planted: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tenant().join("planted.json")).unwrap())
            .unwrap();
    let command = planted["command"].as_str().unwrap();
    let args: Vec<&str> = command
        .strip_prefix("entra-audit simulate ")
        .expect("a simulate command")
        .split(' ')
        .collect();
    let out_flag = args.iter().position(|a| *a == "--out").unwrap();
    assert_eq!(args[out_flag + 1], "fixtures/tenant");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tenant");
    let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    args[out_flag + 1] = out.display().to_string();
    assert_cmd::Command::cargo_bin("entra-audit")
        .unwrap()
        .arg("simulate")
        .args(&args)
        .assert()
        .success();
    let written = files(&out);
    let mut fixture = files(&tenant());
    // The command names its own output directory.
    let recorded = fixture.remove(Path::new("planted.json")).unwrap();
    let mut regenerated = written.clone();
    let planted_now = regenerated.remove(Path::new("planted.json")).unwrap();
    assert_eq!(
        String::from_utf8(planted_now)
            .unwrap()
            .replace(&out.display().to_string(), "fixtures/tenant"),
        String::from_utf8(recorded).unwrap(),
        "planted.json differs: regenerate fixtures/tenant with its recorded command"
    );
    assert_eq!(
        regenerated.keys().collect::<Vec<_>>(),
        fixture.keys().collect::<Vec<_>>(),
        "regenerate fixtures/tenant with the command in its planted.json"
    );
    for (path, bytes) in &regenerated {
        assert!(
            fixture[path] == *bytes,
            "fixtures/tenant/{} differs from what its command writes: regenerate it with the \
             command in fixtures/tenant/planted.json",
            path.display()
        );
    }
}
