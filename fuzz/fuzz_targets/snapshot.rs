//! The cloud snapshot reader: the input is `users.json` (or, when it starts with `#jsonl\n`,
//! `users.jsonl`) of a snapshot folder, read with a fixed manifest.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (name, body) = match data.strip_prefix(b"#jsonl\n") {
        Some(rest) => ("users.jsonl", rest),
        None => ("users.json", data),
    };
    std::fs::write(dir.path().join(name), body).expect("writable");
    let _ = entra_audit::testing::inputs::snapshot::load(dir.path());
});
