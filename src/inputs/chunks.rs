//! Consuming a large vector of objects a chunk at a time on every core, freeing each wave of
//! them as it goes ([`build_in_chunks`]), in chunks of [`CHUNK`]: how the snapshot packs its
//! users, contacts and groups and how the audit turns objects into tables, so that the objects
//! and what is made from them are never both whole in memory.
//!
//! It owns the chunk size and the order the results come back in; what is made of a chunk is
//! the caller's.

use rayon::prelude::*;

/// How many objects are held together (a chunk of the cloud snapshot's users, contacts or
/// groups) and go into the audit's tables at a time: small enough that the rows being derived
/// stay small next to the tables, large enough that a column has few chunks. At a million objects
/// a side, 65,536 took the tables 0.6 s longer (a chunk's text and rows no longer fit the
/// processor's cache). 16,384 against 32,768: the tables phase 0.35-0.45 s shorter and 140,000
/// fewer page faults, the audit's peak 16-41 MiB higher (in the first joins of a million rows,
/// against twice the chunks); when the views were all built before the first rule it was
/// 0.1-0.17 GiB higher, and 32,768 was kept. 8,192: the rules slower, the tables no faster
/// (docs/performance.md).
pub(crate) const CHUNK: usize = 1 << 14;

/// How many objects are built (or packed) at a time: a chunk for each core.
pub(crate) fn wave() -> usize {
    CHUNK * rayon::current_num_threads().max(1)
}

/// `build` applied to each chunk of [`CHUNK`] of `items` (the objects a table or a packed
/// collection is built from), on every
/// core, the results in the objects' order (the tables' row order, which the findings' order
/// follows). The chunks are built a wave at a time from the end (as many chunks as there are
/// cores), and a wave's objects are freed, on every core, and the vector shortened in place
/// before the next: the objects and the tables built from them are never all in memory at once.
/// (Cutting the vector into chunk vectors first copied every object once more: a million objects
/// a side were 0.4 GB written to fresh pages.) `build` is given the place of the chunk's first
/// item in `items` (the row number of its first object, which the tables key objects by) and
/// the chunk.
pub(crate) fn build_in_chunks<T: Send + Sync, R: Send>(
    mut items: Vec<T>,
    build: impl Fn(usize, &[T]) -> R + Sync,
) -> Vec<R> {
    let wave = wave();
    let mut from_the_end: Vec<R> = Vec::with_capacity(items.len().div_ceil(CHUNK));
    while !items.is_empty() {
        // A multiple of CHUNK, so the chunks are the same whatever the wave's size.
        let start = (items.len() - 1) / CHUNK * CHUNK;
        let start = start.saturating_sub(wave - CHUNK);
        let mut wave_built: Vec<R> = items[start..]
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(i, chunk)| build(start + i * CHUNK, chunk))
            .collect();
        wave_built.reverse();
        from_the_end.append(&mut wave_built);
        items.par_drain(start..).for_each(drop);
        items.shrink_to_fit();
    }
    from_the_end.reverse();
    from_the_end
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item is built once, in its chunk, and the chunks come back in order, whatever
    /// the count: none, less than a chunk, whole chunks, and more than a wave of them.
    #[test]
    fn chunks_are_built_once_each_and_returned_in_order() {
        let wave = wave();
        for count in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * wave + 3 * CHUNK + 7] {
            let items: Vec<usize> = (0..count).collect();
            let built = build_in_chunks(items, |first, chunk| {
                assert_eq!(
                    chunk.first(),
                    Some(&first),
                    "the first row is the chunk's place"
                );
                chunk.to_vec()
            });
            assert!(
                built.iter().all(|c| !c.is_empty() && c.len() <= CHUNK),
                "{count}"
            );
            assert!(
                built.iter().rev().skip(1).all(|c| c.len() == CHUNK),
                "{count}"
            );
            let flat: Vec<usize> = built.into_iter().flatten().collect();
            assert_eq!(flat, (0..count).collect::<Vec<_>>(), "{count}");
        }
    }
}
