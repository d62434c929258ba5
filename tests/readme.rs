//! The README's rule catalogue is generated from the rules' headers; this test fails when it is
//! stale, and rewrites it when run with `UPDATE_README=1`.

use std::path::Path;

const START: &str = "<!-- rules:start -->\n";
const END: &str = "<!-- rules:end -->";

#[test]
fn readme_catalogue_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme
        .find(START)
        .expect("README has the rules:start marker")
        + START.len();
    let end = readme.find(END).expect("README has the rules:end marker");
    let rules = entra_audit::rules::embedded().unwrap();
    let expected = entra_audit::rules::catalogue_markdown(&rules);
    if readme[start..end] == expected {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = format!("{}{expected}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!("the README's rule catalogue is stale: run `UPDATE_README=1 cargo test --test readme`");
}
