//! The columns computed from another column when a query reads them, instead of being held
//! ([`ComputedColumn`]): what each [`Computation`] makes of a value (its escaped form, its
//! UTF-16 length, the parts of an address, its address type, a UPN's suffix), the facts they
//! are made with, and the columns they make (a piece of a value points into the value's text).
//! It computes; it must not judge a value (that is the rules'), nor say when a column is
//! computed ([`TableSpec::query`](super::TableSpec::query) does).

use std::borrow::Cow;
use std::fmt::Write as _;

use polars::prelude::*;
use polars_arrow::array::{MutableBinaryViewArray, View};
use polars_buffer::Buffer;

#[cfg(doc)]
use super::ComputedColumn;
use super::onprem_tables::{is_prefixed, split_prefix};
use super::{CopiedText, count, lower, offset_in, saturate_i32};
use crate::text::lowercase;

/// How a column that is computed when read ([`ComputedColumn`]) is made from the text column it
/// names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Computation {
    /// A proxyAddresses or targetAddress value's address type, before its first `:`
    /// ([`split_prefix`]); null for the other attributes, whose values have none.
    Prefix,
    /// A proxyAddresses or targetAddress value without its address type; the other attributes'
    /// values whole. Held, this and `Prefix` were 140 MiB of views of a million-object audit's
    /// tables; computed, a piece of the value is a view into its text, never a copy.
    Unprefixed,
    /// The value escaped ([`escape_value`]).
    Shown,
    /// The value's length in UTF-16 code units ([`utf16_len`]).
    Length,
    /// How many `@` an address holds.
    AtCount,
    /// An address before its last `@`.
    LocalPart,
    /// An address after its last `@`, lower case.
    Domain,
    /// [`Computation::LocalPart`]'s length in UTF-16 code units.
    LocalLength,
    /// The length of the address after its last `@` (as written, before lower-casing).
    DomainLength,
    /// The characters that are not ASCII letters or digits ([`symbols`]).
    Symbols,
    /// A UPN's suffix, after its last `@`, trimmed and lower case; null when nothing is left
    /// ([`upn_suffix`], what the object tables' `upn_suffix` always was).
    UpnSuffix,
}

/// A text column computed from each value of `source` and its row (a [`ComputedColumn`]: the
/// row, from 0, says where to find what else the computation reads). A result that is a piece
/// of its value (an address's local part, a value with nothing to escape) points into
/// `source`'s buffers instead of being copied; only new text (an escaped value, a list of
/// characters) is copied, into a buffer of the column's own. Chunk by chunk, as `source` is.
fn computed_text_column(
    name: &'static str,
    source: &StringChunked,
    compute: impl Fn(usize, &str) -> Option<Cow<'_, str>>,
) -> StringChunked {
    let mut first_of_chunk = 0;
    let chunks = source.downcast_iter().map(|array| {
        let first = first_of_chunk;
        first_of_chunk += array.len();
        let buffers = array.data_buffers();
        let first_own = u32::try_from(buffers.len()).expect("a chunk has a handful of buffers");
        let mut own = CopiedText::default();
        let mut views: Vec<Option<View>> = Vec::with_capacity(array.len());
        // Whether every result so far is its whole value (a null for a null): then the chunk
        // is its own result, and nothing is built (an escaped value nearly always is the value).
        let mut whole = true;
        for (row, (value, parent)) in (first..).zip(array.iter().zip(array.views().iter())) {
            let Some(result) = value.and_then(|v| compute(row, v)) else {
                whole &= value.is_none();
                views.push(None);
                continue;
            };
            let value = value.expect("a result is computed from a value");
            let bytes = result.as_bytes();
            if matches!(result, Cow::Borrowed(_)) && std::ptr::eq(bytes, value.as_bytes()) {
                views.push(Some(*parent));
                continue;
            }
            whole = false;
            let view = if bytes.len() <= View::MAX_INLINE_SIZE as usize {
                View::new_from_bytes(bytes, 0, 0)
            } else if let Some(offset) = offset_in(value.as_bytes(), bytes)
                .filter(|_| parent.length > View::MAX_INLINE_SIZE)
                .and_then(|start| u32::try_from(start).ok())
                .and_then(|start| parent.offset.checked_add(start))
            {
                // Longer than a view holds, so its value is too: it lies in one of `source`'s
                // buffers, where this piece of it does too.
                View::new_from_bytes(bytes, parent.buffer_idx, offset)
            } else {
                own.copy(bytes, first_own)
            };
            views.push(Some(view));
        }
        if whole {
            return array.clone();
        }
        let all: Vec<Buffer<u8>> = buffers.iter().cloned().chain(own.into_buffers()).collect();
        // As in `view_str_column`: the views are pieces of `&str`s, so UTF-8 already.
        let mut column = MutableBinaryViewArray::<str>::with_capacity(views.len());
        column.extend_views(views.into_iter(), &all);
        column.freeze()
    });
    StringChunked::from_chunk_iter(name.into(), chunks)
}

