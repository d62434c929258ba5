//! The tables the rules query: the ONE place where table names, columns and polars schemas are
//! declared ([`TABLES`]), and the code that fills them from on-prem objects and a cloud snapshot.
//! Each table is declared once with [`table!`]: a column's name, type, doc and the expression
//! that computes it stand together, so a declaration and its builder cannot disagree.
//!
//! Schemas are explicit and never inferred from data: every builder is checked against its
//! [`TableSpec`], so a rule sees the same columns and types whether a table holds a million rows
//! or none. Normalisation that every rule would otherwise repeat happens here, once: addresses
//! and UPNs are lower-cased for comparison (Entra compares them case-insensitively), `SMTP:`
//! (upper case) marks the primary address, `mail` joins the SMTP namespace, and the tri-state
//! `onPremisesSyncEnabled` becomes a `sync_state`. What the data *means* for sync is not decided
//! here: that is the rules' job.
//!
//! A table whose source is missing or unusable is not registered at all; [`Tables::unavailable`]
//! says why, and the rule engine turns that into "not evaluated". The tables of the snapshot's
//! users, contacts, groups and sync behaviours may wait, the snapshot held packed, until the
//! engine needs them ([`build`]); nothing else is built out of this module.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use polars::prelude::*;
use polars_arrow::array::{MutableBinaryViewArray, View};
use polars_buffer::Buffer;

use crate::audit::sync_model::SyncChoices;
use crate::inputs::onprem::{self, OnPremObject};
use crate::inputs::snapshot::CloudSnapshot;
use crate::text::lowercase;

/// Column types used by the tables (a deliberately small set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnType {
    Str,
    /// Text that is always one of a fixed list of words this program writes itself (`user`,
    /// `contact`, `group`; `upn`, `smtp`; an attribute's name), held as a polars `Enum`: one
    /// byte a row instead of a 16-byte string view. Over the ten million rows of a
    /// million-object audit's `onprem_values` and address tables that is about 0.6 GiB.
    /// It compares with text (`=`, `<>`, `IN`, `||`, `CASE`) as text does; the list is kept in
    /// byte order, so sorting, `MIN` and `MAX` give what they give on text too. A join with a
    /// text column and string functions (`LOWER`, `LIKE`) need `CAST(... AS VARCHAR)`.
    Word(&'static [&'static str]),
    Bool,
    Int,
    /// UTC, microseconds.
    Time,
}

impl ColumnType {
    pub(crate) fn dtype(self) -> DataType {
        match self {
            ColumnType::Str => DataType::String,
            ColumnType::Word(words) => word_dtype(words),
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Int => DataType::Int32,
            ColumnType::Time => DataType::Datetime(TimeUnit::Microseconds, None),
        }
    }

    /// The type as `entra-audit tables` and the docs name it; a word column's doc lists its
    /// words.
    pub(crate) fn sql_name(self) -> &'static str {
        match self {
            ColumnType::Str => "text",
            ColumnType::Word(_) => "text (enum)",
            ColumnType::Bool => "boolean",
            ColumnType::Int => "integer (32-bit)",
            ColumnType::Time => "timestamp (UTC)",
        }
    }
}

/// The polars `Enum` of a [`ColumnType::Word`] list. Polars interns the categories, so every
/// column of one list has the same type and two such columns join and compare directly.
fn word_dtype(words: &'static [&'static str]) -> DataType {
    let categories = FrozenCategories::new(words.iter().copied())
        .expect("a word list is unique (tables::tests::word_lists_are_sorted_and_unique)");
    DataType::from_frozen_categories(categories)
}

/// `user`, `contact` or `group`, as [`onprem::ObjectClass::as_str`] spells them.
pub(crate) const OBJECT_TYPES: &[&str] = &["contact", "group", "user"];
/// The namespaces of the address tables: `smtp` (mail and SMTP proxy addresses) or `upn`.
pub(crate) const ADDRESS_KINDS: &[&str] = &["smtp", "upn"];

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ColumnSpec {
    pub name: &'static str,
    pub ty: ColumnType,
    pub doc: &'static str,
    pub source: ColumnSource,
}

/// Where a column's values come from, which says when they are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnSource {
    /// Made from each row while the table is built (the `table!` expression); in a table derived
    /// from another ([`DerivedTable`]), made from its source's columns when read.
    Row,
    /// Held, counted once the whole table is built: how many rows share the row's values in
    /// these columns (text or word columns declared before it); null where one is null. See
    /// [`counted`].
    CountedOver(&'static [&'static str]),
    /// Not held: computed from another column when a query reads it (see [`ComputedColumn`]).
    ComputedWhenRead(ComputedColumn),
}

/// A column computed from `from` when a query reads it (`table!`'s `computed when read`).
pub(super) const fn computed_when_read(
    name: &'static str,
    ty: ColumnType,
    doc: &'static str,
    from: &'static str,
    by: Computation,
) -> ColumnSpec {
    ColumnSpec {
        name,
        ty,
        doc,
        source: ColumnSource::ComputedWhenRead(ComputedColumn { from, by }),
    }
}

/// The columns of a `table!` column list that are made from rows, without the counted ones
/// after them: for a table that shares the list but has no use for the counts.
pub(super) const fn row_columns(columns: &'static [ColumnSpec]) -> &'static [ColumnSpec] {
    let mut rows = 0;
    while rows < columns.len() && matches!(columns[rows].source, ColumnSource::Row) {
        rows += 1;
    }
    columns.split_at(rows).0
}

impl ColumnSpec {
    fn computed(&self) -> Option<ComputedColumn> {
        match self.source {
            ColumnSource::ComputedWhenRead(computed) => Some(computed),
            ColumnSource::Row | ColumnSource::CountedOver(_) => None,
        }
    }
}

/// A column computed from another column of its table when a query reads it, instead of being
/// held for every row. The escaped values, character lists, address types, address parts and
/// lengths of `onprem_values` and `onprem_names`, and the object tables' UPN suffixes, are read
/// by a few rules, most of them only for the handful of rows they report, or are pieces of a
/// held value; held, they were 0.7 GiB of a million-object audit's tables
/// (a text cell is a 16-byte view even when it is empty or borrows its text) and a third of the
/// time spent building them (docs/performance.md). Computed when read, they are computed on the
/// rows a query's filters leave (polars pushes a filter on other columns below them), and a
/// query that reads none never computes them. They are the same values, made by the same
/// functions, as the held columns were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ComputedColumn {
    /// The text column it is computed from: a held one, or one computed from a held one (see
    /// [`TableSpec::query`]).
    pub from: &'static str,
    pub by: Computation,
}

#[derive(Debug)]
pub(crate) struct TableSpec {
    pub name: &'static str,
    pub doc: &'static str,
    pub columns: &'static [ColumnSpec],
}

impl TableSpec {
    /// Every column a query sees, held or computed, in the declared order.
    #[cfg(test)]
    pub(crate) fn schema(&self) -> Schema {
        self.columns
            .iter()
            .map(|c| Field::new(c.name.into(), c.ty.dtype()))
            .collect()
    }

    /// The columns a built table holds (every column but the computed ones).
    pub(crate) fn held_schema(&self) -> Schema {
        self.columns
            .iter()
            .filter(|c| c.computed().is_none())
            .map(|c| Field::new(c.name.into(), c.ty.dtype()))
            .collect()
    }

    /// `frame`, built from rows, with the counted columns added: the ONE place they are made
    /// (every built table goes through [`Tables::put`], which calls this).
    fn with_counts(&self, mut frame: DataFrame) -> PolarsResult<DataFrame> {
        for column in self.columns {
            if let ColumnSource::CountedOver(key) = column.source {
                let started = std::time::Instant::now();
                let counts = counted::count_over(&frame, key, column.name)?;
                frame.with_column(counts)?;
                tracing::debug!(
                    table = self.name,
                    column = column.name,
                    rows = frame.height(),
                    elapsed = ?started.elapsed(),
                    "column counted"
                );
            }
        }
        Ok(frame)
    }

    /// The table with no rows: its held columns.
    pub(crate) fn empty(&self) -> DataFrame {
        DataFrame::empty_with_schema(&self.held_schema())
    }

    /// The table as queries read it: the held `frame` with the computed columns added, each
    /// computed only where a query reads it, on the rows its filters leave. The ONE place
    /// computed columns are attached.
    pub(crate) fn query(&self, frame: LazyFrame) -> LazyFrame {
        // The computed columns another is computed from (`onprem_values`' `address`, which its
        // parts are computed from) first, then the others: the columns of one `with_columns`
        // see only the frame before it. The others come after so that a filter on a column of
        // the first stage is run before them, as a filter on a held column is (polars pushes a
        // filter below the `with_columns` whose columns it does not read); they are then
        // computed only on the rows it keeps. Polars leaves out a computed column no query
        // reads.
        let is_source = |column: &&ColumnSpec| {
            self.columns
                .iter()
                .any(|other| other.computed().is_some_and(|c| c.from == column.name))
        };
        let (sources, others): (Vec<&ColumnSpec>, Vec<&ColumnSpec>) = self
            .columns
            .iter()
            .filter(|column| column.computed().is_some())
            .partition(is_source);
        if sources.is_empty() && others.is_empty() {
            return frame;
        }
        let mut query = frame;
        for stage in [sources, others] {
            if !stage.is_empty() {
                let columns: Vec<Expr> = stage.into_iter().filter_map(computed_expr).collect();
                query = query.with_columns(columns);
            }
        }
        // In the declared order, whatever the stages.
        query.select(self.columns.iter().map(|c| col(c.name)).collect::<Vec<_>>())
    }
}

