//! Rule SQL from `--rules-dir` is untrusted (rule packs are shared between people): before a
//! custom rule or view runs, its SQL is parsed with the parser polars-sql itself uses (same
//! crate, version and dialect) and refused unless it is one query that reads only the registered
//! tables, the views and its own `WITH` names. Polars SQL's table functions (`read_csv`,
//! `read_parquet`, `read_ipc`, `read_json`, ...) would otherwise put any file the user can read
//! into findings, CSVs and report.html; statements such as `CREATE TABLE`, `DROP`, `SHOW` or
//! `EXPLAIN` are refused too.
//!
//! It also answers, with the same parser, which tables and views a query reads ([`relations`]):
//! the rules engine releases a table once no rule still to run reads it; and it refuses a custom
//! rule whose columns do not fit the tables ([`check_columns`]): one that compares a word column
//! with a word the column never holds, which would otherwise match nothing without a word said,
//! or reads an object key the tables of values and addresses, or `onprem_links`, no longer have
//! ([`MOVED_KEYS`]).
//!
//! It owns only reading rule SQL (those checks and those names); it must not rewrite the SQL (the
//! engine runs it as written).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, Query, SelectItem, SetExpr, Statement, TableFactor, Value, Visit, Visitor,
};
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

/// What a column of the audit's tables may hold, as far as [`check_columns`] needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnWords {
    /// A word column: only these words.
    Only(&'static [&'static str]),
    /// Any other column: any value.
    Any,
}

/// Every column of the audit's tables by table and column name (lower case).
pub(crate) type Columns = BTreeMap<(String, String), ColumnWords>;

/// Refuses SQL whose columns do not fit the audit's tables, in two ways, each a rule written for
/// another layout or a typo:
/// - it compares a word column (`=`, `<>`, `IN`, `CASE column WHEN`) with a text literal the
///   column never holds. Polars matches nothing then, silently (`'proxyaddresses'`, or the names
///   that left `onprem_values` for `onprem_names`). A column is judged when it is named through a
///   table's alias (`v.attribute`), or unqualified when every table the query reads that has a
///   column of that name holds words there and the query gives no other column that name; a
///   column of a `WITH` query or subquery named through its alias is not judged;
/// - it reads an object key the tables of values and addresses, or `onprem_links`, had before
///   they named their objects by row ([`MOVED_KEYS`]): refused saying what to join on instead,
///   where polars would only say the column is missing.
pub(crate) fn check_columns(sql: &str, columns: &Columns) -> Result<(), String> {
    for statement in parse(sql)? {
        let mut scope = Scope::default();
        let _ = statement.visit(&mut scope);
        let mut judge = ColumnJudge {
            columns,
            scope: &scope,
        };
        if let ControlFlow::Break(error) = statement.visit(&mut judge) {
            return Err(error);
        }
    }
    Ok(())
}

/// The names a statement gives: what each table alias stands for, and every column alias.
#[derive(Default)]
struct Scope {
    /// Alias (or table name) to the registered table it names; `None` when it names a `WITH`
    /// query, a subquery, or different tables in different places.
    aliases: BTreeMap<String, Option<String>>,
    /// The tables the statement reads.
    tables: BTreeSet<String>,
    /// Every name a `SELECT` item or a table alias's column list gives.
    renamed: BTreeSet<String>,
}

impl Scope {
    fn alias(&mut self, name: String, table: Option<String>) {
        self.aliases
            .entry(name)
            .and_modify(|known| {
                if *known != table {
                    *known = None;
                }
            })
            .or_insert(table);
    }

