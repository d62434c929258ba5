//! The rule contract for hostile directory data: every rule's fixture is audited again with a
//! hostile DN, name and address planted in every object (an apostrophe, a `;`, a second command,
//! `$(...)`, a typographic quote, a backtick), and every command-like string the audit emits (in
//! a finding's remediation, and in the cleanup exports' PowerShell column) must keep that data
//! inside PowerShell single quotes: the marker `PWNED` never appears where PowerShell would run it.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::common;

/// What a crafted CN or display name carries: closes a quote, ends the command, runs another,
/// expands a subexpression, uses PowerShell's other single quotes and its escape character.
/// Pasted between single quotes, its two quotes put `Remove-ADUser` outside them.
const NAME_PAYLOAD: &str = " x'; Remove-ADUser -Identity PWNED; $(PWNED) `\" \u{2019}";
/// The same in a DN value (`;` and `"` escaped as RFC 4514 requires).
const DN_PAYLOAD: &str = " x'\\; Remove-ADUser -Identity PWNED\\; $(PWNED) `\\\" \u{2019}";
/// In an address (where an apostrophe is legal): `o'brien'PWNED'@contoso.com`.
const ADDRESS_PAYLOAD: &str = "'PWNED'\u{2018}";

/// Plants the payloads in every DN, name and address of a fixture case, the same way on both
/// sides so that what matched still matches.
fn hostile(value: &mut Value, key: &str) {
    match value {
        Value::String(s) => {
            let lower = s.to_ascii_lowercase();
            if lower.starts_with("cn=") || lower.starts_with("ou=") {
                let cut = s.find(',').unwrap_or(s.len());
                s.insert_str(cut, DN_PAYLOAD);
            } else if let Some(at) = s.find('@') {
                s.insert_str(at, ADDRESS_PAYLOAD);
            } else if matches!(
                key.to_ascii_lowercase().as_str(),
                "displayname" | "name" | "cn" | "givenname" | "sn" | "mailnickname"
            ) {
                s.push_str(NAME_PAYLOAD);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| hostile(v, key)),
        Value::Object(map) => map.iter_mut().for_each(|(k, v)| hostile(v, k)),
        _ => {}
    }
}

/// The verbs PowerShell commands start with.
const VERBS: [&str; 12] = [
    "Set-", "Remove-", "Update-", "Invoke-", "Clear-", "New-", "Get-", "Move-", "Rename-",
    "Disable-", "Enable-", "Add-",
];

/// A command's text outside its single-quoted (verbatim) strings, PowerShell's rules: any of
/// `'` `‘` `’` `‚` `‛` opens and closes, a doubled one inside is a literal quote. Ends at an
/// unquoted `)` closing the command's group, a backtick that ends Markdown code, or the end of
/// the line. Returns that text, how many markers were inside quotes, and the bytes consumed;
/// `Err` when a string is not closed.
fn outside_quotes(command: &str) -> Result<(String, usize, usize), String> {
    let is_quote = |c: char| matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}');
    let mut outside = String::new();
    let mut chars = command.char_indices().peekable();
    let mut depth = 0usize;
    let mut quoted_markers = 0;
    let mut end = command.len();
    while let Some((i, c)) = chars.next() {
        if is_quote(c) {
            let mut literal = String::new();
            loop {
                match chars.next() {
                    None => return Err(format!("unterminated string in {command}")),
                    Some((_, q)) if is_quote(q) => {
                        if chars.peek().is_some_and(|(_, n)| is_quote(*n)) {
                            chars.next();
                            literal.push(q);
                        } else {
                            break;
                        }
                    }
                    Some((_, other)) => literal.push(other),
                }
            }
            quoted_markers += literal.to_ascii_lowercase().matches("pwned").count();
            outside.push_str("''");
            continue;
        }
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => {
                end = i;
                break;
            }
            ')' => depth -= 1,
            '`' | '\n' => {
                end = i;
                break;
            }
            _ => {}
        }
        outside.push(c);
    }
    Ok((outside, quoted_markers, end))
}

/// Every command in `text`, scanned in order: a verb inside a command already scanned (hostile
/// data quoted in it) does not start another.
fn commands_in(text: &str) -> Vec<Result<(String, usize), String>> {
    let mut starts: Vec<usize> = VERBS
        .iter()
        .flat_map(|verb| text.match_indices(verb).map(|(i, _)| i))
        // How the tool writes a command: a whole cell (the cleanup exports), or in prose inside
        // `(...)` or Markdown backticks. A verb elsewhere in prose is directory data quoted in a
        // sentence (a DN in a message), not something to paste into PowerShell.
        .filter(|&i| i == 0 || text[..i].ends_with('(') || text[..i].ends_with('`'))
        .collect();
    starts.sort_unstable();
    let mut scanned_to = 0;
    let mut out = Vec::new();
    for start in starts {
        if start < scanned_to {
            continue;
        }
        match outside_quotes(&text[start..]) {
            Ok((outside, markers, len)) => {
                scanned_to = start + len;
                out.push(Ok((outside, markers)));
            }
            Err(e) => {
                out.push(Err(e));
                break;
            }
        }
    }
    out
}

