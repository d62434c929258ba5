//! The audit rules: loading `queries/**/*.sql` (embedded at build time, plus `--rules-dir`),
//! reading their front matter and docs, and (in [`engine`]) running them.
//!
//! A rule file is a block comment holding TOML front matter between `+++` lines and a Markdown
//! body (What it does / Why is this bad? / Remediation / References), then one SELECT. A file
//! with `kind = "view"` defines a shared table (the matching prediction, for instance) that
//! rules can `require`, so the semantics every matching rule shares live in one SQL file.
//! This module must not hard-code rule logic that SQL can express.

pub(crate) mod engine;
pub(crate) mod guard;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::audit::findings::{CleanupAction, PredictedOutcome, RuleCleanup, Severity};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_queries.rs"));
}

/// Whether a query file is a rule (its rows are findings) or a view (its rows are a table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Rule,
    View,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    name: String,
    title: String,
    #[serde(default)]
    severity: Option<String>,
    category: String,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    optional: Vec<String>,
    #[serde(default)]
    onprem_classes: Vec<String>,
    #[serde(default = "default_kind")]
    kind: Kind,
    /// The predicted outcome of every finding; a `predicted_outcome` column overrides it per row.
    #[serde(default)]
    outcome: Option<String>,
    /// A view whose rows (a `reason` column) make the rule "not evaluated".
    #[serde(default)]
    not_evaluated_when: Option<String>,
    /// The columns the query returns beyond the finding columns (and `predicted_outcome`):
    /// the finding's evidence. The engine checks the query's output against it.
    #[serde(default)]
    evidence: Option<Vec<String>>,
    /// The cleanup actions that may fix a finding, in the order to try them.
    #[serde(default)]
    cleanup: Vec<CleanupAction>,
    /// Each finding names a cloud object that stops the on-prem object it names from syncing.
    #[serde(default)]
    cloud_object_blocks_onprem: bool,
}

fn default_kind() -> Kind {
    Kind::Rule
}

/// One rule or view, with its docs.
#[derive(Debug, Clone)]
pub struct Rule {
    /// kebab-case for rules (the id users see); `snake_case` for views (the table they create).
    pub name: String,
    pub title: String,
    pub severity: Severity,
    pub category: String,
    /// Tables and views that must be available, else the rule is "not evaluated".
    pub requires: Vec<String>,
    /// Tables used when available; without them the rule runs on an empty table and says so.
    pub optional: Vec<String>,
    /// The on-prem object classes the rule reports on (front matter `onprem_classes`, empty =
    /// any). When the exports hold none of them the rule is "not evaluated": a class that was not
    /// exported must not pass for a clean one.
    pub onprem_classes: Vec<crate::inputs::onprem::ObjectClass>,
    pub kind: Kind,
    /// What Entra ID will do with a flagged object (front matter `outcome`); a
    /// `predicted_outcome` output column overrides it per row.
    pub outcome: Option<PredictedOutcome>,
    /// A view that, when it has rows, says why the data cannot support this rule (front matter
    /// `not_evaluated_when`); the rule is then "not evaluated" with the first row's `reason`.
    pub not_evaluated_when: Option<String>,
    /// The evidence columns the query returns (front matter `evidence`), checked by the engine
    /// on every run: a column the query returns and the rule does not declare, or one it
    /// declares and the query does not return, makes the rule error. `None` for a custom rule
    /// that declares none (its extra columns are evidence, unchecked); every built-in rule
    /// declares it (a test says so).
    pub evidence: Option<Vec<String>>,
    /// What the cleanup files may do about its findings (front matter `cleanup` and
    /// `cloud_object_blocks_onprem`).
    pub cleanup: RuleCleanup,
    /// The Markdown body of the header.
    pub docs: String,
    pub sql: String,
    /// Where it came from (`queries/...` for embedded ones).
    pub source: PathBuf,
}

#[cfg(test)]
/// The sections every rule documents, in order.
pub(crate) const DOC_SECTIONS: [&str; 4] = [
    "What it does",
    "Why is this bad?",
    "Remediation",
    "References",
];

impl Rule {
    /// The text of one `## Section` of the docs, trimmed.
    pub fn doc_section(&self, title: &str) -> Option<String> {
        let mut lines = self.docs.lines();
        lines.find(|l| l.trim_start_matches('#').trim() == title && l.starts_with("## "))?;
        let body: Vec<&str> = lines.take_while(|l| !l.starts_with("## ")).collect();
        Some(body.join("\n").trim().to_owned())
    }
}

