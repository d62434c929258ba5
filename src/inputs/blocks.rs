//! Reading a large export a block of whole records at a time, what the LDIF reader ([`onprem`])
//! and the JSON-lines reader ([`snapshot`]) share: the next block read into a reused buffer,
//! after the start of the record the block before it cut off (each reader reads it into a second
//! buffer while it parses the first), and room for the whole file's objects estimated from the
//! first block's.
//!
//! It owns only the bytes and the estimate: where a record ends, the text's encoding and what a
//! record means are each reader's.
//!
//! [`onprem`]: crate::inputs::onprem
//! [`snapshot`]: crate::inputs::snapshot

use std::io::Read;

/// Appends up to `block` bytes of `file` to `buffer`; true when the file ended.
pub(crate) fn read_block(
    file: &mut impl Read,
    buffer: &mut Vec<u8>,
    block: usize,
) -> std::io::Result<bool> {
    // Room for the block (and, the first time, for the start of a record cut off at the end of
    // a block, which the next block is read after) is made once: grown as it was read, the
    // buffer was copied into one twice its size over and over (a quarter of a gigabyte at a
    // time, and as many fresh pages): 6 % of the import's CPU time for a 1 GiB export.
    if buffer.capacity() == 0 {
        buffer.reserve_exact(block.saturating_add(CUT_RECORD_ROOM));
    }
    buffer.reserve_exact(block);
    let read = file.by_ref().take(block as u64).read_to_end(buffer)?;
    Ok(read < block)
}

/// Makes `next` the buffer the next block is read into, after `cut_off` (the start of the record
/// the current block cut off), with room for `capacity` bytes (the current buffer's), made once:
/// grown block by block it would be moved over and over. A reader reads into it while it parses
/// the current block, and the two buffers then change places.
pub(crate) fn start_next(next: &mut Vec<u8>, capacity: usize, cut_off: &[u8]) {
    next.clear();
    next.reserve_exact(capacity);
    next.extend_from_slice(cut_off);
}

/// Room kept beside a block for the start of a record the block before it cut off (a record is
/// a few kilobytes at most; a longer one makes the buffer grow once).
const CUT_RECORD_ROOM: usize = 1 << 20;

/// Makes room in `objects` for those of a whole file of `total` bytes, estimated from the
/// `parsed` objects its first `read` bytes gave (plus a twentieth): the objects of a
/// million-object export are half a gigabyte, which grown block by block were copied over and
/// over. Only an estimate: when it cannot be had (a first block that misleads it, dense records
/// and then padding), the objects grow as they come instead of the read failing on an
/// allocation.
pub(crate) fn reserve_for_file<T>(objects: &mut Vec<T>, parsed: usize, read: usize, total: u64) {
    let expected = expected_objects(parsed, read, total);
    let _ = objects.try_reserve_exact(expected.saturating_sub(objects.len()));
}

/// How many objects a file of `total` bytes holds, estimated from the `parsed` objects its
/// first `read` bytes gave (plus a twentieth); see [`reserve_for_file`].
pub(crate) fn expected_objects(parsed: usize, read: usize, total: u64) -> usize {
    let expected = u128::from(total)
        .saturating_mul(parsed as u128)
        .saturating_mul(21)
        / (read.max(1) as u128).saturating_mul(20);
    usize::try_from(expected).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_appended_after_what_the_buffer_holds_until_the_file_ends() {
        let mut file: &[u8] = b"0123456789";
        let mut buffer = b"cut".to_vec();
        assert!(!read_block(&mut file, &mut buffer, 4).unwrap());
        assert_eq!(buffer, b"cut0123");
        assert!(!read_block(&mut file, &mut buffer, 4).unwrap());
        assert_eq!(buffer, b"cut01234567");
        assert!(read_block(&mut file, &mut buffer, 4).unwrap());
        assert_eq!(buffer, b"cut0123456789");
    }

    #[test]
    fn the_next_buffer_starts_with_the_cut_off_record_and_room_for_a_block() {
        let mut next = b"an earlier block".to_vec();
        start_next(&mut next, 64, b"dn: CN=cut");
        assert_eq!(next, b"dn: CN=cut");
        assert!(next.capacity() >= 64, "{}", next.capacity());
        let mut file: &[u8] = b",DC=x";
        assert!(read_block(&mut file, &mut next, 16).unwrap());
        assert_eq!(next, b"dn: CN=cut,DC=x");
    }

    #[test]
    fn room_is_estimated_from_the_first_block_and_never_an_error() {
        let mut objects: Vec<u8> = Vec::new();
        reserve_for_file(&mut objects, 10, 100, 1_000);
        assert!(objects.capacity() >= 105, "{}", objects.capacity());
        let mut objects: Vec<u64> = Vec::new();
        reserve_for_file(&mut objects, 1, 1, u64::MAX);
        assert_eq!(
            objects.capacity(),
            0,
            "an estimate too large to allocate is no room"
        );
        reserve_for_file(&mut objects, usize::MAX, 1, u64::MAX);
        assert_eq!(objects.capacity(), 0, "nor one too large to compute");
    }
}
