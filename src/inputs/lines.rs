//! Splitting a whole input text into lines, fast: the LDIF reader and the JSON-lines snapshot
//! reader both walk texts of a gigabyte. It knows nothing of what the lines hold.

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
