//! OAuth2 sign-in for mail accounts (Microsoft 365, Gmail, or any provider
//! with the device flow), with the `oauth2` crate over reqwest and rustls.
//!
//! `leadline login <account>` runs the device authorization grant
//! (RFC 8628) and keeps the refresh token in the secrets folder
//! (`[secrets] path`, by default `<data>/oauth`) as `<account>.json`,
//! readable by the owner only. The daemon asks [`access_token`] before each
//! IMAP or SMTP sign-in; it refreshes the access token when it is about to
//! expire and writes the new tokens back the same way (a temporary file,
//! synced, then renamed), so a crash never leaves half a token file.
//! Tokens are [`Secret`]s: never printed, never logged.

mod browser;
mod device;
mod sasl;
mod tokens;

pub use browser::{login_browser, BrowserPrompt};
pub use device::{login, Prompt};
pub use sasl::{oauthbearer, xoauth2};
pub use tokens::Tokens;
use tokens::{keep, renew_at, stored_from};

use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, ClientSecret, DeviceAuthorizationUrl, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, ErrorResponseType, HttpClientError, RefreshToken, RequestTokenError,
    StandardErrorResponse, TokenResponse, TokenUrl,
};

use super::Secret;
pub use crate::config::mail::{Endpoints, OAuthConfig, Provider, Sasl};

/// Why an OAuth2 step failed: the account needs a new sign-in, or the
/// provider (or this machine) failed for now and a retry may work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("mail account {account}: {reason}; sign in again with `leadline login {account}`")]
    SignIn { account: String, reason: String },
    #[error("mail account {account}: {reason}")]
    Unavailable { account: String, reason: String },
}

impl AuthError {
    /// Whether only a new `leadline login` helps.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, AuthError::SignIn { .. })
    }
}

type Client =
    BasicClient<EndpointMaybeSet, EndpointMaybeSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

struct Provided {
    client: Client,
    http: oauth2::reqwest::Client,
    host: String,
    timeout: u64,
}

fn provided(account: &str, cfg: &OAuthConfig) -> Result<Provided, AuthError> {
    let bad = |reason: String| AuthError::SignIn {
        account: account.to_string(),
        reason,
    };
    // The settings were checked when the config was read.
    let e = cfg.endpoints();
    let device = e
        .device
        .map(DeviceAuthorizationUrl::new)
        .transpose()
        .map_err(|err| bad(err.to_string()))?;
    let auth = e
        .authorization
        .map(AuthUrl::new)
        .transpose()
        .map_err(|err| bad(err.to_string()))?;
    let token = TokenUrl::new(e.token.clone()).map_err(|err| bad(err.to_string()))?;
    let mut client = BasicClient::new(ClientId::new(cfg.client_id.clone()))
        .set_device_authorization_url_option(device)
        .set_auth_uri_option(auth)
        .set_token_uri(token);
    if cfg.client_secret_env.is_some() || cfg.client_secret_file.is_some() {
        let secret = Secret::load(
            "oauth2 client secret",
            &cfg.client_secret_env,
            &cfg.client_secret_file,
        )
        .map_err(|err| bad(err.to_string()))?;
        client = client.set_client_secret(ClientSecret::new(secret.expose().to_string()));
    }
    let http = oauth2::reqwest::ClientBuilder::new()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(cfg.timeout_seconds))
        .build()
        .map_err(|err| AuthError::Unavailable {
            account: account.to_string(),
            reason: format!("cannot make an HTTP client: {err}"),
        })?;
    let host = oauth2::url::Url::parse(&e.token)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| {
                format!(
                    "{h}{}",
                    u.port().map(|p| format!(":{p}")).unwrap_or_default()
                )
            })
        })
        .unwrap_or_default();
    Ok(Provided {
        client,
        http,
        host,
        timeout: cfg.timeout_seconds,
    })
}

/// The first line of a provider's description (Microsoft adds trace ids).
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    line.chars().take(300).collect()
}

