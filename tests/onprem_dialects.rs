//! AD exports as `ldapsearch` and `ldbsearch` write them, through the binary: a probably truncated
//! export is reported in every output, an export that ended with an error is refused naming the
//! file and line, and an export with no usable object leaves the on-prem rules "not evaluated".
//! (The dialects themselves are unit-tested in src/inputs/onprem/ldif.rs and, against a real domain
//! controller, in `tests/samba_dc.rs`.)

use std::fmt::Write as _;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn entra_audit() -> Command {
    Command::cargo_bin("entra-audit").unwrap()
}

/// `n` users as `ldapsearch -LLL` writes them: nothing in the file says whether the search was
/// cut at a size limit.
fn lll_export(n: u32) -> String {
    let mut text = String::new();
    for i in 0..n {
        let guid = base64_guid(u128::from(i + 1));
        let _ = write!(
            text,
            "dn: CN=User {i},OU=Staff,DC=corp,DC=contoso,DC=com\nobjectClass: top\nobjectClass: user\n\
             objectGUID:: {guid}\nuserPrincipalName: user{i}@contoso.com\nproxyAddresses: SMTP:user{i}@contoso.com\n\n"
        );
    }
    text
}

/// The objectGUID whose bytes are `number`, little-endian, as LDIF writes it (`objectGUID::`).
fn base64_guid(number: u128) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(number.to_le_bytes())
}

fn findings(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap()
}

#[test]
fn exactly_1000_entries_without_paging_is_probably_truncated_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("ad.ldif");
    std::fs::write(&export, lll_export(1_000)).unwrap();
    let out = dir.path().join("out");
    let run = entra_audit()
        .arg("check")
        .arg("--onprem")
        .arg(&export)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(2),
        "a probably partial export is not taken as whole: {stdout}"
    );
    assert!(
        stdout.contains("warning: ")
            && stdout.contains("ad.ldif: probably truncated: exactly 1000 entries"),
        "terminal: {stdout}"
    );
    let report = findings(&out);
    let warnings = &report["inputs"]["onprem"][0]["warnings"];
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .starts_with("probably truncated: exactly 1000 entries"),
        "findings.json: {warnings}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("probably truncated: exactly 1000 entries"),
        "report.html"
    );
    assert!(
        html.contains("on-prem export(s) probably incomplete"),
        "report.html verdict"
    );

    // Unless the admin knows better.
    let run = entra_audit()
        .arg("check")
        .arg("--allow-partial")
        .arg("--onprem")
        .arg(&export)
        .arg("--out")
        .arg(dir.path().join("out-allowed"))
        .output()
        .unwrap();
    assert_ne!(run.status.code(), Some(2), "{run:?}");

    // The same export with the paging comment `ldapsearch -LLL -E pr=1000/noprompt` writes
    // between pages is not in doubt.
    let paged = lll_export(1_000).replacen("\n\n", "\n\n# pagedresults: cookie=\n\n", 1);
    std::fs::write(&export, paged).unwrap();
    let out = dir.path().join("out-paged");
    let run = entra_audit()
        .arg("check")
        .arg("--onprem")
        .arg(&export)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_ne!(run.status.code(), Some(2), "{run:?}");
    assert!(
        findings(&out)["inputs"]["onprem"][0]
            .get("warnings")
            .is_none()
    );
}

#[test]
fn a_search_that_ended_with_an_error_is_refused_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("cut.ldif");
    let text = format!(
        "# extended LDIF\n#\n\n{}# search result\nsearch: 2\nresult: 4 Size limit exceeded\n\n# numEntries: 3\n",
        lll_export(3)
    );
    std::fs::write(&export, text).unwrap();
    let out = dir.path().join("out");
    let run = entra_audit()
        .arg("check")
        .arg("--onprem")
        .arg(&export)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("cut.ldif: line 27: the search that wrote this export ended with `result: 4 Size limit exceeded`"),
        "{stderr}"
    );
    assert!(
        !out.join("findings.json").exists(),
        "no output that looks complete"
    );
}

