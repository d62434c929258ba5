//! Which commit a build comes from, for `--version` and the `tool` field of the outputs. Shared
//! by `build.rs` (which runs it) and `tests/version.rs` (which checks it); it must stay plain std
//! Rust, since a build script has none of the crate's dependencies.
//!
//! The answer, in order: the `ENTRA_AUDIT_COMMIT` environment variable when the build sets it
//! (a container build has no `.git`: `docker build --build-arg ENTRA_AUDIT_COMMIT=$(git rev-parse
//! --short HEAD)`); else `git rev-parse --short HEAD` of this package's own repository, with
//! `-dirty` when a tracked file differs from that commit (what `git describe --dirty` means);
//! else `unknown`.

use std::path::Path;
use std::process::Command;

/// The environment variable that names the commit when the source has no `.git`.
pub const OVERRIDE_VAR: &str = "ENTRA_AUDIT_COMMIT";

/// What `--version` says when nothing tells the commit.
pub const UNKNOWN: &str = "unknown";

/// Decides the commit text from what was found. An override that is set but empty counts as
/// unset; one with anything but ASCII letters, digits, `.`, `_`, `+` and `-`, or over 64
/// characters, is refused (it is printed on a terminal and written into every output).
pub fn describe(
    override_value: Option<&str>,
    git_head: Option<&str>,
    dirty: bool,
) -> Result<String, String> {
    if let Some(value) = override_value.map(str::trim).filter(|v| !v.is_empty()) {
        let fits = value.len() <= 64
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'));
        return if fits {
            Ok(value.to_owned())
        } else {
            Err(format!(
                "{OVERRIDE_VAR} must be a commit id of at most 64 letters, digits, '.', '_', '+' \
                 or '-' (such as the output of `git rev-parse --short HEAD`), not {value:?}"
            ))
        };
    }
    Ok(match git_head {
        Some(head) if dirty => format!("{head}-dirty"),
        Some(head) => head.to_owned(),
        None => UNKNOWN.to_owned(),
    })
}

/// Runs git in `dir`; its trimmed stdout when it succeeds.
pub fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The short hash of HEAD when `package_dir` is the top of a git work tree; `None` when git is
/// missing, there is no repository, or the package sits inside someone else's repository (a
/// vendored copy must not claim its host's commit).
pub fn git_head(package_dir: &Path) -> Option<String> {
    let top = git(package_dir, &["rev-parse", "--show-toplevel"])?;
    let same = std::fs::canonicalize(&top).ok()? == std::fs::canonicalize(package_dir).ok()?;
    if !same {
        return None;
    }
    git(package_dir, &["rev-parse", "--short", "HEAD"]).filter(|h| !h.is_empty())
}

/// Whether a tracked file differs from HEAD (untracked files do not count).
pub fn git_dirty(package_dir: &Path) -> bool {
    // --no-optional-locks: a build must not rewrite the index (build.rs watches it).
    git(
        package_dir,
        &[
            "--no-optional-locks",
            "status",
            "--porcelain",
            "--untracked-files=no",
        ],
    )
    .is_some_and(|s| !s.is_empty())
}
