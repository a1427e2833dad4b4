//! The mail family: received mail matched onto timelines (`ingest`),
//! the unmatched inbox and `/why` (`inbox`), `/email` and sending quotes
//! and invoices (`send`), and the outbox (`outbox`); its commands are
//! parsed, applied and explained here. The IMAP and SMTP adapters
//! (`crate::mail`) call in through commands; no network I/O here.

mod inbox;
mod ingest;
mod outbox;
mod send;

use crate::command::queue::NoticeKind;
pub use inbox::{inbox, lead_from, link, why};
pub use ingest::{find_record, ingest};
pub use outbox::{admin_notice, outbox, outbox_recover, outbox_step};
pub use send::{email, invite, our_message_id, remember};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::args::{invalid, limit, Args};
use super::parse::Command;
use super::queue;
use super::records::Tx;
use super::Family;
use super::{CommandError, Context, Outcome, Reply};
use crate::domain::activity::Activity;
use crate::domain::fields::normalize_name;
use crate::domain::lead::Lead;
use crate::domain::mail::IncomingMail;
pub use crate::domain::outbox::OutboxStep;
use crate::domain::{Kind, RecordId};

/// Where a fetched mail came from on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailSource {
    pub account: String,
    pub folder: String,
    pub uid_validity: u32,
    pub uid: u32,
}

/// What the store knows a Message-ID as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailRef {
    Activity(u64),
    Inbox(u64),
}

/// A mail no rule matched, waiting to be filed by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    pub number: u64,
    pub mail: IncomingMail,
    pub received_at: DateTime<Utc>,
    pub source: String,
}

/// What ingesting one mail did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Ingested {
    Matched {
        activity: u64,
        record: String,
        rule: String,
    },
    Unmatched {
        inbox: u64,
    },
    Known,
}

/// What `/email` sends: a subject and body, or a template
/// (`templates/mail/<name>.txt`, first line `Subject: ...`) with an
/// optional message of one's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailInput {
    pub target: RecordId,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub template: Option<String>,
    pub message: Option<String>,
}

/// The mail family in the command table ([`super::FAMILIES`]).
pub(super) const FAMILY: Family = Family {
    topic: "mail",
    actions: &[(Kind::Quote, "send"), (Kind::Invoice, "send")],
    steps: &["email", "inbox", "outbox"],
    help: &[
        ("/email O-1001 subject:\"...\" body:\"...\" [to:..] [cc:..]   or template:followup|intro [message:..]",
         "queue a mail about a record; it lands on the timeline and goes out through the outbox"),
        ("/quote send Q-1001 [message:..]   /invoice send INV-1001",
         "mail an active quote or an invoice with its lines and totals"),
        ("/inbox   /inbox link 3 O-1001   /inbox lead 3   /why ACT-1005   /outbox   /outbox retry 2",
         "unmatched mail, filing it by hand, how a mail was matched, the outbox"),
    ],
    parse,
    apply,
    step,
};

/// Parses `/email`, `/inbox`, `/why`, `/outbox` and `/quote|invoice send`.
///
/// Fails when an id, an address or an entry number does not read.
fn parse(args: &mut Args, kind: Option<Kind>, word: &str) -> Result<Option<Command>, CommandError> {
    let cmd = match (kind, word) {
        (None, "inbox") => {
            let action = args.word().map(|w| normalize_name(&w));
            let number = |args: &mut Args| -> Result<u64, CommandError> {
                let w = args
                    .word()
                    .ok_or_else(|| invalid("which mail? /inbox lists them with their #number"))?;
                w.trim_start_matches('#')
                    .parse()
                    .map_err(|_| invalid(format!("'{w}' is not an inbox number like #3")))
            };
            match action.as_deref() {
                None | Some("list") => Command::Inbox {
                    limit: limit(args)?,
                },
                Some("link" | "file") => {
                    let mail = number(args)?;
                    let target = args.any_id()?;
                    Command::InboxLink { mail, target }
                }
                Some("lead") => Command::InboxLead {
                    mail: number(args)?,
                },
                Some(other) => {
                    return Err(invalid(format!(
                    "/inbox has no action '{other}'; actions: list, link <#> <record>, lead <#>"
                )))
                }
            }
        }
        (None, "why") => Command::Why(args.number(Kind::Activity)?),
        (None, "email" | "mail" | "send") => {
            let target = args.any_id()?;
            let (to, cc) = args.recipients()?;
            let template = args.text(&["template"])?;
            let subject = args.text(&["subject", "title"])?;
            let body = args.text(&["body", "text"])?;
            let message = args.text(&["message", "note"])?;
            if template.is_none() && (subject.is_none() || body.is_none()) {
                return Err(invalid(
                    "/email needs subject:\"...\" and body:\"...\", or template:<quote|invoice|followup|intro>",
                ));
            }
            Command::Email(Box::new(EmailInput {
                target,
                to,
                cc,
                subject,
                body,
                template,
                message,
            }))
        }
        (None, "outbox") => match args.word().map(|w| normalize_name(&w)).as_deref() {
            None | Some("list") => Command::Outbox { all: false },
            Some("all") => Command::Outbox { all: true },
            Some("retry") => {
                let w = args
                    .word()
                    .ok_or_else(|| invalid("which entry? /outbox retry <#>"))?;
                let mail = w
                    .trim_start_matches('#')
                    .parse()
                    .map_err(|_| invalid(format!("'{w}' is not an outbox number like #3")))?;
                Command::OutboxStep {
                    mail,
                    step: OutboxStep::Retry,
                }
            }
            Some(other) => {
                return Err(invalid(format!(
                    "/outbox has no action '{other}'; actions: list, all, retry <#>"
                )))
            }
        },
        (Some(kind @ (Kind::Quote | Kind::Invoice)), "send") => {
            let target = args.id(kind)?;
            let (to, cc) = args.recipients()?;
            Command::Email(Box::new(EmailInput {
                target,
                to,
                cc,
                subject: args.text(&["subject"])?,
                body: None,
                template: Some(kind.name().to_string()),
                message: args.text(&["message", "note"])?,
            }))
        }
        _ => return Ok(None),
    };
    Ok(Some(cmd))
}

