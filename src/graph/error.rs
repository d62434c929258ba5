//! Typed errors of the Graph client: an HTTP answer Graph refused (with Graph's `error.code`,
//! `error.message` and request-id, the status and the URL), a refusal for lack of permission
//! (`Forbidden`, so a collector can mark a collection forbidden instead of failed), transport
//! failures, bodies that could not be decoded, and token failures. It owns only the shapes; it
//! never holds a token, and URLs it carries are the request URLs (Graph never puts tokens there).

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use crate::graph::auth::AuthError;

/// What Graph said about a refused request
/// (<https://learn.microsoft.com/graph/errors>: `{"error":{"code","message","innerError":{...}}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    pub method: String,
    pub url: String,
    pub status: u16,
    /// `error.code`, e.g. `Authorization_RequestDenied`, `TooManyRequests`.
    pub code: Option<String>,
    pub message: Option<String>,
    /// The `request-id` response header, else `error.innerError.request-id`: what Microsoft
    /// support asks for.
    pub request_id: Option<String>,
}

impl std::fmt::Display for ErrorDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: HTTP {}", self.method, self.url, self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request-id {id})")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<Body>,
}

#[derive(Deserialize)]
struct Body {
    code: Option<String>,
    message: Option<String>,
    #[serde(rename = "innerError", alias = "innererror")]
    inner_error: Option<Inner>,
}

#[derive(Deserialize)]
struct Inner {
    #[serde(rename = "request-id")]
    request_id: Option<String>,
}

impl ErrorDetail {
    /// Builds the detail from a non-success answer; a body that is not Graph's error shape only
    /// loses the code and message.
    pub(crate) fn from_response(
        method: &str,
        url: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Self {
        let parsed = serde_json::from_slice::<Envelope>(body)
            .ok()
            .and_then(|e| e.error);
        let header_id = headers
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (code, message, inner_id) = match parsed {
            Some(b) => (b.code, b.message, b.inner_error.and_then(|i| i.request_id)),
            None => (None, None, None),
        };
        ErrorDetail {
            method: method.to_owned(),
            url: url.to_owned(),
            status: status.as_u16(),
            code,
            message,
            request_id: header_id.or(inner_id),
        }
    }
}

/// Everything a Graph call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// 403: the application lacks the permission (e.g. `Authorization_RequestDenied`). Never
    /// retried; a collector marks the collection forbidden.
    #[error("forbidden: {0}")]
    Forbidden(Box<ErrorDetail>),
    /// Any other refused request, after the retries the policy allows.
    #[error("{0}")]
    Status(Box<ErrorDetail>),
    /// No answer (connect, reset, timeout) or a body cut off, after the retries the policy allows.
    #[error("{method} {url}: transport error: {source}")]
    Transport {
        method: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// A success answer whose body is not the JSON expected.
    #[error("{method} {url}: undecodable response: {source}")]
    Decode {
        method: String,
        url: String,
        #[source]
        source: serde_json::Error,
    },
    /// No token could be had.
    #[error("token: {0}")]
    Auth(#[from] AuthError),
    /// The request could not be built (bad URL or header); a bug, not a Graph condition.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

impl GraphError {
    /// The refusal's detail, for `Forbidden` and `Status`.
    pub fn detail(&self) -> Option<&ErrorDetail> {
        match self {
            GraphError::Forbidden(d) | GraphError::Status(d) => Some(d),
            _ => None,
        }
    }

    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        self.detail().map(|d| d.status)
    }

    /// Graph's `error.code` of a refusal.
    pub fn code(&self) -> Option<&str> {
        self.detail().and_then(|d| d.code.as_deref())
    }

    pub fn is_forbidden(&self) -> bool {
        matches!(self, GraphError::Forbidden(_))
    }
}
