//! The command language every front end speaks (shell, chat, mail, scheduler).
//!
//! `text -> parse -> Command -> apply -> Reply`. [`parse`] turns one line
//! such as `/quote win Q-1001 close_opportunity:yes` into a typed
//! [`Command`] (outside input becomes domain values here, once); [`apply`]
//! runs it against the records through a [`Tx`], calling the workflow core
//! for every rule and returns an [`Outcome`], the typed result, which
//! front ends render ([`Outcome::render`]) into a [`Reply`]: short human
//! text, JSON data and next steps.
//!
//! This module does no I/O of its own: the store hands it a [`Tx`] and
//! commits what it wrote as one atomic batch.

pub mod access;
pub mod activities;
mod apply;
mod args;
pub mod board;
pub mod facts;
pub mod help;
pub mod invoice;
pub mod keys;
pub mod lead;
mod lex;
pub mod mailbox;
pub mod opportunity;
pub mod order;
pub mod parse;
pub mod product;
pub mod queue;
pub mod quote;
pub mod record;
pub mod records;
mod render;
pub mod report;
pub mod search;
pub mod team;
mod values;

pub use apply::apply;
pub use parse::{parse, Command, FieldKey, ListQuery, Target};
pub use queue::DigestMail;
pub use record::leads_with_email;
pub use records::{Rows, Tx, TxError};
pub use render::terminal_safe;
pub use team::Team;
pub use values::parse_date;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::{Refusal, Rules};

/// Who runs a command, when, and under which rules.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub rules: &'a Rules,
    pub team: &'a Team,
    /// The acting team member, recorded in the history of every change.
    pub actor: String,
    /// The moment the command runs; the core never reads a clock.
    pub now: DateTime<Utc>,
    /// The front end it came from (`shell`, `chat`, `import`...), for history.
    pub via: &'a str,
    /// The lowest role each step needs (`[chat.roles]`), for every front end.
    pub roles: &'a std::collections::BTreeMap<String, team::Role>,
    /// The language documents and their mails are written in when the
    /// account names none (`[documents] language`).
    pub language: &'a str,
    /// What `[company]` lacks for documents; `None` when they can be made.
    pub seller_missing: Option<String>,
    /// Whether a rendered reply carries the records as JSON
    /// ([`Reply::data`]); a front end that shows only the text leaves it
    /// off and saves the work. Commands never read it.
    pub with_data: bool,
}

impl Context<'_> {
    /// Today in the team's time zone.
    pub fn today(&self) -> NaiveDate {
        self.now.with_timezone(&self.team.timezone).date_naive()
    }
}

/// Why a command did nothing.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The text is not a valid command: unknown name or option, bad value.
    #[error("{0}")]
    Invalid(String),
    /// No record with that id.
    #[error("{0}")]
    NotFound(String),
    /// The workflow rules refused it.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The store failed; nothing was written.
    #[error("store error: {0}")]
    Store(TxError),
}

/// Not `#[from]`: that would make the `TxError` a source too, and
/// `{:#}` would then say it twice.
impl From<TxError> for CommandError {
    fn from(e: TxError) -> Self {
        CommandError::Store(e)
    }
}

impl CommandError {
    /// A short machine-readable name for JSON replies.
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::Invalid(_) => "invalid",
            CommandError::NotFound(_) => "not_found",
            CommandError::Refused(_) => "refused",
            CommandError::Store(_) => "store",
        }
    }
}

/// What a front end shows of an [`Outcome`]: rendered at the edge, after
/// the transaction, by [`Outcome::render`]; never read back by code.
#[derive(Debug, Clone, Serialize)]
pub struct Reply {
    /// Short human text; may span a few lines for `show` and `list`.
    pub text: String,
    /// The records concerned, as JSON (when the front end asks for them).
    pub data: serde_json::Value,
    /// Commands that make sense next (chat shows them as buttons).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub next: Vec<String>,
}