/// An integer column computed from each value of `source` (a [`ComputedColumn`]).
fn computed_int_column(
    name: &'static str,
    source: &StringChunked,
    compute: impl Fn(&str) -> Option<i64>,
) -> Int32Chunked {
    let chunks = source.downcast_iter().map(|array| {
        array
            .iter()
            .map(|value| value.and_then(&compute).map(saturate_i32))
            .collect::<polars_arrow::array::PrimitiveArray<i32>>()
    });
    Int32Chunked::from_chunk_iter(name.into(), chunks)
}

/// For each row of `inputs`' second column (the attribute a value is of, which
/// [`Computation::also_reads`]), whether its value carries an address type prefix.
fn prefixed_rows(name: &'static str, inputs: &[Column]) -> PolarsResult<Vec<bool>> {
    let attribute = inputs
        .get(1)
        .ok_or_else(|| polars_err!(ComputeError: "{name} is computed with the attribute"))?;
    let attribute = attribute.cat8()?;
    // Which of the few attribute codes are prefixed, looked up once, not for every row.
    let mapping = attribute.get_mapping();
    let prefixed_code: Vec<bool> = (0..mapping.num_cats_upper_bound())
        .map(|code| {
            u32::try_from(code)
                .ok()
                .and_then(|code| mapping.cat_to_str(code))
                .is_some_and(is_prefixed)
        })
        .collect();
    let prefixed: Vec<bool> = attribute
        .physical()
        .iter()
        .map(|code| code.is_some_and(|c| prefixed_code.get(usize::from(c)) == Some(&true)))
        .collect();
    polars_ensure!(
        inputs.iter().all(|c| c.len() == prefixed.len()),
        ComputeError: "{name}: the value and attribute columns differ in length"
    );
    Ok(prefixed)
}

/// The part of `upn` after its last `@`, as [`lower`] gives it.
fn upn_suffix(upn: Option<&str>) -> Option<Cow<'_, str>> {
    lower(
        upn.and_then(|u| u.rsplit_once('@'))
            .map(|(_, domain)| domain),
    )
}

/// An address before and after its last `@`.
fn parts(address: &str) -> Option<(&str, &str)> {
    address.rsplit_once('@')
}

