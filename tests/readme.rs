//! The documentation stays true to the code: the rule catalogue (docs/rules.md) and the outcome
//! vocabulary (docs/outputs.md) are generated, and this test fails when either is stale (run with
//! `UPDATE_README=1` it rewrites them); every relative link in README.md and docs/*.md leads to
//! a file that exists, and an `#anchor` to a heading of that file.

use std::collections::HashSet;
use std::path::PathBuf;

#[test]
fn rule_catalogue_is_current() {
    let rules = entra_audit::testing::audit::rules::embedded().unwrap();
    check_section(
        "docs/rules.md",
        "<!-- rules:start -->\n",
        "<!-- rules:end -->",
        &entra_audit::testing::audit::rules::catalogue_markdown(&rules),
        "rule catalogue",
    );
}

#[test]
fn outcome_vocabulary_is_current() {
    check_section(
        "docs/outputs.md",
        "<!-- outcomes:start -->\n",
        "<!-- outcomes:end -->",
        &entra_audit::testing::audit::findings::outcome_vocabulary_markdown(),
        "predicted outcome vocabulary",
    );
}

/// Compares `file` between two markers with `expected`; rewrites it with `UPDATE_README=1`.
fn check_section(file: &str, start_marker: &str, end_marker: &str, expected: &str, what: &str) {
    let path = root().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text
        .find(start_marker)
        .unwrap_or_else(|| panic!("{file} has the {start_marker:?} marker"))
        + start_marker.len();
    let end = text
        .find(end_marker)
        .unwrap_or_else(|| panic!("{file} has the {end_marker:?} marker"));
    if text[start..end] == *expected {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = format!("{}{expected}{}", &text[..start], &text[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "the {what} in {file} is stale: run `UPDATE_README=1 cargo test --test integration readme`"
    );
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every docs/*.md.
fn documents() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs.insert(0, root().join("README.md"));
    docs
}

/// The targets of the inline links and images of a Markdown text, outside code.
fn link_targets(markdown: &str) -> Vec<String> {
    use pulldown_cmark::{Event, Parser, Tag};
    Parser::new_ext(markdown, pulldown_cmark::Options::ENABLE_TABLES)
        .filter_map(|event| match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                Some(dest_url.to_string())
            }
            _ => None,
        })
        .collect()
}

/// The anchors GitHub gives a document's headings: lower case, punctuation other than `-` and
/// `_` dropped, spaces as `-`, a repeated heading suffixed `-1`, `-2`, ...
fn anchors(markdown: &str) -> HashSet<String> {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let mut seen = HashSet::new();
    let mut heading: Option<String> = None;
    for event in Parser::new_ext(markdown, pulldown_cmark::Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let text = heading.take().unwrap_or_default();
                let slug: String = text
                    .trim()
                    .to_lowercase()
                    .chars()
                    .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
                    .map(|c| if c == ' ' { '-' } else { c })
                    .collect();
                let mut unique = slug.clone();
                let mut n = 0;
                while seen.contains(&unique) {
                    n += 1;
                    unique = format!("{slug}-{n}");
                }
                seen.insert(unique);
            }
            _ => {}
        }
    }
    seen
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let name = doc.strip_prefix(root()).unwrap().display().to_string();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let file = if path.is_empty() {
                doc.clone()
            } else {
                doc.parent().unwrap().join(path)
            };
            if !file.exists() {
                broken.push(format!("{name}: {target} (no such file)"));
                continue;
            }
            let markdown = file.extension().is_some_and(|e| e == "md");
            if !anchor.is_empty() && markdown {
                let headings = anchors(&std::fs::read_to_string(&file).unwrap());
                if !headings.contains(anchor) {
                    broken.push(format!("{name}: {target} (no such heading)"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(
        checked > 30,
        "only {checked} relative links found: is the parser reading the docs?"
    );
}

#[test]
fn anchors_follow_githubs_rules() {
    let headings = anchors("# A `b` c\n## The sync model, scope and matching\n## x\n## x\n");
    for expected in ["a-b-c", "the-sync-model-scope-and-matching", "x", "x-1"] {
        assert!(headings.contains(expected), "{expected} in {headings:?}");
    }
}
