//! The generic record commands every kind has: `/show`, `/list`,
//! `/history`, `/<kind> new`, `/<kind> edit`, the import's lead, and
//! `/help`: parsed, applied and explained side by side.

use super::apply::{
    check_unique, ensure_exists_any, field_text, no_product, read_product, set_fields,
};
use super::args::{invalid, Args};
use super::parse::Command;
use super::parse::{FieldKey, Fields, ListQuery, Target};
use super::records::Tx;
use super::records::{self, keys, load, next_number, require, save, HistoryEntry};
use super::render::reply;
use super::{help, render};
use super::{CommandError, Context, Family, Outcome, Reply};
use crate::domain::activity::Activity;
use crate::domain::fields::normalize_name;
use crate::domain::fields::Editable;
use crate::domain::invoice::Invoice;
use crate::domain::lead::Lead;
use crate::domain::opportunity::Opportunity;
use crate::domain::opportunity::{OppState, OppStatus};
use crate::domain::order::Order;
use crate::domain::party::{Account, Address, Contact};
use crate::domain::product::Product;
use crate::domain::quote::Quote;
use crate::domain::Kind;
use crate::domain::{AnyRecord, Record, RecordId, Refusal};

/// The record family in the command table ([`super::FAMILIES`]).
pub(super) const FAMILY: Family = Family {
    topic: "records",
    actions: &[(Kind::Lead, "new"), (Kind::Contact, "new"), (Kind::Account, "new"), (Kind::Opportunity, "new"), (Kind::Lead, "edit"), (Kind::Lead, "show"), (Kind::Lead, "list"), (Kind::Lead, "history"), (Kind::Contact, "edit"), (Kind::Contact, "show"), (Kind::Contact, "list"), (Kind::Contact, "history"), (Kind::Account, "edit"), (Kind::Account, "show"), (Kind::Account, "list"), (Kind::Account, "history"), (Kind::Opportunity, "edit"), (Kind::Opportunity, "show"), (Kind::Opportunity, "list"), (Kind::Opportunity, "history"), (Kind::Quote, "edit"), (Kind::Quote, "show"), (Kind::Quote, "list"), (Kind::Quote, "history"), (Kind::Order, "edit"), (Kind::Order, "show"), (Kind::Order, "list"), (Kind::Order, "history"), (Kind::Invoice, "edit"), (Kind::Invoice, "show"), (Kind::Invoice, "list"), (Kind::Invoice, "history"), (Kind::Activity, "edit"), (Kind::Activity, "show"), (Kind::Activity, "list"), (Kind::Activity, "history"), (Kind::Quote, "pdf"), (Kind::Order, "pdf"), (Kind::Invoice, "pdf")],
    steps: &["edit", "read"],
    help: &[
        ("/show <id>   /<kind> show <id>   /<kind> <id>",
         "show any record"),
        ("/list leads [state:open] [owner:me] [limit:20] [after:L-1040]",
         "list newest first; also contacts, accounts, opps, quotes, orders, invoices, products"),
        ("/find Müller Berlin [kind:lead] [limit:20]",
         "search names, companies, e-mails, phones, cities, topics and ids of every record and product (Muller finds Müller)"),
        ("/history <id>",
         "who changed what, when, with which command"),
        ("/quote pdf Q-1001   /order pdf SO-1001   /invoice pdf INV-1001",
         "the document as PDF (in chat as a file; invoices with the e-invoice inside)"),
        ("/contact edit C-1001 ...   /account edit A-1001 ...",
         "contacts and accounts"),
    ],
    parse,
    apply,
    step,
};

