//! Tests of token acquisition against the in-process simulator (a real server on
//! 127.0.0.1:0): client secret, certificate assertion, device code, the cache, endpoint
//! validation, national clouds, and that no secret reaches an error or `Debug` output.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::credential::secret_for_tests;
use super::*;
use crate::simulate::model::SimTenant;
use crate::simulate::{ClientApp, ServerOptions, SimServer};

const TENANT: &str = "0785ef7c-1111-4a2b-9c3d-5e6f7a8b9c0d";
const CLIENT: &str = "9a3d526c-2222-4b5c-8d9e-0f1a2b3c4d5e";
const SECRET: &str = "auth-test~S3cr3t.value";
const CERT: &str = include_str!("../../../fixtures/simulator/test-only-client.cert.pem");
const KEY: &str = include_str!("../../../fixtures/simulator/test-only-client.key.pem");
const OTHER_KEY: &str = include_str!("../../../fixtures/simulator/test-only-other.key.pem");
const THUMBPRINT: &str = "AAJcoMwnAPjN_8d71ADwRUAb_2QO_Bu4qW7D25A634I";

fn options() -> ServerOptions {
    let mut o = ServerOptions::for_tests(CLIENT, SECRET);
    o.apps = vec![ClientApp::with_secret(CLIENT, SECRET).with_certificate(CERT)];
    o
}

async fn start(options: ServerOptions) -> SimServer {
    let tenant = SimTenant {
        tenant_id: TENANT.into(),
        initial_domain: "contoso.onmicrosoft.com".into(),
        ..SimTenant::default()
    };
    SimServer::start(tenant, options).await.unwrap()
}

/// Authority and Graph both at the simulator.
fn endpoints(server: &SimServer) -> Endpoints {
    Endpoints::new(
        Cloud::Global,
        Some(server.base_url()),
        Some(server.base_url()),
    )
    .unwrap()
}

fn client(server: &SimServer, credential: Credential) -> TokenClient {
    TokenClient::new(
        endpoints(server),
        TENANT,
        CLIENT,
        credential,
        OAuthHttp::new().unwrap(),
    )
    .unwrap()
}

fn secret_client(server: &SimServer, secret: &str) -> TokenClient {
    client(server, Credential::ClientSecret(Secret::new(secret)))
}

fn cert_credential(key: &str) -> Credential {
    let pem = format!("{key}\n{CERT}");
    Credential::Certificate(Arc::new(CertificateCredential::from_pem(&pem).unwrap()))
}

/// Graph's answer to a request with `token`.
async fn graph_status(server: &SimServer, token: &AccessToken) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/v1.0/users?$top=1", server.base_url()))
        .bearer_auth(&token.secret)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn token_requests(server: &SimServer) -> u64 {
    server.handle().stats().token_requests
}

#[tokio::test]
async fn client_secret_gets_an_app_token_graph_accepts() {
    let server = start(options()).await;
    let token = secret_client(&server, SECRET).acquire().await.unwrap();
    assert!(!token.delegated);
    assert!(token.expires_at > std::time::Instant::now() + Duration::from_mins(50));
    assert_eq!(graph_status(&server, &token).await, 200);
}

#[tokio::test]
async fn wrong_secret_names_aadsts_tenant_and_client_but_not_the_secret() {
    let server = start(options()).await;
    let wrong = "wrong~Secret.value-123";
    let err = secret_client(&server, wrong).acquire().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(text.contains("invalid_client"), "{text}");
    assert!(text.contains("Invalid client secret provided"), "{text}");
    assert!(text.contains(TENANT) && text.contains(CLIENT), "{text}");
    assert!(
        !text.contains("Trace ID"),
        "only the first description line: {text}"
    );
    assert!(!text.contains(wrong) && !text.contains(SECRET), "{text}");
    assert!(!format!("{err:?}").contains(wrong));
}

