//! The kept sign-ins: one owner-only file per account in the secrets
//! folder, written through a synced temporary file, and when a kept access
//! token must be renewed.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use oauth2::TokenResponse;
use serde::{Deserialize, Serialize};

use super::*;
pub use crate::config::mail::OAuthConfig;

/// What is kept of a sign-in.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct Stored {
    pub(super) client_id: String,
    pub(super) token_url: String,
    pub(super) refresh_token: String,
    #[serde(default)]
    pub(super) access_token: Option<String>,
    #[serde(default)]
    pub(super) expires_at: Option<DateTime<Utc>>,
    /// When the access token was issued, to refresh well before it expires.
    #[serde(default)]
    pub(super) issued_at: Option<DateTime<Utc>>,
    pub(super) signed_in_at: DateTime<Utc>,
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

    pub(super) fn load(&self, account: &str) -> Result<Option<Stored>, AuthError> {
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

    pub(super) fn save(&self, account: &str, stored: &Stored) -> Result<(), AuthError> {
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

/// How long before expiry a token is refreshed: a fifth of its life, at
/// most five minutes (so clocks a little apart do not matter).
pub(super) fn margin(issued: DateTime<Utc>, expires: DateTime<Utc>) -> chrono::Duration {
    ((expires - issued) / 5).min(chrono::Duration::minutes(5))
}

/// When an access token should be replaced.
pub(super) fn renew_at(s: &Stored) -> Option<DateTime<Utc>> {
    let expires = s.expires_at?;
    Some(expires - margin(s.issued_at.unwrap_or(expires), expires))
}

pub(super) fn stored_from(
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

/// Stores a new sign-in; without a refresh token there is nothing to keep.
pub(super) fn keep(
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
