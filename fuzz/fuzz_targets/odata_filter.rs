//! The simulated Graph's OData parsers: the input as a `$filter` expression and as a whole query
//! string.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = entra_audit::testing::simulate::filter_parses(text);
        let _ = entra_audit::testing::simulate::query_parses(text);
    }
});
