//! A small fake Discord on 127.0.0.1 for the bot's tests: REST over plain
//! HTTP/1.1 (what serenity sends to its proxy base) and a gateway over
//! `ws://`. It records every REST call and lets the test dispatch events.

#![allow(dead_code)]

use std::net::TcpListener as StdListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub const APP: &str = "100000000000000001";
pub const BOT: &str = "100000000000000002";

/// One REST call the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub body: Value,
    /// Files sent along (multipart/form-data): name and content.
    pub files: Vec<(String, Vec<u8>)>,
}

/// The JSON payload and the files of a multipart/form-data body, as
/// Discord takes messages with attachments.
fn multipart(boundary: &str, body: &[u8]) -> (Value, Vec<(String, Vec<u8>)>) {
    let mut payload = Value::Null;
    let mut files = Vec::new();
    let delimiter = format!("--{boundary}");
    let d = delimiter.as_bytes();
    let mut starts: Vec<usize> = body
        .windows(d.len())
        .enumerate()
        .filter(|(_, w)| *w == d)
        .map(|(i, _)| i)
        .collect();
    starts.push(body.len());
    for pair in starts.windows(2) {
        let part = &body[pair[0] + d.len()..pair[1]];
        let Some(split) = part.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        let mut content = &part[split + 4..];
        if content.ends_with(b"\r\n") {
            content = &content[..content.len() - 2];
        }
        let field = |key: &str| {
            head.split(';')
                .find_map(|p| p.trim().strip_prefix(&format!("{key}=\"")))
                .map(|v| v.split('"').next().unwrap_or_default().to_string())
        };
        match (field("name").as_deref(), field("filename")) {
            (Some("payload_json"), _) => {
                payload = serde_json::from_slice(content).unwrap_or(Value::Null)
            }
            (_, Some(name)) => files.push((name, content.to_vec())),
            _ => {}
        }
    }
    (payload, files)
}

pub struct FakeDiscord {
    pub http_port: u16,
    pub ws_port: u16,
    pub calls: Arc<Mutex<Vec<Call>>>,
    pub identified: Arc<Mutex<bool>>,
    /// Gateway connections: (open now, most open at once, accepted in all).
    pub gateways: Arc<Mutex<(usize, usize, usize)>>,
    events: mpsc::UnboundedSender<Value>,
    _runtime: std::thread::JoinHandle<()>,
}

fn port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

pub fn user(id: &str, name: &str) -> Value {
    json!({"id": id, "username": name, "discriminator": "0", "global_name": name, "avatar": null, "bot": id == BOT})
}

fn message(id: u64, channel: &str, content: &str, author: Value) -> Value {
    json!({
        "id": id.to_string(), "channel_id": channel, "author": author, "content": content,
        "timestamp": "2026-12-01T09:00:00.000000+00:00", "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
        "pinned": false, "type": 0
    })
}

async fn respond(method: &str, path: &str, body: &Value, seq: &Mutex<u64>) -> (u16, Value) {
    let next = || {
        let mut s = seq.lock().expect("lock");
        *s += 1;
        200_000_000_000_000_000 + *s
    };
    if method == "GET" && path.starts_with("/api/v10/gateway") {
        return (200, json!({}));
    }
    if path.starts_with("/api/v10/users/@me/channels") {
        let recipient = body["recipient_id"].as_str().unwrap_or("0").to_string();
        return (
            200,
            json!({"id": format!("7{recipient}"), "type": 1, "recipients": [user(&recipient, "someone")], "last_message_id": null}),
        );
    }
    if path.starts_with("/api/v10/users/@me") {
        return (200, user(BOT, "leadline"));
    }
    if path.contains("/commands") {
        return (200, json!([]));
    }
    if path.contains("/callback") {
        return (204, Value::Null);
    }
    if let Some(rest) = path.strip_prefix("/api/v10/channels/") {
        let channel = rest.split('/').next().unwrap_or("0");
        return (
            200,
            message(
                next(),
                channel,
                body["content"].as_str().unwrap_or(""),
                user(BOT, "leadline"),
            ),
        );
    }
    (404, json!({"message": "not faked", "code": 0}))
}

