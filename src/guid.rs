//! A GUID's text in its canonical 8-4-4-4-12 form and its 16 bytes in the order the text shows
//! them. It owns only that text form: how a particular system lays the bytes out (AD's
//! `Guid.ToByteArray()`, see `inputs::onprem`) is that system's reader's business.

/// The 16 bytes `text` shows, when it is exactly 8-4-4-4-12 hex digits (either case).
pub(crate) fn parse(text: &str) -> Option<[u8; 16]> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 || [8, 13, 18, 23].iter().any(|&i| bytes[i] != b'-') {
        return None;
    }
    let mut guid = [0u8; 16];
    let mut digits = bytes
        .iter()
        .enumerate()
        .filter(|(i, _)| ![8, 13, 18, 23].contains(i))
        .map(|(_, &b)| b);
    for byte in &mut guid {
        let high = hex_digit(digits.next()?)?;
        let low = hex_digit(digits.next()?)?;
        *byte = high << 4 | low;
    }
    Some(guid)
}

/// `bytes` as lower-case 8-4-4-4-12 text. Two hex digits a byte from a table, not
/// `write!("{:02x}")`: this runs for every object of an export (the formatting machinery was 1 %
/// of a million-object audit).
pub(crate) fn format(bytes: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(36);
    for (position, &byte) in bytes.iter().enumerate() {
        if matches!(position, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text
}

/// The value of one hex digit, either case.
pub(crate) fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_and_bytes_round_trip_and_anything_else_is_refused() {
        let text = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        let bytes = parse(text).expect("canonical");
        assert_eq!(bytes[0], 0x0f);
        assert_eq!(bytes[15], 0xf0);
        assert_eq!(format(&bytes), text);
        assert_eq!(parse(&text.to_uppercase()), Some(bytes));
        for bad in [
            "",
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f",
            "0f1e2d3c+4b5a-6978-8796-a5b4c3d2e1f0",
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1g0",
            "{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
