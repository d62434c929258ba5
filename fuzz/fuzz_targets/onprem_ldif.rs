//! The on-prem importer on LDIF (the input follows a `version: 1` line, so the LDIF reader is the one that runs): any bytes give objects, rejected records or an error, never a
//! panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bytes = b"version: 1\n".to_vec();
    bytes.extend_from_slice(data);
    let _ = entra_audit::testing::inputs::onprem::import_bytes(bytes, std::path::Path::new("fuzz.input"));
});
