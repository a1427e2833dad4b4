//! The daemon, `leadline run`: every configured part in one process, all
//! through the one workflow core.
//!
//! - A control socket (`leadline.sock` in the data folder, usable only by
//!   the daemon's user) takes one JSON request per line: commands from
//!   `leadline cmd` and the shell, and `status`.
//! - Reads run on the connection's task. Writes go to one writer thread that
//!   commits in groups: it runs every command that has arrived, journals and
//!   applies the group, and goes on with the next; the store's flush thread
//!   flushes once for all that was applied meanwhile and only then answers
//!   each command (group commit). Reads wait for that flush too.
//! - The scheduler ticks every minute (and at start, catching up what was
//!   missed); each mail account is watched (IDLE or polling); the outbox is
//!   sent every 30 seconds and as soon as a command queues mail.
//! - SIGINT/SIGTERM: stop taking work, finish what is in flight, flush,
//!   log out, exit. A second signal exits at once; the store's journal keeps
//!   it consistent either way.

pub mod client;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, watch};

use crate::command::{self, Command, CommandError, Context, Reply};
use crate::config::Config;
use crate::mail::imap::Health;
use crate::store::{Durability, Store};

/// The control socket of a data folder.
pub fn socket_path(data: &Path) -> PathBuf {
    data.join("leadline.sock")
}

/// One request on the control socket.
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
    /// Import leads from this CSV text, with `COLUMN=FIELD` mappings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_leads: Option<ImportRequest>,
}

/// A CSV import sent to the daemon.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportRequest {
    pub csv: String,
    #[serde(default)]
    pub map: Vec<(String, String)>,
}

/// A write waiting for the writer thread, and where its answer goes.
struct Job {
    write: Write,
    reply: Answer,
}

/// A write command as the writer runs it.
struct Write {
    cmd: Command,
    text: String,
    actor: String,
    via: String,
    now: DateTime<Utc>,
    /// Whether the answer carries the record's JSON.
    data: bool,
}

/// What the connection tasks share.
struct Shared {
    store: Arc<Store>,
    config: Arc<Config>,
    /// The writer's queue; taken at shutdown so that no new write starts.
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
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
    commits: u64,
    commands: u64,
}

/// The writer thread: group commit.
fn writer(
    store: Arc<Store>,
    config: Arc<Config>,
    mut rx: mpsc::Receiver<Job>,
    shared: Arc<Shared>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let (writes, replies): (Vec<Write>, Vec<Answer>) =
            batch.into_iter().map(|j| (j.write, j.reply)).unzip();
        let contexts: Vec<Context> = writes
            .iter()
            .map(|w| Context {
                with_data: w.data,
                ..config.context(&w.actor, w.now, &w.via)
            })
            .collect();
        let work: Vec<(&Command, &str, &Context)> = writes
            .iter()
            .zip(&contexts)
            .map(|(w, c)| (&w.cmd, w.text.as_str(), c))
            .collect();
        // Answered from the flush thread once the group is synced, while
        // this thread goes on with the next group.
        let shared = shared.clone();
        store.run_group(&work, move |results| answer(&shared, replies, results));
    }
    let _ = store.flush();
}

/// Where a command's answer goes.
type Answer = oneshot::Sender<Result<Reply, CommandError>>;

/// Answers a group's commands.
fn answer(
    shared: &Shared,
    replies: Vec<Answer>,
    results: Result<Vec<Result<Reply, CommandError>>, crate::command::TxError>,
) {
    match results {
        Ok(results) => {
            if let Ok(mut p) = shared.status.lock() {
                p.commits += 1;
                p.commands += results.iter().filter(|r| r.is_ok()).count() as u64;
            }
            for (reply, r) in replies.into_iter().zip(results) {
                let _ = reply.send(r);
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(CommandError::Store(e.clone())));
            }
        }
    }
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

