//! Sign-in trouble of a mail account (IMAP or the SMTP sender that borrows
//! its sign-in): what state it is in, telling the admins once per change,
//! and waiting for `leadline login`.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::oauth::Tokens;
use super::MailError;
use crate::command::Command;
use crate::store::{Durability, Store};

/// What the admins were last told about an account's sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alert {
    NeedsSignIn,
    Unreachable,
}

impl Alert {
    /// The alert a failure calls for, if it is a sign-in failure.
    pub fn of(e: &MailError) -> Option<Alert> {
        match e {
            MailError::Auth(a) if a.needs_sign_in() => Some(Alert::NeedsSignIn),
            MailError::Auth(_) => Some(Alert::Unreachable),
            _ => None,
        }
    }

    /// As `leadline status` shows it.
    pub fn state(self) -> &'static str {
        match self {
            Alert::NeedsSignIn => "needs sign-in",
            Alert::Unreachable => "provider unreachable",
        }
    }
}

/// Tells the team's admins (a notice, which chat delivers) and the log.
pub fn tell_admins(store: &Store, config: &crate::config::Config, account: &str, text: String) {
    let ctx = config.context(&config.team.default_user, Utc::now(), "mail");
    let cmd = Command::MailAccountNotice {
        account: account.to_string(),
        text,
    };
    if let Err(e) = store.run(
        &cmd,
        &format!("(mail) notice {account}"),
        &ctx,
        Durability::Flush,
    ) {
        tracing::warn!("{account}: cannot queue a notice for the admins: {e}");
    }
}

/// Updates the account's alert after a failure (or success, `None`):
/// admins hear of each change once, not of every retry.
pub fn alert_change(
    store: &Store,
    config: &crate::config::Config,
    account: &str,
    alert: &mut Option<Alert>,
    now: Option<(Alert, &MailError)>,
) {
    match now {
        Some((a, e)) if *alert != Some(a) => {
            tracing::warn!("{e}");
            let text = match a {
                Alert::NeedsSignIn => format!("{e}"),
                Alert::Unreachable => format!("{e}; leadline keeps retrying"),
            };
            tell_admins(store, config, account, text);
            *alert = Some(a);
        }
        Some(_) => {}
        None if alert.is_some() => {
            tracing::info!("{account}: signed in again");
            tell_admins(
                store,
                config,
                account,
                format!("mail account {account}: signed in again, working as before"),
            );
            *alert = None;
        }
        None => {}
    }
}

/// Waits until `account` is signed in anew (`leadline login` writes a
/// sign-in other than `seen`, the one that was refused; it may already
/// have). False when `stop` is set first.
pub async fn until_signed_in_again(
    tokens: &Tokens,
    account: &str,
    seen: Option<DateTime<Utc>>,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    while tokens.signed_in_at(account) == seen {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.changed() => return false,
        }
    }
    true
}
