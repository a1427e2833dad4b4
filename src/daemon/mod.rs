//! The daemon, `leadline run`: every configured part in one process, all
//! through the one way into the core ([`crate::core::Leadline`]).
//!
//! - A control socket (`leadline.sock` in the data folder, usable only by
//!   the daemon's user) takes one JSON [`Request`] per line: commands from
//!   `leadline cmd` and the shell, `status`, `tick`, `digest`, `import`.
//!   [`answer`] runs the same requests in-process when no daemon runs.
//! - One write path: every write, from the socket, Discord, mail ingest,
//!   the outbox sender, the scheduler and import, goes to the core's writer
//!   thread, which commits in groups (group commit). The async runtime
//!   never waits for a flush or for the store's gate: writes await the
//!   writer's answer, reads and blocking work run on blocking threads.
//! - The scheduler ticks every minute (and at start, catching up what was
//!   missed); each mail account is watched (IDLE or polling); the outbox is
//!   sent every 30 seconds and as soon as a command queues mail.
//! - SIGINT/SIGTERM: stop taking work, finish what is in flight, flush,
//!   log out, exit. A second signal exits at once; the store's journal keeps
//!   it consistent either way.

mod connections;
mod leases;
mod loops;
mod reload;
mod requests;
mod socket;
mod status;

use loops::{outbox_loop, scheduler_loop};
use requests::command_request;
pub use requests::{
    answer, response, AccessRequest, ExportRequest, ImportRequest, Request, MAX_IMPORT,
};
use socket::{run_command, serve, terminal};
#[cfg(test)]
use status::last_failure;

pub mod client;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::net::UnixListener;
use tokio::sync::{mpsc, watch};

use crate::core::Leadline;
use crate::mail::imap::Health;

/// The control socket of a data folder.
pub fn socket_path(data: &Path) -> PathBuf {
    data.join("leadline.sock")
}

/// What the connection tasks share.
struct Shared {
    core: Leadline,
    /// The file the configuration came from (SIGHUP reads it again).
    config_file: Option<PathBuf>,
    health: Health,
    status: Mutex<Parts>,
    /// The Discord connection's state, for `leadline status`.
    discord: Arc<Mutex<String>>,
    /// Wakes the outbox sender when a command queued mail.
    outbox_wake: tokio::sync::Notify,
    /// The control socket's open connections.
    connections: Arc<connections::Connections>,
    /// The leases of the work done once among the daemons on one store.
    leases: Arc<leases::Leases>,
}

/// What each part is doing, for `leadline status`.
#[derive(Debug, Clone, Default, Serialize)]
struct Parts {
    started: Option<DateTime<Utc>>,
    scheduler: String,
    last_tick: Option<DateTime<Utc>>,
    last_tick_error: Option<String>,
    outbox_sender: String,
    last_send: Option<DateTime<Utc>>,
    last_send_error: Option<String>,
    /// With `oauth2_account`: the sender's sign-in state.
    outbox_sign_in: Option<String>,
    discord: String,
    /// The web view: off, or on and where.
    web: String,
    /// The last scheduled backup: when, its file, or why it failed.
    last_backup: Option<DateTime<Utc>>,
    last_backup_file: Option<PathBuf>,
    last_backup_error: Option<String>,
    /// When the configuration in force was read, and why the last reload
    /// was refused (the old configuration then stays).
    config_loaded: Option<DateTime<Utc>>,
    config_reload_error: Option<String>,
}