/// The expression that computes `column` when a query reads it, if it is computed.
fn computed_expr(column: &ColumnSpec) -> Option<Expr> {
    let computed = column.computed()?;
    let name = column.name;
    let dtype = column.ty.dtype();
    let also: Vec<Expr> = computed.by.also_reads().map(col).into_iter().collect();
    // An elementwise function to polars: a filter on the other columns is run before it, and
    // a query that does not read the column does not run it.
    Some(
        col(computed.from)
            .map_many(
                move |inputs| Ok(computed.by.compute(name, inputs)?.into_column()),
                &also,
                move |_, _| Ok(Field::new(name.into(), dtype.clone())),
            )
            .alias(name),
    )
}

/// Declares a table ONCE: its name and doc, and for every column its name, type, doc and the
/// expression that computes it from one row. It expands to the table's [`TableSpec`] constant
/// (what rules, docs and the empty schemas read) and to the function that builds the frame from
/// a slice of rows. A column's declared type picks the builder its values go through, and the
/// columns are built in the order they are declared, so a table cannot be built with a column
/// missing, misnamed, out of order or of another type: that does not compile.
///
/// ```text
/// table! {
///     pub const NAME = "sql_name", "doc";
///     fn builder(&[RowType<'_>], extra: Arg) |row| {
///         "column": Str = "doc" => expression giving Option<impl AsRef<str>>,
///         "flag": Bool = "doc" => Option<bool>,   // Int: Option<i64>, Time: Option<DateTime<Utc>>
///     }
///     counted over the table {
///         "holders": Int = "doc" => ["kind", "column"],   // text or word columns declared above
///     }
///     computed when read {
///         "length": Int = "doc" => Length("column"),   // a Computation, from a held text column
///     }
/// }
/// ```
///
/// Both last blocks are optional (the `columns` form has no `computed when read`).
///
/// The columns under `counted over the table` are held, but made once the whole table is built
/// ([`ColumnSource::CountedOver`]): each counts the rows sharing the row's values in the listed
/// columns. The columns under `computed when read` come after the held ones and are not built
/// with the table: [`TableSpec::query`] adds them (see [`ComputedColumn`]).
///
/// The `columns` form declares a column list shared by several tables (the address tables): its
/// builder takes the table's spec, which must use that list.
///
/// `|row| shares text {` (where `text: Option<&SharedText>` is one of the arguments) makes the
/// string columns point into that text wherever a value lies in it, instead of copying it.
macro_rules! table {
    (
        $(#[$attr:meta])*
        $vis:vis const $spec:ident = $name:literal, $doc:literal;
        $fvis:vis fn $build:ident(&[$rowty:ty] $(, $arg:ident: $argty:ty)* $(,)?) |$row:ident| $(shares $shared:ident)? {
            $($col:literal : $ty:ident $(($words:expr))? = $cdoc:expr => $value:expr),* $(,)?
        }
        $(counted over the table {
            $($kcol:literal : $kty:ident = $kdoc:expr => [$($key:literal),+ $(,)?]),* $(,)?
        })?
        $(computed when read {
            $($ccol:literal : $cty:ident = $ccdoc:expr => $by:ident($from:literal)),* $(,)?
        })?
    ) => {
        $(#[$attr])*
        $vis const $spec: TableSpec = TableSpec {
            name: $name,
            doc: $doc,
            columns: &[
                $(table!(@row $col, $ty $(($words))?, $cdoc),)*
                $($(table!(@counted $kcol, $kty, $kdoc, [$($key),+]),)*)?
                $($($crate::audit::tables::computed_when_read($ccol, ColumnType::$cty, $ccdoc, $from, Computation::$by),)*)?
            ],
        };

        $fvis fn $build(rows: &[$rowty] $(, $arg: $argty)*) -> PolarsResult<DataFrame> {
            let mut frame = FrameBuilder::new(&$spec, rows.len());
            $( frame.share($shared); )?
            $( table!(@fill frame, $ty, rows.iter().map(|$row| $value)); )*
            frame.finish()
        }
    };
    (
        $(#[$attr:meta])*
        $vis:vis const $columns:ident: columns;
        $fvis:vis fn $build:ident(&[$rowty:ty] $(, $arg:ident: $argty:ty)* $(,)?) |$row:ident| $(shares $shared:ident)? {
            $($col:literal : $ty:ident $(($words:expr))? = $cdoc:expr => $value:expr),* $(,)?
        }
        $(counted over the table {
            $($kcol:literal : $kty:ident = $kdoc:expr => [$($key:literal),+ $(,)?]),* $(,)?
        })?
    ) => {
        $(#[$attr])*
        $vis const $columns: &[ColumnSpec] = &[
            $(table!(@row $col, $ty $(($words))?, $cdoc),)*
            $($(table!(@counted $kcol, $kty, $kdoc, [$($key),+]),)*)?
        ];

        $fvis fn $build(
            spec: &'static TableSpec,
            rows: &[$rowty] $(, $arg: $argty)*
        ) -> PolarsResult<DataFrame> {
            // The spec holds the list, or its row columns only (see [`row_columns`]).
            assert!(
                spec.columns == $columns || spec.columns == row_columns($columns),
                "table {} is built with {}, which it does not declare",
                spec.name,
                stringify!($columns)
            );
            let mut frame = FrameBuilder::new(spec, rows.len());
            $( frame.share($shared); )?
            $( table!(@fill frame, $ty, rows.iter().map(|$row| $value)); )*
            frame.finish()
        }
    };
    (@row $col:literal, $ty:ident $(($words:expr))?, $cdoc:expr) => {
        ColumnSpec {
            name: $col,
            ty: ColumnType::$ty $(($words))?,
            doc: $cdoc,
            source: $crate::audit::tables::ColumnSource::Row,
        }
    };
    (@counted $kcol:literal, $kty:ident, $kdoc:expr, [$($key:literal),+]) => {
        ColumnSpec {
            name: $kcol,
            ty: ColumnType::$kty,
            doc: $kdoc,
            source: $crate::audit::tables::ColumnSource::CountedOver(&[$($key),+]),
        }
    };
    (@fill $frame:ident, Str, $values:expr) => { $frame.str($values) };
    (@fill $frame:ident, Word, $values:expr) => { $frame.word($values)? };
    (@fill $frame:ident, Bool, $values:expr) => { $frame.bool($values) };
    (@fill $frame:ident, Int, $values:expr) => { $frame.int($values) };
    (@fill $frame:ident, Time, $values:expr) => { $frame.time($values) };
}

// The table modules come after `table!`: a macro is in scope only below its definition.
mod addresses;
mod cloud;
mod computed;
mod counted;
mod onprem_tables;

pub(crate) use addresses::{CLOUD_ADDRESSES, ONPREM_ADDRESSES};
pub(crate) use cloud::{
    CLOUD_OBJECTS, DOMAINS, ORGANIZATION, PASSWORD_SYNC, PROVISIONING_ERRORS, ROLE_MEMBERS,
    SYNC_BEHAVIOR, SYNC_FEATURES, SYNC_JOBS,
};
use computed::Computation;
pub(crate) use onprem_tables::{
    ONPREM_NAMES, ONPREM_OBJECTS, ONPREM_OUT_OF_SCOPE, ONPREM_TABLES, ONPREM_VALUES,
};

/// Text that the string columns of one chunk of a table point into instead of each holding a
/// copy: an on-prem object's GUID is in every row of its values and addresses, and a value's
/// address, parts and escaped form are mostly pieces of the value itself. Polars' string columns
/// are views (a length and a place in a shared buffer, or the value itself when it is 12 bytes
/// or shorter), so many columns and rows can point at one copy.
pub(super) struct SharedText {
    buffer: Buffer<u8>,
}

impl SharedText {
    pub(super) fn new(text: String) -> Self {
        SharedText {
            buffer: Buffer::from(text.into_bytes()),
        }
    }

    /// The text, for rows to borrow their values from (checked once, here: take it once). The
    /// check is simdutf8's, the one polars runs on string buffers: std's took 8 % of the tables
    /// phase at a million objects (a chunk's text is tens of megabytes).
    pub(super) fn as_str(&self) -> &str {
        simdutf8::basic::from_utf8(&self.buffer).expect("a SharedText is made from a String")
    }

    /// Where `value` starts in the text, when it lies inside it.
    fn offset_of(&self, value: &str) -> Option<u32> {
        offset_in(&self.buffer, value.as_bytes()).and_then(|start| u32::try_from(start).ok())
    }
}

/// Appends `value` to the text a [`SharedText`] will be made from, and says where it lies there
/// (the rows then borrow it from the shared text by that range).
pub(super) fn push_text(text: &mut String, value: &str) -> std::ops::Range<usize> {
    let start = text.len();
    text.push_str(value);
    start..text.len()
}

/// Builds a frame column by column, in the order its [`TableSpec`] declares them (only
/// [`table!`] drives it, so the order and types always agree).
struct FrameBuilder<'t> {
    spec: &'static TableSpec,
    height: usize,
    columns: Vec<Column>,
    started: std::time::Instant,
    shared: Option<&'t SharedText>,
}

impl<'t> FrameBuilder<'t> {
    fn new(spec: &'static TableSpec, height: usize) -> Self {
        FrameBuilder {
            spec,
            height,
            columns: Vec::with_capacity(spec.columns.len()),
            started: std::time::Instant::now(),
            shared: None,
        }
    }

    /// String values that lie in `text` are not copied: the columns point into it.
    fn share(&mut self, text: Option<&'t SharedText>) {
        self.shared = text;
    }

    /// The next declared column; `ty` is what [`table!`] chose from the same declaration.
    fn next_spec(&self, ty: ColumnType) -> &'static ColumnSpec {
        let spec = &self.spec.columns[self.columns.len()];
        debug_assert!(
            std::mem::discriminant(&spec.ty) == std::mem::discriminant(&ty),
            "table {} column {}",
            self.spec.name,
            spec.name
        );
        spec
    }

    /// A [`ColumnType::Word`] column. A value outside the declared list is a bug in the table's
    /// declaration, reported as an error naming the table, column and value (never a null).
    fn word<S: AsRef<str>>(
        &mut self,
        values: impl IntoIterator<Item = Option<S>>,
    ) -> PolarsResult<()> {
        let spec = self.next_spec(ColumnType::Word(&[]));
        let ColumnType::Word(words) = spec.ty else {
            unreachable!("next_spec checked the column's type")
        };
        let mut codes: Vec<u8> = Vec::with_capacity(self.height);
        let mut validity = polars_arrow::bitmap::MutableBitmap::with_capacity(self.height);
        for value in values {
            let code = match value {
                None => None,
                Some(value) => {
                    let value = value.as_ref();
                    let Some(position) = words.iter().position(|w| *w == value) else {
                        polars_bail!(ComputeError:
                            "table {} column {}: '{value}' is not one of its words ({})",
                            self.spec.name, spec.name, words.join(", "));
                    };
                    Some(u8::try_from(position).map_err(|_| {
                        polars_err!(ComputeError: "table {} column {}: more than 255 words", self.spec.name, spec.name)
                    })?)
                }
            };
            codes.push(code.unwrap_or(0));
            validity.push(code.is_some());
        }
        let physical = UInt8Chunked::from_vec_validity(spec.name.into(), codes, validity.into());
        let column = Categorical8Chunked::from_cats_and_dtype(physical, spec.ty.dtype());
        self.columns.push(column.into_series().into_column());
        Ok(())
    }

    /// A text column; one whose rows all hold one value (or none) is held as that value
    /// ([`OneValue`]).
    fn str<S: AsRef<str>>(&mut self, values: impl IntoIterator<Item = Option<S>>) {
        let spec = self.next_spec(ColumnType::Str);
        let mut one_value = OneValue::default();
        let values = values.into_iter().inspect(|value| {
            one_value.see(value.as_ref().map(AsRef::as_ref));
        });
        let column = view_str_column(spec.name, self.height, self.shared, values);
        // No row leaves it unseen: an empty column is built as any other.
        let column = match one_value.scalar() {
            Some(value) => Column::new_scalar(spec.name.into(), value, self.height),
            None => match self.same_text_as_earlier(&column) {
                Some(earlier) => earlier.with_name(spec.name.into()),
                None => column.into_series().into_column(),
            },
        };
        self.columns.push(column);
    }

    /// An earlier text column of this frame whose rows are `column`'s, view for view in the
    /// same buffers: `column` is then held as that column's arrays, not as a second copy of its
    /// views (16 bytes a row). The on-prem `cloud_upn` is `user_principal_name` in every row
    /// unless mail or a custom attribute is the UPN source.
    fn same_text_as_earlier(&self, column: &StringChunked) -> Option<Column> {
        use polars_arrow::array::Array as _;
        let [array] = column.downcast_iter().collect::<Vec<_>>()[..] else {
            return None;
        };
        self.columns
            .iter()
            .filter_map(|earlier| match earlier {
                Column::Series(series) => Some(series),
                Column::Scalar(_) => None,
            })
            .find(|earlier| {
                let Ok(text) = earlier.str() else {
                    return false;
                };
                let [other] = text.downcast_iter().collect::<Vec<_>>()[..] else {
                    return false;
                };
                same_buffers(array.data_buffers(), other.data_buffers())
                    && array.views().as_slice() == other.views().as_slice()
                    && array.validity() == other.validity()
            })
            .map(|earlier| Series::clone(earlier).into_column())
    }

    fn bool(&mut self, values: impl IntoIterator<Item = Option<bool>>) {
        let spec = self.next_spec(ColumnType::Bool);
        let series: BooleanChunked = values.into_iter().collect();
        self.columns.push(
            series
                .with_name(spec.name.into())
                .into_series()
                .into_column(),
        );
    }

    /// Integers are held in 32 bits (half the memory of 64 over the ten million lengths and
    /// counts of a million-object audit); a value beyond that range saturates, which no count
    /// or length of one directory comes near.
    fn int(&mut self, values: impl IntoIterator<Item = Option<i64>>) {
        let spec = self.next_spec(ColumnType::Int);
        let series: Int32Chunked = values.into_iter().map(|n| n.map(saturate_i32)).collect();
        self.columns.push(
            series
                .with_name(spec.name.into())
                .into_series()
                .into_column(),
        );
    }

    fn time(&mut self, values: impl IntoIterator<Item = Option<DateTime<Utc>>>) {
        let spec = self.next_spec(ColumnType::Time);
        let series: Int64Chunked = values
            .into_iter()
            .map(|t| t.map(|t| t.timestamp_micros()))
            .collect();
        self.columns.push(
            series
                .with_name(spec.name.into())
                .into_datetime(TimeUnit::Microseconds, None)
                .into_series()
                .into_column(),
        );
    }

    fn finish(self) -> PolarsResult<DataFrame> {
        let frame = DataFrame::new(self.height, self.columns)?;
        tracing::debug!(
            table = self.spec.name,
            rows = self.height,
            elapsed = ?self.started.elapsed(),
            mib = frame.estimated_size() >> 20,
            "table built"
        );
        Ok(frame)
    }
}

/// Whether two string arrays' data buffers are the same buffers (not equal copies): views that
/// are equal then say the same text.
fn same_buffers(a: &[Buffer<u8>], b: &[Buffer<u8>]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(a, b)| a.as_ptr() == b.as_ptr() && a.len() == b.len())
}

/// A string column whose values point into `shared` (when given) where they lie in it; any other
/// value longer than a view holds is copied once into buffers of the column's own, and a value
/// equal to the one copied just before it points at that copy instead of being copied again.
/// Repeats come in runs: a cloud object's id on each of its addresses, the export file on every
/// object of that file. Copied per row they were about 300 MiB of a million-object audit's tables
/// (with the attribute names, which are words since: see [`ColumnType::Word`]).
fn view_str_column<S: AsRef<str>>(
    name: &'static str,
    height: usize,
    shared: Option<&SharedText>,
    values: impl IntoIterator<Item = Option<S>>,
) -> StringChunked {
    // The views are made first and handed to polars once the column's own buffers are whole.
    let mut views: Vec<Option<View>> = Vec::with_capacity(height);
    // Buffer 0 is the shared text (empty when there is none); the column's own copies follow,
    // each under 4 GiB (a view's offset is 32 bits).
    let mut own = CopiedText::default();
    let mut last_copied: Option<View> = None;
    for value in values {
        let Some(value) = value else {
            views.push(None);
            continue;
        };
        let value = value.as_ref();
        let bytes = value.as_bytes();
        let view = match shared.and_then(|s| s.offset_of(value)) {
            Some(offset) => View::new_from_bytes(bytes, 0, offset),
            None if bytes.len() <= View::MAX_INLINE_SIZE as usize => {
                View::new_from_bytes(bytes, 0, 0)
            }
            None => match last_copied {
                Some(last)
                    if last.length as usize == bytes.len() && own.copied(last, 1) == bytes =>
                {
                    last
                }
                _ => {
                    // Buffer 0 is the shared text: the copies are numbered from 1.
                    let view = own.copy(bytes, 1);
                    last_copied = Some(view);
                    view
                }
            },
        };
        views.push(Some(view));
    }
    let shared = shared.map_or_else(Buffer::default, |s| s.buffer.clone());
    let buffers: Vec<Buffer<u8>> = std::iter::once(shared).chain(own.into_buffers()).collect();
    // The views go to polars as made above (extend_views), pointing into the buffers, instead of
    // being checked for UTF-8 again as Utf8ViewArray::try_new does: the values are pieces of
    // `&str`s, so they are UTF-8 already.
    let mut array = MutableBinaryViewArray::<str>::with_capacity(height);
    array.extend_views(views.into_iter(), &buffers);
    StringChunked::with_chunk(name.into(), array.freeze())
}

/// Where `piece` starts in `whole`, when it lies inside it (a piece of it, not a copy).
pub(super) fn offset_in(whole: &[u8], piece: &[u8]) -> Option<usize> {
    let start = (piece.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    (start + piece.len() <= whole.len()).then_some(start)
}

/// The buffers a string column being built copies the values into that it cannot point at
/// elsewhere, each under 4 GiB (a view's offset is 32 bits). The column's buffers list them
/// after those it points into, so a view names them from `first`, the number of those.
pub(super) struct CopiedText {
    buffers: Vec<Vec<u8>>,
}

impl Default for CopiedText {
    fn default() -> Self {
        CopiedText {
            buffers: vec![Vec::new()],
        }
    }
}

impl CopiedText {
    /// Copies `bytes` (longer than a view holds) and returns the view of the copy.
    pub(super) fn copy(&mut self, bytes: &[u8], first: u32) -> View {
        if self
            .buffers
            .last()
            .is_some_and(|b| b.len() + bytes.len() > u32::MAX as usize)
        {
            self.buffers.push(Vec::new());
        }
        let buffer = self.buffers.last_mut().expect("starts with one buffer");
        let offset = u32::try_from(buffer.len()).expect("kept under 4 GiB above");
        buffer.extend_from_slice(bytes);
        let index = u32::try_from(self.buffers.len() - 1).expect("a handful of buffers");
        View::new_from_bytes(bytes, first + index, offset)
    }

    /// The bytes a view [`CopiedText::copy`] made points at.
    fn copied(&self, view: View, first: u32) -> &[u8] {
        let start = view.offset as usize;
        &self.buffers[(view.buffer_idx - first) as usize][start..start + view.length as usize]
    }

    pub(super) fn into_buffers(self) -> impl Iterator<Item = Buffer<u8>> {
        self.buffers.into_iter().map(|mut buffer| {
            // Grown by doubling, a buffer ends with up to half of it unused, and polars keeps
            // the allocation as it is: 35 MiB of a million-object audit's tables. jemalloc
            // shrinks a large allocation where it lies, without a copy.
            buffer.shrink_to_fit();
            Buffer::from(buffer)
        })
    }
}

pub(super) fn saturate_i32(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX })
}

