//! The integration tests: one test binary (as ripgrep does: `autotests = false` and this one
//! `[[test]]` target), so `cargo test` links polars, axum and reqwest once instead of once per
//! file. Each file of `tests/` is a module here; `every_test_file_is_a_module` fails when a new
//! file is not listed, so no test is silently left out.

mod common;

mod architecture;
mod cleanup;
mod cli;
mod cloud_sync;
mod collect;
mod completions;
mod hostile;
mod hostile_corpus;
mod live;
mod onprem_dialects;
mod readme;
mod report_html;
mod rule_contract;
mod rules;
mod samba_dc;
mod scheduled;
mod simulate_cli;
mod simulate_generator;
mod tenant;
mod version;

/// A file in `tests/` that is not a module above would never compile or run.
#[test]
fn every_test_file_is_a_module() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let this = std::fs::read_to_string(here.join("integration.rs")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&here).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(module) = name.strip_suffix(".rs")
            && module != "integration"
            && !this.contains(&format!("\nmod {module};\n"))
        {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "tests/ files not compiled: {missing:?}");
}