impl Computation {
    /// The held column a computation reads besides the one it is computed from: `attribute`,
    /// for the address type, which only proxyAddresses and targetAddress values have.
    pub(super) fn also_reads(self) -> Option<&'static str> {
        matches!(self, Computation::Prefix | Computation::Unprefixed).then_some("attribute")
    }

    /// The column `name` computed from `inputs`: the column it is computed from, then the
    /// one it [`also_reads`](Computation::also_reads), if any.
    pub(super) fn compute(self, name: &'static str, inputs: &[Column]) -> PolarsResult<Series> {
        let source = inputs
            .first()
            .ok_or_else(|| polars_err!(ComputeError: "{name} is computed from a column"))?
            .str()?;
        let text = |value: fn(&str) -> Option<Cow<'_, str>>| {
            Ok(computed_text_column(name, source, |_, v| value(v)).into_series())
        };
        let int = |value: fn(&str) -> Option<i64>| {
            Ok(computed_int_column(name, source, value).into_series())
        };
        match self {
            Computation::Prefix | Computation::Unprefixed => {
                let prefixed = prefixed_rows(name, inputs)?;
                let column = computed_text_column(name, source, |row, value| {
                    let (prefix, address) = if prefixed[row] {
                        split_prefix(value)
                    } else {
                        (None, value)
                    };
                    if self == Computation::Prefix {
                        prefix.map(Cow::Borrowed)
                    } else {
                        Some(Cow::Borrowed(address))
                    }
                });
                Ok(column.into_series())
            }
            Computation::Shown => text(|v| Some(escape_value(v))),
            Computation::Symbols => text(|v| symbols(v).map(Cow::Owned)),
            Computation::UpnSuffix => text(|v| upn_suffix(Some(v))),
            Computation::LocalPart => text(|v| parts(v).map(|(local, _)| Cow::Borrowed(local))),
            Computation::Domain => text(|v| parts(v).map(|(_, domain)| lowercase(domain))),
            Computation::Length => int(|v| Some(utf16_len(v))),
            Computation::AtCount => int(|v| Some(count(v.bytes().filter(|&b| b == b'@').count()))),
            Computation::LocalLength => int(|v| parts(v).map(|(local, _)| utf16_len(local))),
            Computation::DomainLength => int(|v| parts(v).map(|(_, domain)| utf16_len(domain))),
        }
    }
}

/// Length as Entra counts it. Microsoft documents limits in "characters" without saying how a
/// character is counted; .NET strings (Entra Connect, the Graph service) count UTF-16 code
/// units, so that is what is used (UNVERIFIED: it differs from code points only outside the BMP).
fn utf16_len(s: &str) -> i64 {
    // ASCII (nearly every value) is one code unit a byte: no need to decode.
    let units = if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    };
    i64::try_from(units).unwrap_or(i64::MAX)
}

/// Whether a character would be invisible or ambiguous in a message: controls, format
/// characters (zero-width space and joiners, soft hyphen, byte-order mark, bidi marks) and any
/// whitespace other than the plain space.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(c, '\u{00ad}' | '\u{034f}' | '\u{061c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{feff}' | '\u{ffa0}' | '\u{fff9}'..='\u{fffb}')
}

