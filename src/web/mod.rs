//! The web view and HTTP API the daemon serves when `[web] listen` is set:
//! server-rendered pages (minijinja templates, plain forms, no build
//! step) on axum, on the daemon's runtime, through the same core as every
//! other front end.
//!
//! - Sign-in without passwords: a one-time link (`/web` in chat, `leadline
//!   web-link NAME`; [`crate::command::access`]) starts a session: a random
//!   id in a cookie (`HttpOnly`, `SameSite=Strict`, `Secure` when
//!   `base_url` is `https://`), kept in memory (a restart signs everyone
//!   out). Anyone not signed in gets the sign-in page and nothing else.
//! - Every POST carries the session's CSRF token; a missing or wrong one
//!   is refused before anything runs.
//! - The command box and every button run the command language as the
//!   signed-in member, with chat's roles, refusals and confirmations
//!   ([`crate::chat::Chat::decide_as`]); changes are recorded `via web`.
//! - The API ([`api`]) takes per-member bearer tokens; `/healthz` and
//!   `/metrics` are open (no records in them), for probes and Prometheus.
//!
//! Pages are built on tokio's blocking threads (reads of the store and
//! template rendering), so the daemon's one async thread never waits.

mod api;
mod pages;
mod text;
pub mod tls;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::chat::{Chat, Decision};
use crate::command::access;
use crate::config::{Config, Member};
use crate::core::Leadline;

/// The session cookie's name.
const COOKIE: &str = "leadline_session";

/// One signed-in member's session.
#[derive(Debug, Clone)]
struct Session {
    member: String,
    csrf: String,
    expires: DateTime<Utc>,
    /// What the last command did, shown once on the next page.
    flash: Option<Flash>,
    /// Text to put in the command box on the next page.
    prefill: Option<String>,
}

/// What a command run from a page did, shown on the next page.
#[derive(Debug, Clone, Serialize)]
pub struct Flash {
    /// `ok` or `refused`.
    pub(super) kind: &'static str,
    pub(super) text: String,
    pub(super) next: Vec<String>,
    /// A confirmation token, when the step asks for one.
    pub(super) confirm: Option<String>,
}

/// A report page's text and chart (SVG), and the store's generation they
/// were read at.
type MadeReport = (Option<(u64, u64)>, String, Option<String>);

/// The web front end's state.
pub struct Web {
    core: Leadline,
    /// Confirmations waiting for their button, as chat keeps them.
    confirmations: Chat,
    /// Sessions by the digest of their id.
    sessions: Mutex<HashMap<String, Session>>,
    templates: minijinja::Environment<'static>,
    /// Report pages as last made (text and chart), by command and member,
    /// with the store's generation they were read at: served again until
    /// any commit changes it.
    reports: Mutex<HashMap<String, MadeReport>>,
    /// Held while a report page is made, so that many members opening it
    /// at once make it once and the rest wait for it.
    making_report: Mutex<()>,
}

/// Serves the web view on `listener` (over TLS with `tls`) until `stop`
/// turns true.
pub async fn serve(
    core: Leadline,
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let web = Arc::new(Web::new(core));
    let app = router(web);
    let shutdown = async move {
        while !*stop.borrow() {
            if stop.changed().await.is_err() {
                break;
            }
        }
    };
    let served = match tls {
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Some(acceptor) => match tls::TlsListener::new(listener, acceptor) {
            Ok(l) => axum::serve(l, app).with_graceful_shutdown(shutdown).await,
            Err(e) => Err(e),
        },
    };
    if let Err(e) = served {
        tracing::error!("web: the server stopped: {e}");
    }
}

fn router(web: Arc<Web>) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/board") }),
        )
        .route("/static/leadline.css", get(pages::css))
        .route("/signin", get(pages::signin_page).post(pages::signin))
        .route("/signin/{token}", get(pages::signin_link))
        .route("/signout", post(pages::signout))
        .route("/board", get(pages::board))
        .route("/board/move", post(pages::move_card))
        .route("/list/{kind}", get(pages::list))
        .route("/find", get(pages::find))
        .route("/record/{id}", get(pages::record))
        .route("/document/{id}", get(pages::document))
        .route("/agenda", get(pages::agenda))
        .route("/inbox", get(pages::inbox))
        .route("/inbox/link", post(pages::inbox_link))
        .route("/reports/{name}", get(pages::report))
        .route("/command", post(pages::command))
        .route("/confirm", post(pages::confirm))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/commands", post(api::commands))
        .route("/api/v1/records/{id}", get(api::record))
        .route("/api/v1/lists/{kind}", get(api::list))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn(server_timing))
        .with_state(web)
}

