//! Rule SQL from `--rules-dir` is untrusted (rule packs are shared between people): before a
//! custom rule or view runs, its SQL is parsed with the parser polars-sql itself uses (same
//! crate, version and dialect) and refused unless it is one query that reads only the registered
//! tables, the views and its own `WITH` names. Polars SQL's table functions (`read_csv`,
//! `read_parquet`, `read_ipc`, `read_json`, ...) would otherwise put any file the user can read
//! into findings, CSVs and report.html; statements such as `CREATE TABLE`, `DROP`, `SHOW` or
//! `EXPLAIN` are refused too.
//!
//! It also answers, with the same parser, which tables and views a query reads ([`relations`]):
//! the rules engine releases a table once no rule still to run reads it.
//!
//! It owns only reading rule SQL (that check and those names); it must not rewrite the SQL (the
//! engine runs it as written).

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{Query, Statement, TableFactor, Visit, Visitor};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserOptions};

/// Parses `sql` as polars-sql does and checks it reads only `allowed` relations (plus the names
/// its own `WITH` clauses define). The error says what the SQL tried.
pub fn check(sql: &str, allowed: &BTreeSet<String>) -> Result<(), String> {
    let statements = parse(sql)?;
    let [statement] = statements.as_slice() else {
        return Err(format!(
            "a rule is one SELECT; this file holds {} statements",
            statements.len()
        ));
    };
    if !matches!(statement, Statement::Query(_)) {
        let kind = statement.to_string();
        let kind: String = kind
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        return Err(format!(
            "a rule is one SELECT; this file runs a {} statement",
            crate::preview::quoted(&kind)
        ));
    }
    let mut ctes = CteNames::default();
    let _ = statement.visit(&mut ctes);
    let mut guard = Guard {
        allowed,
        ctes: &ctes.0,
    };
    match statement.visit(&mut guard) {
        ControlFlow::Break(error) => Err(error),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// The names of every table, view and `WITH` name `sql` reads, lower-cased; `None` when it does
/// not parse (the caller must then assume it may read anything). The rules engine releases a
/// table once no rule still to run reads it: a name is counted whether or not the rule declares
/// it in `requires`, so a rule that forgot to declare a table still finds it.
pub(crate) fn relations(sql: &str) -> Option<BTreeSet<String>> {
    let statements = parse(sql).ok()?;
    let mut read = Relations::default();
    for statement in &statements {
        let _ = statement.visit(&mut read);
    }
    Some(read.0)
}

/// The statements of `sql`, parsed as polars-sql's `SQLContext::execute` parses them:
/// `GenericDialect` with trailing commas.
fn parse(sql: &str) -> Result<Vec<Statement>, String> {
    Parser::new(&GenericDialect)
        .with_options(ParserOptions {
            trailing_commas: true,
            ..ParserOptions::default()
        })
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| format!("the SQL does not parse: {e}"))
}

/// Every relation name a statement reads (see [`relations`]).
#[derive(Default)]
struct Relations(BTreeSet<String>);

impl Visitor for Relations {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, .. } = factor {
            for part in &name.0 {
                if let Some(ident) = part.as_ident() {
                    self.0.insert(ident.value.to_lowercase());
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// Every name a `WITH` clause of the statement defines.
#[derive(Default)]
struct CteNames(BTreeSet<String>);

impl Visitor for CteNames {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            self.0
                .extend(with.cte_tables.iter().map(|c| c.alias.name.value.clone()));
        }
        ControlFlow::Continue(())
    }
}

struct Guard<'a> {
    allowed: &'a BTreeSet<String>,
    ctes: &'a BTreeSet<String>,
}

impl Visitor for Guard<'_> {
    type Break = String;

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<String> {
        match factor {
            TableFactor::Table { name, args, .. } => {
                let shown = crate::preview::quoted(&name.to_string());
                if args.is_some() {
                    return ControlFlow::Break(format!(
                        "the SQL calls the table function {shown}: a rule may read only the \
                         audit's tables and views (see `entra-audit tables`), never files"
                    ));
                }
                let single = match name.0.as_slice() {
                    [part] => part.as_ident().map(|i| i.value.as_str()),
                    _ => None,
                };
                match single {
                    Some(n) if self.allowed.contains(n) || self.ctes.contains(n) => {
                        ControlFlow::Continue(())
                    }
                    _ => ControlFlow::Break(format!(
                        "the SQL reads {shown}, which is not one of the audit's tables or \
                         views (see `entra-audit tables`)"
                    )),
                }
            }
            TableFactor::Derived { .. } | TableFactor::NestedJoin { .. } => {
                ControlFlow::Continue(())
            }
            other => {
                let text = other.to_string();
                ControlFlow::Break(format!(
                    "the SQL reads from {}: a rule may read only the audit's tables and views \
                     (see `entra-audit tables`)",
                    crate::preview::quoted(&text)
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> BTreeSet<String> {
        ["onprem_objects", "cloud_users", "matches"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn relations_names_every_table_a_query_reads_however_nested() {
        let sql = "WITH x AS (SELECT * FROM onprem_values) \
                   SELECT * FROM x JOIN Onprem_Objects o ON x.object_guid = o.object_guid \
                   WHERE x.object_guid IN (SELECT object_guid FROM smtp_address_problems) \
                   UNION ALL SELECT * FROM (SELECT * FROM cloud_objects) c";
        let read = relations(sql).expect("parses");
        let expected: BTreeSet<String> = [
            "x",
            "onprem_values",
            "onprem_objects",
            "smtp_address_problems",
            "cloud_objects",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        assert_eq!(read, expected);
        assert_eq!(relations("SELEC nothing"), None);
    }

    #[test]
    fn registered_tables_views_and_ctes_pass() {
        for sql in [
            "SELECT * FROM onprem_objects",
            "SELECT o.x FROM onprem_objects o JOIN cloud_users c ON o.a = c.b, matches",
            "WITH m AS (SELECT * FROM matches) SELECT * FROM m WHERE x IN (SELECT y FROM cloud_users)",
            "SELECT a, b, FROM (SELECT * FROM onprem_objects) t",
        ] {
            assert_eq!(check(sql, &allowed()), Ok(()), "{sql}");
        }
    }

    #[test]
    fn table_functions_other_tables_and_statements_are_refused_saying_what_was_tried() {
        for (sql, says) in [
            (
                "SELECT * FROM read_csv('/etc/passwd')",
                "table function 'read_csv'",
            ),
            (
                "SELECT * FROM onprem_objects WHERE x IN (SELECT * FROM read_parquet('/x.parquet'))",
                "table function 'read_parquet'",
            ),
            (
                "WITH a AS (SELECT * FROM read_json('/root/.azure/x.json')) SELECT * FROM a",
                "table function 'read_json'",
            ),
            ("SELECT * FROM read_ipc('/x')", "read_ipc"),
            ("SELECT * FROM secrets", "reads 'secrets'"),
            (
                "SELECT * FROM other.onprem_objects",
                "reads 'other.onprem_objects'",
            ),
            (
                "CREATE TABLE t AS SELECT * FROM read_csv('/etc/passwd')",
                "runs a 'CREATE TABLE'",
            ),
            ("DROP TABLE onprem_objects", "runs a 'DROP TABLE'"),
            ("SHOW TABLES", "runs a 'SHOW TABLES'"),
            ("SELECT 1; SELECT 2", "2 statements"),
            ("SELEC 1", "does not parse"),
            ("SELECT * FROM UNNEST([1, 2])", "reads from"),
        ] {
            let error = check(sql, &allowed()).unwrap_err();
            assert!(error.contains(says), "{sql}: {error}");
        }
    }
}
