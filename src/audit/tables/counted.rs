//! Columns counted over a whole table once it is built: for each row, how many rows of the
//! table share its key (an address and its namespace, a source anchor). The uniqueness rules
//! pick the values held more than once with them; counted by a window in SQL
//! (`COUNT(*) OVER (PARTITION BY address)`), polars gathered a list of row numbers for each of
//! millions of groups: 0.5 s of `duplicate-attribute`'s 0.8 s at a million objects, and its
//! working memory the rules phase's peak (docs/performance.md). Here the rows are hashed on
//! every core, the few hashes that repeat are found ([`crate::repeats`]), and only the rows
//! holding one are counted by their exact key, so a hash collision never changes a count.
//!
//! It counts and nothing else: which counts mean a problem is the rules'.

use polars::prelude::*;
use polars_arrow::array::Array as _;
use rayon::prelude::*;
use std::hash::BuildHasher as _;

/// One key column of a table, as it is hashed and compared: text, or a word column's category
/// numbers (a word column's categories are fixed, so equal numbers are equal words).
enum KeyColumn {
    Text(StringChunked),
    Word(UInt32Chunked),
}

/// One row's value in a key column, for the exact count.
#[derive(PartialEq, Eq, Hash)]
enum KeyValue<'a> {
    Text(&'a str),
    Word(u32),
}

impl KeyColumn {
    fn new(frame: &DataFrame, name: &str) -> PolarsResult<Self> {
        let series = frame.column(name)?.as_materialized_series();
        match series.dtype() {
            DataType::String => Ok(KeyColumn::Text(series.str()?.clone())),
            DataType::Enum(..) => Ok(KeyColumn::Word(
                series
                    .to_physical_repr()
                    .cast(&DataType::UInt32)?
                    .u32()?
                    .clone(),
            )),
            other => Err(polars_err!(
                InvalidOperation: "a counted column's key {name} is {other}: only text and word columns are keys"
            )),
        }
    }

    /// Mixes this column's hash of each row into `hashes` and marks the rows where it is null
    /// as not `present` (one of each per row), a chunk on each core.
    fn mix_into(
        &self,
        state: &foldhash::fast::FixedState,
        hashes: &mut [u64],
        present: &mut [bool],
    ) {
        let combine = |h: &mut u64, value: u64| *h = h.rotate_left(26) ^ value;
        match self {
            KeyColumn::Text(c) => each_chunk(c, hashes, present, |array, part| {
                for (h, value) in part.iter_mut().zip(array.values_iter()) {
                    combine(h, state.hash_one(value));
                }
            }),
            // A word's number is one of a few: spread over the hash's bits, not hashed.
            KeyColumn::Word(c) => each_chunk(c, hashes, present, |array, part| {
                for (h, value) in part.iter_mut().zip(array.values().iter()) {
                    combine(h, u64::from(*value).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                }
            }),
        }
    }

    /// The rows of each of the column's chunks (one a table chunk).
    fn chunk_lengths(&self) -> Vec<usize> {
        match self {
            KeyColumn::Text(c) => c.chunk_lengths().collect(),
            KeyColumn::Word(c) => c.chunk_lengths().collect(),
        }
    }

    fn value(&self, row: usize) -> Option<KeyValue<'_>> {
        match self {
            KeyColumn::Text(c) => c.get(row).map(KeyValue::Text),
            KeyColumn::Word(c) => c.get(row).map(KeyValue::Word),
        }
    }
}

/// Runs `mix` on each chunk of `column` with the part of `hashes` its rows are, and marks its
/// null rows as not `present`, a chunk on each core.
fn each_chunk<T: PolarsDataType>(
    column: &ChunkedArray<T>,
    hashes: &mut [u64],
    present: &mut [bool],
    mix: impl Fn(&T::Array, &mut [u64]) + Sync,
) {
    let mut parts = Vec::with_capacity(column.chunks().len());
    let (mut hashes, mut present) = (hashes, present);
    for array in column.downcast_iter() {
        let (hash_part, hash_rest) = hashes.split_at_mut(array.len());
        let (present_part, present_rest) = present.split_at_mut(array.len());
        parts.push((array, hash_part, present_part));
        (hashes, present) = (hash_rest, present_rest);
    }
    parts.into_par_iter().for_each(|(array, hashes, present)| {
        if let Some(validity) = array.validity() {
            for (row, valid) in present.iter_mut().zip(validity.iter()) {
                *row &= valid;
            }
        }
        mix(array, hashes);
    });
}

