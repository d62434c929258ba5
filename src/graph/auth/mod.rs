//! Token acquisition for Microsoft Graph: client secret, certificate (client assertion) and
//! device code, in every national cloud. It owns credentials and tokens; it must not know Graph
//! resources, and no secret it holds may reach a log, an error message or an output.

pub(crate) mod cache;
pub(crate) mod client;
pub(crate) mod cloud;
pub(crate) mod credential;
mod device_code;
pub(crate) mod http;
#[cfg(test)]
mod tests;

pub(crate) use cache::CachedTokenSource;
pub(crate) use client::TokenClient;
pub(crate) use cloud::{Cloud, Endpoints};
pub(crate) use credential::{
    CertificateCredential, Credential, CredentialKind, DeviceCodePrompt, Secret,
    client_secret_from_env_or_file,
};
pub(crate) use http::OAuthHttp;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

/// A bearer token for Graph. `Debug` never prints the token itself.
#[derive(Clone)]
pub struct AccessToken {
    pub secret: String,
    pub expires_at: Instant,
    /// Application (client credentials) or delegated (device code): some Graph resources answer
    /// only one of them (e.g. `/directory/onPremisesSynchronization` is delegated only).
    pub delegated: bool,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("delegated", &self.delegated)
            .finish()
    }
}

/// Why no token could be had; messages name the tenant, client and endpoint, never a secret.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AuthError {
    pub kind: AuthErrorKind,
    message: String,
}

/// What went wrong in a sign-in, so a caller can say what to fix without reading the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthErrorKind {
    /// A tenant, client id, cloud or endpoint that cannot be used as given.
    Configuration,
    /// The secret or certificate cannot be read or used.
    Credential,
    /// Microsoft Entra answered with an OAuth error (`AADSTS...`): wrong secret, consent
    /// missing, a device code declined or expired.
    Rejected,
    /// The token endpoint could not be reached.
    Unreachable,
    /// The token endpoint answered with something that is not an OAuth response.
    UnexpectedResponse,
}

impl AuthError {
    pub fn new(kind: AuthErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn configuration(message: impl Into<String>) -> Self {
        Self::new(AuthErrorKind::Configuration, message)
    }

    pub fn credential(message: impl Into<String>) -> Self {
        Self::new(AuthErrorKind::Credential, message)
    }

    /// The message (already free of secrets).
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Where the Graph client gets tokens: a cached token, refreshed before it expires, and
/// renewed once when Graph answers 401 mid-run.
pub trait TokenSource: Send + Sync {
    /// A token valid for at least a minute more.
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<AccessToken, AuthError>> + Send + '_>>;
    /// Graph rejected `rejected` (401): forget it, so the next `token()` gets a new one.
    fn invalidate(&self, rejected: &AccessToken);
}