async fn handle(line: &str, shared: &Shared) -> serde_json::Value {
    let req: Request = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => return failure("invalid", format!("not a request: {e}")),
    };
    if req.status {
        return status(shared);
    }
    if req.tick || req.digest.is_some() {
        return scheduler_request(req, shared);
    }
    let config = &shared.config;
    let actor = match config
        .team
        .resolve_actor(req.actor.as_deref().unwrap_or(&config.team.default_user))
    {
        Ok(a) => a,
        Err(e) => return failure("invalid", e),
    };
    if let Some(import) = req.import_leads {
        let ctx = config.context(&actor, req.now.unwrap_or_else(Utc::now), "import");
        return match crate::import::import_leads(
            &shared.store,
            import.csv.as_bytes(),
            &import.map,
            &ctx,
        ) {
            Ok(report) => {
                serde_json::json!({"ok": true, "report": report, "text": report.render(&config.process)})
            }
            Err(e) => failure("invalid", e.to_string()),
        };
    }
    let Some(text) = req.cmd else {
        return failure("invalid", "a request needs cmd or status");
    };
    let via = req.via.unwrap_or_else(|| "shell".to_string());
    let now = req.now.unwrap_or_else(Utc::now);
    let ctx = Context {
        with_data: req.data,
        ..config.context(&actor, now, &via)
    };
    let cmd = match command::parse(&text, &ctx) {
        Ok(c) => c,
        Err(e) => return response(Err(e), false),
    };
    if cmd.is_read_only() {
        return response(
            shared.store.run(&cmd, &text, &ctx, Durability::Flush),
            req.data,
        );
    }
    let sender = shared.jobs.lock().ok().and_then(|j| j.clone());
    let Some(sender) = sender else {
        return failure(
            "store",
            "leadline is shutting down; the command was not run",
        );
    };
    let (tx, rx) = oneshot::channel();
    let queues_mail = matches!(command::step(&cmd), "email" | "outbox");
    let job = Job {
        write: Write {
            cmd,
            text,
            actor,
            via,
            now,
            data: req.data,
        },
        reply: tx,
    };
    if sender.send(job).await.is_err() {
        return failure(
            "store",
            "leadline is shutting down; the command was not run",
        );
    }
    match rx.await {
        Ok(r) => {
            if queues_mail && r.is_ok() {
                shared.outbox_wake.notify_one();
            }
            response(r, req.data)
        }
        Err(_) => failure("store", "the writer stopped before answering"),
    }
}

