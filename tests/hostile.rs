//! Hostile input, interrupted runs and untrusted rule packs, as an attacker or an unlucky admin
//! would meet them: outputs replaced whole, planted links not followed, extreme flags refused by
//! clap, rule packs that reach for files refused, and the corpus of `fixtures/hostile/` run with
//! each file's exact expected outcome.

use std::path::Path;

use assert_cmd::Command;

use crate::common;
use common::tiny_tenant;

fn entra_audit() -> Command {
    Command::cargo_bin("entra-audit").unwrap()
}

fn check(dir: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    let (cloud, onprem) = tiny_tenant(dir);
    entra_audit()
        .arg("check")
        .arg("--cloud")
        .arg(cloud)
        .arg("--onprem")
        .arg(onprem)
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
}

#[cfg(unix)]
#[test]
fn links_planted_in_the_output_folder_are_replaced_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    std::fs::create_dir_all(&out).unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let victim_dir = dir.path().join("victim-dir");
    std::fs::create_dir_all(&victim_dir).unwrap();
    std::fs::write(victim_dir.join("keep.csv"), "precious").unwrap();
    for name in ["findings.json", "findings.csv", "report.html"] {
        std::os::unix::fs::symlink(&victim, out.join(name)).unwrap();
    }
    std::os::unix::fs::symlink(&victim_dir, out.join("rules")).unwrap();
    std::os::unix::fs::symlink(&victim_dir, out.join("cleanup")).unwrap();
    check(dir.path(), &out, &["--csv-bom"]).code(1);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(
        std::fs::read_to_string(victim_dir.join("keep.csv")).unwrap(),
        "precious"
    );
    assert_eq!(std::fs::read_dir(&victim_dir).unwrap().count(), 1);
    for name in [
        "findings.json",
        "findings.csv",
        "report.html",
        "rules",
        "cleanup",
    ] {
        assert!(!out.join(name).is_symlink(), "{name} is still a link");
        assert!(out.join(name).exists(), "{name} was not written");
    }
}

#[test]
fn a_rerun_replaces_the_whole_run_and_marks_it_complete() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    check(dir.path(), &out, &[]).code(1);
    assert!(out.join("run-complete.json").exists());
    // Files of the earlier run that this run does not write go; files it does not own stay.
    std::fs::write(out.join("rules/stale-rule.csv"), "old").unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    check(dir.path(), &out, &["--rule", "upn-suffix-unverified"]).code(0);
    assert!(!out.join("rules/stale-rule.csv").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "staging left behind: {names:?}");
}

/// The cron script of docs/scheduling.md moves `latest` only after a completed run (exit 0 or 1): a killed run
/// (130, 143) or an error (2) leaves the baseline where it was.
#[cfg(unix)]
#[test]
fn the_documented_cron_script_moves_the_baseline_only_after_a_completed_run() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scheduling.md"))
            .unwrap();
    let start = readme.find("```sh\n#!/bin/sh").expect("the cron script") + "```sh\n".len();
    let script = &readme[start..start + readme[start..].find("```").unwrap()];
    for code in [0, 1, 2, 101, 130, 143] {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let fake = bin.join("entra-audit");
        std::fs::write(&fake, format!("#!/bin/sh\nexit {code}\n")).unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir_all(state.join("before")).unwrap();
        std::os::unix::fs::symlink(state.join("before"), state.join("latest")).unwrap();
        let script = script
            .replace(". /etc/entra-audit.env", ":")
            .replace("/var/lib/entra-audit", &state.display().to_string())
            .replace("/var/log/entra-audit.log", "/dev/null");
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(code));
        let latest = std::fs::read_link(state.join("latest")).unwrap();
        let moved = latest != state.join("before");
        assert_eq!(
            moved,
            code <= 1,
            "exit {code}: latest -> {}",
            latest.display()
        );
    }
}

