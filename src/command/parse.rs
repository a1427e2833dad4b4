//! Text -> [`Command`]: the grammar shared by the shell and chat.
//!
//! `/<kind> <action> <id> name:value ...`, plus short forms for the common
//! steps (`/qualify L-1001`, `/show Q-1001`). Names are case-insensitive;
//! `-` and `_` are the same; `fulfil` and `fulfill` both work. Every value is
//! read into its type here, so `apply` only sees valid input.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::VecDeque;

use super::lex::{tokenize, Token};
use super::mailbox::{EmailInput, MailSource, OutboxStep};
use super::values::{
    parse_amount, parse_date, parse_discount, parse_field, parse_percent, parse_when, parse_yes_no,
    resolve_owner,
};
use super::{help, CommandError, Context};
use crate::domain::activity::{Details, Direction, Due, Shown, KINDS};
use crate::domain::fields::{normalize_name, FieldValue};
use crate::domain::lines::LineInput;
use crate::domain::mail::IncomingMail;
use crate::domain::product::Product;
use crate::domain::{builtin_field, state_names, ClosingInput, Kind, RecordId};

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
}

impl Command {
    /// Whether the command only reads (it then needs no write lock or flush).
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Command::Help(_)
                | Command::Show(_)
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
        )
    }
}

fn invalid(msg: impl Into<String>) -> CommandError {
    CommandError::Invalid(msg.into())
}

/// The words and options of one command, consumed as it is parsed.
struct Args<'a, 'c> {
    /// The command as typed so far, for messages (`/quote close`).
    name: String,
    words: VecDeque<(String, bool)>,
    /// (normalised name, name as typed, value)
    opts: Vec<(String, String, String)>,
    ctx: &'a Context<'c>,
}

impl<'a, 'c> Args<'a, 'c> {
    fn word(&mut self) -> Option<String> {
        self.words.pop_front().map(|(w, _)| w)
    }

