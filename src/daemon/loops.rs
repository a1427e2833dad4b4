//! The daemon's timed parts: the scheduler every minute, the outbox
//! every 30 seconds and when a command queued mail.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use super::*;

pub(super) async fn scheduler_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        let core = shared.core.clone();
        let result = tokio::task::spawn_blocking(move || {
            crate::scheduler::tick(&core, Utc::now()).map_err(|e| e.to_string())
        })
        .await;
        match &result {
            Ok(Ok(report)) if !report.ran.is_empty() => {
                tracing::info!(jobs = ?report.ran, "scheduler ran")
            }
            Ok(Err(e)) => tracing::warn!("scheduler: {e}"),
            Err(e) => tracing::warn!("scheduler: {e}"),
            _ => {}
        }
        if let Ok(mut p) = shared.status.lock() {
            p.last_tick = Some(Utc::now());
            p.last_tick_error = match result {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(e),
                Err(e) => Some(e.to_string()),
            };
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = stop.changed() => return,
        }
    }
}

pub(super) async fn outbox_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    use crate::mail::alert::{alert_change, until_signed_in_again, Alert};
    let core = &shared.core;
    let oauth = core
        .config()
        .mail
        .smtp
        .as_ref()
        .and_then(|s| s.oauth2_account.clone());
    let tokens = crate::mail::oauth::Tokens::new(core.secrets());
    let mut alert = None;
    loop {
        let signed_in = oauth.as_ref().and_then(|a| tokens.signed_in_at(a));
        let result = crate::mail::smtp::send_once(core, Utc::now()).await;
        let refused = matches!(&result, Err(e) if e.needs_sign_in());
        match &result {
            Ok(r) if r.sent + r.deferred + r.failed + r.uncertain > 0 => {
                tracing::info!(
                    sent = r.sent,
                    deferred = r.deferred,
                    failed = r.failed,
                    uncertain = r.uncertain,
                    "outbox"
                )
            }
            Err(e) if Alert::of(e).is_none() => tracing::warn!("outbox: {e}"),
            _ => {}
        }
        if let Some(account) = &oauth {
            // Admins hear when the sender's sign-in breaks and when it works again.
            let outcome = match &result {
                Err(e) => Some(Err(e)),
                // Mail went to the server: it took the sign-in.
                Ok(r) if r.sent + r.deferred + r.failed > 0 => Some(Ok(())),
                Ok(_) => None,
            };
            if let Some(outcome) = outcome {
                alert_change(core, account, &mut alert, outcome).await;
            }
        }
        if let Ok(mut p) = shared.status.lock() {
            p.last_send = Some(Utc::now());
            if oauth.is_some() {
                p.outbox_sign_in = Some(alert.map_or("signed in", Alert::state).to_string());
            }
            p.last_send_error = match result {
                Ok(r) => r.errors.first().cloned(),
                Err(e) => Some(e.to_string()),
            };
        }
        // No use asking the provider again with the refused sign-in.
        if let (Some(account), true) = (&oauth, refused) {
            if !until_signed_in_again(&tokens, account, signed_in, &mut stop).await {
                return;
            }
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            _ = shared.outbox_wake.notified() => {}
            _ = stop.changed() => return,
        }
    }
}