/// Parses `/show`, `/history`, `/list` and `/<kind> new|edit|show|list|history`.
///
/// Fails when an id, a field or a list option does not read.
fn parse(args: &mut Args, kind: Option<Kind>, word: &str) -> Result<Option<Command>, CommandError> {
    let cmd = match (kind, word) {
        (None, "show" | "open") => Command::Show(super::args::target(args)?),
        (None, "history" | "log") => Command::History(super::args::target(args)?),
        (None, "list" | "ls") => {
            let word = args
                .word()
                .ok_or_else(|| invalid("/list needs a kind: /list leads, /list quotes ..."))?;
            let kind = if normalize_name(&word).trim_end_matches('s') == "product" {
                None
            } else {
                Some(Kind::from_word(&word).ok_or_else(|| invalid(format!("cannot list '{word}'; lists: leads, contacts, accounts, opps, quotes, orders, invoices, products")))?)
            };
            super::args::list(args, kind)?
        }
        (Some(kind), "list") => super::args::list(args, Some(kind))?,
        (Some(kind), "show") => Command::Show(Target::Record(args.id(kind)?)),
        (Some(kind @ (Kind::Quote | Kind::Order | Kind::Invoice)), "pdf" | "document") => {
            Command::Document(args.id(kind)?)
        }
        (Some(kind), "history") => Command::History(Target::Record(args.id(kind)?)),
        // A quote is made from its opportunity ([`super::quote`]).
        (Some(kind), "new") if kind != Kind::Quote => {
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
        (Some(kind), "edit") => {
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
        _ => return Ok(None),
    };
    Ok(Some(cmd))
}

/// The step a generic record command is: `edit` for records other
/// families do not name, `read` for what only reads.
fn step(cmd: &Command) -> Option<&'static str> {
    Some(match cmd {
        Command::New { .. } | Command::Edit { .. } => "edit",
        c if c.is_read_only() => "read",
        _ => return None,
    })
}

/// What this family's commands did.
#[derive(Debug, Clone)]
pub enum Done {
    /// `/help`: the text asked for.
    Help(String),
    /// A record made; for a lead, the other leads with its e-mail.
    Created(AnyRecord, Vec<u64>),
    /// An imported lead not made: leads with its e-mail exist.
    Duplicate(String, Vec<u64>),
    /// A record edited, and the names of the fields set.
    Updated(AnyRecord, Vec<String>),
    /// A record or product shown, with what its page lists.
    Shown(Box<View>),
    /// A list of records: its kind, state filter, rows and whether there
    /// are more.
    Listed {
        kind: Kind,
        state: Option<&'static str>,
        rows: Vec<AnyRecord>,
        more: bool,
    },
    /// The product catalogue.
    Products(Vec<Product>),
    /// A record's history: its id as shown, and the entries.
    History(String, Vec<HistoryEntry>),
    /// A record whose document the front end renders and sends along.
    Document(AnyRecord),
}

impl Done {
    pub(super) fn created(&self) -> Option<RecordId> {
        match self {
            Done::Created(r, _) => Some(r.id()),
            _ => None,
        }
    }

    pub(super) fn listed(&self) -> Option<Vec<RecordId>> {
        match self {
            Done::Listed { rows, .. } => Some(rows.iter().map(AnyRecord::id).collect()),
            _ => None,
        }
    }

    pub(super) fn document(&self) -> Option<RecordId> {
        match self {
            Done::Document(r) => Some(r.id()),
            _ => None,
        }
    }

    pub(super) fn duplicate(&self) -> Option<&[u64]> {
        match self {
            Done::Duplicate(_, existing) => Some(existing),
            _ => None,
        }
    }
}

/// A record as `/show` shows it, with the records its page names.
#[derive(Debug, Clone)]
pub enum View {
    Lead(Lead),
    Contact(Contact),
    Account(Account, render::AccountRecords),
    Opportunity(Opportunity, Vec<Quote>, render::Parties),
    Quote(Quote, render::Parties),
    Order(Order, render::Parties),
    Invoice(Invoice, render::Parties),
    Activity(Activity),
    Product(Product),
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
        Command::Help(topic) => {
            Done::Help(help::text(topic.as_deref(), ctx.rules).map_err(CommandError::Invalid)?)
        }
        Command::Show(target) => Done::Shown(Box::new(show(tx, ctx, target)?)),
        Command::Document(id) => {
            ensure_exists_any(tx, ctx, *id)?;
            Done::Document(records::load_any(tx, id.kind, id.number, id.revision)?)
        }
        Command::List(q) => list(tx, q)?,
        Command::History(target) => history(tx, ctx, target)?,
        Command::New { kind, fields } => create(tx, ctx, text, *kind, fields)?,
        Command::ImportLead(fields) => {
            if let Some(email) = field_text(fields, "email") {
                let existing = leads_with_email(tx, &email.to_lowercase())?;
                if !existing.is_empty() {
                    return Ok(Some(Outcome::Record(Done::Duplicate(email, existing))));
                }
            }
            create(tx, ctx, text, Kind::Lead, fields)?
        }
        Command::Edit { target, fields } => edit(tx, ctx, text, *target, fields)?,
        _ => return Ok(None),
    };
    Ok(Some(Outcome::Record(done)))
}

