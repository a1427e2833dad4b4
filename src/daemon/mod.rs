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

pub mod client;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};

use crate::command::{self, CommandError, Reply};
use crate::core::Leadline;
use crate::mail::imap::Health;

/// The control socket of a data folder.
pub fn socket_path(data: &Path) -> PathBuf {
    data.join("leadline.sock")
}

/// One request on the control socket (and what `leadline` builds once for
/// any subcommand that runs either way, see [`answer`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Request {
    /// A command line, as typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
    /// Ask for the daemon's status instead.
    #[serde(default)]
    pub status: bool,
    /// The acting team member; the default user when absent.
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Run as if at this moment (checks and tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<DateTime<Utc>>,
    /// The front end it came from (`shell`, `chat`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Send the record's JSON with the reply (`--json`, chat embeds).
    #[serde(default)]
    pub data: bool,
    /// Run every scheduler job that is due now.
    #[serde(default)]
    pub tick: bool,
    /// Render the digest this member would get now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Import leads from this CSV table, with `COLUMN=FIELD` mappings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_leads: Option<ImportRequest>,
}

/// A CSV import sent to the daemon.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportRequest {
    /// The table as UTF-8 text.
    #[serde(default)]
    pub csv: String,
    /// The table's bytes when they are not UTF-8 (Excel's Windows-1252).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bytes: Vec<u8>,
    #[serde(default)]
    pub map: Vec<(String, String)>,
}

/// What the connection tasks share.
struct Shared {
    core: Leadline,
    health: Health,
    status: Mutex<Parts>,
    /// The Discord connection's state, for `leadline status`.
    discord: Arc<Mutex<String>>,
    /// Wakes the outbox sender when a command queued mail.
    outbox_wake: tokio::sync::Notify,
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
}

/// A command's result as the control socket answers it (and `--json` prints it).
pub fn response(result: Result<Reply, CommandError>, data: bool) -> serde_json::Value {
    match result {
        Ok(r) if data => {
            serde_json::json!({"ok": true, "reply": r.text, "data": r.data, "next": r.next})
        }
        Ok(r) => serde_json::json!({"ok": true, "reply": r.text, "next": r.next}),
        Err(e) => serde_json::json!({"ok": false, "error": e.code(), "message": e.to_string()}),
    }
}

fn failure(code: &str, message: impl Into<String>) -> serde_json::Value {
    serde_json::json!({"ok": false, "error": code, "message": message.into()})
}

/// The core request for command line `text` of `req`.
///
/// Fails when the actor is not on the team or the text is not a command.
fn command_request(
    core: &Leadline,
    req: &Request,
    text: &str,
) -> Result<crate::core::Request, CommandError> {
    let config = core.config();
    let actor = config
        .team
        .resolve_actor(req.actor.as_deref().unwrap_or(&config.team.default_user))
        .map_err(CommandError::Invalid)?;
    let via = req.via.as_deref().unwrap_or("shell");
    let now = req.now.unwrap_or_else(Utc::now);
    core.parse(text, &actor, via, now, req.data)
}

/// Answers a request in-process, on this thread: what `leadline` does when
/// no daemon runs, and what the daemon does on a blocking thread for
/// `tick`, `digest` and `import`. `status` needs the daemon.
pub fn answer(core: &Leadline, req: Request) -> serde_json::Value {
    let config = core.config();
    let now = req.now.unwrap_or_else(Utc::now);
    if req.status {
        return failure("invalid", "no leadline daemon runs");
    }
    if req.tick {
        return match crate::scheduler::tick(core, now) {
            Ok(r) => serde_json::json!({"ok": true, "report": r}),
            Err(e) => failure("store", e.to_string()),
        };
    }
    if let Some(who) = &req.digest {
        return match crate::scheduler::digest::preview(core, now, who) {
            Ok(d) => {
                let mut v = d.to_json();
                v["ok"] = true.into();
                v
            }
            Err(e @ crate::scheduler::digest::DigestError::Owner(_)) => {
                failure("invalid", e.to_string())
            }
            Err(e) => failure("store", e.to_string()),
        };
    }
    if let Some(import) = req.import_leads {
        let actor = match config
            .team
            .resolve_actor(req.actor.as_deref().unwrap_or(&config.team.default_user))
        {
            Ok(a) => a,
            Err(e) => return failure("invalid", e),
        };
        let table = if import.bytes.is_empty() {
            import.csv.into_bytes()
        } else {
            import.bytes
        };
        return match crate::import::import_leads(core, &table[..], &import.map, &actor, now) {
            Ok(report) => {
                serde_json::json!({"ok": true, "report": report, "text": report.render(&config.process)})
            }
            Err(e) => failure("invalid", e.to_string()),
        };
    }
    let Some(text) = &req.cmd else {
        return failure(
            "invalid",
            "a request needs cmd, status, tick, digest or import_leads",
        );
    };
    match command_request(core, &req, text) {
        Ok(request) => response(core.run(request), req.data),
        Err(e) => response(Err(e), false),
    }
}

