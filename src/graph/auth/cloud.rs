//! National clouds and endpoints: which login (authority) host and which Graph host a run talks
//! to (<https://learn.microsoft.com/entra/identity-platform/authentication-national-cloud>,
//! <https://learn.microsoft.com/graph/deployments>), with the `--authority-host` /
//! `--graph-endpoint` overrides. An endpoint
//! must be `https://`; plain `http://` is accepted only for loopback hosts (127.0.0.0/8, `::1`,
//! `localhost`) so that the simulator can be used and no token or secret crosses a network in
//! clear text.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use reqwest::Url;

use super::AuthError;

/// A Microsoft Graph deployment (national cloud).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Cloud {
    /// The global service.
    #[default]
    Global,
    /// US Government L4 (GCC High).
    UsGov,
    /// US Government L5 (`DoD`).
    UsGovDod,
    /// China, operated by 21Vianet.
    China,
}

impl Cloud {
    pub const ALL: [Cloud; 4] = [Cloud::Global, Cloud::UsGov, Cloud::UsGovDod, Cloud::China];

    /// The name `--cloud` takes.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsGov => "usgov",
            Cloud::UsGovDod => "usgov-dod",
            Cloud::China => "china",
        }
    }

    /// The Microsoft Entra login (authority) host.
    pub fn login_host(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGov | Cloud::UsGovDod => "https://login.microsoftonline.us",
            // Graph's deployments page lists login.chinacloudapi.cn; the Entra docs name
            // https://login.partner.microsoftonline.cn
            // (https://learn.microsoft.com/entra/identity-platform/authentication-national-cloud,
            // https://learn.microsoft.com/graph/deployments). Override with
            // `--authority-host` if a tenant needs the other one.
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The Graph host; the token scope is this host + `/.default`.
    pub fn graph_host(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGov => "https://graph.microsoft.us",
            Cloud::UsGovDod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Cloud {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Cloud::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                AuthError::configuration(format!(
                    "unknown cloud '{s}': expected one of global, usgov, usgov-dod, china"
                ))
            })
    }
}

/// The authority and Graph base URLs of a run, validated, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoints {
    cloud: Cloud,
    authority: String,
    graph: String,
}

impl Endpoints {
    /// The cloud's hosts, each replaced by its override when one is given.
    pub(crate) fn new(
        cloud: Cloud,
        authority_host: Option<&str>,
        graph_endpoint: Option<&str>,
    ) -> Result<Self, AuthError> {
        let authority = match authority_host {
            Some(raw) => validate_endpoint("authority host", raw)?,
            None => cloud.login_host().to_owned(),
        };
        let graph = match graph_endpoint {
            Some(raw) => validate_endpoint("Graph endpoint", raw)?,
            None => cloud.graph_host().to_owned(),
        };
        Ok(Self {
            cloud,
            authority,
            graph,
        })
    }

    #[cfg(test)]
    /// The cloud's own hosts.
    pub(crate) fn for_cloud(cloud: Cloud) -> Self {
        Self {
            cloud,
            authority: cloud.login_host().to_owned(),
            graph: cloud.graph_host().to_owned(),
        }
    }

    /// E.g. `https://login.microsoftonline.com`.
    pub(crate) fn authority(&self) -> &str {
        &self.authority
    }

    /// E.g. `https://graph.microsoft.com` (no version segment).
    pub(crate) fn graph(&self) -> &str {
        &self.graph
    }

    /// The client credentials / device code scope: `{graph}/.default`.
    pub(crate) fn graph_scope(&self) -> String {
        format!("{}/.default", self.graph)
    }

    /// `{authority}/{tenant}/oauth2/v2.0/token`: also the `aud` of a client assertion.
    pub(crate) fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.authority)
    }

    /// `{authority}/{tenant}/oauth2/v2.0/devicecode`.
    pub(crate) fn device_code_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/devicecode", self.authority)
    }
}

/// Checks an endpoint override and returns it without a trailing slash: an absolute `https`
/// URL (or `http` on a loopback host) with no credentials, query or fragment.
pub(crate) fn validate_endpoint(what: &str, raw: &str) -> Result<String, AuthError> {
    let raw = raw.trim();
    let bad = |why: &str| AuthError::configuration(format!("{what} '{raw}': {why}"));
    let url = Url::parse(raw).map_err(|e| bad(&format!("not an absolute URL ({e})")))?;
    let host = url.host_str().ok_or_else(|| bad("the URL has no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(bad(
                "plain http is accepted only for loopback hosts (127.0.0.0/8, ::1, localhost); use https",
            ));
        }
        other => return Err(bad(&format!("unsupported scheme '{other}'; use https"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("the URL must not carry credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("the URL must not have a query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// 127.0.0.0/8, `::1` (as `[::1]` in a URL) or `localhost`.
fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