/// The value with hidden characters (and leading or trailing spaces) written as `\u{XXXX}`.
/// Borrowed when nothing needs escaping (nearly every value: a million objects hold millions).
pub(crate) fn escape_value(value: &str) -> Cow<'_, str> {
    let plain = !value.starts_with(' ')
        && !value.ends_with(' ')
        && (value.is_ascii() && !value.bytes().any(|b| b.is_ascii_control())
            || !value.chars().any(is_hidden));
    if plain {
        return Cow::Borrowed(value);
    }
    let leading = value.len() - value.trim_start_matches(' ').len();
    let trailing_start = value.trim_end_matches(' ').len().max(leading);
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.char_indices() {
        if is_hidden(c) || (c == ' ' && (i < leading || i >= trailing_start)) {
            let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The distinct characters of `address` that are not ASCII letters or digits, escaped.
/// Written straight into one string (nearly every address has some: `@` and `.`); the ASCII ones
/// already seen are remembered in a bit set, so an ASCII address (nearly all) allocates nothing
/// else.
fn symbols(address: &str) -> Option<String> {
    let mut seen_ascii: u128 = 0;
    let mut seen_other: Vec<char> = Vec::new();
    let mut out = String::new();
    for c in address.chars() {
        if c.is_ascii_alphanumeric() {
            continue;
        }
        if c.is_ascii() {
            let bit = 1u128 << u32::from(c);
            if seen_ascii & bit != 0 {
                continue;
            }
            seen_ascii |= bit;
        } else if seen_other.contains(&c) {
            continue;
        } else {
            seen_other.push(c);
        }
        if !out.is_empty() {
            out.push(' ');
        }
        if c == ' ' || is_hidden(c) {
            let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::tables::ColumnType;
    use crate::audit::tables::onprem_tables::ADDRESS_ATTRIBUTE_WORDS;

    #[test]
    fn values_are_escaped_so_invisible_characters_show() {
        assert_eq!(escape_value("ann@contoso.com"), "ann@contoso.com");
        assert_eq!(escape_value("o'brien @x"), "o'brien @x");
        assert_eq!(escape_value(" ann@x.com "), "\\u{0020}ann@x.com\\u{0020}");
        assert_eq!(escape_value("eve\u{200b}@x"), "eve\\u{200b}@x");
        assert_eq!(escape_value("a\tb\u{a0}c"), "a\\u{0009}b\\u{00a0}c");
        assert_eq!(escape_value("   "), "\\u{0020}\\u{0020}\\u{0020}");
        assert_eq!(escape_value("jürgen"), "jürgen");
        assert_eq!(symbols("a.b@c.d"), Some(". @".to_owned()));
        assert_eq!(symbols("ab"), None);
        // Each character once, in order of first appearance, ASCII or not, hidden ones escaped.
        assert_eq!(
            symbols("jö.r-g.é@ö x\u{200b}\u{7f}-"),
            Some("ö . - é @ \\u{0020} \\u{200b} \\u{007f}".to_owned())
        );
        assert_eq!(utf16_len("a\u{1f600}"), 3);
    }

    /// The address type and the address are split from proxyAddresses and targetAddress values
    /// only: a userPrincipalName or mail holding a `:` is kept whole, with no prefix. Over two
    /// chunks, so that each row is judged by its own attribute.
    #[test]
    fn only_proxy_and_target_addresses_have_a_prefix() {
        let rows: [(&str, &str, Option<&str>, &str); 7] = [
            (
                "proxyAddresses",
                "SMTP:Ann@Example.com",
                Some("SMTP"),
                "Ann@Example.com",
            ),
            (
                "proxyAddresses",
                "X500:/o=Contoso/ou=Exchange Administrative Group",
                Some("X500"),
                "/o=Contoso/ou=Exchange Administrative Group",
            ),
            (
                "targetAddress",
                "smtp:a@b.example",
                Some("smtp"),
                "a@b.example",
            ),
            (
                "proxyAddresses",
                "no-prefix@example.com",
                None,
                "no-prefix@example.com",
            ),
            (
                "userPrincipalName",
                "a:b@example.com",
                None,
                "a:b@example.com",
            ),
            ("mail", "SMTP:x@y.example", None, "SMTP:x@y.example"),
            (
                "proxyAddresses",
                ":empty-type@example.com",
                Some(""),
                "empty-type@example.com",
            ),
        ];
        let attribute_type = ColumnType::Word(ADDRESS_ATTRIBUTE_WORDS).dtype();
        let (mut value, mut attribute) = (Series::default(), Series::default());
        for part in [&rows[..4], &rows[4..]] {
            let values = Series::new("value".into(), part.iter().map(|r| r.1).collect::<Vec<_>>());
            let attributes = Series::new(
                "attribute".into(),
                part.iter().map(|r| r.0).collect::<Vec<_>>(),
            );
            let attributes = attributes.cast(&attribute_type).unwrap();
            if value.is_empty() {
                (value, attribute) = (values, attributes);
            } else {
                value.append(&values).unwrap();
                attribute.append(&attributes).unwrap();
            }
        }
        assert_eq!(value.chunks().len(), 2);
        let inputs = [value.into_column(), attribute.into_column()];
        let text = |by: Computation| -> Vec<Option<String>> {
            let column = by.compute("x", &inputs).unwrap();
            column
                .str()
                .unwrap()
                .iter()
                .map(|v| v.map(str::to_owned))
                .collect()
        };
        let expected_prefix: Vec<Option<String>> =
            rows.iter().map(|r| r.2.map(str::to_owned)).collect();
        let expected_address: Vec<Option<String>> =
            rows.iter().map(|r| Some(r.3.to_owned())).collect();
        assert_eq!(text(Computation::Prefix), expected_prefix);
        assert_eq!(text(Computation::Unprefixed), expected_address);
        // Without the attribute it reads, the column is refused, not guessed.
        let without = Computation::Prefix.compute("x", &inputs[..1]);
        assert!(without.is_err());
    }

    /// A computed column holds, for each value, what its function gives: over two chunks, with
    /// values longer than a view holds (their pieces point into the value's buffer), short ones
    /// (inline), new text (escaped, a character list) and nulls.
    #[test]
    fn computed_columns_are_their_functions_applied_to_each_value() {
        let values: [Option<&str>; 9] = [
            Some("SMTP:first.last.with.a.long.name@Example.COM"),
            Some(" ann\u{200b}@x.com "),
            None,
            Some("no-at-sign-here-at-all"),
            Some("a@b@c"),
            Some("jürgen.müller@ﬁrma.Straße.de"),
            Some(""),
            Some("a.very.long.local.part.indeed@"),
            Some("@a-domain-of-more-than-twelve-bytes.example"),
        ];
        let mut source = StringChunked::from_iter_options("v".into(), values[..4].iter().copied());
        source
            .append(&StringChunked::from_iter_options(
                "v".into(),
                values[4..].iter().copied(),
            ))
            .unwrap();
        assert_eq!(source.chunks().len(), 2);
        let text = |by: Computation| -> Vec<Option<String>> {
            let column = by.compute("x", &[source.clone().into_column()]).unwrap();
            assert_eq!(column.name().as_str(), "x");
            let column = column.str().unwrap();
            column.iter().map(|v| v.map(str::to_owned)).collect()
        };
        let int = |by: Computation| -> Vec<Option<i32>> {
            let column = by.compute("x", &[source.clone().into_column()]).unwrap();
            column.i32().unwrap().iter().collect()
        };
        let each = |f: &dyn Fn(&str) -> Option<String>| -> Vec<Option<String>> {
            values.iter().map(|v| v.and_then(f)).collect()
        };
        let each_int = |f: &dyn Fn(&str) -> Option<i64>| -> Vec<Option<i32>> {
            values
                .iter()
                .map(|v| v.and_then(f).map(|n| i32::try_from(n).unwrap()))
                .collect()
        };
        let local = |v: &str| parts(v).map(|(local, _)| local.to_owned());
        let domain = |v: &str| parts(v).map(|(_, domain)| lowercase(domain).into_owned());
        assert_eq!(
            text(Computation::Shown),
            each(&|v| Some(escape_value(v).into_owned()))
        );
        assert_eq!(text(Computation::Symbols), each(&symbols));
        assert_eq!(text(Computation::LocalPart), each(&local));
        assert_eq!(text(Computation::Domain), each(&domain));
        assert_eq!(
            text(Computation::UpnSuffix),
            each(&|v| upn_suffix(Some(v)).map(Cow::into_owned))
        );
        // Trimmed and lower case, as the held column was; nothing after the @ is null.
        assert_eq!(
            text(Computation::UpnSuffix)[..2],
            [Some("example.com".to_owned()), Some("x.com".to_owned())]
        );
        assert_eq!(text(Computation::UpnSuffix)[7], None);
        assert_eq!(int(Computation::Length), each_int(&|v| Some(utf16_len(v))));
        assert_eq!(
            int(Computation::AtCount),
            each_int(&|v| Some(count(v.matches('@').count())))
        );
        assert_eq!(
            int(Computation::LocalLength),
            each_int(&|v| parts(v).map(|(l, _)| utf16_len(l)))
        );
        assert_eq!(
            int(Computation::DomainLength),
            each_int(&|v| parts(v).map(|(_, d)| utf16_len(d)))
        );
        // And what those are, for the first values.
        let first = |by| text(by).into_iter().take(3).collect::<Vec<_>>();
        assert_eq!(
            first(Computation::LocalPart),
            [
                Some("SMTP:first.last.with.a.long.name".to_owned()),
                Some(" ann\u{200b}".to_owned()),
                None
            ]
        );
        assert_eq!(
            first(Computation::Domain),
            [
                Some("example.com".to_owned()),
                Some("x.com ".to_owned()),
                None
            ]
        );
        assert_eq!(
            first(Computation::Shown)[1],
            Some("\\u{0020}ann\\u{200b}@x.com\\u{0020}".to_owned())
        );
        assert_eq!(
            int(Computation::AtCount)[..5],
            [Some(1), Some(1), None, Some(0), Some(2)]
        );
    }
}
