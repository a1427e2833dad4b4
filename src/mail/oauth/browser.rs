//! `leadline login --browser`: the authorization code flow with PKCE,
//! the provider sending the browser back to a loopback address (or the
//! address pasted by hand).

use std::time::Duration;

use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
use serde::Serialize;

use super::*;
pub use crate::config::mail::{OAuthConfig, Provider};

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
pub(super) const BROWSER_WAIT: Duration = Duration::from_secs(600);

/// The redirect, if this connection brings it: answers the browser and
/// returns the address it was sent to.
pub(super) async fn redirected(
    mut stream: tokio::net::TcpStream,
    port: u16,
) -> Option<oauth2::url::Url> {
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
