//! The requests the control socket takes, and [`answer`]: the same
//! requests answered in-process (what `leadline` does when no daemon
//! runs, and the daemon does on a blocking thread for the slow ones).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::command::{CommandError, Reply};
use crate::core::Leadline;

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
    /// Write a backup of the store to this file (an absolute path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<std::path::PathBuf>,
    /// Export records into a folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportRequest>,
    /// Render the document (PDF, e-invoice XML) of this record id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// A sign-in link or an API token: made here, shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessRequest>,
}

/// What `leadline web-link` and `leadline token` ask for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessRequest {
    /// A one-time sign-in link for the web view.
    WebLink { member: String },
    /// A new API token.
    TokenNew { member: String },
    /// Revoke API token number N.
    TokenRevoke { number: u64 },
    /// The API tokens there are.
    Tokens,
}

/// Makes a sign-in link or API token (the secret drawn here, only its
/// digest given to the core), revokes or lists tokens; the answer carries
/// the link or token, which is shown once.
fn access(
    core: &Leadline,
    req: &Request,
    what: &AccessRequest,
    now: DateTime<Utc>,
) -> serde_json::Value {
    use crate::command::{access, Command};
    let actor = match actor_of(core, req) {
        Ok(a) => a,
        Err(e) => return response(Err(e), false),
    };
    let secret = match what {
        AccessRequest::WebLink { .. } | AccessRequest::TokenNew { .. } => match access::secret() {
            Ok(s) => Some(s),
            Err(e) => return failure("store", e),
        },
        _ => None,
    };
    let digest = secret.as_deref().map(access::digest).unwrap_or_default();
    let (command, text) = match what {
        AccessRequest::WebLink { member } => {
            if core.config().web.base().is_none() {
                return failure(
                    "invalid",
                    "the web view is off: set [web] listen (and base_url behind a proxy) first",
                );
            }
            (
                Command::WebLinkNew {
                    member: member.clone(),
                    digest,
                },
                format!("(shell) web-link {member}"),
            )
        }
        AccessRequest::TokenNew { member } => (
            Command::TokenNew {
                member: member.clone(),
                digest,
            },
            format!("(shell) token new {member}"),
        ),
        AccessRequest::TokenRevoke { number } => (
            Command::TokenRevoke(*number),
            format!("(shell) token revoke {number}"),
        ),
        AccessRequest::Tokens => (Command::Tokens, "(shell) token list".to_string()),
    };
    let via = req.via.as_deref().unwrap_or("shell");
    let request = crate::core::Request::system(command, text, &actor, via, now);
    let mut v = response(core.answer(request, req.data), req.data);
    if v["ok"] == true {
        match (what, secret) {
            (AccessRequest::WebLink { .. }, Some(s)) => {
                let base = core.config().web.base().unwrap_or_default();
                v["link"] = format!("{base}/signin/{s}").into();
            }
            (AccessRequest::TokenNew { .. }, Some(s)) => v["token"] = s.into(),
            _ => {}
        }
    }
    v
}

/// What `leadline export` asks for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExportRequest {
    /// The tables (kinds, `product`, `history`); all when empty.
    #[serde(default)]
    pub tables: Vec<String>,
    /// `csv`, `json` or `jsonl`.
    pub format: String,
    /// The folder the files go to (an absolute path).
    pub dir: std::path::PathBuf,
}

/// The largest table `leadline import` takes: a 100,000-row export is
/// about 15 MiB. It is read as it goes, a group of rows per request, so
/// this bounds the time an import takes, not the memory.
pub const MAX_IMPORT: u64 = 32 * 1024 * 1024;

/// One group of rows of a CSV import: `leadline import` reads the table as
/// it goes and sends it a group at a time ([`crate::import::import_rows`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportRequest {
    /// The table's header.
    pub headers: Vec<String>,
    /// The group's rows, with the line each starts on.
    #[serde(default)]
    pub rows: Vec<crate::import::Row>,
    /// `COLUMN=FIELD` mappings.
    #[serde(default)]
    pub map: Vec<(String, String)>,
    /// Leads the earlier groups imported (said if this group fails).
    #[serde(default)]
    pub imported_before: usize,
}