/// One line for a failed exchange with the provider.
fn explain<T: ErrorResponseType + std::fmt::Display>(
    account: &str,
    p: &Provided,
    client_id: &str,
    err: RequestTokenError<HttpClientError<oauth2::reqwest::Error>, StandardErrorResponse<T>>,
) -> AuthError {
    let sign_in = |reason: String| AuthError::SignIn {
        account: account.to_string(),
        reason,
    };
    let unavailable = |reason: String| AuthError::Unavailable {
        account: account.to_string(),
        reason,
    };
    match err {
        RequestTokenError::ServerResponse(r) => {
            let code = r.error().to_string();
            let said = r
                .error_description()
                .map(|d| format!(": {}", first_line(d)))
                .unwrap_or_default();
            match code.as_str() {
                "invalid_grant" => sign_in(format!("the sign-in has expired or was revoked{said}")),
                "invalid_client" | "unauthorized_client" => sign_in(format!(
                    "the provider refused client id {client_id} (check oauth2.client_id and the client secret){said}"
                )),
                "access_denied" | "authorization_declined" => {
                    sign_in(format!("the sign-in was denied in the browser{said}"))
                }
                "expired_token" => sign_in(
                    "the code expired before the sign-in was approved".to_string(),
                ),
                "invalid_scope" => sign_in(format!("the provider refused the scopes{said}")),
                "temporarily_unavailable" | "server_error" => {
                    unavailable(format!("the provider at {} is failing ({code}){said}", p.host))
                }
                _ => sign_in(format!("the provider refused the request ({code}){said}")),
            }
        }
        RequestTokenError::Request(HttpClientError::Reqwest(e)) if e.is_timeout() => {
            unavailable(format!(
                "the provider at {} did not answer within {} s",
                p.host, p.timeout
            ))
        }
        RequestTokenError::Request(e) => {
            let mut reason = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                reason = s.to_string();
                source = s.source();
            }
            unavailable(format!("cannot reach the provider at {}: {reason}", p.host))
        }
        RequestTokenError::Parse(_, body) => unavailable(format!(
            "the provider at {} answered something that is not an OAuth2 answer ({} bytes)",
            p.host,
            body.len()
        )),
        RequestTokenError::Other(s) => unavailable(format!(
            "the provider at {} answered something unexpected: {}",
            p.host,
            first_line(&s)
        )),
    }
}

/// An access token ready to use.
#[derive(Debug, Clone)]
pub struct Access {
    pub token: Secret,
    /// When it should be replaced (the session is renewed then).
    pub renew_at: Option<DateTime<Utc>>,
    /// Whether it was just fetched (a refusal then is not a stale token).
    pub fresh: bool,
}

/// One refresh at a time in this process: providers that rotate refresh
/// tokens would otherwise see the old one twice.
static REFRESH: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An access token for the account: the stored one while it is good,
/// else a refreshed one (stored for next time). `force` refreshes anyway
/// (the server refused the stored one).
///
/// Fails with [`AuthError::SignIn`] when the account is not signed in or
/// its sign-in is revoked, and [`AuthError::Unavailable`] when the provider
/// cannot be reached or answers garbage.
pub async fn access_token(
    account: &str,
    cfg: &OAuthConfig,
    tokens: &Tokens,
    force: bool,
) -> Result<Access, AuthError> {
    let _one = REFRESH.lock().await;
    let sign_in = |reason: &str| AuthError::SignIn {
        account: account.to_string(),
        reason: reason.to_string(),
    };
    let Some(stored) = tokens.load(account)? else {
        return Err(sign_in("it is not signed in"));
    };
    crate::redact::remember(&stored.refresh_token);
    if let Some(token) = &stored.access_token {
        crate::redact::remember(token);
    }
    if stored.client_id != cfg.client_id || stored.token_url != cfg.endpoints().token {
        return Err(sign_in(
            "it was signed in with another client id or provider than the config names",
        ));
    }
    if !force {
        if let (Some(token), Some(at)) = (&stored.access_token, renew_at(&stored)) {
            if Utc::now() < at {
                return Ok(Access {
                    token: Secret(token.clone()),
                    renew_at: Some(at),
                    fresh: false,
                });
            }
        }
    }
    let p = provided(account, cfg)?;
    let token = p
        .client
        .exchange_refresh_token(&RefreshToken::new(stored.refresh_token.clone()))
        .request_async(&p.http)
        .await
        .map_err(|e| explain(account, &p, &cfg.client_id, e))?;
    let refresh = token
        .refresh_token()
        .map(|r| r.secret().clone())
        .unwrap_or(stored.refresh_token);
    let renewed = stored_from(cfg, &token, refresh, stored.signed_in_at);
    crate::redact::remember(&renewed.refresh_token);
    crate::redact::remember(token.access_token().secret());
    tokens.save(account, &renewed)?;
    tracing::info!("{account}: access token refreshed");
    Ok(Access {
        token: Secret(token.access_token().secret().clone()),
        renew_at: renew_at(&renewed),
        fresh: true,
    })
}

