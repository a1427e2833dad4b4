//! The mail adapter: IMAP ingest of flagged mail (async-imap, mail-parser)
//! and the SMTP outbox sender (lettre), both carried out through commands
//! of the workflow core. Configuration, secrets and errors live here; the
//! matching rules live in `command::mailbox`.

pub mod alert;
pub mod imap;
pub mod oauth;
pub mod parse;
pub mod smtp;
pub(crate) mod stream;

pub use crate::config::mail::{ImapAccount, MailConfig, SmtpConfig, Tls};

pub use crate::redact::{Secret, SecretError};

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

impl From<SecretError> for MailError {
    fn from(e: SecretError) -> Self {
        MailError::Secret(e.0)
    }
}