/// This family's outcomes for people, scripts and chat.
pub(super) fn render(done: &Done, ctx: &Context) -> Reply {
    let r = ctx.rules;
    match done {
        Done::Help(text) => Reply::text(text.clone()),
        Done::Created(record, others) => {
            let id = r.numbering.display(record.id());
            match record {
                AnyRecord::Lead(lead) => {
                    let mut msg = format!("Created {id} {}.", lead.title());
                    if !others.is_empty() {
                        let others: Vec<String> =
                            others.iter().map(|n| r.show(Kind::Lead, *n)).collect();
                        msg.push_str(&format!(
                            " Note: {} also {} this e-mail.",
                            others.join(", "),
                            if others.len() == 1 { "has" } else { "have" }
                        ));
                    }
                    reply(
                        ctx,
                        msg,
                        record,
                        vec![
                            format!("/qualify {id}"),
                            format!("/disqualify {id} reason:"),
                        ],
                    )
                }
                AnyRecord::Contact(c) => reply(
                    ctx,
                    format!("Created {id} {}.", c.full_name()),
                    record,
                    vec![],
                ),
                AnyRecord::Opportunity(o) => reply(
                    ctx,
                    format!("Created {id} {}.", o.name),
                    record,
                    vec![
                        format!("/opp line add {id} sku:"),
                        format!("/quote new {id}"),
                    ],
                ),
                other => reply(
                    ctx,
                    format!("Created {id} {}.", other.title()),
                    record,
                    vec![],
                ),
            }
        }
        Done::Duplicate(email, _) => Reply::text(format!("leads with {email} exist")),
        Done::Updated(record, names) => reply(
            ctx,
            format!(
                "Updated {} ({}).",
                r.numbering.display(record.id()),
                names.join(", ")
            ),
            record,
            vec![],
        ),
        Done::Shown(view) => shown(view, ctx),
        Done::Listed {
            kind,
            state,
            rows,
            more,
        } => {
            let mut text = if rows.is_empty() {
                format!(
                    "No {}{}.",
                    kind.plural(),
                    state.map(|s| format!(" in state {s}")).unwrap_or_default()
                )
            } else {
                let lines: Vec<String> =
                    rows.iter().map(|row| render::list_line(ctx, row)).collect();
                lines.join("\n")
            };
            let mut next = Vec::new();
            if let (true, Some(last)) = (*more, rows.last()) {
                let after = r.show(*kind, last.id().number);
                text.push_str(&format!("\n(more: add after:{after})"));
                next.push(format!("after:{after}"));
            }
            reply(ctx, text, rows, next)
        }
        Done::Products(products) => {
            let text = if products.is_empty() {
                "No products.".to_string()
            } else {
                let lines: Vec<String> = products.iter().map(render::product_line).collect();
                lines.join("\n")
            };
            reply(ctx, text, products, vec![])
        }
        Done::History(id, entries) => {
            reply(ctx, render::history(id, entries, ctx), entries, vec![])
        }
        Done::Document(record) => {
            let id = r.numbering.display(record.id());
            Reply::text(format!(
                "The document of {id} goes along as PDF in chat; in a terminal, leadline document {} writes it to a file.",
                r.show(record.id().kind, record.id().number)
            ))
        }
    }
}

