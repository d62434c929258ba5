//! `entra-audit rules` (list, explain, catalogue) and `entra-audit tables`: the reference an
//! admin or a rule author reads, printed from the embedded rules and the table declarations.

use std::fmt::Write as _;

use super::cli::RulesCommand;
use crate::audit::{rules, tables};
use crate::preview::terminal_safe;

/// Runs `rules [list|explain NAME|catalogue]`.
pub(crate) fn execute(command: Option<RulesCommand>) -> anyhow::Result<u8> {
    let rules = rules::embedded()?;
    match command.unwrap_or(RulesCommand::List) {
        RulesCommand::List => print!("{}", rules_list(&rules)),
        RulesCommand::Explain { name } => {
            print!("{}", terminal_safe(&explain(&rules, &name)?));
        }
        RulesCommand::Catalogue => print!("{}", rules::catalogue_markdown(&rules)),
    }
    Ok(0)
}

/// Runs `tables`: every table the rules can query, with its columns.
pub(crate) fn tables() -> u8 {
    print!("{}", tables_doc());
    0
}

fn rules_list(all: &[rules::Rule]) -> String {
    let listed: Vec<&rules::Rule> = all.iter().filter(|r| r.kind == rules::Kind::Rule).collect();
    let width = listed.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in listed {
        let _ = writeln!(
            out,
            "{:<width$}  {:<8}  {:<12}  {}",
            r.name,
            r.severity.as_str(),
            r.category,
            r.title
        );
    }
    out.push_str("\n`entra-audit rules explain NAME` shows a rule's documentation.\n");
    out
}

fn explain(all: &[rules::Rule], name: &str) -> anyhow::Result<String> {
    let Some(rule) = all.iter().find(|r| r.name == name) else {
        let names: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
        anyhow::bail!(
            "no rule named '{name}'; the rules are: {}",
            names.join(", ")
        );
    };
    Ok(format!(
        "{} ({}, {})\n{}\n\nneeds: {}{}\nsource: {}\n\n{}\n",
        rule.name,
        rule.severity,
        rule.category,
        rule.title,
        rule.requires.join(", "),
        if rule.optional.is_empty() {
            String::new()
        } else {
            format!("; uses when available: {}", rule.optional.join(", "))
        },
        rule.source.display(),
        rule.docs
    ))
}

fn tables_doc() -> String {
    let mut out = String::new();
    for spec in tables::TABLES {
        let _ = writeln!(out, "{}\n  {}", spec.name, spec.doc);
        for c in spec.columns {
            let computed = match c.source {
                tables::ColumnSource::ComputedWhenRead(_) => {
                    " (computed when read: see docs/rules.md)"
                }
                tables::ColumnSource::Row | tables::ColumnSource::CountedOver(_) => "",
            };
            let _ = writeln!(
                out,
                "    {:<30} {:<16} {}{computed}",
                c.name,
                c.ty.sql_name(),
                c.doc
            );
        }
        out.push('\n');
    }
    out
}