/// What `status` says of a leased part: `on` while this daemon holds
/// its lease, `standby` (naming the lease) while another daemon does.
fn part_state(
    shared: &Arc<Shared>,
    field: fn(&mut Parts) -> &mut String,
    lease: &'static str,
) -> impl Fn(Option<&crate::core::Lease>) {
    let shared = shared.clone();
    move |held| {
        if let Ok(mut p) = shared.status.lock() {
            *field(&mut p) = match held {
                Some(_) => "on".to_string(),
                None => format!("standby: another daemon holds the {lease} lease"),
            };
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// Runs the daemon on `core` until SIGINT or SIGTERM; with `interactive`,
/// also reads commands from this terminal.
///
/// Fails when the control socket cannot be made.
///
/// `config_file` is the file the configuration came from: SIGHUP reads it
/// again ([`reload`]); without one (the embedded default) SIGHUP only logs.
pub fn run(
    core: Leadline,
    data: &Path,
    interactive: bool,
    config_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    run_until(
        core,
        &socket_path(data),
        interactive,
        config_file,
        shutdown_signal(),
    )
}

/// Runs the daemon with its control socket at `socket` until `stop`
/// resolves (or SIGINT/SIGTERM... through `stop`, see [`run`]).
///
/// Fails when the control socket cannot be made.
pub fn run_until(
    core: Leadline,
    path: &Path,
    interactive: bool,
    config_file: Option<PathBuf>,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let writer = core.start_writer()?;
    let core_lease_seconds = core.config().store.lease_seconds;
    let shared = Arc::new(Shared {
        config_file,
        core,
        health: Health::default(),
        status: Mutex::new(Parts::default()),
        discord: Arc::new(Mutex::new(String::new())),
        outbox_wake: tokio::sync::Notify::new(),
        connections: connections::Connections::new(connections::limit()),
        leases: leases::Leases::new(
            crate::core::holder_id(),
            Duration::from_secs(core_lease_seconds),
        ),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let served = runtime.block_on(async {
        // A socket left by a daemon that died: nobody answers on it.
        if path.exists() && std::os::unix::net::UnixStream::connect(path).is_err() {
            let _ = std::fs::remove_file(path);
        }
        let listener = UnixListener::bind(path)
            .with_context(|| format!("cannot make the control socket {}", path.display()))?;
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        let core = &shared.core;
        let cfg = core.config();
        let mut parts = Vec::new();
        parts.push(format!("store: {}", core.location()));
        parts.push(format!(
            "control socket: {} (owner only, at most {} connections)",
            path.display(),
            shared.connections.limit()
        ));
        parts.push(format!(
            "scheduler: on (sweep \"{}\", digest \"{}\" in each member's time zone)",
            cfg.scheduler.sweep.text(),
            cfg.scheduler.digest.text()
        ));
        parts.push(if cfg.mail.accounts.is_empty() {
            "mail ingest: off, no [[mail.accounts]] configured".to_string()
        } else {
            let tokens = crate::mail::oauth::Tokens::new(core.secrets());
            format!(
                "mail ingest: on ({})",
                cfg.mail
                    .accounts
                    .iter()
                    .map(|a| match (&a.oauth2, tokens.signed_in_at(&a.name)) {
                        (None, _) => a.name.clone(),
                        (Some(_), Some(at)) => format!(
                            "{}: OAuth2, signed in {}",
                            a.name,
                            at.format("%Y-%m-%d %H:%M UTC")
                        ),
                        (Some(_), None) => format!(
                            "{}: OAuth2, not signed in: run `leadline login {}`",
                            a.name, a.name
                        ),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        let sender_state = if cfg.mail.smtp.is_some() {
            "on"
        } else {
            "off, no [mail.smtp] configured"
        };
        parts.push(format!("outbox sender: {sender_state}"));
        let chat_cfg = &cfg.chat;
        let token = if chat_cfg.token_env.is_none() && chat_cfg.token_file.is_none() {
            Err("off, no token set ([chat] token_env or token_file)".to_string())
        } else {
            crate::mail::Secret::load("chat", &chat_cfg.token_env, &chat_cfg.token_file)
                .map_err(|e| format!("off, {e}"))
        };
        let discord = match &token {
            Ok(_) => "on".to_string(),
            Err(why) => why.clone(),
        };
        parts.push(format!("discord: {discord}"));
        // The web view: a port that cannot be had stops the start, as the
        // control socket does, rather than running without it.
        let mut web_state = "off, no [web] listen configured".to_string();
        let web = match cfg.web.listen {
            None => {
                parts.push(format!("web: {web_state}"));
                None
            }
            Some(addr) => {
                let tls = match (&cfg.web.tls_cert_file, &cfg.web.tls_key_file) {
                    (Some(cert), Some(key)) => Some(
                        crate::web::tls::acceptor(cert, key)
                            .map_err(|e| anyhow::anyhow!("web: {e}"))?,
                    ),
                    _ => None,
                };
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("web: cannot listen on {addr}"))?;
                web_state = format!(
                    "on, {} (listening on {}{})",
                    cfg.web.base().unwrap_or_default(),
                    listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
                    if tls.is_some() { ", TLS" } else { "" }
                );
                parts.push(format!("web: {web_state}"));
                Some((listener, tls))
            }
        };
        for p in &parts {
            tracing::info!("{p}");
        }
        if let Ok(mut p) = shared.status.lock() {
            p.started = Some(Utc::now());
            p.scheduler = "on".into();
            p.outbox_sender = sender_state.into();
            p.discord = discord.clone();
            p.web = web_state.clone();
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        // Work done once among the daemons on one store runs while this
        // one holds its lease.
        let (keep_tx, keep_rx) = watch::channel(false);
        let keeper = tokio::spawn(leases::keep(
            shared.leases.clone(),
            core.clone(),
            keep_rx,
        ));
        tasks.push(tokio::spawn(leases::while_held(
            shared.leases.clone(),
            "scheduler".to_string(),
            core.clone(),
            stop_rx.clone(),
            part_state(&shared, |p| &mut p.scheduler, "scheduler"),
            {
                let s = shared.clone();
                move |core, stop| scheduler_loop(s.clone(), core, stop)
            },
        )));
        if cfg.mail.smtp.is_some() {
            tasks.push(tokio::spawn(leases::while_held(
                shared.leases.clone(),
                "outbox".to_string(),
                core.clone(),
                stop_rx.clone(),
                part_state(&shared, |p| &mut p.outbox_sender, "outbox"),
                {
                    let s = shared.clone();
                    move |core, stop| outbox_loop(s.clone(), core, stop)
                },
            )));
        }
        // The IMAP watchers have a stop of their own: a reload that
        // changes the accounts replaces them.
        let mut mail = reload::MailWatchers::start(&shared, &cfg.mail.accounts);
        if let Ok(token) = token {
            let s = shared.clone();
            let run: crate::chat::discord::Runner =
                Arc::new(move |line: String, member: String| {
                    let s = s.clone();
                    Box::pin(async move {
                        let req = Request {
                            actor: Some(member),
                            via: Some("chat".to_string()),
                            ..Request::default()
                        };
                        let request = command_request(&s.core, &req, &line)?;
                        let (actor, now) = (request.actor.clone(), request.now);
                        let outcome = run_command(&s, request).await?;
                        let mut reply = s.core.render(&outcome, &actor, now, false);
                        let mut files = Vec::new();
                        if let Some(done) = outcome.report() {
                            // A monospaced table, and the chart as an image.
                            reply.text = crate::chat::discord::table(&reply.text);
                            let currency = s.core.config().process.currency.code().to_string();
                            let chart = crate::charts::Chart::of(done, &currency);
                            if let Some(chart) = chart {
                                match tokio::task::spawn_blocking(move || chart.png()).await {
                                    Ok(Ok(png)) => files.push(("chart.png".to_string(), png)),
                                    Ok(Err(e)) => tracing::warn!("chat: {e}"),
                                    Err(_) => tracing::warn!("chat: drawing the chart failed"),
                                }
                            }
                        }
                        if let Some(id) = outcome.document() {
                            match socket::document_file(&s.core, id, now).await {
                                Ok(file) => {
                                    reply.text.clone_from(&file.0);
                                    files.push(file);
                                }
                                Err(e) => reply.text = e,
                            }
                        }
                        Ok(crate::chat::discord::Ran {
                            outcome,
                            reply,
                            files,
                        })
                    })
                });
            let conn = crate::chat::discord::Connection {
                token: token.expose().to_string(),
                api_base: cfg.chat.api_base.clone(),
            };
            let chat = Arc::new(crate::chat::Chat::default());
            let state = shared.discord.clone();
            let chat_core = core.clone();
            tasks.push(tokio::spawn(leases::while_held(
                shared.leases.clone(),
                "discord".to_string(),
                core.clone(),
                stop_rx.clone(),
                part_state(&shared, |p| &mut p.discord, "discord"),
                // Chat commands are the team's own: not fenced.
                move |_, stop| {
                    crate::chat::discord::serve(
                        conn.clone(),
                        chat_core.clone(),
                        chat.clone(),
                        run.clone(),
                        stop,
                        state.clone(),
                    )
                },
            )));
        }
        if let Some((listener, tls)) = web {
            tasks.push(tokio::spawn(crate::web::serve(
                core.clone(),
                listener,
                tls,
                stop_rx.clone(),
            )));
        }
        let (eof_tx, mut eof_rx) = mpsc::channel::<()>(1);
        if interactive {
            let s = shared.clone();
            let handle = tokio::runtime::Handle::current();
            std::thread::spawn(move || terminal(s, handle, eof_tx));
        }
        tracing::info!("leadline is running; type /help, or stop it with Ctrl-C");
        // systemd (Type=notify): ready once the store is open and the
        // socket listens; watchdog pings while the writer is alive.
        // Without NOTIFY_SOCKET these do nothing.
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
        let mut watchdog_usec = 0;
        let watchdog = sd_notify::watchdog_enabled(false, &mut watchdog_usec);
        let mut watchdog_tick =
            tokio::time::interval(Duration::from_micros((watchdog_usec / 2).max(100_000)));
        tokio::pin!(stop);
        let mut accept_failed_at: Option<std::time::Instant> = None;
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        if let Ok(mut p) = shared.status.lock() {
            p.config_loaded = Some(Utc::now());
        }
        loop {
            tokio::select! {
                _ = hangup.recv() => {
                    reload::reload(&shared, &mut mail).await;
                }
                _ = watchdog_tick.tick(), if watchdog => {
                    if writer.alive() {
                        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
                    } else {
                        tracing::error!("the writer stopped; no watchdog ping, so systemd restarts leadline");
                    }
                }
                conn = listener.accept() => match conn {
                    Ok((stream, _)) => match shared.connections.admit() {
                        Some(admitted) => {
                            tokio::spawn(serve(stream, shared.clone(), admitted));
                        }
                        None => {
                            tokio::spawn(socket::refuse_busy(stream, shared.connections.limit()));
                        }
                    },
                    Err(e) => {
                        // Out of file descriptors (EMFILE) or the like:
                        // make room and wait a moment, never spin.
                        if accept_failed_at.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                            tracing::warn!(
                                "control socket: cannot accept a connection ({e}); closing the longest-idle one"
                            );
                            accept_failed_at = Some(std::time::Instant::now());
                        }
                        shared.connections.evict_one();
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = &mut stop => break,
                _ = eof_rx.recv() => break,
            }
        }
        tracing::info!("stopping: finishing the work in flight");
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
        tokio::spawn(async {
            shutdown_signal().await;
            tracing::warn!("second signal: exiting now");
            std::process::exit(130);
        });
        drop(listener);
        let _ = std::fs::remove_file(path);
        // Idle connections close now, busy ones once they have answered.
        shared.connections.close_all();
        let closing = std::time::Instant::now();
        while shared.connections.count() > 0 && closing.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            futures_util::future::join_all(tasks),
        )
        .await;
        mail.stop().await;
        // The work is done: the leases go, so another daemon takes it over
        // at once.
        let _ = keep_tx.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), keeper).await;
        anyhow::Ok(())
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    // No new writes; the writer answers what it has and flushes.
    writer.stop();
    served?;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::last_failure;
    use crate::command::queue::{MailState, OutMail};

    fn mail(state: serde_json::Value, last_error: Option<&str>) -> OutMail {
        let mut v = serde_json::json!({
            "number": 1, "to": ["anna@contoso.example"], "subject": "Hi", "text": "x",
            "created_at": "2026-12-01T09:00:00Z", "attempts": 2,
        });
        if let (Some(o), Some(s)) = (v.as_object_mut(), state.as_object()) {
            o.extend(s.clone());
            if let Some(e) = last_error {
                o.insert("last_error".into(), e.into());
            }
        }
        serde_json::from_value(v).expect("an outbox mail")
    }

    #[test]
    fn status_forgets_a_failure_once_that_mail_was_sent() {
        let waiting = mail(
            serde_json::json!({"state": "pending"}),
            Some("451 try later"),
        );
        assert!(matches!(waiting.state, MailState::Pending { .. }));
        assert_eq!(
            last_failure(std::slice::from_ref(&waiting)).as_deref(),
            Some("#1: 451 try later")
        );
        let sent = mail(
            serde_json::json!({"state": "sent", "at": "2026-12-01T10:00:00Z", "response": "250 ok"}),
            Some("451 try later"),
        );
        assert_eq!(last_failure(&[sent]), None);
    }
}