/// Every duration flag at its extremes: a clap error (exit 2, naming the flag and the value) or
/// a normal run, never a panic (exit 101).
#[test]
fn every_duration_flag_at_its_extremes_is_an_error_or_a_run_never_a_panic() {
    let too_big = [
        "100000000d",
        "3651d",
        "18446744073709551615m",
        "99999999999999999999999",
        "-1h",
        "1e9h",
        "",
    ];
    let dir = tempfile::tempdir().unwrap();
    let (cloud, onprem) = tiny_tenant(dir.path());
    let out = dir.path().join("out");
    let check_flags = [
        "--directory-sync-max-age",
        "--password-sync-max-age",
        "--cloud-sync-max-age",
    ];
    for flag in check_flags {
        for value in too_big {
            let o = entra_audit()
                .args(["check", "--no-files", "--cloud"])
                .arg(&cloud)
                .arg("--onprem")
                .arg(&onprem)
                .arg(format!("{flag}={value}"))
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{flag}={value}: {err}");
            assert!(
                err.contains("invalid value") && err.contains(flag),
                "{flag}={value}: {err}"
            );
        }
        for value in ["3650d", "0", "0m", "1m"] {
            let o = entra_audit()
                .args(["check", "--cloud"])
                .arg(&cloud)
                .arg("--onprem")
                .arg(&onprem)
                .arg("--out")
                .arg(&out)
                .args(["--fail-on", "never", "--as-of", "9999-12-31T23:59:59Z"])
                .arg(format!("{flag}={value}"))
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(0), "{flag}={value}: {err}");
        }
    }
    for as_of in ["0001-01-01", "+262143-12-31", "1900-01-01"] {
        let o = entra_audit()
            .args(["check", "--no-files", "--cloud"])
            .arg(&cloud)
            .args(["--directory-sync-max-age", "3650d", "--as-of", as_of])
            .output()
            .unwrap();
        assert_ne!(o.status.code(), Some(101), "--as-of {as_of}");
    }
    // cloud-sync: the bounds are checked by clap before any sign-in is attempted.
    let waits: &[&str] = &["1441m", "86400001ms", "1h"];
    let cloud_sync: [(&[&str], &str, &[&str]); 3] = [
        (&["cloud-sync", "status"], "--max-age", &["3651d"]),
        (&["cloud-sync", "start", "--job", "j"], "--timeout", waits),
        (
            &["cloud-sync", "pause", "--job", "j"],
            "--poll-interval",
            waits,
        ),
    ];
    for (args, flag, beyond) in cloud_sync {
        for value in too_big.iter().chain(beyond) {
            let o = entra_audit()
                .args(args)
                .arg(format!("{flag}={value}"))
                .env_remove("AZURE_TENANT_ID")
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{flag}={value}: {err}");
            assert!(
                err.contains("invalid value") && err.contains(flag),
                "{flag}={value}: {err}"
            );
        }
    }
    for value in ["99999999999999999999+1", "1e400+0", "-5"] {
        for command in [["demo", "--out"], ["simulate", "--write-onprem"]] {
            let o = entra_audit()
                .args([command[0], "--latency", value, command[1]])
                .arg(dir.path().join("demo"))
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(2), "{command:?} --latency {value}");
        }
    }
}

/// A DN that sets the window title, clears the screen and prints a fake verdict reaches the
/// terminal with its control characters escaped; logs to a non-terminal carry no colours.
#[test]
fn terminal_escape_sequences_from_directory_data_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let (cloud, _) = tiny_tenant(dir.path());
    let evil = "CN=\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[Hentra-audit: 0 findings, exit 0\r,DC=x";
    let onprem = dir.path().join("evil.json");
    let records = serde_json::json!([
        {"ObjectGUID": "not-a-guid", "DistinguishedName": evil, "ObjectClass": "user",
         "UserPrincipalName": "e@contoso.com", "DisplayName": evil},
        {"ObjectGUID": "52af62f4-db3d-46d0-907b-593424a726d3", "DistinguishedName": evil,
         "ObjectClass": "user", "UserPrincipalName": "evil@fabrikam.example", "DisplayName": evil}
    ]);
    std::fs::write(&onprem, records.to_string()).unwrap();
    let o = entra_audit()
        .arg("check")
        .arg("--cloud")
        .arg(&cloud)
        .arg("--onprem")
        .arg(&onprem)
        .arg("--out")
        .arg(dir.path().join("out"))
        .env("ENTRA_AUDIT_LOG", "info")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(stdout.contains("\\u{1b}]0;pwned"), "{stdout}");
    for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\r'),
            "{name} holds a control character: {text:?}"
        );
    }
    // The same for an error that quotes the input.
    let broken = dir.path().join("broken.ldif");
    std::fs::write(&broken, format!("dn: {evil}\nobjectGUID:: !!!\n\n")).unwrap();
    let o = entra_audit()
        .args(["check", "--no-files", "--onprem"])
        .arg(&broken)
        .output()
        .unwrap();
    let all = [o.stdout, o.stderr].concat();
    assert!(
        !all.contains(&0x1b) && !all.contains(&0x07),
        "{}",
        String::from_utf8_lossy(&all)
    );
}

