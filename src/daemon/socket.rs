//! The control socket and the daemon's own terminal: one JSON request per
//! line, answered without blocking the runtime.

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
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
    response(run_and_render(shared, request, req.data).await, req.data)
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

/// The PDF of record `id`'s document, rendered on a blocking thread:
/// its file name and bytes, or why it cannot be made.
pub(super) async fn document_file(
    core: &crate::core::Leadline,
    id: crate::domain::RecordId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(String, Vec<u8>), String> {
    let core = core.clone();
    tokio::task::spawn_blocking(move || {
        crate::documents::render(&core, id, now)
            .map(|d| (d.file_name, d.pdf))
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|_| Err("making the document stopped".to_string()))
}

/// [`run_command`], then the outcome rendered for that person (with the
/// records as JSON when `data`): the edge where outcomes become text.
pub(super) async fn run_and_render(
    shared: &Shared,
    request: crate::core::Request,
    data: bool,
) -> Result<command::Reply, command::CommandError> {
    let (actor, now) = (request.actor.clone(), request.now);
    let outcome = run_command(shared, request).await?;
    Ok(shared.core.render(&outcome, &actor, now, data))
}

/// The longest request line the socket takes (a CSV import travels in
/// one); a longer one is refused and its connection closed, so a client
/// cannot make the daemon hold any amount of memory.
const MAX_REQUEST: u64 = 64 * 1024 * 1024;

/// The last line on a connection the daemon closes between requests: a
/// request the client sent meanwhile was not run.
async fn closed(write: &mut tokio::net::unix::OwnedWriteHalf) {
    last_line(
        write,
        failure(
            "closed",
            "the daemon closed this connection before reading another request; nothing more was run",
        ),
    )
    .await;
}

/// Writes one answer line before a connection closes, waiting at most a
/// second for a client that does not read.
async fn last_line(write: &mut (impl AsyncWriteExt + Unpin), answer: serde_json::Value) {
    let mut out = answer.to_string();
    out.push('\n');
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        write.write_all(out.as_bytes()),
    )
    .await;
}

/// Refuses a connection when the daemon has as many open as it keeps and
/// every one is being answered.
pub(super) async fn refuse_busy(mut stream: UnixStream, limit: usize) {
    last_line(
        &mut stream,
        failure(
            "busy",
            format!("the daemon is answering {limit} connections, the most it keeps open; try again in a moment"),
        ),
    )
    .await;
}

/// Answers one connection, a request per line, until it closes, sends
/// nothing for [`connections::IDLE`], or is closed to make room.
pub(super) async fn serve(
    stream: UnixStream,
    shared: Arc<Shared>,
    admitted: connections::Admitted,
) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        admitted.idle(true);
        if admitted.closing() {
            closed(&mut write).await;
            break;
        }
        let mut limited = (&mut reader).take(MAX_REQUEST + 1);
        let read = tokio::select! {
            read = limited.read_until(b'\n', &mut line) => read,
            () = admitted.close.notified() => {
                closed(&mut write).await;
                break;
            }
            () = tokio::time::sleep(connections::IDLE) => {
                closed(&mut write).await;
                break;
            }
        };
        admitted.idle(false);
        let answer = match read {
            Ok(0) | Err(_) => break,
            Ok(n) if n as u64 > MAX_REQUEST => failure(
                "invalid",
                format!(
                    "a request is at most {} MiB; this one is longer, so the connection is closed",
                    MAX_REQUEST / 1024 / 1024
                ),
            ),
            Ok(_) => match std::str::from_utf8(&line) {
                Ok(text) => handle(text.trim_end_matches(['\n', '\r']), &shared).await,
                Err(_) => failure("invalid", "a request must be UTF-8 JSON"),
            },
        };
        let too_long = line.len() as u64 > MAX_REQUEST;
        // Whatever a server said about a login may be in a status or an
        // error; no secret leaves through the socket.
        let mut out = crate::redact::redact(&answer.to_string()).into_owned();
        out.push('\n');
        if write.write_all(out.as_bytes()).await.is_err() || too_long {
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
            Ok(request) => handle.block_on(run_and_render(&shared, request, false)),
            Err(e) => Err(e),
        };
        let (text, out) = match answer {
            Ok(reply) => (reply.text, true),
            Err(e) => (e.to_string(), false),
        };
        let text = crate::redact::redact(&text);
        let text = format!("{}\n", crate::command::terminal_safe(&text));
        let _ = if out {
            std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())
        } else {
            std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes())
        };
    }
    let _ = eof.blocking_send(());
}