/// The step a mail command is.
fn step(cmd: &Command) -> Option<&'static str> {
    Some(match cmd {
        Command::Email(_) => "email",
        Command::InboxLink { .. } | Command::InboxLead { .. } => "inbox",
        Command::OutboxStep { .. } | Command::OutboxRecover => "outbox",
        _ => return None,
    })
}

/// What this family's commands did.
#[derive(Debug, Clone)]
// One value per command, moved once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Done {
    /// What ingesting each mail of a batch did, in the batch's order.
    Ingested(Vec<Ingested>),
    /// The unmatched inbox: the oldest items, how many in all, the limit.
    Inbox {
        items: Vec<InboxItem>,
        total: usize,
        limit: usize,
    },
    /// An unmatched mail filed by hand: its number, subject, activity.
    Filed {
        mail: u64,
        subject: String,
        activity: Activity,
    },
    /// A lead made from an unmatched mail, which was filed on it.
    LeadMade {
        lead: Lead,
        mail: u64,
        subject: String,
        activity: Activity,
    },
    /// How a mail came onto its record.
    Why(Activity),
    /// A mail queued: its activity, recipients and outbox number.
    Queued {
        activity: Activity,
        to: Vec<String>,
        outbox: u64,
    },
    /// The outbox entries shown, and how many there are in all.
    Outbox {
        shown: Vec<queue::OutMail>,
        total: usize,
    },
    /// An outbox entry after a step.
    Stepped(queue::OutMail),
    /// Outbox entries found mid-send and now marked uncertain.
    Recovered(usize),
    /// Admins told: about what, and whom.
    Told { about: String, to: Vec<String> },
}

impl Done {
    pub(crate) fn ingested(&self) -> Option<&[Ingested]> {
        match self {
            Done::Ingested(all) => Some(all),
            _ => None,
        }
    }

    pub(crate) fn recovered(&self) -> Option<usize> {
        match self {
            Done::Recovered(n) => Some(*n),
            _ => None,
        }
    }
}

/// Applies this family's commands; `None` for another family's.
///
/// Fails when the rules refuse, a record is missing or the store fails.
fn apply(
    cmd: &Command,
    text: &str,
    tx: &mut dyn Tx,
    ctx: &Context,
) -> Result<Option<Outcome>, CommandError> {
    let done = match cmd {
        Command::IngestMail(batch) => ingest(tx, ctx, batch)?,
        Command::Inbox { limit } => inbox(tx, *limit)?,
        Command::InboxLink { mail, target } => link(tx, ctx, text, *mail, *target)?,
        Command::InboxLead { mail } => lead_from(tx, ctx, text, *mail)?,
        Command::Why(n) => why(tx, ctx, *n)?,
        Command::Email(input) => email(tx, ctx, text, input)?,
        Command::Outbox { all } => outbox(tx, *all)?,
        Command::OutboxStep { mail, step } => outbox_step(tx, ctx, text, *mail, step)?,
        Command::OutboxRecover => outbox_recover(tx, ctx)?,
        Command::MailAccountNotice { account, text } => admin_notice(
            tx,
            ctx,
            NoticeKind::MailAccount,
            &format!("mail account {account}"),
            text,
        )?,
        Command::OperationsNotice { about, text } => {
            admin_notice(tx, ctx, NoticeKind::Operations, about, text)?
        }
        _ => return Ok(None),
    };
    Ok(Some(Outcome::Mailbox(done)))
}

/// This family's outcomes for people, scripts and chat.
pub(super) fn render(done: &Done, ctx: &Context) -> Reply {
    match done {
        Done::Ingested(all) => ingest::render_ingested(all, ctx),
        Done::Inbox {
            items,
            total,
            limit,
        } => inbox::render_inbox(items, *total, *limit, ctx),
        Done::Filed {
            mail,
            subject,
            activity,
        } => inbox::render_filed(*mail, subject, activity, ctx),
        Done::LeadMade {
            lead,
            mail,
            subject,
            activity,
        } => inbox::render_lead_made(lead, *mail, subject, activity, ctx),
        Done::Why(a) => inbox::render_why(a, ctx),
        Done::Queued {
            activity,
            to,
            outbox,
        } => send::render_queued(activity, to, *outbox, ctx),
        Done::Outbox { shown, total } => outbox::render_outbox(shown, *total, ctx),
        Done::Stepped(m) => super::render::reply(
            ctx,
            format!("outbox #{}: {}", m.number, outbox::state_word(&m.state)),
            m,
            vec![],
        ),
        Done::Recovered(count) => Reply::text(format!("{count} outbox entr(ies) marked uncertain")),
        Done::Told { about, to } => Reply::text(format!("{about}: told {}", to.join(", "))),
    }
}
