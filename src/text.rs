//! Text helpers every layer shares (a leaf: it uses nothing of the crate). It owns only the shape
//! of a string: case folding that copies only when it must, and comparing and hashing without
//! regard to case as that folding gives it (AD and Entra compare DNs, names and addresses that
//! way). What a value means is the readers', the sync model's and the rules' business.

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

/// Whether `a` and `b` are the same text once lower-cased by [`lowercase`] (the ASCII ones,
/// nearly all, compared without a copy).
pub(crate) fn same_lowercase(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        lowercase(a) == lowercase(b)
    }
}

/// A hash of `parts` as [`lowercase`] gives them, for keys compared with [`same_lowercase`]:
/// parts that lower-case alike hash alike, and an ASCII part (nearly every DN and name) is
/// hashed without a lower-case copy of it. Each part's lower-case bytes are fed in pieces of
/// [`HASH_PIECE`] from its start, whether it is ASCII or not, so that an ASCII part and a
/// non-ASCII one with the same lower-case form (`K` and the Kelvin sign) are fed alike.
pub(crate) fn lowercase_hash(state: &impl std::hash::BuildHasher, parts: &[&str]) -> u64 {
    use std::hash::Hasher as _;
    let mut hasher = state.build_hasher();
    let mut piece = [0u8; HASH_PIECE];
    for part in parts {
        let folded;
        let bytes = if part.is_ascii() {
            part.as_bytes()
        } else {
            folded = part.to_lowercase();
            folded.as_bytes()
        };
        for chunk in bytes.chunks(HASH_PIECE) {
            let piece = &mut piece[..chunk.len()];
            piece.copy_from_slice(chunk);
            piece.make_ascii_lowercase();
            hasher.write(piece);
        }
        // 0xff is never in UTF-8: the parts ("ab", "c") and ("a", "bc") are fed differently.
        hasher.write_u8(0xff);
    }
    hasher.finish()
}

/// How many bytes [`lowercase_hash`] lower-cases and feeds at a time (on the stack).
const HASH_PIECE: usize = 64;

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

    #[test]
    fn keys_that_lower_case_alike_are_the_same_and_hash_alike() {
        let state = foldhash::fast::FixedState::with_seed(7);
        let long = "CN=Some Rather Long Name,OU=Users,OU=Department Of Things,DC=contoso,DC=com";
        let pairs: [(&[&str], &[&str]); 5] = [
            (&["CN=Ann,DC=X"], &["cn=ann,dc=x"]),
            (&[long], &[&long.to_lowercase()]),
            // Non-ASCII on one side only: the Kelvin sign lower-cases to ASCII `k`.
            (&["\u{212a}\u{1c5}"], &["k\u{1c6}"]),
            (
                &["J\u{dc}RGEN", "Contoso.COM"],
                &["j\u{fc}rgen", "contoso.com"],
            ),
            (&[&"\u{c4}".repeat(40)], &[&"\u{e4}".repeat(40)]),
        ];
        for (a, b) in pairs {
            assert!(
                a.iter().zip(b).all(|(a, b)| same_lowercase(a, b)),
                "{a:?} {b:?}"
            );
            assert_eq!(
                lowercase_hash(&state, a),
                lowercase_hash(&state, b),
                "{a:?} {b:?}"
            );
        }
        assert!(!same_lowercase("ann", "anne"));
        assert!(!same_lowercase("\u{e4}", "a"));
        assert_ne!(
            lowercase_hash(&state, &["ab", "c"]),
            lowercase_hash(&state, &["a", "bc"])
        );
        assert_ne!(
            lowercase_hash(&state, &["ann"]),
            lowercase_hash(&state, &["anne"])
        );
    }
}
