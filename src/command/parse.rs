//! Text -> [`Command`]: the grammar shared by the shell and chat.
//!
//! `/<kind> <action> <id> name:value ...`, plus short forms for the common
//! steps (`/qualify L-1001`, `/show Q-1001`). Names are case-insensitive;
//! `-` and `_` are the same; `fulfil` and `fulfill` both work. Every value is
//! read into its type here, so `apply` only sees valid input.
//!
//! This file holds the command vocabulary ([`Command`]) and the dispatch:
//! the first word goes to the command family that knows it
//! (`FAMILIES` in `command`), each of which parses its own commands in its own
//! file, next to how it applies them and its help.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::VecDeque;

use super::args::{invalid, Args};
use super::lex::{tokenize, Token};
use super::mailbox::{EmailInput, MailSource, OutboxStep};
use super::values::parse_field;
use super::{help, CommandError, Context};
use crate::domain::activity::{Details, Due, Shown};
use crate::domain::fields::{normalize_name, FieldValue};
use crate::domain::lines::LineInput;
use crate::domain::mail::IncomingMail;
use crate::domain::{builtin_field, ClosingInput, Kind, RecordId};

/// Which field an edit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKey {
    /// A built-in field, by canonical name.
    Builtin(&'static str),
    /// A configured custom field.
    Custom(String),
}

/// Typed field values of a `new` or `edit`.
pub type Fields = Vec<(FieldKey, FieldValue)>;

/// What `show` and `history` point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Record(RecordId),
    Product(String),
}

/// A `list` query; `kind: None` lists products.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub kind: Option<Kind>,
    pub state: Option<&'static str>,
    pub owner: Option<String>,
    pub limit: usize,
    /// Continue after this number (newest first, so: older than it).
    pub after: Option<u64>,
}

/// The closing details of a step that takes a reason.
pub type CloseInput = ClosingInput;

/// A new activity, typed (P-8, P-9, P-11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityInput {
    pub regarding: RecordId,
    pub subject: String,
    pub description: Option<String>,
    /// The owner; the acting user when absent.
    pub owner: Option<String>,
    pub details: Details,
    /// Due or start time; for a logged call, when it happened.
    pub due: Option<Due>,
    /// Scheduled (open) rather than logged as done.
    pub scheduled: bool,
}

/// A `/timeline` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineQuery {
    pub target: RecordId,
    pub state: Option<Shown>,
    pub kind: Option<&'static str>,
    pub limit: usize,
}