#[tokio::test]
async fn wrong_tenant_error_does_not_leak_the_right_secret() {
    let server = start(options()).await;
    let c = TokenClient::new(
        endpoints(&server),
        "other.onmicrosoft.com",
        CLIENT,
        Credential::ClientSecret(Secret::new(SECRET)),
        OAuthHttp::new().unwrap(),
    )
    .unwrap();
    let text = c.acquire().await.unwrap_err().to_string();
    assert!(text.contains("AADSTS90002"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
}

#[test]
fn client_assertion_header_and_claims_follow_the_spec() {
    let Credential::Certificate(cert) = cert_credential(KEY) else {
        unreachable!()
    };
    assert_eq!(cert.thumbprint_s256(), THUMBPRINT);
    let aud = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
    let jwt = cert.client_assertion(aud, CLIENT).unwrap();
    let parts: Vec<&str> = jwt.expose().split('.').collect();
    assert_eq!(parts.len(), 3);
    let decode =
        |p: &str| -> Value { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap() };
    let header = decode(parts[0]);
    assert_eq!(header["alg"], "PS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["x5t#S256"], THUMBPRINT);
    let claims = decode(parts[1]);
    assert_eq!(claims["aud"], aud);
    assert_eq!(claims["iss"], CLIENT);
    assert_eq!(claims["sub"], CLIENT);
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 36);
    assert_eq!(jti.matches('-').count(), 4);
    let nbf = claims["nbf"].as_i64().unwrap();
    assert_eq!(claims["iat"].as_i64(), Some(nbf));
    assert_eq!(claims["exp"].as_i64(), Some(nbf + 600));
    assert!((nbf - chrono::Utc::now().timestamp()).abs() < 5);
    let other = cert.client_assertion(aud, CLIENT).unwrap();
    assert_ne!(jwt, other, "jti differs per assertion");
    assert_eq!(format!("{jwt:?} {jwt}"), "Secret(<redacted>) <redacted>");
    assert!(!format!("{cert:?}").contains("PRIVATE"));
}

#[tokio::test]
async fn certificate_assertion_is_accepted() {
    let server = start(options()).await;
    let token = client(&server, cert_credential(KEY))
        .acquire()
        .await
        .unwrap();
    assert!(!token.delegated);
    assert_eq!(graph_status(&server, &token).await, 200);
}

#[tokio::test]
async fn assertion_signed_with_another_key_is_rejected_without_echoing_it() {
    let server = start(options()).await;
    let err = client(&server, cert_credential(OTHER_KEY))
        .acquire()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("AADSTS700027"), "{text}");
    assert!(
        text.contains("certificate sign-in") && text.contains(CLIENT),
        "{text}"
    );
    // A JWT starts with the base64url of `{"`: no assertion in the message.
    assert!(!text.contains("eyJ"), "{text}");
}

#[test]
fn certificate_pem_problems_are_explained() {
    let no_key = CertificateCredential::from_pem(CERT)
        .unwrap_err()
        .to_string();
    assert!(no_key.contains("no PRIVATE KEY"), "{no_key}");
    let no_cert = CertificateCredential::from_pem(KEY)
        .unwrap_err()
        .to_string();
    assert!(no_cert.contains("no CERTIFICATE"), "{no_cert}");
    let encrypted =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let enc = CertificateCredential::from_pem(&format!("{encrypted}{CERT}"))
        .unwrap_err()
        .to_string();
    assert!(enc.contains("encrypted"), "{enc}");
}

/// The TEST-ONLY PFX fixtures (fixtures/simulator/README.md): the client key and certificate in
/// OpenSSL 3's default (AES-256-CBC, PBKDF2, SHA-256 MAC) and `-legacy` (RC2-40 / 3DES, SHA-1
/// MAC) encryption, a certificate without its key, and an EC key.
#[cfg(feature = "pfx")]
mod pfx {
    use std::path::{Path, PathBuf};

    use super::*;

    const PASSWORD: &str = "test-only-pfx-password";

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/simulator")
            .join(name)
    }

    fn read(name: &str, password: Option<&str>) -> Result<CertificateCredential, AuthError> {
        let password = password.map(Secret::new);
        CertificateCredential::from_file_with_password(&fixture(name), password.as_ref())
    }

    #[tokio::test]
    async fn modern_and_legacy_pfx_sign_assertions_the_simulator_accepts() {
        let server = start(options()).await;
        for name in ["test-only-client.pfx", "test-only-client.legacy.pfx"] {
            let cert = read(name, Some(PASSWORD)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(cert.thumbprint_s256(), THUMBPRINT, "{name}");
            let token = client(&server, Credential::Certificate(Arc::new(cert)))
                .acquire()
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!token.delegated);
            assert_eq!(graph_status(&server, &token).await, 200, "{name}");
        }
    }

    #[test]
    fn pem_and_base64_pfx_are_told_apart_by_content() {
        let dir = tempfile::tempdir().unwrap();
        // A PEM file named .pfx is still PEM.
        let pem = dir.path().join("client.pfx");
        std::fs::write(&pem, format!("{KEY}\n{CERT}")).unwrap();
        let cert = CertificateCredential::from_file_with_password(&pem, None).unwrap();
        assert_eq!(cert.thumbprint_s256(), THUMBPRINT);
        // A PFX held as base64 text (as Key Vault exports it) is a PFX.
        let der = std::fs::read(fixture("test-only-client.pfx")).unwrap();
        let b64 = dir.path().join("client.txt");
        std::fs::write(&b64, base64::engine::general_purpose::STANDARD.encode(der)).unwrap();
        let password = Secret::new(PASSWORD);
        let cert = CertificateCredential::from_file_with_password(&b64, Some(&password)).unwrap();
        assert_eq!(cert.thumbprint_s256(), THUMBPRINT);
        let junk = dir.path().join("junk.bin");
        std::fs::write(&junk, b"\x01\x02 not a certificate").unwrap();
        let err = CertificateCredential::from_file_with_password(&junk, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("junk.bin") && err.contains("neither PEM nor PFX"),
            "{err}"
        );
    }

    #[test]
    fn pfx_problems_name_the_file_and_the_cause_but_never_the_password() {
        let wrong = "Wr0ng-but-s3cret-password";
        let cases = [
            ("test-only-client.pfx", Some(wrong), "wrong PFX password"),
            (
                "test-only-client.legacy.pfx",
                Some(wrong),
                "wrong PFX password",
            ),
            (
                "test-only-client.pfx",
                None,
                "set AZURE_CLIENT_CERTIFICATE_PASSWORD",
            ),
            ("test-only-cert-only.pfx", Some(PASSWORD), "no private key"),
            ("test-only-ec.pfx", Some(PASSWORD), "not RSA"),
        ];
        for (name, password, expected) in cases {
            let err = read(name, password).unwrap_err().to_string();
            assert!(err.contains(name), "{name}: {err}");
            assert!(err.contains(expected), "{name}: {err}");
            assert!(!err.contains(wrong) && !err.contains(PASSWORD), "{err}");
        }
    }
}

