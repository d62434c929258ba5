//! report.html as a reader gets it: one self-contained file that loads nothing (checked by
//! parsing the generated markup, not by grepping a template), every hostile directory value
//! escaped in the markup and intact in the embedded JSON, and the demo tenant's summary shown.

use crate::common;

use std::path::{Path, PathBuf};

use entra_audit::testing::audit::findings::Severity;
use entra_audit::testing::audit::result::AuditReport;
use entra_audit::testing::outputs::report;
use serde_json::Value;

/// Values an attacker can put in a directory (anyone may name a contact or a group): markup,
/// both quotes, an ampersand, a script end tag, U+2028 and non-Latin text.
const HOSTILE: &str = "Ann \"<script>alert(1)</script>\" & 'Co' </ZoË 日本\u{2028}";
const HOSTILE_DN: &str = "CN=<img src=x onerror=alert(2)>,OU=Staff,DC=contoso,DC=local";

/// A tenant whose values are hostile: a cloud contact named [`HOSTILE`] holds the address of an
/// on-prem user whose DN is [`HOSTILE_DN`] (`ObjectTypeMismatch` names both), in a tenant named
/// [`HOSTILE`] too.
fn hostile_tenant(dir: &Path) -> (PathBuf, PathBuf) {
    let cloud = dir.join("cloud");
    std::fs::create_dir_all(&cloud).unwrap();
    let name = serde_json::to_string(HOSTILE).unwrap();
    let dn = serde_json::to_string(HOSTILE_DN).unwrap();
    let write = |file: &str, text: &str| std::fs::write(cloud.join(file), text).unwrap();
    write("users.json", r#"{"value":[]}"#);
    write(
        "contacts.json",
        &format!(
            r#"{{"value":[{{"id":"c-1","displayName":{name},"mail":"ann@contoso.com","proxyAddresses":["SMTP:ann@contoso.com"],"onPremisesSyncEnabled":null,"onPremisesProvisioningErrors":[]}}]}}"#
        ),
    );
    write("groups.json", r#"{"value":[]}"#);
    write(
        "organization.json",
        &format!(
            r#"{{"value":[{{"id":"tenant-1","displayName":{name},"onPremisesSyncEnabled":true,"onPremisesLastSyncDateTime":"2026-11-01T11:30:00Z","verifiedDomains":[]}}]}}"#
        ),
    );
    write(
        "domains.json",
        r#"{"value":[{"id":"contoso.com","isVerified":true}]}"#,
    );
    write(
        "manifest.json",
        r#"{"schema_version":1,"tenant_id":"tenant-1","collected_at":"2026-11-01T12:00:00Z","collections":{}}"#,
    );
    let onprem = dir.join("ad.json");
    std::fs::write(
        &onprem,
        format!(
            r#"[{{"ObjectGUID":"52af62f4-db3d-46d0-907b-593424a726d3","DistinguishedName":{dn},"ObjectClass":"user",
   "UserPrincipalName":"ann@contoso.com","proxyAddresses":["SMTP:ann@contoso.com"],"Enabled":true,"DisplayName":{name}}}]"#
        ),
    )
    .unwrap();
    (cloud, onprem)
}

/// A start tag and its attributes, as an HTML tokenizer sees them.
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
    /// The raw text of `<script>` and `<style>` (their content is not markup).
    raw: Option<String>,
}

