//! The HTTP API for other tools (bearer tokens per member, made with
//! `leadline token new NAME`), its OpenAPI 3 document, and the operator's
//! `/healthz` and `/metrics`.
//!
//! `POST /api/v1/commands` takes `{"command": "/qualify L-1001"}` and
//! answers as `leadline cmd --json` does. A step that chat confirms first
//! (`[chat] confirm`) runs only with `"confirm": true`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{security_headers, Web};
use crate::command::queue::{MailState, OutMail};
use crate::command::{self, access, CommandError};

/// A JSON answer with the headers every answer has.
fn answer(status: StatusCode, body: Value) -> Response {
    let mut r = (status, Json(body)).into_response();
    security_headers(r.headers_mut());
    r
}

fn failure(status: StatusCode, error: &str, message: impl Into<String>) -> Response {
    answer(
        status,
        json!({"ok": false, "error": error, "message": message.into()}),
    )
}

/// The HTTP status of a command's failure.
fn status_of(e: &CommandError) -> StatusCode {
    match e {
        CommandError::Invalid(_) => StatusCode::BAD_REQUEST,
        CommandError::NotFound(_) => StatusCode::NOT_FOUND,
        CommandError::Refused(_) => StatusCode::CONFLICT,
        CommandError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The member the request's bearer token acts for, or the 401 answer.
async fn member(web: &Web, headers: &HeaderMap) -> Result<String, Response> {
    let unauthorized = |why: &str| {
        let mut r = failure(StatusCode::UNAUTHORIZED, "unauthorized", why);
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    };
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Err(unauthorized(
            "give an API token: Authorization: Bearer <token> (leadline token new NAME)",
        ));
    };
    let digest = access::digest(token);
    let found = web
        .core
        .query(move |tx| access::token_member(tx, &digest))
        .await;
    let member = match found {
        Ok(Ok(Some(m))) => m,
        Ok(Ok(None)) => {
            return Err(unauthorized(
                "this API token is not valid (revoked, or never made)",
            ))
        }
        Ok(Err(e)) => {
            return Err(failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "store",
                e.to_string(),
            ))
        }
        Err(e) => {
            return Err(failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "store",
                e.to_string(),
            ))
        }
    };
    // A member taken off the team loses the API with the pages.
    if web.core.config().team.member(&member).is_none() {
        return Err(unauthorized("the token's member is no longer on the team"));
    }
    Ok(member)
}

/// Runs command `line` as `member` and answers as `--json` does.
async fn run(web: &Web, member: &str, line: &str, confirmed: bool) -> Response {
    let now = Utc::now();
    let request = match web.core.parse(line, member, "api", now) {
        Ok(r) => r,
        Err(e) => return failure(status_of(&e), e.code(), e.to_string()),
    };
    let config = web.core.config();
    let step = command::step(&request.command);
    if !confirmed && config.chat.confirm.iter().any(|c| c == step) {
        return failure(
            StatusCode::CONFLICT,
            "confirm",
            format!("'{step}' cannot be undone; send it again with \"confirm\": true"),
        );
    }
    match web.core.call(request).await {
        Ok(outcome) => {
            let reply = web.core.render(&outcome, member, now, true);
            answer(
                StatusCode::OK,
                json!({"ok": true, "reply": reply.text, "data": reply.data, "next": reply.next}),
            )
        }
        Err(e) => failure(status_of(&e), e.code(), e.to_string()),
    }
}

/// The body of `POST /api/v1/commands`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CommandBody {
    command: String,
    #[serde(default)]
    confirm: bool,
}

pub(super) async fn commands(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let member = match member(&web, &headers).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let body: CommandBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return failure(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("the body is not {{\"command\": \"/...\"}}: {e}"),
            )
        }
    };
    run(&web, &member, &body.command, body.confirm).await
}

pub(super) async fn record(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let member = match member(&web, &headers).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    if id.contains(char::is_whitespace) || id.contains(':') {
        return failure(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("'{id}' is not a record id"),
        );
    }
    run(&web, &member, &format!("/show {id}"), false).await
}

