//! The simulated Microsoft Entra token endpoint: `POST /{tenant}/oauth2/v2.0/token` for client
//! credentials (client secret in the form body or as HTTP Basic, RFC 6749 §2.3.1; or a signed
//! client assertion), the device code flow (`POST /{tenant}/oauth2/v2.0/devicecode`, then polling
//! with `grant_type=urn:ietf:params:oauth:grant-type:device_code`), refresh tokens for delegated
//! sign-ins, and the opaque access tokens Graph calls present.
//!
//! Behaviour follows <https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow>,
//! <https://learn.microsoft.com/entra/identity-platform/certificate-credentials> and
//! <https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code>;
//! errors use the AADSTS body of `fixtures/graph-samples/token-error.400.json`. Client-credential
//! tokens are app-only, device-code tokens are delegated. This module owns credentials and
//! tokens; it must not know Graph resources, and it shares no code with the project's `auth`
//! client.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::Rng as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::odata::parse_urlencoded;
use super::response::new_guid;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Microsoft Graph's application id, also accepted as a scope resource.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Clock skew tolerated on `nbf`/`exp` of client assertions (Entra's validation allows a few
/// minutes; UNVERIFIED exact value, 5 minutes is the identity-model default).
const ASSERTION_SKEW_SECS: i64 = 300;
/// The permissions the simulated app registration was granted (a read-only audit plus Cloud
/// Sync actions); `--faults forbid=...` takes access away at the Graph side.
const SIMULATED_PERMISSIONS: [&str; 9] = [
    "User.Read.All",
    "OrgContact.Read.All",
    "GroupMember.Read.All",
    "Organization.Read.All",
    "Domain.Read.All",
    "Application.Read.All",
    "Synchronization.ReadWrite.All",
    "RoleManagement.Read.Directory",
    "OnPremDirectorySynchronization.Read.All",
];
/// OIDC scopes that ask for sign-in artefacts rather than Graph permissions.
const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// An application registration the simulated tenant accepts.
#[derive(Debug, Clone, Default)]
pub struct ClientApp {
    pub client_id: String,
    pub display_name: String,
    /// Accepted client secret (`None`: secrets are refused with AADSTS7000215).
    pub client_secret: Option<String>,
    /// PEM certificate (`-----BEGIN CERTIFICATE-----`) whose key signs client assertions.
    pub certificate_pem: Option<String>,
}

impl ClientApp {
    pub fn with_secret(client_id: &str, client_secret: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            display_name: "entra-audit (simulated)".to_owned(),
            client_secret: Some(client_secret.to_owned()),
            certificate_pem: None,
        }
    }

    #[must_use]
    pub fn with_certificate(mut self, pem: &str) -> Self {
        self.certificate_pem = Some(pem.to_owned());
        self
    }
}

/// Device code flow settings.
#[derive(Debug, Clone)]
pub struct DeviceCodeOptions {
    /// Polling interval the client is told (`interval`). Entra's is 5 s.
    pub interval: Duration,
    /// Lifetime of a device code (`expires_in`). Entra's default is 15 minutes
    /// (<https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code>).
    pub expires_in: Duration,
}

impl Default for DeviceCodeOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            expires_in: Duration::from_mins(15),
        }
    }
}

struct Certificate {
    key: DecodingKey,
    /// base64url(SHA-256(DER)): what `x5t#S256` must say.
    thumbprint_s256: String,
}

/// Reads the first certificate of a PEM text: its DER (for the thumbprint) and its public key.
fn parse_certificate(pem: &str) -> anyhow::Result<Certificate> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = pem
        .find(BEGIN)
        .context("the certificate PEM has no BEGIN CERTIFICATE block")?;
    let body = &pem[start + BEGIN.len()..];
    let end = body
        .find(END)
        .context("the certificate PEM is not terminated")?;
    let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD
        .decode(b64)
        .context("the certificate PEM is not valid base64")?;
    // jsonwebtoken reads the RSA public key out of a CERTIFICATE PEM itself.
    let block = &pem[start..start + BEGIN.len() + end + END.len()];
    let key = DecodingKey::from_rsa_pem(block.as_bytes())
        .context("the certificate does not hold an RSA public key")?;
    Ok(Certificate {
        key,
        thumbprint_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&der)),
    })
}

