//! The TOML configs: the first byte picks the tenants file (`check --config`), the suppressions
//! file (`--suppressions`) or the sync settings (`--sync-config`); the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, text)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).expect("writable");
    match which % 3 {
        0 => drop(entra_audit::testing::commands::tenants::load(&path)),
        1 => drop(entra_audit::testing::audit::schedule::load_suppressions(&path)),
        _ => drop(entra_audit::testing::audit::sync_model::SyncSettings::load(&path)),
    }
});