    fn id(&mut self, kind: Kind) -> Result<RecordId, CommandError> {
        let Some(w) = self.word() else {
            let f = self.ctx.rules.numbering.format(kind);
            return Err(invalid(format!(
                "{} needs {} id, e.g. {} {}{}",
                self.name,
                kind.with_article(),
                self.name,
                f.prefix,
                f.first
            )));
        };
        // `Q-1001 rev 2` arrives as three words.
        let mut text = w;
        if kind == Kind::Quote
            && self
                .words
                .front()
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case("rev"))
        {
            self.words.pop_front();
            text = format!("{text} rev {}", self.word().unwrap_or_default());
        }
        let id = self
            .ctx
            .rules
            .numbering
            .parse(&text)
            .map_err(|e| invalid(e.to_string()))?;
        if id.kind != kind {
            return Err(invalid(format!(
                "{} takes {} id; {text} is {}",
                self.name,
                kind.with_article(),
                id.kind.with_article()
            )));
        }
        Ok(id)
    }

    fn number(&mut self, kind: Kind) -> Result<u64, CommandError> {
        Ok(self.id(kind)?.number)
    }

    fn opt(&mut self, names: &[&str]) -> Result<Option<String>, CommandError> {
        let mut found: Option<String> = None;
        let mut i = 0;
        while i < self.opts.len() {
            if names.contains(&self.opts[i].0.as_str()) {
                let (_, typed, value) = self.opts.remove(i);
                if found.is_some() {
                    return Err(invalid(format!("{typed} is given twice")));
                }
                found = Some(value);
            } else {
                i += 1;
            }
        }
        Ok(found)
    }

    fn text(&mut self, names: &[&str]) -> Result<Option<String>, CommandError> {
        Ok(self
            .opt(names)?
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty()))
    }

    fn date(&mut self, names: &[&str]) -> Result<NaiveDate, CommandError> {
        match self.opt(names)? {
            None => Ok(self.ctx.today()),
            Some(v) => {
                parse_date(&v, self.ctx.today()).map_err(|e| invalid(format!("{}: {e}", names[0])))
            }
        }
    }

    fn yes_no(&mut self, names: &[&str], default: bool) -> Result<bool, CommandError> {
        match self.opt(names)? {
            None => Ok(default),
            Some(v) => parse_yes_no(&v, names[0]).map_err(invalid),
        }
    }

    /// A due time, read in the acting user's time zone.
    fn when(&mut self, names: &[&str]) -> Result<Option<Due>, CommandError> {
        match self.opt(names)? {
            None => Ok(None),
            Some(v) => {
                let tz = self.ctx.team.zone_of(&self.ctx.actor);
                parse_when(&v, self.ctx.today(), tz)
                    .map(Some)
                    .map_err(|e| invalid(format!("{}: {e}", names[0])))
            }
        }
    }

    /// Any record id (not a product).
    fn any_id(&mut self) -> Result<RecordId, CommandError> {
        let Some(w) = self.words.front().map(|(w, _)| w.clone()) else {
            return Err(invalid(format!(
                "{} needs a record id, e.g. {} L-1001",
                self.name, self.name
            )));
        };
        let id = self
            .ctx
            .rules
            .numbering
            .parse(&w)
            .map_err(|e| invalid(e.to_string()))?;
        self.id(id.kind)
    }

    /// The subject: `subject:`, or the words after the id
    /// (`/task L-1001 Send brochure due:fri`).
    fn subject(&mut self) -> Result<Option<String>, CommandError> {
        let given = self.text(&["subject", "title", "topic"])?;
        if given.is_some() {
            return Ok(given);
        }
        let words: Vec<String> = std::iter::from_fn(|| self.word()).collect();
        Ok(Some(words.join(" ").trim().to_string()).filter(|w| !w.is_empty()))
    }

    /// `to:` and `cc:` as lists of checked e-mail addresses.
    fn recipients(&mut self) -> Result<(Vec<String>, Vec<String>), CommandError> {
        let to = split_list(self.text(&["to"])?);
        let cc = split_list(self.text(&["cc"])?);
        for a in to.iter().chain(&cc) {
            super::values::parse_email(a).map_err(|e| invalid(format!("to/cc: {e}")))?;
        }
        Ok((to, cc))
    }

    fn owner(&mut self) -> Result<Option<String>, CommandError> {
        match self.opt(&["owner", "for", "assign"])? {
            None => Ok(None),
            Some(o) => resolve_owner(&o, self.ctx).map(Some).map_err(invalid),
        }
    }

    fn close_input(&mut self) -> Result<CloseInput, CommandError> {
        let mut reason = self.text(&["reason", "status", "status_reason"])?;
        // `/disqualify L-1002 "cannot contact"`: a quoted word is the reason.
        if reason.is_none() && self.words.front().is_some_and(|(_, quoted)| *quoted) {
            reason = self.word();
        }
        let date = self.date(&["date", "close_date", "on"])?;
        if date > self.ctx.today() {
            return Err(invalid(format!(
                "date: {date} is in the future; a step is closed on the day it happened (today or earlier)"
            )));
        }
        Ok(CloseInput {
            reason,
            date,
            description: self.text(&["description", "desc", "note", "comment"])?,
        })
    }

    fn fields(&mut self, kind: Kind) -> Result<Fields, CommandError> {
        let mut out: Fields = Vec::new();
        for (norm, typed, value) in std::mem::take(&mut self.opts) {
            let (key, ty, custom) = if let Some(spec) = builtin_field(kind, &norm) {
                (FieldKey::Builtin(spec.name), spec.ty, None)
            } else if let Some(def) = self.ctx.rules.custom(kind).iter().find(|d| d.name == norm) {
                (
                    FieldKey::Custom(def.name.clone()),
                    def.field_type(),
                    Some(def),
                )
            } else {
                return Err(invalid(unknown_field(kind, &typed, self.ctx)));
            };
            if out.iter().any(|(k, _)| *k == key) {
                return Err(invalid(format!("{typed} is given twice")));
            }
            let v = parse_field(&typed, ty, &value, self.ctx, custom).map_err(invalid)?;
            out.push((key, v));
        }
        Ok(out)
    }

    fn product_fields(&mut self) -> Result<Fields, CommandError> {
        use crate::domain::fields::{find, Editable};
        let mut out: Fields = Vec::new();
        for (norm, typed, value) in std::mem::take(&mut self.opts) {
            let Some(spec) = find(Product::FIELDS, &norm) else {
                return Err(invalid(format!(
                    "products have no field '{typed}'; fields: {}",
                    Product::field_names().join(", ")
                )));
            };
            let v = parse_field(&typed, spec.ty, &value, self.ctx, None).map_err(invalid)?;
            out.push((FieldKey::Builtin(spec.name), v));
        }
        Ok(out)
    }

    fn line_input(&mut self) -> Result<LineInput, CommandError> {
        let sku = match self.opt(&["sku", "product"])? {
            Some(s) => Some(Product::parse_sku(&s).map_err(|e| invalid(e.to_string()))?),
            None => None,
        };
        let description = self.text(&["name", "description", "desc"])?;
        let quantity = match self.opt(&["qty", "quantity", "menge"])? {
            Some(q) => Some(
                super::values::parse_quantity(&q, self.ctx.team.locale)
                    .map_err(|e| invalid(format!("qty: {e}")))?,
            ),
            None => None,
        };
        let unit_price = match self.opt(&["price", "unit_price"])? {
            Some(p) => Some(
                parse_amount(&p, self.ctx.team.locale)
                    .map_err(|e| invalid(format!("price: {e}")))?,
            ),
            None => None,
        };
        let discount = match self.opt(&["discount", "rabatt"])? {
            Some(d) => Some(
                parse_discount(&d, self.ctx.team.locale)
                    .map_err(|e| invalid(format!("discount: {e}")))?,
            ),
            None => None,
        };
        let tax_rate = match self.opt(&["tax", "tax_rate", "vat"])? {
            Some(t) => Some(
                parse_percent(&t, self.ctx.team.locale)
                    .map_err(|e| invalid(format!("tax: {e}")))?,
            ),
            None => None,
        };
        Ok(LineInput {
            sku,
            description,
            quantity,
            unit_price,
            discount,
            tax_rate,
        })
    }

    fn line_no(&mut self) -> Result<u32, CommandError> {
        let raw = match self.opt(&["line", "no"])? {
            Some(v) => v,
            None => self.word().ok_or_else(|| {
                invalid(format!("{} needs a line number, e.g. line:1", self.name))
            })?,
        };
        raw.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                invalid(format!(
                    "'{raw}' is not a line number; lines are numbered 1, 2, 3..."
                ))
            })
    }

    /// Refuses whatever was not used.
    fn done(self) -> Result<(), CommandError> {
        if let Some((_, typed, _)) = self.opts.first() {
            return Err(invalid(format!(
                "{} has no option '{typed}'; see /help {}",
                self.name,
                self.name.trim_start_matches('/')
            )));
        }
        if let Some((w, _)) = self.words.front() {
            return Err(invalid(format!(
                "{} does not take '{w}'; put values with spaces in quotes, or see /help {}",
                self.name,
                self.name.trim_start_matches('/')
            )));
        }
        Ok(())
    }
}

