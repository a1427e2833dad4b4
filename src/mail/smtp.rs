//! The outbox sender: every waiting mail that is due goes to the SMTP
//! server. Each is first marked "sending" (flushed), then handed over, then
//! marked sent, retried later (temporary failure, with backoff) or failed
//! (permanent failure, reported to its sender). Mails left "sending" by a
//! crash become "uncertain" at the start of the next run and are not sent
//! again by themselves, so a mail the server accepted is never sent twice
//! and none is forgotten.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::{header::ContentType, Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls as LettreTls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;

use super::oauth::{AuthError, OAuthConfig, Tokens};
use super::{MailConfig, MailError, Secret, SmtpConfig, Tls};
use crate::command::mailbox::OutboxStep;
use crate::command::queue::{self, MailState, OutMail};
use crate::command::{Command, Tx};
use crate::core::{Leadline, Request};

/// What a sending run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SendReport {
    pub sent: usize,
    pub deferred: usize,
    pub failed: usize,
    /// Entries found "sending" from a run that stopped: now uncertain.
    pub uncertain: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// An OAuth2 sign-in the sender borrows from a mail account.
struct Borrowed<'a> {
    account: &'a str,
    cfg: &'a OAuthConfig,
    user: String,
    access: super::oauth::Access,
}

/// How the sender signs in.
enum Login<'a> {
    None,
    Password(String, Secret),
    OAuth(Borrowed<'a>),
}

/// The sign-in the SMTP settings ask for.
async fn login<'a>(
    mail: &'a MailConfig,
    config: &SmtpConfig,
    tokens: &Tokens,
) -> Result<Login<'a>, MailError> {
    if let Some(name) = &config.oauth2_account {
        let (account, cfg) = mail
            .account(name)
            .and_then(|a| Some((a, a.oauth2.as_ref()?)))
            .ok_or_else(|| {
                MailError::Config(format!(
                    "mail.smtp: oauth2_account '{name}' is not a mail account with [oauth2]"
                ))
            })?;
        return Ok(Login::OAuth(Borrowed {
            account: &account.name,
            cfg,
            user: config.user.clone().unwrap_or_else(|| account.user.clone()),
            access: super::oauth::access_token(&account.name, cfg, tokens, false).await?,
        }));
    }
    match &config.user {
        Some(user) => {
            let password = Secret::load("mail.smtp", &config.password_env, &config.password_file)?;
            crate::redact::remember_login(user, password.expose());
            Ok(Login::Password(user.clone(), password))
        }
        None => Ok(Login::None),
    }
}

/// The server's port: the one given, or the usual one for its TLS mode.
fn port(config: &SmtpConfig) -> u16 {
    config.port.unwrap_or(match config.tls {
        Tls::None => 25,
        Tls::Starttls => 587,
        Tls::Implicit => 465,
    })
}