struct Registered {
    app: ClientApp,
    cert: Option<Certificate>,
}

/// An access token handed out.
#[derive(Debug, Clone)]
struct Issued {
    app_id: String,
    delegated: bool,
    expires_at: Instant,
    uses: u64,
}

/// Who a valid access token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    pub app_id: String,
    /// A user signed in (device code); otherwise app-only (client credentials).
    pub delegated: bool,
}

/// Why a Graph call's token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Missing,
    Unknown,
    Expired,
}

impl TokenProblem {
    /// The 401 `InvalidAuthenticationToken` message Graph gives for each case.
    pub(crate) fn message(self) -> &'static str {
        match self {
            TokenProblem::Missing => "Access token is empty.",
            // What Graph says for a bearer value that is not one of its tokens.
            TokenProblem::Unknown => "CompactToken parsing failed with error code: 80049217",
            TokenProblem::Expired => "Lifetime validation failed, the token is expired.",
        }
    }
}

struct PendingDevice {
    device_code: String,
    user_code: String,
    client_id: String,
    scope: String,
    expires_at: Instant,
    /// `None` while waiting; `Some(true)` approved; `Some(false)` declined.
    decision: Option<bool>,
}

struct Refresh {
    app_id: String,
    scope: String,
}

/// An answer of the token endpoint: status and JSON body.
pub(crate) struct TokenReply {
    pub status: StatusCode,
    pub body: Value,
}

/// An AADSTS error before it is rendered.
struct AadError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    description: String,
}

fn aad(
    status: StatusCode,
    error: &'static str,
    code: u32,
    description: impl Into<String>,
) -> AadError {
    AadError {
        status,
        error,
        code,
        description: description.into(),
    }
}

fn missing(param: &str) -> AadError {
    aad(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900_144,
        format!("The request body must contain the following parameter: '{param}'."),
    )
}

/// The token service of one simulated tenant.
pub(crate) struct TokenService {
    tenant_id: String,
    initial_domain: String,
    base_url: String,
    extra_resources: Vec<String>,
    lifetime: Duration,
    device: DeviceCodeOptions,
    apps: Vec<Registered>,
    tokens: Mutex<HashMap<String, Issued>>,
    devices: Mutex<Vec<PendingDevice>>,
    refresh: Mutex<HashMap<String, Refresh>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(buf)
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The form fields of a request body; the first occurrence of a field wins.
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

impl TokenService {
    pub(crate) fn new(
        tenant_id: &str,
        initial_domain: &str,
        base_url: &str,
        extra_resources: Vec<String>,
        lifetime: Duration,
        device: DeviceCodeOptions,
        apps: &[ClientApp],
    ) -> anyhow::Result<Self> {
        if apps.is_empty() {
            bail!("the simulator needs at least one client application");
        }
        let apps = apps
            .iter()
            .map(|app| {
                let cert = app
                    .certificate_pem
                    .as_deref()
                    .map(parse_certificate)
                    .transpose()
                    .with_context(|| format!("certificate of client {}", app.client_id))?;
                Ok(Registered {
                    app: app.clone(),
                    cert,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            tenant_id: tenant_id.to_owned(),
            initial_domain: initial_domain.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            extra_resources,
            lifetime,
            device,
            apps,
            tokens: Mutex::new(HashMap::new()),
            devices: Mutex::new(Vec::new()),
            refresh: Mutex::new(HashMap::new()),
        })
    }

    fn known_tenant(&self, segment: &str, allow_multi: bool) -> bool {
        segment.eq_ignore_ascii_case(&self.tenant_id)
            || (!self.initial_domain.is_empty()
                && segment.eq_ignore_ascii_case(&self.initial_domain))
            || (allow_multi
                && ["organizations", "common"]
                    .iter()
                    .any(|m| segment.eq_ignore_ascii_case(m)))
    }

    fn app(&self, client_id: &str) -> Option<&Registered> {
        self.apps
            .iter()
            .find(|r| r.app.client_id.eq_ignore_ascii_case(client_id))
    }

    /// The resource of a scope (`https://graph.microsoft.com/.default` → Graph) if it names Graph:
    /// the public Graph host, its app id, or this simulator's own base URL.
    fn graph_scope_rest<'s>(&self, scope: &'s str) -> Option<&'s str> {
        let resources = [
            "https://graph.microsoft.com",
            GRAPH_APP_ID,
            self.base_url.as_str(),
        ];
        resources
            .iter()
            .copied()
            .chain(self.extra_resources.iter().map(String::as_str))
            .find_map(|r| {
                let r = r.trim_end_matches('/');
                let head = scope.get(..r.len())?;
                if !head.eq_ignore_ascii_case(r) {
                    return None;
                }
                scope[r.len()..].strip_prefix('/')
            })
    }