/// One command of the language, with every value typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help(Option<String>),
    New {
        kind: Kind,
        fields: Fields,
    },
    ProductNew {
        sku: String,
        fields: Fields,
    },
    Edit {
        target: RecordId,
        fields: Fields,
    },
    ProductEdit {
        sku: String,
        fields: Fields,
    },
    Show(Target),
    /// `/pipeline`: open opportunities grouped, for one owner or the team.
    Pipeline {
        owner: Option<String>,
        by: super::report::By,
    },
    /// `/report aging`: unpaid invoices by days overdue.
    Aging {
        owner: Option<String>,
    },
    /// `/report wonlost`: opportunities won and lost in a period.
    WonLost {
        from: Option<chrono::NaiveDate>,
        to: Option<chrono::NaiveDate>,
        by: super::report::WonLostBy,
    },
    /// `/report revenue`: won and invoiced revenue, paid and open.
    Revenue {
        by: super::report::RevenueBy,
    },
    /// `/report funnel`: leads and opportunities created in a period and
    /// what became of them.
    Funnel {
        from: Option<chrono::NaiveDate>,
        to: Option<chrono::NaiveDate>,
    },
    /// The document of a quote, order or invoice (`/quote pdf Q-1001`),
    /// rendered by the front end and sent along as a file.
    Document(RecordId),
    List(ListQuery),
    History(Target),
    Qualify(u64),
    Disqualify {
        lead: u64,
        close: CloseInput,
    },
    Reactivate(u64),
    OppWin {
        opp: u64,
        revenue: Option<Decimal>,
        date: NaiveDate,
        description: Option<String>,
    },
    OppLose {
        opp: u64,
        close: CloseInput,
        competitor: Option<String>,
    },
    OppReopen(u64),
    LineAdd {
        target: RecordId,
        line: LineInput,
    },
    LineEdit {
        target: RecordId,
        no: u32,
        line: LineInput,
    },
    LineRemove {
        target: RecordId,
        no: u32,
    },
    QuoteNew(u64),
    QuoteActivate(RecordId),
    QuoteRevise(RecordId),
    QuoteClose {
        quote: RecordId,
        close: CloseInput,
        revise: bool,
        close_opportunity: bool,
        opp_reason: Option<String>,
    },
    QuoteWin {
        quote: RecordId,
        date: NaiveDate,
        description: Option<String>,
        close_opportunity: Option<bool>,
        revenue: Option<Decimal>,
    },
    OrderFulfil {
        order: u64,
        close: CloseInput,
    },
    OrderCancel {
        order: u64,
        close: CloseInput,
    },
    /// Invoice an order: the quantities of `lines` (line number ->
    /// quantity) or, empty, everything not yet billed.
    OrderInvoice {
        order: u64,
        lines: std::collections::BTreeMap<u32, Decimal>,
    },
    /// Record a payment received.
    InvoicePayment {
        invoice: u64,
        amount: Decimal,
        date: NaiveDate,
        note: Option<String>,
    },
    InvoicePaid {
        invoice: u64,
        close: CloseInput,
    },
    InvoiceCancel {
        invoice: u64,
        close: CloseInput,
    },
    NewActivity(ActivityInput),
    ActivityDone {
        activity: u64,
        result: Option<String>,
    },
    ActivityCancel(u64),
    ActivityReschedule {
        activity: u64,
        due: Due,
    },
    ActivityAssign {
        activity: u64,
        owner: String,
    },
    Timeline(TimelineQuery),
    /// `/find`: records and products by their words.
    Find(super::search::FindQuery),
    /// The owner's overdue and due-today items (the acting user's by default).
    Agenda {
        owner: Option<String>,
    },
    /// Overdue items of one owner (the acting user by default), or of
    /// everyone.
    Overdue {
        owner: Option<String>,
        everyone: bool,
    },
    /// Notices queued for delivery (overdue items, digests).
    Notices {
        owner: Option<String>,
        limit: usize,
    },
    /// The scheduler's sweep: announce up to `limit` newly overdue items.
    /// Not in the text grammar.
    Sweep {
        limit: usize,
    },
    /// The scheduler queues a rendered digest, once per owner and day.
    QueueDigest(Box<crate::command::DigestMail>),
    /// The scheduler records that a job ran.
    JobRan {
        job: String,
    },
    /// A lead from an import row: made unless leads with its e-mail exist
    /// ([`crate::command::Outcome::Duplicate`]). Not in the text grammar.
    ImportLead(Fields),
    /// Fetched mail, ingested in one transaction (the IMAP adapter).
    IngestMail(Box<Vec<(MailSource, IncomingMail)>>),
    /// The unmatched inbox.
    Inbox {
        limit: usize,
    },
    InboxLink {
        mail: u64,
        target: RecordId,
    },
    InboxLead {
        mail: u64,
    },
    /// How a mail was matched.
    Why(u64),
    /// Queue a mail about a record.
    Email(Box<EmailInput>),
    /// The outbox; with `all`, sent mail too.
    Outbox {
        all: bool,
    },
    /// Move an outbox entry one step (`/outbox retry`, or the sender).
    OutboxStep {
        mail: u64,
        step: OutboxStep,
    },
    /// The sender's start: entries left sending become uncertain.
    OutboxRecover,
    /// Chat posted notice `n`.
    NoticeDelivered(u64),
    /// A mail account's sign-in needs attention (or works again): a
    /// notice for the team's admins. Not in the text grammar.
    MailAccountNotice {
        account: String,
        text: String,
    },
    /// The daemon needs its operator (a scheduled backup failed): a
    /// notice for the team's admins. Not in the text grammar.
    OperationsNotice {
        about: String,
        text: String,
    },
    /// A one-time sign-in link for the web view, by the digest of its
    /// secret ([`super::access`]). Not in the text grammar.
    WebLinkNew {
        member: String,
        digest: String,
    },
    /// The web view takes a sign-in link. Not in the text grammar.
    WebSignIn {
        digest: String,
    },
    /// An API token for a member, by the digest of its secret. Not in the
    /// text grammar.
    TokenNew {
        member: String,
        digest: String,
    },
    /// Revoke API token number N.
    TokenRevoke(u64),
    /// The API tokens there are.
    Tokens,
}

impl Command {
    /// Whether the command only reads (it then needs no write lock or flush).
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Command::Help(_)
                | Command::Show(_)
                | Command::Document(_)
                | Command::Pipeline { .. }
                | Command::Aging { .. }
                | Command::WonLost { .. }
                | Command::Revenue { .. }
                | Command::Funnel { .. }
                | Command::List(_)
                | Command::History(_)
                | Command::Timeline(_)
                | Command::Agenda { .. }
                | Command::Find(_)
                | Command::Overdue { .. }
                | Command::Notices { .. }
                | Command::Inbox { .. }
                | Command::Why(_)
                | Command::Outbox { .. }
                | Command::Tokens
        )
    }
}

