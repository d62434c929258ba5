//! Against a real Active Directory domain controller: Samba 4.17's AD DC (the same LDAP and
//! schema behaviour as Windows AD for what is read here), provisioned by `tests/samba/dc.sh` into
//! a temporary directory and served on loopback inside a network namespace that holds only `lo`,
//! so nothing it does can leave the machine. One DC serves every check below (provisioning and
//! populating take about 15 s); `tests/samba/company.ldif.in` is the company and its ground truth.
//!
//! It proves that `collect-ad` (over LDAPS and over `StartTLS`) and the exports admins make
//! (`ldapsearch -LLL`, plain and paged `ldapsearch`, `ldbsearch`) import to the same objects and
//! audit to identical findings, and that a wrong password, an unreachable server and an untrusted
//! CA give clear errors and no output file.
//!
//! It needs root and `unshare` (skipped with a message otherwise) and the Debian packages
//! `samba ldap-utils ldb-tools` (`.ci/run` installs them; missing packages fail the test, since
//! a skip there would hide that the real-DC proof never ran).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const FILTER: &str = "(|(objectClass=user)(objectClass=contact)(objectClass=group))";

/// A running DC; stopped (samba and the namespace holder, by their pids) when dropped.
struct Dc {
    dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
}

impl Drop for Dc {
    fn drop(&mut self) {
        let _ = Command::new(script("dc.sh"))
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

impl Dc {
    fn var(&self, name: &str) -> &str {
        &self.env[name]
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `program args` inside the DC's network namespace.
    fn in_namespace(&self, program: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
        let mut command = Command::new("nsenter");
        command
            .args(["-t", self.var("NS_PID"), "-n"])
            .arg(program)
            .args(args);
        for (k, v) in envs {
            command.env(k, v);
        }
        command.output().expect("nsenter runs")
    }

    fn password(&self) -> String {
        std::fs::read_to_string(self.var("PASSWORD_FILE")).unwrap()
    }

    /// `ldapsearch` of users, contacts and groups with `extra` options, into `file`.
    fn ldapsearch(&self, file: &str, extra: &[&str]) -> PathBuf {
        let path = self.path(file);
        std::fs::write(&path, self.search(FILTER, extra)).unwrap();
        path
    }

    /// `ldapsearch` output for `filter` (every attribute); the password through `-y FILE`.
    fn search(&self, filter: &str, extra: &[&str]) -> Vec<u8> {
        let mut args = vec![
            "-o",
            "ldif-wrap=no",
            "-x",
            "-H",
            "ldap://127.0.0.1",
            "-D",
            self.var("BIND_DN"),
            "-y",
            self.var("PASSWORD_FILE"),
            "-b",
            self.var("BASE"),
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[filter, "*"]);
        let output = self.in_namespace(Path::new("ldapsearch"), &args, &[]);
        assert!(output.status.success(), "ldapsearch {extra:?}: {output:?}");
        output.stdout
    }

    /// `entra-audit collect-ad` against this DC.
    fn collect_ad(&self, args: &[&str], password: &str) -> Output {
        let mut all = vec!["collect-ad", "--bind", self.var("BIND_DN")];
        all.extend_from_slice(args);
        self.in_namespace(
            &entra_audit(),
            &all,
            &[("ENTRA_AUDIT_LDAP_PASSWORD", password)],
        )
    }
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/samba")
        .join(name)
}

fn entra_audit() -> PathBuf {
    assert_cmd::cargo::cargo_bin("entra-audit")
}

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Starts the DC, or says why this machine cannot run one (`None`).
fn start() -> Option<Dc> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !root || !on_path("unshare") || !on_path("nsenter") {
        eprintln!(
            "SKIPPED: the domain-controller tests need root and unshare/nsenter (Samba provisions \
             as root, in its own network namespace); run them as root, as .ci/run does"
        );
        return None;
    }
    for tool in ["samba", "samba-tool", "ldapsearch", "ldbsearch"] {
        assert!(
            on_path(tool),
            "{tool} is not installed: apt-get install samba ldap-utils ldb-tools (.ci/run does)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(script("dc.sh"))
        .arg("start")
        .arg(dir.path())
        .output()
        .unwrap();
    let env = std::fs::read_to_string(dir.path().join("dc.env")).unwrap_or_default();
    let dc = Dc {
        env: env
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        dir,
    };
    assert!(
        output.status.success(),
        "dc.sh start failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(dc)
}

/// `check --onprem FILE` (the on-prem side alone) and its findings.json.
fn audit(dc: &Dc, export: &Path, name: &str) -> Value {
    let out = dc.path(&format!("out-{name}"));
    let run = Command::new(entra_audit())
        .arg("check")
        .arg("--onprem")
        .arg(export)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.code().is_some_and(|c| c <= 1),
        "{name}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap()
}

/// What must be identical between exports of the same directory: the findings, every rule's
/// outcome, and how many objects of each class were imported, none rejected.
fn comparable(report: &Value) -> Value {
    serde_json::json!({
        "findings": report["findings"],
        "rules": report["rules"],
        "objects": report["inputs"]["onprem_objects"],
        "rejected": report["inputs"]["rejected_count"],
    })
}

#[test]
fn against_a_real_domain_controller() {
    let Some(dc) = start() else { return };
    let reference = every_export_dialect_and_collect_ad_audit_identically(&dc);
    check_with_ad_server_audits_like_the_exports(&dc, &reference);
    the_planted_company_is_read_as_it_is(&reference);
    built_ins_and_the_connector_account_are_never_in_scope(&dc, &reference);
    bad_credentials_unreachable_servers_and_untrusted_cas_fail_clearly(&dc);
    doctor_checks_the_ldap_side(&dc);
}

/// `doctor --ad-server` without a tenant: connects, binds, reads the rootDSE and a page, and
/// names what Samba's schema lacks (Exchange's attributes), exiting 1 for it.
fn doctor_checks_the_ldap_side(dc: &Dc) {
    let run = dc.in_namespace(
        &entra_audit(),
        &[
            "doctor",
            "--ad-server",
            "ldaps://127.0.0.1",
            "--bind",
            dc.var("BIND_DN"),
            "--ca-file",
            dc.var("CA_FILE"),
        ],
        &[("ENTRA_AUDIT_LDAP_PASSWORD", &dc.password())],
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("connected and bound as Administrator@corp.contoso.com")
            && stdout.contains("base DN: DC=corp,DC=contoso,DC=com")
            && stdout.contains("55 users, contacts and groups on the first page"),
        "{stdout}"
    );
    let missing = stdout
        .lines()
        .find_map(|l| l.split_once("/PrepareSchema): ").map(|(_, names)| names))
        .unwrap_or_default();
    assert!(missing.contains("mailNickname"), "{stdout}");
    for present in [
        "objectGUID",
        "proxyAddresses",
        "mS-DS-ConsistencyGuid",
        "userAccountControl",
    ] {
        assert!(
            !missing.split(", ").any(|m| m == present),
            "{present}: {stdout}"
        );
    }
}

fn every_export_dialect_and_collect_ad_audit_identically(dc: &Dc) -> Value {
    let ldbsearch = {
        let args = ["-H", dc.var("SAM_LDB"), "-b", dc.var("BASE"), FILTER, "*"];
        let output = dc.in_namespace(Path::new("ldbsearch"), &args, &[]);
        assert!(output.status.success(), "ldbsearch: {output:?}");
        let path = dc.path("ldbsearch.ldif");
        std::fs::write(&path, output.stdout).unwrap();
        path
    };
    // Pages of 7 entries, so the ~58-entry search takes several pages.
    let exports = [
        ("lll", dc.ldapsearch("lll.ldif", &["-LLL"])),
        ("plain", dc.ldapsearch("plain.ldif", &[])),
        (
            "paged",
            dc.ldapsearch("paged.ldif", &["-E", "pr=7/noprompt"]),
        ),
        (
            "lll-paged",
            dc.ldapsearch("lll-paged.ldif", &["-LLL", "-E", "pr=7/noprompt"]),
        ),
        ("ldbsearch", ldbsearch),
    ];
    let paged = std::fs::read_to_string(&exports[2].1).unwrap();
    assert!(
        paged.matches("pagedresults:").count() > 2 && paged.contains("\nref: "),
        "the paged export has several pages and search references"
    );

    let password = dc.password();
    let ldaps = dc.path("ldaps.json");
    let run = dc.collect_ad(
        &[
            "--server",
            "ldaps://127.0.0.1",
            "--ca-file",
            dc.var("CA_FILE"),
            "--out",
            ldaps.to_str().unwrap(),
        ],
        &password,
    );
    assert!(run.status.success(), "collect-ad over LDAPS: {run:?}");
    let summary = String::from_utf8_lossy(&run.stderr);
    assert!(
        summary.contains("collect-ad: 55 objects (2 contact, 41 group, 12 user)")
            && summary.contains("below DC=corp,DC=contoso,DC=com"),
        "the base DN comes from the rootDSE and every object is read: {summary}"
    );
    assert!(
        !summary.contains(&password),
        "the password is never printed"
    );
    let start_tls = dc.path("starttls.json");
    let run = dc.collect_ad(
        &[
            "--server",
            "ldap://127.0.0.1",
            "--start-tls",
            "--ca-file",
            dc.var("CA_FILE"),
            "--out",
            start_tls.to_str().unwrap(),
        ],
        &password,
    );
    assert!(run.status.success(), "collect-ad over StartTLS: {run:?}");
    assert_eq!(
        std::fs::read(&ldaps).unwrap(),
        std::fs::read(&start_tls).unwrap(),
        "LDAPS and StartTLS read the same directory"
    );

    let reference = audit(dc, &exports[0].1, "lll");
    for (name, export) in exports.iter().skip(1) {
        assert_eq!(
            comparable(&audit(dc, export, name)),
            comparable(&reference),
            "{name} audits like ldapsearch -LLL"
        );
    }
    assert_eq!(
        comparable(&audit(dc, &ldaps, "collect-ad")),
        comparable(&reference),
        "collect-ad's output audits like ldapsearch -LLL"
    );
    reference
}

/// `check --ad-server` collects into OUT/ad.json and audits it in one go.
fn check_with_ad_server_audits_like_the_exports(dc: &Dc, reference: &Value) {
    let out = dc.path("out-check-ad-server");
    let run = dc.in_namespace(
        &entra_audit(),
        &[
            "check",
            "--ad-server",
            "ldaps://127.0.0.1",
            "--bind",
            dc.var("BIND_DN"),
            "--ca-file",
            dc.var("CA_FILE"),
            "--out",
            out.to_str().unwrap(),
        ],
        &[("ENTRA_AUDIT_LDAP_PASSWORD", &dc.password())],
    );
    assert!(
        run.status.code().is_some_and(|c| c <= 1),
        "check --ad-server: {run:?}"
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap();
    assert_eq!(
        comparable(&report),
        comparable(reference),
        "check --ad-server"
    );
    assert_eq!(
        report["inputs"]["onprem"][0]["path"],
        out.join("ad.json").to_str().unwrap()
    );
}

/// Ground truth from company.ldif.in: the planted duplicate anchor is found (Carol's copy of
/// Bob's ADMT value) and nothing else on the on-prem side; the deleted leaver and the computers
/// are not imported.
fn the_planted_company_is_read_as_it_is(report: &Value) {
    assert_eq!(
        report["inputs"]["onprem_objects"],
        serde_json::json!({"contact": 2, "group": 41, "user": 12}),
        "3 built-in users + 9 planted (the leaver is deleted), 38 built-in groups + 3, 2 contacts"
    );
    assert_eq!(
        report["inputs"]["onprem"][0]["skipped"],
        serde_json::json!({"computer": 3}),
        "the DC and two workstations are skipped as computers"
    );
    let findings = report["findings"].as_array().unwrap();
    // Which of the two is reported and which is "the other" follows their objectGUIDs, which
    // each provisioning draws anew.
    let duplicate: Vec<[&str; 2]> = findings
        .iter()
        .filter(|f| f["rule"] == "duplicate-source-anchor")
        .map(|f| {
            let mut pair = [
                f["onprem_distinguished_name"].as_str().unwrap(),
                f["evidence"]["other_onprem_distinguished_name"]
                    .as_str()
                    .unwrap(),
            ];
            pair.sort_unstable();
            pair
        })
        .collect();
    assert_eq!(
        duplicate,
        [[
            r"CN=Jones\, Carol,OU=Staff,DC=corp,DC=contoso,DC=com",
            r"CN=Smith\, Bob,OU=Staff,DC=corp,DC=contoso,DC=com"
        ]]
    );
    assert_eq!(
        findings[0]["value"], "3q2+796tvu/erb7v3q2+7w==",
        "the ADMT value as the anchor"
    );
}

/// AD's built-in objects (the server marks them isCriticalSystemObject: Administrator, Guest,
/// krbtgt, the built-in groups) and the MSOL_ connector account are scoped out, with the reason,
/// and no finding names them; the mail-less contact is out too. The server's own answer is the
/// ground truth for which objects are critical.
fn built_ins_and_the_connector_account_are_never_in_scope(dc: &Dc, report: &Value) {
    let critical_ldif = dc.search(
        "(&(isCriticalSystemObject=TRUE)(|(objectClass=user)(objectClass=group))(!(objectClass=computer)))",
        &["-LLL"],
    );
    let mut critical: Vec<String> = String::from_utf8(critical_ldif)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("dn: "))
        .map(str::to_owned)
        .collect();
    critical.sort();
    assert!(
        critical.len() > 30
            && critical.contains(&"CN=Administrator,CN=Users,DC=corp,DC=contoso,DC=com".to_owned())
            && critical.contains(&"CN=krbtgt,CN=Users,DC=corp,DC=contoso,DC=com".to_owned()),
        "{critical:?}"
    );
    let scope = &report["inputs"]["scope"];
    let out_of_scope = |reason: &str| -> Vec<String> {
        let mut dns: Vec<String> = scope["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["reason"] == reason)
            .map(|o| o["distinguished_name"].as_str().unwrap().to_owned())
            .collect();
        dns.sort();
        dns
    };
    assert_eq!(out_of_scope("critical-system-object"), critical);
    assert_eq!(
        out_of_scope("connector-account"),
        ["CN=MSOL_0123456789ab,CN=Users,DC=corp,DC=contoso,DC=com"]
    );
    assert_eq!(
        out_of_scope("contact-not-mail-enabled"),
        ["CN=Vendor Without Mail,OU=Contacts,DC=corp,DC=contoso,DC=com"]
    );
    let scoped_out: Vec<&str> = scope["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["distinguished_name"].as_str().unwrap())
        .collect();
    for finding in report["findings"].as_array().unwrap() {
        let text = finding.to_string();
        for dn in &scoped_out {
            assert!(
                !text.contains(&dn.replace('\\', "\\\\")),
                "an out-of-scope object in a finding: {dn}: {text}"
            );
        }
    }
}

fn bad_credentials_unreachable_servers_and_untrusted_cas_fail_clearly(dc: &Dc) {
    let out = dc.path("failed.json");
    let out_arg = out.to_str().unwrap();
    let ca = dc.var("CA_FILE");
    let other_ca = dc.path("other-ca.pem");
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=not the DC's CA", "-keyout"])
        .arg(dc.path("other-ca.key"))
        .arg("-out")
        .arg(&other_ca)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let other_ca = other_ca.to_str().unwrap();
    let cases: [(&str, Vec<&str>, &str, &str); 4] = [
        (
            "wrong password",
            vec!["--server", "ldaps://127.0.0.1", "--ca-file", ca],
            "not-the-password",
            "refused the bind as Administrator@corp.contoso.com",
        ),
        (
            "nothing listening",
            vec!["--server", "ldaps://127.0.0.1:1636", "--ca-file", ca],
            "",
            "cannot connect to ldaps://127.0.0.1:1636",
        ),
        (
            "untrusted CA (LDAPS)",
            vec!["--server", "ldaps://127.0.0.1", "--ca-file", other_ca],
            "",
            "not issued by a trusted CA: pass the CA that issued the DC's certificate with --ca-file",
        ),
        (
            "untrusted CA (StartTLS)",
            vec![
                "--server",
                "ldap://127.0.0.1",
                "--start-tls",
                "--ca-file",
                other_ca,
            ],
            "",
            "not issued by a trusted CA",
        ),
    ];
    let password = dc.password();
    for (what, mut args, bad_password, expected) in cases {
        args.extend_from_slice(&["--out", out_arg]);
        let password = if bad_password.is_empty() {
            password.as_str()
        } else {
            bad_password
        };
        let run = dc.collect_ad(&args, password);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains(expected), "{what}: {stderr}");
        assert!(!stderr.contains(password), "{what}: the password leaked");
        assert!(!out.exists(), "{what}: no output file");
        let partial = std::fs::read_dir(dc.dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().ends_with(".partial"));
        assert!(!partial, "{what}: no partial file left behind");
    }
}
