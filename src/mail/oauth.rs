//! OAuth2 sign-in for mail accounts (Microsoft 365, Gmail, or any provider
//! with the device flow), with the `oauth2` crate over reqwest and rustls.
//!
//! `leadline login <account>` runs the device authorization grant
//! (RFC 8628) and keeps the refresh token in `<data>/oauth/<account>.json`,
//! readable by the owner only. The daemon asks [`access_token`] before each
//! IMAP or SMTP sign-in; it refreshes the access token when it is about to
//! expire and writes the new tokens back the same way (a temporary file,
//! synced, then renamed), so a crash never leaves half a token file.
//! Tokens are [`Secret`]s: never printed, never logged.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, DeviceAuthorizationUrl,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, ErrorResponseType, HttpClientError,
    PkceCodeChallenge, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardDeviceAuthorizationResponse, StandardErrorResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

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

/// What is kept of a sign-in.
#[derive(Clone, Serialize, Deserialize)]
struct Stored {
    client_id: String,
    token_url: String,
    refresh_token: String,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
    /// When the access token was issued, to refresh well before it expires.
    #[serde(default)]
    issued_at: Option<DateTime<Utc>>,
    signed_in_at: DateTime<Utc>,
}

/// The sign-in files in the secrets folder (`[secrets] path`, by default
/// `<data>/oauth`): `<account>.json`, owner-only.
#[derive(Debug, Clone)]
pub struct Tokens {
    dir: PathBuf,
}

impl Tokens {
    /// The sign-ins kept in folder `dir`.
    pub fn new(dir: &Path) -> Tokens {
        Tokens {
            dir: dir.to_path_buf(),
        }
    }

    /// The file of an account's sign-in.
    pub fn path(&self, account: &str) -> PathBuf {
        self.dir.join(format!("{account}.json"))
    }

    /// When the account was last signed in with `leadline login` (a
    /// refresh keeps it); `None` when it is not signed in.
    pub fn signed_in_at(&self, account: &str) -> Option<DateTime<Utc>> {
        self.load(account).ok().flatten().map(|s| s.signed_in_at)
    }