/// A typo in an input path is found before signing in, in `check` and in `check --config`: the
/// error names the flag (or tenant), the path and the OS error once.
#[test]
fn a_mistyped_input_is_refused_before_signing_in() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("ad.jsn");
    // Nothing listens on port 9: had a sign-in been tried, the error would say so.
    let o = entra_audit()
        .args([
            "check",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--client-id",
            "x",
        ])
        .args([
            "--authority-host",
            "http://127.0.0.1:9",
            "--graph-endpoint",
            "http://127.0.0.1:9",
        ])
        .arg("--onprem")
        .arg(&missing)
        .arg("--out")
        .arg(dir.path().join("out"))
        .env("AZURE_CLIENT_SECRET", "not-a-secret")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--onprem") && err.contains("ad.jsn"), "{err}");
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
    assert!(!dir.path().join("out").exists(), "nothing was written");

    let config = dir.path().join("tenants.toml");
    std::fs::write(
        &config,
        "[[tenant]]\nname = \"contoso\"\ntenant = \"contoso.onmicrosoft.com\"\nclient_id = \"x\"\n\
         client_secret_env = \"CONTOSO_SECRET\"\nonprem = [\"exports/contoso.ldfi\"]\n\
         authority_host = \"http://127.0.0.1:9\"\ngraph_endpoint = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    let o = entra_audit()
        .args(["check", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(dir.path().join("audits"))
        .env("CONTOSO_SECRET", "not-a-secret")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("tenant contoso: onprem") && err.contains("contoso.ldfi"),
        "{err}"
    );
    assert!(!dir.path().join("audits").exists(), "nothing was collected");
}

/// A given input that cannot be used, or a `--rule` that cannot run, makes the run exit 2 unless
/// `--allow-partial`; the scheduler's line says how many rules were not evaluated.
#[test]
fn an_unusable_given_input_or_an_unrunnable_named_rule_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let (cloud, onprem) = tiny_tenant(dir.path());
    // The manifest says two users; the file holds none.
    std::fs::write(
        cloud.join("manifest.json"),
        r#"{"schema_version":1,"tenant_id":"tenant-1","collected_at":"2026-11-01T12:00:00Z","collections":{"users":{"status":"complete","objects":2}}}"#,
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let o = entra_audit()
            .arg("check")
            .arg("--cloud")
            .arg(&cloud)
            .arg("--onprem")
            .arg(&onprem)
            .arg("--out")
            .arg(dir.path().join("out"))
            .args(["--fail-on", "never"])
            .args(extra)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&[]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(
        stdout.contains("cloud collection users is unusable"),
        "{stdout}"
    );
    assert!(stdout.contains("--allow-partial"), "{stdout}");
    let last = stderr.lines().last().unwrap();
    assert!(
        last.contains("rules not evaluated, exit 2"),
        "the scheduler's line: {last}"
    );
    let (code, _, stderr) = run(&["--allow-partial"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .unwrap()
            .contains("not evaluated, exit 0")
    );

    // A rule named with --rule that cannot run (no cloud side given at all).
    let o = entra_audit()
        .args([
            "check",
            "--no-files",
            "--rule",
            "duplicate-attribute",
            "--onprem",
        ])
        .arg(&onprem)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("--rule duplicate-attribute could not run"),
        "{stdout}"
    );
    // Without --rule, rules whose input was not given are simply not evaluated (exit 0).
    let o = entra_audit()
        .args(["check", "--no-files", "--fail-on", "never", "--onprem"])
        .arg(&onprem)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("rules not evaluated, exit 0"));
}

/// One huge invalid value is quoted as a preview (its start, an ellipsis and its length), in the
/// terminal, in findings.json and in report.html, in every on-prem format.
#[test]
fn a_huge_bad_value_is_previewed_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let big = "x".repeat(5 * 1024 * 1024);
    let inputs = [
        (
            "big.json",
            serde_json::json!([
                {"ObjectGUID": big, "DistinguishedName": "CN=a,DC=x", "ObjectClass": "user"},
                {"ObjectGUID": "52af62f4-db3d-46d0-907b-593424a726d3", "DistinguishedName": "CN=b,DC=x", "ObjectClass": big},
                {"ObjectGUID": "7d3c1f0e-0d57-4a59-9c41-3a2a3f7b8e11", "DistinguishedName": "CN=c,DC=x", "ObjectClass": "user",
                 "UserPrincipalName": format!("{big}@contoso.com"), "DisplayName": big}
            ])
            .to_string(),
        ),
        (
            "big.csv",
            format!("DistinguishedName,ObjectGUID,ObjectClass\nCN=a,{big},user\n"),
        ),
        (
            "big.ldif",
            format!("dn: CN=a,DC=x\nobjectClass: user\nobjectGUID: 52af62f4-db3d-46d0-907b-593424a726d3\nuserAccountControl: {big}\n\n"),
        ),
    ];
    for (name, text) in inputs {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = dir.path().join(format!("out-{name}"));
        let o = entra_audit()
            .args(["check", "--allow-partial", "--onprem"])
            .arg(&path)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            stdout.len() < 20_000,
            "{name}: {} bytes on the terminal",
            stdout.len()
        );
        assert!(stdout.contains("… (5242"), "{name}: {stdout}");
        if name == "big.json" {
            // A value no AD attribute can hold is refused, not carried into every finding.
            assert!(
                stdout.contains("is longer than any value AD holds"),
                "{stdout}"
            );
        }
        for file in ["findings.json", "report.html"] {
            let size = std::fs::metadata(out.join(file)).unwrap().len();
            assert!(size < 1_000_000, "{name}: {file} is {size} bytes");
        }
    }
}