/// Parses one command line.
///
/// Fails with a one-line message for unknown commands, options or fields,
/// missing or malformed ids, and values that do not read as their type.
pub fn parse(line: &str, ctx: &Context) -> Result<Command, CommandError> {
    let tokens = tokenize(line).map_err(invalid)?;
    let mut words = VecDeque::new();
    let mut opts = Vec::new();
    for t in tokens {
        match t {
            Token::Word { text, quoted } => words.push_back((text, quoted)),
            Token::Opt { name, value } => opts.push((normalize_name(&name), name, value)),
        }
    }
    let Some((first, _)) = words.pop_front() else {
        return Err(invalid("no command given; try /help"));
    };
    let head = normalize_name(first.trim_start_matches('/'));
    let mut args = Args {
        name: format!("/{head}"),
        words,
        opts,
        ctx,
    };
    let cmd = match head.as_str() {
        "help" | "?" | "h" => {
            let topic: Vec<String> = std::iter::from_fn(|| args.word()).collect();
            Command::Help((!topic.is_empty()).then(|| topic.join(" ")))
        }
        other => match family_parse(&mut args, None, other)? {
            Some(cmd) => cmd,
            None => match Kind::from_word(other) {
                Some(kind) => {
                    args.name = format!(
                        "/{}",
                        if kind == Kind::Opportunity {
                            "opp"
                        } else {
                            kind.name()
                        }
                    );
                    record_command(&mut args, kind)?
                }
                None => {
                    return Err(invalid(format!(
                        "unknown command '{first}'; try /help{}",
                        help::suggest(other)
                            .map(|s| format!(" (did you mean /{s}?)"))
                            .unwrap_or_default()
                    )))
                }
            },
        },
    };
    args.done()?;
    Ok(cmd)
}

/// The first family that parses `word` (a command's first word when `kind`
/// is `None`, else the action of `/<kind> <action>`).
///
/// Fails as that family's parser does.
fn family_parse(
    args: &mut Args,
    kind: Option<Kind>,
    word: &str,
) -> Result<Option<Command>, CommandError> {
    for family in super::FAMILIES {
        if let Some(cmd) = (family.parse)(args, kind, word)? {
            return Ok(Some(cmd));
        }
    }
    Ok(None)
}

/// `/<kind> ...`: a list without an action, `/<kind> <id>` shows it, else
/// the action goes to its family.
///
/// Fails for an action the kind does not have, or as its parser does.
fn record_command(args: &mut Args, kind: Kind) -> Result<Command, CommandError> {
    let base = args.name.clone();
    let Some(action_word) = args.words.front().map(|(w, _)| w.clone()) else {
        return super::args::list(args, Some(kind));
    };
    // `/lead L-1001` shows it.
    if args
        .ctx
        .rules
        .numbering
        .parse(&action_word)
        .is_ok_and(|id| id.kind == kind)
    {
        return Ok(Command::Show(Target::Record(args.id(kind)?)));
    }
    args.word();
    let action = normalize_name(&action_word);
    args.name = format!("{base} {action}");
    if !help::has_action(kind, &action) && !ALIASES.iter().any(|(a, _)| *a == action) {
        return Err(invalid(format!(
            "{base} has no action '{action_word}'; actions: {}",
            help::actions(kind).join(", ")
        )));
    }
    let action = ALIASES
        .iter()
        .find(|(a, _)| *a == action)
        .map(|(_, to)| to.to_string())
        .unwrap_or(action);
    match family_parse(args, Some(kind), &action)? {
        Some(cmd) => Ok(cmd),
        None => Err(invalid(format!(
            "{base} has no action '{action}'; actions: {}",
            help::actions(kind).join(", ")
        ))),
    }
}

/// Other spellings of actions.
const ALIASES: &[(&str, &str)] = &[
    ("fulfill", "fulfil"),
    ("create", "new"),
    ("add", "new"),
    ("set", "edit"),
    ("update", "edit"),
    ("lost", "lose"),
    ("won", "win"),
    ("ls", "list"),
    ("view", "show"),
    ("complete", "done"),
    ("move", "reschedule"),
    ("reassign", "assign"),
];

/// A `lead new` built from `(field, column, text)` values, as the CSV
/// import makes them: the same typed fields the shell's `/lead new` gets.
#[derive(Debug, Clone)]
pub struct CommandNew {
    fields: Fields,
}

impl CommandNew {
    /// Reads each value as its field's type.
    ///
    /// Fails on the first value that does not read, naming its column.
    pub fn lead(
        values: Vec<(FieldKey, String, String)>,
        ctx: &Context,
    ) -> Result<CommandNew, CommandError> {
        let mut fields = Vec::with_capacity(values.len());
        for (key, column, raw) in values {
            let (ty, custom) = match &key {
                FieldKey::Builtin(name) => match builtin_field(Kind::Lead, name) {
                    Some(spec) => (spec.ty, None),
                    None => return Err(invalid(format!("{column}: leads have no field {name}"))),
                },
                FieldKey::Custom(name) => match ctx
                    .rules
                    .custom(Kind::Lead)
                    .iter()
                    .find(|d| d.name == *name)
                {
                    Some(def) => (def.field_type(), Some(def)),
                    None => return Err(invalid(format!("{column}: no custom field {name}"))),
                },
            };
            let v = parse_field(&column, ty, &raw, ctx, custom).map_err(invalid)?;
            fields.push((key, v));
        }
        Ok(CommandNew { fields })
    }

    /// The lead's e-mail, lower-cased, if given.
    pub fn email(&self) -> Option<String> {
        self.fields.iter().find_map(|(k, v)| match (k, v) {
            (FieldKey::Builtin("email"), FieldValue::Text(t)) => Some(t.to_lowercase()),
            _ => None,
        })
    }

    /// The command to run: a lead, unless one with its e-mail exists.
    pub fn into_command(self) -> Command {
        Command::ImportLead(self.fields)
    }
}