    fn load(&self, account: &str) -> Result<Option<Stored>, AuthError> {
        let path = self.path(account);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(AuthError::Unavailable {
                    account: account.to_string(),
                    reason: format!("cannot read {}: {e}", path.display()),
                })
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| AuthError::SignIn {
                account: account.to_string(),
                reason: format!("{} is damaged", path.display()),
            })
    }

    fn save(&self, account: &str, stored: &Stored) -> Result<(), AuthError> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        let fail = |e: std::io::Error| AuthError::Unavailable {
            account: account.to_string(),
            reason: format!("cannot store the sign-in in {}: {e}", self.dir.display()),
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(fail)?;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .map_err(fail)?;
        let tmp = self.dir.join(format!(".{account}.json.tmp"));
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(fail)?;
        let json = serde_json::to_vec(stored).map_err(|e| fail(std::io::Error::other(e)))?;
        f.write_all(&json)
            .and_then(|_| f.sync_all())
            .map_err(fail)?;
        drop(f);
        std::fs::rename(&tmp, self.path(account)).map_err(fail)?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(fail)
    }

    /// Forgets an account's sign-in; false when there was none.
    ///
    /// Fails when the file cannot be removed.
    pub fn remove(&self, account: &str) -> std::io::Result<bool> {
        match std::fs::remove_file(self.path(account)) {
            Ok(()) => {
                if let Ok(d) = std::fs::File::open(&self.dir) {
                    let _ = d.sync_all();
                }
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
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

/// How long before expiry a token is refreshed: a fifth of its life, at
/// most five minutes (so clocks a little apart do not matter).
fn margin(issued: DateTime<Utc>, expires: DateTime<Utc>) -> chrono::Duration {
    ((expires - issued) / 5).min(chrono::Duration::minutes(5))
}

/// When an access token should be replaced.
fn renew_at(s: &Stored) -> Option<DateTime<Utc>> {
    let expires = s.expires_at?;
    Some(expires - margin(s.issued_at.unwrap_or(expires), expires))
}

fn stored_from(
    cfg: &OAuthConfig,
    token: &oauth2::basic::BasicTokenResponse,
    refresh: String,
    signed_in_at: DateTime<Utc>,
) -> Stored {
    let now = Utc::now();
    let life = token
        .expires_in()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .unwrap_or(chrono::Duration::hours(1));
    Stored {
        client_id: cfg.client_id.clone(),
        token_url: cfg.endpoints().token,
        refresh_token: refresh,
        access_token: Some(token.access_token().secret().clone()),
        expires_at: Some(now + life),
        issued_at: Some(now),
        signed_in_at,
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
    tokens.save(account, &renewed)?;
    tracing::info!("{account}: access token refreshed");
    Ok(Access {
        token: Secret(token.access_token().secret().clone()),
        renew_at: renew_at(&renewed),
        fresh: true,
    })
}

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

/// Stores a new sign-in; without a refresh token there is nothing to keep.
fn keep(
    account: &str,
    cfg: &OAuthConfig,
    tokens: &Tokens,
    token: &oauth2::basic::BasicTokenResponse,
) -> Result<(), AuthError> {
    let Some(refresh) = token.refresh_token() else {
        return Err(AuthError::SignIn {
            account: account.to_string(),
            reason: "the provider gave no refresh token (the scopes need offline_access)"
                .to_string(),
        });
    };
    let stored = stored_from(cfg, token, refresh.secret().clone(), Utc::now());
    tokens.save(account, &stored)
}

/// What the user is asked to do to sign in with a browser.
#[derive(Debug, Clone, Serialize)]
pub struct BrowserPrompt {
    /// The provider's sign-in page.
    pub url: String,
    /// Where the provider sends the browser afterwards (leadline listens).
    pub redirect: String,
    pub expires_in_seconds: u64,
}

/// How long a browser sign-in may take.
const BROWSER_WAIT: Duration = Duration::from_secs(600);

/// The redirect, if this connection brings it: answers the browser and
/// returns the address it was sent to.
async fn redirected(mut stream: tokio::net::TcpStream, port: u16) -> Option<oauth2::url::Url> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    let read = async {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), read).await;
    let head = String::from_utf8_lossy(&buf);
    let target = head.lines().next()?.split_whitespace().nth(1)?.to_string();
    let url = oauth2::url::Url::parse(&format!("http://127.0.0.1:{port}{target}")).ok()?;
    let answer = url.query_pairs().any(|(k, _)| k == "code" || k == "error");
    let (status, page) = if answer {
        (
            "200 OK",
            "<!doctype html><title>leadline</title><p>leadline has the answer of your sign-in. You can close this tab and go back to the terminal.</p>",
        )
    } else {
        (
            "404 Not Found",
            "<!doctype html><title>leadline</title><p>Not here.</p>",
        )
    };
    let _ = stream
        .write_all(
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            )
            .as_bytes(),
        )
        .await;
    let _ = stream.shutdown().await;
    answer.then_some(url)
}

/// Signs the account in with the authorization code grant and PKCE
/// (RFC 7636) through a browser (Gmail's way: Google's device flow does
/// not grant mail scopes). The provider sends the browser back to a
/// listener on 127.0.0.1; when the browser runs on another machine, the
/// user pastes the address it was sent to (a line on `pasted`). Nothing is
/// stored unless the sign-in completes.
///
/// Fails with one line naming the account and what to do: denied, an
/// answer from another sign-in, no answer in 10 minutes, the provider
/// refusing the client or the code.
pub async fn login_browser(
    account: &str,
    cfg: &OAuthConfig,
    tokens: &Tokens,
    show: impl FnOnce(&BrowserPrompt),
    mut pasted: tokio::sync::mpsc::UnboundedReceiver<String>,
) -> Result<(), AuthError> {
    let sign_in = |reason: String| AuthError::SignIn {
        account: account.to_string(),
        reason,
    };
    let p = provided(account, cfg)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| sign_in(format!("cannot listen on 127.0.0.1 for the browser: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| sign_in(format!("cannot listen on 127.0.0.1 for the browser: {e}")))?
        .port();
    let redirect = format!("http://127.0.0.1:{port}/");
    let client = p
        .client
        .clone()
        .set_redirect_uri(RedirectUrl::new(redirect.clone()).map_err(|e| sign_in(e.to_string()))?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .map_err(|_| {
            sign_in(
                "the provider has no browser sign-in (no authorization_url); use `leadline login --device`"
                    .to_string(),
            )
        })?
        .add_scopes(cfg.scopes().into_iter().map(Scope::new))
        .set_pkce_challenge(challenge);
    if cfg.provider == Provider::Google {
        // Google gives a refresh token only when asked for offline access.
        request = request
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent");
    }
    let (url, state) = request.url();
    show(&BrowserPrompt {
        url: url.to_string(),
        redirect: redirect.clone(),
        expires_in_seconds: BROWSER_WAIT.as_secs(),
    });
    let deadline = tokio::time::sleep(BROWSER_WAIT);
    tokio::pin!(deadline);
    let mut typing = true;
    let answer = loop {
        tokio::select! {
            _ = &mut deadline => {
                return Err(sign_in("no sign-in arrived within 10 minutes".to_string()))
            }
            conn = listener.accept() => {
                if let Ok((stream, _)) = conn {
                    if let Some(url) = redirected(stream, port).await {
                        break url;
                    }
                }
            }
            line = pasted.recv(), if typing => match line {
                None => typing = false,
                Some(l) if l.trim().is_empty() => {}
                Some(l) => match oauth2::url::Url::parse(l.trim()) {
                    Ok(u) if u.query_pairs().any(|(k, _)| k == "code" || k == "error") => break u,
                    _ => {
                        return Err(sign_in(format!(
                            "what was pasted is not the address the browser was sent to (it starts with {redirect})"
                        )))
                    }
                },
            }
        }
    };
    let q: std::collections::HashMap<String, String> = answer.query_pairs().into_owned().collect();
    if q.get("state") != Some(state.secret()) {
        return Err(sign_in(
            "the answer is not from this sign-in (its state differs)".to_string(),
        ));
    }
    if let Some(code) = q.get("error") {
        let said = q
            .get("error_description")
            .map(|d| format!(": {}", first_line(d)))
            .unwrap_or_default();
        return Err(sign_in(match code.as_str() {
            "access_denied" => format!("the sign-in was denied in the browser{said}"),
            other => format!("the provider refused the sign-in ({other}){said}"),
        }));
    }
    let code = q.get("code").cloned().unwrap_or_default();
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&p.http)
        .await
        .map_err(|e| explain(account, &p, &cfg.client_id, e))?;
    keep(account, cfg, tokens, &token)
}

/// The SASL XOAUTH2 initial response.
pub fn xoauth2(user: &str, token: &Secret) -> String {
    format!("user={user}\x01auth=Bearer {}\x01\x01", token.expose())
}

/// The SASL OAUTHBEARER (RFC 7628) initial response.
pub fn oauthbearer(user: &str, host: &str, port: u16, token: &Secret) -> String {
    format!(
        "n,a={},\x01host={host}\x01port={port}\x01auth=Bearer {}\x01\x01",
        user.replace('=', "=3D").replace(',', "=2C"),
        token.expose()
    )
}

#[cfg(test)]
mod tests {
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