    fn projections(&mut self, body: &SetExpr) {
        match body {
            SetExpr::Select(select) => {
                for item in &select.projection {
                    if let SelectItem::ExprWithAlias { alias, .. } = item {
                        self.renamed.insert(alias.value.to_lowercase());
                    }
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                self.projections(left);
                self.projections(right);
            }
            _ => {}
        }
    }
}

impl Visitor for Scope {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        self.projections(&query.body);
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.alias(cte.alias.name.value.to_lowercase(), None);
                self.renamed.extend(
                    cte.alias
                        .columns
                        .iter()
                        .map(|c| c.name.value.to_lowercase()),
                );
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        let (name, alias) = match factor {
            TableFactor::Table { name, alias, .. } => {
                let table = match name.0.as_slice() {
                    [part] => part.as_ident().map(|i| i.value.to_lowercase()),
                    _ => None,
                };
                if let Some(table) = &table {
                    self.tables.insert(table.clone());
                }
                (table, alias)
            }
            TableFactor::Derived { alias, .. } => (None, alias),
            _ => return ControlFlow::Continue(()),
        };
        if let Some(alias) = alias {
            self.renamed
                .extend(alias.columns.iter().map(|c| c.name.value.to_lowercase()));
            self.alias(alias.name.value.to_lowercase(), name);
        } else if let Some(table) = name {
            self.alias(table.clone(), Some(table));
        }
        ControlFlow::Continue(())
    }
}

/// The object keys the tables of an object's values and addresses, and the `onprem_links` view,
/// had before they named their objects by row (a number, hashed and compared faster than a
/// GUID's text and held in 4 bytes instead of 16): table, old column, the table whose row it
/// is, and the column holding that row.
const MOVED_KEYS: &[MovedKey] = &[
    MovedKey::new(
        "onprem_values",
        "object_guid",
        "onprem_objects",
        "object_row",
    ),
    MovedKey::new(
        "onprem_names",
        "object_guid",
        "onprem_objects",
        "object_row",
    ),
    MovedKey::new(
        "onprem_addresses",
        "object_id",
        "onprem_objects",
        "object_row",
    ),
    MovedKey::new(
        "cloud_addresses",
        "object_id",
        "cloud_objects",
        "object_row",
    ),
    MovedKey::new(
        "onprem_links",
        "object_guid",
        "onprem_objects",
        "object_row",
    ),
    MovedKey::new(
        "onprem_links",
        "cloud_object_id",
        "cloud_objects",
        "cloud_object_row",
    ),
];

/// One of [`MOVED_KEYS`]: `table.old` is now `table.row`, a row of `owner`.
struct MovedKey {
    table: &'static str,
    old: &'static str,
    owner: &'static str,
    row: &'static str,
}

impl MovedKey {
    const fn new(
        table: &'static str,
        old: &'static str,
        owner: &'static str,
        row: &'static str,
    ) -> Self {
        MovedKey {
            table,
            old,
            owner,
            row,
        }
    }
}

/// Judges the columns a statement names against the tables' ([`check_columns`]).
struct ColumnJudge<'a> {
    columns: &'a Columns,
    scope: &'a Scope,
}

