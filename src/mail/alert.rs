//! Sign-in trouble of a mail account (IMAP or the SMTP sender that borrows
//! its sign-in): what state it is in, telling the admins once per change,
//! and waiting for `leadline login`.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::oauth::Tokens;
use super::MailError;
use crate::command::Command;
use crate::core::{Leadline, Request};

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
pub async fn tell_admins(core: &Leadline, account: &str, text: String) {
    let cmd = Command::MailAccountNotice {
        account: account.to_string(),
        text: crate::redact::redact(&text).into_owned(),
    };
    let request = Request::system(
        cmd,
        format!("(mail) notice {account}"),
        &core.config().team.default_user,
        "mail",
        Utc::now(),
    );
    if let Err(e) = core.call(request).await {
        tracing::warn!("{account}: cannot queue a notice for the admins: {e}");
    }
}

/// Updates the account's alert after a try: a signed-in success (`Ok`)
/// clears it, a sign-in failure sets it; any other failure (a server down,
/// say) tells nothing about the sign-in and leaves it. Admins hear of each
/// change once, not of every retry.
pub async fn alert_change(
    core: &Leadline,
    account: &str,
    alert: &mut Option<Alert>,
    outcome: Result<(), &MailError>,
) {
    match outcome {
        Err(e) => match Alert::of(e) {
            Some(a) if *alert != Some(a) => {
                tracing::warn!("{e}");
                let text = match a {
                    Alert::NeedsSignIn => format!("{e}"),
                    Alert::Unreachable => format!("{e}; leadline keeps retrying"),
                };
                tell_admins(core, account, text).await;
                *alert = Some(a);
            }
            _ => {}
        },
        Ok(()) if alert.is_some() => {
            tracing::info!("{account}: signed in again");
            tell_admins(
                core,
                account,
                format!("mail account {account}: signed in again, working as before"),
            )
            .await;
            *alert = None;
        }
        Ok(()) => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::oauth::AuthError;

    #[tokio::test]
    async fn only_sign_in_outcomes_change_the_alert() -> Result<(), Box<dyn std::error::Error>> {
        let core = crate::core::Leadline::temporary(crate::config::Config::embedded())?;
        let down = MailError::Auth(AuthError::Unavailable {
            account: "sales".into(),
            reason: "the provider did not answer".into(),
        });
        let server_down = MailError::Connect {
            account: "sales".into(),
            host: "imap.example.com".into(),
            port: 993,
            reason: "connection refused".into(),
        };
        let mut alert = None;
        alert_change(&core, "sales", &mut alert, Err(&server_down)).await;
        assert_eq!(alert, None);
        alert_change(&core, "sales", &mut alert, Err(&down)).await;
        assert_eq!(alert, Some(Alert::Unreachable));
        // The mail server failing says nothing about the sign-in.
        alert_change(&core, "sales", &mut alert, Err(&server_down)).await;
        assert_eq!(alert, Some(Alert::Unreachable));
        alert_change(&core, "sales", &mut alert, Ok(())).await;
        assert_eq!(alert, None);
        Ok(())
    }
}