/// Answers one line of the control socket. Nothing here blocks the
/// runtime: commands go through [`Leadline::call`], the rest runs on a
/// blocking thread.
async fn handle(line: &str, shared: &Arc<Shared>) -> serde_json::Value {
    let req: Request = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => return failure("invalid", format!("not a request: {e}")),
    };
    if req.status {
        return status(shared).await;
    }
    let core = &shared.core;
    let Some(text) = req.cmd.clone() else {
        let core = core.clone();
        return tokio::task::spawn_blocking(move || answer(&core, req))
            .await
            .unwrap_or_else(|_| failure("store", "an internal error stopped this request"));
    };
    let request = match command_request(core, &req, &text) {
        Ok(r) => r,
        Err(e) => return response(Err(e), false),
    };
    let queues_mail = matches!(command::step(&request.command), "email" | "outbox");
    let result = core.call(request).await;
    if queues_mail && result.is_ok() {
        shared.outbox_wake.notify_one();
    }
    response(result, req.data)
}

/// The newest outbox failure worth telling: a failed mail, or the last
/// error of one still waiting; a mail sent since is no failure any more.
fn last_failure(outbox: &[crate::command::queue::OutMail]) -> Option<String> {
    use crate::command::queue::MailState;
    outbox.iter().rev().find_map(|m| match &m.state {
        MailState::Failed { reason, at } => Some(format!("#{} at {at}: {reason}", m.number)),
        MailState::Pending { .. } | MailState::Sending { .. } => {
            m.last_error.as_ref().map(|e| format!("#{}: {e}", m.number))
        }
        MailState::Sent { .. } | MailState::Uncertain { .. } => None,
    })
}

async fn status(shared: &Shared) -> serde_json::Value {
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
    let next_digests: serde_json::Map<String, serde_json::Value> = crate::scheduler::owners(config)
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
    serde_json::json!({
        "ok": true,
        "status": {
            "started": parts.started,
            "store": core.location(),
            "commits": commits,
            "commands_written": written,
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
        }
    })
}

