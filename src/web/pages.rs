//! The pages: sign-in, the board, lists, a record, the agenda, the inbox,
//! the reports, and the forms that run commands from them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use minijinja::{context, Value};

use super::{back_to, language, plain, refused, text, Posted, Session, Signed, Web};
use crate::command::{self, access, Command, ListQuery};
use crate::core::Request;
use crate::domain::{Kind, RecordId};

type Params = HashMap<String, String>;

/// Runs `f` on a blocking thread (it reads the store, may wait for the
/// writer, renders templates).
async fn blocking(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|_| {
        plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "an internal error stopped this page",
        )
    })
}

/// What anyone not signed in gets, whatever they asked for.
pub(super) fn sign_in_required(
    web: &Web,
    error: Option<String>,
    token: Option<String>,
) -> Response {
    let config = web.core.config();
    let lang = language(&config, None);
    let mut r = web.page(
        "signin.html",
        context! { lang => lang, t => text::words(&lang), error => error, token => token },
    );
    *r.status_mut() = if token.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    };
    r
}

/// The values every signed-in page has.
fn common(web: &Web, key: &str, s: &Session, path: &str, title: &str) -> Value {
    let config = web.core.config();
    let lang = language(&config, config.team.member(&s.member));
    let (flash, prefill) = web.take_flash(key);
    let members: Vec<String> = config.team.members.iter().map(|m| m.name.clone()).collect();
    context! {
        lang => lang,
        t => text::words(&lang),
        member => s.member,
        csrf => s.csrf,
        flash => flash,
        prefill => prefill,
        path => path,
        title => title,
        members => members,
    }
}

/// Runs a read command as the member and renders it with data.
fn read_command(web: &Web, member: &str, line: &str) -> Result<command::Reply, String> {
    let now = Utc::now();
    let request = web
        .core
        .parse(line, member, "web", now)
        .map_err(|e| e.to_string())?;
    let outcome = web.core.run(request).map_err(|e| e.to_string())?;
    Ok(web.core.render(&outcome, member, now, true))
}

/// The request's path and query, to come back to after a form.
fn here(path: &str, q: &Params) -> String {
    if q.is_empty() {
        return path.to_string();
    }
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(q.iter().filter(|(k, _)| k.as_str() != "format"))
        .finish();
    format!("{path}?{query}")
}

/// A command option's value, quoted for the command language.
fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "'"))
}

pub(super) async fn css() -> Response {
    let mut r = include_str!("templates/leadline.css").into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600"),
    );
    r
}

pub(super) async fn not_found(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    if web.session(&headers).is_none() {
        return sign_in_required(&web, None, None);
    }
    plain(StatusCode::NOT_FOUND, "there is no such page")
}

pub(super) async fn signin_page(State(web): State<Arc<Web>>) -> Response {
    sign_in_required(&web, None, None)
}

/// The link from chat or the shell: a page with one button, so that a
/// link preview (which only GETs) does not use the link up.
pub(super) async fn signin_link(
    State(web): State<Arc<Web>>,
    Path(token): Path<String>,
) -> Response {
    if token.len() > 100
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return sign_in_required(&web, Some("this is not a sign-in link".into()), None);
    }
    sign_in_required(&web, None, Some(token))
}

/// Takes a sign-in link (once) and starts a session.
pub(super) async fn signin(State(web): State<Arc<Web>>, Form(f): Form<Params>) -> Response {
    let Some(token) = f.get("token").cloned() else {
        return sign_in_required(&web, Some("no sign-in link given".into()), None);
    };
    let core = web.core.clone();
    let now = Utc::now();
    let request = Request::system(
        Command::WebSignIn {
            digest: access::digest(&token),
        },
        "(web) sign in",
        "web",
        "web",
        now,
    );
    match core.call(request).await {
        Ok(outcome) => {
            let Some(member) = outcome.signed_in().map(str::to_string) else {
                return sign_in_required(&web, Some("the sign-in failed".into()), None);
            };
            match web.start_session(member.clone()) {
                Ok(cookie) => {
                    tracing::info!("web: {member} signed in");
                    let mut r = Redirect::to("/board").into_response();
                    if let Ok(v) = HeaderValue::from_str(&cookie) {
                        r.headers_mut().insert(header::SET_COOKIE, v);
                    }
                    r
                }
                Err(e) => sign_in_required(&web, Some(e), None),
            }
        }
        Err(e) => {
            let mut r = sign_in_required(&web, Some(e.to_string()), None);
            *r.status_mut() = StatusCode::FORBIDDEN;
            r
        }
    }
}

