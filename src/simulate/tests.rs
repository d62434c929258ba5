//! Integration-style tests of the simulated tenant: a real server on 127.0.0.1:0, a real HTTP
//! client (reqwest), and the Microsoft docs samples in `fixtures/graph-samples/` as the reference
//! for response shapes. Each test starts its own server, so they run in parallel.

// A test tells one story from request to assertion; splitting it would hide the story.
#![allow(clippy::too_many_lines)]

use std::collections::BTreeSet;
use std::io::Read as _;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::faults::{FaultKind, FaultOptions, FaultRule};
use super::model::{
    DirectoryRole, DirectorySynchronization, Domain, Group, OrgContact, Organization,
    ProvisioningError, Quarantine, ServicePrincipal, SimTenant, SyncError, SyncJob, SyncSchedule,
    SyncStatus, TaskExecution, User, VerifiedDomain,
};
use super::server::{ServerOptions, SimServer};
use super::throttle::ThrottleOptions;
use super::token::ClientApp;

pub(super) const TENANT: &str = "0785ef7c-1111-4a2b-9c3d-5e6f7a8b9c0d";
const DOMAIN: &str = "contoso.onmicrosoft.com";
pub(super) const CLIENT: &str = "9a3d526c-2222-4b5c-8d9e-0f1a2b3c4d5e";
const SECRET: &str = "sim-secret~value";
const CLOUD_SYNC_APP: &str = "1a4721b3-e57f-4451-ae87-ef078703ec94";
pub(super) const CLOUD_SYNC_SP: &str = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb";
pub(super) const QUARANTINED_JOB: &str = "AD2AADProvisioning.fd1c9b9e8077402c8bc03a7186c8f976";
const CERT: &str = include_str!("../../fixtures/simulator/test-only-client.cert.pem");
const KEY: &str = include_str!("../../fixtures/simulator/test-only-client.key.pem");
const OTHER_KEY: &str = include_str!("../../fixtures/simulator/test-only-other.key.pem");
const THUMBPRINT: &str = "AAJcoMwnAPjN_8d71ADwRUAb_2QO_Bu4qW7D25A634I";

