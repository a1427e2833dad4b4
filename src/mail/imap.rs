//! One ingest pass over every configured IMAP account: flagged mail not yet
//! marked `$Leadline` is fetched in UID batches (`BODY.PEEK[]`, so the
//! customer's mail stays unread), parsed, matched and stored in one
//! transaction per batch, and only then marked on the server. A crash in
//! between leaves the mail unmarked; the next pass finds it already known
//! and just marks it. `\Seen` and the flag are never touched.

use std::time::Duration;

use async_imap::Session;
use futures_util::TryStreamExt;
use serde::Serialize;

use super::alert::{alert_change, until_signed_in_again, Alert};
use super::oauth::Tokens;
use super::stream::{self, MailStream};
use super::{ImapAccount, MailConfig, MailError, Secret, Tls};
use crate::command::mailbox::Ingested;
use crate::command::mailbox::MailSource;
use crate::command::Command;
use crate::core::{Leadline, Request};

/// The keyword leadline marks processed mail with.
pub const KEYWORD: &str = "$Leadline";

/// Connection attempts before an account is reported unreachable.
const CONNECT_ATTEMPTS: u32 = 3;

/// What a pass did for one account.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountReport {
    pub account: String,
    pub fetched: usize,
    pub matched: usize,
    pub unmatched: usize,
    pub automatic: usize,
    pub known: usize,
    pub failed: usize,
    /// Why the account (or a folder) could not be read, if it could not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// How a session signs in.
enum Login<'a> {
    Password(Secret),
    OAuth(&'a super::oauth::OAuthConfig, super::oauth::Access),
}

/// Sends `response` to the first challenge and nothing after (a server
/// refusing XOAUTH2 sends its reasons as a second challenge).
struct OneShot(Option<String>);

impl async_imap::Authenticator for OneShot {
    type Response = Vec<u8>;

    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        self.0.take().map(String::into_bytes).unwrap_or_default()
    }
}

/// The SASL mechanisms the server offers before login (`AUTH=...`).
async fn offered(client: &mut async_imap::Client<MailStream>) -> Vec<String> {
    use async_imap::imap_proto::{Capability, Response};
    use async_imap::types::UnsolicitedResponse;
    let (tx, rx) = async_channel::bounded(16);
    if client
        .run_command_and_check_ok("CAPABILITY", Some(tx))
        .await
        .is_err()
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    while let Ok(r) = rx.try_recv() {
        if let UnsolicitedResponse::Other(data) = r {
            if let Response::Capabilities(caps) = data.parsed() {
                for c in caps {
                    if let Capability::Auth(m) = c {
                        out.push(m.to_ascii_uppercase());
                    }
                }
            }
        }
    }
    out
}

/// A signed-in session, and when it should be renewed (its OAuth2 access
/// token is about to expire).
type Connected = (Session<MailStream>, Option<chrono::DateTime<chrono::Utc>>);

async fn connect(account: &ImapAccount, tokens: &Tokens) -> Result<Connected, MailError> {
    let port = account.port.unwrap_or(match account.tls {
        Tls::Implicit => 993,
        _ => 143,
    });
    let err = |reason: String| MailError::Connect {
        account: account.name.clone(),
        host: account.host.clone(),
        port,
        reason,
    };
    let proto = |reason: String| MailError::Protocol {
        account: account.name.clone(),
        reason,
    };
    // The credentials first: a missing sign-in needs no connection.
    let login = match &account.oauth2 {
        None => {
            let password = Secret::load(
                &format!("mail account {}", account.name),
                &account.password_env,
                &account.password_file,
            )?;
            crate::redact::remember_login(&account.user, password.expose());
            Login::Password(password)
        }
        Some(o) => Login::OAuth(
            o,
            super::oauth::access_token(&account.name, o, tokens, false).await?,
        ),
    };
    let mut last = String::new();
    for attempt in 0..CONNECT_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
        }
        let tcp = match tokio::time::timeout(
            Duration::from_secs(10),
            tokio::net::TcpStream::connect((account.host.as_str(), port)),
        )
        .await
        {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                last = e.to_string();
                continue;
            }
            Err(_) => {
                last = "timed out after 10 s".to_string();
                continue;
            }
        };
        let stream = match account.tls {
            Tls::Implicit => stream::tls(tcp, &account.host, account.ca_file.as_deref())
                .await
                .map_err(|e| err(format!("TLS: {e}")))?,
            _ => MailStream::Plain(tcp),
        };
        let mut client = async_imap::Client::new(stream);
        client
            .read_response()
            .await
            .ok_or_else(|| proto("the server closed the connection before greeting".into()))?
            .map_err(|e| proto(format!("greeting: {e}")))?;
        if account.tls == Tls::Starttls {
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| proto(format!("STARTTLS: {e}")))?;
            let MailStream::Plain(tcp) = client.into_inner() else {
                return Err(proto("STARTTLS on a TLS connection".into()));
            };
            client = async_imap::Client::new(
                stream::tls(tcp, &account.host, account.ca_file.as_deref())
                    .await
                    .map_err(|e| err(format!("TLS: {e}")))?,
            );
        }
        return match login {
            Login::Password(password) => client
                .login(&account.user, password.expose())
                .await
                .map(|s| (s, None))
                .map_err(|(e, _)| {
                    proto(format!(
                        "login as {} failed: {}",
                        account.user,
                        server_words(&e)
                    ))
                }),
            Login::OAuth(cfg, access) => sign_in(client, account, cfg, port, tokens, access).await,
        };
    }
    Err(err(last))
}

