//! `--version`: the version and the commit the binary was built from (`build/commit.rs`, which
//! this test includes as build.rs does, so the decision is checked on its own as well as through
//! the binary).

#[path = "../build/commit.rs"]
mod commit;

use std::path::Path;

use assert_cmd::Command;

#[test]
fn version_names_the_commit_this_tree_is_at() {
    let output = Command::cargo_bin("entra-audit")
        .unwrap()
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let prefix = format!("entra-audit {} (commit ", env!("CARGO_PKG_VERSION"));
    let commit = stdout
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(")\n"))
        .unwrap_or_else(|| panic!("--version printed {stdout:?}"));

    let package = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Ok(forced) = std::env::var(commit::OVERRIDE_VAR)
        && !forced.trim().is_empty()
    {
        assert_eq!(commit, forced.trim());
        return;
    }
    // Asked of git here, independently of build.rs: the same repository gives the same answer.
    match commit::git(package, &["rev-parse", "--short", "HEAD"]) {
        Some(head) => {
            let bare = commit.strip_suffix("-dirty").unwrap_or(commit);
            assert_eq!(bare, head, "--version printed {stdout:?}");
            assert!(head.len() >= 7 && head.chars().all(|c| c.is_ascii_hexdigit()));
            // Built dirty means dirty now: cleaning the tree (commit, checkout, stash) changes the
            // index or the sources build.rs watches, so the binary is rebuilt. The converse does
            // not hold: a test file edited since is not watched.
            if commit.ends_with("-dirty") {
                assert!(
                    commit::git_dirty(package),
                    "built dirty but the tree is clean"
                );
            }
        }
        None => assert_eq!(commit, commit::UNKNOWN),
    }
}

#[test]
fn the_short_flag_and_the_help_agree() {
    let long = Command::cargo_bin("entra-audit")
        .unwrap()
        .arg("--version")
        .output()
        .unwrap();
    let short = Command::cargo_bin("entra-audit")
        .unwrap()
        .arg("-V")
        .output()
        .unwrap();
    assert_eq!(long.stdout, short.stdout);
}

#[test]
fn the_commit_is_the_override_then_git_then_unknown() {
    assert_eq!(
        commit::describe(Some("0a1b2c3"), Some("fffffff"), true).unwrap(),
        "0a1b2c3"
    );
    assert_eq!(
        commit::describe(Some(" 0a1b2c3\n"), None, false).unwrap(),
        "0a1b2c3"
    );
    assert_eq!(
        commit::describe(Some(""), Some("fffffff"), false).unwrap(),
        "fffffff"
    );
    assert_eq!(
        commit::describe(None, Some("fffffff"), true).unwrap(),
        "fffffff-dirty"
    );
    assert_eq!(
        commit::describe(None, None, false).unwrap(),
        commit::UNKNOWN
    );
    assert_eq!(
        commit::describe(Some("v1.2.3+build.4"), None, false).unwrap(),
        "v1.2.3+build.4"
    );
    for bad in ["abc\u{1b}[31m", "a b", "x;rm -rf", &"a".repeat(65)] {
        let error = commit::describe(Some(bad), None, false).unwrap_err();
        assert!(error.contains(commit::OVERRIDE_VAR), "{error}");
    }
}

/// The package's own repository only: a copy inside another repository does not take its commit.
#[test]
fn a_package_inside_another_repository_has_no_commit_of_its_own() {
    if commit::git(Path::new("."), &["--version"]).is_none() {
        return; // no git on this machine: git_head is None for every directory
    }
    let outer = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .arg("-C")
            .arg(outer.path())
            .args(args)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    run(&["init", "-q"]);
    run(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    ]);
    let inner = outer.path().join("vendor/entra-audit");
    std::fs::create_dir_all(&inner).unwrap();
    assert!(commit::git_head(outer.path()).is_some());
    assert_eq!(commit::git_head(&inner), None);
    assert_eq!(commit::git_head(&outer.path().join("missing")), None);
}
