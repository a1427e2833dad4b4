//! The daemon's timed parts: the scheduler every minute, the outbox
//! every 30 seconds and when a command queued mail.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use super::*;

/// The scheduler, on `core` (fenced by the scheduler lease).
pub(super) async fn scheduler_loop(
    shared: Arc<Shared>,
    core: Leadline,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let ticking = core.clone();
        let result = tokio::task::spawn_blocking(move || {
            crate::scheduler::tick(&ticking, Utc::now()).map_err(|e| e.to_string())
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
        scheduled_backup(&shared, &core).await;
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

/// The backup `[backup] schedule` asks for, when it is due: written to
/// `[backup] dir`, the oldest beyond `keep` removed. A failure shows in
/// `status` and is a notice to the admins; either way the job counts as
/// run, so the next try is at the next scheduled time, not every minute.
async fn scheduled_backup(shared: &Arc<Shared>, core: &Leadline) {
    let core = core.clone();
    let config = core.config();
    let (Some(schedule), Some(dir)) = (&config.backup.schedule, &config.backup.dir) else {
        return;
    };
    let now = Utc::now();
    let last = match crate::scheduler::last_run(&core, "backup") {
        Ok(last) => last,
        Err(e) => {
            tracing::warn!("backup: {e}");
            return;
        }
    };
    if !crate::domain::schedule::is_due(schedule, last, now, &config.team.timezone) {
        return;
    }
    let (dir, keep) = (dir.clone(), config.backup.keep);
    let worker = core.clone();
    let made = tokio::task::spawn_blocking(move || write_and_prune(&worker, &dir, keep, now))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    let ran = crate::core::Request::system(
        crate::command::Command::JobRan {
            job: "backup".into(),
        },
        "backup done",
        "scheduler",
        "scheduler",
        now,
    );
    if let Err(e) = core.call(ran).await {
        tracing::warn!("backup: cannot record the run: {e}");
    }
    let error = match &made {
        Ok((file, summary)) => {
            tracing::info!(
                "backup: wrote {} ({} keys, {} bytes)",
                file.display(),
                summary.keys,
                summary.bytes
            );
            None
        }
        Err(e) => {
            tracing::error!("backup: {e}");
            let notice = crate::core::Request::system(
                crate::command::Command::OperationsNotice {
                    about: "backup".into(),
                    text: format!("The scheduled backup failed: {e}"),
                },
                "(backup) notice",
                &config.team.default_user,
                "scheduler",
                now,
            );
            if let Err(e) = core.call(notice).await {
                tracing::warn!("backup: cannot queue a notice for the admins: {e}");
            }
            Some(e.clone())
        }
    };
    if let Ok(mut p) = shared.status.lock() {
        p.last_backup = Some(now);
        if let Ok((file, _)) = &made {
            p.last_backup_file = Some(file.clone());
        }
        p.last_backup_error = error;
    }
}

/// Writes `leadline-YYYYMMDD-HHMMSS.backup` in `dir` and removes the
/// oldest such files beyond `keep`.
///
/// Fails when the folder or the backup cannot be written.
fn write_and_prune(
    core: &Leadline,
    dir: &std::path::Path,
    keep: usize,
    now: chrono::DateTime<Utc>,
) -> Result<(PathBuf, crate::core::BackupSummary), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let file = dir.join(format!("leadline-{}.backup", now.format("%Y%m%d-%H%M%S")));
    let summary = core.backup(&file).map_err(|e| e.to_string())?;
    let mut old: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("leadline-") && n.ends_with(".backup"))
        })
        .collect();
    old.sort();
    let extra = old.len().saturating_sub(keep);
    for p in old.into_iter().take(extra) {
        if let Err(e) = std::fs::remove_file(&p) {
            tracing::warn!("backup: cannot remove the old {}: {e}", p.display());
        }
    }
    Ok((file, summary))
}

/// The outbox sender, on `core` (fenced by the outbox lease).
pub(super) async fn outbox_loop(
    shared: Arc<Shared>,
    core: Leadline,
    mut stop: watch::Receiver<bool>,
) {
    use crate::mail::alert::{alert_change, until_signed_in_again, Alert};
    let core = &core;
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