/// Signs in with OAUTHBEARER or XOAUTH2. A refused stored token is
/// refreshed and tried once more; a refused fresh one means the account
/// needs a new sign-in (revoked, or the mailbox is disabled).
async fn sign_in(
    mut client: async_imap::Client<MailStream>,
    account: &ImapAccount,
    cfg: &super::oauth::OAuthConfig,
    port: u16,
    tokens: &Tokens,
    mut access: super::oauth::Access,
) -> Result<Connected, MailError> {
    use super::oauth::{self, AuthError, Sasl};
    let offers = offered(&mut client).await;
    let bearer = match cfg.sasl {
        Sasl::Oauthbearer => true,
        Sasl::Xoauth2 => false,
        Sasl::Auto => offers.iter().any(|m| m == "OAUTHBEARER"),
    };
    let mechanism = if bearer { "OAUTHBEARER" } else { "XOAUTH2" };
    if !offers.is_empty() && !offers.iter().any(|m| m == mechanism) {
        return Err(MailError::Protocol {
            account: account.name.clone(),
            reason: format!(
                "the server does not offer {mechanism} (it offers {})",
                offers.join(", ")
            ),
        });
    }
    loop {
        let response = if bearer {
            oauth::oauthbearer(&account.user, &account.host, port, &access.token)
        } else {
            oauth::xoauth2(&account.user, &access.token)
        };
        match client
            .authenticate(mechanism, OneShot(Some(response)))
            .await
        {
            Ok(session) => return Ok((session, access.renew_at)),
            Err((e, _)) if access.fresh => {
                return Err(AuthError::SignIn {
                    account: account.name.clone(),
                    reason: format!(
                        "the server refused a fresh access token for {} ({mechanism}: {}); is the mailbox enabled and the IMAP scope granted?",
                        account.user,
                        server_words(&e)
                    ),
                }
                .into())
            }
            Err((e, c)) => {
                tracing::info!(
                    "{}: the server refused the stored access token ({}); refreshing",
                    account.name,
                    server_words(&e)
                );
                client = c;
                access = oauth::access_token(&account.name, cfg, tokens, true).await?;
            }
        }
    }
}

/// What the server said, without async-imap's debug wrapping.
fn server_words(e: &async_imap::error::Error) -> String {
    match e {
        async_imap::error::Error::No(info) | async_imap::error::Error::Bad(info) => {
            info.trim().to_string()
        }
        other => other.to_string(),
    }
}

fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// One pass over one folder, as `actor`.
///
/// Fails when the server or the store fails; what was stored is marked.
async fn folder(
    session: &mut Session<MailStream>,
    core: &Leadline,
    actor: &str,
    account: &ImapAccount,
    folder: &str,
    report: &mut AccountReport,
) -> Result<(), MailError> {
    let config: &MailConfig = &core.config().mail;
    let proto = |reason: String| MailError::Protocol {
        account: account.name.clone(),
        reason,
    };
    let mailbox = session
        .select(folder)
        .await
        .map_err(|e| proto(format!("cannot open folder {folder}: {e}")))?;
    let validity = mailbox.uid_validity.unwrap_or(0);
    let mut uids: Vec<u32> = session
        .uid_search(format!("FLAGGED UNKEYWORD {KEYWORD}"))
        .await
        .map_err(|e| proto(format!("search in {folder}: {e}")))?
        .into_iter()
        .collect();
    uids.sort_unstable();
    let max_body = config.max_body_kib * 1024;
    for chunk in uids.chunks(config.batch) {
        let set = uid_set(chunk);
        let fetches: Vec<async_imap::types::Fetch> = session
            .uid_fetch(&set, "(UID BODY.PEEK[])")
            .await
            .map_err(|e| proto(format!("fetch in {folder}: {e}")))?
            .try_collect()
            .await
            .map_err(|e| proto(format!("fetch in {folder}: {e}")))?;
        let mut batch = Vec::with_capacity(fetches.len());
        let mut done = Vec::with_capacity(fetches.len());
        for f in &fetches {
            let (Some(uid), Some(body)) = (f.uid, f.body()) else {
                report.failed += 1;
                continue;
            };
            let mail = super::parse::parse(body, max_body);
            if mail.automatic.is_some() {
                report.automatic += 1;
            }
            batch.push((
                MailSource {
                    account: account.name.clone(),
                    folder: folder.to_string(),
                    uid_validity: validity,
                    uid,
                },
                mail,
            ));
            done.push(uid);
        }
        report.fetched += batch.len();
        if batch.is_empty() {
            continue;
        }
        let reply = core
            .call(Request::system(
                Command::IngestMail(Box::new(batch)),
                format!("(mail) ingest {}/{folder}", account.name),
                actor,
                "mail",
                chrono::Utc::now(),
            ))
            .await?;
        if let Some(outcomes) = reply.ingested() {
            for o in outcomes {
                match o {
                    Ingested::Matched { .. } => report.matched += 1,
                    Ingested::Unmatched { .. } => report.unmatched += 1,
                    Ingested::Known => report.known += 1,
                }
            }
        }
        // Only now, with the batch stored, mark it on the server.
        let _: Vec<_> = session
            .uid_store(uid_set(&done), format!("+FLAGS ({KEYWORD})"))
            .await
            .map_err(|e| proto(format!("marking in {folder}: {e}")))?
            .try_collect()
            .await
            .map_err(|e| proto(format!("marking in {folder}: {e}")))?;
        // The channel holds 100 updates and drops the rest: keep it empty.
        while session.unsolicited_responses.try_recv().is_ok() {}
    }
    Ok(())
}

/// Runs one pass over one account, as `actor`.
pub async fn ingest_account(core: &Leadline, actor: &str, account: &ImapAccount) -> AccountReport {
    let mut report = AccountReport {
        account: account.name.clone(),
        ..AccountReport::default()
    };
    let mut session = match connect(account, &Tokens::new(core.secrets())).await {
        Ok((s, _)) => s,
        Err(e) => {
            report.errors.push(e.to_string());
            return report;
        }
    };
    for f in &account.folders {
        if let Err(e) = folder(&mut session, core, actor, account, f, &mut report).await {
            report.errors.push(e.to_string());
        }
    }
    let _ = session.logout().await;
    report
}

/// Runs one pass over every configured account; one failing account never
/// stops the others.
pub async fn ingest_once(core: &Leadline, actor: &str) -> Vec<AccountReport> {
    let mut out = Vec::new();
    for a in &core.config().mail.accounts {
        out.push(ingest_account(core, actor, a).await);
    }
    out
}

/// How each watched account is doing, for `leadline status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountHealth {
    pub connected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_pass: Option<chrono::DateTime<chrono::Utc>>,
    pub fetched_total: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// OAuth2 accounts: `signed in`, `needs sign-in` or `provider unreachable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<String>,
}

/// Health of every watched account, shared with the daemon's status.
pub type Health =
    std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, AccountHealth>>>;

fn update(health: Option<&Health>, account: &str, f: impl FnOnce(&mut AccountHealth)) {
    if let Some(h) = health {
        let mut map = h.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(account.to_string()).or_default());
    }
}

/// Longest wait between passes when something keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// How a connected session ended.
enum Ended {
    Stopped,
    /// Its access token is about to expire: sign in again.
    Renew,
}

/// Whether the server announced new or changed mail since last asked
/// (EXISTS, RECENT or FETCH outside a command's own answer); forgets what
/// it said.
fn changed(session: &mut Session<MailStream>) -> bool {
    use async_imap::imap_proto::Response;
    use async_imap::types::UnsolicitedResponse;
    let mut changed = false;
    while let Ok(r) = session.unsolicited_responses.try_recv() {
        changed |= match &r {
            UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_) => true,
            UnsolicitedResponse::Other(data) => matches!(data.parsed(), Response::Fetch(..)),
            _ => false,
        };
    }
    changed
}