/// A record's page.
fn shown(view: &View, ctx: &Context) -> Reply {
    let (text, next) = match view {
        View::Product(p) => return reply(ctx, render::product(p), p, vec![]),
        View::Lead(r) => render::lead(r, ctx),
        View::Contact(r) => (render::contact(r, ctx), vec![]),
        View::Account(r, related) => {
            let mut text = render::account(r, ctx);
            for line in render::account_records(ctx, related) {
                text.push('\n');
                text.push_str(&line);
            }
            (text, vec![])
        }
        View::Opportunity(r, quotes, names) => render::opportunity(r, quotes, names, ctx),
        View::Quote(r, names) => render::quote(r, names, ctx),
        View::Order(r, names) => render::order(r, names, ctx),
        View::Invoice(r, names) => render::invoice(r, names, ctx),
        View::Activity(r) => render::activity(r, ctx),
    };
    // The record as JSON, made only when the front end asks for it.
    match view {
        View::Lead(r) => reply(ctx, text, r, next),
        View::Contact(r) => reply(ctx, text, r, next),
        View::Account(r, _) => reply(ctx, text, r, next),
        View::Opportunity(r, _, _) => reply(ctx, text, r, next),
        View::Quote(r, _) => reply(ctx, text, r, next),
        View::Order(r, _) => reply(ctx, text, r, next),
        View::Invoice(r, _) => reply(ctx, text, r, next),
        View::Activity(r) => reply(ctx, text, r, next),
        View::Product(r) => reply(ctx, text, r, next),
    }
}

fn other_leads_with_email(tx: &dyn Tx, lead: &Lead) -> Result<Vec<u64>, CommandError> {
    let Some(email) = &lead.email else {
        return Ok(Vec::new());
    };
    let rows = tx.scan(&keys::lead_email(email), None, false, 5)?;
    Ok(rows
        .iter()
        .filter_map(|(_, v)| serde_json::from_slice::<u64>(v).ok())
        .filter(|n| *n != lead.number)
        .collect())
}

/// Leads with this e-mail, for import's duplicate check.
///
/// Fails when the store cannot be read.
pub fn leads_with_email(tx: &dyn Tx, email: &str) -> Result<Vec<u64>, CommandError> {
    let rows = tx.scan(&keys::lead_email(email), None, false, 5)?;
    Ok(rows
        .iter()
        .filter_map(|(_, v)| serde_json::from_slice::<u64>(v).ok())
        .collect())
}

fn create(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    kind: Kind,
    fields: &Fields,
) -> Result<Done, CommandError> {
    let number = next_number(tx, ctx, kind)?;
    let owner = ctx.actor.clone();
    let made = match kind {
        Kind::Lead => {
            let mut lead = Lead::new(number, String::new(), owner, ctx.rules.currency.clone(), ctx.now);
            set_fields(tx, ctx, kind, &mut lead, fields)?;
            lead.check_complete()?;
            let others = other_leads_with_email(tx, &lead)?;
            save(tx, ctx, text, None, &lead)?;
            Ok(Done::Created(lead.into_any(), others))
        }
        Kind::Contact => {
            let mut c = Contact {
                number,
                first_name: None,
                last_name: None,
                email: None,
                mobile_phone: None,
                business_phone: None,
                job_title: None,
                account: None,
                description: None,
                owner,
                custom: Default::default(),
                created_at: ctx.now,
            };
            set_fields(tx, ctx, kind, &mut c, fields)?;
            if c.last_name.is_none() && c.email.is_none() {
                return Err(Refusal::new("a contact needs a last name or an e-mail (last:..., email:...)").into());
            }
            check_unique(tx, ctx, kind, number, c.lookups())?;
            save(tx, ctx, text, None, &c)?;
            Ok(Done::Created(c.into_any(), Vec::new()))
        }
        Kind::Account => {
            let mut a = Account {
                number,
                name: String::new(),
                website: None,
                phone: None,
                address: Address::default(),
                primary_contact: None,
                description: None,
                language: None,
                vat_id: None,
                leitweg_id: None,
                reverse_charge: false,
                owner,
                custom: Default::default(),
                created_at: ctx.now,
            };
            set_fields(tx, ctx, kind, &mut a, fields)?;
            if a.name.trim().is_empty() {
                return Err(Refusal::new("an account needs a name (name:\"...\")").into());
            }
            check_unique(tx, ctx, kind, number, a.lookups())?;
            save(tx, ctx, text, None, &a)?;
            Ok(Done::Created(a.into_any(), Vec::new()))
        }
        Kind::Opportunity => {
            if field_text(fields, "name").is_none() {
                return Err(Refusal::new("an opportunity needs a name (name:\"...\")").into());
            }
            let mut o = Opportunity {
                number,
                name: String::new(),
                account: None,
                contact: None,
                lead: None,
                current_situation: None,
                desired_situation: None,
                proposed_solution: None,
                description: None,
                probability: None,
                estimated_revenue: None,
                budget: None,
                decision_date: None,
                follow_up: None,
                owner,
                pricing: crate::domain::lines::Pricing {
                    freight_tax: ctx.rules.freight_tax,
                    ..crate::domain::lines::Pricing::new(ctx.rules.currency.clone())
                },
                custom: Default::default(),
                quotes: Vec::new(),
                state: OppState::Open {
                    status: OppStatus::InProgress,
                },
                created_at: ctx.now,
            };
            set_fields(tx, ctx, kind, &mut o, fields)?;
            save(tx, ctx, text, None, &o)?;
            Ok(Done::Created(o.into_any(), Vec::new()))
        }
        Kind::Activity => Err(CommandError::Invalid(
            "activities are added from a record's timeline: /call, /task, /meeting or /note <id> ...".to_string(),
        )),
        Kind::Quote | Kind::Order | Kind::Invoice => Err(CommandError::Invalid(format!(
            "{} are not made with new; they come from the step before (/quote new O-..., /quote win, /order invoice)",
            kind.plural()
        ))),
    };
    made
}

