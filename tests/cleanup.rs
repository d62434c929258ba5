//! Cleanup exports as a user gets them from `check`: `OUT/cleanup/<action>.csv` and README.txt
//! for the fixture tenant, commands that stay literal whatever a hostile directory value holds,
//! CSV cells that spreadsheets cannot evaluate, and the `--csv-bom` option.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use crate::common::fixture_tenant as tenant;

fn entra_audit() -> Command {
    Command::cargo_bin("entra-audit").unwrap()
}

/// The rows of a CSV file by header name.
fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// The characters PowerShell treats as a single quote: U+0027 and U+2018 to U+201B (The
/// PowerShell Language Specification 3.0, §2.3.5.2.2, "single-quote-character";
/// <https://learn.microsoft.com/powershell/scripting/lang-spec/chapter-02>).
fn single_quote_character(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

/// Reads one verbatim-string-literal from the start of `s`, as the specification defines it
/// (§2.3.5.2.2: a single-quote-character, then verbatim-string-parts, each "any Unicode character
/// except single-quote-character" or "single-quote-character single-quote-character", then a
/// single-quote-character; `about_Quoting_Rules`: "To include a single quotation mark in a
/// single-quoted string, use a second consecutive single quote"). Returns the value and the rest.
fn verbatim_string(s: &str) -> (String, &str) {
    let mut chars = s.char_indices().peekable();
    let (_, first) = chars.next().expect("a string literal");
    assert!(single_quote_character(first), "not a string literal: {s}");
    let mut value = String::new();
    while let Some((at, c)) = chars.next() {
        if single_quote_character(c) {
            match chars.peek() {
                Some(&(_, next)) if single_quote_character(next) => {
                    value.push(next);
                    chars.next();
                }
                _ => return (value, &s[at + c.len_utf8()..]),
            }
        } else {
            value.push(c);
        }
    }
    panic!("unterminated string literal: {s}");
}

/// Evaluates the expression `ps_quote` writes at the start of `s`: a verbatim string, or
/// `( part + part ... )` where a part is a verbatim string or `[char]0xNNNN`. Returns the value
/// and the rest of `s`. Anything else fails the test.
fn quoted_expression(s: &str) -> (String, &str) {
    let Some(mut rest) = s.strip_prefix('(') else {
        return verbatim_string(s);
    };
    let mut value = String::new();
    loop {
        if let Some(hex) = rest.strip_prefix("[char]0x") {
            let code = u32::from_str_radix(&hex[..4], 16).unwrap();
            value.push(char::from_u32(code).unwrap());
            rest = &hex[4..];
        } else {
            let (part, after) = verbatim_string(rest);
            value.push_str(&part);
            rest = after;
        }
        if let Some(after) = rest.strip_prefix(" + ") {
            rest = after;
        } else {
            let after = rest.strip_prefix(')').expect("a closing parenthesis");
            return (value, after);
        }
    }
}

#[test]
fn the_test_tokenizer_follows_the_specification() {
    assert_eq!(verbatim_string("'a''b' rest"), ("a'b".to_owned(), " rest"));
    // A smart quote ends a string like an apostrophe does, and doubles the same way.
    assert_eq!(
        verbatim_string("'a\u{2019}\u{2019}b\u{2018}; x"),
        ("a\u{2019}b".to_owned(), "; x")
    );
    assert_eq!(
        quoted_expression("('a' + [char]0x000A + 'b')}"),
        ("a\nb".to_owned(), "}")
    );
}

/// (cloud objects, on-prem objects) with hostile names and addresses: quotes of every kind, `$`,
/// backticks, `;`, `|`, newlines, a formula at the start of a cell.
const HOSTILE: [&str; 6] = [
    "o'brien",
    "a\u{2019}b\u{2018}c\u{201A}d\u{201B}e",
    "x\"$(whoami)`;|y",
    "=cmd|' /c calc'!a0",
    "line\nbreak",
    "@sum(1+1)",
];

fn hostile_tenant(dir: &Path) -> (PathBuf, PathBuf) {
    let cloud = dir.join("cloud");
    std::fs::create_dir_all(&cloud).unwrap();
    let write = |name: &str, value: &Value| {
        std::fs::write(cloud.join(name), serde_json::to_string(value).unwrap()).unwrap();
    };
    // A formerly synced cloud user with a hostile id: deleted as a leftover.
    write(
        "users.json",
        &serde_json::json!({"value": [{
            "id": "u-1'; Remove-MgUser -UserId 'victim",
            "displayName": "Eve '$x'",
            "userPrincipalName": "eve@contoso.com",
            "onPremisesImmutableId": null,
            "onPremisesSyncEnabled": false,
            "onPremisesLastSyncDateTime": "2025-01-01T00:00:00Z",
            "proxyAddresses": [],
            "onPremisesProvisioningErrors": []
        }]}),
    );
    write("contacts.json", &serde_json::json!({"value": []}));
    write("groups.json", &serde_json::json!({"value": []}));
    write(
        "organization.json",
        &serde_json::json!({"value": [{"id": "tenant-1", "onPremisesSyncEnabled": true,
            "onPremisesLastSyncDateTime": "2026-11-01T11:30:00Z", "verifiedDomains": []}]}),
    );
    write(
        "domains.json",
        &serde_json::json!({"value": [{"id": "contoso.com", "isVerified": true}]}),
    );
    write(
        "manifest.json",
        &serde_json::json!({"schema_version": 1, "tenant_id": "tenant-1",
            "collected_at": "2026-11-01T12:00:00Z", "collections": {}}),
    );
    // Pairs of on-prem users: the first holds the hostile address as its primary, the second
    // as a secondary (so the second loses it); the first also has a hostile UPN on an
    // unverified suffix.
    let mut objects = Vec::new();
    for (i, name) in HOSTILE.iter().enumerate() {
        let address = format!("{name}@contoso.com");
        objects.push(serde_json::json!({
            "ObjectGUID": format!("00000000-0000-4000-8000-0000000000{i:02}"),
            "DistinguishedName": format!("CN=User {i},OU=Staff,DC=contoso,DC=local"),
            "ObjectClass": "user",
            "UserPrincipalName": format!("{name}@corp.local"),
            "proxyAddresses": [format!("SMTP:{address}")],
            "Enabled": true,
        }));
        objects.push(serde_json::json!({
            "ObjectGUID": format!("00000000-0000-4000-8000-0000000001{i:02}"),
            "DistinguishedName": format!("CN=Second {i},OU=Staff,DC=contoso,DC=local"),
            "ObjectClass": "user",
            "UserPrincipalName": format!("second{i}@contoso.com"),
            "proxyAddresses": [format!("SMTP:second{i}@contoso.com"), format!("smtp:{address}")],
            "Enabled": true,
        }));
    }
    let onprem = dir.join("ad.json");
    std::fs::write(&onprem, serde_json::to_string(&objects).unwrap()).unwrap();
    (cloud, onprem)
}

/// Writes the hostile tenant into `dir`, audits it into `dir/out` and returns that folder.
fn audit_hostile_tenant(dir: &Path) -> PathBuf {
    let (cloud, onprem) = hostile_tenant(dir);
    let out = dir.join("out");
    entra_audit()
        .args(["check", "--fail-on", "never", "--cloud"])
        .arg(&cloud)
        .arg("--onprem")
        .arg(&onprem)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    out
}

#[test]
fn commands_keep_hostile_values_literal_and_cells_cannot_run_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let out = audit_hostile_tenant(dir.path());

    // Proxy addresses: removed from the second user, which holds them as a secondary.
    let rows = read_csv(&out.join("cleanup/remove-onprem-proxy-address.csv"));
    let mut removed = BTreeSet::new();
    for row in &rows {
        let command = row["powershell"].as_str();
        let guid = row["onprem_object_guid"].as_str();
        assert!(
            guid.starts_with("00000000-0000-4000-8000-0000000001"),
            "{row:?}"
        );
        let rest = command
            .strip_prefix("Set-ADObject -Identity ")
            .unwrap_or_else(|| panic!("{command}"));
        let (identity, rest) = quoted_expression(rest);
        assert_eq!(identity, guid);
        let rest = rest.strip_prefix(" -Remove @{proxyAddresses=").unwrap();
        let (proxy, rest) = quoted_expression(rest);
        assert_eq!(rest, "}", "{command}");
        // The address is lower-cased by the audit, as Entra compares it.
        assert_eq!(
            proxy,
            format!("smtp:{}", row["value"].trim_start_matches('\''))
        );
        removed.insert(proxy);
    }
    let expected: BTreeSet<String> = HOSTILE
        .iter()
        .map(|n| format!("smtp:{}@contoso.com", n.to_lowercase()))
        .collect();
    assert_eq!(removed, expected);

    // UPN local parts keep every character, the new suffix is a variable the admin sets.
    let rows = read_csv(&out.join("cleanup/fix-upn-suffix.csv"));
    let mut locals = BTreeSet::new();
    for row in &rows {
        let command = row["powershell"].as_str();
        let (_, rest) = command
            .split_once("-UserPrincipalName (")
            .unwrap_or_else(|| panic!("{command}"));
        let (local, rest) = quoted_expression(rest);
        assert_eq!(rest, " + '@' + $UpnSuffix)", "{command}");
        locals.insert(local);
        assert!(
            command.starts_with("if (-not $UpnSuffix) { throw"),
            "{command}"
        );
    }
    let expected: BTreeSet<String> = HOSTILE.iter().map(|n| (*n).to_owned()).collect();
    assert_eq!(locals, expected);

    // A hostile cloud object id stays one argument, and cannot leave the Graph path.
    let rows = read_csv(&out.join("cleanup/delete-stale-cloud-user.csv"));
    assert_eq!(rows.len(), 1);
    let (id, rest) = quoted_expression(
        rows[0]["powershell"]
            .strip_prefix("Remove-MgUser -UserId ")
            .unwrap(),
    );
    assert_eq!(id, "u-1'; Remove-MgUser -UserId 'victim");
    assert_eq!(rest, "");
    assert_eq!(
        rows[0]["graph_request"],
        "DELETE /v1.0/users/u-1%27%3B%20Remove-MgUser%20-UserId%20%27victim"
    );

    // No cell of any cleanup file starts with a character a spreadsheet evaluates, and no
    // command spans lines.
    for entry in std::fs::read_dir(out.join("cleanup")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "csv") {
            continue;
        }
        for row in read_csv(&path) {
            for (column, cell) in &row {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{}: {column} = {cell:?}",
                    path.display()
                );
            }
            assert!(!row["powershell"].contains('\n'), "{row:?}");
        }
    }
    let raw = std::fs::read_to_string(out.join("cleanup/remove-onprem-proxy-address.csv")).unwrap();
    assert!(
        raw.contains("'=cmd|"),
        "the formula value is defused: {raw}"
    );
}

