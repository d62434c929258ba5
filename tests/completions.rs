//! `entra-audit completions` and `entra-audit man`: every command and every long flag the
//! parser accepts appears in the completion scripts (bash and PowerShell checked name by name,
//! the others generated) and in the manual pages, printed or written one file per command.

use std::collections::BTreeSet;

use assert_cmd::Command;
use clap::CommandFactory as _;
use entra_audit::commands::cli::Cli;

/// Every visible command path (`check`, `rules explain`, ...) with its long flags, from the
/// parser's own definitions (global flags included, as the parser propagates them).
fn commands() -> Vec<(Vec<String>, BTreeSet<String>)> {
    fn walk(
        command: &clap::Command,
        path: &[String],
        out: &mut Vec<(Vec<String>, BTreeSet<String>)>,
    ) {
        let longs = command
            .get_arguments()
            .filter(|a| !a.is_hide_set())
            .filter_map(clap::Arg::get_long)
            .map(str::to_owned)
            .collect();
        out.push((path.to_vec(), longs));
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            if sub.get_name() == "help" {
                continue;
            }
            let mut next = path.to_vec();
            next.push(sub.get_name().to_owned());
            walk(sub, &next, out);
        }
    }
    let mut root = Cli::command();
    root.build();
    let mut out = Vec::new();
    walk(&root, &[], &mut out);
    out
}

fn run(args: &[&str]) -> String {
    let output = Command::cargo_bin("entra-audit")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_definitions_are_walked_whole() {
    let all = commands();
    let paths: Vec<String> = all.iter().map(|(p, _)| p.join(" ")).collect();
    for expected in [
        "",
        "check",
        "collect-ad",
        "rules explain",
        "cloud-sync restart",
        "completions",
        "man",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected:?} in {paths:?}"
        );
    }
    let check = &all.iter().find(|(p, _)| p == &["check"]).unwrap().1;
    for flag in [
        "onprem",
        "cloud",
        "tenant",
        "client-secret-file",
        "log-format",
        "help",
    ] {
        assert!(check.contains(flag), "check --{flag}: {check:?}");
    }
}

#[test]
fn bash_and_powershell_completions_know_every_command_and_flag() {
    let all = commands();
    for shell in ["bash", "powershell"] {
        let script = run(&["completions", shell]);
        for (path, longs) in &all {
            if let Some(name) = path.last() {
                assert!(
                    script.contains(name.as_str()),
                    "{shell}: command {path:?} missing"
                );
            }
            for long in longs {
                assert!(
                    script.contains(&format!("--{long}")),
                    "{shell}: {} --{long} missing",
                    path.join(" ")
                );
            }
        }
    }
    // PowerShell completes per command path: each nested command has its own case.
    let powershell = run(&["completions", "powershell"]);
    assert!(
        powershell.contains("'entra-audit;rules;explain'"),
        "nested commands"
    );
    assert!(powershell.contains("Register-ArgumentCompleter -Native -CommandName 'entra-audit'"));
}

#[test]
fn every_shell_gets_a_script() {
    for (shell, marker) in [
        ("zsh", "#compdef entra-audit"),
        ("fish", "complete -c entra-audit"),
        ("elvish", "edit:completion:arg-completer[entra-audit]"),
    ] {
        let script = run(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {marker:?} missing");
        assert!(
            script.contains("collect-ad") && script.contains("client-secret-file"),
            "{shell}"
        );
    }
    let output = Command::cargo_bin("entra-audit")
        .unwrap()
        .args(["completions", "nushell"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("possible values: bash"));
}

/// roff writes `-` as `\-`; the reader sees `-`.
fn unroff(text: &str) -> String {
    text.replace("\\-", "-")
}

#[test]
fn the_man_pages_document_every_command_and_flag() {
    let all = commands();
    let printed = unroff(&run(&["man"]));
    let dir = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("entra-audit")
        .unwrap()
        .args(["man", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), all.len(), "one page per command: {files:?}");

    for (path, longs) in &all {
        let name = std::iter::once("entra-audit".to_owned())
            .chain(path.iter().cloned())
            .collect::<Vec<_>>()
            .join("-");
        let page = unroff(&std::fs::read_to_string(dir.path().join(format!("{name}.1"))).unwrap());
        assert!(page.contains(&format!(".TH {name} 1")), "{name}.1 title");
        assert!(page.contains(entra_audit::VERSION), "{name}.1 version");
        assert!(
            printed.contains(&format!(".TH {name} 1")),
            "{name} not printed"
        );
        for long in longs {
            assert!(
                page.contains(&format!("--{long}")),
                "{name}.1: --{long} missing"
            );
        }
    }
    // The printed pages are the files, one after the other.
    let joined: String = ["entra-audit.1", "entra-audit-check.1"]
        .iter()
        .map(|f| unroff(&std::fs::read_to_string(dir.path().join(f)).unwrap()))
        .collect();
    assert!(printed.starts_with(&joined));

    // Written again: the pages are replaced, nothing else is left beside them.
    let again = Command::cargo_bin("entra-audit")
        .unwrap()
        .args(["man", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), all.len());
}

#[test]
fn man_refuses_a_folder_that_is_not_there() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("man1");
    let output = Command::cargo_bin("entra-audit")
        .unwrap()
        .args(["man", "--out"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a folder"));
    assert!(!missing.exists());
}