impl ColumnJudge<'_> {
    /// Refuses `column` when it names a key of [`MOVED_KEYS`] the table it reads no longer has
    /// (through the table's alias, or unqualified when no table the query reads has it).
    fn moved_key(&self, column: &Expr) -> ControlFlow<String> {
        let (tables, name): (Vec<&String>, String) = match column {
            Expr::Identifier(ident) => {
                let name = ident.value.to_lowercase();
                let anywhere = self
                    .scope
                    .tables
                    .iter()
                    .any(|t| self.columns.contains_key(&(t.clone(), name.clone())));
                if anywhere || self.scope.renamed.contains(&name) {
                    return ControlFlow::Continue(());
                }
                (self.scope.tables.iter().collect(), name)
            }
            Expr::CompoundIdentifier(parts) => {
                let [qualifier, name] = parts.as_slice() else {
                    return ControlFlow::Continue(());
                };
                let Some(Some(table)) = self.scope.aliases.get(&qualifier.value.to_lowercase())
                else {
                    return ControlFlow::Continue(());
                };
                (vec![table], name.value.to_lowercase())
            }
            _ => return ControlFlow::Continue(()),
        };
        for table in tables {
            let moved = MOVED_KEYS
                .iter()
                .find(|key| key.table == table.as_str() && key.old == name);
            if let Some(MovedKey {
                table,
                old,
                owner,
                row,
            }) = moved
                && !self
                    .columns
                    .contains_key(&((*table).to_owned(), name.clone()))
            {
                return ControlFlow::Break(format!(
                    "the SQL reads {table}.{old}, which the table no longer has: it names its \
                     object by {row}, the object's row in {owner} (join {owner} ON \
                     {owner}.object_row = {table}.{row} for the object's other columns; \
                     see `entra-audit tables`)"
                ));
            }
        }
        ControlFlow::Continue(())
    }

    /// The words `column` can hold and how to name it, when it is a word column.
    fn words(&self, column: &Expr) -> Option<(String, Vec<&'static str>)> {
        match column {
            Expr::Identifier(ident) => {
                let name = ident.value.to_lowercase();
                if self.scope.renamed.contains(&name) {
                    return None;
                }
                let mut words: Vec<&'static str> = Vec::new();
                let mut found = Vec::new();
                for table in &self.scope.tables {
                    match self.columns.get(&(table.clone(), name.clone())) {
                        Some(ColumnWords::Any) => return None,
                        Some(ColumnWords::Only(list)) => {
                            words.extend(*list);
                            found.push(format!("{table}.{name}"));
                        }
                        None => {}
                    }
                }
                (!found.is_empty()).then(|| (found.join(" and "), words))
            }
            Expr::CompoundIdentifier(parts) => {
                let [qualifier, name] = parts.as_slice() else {
                    return None;
                };
                let table = self
                    .scope
                    .aliases
                    .get(&qualifier.value.to_lowercase())?
                    .as_ref()?;
                let name = name.value.to_lowercase();
                match self.columns.get(&(table.clone(), name.clone()))? {
                    ColumnWords::Only(list) => Some((format!("{table}.{name}"), list.to_vec())),
                    ColumnWords::Any => None,
                }
            }
            _ => None,
        }
    }

    fn judge(&self, column: &Expr, literal: &Expr) -> ControlFlow<String> {
        let Expr::Value(value) = literal else {
            return ControlFlow::Continue(());
        };
        let Value::SingleQuotedString(word) = &value.value else {
            return ControlFlow::Continue(());
        };
        match self.words(column) {
            Some((column, words)) if !words.contains(&word.as_str()) => {
                ControlFlow::Break(format!(
                    "the SQL compares {column} with {}, which that column never holds (its \
                     words: {}; see `entra-audit tables`), so the comparison would match nothing",
                    crate::preview::quoted(word),
                    words.join(", ")
                ))
            }
            _ => ControlFlow::Continue(()),
        }
    }
}