/// Says how long the server took over each answer (`Server-Timing: app;
/// dur=MS`), which browsers' developer tools and `leadline`'s web
/// benchmark read.
async fn server_timing(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let started = std::time::Instant::now();
    let mut response = next.run(request).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={ms:.2}")) {
        response.headers_mut().insert("server-timing", v);
    }
    response
}

impl Web {
    fn new(core: Leadline) -> Web {
        let mut env = minijinja::Environment::new();
        for (name, source) in [
            ("macros.html", include_str!("templates/macros.html")),
            ("base.html", include_str!("templates/base.html")),
            ("signin.html", include_str!("templates/signin.html")),
            ("board.html", include_str!("templates/board.html")),
            ("list.html", include_str!("templates/list.html")),
            ("record.html", include_str!("templates/record.html")),
            ("text.html", include_str!("templates/text.html")),
            ("report.html", include_str!("templates/report.html")),
        ] {
            if let Err(e) = env.add_template(name, source) {
                // The templates are part of the binary; a test renders each.
                tracing::error!("web: template {name} does not parse: {e}");
            }
        }
        let numbering = core.config().process.numbering.clone();
        env.add_filter("ids", move |text: &str| {
            minijinja::Value::from_safe_string(link_ids(text, &numbering))
        });
        env.add_filter(
            "money",
            |v: minijinja::Value, language: &str, currency: &str| {
                money(&v.to_string(), language, currency)
            },
        );
        Web {
            core,
            confirmations: Chat::default(),
            sessions: Mutex::new(HashMap::new()),
            templates: env,
            reports: Mutex::new(HashMap::new()),
            making_report: Mutex::new(()),
        }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The session the request's cookie names, if it is valid now.
    fn session(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let id = cookie(headers, COOKIE)?;
        let key = access::digest(&id);
        let mut sessions = self.sessions();
        let now = Utc::now();
        // A member taken off the team (SIGHUP) is signed out at once.
        let on_team = |s: &Session| self.core.config().team.member(&s.member).is_some();
        match sessions.get(&key) {
            Some(s) if s.expires > now && on_team(s) => Some((key, s.clone())),
            Some(_) => {
                sessions.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Starts a session for `member`; returns the cookie to set.
    fn start_session(&self, member: String) -> Result<String, String> {
        let id = access::secret()?;
        let csrf = access::secret()?;
        let hours = self.core.config().web.session_hours;
        let now = Utc::now();
        let mut sessions = self.sessions();
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(
            access::digest(&id),
            Session {
                member,
                csrf,
                expires: now + Duration::hours(i64::from(hours)),
                flash: None,
                prefill: None,
            },
        );
        let secure = if self.core.config().web.secure() {
            "; Secure"
        } else {
            ""
        };
        Ok(format!(
            "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            u64::from(hours) * 3600
        ))
    }

    fn end_session(&self, key: &str) {
        self.sessions().remove(key);
    }

    /// Keeps `flash` (and `prefill`) for the session's next page.
    fn set_flash(&self, key: &str, flash: Flash, prefill: Option<String>) {
        if let Some(s) = self.sessions().get_mut(key) {
            s.flash = Some(flash);
            s.prefill = prefill;
        }
    }

    /// Keeps `flash` (and `prefill`) for the next page, and goes back to
    /// `back` (a path of this site, see [`back_to`]).
    fn back_to(&self, key: &str, flash: Flash, prefill: Option<String>, back: &str) -> Response {
        self.set_flash(key, flash, prefill);
        axum::response::Redirect::to(back).into_response()
    }

    /// Takes the flash to show on this page.
    fn take_flash(&self, key: &str) -> (Option<Flash>, Option<String>) {
        match self.sessions().get_mut(key) {
            Some(s) => (s.flash.take(), s.prefill.take()),
            None => (None, None),
        }
    }

    /// Runs command `line` as `member` (on a blocking thread: it may
    /// wait for the writer), with chat's roles and confirmations.
    fn run_line(&self, member: &str, line: &str) -> Flash {
        let config = self.core.config();
        let Some(m) = config.team.member(member) else {
            return refused("you are no longer a member of the team");
        };
        let now = Utc::now();
        match self.confirmations.decide_as(&config, m, line, now, "web") {
            Decision::Run { member, line } => self.run_now(&member, &line, now),
            Decision::Refuse(text) => refused(text),
            Decision::Confirm { token, prompt } => Flash {
                kind: "refused",
                text: prompt,
                next: Vec::new(),
                confirm: Some(token),
            },
        }
    }

    fn run_now(&self, member: &str, line: &str, now: DateTime<Utc>) -> Flash {
        let request = match self.core.parse(line, member, "web", now) {
            Ok(r) => r,
            Err(e) => return refused(e.to_string()),
        };
        match self.core.run(request) {
            Ok(outcome) => {
                let reply = self.core.render(&outcome, member, now, false);
                let mut text = reply.text;
                if let Some(id) = outcome.document() {
                    text = format!(
                        "{text}\nopen /document/{}",
                        self.core
                            .config()
                            .process
                            .numbering
                            .show(id.kind, id.number)
                    );
                }
                Flash {
                    kind: "ok",
                    text,
                    next: reply.next,
                    confirm: None,
                }
            }
            Err(e) => refused(e.to_string()),
        }
    }

    /// A confirmation given on a page.
    fn confirm(&self, member: &str, token: &str) -> Flash {
        let config = self.core.config();
        let Some(m) = config.team.member(member) else {
            return refused("you are no longer a member of the team");
        };
        let now = Utc::now();
        match self.confirmations.confirm_as(m, token, now) {
            Decision::Run { member, line } => self.run_now(&member, &line, now),
            Decision::Refuse(text) => refused(text),
            Decision::Confirm { .. } => refused("that confirmation is not valid"),
        }
    }

    /// Report `line` for `member`: its text and chart (SVG), made again
    /// only when a commit has changed the store since it was last made.
    fn report(&self, member: &str, line: &str) -> (String, Option<String>) {
        let key = format!("{member}\n{line}");
        let generation = self.core.generation();
        let cached = |reports: &HashMap<String, MadeReport>| {
            reports
                .get(&key)
                .filter(|(g, _, _)| g.is_some() && *g == generation)
                .map(|(_, text, chart)| (text.clone(), chart.clone()))
        };
        if let Some(hit) = cached(&self.reports.lock().unwrap_or_else(|e| e.into_inner())) {
            return hit;
        }
        let _making = self.making_report.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = cached(&self.reports.lock().unwrap_or_else(|e| e.into_inner())) {
            return hit;
        }
        let now = Utc::now();
        let made = match self
            .core
            .parse(line, member, "web", now)
            .and_then(|r| self.core.run(r))
        {
            Ok(outcome) => {
                let reply = self.core.render(&outcome, member, now, false);
                let currency = self.core.config().process.currency.code().to_string();
                let chart = outcome
                    .report()
                    .and_then(|done| crate::charts::Chart::of(done, &currency))
                    .and_then(|c| c.svg().ok());
                (reply.text, chart)
            }
            // A refusal is not kept: it says something about now.
            Err(e) => return (e.to_string(), None),
        };
        let mut reports = self.reports.lock().unwrap_or_else(|e| e.into_inner());
        if reports.len() > 256 {
            reports.clear();
        }
        reports.insert(key, (generation, made.0.clone(), made.1.clone()));
        made
    }

    /// Renders template `name` with `values` (and the page's common ones).
    fn page(&self, name: &str, values: minijinja::Value) -> Response {
        match self
            .templates
            .get_template(name)
            .and_then(|t| t.render(values))
        {
            Ok(html) => html_response(StatusCode::OK, html),
            Err(e) => {
                tracing::error!("web: rendering {name} failed: {e:#}");
                plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the page could not be made",
                )
            }
        }
    }
}

/// A signed-in member's request: its session, and the session's key.
/// Anyone else gets the sign-in page, whatever they asked for.
pub(super) struct Signed {
    key: String,
    session: Session,
}

impl axum::extract::FromRequestParts<Arc<Web>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        web: &Arc<Web>,
    ) -> Result<Self, Response> {
        web.session(&parts.headers)
            .map(|(key, session)| Signed { key, session })
            .ok_or_else(|| pages::sign_in_required(web, None, None))
    }
}

/// A form posted by a signed-in member, with the session's CSRF token:
/// a missing or wrong one is refused before anything runs.
pub(super) struct Posted {
    key: String,
    session: Session,
    form: HashMap<String, String>,
}

impl axum::extract::FromRequest<Arc<Web>> for Posted {
    type Rejection = Response;