pub(super) async fn signout(State(web): State<Arc<Web>>, Posted { key, .. }: Posted) -> Response {
    web.end_session(&key);
    let mut r = Redirect::to("/signin").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("leadline_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

/// Runs the command box's line and goes back to the page it was on.
pub(super) async fn command(
    State(web): State<Arc<Web>>,
    Posted {
        key,
        session: s,
        form: f,
    }: Posted,
) -> Response {
    let line = f
        .get("line")
        .map(|l| l.trim().to_string())
        .unwrap_or_default();
    let back = back_to(f.get("back"));
    blocking(move || {
        if line.is_empty() {
            return Redirect::to(&back).into_response();
        }
        // A next step that needs a value (`/quote close Q-1001 reason:`)
        // goes to the command box to be completed, not run as it is.
        if line.ends_with(':') {
            let flash = super::Flash {
                kind: "ok",
                text: format!("complete the command below: {line}..."),
                next: Vec::new(),
                confirm: None,
            };
            return web.back_to(&key, flash, Some(line), &back);
        }
        let flash = web.run_line(&s.member, &line);
        let prefill = (flash.kind == "refused" && flash.confirm.is_none()).then(|| line.clone());
        web.back_to(&key, flash, prefill, &back)
    })
    .await
}

pub(super) async fn confirm(
    State(web): State<Arc<Web>>,
    Posted {
        key,
        session: s,
        form: f,
    }: Posted,
) -> Response {
    let token = f.get("token").cloned().unwrap_or_default();
    let back = back_to(f.get("back"));
    blocking(move || {
        let flash = web.confirm(&s.member, &token);
        web.back_to(&key, flash, None, &back)
    })
    .await
}

/// Moving a card on the board: the command the move stands for.
pub(super) async fn move_card(
    State(web): State<Arc<Web>>,
    Posted {
        key,
        session: s,
        form: f,
    }: Posted,
) -> Response {
    let back = back_to(f.get("back"));
    let opp = f.get("opp").cloned().unwrap_or_default();
    let to = f.get("to").cloned().unwrap_or_default();
    blocking(move || {
        let config = web.core.config();
        let opp = match config.process.numbering.parse(&opp) {
            Ok(id) if id.kind == Kind::Opportunity => {
                config.process.numbering.show(id.kind, id.number)
            }
            _ => {
                let flash = refused(format!("'{opp}' is not an opportunity"));
                return web.back_to(&key, flash, None, &back);
            }
        };
        let line = match to.as_str() {
            "3 propose" => format!("/quote new {opp}"),
            "4 on hold" => format!("/opp edit {opp} status:on_hold"),
            "in progress" | "1 qualify" | "2 develop" => {
                format!("/opp edit {opp} status:in_progress")
            }
            "won" => format!("/opp win {opp}"),
            "lost" => {
                // Losing needs a reason: the refusal names them, and the
                // command box is filled in to add one.
                let flash = web.run_line(&s.member, &format!("/opp lose {opp}"));
                let prefill = (flash.kind == "refused").then(|| format!("/opp lose {opp} reason:"));
                return web.back_to(&key, flash, prefill, &back);
            }
            other => {
                let flash = refused(format!("'{other}' is not a column of the board"));
                return web.back_to(&key, flash, None, &back);
            }
        };
        let flash = web.run_line(&s.member, &line);
        web.back_to(&key, flash, None, &back)
    })
    .await
}

pub(super) async fn board(
    State(web): State<Arc<Web>>,
    Signed { key, session: s }: Signed,
    Query(q): Query<Params>,
) -> Response {
    blocking(move || {
        let config = web.core.config();
        let owner = q.get("owner").filter(|o| !o.is_empty()).cloned();
        if let Some(o) = &owner {
            if config.team.member(o).is_none() {
                return plain(
                    StatusCode::BAD_REQUEST,
                    &format!("{o} is not a member of the team"),
                );
            }
        }
        let per_column = q
            .get("cards")
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(command::board::CARDS_PER_COLUMN);
        let ctx = config.context(&s.member, Utc::now(), "web");
        let columns = match web
            .core
            .read(|tx| command::board::board(tx, &ctx, owner.as_deref(), per_column))
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            Err(e) => return plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        };
        let lang = language(&config, config.team.member(&s.member));
        let title = text::words(&lang)["board"];
        let base = common(&web, &key, &s, &here("/board", &q), title);
        web.page(
            "board.html",
            context! { ..base, ..context! {
                columns => columns,
                owner => owner,
                currency => config.process.currency.code(),
                more_cards => (per_column * 5).min(command::board::MOST_CARDS_PER_COLUMN),
            } },
        )
    })
    .await
}

/// The kinds lists show, by the word in their address.
fn list_kind(word: &str) -> Option<Kind> {
    Kind::from_word(word).filter(|k| *k != Kind::Activity)
}

pub(super) async fn list(
    State(web): State<Arc<Web>>,
    Signed { key, session: s }: Signed,
    Path(kind): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    blocking(move || {
        let Some(kind) = list_kind(&kind) else {
            return plain(StatusCode::NOT_FOUND, &format!("there is no list of '{kind}'"));
        };
        let mut line = format!("/list {}", kind.name());
        for opt in ["state", "owner", "after"] {
            if let Some(v) = q.get(opt).filter(|v| !v.is_empty()) {
                line.push_str(&format!(" {opt}:{}", quoted(v)));
            }
        }
        if let Some(format) = q.get("format") {
            return export(&web, &s.member, &line, format);
        }
        line.push_str(" limit:50");
        let config = web.core.config();
        let now = Utc::now();
        let request = match web.core.parse(&line, &s.member, "web", now) {
            Ok(r) => r,
            Err(e) => return plain(StatusCode::BAD_REQUEST, &e.to_string()),
        };
        let outcome = match web.core.run(request) {
            Ok(o) => o,
            Err(e) => return plain(StatusCode::BAD_REQUEST, &e.to_string()),
        };
        let reply = web.core.render(&outcome, &s.member, now, true);
        let lang = language(&config, config.team.member(&s.member));
        let rows = rows(&config, kind, &reply.data, &lang);
        let more = (rows.len() == 50).then(|| {
            let mut next = q.clone();
            next.insert("after".into(), rows.last().map(|r| r.0.clone()).unwrap_or_default());
            here(&format!("/list/{}", kind.name()), &next)
        });
        let words = text::words(&lang);
        let title = match kind {
            Kind::Lead => words["leads"],
            Kind::Opportunity => words["opportunities"],
            Kind::Quote => words["quotes"],
            Kind::Order => words["orders"],
            Kind::Invoice => words["invoices"],
            Kind::Account => words["accounts"],
            _ => words["contacts"],
        };
        let path = here(&format!("/list/{}", kind.name()), &q);
        let base = common(&web, &key, &s, &path, title);
        let export = format!("{}{}", path, if path.contains('?') { "" } else { "?" });
        web.page(
            "list.html",
            context! { ..base, ..context! {
                kind => kind.name(),
                states => crate::domain::state_names(kind),
                state => q.get("state"),
                owner => q.get("owner"),
                rows => rows.into_iter().map(|r| context!{ id => r.0, title => r.1, state => r.2, owner => r.3, amount => r.4, created => r.5 }).collect::<Vec<_>>(),
                more => more,
                export => export,
            }},
        )
    })
    .await
}

/// (id, title, state, owner, amount, created) of each record a list's data has.
type Row = (String, String, String, String, String, String);

fn rows(
    config: &crate::config::Config,
    kind: Kind,
    data: &serde_json::Value,
    lang: &str,
) -> Vec<Row> {
    let Some(items) = data.as_array() else {
        return Vec::new();
    };
    let s = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string()
    };
    items
        .iter()
        .map(|r| {
            let number = r.get("number").and_then(|n| n.as_u64()).unwrap_or(0);
            let mut id = config.process.numbering.show(kind, number);
            if let Some(rev) = r
                .get("revision")
                .and_then(|n| n.as_u64())
                .filter(|r| *r > 1)
            {
                id = format!("{id}-{rev}");
            }
            let title = ["topic", "name", "title", "subject"]
                .iter()
                .map(|k| s(r, k))
                .find(|t| !t.is_empty())
                .unwrap_or_else(|| {
                    format!("{} {}", s(r, "first_name"), s(r, "last_name"))
                        .trim()
                        .to_string()
                });
            let title = match (kind, r.get("first_name")) {
                (Kind::Lead, Some(_)) => {
                    format!("{title} ({} {})", s(r, "first_name"), s(r, "last_name"))
                }
                _ => title,
            };
            let currency = r
                .get("pricing")
                .and_then(|p| p.get("currency"))
                .or_else(|| r.get("currency"))
                .and_then(|c| c.as_str())
                .unwrap_or(config.process.currency.code());
            let amount = r
                .get("totals")
                .and_then(|t| t.get("total_amount"))
                .or_else(|| r.get("estimated_revenue"))
                .and_then(|a| a.as_str())
                .map(|a| super::money(a, lang, currency))
                .unwrap_or_default();
            let created = s(r, "created_at").chars().take(10).collect();
            (id, title, s(r, "state"), s(r, "owner"), amount, created)
        })
        .collect()
}