/// One connected session: passes, then IDLE (when the server offers it)
/// or a pause, until `stop` is set or its access token needs renewing.
/// Fails when the connection fails.
async fn session_loop(
    core: &Leadline,
    account: &ImapAccount,
    stop: &mut tokio::sync::watch::Receiver<bool>,
    health: Option<&Health>,
    alert: &mut Option<Alert>,
) -> Result<Ended, MailError> {
    let proto = |reason: String| MailError::Protocol {
        account: account.name.clone(),
        reason,
    };
    let (mut session, renew_at) = connect(account, &Tokens::new(core.secrets())).await?;
    alert_change(core, &account.name, alert, Ok(())).await;
    update(health, &account.name, |h| {
        h.connected = true;
        h.last_error = None;
        if account.oauth2.is_some() {
            h.sign_in = Some("signed in".to_string());
        }
    });
    let idle = session
        .capabilities()
        .await
        .map(|c| c.has_str("IDLE"))
        .unwrap_or(false);
    let wait = Duration::from_secs(account.poll_seconds.max(1));
    tracing::info!(
        "{}: watching {} ({})",
        account.name,
        account.folders.join(", "),
        if idle { "IDLE" } else { "polling" }
    );
    let actor = core.config().team.default_user.clone();
    loop {
        let mut report = AccountReport {
            account: account.name.clone(),
            ..AccountReport::default()
        };
        // The first folder last: the session stays in it, and IDLE there
        // hears of every change since its pass (a SELECT in between would
        // take a mail that arrived meanwhile in silently).
        for f in account
            .folders
            .iter()
            .skip(1)
            .chain(account.folders.first())
        {
            folder(&mut session, core, &actor, account, f, &mut report).await?;
        }
        update(health, &account.name, |h| {
            h.last_pass = Some(chrono::Utc::now());
            h.fetched_total += report.fetched;
        });
        if report.fetched > 0 {
            tracing::info!(
                "{}: fetched {}, matched {}, unmatched {}, automatic {}, already known {}, failed {}",
                report.account, report.fetched, report.matched, report.unmatched, report.automatic, report.known, report.failed
            );
        }
        if *stop.borrow() {
            let _ = session.logout().await;
            return Ok(Ended::Stopped);
        }
        // Sign in afresh before the access token runs out.
        let left = renew_at.map(|at| (at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO));
        if left == Some(Duration::ZERO) {
            let _ = session.logout().await;
            return Ok(Ended::Renew);
        }
        let wait = left.map_or(wait, |l| l.min(wait));
        if idle {
            // A mail that arrived during the pass was announced meanwhile:
            // another pass, not a wait.
            if changed(&mut session) {
                continue;
            }
            // IDLE on the first folder; the others are read on every wake-up.
            let mut handle = session.idle();
            handle
                .init()
                .await
                .map_err(|e| proto(format!("IDLE: {e}")))?;
            let stopped = {
                let (wake, interrupt) = handle.wait_with_timeout(wait);
                tokio::select! {
                    r = wake => {
                        r.map_err(|e| proto(format!("IDLE: {e}")))?;
                        false
                    }
                    _ = stop.changed() => {
                        drop(interrupt);
                        true
                    }
                }
            };
            // Ends IDLE with DONE and gives the session back.
            session = handle
                .done()
                .await
                .map_err(|e| proto(format!("ending IDLE: {e}")))?;
            // What came before IDLE began (some servers announce changes
            // before they say they idle) is read on the next pass anyway.
            changed(&mut session);
            if stopped {
                let _ = session.logout().await;
                return Ok(Ended::Stopped);
            }
        } else {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {
                    let _ = session.logout().await;
                    return Ok(Ended::Stopped);
                }
            }
        }
    }
}

/// Ingests continuously from one account until `stop` is set: a dropped
/// connection or an unreachable server is reported and retried with
/// backoff (1 s doubling to 5 minutes), never fatal. An account that
/// needs a new sign-in is reported (status, admins, log) and waits for
/// `leadline login`, then goes on by itself.
pub async fn watch_account(
    core: &Leadline,
    account: &ImapAccount,
    mut stop: tokio::sync::watch::Receiver<bool>,
    health: Option<&Health>,
) {
    let tokens = Tokens::new(core.secrets());
    let mut backoff = Duration::from_secs(1);
    let mut alert = None;
    while !*stop.borrow() {
        let signed_in = tokens.signed_in_at(&account.name);
        let result = session_loop(core, account, &mut stop, health, &mut alert).await;
        update(health, &account.name, |h| h.connected = false);
        match result {
            Ok(Ended::Stopped) => return,
            Ok(Ended::Renew) => backoff = Duration::from_secs(1),
            Err(e) => {
                let now = Alert::of(&e);
                update(health, &account.name, |h| {
                    h.last_error = Some(e.to_string());
                    if let Some(a) = now {
                        h.sign_in = Some(a.state().to_string());
                    }
                });
                alert_change(core, &account.name, &mut alert, Err(&e)).await;
                if now == Some(Alert::NeedsSignIn) {
                    if !until_signed_in_again(&tokens, &account.name, signed_in, &mut stop).await {
                        return;
                    }
                    backoff = Duration::from_secs(1);
                    continue;
                }
                if now.is_none() {
                    tracing::warn!("{e}; retrying in {} s", backoff.as_secs());
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