/// `leadline tick` and `leadline digest` against the running daemon.
fn scheduler_request(req: Request, shared: &Shared) -> serde_json::Value {
    let config = &shared.config;
    let ctx = config.context("scheduler", req.now.unwrap_or_else(Utc::now), "scheduler");
    if req.tick {
        return match crate::scheduler::tick(&shared.store, config, &ctx) {
            Ok(r) => serde_json::json!({"ok": true, "report": r}),
            Err(e) => failure("store", e.to_string()),
        };
    }
    let who = req.digest.unwrap_or_default();
    match crate::scheduler::digest::preview(&shared.store.reader(), &ctx, config, &who) {
        Ok(d) => {
            let mut v = d.to_json();
            v["ok"] = true.into();
            v
        }
        Err(e @ crate::scheduler::digest::DigestError::Owner(_)) => {
            failure("invalid", e.to_string())
        }
        Err(e) => failure("store", e.to_string()),
    }
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

fn status(shared: &Shared) -> serde_json::Value {
    use crate::command::queue::{self, MailState, OutMail};
    let parts = shared.status.lock().map(|p| p.clone()).unwrap_or_default();
    let outbox: Vec<OutMail> =
        queue::all(&shared.store.reader(), queue::keys::OUTBOX).unwrap_or_default();
    let count = |f: fn(&MailState) -> bool| outbox.iter().filter(|m| f(&m.state)).count();
    let last_failure = last_failure(&outbox);
    let now = Utc::now();
    let sched = &shared.config.scheduler;
    let next_digests: serde_json::Map<String, serde_json::Value> =
        crate::scheduler::owners(&shared.config)
            .into_iter()
            .map(|(o, _)| {
                let tz = shared.config.team.zone_of(&o);
                (o, serde_json::json!(sched.digest.next_after(now, &tz)))
            })
            .collect();
    let mail = shared
        .health
        .lock()
        .map(|h| serde_json::to_value(&*h).unwrap_or_default())
        .unwrap_or_default();
    serde_json::json!({
        "ok": true,
        "status": {
            "started": parts.started,
            "store": shared.store.path(),
            "commits": parts.commits,
            "commands_written": parts.commands,
            "scheduler": {
                "state": parts.scheduler,
                "last_tick": parts.last_tick,
                "last_error": parts.last_tick_error,
                "next_sweep": sched.sweep.next_after(now, &shared.config.team.timezone),
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
        let s = shared.clone();
        let result = tokio::task::spawn_blocking(move || {
            let ctx = s.config.context("scheduler", Utc::now(), "scheduler");
            crate::scheduler::tick(&s.store, &s.config, &ctx).map_err(|e| e.to_string())
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
    let oauth = shared
        .config
        .mail
        .smtp
        .as_ref()
        .and_then(|s| s.oauth2_account.clone());
    let tokens = crate::mail::oauth::Tokens::new(shared.store.path());
    let mut alert = None;
    loop {
        let signed_in = oauth.as_ref().and_then(|a| tokens.signed_in_at(a));
        let ctx = shared.config.context("mail", Utc::now(), "mail");
        let result = crate::mail::smtp::send_once(&shared.store, &ctx, &shared.config.mail).await;
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
                alert_change(&shared.store, &shared.config, account, &mut alert, outcome);
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

/// Runs the daemon on an open store until SIGINT or SIGTERM; with
/// `interactive`, also reads commands from this terminal.
///
/// Fails when the control socket cannot be made.
pub fn run(config: Config, store: Store, data: &Path, interactive: bool) -> anyhow::Result<()> {
    let store = Arc::new(store);
    let config = Arc::new(config);
    let (tx, rx) = mpsc::channel::<Job>(4096);
    let shared = Arc::new(Shared {
        store: store.clone(),
        config: config.clone(),
        jobs: Mutex::new(Some(tx)),
        health: Health::default(),
        status: Mutex::new(Parts::default()),
        discord: Arc::new(Mutex::new(String::new())),
        outbox_wake: tokio::sync::Notify::new(),
    });
    let writer_shared = shared.clone();
    let writer = std::thread::Builder::new()
        .name("leadline-writer".into())
        .spawn(move || writer(store, config, rx, writer_shared))?;
    let path = socket_path(data);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // A socket left by a daemon that died: nobody answers on it.
        if path.exists() && std::os::unix::net::UnixStream::connect(&path).is_err() {
            let _ = std::fs::remove_file(&path);
        }
        let listener = UnixListener::bind(&path)
            .with_context(|| format!("cannot make the control socket {}", path.display()))?;
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        let cfg = &shared.config;
        let mut parts = Vec::new();
        parts.push(format!("store: {}", shared.store.path().display()));
        parts.push(format!("control socket: {} (owner only)", path.display()));
        parts.push(format!(
            "scheduler: on (sweep \"{}\", digest \"{}\" in each member's time zone)",
            cfg.scheduler.sweep.text(),
            cfg.scheduler.digest.text()
        ));
        parts.push(if cfg.mail.accounts.is_empty() {
            "mail ingest: off, no [[mail.accounts]] configured".to_string()
        } else {
            let tokens = crate::mail::oauth::Tokens::new(shared.store.path());
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
            crate::mail::Secret::load("chat", &chat_cfg.token_env, &chat_cfg.token_file).map_err(|e| format!("off, {e}"))
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
                crate::mail::imap::watch_account(
                    &s.store,
                    &s.config,
                    &account,
                    stop,
                    Some(&s.health),
                )
                .await;
            }));
        }
        if let Ok(token) = token {
            let s = shared.clone();
            let run: crate::chat::discord::Runner = Arc::new(move |line: String, member: String| {
                let s = s.clone();
                Box::pin(async move {
                    let req = serde_json::json!({"cmd": line, "as": member, "via": "chat", "data": true}).to_string();
                    handle(&req, &s).await
                })
            });
            let conn = crate::chat::discord::Connection {
                token: token.expose().to_string(),
                api_base: cfg.chat.api_base.clone(),
            };
            tasks.push(tokio::spawn(crate::chat::discord::serve(
                conn,
                shared.config.clone(),
                shared.store.clone(),
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
        loop {
            tokio::select! {
                conn = listener.accept() => {
                    if let Ok((stream, _)) = conn {
                        tokio::spawn(serve(stream, shared.clone()));
                    }
                }
                _ = shutdown_signal() => break,
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
        let _ = std::fs::remove_file(&path);
        let _ = stop_tx.send(true);
        // No new writes; the writer finishes what it has and flushes.
        if let Ok(mut j) = shared.jobs.lock() {
            j.take();
        }
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            futures_util::future::join_all(tasks),
        )
        .await;
        anyhow::Ok(())
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    drop(shared);
    let _ = writer.join();
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
        let v = handle.block_on(handle_owned(req, shared.clone()));
        match v["ok"].as_bool() {
            Some(true) => {
                let reply = crate::command::terminal_safe(v["reply"].as_str().unwrap_or(""));
                let _ = std::io::Write::write_all(
                    &mut std::io::stdout(),
                    format!("{reply}\n").as_bytes(),
                );
            }
            _ => {
                let message =
                    crate::command::terminal_safe(v["message"].as_str().unwrap_or("failed"));
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    format!("{message}\n").as_bytes(),
                );
            }
        }
    }
    let _ = eof.blocking_send(());
}

async fn handle_owned(line: String, shared: Arc<Shared>) -> serde_json::Value {
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