/// A count as the tables hold it (saturating; [`FrameBuilder::int`] then saturates at 32 bits).
fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A count or size of an object's [`onprem::Sizes`] as the tables hold it.
fn count_u32(n: Option<u32>) -> Option<i64> {
    n.map(i64::from)
}
table! {
    pub(crate) const PARAMS = "params", "One row: the time the audit judges against and the cut-offs derived from the thresholds. Rules CROSS JOIN it (SQL has no NOW() here, and a fixed as-of keeps runs reproducible).";
    fn params_frame(&[Params]) |p| {
        "as_of": Time = "--as-of, else the snapshot's collection time, else now" => Some(p.as_of),
        "directory_sync_cutoff": Time = "as_of minus --directory-sync-max-age" => Some(p.as_of - p.directory_sync_max_age),
        "password_sync_cutoff": Time = "as_of minus --password-sync-max-age" => Some(p.as_of - p.password_sync_max_age),
        "cloud_sync_cutoff": Time = "as_of minus --cloud-sync-max-age" => Some(p.as_of - p.cloud_sync_max_age),
    }
}

/// Every table a rule can name in `requires`.
pub(crate) const TABLES: &[&TableSpec] = &[
    &PARAMS,
    &ONPREM_OBJECTS,
    &ONPREM_ADDRESSES,
    &ONPREM_VALUES,
    &ONPREM_NAMES,
    &ONPREM_OUT_OF_SCOPE,
    &CLOUD_OBJECTS,
    &CLOUD_ADDRESSES,
    &PROVISIONING_ERRORS,
    &DOMAINS,
    &ORGANIZATION,
    &PASSWORD_SYNC,
    &SYNC_JOBS,
    &ROLE_MEMBERS,
    &SYNC_FEATURES,
    &SYNC_BEHAVIOR,
];

