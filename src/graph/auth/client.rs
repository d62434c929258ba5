//! Token requests on the `oauth2` crate: client credentials with a secret or a certificate
//! client assertion (oauth2 has no `private_key_jwt`, so the assertion goes in as two extra
//! form parameters), and delegated tokens through the device code flow (`device_code.rs`) and
//! its refresh token. Failures become `AuthError`s naming the tenant, client, endpoint, OAuth
//! `error` and AADSTS code; the secret and the assertion are scrubbed from every message.

use std::error::Error as _;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use oauth2::basic::{BasicClient, BasicTokenResponse};
use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ErrorResponse, RefreshToken,
    RequestTokenError, Scope, TokenResponse as _, TokenUrl,
};
use serde::Serialize;

use super::cloud::Endpoints;
use super::credential::{Credential, Secret};
use super::http::OAuthHttp;
use super::{AccessToken, AuthError, AuthErrorKind};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Lifetime assumed when a token response has no `expires_in` (Entra always sends it).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3599);

/// The oauth2 client with only its token endpoint set.
pub(super) type TokenEndpointClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Acquires tokens for one tenant and client; no caching (see `CachedTokenSource`).
#[derive(Debug)]
pub(crate) struct TokenClient {
    endpoints: Endpoints,
    tenant: String,
    client_id: String,
    credential: Credential,
    http: OAuthHttp,
    /// The latest refresh token of a device code sign-in.
    refresh_token: Mutex<Option<Secret>>,
}

/// A tenant id or domain: letters, digits, `.`, `-` and `_` (it becomes a URL path segment).
fn check_tenant(tenant: &str) -> Result<(), AuthError> {
    let ok = !tenant.is_empty()
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(AuthError::configuration(format!(
            "tenant '{tenant}' is not a tenant id or domain name"
        )))
    }
}

impl TokenClient {
    pub(crate) fn new(
        endpoints: Endpoints,
        tenant: &str,
        client_id: &str,
        credential: Credential,
        http: OAuthHttp,
    ) -> Result<Self, AuthError> {
        let tenant = tenant.trim();
        let client_id = client_id.trim();
        check_tenant(tenant)?;
        if client_id.is_empty() {
            return Err(AuthError::configuration(
                "no client id (--client-id or AZURE_CLIENT_ID)",
            ));
        }
        Ok(Self {
            endpoints,
            tenant: tenant.to_owned(),
            client_id: client_id.to_owned(),
            credential,
            http,
            refresh_token: Mutex::new(None),
        })
    }

    pub(crate) fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub(crate) fn tenant(&self) -> &str {
        &self.tenant
    }

    pub(super) fn http(&self) -> &OAuthHttp {
        &self.http
    }

    pub(super) fn token_url(&self) -> Result<TokenUrl, AuthError> {
        let url = self.endpoints.token_url(&self.tenant);
        TokenUrl::new(url.clone()).map_err(|e| {
            AuthError::configuration(format!("token endpoint {url} is not a URL: {e}"))
        })
    }

    /// A new token from the token endpoint.
    pub(crate) async fn acquire(&self) -> Result<AccessToken, AuthError> {
        let scope = Scope::new(self.endpoints.graph_scope());
        let token_url = self.token_url()?;
        let base = BasicClient::new(ClientId::new(self.client_id.clone())).set_token_uri(token_url);
        match &self.credential {
            Credential::ClientSecret(secret) => {
                let client = base
                    .set_client_secret(ClientSecret::new(secret.expose().to_owned()))
                    .set_auth_type(AuthType::RequestBody);
                let response = client
                    .exchange_client_credentials()
                    .add_scope(scope)
                    .request_async(&self.http)
                    .await
                    .map_err(|e| self.request_error("client secret sign-in", &e, &[secret]))?;
                Ok(into_access_token(&response, false))
            }
            Credential::Certificate(cert) => {
                let audience = self.endpoints.token_url(&self.tenant);
                let assertion = cert.client_assertion(&audience, &self.client_id)?;
                // No client secret set: oauth2 then puts client_id in the body itself.
                let response = base
                    .exchange_client_credentials()
                    .add_scope(scope)
                    .add_extra_param("client_assertion_type", JWT_BEARER)
                    .add_extra_param("client_assertion", assertion.expose())
                    .request_async(&self.http)
                    .await
                    .map_err(|e| self.request_error("certificate sign-in", &e, &[&assertion]))?;
                Ok(into_access_token(&response, false))
            }
            Credential::DeviceCode(prompt) => {
                let refresh = self
                    .refresh_token
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                if let Some(refresh) = refresh {
                    match self.refresh(&base, &refresh).await {
                        Ok(response) => return Ok(self.delegated(&response)),
                        Err(e) => tracing::info!("{e}; signing in again with a device code"),
                    }
                }
                let response = self.device_code_flow(&base, prompt).await?;
                Ok(self.delegated(&response))
            }
        }
    }