async fn serve(stream: UnixStream, shared: Arc<Shared>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut out = handle(&line, &shared).await.to_string();
        out.push('\n');
        if write.write_all(out.as_bytes()).await.is_err() {
            break;
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

async fn scheduler_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
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

async fn outbox_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
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

/// Runs the daemon on `core` until SIGINT or SIGTERM; with `interactive`,
/// also reads commands from this terminal.
///
/// Fails when the control socket cannot be made.
pub fn run(core: Leadline, data: &Path, interactive: bool) -> anyhow::Result<()> {
    run_until(core, &socket_path(data), interactive, shutdown_signal())
}

/// Runs the daemon with its control socket at `socket` until `stop`
/// resolves (or SIGINT/SIGTERM... through `stop`, see [`run`]).
///
/// Fails when the control socket cannot be made.
pub fn run_until(
    core: Leadline,
    path: &Path,
    interactive: bool,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let writer = core.start_writer()?;
    let shared = Arc::new(Shared {
        core,
        health: Health::default(),
        status: Mutex::new(Parts::default()),
        discord: Arc::new(Mutex::new(String::new())),
        outbox_wake: tokio::sync::Notify::new(),
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
        parts.push(format!("control socket: {} (owner only)", path.display()));
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
        for p in &parts {
            tracing::info!("{p}");
        }
        if let Ok(mut p) = shared.status.lock() {
            p.started = Some(Utc::now());
            p.scheduler = "on".into();
            p.outbox_sender = sender_state.into();
            p.discord = discord.clone();
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(scheduler_loop(
            shared.clone(),
            stop_rx.clone(),
        )));
        if cfg.mail.smtp.is_some() {
            tasks.push(tokio::spawn(outbox_loop(shared.clone(), stop_rx.clone())));
        }
        for account in cfg.mail.accounts.clone() {
            let s = shared.clone();
            let stop = stop_rx.clone();
            tasks.push(tokio::spawn(async move {
                crate::mail::imap::watch_account(&s.core, &account, stop, Some(&s.health)).await;
            }));
        }
        if let Ok(token) = token {
            let s = shared.clone();
            let run: crate::chat::discord::Runner =
                Arc::new(move |line: String, member: String| {
                    let s = s.clone();
                    Box::pin(async move {
                        let req = Request {
                            actor: Some(member),
                            via: Some("chat".to_string()),
                            data: true,
                            ..Request::default()
                        };
                        let request = command_request(&s.core, &req, &line)?;
                        let queues_mail =
                            matches!(command::step(&request.command), "email" | "outbox");
                        let result = s.core.call(request).await;
                        if queues_mail && result.is_ok() {
                            s.outbox_wake.notify_one();
                        }
                        result
                    })
                });
            let conn = crate::chat::discord::Connection {
                token: token.expose().to_string(),
                api_base: cfg.chat.api_base.clone(),
            };
            tasks.push(tokio::spawn(crate::chat::discord::serve(
                conn,
                core.clone(),
                Arc::new(crate::chat::Chat::default()),
                run,
                stop_rx.clone(),
                shared.discord.clone(),
            )));
        }
        let (eof_tx, mut eof_rx) = mpsc::channel::<()>(1);
        if interactive {
            let s = shared.clone();
            let handle = tokio::runtime::Handle::current();
            std::thread::spawn(move || terminal(s, handle, eof_tx));
        }
        tracing::info!("leadline is running; type /help, or stop it with Ctrl-C");
        tokio::pin!(stop);
        loop {
            tokio::select! {
                conn = listener.accept() => {
                    if let Ok((stream, _)) = conn {
                        tokio::spawn(serve(stream, shared.clone()));
                    }
                }
                _ = &mut stop => break,
                _ = eof_rx.recv() => break,
            }
        }
        tracing::info!("stopping: finishing the work in flight");
        tokio::spawn(async {
            shutdown_signal().await;
            tracing::warn!("second signal: exiting now");
            std::process::exit(130);
        });
        drop(listener);
        let _ = std::fs::remove_file(path);
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            futures_util::future::join_all(tasks),
        )
        .await;
        anyhow::Ok(())
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    // No new writes; the writer answers what it has and flushes.
    writer.stop();
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// Commands typed at the daemon's own terminal.
fn terminal(shared: Arc<Shared>, handle: tokio::runtime::Handle, eof: mpsc::Sender<()>) {
    use std::io::BufRead;
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if matches!(t, "/quit" | "/exit" | "quit" | "exit") {
            break;
        }
        let req = serde_json::json!({"cmd": t}).to_string();
        let s = shared.clone();
        let v = handle.block_on(async move { handle_line(req, s).await });
        let shown = match v["ok"].as_bool() {
            Some(true) => v["reply"].as_str().map(|r| (r.to_string(), true)),
            _ => Some((v["message"].as_str().unwrap_or("failed").to_string(), false)),
        };
        if let Some((text, ok)) = shown {
            let text = format!("{}\n", crate::command::terminal_safe(&text));
            let _ = if ok {
                std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())
            } else {
                std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes())
            };
        }
    }
    let _ = eof.blocking_send(());
}

async fn handle_line(line: String, shared: Arc<Shared>) -> serde_json::Value {
    handle(&line, &shared).await
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