/// For each row of `frame`, how many rows share its values in the `key` columns (text or word
/// columns); null where one of them is null (a missing value is nobody's duplicate).
pub(super) fn count_over(frame: &DataFrame, key: &[&str], name: &str) -> PolarsResult<Column> {
    let height = frame.height();
    let columns: Vec<KeyColumn> = key
        .iter()
        .map(|k| KeyColumn::new(frame, k))
        .collect::<PolarsResult<_>>()?;
    // A null row's hash mixes whatever its buffer holds; it is never read.
    let state = foldhash::fast::FixedState::with_seed(0x5eed);
    let mut hashes = vec![0u64; height];
    let mut present = vec![true; height];
    for column in &columns {
        column.mix_into(&state, &mut hashes, &mut present);
    }

    let present_hashes: Vec<u64> = hashes
        .par_iter()
        .zip(&present)
        .filter_map(|(hash, present)| present.then_some(*hash))
        .collect();
    let repeated = crate::repeats::repeated(present_hashes);

    // Only the rows holding a repeated hash are counted by their exact key.
    let candidates: Vec<usize> = (0..height)
        .into_par_iter()
        .filter(|&row| present[row] && repeated.contains(&hashes[row]))
        .collect();
    let keys: Vec<Vec<KeyValue<'_>>> = candidates
        .iter()
        .map(|&row| columns.iter().filter_map(|c| c.value(row)).collect())
        .collect();
    let mut exact: foldhash::HashMap<&[KeyValue<'_>], i32> = foldhash::HashMap::default();
    for key in &keys {
        *exact.entry(key.as_slice()).or_default() += 1;
    }
    let mut counts: Vec<Option<i32>> = present.iter().map(|&p| p.then_some(1)).collect();
    for (row, key) in candidates.iter().zip(&keys) {
        counts[*row] = Some(exact[key.as_slice()]);
    }
    let lengths = columns
        .first()
        .map_or_else(|| vec![height], KeyColumn::chunk_lengths);
    Ok(chunked_as(name, &counts, lengths).into_column())
}

/// `counts` as a column cut into chunks of `lengths` rows, the key columns' (one a table chunk). A
/// filter on a column of one chunk beside columns of many (`WHERE holders > 1`) made polars
/// first join the filtered columns' chunks into one: at a million objects a side, a copy of the
/// 3.4 million addresses' views (54 MiB, 40 ms) to keep 1,400 rows. Lengths that do not add up
/// to the counts, which a key column's always do, give one chunk.
fn chunked_as(name: &str, counts: &[Option<i32>], lengths: Vec<usize>) -> Int32Chunked {
    if lengths.iter().sum::<usize>() != counts.len() {
        return counts
            .iter()
            .copied()
            .collect::<Int32Chunked>()
            .with_name(name.into());
    }
    let mut rest = counts;
    let chunks = lengths.into_iter().map(|length| {
        let (chunk, after) = rest.split_at(length);
        rest = after;
        chunk
            .iter()
            .copied()
            .collect::<polars_arrow::array::PrimitiveArray<i32>>()
    });
    Int32Chunked::from_chunk_iter(name.into(), chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        let kinds = Series::new(
            "kind".into(),
            ["smtp", "upn", "smtp", "smtp", "upn", "smtp"],
        )
        .cast(&super::super::ColumnType::Word(super::super::ADDRESS_KINDS).dtype())
        .expect("words");
        let addresses = Series::new(
            "address".into(),
            [
                Some("a@x"),
                Some("a@x"),
                Some("a@x"),
                None,
                Some("b@x"),
                Some("b@x"),
            ],
        );
        let two_chunks = {
            let mut first = DataFrame::new(
                3,
                vec![kinds.slice(0, 3).into(), addresses.slice(0, 3).into()],
            )
            .expect("frame");
            let second = DataFrame::new(
                3,
                vec![kinds.slice(3, 3).into(), addresses.slice(3, 3).into()],
            )
            .expect("frame");
            first.vstack_mut_owned(second).expect("stack");
            first
        };
        assert_eq!(two_chunks.first_col_n_chunks(), 2);
        two_chunks
    }

    fn counts(frame: &DataFrame, key: &[&str]) -> Vec<Option<i32>> {
        let counts = count_over(frame, key, "n").expect("counts");
        counts.i32().expect("integers").iter().collect()
    }

    #[test]
    fn a_row_counts_the_rows_sharing_its_whole_key_across_chunks() {
        let frame = frame();
        // a@x is held twice as smtp (rows 0 and 2) and once as upn; b@x once in each kind.
        assert_eq!(
            counts(&frame, &["kind", "address"]),
            [Some(2), Some(1), Some(2), None, Some(1), Some(1)]
        );
        assert_eq!(
            counts(&frame, &["address"]),
            [Some(3), Some(3), Some(3), None, Some(2), Some(2)]
        );
        assert_eq!(
            counts(&frame, &["kind"]),
            [Some(4), Some(2), Some(4), Some(4), Some(2), Some(4)]
        );
    }

    /// The counts come in the frame's own chunks, so that a filter on them does not first join
    /// the filtered column's chunks into one.
    #[test]
    fn the_counts_are_chunked_as_the_frame_is() {
        let frame = frame();
        let counts = count_over(&frame, &["kind", "address"], "n").expect("counts");
        let counts = counts.as_materialized_series();
        assert_eq!(counts.chunk_lengths().collect::<Vec<_>>(), [3, 3]);
        let mut with_counts = frame.clone();
        with_counts
            .with_column(counts.clone().into_column())
            .expect("column");
        assert_eq!(with_counts.first_col_n_chunks(), 2);
        assert!(!with_counts.should_rechunk(), "every column chunked alike");
    }

    #[test]
    fn only_text_and_word_columns_are_keys() {
        let frame = df!("n" => [1i32, 2]).expect("frame");
        let error = count_over(&frame, &["n"], "c").expect_err("an integer key");
        assert!(
            error.to_string().contains("only text and word columns"),
            "{error}"
        );
        assert!(count_over(&frame, &["missing"], "c").is_err());
    }
}