/// Approves (or declines) the first device code that shows up, from another task, once the
/// client has polled twice: the first poll has then certainly been told
/// `authorization_pending`.
fn approve_when_pending(server: &SimServer, decline: bool) -> tokio::task::JoinHandle<String> {
    let handle = server.handle().clone();
    tokio::spawn(async move {
        loop {
            let polled_twice = handle.stats().token_requests >= 3;
            if let Some(code) = handle
                .pending_user_codes()
                .into_iter()
                .next()
                .filter(|_| polled_twice)
            {
                let done = if decline {
                    handle.decline_device_code(&code)
                } else {
                    handle.approve_device_code(&code)
                };
                assert!(done);
                return code;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

fn device_options() -> ServerOptions {
    let mut o = options();
    o.device_code.interval = Duration::from_secs(1);
    o
}

fn device_credential(prompts: &Arc<Mutex<Vec<String>>>) -> Credential {
    let prompts = Arc::clone(prompts);
    Credential::DeviceCode(Arc::new(move |message: &str| {
        prompts.lock().unwrap().push(message.to_owned());
    }))
}

#[tokio::test]
async fn device_code_waits_for_approval_then_gets_a_delegated_token() {
    let server = start(device_options()).await;
    let prompts = Arc::new(Mutex::new(Vec::new()));
    let c = client(&server, device_credential(&prompts));
    let approver = approve_when_pending(&server, false);
    let started = std::time::Instant::now();
    let token = c.acquire().await.unwrap();
    let user_code = approver.await.unwrap();
    assert!(token.delegated);
    // Two `authorization_pending` answers, each followed by a wait of `interval` (1 s).
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(
        token_requests(&server) >= 4,
        "devicecode + 2 pending + success"
    );
    assert_eq!(graph_status(&server, &token).await, 200);
    {
        let prompts = prompts.lock().unwrap();
        assert_eq!(prompts.len(), 1);
        assert!(prompts[0].contains(&user_code), "{}", prompts[0]);
    }
    // Renewal uses the refresh token: no second prompt.
    let renewed = c.acquire().await.unwrap();
    assert!(renewed.delegated);
    assert_ne!(renewed.secret, token.secret);
    assert_eq!(prompts.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn declined_device_code_is_an_error() {
    let server = start(device_options()).await;
    let prompts = Arc::new(Mutex::new(Vec::new()));
    let decliner = approve_when_pending(&server, true);
    let err = client(&server, device_credential(&prompts))
        .acquire()
        .await
        .unwrap_err();
    decliner.await.unwrap();
    let text = err.to_string();
    assert!(text.contains("authorization_declined"), "{text}");
    assert!(text.contains("declined the sign-in"), "{text}");
}

#[tokio::test]
async fn cache_returns_the_same_token_and_renews_after_invalidate() {
    let server = start(options()).await;
    let source = CachedTokenSource::new(secret_client(&server, SECRET));
    let first = source.token().await.unwrap();
    let again = source.token().await.unwrap();
    assert_eq!(first.secret, again.secret);
    assert_eq!(token_requests(&server), 1);

    source.invalidate(&first);
    let renewed = source.token().await.unwrap();
    assert_ne!(renewed.secret, first.secret);
    assert_eq!(token_requests(&server), 2);

    // A stale rejection does not drop the newer token.
    source.invalidate(&first);
    assert_eq!(source.token().await.unwrap().secret, renewed.secret);
    assert_eq!(token_requests(&server), 2);
}

#[tokio::test]
async fn cache_renews_tokens_with_a_minute_or_less_left() {
    let mut o = options();
    o.token_lifetime = Duration::from_mins(1);
    let server = start(o).await;
    let source = CachedTokenSource::new(secret_client(&server, SECRET));
    let a = source.token().await.unwrap();
    let b = source.token().await.unwrap();
    assert_ne!(a.secret, b.secret);
    assert_eq!(token_requests(&server), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_renewal() {
    let server = start(options()).await;
    let source = Arc::new(CachedTokenSource::new(secret_client(&server, SECRET)));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let source = Arc::clone(&source);
            tokio::spawn(async move { source.token().await.unwrap().secret })
        })
        .collect();
    let mut secrets = Vec::new();
    for t in tasks {
        secrets.push(t.await.unwrap());
    }
    secrets.dedup();
    assert_eq!(secrets.len(), 1);
    assert_eq!(token_requests(&server), 1);
}

#[test]
fn plain_http_only_for_loopback() {
    for bad in [
        "http://login.example.com",
        "http://10.0.0.1:8080",
        "http://127.example.com",
        "http://[fe80::1]",
    ] {
        let err = Endpoints::new(Cloud::Global, Some(bad), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("loopback") && err.contains(bad), "{err}");
        let err = Endpoints::new(Cloud::Global, None, Some(bad))
            .unwrap_err()
            .to_string();
        assert!(err.contains("Graph endpoint"), "{err}");
    }
    for (raw, expect) in [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://127.1.2.3", "http://127.1.2.3"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("http://LOCALHOST:5", "http://localhost:5"),
        ("https://login.example.com/", "https://login.example.com"),
    ] {
        let e = Endpoints::new(Cloud::Global, Some(raw), Some(raw)).unwrap();
        assert_eq!(e.authority(), expect);
        assert_eq!(e.graph(), expect);
    }
    for bad in [
        "ftp://login.example.com",
        "login.example.com",
        "https://u:p@x.example",
    ] {
        assert!(
            Endpoints::new(Cloud::Global, Some(bad), None).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn national_cloud_hosts() {
    let table = [
        (
            "global",
            "https://login.microsoftonline.com",
            "https://graph.microsoft.com",
        ),
        (
            "usgov",
            "https://login.microsoftonline.us",
            "https://graph.microsoft.us",
        ),
        (
            "usgov-dod",
            "https://login.microsoftonline.us",
            "https://dod-graph.microsoft.us",
        ),
        (
            "china",
            "https://login.chinacloudapi.cn",
            "https://microsoftgraph.chinacloudapi.cn",
        ),
    ];
    for (name, login, graph) in table {
        let cloud: Cloud = name.parse().unwrap();
        assert_eq!(cloud.to_string(), name);
        let e = Endpoints::for_cloud(cloud);
        assert_eq!(e, Endpoints::new(cloud, None, None).unwrap());
        assert_eq!(e.authority(), login);
        assert_eq!(e.graph_scope(), format!("{graph}/.default"));
        assert_eq!(
            e.token_url("t.example"),
            format!("{login}/t.example/oauth2/v2.0/token")
        );
    }
    assert_eq!("USGov-DoD".parse::<Cloud>().unwrap(), Cloud::UsGovDod);
    assert!(
        "germany"
            .parse::<Cloud>()
            .unwrap_err()
            .to_string()
            .contains("usgov-dod")
    );
    // Overrides replace one host and keep the other.
    let e = Endpoints::new(
        Cloud::China,
        Some("https://login.partner.microsoftonline.cn"),
        None,
    )
    .unwrap();
    assert_eq!(e.authority(), "https://login.partner.microsoftonline.cn");
    assert_eq!(e.graph(), "https://microsoftgraph.chinacloudapi.cn");
}

#[test]
fn client_secret_comes_from_a_trimmed_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    std::fs::write(&path, format!("  {SECRET}\r\n")).unwrap();
    let s = secret_for_tests(Some(&path), Some("from-env".into())).unwrap();
    assert_eq!(s.expose(), SECRET, "the file wins and is trimmed");
    let s = secret_for_tests(None, Some(format!("{SECRET}\n"))).unwrap();
    assert_eq!(s.expose(), SECRET);
    let none = secret_for_tests(None, None).unwrap_err().to_string();
    assert!(none.contains("AZURE_CLIENT_SECRET"), "{none}");
    std::fs::write(&path, " \n").unwrap();
    let empty = secret_for_tests(Some(&path), None).unwrap_err().to_string();
    assert!(empty.contains("empty"), "{empty}");
    let missing = secret_for_tests(Some(&dir.path().join("nope")), None).unwrap_err();
    assert!(missing.to_string().contains("nope"));
}

#[tokio::test]
async fn the_secret_never_appears_in_debug_or_errors() {
    let server = start(options()).await;
    let secret = Secret::new(SECRET);
    let mut shown = vec![format!("{secret:?}"), format!("{secret}")];
    let credential = Credential::ClientSecret(secret);
    shown.push(format!("{credential:?}"));
    let source = CachedTokenSource::new(client(&server, credential.clone()));
    shown.push(format!("{source:?}"));
    let token = source.token().await.unwrap();
    let token_debug = format!("{token:?}");
    assert!(!token_debug.contains(&token.secret));
    // Unreachable token endpoint (nothing listens on port 9 of loopback).
    let unreachable = TokenClient::new(
        Endpoints::new(Cloud::Global, Some("http://127.0.0.1:9"), None).unwrap(),
        TENANT,
        CLIENT,
        credential.clone(),
        OAuthHttp::new().unwrap(),
    )
    .unwrap();
    let err = unreachable.acquire().await.unwrap_err();
    assert!(err.to_string().contains("could not be reached"), "{err}");
    shown.push(format!("{err} {err:?}"));
    // Unknown client id: AADSTS700016.
    let unknown = TokenClient::new(
        endpoints(&server),
        TENANT,
        "00000000-0000-0000-0000-000000000001",
        credential,
        OAuthHttp::new().unwrap(),
    )
    .unwrap();
    let err = unknown.acquire().await.unwrap_err();
    assert!(err.to_string().contains("AADSTS700016"), "{err}");
    shown.push(format!("{err} {err:?}"));
    for text in shown {
        assert!(!text.contains(SECRET), "{text}");
    }
}

#[test]
fn tenant_and_client_are_checked() {
    let e = Endpoints::for_cloud(Cloud::Global);
    let bad = TokenClient::new(
        e.clone(),
        "../evil",
        CLIENT,
        Credential::ClientSecret(Secret::new(SECRET)),
        OAuthHttp::new().unwrap(),
    )
    .unwrap_err();
    assert!(bad.to_string().contains("not a tenant id"), "{bad}");
    let no_client = TokenClient::new(
        e,
        TENANT,
        " ",
        Credential::ClientSecret(Secret::new(SECRET)),
        OAuthHttp::new().unwrap(),
    )
    .unwrap_err();
    assert!(no_client.to_string().contains("client id"));
}