#[test]
fn an_export_with_no_usable_object_leaves_the_onprem_rules_not_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("computers.ldif");
    // Only a computer and an OU: nothing sync reads.
    std::fs::write(
        &export,
        "dn: CN=PC1,DC=x\nobjectClass: user\nobjectClass: computer\nobjectGUID:: 9GKvUj3b0EaQe1k0JKcm0w==\n\n\
         dn: OU=Staff,DC=x\nobjectClass: organizationalUnit\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    entra_audit()
        .arg("check")
        .arg("--onprem")
        .arg(&export)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let report = findings(&out);
    let rule = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "duplicate-source-anchor")
        .expect("duplicate-source-anchor is reported");
    assert_eq!(rule["outcome"], "not_evaluated", "{rule}");
    assert!(
        rule["reason"]
            .as_str()
            .unwrap()
            .contains("no usable user, contact or group"),
        "{rule}"
    );
    assert!(
        report["rules"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] != "passed"),
        "no rule passed on an export with nothing in it: {}",
        report["rules"]
    );
}

/// A user record as `ldapsearch -LLL` writes it, seven lines with its blank line.
fn user_record(number: u128, dn: &str) -> String {
    let guid = base64_guid(number);
    format!(
        "dn: {dn}\nobjectClass: top\nobjectClass: user\nobjectGUID:: {guid}\n\
         userPrincipalName: u{number}@contoso.com\nsAMAccountName: u{number}\n\n"
    )
}

#[test]
fn overlapping_exports_keep_each_object_once_and_list_every_repeat_with_where_it_was_first() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a.ldif");
    let second = dir.path().join("b.ldif");
    std::fs::write(
        &first,
        user_record(1, "CN=Ann,OU=Staff,DC=contoso,DC=com")
            + &user_record(2, "CN=Bob,OU=Staff,DC=contoso,DC=com"),
    )
    .unwrap();
    std::fs::write(
        &second,
        // Bob again (same objectGUID, moved), Ann's DN in other case with another objectGUID,
        // Cy, and Cy again in the same file.
        user_record(2, "CN=Bob,OU=Moved,DC=contoso,DC=com")
            + &user_record(9, "cn=ann,ou=staff,dc=contoso,dc=com")
            + &user_record(3, "CN=Cy,OU=Staff,DC=contoso,DC=com")
            + &user_record(3, "CN=Cy2,OU=Staff,DC=contoso,DC=com"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = entra_audit()
        .args(["check", "--fail-on", "never", "--onprem"])
        .arg(&first)
        .arg("--onprem")
        .arg(&second)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let inputs = &findings(&out)["inputs"];
    assert_eq!(inputs["onprem_objects"]["user"], 3, "{inputs}");
    assert_eq!(inputs["onprem"][0]["objects"], 2);
    assert_eq!(inputs["onprem"][0]["rejected"], 0);
    assert_eq!(inputs["onprem"][1]["objects"], 1);
    assert_eq!(inputs["onprem"][1]["rejected"], 3);
    let rejected: Vec<(u64, String)> = inputs["rejected_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let a = first.display();
    let b = second.display();
    assert_eq!(
        rejected,
        [
            (
                1,
                format!(
                    "objectGUID 00000002-0000-0000-0000-000000000000 was already imported from {a}:8"
                )
            ),
            (
                8,
                format!(
                    "its DN was already imported from {a}:1 with another objectGUID \
                     (00000009-0000-0000-0000-000000000000 here, \
                     00000001-0000-0000-0000-000000000000 there): one of the two records is \
                     stale; export again"
                )
            ),
            (
                22,
                format!(
                    "objectGUID 00000003-0000-0000-0000-000000000000 was already imported from {b}:15"
                )
            ),
        ]
    );
}
