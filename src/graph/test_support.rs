//! Test support: a real [`GraphClient`] signed in to an in-process simulator, for the tests
//! that talk Graph (the unit tests of `graph` and `actions::cloud_sync`, and `tests/collect.rs`). It owns the token
//! fetch (client credentials, or a device code approved through the simulator's handle) and the
//! fast test pace; it must not be used outside tests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::graph::auth::{AccessToken, AuthError, TokenSource};
use crate::graph::{GraphClient, GraphClientOptions, RetryPolicy};
use crate::simulate::SimServer;

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// One token fetched from the simulator up front (the tests run well within its hour).
pub struct FixedToken(pub AccessToken);

impl TokenSource for FixedToken {
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<AccessToken, AuthError>> + Send + '_>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }

    fn invalidate(&self, _rejected: &AccessToken) {}
}

/// A client-credentials (app-only) token, or a device-code (delegated) one approved through the
/// simulator's handle.
pub async fn token(
    server: &SimServer,
    tenant_id: &str,
    (client, secret): (&str, &str),
    delegated: bool,
) -> AccessToken {
    let http = reqwest::Client::new();
    let base = server.base_url();
    let scope = "https://graph.microsoft.com/.default";
    let form: Vec<(&str, String)> = if delegated {
        let code: Value = http
            .post(format!("{base}/{tenant_id}/oauth2/v2.0/devicecode"))
            .form(&[("client_id", client), ("scope", scope)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            server
                .handle()
                .approve_device_code(code["user_code"].as_str().unwrap()),
            "{code}"
        );
        vec![
            ("client_id", client.to_owned()),
            ("grant_type", DEVICE_CODE_GRANT.to_owned()),
            (
                "device_code",
                code["device_code"].as_str().unwrap().to_owned(),
            ),
        ]
    } else {
        vec![
            ("client_id", client.to_owned()),
            ("client_secret", secret.to_owned()),
            ("scope", scope.to_owned()),
            ("grant_type", "client_credentials".to_owned()),
        ]
    };
    let body: Value = http
        .post(format!("{base}/{tenant_id}/oauth2/v2.0/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    AccessToken {
        secret: body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned(),
        expires_at: Instant::now() + Duration::from_mins(50),
        delegated,
    }
}

/// A Graph client on the simulator with `token`, at `rps`/`burst`, and retries that back off in
/// milliseconds rather than seconds.
pub fn client(server: &SimServer, token: AccessToken, rps: u32, burst: u32) -> GraphClient {
    client_with(
        server,
        token,
        &GraphClientOptions {
            requests_per_second: rps,
            burst,
            retry: RetryPolicy {
                base: Duration::from_millis(10),
                cap: Duration::from_millis(100),
                ..RetryPolicy::default()
            },
            timeout: Duration::from_secs(20),
            ..GraphClientOptions::default()
        },
    )
}

/// A Graph client on the simulator with `token` and the given settings.
pub fn client_with(
    server: &SimServer,
    token: AccessToken,
    options: &GraphClientOptions,
) -> GraphClient {
    GraphClient::new(server.base_url(), Arc::new(FixedToken(token)), options).unwrap()
}