/// The document of record `id` as the socket answers it: the PDF (and
/// the e-invoice XML) in base64, with the file name and the totals the
/// document states; the client writes the files.
fn document(core: &Leadline, id: &str, now: DateTime<Utc>) -> serde_json::Value {
    use base64::Engine;
    let config = core.config();
    let id = match config.process.numbering.parse(id.trim()) {
        Ok(id) => id,
        Err(e) => return failure("invalid", e.to_string()),
    };
    match crate::documents::render(core, id, now) {
        Ok(d) => {
            let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
            serde_json::json!({
                "ok": true,
                "document": {
                    "kind": d.kind,
                    "language": d.language,
                    "number": d.number,
                    "file_name": d.file_name,
                    "pdf": b64(&d.pdf),
                    "facturx": d.facturx,
                    "xrechnung": d.xrechnung,
                    "totals": d.document.totals,
                }
            })
        }
        Err(e @ crate::documents::DocumentError::NotFound(_)) => {
            failure("not_found", e.to_string())
        }
        Err(e @ crate::documents::DocumentError::Store(_)) => failure("store", e.to_string()),
        Err(e) => failure("invalid", e.to_string()),
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

pub(super) fn failure(code: &str, message: impl Into<String>) -> serde_json::Value {
    serde_json::json!({"ok": false, "error": code, "message": message.into()})
}

/// The acting member of `req`: the one it names, else the default user.
///
/// Fails when that name is not on the team.
fn actor_of(core: &Leadline, req: &Request) -> Result<String, CommandError> {
    let team = &core.config().team;
    team.resolve_actor(req.actor.as_deref().unwrap_or(&team.default_user))
        .map_err(CommandError::Invalid)
}

/// The core request for command line `text` of `req`.
///
/// Fails when the actor is not on the team or the text is not a command.
pub(super) fn command_request(
    core: &Leadline,
    req: &Request,
    text: &str,
) -> Result<crate::core::Request, CommandError> {
    let actor = actor_of(core, req)?;
    let via = req.via.as_deref().unwrap_or("shell");
    let now = req.now.unwrap_or_else(Utc::now);
    core.parse(text, &actor, via, now)
}

/// Answers a request in-process, on this thread: what `leadline` does when
/// no daemon runs, and what the daemon does on a blocking thread for
/// `tick`, `digest` and `import`. `status` needs the daemon.
pub fn answer(core: &Leadline, mut req: Request) -> serde_json::Value {
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
    if let Some(file) = &req.backup {
        return match core.backup(file) {
            Ok(summary) => serde_json::json!({"ok": true, "backup": summary}),
            Err(e) => failure("backup", e.to_string()),
        };
    }
    if let Some(export) = &req.export {
        let done = crate::export::Format::parse(&export.format)
            .and_then(|f| Ok((f, crate::export::tables(&export.tables)?)))
            .map_err(|e| failure("invalid", e))
            .and_then(|(format, tables)| {
                crate::export::export(core, &tables, format, &export.dir)
                    .map_err(|e| failure("export", e))
            });
        return match done {
            Ok(files) => serde_json::json!({"ok": true, "files": files}),
            Err(v) => v,
        };
    }
    if let Some(id) = &req.document {
        return document(core, id, now);
    }
    if let Some(what) = &req.access {
        return access(core, &req, what, now);
    }
    if let Some(import) = req.import_leads.take() {
        let actor = match actor_of(core, &req) {
            Ok(a) => a,
            Err(e) => return response(Err(e), false),
        };
        let imported = crate::import::import_rows(
            core,
            &import.headers,
            import.rows,
            &import.map,
            &actor,
            now,
            import.imported_before,
        );
        return match imported {
            Ok(report) => serde_json::json!({"ok": true, "report": report}),
            Err(e @ crate::import::ImportError::Store(_)) => failure("store", e.to_string()),
            Err(e) => failure("invalid", e.to_string()),
        };
    }
    let Some(text) = &req.cmd else {
        return failure(
            "invalid",
            "a request needs cmd, status, tick, digest, import_leads, backup, export, document or access",
        );
    };
    match command_request(core, &req, text) {
        Ok(request) => response(core.answer(request, req.data), req.data),
        Err(e) => response(Err(e), false),
    }
}
