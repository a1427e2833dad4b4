//! The mail adapter: IMAP ingest of flagged mail (async-imap, mail-parser)
//! and the SMTP outbox sender (lettre), both carried out through commands
//! of the workflow core. Configuration, secrets and errors live here; the
//! matching rules live in `command::mailbox`.

pub mod alert;
pub mod imap;
pub mod oauth;
pub mod parse;
pub mod smtp;
mod stream;

use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

/// How a connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tls {
    /// TLS from the first byte (IMAP 993, SMTP 465).
    Implicit,
    /// Plain, then STARTTLS before logging in (IMAP 143, SMTP 587).
    Starttls,
    /// No encryption: only allowed to a loopback address.
    None,
}

/// One IMAP mailbox to watch.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapAccount {
    pub name: String,
    pub host: String,
    #[serde(default)]
    pub port: Option<u16>,
    pub tls: Tls,
    pub user: String,
    /// Refused when present: passwords never go in the config file.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Sign in with OAuth2 instead of a password (`leadline login`).
    #[serde(default)]
    pub oauth2: Option<oauth::OAuthConfig>,
    /// Extra certificate authority (PEM) to trust, for servers with a
    /// private CA; the public roots are always trusted.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default = "default_folders")]
    pub folders: Vec<String>,
    #[serde(default = "default_poll")]
    pub poll_seconds: u64,
}

fn default_folders() -> Vec<String> {
    vec!["INBOX".to_string()]
}

fn default_poll() -> u64 {
    60
}

/// The SMTP server the outbox is sent through.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default)]
    pub port: Option<u16>,
    pub tls: Tls,
    /// The login, if the server wants one.
    #[serde(default)]
    pub user: Option<String>,
    /// Refused when present: passwords never go in the config file.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Sign in with the OAuth2 sign-in of this mail account (SASL
    /// XOAUTH2) instead of a password; the login is `user`, else the
    /// account's.
    #[serde(default)]
    pub oauth2_account: Option<String>,
    /// The sender, e.g. `Sales <sales@example.com>`.
    pub from: String,
    /// Extra certificate authority (PEM) to trust, for servers with a private CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// Mail settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    pub accounts: Vec<ImapAccount>,
    pub smtp: Option<SmtpConfig>,
    /// Bodies kept on timelines are cut at this many KiB.
    pub max_body_kib: usize,
    /// Mails fetched and committed per transaction.
    pub batch: usize,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            accounts: Vec::new(),
            smtp: None,
            max_body_kib: 256,
            batch: 500,
        }
    }
}

pub(crate) fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "::1" | "[::1]") || host.starts_with("127.")
}

fn check_secret(
    what: &str,
    password: &Option<String>,
    env: &Option<String>,
    file: &Option<PathBuf>,
    needed: bool,
) -> Result<(), String> {
    if password.is_some() {
        return Err(format!(
            "{what}: passwords never go in the config file; use password_env or password_file"
        ));
    }
    if needed && env.is_none() && file.is_none() {
        return Err(format!(
            "{what}: give password_env (an environment variable) or password_file"
        ));
    }
    Ok(())
}

impl MailConfig {
    /// Checks the mail settings.
    ///
    /// Fails naming the account and the setting.
    pub fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::BTreeSet::new();
        for a in &self.accounts {
            let what = format!("mail.accounts '{}'", a.name);
            if a.name.is_empty() || a.name.contains('/') || !names.insert(a.name.clone()) {
                return Err(format!(
                    "{what}: the name must be non-empty, without '/', and unique"
                ));
            }
            if a.tls == Tls::None && !is_loopback(&a.host) {
                return Err(format!(
                    "{what}: tls = \"none\" is only allowed to a loopback address, not {}",
                    a.host
                ));
            }
            match &a.oauth2 {
                Some(o) => {
                    if a.password.is_some() || a.password_env.is_some() || a.password_file.is_some()
                    {
                        return Err(format!(
                            "{what}: give either a password (password_env, password_file) or [oauth2], not both"
                        ));
                    }
                    o.validate(&what)?;
                }
                None => check_secret(&what, &a.password, &a.password_env, &a.password_file, true)?,
            }
            if a.folders.is_empty() {
                return Err(format!("{what}: folders cannot be empty"));
            }
        }
        if let Some(s) = &self.smtp {
            if s.tls == Tls::None && !is_loopback(&s.host) {
                return Err(format!(
                    "mail.smtp: tls = \"none\" is only allowed to a loopback address, not {}",
                    s.host
                ));
            }
            match &s.oauth2_account {
                Some(name) => {
                    if s.password.is_some() || s.password_env.is_some() || s.password_file.is_some()
                    {
                        return Err(
                            "mail.smtp: give either a password or oauth2_account, not both"
                                .to_string(),
                        );
                    }
                    if !self
                        .accounts
                        .iter()
                        .any(|a| &a.name == name && a.oauth2.is_some())
                    {
                        return Err(format!(
                            "mail.smtp: oauth2_account '{name}' is not a mail account with [oauth2]"
                        ));
                    }
                }
                None => check_secret(
                    "mail.smtp",
                    &s.password,
                    &s.password_env,
                    &s.password_file,
                    s.user.is_some(),
                )?,
            }
            if s.from.parse::<lettre::message::Mailbox>().is_err() {
                return Err(format!("mail.smtp: from '{}' is not an address", s.from));
            }
        }
        if self.batch == 0 || self.max_body_kib == 0 {
            return Err("mail: batch and max_body_kib must be at least 1".to_string());
        }
        Ok(())
    }
}

/// A password, never printed.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Reads a secret from an environment variable or a file.
    ///
    /// Fails naming the variable or file (never the secret).
    pub fn load(
        what: &str,
        env: &Option<String>,
        file: &Option<PathBuf>,
    ) -> Result<Secret, MailError> {
        if let Some(var) = env {
            return std::env::var(var).map(Secret).map_err(|_| {
                MailError::Secret(format!("{what}: the environment variable {var} is not set"))
            });
        }
        if let Some(path) = file {
            return std::fs::read_to_string(path)
                .map(|s| Secret(s.trim_end_matches(['\n', '\r']).to_string()))
                .map_err(|e| {
                    MailError::Secret(format!("{what}: cannot read {}: {e}", path.display()))
                });
        }
        Err(MailError::Secret(format!(
            "{what}: no password_env or password_file"
        )))
    }

    /// The secret itself, for the login only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Why a mail operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("{0}")]
    Secret(String),
    #[error("{account}: cannot connect to {host}:{port}: {reason}")]
    Connect {
        account: String,
        host: String,
        port: u16,
        reason: String,
    },
    #[error("{account}: {reason}")]
    Protocol { account: String, reason: String },
    #[error(transparent)]
    Store(#[from] crate::command::CommandError),
    #[error("mail: {0}")]
    Config(String),
    #[error(transparent)]
    Auth(#[from] oauth::AuthError),
}

impl MailError {
    /// Whether the account needs a new `leadline login`.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, MailError::Auth(e) if e.needs_sign_in())
    }
}

impl MailConfig {
    /// The account named `name`.
    pub fn account(&self, name: &str) -> Option<&ImapAccount> {
        self.accounts.iter().find(|a| a.name == name)
    }
}
