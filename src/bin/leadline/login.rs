//! `leadline login` and `leadline logout`: an account's OAuth2 sign-in,
//! kept in the secrets folder.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use leadline::config::Config;

/// The OAuth2 settings of mail account `name`.
pub fn oauth_account<'a>(
    config: &'a Config,
    name: &str,
) -> anyhow::Result<&'a leadline::mail::oauth::OAuthConfig> {
    let Some(account) = config.mail.account(name) else {
        let known: Vec<&str> = config
            .mail
            .accounts
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        anyhow::bail!(
            "no mail account is named '{name}' (configured: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    };
    account.oauth2.as_ref().with_context(|| {
        format!("mail account {name} signs in with a password; login is for accounts with [oauth2]")
    })
}

/// `leadline login ACCOUNT`: the device flow (or the browser flow), then
/// the sign-in is stored.
pub fn login(
    config: &Config,
    secrets: &Path,
    name: &str,
    browser: bool,
    device: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use leadline::mail::oauth::{self, Provider};
    let cfg = oauth_account(config, name)?;
    let tokens = oauth::Tokens::new(secrets);
    let use_browser = browser
        || (!device && (cfg.provider == Provider::Google || cfg.endpoints().device.is_none()));
    let rt = crate::runtime()?;
    let result = if use_browser {
        // The address the browser was sent to may be pasted here.
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let shown = |p: &oauth::BrowserPrompt| {
            if json {
                outln!("{}", serde_json::json!({"prompt": p}));
            } else {
                outln!(
                    "To sign in mail account {name}, open this address in a browser:\n  {}",
                    p.url
                );
                outln!(
                    "After you approve, the browser is sent to {}. If the browser runs on another machine, it shows an error page there: copy the address from its address bar and paste it here.",
                    p.redirect
                );
                outln!(
                    "Waiting for the sign-in ({} minutes)...",
                    p.expires_in_seconds / 60
                );
            }
            let _ = std::io::stdout().flush();
        };
        rt.block_on(oauth::login_browser(name, cfg, &tokens, shown, rx))
    } else {
        let shown = |p: &oauth::Prompt| {
            if json {
                outln!("{}", serde_json::json!({"prompt": p}));
            } else {
                outln!(
                    "To sign in mail account {name}, open {} and enter the code {} (valid for {} minutes).",
                    p.verification_uri,
                    p.user_code,
                    p.expires_in_seconds.div_ceil(60)
                );
                if let Some(direct) = &p.verification_uri_complete {
                    outln!("Or open {direct}");
                }
                outln!("Waiting for the sign-in...");
            }
            let _ = std::io::stdout().flush();
        };
        rt.block_on(oauth::login(name, cfg, &tokens, shown))
    };
    match result {
        Ok(()) => {
            if json {
                outln!("{}", serde_json::json!({"ok": true, "account": name}));
            } else {
                outln!(
                    "Signed in mail account {name}. A running daemon uses it from its next connection."
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            errln!("leadline: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// `leadline logout ACCOUNT`: the stored sign-in is deleted.
pub fn logout(config: &Config, secrets: &Path, name: &str) -> anyhow::Result<ExitCode> {
    oauth_account(config, name)?;
    let tokens = leadline::mail::oauth::Tokens::new(secrets);
    let removed = tokens
        .remove(name)
        .with_context(|| format!("cannot delete {}", tokens.path(name).display()))?;
    if removed {
        outln!("Signed out mail account {name}: its sign-in is deleted; leadline stops reading it until `leadline login {name}`.");
    } else {
        outln!("Mail account {name} was not signed in.");
    }
    Ok(ExitCode::SUCCESS)
}
