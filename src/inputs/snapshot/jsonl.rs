//! A JSON-lines collection file (`users.jsonl`: one Graph object per line, as `collect` writes
//! them) read a block at a time: a million users are a gigabyte of text, which read whole was
//! held, with the objects parsed from it, until the last line was parsed (and faulted into fresh
//! pages first). A block of whole lines is checked to be UTF-8 and its lines parsed on every
//! core while the next block is read into a second buffer; the two buffers then change places.
//!
//! It owns the block reading and line numbering; what a record means is [`parse_record`]'s, which
//! record of an id is kept is [`FirstOfEachId`]'s, and what the collection's state is,
//! `load_collection`'s. The result is what reading the file whole gives (a test reads files in
//! blocks of a few bytes and compares).

use std::borrow::Cow;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use rayon::prelude::*;
use serde::de::DeserializeOwned;

use super::{
    FirstOfEachId, HasId, Kept, Line, Parsed, Place, SnapshotError, not_utf8, parse_record,
};
use crate::inputs::blocks::{expected_objects, read_block, start_next};
use crate::inputs::onprem::RejectedRecord;

/// How much of the file is read at a time (a line longer than this is read whole all the same):
/// small enough to stay in the processor's cache while the kernel copies it in and its lines are
/// parsed (64 MiB blocks cost 0.75 CPU-seconds and 0.4 million page faults more with the LDIF's
/// 256 MiB at a million objects a side: docs/performance.md).
pub(super) const BLOCK: usize = 8 << 20;

/// Reads the JSON-lines file at `path` in blocks of `block` bytes; also says which of
/// `properties` (written as `"name"` anywhere in the text) the file holds.
pub(super) fn read<K: Kept>(
    path: &Path,
    properties: &[&str],
    block: usize,
) -> Result<(Parsed<K>, Vec<bool>), SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    let quoted: Vec<String> = properties.iter().map(|p| format!("\"{p}\"")).collect();
    let mut found = vec![false; properties.len()];
    let mut first = FirstOfEachId::<K>::default();
    let mut rejected = Vec::new();
    let mut buffer: Vec<u8> = Vec::new();
    // The file offset of `buffer[0]`, and the lines before it.
    let mut buffer_at: u64 = 0;
    let mut lines_before = 0;
    // Windows tools like to write a UTF-8 byte-order mark; it is not JSON. Offsets in messages
    // count from after it, as for a whole file.
    let mut bom = 0;
    // Where the next block is read while `buffer`'s is parsed; the two then change places.
    let mut next: Vec<u8> = Vec::new();
    let mut at_end = read_block(&mut file, &mut buffer, block).map_err(io)?;
    loop {
        if buffer_at == 0 && buffer.starts_with(b"\xEF\xBB\xBF") {
            buffer.drain(..3);
            (buffer_at, bom) = (3, 3);
        }
        // Whole lines only; a line longer than the buffer is read on until it ends.
        let end = if at_end {
            buffer.len()
        } else if let Some(last) = memchr::memrchr(b'\n', &buffer) {
            last + 1
        } else {
            at_end = read_block(&mut file, &mut buffer, block).map_err(io)?;
            continue;
        };
        let text = simdutf8::compat::from_utf8(&buffer[..end])
            .map_err(|e| not_utf8(path, buffer_at - bom + e.valid_up_to() as u64))?;
        // The next block (after the start of the line this one cut off) is read, and this one
        // searched for the properties, while its lines are parsed: read between parses, the
        // kernel's copy left a core idle every block (docs/performance.md).
        if !at_end {
            start_next(&mut next, buffer.capacity(), &buffer[end..]);
        }
        let ((raws, results, newlines), read) = rayon::join(
            || parse_lines::<K::Object>(path, text, lines_before),
            || {
                for (found, quoted) in found.iter_mut().zip(&quoted) {
                    *found = *found
                        || memchr::memmem::find(text.as_bytes(), quoted.as_bytes()).is_some();
                }
                if at_end {
                    Ok(true)
                } else {
                    read_block(&mut file, &mut next, block)
                }
            },
        );
        if first.objects.len() == 0 && end > 0 {
            // Room for the whole file's objects at once, estimated from this block's.
            first.reserve(expected_objects(results.len(), end, total));
        }
        // The first record's text: in this block, or read again from the file.
        let first_raw = |first: &Place| -> Result<Cow<'_, str>, SnapshotError> {
            let in_block = first
                .offset
                .checked_sub(buffer_at)
                .and_then(|at| usize::try_from(at).ok());
            match in_block {
                Some(at) => Ok(Cow::Borrowed(&text[at..at + first.len])),
                None => read_again(&mut file, path, first).map(Cow::Owned),
            }
        };
        first.keep_each(results, &raws, buffer_at, first_raw, path, &mut rejected)?;
        first.objects.settle(path)?;
        lines_before += newlines;
        buffer_at += end as u64;
        if at_end {
            break;
        }
        std::mem::swap(&mut buffer, &mut next);
        at_end = read.map_err(io)?;
    }
    let parsed = Parsed {
        objects: first.objects,
        rejected,
        next_link: None,
    };
    Ok((parsed, found))
}

