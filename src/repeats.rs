//! Which of many 64-bit hashes occur more than once, found on every core: the first step when
//! millions of keys (objectGUIDs, DNs, addresses) are nearly all unique and the few that are
//! not must be found. A repeated hash only says that keys may be equal; the caller compares the
//! keys of the few rows holding one, so a collision never decides anything.
//!
//! It finds repeated hashes and nothing else; it must not use the rest of the crate.

use rayon::prelude::*;

/// The hashes that occur more than once in `hashes`: sorted on every core, a repeat sits next
/// to its twin. (Sorting in 256 buckets by the top byte instead, each bucket in the cache, saved
/// 20 ms of 100 for 3.4 million hashes: not worth the code.)
pub(crate) fn repeated(mut hashes: Vec<u64>) -> foldhash::HashSet<u64> {
    hashes.par_sort_unstable();
    hashes
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| pair[0])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hashes_held_twice_or_more_are_repeated() {
        let top = |byte: u64, low: u64| (byte << 56) | low;
        // A pair, a triple, and unique hashes among them.
        let hashes = [
            top(0, 1),
            top(255, 7),
            top(0, 2),
            top(3, 5),
            top(0, 1),
            top(255, 7),
            top(255, 7),
            top(3, 6),
        ];
        let mut found: Vec<u64> = repeated(hashes.to_vec()).into_iter().collect();
        found.sort_unstable();
        assert_eq!(found, [top(0, 1), top(255, 7)]);
        assert!(repeated(Vec::new()).is_empty());
        assert!(repeated(vec![42]).is_empty());
    }
}
