//! `leadline login` with the device flow (RFC 8628): a code to enter in
//! a browser anywhere.

use oauth2::{Scope, StandardDeviceAuthorizationResponse};
use serde::Serialize;

use super::*;
pub use crate::config::mail::OAuthConfig;

/// What the user is asked to do to sign in.
#[derive(Debug, Clone, Serialize)]
pub struct Prompt {
    pub verification_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_uri_complete: Option<String>,
    pub user_code: String,
    pub expires_in_seconds: u64,
}

/// Signs the account in with the device authorization grant: asks the
/// provider for a code, shows it with `show`, waits while the user
/// approves in a browser elsewhere, and stores the tokens. Nothing is
/// stored unless the sign-in completes.
///
/// Fails with one line naming the account and what to do: the code
/// expired, the user denied, the client id or tenant is wrong, the
/// provider answered garbage or not at all.
pub async fn login(
    account: &str,
    cfg: &OAuthConfig,
    tokens: &Tokens,
    show: impl FnOnce(&Prompt),
) -> Result<(), AuthError> {
    let p = provided(account, cfg)?;
    let scopes = cfg.scopes().into_iter().map(Scope::new);
    let request = p.client.exchange_device_code().map_err(|_| AuthError::SignIn {
        account: account.to_string(),
        reason: "the provider has no device sign-in (no device_authorization_url); use `leadline login --browser`".to_string(),
    })?;
    let details: StandardDeviceAuthorizationResponse = request
        .add_scopes(scopes)
        .request_async(&p.http)
        .await
        .map_err(|e| explain(account, &p, &cfg.client_id, e))?;
    show(&Prompt {
        verification_uri: details.verification_uri().to_string(),
        verification_uri_complete: details
            .verification_uri_complete()
            .map(|u| u.secret().to_string()),
        user_code: details.user_code().secret().to_string(),
        expires_in_seconds: details.expires_in().as_secs(),
    });
    let token = p
        .client
        .exchange_device_access_token(&details)
        .request_async(&p.http, tokio::time::sleep, None)
        .await
        .map_err(|e| explain(account, &p, &cfg.client_id, e))?;
    keep(account, cfg, tokens, &token)
}