#[test]
fn the_fixture_tenant_gets_one_file_per_action_and_a_readme() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    entra_audit()
        .arg("check")
        .arg("--cloud")
        .arg(tenant().join("cloud"))
        .arg("--onprem")
        .arg(tenant().join("onprem/ad.ldif"))
        .arg("--out")
        .arg(&out)
        .arg("--csv-bom")
        .assert()
        .code(1);
    let findings: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("findings.json")).unwrap()).unwrap();
    let by_id: BTreeMap<&str, &Value> = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f))
        .collect();

    let files = read_cleanup_files(dir.path(), &out);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "change-onprem-upn",
            "clear-immutable-id",
            "clear-onprem-consistency-guid",
            "delete-orphaned-synced-object",
            "delete-stale-cloud-contact",
            "delete-stale-cloud-group",
            "delete-stale-cloud-user",
            "fix-upn-suffix",
            "hard-match-set-immutable-id",
            "remove-onprem-proxy-address",
            "resolve-object-type-mismatch",
        ]
    );
    assert_rows_match_findings(&files, &by_id);
    // The on-prem duplicate where one user holds the address as a secondary: that user loses it.
    let proxies = &files["remove-onprem-proxy-address"];
    let oliver = proxies
        .iter()
        .find(|r| r["value"] == "charles.lee40@contoso.com")
        .unwrap();
    assert_eq!(
        oliver["onprem_object_guid"],
        "76ab2814-9b15-42b3-a834-205fc24e53df"
    );
    assert_eq!(
        oliver["powershell"],
        "Set-ADObject -Identity '76ab2814-9b15-42b3-a834-205fc24e53df' -Remove @{proxyAddresses='smtp:charles.lee40@contoso.com'}"
    );
    assert!(oliver["other_holder"].starts_with("on-prem 5ff2ce44-599b-4f92-8cb5-f824efe8c7c7"));

    let readme = std::fs::read_to_string(out.join("cleanup/README.txt")).unwrap();
    assert!(
        readme.contains("REVIEW EVERY ROW BEFORE RUNNING"),
        "{readme}"
    );
    let order: Vec<usize> = [
        "clear-onprem-consistency-guid.csv",
        "hard-match-set-immutable-id.csv",
        "delete-stale-cloud-user.csv",
    ]
    .iter()
    .map(|f| {
        readme
            .find(f)
            .unwrap_or_else(|| panic!("{f} missing from README.txt"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{readme}");

    // --csv-bom reaches the report's own CSV files too.
    for path in [
        out.join("findings.csv"),
        out.join("rules/duplicate-attribute.csv"),
    ] {
        assert!(
            std::fs::read(&path).unwrap().starts_with(b"\xEF\xBB\xBF"),
            "{}",
            path.display()
        );
    }
}

#[test]
fn without_csv_bom_no_file_has_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = audit_hostile_tenant(dir.path());
    for path in [
        out.join("findings.csv"),
        out.join("cleanup/fix-upn-suffix.csv"),
    ] {
        assert!(!std::fs::read(&path).unwrap().starts_with(b"\xEF\xBB\xBF"));
    }
}

type CsvFile = Vec<BTreeMap<String, String>>;

/// The cleanup CSV files by action, each asserted to start with a UTF-8 BOM (`--csv-bom`).
fn read_cleanup_files(dir: &Path, out: &Path) -> BTreeMap<String, CsvFile> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(out.join("cleanup")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{}", path.display());
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            // The csv crate keeps the BOM in the first header: read without it.
            let plain = dir.join(format!("{stem}.plain.csv"));
            std::fs::write(&plain, &bytes[3..]).unwrap();
            files.insert(stem, read_csv(&plain));
        }
    }
    files
}

