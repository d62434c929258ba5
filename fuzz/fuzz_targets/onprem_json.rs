//! The on-prem importer on ConvertTo-Json JSON (the input follows a `[`, so the JSON reader runs): any bytes give objects, rejected records or an error, never a
//! panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bytes = b"[".to_vec();
    bytes.extend_from_slice(data);
    let _ = entra_audit::testing::inputs::onprem::import_bytes(bytes, std::path::Path::new("fuzz.input"));
});