    /// Checks a Graph call's `Authorization` header and counts the use. With
    /// `expire_after = Some(n)` a token stops working after `n` Graph requests (a fault).
    pub(crate) fn authenticate(
        &self,
        authorization: Option<&str>,
        expire_after: Option<u64>,
    ) -> Result<Caller, TokenProblem> {
        let token = authorization
            .and_then(|h| {
                let (scheme, rest) = h.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or(TokenProblem::Missing)?;
        let mut tokens = lock(&self.tokens);
        let issued = tokens.get_mut(token).ok_or(TokenProblem::Unknown)?;
        if Instant::now() >= issued.expires_at {
            return Err(TokenProblem::Expired);
        }
        if expire_after.is_some_and(|n| issued.uses >= n) {
            // From now on the token is expired for good, as a real one would be.
            issued.expires_at = Instant::now();
            return Err(TokenProblem::Expired);
        }
        issued.uses += 1;
        Ok(Caller {
            app_id: issued.app_id.clone(),
            delegated: issued.delegated,
        })
    }

    /// Makes every access token issued so far expired.
    pub(crate) fn expire_all(&self) {
        let now = Instant::now();
        for t in lock(&self.tokens).values_mut() {
            t.expires_at = now;
        }
    }

    /// Approves (or declines) a pending device code by its user code.
    pub(crate) fn decide_device_code(&self, user_code: &str, approve: bool) -> bool {
        let mut devices = lock(&self.devices);
        match devices
            .iter_mut()
            .find(|d| d.user_code.eq_ignore_ascii_case(user_code.trim()))
        {
            Some(d) if d.decision.is_none() => {
                d.decision = Some(approve);
                true
            }
            _ => false,
        }
    }

    /// An access token shaped like Entra's for Graph: a JWT whose claims say the tenant, the
    /// app, the token type (`idtyp`) and its permissions (`roles` for app-only, `scp` for
    /// delegated), with a random signature part. Clients must treat access tokens as opaque
    /// (<https://learn.microsoft.com/entra/identity-platform/access-tokens>); diagnostic tools
    /// such as `doctor` read the claims, so the simulator carries them. Validity is decided by
    /// lookup, as before.
    fn access_token_jwt(&self, app_id: &str, delegated: bool) -> String {
        let now = now_unix();
        // OnPremDirectorySynchronization.Read.All exists only as a delegated permission.
        let permissions: Vec<&str> = SIMULATED_PERMISSIONS
            .into_iter()
            .filter(|p| delegated || !p.starts_with("OnPremDirectorySynchronization"))
            .collect();
        let mut claims = json!({
            "aud": GRAPH_APP_ID,
            "tid": self.tenant_id,
            "appid": app_id,
            "idtyp": if delegated { "user" } else { "app" },
            "iat": now,
            "nbf": now,
            "exp": now + i64::try_from(self.lifetime.as_secs()).unwrap_or(3600),
        });
        if delegated {
            claims["scp"] = json!(permissions.join(" "));
        } else {
            claims["roles"] = json!(permissions);
        }
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"RS256"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{header}.{payload}.{}", random_token(48))
    }

    /// User codes waiting for a decision (for the demo page and tests).
    pub(crate) fn pending_user_codes(&self) -> Vec<String> {
        let now = Instant::now();
        lock(&self.devices)
            .iter()
            .filter(|d| d.decision.is_none() && d.expires_at > now)
            .map(|d| d.user_code.clone())
            .collect()
    }

    fn issue(&self, app_id: &str, delegated: bool) -> (String, u64) {
        let token = self.access_token_jwt(app_id, delegated);
        // Prune expired tokens now and then so a long run does not accumulate them.
        let mut tokens = lock(&self.tokens);
        if tokens.len() > 10_000 {
            let now = Instant::now();
            tokens.retain(|_, t| t.expires_at > now);
        }
        tokens.insert(
            token.clone(),
            Issued {
                app_id: app_id.to_owned(),
                delegated,
                expires_at: Instant::now() + self.lifetime,
                uses: 0,
            },
        );
        (token, self.lifetime.as_secs())
    }

    fn render_error(e: &AadError, correlation_id: &str) -> TokenReply {
        let trace_id = new_guid();
        let now = chrono::Utc::now();
        let timestamp = now.format("%Y-%m-%d %H:%M:%SZ").to_string();
        let mut description = format!("AADSTS{}: {}", e.code, e.description);
        let _ = write!(
            description,
            "\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}"
        );
        TokenReply {
            status: e.status,
            body: json!({
                "error": e.error,
                "error_description": description,
                "error_codes": [e.code],
                "timestamp": timestamp,
                "trace_id": trace_id,
                "correlation_id": correlation_id,
                "error_uri": format!("https://login.microsoftonline.com/error?code={}", e.code),
            }),
        }
    }

    fn correlation_id(headers: &HeaderMap) -> String {
        headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map_or_else(new_guid, str::to_owned)
    }

    fn parse_form(body: &[u8]) -> Result<Form, AadError> {
        let text = std::str::from_utf8(body).map_err(|_| {
            aad(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900_144,
                "The request body is not UTF-8.",
            )
        })?;
        parse_urlencoded(text)
            .map(Form)
            .map_err(|e| aad(StatusCode::BAD_REQUEST, "invalid_request", 90_014, e))
    }

    /// `POST /{tenant}/oauth2/v2.0/token`.
    pub(crate) fn token_endpoint(
        &self,
        tenant: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> TokenReply {
        let correlation = Self::correlation_id(headers);
        match self.token_inner(tenant, headers, body) {
            Ok(body) => TokenReply {
                status: StatusCode::OK,
                body,
            },
            Err(e) => Self::render_error(&e, &correlation),
        }
    }

    fn tenant_not_found(tenant: &str) -> AadError {
        aad(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90_002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        )
    }

    fn app_not_found(&self, client_id: &str) -> AadError {
        aad(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700_016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                self.tenant_id
            ),
        )
    }

    fn token_inner(
        &self,
        tenant: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Value, AadError> {
        let form = Self::parse_form(body)?;
        let grant = form
            .get("grant_type")
            .ok_or_else(|| missing("grant_type"))?;
        let multi_ok = grant == DEVICE_CODE_GRANT || grant == "refresh_token";
        if !self.known_tenant(tenant, multi_ok) {
            return Err(Self::tenant_not_found(tenant));
        }
        match grant {
            "client_credentials" => self.client_credentials(tenant, headers, &form),
            DEVICE_CODE_GRANT => self.device_code_grant(&form),
            "refresh_token" => self.refresh_grant(&form),
            other => Err(aad(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70_003,
                format!("The app requested an unsupported grant type '{other}'."),
            )),
        }
    }

    /// Client id and secret from HTTP Basic (RFC 6749 §2.3.1: both form-urlencoded first).
    fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, b64) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let decode = |s: &str| {
            parse_urlencoded(&format!("x={s}"))
                .ok()
                .and_then(|mut v| v.pop())
                .map(|(_, v)| v)
        };
        Some((decode(id)?, decode(secret)?))
    }

    fn client_credentials(
        &self,
        tenant: &str,
        headers: &HeaderMap,
        form: &Form,
    ) -> Result<Value, AadError> {
        let basic = Self::basic_credentials(headers);
        let client_id = form
            .get("client_id")
            .map(str::to_owned)
            .or_else(|| basic.as_ref().map(|(id, _)| id.clone()))
            .ok_or_else(|| missing("client_id"))?;
        let registered = self
            .app(&client_id)
            .ok_or_else(|| self.app_not_found(&client_id))?;

        let scope = form.get("scope").ok_or_else(|| missing("scope"))?;
        self.check_app_scope(scope)?;

        let secret = form
            .get("client_secret")
            .map(str::to_owned)
            .or_else(|| basic.map(|(_, s)| s));
        let assertion = form.get("client_assertion");
        match (secret, assertion) {
            (_, Some(assertion)) => {
                match form.get("client_assertion_type") {
                    Some(JWT_BEARER) => {}
                    Some(other) => {
                        return Err(aad(
                            StatusCode::BAD_REQUEST,
                            "invalid_request",
                            50_027,
                            format!(
                                "Invalid client_assertion_type '{other}'; expected '{JWT_BEARER}'."
                            ),
                        ));
                    }
                    None => return Err(missing("client_assertion_type")),
                }
                self.verify_assertion(registered, assertion, tenant)?;
            }
            (Some(secret), None) => {
                if registered.app.client_secret.as_deref() != Some(secret.as_str()) {
                    return Err(aad(
                        StatusCode::UNAUTHORIZED,
                        "invalid_client",
                        7_000_215,
                        format!(
                            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                        ),
                    ));
                }
            }
            (None, None) => {
                return Err(aad(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7_000_218,
                    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                ));
            }
        }
        let (token, expires_in) = self.issue(&registered.app.client_id, false);
        Ok(json!({
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": token,
        }))
    }

    /// Client credentials take exactly one `{resource}/.default` scope.
    fn check_app_scope(&self, scope: &str) -> Result<(), AadError> {
        let scopes: Vec<&str> = scope.split_whitespace().collect();
        let invalid = |why: String| aad(StatusCode::BAD_REQUEST, "invalid_scope", 70_011, why);
        let [single] = scopes.as_slice() else {
            return Err(invalid(format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
            )));
        };
        if !single.to_ascii_lowercase().ends_with("/.default") {
            return Err(aad(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                1_002_012,
                format!(
                    "The provided value for scope {single} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                ),
            ));
        }
        match self.graph_scope_rest(single) {
            Some(rest) if rest.eq_ignore_ascii_case(".default") => Ok(()),
            _ => Err(aad(
                StatusCode::BAD_REQUEST,
                "invalid_resource",
                500_011,
                format!(
                    "The resource principal named {} was not found in the tenant named {}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
                    single.trim_end_matches("/.default"),
                    self.tenant_id
                ),
            )),
        }
    }

    fn assertion_error(code: u32, description: impl Into<String>) -> AadError {
        aad(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            code,
            description,
        )
    }

    /// Verifies a client assertion (certificate-credentials): PS256 (RS256 accepted), `x5t#S256`
    /// naming the registered certificate, its signature, `iss` = `sub` = client id, `aud` = this token
    /// endpoint, and `nbf`/`exp` around now.
    fn verify_assertion(
        &self,
        registered: &Registered,
        assertion: &str,
        tenant: &str,
    ) -> Result<(), AadError> {
        let client_id = &registered.app.client_id;
        let malformed = |why: &str| {
            aad(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                50_027,
                format!("JWT token is invalid or malformed. {why}"),
            )
        };
        let header = jsonwebtoken::decode_header(assertion)
            .map_err(|e| malformed(&format!("The header cannot be read: {e}.")))?;
        if !matches!(header.alg, Algorithm::PS256 | Algorithm::RS256) {
            return Err(malformed(&format!(
                "'{:?}' is not a supported signature algorithm; use PS256.",
                header.alg
            )));
        }
        let presented = header
            .x5t_s256
            .clone()
            .or_else(|| header.x5t.clone())
            .unwrap_or_default();
        // Observed wording (learn.microsoft.com/answers/questions/5915574, 2262614).
        let key_not_found = || {
            Self::assertion_error(
                700_027,
                format!(
                    "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{presented}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.]"
                ),
            )
        };
        let Some(cert) = &registered.cert else {
            return Err(key_not_found());
        };
        // Only the SHA-256 thumbprint is checked: `x5t` (SHA-1) is the older spelling and the
        // simulator registers certificates by x5t#S256 only
        // (https://learn.microsoft.com/entra/identity-platform/certificate-credentials).
        if header.x5t_s256.as_deref() != Some(cert.thumbprint_s256.as_str()) {
            return Err(key_not_found());
        }
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = match jsonwebtoken::decode::<Value>(assertion, &cert.key, &validation) {
            Ok(data) => data.claims,
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature) => {
                return Err(Self::assertion_error(
                    700_027,
                    format!(
                        "Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{presented}']"
                    ),
                ));
            }
            Err(e) => return Err(malformed(&e.to_string())),
        };
        self.check_assertion_claims(&claims, client_id, tenant)
    }