/// A table made from the held columns of another when a query reads it, not held itself: the
/// rows it would hold are in its source already. It is available when its source is, and
/// unavailable for the same reason (the lists of an input's tables, such as
/// [`onprem_tables::ONPREM_TABLES`], name it with its source). Rules read it like any table.
struct DerivedTable {
    spec: &'static TableSpec,
    from: &'static TableSpec,
    /// Its held columns, made from the source's held frame.
    make: fn(&LazyFrame) -> PolarsResult<LazyFrame>,
    /// How many rows it has, counted in the source's held frame.
    rows: fn(&DataFrame) -> usize,
}

impl DerivedTable {
    fn of(name: &str) -> Option<&'static DerivedTable> {
        DERIVED_TABLES
            .iter()
            .find(|derived| derived.spec.name == name)
    }
}

/// The tables made from another when read.
const DERIVED_TABLES: [DerivedTable; 1] = [DerivedTable {
    spec: &ONPREM_NAMES,
    from: &ONPREM_OBJECTS,
    make: onprem_tables::onprem_names,
    rows: onprem_tables::name_count,
}];

/// The tables that come from the cloud snapshot.
const CLOUD_TABLES: [&TableSpec; 10] = [
    &CLOUD_OBJECTS,
    &CLOUD_ADDRESSES,
    &PROVISIONING_ERRORS,
    &DOMAINS,
    &ORGANIZATION,
    &PASSWORD_SYNC,
    &SYNC_JOBS,
    &ROLE_MEMBERS,
    &SYNC_FEATURES,
    &SYNC_BEHAVIOR,
];

pub(crate) fn spec(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().copied().find(|t| t.name == name)
}

/// The time and thresholds rules judge against.
#[derive(Debug, Clone)]
pub struct Params {
    pub as_of: DateTime<Utc>,
    pub directory_sync_max_age: chrono::Duration,
    pub password_sync_max_age: chrono::Duration,
    pub cloud_sync_max_age: chrono::Duration,
}

/// The tables built for one audit, and the reason for every table that could not be built.
#[derive(Debug, Default, Clone)]
pub struct Tables {
    pub frames: BTreeMap<&'static str, DataFrame>,
    pub unavailable: BTreeMap<&'static str, String>,
    /// Tables built from part of what they declare (an errors-only snapshot): the rules engine
    /// runs a rule on them only when it reports on the rows of the table they are complete for.
    pub partial: BTreeMap<&'static str, Partial>,
    /// The on-prem object classes the exports hold at least one usable object of (before
    /// scoping); `None` when not known (no export, or tables made up for tests), so no rule is
    /// held back for it. Set by [`Tables::set_imported_onprem_classes`].
    pub onprem_classes: Option<std::collections::BTreeSet<onprem::ObjectClass>>,
    /// With both sides given, the cloud snapshot whose users, contacts, groups and sync
    /// behaviours become tables when the first rule reading one of them runs ([`build`],
    /// [`Tables::build_deferred`]).
    deferred: Option<Box<CloudSnapshot>>,
}

/// Why a table holds only part of what it declares, and which table's objects it does hold
/// all of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    pub reason: String,
    /// Every object that has a row in this table is in the partial table.
    pub complete_for: &'static str,
}

/// Why the directory tables are partial in a `collect --errors-only` snapshot.
pub const ERRORS_ONLY_REASON: &str =
    "errors-only run: only objects with provisioning errors were collected";

/// What one table holds in memory (see [`Tables::memory`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableMemory {
    pub name: &'static str,
    pub rows: usize,
    /// All of it: `views` and `text` are parts of it, the rest is fixed-width columns (numbers,
    /// words, flags) and validity.
    pub bytes: usize,
    /// The string columns' views: 16 bytes a value, null or not, however short the text.
    pub views: usize,
    /// The text buffers the views point into (a value of 12 bytes or less is in its view).
    pub text: usize,
}

impl Tables {
    /// The memory each built table holds, in the order of [`TABLES`]: its columns' buffers,
    /// with a text buffer that several columns or tables point into (an on-prem chunk's shared
    /// text, see [`SharedText`]) counted once, for the first table that points into it. For
    /// the timings log: which table the memory of an audit goes to.
    pub(crate) fn memory(&self) -> Vec<TableMemory> {
        use polars_arrow::array::{Array, Utf8ViewArray};
        let mut counted = std::collections::HashSet::new();
        TABLES
            .iter()
            .filter_map(|spec| Some((spec.name, self.frames.get(spec.name)?)))
            .map(|(name, frame)| {
                let (mut bytes, mut views, mut held_text) = (0, 0, 0);
                for column in frame.columns() {
                    // A column held as one value holds next to nothing (and asking for its
                    // rows would make them).
                    let Column::Series(column) = column else {
                        continue;
                    };
                    for array in column.chunks() {
                        let Some(text) = array.as_any().downcast_ref::<Utf8ViewArray>() else {
                            bytes +=
                                polars_arrow::compute::aggregate::estimated_bytes_size(&**array);
                            continue;
                        };
                        // A column held as an earlier one's arrays counts once.
                        if counted.insert((text.views().as_ptr() as usize, text.views().len())) {
                            views += text.views().len() * std::mem::size_of::<View>();
                        }
                        bytes += text.validity().map_or(0, |v| v.len().div_ceil(8));
                        for buffer in text.data_buffers().iter() {
                            if counted.insert((buffer.as_ptr() as usize, buffer.len())) {
                                held_text += buffer.len();
                            }
                        }
                    }
                }
                TableMemory {
                    name,
                    rows: frame.height(),
                    bytes: bytes + views + held_text,
                    views,
                    text: held_text,
                }
            })
            .collect()
    }