fn transport(
    config: &SmtpConfig,
    login: &Login,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let bad = |e: lettre::transport::smtp::Error| MailError::Config(format!("mail.smtp: {e}"));
    let ca = match &config.ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                MailError::Config(format!("mail.smtp: ca_file {}: {e}", path.display()))
            })?;
            Some(lettre::transport::smtp::client::Certificate::from_pem(&pem).map_err(bad)?)
        }
        None => None,
    };
    let tls = |host: &str| {
        let mut b = TlsParameters::builder(host.to_string());
        if let Some(c) = ca.clone() {
            b = b.add_root_certificate(c);
        }
        b.build().map_err(bad)
    };
    let tls = match config.tls {
        Tls::None => LettreTls::None,
        Tls::Starttls => LettreTls::Required(tls(&config.host)?),
        Tls::Implicit => LettreTls::Wrapper(tls(&config.host)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
        .tls(tls)
        .port(port(config))
        .timeout(Some(Duration::from_secs(30)));
    match login {
        Login::None => {}
        Login::Password(user, secret) => {
            builder =
                builder.credentials(Credentials::new(user.clone(), secret.expose().to_string()));
        }
        Login::OAuth(o) => {
            builder = builder
                .credentials(Credentials::new(
                    o.user.clone(),
                    o.access.token.expose().to_string(),
                ))
                .authentication(vec![Mechanism::Xoauth2]);
        }
    }
    Ok(builder.build())
}

/// Whether an SMTP error is the server refusing the sign-in (or, for
/// XOAUTH2, answering it with a challenge, which is how a refusal starts).
fn refused_login(e: &lettre::transport::smtp::Error) -> bool {
    e.is_client()
        || e.status()
            .is_some_and(|c| matches!(c.to_string().as_str(), "530" | "534" | "535"))
}

/// A transport whose sign-in the server accepted: checked before any mail
/// is claimed, so a refused login leaves every mail waiting instead of
/// failing it. A refused stored OAuth2 token is refreshed and tried once
/// more.
async fn signed_in(
    mail: &MailConfig,
    config: &SmtpConfig,
    tokens: &Tokens,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let mut login = login(mail, config, tokens).await?;
    loop {
        let transport = transport(config, &login)?;
        let e = match transport.test_connection().await {
            Ok(_) => return Ok(transport),
            Err(e) => e,
        };
        if !refused_login(&e) {
            return Err(MailError::Connect {
                account: "mail.smtp".to_string(),
                host: config.host.clone(),
                port: port(config),
                reason: e.to_string(),
            });
        }
        match login {
            Login::OAuth(mut o) if !o.access.fresh => {
                tracing::info!("mail.smtp: the server refused the stored access token; refreshing");
                o.access = super::oauth::access_token(o.account, o.cfg, tokens, true).await?;
                login = Login::OAuth(o);
            }
            Login::OAuth(o) => {
                return Err(AuthError::SignIn {
                    account: o.account.to_string(),
                    reason: format!(
                        "the SMTP server refused a fresh access token for {} ({e}); is SMTP AUTH enabled for the mailbox and the SMTP scope granted?",
                        o.user
                    ),
                }
                .into())
            }
            _ => {
                return Err(MailError::Protocol {
                    account: "mail.smtp".to_string(),
                    reason: format!("the server refused the login: {e}"),
                })
            }
        }
    }
}

/// A file sent along: its name, MIME type and content.
type File = (String, String, Vec<u8>);

/// Builds the message with `files` attached (after the invitation, if the
/// mail has one); an invalid address is a permanent failure.
fn message(config: &SmtpConfig, m: &OutMail, files: &[File]) -> Result<Message, String> {
    let from: Mailbox = config
        .from
        .parse()
        .map_err(|e| format!("from '{}': {e}", config.from))?;
    let mut b = Message::builder().from(from).subject(m.subject.clone());
    if let Some(id) = &m.message_id {
        b = b.message_id(Some(format!("<{id}>")));
    }
    for to in &m.to {
        let addr: Mailbox = to
            .parse()
            .map_err(|e| format!("'{to}' is not an address: {e}"))?;
        b = b.to(addr);
    }
    let mut attached = Vec::new();
    if let Some(ics) = &m.calendar {
        let kind = ContentType::parse("text/calendar; method=REQUEST; charset=utf-8")
            .map_err(|e| e.to_string())?;
        attached.push(Attachment::new("invite.ics".to_string()).body(ics.clone(), kind));
    }
    for (name, mime, bytes) in files {
        let kind = ContentType::parse(mime).map_err(|e| e.to_string())?;
        attached.push(Attachment::new(name.clone()).body(bytes.clone(), kind));
    }
    if attached.is_empty() {
        return match &m.html {
            // `singlepart` sets MIME-Version and the transfer encoding.
            None => b.singlepart(SinglePart::plain(m.text.clone())),
            Some(html) => b.multipart(MultiPart::alternative_plain_html(
                m.text.clone(),
                html.clone(),
            )),
        }
        .map_err(|e| e.to_string());
    }
    let mut mixed = match &m.html {
        Some(html) => MultiPart::mixed().multipart(MultiPart::alternative_plain_html(
            m.text.clone(),
            html.clone(),
        )),
        None => MultiPart::mixed().singlepart(SinglePart::plain(m.text.clone())),
    };
    for part in attached {
        mixed = mixed.singlepart(part);
    }
    b.multipart(mixed).map_err(|e| e.to_string())
}

/// The documents a mail sends along, rendered now from the stored records
/// (on a blocking thread: typesetting is work): each PDF, and the
/// XRechnung XML for public customers.
///
/// Fails, saying which document and why, when one cannot be made.
async fn documents(core: &Leadline, m: &OutMail, now: DateTime<Utc>) -> Result<Vec<File>, String> {
    if m.documents.is_empty() {
        return Ok(Vec::new());
    }
    let core = core.clone();
    let ids = m.documents.clone();
    tokio::task::spawn_blocking(move || {
        let config = core.config();
        let mut files = Vec::new();
        for id in ids {
            let d = crate::documents::render(&core, id, now).map_err(|e| {
                format!(
                    "the document of {} cannot be made: {e}",
                    config.process.numbering.display(id)
                )
            })?;
            files.push((d.file_name, "application/pdf".to_string(), d.pdf));
            if let Some(xml) = d.xrechnung {
                files.push((
                    format!("XRechnung-{}.xml", d.number),
                    "application/xml".to_string(),
                    xml.into_bytes(),
                ));
            }
        }
        Ok(files)
    })
    .await
    .map_err(|_| "making the documents stopped".to_string())?
}

/// `step` with every secret taken out of the server's words, before the
/// outbox stores them ([`crate::redact`]).
fn redacted(step: OutboxStep) -> OutboxStep {
    let clean = |s: String| crate::redact::redact(&s).into_owned();
    match step {
        OutboxStep::Sent { response, from } => OutboxStep::Sent {
            response: clean(response),
            from,
        },
        OutboxStep::Deferred { reason } => OutboxStep::Deferred {
            reason: clean(reason),
        },
        OutboxStep::Failed { reason } => OutboxStep::Failed {
            reason: clean(reason),
        },
        OutboxStep::Unreachable { reason } => OutboxStep::Unreachable {
            reason: clean(reason),
        },
        other @ (OutboxStep::Claim | OutboxStep::Retry) => other,
    }
}

/// Moves outbox entry `n` one step.
///
/// Fails when the store fails or the step is refused.
async fn step(
    core: &Leadline,
    now: DateTime<Utc>,
    n: u64,
    step: OutboxStep,
) -> Result<(), MailError> {
    core.call(Request::system(
        Command::OutboxStep {
            mail: n,
            step: redacted(step),
        },
        format!("(mail) outbox #{n}"),
        "mail",
        "mail",
        now,
    ))
    .await?;
    Ok(())
}

/// Sends every waiting mail that is due at `now`.
///
/// Fails when no SMTP server is configured or the store fails; a mail the
/// server refuses is recorded, not an error of the run.
pub async fn send_once(core: &Leadline, now: DateTime<Utc>) -> Result<SendReport, MailError> {
    let mail = &core.config().mail;
    let config = mail
        .smtp
        .as_ref()
        .ok_or_else(|| MailError::Config("no [mail.smtp] is configured".to_string()))?;
    let mut report = SendReport::default();
    let recovered = core
        .call(Request::system(
            Command::OutboxRecover,
            "(mail) outbox recover",
            "mail",
            "mail",
            now,
        ))
        .await?;
    if let Some(n) = recovered.recovered() {
        report.uncertain = n;
    }
    let mails: Vec<OutMail> = core
        .query(|tx| queue::all(tx, queue::keys::OUTBOX))
        .await
        .map_err(crate::command::CommandError::from)??;
    let due: Vec<OutMail> = mails
        .into_iter()
        .filter(|m| matches!(m.state, MailState::Pending { next_at } if next_at.is_none_or(|t| t <= now)))
        .collect();
    if due.is_empty() {
        return Ok(report);
    }
    let transport = match signed_in(mail, config, &Tokens::new(core.secrets())).await {
        Ok(t) => t,
        Err(e) => {
            // Nothing was sent: every due mail keeps waiting, and shows why.
            // Written once per reason, not on every try of a daemon that
            // keeps finding the server down.
            if let MailError::Connect { .. } = e {
                let reason = e.to_string();
                for m in due
                    .iter()
                    .filter(|m| m.last_error.as_ref() != Some(&reason))
                {
                    let reason = reason.clone();
                    step(core, now, m.number, OutboxStep::Unreachable { reason }).await?;
                }
            }
            return Err(e);
        }
    };
    for m in due {
        let built = match documents(core, &m, now).await {
            Ok(files) => message(config, &m, &files),
            Err(reason) => Err(reason),
        };
        let msg = match built {
            Ok(msg) => msg,
            Err(reason) => {
                step(core, now, m.number, OutboxStep::Claim).await?;
                step(core, now, m.number, OutboxStep::Failed { reason }).await?;
                report.failed += 1;
                continue;
            }
        };
        step(core, now, m.number, OutboxStep::Claim).await?;
        match transport.send(msg).await {
            Ok(response) => {
                let text = format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                );
                step(
                    core,
                    now,
                    m.number,
                    OutboxStep::Sent {
                        response: text,
                        from: config
                            .from
                            .parse::<Mailbox>()
                            .map(|f| f.email.to_string())
                            .unwrap_or_else(|_| config.from.clone()),
                    },
                )
                .await?;
                report.sent += 1;
            }
            Err(e) if e.is_permanent() => {
                step(
                    core,
                    now,
                    m.number,
                    OutboxStep::Failed {
                        reason: e.to_string(),
                    },
                )
                .await?;
                report.failed += 1;
            }
            Err(e) => {
                report.errors.push(format!("#{}: {e}", m.number));
                step(
                    core,
                    now,
                    m.number,
                    OutboxStep::Deferred {
                        reason: e.to_string(),
                    },
                )
                .await?;
                // The last try fails the mail instead of deferring it.
                let n = m.number;
                let after = core
                    .query(move |tx| queue::require_mail(tx, n))
                    .await
                    .map_err(crate::command::CommandError::from)??;
                if matches!(after.state, MailState::Failed { .. }) {
                    report.failed += 1;
                } else {
                    report.deferred += 1;
                }
            }
        }
    }
    Ok(report)
}

/// The outbox as stored, for `leadline outbox`.
///
/// Fails when the store cannot be read.
pub fn pending(tx: &dyn Tx) -> Result<Vec<OutMail>, crate::command::CommandError> {
    queue::all(tx, queue::keys::OUTBOX)
}