/// A small HTML tokenizer (start tags, attributes with either quote or none, comments, raw-text
/// elements), enough to see every attribute and every script and style body of the page.
fn tags(html: &str) -> Vec<Tag> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let mut chars = rest[1..].char_indices();
        if !chars.next().is_some_and(|(_, c)| c.is_ascii_alphabetic()) {
            rest = &rest[1..];
            continue;
        }
        let name_len = rest[1..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len() - 1);
        let name = rest[1..=name_len].to_ascii_lowercase();
        let mut cursor = &rest[1 + name_len..];
        let mut attrs = Vec::new();
        loop {
            cursor = cursor.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
            if cursor.is_empty() || cursor.starts_with('>') {
                break;
            }
            let key_len = cursor
                .find(|c: char| c.is_whitespace() || c == '=' || c == '>')
                .unwrap_or(cursor.len());
            let key = cursor[..key_len].to_ascii_lowercase();
            cursor = cursor[key_len..].trim_start();
            let mut value = String::new();
            if let Some(after) = cursor.strip_prefix('=') {
                let after = after.trim_start();
                if let Some(quote) = after.chars().next().filter(|c| *c == '"' || *c == '\'') {
                    let end = after[1..].find(quote).expect("unterminated attribute");
                    after[1..=end].clone_into(&mut value);
                    cursor = &after[end + 2..];
                } else {
                    let end = after
                        .find(|c: char| c.is_whitespace() || c == '>')
                        .unwrap_or(after.len());
                    after[..end].clone_into(&mut value);
                    cursor = &after[end..];
                }
            }
            attrs.push((key, value));
        }
        rest = cursor.strip_prefix('>').unwrap_or(cursor);
        let mut raw = None;
        if name == "script" || name == "style" {
            let close = format!("</{name}");
            let end = rest
                .to_ascii_lowercase()
                .find(&close)
                .expect("raw text element is closed");
            raw = Some(rest[..end].to_owned());
            rest = &rest[end..];
        }
        out.push(Tag { name, attrs, raw });
    }
    out
}

/// Asserts the page can load nothing from anywhere: no resource element, no URL-valued attribute
/// but in-page fragments and the rule docs' http(s) references (`<a rel="noopener noreferrer">`,
/// followed only on a click), no `url(` or `@import` in CSS, no network API in the script.
fn assert_self_contained(html: &str) {
    let tags = tags(html);
    assert!(tags.iter().any(|t| t.name == "svg"), "no chart drawn");
    for tag in &tags {
        assert!(
            ![
                "link", "img", "iframe", "object", "embed", "base", "audio", "video", "source",
                "image", "use", "form", "frame", "track", "picture", "portal",
            ]
            .contains(&tag.name.as_str()),
            "resource element <{}> in report.html",
            tag.name
        );
        // The one way out of the page is a click on a rule doc's reference: an <a> to an http(s)
        // page that gets neither the report's address nor a handle on it. Nothing is loaded.
        let reference = tag.name == "a"
            && tag
                .attrs
                .iter()
                .any(|(k, v)| k == "rel" && v == "noopener noreferrer");
        for (key, value) in &tag.attrs {
            let v = value.trim().to_ascii_lowercase();
            if key == "href" && reference && (v.starts_with("https://") || v.starts_with("http://"))
            {
                continue;
            }
            if key == "href" {
                assert!(
                    v.starts_with('#'),
                    "<{} href={value}> leaves the page",
                    tag.name
                );
            }
            assert!(
                ![
                    "src",
                    "srcset",
                    "action",
                    "formaction",
                    "poster",
                    "background",
                    "xlink:href",
                    "ping",
                    "data"
                ]
                .contains(&key.as_str()),
                "<{} {key}={value}> can load a resource",
                tag.name
            );
            assert!(
                !v.contains("://") && !v.starts_with("//") && !v.contains("url("),
                "<{} {key}={value}> names a URL",
                tag.name
            );
            assert!(!key.starts_with("on"), "<{} {key}> runs script", tag.name);
        }
        if tag.name == "style" || tag.attrs.iter().any(|(k, _)| k == "style") {
            let css = tag.raw.clone().unwrap_or_default().to_ascii_lowercase();
            assert!(!css.contains("@import"), "CSS imports a stylesheet");
            assert!(!css.contains("url("), "CSS loads a url()");
        }
    }
    assert_csp_allows_only_this_pages_style_and_script(&tags);
    let scripts: Vec<&Tag> = tags.iter().filter(|t| t.name == "script").collect();
    assert_eq!(
        scripts.len(),
        2,
        "exactly the JSON blob and the table script"
    );
    let code = scripts
        .iter()
        .find(|t| t.attrs.is_empty())
        .and_then(|t| t.raw.as_deref())
        .expect("an inline script without attributes");
    for api in [
        "fetch(",
        "XMLHttpRequest",
        "import(",
        "WebSocket",
        "EventSource",
        "sendBeacon",
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        ".src",
    ] {
        assert!(!code.contains(api), "the script uses {api}");
    }
}