    /// Each table as queries read it, computed columns and all ([`TableSpec::query`]): the built
    /// tables and those made from them ([`DerivedTable`]).
    pub(crate) fn queryable(&self) -> impl Iterator<Item = (&'static str, LazyFrame)> + '_ {
        TABLES
            .iter()
            .filter_map(|spec| Some((spec.name, self.lazy(spec)?)))
    }

    /// `spec`'s table as queries read it: held, or made from the held table it is derived from;
    /// `None` when it is neither (unavailable, or released).
    pub(crate) fn lazy(&self, spec: &TableSpec) -> Option<LazyFrame> {
        if let Some(frame) = self.frames.get(spec.name) {
            return Some(spec.query(frame.clone().lazy()));
        }
        let derived = DerivedTable::of(spec.name)?;
        let source = self.frames.get(derived.from.name)?;
        // [`build`] made it once: a table it could not make is unavailable, with the error.
        let held = (derived.make)(&source.clone().lazy()).ok()?;
        Some(spec.query(held))
    }

    /// How many rows each table queries can read has, held or derived.
    pub(crate) fn rows(&self) -> impl Iterator<Item = (&'static str, usize)> + '_ {
        let held = self
            .frames
            .iter()
            .map(|(name, frame)| (*name, frame.height()));
        let derived = DERIVED_TABLES.iter().filter_map(|derived| {
            let source = self.frames.get(derived.from.name)?;
            Some((derived.spec.name, (derived.rows)(source)))
        });
        held.chain(derived)
    }

    /// Holds a built table (its counted columns added: [`TableSpec::with_counts`]), or records
    /// why it is unavailable.
    fn put(
        &mut self,
        spec: &'static TableSpec,
        frame: Result<DataFrame, String>,
    ) -> PolarsResult<()> {
        match frame {
            Ok(df) => {
                let df = spec.with_counts(df)?;
                debug_assert_eq!(
                    df.schema().as_ref(),
                    &spec.held_schema(),
                    "table {}",
                    spec.name
                );
                self.frames.insert(spec.name, df);
            }
            Err(reason) => {
                self.unavailable.insert(spec.name, reason);
            }
        }
        Ok(())
    }

    /// Records what the on-prem exports held before scoping. When they held no usable user,
    /// contact or group at all, the on-prem tables are unavailable: an export with nothing usable
    /// in it is no evidence that nothing is wrong, so the rules that need it are "not evaluated".
    pub fn set_imported_onprem_classes(
        &mut self,
        classes: std::collections::BTreeSet<onprem::ObjectClass>,
    ) {
        if classes.is_empty() {
            for spec in ONPREM_TABLES {
                self.frames.remove(spec.name);
                self.unavailable.insert(
                    spec.name,
                    "the on-prem exports hold no usable user, contact or group (see the rejected \
                     and skipped records of each file under inputs)"
                        .to_owned(),
                );
            }
        }
        self.onprem_classes = Some(classes);
    }

    /// Every declared table, empty: what the rule tests run against.
    pub fn empty() -> Tables {
        Tables {
            frames: TABLES
                .iter()
                .filter(|t| DerivedTable::of(t.name).is_none())
                .map(|t| (t.name, t.empty()))
                .collect(),
            unavailable: BTreeMap::new(),
            partial: BTreeMap::new(),
            onprem_classes: None,
            deferred: None,
        }
    }

    /// The tables a deferred cloud snapshot will be built into (none when nothing waits).
    pub(crate) fn deferred_tables(&self) -> &'static [&'static TableSpec] {
        if self.deferred.is_some() {
            &cloud::DIRECTORY_TABLES
        } else {
            &[]
        }
    }

    /// Builds the deferred cloud snapshot's tables now (nothing when none waits).
    pub(crate) fn build_deferred(&mut self) -> PolarsResult<()> {
        let Some(deferred) = self.deferred.take() else {
            return Ok(());
        };
        let mut cloud = *deferred;
        self.absorb(cloud::build_directory(&mut cloud)?);
        Ok(())
    }

    /// Takes `part`'s tables, unavailable reasons and partial marks in (tables built apart:
    /// the on-prem and cloud sides, a side's parts).
    fn absorb(&mut self, part: Tables) {
        self.frames.extend(part.frames);
        self.unavailable.extend(part.unavailable);
        self.partial.extend(part.partial);
    }
}

/// Builds every table from what was imported (`onprem` is `None` when no on-prem export was
/// given), consuming it: each chunk of objects is freed as soon as its rows are in the tables,
/// so the parsed objects and the finished tables are never all in memory at once (at a million
/// objects a side that was the audit's peak: both together).
/// `choices` are the sync model's the on-prem tables show.
///
/// With both sides given, the tables of the cloud snapshot's users, contacts, groups and sync
/// behaviours ([`cloud::DIRECTORY_TABLES`]) are not built yet: the snapshot (those objects
/// packed, about 0.6 GiB at a million) waits in the tables until the first rule reading one of
/// them runs ([`Tables::build_deferred`]). The rules that read the on-prem tables and the
/// tenant's small tables (domains, organization, ...) run first, without the directory's tables
/// (0.77 GiB at a million) beside them, and `onprem_values`, which only they read, is gone before
/// those are built (docs/performance.md).
pub fn build(
    params: &Params,
    onprem: Option<Vec<OnPremObject>>,
    choices: SyncChoices,
    cloud: Option<CloudSnapshot>,
) -> PolarsResult<Tables> {
    let mut tables = Tables::default();
    tables.put(&PARAMS, Ok(params_frame(std::slice::from_ref(params))?))?;
    let defer_directory = onprem.is_some() && cloud.is_some();
    // The on-prem and cloud tables share nothing: build them on separate cores.
    let (onprem_tables, cloud_tables) = rayon::join(
        || match onprem {
            Some(objects) => onprem_tables::build_onprem(objects, choices),
            None => Ok(unavailable(
                &ONPREM_TABLES,
                "no on-prem export given (--onprem FILE)",
            )),
        },
        || match cloud {
            Some(cloud) if defer_directory => {
                cloud::build_rest(&cloud, params).map(|rest| (rest, Some(Box::new(cloud))))
            }
            Some(cloud) => cloud::build_cloud(cloud, params).map(|all| (all, None)),
            None => Ok((
                unavailable(&CLOUD_TABLES, "no cloud snapshot given (--cloud DIR)"),
                None,
            )),
        },
    );
    let (cloud_tables, deferred) = cloud_tables?;
    tables.absorb(onprem_tables?);
    tables.absorb(cloud_tables);
    tables.deferred = deferred;
    for derived in &DERIVED_TABLES {
        if let Some(source) = tables.frames.get(derived.from.name)
            && let Err(error) = (derived.make)(&source.clone().lazy())
        {
            tables.unavailable.insert(
                derived.spec.name,
                format!("could not be made from {}: {error}", derived.from.name),
            );
        }
    }
    Ok(tables)
}

/// Appends each chunk's frames to the frames before it, in order (no copy: a frame's columns
/// gain a chunk each).
fn stack_in_order<const N: usize>(
    mut frames: [DataFrame; N],
    chunks: Vec<PolarsResult<[DataFrame; N]>>,
) -> PolarsResult<[DataFrame; N]> {
    for chunk in chunks {
        for (frame, part) in frames.iter_mut().zip(chunk?) {
            let height = frame.height() + part.height();
            let columns = std::mem::take(frame)
                .into_columns()
                .into_iter()
                .zip(part.into_columns())
                .map(|(above, below)| stack_column(above, below))
                .collect::<PolarsResult<Vec<Column>>>()?;
            *frame = DataFrame::new(height, columns)?;
        }
    }
    Ok(frames)
}

/// `below` appended to `above`. A column holding one value in both stays that value
/// ([`OneValue`]): polars' own stacking would make it a value a row.
fn stack_column(mut above: Column, below: Column) -> PolarsResult<Column> {
    if above.is_empty() {
        return Ok(below);
    }
    if let (Column::Scalar(a), Column::Scalar(b)) = (&above, &below)
        && a.scalar() == b.scalar()
    {
        return Ok(a.resize(a.len() + b.len()).into_column());
    }
    above.append_owned(below)?;
    Ok(above)
}

/// Whether the rows of a column being built all hold one value, or all none. Such a column is
/// held as that value and its length (a polars scalar column), not as a value a row: the export
/// file on every object, the anchor problem no object has, one domain's name. A text column a
/// row is 16 bytes, so each is 15 MiB of a million objects (docs/performance.md).
#[derive(Default)]
enum OneValue {
    /// No row seen yet.
    #[default]
    Unseen,
    /// Every row so far holds this (`None`: no value).
    Only(Option<String>),
    /// Two rows differ.
    Several,
}

impl OneValue {
    fn see(&mut self, value: Option<&str>) {
        match self {
            OneValue::Unseen => *self = OneValue::Only(value.map(str::to_owned)),
            OneValue::Only(only) if only.as_deref() == value => {}
            OneValue::Only(_) => *self = OneValue::Several,
            OneValue::Several => {}
        }
    }

    /// The one value every row holds (null when none holds any), if there is one.
    fn scalar(self) -> Option<Scalar> {
        match self {
            OneValue::Only(only) => Some(Scalar::new(
                DataType::String,
                only.map_or(AnyValue::Null, |value| AnyValue::StringOwned(value.into())),
            )),
            OneValue::Unseen | OneValue::Several => None,
        }
    }
}

fn unavailable(specs: &[&'static TableSpec], reason: &str) -> Tables {
    let mut tables = Tables::default();
    for spec in specs {
        tables.unavailable.insert(spec.name, reason.to_owned());
    }
    tables
}

/// `s` trimmed and lower-cased (null when nothing is left), copied only when that changes it.
fn lower(s: Option<&str>) -> Option<Cow<'_, str>> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;
    use compact_str::{CompactString, format_compact};

    /// One test row: a file every row shares, a value one chunk shares, and one none has.
    struct OneValueRow {
        file: &'static str,
        per_chunk: Option<&'static str>,
        never: Option<&'static str>,
        row: i64,
    }

    table! {
        const ONE_VALUE_TEST = "one_value_test", "Columns holding one value, for the test below.";
        fn one_value_test_frame(&[OneValueRow]) |r| {
            "file": Str = "the same in every row" => Some(r.file),
            "per_chunk": Str = "the same within a chunk, not across them (null in the last)" => r.per_chunk,
            "never": Str = "null in every row" => r.never,
            "row": Int = "the row" => Some(r.row),
        }
    }

    /// One test row: a value, the same value again, and a copy of it in text of its own.
    struct SameTextRow<'a> {
        value: Option<&'a str>,
        copy: Option<String>,
    }

