//! Building Graph URLs from values: the one place an id becomes a path segment. It uses nothing
//! else of the crate, so the outputs layer (which prints the Graph request a cleanup row would
//! send) may use it without depending on the Graph client.

/// Percent-encodes everything but RFC 3986 unreserved characters, so that an id put in a URL
/// path can never add a segment or a query (Graph ids are GUIDs, or `Template.hex` job ids: they
/// pass unchanged).
pub(crate) fn path_segment(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