fn edit(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    target: RecordId,
    fields: &Fields,
) -> Result<Done, CommandError> {
    fn run<R: Record + Editable>(
        tx: &mut dyn Tx,
        ctx: &Context,
        text: &str,
        target: RecordId,
        fields: &Fields,
        guard: impl Fn(&R) -> Result<(), Refusal>,
    ) -> Result<Done, CommandError> {
        let old: R = require(tx, ctx, target.number, target.revision)?;
        guard(&old)?;
        let mut new = old.clone();
        set_fields(tx, ctx, R::KIND, &mut new, fields)?;
        check_unique(tx, ctx, R::KIND, new.number(), new.lookups())?;
        save(tx, ctx, text, Some(&old), &new)?;
        let names: Vec<String> = fields
            .iter()
            .map(|(k, _)| match k {
                FieldKey::Builtin(n) => n.to_string(),
                FieldKey::Custom(n) => n.clone(),
            })
            .collect();
        Ok(Done::Updated(new.into_any(), names))
    }
    let r = ctx.rules;
    match target.kind {
        Kind::Lead => run::<Lead>(tx, ctx, text, target, fields, |l| {
            l.ensure_open(r, "edit")?;
            let mut probe = l.clone();
            for (k, v) in fields {
                if let FieldKey::Builtin(n) = k {
                    probe.set(n, v.clone())?;
                }
            }
            probe.check_complete()
        }),
        Kind::Contact => run::<Contact>(tx, ctx, text, target, fields, |_| Ok(())),
        Kind::Account => run::<Account>(tx, ctx, text, target, fields, |_| Ok(())),
        Kind::Activity => run::<Activity>(tx, ctx, text, target, fields, |_| Ok(())),
        Kind::Opportunity => {
            run::<Opportunity>(tx, ctx, text, target, fields, |o| o.ensure_open(r, "edit"))
        }
        Kind::Quote => run::<Quote>(tx, ctx, text, target, fields, |q| q.ensure_draft(r, "edit")),
        Kind::Order => run::<Order>(tx, ctx, text, target, fields, |o| {
            o.ensure_active(r, "edit")
        }),
        Kind::Invoice => {
            run::<Invoice>(tx, ctx, text, target, fields, |i| i.ensure_open(r, "edit"))
        }
    }
}