    table! {
        const SAME_TEXT_TEST = "same_text_test", "Columns holding the same text, for the test below.";
        fn same_text_test_frame(&[SameTextRow<'_>], text: Option<&SharedText>) |r| shares text {
            "value": Str = "a value of the shared text" => r.value,
            "again": Str = "the same value, from the same text" => r.value,
            "copy": Str = "an equal value in text of its own" => r.copy.as_deref(),
        }
    }

    /// A text column holding an earlier column's rows in the same buffers is held as that
    /// column's arrays (its views are not made twice); one holding equal values in other text is
    /// a column of its own. Each reads its values either way, through the stacking of chunks.
    #[test]
    fn a_column_with_an_earlier_columns_rows_shares_its_arrays() {
        let chunk = |text: &str| {
            let shared = SharedText::new(text.to_owned());
            let text = shared.as_str();
            let rows: Vec<SameTextRow> = [Some(&text[0..20]), None, Some(&text[20..]), Some("x")]
                .into_iter()
                .map(|value| SameTextRow {
                    value,
                    copy: value.map(str::to_owned),
                })
                .collect();
            Ok([same_text_test_frame(&rows, Some(&shared)).expect("frame")])
        };
        let first = "a value of twenty b.and one long enough to be copied";
        let second = "another value twenty and the second chunk's long value";
        let empty = same_text_test_frame(&[], None).expect("empty frame");
        let [frame] = stack_in_order([empty], vec![chunk(first), chunk(second)]).expect("stacked");
        let text = |name: &str| {
            frame
                .column(name)
                .expect("column")
                .str()
                .expect("text")
                .clone()
        };
        let views = |name: &str| {
            text(name)
                .downcast_iter()
                .map(|a| a.views().as_ptr() as usize)
                .collect::<Vec<_>>()
        };
        assert_eq!(views("again"), views("value"), "held once");
        assert!(
            views("copy")
                .iter()
                .zip(views("value"))
                .all(|(a, b)| *a != b),
            "its own views"
        );
        let texts = |name: &str| -> Vec<Option<String>> {
            text(name).iter().map(|v| v.map(str::to_owned)).collect()
        };
        let expected: Vec<Option<String>> = [first, second]
            .iter()
            .flat_map(|t| {
                [
                    Some(t[0..20].to_owned()),
                    None,
                    Some(t[20..].to_owned()),
                    Some("x".to_owned()),
                ]
            })
            .collect();
        for name in ["value", "again", "copy"] {
            assert_eq!(texts(name), expected, "{name}");
        }
    }

    /// A text column whose rows all hold one value (or none) is held as that value, through the
    /// chunks' stacking too, and reads as a value a row: in a filter, a join and a count. One
    /// that differs between chunks is a value a row again, each row's own.
    #[test]
    fn a_column_holding_one_value_is_held_once_and_reads_as_every_row() {
        let chunk = |first: i64, per_chunk: Option<&'static str>| {
            let rows: Vec<OneValueRow> = (first..first + 3)
                .map(|row| OneValueRow {
                    file: "C:\\exports\\a file name longer than a view.ldif",
                    per_chunk,
                    never: None,
                    row,
                })
                .collect();
            Ok([one_value_test_frame(&rows).expect("frame")])
        };
        let empty = one_value_test_frame(&[]).expect("empty frame");
        let [frame] = stack_in_order(
            [empty],
            vec![
                chunk(0, Some("first chunk")),
                chunk(3, Some("first chunk")),
                chunk(6, None),
            ],
        )
        .expect("stacked");
        assert_eq!(frame.height(), 9);
        let held = |name: &str| frame.column(name).expect("column");
        assert!(
            matches!(held("file"), Column::Scalar(_)),
            "one value in every chunk"
        );
        assert!(
            matches!(held("never"), Column::Scalar(_)),
            "null in every row"
        );
        assert!(
            matches!(held("per_chunk"), Column::Series(_)),
            "the chunks differ"
        );
        let got = |sql: &str| {
            let mut context = polars::sql::SQLContext::new();
            context.register("t", frame.clone().lazy());
            context.register("other", frame.clone().lazy());
            context
                .execute(sql)
                .expect("query")
                .collect()
                .expect("rows")
        };
        let texts = |frame: &DataFrame, name: &str| -> Vec<Option<String>> {
            let column = frame
                .column(name)
                .expect("column")
                .str()
                .expect("text")
                .clone();
            column.iter().map(|v| v.map(str::to_owned)).collect()
        };
        let all = got("SELECT file, per_chunk, never FROM t ORDER BY row");
        let file = "C:\\exports\\a file name longer than a view.ldif".to_owned();
        assert_eq!(texts(&all, "file"), vec![Some(file.clone()); 9]);
        let first = Some("first chunk".to_owned());
        assert_eq!(
            texts(&all, "per_chunk"),
            [vec![first; 6], vec![None; 3]].concat()
        );
        assert_eq!(texts(&all, "never"), vec![None; 9]);
        let filtered = got("SELECT row FROM t WHERE file LIKE '%.ldif' AND per_chunk IS NULL");
        assert_eq!(filtered.height(), 3);
        let joined = got("SELECT t.row FROM t JOIN other o ON t.file = o.file WHERE o.row = 0");
        assert_eq!(joined.height(), 9);
        let counted = got("SELECT file, COUNT(*) AS n, COUNT(never) AS m FROM t GROUP BY file");
        assert_eq!(texts(&counted, "file"), vec![Some(file)]);
        let first_count = |name: &str| {
            let count = counted.column(name).expect("count");
            count
                .cast(&DataType::Int64)
                .expect("int")
                .i64()
                .expect("int")
                .get(0)
        };
        assert_eq!((first_count("n"), first_count("m")), (Some(9), Some(0)));
    }