fn unknown_field(kind: Kind, typed: &str, ctx: &Context) -> String {
    use crate::domain::fields::Editable;
    use crate::domain::{invoice, lead, opportunity, order, party, quote};
    let names = match kind {
        Kind::Lead => lead::Lead::field_names(),
        Kind::Contact => party::Contact::field_names(),
        Kind::Account => party::Account::field_names(),
        Kind::Opportunity => opportunity::Opportunity::field_names(),
        Kind::Quote => quote::Quote::field_names(),
        Kind::Order => order::Order::field_names(),
        Kind::Invoice => invoice::Invoice::field_names(),
        Kind::Activity => crate::domain::activity::Activity::field_names(),
    };
    let custom: Vec<&str> = ctx
        .rules
        .custom(kind)
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    let custom = if custom.is_empty() {
        String::new()
    } else {
        format!("; custom: {}", custom.join(", "))
    };
    format!(
        "{} have no field '{typed}'; fields: {}{custom}",
        kind.plural(),
        names.join(", ")
    )
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
        "qualify" => Command::Qualify(args.number(Kind::Lead)?),
        "disqualify" => {
            let lead = args.number(Kind::Lead)?;
            Command::Disqualify {
                lead,
                close: args.close_input()?,
            }
        }
        "reactivate" => Command::Reactivate(args.number(Kind::Lead)?),
        "show" | "open" => Command::Show(target(&mut args)?),
        "history" | "log" => Command::History(target(&mut args)?),
        "list" | "ls" => {
            let word = args
                .word()
                .ok_or_else(|| invalid("/list needs a kind: /list leads, /list quotes ..."))?;
            let kind = if normalize_name(&word).trim_end_matches('s') == "product" {
                None
            } else {
                Some(Kind::from_word(&word).ok_or_else(|| invalid(format!("cannot list '{word}'; lists: leads, contacts, accounts, opps, quotes, orders, invoices, products")))?)
            };
            list(&mut args, kind)?
        }
        "call" | "task" | "meeting" | "appointment" | "note" => activity(&mut args, &head)?,
        "done" | "complete" => {
            let activity = args.number(Kind::Activity)?;
            Command::ActivityDone {
                activity,
                result: args.text(&["result", "outcome"])?,
            }
        }
        "timeline" | "tl" => {
            let target = args.any_id()?;
            timeline(&mut args, target)?
        }
        "agenda" | "today" => Command::Agenda {
            owner: args.owner()?,
        },
        "find" | "search" | "suche" => {
            let kind = match args.opt(&["kind", "type"])? {
                None => None,
                Some(k) => {
                    let name = match normalize_name(&k).trim_end_matches('s') {
                        "product" => "product".to_string(),
                        other => Kind::from_word(other)
                            .filter(|k| *k != Kind::Activity)
                            .map(|k| k.name().to_string())
                            .ok_or_else(|| {
                                invalid(format!(
                                    "kind:{k} is not one of {}",
                                    super::search::KINDS.join(", ")
                                ))
                            })?,
                    };
                    Some(name)
                }
            };
            let limit = limit(&mut args)?;
            let mut text = Vec::new();
            while let Some(w) = args.word() {
                text.push(w);
            }
            Command::Find(super::search::FindQuery {
                text: text.join(" "),
                kind,
                limit,
            })
        }
        "inbox" => {
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
                    limit: limit(&mut args)?,
                },
                Some("link" | "file") => {
                    let mail = number(&mut args)?;
                    let target = args.any_id()?;
                    Command::InboxLink { mail, target }
                }
                Some("lead") => Command::InboxLead {
                    mail: number(&mut args)?,
                },
                Some(other) => {
                    return Err(invalid(format!(
                    "/inbox has no action '{other}'; actions: list, link <#> <record>, lead <#>"
                )))
                }
            }
        }
        "why" => Command::Why(args.number(Kind::Activity)?),
        "email" | "mail" | "send" => {
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
        "outbox" => match args.word().map(|w| normalize_name(&w)).as_deref() {
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

        "overdue" => {
            let everyone = args.words.front().is_some_and(|(w, _)| {
                matches!(w.to_lowercase().as_str(), "all" | "everyone" | "team")
            });
            if everyone {
                args.word();
            }
            let owner = args.owner()?;
            Command::Overdue { owner, everyone }
        }
        "notices" => {
            let owner = args.owner()?;
            Command::Notices {
                owner,
                limit: limit(&mut args)?,
            }
        }
        "product" | "products" => {
            args.name = "/product".to_string();
            product(&mut args)?
        }
        other => match Kind::from_word(other) {
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
    };
    args.done()?;
    Ok(cmd)
}

/// `a, b; c` -> `[a, b, c]`.
fn split_list(text: Option<String>) -> Vec<String> {
    text.map(|t| {
        t.split([',', ';'])
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

fn limit(args: &mut Args) -> Result<usize, CommandError> {
    match args.opt(&["limit"])? {
        None => Ok(20),
        Some(l) => l
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| invalid(format!("limit:{l} must be a number from 1 to 500"))),
    }
}

fn timeline(args: &mut Args, target: RecordId) -> Result<Command, CommandError> {
    let state = match args.opt(&["state", "status"])? {
        None => None,
        Some(s) => Some(match normalize_name(&s).as_str() {
            "active" | "open" => Shown::Active,
            "closed" | "done" => Shown::Closed,
            "overdue" => Shown::Overdue,
            _ => {
                return Err(invalid(format!(
                    "state:{s} is not a timeline state; states: active, closed, overdue"
                )))
            }
        }),
    };
    let kind = match args.opt(&["kind", "type"])? {
        None => None,
        Some(k) => {
            let mut want = normalize_name(&k);
            if want == "meeting" {
                want = "appointment".to_string();
            }
            if want == "mail" || want == "e_mail" {
                want = "email".to_string();
            }
            Some(
                *KINDS
                    .iter()
                    .find(|x| **x == want.trim_end_matches('s'))
                    .ok_or_else(|| {
                        invalid(format!(
                            "kind:{k} is not an activity kind; kinds: {}",
                            KINDS.join(", ")
                        ))
                    })?,
            )
        }
    };
    Ok(Command::Timeline(TimelineQuery {
        target,
        state,
        kind,
        limit: limit(args)?,
    }))
}

/// `/call`, `/task`, `/meeting`, `/note` on a record.
fn activity(args: &mut Args, head: &str) -> Result<Command, CommandError> {
    let regarding = args.any_id()?;
    if regarding.kind == Kind::Activity {
        return Err(invalid(format!(
            "{} goes on a record's timeline, not on an activity",
            args.name
        )));
    }
    let subject = args.subject()?;
    let description = args.text(&["description", "desc", "details", "text"])?;
    let owner = args.owner()?;
    let (details, due, scheduled, default_subject) = match head {
        "call" => {
            let direction = match args.opt(&["direction", "dir"])?.map(|d| normalize_name(&d)) {
                None => Direction::Outgoing,
                Some(d) if d == "in" || d == "incoming" || d == "inbound" => Direction::Incoming,
                Some(d) if d == "out" || d == "outgoing" || d == "outbound" => Direction::Outgoing,
                Some(d) => return Err(invalid(format!("direction:{d} must be in or out"))),
            };
            let phone = args.text(&["phone", "number"])?;
            let result = args.text(&["result", "outcome"])?;
            let due = args.when(&["due", "next", "at_time"])?;
            let happened = args.when(&["at", "when", "on"])?;
            if due.is_some() && (happened.is_some() || result.is_some()) {
                return Err(invalid(
                    "a call is either logged (result:, at:) or scheduled (due:), not both",
                ));
            }
            let scheduled = due.is_some();
            (
                Details::Call {
                    direction,
                    phone,
                    result,
                },
                due.or(happened),
                scheduled,
                "Call",
            )
        }
        "task" => (
            Details::Task,
            args.when(&["due", "by", "on"])?,
            true,
            "Task",
        ),
        "meeting" | "appointment" => {
            let start = args.when(&["start", "at", "on", "due"])?.ok_or_else(|| {
                invalid(format!(
                    "{} needs a start, e.g. start:\"2026-12-04 10:00\"",
                    args.name
                ))
            })?;
            let Due::At(start_at) = start else {
                return Err(invalid(format!(
                    "{} needs a start time, not just a day, e.g. start:\"2026-12-04 10:00\"",
                    args.name
                )));
            };
            let end = match args.when(&["end", "until", "to"])? {
                None => start_at + chrono::Duration::hours(1),
                Some(Due::At(e)) => e,
                Some(Due::Day(_)) => {
                    return Err(invalid("end: needs a time, e.g. end:\"2026-12-04 11:00\""))
                }
            };
            let location = args.text(&["location", "where", "place"])?;
            let attendees = split_list(args.text(&["attendees", "with", "invite"])?);
            (
                Details::Appointment {
                    end,
                    location,
                    attendees,
                },
                Some(start),
                true,
                "Meeting",
            )
        }
        _ => {
            let Some(text) = subject.clone().or(description.clone()) else {
                return Err(invalid(
                    "/note needs its text, e.g. /note L-1001 \"Prefers e-mail\"",
                ));
            };
            let short: String = text.lines().next().unwrap_or("").chars().take(80).collect();
            return Ok(Command::NewActivity(ActivityInput {
                regarding,
                subject: short,
                description: Some(text)
                    .filter(|t| t.chars().count() > 80 || t.contains('\n'))
                    .or(description),
                owner,
                details: Details::Note,
                due: None,
                scheduled: false,
            }));
        }
    };
    Ok(Command::NewActivity(ActivityInput {
        regarding,
        subject: subject.unwrap_or_else(|| default_subject.to_string()),
        description,
        owner,
        details,
        due,
        scheduled,
    }))
}

/// `"1=5 2=3"` (also `1=5, 2=3` or `1:5;2:3`): quantities per line number.
fn bill_lines(
    raw: &str,
    locale: super::team::NumberLocale,
) -> Result<std::collections::BTreeMap<u32, Decimal>, String> {
    let mut out = std::collections::BTreeMap::new();
    let items = raw
        .split(|c: char| c.is_whitespace() || c == ';')
        .flat_map(|chunk| {
            if chunk.matches(['=', ':']).count() > 1 {
                chunk.split(',').collect::<Vec<_>>()
            } else {
                vec![chunk]
            }
        })
        .map(|i| i.trim_matches(','))
        .filter(|i| !i.is_empty());
    for item in items {
        let (no, qty) = item.split_once(['=', ':']).ok_or_else(|| {
            format!("lines: '{item}' is not LINE=QUANTITY, e.g. lines:\"1=5 2=3\"")
        })?;
        let no: u32 = no
            .trim()
            .parse()
            .map_err(|_| format!("lines: '{no}' is not a line number"))?;
        let qty = super::values::parse_quantity(qty, locale).map_err(|e| format!("lines: {e}"))?;
        if qty <= Decimal::ZERO {
            return Err(format!("lines: line {no} needs a quantity above 0"));
        }
        if out.insert(no, qty).is_some() {
            return Err(format!("lines: line {no} is given twice"));
        }
    }
    if out.is_empty() {
        return Err("lines: name at least one LINE=QUANTITY, e.g. lines:\"1=5\"".to_string());
    }
    Ok(out)
}

fn target(args: &mut Args) -> Result<Target, CommandError> {
    let Some(w) = args.words.front().map(|(w, _)| w.clone()) else {
        return Err(invalid(format!(
            "{} needs an id, e.g. {} L-1001",
            args.name, args.name
        )));
    };
    match args.ctx.rules.numbering.parse(&w) {
        Ok(id) => Ok(Target::Record(args.id(id.kind)?)),
        Err(_) => {
            args.word();
            // Not a record id: a product SKU.
            Ok(Target::Product(Product::parse_sku(&w).map_err(|_| {
                invalid(format!(
                    "'{w}' is neither a record id (L-1001, Q-1001 ...) nor a product SKU"
                ))
            })?))
        }
    }
}

fn list(args: &mut Args, kind: Option<Kind>) -> Result<Command, CommandError> {
    if kind == Some(Kind::Activity)
        && args
            .opts
            .iter()
            .any(|(n, _, _)| n == "state" || n == "status" || n == "owner")
    {
        return Err(invalid(
            "activities are listed by record (/timeline <id> state:..), by owner (/agenda owner:.., /overdue owner:..) or all (/list activities)",
        ));
    }
    let state = match args.opt(&["state", "status"])? {
        None => None,
        Some(s) => {
            let allowed: &[&str] = match kind {
                Some(k) => state_names(k),
                None => &["active", "retired"],
            };
            let want = normalize_name(&s);
            Some(*allowed.iter().find(|a| **a == want).ok_or_else(|| {
                invalid(format!(
                    "state:{s} is not a state here; states: {}",
                    allowed.join(", ")
                ))
            })?)
        }
    };
    let owner = match args.opt(&["owner"])? {
        None => None,
        Some(o) => Some(resolve_owner(&o, args.ctx).map_err(invalid)?),
    };
    let limit = match args.opt(&["limit"])? {
        None => 20,
        Some(l) => l
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| invalid(format!("limit:{l} must be a number from 1 to 500")))?,
    };
    let after = match (args.opt(&["after"])?, kind) {
        (None, _) => None,
        (Some(a), Some(k)) => Some(
            args.ctx
                .rules
                .numbering
                .parse(&a)
                .ok()
                .filter(|id| id.kind == k)
                .map(|id| id.number)
                .ok_or_else(|| invalid(format!("after:{a} must be {} id", k.with_article())))?,
        ),
        (Some(_), None) => {
            return Err(invalid("products are listed by SKU; after: does not apply"))
        }
    };
    Ok(Command::List(ListQuery {
        kind,
        state,
        owner,
        limit,
        after,
    }))
}

fn product(args: &mut Args) -> Result<Command, CommandError> {
    let action = args
        .word()
        .map(|a| normalize_name(&a))
        .unwrap_or_else(|| "list".into());
    let sku = |args: &mut Args| -> Result<String, CommandError> {
        let w = args
            .word()
            .ok_or_else(|| invalid(format!("{} needs a SKU, e.g. CHAIR-01", args.name)))?;
        Product::parse_sku(&w).map_err(|e| invalid(e.to_string()))
    };
    args.name = format!("/product {action}");
    Ok(match action.as_str() {
        "new" | "add" | "create" => {
            let sku = match args.opt(&["sku"])? {
                Some(s) => Product::parse_sku(&s).map_err(|e| invalid(e.to_string()))?,
                None => sku(args)?,
            };
            Command::ProductNew {
                sku,
                fields: args.product_fields()?,
            }
        }
        "edit" | "set" | "update" => {
            let sku = sku(args)?;
            Command::ProductEdit {
                sku,
                fields: args.product_fields()?,
            }
        }
        "show" => Command::Show(Target::Product(sku(args)?)),
        "history" => Command::History(Target::Product(sku(args)?)),
        "list" => list(args, None)?,
        other => {
            return Err(invalid(format!(
                "/product has no action '{other}'; actions: new, edit, show, list, history"
            )))
        }
    })
}

fn record_command(args: &mut Args, kind: Kind) -> Result<Command, CommandError> {
    let base = args.name.clone();
    let Some(action_word) = args.words.front().map(|(w, _)| w.clone()) else {
        return list(args, Some(kind));
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
    let actions = help::actions(kind);
    if !actions.contains(&action.as_str()) && !ALIASES.iter().any(|(a, _)| *a == action) {
        return Err(invalid(format!(
            "{base} has no action '{action_word}'; actions: {}",
            actions.join(", ")
        )));
    }
    let action = ALIASES
        .iter()
        .find(|(a, _)| *a == action)
        .map(|(_, to)| to.to_string())
        .unwrap_or(action);
    Ok(match (kind, action.as_str()) {
        (_, "list") => list(args, Some(kind))?,
        (_, "show") => Command::Show(Target::Record(args.id(kind)?)),
        (_, "history") => Command::History(Target::Record(args.id(kind)?)),
        (Kind::Quote, "new") => Command::QuoteNew(args.number(Kind::Opportunity)?),
        (_, "new") => {
            // A quoted word is the topic or name: `/lead new "Office chairs" ...`
            if let Some((w, true)) = args.words.front().cloned() {
                args.words.pop_front();
                let key = match kind {
                    Kind::Lead => "topic",
                    Kind::Contact => "last_name",
                    _ => "name",
                };
                args.opts.push((key.to_string(), key.to_string(), w));
            }
            Command::New {
                kind,
                fields: args.fields(kind)?,
            }
        }
        (_, "edit") => {
            let target = args.id(kind)?;
            let fields = args.fields(kind)?;
            if fields.is_empty() {
                return Err(invalid(format!(
                    "{} needs at least one field:value to change",
                    args.name
                )));
            }
            Command::Edit { target, fields }
        }
        (Kind::Lead, "qualify") => Command::Qualify(args.number(kind)?),
        (Kind::Lead, "disqualify") => {
            let lead = args.number(kind)?;
            Command::Disqualify {
                lead,
                close: args.close_input()?,
            }
        }
        (Kind::Lead, "reactivate") => Command::Reactivate(args.number(kind)?),
        (Kind::Opportunity, "win") => {
            let opp = args.number(kind)?;
            let revenue = match args.opt(&["revenue", "actual_revenue"])? {
                None => None,
                Some(r) if normalize_name(&r) == "compute" => None,
                Some(r) => Some(
                    parse_amount(&r, args.ctx.team.locale)
                        .map_err(|e| invalid(format!("revenue: {e}")))?,
                ),
            };
            Command::OppWin {
                opp,
                revenue,
                date: args.date(&["date", "close_date", "on"])?,
                description: args.text(&["description", "desc", "note"])?,
            }
        }
        (Kind::Opportunity, "lose") => {
            let opp = args.number(kind)?;
            let competitor = args.text(&["competitor"])?;
            Command::OppLose {
                opp,
                close: args.close_input()?,
                competitor,
            }
        }
        (Kind::Opportunity, "reopen") => Command::OppReopen(args.number(kind)?),
        (_, "line") => {
            let op = args.word().map(|w| normalize_name(&w)).unwrap_or_default();
            args.name = format!("{base} line {op}");
            let target = args.id(kind)?;
            match op.as_str() {
                "add" | "new" => Command::LineAdd {
                    target,
                    line: args.line_input()?,
                },
                "edit" | "set" | "change" => {
                    let no = args.line_no()?;
                    Command::LineEdit {
                        target,
                        no,
                        line: args.line_input()?,
                    }
                }
                "remove" | "rm" | "delete" | "del" => Command::LineRemove {
                    target,
                    no: args.line_no()?,
                },
                _ => return Err(invalid(format!("{base} line takes add, edit or remove, e.g. {base} line add ... sku:CHAIR-01 qty:2"))),
            }
        }
        (Kind::Quote | Kind::Invoice, "send") => {
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
        (Kind::Quote, "activate") => Command::QuoteActivate(args.id(kind)?),
        (Kind::Quote, "revise") => Command::QuoteRevise(args.id(kind)?),
        (Kind::Quote, "close") => {
            let quote = args.id(kind)?;
            Command::QuoteClose {
                quote,
                revise: args.yes_no(&["revise", "create_revision", "revised_copy"], false)?,
                close_opportunity: args.yes_no(&["close_opportunity", "close_opp"], false)?,
                opp_reason: args.text(&["opp_reason", "opportunity_reason"])?,
                close: args.close_input()?,
            }
        }
        (Kind::Quote, "win") => {
            let quote = args.id(kind)?;
            let revenue = match args.opt(&["revenue", "actual_revenue"])? {
                None => None,
                Some(r) if normalize_name(&r) == "compute" => None,
                Some(r) => Some(
                    parse_amount(&r, args.ctx.team.locale)
                        .map_err(|e| invalid(format!("revenue: {e}")))?,
                ),
            };
            Command::QuoteWin {
                quote,
                close_opportunity: match args.opt(&["close_opportunity", "close_opp"])? {
                    None => None,
                    Some(v) => Some(parse_yes_no(&v, "close_opportunity").map_err(invalid)?),
                },
                revenue,
                date: args.date(&["date", "close_date", "on"])?,
                description: args.text(&["description", "desc", "note"])?,
            }
        }
        (Kind::Order, "fulfil") => {
            let order = args.number(kind)?;
            Command::OrderFulfil {
                order,
                close: args.close_input()?,
            }
        }
        (Kind::Order, "cancel") => {
            let order = args.number(kind)?;
            Command::OrderCancel {
                order,
                close: args.close_input()?,
            }
        }
        (Kind::Order, "invoice") => {
            let order = args.number(kind)?;
            let lines = match args.opt(&["lines", "line", "qty", "bill"])? {
                None => std::collections::BTreeMap::new(),
                Some(v) => bill_lines(&v, args.ctx.team.locale).map_err(invalid)?,
            };
            Command::OrderInvoice { order, lines }
        }
        (Kind::Invoice, "pay") => {
            let invoice = args.number(kind)?;
            match args.opt(&["amount", "betrag"])? {
                Some(a) => {
                    let amount = parse_amount(&a, args.ctx.team.locale)
                        .map_err(|e| invalid(format!("amount: {e}")))?;
                    let date = args.date(&["date", "on", "paid_on"])?;
                    if date > args.ctx.today() {
                        return Err(invalid(format!(
                            "date: {date} is in the future; record a payment when it is received"
                        )));
                    }
                    Command::InvoicePayment {
                        invoice,
                        amount,
                        date,
                        note: args.text(&["note", "description", "desc"])?,
                    }
                }
                None => Command::InvoicePaid {
                    invoice,
                    close: args.close_input()?,
                },
            }
        }
        (Kind::Invoice, "paid") => {
            let invoice = args.number(kind)?;
            Command::InvoicePaid {
                invoice,
                close: args.close_input()?,
            }
        }
        (Kind::Activity, "done") => {
            let activity = args.number(kind)?;
            Command::ActivityDone {
                activity,
                result: args.text(&["result", "outcome"])?,
            }
        }
        (Kind::Activity, "cancel") => Command::ActivityCancel(args.number(kind)?),
        (Kind::Activity, "reschedule") => {
            let activity = args.number(kind)?;
            let due = args.when(&["due", "start", "at", "to"])?.ok_or_else(|| {
                invalid("/activity reschedule needs the new time: due:\"tomorrow 10:00\"")
            })?;
            Command::ActivityReschedule { activity, due }
        }
        (Kind::Activity, "assign") => {
            let activity = args.number(kind)?;
            let owner = args
                .owner()?
                .ok_or_else(|| invalid("/activity assign needs owner:<name>"))?;
            Command::ActivityAssign { activity, owner }
        }
        (_, "timeline") => {
            let id = args.id(kind)?;
            timeline(args, id)?
        }
        (Kind::Invoice, "cancel") => {
            let invoice = args.number(kind)?;
            Command::InvoiceCancel {
                invoice,
                close: args.close_input()?,
            }
        }
        (_, other) => {
            return Err(invalid(format!(
                "{base} has no action '{other}'; actions: {}",
                actions.join(", ")
            )))
        }
    })
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