fn show(tx: &dyn Tx, ctx: &Context, target: &Target) -> Result<View, CommandError> {
    let id = match target {
        Target::Product(sku) => {
            let p = read_product(tx, sku)?.ok_or_else(|| no_product(ctx, sku))?;
            return Ok(View::Product(p));
        }
        Target::Record(id) => *id,
    };
    Ok(match id.kind {
        Kind::Lead => View::Lead(require(tx, ctx, id.number, None)?),
        Kind::Contact => View::Contact(require(tx, ctx, id.number, None)?),
        Kind::Account => {
            let a: Account = require(tx, ctx, id.number, None)?;
            let related = account_records(tx, a.number)?;
            View::Account(a, related)
        }
        Kind::Opportunity => {
            let o: Opportunity = require(tx, ctx, id.number, None)?;
            let mut quotes = Vec::new();
            for n in &o.quotes {
                if let Some(q) = load::<Quote>(tx, *n, None)? {
                    quotes.push(q);
                }
            }
            let names = party_names(tx, o.account, o.contact)?;
            View::Opportunity(o, quotes, names)
        }
        Kind::Quote => {
            let q: Quote = require(tx, ctx, id.number, id.revision)?;
            let names = party_names(tx, q.account, q.contact)?;
            View::Quote(q, names)
        }
        Kind::Order => {
            let o: Order = require(tx, ctx, id.number, None)?;
            let names = party_names(tx, o.account, o.contact)?;
            View::Order(o, names)
        }
        Kind::Invoice => {
            let i: Invoice = require(tx, ctx, id.number, None)?;
            let names = party_names(tx, i.account, i.contact)?;
            View::Invoice(i, names)
        }
        Kind::Activity => View::Activity(require(tx, ctx, id.number, None)?),
    })
}

/// What an account's page lists: its contacts, deals and documents, and
/// the activities on it, its contacts and its opportunities.
fn account_records(tx: &dyn Tx, number: u64) -> Result<render::AccountRecords, CommandError> {
    let related = |what: &str| -> Result<Vec<u64>, CommandError> {
        let prefix = keys::lookups_under(what, number);
        Ok(tx
            .scan(&prefix, None, false, usize::MAX)?
            .iter()
            .filter_map(|(_, v)| serde_json::from_slice::<u64>(v).ok())
            .collect())
    };
    let mut out = render::AccountRecords::default();
    let mut sources = vec![RecordId::new(Kind::Account, number)];
    for (what, kind, title) in [
        ("acct_contact", Kind::Contact, "contacts"),
        ("acct_opportunity", Kind::Opportunity, "opportunities"),
        ("acct_quote", Kind::Quote, "quotes"),
        ("acct_order", Kind::Order, "orders"),
        ("acct_invoice", Kind::Invoice, "invoices"),
    ] {
        let mut numbers = related(what)?;
        numbers.dedup();
        if numbers.is_empty() {
            continue;
        }
        let mut records = Vec::new();
        for n in numbers.iter().rev() {
            records.push(records::load_any(tx, kind, *n, None)?);
            if matches!(kind, Kind::Contact | Kind::Opportunity) {
                sources.push(RecordId::new(kind, *n));
            }
        }
        out.groups.push((title, records));
    }
    for id in sources {
        for n in super::activities::timeline_numbers(tx, id)? {
            if let Some(a) = load::<Activity>(tx, n, None)? {
                out.activities.push(a);
            }
        }
    }
    out.activities
        .sort_by_key(|a| std::cmp::Reverse(a.created_at));
    Ok(out)
}

/// The names of a record's account and contact, for `show`.
fn party_names(
    tx: &dyn Tx,
    account: Option<u64>,
    contact: Option<u64>,
) -> Result<render::Parties, CommandError> {
    Ok(render::Parties {
        account: match account {
            Some(n) => load::<Account>(tx, n, None)?.map(|a| a.name),
            None => None,
        },
        contact: match contact {
            Some(n) => load::<Contact>(tx, n, None)?.map(|c| c.full_name()),
            None => None,
        },
    })
}