impl Reply {
    /// A reply with text only.
    pub fn text(text: impl Into<String>) -> Reply {
        Reply {
            text: text.into(),
            data: serde_json::Value::Null,
            next: Vec::new(),
        }
    }
}

/// What a command did, as values: the records it made, changed or read,
/// each family's in its own type. Adapters (mail, scheduler, import, chat)
/// read it through the methods below; front ends render it for people
/// (text), scripts (JSON) and chat (next steps) with [`Outcome::render`].
#[derive(Debug, Clone)]
// One value per command, moved once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    Lead(lead::Done),
    Opportunity(opportunity::Done),
    Quote(quote::Done),
    Order(order::Done),
    Invoice(invoice::Done),
    Product(product::Done),
    Record(record::Done),
    Search(search::Done),
    Report(report::Done),
    Activity(activities::Done),
    Mailbox(mailbox::Done),
    Access(access::Done),
}

impl Outcome {
    /// The outcome for people, scripts and chat, in `ctx` (its rules,
    /// time zones and [`Context::with_data`]).
    pub fn render(&self, ctx: &Context) -> Reply {
        match self {
            Outcome::Lead(d) => lead::render(d, ctx),
            Outcome::Opportunity(d) => opportunity::render(d, ctx),
            Outcome::Quote(d) => quote::render(d, ctx),
            Outcome::Order(d) => order::render(d, ctx),
            Outcome::Invoice(d) => invoice::render(d, ctx),
            Outcome::Product(d) => product::render(d, ctx),
            Outcome::Record(d) => record::render(d, ctx),
            Outcome::Search(d) => search::render(d, ctx),
            Outcome::Report(d) => report::render(d, ctx),
            Outcome::Activity(d) => activities::render(d, ctx),
            Outcome::Mailbox(d) => mailbox::render(d, ctx),
            Outcome::Access(d) => access::render(d, ctx),
        }
    }

    /// The record a command made (`/lead new`, an imported lead...).
    pub fn created(&self) -> Option<crate::domain::RecordId> {
        match self {
            Outcome::Record(d) => d.created(),
            Outcome::Activity(d) => d.created(),
            _ => None,
        }
    }

    /// The records a list shows, in its order.
    pub fn listed(&self) -> Option<Vec<crate::domain::RecordId>> {
        match self {
            Outcome::Record(d) => d.listed(),
            _ => None,
        }
    }

    /// What ingesting each mail of a batch did, in the batch's order.
    pub fn ingested(&self) -> Option<&[mailbox::Ingested]> {
        match self {
            Outcome::Mailbox(d) => d.ingested(),
            _ => None,
        }
    }

    /// How many overdue items a sweep announced, and whether another pass
    /// is due.
    pub fn swept(&self) -> Option<(usize, bool)> {
        match self {
            Outcome::Activity(d) => d.swept(),
            _ => None,
        }
    }

    /// How many outbox entries found mid-send were marked uncertain.
    pub fn recovered(&self) -> Option<usize> {
        match self {
            Outcome::Mailbox(d) => d.recovered(),
            _ => None,
        }
    }

    /// A report's numbers, which a front end may also draw
    /// ([`crate::charts`]).
    pub fn report(&self) -> Option<&report::Done> {
        match self {
            Outcome::Report(d) => Some(d),
            _ => None,
        }
    }

    /// The member a sign-in link was taken for (the web view).
    pub fn signed_in(&self) -> Option<&str> {
        match self {
            Outcome::Access(d) => d.signed_in(),
            _ => None,
        }
    }

    /// The record whose document a front end should render and send along
    /// (`/invoice pdf INV-1001`).
    pub fn document(&self) -> Option<crate::domain::RecordId> {
        match self {
            Outcome::Record(d) => d.document(),
            _ => None,
        }
    }

    /// The leads with the same e-mail that kept an imported lead from
    /// being made.
    pub fn duplicate(&self) -> Option<&[u64]> {
        match self {
            Outcome::Record(d) => d.duplicate(),
            _ => None,
        }
    }
}

