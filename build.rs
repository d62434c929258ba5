//! Embeds every rule and view under `queries/` into the binary, so `entra-audit` needs no files
//! beside it. The list is generated (sorted, for reproducible builds) rather than hand-kept, so
//! adding a rule really is adding one SQL file.
//!
//! Also tells the crate which commit it is built from (`ENTRA_AUDIT_BUILD_COMMIT`, for
//! `--version`): see `build/commit.rs`.

#[path = "build/commit.rs"]
mod commit;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
}

/// Sets `ENTRA_AUDIT_BUILD_COMMIT` for the crate, and asks cargo to run this again when the
/// answer may have changed: the override, HEAD, the branch it points at, the index, and the
/// package's own files (an edit makes the tree dirty; the crate is rebuilt for it anyway).
fn build_commit(root: &Path) {
    println!("cargo:rerun-if-env-changed={}", commit::OVERRIDE_VAR);
    let override_value = std::env::var(commit::OVERRIDE_VAR).ok();
    let head = commit::git_head(root);
    let dirty = head.is_some() && commit::git_dirty(root);
    let text = match commit::describe(override_value.as_deref(), head.as_deref(), dirty) {
        Ok(text) => text,
        Err(message) => panic!("{message}"),
    };
    println!("cargo:rustc-env=ENTRA_AUDIT_BUILD_COMMIT={text}");
    if head.is_none() {
        return;
    }
    let git_path = |args: &[&str]| commit::git(root, args).map(|p| root.join(p));
    let mut watched: Vec<PathBuf> = Vec::new();
    watched.extend(git_path(&["rev-parse", "--git-path", "HEAD"]));
    watched.extend(git_path(&["rev-parse", "--git-path", "index"]));
    watched.extend(git_path(&["rev-parse", "--git-path", "packed-refs"]));
    if let Some(branch) = commit::git(root, &["symbolic-ref", "-q", "HEAD"]) {
        watched.extend(git_path(&["rev-parse", "--git-path", &branch]));
    }
    // A path that does not exist would make cargo rerun this (and rebuild the crate) every time.
    for path in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    for own in ["src", "build", "build.rs", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={own}");
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    build_commit(&root);
    let queries = root.join("queries");
    println!("cargo:rerun-if-changed=queries");
    let mut files = Vec::new();
    collect(&queries, &mut files);
    files.sort();
    let mut code = String::from(
        "/// (path relative to the package, text) of every embedded query file.\npub(crate) const EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let relative = file
            .strip_prefix(&root)
            .expect("under the package")
            .display()
            .to_string();
        writeln!(
            code,
            "    ({relative:?}, include_str!({:?})),",
            file.display().to_string()
        )
        .expect("write to string");
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("embedded_queries.rs");
    std::fs::write(out, code).expect("write embedded_queries.rs");
}