/// Every row names a finding of findings.json of a rule that has per-object fixes; hard-match
/// rows carry the on-prem anchor; no cloud object gets two destructive rows, and no hard-matched
/// user is also deleted.
fn assert_rows_match_findings(files: &BTreeMap<String, CsvFile>, by_id: &BTreeMap<&str, &Value>) {
    let mut hard_matched = HashSet::new();
    let mut deleted = HashSet::new();
    for (action, rows) in files {
        for row in rows {
            assert_eq!(&row["action"], action);
            let finding = by_id
                .get(row["finding_id"].as_str())
                .unwrap_or_else(|| panic!("{action}: unknown finding {}", row["finding_id"]));
            assert_eq!(finding["rule"], row["rule"].as_str());
            // Sync health and provisioning errors have no per-object command.
            assert!(
                !matches!(
                    row["rule"].as_str(),
                    "provisioning-error"
                        | "cloud-sync-job-failing"
                        | "cloud-sync-quarantine"
                        | "directory-sync-stale"
                        | "password-hash-sync-stale"
                ),
                "{row:?}"
            );
            assert!(!row["powershell"].is_empty(), "{row:?}");
            if action == "hard-match-set-immutable-id" {
                let anchor = finding["evidence"]["onprem_source_anchor"]
                    .as_str()
                    .unwrap();
                assert_eq!(
                    row["powershell"],
                    format!(
                        "Update-MgUser -UserId '{}' -OnPremisesImmutableId '{anchor}'",
                        row["cloud_object_id"]
                    )
                );
                assert_eq!(
                    row["graph_request"],
                    format!(
                        "PATCH /v1.0/users/{} {{\"onPremisesImmutableId\":\"{anchor}\"}}",
                        row["cloud_object_id"]
                    )
                );
                hard_matched.insert(row["cloud_object_id"].clone());
            }
            if action.starts_with("delete-") || action == "clear-immutable-id" {
                assert!(
                    deleted.insert(row["cloud_object_id"].clone()),
                    "two destructive rows for {}",
                    row["cloud_object_id"]
                );
            }
        }
    }
    // A cloud user to hard-match is never also deleted (stale-cloud-only calls some leftovers).
    assert!(hard_matched.len() >= 4, "{hard_matched:?}");
    assert!(
        hard_matched.is_disjoint(&deleted),
        "{hard_matched:?} / {deleted:?}"
    );
}
