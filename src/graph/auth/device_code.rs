//! The device code flow (delegated sign-in,
//! <https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code>):
//! `POST {tenant}/oauth2/v2.0/devicecode`,
//! the `message` handed to the caller's prompt callback, then polling the token endpoint with
//! oauth2's poller, which waits `interval` between polls, keeps polling on
//! `authorization_pending`, adds 5 s on `slow_down`, and stops on `authorization_declined`,
//! `expired_token` or `bad_verification_code` (and when `expires_in` has passed).

use oauth2::basic::BasicTokenResponse;
use oauth2::{DeviceAuthorizationUrl, ExtraDeviceAuthorizationFields};
use serde::{Deserialize, Serialize};

use super::AuthError;
use super::client::{TokenClient, TokenEndpointClient};
use super::credential::DeviceCodePrompt;

/// Entra's extra device authorization field: the text to show the user.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct EntraDeviceFields {
    #[serde(default)]
    message: Option<String>,
}

impl ExtraDeviceAuthorizationFields for EntraDeviceFields {}

type EntraDeviceAuthorization = oauth2::DeviceAuthorizationResponse<EntraDeviceFields>;

impl TokenClient {
    /// Runs a device code sign-in to the end: the user gets the prompt, the token comes back.
    pub(super) async fn device_code_flow(
        &self,
        base: &TokenEndpointClient,
        prompt: &DeviceCodePrompt,
    ) -> Result<BasicTokenResponse, AuthError> {
        let url = self.endpoints().device_code_url(self.tenant());
        let device_url = DeviceAuthorizationUrl::new(url.clone()).map_err(|e| {
            AuthError::configuration(format!("device code endpoint {url} is not a URL: {e}"))
        })?;
        let client = base.clone().set_device_authorization_url(device_url);
        let [graph, offline] = self.delegated_scopes();
        let details: EntraDeviceAuthorization = client
            .exchange_device_code()
            .add_scope(graph)
            .add_scope(offline)
            .request_async(self.http())
            .await
            .map_err(|e| self.request_error("device code request", &e, &[]))?;
        let message = details.extra_fields().message.clone().unwrap_or_else(|| {
            format!(
                "To sign in, use a web browser to open the page {} and enter the code {} to authenticate.",
                details.verification_uri().as_str(),
                details.user_code().secret()
            )
        });
        prompt(&message);
        client
            .exchange_device_access_token(&details)
            .request_async(self.http(), tokio::time::sleep, None)
            .await
            .map_err(|e| self.request_error("device code sign-in", &e, &[]))
    }
}
