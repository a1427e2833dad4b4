//! A small fake OAuth2 provider on 127.0.0.1 for the sign-in tests:
//! device authorization (RFC 8628), token (device code and refresh grants,
//! refresh tokens rotated) and token introspection (RFC 7662, which
//! Dovecot's oauth2 passdb and the test SMTP server ask). The test drives
//! it directly: approve or deny a code, revoke every token, shorten token
//! lives, make it answer garbage or not at all.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the provider answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// An HTML page instead of JSON, as a broken proxy would.
    Garbage,
    /// Reads the request, never answers.
    Silent,
    /// 503 temporarily_unavailable.
    Down,
    /// Microsoft's answer for a tenant that does not exist.
    UnknownTenant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Approval {
    Pending,
    Approved(String),
    Denied,
    Used,
}

struct Device {
    device_code: String,
    user_code: String,
    made: Instant,
    approval: Approval,
}

struct Token {
    user: String,
    expires: Instant,
    active: bool,
}

pub struct State {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub access_ttl: u64,
    pub device_ttl: u64,
    pub mode: Mode,
    devices: Vec<Device>,
    refresh: HashMap<String, Token>,
    access: HashMap<String, Token>,
    /// Who approves browser sign-ins (`/authorize`); `None` denies them.
    pub browser_user: Option<String>,
    /// Authorization codes: (user, redirect_uri, PKCE challenge).
    codes: HashMap<String, (String, String, String)>,
    pub refreshes: usize,
    /// Every request to the token endpoint, answered or refused.
    pub token_calls: usize,
    pub introspections: usize,
    /// Every form field ever received, to check what clients sent.
    pub seen: Vec<String>,
    next: u64,
}

