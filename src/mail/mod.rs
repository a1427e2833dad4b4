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

use std::fmt;
use std::path::PathBuf;

pub use crate::config::mail::{ImapAccount, MailConfig, SmtpConfig, Tls};

/// A password, never printed.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Reads a secret from an environment variable or a file, and
    /// remembers it so that no text leadline shows ever contains it
    /// ([`crate::redact`]).
    ///
    /// Fails naming the variable or file (never the secret).
    pub fn load(
        what: &str,
        env: &Option<String>,
        file: &Option<PathBuf>,
    ) -> Result<Secret, MailError> {
        let secret = Secret::read(what, env, file)?;
        crate::redact::remember(&secret.0);
        Ok(secret)
    }

    fn read(what: &str, env: &Option<String>, file: &Option<PathBuf>) -> Result<Secret, MailError> {
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
