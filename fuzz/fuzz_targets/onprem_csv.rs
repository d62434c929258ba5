//! The on-prem importer on Export-Csv CSV (the input follows a header the CSV reader accepts): any bytes give objects, rejected records or an error, never a
//! panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bytes =
        b"DistinguishedName,ObjectGUID,ObjectClass,UserPrincipalName,proxyAddresses\n".to_vec();
    bytes.extend_from_slice(data);
    let _ = entra_audit::testing::inputs::onprem::import_bytes(bytes, std::path::Path::new("fuzz.input"));
});
