//! The HTTP client the `oauth2` crate sends token requests through: a newtype over the
//! project's `reqwest` 0.13 client implementing `oauth2::AsyncHttpClient` (oauth2 5's own
//! `reqwest` feature is tied to reqwest 0.12: <https://docs.rs/oauth2/5.0.0/oauth2/#http-clients>,
//! and <https://docs.rs/oauth2-reqwest> says so too). Token requests carry secrets in
//! their bodies, so the client built here follows no redirects.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use oauth2::{AsyncHttpClient, HttpRequest, HttpResponse};

use super::AuthError;

/// A reqwest 0.13 client usable by `oauth2` request builders.
#[derive(Debug, Clone)]
pub(crate) struct OAuthHttp(reqwest::Client);

impl OAuthHttp {
    /// A dedicated client: no redirects (a redirected POST would resend the secret), 30 s
    /// request and 10 s connect timeouts.
    pub(crate) fn new() -> Result<Self, AuthError> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map(Self)
            .map_err(|e| {
                AuthError::configuration(format!(
                    "cannot build the HTTP client for token requests: {e}"
                ))
            })
    }
}

impl<'c> AsyncHttpClient<'c> for OAuthHttp {
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let request = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .build()?;
            let response = self.0.execute(request).await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?.to_vec();
            let mut out = HttpResponse::new(body);
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            Ok(out)
        })
    }
}
