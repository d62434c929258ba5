//! The `TokenSource` the Graph client uses: a token cached while it has more than a minute
//! left, renewed otherwise, and dropped by `invalidate` when Graph answers 401 with it.
//! Concurrent callers that find no usable token share one renewal: they queue on a tokio
//! mutex and the first one through fetches, the others find its token in the cache.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::client::TokenClient;
use super::{AccessToken, AuthError, TokenSource};

/// A token with at most this much left is renewed.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_mins(1);

/// Caches the token of a [`TokenClient`].
#[derive(Debug)]
pub(crate) struct CachedTokenSource {
    client: TokenClient,
    cached: Mutex<Option<AccessToken>>,
    renewal: tokio::sync::Mutex<()>,
}

impl CachedTokenSource {
    pub(crate) fn new(client: TokenClient) -> Self {
        Self {
            client,
            cached: Mutex::new(None),
            renewal: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self) -> Option<AccessToken> {
        let cached = self
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cached
            .as_ref()
            .filter(|t| t.expires_at > Instant::now() + REFRESH_MARGIN)
            .cloned()
    }

    /// The cached token if it has more than a minute left, otherwise a new one.
    pub(crate) async fn get(&self) -> Result<AccessToken, AuthError> {
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let _renewing = self.renewal.lock().await;
        // Someone else may have renewed while this caller waited.
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let token = self.client.acquire().await?;
        *self
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(token.clone());
        Ok(token)
    }
}

impl TokenSource for CachedTokenSource {
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<AccessToken, AuthError>> + Send + '_>> {
        Box::pin(self.get())
    }

    /// Drops the cached token if it is the rejected one (a newer token stays).
    fn invalidate(&self, rejected: &AccessToken) {
        let mut cached = self
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cached.as_ref().is_some_and(|t| t.secret == rejected.secret) {
            *cached = None;
        }
    }
}