async fn http_conn(
    stream: tokio::net::TcpStream,
    ws_port: u16,
    calls: Arc<Mutex<Vec<Call>>>,
    seq: Arc<Mutex<u64>>,
) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let mut length = 0usize;
        let mut boundary = None;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).await.unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if k.eq_ignore_ascii_case("content-type") {
                    boundary = v
                        .split(';')
                        .find_map(|p| p.trim().strip_prefix("boundary="))
                        .map(|b| b.trim_matches('"').to_string());
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let (body, files) = match &boundary {
            Some(b) => multipart(b, &body),
            None => (
                serde_json::from_slice(&body).unwrap_or(Value::Null),
                Vec::new(),
            ),
        };
        let (status, mut answer) = respond(&method, &path, &body, &seq).await;
        if path.starts_with("/api/v10/gateway") {
            answer = json!({"url": format!("ws://127.0.0.1:{ws_port}"), "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}});
        }
        calls.lock().expect("lock").push(Call {
            method,
            path,
            body,
            files,
        });
        let text = if answer.is_null() {
            String::new()
        } else {
            answer.to_string()
        };
        let reason = if status == 204 {
            "No Content"
        } else if status == 404 {
            "Not Found"
        } else {
            "OK"
        };
        let head = format!("HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", text.len());
        if write.write_all(head.as_bytes()).await.is_err()
            || write.write_all(text.as_bytes()).await.is_err()
        {
            return;
        }
    }
}

impl FakeDiscord {
    pub fn start() -> FakeDiscord {
        let http_port = port();
        let ws_port = port();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let identified = Arc::new(Mutex::new(false));
        let gateways = Arc::new(Mutex::new((0, 0, 0)));
        let counted = gateways.clone();
        let (events, rx) = mpsc::unbounded_channel::<Value>();
        let (c, idf) = (calls.clone(), identified.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let runtime = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let http = TcpListener::bind(("127.0.0.1", http_port)).await.expect("http");
                let ws = TcpListener::bind(("127.0.0.1", ws_port)).await.expect("ws");
                let _ = ready_tx.send(());
                let seq = Arc::new(Mutex::new(0u64));
                let c2 = c.clone();
                tokio::spawn(async move {
                    while let Ok((s, _)) = http.accept().await {
                        tokio::spawn(http_conn(s, ws_port, c2.clone(), seq.clone()));
                    }
                });
                let rx = Arc::new(tokio::sync::Mutex::new(rx));
                while let Ok((s, _)) = ws.accept().await {
                    let Ok(mut socket) = tokio_tungstenite::accept_async(s).await else { continue };
                    let rx = rx.clone();
                    let idf = idf.clone();
                    let counted = counted.clone();
                    {
                        let mut g = counted.lock().expect("lock");
                        g.0 += 1;
                        g.1 = g.1.max(g.0);
                        g.2 += 1;
                    }
                    tokio::spawn(async move {
                        /// Counts the connection closed however its task ends.
                        struct Closed(Arc<Mutex<(usize, usize, usize)>>);
                        impl Drop for Closed {
                            fn drop(&mut self) {
                                if let Ok(mut g) = self.0.lock() {
                                    g.0 -= 1;
                                }
                            }
                        }
                        let _closed = Closed(counted);
                        let mut rx = rx.lock().await;
                        let _ = socket.send(WsMessage::text(json!({"op": 10, "d": {"heartbeat_interval": 41250}}).to_string())).await;
                        let mut s = 1u64;
                        loop {
                            tokio::select! {
                                m = socket.next() => {
                                    let Some(Ok(m)) = m else { return };
                                    let Ok(text) = m.to_text() else { continue };
                                    let Ok(v) = serde_json::from_str::<Value>(text) else { continue };
                                    match v["op"].as_u64() {
                                        Some(2) => {
                                            *idf.lock().expect("lock") = true;
                                            let ready = json!({"op": 0, "t": "READY", "s": s, "d": {
                                                "v": 10, "user": user(BOT, "leadline"), "guilds": [], "session_id": "fake-session",
                                                "resume_gateway_url": format!("ws://127.0.0.1:{ws_port}"),
                                                "application": {"id": APP, "flags": 0}}});
                                            s += 1;
                                            let _ = socket.send(WsMessage::text(ready.to_string())).await;
                                        }
                                        Some(1) => { let _ = socket.send(WsMessage::text(json!({"op": 11}).to_string())).await; }
                                        _ => {}
                                    }
                                }
                                e = rx.recv() => {
                                    let Some(mut e) = e else { return };
                                    e["s"] = json!(s);
                                    s += 1;
                                    let _ = socket.send(WsMessage::text(e.to_string())).await;
                                }
                            }
                        }
                    });
                }
            });
        });
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("fake discord listening");
        FakeDiscord {
            http_port,
            ws_port,
            calls,
            identified,
            gateways,
            events,
            _runtime: runtime,
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Sends a gateway dispatch.
    pub fn dispatch(&self, t: &str, d: Value) {
        let _ = self.events.send(json!({"op": 0, "t": t, "d": d}));
    }

    /// A slash command typed by `user_id` in a direct message.
    pub fn slash(&self, id: u64, user_id: &str, name: &str, options: Value) {
        self.dispatch("INTERACTION_CREATE", json!({
            "id": id.to_string(), "application_id": APP, "type": 2, "token": format!("token-{id}"), "version": 1,
            "channel_id": "600", "user": user(user_id, "member"), "locale": "en-US", "entitlements": [],
            "attachment_size_limit": 10485760, "app_permissions": "0",
            "data": {"id": "300", "name": name, "type": 1, "options": options}
        }));
    }

    /// `user_id` is typing `typed` into option `option` of command `name`.
    pub fn autocomplete(&self, id: u64, user_id: &str, name: &str, option: &str, typed: &str) {
        self.dispatch("INTERACTION_CREATE", json!({
            "id": id.to_string(), "application_id": APP, "type": 4, "token": format!("token-{id}"), "version": 1,
            "channel_id": "600", "user": user(user_id, "member"), "locale": "en-US", "entitlements": [],
            "attachment_size_limit": 10485760, "app_permissions": "0",
            "data": {"id": "300", "name": name, "type": 1, "options": [{"name": option, "type": 3, "value": typed, "focused": true}]}
        }));
    }

    /// A button pressed by `user_id`.
    pub fn button(&self, id: u64, user_id: &str, custom_id: &str) {
        self.dispatch("INTERACTION_CREATE", json!({
            "id": id.to_string(), "application_id": APP, "type": 3, "token": format!("token-{id}"), "version": 1,
            "channel_id": "600", "user": user(user_id, "member"), "locale": "en-US", "entitlements": [],
            "attachment_size_limit": 10485760, "app_permissions": "0",
            "message": message(9, "600", "earlier", user(BOT, "leadline")),
            "data": {"custom_id": custom_id, "component_type": 2}
        }));
    }

    /// A message typed in a channel.
    pub fn say(&self, id: u64, channel: &str, user_id: &str, content: &str) {
        self.dispatch(
            "MESSAGE_CREATE",
            message(id, channel, content, user(user_id, "member")),
        );
    }

    /// Waits for a REST call whose path contains `needle`, and returns it.
    pub fn wait_call(&self, needle: &str) -> Call {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(c) = self
                .calls
                .lock()
                .expect("lock")
                .iter()
                .find(|c| c.path.contains(needle))
                .cloned()
            {
                return c;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "no call to {needle}; calls: {:?}",
            self.calls
                .lock()
                .expect("lock")
                .iter()
                .map(|c| format!("{} {}", c.method, c.path))
                .collect::<Vec<_>>()
        );
    }
}
