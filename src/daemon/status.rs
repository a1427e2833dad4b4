//! `leadline status`: what each part of the daemon is doing.

use chrono::Utc;

use super::*;

/// The newest outbox failure worth telling: a failed mail, or the last
/// error of one still waiting; a mail sent since is no failure any more.
pub(super) fn last_failure(outbox: &[crate::command::queue::OutMail]) -> Option<String> {
    use crate::command::queue::MailState;
    outbox.iter().rev().find_map(|m| match &m.state {
        MailState::Failed { reason, at } => Some(format!("#{} at {at}: {reason}", m.number)),
        MailState::Pending { .. } | MailState::Sending { .. } => {
            m.last_error.as_ref().map(|e| format!("#{}: {e}", m.number))
        }
        MailState::Sent { .. } | MailState::Uncertain { .. } => None,
    })
}

pub(super) async fn status(shared: &Shared) -> serde_json::Value {
    use crate::command::queue::{self, MailState, OutMail};
    let parts = shared.status.lock().map(|p| p.clone()).unwrap_or_default();
    let core = &shared.core;
    let outbox: Vec<OutMail> = core
        .query(|tx| queue::all(tx, queue::keys::OUTBOX))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let count = |f: fn(&MailState) -> bool| outbox.iter().filter(|m| f(&m.state)).count();
    let last_failure = last_failure(&outbox);
    let now = Utc::now();
    let config = core.config();
    let sched = &config.scheduler;
    let next_digests: serde_json::Map<String, serde_json::Value> =
        crate::scheduler::owners(&config)
            .into_iter()
            .map(|(o, _)| {
                let tz = config.team.zone_of(&o);
                (o, serde_json::json!(sched.digest.next_after(now, &tz)))
            })
            .collect();
    let mail = shared
        .health
        .lock()
        .map(|h| serde_json::to_value(&*h).unwrap_or_default())
        .unwrap_or_default();
    let (commits, written) = core.commits();
    // Who holds which lease: every daemon's, from the store.
    let reading = core.clone();
    let all = match tokio::task::spawn_blocking(move || reading.leases()).await {
        Ok(Ok(all)) => serde_json::json!(all
            .into_iter()
            .map(|l| {
                let mine = l.holder == shared.leases.holder;
                let live = l.expires > now;
                serde_json::json!({
                    "name": l.name,
                    "holder": if live { Some(l.holder) } else { None },
                    "fence": l.fence,
                    "expires": l.expires,
                    "mine": mine && live,
                })
            })
            .collect::<Vec<_>>()),
        Ok(Err(e)) => serde_json::json!(format!("cannot read the leases: {e}")),
        Err(_) => serde_json::json!("cannot read the leases"),
    };
    let held: Vec<String> = shared.leases.held().into_iter().map(|l| l.name).collect();
    serde_json::json!({
        "ok": true,
        "status": {
            "started": parts.started,
            "store": core.location(),
            "store_problem": core.store_problem(),
            "commits": commits,
            "commands_written": written,
            "control_socket": {
                "connections": shared.connections.count(),
                "limit": shared.connections.limit(),
            },
            "writer": {
                "queue": core.queue_depth(),
                "commits": commits,
                "commands_written": written,
            },
            "scheduler": {
                "state": parts.scheduler,
                "last_tick": parts.last_tick,
                "last_error": parts.last_tick_error,
                "next_sweep": sched.sweep.next_after(now, &config.team.timezone),
                "next_digests": next_digests,
            },
            "config": {
                "file": shared.config_file,
                "loaded": parts.config_loaded,
                "last_reload_error": parts.config_reload_error,
            },
            "backup": {
                "schedule": config.backup.schedule.as_ref().map(|s| s.text().to_string()),
                "dir": config.backup.dir,
                "next": config.backup.schedule.as_ref().and_then(|s| s.next_after(now, &config.team.timezone)),
                "last": parts.last_backup,
                "last_file": parts.last_backup_file,
                "last_error": parts.last_backup_error,
            },
            "mail": mail,
            "outbox": {
                "sender": parts.outbox_sender,
                "waiting": count(|s| matches!(s, MailState::Pending { .. })),
                "failed": count(|s| matches!(s, MailState::Failed { .. })),
                "uncertain": count(|s| matches!(s, MailState::Uncertain { .. })),
                "last_send": parts.last_send,
                "last_error": parts.last_send_error,
                "sign_in": parts.outbox_sign_in,
                "last_failure": last_failure,
            },
            "discord": {
                "state": parts.discord,
                "connection": shared.discord.lock().map(|d| d.clone()).unwrap_or_default(),
            },
            "web": parts.web,
            "leases": {
                "daemon": shared.leases.holder,
                "lease_seconds": shared.leases.ttl.as_secs(),
                "held": held,
                "all": all,
            },
        }
    })
}