/// A query file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RuleError {
    pub path: PathBuf,
    pub message: String,
}

/// Parses one query file.
pub fn parse(path: &Path, text: &str) -> Result<Rule, RuleError> {
    let fail = |message: String| RuleError {
        path: path.to_owned(),
        message,
    };
    let text = text.trim_start_matches('\u{feff}');
    let rest = text.trim_start().strip_prefix("/*").ok_or_else(|| {
        fail(
            "must start with a /* ... */ header holding +++ front matter +++ and the rule's docs"
                .to_owned(),
        )
    })?;
    let end = rest
        .find("*/")
        .ok_or_else(|| fail("the header comment is not closed with */".to_owned()))?;
    let (header, sql) = (&rest[..end], rest[end + 2..].trim());
    let header = header.trim_start();
    let after_open = header.strip_prefix("+++").ok_or_else(|| {
        fail("the header must open with a +++ line (TOML front matter)".to_owned())
    })?;
    let close = after_open
        .find("\n+++")
        .ok_or_else(|| fail("the front matter is not closed with a +++ line".to_owned()))?;
    let toml_text = &after_open[..close];
    let docs = after_open[close + 4..].trim().to_owned();
    let meta: FrontMatter =
        toml::from_str(toml_text).map_err(|e| fail(format!("front matter: {e}")))?;
    let severity = match (meta.kind, &meta.severity) {
        (Kind::Rule, Some(s)) => s.parse().map_err(fail)?,
        (Kind::Rule, None) => return Err(fail("front matter: a rule needs a severity".to_owned())),
        (Kind::View, _) => Severity::Info,
    };
    let valid_name = match meta.kind {
        Kind::Rule => is_kebab(&meta.name),
        Kind::View => is_snake(&meta.name),
    };
    if !valid_name {
        return Err(fail(format!(
            "name '{}' must be {} case",
            meta.name,
            if meta.kind == Kind::Rule {
                "kebab"
            } else {
                "snake"
            }
        )));
    }
    if sql.is_empty() {
        return Err(fail("no SQL after the header".to_owned()));
    }
    check_declarations(&meta).map_err(fail)?;
    let onprem_classes = meta
        .onprem_classes
        .iter()
        .map(|name| {
            crate::inputs::onprem::ObjectClass::from_name(name).ok_or_else(|| {
                fail(format!(
                    "front matter: onprem_classes: '{name}' is not user, contact or group"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let outcome = meta
        .outcome
        .as_deref()
        .map(str::parse::<PredictedOutcome>)
        .transpose()
        .map_err(|e| fail(format!("front matter: outcome: {e}")))?;
    Ok(Rule {
        name: meta.name,
        title: meta.title,
        severity,
        category: meta.category,
        requires: meta.requires,
        optional: meta.optional,
        onprem_classes,
        kind: meta.kind,
        outcome,
        not_evaluated_when: meta.not_evaluated_when,
        evidence: meta.evidence,
        cleanup: RuleCleanup {
            actions: meta.cleanup,
            cloud_object_blocks_onprem: meta.cloud_object_blocks_onprem,
        },
        docs,
        sql: sql.trim_end_matches(';').trim().to_owned(),
        source: path.to_owned(),
    })
}

/// The front matter's `evidence` and `cleanup` declarations are for rules, and evidence names no
/// finding column and no column twice.
fn check_declarations(meta: &FrontMatter) -> Result<(), String> {
    if meta.kind == Kind::View
        && (meta.evidence.is_some() || !meta.cleanup.is_empty() || meta.cloud_object_blocks_onprem)
    {
        return Err(
            "front matter: evidence, cleanup and cloud_object_blocks_onprem are for rules, not views"
                .to_owned(),
        );
    }
    if let Some(evidence) = &meta.evidence {
        let mut seen = BTreeSet::new();
        for column in evidence {
            if engine::FINDING_COLUMNS.contains(&column.as_str())
                || column == engine::OUTCOME_COLUMN
            {
                return Err(format!(
                    "front matter: evidence: '{column}' is a finding column, not evidence"
                ));
            }
            if !seen.insert(column) {
                return Err(format!(
                    "front matter: evidence: '{column}' is listed twice"
                ));
            }
        }
    }
    // A cleanup action acts on facts it reads from the evidence (the other holder, an admin
    // role that forbids a delete): a rule that declares the action without them would get rows
    // that skip those safety checks.
    let declared = meta.evidence.as_deref().unwrap_or_default();
    for action in &meta.cleanup {
        if let Some(missing) = action
            .evidence_needed()
            .iter()
            .find(|needed| !declared.iter().any(|d| d == *needed))
        {
            return Err(format!(
                "front matter: cleanup '{action}' reads evidence '{missing}', which `evidence` does not declare"
            ));
        }
    }
    Ok(())
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

fn is_snake(s: &str) -> bool {
    !s.is_empty()
        && s.split('_').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// The rules and views built into the binary.
pub fn embedded() -> Result<Vec<Rule>, RuleError> {
    let rules = embedded::EMBEDDED
        .iter()
        .map(|(path, text)| parse(Path::new(path), text))
        .collect::<Result<Vec<_>, _>>()?;
    check_names(rules)
}

/// The embedded rules plus every `*.sql` below `dir` (custom rules and views).
pub fn with_custom(dir: &Path) -> Result<Vec<Rule>, RuleError> {
    let mut rules = embedded()?;
    let built_in = rules.len();
    let mut files = Vec::new();
    find_sql(dir, &mut files).map_err(|e| RuleError {
        path: dir.to_owned(),
        message: format!("cannot read the rules directory: {e}"),
    })?;
    if files.is_empty() {
        return Err(RuleError {
            path: dir.to_owned(),
            message: "no .sql files found (a rule is one .sql file: see `entra-audit rules explain` output for the format)".to_owned(),
        });
    }
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| RuleError {
            path: file.clone(),
            message: format!("cannot read: {e}"),
        })?;
        rules.push(parse(&file, &text)?);
    }
    let rules = check_names(rules)?;
    // Untrusted SQL is checked before anything runs: only the registered tables and views, and
    // no word a word column never holds.
    let relations = relation_names(&rules);
    let columns = table_columns();
    for rule in &rules[built_in..] {
        guard::check(&rule.sql, &relations)
            .and_then(|()| guard::check_columns(&rule.sql, &columns))
            .map_err(|message| RuleError {
                path: rule.source.clone(),
                message: format!("refused: {message}"),
            })?;
    }
    Ok(rules)
}

/// Every column of the tables, and the words of each word column, for [`guard::check_columns`].
pub(crate) fn table_columns() -> guard::Columns {
    use crate::audit::tables::ColumnType;
    crate::audit::tables::TABLES
        .iter()
        .flat_map(|table| {
            table.columns.iter().map(|column| {
                let words = match column.ty {
                    ColumnType::Word(words) => guard::ColumnWords::Only(words),
                    _ => guard::ColumnWords::Any,
                };
                ((table.name.to_owned(), column.name.to_owned()), words)
            })
        })
        .collect()
}

/// What rule SQL may read: the tables and every view's name.
pub(crate) fn relation_names(rules: &[Rule]) -> BTreeSet<String> {
    crate::audit::tables::TABLES
        .iter()
        .map(|t| t.name.to_owned())
        .chain(
            rules
                .iter()
                .filter(|r| r.kind == Kind::View)
                .map(|r| r.name.clone()),
        )
        .collect()
}

fn find_sql(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            find_sql(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
    Ok(())
}

fn check_names(rules: Vec<Rule>) -> Result<Vec<Rule>, RuleError> {
    let mut seen = BTreeSet::new();
    for rule in &rules {
        if crate::audit::tables::spec(&rule.name).is_some() || !seen.insert(rule.name.clone()) {
            return Err(RuleError {
                path: rule.source.clone(),
                message: format!(
                    "the name '{}' is already taken by another rule, view or table",
                    rule.name
                ),
            });
        }
    }
    Ok(rules)
}

/// The rule catalogue of docs/rules.md, generated from the rules' front matter and docs (its
/// links are relative to docs/).
pub fn catalogue_markdown(rules: &[Rule]) -> String {
    let mut out = String::from(
        "| rule | severity | category | predicts | what it finds |\n|---|---|---|---|---|\n",
    );
    let mut listed: Vec<&Rule> = rules.iter().filter(|r| r.kind == Kind::Rule).collect();
    listed.sort_by(|a, b| (&a.category, &a.name).cmp(&(&b.category, &b.name)));
    for rule in &listed {
        let _ = writeln!(
            out,
            "| [`{}`](#{}) | {} | {} | {} | {} |",
            rule.name,
            rule.name,
            rule.severity,
            rule.category,
            rule.outcome.map_or("", PredictedOutcome::as_str),
            rule.title
        );
    }
    for rule in &listed {
        let cleanup = if rule.cleanup.actions.is_empty() {
            String::new()
        } else {
            let files: Vec<String> = rule
                .cleanup
                .actions
                .iter()
                .map(|a| format!("`{a}`"))
                .collect();
            format!(" · cleanup {}", files.join(", "))
        };
        let _ = writeln!(
            out,
            "\n### {}\n\n*{}* · severity **{}** · category {} · needs {}{cleanup} · [`{}`](../{})\n\n{}",
            rule.name,
            rule.title,
            rule.severity,
            rule.category,
            rule.requires.join(", "),
            rule.source.display(),
            rule.source.display(),
            demote_headings(&rule.docs)
        );
    }
    out
}

/// Rule docs use `##` sections; in the docs/rules.md catalogue they sit under a `###` rule heading, as `####`.
fn demote_headings(docs: &str) -> String {
    docs.lines()
        .map(|l| {
            if l.starts_with("## ") {
                format!("##{l}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "/*\n+++\nname = \"demo-rule\"\ntitle = \"A demo\"\nseverity = \"high\"\ncategory = \"matching\"\nrequires = [\"onprem_objects\"]\n+++\n## What it does\nFinds.\n## Why is this bad?\nBad.\n## Remediation\nFix.\n## References\n- x\n*/\nSELECT 1;\n";

    #[test]
    fn parses_front_matter_docs_and_sql() {
        let rule = parse(Path::new("q.sql"), SAMPLE).unwrap();
        assert_eq!(rule.name, "demo-rule");
        assert_eq!(rule.severity, Severity::High);
        assert_eq!(rule.requires, vec!["onprem_objects"]);
        assert_eq!(rule.sql, "SELECT 1");
        assert_eq!(
            rule.doc_section("Why is this bad?").as_deref(),
            Some("Bad.")
        );
    }

    #[test]
    fn rejects_bad_headers_with_the_file_name() {
        let err = parse(Path::new("x.sql"), "SELECT 1").unwrap_err();
        assert!(err.to_string().starts_with("x.sql: must start with"));
        let typo = SAMPLE.replace("requires", "require");
        assert!(
            parse(Path::new("x.sql"), &typo)
                .unwrap_err()
                .to_string()
                .contains("unknown field")
        );
        let bad_name = SAMPLE.replace("demo-rule", "Demo_Rule");
        assert!(
            parse(Path::new("x.sql"), &bad_name)
                .unwrap_err()
                .to_string()
                .contains("kebab")
        );
        let bad_sev = SAMPLE.replace("\"high\"", "\"urgent\"");
        assert!(parse(Path::new("x.sql"), &bad_sev).is_err());
        let bad_outcome = SAMPLE.replace("severity", "outcome = \"Deleted\"\nseverity");
        let err = parse(Path::new("x.sql"), &bad_outcome)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown predicted outcome 'Deleted'"), "{err}");
    }

    #[test]
    fn cleanup_and_evidence_declarations_are_checked_when_the_rule_loads() {
        let with = |extra: &str| SAMPLE.replace("severity", &format!("{extra}\nseverity"));
        let rule = parse(
            Path::new("x.sql"),
            &with("evidence = [\"other_holder\", \"cloud_immutable_id\", \"cloud_admin_roles\", \"cloud_domain_federated\", \"cloud_managed\"]\ncleanup = [\"delete-stale-cloud-user\"]\ncloud_object_blocks_onprem = true"),
        )
        .unwrap();
        assert_eq!(
            rule.evidence.as_deref().map(<[String]>::len),
            Some(5),
            "{:?}",
            rule.evidence
        );
        assert_eq!(
            rule.cleanup,
            RuleCleanup {
                actions: vec![CleanupAction::DeleteStaleCloudUser],
                cloud_object_blocks_onprem: true,
            }
        );
        // A delete without the admin-role evidence would skip the check that keeps a role
        // holder out of the cleanup files: refused when the rule loads, custom rules included.
        let unsafe_delete = parse(
            Path::new("x.sql"),
            &with("evidence = [\"cloud_immutable_id\", \"cloud_domain_federated\", \"cloud_managed\"]\ncleanup = [\"delete-stale-cloud-user\"]"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            unsafe_delete.contains("reads evidence 'cloud_admin_roles'"),
            "{unsafe_delete}"
        );
        let unknown = parse(
            Path::new("x.sql"),
            &with("cleanup = [\"delete-everything\"]"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            unknown.starts_with("x.sql: front matter: ") && unknown.contains("delete-everything"),
            "{unknown}"
        );
        let finding_column = parse(Path::new("x.sql"), &with("evidence = [\"message\"]"))
            .unwrap_err()
            .to_string();
        assert!(
            finding_column.contains("'message' is a finding column"),
            "{finding_column}"
        );
        let twice = parse(Path::new("x.sql"), &with("evidence = [\"a\", \"a\"]"))
            .unwrap_err()
            .to_string();
        assert!(twice.contains("'a' is listed twice"), "{twice}");
        let view = SAMPLE
            .replace("demo-rule", "demo_view")
            .replace("severity", "kind = \"view\"\nevidence = []\nseverity");
        assert!(
            parse(Path::new("x.sql"), &view)
                .unwrap_err()
                .to_string()
                .contains("for rules, not views")
        );
    }

    #[test]
    fn every_embedded_rule_declares_its_evidence() {
        for rule in embedded().unwrap() {
            if rule.kind == Kind::Rule {
                assert!(
                    rule.evidence.is_some(),
                    "{}: front matter needs evidence = [the columns the query returns beyond the finding columns]",
                    rule.name
                );
            }
        }
    }

    #[test]
    fn every_embedded_rule_predicts_an_outcome() {
        for rule in embedded().unwrap() {
            if rule.kind == Kind::Rule {
                assert!(
                    rule.outcome.is_some(),
                    "{}: front matter needs outcome = one of the predicted outcomes",
                    rule.name
                );
            }
        }
    }

    #[test]
    fn every_embedded_rule_passes_the_guard_custom_rules_get() {
        let rules = embedded().unwrap();
        let relations = relation_names(&rules);
        let columns = table_columns();
        for rule in &rules {
            assert_eq!(
                guard::check(&rule.sql, &relations),
                Ok(()),
                "{}",
                rule.source.display()
            );
            assert_eq!(
                guard::check_columns(&rule.sql, &columns),
                Ok(()),
                "{}",
                rule.source.display()
            );
        }
    }

    /// Why `with_custom` refuses a rules directory holding one custom rule, `name`, whose SQL
    /// is `select`.
    fn custom_rule_refused(name: &str, select: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let header = format!(
            "/*\n+++\nname = \"{name}\"\ntitle = \"t\"\nseverity = \"low\"\ncategory = \"hygiene\"\n+++\n## What it does\nx\n*/\n"
        );
        std::fs::write(dir.path().join(format!("{name}.sql")), header + select).unwrap();
        with_custom(dir.path()).unwrap_err().to_string()
    }

    #[test]
    fn a_custom_rule_reading_a_file_is_refused_before_it_runs() {
        let error = custom_rule_refused(
            "peek",
            "SELECT 'x' AS message, 'y' AS remediation, column_1 AS value FROM read_csv('/etc/passwd')",
        );
        assert!(error.contains("peek.sql"), "{error}");
        assert!(error.contains("table function 'read_csv'"), "{error}");
    }

    #[test]
    fn a_custom_rule_reading_names_from_onprem_values_is_refused_not_left_to_match_nothing() {
        let error = custom_rule_refused(
            "long-names",
            "SELECT 'x' AS message, 'y' AS remediation, v.value FROM onprem_values v WHERE v.attribute = 'displayName' AND v.length > 10",
        );
        assert!(error.contains("long-names.sql"), "{error}");
        assert!(
            error.contains("compares onprem_values.attribute with 'displayName'"),
            "{error}"
        );
    }

    #[test]
    fn every_embedded_rule_is_documented_and_needs_known_tables() {
        let rules = embedded().unwrap();
        let names: BTreeSet<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        for rule in &rules {
            for section in DOC_SECTIONS {
                if rule.kind == Kind::Rule {
                    let text = rule.doc_section(section).unwrap_or_default();
                    assert!(
                        !text.is_empty(),
                        "{}: section '## {section}' is missing or empty",
                        rule.name
                    );
                }
            }
            if let Some(guard) = &rule.not_evaluated_when {
                assert!(
                    rules
                        .iter()
                        .any(|v| v.kind == Kind::View && &v.name == guard),
                    "{}: not_evaluated_when names unknown view '{guard}'",
                    rule.name
                );
                assert!(
                    rule.requires.contains(guard),
                    "{}: requires must list its guard view '{guard}'",
                    rule.name
                );
            }
            for table in rule.requires.iter().chain(&rule.optional) {
                assert!(
                    crate::audit::tables::spec(table).is_some() || names.contains(table.as_str()),
                    "{}: requires unknown table or view '{table}'",
                    rule.name
                );
            }
        }
    }
}
