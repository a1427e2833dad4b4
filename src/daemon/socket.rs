//! The control socket and the daemon's own terminal: one JSON request per
//! line, answered without blocking the runtime.

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use super::requests::failure;
use super::status::status;
use super::*;
use crate::command;

/// Answers one line of the control socket. Nothing here blocks the
/// runtime: commands go through [`Leadline::call`], the rest runs on a
/// blocking thread.
pub(super) async fn handle(line: &str, shared: &Arc<Shared>) -> serde_json::Value {
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
    response(run_command(shared, request).await, req.data)
}

/// Runs a command from a person (socket, terminal, chat) through the core,
/// and wakes the outbox sender when it queued mail.
pub(super) async fn run_command(
    shared: &Shared,
    request: crate::core::Request,
) -> crate::core::Answer {
    let queues_mail = matches!(command::step(&request.command), "email" | "outbox");
    let result = shared.core.call(request).await;
    if queues_mail && result.is_ok() {
        shared.outbox_wake.notify_one();
    }
    result
}

pub(super) async fn serve(stream: UnixStream, shared: Arc<Shared>) {
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

/// Commands typed at the daemon's own terminal.
pub(super) fn terminal(shared: Arc<Shared>, handle: tokio::runtime::Handle, eof: mpsc::Sender<()>) {
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
        let request = command_request(&shared.core, &Request::default(), t);
        // A write goes through the writer like any other; this thread waits.
        let answer = match request {
            Ok(request) => handle.block_on(run_command(&shared, request)),
            Err(e) => Err(e),
        };
        let (text, out) = match answer {
            Ok(reply) => (reply.text, true),
            Err(e) => (e.to_string(), false),
        };
        let text = format!("{}\n", crate::command::terminal_safe(&text));
        let _ = if out {
            std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())
        } else {
            std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes())
        };
    }
    let _ = eof.blocking_send(());
}