pub struct FakeOAuth {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

fn form(body: &str) -> HashMap<String, String> {
    form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn json(status: u16, v: serde_json::Value) -> (u16, &'static str, String) {
    (status, "application/json", v.to_string())
}

fn error(status: u16, code: &str, description: &str) -> (u16, &'static str, String) {
    json(
        status,
        serde_json::json!({"error": code, "error_description": description}),
    )
}

impl FakeOAuth {
    /// Starts the provider; it accepts client id `leadline-test`.
    pub fn start() -> FakeOAuth {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(State {
            client_id: "leadline-test".to_string(),
            client_secret: None,
            access_ttl: 3600,
            device_ttl: 600,
            mode: Mode::Normal,
            devices: Vec::new(),
            refresh: HashMap::new(),
            access: HashMap::new(),
            browser_user: Some("sales".to_string()),
            codes: HashMap::new(),
            refreshes: 0,
            token_calls: 0,
            introspections: 0,
            seen: Vec::new(),
            next: 1,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        listener.set_nonblocking(true).expect("nonblocking");
        let (s, st) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let s = s.clone();
                        std::thread::spawn(move || serve(conn, s, port));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FakeOAuth { port, state, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The `[oauth2]` table of an account signing in here by browser only.
    pub fn browser_config(&self) -> String {
        format!(
            "[mail.accounts.oauth2]\nprovider = \"custom\"\nclient_id = \"leadline-test\"\nscopes = [\"mail\", \"offline_access\"]\nauthorization_url = \"{}\"\ntoken_url = \"{}\"\ntimeout_seconds = 3\n",
            self.url("/authorize"),
            self.url("/token")
        )
    }

    /// The `[oauth2]` table of an account signing in here.
    pub fn account_config(&self) -> String {
        format!(
            "[mail.accounts.oauth2]\nprovider = \"custom\"\nclient_id = \"leadline-test\"\nscopes = [\"mail\", \"offline_access\"]\ndevice_authorization_url = \"{}\"\ntoken_url = \"{}\"\ntimeout_seconds = 3\n",
            self.url("/device"),
            self.url("/token")
        )
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Approves the sign-in with this user code, as `user`.
    pub fn approve(&self, user_code: &str, user: &str) {
        self.with(|s| {
            let d = s
                .devices
                .iter_mut()
                .find(|d| d.user_code == user_code)
                .unwrap_or_else(|| panic!("no device code with user code {user_code}"));
            d.approval = Approval::Approved(user.to_string());
        })
    }

    pub fn deny(&self, user_code: &str) {
        self.with(|s| {
            if let Some(d) = s.devices.iter_mut().find(|d| d.user_code == user_code) {
                d.approval = Approval::Denied;
            }
        })
    }

    /// Revokes every refresh and access token (the user signed out
    /// everywhere, or an admin disabled the app).
    pub fn revoke_all(&self) {
        self.with(|s| {
            for t in s.refresh.values_mut().chain(s.access.values_mut()) {
                t.active = false;
            }
        })
    }

    /// Expires every access token now.
    pub fn expire_access(&self) {
        self.with(|s| {
            for t in s.access.values_mut() {
                t.expires = Instant::now();
            }
        })
    }

    /// An access token for `user`, issued directly.
    pub fn issue(&self, user: &str) -> String {
        self.with(|s| issue(s, user).0)
    }

    pub fn refreshes(&self) -> usize {
        self.with(|s| s.refreshes)
    }

    pub fn introspections(&self) -> usize {
        self.with(|s| s.introspections)
    }
}

impl Drop for FakeOAuth {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A new access and refresh token for `user`.
fn issue(s: &mut State, user: &str) -> (String, String) {
    s.next += 1;
    let access = format!("at-{}-{}", s.next, user);
    let refresh = format!("rt-{}-{}", s.next, user);
    let ttl = Duration::from_secs(s.access_ttl);
    s.access.insert(
        access.clone(),
        Token {
            user: user.to_string(),
            expires: Instant::now() + ttl,
            active: true,
        },
    );
    s.refresh.insert(
        refresh.clone(),
        Token {
            user: user.to_string(),
            expires: Instant::now() + Duration::from_secs(86_400),
            active: true,
        },
    );
    (access, refresh)
}

fn tokens(s: &mut State, user: &str) -> (u16, &'static str, String) {
    let (access, refresh) = issue(s, user);
    json(
        200,
        serde_json::json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": s.access_ttl,
            "refresh_token": refresh,
            "scope": "mail offline_access",
        }),
    )
}

/// The client id from the form or from HTTP Basic authentication, and
/// whether its secret (if one is required) is right.
fn client_ok(s: &State, f: &HashMap<String, String>, basic: Option<&str>) -> bool {
    use base64::Engine;
    let (id, secret) = match basic {
        Some(b) => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b)
                .ok()
                .and_then(|v| String::from_utf8(v).ok())
                .unwrap_or_default();
            let (i, p) = raw.split_once(':').unwrap_or((&raw, ""));
            let dec = |x: &str| {
                form_urlencoded::parse(format!("x={x}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            (dec(i), Some(dec(p)))
        }
        None => (
            f.get("client_id").cloned().unwrap_or_default(),
            f.get("client_secret").cloned(),
        ),
    };
    id == s.client_id && (s.client_secret.is_none() || secret == s.client_secret)
}

fn answer(
    s: &mut State,
    path: &str,
    f: &HashMap<String, String>,
    basic: Option<&str>,
    port: u16,
) -> (u16, &'static str, String) {
    s.seen.extend(f.keys().cloned());
    match path {
        "/device" => {
            if !client_ok(s, f, basic) {
                return error(
                    400,
                    "invalid_client",
                    "AADSTS700016: Application not found in the directory.\r\nTrace ID: 1",
                );
            }
            s.next += 1;
            let user_code = format!("WDJB-{:04}", s.next);
            let device_code = format!("dc-{}", s.next);
            s.devices.push(Device {
                device_code: device_code.clone(),
                user_code: user_code.clone(),
                made: Instant::now(),
                approval: Approval::Pending,
            });
            json(
                200,
                serde_json::json!({
                    "device_code": device_code,
                    "user_code": user_code,
                    "verification_uri": format!("http://127.0.0.1:{port}/verify"),
                    "expires_in": s.device_ttl,
                    "interval": 1,
                }),
            )
        }
        "/authorize" => {
            // The browser: answered with a redirect, as after the user's choice.
            let redirect = f.get("redirect_uri").cloned().unwrap_or_default();
            let state = f.get("state").cloned().unwrap_or_default();
            if f.get("client_id") != Some(&s.client_id)
                || f.get("code_challenge_method").map(String::as_str) != Some("S256")
                || !redirect.starts_with("http://127.0.0.1:")
            {
                return (400, "text/plain", "bad authorization request".to_string());
            }
            let query = match s.browser_user.clone() {
                Some(user) => {
                    s.next += 1;
                    let code = format!("code-{}", s.next);
                    let challenge = f.get("code_challenge").cloned().unwrap_or_default();
                    s.codes
                        .insert(code.clone(), (user, redirect.clone(), challenge));
                    format!("code={code}&state={state}")
                }
                None => format!(
                    "error=access_denied&error_description=The+user+declined.&state={state}"
                ),
            };
            (302, "text/plain", format!("{redirect}?{query}"))
        }
        "/token" => {
            s.token_calls += 1;
            if !client_ok(s, f, basic) {
                return error(401, "invalid_client", "Client authentication failed.");
            }
            match f.get("grant_type").map(String::as_str) {
                Some("urn:ietf:params:oauth:grant-type:device_code") => {
                    let code = f.get("device_code").cloned().unwrap_or_default();
                    let ttl = Duration::from_secs(s.device_ttl);
                    let Some(d) = s.devices.iter_mut().find(|d| d.device_code == code) else {
                        return error(400, "invalid_grant", "unknown device code");
                    };
                    if d.made.elapsed() > ttl {
                        return error(400, "expired_token", "The device code has expired.");
                    }
                    match d.approval.clone() {
                        Approval::Pending => error(
                            400,
                            "authorization_pending",
                            "The user has not yet approved.",
                        ),
                        Approval::Denied => error(400, "access_denied", "The user denied."),
                        Approval::Used => error(400, "invalid_grant", "The code was used."),
                        Approval::Approved(user) => {
                            d.approval = Approval::Used;
                            tokens(s, &user)
                        }
                    }
                }
                Some("authorization_code") => {
                    use base64::Engine;
                    use sha2::Digest;
                    let code = f.get("code").cloned().unwrap_or_default();
                    let Some((user, redirect, challenge)) = s.codes.remove(&code) else {
                        return error(400, "invalid_grant", "unknown or used code");
                    };
                    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
                    let hashed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .encode(sha2::Sha256::digest(verifier.as_bytes()));
                    if f.get("redirect_uri") != Some(&redirect) || hashed != challenge {
                        return error(400, "invalid_grant", "PKCE or redirect mismatch");
                    }
                    tokens(s, &user)
                }
                Some("refresh_token") => {
                    let rt = f.get("refresh_token").cloned().unwrap_or_default();
                    let user = match s.refresh.get_mut(&rt) {
                        Some(t) if t.active && t.expires > Instant::now() => {
                            // Rotation: the old refresh token is spent.
                            t.active = false;
                            t.user.clone()
                        }
                        _ => {
                            return error(
                                400,
                                "invalid_grant",
                                "AADSTS70008: The provided authorization code or refresh token has expired or was revoked.\r\nTrace ID: 2",
                            )
                        }
                    };
                    s.refreshes += 1;
                    tokens(s, &user)
                }
                _ => error(400, "unsupported_grant_type", "grant type not supported"),
            }
        }
        "/introspect" => {
            s.introspections += 1;
            let t = f.get("token").cloned().unwrap_or_default();
            match s.access.get(&t) {
                Some(tok) if tok.active && tok.expires > Instant::now() => json(
                    200,
                    serde_json::json!({"active": true, "username": tok.user}),
                ),
                _ => json(200, serde_json::json!({"active": false})),
            }
        }
        _ => (404, "text/plain", "not found".to_string()),
    }
}

fn serve(conn: TcpStream, state: Arc<Mutex<State>>, port: u16) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0usize;
    let mut basic = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':').unwrap_or((&h, ""));
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().unwrap_or(0),
            "authorization" => basic = value.strip_prefix("Basic ").map(str::to_string),
            _ => {}
        }
    }
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = path.to_string();
    let mut f = form(&String::from_utf8_lossy(&body));
    f.extend(form(query));
    let mode = state.lock().map(|s| s.mode).unwrap_or(Mode::Normal);
    let (status, kind, text) = match mode {
        Mode::Silent => {
            std::thread::sleep(Duration::from_secs(30));
            return;
        }
        Mode::Garbage if path != "/introspect" => (
            200,
            "text/html",
            "<html><body>502 Bad Gateway</body></html>".to_string(),
        ),
        Mode::UnknownTenant if path != "/introspect" => error(
            400,
            "invalid_request",
            "AADSTS90002: Tenant 'nosuch.onmicrosoft.com' not found. Check to make sure you have the correct tenant ID.\r\nTrace ID: 3",
        ),
        Mode::Down if path != "/introspect" => error(
            503,
            "temporarily_unavailable",
            "The service is temporarily unavailable.",
        ),
        _ => {
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            answer(&mut s, &path, &f, basic.as_deref(), port)
        }
    };
    let mut conn = conn;
    let location = if status == 302 {
        format!("Location: {text}\r\n")
    } else {
        String::new()
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\n{location}Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = conn.flush();
}
