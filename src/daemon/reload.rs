//! SIGHUP: the configuration file is read again and put in force without
//! a restart: team members and roles, reasons, numbering, custom fields,
//! templates, schedules and backups take effect with the next command or
//! scheduler pass; changed mail accounts get new IMAP watchers. A file
//! that does not load is refused with its line and the configuration in
//! force stays, said in the log and in `status`. What needs a restart (the
//! store, the secrets folder, the chat connection, adding an SMTP server)
//! is said in the log.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use super::Shared;
use crate::config::mail::ImapAccount;
use crate::config::Config;

/// The running IMAP watchers, one per account.
pub(super) struct MailWatchers {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl MailWatchers {
    /// Starts a watcher for each of `accounts`.
    pub(super) fn start(shared: &Arc<Shared>, accounts: &[ImapAccount]) -> MailWatchers {
        let (stop, stopped) = watch::channel(false);
        let tasks = accounts
            .iter()
            .cloned()
            .map(|account| {
                let s = shared.clone();
                let stop = stopped.clone();
                // One daemon reads an account at a time.
                tokio::spawn(super::leases::while_held(
                    shared.leases.clone(),
                    format!("imap:{}", account.name),
                    shared.core.clone(),
                    stop,
                    |_| {},
                    move |core, stop| {
                        let (s, account) = (s.clone(), account.clone());
                        async move {
                            crate::mail::imap::watch_account(
                                &core,
                                &account,
                                stop,
                                Some(&s.health),
                            )
                            .await;
                        }
                    },
                ))
            })
            .collect();
        MailWatchers { stop, tasks }
    }

    /// Stops them (each logs out), waiting up to five seconds.
    pub(super) async fn stop(&mut self) {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut self.tasks);
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            futures_util::future::join_all(tasks),
        )
        .await;
    }
}

/// Reads the configuration file again and puts it in force, or keeps the
/// one in force when the file does not load.
pub(super) async fn reload(shared: &Arc<Shared>, mail: &mut MailWatchers) {
    let Some(file) = shared.config_file.clone() else {
        tracing::warn!(
            "SIGHUP: leadline runs on the embedded configuration; there is no file to read again"
        );
        return;
    };
    let loaded = tokio::task::spawn_blocking(move || Config::load(Some(&file)))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    let new = match loaded {
        Ok(new) => new,
        Err(e) => {
            tracing::error!(
                "SIGHUP: the configuration was not reloaded, the one in force stays: {e}"
            );
            if let Ok(mut p) = shared.status.lock() {
                p.config_reload_error = Some(e);
            }
            return;
        }
    };
    let old = shared.core.config();
    for (what, same) in [
        (
            "store",
            format!("{:?}", old.store) == format!("{:?}", new.store),
        ),
        (
            "secrets",
            format!("{:?}", old.secrets) == format!("{:?}", new.secrets),
        ),
        (
            "chat connection (token, guild)",
            (
                &old.chat.token_env,
                &old.chat.token_file,
                &old.chat.guild,
                &old.chat.api_base,
            ) == (
                &new.chat.token_env,
                &new.chat.token_file,
                &new.chat.guild,
                &new.chat.api_base,
            ),
        ),
        (
            "mail.smtp added or removed",
            old.mail.smtp.is_some() == new.mail.smtp.is_some(),
        ),
    ] {
        if !same {
            tracing::warn!("SIGHUP: the {what} setting changed; that takes effect after a restart");
        }
    }
    let accounts_changed = format!("{:?}", old.mail.accounts) != format!("{:?}", new.mail.accounts);
    let accounts = new.mail.accounts.clone();
    let members = new.team.members.len();
    let zone_changed = old.team.timezone != new.team.timezone;
    shared.core.reconfigure(new);
    if zone_changed {
        // The report sums count days in the team's zone.
        let core = shared.core.clone();
        match tokio::task::spawn_blocking(move || core.prepare_reports()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!("reload: rebuilding the report sums failed: {e}"),
            Err(_) => tracing::error!("reload: rebuilding the report sums failed"),
        }
    }
    if accounts_changed {
        mail.stop().await;
        *mail = MailWatchers::start(shared, &accounts);
    }
    if let Ok(mut p) = shared.status.lock() {
        p.config_loaded = Some(Utc::now());
        p.config_reload_error = None;
    }
    tracing::info!(
        "SIGHUP: configuration reloaded ({members} team member(s), {} mail account(s){})",
        accounts.len(),
        if accounts_changed {
            ", watchers restarted"
        } else {
            ""
        }
    );
}