#[test]
fn hostile_names_dns_and_addresses_never_escape_the_quotes_of_a_command() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules");
    let mut commands = 0;
    let mut quoted_markers = 0;
    let mut rules_with_commands = BTreeSet::new();
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let fixture: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (case_name, case) in fixture["cases"].as_object().unwrap() {
            let mut case = case.clone();
            for side in ["onprem", "cloud"] {
                hostile(&mut case[side], side);
            }
            let tmp = tempfile::tempdir().unwrap();
            let report = common::check_on_main_stack(materialise(&case, tmp.path()))
                .unwrap_or_else(|e| panic!("{}/{case_name}: {e:#}", path.display()));
            let rows = entra_audit::testing::outputs::cleanup::plan(
                &report.findings,
                &report.rule_cleanup,
            );
            let texts = report
                .findings
                .iter()
                .map(|f| (f.rule.as_str(), f.remediation.as_str()))
                .chain(
                    rows.iter()
                        .map(|r| (r.rule.as_str(), r.powershell.as_str())),
                );
            for (rule, text) in texts {
                for command in commands_in(text) {
                    commands += 1;
                    rules_with_commands.insert(rule.to_owned());
                    match command {
                        Ok((outside, markers)) => {
                            quoted_markers += markers;
                            if outside.to_ascii_lowercase().contains("pwned") {
                                failures
                                    .push(format!("{rule}/{case_name}: runs {outside} in {text}"));
                            }
                        }
                        Err(e) => failures.push(format!("{rule}/{case_name}: {e}")),
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // The test proves something only if the hostile data reached commands.
    assert!(commands >= 10, "only {commands} commands emitted");
    // (Objects are named by GUID, so only the hostile addresses reach a command, as values.)
    assert!(
        quoted_markers >= 3,
        "hostile data reached only {quoted_markers} commands"
    );
    for rule in [
        "upn-suffix-unverified",
        "duplicate-source-anchor",
        "duplicate-attribute",
    ] {
        assert!(
            rules_with_commands.contains(rule),
            "{rule} emitted no command: {rules_with_commands:?}"
        );
    }
}

#[test]
fn the_quote_scanner_catches_a_pasted_dn() {
    let pasted = format!("(Set-ADUser 'CN=x{NAME_PAYLOAD},DC=y' -UserPrincipalName a).");
    let found = commands_in(&pasted);
    let (outside, _) = found[0].as_ref().unwrap();
    assert!(outside.contains("PWNED"), "{outside}");
    let quoted = format!(
        "Set-ADUser -Identity {} -Clear mail",
        entra_audit::testing::outputs::cleanup::ps_quote(&format!("CN=x{NAME_PAYLOAD}"))
    );
    let found = commands_in(&quoted);
    assert_eq!(found.len(), 1, "{found:?}");
    let (outside, markers) = found[0].as_ref().unwrap();
    assert!(!outside.contains("PWNED") && *markers == 2, "{outside}");
}

/// Writes a case as a snapshot directory and export file (as tests/rules.rs does).
fn materialise(case: &Value, dir: &Path) -> entra_audit::testing::audit::CheckOptions {
    let cloud = dir.join("cloud");
    std::fs::create_dir_all(&cloud).unwrap();
    let mut collections = serde_json::Map::new();
    for (name, objects) in case["cloud"].as_object().unwrap() {
        let body = serde_json::json!({ "value": objects });
        std::fs::write(cloud.join(format!("{name}.json")), body.to_string()).unwrap();
        collections.insert(
            name.clone(),
            serde_json::json!({"status": "complete", "objects": objects.as_array().unwrap().len()}),
        );
    }
    let manifest = serde_json::json!({"schema_version": 1, "collected_at": case["as_of"], "collections": collections});
    std::fs::write(cloud.join("manifest.json"), manifest.to_string()).unwrap();
    let mut onprem = Vec::new();
    if !case["onprem"].as_array().unwrap().is_empty() {
        let path = dir.join("ad.json");
        std::fs::write(&path, case["onprem"].to_string()).unwrap();
        onprem.push(path);
    }
    common::options(&cloud, onprem)
}