/// The Content-Security-Policy: nothing loads, and only the page's own `<style>` and `<script>`
/// apply, by the SHA-256 of their exact text; no `'unsafe-inline'` (an injected script would run).
fn assert_csp_allows_only_this_pages_style_and_script(tags: &[Tag]) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let csp = tags
        .iter()
        .find(|t| {
            t.name == "meta"
                && t.attrs.iter().any(|(k, v)| {
                    k == "http-equiv" && v.eq_ignore_ascii_case("Content-Security-Policy")
                })
        })
        .and_then(|t| t.attrs.iter().find(|(k, _)| k == "content"))
        .map(|(_, v)| v.clone())
        .expect("a Content-Security-Policy meta tag");
    assert!(!csp.contains("unsafe"), "{csp}");
    let directive = |name: &str| -> Vec<String> {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.split_whitespace().next() == Some(name))
            .map(|d| d.split_whitespace().skip(1).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    assert_eq!(directive("default-src"), ["'none'"], "{csp}");
    let hash = |text: &str| {
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text.as_bytes()))
        )
    };
    let inline = |name: &str| -> Vec<String> {
        tags.iter()
            .filter(|t| t.name == name && t.attrs.is_empty())
            .map(|t| hash(t.raw.as_deref().unwrap_or_default()))
            .collect()
    };
    assert_eq!(directive("script-src"), inline("script"), "{csp}");
    assert_eq!(directive("style-src"), inline("style"), "{csp}");
}

/// The JSON blob, parsed.
fn embedded_findings(html: &str) -> Vec<Value> {
    let blob = tags(html)
        .into_iter()
        .find(|t| {
            t.name == "script"
                && t.attrs
                    .iter()
                    .any(|(k, v)| k == "type" && v == "application/json")
        })
        .and_then(|t| t.raw)
        .expect("the findings JSON blob");
    assert!(
        !blob.contains('<'),
        "a '<' in the JSON blob could end the element"
    );
    assert!(!blob.contains('\u{2028}'), "raw U+2028 in the JSON blob");
    serde_json::from_str::<Vec<Value>>(&blob).expect("the blob is JSON")
}

#[test]
fn demo_tenant_report_is_self_contained_and_shows_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let assert = common::check_fixture_tenant()
        .arg("--out")
        .arg(&out)
        .args(["--fail-on", "never"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains("report.html"),
        "report.html not listed: {stdout}"
    );

    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_self_contained(&html);
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("findings.json")).unwrap()).unwrap();
    // The summary is in findings.json (additive: schema 1 keys unchanged) and on the page.
    assert_eq!(json["schema_version"], 1);
    let summary = &json["tenant_summary"];
    assert_eq!(summary["tenant_name"], "Contoso Ltd");
    assert_eq!(summary["directory_sync"]["last"], "2026-10-31T02:47:00Z");
    assert_eq!(
        summary["password_hash_sync"]["last"],
        "2026-11-02T07:58:00Z"
    );
    let users = &summary["objects"]["user"];
    let cloud_users: u64 = ["synced", "formerly_synced", "cloud_only"]
        .iter()
        .map(|k| users[k].as_u64().unwrap())
        .sum();
    assert_eq!(cloud_users, 91, "every cloud user counted once: {users}");
    assert!(users["onprem_only"].as_u64().unwrap() <= users["onprem"].as_u64().unwrap());
    assert_eq!(
        summary["cloud_sync_jobs"].as_array().unwrap().len(),
        8,
        "every synchronization job"
    );
    for text in [
        "Contoso Ltd",
        "a63dcc94-feb0-4cee-b63b-c2ab00cf8918",
        "Objects by sync state",
        "Sync freshness",
        "Cloud Sync jobs",
        "2026-10-31 02:47 UTC",
        "How the verdict is decided",
        "Why is this bad?",
        "Rules without findings",
    ] {
        assert!(html.contains(text), "the page lacks {text:?}");
    }
    // Every finding reaches the table, each rule with findings has its section.
    let findings = embedded_findings(&html);
    assert_eq!(findings.len(), json["findings"].as_array().unwrap().len());
    for rule in json["rules"].as_array().unwrap() {
        let name = rule["rule"].as_str().unwrap();
        let section = html.contains(&format!("id=\"rule-{name}\""));
        assert_eq!(section, rule["outcome"] == "failed", "section of {name}");
    }
}