impl Visitor for ColumnJudge<'_> {
    type Break = String;

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<String> {
        self.moved_key(expr)?;
        match expr {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq | BinaryOperator::NotEq,
                right,
            } => {
                self.judge(left, right)?;
                self.judge(right, left)
            }
            Expr::InList { expr, list, .. } => {
                for item in list {
                    self.judge(expr, item)?;
                }
                ControlFlow::Continue(())
            }
            Expr::Case {
                operand: Some(operand),
                conditions,
                ..
            } => {
                for when in conditions {
                    self.judge(operand, &when.condition)?;
                }
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Continue(()),
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

    fn columns() -> Columns {
        const ATTRIBUTES: &[&str] = &["mail", "proxyAddresses"];
        const TYPES: &[&str] = &["contact", "user"];
        [
            ("onprem_values", "attribute", ColumnWords::Only(ATTRIBUTES)),
            ("onprem_values", "object_type", ColumnWords::Only(TYPES)),
            ("onprem_values", "value", ColumnWords::Any),
            ("onprem_values", "object_row", ColumnWords::Any),
            ("onprem_objects", "object_type", ColumnWords::Only(TYPES)),
            ("onprem_objects", "object_guid", ColumnWords::Any),
            ("onprem_objects", "object_row", ColumnWords::Any),
            // A text column of the same name as a word column elsewhere (a view's, say).
            ("a_view", "object_type", ColumnWords::Any),
        ]
        .into_iter()
        .map(|(t, c, w)| ((t.to_owned(), c.to_owned()), w))
        .collect()
    }

    #[test]
    fn a_word_a_word_column_never_holds_is_refused_naming_column_word_and_words() {
        for (sql, says) in [
            (
                "SELECT * FROM onprem_values v WHERE v.attribute = 'displayName'",
                "compares onprem_values.attribute with 'displayName', which that column never \
                 holds (its words: mail, proxyAddresses",
            ),
            (
                "SELECT * FROM onprem_values WHERE attribute IN ('mail', 'proxyaddresses')",
                "'proxyaddresses'",
            ),
            (
                "SELECT * FROM onprem_values WHERE 'sn' <> attribute",
                "'sn'",
            ),
            (
                "SELECT CASE v.attribute WHEN 'mail' THEN 1 WHEN 'givenName' THEN 2 END \
                 FROM onprem_values v",
                "'givenName'",
            ),
            (
                "SELECT * FROM onprem_objects o WHERE o.object_type = 'User'",
                "onprem_objects.object_type with 'User'",
            ),
            (
                "WITH x AS (SELECT * FROM onprem_objects o WHERE EXISTS \
                 (SELECT 1 FROM onprem_values v WHERE v.attribute = 'sn')) SELECT * FROM x",
                "'sn'",
            ),
        ] {
            let error = check_columns(sql, &columns()).unwrap_err();
            assert!(error.contains(says), "{sql}: {error}");
        }
    }

    #[test]
    fn an_object_key_the_value_and_address_tables_no_longer_have_is_refused_saying_what_to_join_on()
    {
        for sql in [
            "SELECT o.object_guid FROM onprem_values v \
             JOIN onprem_objects o ON v.object_guid = o.object_guid",
            "SELECT object_guid, value FROM onprem_values WHERE attribute = 'mail'",
        ] {
            let error = check_columns(sql, &columns()).unwrap_err();
            assert!(
                error.contains("reads onprem_values.object_guid, which the table no longer has")
                    && error.contains("join onprem_objects ON onprem_objects.object_row = onprem_values.object_row"),
                "{sql}: {error}"
            );
        }
        // onprem_links names both of its objects by row.
        let error = check_columns(
            "SELECT l.cloud_object_id FROM onprem_links l JOIN onprem_objects o \
             ON l.object_row = o.object_row",
            &columns(),
        )
        .unwrap_err();
        assert!(
            error.contains("reads onprem_links.cloud_object_id, which the table no longer has")
                && error.contains(
                    "join cloud_objects ON cloud_objects.object_row = onprem_links.cloud_object_row"
                ),
            "{error}"
        );
        // The objects' own keys, and a name the query gives, pass.
        for sql in [
            "SELECT o.object_guid FROM onprem_values v \
             JOIN onprem_objects o ON v.object_row = o.object_row",
            "SELECT x.object_guid FROM (SELECT value AS object_guid FROM onprem_values) x",
        ] {
            assert_eq!(check_columns(sql, &columns()), Ok(()), "{sql}");
        }
    }

    #[test]
    fn words_a_column_holds_and_columns_that_are_not_judged_pass() {
        for sql in [
            "SELECT * FROM onprem_values v WHERE v.attribute IN ('mail', 'proxyAddresses')",
            "SELECT * FROM onprem_values WHERE attribute = 'mail' AND value = 'anything'",
            // Text in another table the query reads: the unqualified name is not judged.
            "SELECT * FROM onprem_values, a_view WHERE object_type = 'User'",
            "SELECT * FROM a_view s WHERE s.object_type = 'User'",
            // A WITH query's or subquery's columns, and names the query gives, are not judged.
            "WITH x AS (SELECT 'sn' AS attribute FROM onprem_objects) \
             SELECT * FROM x WHERE x.attribute = 'sn'",
            "SELECT * FROM (SELECT value AS attribute FROM onprem_values) t \
             WHERE attribute = 'sn'",
            "SELECT * FROM onprem_values v JOIN onprem_objects v ON v.value = 'x' \
             WHERE v.object_type = 'user'",
        ] {
            assert_eq!(check_columns(sql, &columns()), Ok(()), "{sql}");
        }
    }
}