#[cfg(test)]
mod tests {
    use super::tokens::Stored;
    use super::*;

    fn cfg(toml_text: &str) -> OAuthConfig {
        toml::from_str(toml_text).expect("parses")
    }

    #[test]
    fn providers_have_their_endpoints_and_scopes() {
        let ms = cfg(
            "provider = \"microsoft\"\ntenant = \"contoso.onmicrosoft.com\"\nclient_id = \"abc\"\n",
        );
        assert_eq!(
            ms.endpoints().device.as_deref(),
            Some(
                "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode"
            )
        );
        assert!(ms.scopes().contains(&"offline_access".to_string()));
        assert!(ms.scopes().iter().any(|s| s.ends_with("SMTP.Send")));
        assert!(ms.validate("a").is_ok());
        let g = cfg("provider = \"google\"\nclient_id = \"abc\"\n");
        assert_eq!(g.scopes(), vec!["https://mail.google.com/".to_string()]);
        assert_eq!(g.endpoints().token, "https://oauth2.googleapis.com/token");
        let c = cfg("provider = \"custom\"\nclient_id = \"abc\"\n");
        assert!(c
            .validate("a")
            .unwrap_err()
            .contains("device_authorization_url"));
        let plain = cfg("provider = \"custom\"\nclient_id = \"abc\"\nscopes = [\"mail\"]\ndevice_authorization_url = \"http://idp.example.com/d\"\ntoken_url = \"https://idp.example.com/t\"\n");
        assert!(plain.validate("a").unwrap_err().contains("must be https"));
        let t = cfg("provider = \"google\"\ntenant = \"x\"\nclient_id = \"abc\"\n");
        assert!(t
            .validate("a")
            .unwrap_err()
            .contains("for provider \"microsoft\" only"));
    }

    #[test]
    fn sasl_responses_carry_user_and_token() {
        let t = Secret("tok".to_string());
        assert_eq!(
            xoauth2("a@b.c", &t),
            "user=a@b.c\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(
            oauthbearer("a,b=c", "h", 993, &t),
            "n,a=a=2Cb=3Dc,\x01host=h\x01port=993\x01auth=Bearer tok\x01\x01"
        );
    }

    #[test]
    fn tokens_are_renewed_before_they_expire() {
        let now = Utc::now();
        let s = |life: i64| Stored {
            client_id: String::new(),
            token_url: String::new(),
            refresh_token: String::new(),
            access_token: None,
            expires_at: Some(now + chrono::Duration::seconds(life)),
            issued_at: Some(now),
            signed_in_at: now,
        };
        assert_eq!(
            renew_at(&s(3600)),
            Some(now + chrono::Duration::seconds(3300))
        );
        assert_eq!(renew_at(&s(10)), Some(now + chrono::Duration::seconds(8)));
    }
}
