//! A rule file from `--rules-dir`: header, TOML front matter, docs, and the SQL guard that checks
//! what the rule may read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(rule) = entra_audit::testing::audit::rules::parse(std::path::Path::new("fuzz.sql"), text)
    {
        let allowed = ["onprem_objects", "cloud_objects"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        let _ = entra_audit::testing::audit::rules::guard::check(&rule.sql, &allowed);
    }
});