    /// The claims of a verified assertion: `iss` = `sub` = client id, `aud` = this token
    /// endpoint (by tenant id, initial domain or the path's tenant), `nbf` <= now <= `exp`.
    fn check_assertion_claims(
        &self,
        claims: &Value,
        client_id: &str,
        tenant: &str,
    ) -> Result<(), AadError> {
        let malformed = |why: &str| {
            aad(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                50_027,
                format!("JWT token is invalid or malformed. {why}"),
            )
        };
        let claim_str = |name: &str| claims.get(name).and_then(Value::as_str);
        if claim_str("iss") != Some(client_id) || claim_str("sub") != Some(client_id) {
            return Err(Self::assertion_error(
                700_021,
                "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
            ));
        }
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let accepted: Vec<String> = [tenant, &self.tenant_id, &self.initial_domain]
            .iter()
            .filter(|t| !t.is_empty())
            .map(|t| format!("{}/{t}/oauth2/v2.0/token", self.base_url))
            .collect();
        if !audiences
            .iter()
            .any(|a| accepted.iter().any(|x| x.eq_ignore_ascii_case(a)))
        {
            // Wording reported by Entra for a wrong `aud` (github.com/AzureAD/azure-activedirectory-library-for-python/issues/79).
            return Err(Self::assertion_error(
                50_012,
                format!(
                    "Client assertion audience claim does not match Realm issuer. Expected '{}'.",
                    accepted[0]
                ),
            ));
        }
        let now = now_unix();
        let (Some(exp), nbf) = (
            claims.get("exp").and_then(Value::as_i64),
            claims.get("nbf").and_then(Value::as_i64),
        ) else {
            return Err(malformed("The 'exp' claim is missing."));
        };
        let too_early = nbf.is_some_and(|nbf| now + ASSERTION_SKEW_SECS < nbf);
        if too_early || now - ASSERTION_SKEW_SECS > exp {
            let fmt = |t: i64| {
                chrono::DateTime::from_timestamp(t, 0)
                    .map(|d| d.format("%Y-%m-%dT%H:%M:%S.0000000Z").to_string())
                    .unwrap_or_default()
            };
            return Err(Self::assertion_error(
                700_024,
                format!(
                    "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
                    fmt(now),
                    fmt(nbf.unwrap_or(0)),
                    fmt(exp)
                ),
            ));
        }
        Ok(())
    }

