//! Text helpers the audit's stages share. It owns only the shape of a string (case folding that
//! copies only when it must); what a value means is the sync model's and the rules' business.

use std::borrow::Cow;

/// `s` lower-cased as Entra compares names and addresses (case-insensitively), borrowed when
/// that changes nothing: a million DNs and addresses are mostly lower case already. Only ASCII
/// is judged without folding: a non-ASCII character can change without being "uppercase"
/// (titlecase letters such as `ǅ`).
pub(crate) fn lowercase(s: &str) -> Cow<'_, str> {
    if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_borrows_what_is_lower_already_and_folds_the_rest() {
        assert!(matches!(lowercase("cn=ann,dc=x"), Cow::Borrowed(_)));
        assert_eq!(lowercase("CN=Ann,DC=X"), "cn=ann,dc=x");
        assert_eq!(lowercase("jürgen@X.de"), "jürgen@x.de");
        assert_eq!(lowercase("\u{1c5}"), "\u{1c6}");
    }
}