/// The records of `text` (whole lines; `lines_before` come before it in the file), each with
/// its line, its offset in `text` and its text, and what each parses to, parsed on every core;
/// and how many line breaks `text` holds. Blank lines are no records.
fn parse_lines<'t, T: DeserializeOwned + HasId + Send>(
    path: &Path,
    text: &'t str,
    lines_before: usize,
) -> (Vec<Line<'t>>, Vec<Result<T, RejectedRecord>>, usize) {
    // The pieces between line breaks, counted as they go by: one more than the line breaks.
    let mut pieces = 0;
    let raws: Vec<Line<'t>> = crate::inputs::lines::PhysicalLines::new(text)
        .enumerate()
        .inspect(|&(i, _)| pieces = i + 1)
        .map(|(i, l)| {
            let offset = l.as_ptr() as usize - text.as_ptr() as usize;
            (
                lines_before + i + 1,
                offset,
                l.strip_suffix('\r').unwrap_or(l),
            )
        })
        .filter(|(_, _, l)| !l.trim().is_empty())
        .collect();
    let results = raws
        .par_iter()
        .map(|&(line, _, raw)| parse_record::<T>(path, line, raw))
        .collect();
    (raws, results, pieces - 1)
}

/// The text of an earlier block's record, read again from the file: only for an id listed
/// twice, to tell a repeat from a conflict. The file is put back where it was.
fn read_again(file: &mut File, path: &Path, place: &Place) -> Result<String, SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    };
    let resume = file.stream_position().map_err(io)?;
    file.seek(SeekFrom::Start(place.offset)).map_err(io)?;
    let mut bytes = vec![0; place.len];
    file.read_exact(&mut bytes).map_err(io)?;
    file.seek(SeekFrom::Start(resume)).map_err(io)?;
    // It was UTF-8 when its block was read.
    String::from_utf8(bytes).map_err(|_| SnapshotError::Invalid {
        path: path.to_owned(),
        message: "the file changed while it was read".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::snapshot::DirectoryObject;

    /// What the reader gives for each block size: the ids kept, the rejected lines with the
    /// start of their reasons, and the properties found.
    fn read_in_blocks(path: &Path, block: usize) -> (Vec<String>, Vec<(usize, String)>, Vec<bool>) {
        let (parsed, found) =
            read::<Vec<DirectoryObject>>(path, &["onPremisesSyncEnabled", "mail"], block).unwrap();
        let ids = parsed.objects.iter().map(|o| o.id.clone()).collect();
        let rejected = parsed
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.chars().take(80).collect()))
            .collect();
        (ids, rejected, found)
    }

    /// Blocks of any size, down to a byte, give what one block gives: lines numbered across
    /// blocks, a repeat of an earlier block's record told from a conflicting one (read again
    /// from the file), a byte-order mark, CRLF, blank lines, a line longer than a block and a
    /// last line without a line break.
    #[test]
    fn blocks_of_any_size_read_as_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.jsonl");
        let long = "x".repeat(300);
        let text = [
            "\u{feff}{\"id\":\"a\",\"displayName\":\"A\"}\r".to_owned(),
            String::new(),
            "{\"id\":\"b\",\"displayName\":\"B\"}".to_owned(),
            "{\"id\":\"a\",\"displayName\":\"A\"}".to_owned(),
            format!("{{\"id\":\"c\",\"displayName\":\"{long}\"}}"),
            "not json".to_owned(),
            "{\"id\":\"a\",\"displayName\":\"other\"}".to_owned(),
            "{\"displayName\":\"no id\"}".to_owned(),
            "{\"id\":\"b\",\"displayName\":\"B\"}\r".to_owned(),
            "{\"id\":\"d\",\"onPremisesSyncEnabled\":true}".to_owned(),
        ]
        .join("\n");
        std::fs::write(&path, text).unwrap();
        let whole = read_in_blocks(&path, BLOCK);
        let (ids, rejected, found) = &whole;
        assert_eq!(ids, &["a", "b", "c", "d"]);
        let lines: Vec<usize> = rejected.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [6, 7, 8], "{rejected:?}");
        assert!(rejected[0].1.starts_with("not a valid Graph object"));
        assert!(
            rejected[1]
                .1
                .contains("listed again with different data (first on line 1,"),
            "{rejected:?}"
        );
        assert_eq!(rejected[2].1, "object has no id");
        assert_eq!(found, &[true, false]);
        for block in (1..=64).chain([100, 299, 300, 301, 4096]) {
            assert_eq!(
                read_in_blocks(&path, block),
                whole,
                "block of {block} bytes"
            );
        }
    }

    /// A byte that is not UTF-8 is named by its offset in the file (after the byte-order
    /// mark), whichever block it is in.
    #[test]
    fn a_byte_that_is_not_utf8_is_named_by_its_offset_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.jsonl");
        let mut bytes = b"\xEF\xBB\xBF{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"".to_vec();
        bytes.extend(b"\xFF\"}\n");
        std::fs::write(&path, bytes).unwrap();
        for block in [1, 5, 13, 30, BLOCK] {
            let Err(error) = read::<Vec<DirectoryObject>>(&path, &[], block) else {
                panic!("block of {block}: read as UTF-8");
            };
            assert!(
                error.to_string().contains("invalid byte at offset 29"),
                "block of {block}: {error}"
            );
        }
    }
}