#[test]
fn hostile_values_are_escaped_in_the_markup_and_intact_in_the_json() {
    let dir = tempfile::tempdir().unwrap();
    let (cloud, onprem) = hostile_tenant(dir.path());
    let mut audit = common::audit(&cloud, &onprem);
    assert_eq!(audit.tenant_summary.tenant_name.as_deref(), Some(HOSTILE));
    // Rule docs come from --rules-dir files too: they are not trusted either.
    let rule = audit.findings[0].rule.clone();
    audit.rule_docs.insert(
        rule.clone(),
        format!("## What it does\n{HOSTILE} [x](javascript:alert(3)) `<b>` https://evil.example/\"onload=\"x\n## Remediation\n- {HOSTILE}\n"),
    );
    let html = report::html::render(&audit).unwrap();

    assert_self_contained(&html);
    assert!(
        !html.contains("<script>alert"),
        "a hostile <script> got through"
    );
    assert!(!html.contains("<img"), "a hostile <img> got through");
    assert!(!html.contains("<b>"), "markup in rule docs got through");
    // The template's autoescape (minijinja's HTML escape also escapes `/`).
    assert!(
        html.contains("<h1>Ann &quot;&lt;script&gt;alert(1)&lt;&#x2f;script&gt;&quot; &amp; &#x27;Co&#x27; &lt;&#x2f;ZoË 日本"),
        "the tenant name is not shown escaped"
    );
    // The hostile rule docs are escaped by the Markdown renderer (it marks its output safe).
    assert!(
        html.contains("Ann &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot; &amp; &#39;Co&#39;")
    );
    // A javascript: link keeps its text and loses its target; the bare https URL is a reference.
    assert!(!html.to_ascii_lowercase().contains("javascript:alert(3)\""));
    assert!(html.contains("&lt;/ZoË 日本\u{2028} x <code>&lt;b&gt;</code>"));
    assert!(html.contains(
        "<a class=\"url\" href=\"https://evil.example/\" rel=\"noopener noreferrer\">https://evil.example/</a>&quot;onload=&quot;x"
    ));

    let findings = embedded_findings(&html);
    let mismatch = findings
        .iter()
        .find(|f| f["rule"] == "object-type-mismatch")
        .expect("the ObjectTypeMismatch finding");
    assert_eq!(mismatch["onprem_distinguished_name"], HOSTILE_DN);
    assert!(mismatch["message"].as_str().unwrap().contains(HOSTILE));
}

/// A --rules-dir rule's docs are untrusted Markdown: raw HTML in them is shown as text, and a
/// link keeps its target only when it is http, https or relative.
#[test]
fn rule_docs_raw_html_and_script_links_stay_text() {
    let dir = tempfile::tempdir().unwrap();
    let (cloud, onprem) = hostile_tenant(dir.path());
    let mut audit = common::audit(&cloud, &onprem);
    let rule = audit.findings[0].rule.clone();
    audit.rule_docs.insert(
        rule.clone(),
        "## What it does\n<div onclick=\"alert(1)\"><iframe src=\"https://evil.example/\"></iframe></div>\n\n\
         Click [here](javascript:alert(2)), [there](JAVASCRIPT&colon;alert(3)), [data](data:text/html;base64,PHNjcmlwdD4=), \
         [far](//evil.example/x) or <svg/onload=alert(4)>. ![pixel](https://tracker.example/p.gif)\n\n\
         ## References\n- [Docs](https://learn.microsoft.com/entra/identity/hybrid/connect/)\n"
            .to_owned(),
    );
    let html = report::html::render(&audit).unwrap();
    assert_self_contained(&html);

    let section_start = html
        .find(&format!("id=\"rule-{rule}\""))
        .expect("the rule's section");
    let section = &html[section_start..];
    let section = &section[..section.find("</article>").unwrap_or(section.len())];
    let lower = section.to_ascii_lowercase();
    for gone in [
        "<div onclick",
        "<iframe",
        "<svg/onload",
        "<img",
        "javascript:",
        "data:text",
    ] {
        assert!(!lower.contains(gone), "{gone} got through: {section}");
    }
    assert!(
        section.contains("&lt;iframe src=&quot;https://evil.example/&quot;&gt;"),
        "{section}"
    );
    assert!(section.contains("&lt;svg/onload=alert(4)&gt;"), "{section}");
    // The refused links keep their words, the image its alt text; the reference is a link.
    for words in ["Click here, there, data, far or", "pixel"] {
        assert!(section.contains(words), "{words:?} missing: {section}");
    }
    assert!(section.contains(
        "<a class=\"ref\" href=\"https://learn.microsoft.com/entra/identity/hybrid/connect/\" rel=\"noopener noreferrer\">Docs</a>"
    ));
    let hrefs = tags(section)
        .into_iter()
        .flat_map(|t| t.attrs)
        .filter(|(k, v)| k == "href" && !v.starts_with('#'))
        .count();
    assert_eq!(hrefs, 1, "only the reference leaves the page: {section}");
}