    /// What a custom rule may do with a column held as one value reads as it does with the
    /// same column held a value a row: string functions, `LIKE`, `DISTINCT`, `ORDER BY`,
    /// `CASE`, `COALESCE`, a union with another table, a left join and a window on it.
    #[test]
    fn queries_read_a_column_held_as_one_value_as_they_read_it_a_value_a_row() {
        let rows: Vec<OneValueRow> = (0..5)
            .map(|row| OneValueRow {
                file: "C:\\exports\\a file name longer than a view.ldif",
                per_chunk: (row % 2 == 0).then_some("even"),
                never: None,
                row,
            })
            .collect();
        let held = one_value_test_frame(&rows).expect("frame");
        assert!(matches!(held.column("file").unwrap(), Column::Scalar(_)));
        assert!(matches!(held.column("never").unwrap(), Column::Scalar(_)));
        let materialised = DataFrame::new(
            held.height(),
            held.columns()
                .iter()
                .map(|c| c.as_materialized_series().clone().into_column())
                .collect(),
        )
        .unwrap();
        let run = |frame: &DataFrame, sql: &str| {
            let mut context = polars::sql::SQLContext::new();
            context.register("t", frame.clone().lazy());
            context.register("u", frame.clone().lazy());
            context.execute(sql).and_then(LazyFrame::collect)
        };
        for sql in [
            "SELECT LOWER(file) AS f, UPPER(never) AS n, LENGTH(file) AS l FROM t ORDER BY row",
            "SELECT row FROM t WHERE file LIKE '%view%' AND never IS NULL ORDER BY row",
            "SELECT DISTINCT file, never FROM t",
            "SELECT file, row FROM t ORDER BY file, row DESC",
            "SELECT CASE WHEN file = per_chunk THEN 'same' ELSE COALESCE(never, file) END AS c FROM t ORDER BY row",
            "SELECT file AS v FROM t UNION ALL SELECT per_chunk AS v FROM u",
            "SELECT t.row, u.per_chunk FROM t LEFT JOIN u ON t.never = u.file ORDER BY t.row",
            "SELECT row, COUNT(*) OVER (PARTITION BY file) AS n FROM t ORDER BY row",
            "SELECT file || '/' || CAST(row AS VARCHAR) AS p FROM t WHERE row IN (SELECT row FROM u WHERE file IS NOT NULL) ORDER BY p",
        ] {
            let from_held = run(&held, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            let from_rows = run(&materialised, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            assert!(from_held.height() > 0, "{sql}");
            assert!(
                from_held.equals_missing(&from_rows),
                "{sql}\n{from_held}\n{from_rows}"
            );
        }
    }

    #[test]
    fn a_string_column_holds_every_value_whether_shared_inline_copied_or_repeated() {
        let shared = SharedText::new("0123456789abcdef-shared-value".to_owned());
        let text = shared.as_str();
        let long = "a value longer than a view holds".to_owned();
        let values: Vec<Option<&str>> = vec![
            Some(&text[0..16]), // in the shared text, beyond a view's inline 12
            Some("short"),      // inline
            None,
            Some(&long),                              // copied
            Some("a value longer than a view holds"), // equal to the last copy: reused
            Some(&text[3..5]),                        // shared and short
            Some("another copied value, not a repeat"),
            Some(""),
        ];
        for shared in [Some(&shared), None] {
            let column = view_str_column("c", values.len(), shared, values.iter().copied());
            let got: Vec<Option<&str>> = column.iter().collect();
            assert_eq!(got, values);
            assert_eq!(column.null_count(), 1);
            // The repeat points at the first copy: only the distinct long values are copied,
            // and a value in the shared text only when there is none.
            let copied = long.len() + "another copied value, not a repeat".len();
            let shared_len = shared.map_or(16, |s| s.as_str().len());
            let array = column.downcast_iter().next().expect("one chunk");
            assert_eq!(array.total_buffer_len(), shared_len + copied);
        }
    }

    /// What a query reads of a table, held and computed columns, is what its spec declares, in
    /// that order; a computed column is computed from a held text column of its table.
    #[test]
    fn every_table_reads_as_declared_with_its_computed_columns() {
        for spec in TABLES {
            let held = spec.held_schema();
            for column in spec.columns {
                if let Some(computed) = column.computed() {
                    // From a held text column, or from a text column computed from one (the
                    // two stages of `query`).
                    let from = spec.columns.iter().find(|c| c.name == computed.from);
                    let from_held = |c: &ColumnSpec| held.get(c.name) == Some(&DataType::String);
                    assert!(
                        from.is_some_and(|from| from_held(from)
                            || (from.ty == ColumnType::Str
                                && from.computed().is_some_and(|c| held
                                    .get(c.from)
                                    .is_some_and(|t| *t == DataType::String)))),
                        "{}.{} is computed from a held text column or one computed from it",
                        spec.name,
                        column.name
                    );
                    if let Some(also) = computed.by.also_reads() {
                        assert!(
                            held.contains(also),
                            "{}.{} also reads a held column",
                            spec.name,
                            column.name
                        );
                    }
                }
                // A count is over text or word columns made from rows, declared before it.
                if let ColumnSource::CountedOver(key) = column.source {
                    assert_eq!(column.ty, ColumnType::Int, "{}.{}", spec.name, column.name);
                    let rows = row_columns(spec.columns);
                    for part in key {
                        let part = rows.iter().find(|c| c.name == *part);
                        assert!(
                            part.is_some_and(|c| matches!(
                                c.ty,
                                ColumnType::Str | ColumnType::Word(_)
                            )),
                            "{}.{} counts over text or word columns made from rows",
                            spec.name,
                            column.name
                        );
                    }
                }
            }
            let read = spec
                .query(spec.empty().lazy())
                .collect_schema()
                .expect("the computed columns plan");
            assert_eq!(read.as_ref(), &spec.schema(), "{}", spec.name);
            let built = spec
                .query(spec.empty().lazy())
                .collect()
                .expect("runs on no rows");
            assert_eq!(built.schema().as_ref(), &spec.schema(), "{}", spec.name);
        }
        assert!(
            ONPREM_VALUES.columns.iter().any(|c| c.computed().is_some()),
            "onprem_values computes its facts when read"
        );
    }

    #[test]
    fn word_lists_are_sorted_and_unique() {
        // Byte order keeps ORDER BY, MIN and MAX on a word column what they are on text.
        for table in TABLES {
            for column in table.columns {
                if let ColumnType::Word(words) = column.ty {
                    assert!(
                        words.windows(2).all(|w| w[0] < w[1]),
                        "{}.{}: {words:?}",
                        table.name,
                        column.name
                    );
                    // Polars holds up to 255 categories in a byte (what `word` builds).
                    assert!(
                        u8::try_from(words.len()).is_ok(),
                        "{}.{}",
                        table.name,
                        column.name
                    );
                }
            }
        }
        for class in [
            onprem::ObjectClass::User,
            onprem::ObjectClass::Contact,
            onprem::ObjectClass::Group,
        ] {
            assert!(OBJECT_TYPES.contains(&class.as_str()));
        }
    }

    /// A one-column table of `object_type` words, for the word column tests.
    const WORD_TABLE: TableSpec = TableSpec {
        name: "t",
        doc: "",
        columns: &[ColumnSpec {
            name: "object_type",
            ty: ColumnType::Word(OBJECT_TYPES),
            doc: "",
            source: ColumnSource::Row,
        }],
    };

    fn word_frame(values: &[Option<&str>]) -> DataFrame {
        let mut frame = FrameBuilder::new(&WORD_TABLE, values.len());
        frame
            .word(values.iter().copied())
            .expect("every value is a word");
        frame.finish().expect("one column")
    }

    #[test]
    fn a_word_column_holds_its_words_and_refuses_any_other() {
        let values = [
            Some("user"),
            None,
            Some("contact"),
            Some("group"),
            Some("user"),
        ];
        let frame = word_frame(&values);
        assert_eq!(**frame.schema(), WORD_TABLE.schema());
        let text = frame
            .column("object_type")
            .and_then(|c| c.cast(&DataType::String))
            .expect("a word column casts to text");
        let got: Vec<Option<&str>> = text.str().expect("text").iter().collect();
        assert_eq!(got, values);
        // The same list is the same polars type, wherever it is declared.
        assert_eq!(
            ColumnType::Word(OBJECT_TYPES).dtype(),
            WORD_TABLE.columns[0].ty.dtype()
        );

        let mut frame = FrameBuilder::new(&WORD_TABLE, 1);
        let error = frame
            .word([Some("servicePrincipal")])
            .expect_err("not one of the words")
            .to_string();
        assert!(
            error
                .contains("table t column object_type: 'servicePrincipal' is not one of its words"),
            "{error}"
        );
    }

    /// What docs/rules.md tells rule authors about word columns, as polars does it.
    #[test]
    fn a_word_column_reads_as_text_in_sql_except_in_a_join_with_text_and_string_functions() {
        let mut ctx = polars::sql::SQLContext::new();
        ctx.register(
            "a",
            word_frame(&[Some("user"), Some("group"), None, Some("contact")]).lazy(),
        );
        ctx.register("b", word_frame(&[Some("user"), Some("user")]).lazy());
        let text = df!("object_type" => ["user"]).expect("frame");
        ctx.register("t", text.lazy());
        let mut run = |sql: &str| -> PolarsResult<Vec<Option<String>>> {
            let frame = ctx.execute(sql)?.collect()?;
            let name = frame.get_column_names()[0].clone();
            let column = frame.column(&name)?.cast(&DataType::String)?;
            Ok(column.str()?.iter().map(|v| v.map(str::to_owned)).collect())
        };
        // What reads as on text: literals, IN, ||, ORDER BY and MAX (byte order), a join of two
        // word columns, UNION ALL with text; a word outside the list matches nothing with `=`.
        let as_text: &[(&str, &[&str])] = &[
            (
                "SELECT object_type FROM a WHERE object_type = 'user'",
                &["user"],
            ),
            (
                "SELECT object_type FROM a WHERE object_type IN ('user', 'contact')",
                &["user", "contact"],
            ),
            (
                "SELECT object_type FROM a WHERE object_type = 'servicePrincipal'",
                &[],
            ),
            (
                "SELECT 'a ' || object_type FROM a WHERE object_type <> 'user'",
                &["a group", "a contact"],
            ),
            (
                "SELECT object_type FROM a WHERE object_type IS NOT NULL ORDER BY object_type",
                &["contact", "group", "user"],
            ),
            ("SELECT MAX(object_type) FROM a", &["user"]),
            (
                "SELECT a.object_type FROM a JOIN b ON a.object_type = b.object_type",
                &["user", "user"],
            ),
            (
                "SELECT object_type FROM a WHERE object_type = 'user' UNION ALL SELECT 'x'",
                &["user", "x"],
            ),
            (
                "SELECT a.object_type FROM a JOIN t ON CAST(a.object_type AS VARCHAR) = t.object_type",
                &["user"],
            ),
        ];
        for (sql, want) in as_text {
            let want: Vec<Option<String>> = want.iter().map(|s| Some((*s).to_owned())).collect();
            assert_eq!(run(sql).expect(sql), want, "{sql}");
        }
        // What needs a CAST (or is refused): a join with text, string functions, LIKE, and an IN
        // list naming a word outside the list.
        for sql in [
            "SELECT a.object_type FROM a JOIN t ON a.object_type = t.object_type",
            "SELECT LOWER(object_type) FROM a",
            "SELECT object_type FROM a WHERE object_type LIKE 'u%'",
            "SELECT object_type FROM a WHERE object_type IN ('user', 'servicePrincipal')",
        ] {
            let refused = run(sql);
            assert!(refused.is_err(), "{sql}: {refused:?}");
        }
    }

    #[test]
    fn table_names_and_columns_are_unique() {
        let mut names: Vec<_> = TABLES.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLES.len());
        for t in TABLES {
            let mut cols: Vec<_> = t.columns.iter().map(|c| c.name).collect();
            cols.sort_unstable();
            cols.dedup();
            assert_eq!(cols.len(), t.columns.len(), "{}", t.name);
        }
    }

    /// The thresholds of a default run, as of now.
    fn params() -> Params {
        Params {
            as_of: chrono::Utc::now(),
            directory_sync_max_age: chrono::Duration::hours(3),
            password_sync_max_age: chrono::Duration::hours(24),
            cloud_sync_max_age: chrono::Duration::hours(24),
        }
    }

    #[test]
    fn an_export_with_no_usable_object_makes_the_onprem_tables_unavailable() {
        let mut tables = build(&params(), Some(Vec::new()), SyncChoices::default(), None).unwrap();
        tables.set_imported_onprem_classes(std::collections::BTreeSet::new());
        for name in ONPREM_TABLES.map(|t| t.name) {
            assert!(!tables.frames.contains_key(name), "{name}");
            assert!(
                tables.unavailable[name].contains("no usable user, contact or group"),
                "{name}: {}",
                tables.unavailable[name]
            );
        }
        assert_eq!(
            tables.onprem_classes,
            Some(std::collections::BTreeSet::new())
        );
    }

    /// Every value, name and address row names its object by that object's row in
    /// `onprem_objects`: joined on `object_row`, each value is its own object's. (Across chunks,
    /// the first row each chunk is given is `chunks_are_built_once_each_and_returned_in_order`'s.)
    /// Users `u1`..`u5` (`CN=u<n>,DC=corp,DC=local`) with the UPN and primary SMTP address
    /// `u<n>@contoso.com`, as `edit` then leaves them, built into tables queries can read.
    fn five_users(
        edit: impl Fn(u8, &mut crate::inputs::onprem::OnPremObject),
    ) -> (Tables, polars::sql::SQLContext) {
        use crate::audit::sync_model::tests::sample;
        use crate::inputs::onprem::ObjectClass;
        let objects = (1u8..=5)
            .map(|n| {
                let dn = format!("CN=u{n},DC=corp,DC=local");
                let mut object = sample(ObjectClass::User, [n; 16], &dn);
                object.user_principal_name = Some(format_compact!("u{n}@contoso.com"));
                object.proxy_addresses = vec![format_compact!("SMTP:u{n}@contoso.com")];
                edit(n, &mut object);
                object
            })
            .collect();
        let tables = build(&params(), Some(objects), SyncChoices::default(), None).unwrap();
        let ctx = polars::sql::SQLContext::new();
        for (name, frame) in tables.queryable() {
            ctx.register(name, frame);
        }
        (tables, ctx)
    }

    /// An object records only that its anchor is the custom attribute; the table names it with
    /// the attribute the sync settings name.
    #[test]
    fn the_custom_anchor_is_named_by_the_settings() {
        use crate::audit::sync_model::tests::sample;
        use crate::inputs::onprem::{AnchorAttribute, AttributeName, ObjectClass};
        let objects = [AnchorAttribute::Custom, AnchorAttribute::ObjectGuid]
            .into_iter()
            .zip(1u8..)
            .map(|(anchor, n)| {
                let mut object = sample(
                    ObjectClass::User,
                    [n; 16],
                    &format!("CN=u{n},DC=corp,DC=local"),
                );
                object.anchor_attribute = anchor;
                object
            })
            .collect();
        let employee_id = AttributeName::parse("employeeID").unwrap();
        let tables = build(
            &params(),
            Some(objects),
            SyncChoices {
                custom_anchor: Some(employee_id),
                ..SyncChoices::default()
            },
            None,
        )
        .unwrap();
        let names: Vec<Option<String>> = tables.frames["onprem_objects"]
            .column("anchor_attribute")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect();
        assert_eq!(
            names,
            [Some("employeeID".to_owned()), Some("objectGUID".to_owned())]
        );
    }

    #[test]
    fn the_value_and_address_tables_name_each_object_by_its_row() {
        let (tables, mut ctx) = five_users(|n, object| {
            object
                .proxy_addresses
                .push(format_compact!("smtp:alias{n}@contoso.com"));
            object.display_name = Some(format_compact!("u{n} display"));
            object.sam_account_name = Some(format_compact!("u{n}"));
        });
        let rows = ctx
            .execute("SELECT object_row FROM onprem_objects")
            .and_then(LazyFrame::collect)
            .unwrap();
        let rows: Vec<Option<i32>> = rows
            .column("object_row")
            .unwrap()
            .i32()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(
            rows,
            (0..5).map(Some).collect::<Vec<_>>(),
            "rows numbered in order"
        );
        // Each object's CN (`u1`..`u5`) is in every value of its own, and in no other object's.
        for (table, column) in [
            ("onprem_values", "value"),
            ("onprem_names", "value"),
            ("onprem_addresses", "raw"),
        ] {
            let sql = format!(
                "SELECT v.{column} AS value, o.distinguished_name AS dn FROM {table} v \
                 JOIN onprem_objects o ON v.object_row = o.object_row"
            );
            let joined = ctx.execute(&sql).and_then(LazyFrame::collect).unwrap();
            let held = tables.rows().find(|(name, _)| *name == table).unwrap().1;
            assert!(held >= 5, "{table}: {held} rows");
            assert_eq!(joined.height(), held, "{table}: every row joins its object");
            let values = joined.column("value").unwrap().str().unwrap();
            let dns = joined.column("dn").unwrap().str().unwrap();
            for (value, dn) in values.iter().zip(dns.iter()) {
                let (value, dn) = (value.unwrap(), dn.unwrap());
                let n = &dn[4..5];
                assert!(
                    value.contains(&format!("u{n}")) || value.contains(&format!("alias{n}")),
                    "{table}: {value} joined to {dn}"
                );
            }
        }
    }

    /// The counted columns count the built table's rows sharing a key: an address two objects
    /// hold in one namespace, an anchor two objects have; one object's UPN and its own SMTP
    /// address are two namespaces, and a missing anchor counts as nobody's.
    #[test]
    fn built_tables_count_the_holders_of_each_address_and_anchor() {
        let (_, mut ctx) = five_users(|n, object| {
            if n <= 2 {
                object
                    .proxy_addresses
                    .push("smtp:Shared@Contoso.com".into());
            }
            object.source_anchor = match n {
                3 | 4 => "c2FtZSBhbmNob3I=".into(),
                5 => CompactString::default(),
                _ => format_compact!("anchor{n}"),
            };
        });
        let mut pairs = |sql: &str| -> Vec<(String, Option<i32>)> {
            let frame = ctx.execute(sql).and_then(LazyFrame::collect).unwrap();
            let keys = frame.column("k").unwrap().str().unwrap().clone();
            let counts = frame.column("n").unwrap().i32().unwrap().clone();
            keys.iter()
                .zip(counts.iter())
                .map(|(k, n)| (k.unwrap().to_owned(), n))
                .collect()
        };
        let addresses = pairs(
            "SELECT CAST(kind AS VARCHAR) || ' ' || address AS k, holders AS n \
             FROM onprem_addresses WHERE object_row < 3 ORDER BY k",
        );
        let expected = [
            ("smtp shared@contoso.com", 2),
            ("smtp shared@contoso.com", 2),
            ("smtp u1@contoso.com", 1),
            ("smtp u2@contoso.com", 1),
            ("smtp u3@contoso.com", 1),
            ("upn u1@contoso.com", 1),
            ("upn u2@contoso.com", 1),
            ("upn u3@contoso.com", 1),
        ];
        let expected: Vec<(String, Option<i32>)> = expected
            .iter()
            .map(|(k, n)| ((*k).to_owned(), Some(*n)))
            .collect();
        assert_eq!(addresses, expected);
        let anchors = pairs(
            "SELECT distinguished_name AS k, anchor_holders AS n FROM onprem_objects ORDER BY k",
        );
        let counts: Vec<Option<i32>> = anchors.into_iter().map(|(_, n)| n).collect();
        assert_eq!(counts, [Some(1), Some(1), Some(2), Some(2), None]);
        // The two address tables share their row columns; only the on-prem one is counted.
        assert_eq!(
            row_columns(ONPREM_ADDRESSES.columns),
            CLOUD_ADDRESSES.columns
        );
        assert!(ONPREM_ADDRESSES.columns.iter().any(|c| c.name == "holders"));
    }

    #[test]
    fn the_memory_a_table_holds_counts_a_text_shared_between_tables_once() {
        let shared = SharedText::new("a value longer than twelve bytes, and another".to_owned());
        let text = shared.as_str();
        let values = [Some(&text[0..32]), Some(&text[34..]), Some(&text[2..20])];
        let copied = "a value of its own, copied";
        let frame = |extra: Option<&str>| {
            let rows = values.iter().copied().chain(extra.map(Some));
            let height = values.len() + usize::from(extra.is_some());
            let column = view_str_column("value", height, Some(&shared), rows);
            DataFrame::new_infer_height(vec![column.into_series().into()]).unwrap()
        };
        let mut tables = Tables::default();
        // Declared in this order in TABLES: the first one holds the shared text.
        tables.frames.insert(ONPREM_VALUES.name, frame(None));
        tables.frames.insert(ONPREM_NAMES.name, frame(Some(copied)));
        let view = std::mem::size_of::<View>();
        assert_eq!(
            tables.memory(),
            [
                TableMemory {
                    name: ONPREM_VALUES.name,
                    rows: 3,
                    bytes: 3 * view + text.len(),
                    views: 3 * view,
                    text: text.len(),
                },
                TableMemory {
                    name: ONPREM_NAMES.name,
                    rows: 4,
                    bytes: 4 * view + copied.len(),
                    views: 4 * view,
                    text: copied.len(),
                },
            ]
        );
    }

    #[test]
    fn every_table_has_exactly_one_source() {
        for spec in TABLES {
            let sources = usize::from(spec.name == PARAMS.name)
                + usize::from(
                    ONPREM_TABLES
                        .iter()
                        .chain([&&ONPREM_OUT_OF_SCOPE])
                        .any(|t| t.name == spec.name),
                )
                + usize::from(CLOUD_TABLES.iter().any(|c| c.name == spec.name));
            assert_eq!(sources, 1, "{}", spec.name);
        }
    }

    #[test]
    fn empty_tables_have_declared_schemas() {
        let t = Tables::empty();
        for spec in TABLES {
            let held = match DerivedTable::of(spec.name) {
                Some(derived) => (derived.make)(&t.frames[derived.from.name].clone().lazy())
                    .and_then(|mut made| made.collect_schema())
                    .unwrap(),
                None => t.frames[spec.name].schema().clone(),
            };
            assert_eq!(held.as_ref(), &spec.held_schema(), "{}", spec.name);
        }
    }

    /// `onprem_names`, made from `onprem_objects` when read, holds a row for each name each
    /// object holds (none for a name it lacks), naming the object by its row and type, and
    /// counts them as its rows; a filter reads only the rows it keeps.
    #[test]
    fn the_names_table_is_each_objects_names() {
        let (tables, mut ctx) = five_users(|n, object| {
            object.display_name = Some(format_compact!("User {n}"));
            object.sam_account_name = Some(format_compact!("u{n}"));
            object.given_name = (n % 2 == 0).then(|| format_compact!("Given{n}"));
            object.surname = (n == 5).then(|| format_compact!("Sur{n}"));
            object.mail_nickname = None;
        });
        let names = ctx
            .execute(
                "SELECT object_row, object_type, attribute, value, length FROM onprem_names \
                 ORDER BY object_row, attribute",
            )
            .and_then(LazyFrame::collect)
            .unwrap();
        let mut expected: Vec<(i32, String, String)> = Vec::new();
        for n in 1..=5i32 {
            let row = n - 1;
            expected.push((row, "displayName".into(), format!("User {n}")));
            if n % 2 == 0 {
                expected.push((row, "givenName".into(), format!("Given{n}")));
            }
            expected.push((row, "sAMAccountName".into(), format!("u{n}")));
            if n == 5 {
                expected.push((row, "sn".into(), format!("Sur{n}")));
            }
        }
        let column = |name: &str| names.column(name).unwrap().cast(&DataType::String).unwrap();
        let (rows, attributes, values) = (
            names.column("object_row").unwrap().i32().unwrap().clone(),
            column("attribute"),
            column("value"),
        );
        let got: Vec<(i32, String, String)> = (0..names.height())
            .map(|i| {
                (
                    rows.get(i).unwrap(),
                    attributes.str().unwrap().get(i).unwrap().to_owned(),
                    values.str().unwrap().get(i).unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(got, expected);
        assert!(
            column("object_type")
                .str()
                .unwrap()
                .iter()
                .all(|t| t == Some("user")),
            "every object is a user"
        );
        let lengths = names.column("length").unwrap().i32().unwrap();
        assert!(
            lengths
                .iter()
                .zip(values.str().unwrap().iter())
                .all(|(l, v)| { l.and_then(|l| usize::try_from(l).ok()) == v.map(str::len) }),
            "its computed columns are computed"
        );
        assert_eq!(
            tables.rows().find(|(name, _)| *name == "onprem_names"),
            Some(("onprem_names", expected.len()))
        );
        let one = ctx
            .execute("SELECT value FROM onprem_names WHERE attribute = 'sn'")
            .and_then(LazyFrame::collect)
            .unwrap();
        assert_eq!(one.height(), 1);
    }
}