pub(super) fn sample(name: &str) -> Value {
    let path = format!(
        "{}/fixtures/graph-samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(super) fn guid(n: usize) -> String {
    format!("{n:08x}-0000-4000-8000-{n:012x}")
}

fn execution(escrowed: i64) -> TaskExecution {
    TaskExecution {
        activity_identifier: Some(guid(9)),
        count_escrowed: escrowed,
        count_escrowed_raw: escrowed,
        state: "Succeeded".into(),
        time_began: "2026-11-20T16:15:21.116098Z".into(),
        time_ended: "2026-11-20T16:17:24.7488681Z".into(),
        ..TaskExecution::default()
    }
}

fn job(id: &str, code: &str, quarantine: Option<Quarantine>) -> SyncJob {
    SyncJob {
        id: id.into(),
        template_id: "AD2AADProvisioning".into(),
        schedule: SyncSchedule {
            expiration: None,
            interval: "PT2M".into(),
            state: "Active".into(),
        },
        status: SyncStatus {
            code: code.into(),
            last_execution: Some(execution(15)),
            last_successful_execution: Some(execution(0)),
            quarantine,
            steady_state_first_achieved_time: "2026-11-08T15:48:05.7360238Z".into(),
            steady_state_last_achieved_time: "2026-11-20T16:17:24.7957721Z".into(),
            ..SyncStatus::default()
        },
        synchronization_job_settings: Vec::new(),
        service_principal_id: CLOUD_SYNC_SP.into(),
        included_containers: Vec::new(),
        user_scoping_clauses: Vec::new(),
    }
}

/// A small hand-made tenant (the generator is not part of these tests).
pub(super) fn tenant(users: usize) -> SimTenant {
    let conflict = ProvisioningError {
        category: "PropertyConflict".into(),
        occurred_date_time: "2026-10-01T10:00:00Z".into(),
        property_causing_error: "ProxyAddress".into(),
        value: "smtp:dup@contoso.com".into(),
    };
    let users = (0..users)
        .map(|n| User {
            id: guid(n),
            business_phones: vec![],
            display_name: Some(format!("User {n}")),
            given_name: Some("User".into()),
            surname: Some(format!("{n}")),
            mail: Some(format!("user{n}@contoso.com")),
            user_principal_name: format!("user{n}@contoso.com"),
            mail_nickname: Some(format!("user{n}")),
            proxy_addresses: vec![
                format!("SMTP:user{n}@contoso.com"),
                format!("smtp:u{n}@contoso.mail.onmicrosoft.com"),
            ],
            account_enabled: Some(true),
            user_type: Some("Member".into()),
            on_premises_immutable_id: (n % 2 == 0).then(|| format!("imm{n}==")),
            on_premises_sync_enabled: (n % 2 == 0).then_some(true),
            on_premises_provisioning_errors: if n % 10 == 3 {
                vec![conflict.clone()]
            } else {
                vec![]
            },
            created_date_time: Some("2024-01-02T03:04:05Z".into()),
            ..User::default()
        })
        .collect();
    SimTenant {
        tenant_id: TENANT.into(),
        initial_domain: DOMAIN.into(),
        organization: Organization {
            id: TENANT.into(),
            display_name: "Contoso".into(),
            on_premises_sync_enabled: Some(true),
            on_premises_last_sync_date_time: Some("2026-11-21T10:00:00Z".into()),
            on_premises_last_password_sync_date_time: Some("2026-11-21T10:02:00Z".into()),
            verified_domains: vec![VerifiedDomain {
                capabilities: "Email, OfficeCommunicationsOnline".into(),
                is_default: true,
                is_initial: true,
                name: DOMAIN.into(),
                kind: "Managed".into(),
            }],
        },
        domains: vec![Domain {
            id: "contoso.com".into(),
            authentication_type: "Managed".into(),
            is_verified: true,
            is_default: true,
            is_root: true,
            supported_services: vec!["Email".into()],
            ..Domain::default()
        }],
        users,
        contacts: vec![OrgContact {
            id: guid(5000),
            display_name: Some("Partner".into()),
            mail: Some("partner@fabrikam.com".into()),
            proxy_addresses: vec!["SMTP:partner@fabrikam.com".into()],
            on_premises_sync_enabled: Some(true),
            ..OrgContact::default()
        }],
        groups: vec![Group {
            id: guid(6000),
            display_name: Some("Sales".into()),
            mail: Some("sales@contoso.com".into()),
            mail_enabled: true,
            proxy_addresses: vec!["SMTP:sales@contoso.com".into()],
            on_premises_provisioning_errors: vec![conflict],
            ..Group::default()
        }],
        directory_roles: vec![DirectoryRole {
            id: guid(7000),
            display_name: "Global Administrator".into(),
            description: "Can manage all aspects of Microsoft Entra ID".into(),
            role_template_id: "62e90394-69f5-4237-9190-012177145e10".into(),
            members: vec![
                (guid(1), "#microsoft.graph.user".into()),
                (guid(6000), "#microsoft.graph.group".into()),
            ],
            eligible: Vec::new(),
        }],
        service_principals: vec![
            ServicePrincipal {
                id: CLOUD_SYNC_SP.into(),
                app_id: CLOUD_SYNC_APP.into(),
                app_display_name: Some(
                    "Active Directory to Azure Active Directory Provisioning".into(),
                ),
                application_template_id: None,
                display_name: "contoso.com".into(),
                publisher_name: Some("Active Directory Application Registry".into()),
                service_principal_names: vec![
                    "http://adapplicationregistry.onmicrosoft.com/adprovisioningtoaad/primary"
                        .into(),
                    CLOUD_SYNC_APP.into(),
                ],
                tags: vec!["WindowsAzureActiveDirectoryIntegratedApp".into()],
            },
            ServicePrincipal {
                id: guid(8001),
                app_id: guid(8002),
                display_name: "Payroll".into(),
                ..ServicePrincipal::default()
            },
        ],
        sync_jobs: vec![
            job(
                QUARANTINED_JOB,
                "Quarantine",
                Some(Quarantine {
                    current_began: "2026-11-20T16:17:24Z".into(),
                    next_attempt: "2026-11-21T04:17:24Z".into(),
                    reason: "TooManyDeletes".into(),
                    series_began: "2026-11-20T16:17:24Z".into(),
                    series_count: 2,
                    error: Some(SyncError {
                        code: "TooManyDeletes".into(),
                        message: "The job exceeded the accidental-delete threshold.".into(),
                        tenant_actionable: true,
                    }),
                }),
            ),
            job("AD2AADPasswordHash.0123456789abcdef", "Active", None),
        ],
        directory_synchronization: DirectorySynchronization {
            id: TENANT.into(),
            configuration:
                sample("onPremisesDirectorySynchronization-get.response.json")["configuration"]
                    .clone(),
            features: sample("onPremisesDirectorySynchronization-get.response.json")["features"]
                .clone(),
        },
        // User 2 (synced) was converted to cloud management.
        cloud_managed: [guid(2)].into_iter().collect(),
        onprem: vec![],
        ground_truth: vec![],
        planted_cases: vec![],
    }
}

pub(super) fn options() -> ServerOptions {
    let mut o = ServerOptions::for_tests(CLIENT, SECRET);
    o.apps = vec![ClientApp::with_secret(CLIENT, SECRET).with_certificate(CERT)];
    o
}

async fn start(users: usize, options: ServerOptions) -> SimServer {
    SimServer::start(tenant(users), options).await.unwrap()
}

pub(super) fn http() -> reqwest::Client {
    // Bounded waits: a hung server fails the test instead of hanging it.
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn token_url(base: &str) -> String {
    format!("{base}/{TENANT}/oauth2/v2.0/token")
}

async fn post_form(url: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = http().post(url).form(form).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

pub(super) async fn app_token(base: &str) -> String {
    let scope = "https://graph.microsoft.com/.default";
    let (status, body) = post_form(
        &token_url(base),
        &[
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("scope", scope),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn get(base: &str, token: &str, path: &str) -> reqwest::Response {
    http()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

pub(super) async fn get_json(base: &str, token: &str, path: &str) -> (StatusCode, Value) {
    let r = get(base, token, path).await;
    let status = r.status();
    (status, r.json().await.unwrap())
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks that `ours` has the shape of a docs sample: every property of the sample with the same
/// JSON type (a `null` in the sample says nothing about the type), nested objects and first
/// array elements alike. With `exact`, `ours` may hold no other property than the sample's and
/// `allowed_extra`.
pub(super) fn assert_shape(
    sample: &Value,
    ours: &Value,
    allowed_extra: &[&str],
    exact: bool,
    at: &str,
) {
    match (sample, ours) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(s), Value::Object(o)) => {
            for (k, sv) in s {
                let ov = o
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}: missing property '{k}' in {ours}"));
                assert_shape(sv, ov, allowed_extra, exact, &format!("{at}.{k}"));
            }
            if exact {
                for k in o.keys() {
                    assert!(
                        s.contains_key(k) || allowed_extra.contains(&k.as_str()),
                        "{at}: property '{k}' is not in the sample"
                    );
                }
            }
        }
        (Value::Array(s), Value::Array(o)) => {
            if let (Some(sf), Some(of)) = (s.first(), o.first()) {
                assert_shape(sf, of, allowed_extra, exact, &format!("{at}[0]"));
            }
        }
        (s, o) => assert_eq!(
            json_type(s),
            json_type(o),
            "{at}: sample has {s}, simulator has {o}"
        ),
    }
}

fn assertion(key_pem: &str, alg: Algorithm, claims: &Value, x5t_s256: Option<&str>) -> String {
    let mut header = Header::new(alg);
    header.typ = Some("JWT".into());
    header.x5t_s256 = x5t_s256.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn claims(base: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "aud": token_url(base),
        "iss": CLIENT,
        "sub": CLIENT,
        "jti": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "nbf": now,
        "iat": now,
        "exp": now + 600,
    })
}

async fn assertion_request(base: &str, jwt: &str) -> (StatusCode, Value) {
    post_form(
        &token_url(base),
        &[
            ("client_id", CLIENT),
            ("scope", &format!("{base}/.default")),
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", jwt),
        ],
    )
    .await
}

fn aadsts(body: &Value) -> u64 {
    body["error_codes"][0].as_u64().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Token endpoint

/// Client secret in the form and as HTTP Basic both work, and the answer has the shape of the
/// docs' client-credentials sample; the token is opaque and works on Graph.
#[tokio::test]
async fn client_secret_grants_an_app_token_with_the_documented_shape() {
    let server = start(3, options()).await;
    let base = server.base_url();
    let (status, body) = post_form(
        &token_url(base),
        &[
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_shape(
        &sample("token-client-credentials.success.json"),
        &body,
        &["ext_expires_in"],
        true,
        "token",
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);

    // RFC 6749 §2.3.1: HTTP Basic with form-encoded id and secret; the initial domain works as
    // the tenant.
    let r = http()
        .post(format!("{base}/{DOMAIN}/oauth2/v2.0/token"))
        .basic_auth(CLIENT, Some(SECRET.replace('~', "%7E")))
        .form(&[
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = get_json(base, &token, "/v1.0/organization").await;
    assert_eq!(status, StatusCode::OK);
}

/// A token request and what it must get: (url, form, status, OAuth error, AADSTS code).
type TokenCase<'a> = (String, Vec<(&'a str, &'a str)>, StatusCode, &'a str, u64);

/// Each credential or request mistake gets its AADSTS code, status and the error body of the
/// docs' sample (plus `error_uri`, which Entra sends too).
#[tokio::test]
async fn token_errors_carry_aadsts_codes_and_the_documented_body() {
    let server = start(1, options()).await;
    let base = server.base_url();
    let scope = "https://graph.microsoft.com/.default";
    let cases: [TokenCase; 7] = [
        (
            token_url(base),
            vec![
                ("client_id", CLIENT),
                ("client_secret", "wrong"),
                ("scope", scope),
                ("grant_type", "client_credentials"),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_215,
        ),
        (
            format!("{base}/not-a-tenant.onmicrosoft.com/oauth2/v2.0/token"),
            vec![
                ("client_id", CLIENT),
                ("client_secret", SECRET),
                ("scope", scope),
                ("grant_type", "client_credentials"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90_002,
        ),
        (
            token_url(base),
            vec![
                ("client_id", "11111111-0000-0000-0000-000000000000"),
                ("client_secret", SECRET),
                ("scope", scope),
                ("grant_type", "client_credentials"),
            ],
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700_016,
        ),
        (
            token_url(base),
            vec![
                ("client_id", CLIENT),
                ("client_secret", SECRET),
                ("scope", "https://graph.microsoft.com/User.Read.All"),
                ("grant_type", "client_credentials"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1_002_012,
        ),
        (
            token_url(base),
            vec![
                ("client_id", CLIENT),
                ("client_secret", SECRET),
                ("scope", "https://foo.microsoft.com/.default"),
                ("grant_type", "client_credentials"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500_011,
        ),
        (
            token_url(base),
            vec![
                ("client_id", CLIENT),
                ("client_secret", SECRET),
                ("scope", scope),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900_144,
        ),
        (
            token_url(base),
            vec![
                ("client_id", CLIENT),
                ("scope", scope),
                ("grant_type", "client_credentials"),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_218,
        ),
    ];
    let reference = sample("token-error.400.json");
    for (url, form, status, error, code) in cases {
        let (got_status, body) = post_form(&url, &form).await;
        assert_eq!(got_status, status, "{body}");
        assert_eq!(body["error"], error, "{body}");
        assert_eq!(aadsts(&body), code, "{body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.starts_with(&format!("AADSTS{code}: ")),
            "{description}"
        );
        assert!(description.contains("\r\nTrace ID: "), "{description}");
        assert_shape(&reference, &body, &["error_uri"], true, "token error");
    }
    assert_eq!(server.handle().stats().token_requests, 7);
}

/// A client assertion signed with the registered certificate's key (PS256, or RS256) and naming
/// it by `x5t#S256` is accepted; every documented check rejects its own mistake.
#[tokio::test]
async fn client_assertions_are_verified() {
    let server = start(1, options()).await;
    let base = server.base_url();
    let good = claims(base);

    for alg in [Algorithm::PS256, Algorithm::RS256] {
        let (status, body) =
            assertion_request(base, &assertion(KEY, alg, &good, Some(THUMBPRINT))).await;
        assert_eq!(status, StatusCode::OK, "{alg:?}: {body}");
        assert!(body["access_token"].is_string());
    }

    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!(format!(
        "https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
    ));
    let mut expired = good.clone();
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
    expired["nbf"] = json!(chrono::Utc::now().timestamp() - 4000);
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("someone-else");
    let cases = [
        (
            "other key",
            assertion(OTHER_KEY, Algorithm::PS256, &good, Some(THUMBPRINT)),
            700_027,
            "signature",
        ),
        (
            "unknown thumbprint",
            assertion(KEY, Algorithm::PS256, &good, Some("bm90LXRoZS1jZXJ0")),
            700_027,
            "key was not found",
        ),
        (
            "no thumbprint",
            assertion(KEY, Algorithm::PS256, &good, None),
            700_027,
            "key was not found",
        ),
        (
            "audience",
            assertion(KEY, Algorithm::PS256, &wrong_aud, Some(THUMBPRINT)),
            50_012,
            "audience",
        ),
        (
            "expired",
            assertion(KEY, Algorithm::PS256, &expired, Some(THUMBPRINT)),
            700_024,
            "valid time range",
        ),
        (
            "issuer",
            assertion(KEY, Algorithm::PS256, &wrong_iss, Some(THUMBPRINT)),
            700_021,
            "doesn't match",
        ),
    ];
    for (what, jwt, code, words) in cases {
        let (status, body) = assertion_request(base, &jwt).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(body["error"], "invalid_client", "{what}");
        assert_eq!(aadsts(&body), code, "{what}: {body}");
        assert!(
            body["error_description"].as_str().unwrap().contains(words),
            "{what}: {body}"
        );
    }
    let (status, body) = assertion_request(base, "not.a.jwt").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(aadsts(&body), 50_027);
}

/// Device code: the documented fields, `authorization_pending` until the test hook approves, then
/// a delegated token shaped like the docs' sample that may read `onPremisesSynchronization`,
/// while an app-only token gets 403 `Authorization_RequestDenied`.
#[tokio::test]
async fn device_code_flow_is_pending_until_approved() {
    let server = start(2, options()).await;
    let base = server.base_url();
    let scope = "https://graph.microsoft.com/OnPremDirectorySynchronization.Read.All openid profile email offline_access";
    let (status, dc) = post_form(
        &format!("{base}/organizations/oauth2/v2.0/devicecode"),
        &[("client_id", CLIENT), ("scope", scope)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{dc}");
    for field in ["device_code", "user_code", "verification_uri", "message"] {
        assert!(dc[field].is_string(), "{field}: {dc}");
    }
    assert_eq!(dc["expires_in"], 900);
    assert_eq!(dc["interval"], 5);
    let user_code = dc["user_code"].as_str().unwrap();
    assert!(dc["message"].as_str().unwrap().contains(user_code));
    let device_code = dc["device_code"].as_str().unwrap();

    let poll = || async {
        post_form(
            &token_url(base),
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", CLIENT),
                ("device_code", device_code),
            ],
        )
        .await
    };
    for _ in 0..2 {
        let (status, body) = poll().await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "authorization_pending");
        assert_eq!(aadsts(&body), 70_016);
    }
    assert_eq!(server.handle().pending_user_codes(), [user_code]);

    // Approve through the HTTP hook, as a person at the verification page would.
    let r = http()
        .post(dc["verification_uri"].as_str().unwrap())
        .form(&[("user_code", user_code), ("action", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, token) = poll().await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_shape(
        &sample("token-device-code.success.json"),
        &token,
        &["ext_expires_in"],
        true,
        "device token",
    );
    assert!(
        token["scope"]
            .as_str()
            .unwrap()
            .contains("OnPremDirectorySynchronization.Read.All")
    );
    // The code is single use.
    assert_eq!(poll().await.0, StatusCode::BAD_REQUEST);

    let delegated = token["access_token"].as_str().unwrap();
    let (status, body) =
        get_json(base, delegated, "/v1.0/directory/onPremisesSynchronization").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"][0]["features"]["blockSoftMatchEnabled"], false);
    let (status, body) = get_json(
        base,
        delegated,
        &format!("/beta/directory/onPremisesSynchronization/{TENANT}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_shape(
        &sample("onPremisesDirectorySynchronization-get.response.json"),
        &body,
        &[],
        true,
        "onPremisesSynchronization",
    );

    let app = app_token(base).await;
    let (status, body) = get_json(base, &app, "/v1.0/directory/onPremisesSynchronization").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");

    // A refresh token gives a new delegated token.
    let (status, refreshed) = post_form(
        &token_url(base),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", token["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");

    // Declining through the handle ends the flow.
    let (_, dc2) = post_form(
        &format!("{base}/{TENANT}/oauth2/v2.0/devicecode"),
        &[("client_id", CLIENT), ("scope", "User.Read")],
    )
    .await;
    assert!(
        server
            .handle()
            .decline_device_code(dc2["user_code"].as_str().unwrap())
    );
    let (status, body) = post_form(
        &token_url(base),
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", CLIENT),
            ("device_code", dc2["device_code"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "authorization_declined");
}

/// Missing, unknown and expired tokens get 401 `InvalidAuthenticationToken` with Graph's messages
/// and error body.
#[tokio::test]
async fn graph_refuses_missing_unknown_and_expired_tokens() {
    let mut o = options();
    o.token_lifetime = Duration::from_millis(300);
    let server = start(2, o).await;
    let base = server.base_url();
    let token = app_token(base).await;
    assert_eq!(
        get(base, &token, "/v1.0/users").await.status(),
        StatusCode::OK
    );

    let r = http()
        .get(format!("{base}/v1.0/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(body["error"]["message"], "Access token is empty.");

    let (status, body) = get_json(base, "made-up", "/v1.0/users").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");

    tokio::time::sleep(Duration::from_millis(350)).await;
    let (status, body) = get_json(base, &token, "/v1.0/users").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["error"]["message"],
        "Lifetime validation failed, the token is expired."
    );
    assert_shape(
        &sample("advanced-query-count-missing.error.json"),
        &body,
        &[],
        true,
        "401 body",
    );

    // The handle's hook expires every token at once.
    let fresh = app_token(base).await;
    server.handle().expire_all_tokens();
    assert_eq!(
        get(base, &fresh, "/v1.0/users").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(server.handle().stats().unauthorized, 4);
}

// ---------------------------------------------------------------------------------------------
// OData

/// Without `$select` users carry exactly Graph's default property set (so the sync fields are
/// missing, as on Graph), with `$select` exactly the selected ones; an unknown property is 400.
#[tokio::test]
async fn users_default_property_set_versus_select() {
    let server = start(5, options()).await;
    let base = server.base_url();
    let token = app_token(base).await;

    let (status, body) = get_json(base, &token, "/v1.0/users").await;
    assert_eq!(status, StatusCode::OK);
    let defaults: BTreeSet<&str> = User::DEFAULT_PROPERTIES.into_iter().collect();
    for user in body["value"].as_array().unwrap() {
        let keys: BTreeSet<&str> = user
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, defaults);
    }
    assert_shape(
        &sample("users-list.response.json"),
        &body,
        &[],
        true,
        "users",
    );
    assert_eq!(
        body["@odata.context"],
        format!("{base}/v1.0/$metadata#users")
    );

    let (status, body) = get_json(
        base,
        &token,
        "/v1.0/users?$select=id,onPremisesImmutableId,ONPREMISESSYNCENABLED",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["@odata.context"],
        format!("{base}/v1.0/$metadata#users(id,onPremisesImmutableId,onPremisesSyncEnabled)")
    );
    let first = body["value"][0].as_object().unwrap();
    let keys: BTreeSet<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["id", "onPremisesImmutableId", "onPremisesSyncEnabled"])
    );
    assert_eq!(first["onPremisesImmutableId"], "imm0==");

    let (status, body) = get_json(base, &token, "/v1.0/users?$select=id,nosuchThing").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "BadRequest");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nosuchThing")
    );

    // One user by id or by UPN, same default set.
    let (status, one) = get_json(base, &token, "/v1.0/users/user2@contoso.com").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["id"], guid(2));
    assert!(one.get("onPremisesImmutableId").is_none());
    let (status, missing) = get_json(base, &token, "/v1.0/users/nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["error"]["code"], "Request_ResourceNotFound");
}

/// Following `@odata.nextLink` verbatim visits every user exactly once; a tampered or re-used
/// skiptoken is refused; `$top` above 999 is 400.
#[tokio::test]
async fn paging_follows_next_links_and_guards_skiptokens() {
    let server = start(250, options()).await;
    let base = server.base_url();
    let token = app_token(base).await;

    let mut url = format!("{base}/v1.0/users?$select=id,displayName&$top=100");
    let mut seen = BTreeSet::new();
    let mut pages = 0;
    let mut links = Vec::new();
    while pages < 10 {
        let r = http().get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        pages += 1;
        for u in body["value"].as_array().unwrap() {
            assert!(
                seen.insert(u["id"].as_str().unwrap().to_owned()),
                "duplicate {u}"
            );
        }
        match body["@odata.nextLink"].as_str() {
            Some(next) => {
                links.push(next.to_owned());
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 250);
    assert!(links[0].starts_with(&format!("{base}/v1.0/users?")));
    assert!(links[0].contains("$select=id,displayName") && links[0].contains("$skiptoken="));

    // Default page size without $top.
    let (_, body) = get_json(base, &token, "/v1.0/users?$select=id").await;
    assert_eq!(body["value"].as_array().unwrap().len(), 100);

    // A tampered token, and a token replayed with another query.
    let tampered = links[0].replace("$skiptoken=", "$skiptoken=x");
    let r = http()
        .get(&tampered)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let other_query = links[0].replace("$select=id,displayName", "$select=id");
    let r = http()
        .get(&other_query)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let (status, body) = get_json(base, &token, "/v1.0/users?$top=1000").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "Request_BadRequest");
    let (status, body) = get_json(base, &token, "/v1.0/users?$top=999&$select=id").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["value"].as_array().unwrap().len(), 250);
    assert!(body.get("@odata.nextLink").is_none());
}

/// The supported `$filter` subset selects the right objects; `ne`, `not` and `endswith` need
/// advanced query parameters and are 400 `Request_UnsupportedQuery` without them.
#[tokio::test]
async fn filters_follow_the_supported_subset() {
    let server = start(40, options()).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let count_of = |body: &Value| body["value"].as_array().unwrap().len();

    let ok = [
        (
            "/v1.0/users?$filter=onPremisesSyncEnabled eq true&$select=id",
            20,
        ),
        (
            "/v1.0/users?$filter=onPremisesProvisioningErrors/any(o:o/category eq 'PropertyConflict')&$select=id",
            4,
        ),
        (
            "/v1.0/users?$filter=onPremisesProvisioningErrors/any(o:o/propertyCausingError eq 'ProxyAddress')&$select=id",
            4,
        ),
        (
            "/v1.0/users?$filter=proxyAddresses/any(p:p eq 'smtp:USER7@contoso.com')",
            1,
        ),
        (
            "/v1.0/users?$filter=startswith(userPrincipalName,'user1')",
            11,
        ),
        (
            "/v1.0/groups?$filter=onPremisesProvisioningErrors/any(o:o/category eq 'PropertyConflict')",
            1,
        ),
        (
            &*format!("/v1.0/servicePrincipals?$filter=appId eq '{CLOUD_SYNC_APP}'"),
            1,
        ),
        (
            &*format!(
                "/v1.0/servicePrincipals?$filter=servicePrincipalNames/any(p:p eq '{CLOUD_SYNC_APP}')"
            ),
            1,
        ),
        (
            &*format!(
                "/v1.0/servicePrincipals?$filter=applicationTemplateId eq '{CLOUD_SYNC_APP}'"
            ),
            0,
        ),
        (
            "/v1.0/servicePrincipals?$filter=startswith(displayName,'contoso')",
            1,
        ),
    ];
    for (path, expected) in ok {
        let (status, body) = get_json(base, &token, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(count_of(&body), expected, "{path}");
    }

    for path in [
        "/v1.0/users?$filter=displayName ne 'x'",
        "/v1.0/users?$filter=not(onPremisesSyncEnabled eq true)",
        "/v1.0/users?$filter=endswith(mail,'@contoso.com')",
        "/v1.0/users?$filter=onPremisesSamAccountName eq 'ann'",
        "/v1.0/users?$filter=onPremisesProvisioningErrors/any(o:o/value eq 'x')",
    ] {
        let (status, body) = get_json(base, &token, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(body["error"]["code"], "Request_UnsupportedQuery", "{path}");
    }

    // With ConsistencyLevel: eventual and $count=true the same queries are advanced queries.
    let r = http()
        .get(format!(
            "{base}/v1.0/users?$filter=endswith(mail,'0@contoso.com')&$count=true&$select=id"
        ))
        .bearer_auth(&token)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["@odata.count"], 4);
    assert_eq!(count_of(&body), 4);
}

/// `$count=true` without `ConsistencyLevel: eventual` is silently ignored (200, no
/// `@odata.count`; AQ); with it, `@odata.count` is on the first page only, and the header must
/// be re-sent on every page; `/users/$count` is a plain number and without the header the docs'
/// 400.
#[tokio::test]
async fn count_needs_consistency_level() {
    let server = start(150, options()).await;
    let base = server.base_url();
    let token = app_token(base).await;

    let (status, body) = get_json(base, &token, "/v1.0/users?$count=true&$select=id").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("@odata.count").is_none(), "{body}");
    assert!(!body["value"].as_array().unwrap().is_empty());
    let (status, body) = get_json(base, &token, "/v1.0/users/$count").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let reference = sample("advanced-query-count-missing.error.json");
    assert_shape(&reference, &body, &[], true, "count error");
    assert_eq!(body["error"]["code"], reference["error"]["code"]);
    assert_eq!(body["error"]["message"], reference["error"]["message"]);

    let eventual = |url: String| {
        http()
            .get(url)
            .bearer_auth(&token)
            .header("ConsistencyLevel", "eventual")
            .send()
    };
    let first: Value = eventual(format!("{base}/v1.0/users?$count=true&$select=id"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["@odata.count"], 150);
    let next = first["@odata.nextLink"].as_str().unwrap().to_owned();
    let second: Value = eventual(next.clone()).await.unwrap().json().await.unwrap();
    assert!(second.get("@odata.count").is_none());
    assert_eq!(second["value"].as_array().unwrap().len(), 50);
    // Forgetting the header on the next page fails, as on Graph.
    let r = http().get(&next).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let text = eventual(format!("{base}/v1.0/users/$count"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "150");
    let r = http()
        .get(format!("{base}/v1.0/users/$count"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

/// GET with `ConsistencyLevel: eventual`: status and body text.
async fn get_eventual(base: &str, token: &str, path: &str) -> (StatusCode, String) {
    let r = http()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// What partitioned paging relies on: `startswith(userPrincipalName,'c')` is case-insensitive,
/// takes `''` for a quote and percent-encoded specials, counts with `$count=true` (first page)
/// and on `/users/$count?$filter=`, and the first characters partition the users exactly.
#[tokio::test]
async fn startswith_partitions_count_every_user_once() {
    let mut t = tenant(30);
    t.users[3].user_principal_name = "'quoted@contoso.com".into();
    t.users[4].user_principal_name = "#hash@contoso.com".into();
    t.users[5].user_principal_name = "Zed@contoso.com".into();
    t.users[6].user_principal_name = "~tilde@contoso.com".into();
    let server = SimServer::start(t, options()).await.unwrap();
    let base = server.base_url();
    let token = app_token(base).await;
    let (status, total) = get_eventual(base, &token, "/v1.0/users/$count").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(total, "30");

    let mut sum = 0;
    for c in "abcdefghijklmnopqrstuvwxyz0123456789'.-_!#^~".chars() {
        let literal = if c == '\'' {
            "''".to_owned()
        } else {
            c.to_string()
        };
        let filter = crate::simulate::odata::percent_encode(&format!(
            "startswith(userPrincipalName,'{literal}')"
        ));
        let (status, body) = get_eventual(
            base,
            &token,
            &format!(
                "/v1.0/users?$filter={filter}&$count=true&$select=id,userPrincipalName&$top=999"
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{c}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        let n = body["@odata.count"].as_u64().unwrap();
        let upns: Vec<&str> = body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userPrincipalName"].as_str().unwrap())
            .collect();
        assert_eq!(upns.len() as u64, n, "{c}");
        assert!(
            upns.iter()
                .all(|u| u.to_lowercase().starts_with(c.to_ascii_lowercase())),
            "{c}: {upns:?}"
        );
        let (status, text) = get_eventual(
            base,
            &token,
            &format!("/v1.0/users/$count?$filter={filter}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{c}: {text}");
        assert_eq!(text, n.to_string(), "{c}");
        match c {
            'z' | '\'' | '#' | '~' => assert_eq!(n, 1, "{c}"),
            'u' => assert_eq!(n, 26),
            _ => {}
        }
        sum += n;
    }
    assert_eq!(sum, 30, "the first characters partition the users");
}

/// A filtered page reads folded columns of the partitioned properties (`super::folded`): it
/// matches what the records say after a change (the column is made again), including values
/// whose lower case is not ASCII or not one character (`İ`, the Kelvin sign `K`).
#[tokio::test]
async fn startswith_sees_the_tenant_as_changed_since_the_last_page() {
    let server = start(12, options()).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let count = async |prefix: &str| -> u64 {
        let filter = crate::simulate::odata::percent_encode(&format!(
            "startswith(userPrincipalName,'{prefix}')"
        ));
        let (status, body) = get_eventual(
            base,
            &token,
            &format!("/v1.0/users?$filter={filter}&$count=true&$select=id&$top=999"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{prefix}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        let n = body["@odata.count"].as_u64().unwrap();
        assert_eq!(
            body["value"].as_array().unwrap().len() as u64,
            n,
            "{prefix}"
        );
        n
    };
    assert_eq!(count("kelvin").await, 0);
    assert_eq!(count("i\u{307}van").await, 0);
    server.handle().update_tenant(|t| {
        t.users[0].user_principal_name = "\u{212A}elvin@contoso.com".into();
        t.users[1].user_principal_name = "\u{130}van@contoso.com".into();
        t.users[2].user_principal_name = "KELVIN.two@contoso.com".into();
    });
    // The Kelvin sign folds to an ASCII `k`; `İ` to `i` and a combining dot.
    assert_eq!(count("kelvin").await, 2);
    assert_eq!(count("KEL").await, 2);
    assert_eq!(count("i\u{307}v").await, 1);
    assert_eq!(count("iv").await, 0);
    server.handle().update_tenant(|t| {
        t.users[2].user_principal_name = "other@contoso.com".into();
    });
    assert_eq!(count("kelvin").await, 1);
}

/// The query-level faults: skewed counts, `$count` refused even with the header, and a refused
/// provisioning-error filter while the plain sync filter still works.
#[tokio::test]
async fn count_and_filter_faults_are_observable() {
    let mut o = options();
    o.faults = FaultOptions {
        count_offset: 2,
        refuse_filters: vec!["onPremisesProvisioningErrors".into()],
        ..FaultOptions::default()
    };
    let server = start(40, o).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let (_, total) = get_eventual(base, &token, "/v1.0/users/$count").await;
    assert_eq!(total, "42");
    let (_, body) = get_eventual(base, &token, "/v1.0/users?$count=true&$select=id").await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["@odata.count"], 42);
    assert_eq!(body["value"].as_array().unwrap().len(), 40);

    let (status, body) = get_json(
        base,
        &token,
        "/v1.0/users?$filter=onPremisesProvisioningErrors/any(o:o/category eq 'PropertyConflict')&$select=id",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'onPremisesProvisioningErrors' of resource 'User'"),
        "{body}"
    );
    let (status, _) = get_json(
        base,
        &token,
        "/v1.0/users?$filter=onPremisesSyncEnabled eq true&$select=id",
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let mut o = options();
    o.faults.refuse_count = true;
    let server = start(5, o).await;
    let base = server.base_url();
    let token = app_token(base).await;
    for path in ["/v1.0/users/$count", "/v1.0/users?$count=true"] {
        let (status, body) = get_eventual(base, &token, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(
            body.contains("$count is not currently supported."),
            "{body}"
        );
    }
    let faults = server.handle().stats().faults;
    assert_eq!(faults.get("refused-count"), Some(&2), "{faults:?}");
}

// ---------------------------------------------------------------------------------------------
// Throttling

/// Over the resource-unit budget: 429 with a fractional Retry-After, the documented headers and
/// body; a retry before Retry-After counts as early, one after it succeeds.
#[tokio::test]
async fn throttling_answers_429_and_counts_early_retries() {
    let mut o = options();
    // A window long enough that the budget barely refills between two requests on a loaded
    // machine (at 400 ms the share read after the second request fell below 0.8 under load).
    o.throttle = ThrottleOptions {
        resource_units: Some(4),
        window: Duration::from_secs(4),
        ..ThrottleOptions::default()
    };
    let server = start(5, o).await;
    let base = server.base_url();
    let token = app_token(base).await;

    // GET users costs 2: two fit in 4 units.
    let r1 = get(base, &token, "/v1.0/users").await;
    assert_eq!(r1.status(), StatusCode::OK);
    assert_eq!(r1.headers()["x-ms-resource-unit"], "2");
    assert!(r1.headers().get("x-ms-throttle-limit-percentage").is_none());
    let r2 = get(base, &token, "/v1.0/users").await;
    assert_eq!(r2.status(), StatusCode::OK);
    // Above 0.8 of the limit the share in use is reported (time refills a little).
    let share: f64 = r2.headers()["x-ms-throttle-limit-percentage"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.8..=1.0).contains(&share), "{share}");

    let r3 = get(base, &token, "/v1.0/users").await;
    assert_eq!(r3.status(), StatusCode::TOO_MANY_REQUESTS);
    let h = r3.headers().clone();
    let retry_after = h["retry-after"].to_str().unwrap().to_owned();
    assert!(
        retry_after.contains('.'),
        "fractional like 2.128: {retry_after}"
    );
    let wait: f64 = retry_after.parse().unwrap();
    assert!(wait > 0.0 && wait < 4.0, "{wait}");
    assert_eq!(
        h["x-ms-throttle-scope"],
        format!("Tenant_Application/ReadWrite/{CLIENT}/{TENANT}").as_str()
    );
    assert_eq!(h["x-ms-throttle-information"], "ResourceUnitLimitExceeded");
    assert!(h.contains_key("request-id"));
    let body: Value = r3.json().await.unwrap();
    assert_shape(
        &sample("throttling-429.response-body.json"),
        &body,
        &[],
        true,
        "429",
    );
    assert_eq!(body["error"]["code"], "TooManyRequests");

    // Retrying at once is a violation, and is throttled again.
    let r4 = get(base, &token, "/v1.0/users").await;
    assert_eq!(r4.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: f64 = r4.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(server.handle().stats().early_retries, 1);

    // Waiting as told works and is not a violation.
    tokio::time::sleep(Duration::from_secs_f64(wait + 0.05)).await;
    let r5 = get(base, &token, "/v1.0/users").await;
    assert_eq!(r5.status(), StatusCode::OK);
    let stats = server.handle().stats();
    assert_eq!(stats.early_retries, 1);
    assert_eq!(stats.throttled, 2);
    assert_eq!(stats.resource_units, 10);
    let users = &stats.paths["/v1.0/users"];
    assert_eq!(
        (users.requests, users.throttled, users.early_retries),
        (5, 2, 1)
    );

    // The same counters over HTTP.
    let over_http: Value = http()
        .get(format!("{base}/_simulator/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http["early_retries"], 1);
    assert_eq!(over_http["throttled"], 2);
    assert_eq!(over_http["resourceUnitsPerWindow"], 4);
}

// ---------------------------------------------------------------------------------------------
// Resources

/// Jobs have the docs' shape; start/pause/restart answer 204 and change the status as
/// documented; a bad resetScope is 400 and changes nothing; every write is recorded verbatim.
#[tokio::test]
async fn sync_job_actions_change_state() {
    let server = start(1, options()).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let jobs_path = format!("/v1.0/servicePrincipals/{CLOUD_SYNC_SP}/synchronization/jobs");
    let job_path = format!("{jobs_path}/{QUARANTINED_JOB}");

    let (status, list) = get_json(base, &token, &jobs_path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["value"].as_array().unwrap().len(), 2);
    assert_shape(
        &sample("synchronizationJob-list.response.json"),
        &list,
        &["@odata.context"],
        false,
        "jobs",
    );
    let (status, one) = get_json(base, &token, &job_path).await;
    assert_eq!(status, StatusCode::OK);
    assert_shape(
        &sample("synchronizationJob-get.response.json"),
        &one,
        &["@odata.context"],
        true,
        "job",
    );
    assert_shape(
        &sample("cloudsync-AD2AADProvisioning-job.json"),
        &one,
        &["@odata.context"],
        false,
        "cloud sync job",
    );
    assert_eq!(one["status"]["code"], "Quarantine");
    assert_eq!(one["status"]["quarantine"]["reason"], "TooManyDeletes");

    let post = |action: &str, body: Option<Value>| {
        let mut req = http()
            .post(format!("{base}{job_path}/{action}"))
            .bearer_auth(&token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
    };
    let status_of = || async {
        let (_, job) = get_json(base, &token, &job_path).await;
        job["status"].clone()
    };

    let r = post("pause", None).await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(status_of().await["code"], "Paused");

    let r = post("start", None).await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let s = status_of().await;
    assert_eq!(s["code"], "Active");
    assert!(s["quarantine"].is_null(), "start clears the quarantine");

    // Back into quarantine, then a restart with the documented scope lifts it.
    server.handle().update_tenant(|t| {
        let j = t
            .sync_jobs
            .iter_mut()
            .find(|j| j.id == QUARANTINED_JOB)
            .unwrap();
        j.status.code = "Quarantine".into();
        j.status.quarantine = Some(Quarantine {
            reason: "EncounteredBaseEscrowThreshold".into(),
            ..Quarantine::default()
        });
    });
    let bad = json!({"criteria": {"resetScope": "Watermark, ForceDeletion"}});
    let r = post("restart", Some(bad.clone())).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ForceDeletion")
    );
    assert_eq!(
        status_of().await["code"],
        "Quarantine",
        "a refused restart changes nothing"
    );

    let escrows_only = json!({"criteria": {"resetScope": "Escrows"}});
    let r = post("restart", Some(escrows_only.clone())).await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let s = status_of().await;
    assert_eq!(
        s["code"], "Quarantine",
        "Escrows alone does not lift a quarantine"
    );
    assert_eq!(s["lastExecution"]["countEscrowed"], 0);

    let documented = sample("synchronizationJob-restart.request.json");
    let r = post("restart", Some(documented.clone())).await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let s = status_of().await;
    assert_eq!(s["code"], "Active");
    assert!(s["quarantine"].is_null());
    assert_eq!(s["steadyStateLastAchievedTime"], "0001-01-01T00:00:00Z");

    let r = http()
        .post(format!("{base}{jobs_path}/nope/start"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let writes = server.handle().writes();
    let summary: Vec<(String, String, u16)> = writes
        .iter()
        .map(|w| {
            (
                w.method.clone(),
                w.path.rsplit('/').next().unwrap().to_owned(),
                w.status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("POST".into(), "pause".into(), 204),
            ("POST".into(), "start".into(), 204),
            ("POST".into(), "restart".into(), 400),
            ("POST".into(), "restart".into(), 204),
            ("POST".into(), "restart".into(), 204),
            ("POST".into(), "start".into(), 404),
        ]
    );
    assert_eq!(writes[0].path, format!("{job_path}/pause"));
    assert_eq!(writes[0].body, "");
    assert_eq!(serde_json::from_str::<Value>(&writes[2].body).unwrap(), bad);
    assert_eq!(
        serde_json::from_str::<Value>(&writes[4].body).unwrap(),
        documented
    );
}

/// v1.0's organization has no `onPremisesLastPasswordSyncDateTime`; beta has it.
#[tokio::test]
async fn organization_beta_property_only_on_beta() {
    let server = start(1, options()).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let (_, v1) = get_json(base, &token, "/v1.0/organization").await;
    let org = &v1["value"][0];
    assert_eq!(org["onPremisesSyncEnabled"], true);
    assert!(org.get("onPremisesLastPasswordSyncDateTime").is_none());
    let (status, _) = get_json(
        base,
        &token,
        "/v1.0/organization?$select=onPremisesLastPasswordSyncDateTime",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, beta) = get_json(
        base,
        &token,
        "/beta/organization?$select=onPremisesLastPasswordSyncDateTime,onPremisesLastSyncDateTime,onPremisesSyncEnabled",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        beta["value"][0]["onPremisesLastPasswordSyncDateTime"],
        "2026-11-21T10:02:00Z"
    );
}

/// Roles list with `$expand=members`, and `/directoryRoles/{id}/members`, typed members.
#[tokio::test]
async fn directory_roles_and_members() {
    let server = start(3, options()).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let (status, roles) = get_json(base, &token, "/v1.0/directoryRoles?$expand=members").await;
    assert_eq!(status, StatusCode::OK);
    let members = roles["value"][0]["members"].as_array().unwrap();
    assert_eq!(members[0]["@odata.type"], "#microsoft.graph.user");
    assert_eq!(members[0]["userPrincipalName"], "user1@contoso.com");
    assert_eq!(members[1]["@odata.type"], "#microsoft.graph.group");
    let (status, list) = get_json(
        base,
        &token,
        &format!("/v1.0/directoryRoles/{}/members?$select=id", guid(7000)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list["value"][0],
        json!({"@odata.type": "#microsoft.graph.user", "id": guid(1)})
    );
    let (status, _) = get_json(base, &token, "/v1.0/domains").await;
    assert_eq!(status, StatusCode::OK);
    let (status, contacts) = get_json(base, &token, "/v1.0/contacts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(contacts["value"][0]["mail"], "partner@fabrikam.com");
}

/// Every response, successful or not, Graph or token endpoint, carries a `request-id`; the
/// client's `client-request-id` is echoed; gzip is used when asked for.
#[tokio::test]
async fn request_ids_and_gzip() {
    let server = start(50, options()).await;
    let base = server.base_url();
    let token = app_token(base).await;
    for (path, auth) in [
        ("/v1.0/users", true),
        ("/v1.0/users", false),
        ("/v1.0/nowhere", true),
        ("/elsewhere", true),
    ] {
        let mut req = http()
            .get(format!("{base}{path}"))
            .header("client-request-id", "abc-123");
        if auth {
            req = req.bearer_auth(&token);
        }
        let r = req.send().await.unwrap();
        assert!(r.headers().contains_key("request-id"), "{path}");
        assert_eq!(r.headers()["client-request-id"], "abc-123", "{path}");
    }
    let r = http()
        .post(token_url(base))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("request-id"));

    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let r = raw
        .get(format!("{base}/v1.0/users?$select=id,proxyAddresses"))
        .bearer_auth(&token)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let compressed = r.bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut text)
        .unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 50);
    assert!(compressed.len() < text.len());
}

// ---------------------------------------------------------------------------------------------
// Faults

fn with_rule(rule: FaultRule) -> ServerOptions {
    let mut o = options();
    o.faults = FaultOptions {
        seed: 1,
        rules: vec![rule],
        ..FaultOptions::default()
    };
    o
}

/// Each fault kind is observable by a client and counted.
#[tokio::test]
async fn faults_are_observable() {
    // 503 with Retry-After, only on users and only once.
    let server = start(
        3,
        with_rule(
            FaultRule::new(FaultKind::ServiceUnavailable, 1.0)
                .on_path("/v1.0/users")
                .at_most(1),
        ),
    )
    .await;
    let base = server.base_url();
    let token = app_token(base).await;
    let r = get(base, &token, "/v1.0/users").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<f64>()
            .is_ok()
    );
    assert_eq!(
        get(base, &token, "/v1.0/users").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        get(base, &token, "/v1.0/groups").await.status(),
        StatusCode::OK
    );
    assert_eq!(server.handle().stats().faults["503"], 1);

    let server = start(3, with_rule(FaultRule::new(FaultKind::GatewayTimeout, 1.0))).await;
    let token = app_token(server.base_url()).await;
    let r = get(server.base_url(), &token, "/v1.0/users").await;
    assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);

    let server = start(
        3,
        with_rule(FaultRule::new(FaultKind::ConnectionReset, 1.0)),
    )
    .await;
    let token = app_token(server.base_url()).await;
    let err = http()
        .get(format!("{}/v1.0/users", server.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    assert_eq!(server.handle().stats().faults["reset"], 1);

    let server = start(
        200,
        with_rule(FaultRule::new(FaultKind::TruncatedBody, 1.0)),
    )
    .await;
    let token = app_token(server.base_url()).await;
    let r = get(
        server.base_url(),
        &token,
        "/v1.0/users?$select=id,proxyAddresses",
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.bytes().await.is_err(),
        "the body ends before its Content-Length"
    );

    let server = start(3, with_rule(FaultRule::new(FaultKind::MalformedJson, 1.0))).await;
    let token = app_token(server.base_url()).await;
    let r = get(server.base_url(), &token, "/v1.0/users").await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert_eq!(server.handle().stats().faults["malformed"], 1);

    // A token that stops working after 2 Graph requests, and a forbidden collection.
    let mut o = options();
    o.faults = FaultOptions {
        expire_token_after: Some(2),
        forbidden: vec!["groups".into()],
        ..FaultOptions::default()
    };
    let server = start(3, o).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let (status, body) = get_json(base, &token, "/v1.0/groups").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(
        get(base, &token, "/v1.0/users").await.status(),
        StatusCode::OK
    );
    let (status, body) = get_json(base, &token, "/v1.0/users").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    let fresh = app_token(base).await;
    assert_eq!(
        get(base, &fresh, "/v1.0/users").await.status(),
        StatusCode::OK
    );
    let faults = server.handle().stats().faults;
    assert_eq!((faults["forbidden"], faults["expired-token"]), (1, 1));
}

/// Short pages: fewer objects than `$top`, and the nextLink still leads through everything.
#[tokio::test]
async fn short_pages_still_cover_the_collection() {
    let server = start(25, with_rule(FaultRule::new(FaultKind::ShortPage, 1.0))).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let mut url = format!("{base}/v1.0/users?$select=id&$top=10");
    let mut sizes = Vec::new();
    for _ in 0..10 {
        let r = http().get(&url).bearer_auth(&token).send().await.unwrap();
        let body: Value = r.json().await.unwrap();
        sizes.push(body["value"].as_array().unwrap().len());
        match body["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(sizes, [5, 5, 5, 5, 5]);
    assert_eq!(server.handle().stats().faults["short"], 5);
}

/// The same seed gives the same faults to the same sequence of requests.
#[tokio::test]
async fn faults_are_reproducible_from_the_seed() {
    let run = || async {
        let server = start(3, with_rule(FaultRule::new(FaultKind::GatewayTimeout, 0.5))).await;
        let token = app_token(server.base_url()).await;
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(
                get(server.base_url(), &token, "/v1.0/users")
                    .await
                    .status()
                    .as_u16(),
            );
        }
        statuses
    };
    let a = run().await;
    assert_eq!(a, run().await);
    assert!(a.contains(&504) && a.contains(&200), "{a:?}");
}

/// A large page is served in well under a second without latency, and the configured latency
/// is applied per page (base + per object).
#[tokio::test]
async fn latency_is_applied_per_page() {
    let mut o = options();
    o.latency = super::server::Latency {
        base: Duration::from_millis(100),
        per_object: Duration::from_millis(2),
    };
    let server = start(50, o).await;
    let token = app_token(server.base_url()).await;
    let t = Instant::now();
    let r = get(server.base_url(), &token, "/v1.0/users?$top=50&$select=id").await;
    assert_eq!(r.status(), StatusCode::OK);
    let elapsed = t.elapsed();
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

/// publisherName is declared only in Graph's beta servicePrincipal: v1.0 refuses its `$select`
/// and leaves it out of the default answer.
#[tokio::test]
async fn publisher_name_is_beta_only() {
    let server = start(5, options()).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let (status, _) = get_json(
        base,
        &token,
        "/v1.0/servicePrincipals?$select=id,publisherName",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = get_json(
        base,
        &token,
        "/beta/servicePrincipals?$select=id,publisherName",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = get_json(base, &token, "/v1.0/servicePrincipals").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|sp| sp.get("publisherName").is_none()),
        "{body}"
    );
}

/// A `$select` of a real Graph property the simulator does not model (user.jobTitle is modelled,
/// user.employeeHireDate is not) is accepted as Graph accepts it; a property Graph does not
/// declare is still the 400 a tenant answers.
#[tokio::test]
async fn select_of_a_real_unmodelled_property_is_not_an_error() {
    let server = start(3, options()).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let (status, body) = get_json(base, &token, "/v1.0/users?$select=id,employeeHireDate").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["value"][0]["id"].is_string(), "{body}");
    let (status, body) = get_json(base, &token, "/v1.0/users?$select=id,noSuchProperty").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

/// onPremisesSyncBehavior is a beta navigation property, one object per request: true for the
/// converted user, false for another, unknown under v1.0, 404 for an unknown object, and
/// refused on its own by the `forbidden` fault.
#[tokio::test]
async fn sync_behavior_is_served_per_object_under_beta_only() {
    let server = start(4, options()).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let (status, body) = get_json(
        base,
        &token,
        &format!("/beta/users/{}/onPremisesSyncBehavior", guid(2)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["isCloudManaged"], true);
    assert_eq!(body["id"], guid(2));
    let (status, body) = get_json(
        base,
        &token,
        &format!("/beta/groups/{}/onPremisesSyncBehavior", guid(6000)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["isCloudManaged"], false);
    let (status, _) = get_json(
        base,
        &token,
        &format!("/v1.0/users/{}/onPremisesSyncBehavior", guid(2)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get_json(
        base,
        &token,
        "/beta/users/00000000-0000-0000-0000-00000000dead/onPremisesSyncBehavior",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let mut forbidding = options();
    forbidding.faults.forbidden = vec!["onPremisesSyncBehavior".into()];
    let server = start(4, forbidding).await;
    let base = server.base_url();
    let token = app_token(base).await;
    let (status, _) = get_json(
        base,
        &token,
        &format!("/beta/users/{}/onPremisesSyncBehavior", guid(2)),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = get_json(base, &token, &format!("/beta/users/{}", guid(2))).await;
    assert_eq!(status, StatusCode::OK, "the users stay readable");
}
