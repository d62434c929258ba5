//! The README's rule catalogue is generated from the rules' headers; this test fails when it is
//! stale, and rewrites it when run with `UPDATE_README=1`.

use std::path::Path;

const START: &str = "<!-- rules:start -->\n";
const END: &str = "<!-- rules:end -->";

#[test]
fn readme_catalogue_is_current() {
    let rules = entra_audit::audit::rules::embedded().unwrap();
    check_section(
        START,
        END,
        &entra_audit::audit::rules::catalogue_markdown(&rules),
        "rule catalogue",
    );
}

#[test]
fn readme_outcome_vocabulary_is_current() {
    check_section(
        "<!-- outcomes:start -->\n",
        "<!-- outcomes:end -->",
        &entra_audit::audit::findings::outcome_vocabulary_markdown(),
        "predicted outcome vocabulary",
    );
}

/// Compares the README between two markers with `expected`; rewrites it with `UPDATE_README=1`.
fn check_section(start_marker: &str, end_marker: &str, expected: &str, what: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme
        .find(start_marker)
        .unwrap_or_else(|| panic!("README has the {start_marker:?} marker"))
        + start_marker.len();
    let end = readme
        .find(end_marker)
        .unwrap_or_else(|| panic!("README has the {end_marker:?} marker"));
    if readme[start..end] == *expected {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = format!("{}{expected}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "the README's {what} is stale: run `UPDATE_README=1 cargo test --test integration readme`"
    );
}