pub(super) async fn list(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(kind): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let member = match member(&web, &headers).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    if !kind.bytes().all(|b| b.is_ascii_alphabetic()) {
        return failure(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("there is no list of '{kind}'"),
        );
    }
    let mut line = format!("/list {kind}");
    for opt in ["state", "owner", "limit", "after"] {
        if let Some(v) = q.get(opt) {
            line.push_str(&format!(" {opt}:\"{}\"", v.replace('"', "'")));
        }
    }
    run(&web, &member, &line, false).await
}

pub(super) async fn healthz(State(web): State<Arc<Web>>) -> Response {
    match web.core.store_problem() {
        None => (StatusCode::OK, "ok\n").into_response(),
        Some(p) => (StatusCode::SERVICE_UNAVAILABLE, format!("{p}\n")).into_response(),
    }
}

pub(super) async fn metrics(State(web): State<Arc<Web>>) -> Response {
    let outbox = web
        .core
        .query(|tx| command::queue::all::<OutMail>(tx, command::keys::OUTBOX))
        .await;
    let waiting = match outbox {
        Ok(Ok(all)) => all
            .iter()
            .filter(|m| !matches!(m.state, MailState::Sent { .. }))
            .count() as f64,
        _ => f64::NAN,
    };
    let text = web.core.metrics().render(&[
        (
            "leadline_write_queue_depth",
            "Writes waiting for the writer.",
            web.core.queue_depth() as f64,
        ),
        (
            "leadline_outbox_depth",
            "Outgoing mail not sent yet (pending, sending, failed or uncertain).",
            waiting,
        ),
    ]);
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// The OpenAPI 3 document of the API.
pub(super) async fn openapi() -> Response {
    answer(StatusCode::OK, document())
}

/// What the API does, as OpenAPI 3.0.
pub fn document() -> Value {
    let outcome = json!({
        "type": "object",
        "required": ["ok"],
        "properties": {
            "ok": {"type": "boolean"},
            "reply": {"type": "string", "description": "the reply for people"},
            "data": {"description": "the records concerned, as JSON"},
            "next": {"type": "array", "items": {"type": "string"}, "description": "commands that make sense next"},
            "error": {"type": "string", "enum": ["invalid", "not_found", "refused", "store", "confirm", "unauthorized"]},
            "message": {"type": "string"}
        }
    });
    let responses = |ok: &str| {
        json!({
            "200": {"description": ok, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outcome"}}}},
            "400": {"description": "invalid: not a command, or a bad value", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outcome"}}}},
            "401": {"description": "no valid API token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outcome"}}}},
            "404": {"description": "no such record", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outcome"}}}},
            "409": {"description": "refused by the rules or roles, or a step that needs \"confirm\": true", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outcome"}}}},
            "503": {"description": "the store cannot take it now", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outcome"}}}}
        })
    };
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "leadline API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The command language of leadline over HTTP, as a team member (the API token's)."
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/commands": {
                "post": {
                    "summary": "Run one command, as the token's member",
                    "operationId": "runCommand",
                    "requestBody": {
                        "required": true,
                        "content": {"application/json": {"schema": {
                            "type": "object",
                            "required": ["command"],
                            "additionalProperties": false,
                            "properties": {
                                "command": {"type": "string", "example": "/qualify L-1001"},
                                "confirm": {"type": "boolean", "default": false, "description": "run a step that cannot be undone"}
                            }
                        }}}
                    },
                    "responses": responses("what the command did")
                }
            },
            "/api/v1/records/{id}": {
                "get": {
                    "summary": "One record (as /show)",
                    "operationId": "getRecord",
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "example": "O-1001"}],
                    "responses": responses("the record")
                }
            },
            "/api/v1/lists/{kind}": {
                "get": {
                    "summary": "Records of one kind, newest first (as /list)",
                    "operationId": "listRecords",
                    "parameters": [
                        {"name": "kind", "in": "path", "required": true, "schema": {"type": "string", "enum": ["lead", "contact", "account", "opportunity", "quote", "order", "invoice", "product"]}},
                        {"name": "state", "in": "query", "schema": {"type": "string"}},
                        {"name": "owner", "in": "query", "schema": {"type": "string"}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                        {"name": "after", "in": "query", "schema": {"type": "string"}, "description": "the last id of the page before"}
                    ],
                    "responses": responses("the records")
                }
            }
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Outcome": outcome}
        }
    })
}
