//! The TOML configs: the first byte picks the tenants file (`check --config`) or the suppressions
//! file (`--suppressions`); the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, text)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).expect("writable");
    if which % 2 == 0 {
        let _ = entra_audit::tenants::load(&path);
    } else {
        let _ = entra_audit::baseline::load_suppressions(&path);
    }
});
