//! Turns the sign-in flags of a live command (`collect`, `check` without `--cloud`, `doctor`,
//! `cloud-sync`) into a ready [`GraphClient`]: which credential (certificate, device code or
//! client secret, in that order of precedence), which cloud and endpoints, and the client's pace.
//! It owns that choice and the messages that explain a missing piece; it must not send a Graph
//! request itself, and no secret passes through it except into the credential.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use crate::graph::auth::{
    CachedTokenSource, CertificateCredential, Cloud, Credential, CredentialKind, DeviceCodePrompt,
    Endpoints, OAuthHttp, Secret, TokenClient, TokenSource as _, client_secret_from_env_or_file,
};
use crate::graph::{GraphClient, GraphClientOptions};

/// The sign-in and endpoint settings of a live run (built from the command line by `main`).
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Tenant id or a verified domain name.
    pub tenant: Option<String>,
    /// Application (client) id.
    pub client_id: Option<String>,
    /// File holding the client secret (otherwise `AZURE_CLIENT_SECRET`).
    pub client_secret_file: Option<PathBuf>,
    /// A client secret handed over in process (the demo's simulator, a tenants file's secret
    /// reference already resolved); wins over the file and the environment.
    pub client_secret: Option<Secret>,
    /// PEM (key and certificate) or PFX file: sign in with a client assertion.
    pub certificate: Option<PathBuf>,
    /// Sign a user in with the device code flow (delegated token).
    pub device_code: bool,
    pub cloud: Cloud,
    pub authority_host: Option<String>,
    pub graph_endpoint: Option<String>,
    /// Steady request rate of the client (all collections together).
    pub requests_per_second: u32,
}

/// A signed-in Graph client and what it was built from.
pub(crate) struct Session {
    pub graph: GraphClient,
    pub tokens: Arc<CachedTokenSource>,
    pub endpoints: Endpoints,
    pub tenant: String,
    pub client_id: String,
    /// Which credential signed in.
    pub credential_kind: CredentialKind,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("graph", &self.endpoints.graph())
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("credential", &self.credential_kind)
            .finish_non_exhaustive()
    }
}

/// Builds the credential and the Graph client. No request is sent: the first token is fetched
/// by the first Graph request (or by [`Session::sign_in`]).
pub(crate) fn connect(options: &ConnectOptions) -> anyhow::Result<Session> {
    let tenant = options
        .tenant
        .clone()
        .filter(|t| !t.trim().is_empty())
        .context(
            "no tenant: pass --tenant (a tenant id or verified domain) or set AZURE_TENANT_ID",
        )?;
    let client_id = options
        .client_id
        .clone()
        .filter(|c| !c.trim().is_empty())
        .context("no application (client) id: pass --client-id or set AZURE_CLIENT_ID")?;
    let endpoints = Endpoints::new(
        options.cloud,
        options.authority_host.as_deref(),
        options.graph_endpoint.as_deref(),
    )?;
    let credential = credential(options)?;
    let credential_kind = credential.kind();
    let token_client = TokenClient::new(
        endpoints.clone(),
        &tenant,
        &client_id,
        credential,
        OAuthHttp::new()?,
    )?;
    let tokens = Arc::new(CachedTokenSource::new(token_client));
    let graph = GraphClient::new(
        endpoints.graph(),
        tokens.clone(),
        &GraphClientOptions {
            requests_per_second: options.requests_per_second.max(1),
            ..GraphClientOptions::default()
        },
    )?;
    Ok(Session {
        graph,
        tokens,
        endpoints,
        tenant,
        client_id,
        credential_kind,
    })
}

impl Session {
    /// Gets the first token now, so that a sign-in problem is reported as such before any
    /// collection starts.
    pub(crate) async fn sign_in(&self) -> anyhow::Result<crate::graph::auth::AccessToken> {
        self.tokens.token().await.with_context(|| {
            format!(
                "signing in to tenant {} as client {} with a {} at {}",
                self.tenant,
                self.client_id,
                self.credential_kind,
                self.endpoints.authority()
            )
        })
    }
}

fn credential(options: &ConnectOptions) -> anyhow::Result<Credential> {
    if options.device_code && options.certificate.is_some() {
        anyhow::bail!("--device-code and --certificate exclude each other: choose one sign-in");
    }
    if let Some(path) = &options.certificate {
        let cert = CertificateCredential::from_file(path)?;
        return Ok(Credential::Certificate(Arc::new(cert)));
    }
    if options.device_code {
        // The prompt goes to stderr: stdout may be a pipe into a report or a scheduler's log.
        let prompt: DeviceCodePrompt = Arc::new(|message: &str| eprintln!("{message}"));
        return Ok(Credential::DeviceCode(prompt));
    }
    if let Some(secret) = &options.client_secret {
        return Ok(Credential::ClientSecret(secret.clone()));
    }
    let secret = client_secret_from_env_or_file(options.client_secret_file.as_deref()).map_err(
        |e| {
            anyhow::anyhow!(
                "{e} (or sign in with --certificate FILE, AZURE_CLIENT_CERTIFICATE_PATH, or --device-code)"
            )
        },
    )?;
    Ok(Credential::ClientSecret(secret))
}