    /// A delegated token; keeps the refresh token for the next renewal.
    fn delegated(&self, response: &BasicTokenResponse) -> AccessToken {
        *self
            .refresh_token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = response
            .refresh_token()
            .map(|r| Secret::new(r.secret().clone()));
        into_access_token(response, true)
    }

    /// Scopes of a delegated sign-in: Graph's consented permissions and a refresh token.
    pub(super) fn delegated_scopes(&self) -> [Scope; 2] {
        [
            Scope::new(self.endpoints.graph_scope()),
            Scope::new("offline_access".to_owned()),
        ]
    }

    async fn refresh(
        &self,
        base: &TokenEndpointClient,
        refresh: &Secret,
    ) -> Result<BasicTokenResponse, AuthError> {
        let token = RefreshToken::new(refresh.expose().to_owned());
        let [graph, offline] = self.delegated_scopes();
        base.exchange_refresh_token(&token)
            .add_scope(graph)
            .add_scope(offline)
            .request_async(&self.http)
            .await
            .map_err(|e| self.request_error("refreshing the delegated token", &e, &[refresh]))
    }

    /// An `AuthError` for a failed token-endpoint call; `hide` are values to scrub.
    pub(super) fn request_error<T>(
        &self,
        action: &str,
        err: &RequestTokenError<reqwest::Error, T>,
        hide: &[&Secret],
    ) -> AuthError
    where
        T: ErrorResponse + Serialize,
    {
        let (kind, detail) = match err {
            RequestTokenError::ServerResponse(body) => {
                (AuthErrorKind::Rejected, server_error(body))
            }
            RequestTokenError::Request(e) => {
                let mut text = format!("the token endpoint could not be reached: {e}");
                let mut source = e.source();
                while let Some(s) = source {
                    let _ = write!(text, ": {s}");
                    source = s.source();
                }
                (AuthErrorKind::Unreachable, text)
            }
            RequestTokenError::Parse(e, body) => {
                let body = String::from_utf8_lossy(body);
                let head: String = body.chars().take(200).collect();
                (
                    AuthErrorKind::UnexpectedResponse,
                    format!("unexpected token endpoint response ({e}): {head}"),
                )
            }
            RequestTokenError::Other(text) => (AuthErrorKind::Rejected, text.clone()),
        };
        let message = format!(
            "{action} failed for tenant '{}', client '{}' at {}: {detail}",
            self.tenant,
            self.client_id,
            self.endpoints.authority()
        );
        AuthError::new(kind, scrub(message, hide))
    }
}

fn into_access_token(response: &BasicTokenResponse, delegated: bool) -> AccessToken {
    AccessToken {
        secret: response.access_token().secret().clone(),
        expires_at: Instant::now() + response.expires_in().unwrap_or(DEFAULT_LIFETIME),
        delegated,
    }
}

/// `invalid_client (AADSTS7000215): Invalid client secret provided. …` from an Entra error
/// body: its `error`, the AADSTS code and the first line of `error_description` (the rest is
/// trace and correlation ids).
fn server_error<T: Serialize>(body: &T) -> String {
    let value = serde_json::to_value(body).unwrap_or_default();
    let error = value
        .get("error")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("unknown_error");
    let description = value
        .get("error_description")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("")
        .trim();
    let (code, text) = match description.split_once(": ") {
        Some((code, text))
            if code.starts_with("AADSTS") && code[6..].chars().all(|c| c.is_ascii_digit()) =>
        {
            (Some(code), text)
        }
        _ => (None, description),
    };
    let hint = match error {
        "authorization_declined" => " (the user declined the sign-in)",
        "expired_token" => " (the device code expired before anyone signed in; run again)",
        "bad_verification_code" => " (the device code was not recognised)",
        _ => "",
    };
    let mut out = error.to_owned();
    if let Some(code) = code {
        let _ = write!(out, " ({code})");
    }
    if !text.is_empty() {
        let _ = write!(out, ": {text}");
    }
    out.push_str(hint);
    out
}

/// Replaces every occurrence of a secret value by `<redacted>`.
fn scrub(mut message: String, hide: &[&Secret]) -> String {
    for secret in hide {
        let value = secret.expose();
        if !value.is_empty() && message.contains(value) {
            message = message.replace(value, "<redacted>");
        }
    }
    message
}