    /// `POST /{tenant}/oauth2/v2.0/devicecode`.
    pub(crate) fn device_code_endpoint(
        &self,
        tenant: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> TokenReply {
        let correlation = Self::correlation_id(headers);
        let result = (|| {
            if !self.known_tenant(tenant, true) {
                return Err(Self::tenant_not_found(tenant));
            }
            let form = Self::parse_form(body)?;
            let client_id = form.get("client_id").ok_or_else(|| missing("client_id"))?;
            let registered = self
                .app(client_id)
                .ok_or_else(|| self.app_not_found(client_id))?;
            let scope = form.get("scope").ok_or_else(|| missing("scope"))?;
            let device_code = random_token(64);
            let user_code: String = {
                const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
                let mut rng = rand::rng();
                (0..9)
                    .map(|_| char::from(LETTERS[rng.random_range(0..LETTERS.len())]))
                    .collect()
            };
            let verification_uri = format!("{}/_simulator/devicelogin", self.base_url);
            let mut devices = lock(&self.devices);
            let now = Instant::now();
            devices.retain(|d| d.expires_at > now);
            devices.push(PendingDevice {
                device_code: device_code.clone(),
                user_code: user_code.clone(),
                client_id: registered.app.client_id.clone(),
                scope: scope.to_owned(),
                expires_at: now + self.device.expires_in,
                decision: None,
            });
            Ok(json!({
                "user_code": user_code,
                "device_code": device_code,
                "verification_uri": verification_uri,
                "expires_in": self.device.expires_in.as_secs(),
                "interval": self.device.interval.as_secs(),
                "message": format!(
                    "To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."
                ),
            }))
        })();
        match result {
            Ok(body) => TokenReply {
                status: StatusCode::OK,
                body,
            },
            Err(e) => Self::render_error(&e, &correlation),
        }
    }

    fn device_code_grant(&self, form: &Form) -> Result<Value, AadError> {
        let client_id = form.get("client_id").ok_or_else(|| missing("client_id"))?;
        let code = form
            .get("device_code")
            .ok_or_else(|| missing("device_code"))?;
        let mut devices = lock(&self.devices);
        let Some(i) = devices
            .iter()
            .position(|d| d.device_code == code && d.client_id.eq_ignore_ascii_case(client_id))
        else {
            // UNVERIFIED AADSTS number; the error name is v2-oauth2-device-code's.
            return Err(aad(
                StatusCode::BAD_REQUEST,
                "bad_verification_code",
                70_000,
                "The provided value for the input parameter 'device_code' is not valid.",
            ));
        };
        if devices[i].expires_at <= Instant::now() {
            devices.remove(i);
            return Err(aad(
                StatusCode::BAD_REQUEST,
                "expired_token",
                70_020,
                "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
            ));
        }
        match devices[i].decision {
            None => Err(aad(
                StatusCode::BAD_REQUEST,
                "authorization_pending",
                70_016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )),
            Some(false) => {
                devices.remove(i);
                // UNVERIFIED AADSTS number; the error name is v2-oauth2-device-code's.
                Err(aad(
                    StatusCode::BAD_REQUEST,
                    "authorization_declined",
                    70_000,
                    "The end user denied the authorization request.",
                ))
            }
            Some(true) => {
                let device = devices.remove(i);
                drop(devices);
                Ok(self.delegated_tokens(&device.client_id, &device.scope))
            }
        }
    }

    fn refresh_grant(&self, form: &Form) -> Result<Value, AadError> {
        let client_id = form.get("client_id").ok_or_else(|| missing("client_id"))?;
        let presented = form
            .get("refresh_token")
            .ok_or_else(|| missing("refresh_token"))?;
        let refresh = lock(&self.refresh).remove(presented);
        match refresh {
            Some(r) if r.app_id.eq_ignore_ascii_case(client_id) => {
                let scope = form.get("scope").unwrap_or(&r.scope).to_owned();
                Ok(self.delegated_tokens(&r.app_id, &scope))
            }
            _ => Err(aad(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                9_002_313,
                "Invalid request. Request is malformed or invalid.",
            )),
        }
    }

    /// A delegated sign-in's answer (sample `token-device-code.success.json`): access token,
    /// the granted scopes, a refresh token when `offline_access` was asked for and an id token
    /// when `openid` was.
    fn delegated_tokens(&self, app_id: &str, scope: &str) -> Value {
        let requested: Vec<&str> = scope.split_whitespace().collect();
        let mut granted: Vec<String> = Vec::new();
        for s in &requested {
            let lower = s.to_ascii_lowercase();
            if OIDC_SCOPES.contains(&lower.as_str()) {
                if lower != "offline_access" {
                    granted.push(lower);
                }
            } else if let Some(rest) = self.graph_scope_rest(s) {
                if rest.eq_ignore_ascii_case(".default") {
                    // What the simulated admin consented to for the audit.
                    granted.extend(
                        [
                            "Directory.Read.All",
                            "OnPremDirectorySynchronization.Read.All",
                            "Synchronization.ReadWrite.All",
                        ]
                        .map(str::to_owned),
                    );
                } else {
                    granted.push(rest.to_owned());
                }
            } else {
                granted.push((*s).to_owned());
            }
        }
        let (token, expires_in) = self.issue(app_id, true);
        let mut body = json!({
            "token_type": "Bearer",
            "scope": granted.join(" "),
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": token,
        });
        if requested
            .iter()
            .any(|s| s.eq_ignore_ascii_case("offline_access"))
        {
            let refresh = random_token(64);
            lock(&self.refresh).insert(
                refresh.clone(),
                Refresh {
                    app_id: app_id.to_owned(),
                    scope: scope.to_owned(),
                },
            );
            body["refresh_token"] = Value::String(refresh);
        }
        if requested.iter().any(|s| s.eq_ignore_ascii_case("openid")) {
            body["id_token"] = Value::String(self.id_token(app_id));
        }
        body
    }

    /// An unsigned id token (`alg: none`, like the doc sample's), naming the simulated admin.
    fn id_token(&self, app_id: &str) -> String {
        let now = now_unix();
        let header = json!({"typ": "JWT", "alg": "none"});
        let admin = if self.initial_domain.is_empty() {
            "admin@simulated.onmicrosoft.com".to_owned()
        } else {
            format!("admin@{}", self.initial_domain)
        };
        let payload = json!({
            "aud": app_id,
            "iss": format!("{}/{}/v2.0", self.base_url, self.tenant_id),
            "iat": now,
            "nbf": now,
            "exp": now + i64::try_from(self.lifetime.as_secs()).unwrap_or(3600),
            "name": "Simulated Global Administrator",
            "oid": "00000000-0000-0000-0000-00000000a0a0",
            "preferred_username": admin,
            "sub": "simulated-admin",
            "tid": self.tenant_id,
            "ver": "2.0",
        });
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        )
    }

