//! Splitting a whole input text into lines, fast: the LDIF reader and the JSON-lines snapshot
//! reader both walk texts of a gigabyte. It knows nothing of what the lines hold.

/// How many `\n` bytes `bytes` holds: memchr's vectorised count, 0.14 s for the 1 GiB benchmark
/// export where a fold over the bytes (which the compiler vectorises only for baseline x86-64)
/// took 0.50-0.53 s. The LDIF reader counts every block and chunk, for their first line numbers.
pub(crate) fn count_newlines(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

/// The pieces of a text between its `\n`s, as `text.split('\n')` gives them (the piece after
/// the last one too, empty when the text ends with one). One vectorised search runs over the
/// whole text (`memchr_iter`); `split` started a new search for every line, and an export of a
/// million objects has forty million lines of some thirty bytes each (the search setup was 16 %
/// of the import in a profile); `str::lines` does the same over a snapshot's JSON lines.
pub(crate) struct PhysicalLines<'a> {
    text: &'a str,
    /// Where the next piece starts; `None` once the last piece was given.
    start: Option<usize>,
    newlines: memchr::Memchr<'a>,
}

impl<'a> PhysicalLines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        PhysicalLines {
            text,
            start: Some(0),
            newlines: memchr::memchr_iter(b'\n', text.as_bytes()),
        }
    }
}

impl<'a> Iterator for PhysicalLines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let start = self.start?;
        if let Some(end) = self.newlines.next() {
            self.start = Some(end + 1);
            // `\n` is ASCII: both ends are character boundaries.
            self.text.get(start..end)
        } else {
            self.start = None;
            self.text.get(start..)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_newlines_counts_every_line_feed_and_nothing_else() {
        assert_eq!(count_newlines(b""), 0);
        assert_eq!(count_newlines(b"no line feed"), 0);
        assert_eq!(count_newlines(b"a\r\nb\rc\n\n"), 3);
        // Long enough for the vectorised loop, with line feeds on and beside its block edges.
        let text: Vec<u8> = (0..10_000u32)
            .map(|i| {
                if i % 7 == 0 || i % 64 == 63 {
                    b'\n'
                } else {
                    b'x'
                }
            })
            .collect();
        // The plain count is what the vectorised one is checked against.
        #[allow(clippy::naive_bytecount)]
        let expected = text.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(count_newlines(&text), expected);
        assert_eq!(count_newlines(&text[1..9_999]), expected - 1);
    }

    #[test]
    fn physical_lines_are_the_pieces_split_gives() {
        for text in [
            "",
            "\n",
            "\n\n",
            "a",
            "a\n",
            "a\nb",
            "a\nb\n",
            "\na\n\nb",
            "é\n\u{1F600}\r\n x",
        ] {
            assert_eq!(
                PhysicalLines::new(text).collect::<Vec<_>>(),
                text.split('\n').collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }
}