/// 50,000 findings: the page stays one file of bounded size whose table is paged by the script
/// (the markup holds 10 examples per rule, not 50,000 rows), and the JSON keeps every finding.
#[test]
fn fifty_thousand_findings_travel_as_json_not_markup() {
    let dir = tempfile::tempdir().unwrap();
    let (cloud, onprem) = hostile_tenant(dir.path());
    let mut audit: AuditReport = common::audit(&cloud, &onprem);
    let template = audit.findings[0].clone();
    audit.findings = (0..50_000)
        .map(|i| {
            let mut f = template.clone();
            f.id = format!("{}:{i:016x}", f.rule);
            f.cloud_object_id = Some(format!("c-{i}"));
            f.severity = if i % 7 == 0 {
                Severity::Critical
            } else {
                Severity::High
            };
            f
        })
        .collect();
    let started = std::time::Instant::now();
    let html = report::html::render(&audit).unwrap();
    eprintln!(
        "rendered 50,000 findings in {:?}: {} bytes",
        started.elapsed(),
        html.len()
    );
    assert_eq!(embedded_findings(&html).len(), 50_000);
    let rows = tags(&html).iter().filter(|t| t.name == "tr").count();
    assert!(
        rows < 200,
        "{rows} table rows in the markup: findings must be paged by script"
    );
    assert!(html.contains("50,000"), "the total is shown without script");
}

/// The verdict follows its stated rule, worst first: severe findings, then gaps in what was
/// checked, then warnings; muted findings (left out of `active`) do not count.
#[test]
fn verdict_follows_its_rule() {
    use entra_audit::testing::audit::findings::{Finding, RuleOutcome};
    use entra_audit::testing::outputs::report::html::readiness;

    let dir = tempfile::tempdir().unwrap();
    let (cloud, onprem) = hostile_tenant(dir.path());
    let mut audit = common::audit(&cloud, &onprem);
    let all: Vec<&Finding> = audit.findings.iter().collect();
    let v = readiness(&audit, &all);
    assert_eq!((v.level, v.label), ("not-ready", "Not ready"), "{v:?}");
    assert!(v.reasons[0].contains("1 high"), "{v:?}");

    // The tiny tenant has no synchronization jobs: the Cloud Sync rules were not evaluated.
    let medium: Vec<&Finding> = all
        .iter()
        .copied()
        .filter(|f| f.severity == Severity::Medium)
        .collect();
    assert!(!medium.is_empty());
    let v = readiness(&audit, &medium);
    assert_eq!(v.level, "incomplete", "{v:?}");
    assert!(
        v.reasons
            .iter()
            .any(|r| r.contains("not evaluated") && r.contains("cloud-sync-quarantine")),
        "{v:?}"
    );

    audit
        .rules
        .retain(|r| !matches!(r.outcome, RuleOutcome::NotEvaluated { .. }));
    let medium_count = medium.len();
    let v = readiness(&audit, &medium);
    assert_eq!(v.level, "warnings", "{v:?}");
    assert!(
        v.reasons
            .iter()
            .any(|r| r.contains(&format!("{medium_count} medium")))
    );

    for rule in &mut audit.rules {
        rule.caveats.clear();
    }
    let v = readiness(&audit, &[]);
    assert_eq!((v.level, v.label), ("ready", "Ready"), "{v:?}");
    assert!(v.reasons.is_empty());
}