    /// `GET /{tenant}/v2.0/.well-known/openid-configuration`, which MSAL-based clients read
    /// before asking for a token.
    pub(crate) fn openid_configuration(&self, tenant: &str) -> TokenReply {
        if !self.known_tenant(tenant, true) {
            return Self::render_error(&Self::tenant_not_found(tenant), &new_guid());
        }
        let b = &self.base_url;
        TokenReply {
            status: StatusCode::OK,
            body: json!({
                "token_endpoint": format!("{b}/{tenant}/oauth2/v2.0/token"),
                "device_authorization_endpoint": format!("{b}/{tenant}/oauth2/v2.0/devicecode"),
                "authorization_endpoint": format!("{b}/{tenant}/oauth2/v2.0/authorize"),
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                "jwks_uri": format!("{b}/{tenant}/discovery/v2.0/keys"),
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": format!("{b}/{}/v2.0", self.tenant_id),
                "tenant_region_scope": "EU",
                "cloud_instance_name": "simulated",
                "msgraph_host": b.trim_start_matches("http://").trim_start_matches("https://"),
            }),
        }
    }

    /// `GET /common/discovery/instance` (MSAL's instance discovery).
    pub(crate) fn instance_discovery(&self) -> TokenReply {
        let host = self
            .base_url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_owned();
        TokenReply {
            status: StatusCode::OK,
            body: json!({
                "tenant_discovery_endpoint": format!("{}/{}/v2.0/.well-known/openid-configuration", self.base_url, self.tenant_id),
                "api-version": "1.1",
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = include_str!("../../fixtures/simulator/test-only-client.cert.pem");

    #[test]
    fn certificate_thumbprint_matches_openssl() {
        let cert = parse_certificate(CERT).unwrap();
        // From fixtures/simulator/README.md (computed with openssl).
        assert_eq!(
            cert.thumbprint_s256,
            "AAJcoMwnAPjN_8d71ADwRUAb_2QO_Bu4qW7D25A634I"
        );
        assert!(parse_certificate("not a pem").is_err());
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", STANDARD.encode("my%20app:s%3Acret"));
        h.insert(header::AUTHORIZATION, v.parse().unwrap());
        assert_eq!(
            TokenService::basic_credentials(&h),
            Some(("my app".to_owned(), "s:cret".to_owned()))
        );
    }
}