fn list(tx: &dyn Tx, q: &ListQuery) -> Result<Done, CommandError> {
    let Some(kind) = q.kind else {
        let rows = tx.scan(keys::PRODUCTS, None, false, usize::MAX)?;
        let mut products = Vec::new();
        for (_, v) in rows {
            let p: Product = serde_json::from_slice(&v)
                .map_err(|e| CommandError::Store(records::TxError(e.to_string())))?;
            let state = if p.active { "active" } else { "retired" };
            if q.state.is_some_and(|s| s != state) || products.len() >= q.limit {
                continue;
            }
            products.push(p);
        }
        return Ok(Done::Products(products));
    };
    let entries = match (q.state, q.owner.as_deref()) {
        (None, None) => newest_entries(tx, &keys::records(kind), q)?,
        (Some(state), Some(owner)) => newest_entries(tx, &keys::index(kind, state, owner), q)?,
        // A state's records: the newest of each of its owners' ranges; an
        // owner's: the newest of each state's.
        (Some(state), None) => {
            let owners = segments(tx, &keys::state_base(kind, state))?;
            merge_newest(tx, q, owners.iter().map(|o| keys::index(kind, state, o)))?
        }
        (None, Some(owner)) => {
            let states = segments(tx, &keys::state_owner_base(kind))?;
            merge_newest(tx, q, states.iter().map(|s| keys::index(kind, s, owner)))?
        }
    };
    let more = entries.len() > q.limit;
    let mut rows = Vec::new();
    for entry in entries.into_iter().take(q.limit) {
        let entry = String::from_utf8_lossy(&entry).to_string();
        let mut parts = entry.split('/');
        let number: u64 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let revision: Option<u32> = parts.next().and_then(|r| r.parse().ok());
        rows.push(records::load_any(tx, kind, number, revision)?);
    }
    Ok(Done::Listed {
        kind,
        state: q.state,
        rows,
        more,
    })
}

/// The entries (`number` or `number/revision`, as key bytes) under
/// `prefix`, newest first, before `q.after` when given; one more than
/// `q.limit` tells that there are more.
fn newest_entries(tx: &dyn Tx, prefix: &[u8], q: &ListQuery) -> Result<Vec<Vec<u8>>, CommandError> {
    let from = q.after.map(|n| {
        let mut k = prefix.to_vec();
        k.extend_from_slice(keys::entry(n, None).as_bytes());
        k
    });
    Ok(tx
        .scan(prefix, from.as_deref(), true, q.limit + 1)?
        .into_iter()
        .map(|(key, _)| key[prefix.len()..].to_vec())
        .collect())
}

/// The newest entries of several ranges together, as [`newest_entries`].
fn merge_newest(
    tx: &dyn Tx,
    q: &ListQuery,
    prefixes: impl Iterator<Item = Vec<u8>>,
) -> Result<Vec<Vec<u8>>, CommandError> {
    let mut all = Vec::new();
    for prefix in prefixes {
        all.extend(newest_entries(tx, &prefix, q)?);
    }
    all.sort_unstable_by(|a, b| b.cmp(a));
    all.truncate(q.limit + 1);
    Ok(all)
}

/// The distinct path segments right under `base` (states under
/// `i/lead/so/`, owners under `i/lead/so/open/`), found by seeking from
/// one segment's keys past their end to the next: one seek each.
pub(super) fn segments(tx: &dyn Tx, base: &[u8]) -> Result<Vec<String>, CommandError> {
    let mut found = Vec::new();
    let mut from: Option<Vec<u8>> = None;
    while let Some((key, _)) = tx.scan(base, from.as_deref(), false, 1)?.into_iter().next() {
        let rest = &key[base.len()..];
        let Some(end) = rest.iter().position(|b| *b == b'/') else {
            break;
        };
        // Every key of this segment is below `base + segment + "0"` ('0'
        // follows '/').
        let mut past = base.to_vec();
        past.extend_from_slice(&rest[..end]);
        past.push(b'0');
        found.push(String::from_utf8_lossy(&rest[..end]).to_string());
        from = Some(past);
    }
    Ok(found)
}

fn history(tx: &dyn Tx, ctx: &Context, target: &Target) -> Result<Done, CommandError> {
    let (subject, id) = match target {
        Target::Product(sku) => (format!("product/{sku}"), sku.clone()),
        Target::Record(id) => {
            ensure_exists_any(tx, ctx, *id)?;
            (
                records::history_subject(id.kind, id.number),
                ctx.rules.show(id.kind, id.number),
            )
        }
    };
    let entries = records::history(tx, &subject, 200)?;
    if entries.is_empty() {
        return Err(CommandError::NotFound(format!(
            "there is no history for {id}"
        )));
    }
    Ok(Done::History(id, entries))
}