/// A command family: the commands of one topic, with how they are parsed,
/// applied and explained side by side in one file (as mini-redis' `cmd/`).
/// Adding a command touches its family's file and the [`Command`]
/// vocabulary; the family itself is one line of [`FAMILIES`].
struct Family {
    /// Its `/help` topic.
    topic: &'static str,
    /// The `/<kind> <action>` actions it parses.
    actions: &'static [(crate::domain::Kind, &'static str)],
    /// The steps its commands are, which `[chat.roles]` and `[chat]
    /// confirm` can name.
    steps: &'static [&'static str],
    /// Its `/help` lines: syntax, what it does.
    help: &'static [(&'static str, &'static str)],
    /// Parses a command's first word (`kind: None`) or the action of
    /// `/<kind> <action>`; `None` when the word is not its own.
    parse: Parser,
    /// Applies its commands; `None` for another family's.
    apply: Applier,
    /// The step one of its commands is; `None` for another family's.
    step: fn(&Command) -> Option<&'static str>,
}

/// A family's parser: the command's first word (`kind: None`) or the
/// action of `/<kind> <action>` in; its command, or `None` when the word is
/// another family's.
type Parser =
    fn(&mut args::Args, Option<crate::domain::Kind>, &str) -> Result<Option<Command>, CommandError>;

/// A family's `apply`: what its command did, or `None` for another family's.
type Applier = fn(&Command, &str, &mut dyn Tx, &Context) -> Result<Option<Outcome>, CommandError>;

/// The command table: every family, in the order `/help` lists them.
const FAMILIES: &[Family] = &[
    lead::FAMILY,
    opportunity::FAMILY,
    quote::FAMILY,
    order::FAMILY,
    invoice::FAMILY,
    activities::FAMILY,
    mailbox::FAMILY,
    product::FAMILY,
    record::FAMILY,
    search::FAMILY,
    report::FAMILY,
    access::FAMILY,
];

/// The steps roles and confirmations can name.
pub fn steps() -> Vec<&'static str> {
    let out: Vec<&'static str> = FAMILIES
        .iter()
        .flat_map(|f| f.steps.iter().copied())
        .collect();
    out
}

/// The step a command is, for roles and confirmations.
pub fn step(cmd: &Command) -> &'static str {
    FAMILIES
        .iter()
        .find_map(|f| (f.step)(cmd))
        .unwrap_or("read")
}

/// Whether the acting member's role allows `cmd` (`[chat.roles]`). Actors
/// that are not team members (the scheduler, mail ingest, a store without
/// a team) are not limited.
///
/// Fails, naming the role needed, when the member's role is too low.
pub fn permit(cmd: &Command, ctx: &Context) -> Result<(), CommandError> {
    let step = step(cmd);
    let (Some(needed), Some(member)) = (ctx.roles.get(step), ctx.team.member(&ctx.actor)) else {
        return Ok(());
    };
    if member.role >= *needed {
        return Ok(());
    }
    Err(CommandError::Refused(Refusal::new(format!(
        "'{step}' needs the role {} or higher; you are {}. Ask a {}.",
        needed.name(),
        member.role.name(),
        needed.name()
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_belongs_to_one_family_and_steps_name_the_commands_roles_see() {
        let all = steps();
        let unique: std::collections::BTreeSet<&str> = all.iter().copied().collect();
        assert_eq!(unique.len(), all.len(), "a step named twice: {all:?}");
        let config = crate::config::Config::embedded();
        let ctx = config.context("me", chrono::Utc::now(), "test");
        for line in [
            "/qualify L-1001",
            "/opp win O-1001",
            "/quote activate Q-1001",
            "/order cancel SO-1001 reason:x",
            "/invoice pay INV-1001 amount:5",
            "/task L-1001 Call back",
            "/outbox retry 1",
            "/product new X-1 price:1",
            "/contact edit C-1001 last:Weber",
            "/show L-1001",
        ] {
            let cmd = parse(line, &ctx).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert!(all.contains(&step(&cmd)), "{line} is step {}", step(&cmd));
        }
    }
}