/// A list, every page of it, as a CSV or JSON download.
fn export(web: &Web, member: &str, line: &str, format: &str) -> Response {
    let format = match crate::export::Format::parse(format) {
        Ok(f @ (crate::export::Format::Csv | crate::export::Format::Json)) => f,
        _ => return plain(StatusCode::BAD_REQUEST, "format: give csv or json"),
    };
    let config = web.core.config();
    let now = Utc::now();
    let mut all: Vec<serde_json::Map<String, serde_json::Value>> = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let mut request = match web
            .core
            .parse(&format!("{line} limit:500"), member, "web", now)
        {
            Ok(r) => r,
            Err(e) => return plain(StatusCode::BAD_REQUEST, &e.to_string()),
        };
        let kind = match &mut request.command {
            Command::List(ListQuery { after: a, kind, .. }) => {
                if after.is_some() {
                    *a = after;
                }
                *kind
            }
            _ => None,
        };
        let Some(kind) = kind else {
            return plain(StatusCode::BAD_REQUEST, "not a list");
        };
        let reply = match web.core.run(request) {
            Ok(o) => web.core.render(&o, member, now, true),
            Err(e) => return plain(StatusCode::BAD_REQUEST, &e.to_string()),
        };
        let page: Vec<serde_json::Map<String, serde_json::Value>> = match reply.data {
            serde_json::Value::Array(items) => items
                .into_iter()
                .filter_map(|v| match v {
                    serde_json::Value::Object(mut m) => {
                        let n = m.get("number").and_then(|n| n.as_u64()).unwrap_or(0);
                        m.insert("id".into(), config.process.numbering.show(kind, n).into());
                        Some(m)
                    }
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let last = page
            .last()
            .and_then(|m| m.get("number"))
            .and_then(|n| n.as_u64());
        let full = page.len() == 500;
        all.extend(page);
        match (full, last) {
            (true, Some(n)) if all.len() < 200_000 => after = Some(n),
            _ => break,
        }
    }
    let bytes = match crate::export::encode(&all, format, config.team.locale) {
        Ok(b) => b,
        Err(e) => return plain(StatusCode::INTERNAL_SERVER_ERROR, &e),
    };
    let (mime, ext) = match format {
        crate::export::Format::Csv => ("text/csv; charset=utf-8", "csv"),
        _ => ("application/json", "json"),
    };
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"leadline-export.{ext}\""))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

pub(super) async fn find(
    State(web): State<Arc<Web>>,
    Signed { key, session: s }: Signed,
    Query(q): Query<Params>,
) -> Response {
    blocking(move || {
        let query = q.get("q").cloned().unwrap_or_default();
        let text = if query.trim().is_empty() {
            String::new()
        } else {
            read_command(&web, &s.member, &format!("/find {}", quoted(query.trim())))
                .map(|r| r.text)
                .unwrap_or_else(|e| e)
        };
        let base = common(&web, &key, &s, &here("/find", &q), "/find");
        web.page(
            "text.html",
            context! { ..base, ..context! { query => query, parts => vec![context!{ id => "found", text => text }] } },
        )
    })
    .await
}

pub(super) async fn record(
    State(web): State<Arc<Web>>,
    Signed { key, session: s }: Signed,
    Path(id): Path<String>,
) -> Response {
    blocking(move || {
        let config = web.core.config();
        let Ok(rid) = config.process.numbering.parse(&id) else {
            return plain(StatusCode::NOT_FOUND, &format!("'{id}' is not a record id"));
        };
        let shown = config.process.numbering.show(rid.kind, rid.number);
        let show = match read_command(&web, &s.member, &format!("/show {id}")) {
            Ok(r) => r,
            Err(e) => return plain(StatusCode::NOT_FOUND, &e),
        };
        let timeline = (rid.kind != Kind::Activity)
            .then(|| {
                read_command(&web, &s.member, &format!("/timeline {shown}"))
                    .map(|r| r.text)
                    .ok()
            })
            .flatten();
        let history = read_command(&web, &s.member, &format!("/history {id}"))
            .map(|r| r.text)
            .ok();
        let fields = fields(&config, &show.data);
        let title = show.text.lines().next().unwrap_or(&shown).to_string();
        let base = common(&web, &key, &s, &format!("/record/{id}"), &title);
        web.page(
            "record.html",
            context! { ..base, ..context! {
                id => shown,
                summary => show.text,
                next => show.next,
                fields => fields,
                timeline => timeline,
                history => history,
                document => matches!(rid.kind, Kind::Quote | Kind::Order | Kind::Invoice),
            }},
        )
    })
    .await
}

/// A record's fields as (name, value) pairs: scalars, nested objects one
/// level down (`address.city`); lines and lists are in the summary. A
/// reference shows as the id it is (`account: A-1001`), a moment in the
/// team's time zone.
fn fields(config: &crate::config::Config, data: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(map) = data.as_object() else {
        return out;
    };
    for (k, v) in map {
        match v {
            serde_json::Value::String(s) => {
                let shown = match chrono::DateTime::parse_from_rfc3339(s) {
                    Ok(t) => t
                        .with_timezone(&config.team.timezone)
                        .format("%Y-%m-%d %H:%M")
                        .to_string(),
                    Err(_) => s.clone(),
                };
                out.push((k.clone(), shown));
            }
            serde_json::Value::Number(n) => {
                let shown = match (Kind::from_word(k), n.as_u64()) {
                    (Some(kind), Some(number)) if k != "number" => {
                        config.process.numbering.show(kind, number)
                    }
                    _ => n.to_string(),
                };
                out.push((k.clone(), shown));
            }
            serde_json::Value::Bool(b) => out.push((k.clone(), b.to_string())),
            serde_json::Value::Object(inner) => {
                for (k2, v2) in inner {
                    match v2 {
                        serde_json::Value::String(s) => out.push((format!("{k}.{k2}"), s.clone())),
                        serde_json::Value::Number(n) => {
                            out.push((format!("{k}.{k2}"), n.to_string()))
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    out
}

pub(super) async fn document(
    State(web): State<Arc<Web>>,
    _: Signed,
    Path(id): Path<String>,
) -> Response {
    blocking(move || {
        let config = web.core.config();
        let Ok(rid) = config.process.numbering.parse(&id) else {
            return plain(StatusCode::NOT_FOUND, &format!("'{id}' is not a record id"));
        };
        match crate::documents::render(&web.core, RecordId::new(rid.kind, rid.number), Utc::now()) {
            Ok(d) => {
                let mut r = d.pdf.into_response();
                let h = r.headers_mut();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/pdf"),
                );
                if let Ok(v) =
                    HeaderValue::from_str(&format!("inline; filename=\"{}\"", d.file_name))
                {
                    h.insert(header::CONTENT_DISPOSITION, v);
                }
                r
            }
            Err(e) => plain(StatusCode::NOT_FOUND, &e.to_string()),
        }
    })
    .await
}

pub(super) async fn agenda(
    State(web): State<Arc<Web>>,
    Signed { key, session: s }: Signed,
) -> Response {
    blocking(move || {
        let config = web.core.config();
        let lang = language(&config, config.team.member(&s.member));
        let words = text::words(&lang);
        let agenda = read_command(&web, &s.member, "/agenda")
            .map(|r| r.text)
            .unwrap_or_else(|e| e);
        let overdue = read_command(&web, &s.member, "/overdue")
            .map(|r| r.text)
            .unwrap_or_else(|e| e);
        let base = common(&web, &key, &s, "/agenda", words["agenda"]);
        web.page(
            "text.html",
            context! { ..base, ..context! { parts => vec![
                context!{ id => "agenda", text => agenda },
                context!{ id => "overdue", heading => words["overdue"], text => overdue },
            ] } },
        )
    })
    .await
}

pub(super) async fn inbox(
    State(web): State<Arc<Web>>,
    Signed { key, session: s }: Signed,
) -> Response {
    blocking(move || {
        let config = web.core.config();
        let lang = language(&config, config.team.member(&s.member));
        let words = text::words(&lang);
        let reply = match read_command(&web, &s.member, "/inbox limit:100") {
            Ok(r) => r,
            Err(e) => return plain(StatusCode::INTERNAL_SERVER_ERROR, &e),
        };
        let mails: Vec<Value> = reply
            .data
            .as_array()
            .map(|all| {
                all.iter()
                    .map(|m| {
                        let get = |k: &str| m.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                        context! {
                            number => m.get("number").and_then(|n| n.as_u64()).unwrap_or(0),
                            from => m.get("mail").and_then(|x| x.get("from")).and_then(|v| v.as_str()).map(str::to_string).unwrap_or_else(|| get("from")),
                            subject => m.get("mail").and_then(|x| x.get("subject")).and_then(|v| v.as_str()).map(str::to_string).unwrap_or_else(|| get("subject")),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let base = common(&web, &key, &s, "/inbox", words["inbox"]);
        web.page(
            "text.html",
            context! { ..base, ..context! { parts => vec![context!{ id => "inbox", text => reply.text }], inbox => mails } },
        )
    })
    .await
}

/// The inbox's link button: `/inbox link N ID`.
pub(super) async fn inbox_link(
    State(web): State<Arc<Web>>,
    Posted {
        key,
        session: s,
        form: f,
    }: Posted,
) -> Response {
    let mail = f.get("mail").cloned().unwrap_or_default();
    let target = f.get("target").cloned().unwrap_or_default();
    blocking(move || {
        let flash = if mail.bytes().all(|b| b.is_ascii_digit()) && !mail.is_empty() {
            web.run_line(
                &s.member,
                &format!("/inbox link {mail} {}", quoted(target.trim())),
            )
        } else {
            refused(format!("'{mail}' is not a mail of the inbox"))
        };
        web.back_to(&key, flash, None, "/inbox")
    })
    .await
}

/// The reports, with their chart (SVG) and numbers.
pub(super) async fn report(
    State(web): State<Arc<Web>>,
    Signed { key, session: s }: Signed,
    Path(name): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    blocking(move || {
        let (base_line, bys, dated): (&str, &[&str], bool) = match name.as_str() {
            "pipeline" => ("/pipeline", &["stage", "month", "owner"], false),
            "wonlost" => (
                "/report wonlost",
                &["reason", "owner", "competitor", "product"],
                true,
            ),
            "revenue" => (
                "/report revenue",
                &["month", "quarter", "owner", "account", "product"],
                false,
            ),
            "funnel" => ("/report funnel", &[], true),
            "aging" => ("/report aging", &[], false),
            _ => {
                return plain(
                    StatusCode::NOT_FOUND,
                    &format!("there is no report '{name}'"),
                )
            }
        };
        let mut line = base_line.to_string();
        let by = q.get("by").filter(|b| bys.contains(&b.as_str())).cloned();
        if let Some(b) = &by {
            line.push_str(&format!(" by:{b}"));
        }
        for opt in ["from", "to"] {
            if let Some(v) = q.get(opt).filter(|v| dated && !v.is_empty()) {
                line.push_str(&format!(" {opt}:{}", quoted(v)));
            }
        }
        let (text, chart) = web.report(&s.member, &line);
        let path = here(&format!("/reports/{name}"), &q);
        let base = common(&web, &key, &s, &path, &name);
        web.page(
            "report.html",
            context! { ..base, ..context! {
                report => name, bys => bys, by => by, dated => dated,
                from => q.get("from"), to => q.get("to"), text => text, chart => chart,
            }},
        )
    })
    .await
}