    async fn from_request(
        request: axum::extract::Request,
        web: &Arc<Web>,
    ) -> Result<Self, Response> {
        let Some((key, session)) = web.session(request.headers()) else {
            return Err(pages::sign_in_required(web, None, None));
        };
        let axum::extract::Form(form) =
            axum::extract::Form::<HashMap<String, String>>::from_request(request, web)
                .await
                .map_err(IntoResponse::into_response)?;
        match form.get("csrf") {
            Some(t) if same(t, &session.csrf) => Ok(Posted { key, session, form }),
            _ => {
                tracing::warn!(
                    "web: a form from {} without a valid CSRF token was refused",
                    session.member
                );
                Err(plain(
                    StatusCode::FORBIDDEN,
                    "this form is missing its security token; reload the page and try again",
                ))
            }
        }
    }
}

/// A refusal to show on the next page.
fn refused(text: impl Into<String>) -> Flash {
    Flash {
        kind: "refused",
        text: text.into(),
        next: Vec::new(),
        confirm: None,
    }
}

/// The language of the pages for `member`.
fn language(config: &Config, member: Option<&Member>) -> String {
    member
        .and_then(|m| m.language.clone())
        .unwrap_or_else(|| config.web.language.clone())
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Whether two secrets are equal, in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// HTML with the headers every page has.
fn html_response(status: StatusCode, html: String) -> Response {
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    security_headers(h);
    r
}

fn security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn plain(status: StatusCode, text: &str) -> Response {
    let mut r = (status, format!("{text}\n")).into_response();
    security_headers(r.headers_mut());
    r
}

/// A page-local address to go back to: a path on this site, else the
/// board (never another site's address).
fn back_to(back: Option<&String>) -> String {
    match back {
        Some(b)
            if b.starts_with('/')
                && !b.starts_with("//")
                && !b.contains('\\')
                && !b.chars().any(char::is_control) =>
        {
            b.clone()
        }
        _ => "/board".to_string(),
    }
}

/// `text`, HTML-escaped, with every record id in it (`O-1001`,
/// `INV-1002`) a link to its page.
fn link_ids(text: &str, numbering: &crate::domain::ids::Numbering) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    };
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while !rest.is_empty() {
        // The next word-like run of letters, digits and '-'.
        let start = rest
            .find(|c: char| c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        out.push_str(&escape(&rest[..start]));
        rest = &rest[start..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(rest.len());
        let word = rest[..end].trim_end_matches('-');
        let word_end = word.len().max(1).min(rest.len());
        let word = &rest[..word_end];
        let looks_like_id = word.contains('-')
            && word.starts_with(|c: char| c.is_ascii_uppercase())
            && word.ends_with(|c: char| c.is_ascii_digit());
        match numbering.parse(word) {
            Ok(id) if looks_like_id => {
                let shown = numbering.show(id.kind, id.number);
                out.push_str(&format!("<a href=\"/record/{shown}\">{}</a>", escape(word)));
            }
            _ => out.push_str(&escape(word)),
        }
        rest = &rest[word_end..];
    }
    out
}

/// An amount in `currency` as the page's language writes it (`1.234,56 €`,
/// `€1,234.56`): documents' [`crate::domain::language::Lang::money`].
/// Text that is not an amount (or an unknown currency) stays as it is.
fn money(text: &str, language: &str, currency: &str) -> String {
    let (Ok(amount), Ok(currency)) = (
        text.trim().parse::<rust_decimal::Decimal>(),
        crate::domain::money::Currency::parse(currency),
    ) else {
        return text.to_string();
    };
    crate::domain::language::Lang::parse(Some(language), "de").money(amount, &currency)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_links_and_the_rest_is_escaped() {
        let config = Config::embedded();
        let n = &config.process.numbering;
        assert_eq!(
            link_ids("won O-1001 <b>& INV-1002.", n),
            "won <a href=\"/record/O-1001\">O-1001</a> &lt;b&gt;&amp; <a href=\"/record/INV-1002\">INV-1002</a>."
        );
        assert_eq!(
            link_ids("e-mail X-ray 2026-11-30", n),
            "e-mail X-ray 2026-11-30"
        );
    }

    #[test]
    fn only_local_paths_are_gone_back_to() {
        for (given, to) in [
            ("/record/O-1001", "/record/O-1001"),
            ("//evil.example/x", "/board"),
            ("https://evil.example", "/board"),
            ("/\\evil", "/board"),
        ] {
            assert_eq!(back_to(Some(&given.to_string())), to);
        }
        assert_eq!(back_to(None), "/board");
    }

    #[test]
    fn amounts_are_written_as_documents_write_them_in_the_language() {
        assert_eq!(money("1234567.5", "en", "EUR"), "€1,234,567.50");
        assert_eq!(money("1234567.5", "de", "EUR"), "1.234.567,50 €");
        assert_eq!(money("-12", "de", "EUR"), "-12,00 €");
        assert_eq!(money("999.995", "en", "EUR"), "€1,000.00");
        // Commercial rounding, as on the documents: half a cent up.
        assert_eq!(money("0.125", "en", "EUR"), "€0.13");
        assert_eq!(money("n/a", "de", "EUR"), "n/a");
    }

    #[test]
    fn cookies_are_found_by_name_and_secrets_compared() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; leadline_session=xyz"),
        );
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "b"), None);
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
