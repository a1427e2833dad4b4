//! [`apply`]: runs one typed [`Command`] against the records in a [`Tx`].
//!
//! Each branch loads what the step needs, asks the workflow core for the
//! transition, and saves every record it returns through
//! [`records::save`], which keeps indexes, lookups, numbers and history in
//! step. A refusal returns before anything is saved, and the store discards
//! the transaction, so a refused command never changes anything.

use rust_decimal::Decimal;

use super::parse::{CloseInput, Fields, ListQuery};
use super::records::{self, keys, load, lookup, next_number, require, save, save_product, Tx};
use super::{
    activities, help, mailbox, render, Command, CommandError, Context, FieldKey, Reply, Target,
};
use crate::domain::activity::Activity;
use crate::domain::fields::{set_custom, Editable, FieldType, FieldValue};
use crate::domain::invoice::{Invoice, InvoiceState};
use crate::domain::lead::{Lead, QualifyInput};
use crate::domain::lines::{LineInput, Priced};
use crate::domain::opportunity::{OppState, OppStatus, Opportunity};
use crate::domain::order::{Billed, Order, OrderState};
use crate::domain::party::{account_name_key, website_domain, Account, Address, Contact};
use crate::domain::product::Product;
use crate::domain::quote::{Quote, QuoteState};
use crate::domain::{builtin_field, Kind, Record, RecordId, Refusal};

/// Runs `cmd` (typed from `text`) in `tx`.
///
/// Fails when the command is refused by the rules, names a record that does
/// not exist, or the store cannot be read; `tx` must then be discarded.
pub fn apply(
    cmd: &Command,
    text: &str,
    tx: &mut dyn Tx,
    ctx: &Context,
) -> Result<Reply, CommandError> {
    let text = text.trim();
    super::permit(cmd, ctx)?;
    match cmd {
        Command::Help(topic) => help::text(topic.as_deref(), ctx.rules)
            .map(Reply::text)
            .map_err(CommandError::Invalid),
        Command::Show(target) => show(tx, ctx, target),
        Command::List(q) => list(tx, ctx, q),
        Command::History(target) => history(tx, ctx, target),
        Command::New { kind, fields } => create(tx, ctx, text, *kind, fields),
        Command::ImportLead(fields) => {
            if let Some(email) = field_text(fields, "email") {
                let existing = leads_with_email(tx, &email.to_lowercase())?;
                if !existing.is_empty() {
                    return Ok(Reply::text(format!("leads with {email} exist"))
                        .with(super::Outcome::Duplicate(existing)));
                }
            }
            create(tx, ctx, text, Kind::Lead, fields)
        }
        Command::Edit { target, fields } => edit(tx, ctx, text, *target, fields),
        Command::ProductNew { sku, fields } => {
            if let Some(existing) = read_product(tx, sku)? {
                return Err(existing.exists_already().into());
            }
            let builtin = fields
                .iter()
                .filter_map(|(key, value)| match key {
                    FieldKey::Builtin(name) => Some((*name, value.clone())),
                    FieldKey::Custom(_) => None,
                })
                .collect();
            let p = Product::create(sku.clone(), ctx.rules.currency.clone(), builtin)?;
            save_product(tx, ctx, text, None, &p)?;
            Ok(reply(
                ctx,
                format!("Created product {}.", render::product_line(&p)),
                &p,
                vec![],
            ))
        }
        Command::ProductEdit { sku, fields } => {
            let old = read_product(tx, sku)?.ok_or_else(|| no_product(ctx, sku))?;
            let mut p = old.clone();
            for (key, value) in fields {
                if let FieldKey::Builtin(name) = key {
                    p.set(name, value.clone())?;
                }
            }
            save_product(tx, ctx, text, Some(&old), &p)?;
            Ok(reply(
                ctx,
                format!("Updated product {}.", render::product_line(&p)),
                &p,
                vec![],
            ))
        }
        Command::Qualify(n) => qualify(tx, ctx, text, *n),
        Command::Disqualify { lead, close } => {
            let new: Lead = step(tx, ctx, text, *lead, None, |l: &Lead| {
                l.disqualify(close, ctx.rules)
            })?;
            let id = ctx.rules.show(Kind::Lead, *lead);
            Ok(reply(
                ctx,
                format!(
                    "Disqualified {id} {}: {}.",
                    new.topic,
                    close_reason(&new.state)
                ),
                &new,
                vec![format!("/lead reactivate {id}")],
            ))
        }
        Command::Reactivate(n) => {
            let new: Lead = step(tx, ctx, text, *n, None, |l: &Lead| l.reactivate(ctx.rules))?;
            let id = ctx.rules.show(Kind::Lead, *n);
            Ok(reply(
                ctx,
                format!("Reactivated {id} {}: it is open again.", new.topic),
                &new,
                vec![format!("/qualify {id}")],
            ))
        }
        Command::OppWin {
            opp,
            revenue,
            date,
            description,
        } => {
            let old: Opportunity = require(tx, ctx, *opp, None)?;
            let (revenue, how) = match revenue {
                Some(r) => (*r, "as given"),
                None => computed_revenue(tx, &old)?,
            };
            let new = old.win(revenue, *date, description.clone(), ctx.rules)?;
            save(tx, ctx, text, Some(&old), &new)?;
            Ok(reply(
                ctx,
                format!(
                    "Won {} {}: actual revenue {} ({how}).",
                    ctx.rules.show(Kind::Opportunity, *opp),
                    new.name,
                    new.pricing.currency.format(revenue)
                ),
                &new,
                vec![],
            ))
        }
        Command::OppLose {
            opp,
            close,
            competitor,
        } => {
            let new: Opportunity = step(tx, ctx, text, *opp, None, |o: &Opportunity| {
                o.lose(close, competitor.clone(), ctx.rules)
            })?;
            let id = ctx.rules.show(Kind::Opportunity, *opp);
            Ok(reply(
                ctx,
                format!("Lost {id} {}: {}.", new.name, opp_state(&new.state)),
                &new,
                vec![format!("/opp reopen {id}")],
            ))
        }
        Command::OppReopen(n) => {
            let new: Opportunity = step(tx, ctx, text, *n, None, |o: &Opportunity| {
                o.reopen(ctx.rules)
            })?;
            let id = ctx.rules.show(Kind::Opportunity, *n);
            Ok(reply(
                ctx,
                format!("Reopened {id} {}.", new.name),
                &new,
                vec![format!("/quote new {id}")],
            ))
        }
        Command::LineAdd { target, line } => lines(tx, ctx, text, *target, LineOp::Add(line)),
        Command::LineEdit { target, no, line } => {
            lines(tx, ctx, text, *target, LineOp::Edit(*no, line))
        }
        Command::LineRemove { target, no } => lines(tx, ctx, text, *target, LineOp::Remove(*no)),
        Command::QuoteNew(opp) => {
            let old: Opportunity = require(tx, ctx, *opp, None)?;
            let number = next_number(tx, ctx, Kind::Quote)?;
            let quote = Quote::from_opportunity(&old, number, ctx.rules, ctx.now)?;
            let mut new = old.clone();
            new.quotes.push(number);
            save(tx, ctx, text, Some(&old), &new)?;
            save(tx, ctx, text, None, &quote)?;
            let id = ctx.rules.show(Kind::Quote, number);
            Ok(reply(
                ctx,
                format!(
                    "Created draft {id} from {}: {} line(s), total {}.",
                    ctx.rules.show(Kind::Opportunity, *opp),
                    quote.pricing.lines.len(),
                    quote
                        .pricing
                        .currency
                        .format(quote.pricing.totals().total_amount)
                ),
                &quote,
                vec![
                    format!("/quote activate {id}"),
                    format!("/quote line add {id} sku:"),
                ],
            ))
        }
        Command::NewActivity(input) => activities::create(tx, ctx, text, input),
        Command::ActivityDone { activity, result } => {
            let a: Activity = step(tx, ctx, text, *activity, None, |a: &Activity| {
                a.complete(result.clone(), ctx.rules, ctx.now)
            })?;
            Ok(activities::changed(&a, "Completed", ctx))
        }
        Command::ActivityCancel(activity) => {
            let a: Activity = step(tx, ctx, text, *activity, None, |a: &Activity| {
                a.cancel(ctx.rules, ctx.now)
            })?;
            Ok(activities::changed(&a, "Canceled", ctx))
        }
        Command::ActivityReschedule { activity, due } => {
            let a: Activity = step(tx, ctx, text, *activity, None, |a: &Activity| {
                a.reschedule(*due, ctx.team.zone_of(&a.owner), ctx.rules, ctx.now)
            })?;
            Ok(activities::changed(&a, "Rescheduled", ctx))
        }
        Command::ActivityAssign { activity, owner } => {
            let a: Activity = step(tx, ctx, text, *activity, None, |a: &Activity| {
                a.reassign(owner.clone(), ctx.rules)
            })?;
            Ok(activities::changed(&a, "Reassigned", ctx))
        }
        Command::Timeline(q) => activities::timeline(tx, ctx, q),
        Command::IngestMail(batch) => mailbox::ingest(tx, ctx, batch),
        Command::Inbox { limit } => mailbox::inbox(tx, *limit),
        Command::InboxLink { mail, target } => mailbox::link(tx, ctx, text, *mail, *target),
        Command::InboxLead { mail } => mailbox::lead_from(tx, ctx, text, *mail),
        Command::Why(n) => mailbox::why(tx, ctx, *n),
        Command::Email(input) => mailbox::email(tx, ctx, text, input),
        Command::Outbox { all } => mailbox::outbox(tx, *all),
        Command::OutboxStep { mail, step } => mailbox::outbox_step(tx, ctx, text, *mail, step),
        Command::OutboxRecover => mailbox::outbox_recover(tx, ctx),
        Command::MailAccountNotice { account, text } => {
            mailbox::account_notice(tx, ctx, account, text)
        }
        Command::NoticeDelivered(n) => {
            super::queue::delivered(tx, ctx, *n)?;
            Ok(Reply::text(format!("notice #{n} delivered")))
        }
        Command::Agenda { owner } => activities::agenda(tx, ctx, owner.as_deref()),
        Command::Find(q) => super::search::find(tx, ctx, q),
        Command::Overdue { owner, everyone } => {
            activities::overdue(tx, ctx, owner.as_deref(), *everyone)
        }
        Command::Notices { owner, limit } => activities::notices(tx, ctx, owner.as_deref(), *limit),
        Command::Sweep { limit } => activities::sweep(tx, ctx, *limit),
        Command::QueueDigest(mail) => activities::queue_digest(tx, ctx, mail),
        Command::JobRan { job } => {
            records::write(tx, super::queue::keys::job(job), &ctx.now)?;
            Ok(Reply::text(format!("{job} ran at {}", ctx.now)))
        }
        Command::QuoteActivate(id) => {
            let new: Quote = step(tx, ctx, text, id.number, id.revision, |q: &Quote| {
                q.activate(ctx.rules, ctx.today(), ctx.now)
            })?;
            let shown = quote_id(ctx, &new);
            let base = ctx.rules.show(Kind::Quote, new.number);
            Ok(reply(
                ctx,
                format!(
                    "Activated {shown}: it is read-only now; total {}.",
                    new.pricing
                        .currency
                        .format(new.pricing.totals().total_amount)
                ),
                &new,
                vec![
                    format!("/quote win {base}"),
                    format!("/quote revise {base}"),
                    format!("/quote close {base} reason:"),
                ],
            ))
        }
        Command::QuoteRevise(id) => {
            let old: Quote = require(tx, ctx, id.number, id.revision)?;
            let (closed, draft) = old.revise(ctx.rules, ctx.today(), ctx.now)?;
            save(tx, ctx, text, Some(&old), &closed)?;
            save(tx, ctx, text, None, &draft)?;
            Ok(reply(
                ctx,
                format!(
                    "Revised {}: it is closed as revised; {} is a draft to edit.",
                    quote_id(ctx, &closed),
                    quote_id(ctx, &draft)
                ),
                &draft,
                vec![format!(
                    "/quote activate {}",
                    ctx.rules.show(Kind::Quote, draft.number)
                )],
            ))
        }
        Command::QuoteClose {
            quote,
            close,
            revise,
            close_opportunity,
            opp_reason,
        } => {
            let old: Quote = require(tx, ctx, quote.number, quote.revision)?;
            if *close_opportunity && opp_reason.is_none() {
                return Err(CommandError::Invalid(format!(
                    "closing {} too needs its reason: add opp_reason:<{}>",
                    ctx.rules.show(Kind::Opportunity, old.opportunity),
                    ctx.rules.reasons.opportunity_lost.join("|")
                )));
            }
            let (closed, copy) = old.close(close, *revise, ctx.rules, ctx.now)?;
            save(tx, ctx, text, Some(&old), &closed)?;
            let mut msg = format!(
                "Closed {}: {}.",
                quote_id(ctx, &closed),
                quote_state(&closed.state)
            );
            let mut next = Vec::new();
            if let Some(draft) = &copy {
                save(tx, ctx, text, None, draft)?;
                msg.push_str(&format!(" {} is a draft to edit.", quote_id(ctx, draft)));
                next.push(format!(
                    "/quote activate {}",
                    ctx.rules.show(Kind::Quote, draft.number)
                ));
            }
            if *close_opportunity {
                let opp_old: Opportunity = require(tx, ctx, closed.opportunity, None)?;
                let input = CloseInput {
                    reason: opp_reason.clone(),
                    date: close.date,
                    description: close.description.clone(),
                };
                let opp_new = opp_old.lose(&input, None, ctx.rules)?;
                save(tx, ctx, text, Some(&opp_old), &opp_new)?;
                msg.push_str(&format!(
                    " {} is lost: {}.",
                    ctx.rules.show(Kind::Opportunity, opp_new.number),
                    opp_state(&opp_new.state)
                ));
            }
            Ok(reply(ctx, msg, &closed, next))
        }
        Command::QuoteWin {
            quote,
            date,
            description,
            close_opportunity,
            revenue,
        } => quote_win(
            tx,
            ctx,
            text,
            *quote,
            *date,
            description.clone(),
            *close_opportunity,
            *revenue,
        ),
        Command::OrderFulfil { order, close } => {
            let new: Order = step(tx, ctx, text, *order, None, |o: &Order| {
                o.fulfil(close, ctx.rules)
            })?;
            let id = ctx.rules.show(Kind::Order, *order);
            Ok(reply(
                ctx,
                format!(
                    "Fulfilled {id} {} ({}).",
                    new.name,
                    close_reason_order(&new)
                ),
                &new,
                vec![format!("/order invoice {id}")],
            ))
        }
        Command::OrderCancel { order, close } => {
            let new: Order = step(tx, ctx, text, *order, None, |o: &Order| {
                o.cancel(close, ctx.rules)
            })?;
            Ok(reply(
                ctx,
                format!(
                    "Canceled {} {} ({}).",
                    ctx.rules.show(Kind::Order, *order),
                    new.name,
                    close_reason_order(&new)
                ),
                &new,
                vec![],
            ))
        }
        Command::OrderInvoice { order, lines } => {
            let old: Order = require(tx, ctx, *order, None)?;
            let mut billed = Billed::default();
            for n in old.invoice_numbers() {
                if let Some(i) = load::<Invoice>(tx, n, None)? {
                    billed.add(&i);
                }
            }
            let number = next_number(tx, ctx, Kind::Invoice)?;
            let (new, invoice) =
                old.invoice(number, &billed, lines, ctx.today(), ctx.rules, ctx.now)?;
            save(tx, ctx, text, Some(&old), &new)?;
            save(tx, ctx, text, None, &invoice)?;
            let id = ctx.rules.show(Kind::Invoice, number);
            let rest = if matches!(new.state, OrderState::Invoiced { .. }) {
                String::new()
            } else {
                format!(
                    " {} has more to bill (/order invoice {}).",
                    ctx.rules.show(Kind::Order, *order),
                    ctx.rules.show(Kind::Order, *order)
                )
            };
            Ok(reply(
                ctx,
                format!(
                    "Created invoice {id} for {}: total {}, due {}.{rest}",
                    ctx.rules.show(Kind::Order, *order),
                    invoice
                        .pricing
                        .currency
                        .format(invoice.pricing.totals().total_amount),
                    invoice.due_date
                ),
                &invoice,
                vec![
                    format!("/invoice send {id}"),
                    format!("/invoice pay {id} amount:"),
                ],
            ))
        }
        Command::InvoicePayment {
            invoice,
            amount,
            date,
            note,
        } => {
            let new: Invoice = step(tx, ctx, text, *invoice, None, |i: &Invoice| {
                i.record_payment(*amount, *date, note.clone(), ctx.rules)
            })?;
            let id = ctx.rules.show(Kind::Invoice, *invoice);
            let c = &new.pricing.currency;
            let how = match new.state {
                InvoiceState::Paid { .. } => "paid in full".to_string(),
                _ => format!("paid in part, {} still due", c.format(new.balance())),
            };
            Ok(reply(
                ctx,
                format!(
                    "Recorded {} received {date} on {id}: {how}.",
                    c.format(*amount)
                ),
                &new,
                vec![],
            ))
        }
        Command::InvoiceCancel { invoice, close } => {
            let old: Invoice = require(tx, ctx, *invoice, None)?;
            let credit_no = next_number(tx, ctx, Kind::Invoice)?;
            let canceled = old.cancel(close, credit_no, ctx.rules)?;
            let credit = old.credit_note(credit_no, ctx.today(), ctx.rules, ctx.now);
            save(tx, ctx, text, Some(&old), &canceled)?;
            save(tx, ctx, text, None, &credit)?;
            let order_old: Order = require(tx, ctx, old.order, None)?;
            let order_new = order_old.invoice_canceled();
            if order_new != order_old {
                save(tx, ctx, text, Some(&order_old), &order_new)?;
            }
            let id = ctx.rules.show(Kind::Invoice, *invoice);
            let order_id = ctx.rules.show(Kind::Order, old.order);
            Ok(reply(
                ctx,
                format!(
                    "Canceled {id} {}: {}. Credit note {} of {} cancels it; {order_id} can be invoiced anew (/order invoice {order_id}).",
                    canceled.name,
                    render::invoice_state(&canceled.state),
                    ctx.rules.show(Kind::Invoice, credit_no),
                    credit.pricing.currency.format(credit.pricing.totals().total_amount),
                ),
                &canceled,
                vec![format!("/order invoice {order_id}")],
            ))
        }
        Command::InvoicePaid { invoice, close } => {
            let new: Invoice = step(tx, ctx, text, *invoice, None, |i: &Invoice| {
                i.pay(close, ctx.rules)
            })?;
            Ok(reply(
                ctx,
                format!(
                    "Paid {} {}: {}.",
                    ctx.rules.show(Kind::Invoice, *invoice),
                    new.name,
                    render::invoice_state(&new.state)
                ),
                &new,
                vec![],
            ))
        }
    }
}

/// Loads record `number` (for quotes, `revision`), applies a transition of
/// the workflow core to it, and saves the result.
///
/// Fails when the record does not exist or the transition is refused.
fn step<R: Record>(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    number: u64,
    revision: Option<u32>,
    transition: impl FnOnce(&R) -> Result<R, Refusal>,
) -> Result<R, CommandError> {
    let old: R = require(tx, ctx, number, revision)?;
    let new = transition(&old)?;
    save(tx, ctx, text, Some(&old), &new)?;
    Ok(new)
}

/// A reply; its `data` only when the caller wants it ([`Context::with_data`]).
fn reply<T: serde::Serialize>(ctx: &Context, text: String, data: &T, next: Vec<String>) -> Reply {
    Reply {
        outcome: super::Outcome::Done,
        text,
        data: if ctx.with_data {
            serde_json::to_value(data).unwrap_or(serde_json::Value::Null)
        } else {
            serde_json::Value::Null
        },
        next,
    }
}

fn read_product(tx: &dyn Tx, sku: &str) -> Result<Option<Product>, CommandError> {
    records::read(tx, &keys::product(sku))
}

fn close_reason(state: &crate::domain::lead::LeadState) -> String {
    match state {
        crate::domain::lead::LeadState::Disqualified { closing } => closing.reason.clone(),
        _ => String::new(),
    }
}

fn close_reason_order(order: &Order) -> String {
    use crate::domain::order::OrderState;
    match &order.state {
        OrderState::Fulfilled { closing }
        | OrderState::Canceled { closing }
        | OrderState::Invoiced { closing, .. } => closing.reason.clone(),
        OrderState::Active => "active".to_string(),
    }
}

fn opp_state(state: &OppState) -> String {
    render::opp_state(state)
}

fn quote_state(state: &QuoteState) -> String {
    render::quote_state(state)
}

fn quote_id(ctx: &Context, q: &Quote) -> String {
    render::quote_id(ctx.rules, q)
}

/// Sets fields on a record, checking that referenced records exist.
fn set_fields<R: Editable>(
    tx: &dyn Tx,
    ctx: &Context,
    kind: Kind,
    record: &mut R,
    fields: &Fields,
) -> Result<(), CommandError> {
    for (key, value) in fields {
        match key {
            FieldKey::Builtin(name) => {
                if let (FieldValue::Ref(n), Some(spec)) = (value, builtin_field(kind, name)) {
                    if let FieldType::Ref(k) = spec.ty {
                        ensure_exists(tx, ctx, k, *n)?;
                    }
                }
                record.set(name, value.clone())?;
            }
            FieldKey::Custom(name) => {
                if let Some(custom) = record.custom_mut() {
                    set_custom(custom, name, value.clone());
                }
            }
        }
    }
    Ok(())
}

fn ensure_exists(tx: &dyn Tx, ctx: &Context, kind: Kind, n: u64) -> Result<(), CommandError> {
    if tx.get(&keys::record(kind, n, None))?.is_none() {
        return Err(CommandError::NotFound(format!(
            "there is no {} {}",
            kind.name(),
            ctx.rules.show(kind, n)
        )));
    }
    Ok(())
}

fn find_account(
    tx: &dyn Tx,
    name: Option<&str>,
    website: Option<&str>,
) -> Result<Option<(Account, &'static str)>, CommandError> {
    if let Some(name) = name {
        if let Some(n) = lookup(tx, "account_name", &account_name_key(name))? {
            if let Some(a) = load::<Account>(tx, n, None)? {
                return Ok(Some((a, "name")));
            }
        }
    }
    if let Some(domain) = website.and_then(website_domain) {
        if let Some(n) = lookup(tx, "account_domain", &domain)? {
            if let Some(a) = load::<Account>(tx, n, None)? {
                return Ok(Some((a, "website")));
            }
        }
    }
    Ok(None)
}

fn find_contact(tx: &dyn Tx, email: Option<&str>) -> Result<Option<Contact>, CommandError> {
    match email {
        Some(e) => match lookup(tx, "contact_email", &e.to_lowercase())? {
            Some(n) => load::<Contact>(tx, n, None),
            None => Ok(None),
        },
        None => Ok(None),
    }
}

/// Refuses a contact whose e-mail another contact has, or an account whose
/// name or website domain another account has.
fn check_unique(
    tx: &dyn Tx,
    ctx: &Context,
    kind: Kind,
    number: u64,
    lookups: Vec<crate::domain::Lookup>,
) -> Result<(), CommandError> {
    if kind == Kind::Lead {
        return Ok(());
    }
    for l in lookups {
        let other: Option<u64> = records::read(tx, &keys::lookup(&l))?;
        if let Some(other) = other {
            if other != number {
                let value = l.shown();
                let field = match l.what {
                    "contact_email" => "e-mail",
                    "account_name" => "name",
                    _ => "website domain",
                };
                return Err(Refusal::new(format!(
                    "{} already has this {field} ({value}); use it instead of a duplicate",
                    ctx.rules.show(kind, other)
                ))
                .into());
            }
        }
    }
    Ok(())
}

fn other_leads_with_email(
    tx: &dyn Tx,
    ctx: &Context,
    lead: &Lead,
) -> Result<Vec<String>, CommandError> {
    let Some(email) = &lead.email else {
        return Ok(Vec::new());
    };
    let rows = tx.scan(&keys::lead_email(email), None, false, 5)?;
    Ok(rows
        .iter()
        .filter_map(|(_, v)| serde_json::from_slice::<u64>(v).ok())
        .filter(|n| *n != lead.number)
        .map(|n| ctx.rules.show(Kind::Lead, n))
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

fn field_text(fields: &Fields, name: &str) -> Option<String> {
    fields.iter().find_map(|(k, v)| match (k, v) {
        (FieldKey::Builtin(n), FieldValue::Text(t)) if *n == name => Some(t.clone()),
        _ => None,
    })
}

fn create(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    kind: Kind,
    fields: &Fields,
) -> Result<Reply, CommandError> {
    let number = next_number(tx, ctx, kind)?;
    let id = ctx.rules.show(kind, number);
    let owner = ctx.actor.clone();
    let made = match kind {
        Kind::Lead => {
            let mut lead = Lead::new(number, String::new(), owner, ctx.rules.currency.clone(), ctx.now);
            set_fields(tx, ctx, kind, &mut lead, fields)?;
            lead.check_complete()?;
            let others = other_leads_with_email(tx, ctx, &lead)?;
            save(tx, ctx, text, None, &lead)?;
            let mut msg = format!("Created {id} {}.", lead.title());
            if !others.is_empty() {
                msg.push_str(&format!(
                    " Note: {} also {} this e-mail.",
                    others.join(", "),
                    if others.len() == 1 { "has" } else { "have" }
                ));
            }
            Ok(reply(ctx, msg, &lead, vec![format!("/qualify {id}"), format!("/disqualify {id} reason:")]))
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
            Ok(reply(ctx, format!("Created {id} {}.", c.full_name()), &c, vec![]))
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
            Ok(reply(ctx, format!("Created {id} {}.", a.name), &a, vec![]))
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
            Ok(reply(ctx, format!("Created {id} {}.", o.name), &o, vec![format!("/opp line add {id} sku:"), format!("/quote new {id}")]))
        }
        Kind::Activity => Err(CommandError::Invalid(
            "activities are added from a record's timeline: /call, /task, /meeting or /note <id> ...".to_string(),
        )),
        Kind::Quote | Kind::Order | Kind::Invoice => Err(CommandError::Invalid(format!(
            "{} are not made with new; they come from the step before (/quote new O-..., /quote win, /order invoice)",
            kind.plural()
        ))),
    };
    made.map(|r| r.with(super::Outcome::Created(RecordId::new(kind, number))))
}

fn edit(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    target: RecordId,
    fields: &Fields,
) -> Result<Reply, CommandError> {
    fn run<R: Record + Editable>(
        tx: &mut dyn Tx,
        ctx: &Context,
        text: &str,
        target: RecordId,
        fields: &Fields,
        guard: impl Fn(&R) -> Result<(), Refusal>,
    ) -> Result<Reply, CommandError> {
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
        let id = ctx.rules.numbering.display(new.id());
        Ok(reply(
            ctx,
            format!("Updated {id} ({}).", names.join(", ")),
            &new,
            vec![],
        ))
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

enum LineOp<'a> {
    Add(&'a LineInput),
    Edit(u32, &'a LineInput),
    Remove(u32),
}

fn lines(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    target: RecordId,
    op: LineOp,
) -> Result<Reply, CommandError> {
    fn run<R: Record + Priced>(
        tx: &mut dyn Tx,
        ctx: &Context,
        text: &str,
        target: RecordId,
        op: LineOp,
    ) -> Result<Reply, CommandError> {
        let old: R = require(tx, ctx, target.number, target.revision)?;
        old.ensure_lines_editable(ctx.rules)?;
        let mut new = old.clone();
        let id = ctx.rules.numbering.display(new.id());
        let what = match op {
            LineOp::Add(input) => {
                let product = match &input.sku {
                    Some(sku) => Some(read_product(tx, sku)?.ok_or_else(|| {
                        CommandError::NotFound(format!(
                            "there is no product {sku}; /product list shows the catalogue"
                        ))
                    })?),
                    None => None,
                };
                let no = new.pricing_mut().add_line(input, product.as_ref())?;
                format!("Added line {no} to {id}")
            }
            LineOp::Edit(no, input) => {
                new.pricing_mut().edit_line(no, input)?;
                format!("Changed line {no} of {id}")
            }
            LineOp::Remove(no) => {
                new.pricing_mut().remove_line(no)?;
                format!("Removed line {no} from {id}")
            }
        };
        save(tx, ctx, text, Some(&old), &new)?;
        let p = new.pricing();
        Ok(reply(
            ctx,
            format!(
                "{what}; total {} ({} line(s)).",
                p.currency.format(p.totals().total_amount),
                p.lines.len()
            ),
            &new,
            vec![],
        ))
    }
    match target.kind {
        Kind::Opportunity => run::<Opportunity>(tx, ctx, text, target, op),
        Kind::Quote => run::<Quote>(tx, ctx, text, target, op),
        Kind::Order => run::<Order>(tx, ctx, text, target, op),
        other => Err(CommandError::Invalid(format!(
            "{} have no lines to change",
            other.plural()
        ))),
    }
}

fn qualify(tx: &mut dyn Tx, ctx: &Context, text: &str, number: u64) -> Result<Reply, CommandError> {
    let old: Lead = require(tx, ctx, number, None)?;
    let input = QualifyInput {
        existing_contact: find_contact(tx, old.email.as_deref())?,
        existing_account: find_account(tx, old.company.as_deref(), old.website.as_deref())?,
        next_contact: next_number(tx, ctx, Kind::Contact)?,
        next_account: next_number(tx, ctx, Kind::Account)?,
        next_opportunity: next_number(tx, ctx, Kind::Opportunity)?,
        existing_opportunity: match old.opportunity {
            Some(o) => load(tx, o, None)?,
            None => None,
        },
    };
    let prior_contact = input.existing_contact.clone();
    let prior_account = input.existing_account.as_ref().map(|(a, _)| a.clone());
    let q = old.qualify(input, ctx.rules, ctx.now)?;
    save(tx, ctx, text, Some(&old), &q.lead)?;
    if let Some(a) = &q.account {
        if prior_account.as_ref() != Some(a) {
            save(tx, ctx, text, prior_account.as_ref(), a)?;
        }
    }
    if prior_contact.as_ref() != Some(&q.contact) {
        save(tx, ctx, text, prior_contact.as_ref(), &q.contact)?;
    }
    if let Some(o) = &q.opportunity {
        save(tx, ctx, text, None, o)?;
    }
    let r = ctx.rules;
    let mut made = Vec::new();
    if q.contact_created {
        made.push(format!(
            "contact {} {}",
            r.show(Kind::Contact, q.contact.number),
            q.contact.full_name()
        ));
    }
    if let (Some(a), true) = (&q.account, q.account_created) {
        made.push(format!(
            "account {} {}",
            r.show(Kind::Account, a.number),
            a.name
        ));
    }
    if let Some(o) = &q.opportunity {
        made.push(format!(
            "opportunity {} {}",
            r.show(Kind::Opportunity, o.number),
            o.name
        ));
    }
    let lead_id = r.show(Kind::Lead, number);
    let mut msg = if made.is_empty() {
        format!("Qualified {lead_id}.")
    } else {
        format!("Qualified {lead_id}: created {}.", made.join(", "))
    };
    for note in &q.notes {
        msg.push_str(&format!(" Note: {note}."));
    }
    let opp = q
        .lead
        .opportunity
        .map(|o| r.show(Kind::Opportunity, o))
        .unwrap_or_default();
    Ok(Reply {
        outcome: super::Outcome::Done,
        text: msg,
        data: serde_json::json!({
            "lead": q.lead,
            "contact": q.contact,
            "account": q.account,
            "opportunity": q.opportunity,
        }),
        next: vec![
            format!("/quote new {opp}"),
            format!("/opp line add {opp} sku:"),
        ],
    })
}

/// The sum of the won quotes' totals; without won quotes, the
/// opportunity's own lines, else its estimated revenue.
/// The revenue a win records when none is given
/// ([`Opportunity::computed_revenue`]), from its quotes.
///
/// Fails when there is nothing to compute it from, or the store fails.
fn computed_revenue(
    tx: &dyn Tx,
    opp: &Opportunity,
) -> Result<(Decimal, &'static str), CommandError> {
    let mut quotes = Vec::with_capacity(opp.quotes.len());
    for n in &opp.quotes {
        quotes.extend(load::<Quote>(tx, *n, None)?);
    }
    opp.computed_revenue(&quotes).ok_or_else(|| {
        CommandError::Invalid(
            "the opportunity has no won quotes, no lines and no estimated revenue; give the actual revenue: revenue:12000"
                .to_string(),
        )
    })
}

#[allow(clippy::too_many_arguments)]
fn quote_win(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    id: RecordId,
    date: chrono::NaiveDate,
    description: Option<String>,
    close_opportunity: Option<bool>,
    revenue: Option<Decimal>,
) -> Result<Reply, CommandError> {
    let old: Quote = require(tx, ctx, id.number, id.revision)?;
    let opp_old: Opportunity = require(tx, ctx, old.opportunity, None)?;
    let order_no = next_number(tx, ctx, Kind::Order)?;
    let won = old.win(&opp_old, date, description.clone(), order_no, ctx.rules)?;
    let order = Order::from_quote(&won, order_no, ctx.rules, ctx.now);
    save(tx, ctx, text, Some(&old), &won)?;
    save(tx, ctx, text, None, &order)?;
    let order_id = ctx.rules.show(Kind::Order, order_no);
    let mut msg = format!(
        "Won {}: created order {order_id}, total {}.",
        quote_id(ctx, &won),
        order
            .pricing
            .currency
            .format(order.pricing.totals().total_amount)
    );
    let is_open = matches!(opp_old.state, OppState::Open { .. });
    if close_opportunity.unwrap_or(is_open) {
        let (rev, how) = match revenue {
            Some(r) => (r, "as given"),
            None => computed_revenue(tx, &opp_old)?,
        };
        let opp_new = opp_old.win(rev, date, description, ctx.rules)?;
        save(tx, ctx, text, Some(&opp_old), &opp_new)?;
        msg.push_str(&format!(
            " {} is won: actual revenue {} ({how}).",
            ctx.rules.show(Kind::Opportunity, opp_new.number),
            opp_new.pricing.currency.format(rev)
        ));
    }
    Ok(reply(
        ctx,
        msg,
        &order,
        vec![format!("/order fulfil {order_id} reason:complete")],
    ))
}

fn show(tx: &dyn Tx, ctx: &Context, target: &Target) -> Result<Reply, CommandError> {
    fn one<R: Record>(
        tx: &dyn Tx,
        ctx: &Context,
        id: RecordId,
        f: impl Fn(&R, &dyn Tx) -> Result<(String, Vec<String>), CommandError>,
    ) -> Result<Reply, CommandError> {
        let r: R = require(tx, ctx, id.number, id.revision)?;
        let (text, next) = f(&r, tx)?;
        Ok(reply(ctx, text, &r, next))
    }
    match target {
        Target::Product(sku) => {
            let p = read_product(tx, sku)?.ok_or_else(|| no_product(ctx, sku))?;
            Ok(reply(ctx, render::product(&p), &p, vec![]))
        }
        Target::Record(id) => match id.kind {
            Kind::Lead => one::<Lead>(tx, ctx, *id, |r, _| Ok(render::lead(r, ctx))),
            Kind::Contact => {
                one::<Contact>(tx, ctx, *id, |r, _| Ok((render::contact(r, ctx), vec![])))
            }
            Kind::Account => one::<Account>(tx, ctx, *id, |r, tx| {
                let mut text = render::account(r, ctx);
                for line in render::account_records(tx, ctx, r.number)? {
                    text.push('\n');
                    text.push_str(&line);
                }
                Ok((text, vec![]))
            }),
            Kind::Opportunity => one::<Opportunity>(tx, ctx, *id, |r, tx| {
                let mut quotes = Vec::new();
                for n in &r.quotes {
                    if let Some(q) = load::<Quote>(tx, *n, None)? {
                        quotes.push(q);
                    }
                }
                Ok(render::opportunity(
                    r,
                    &quotes,
                    &party_names(tx, r.account, r.contact)?,
                    ctx,
                ))
            }),
            Kind::Quote => one::<Quote>(tx, ctx, *id, |r, tx| {
                Ok(render::quote(
                    r,
                    &party_names(tx, r.account, r.contact)?,
                    ctx,
                ))
            }),
            Kind::Order => one::<Order>(tx, ctx, *id, |r, tx| {
                Ok(render::order(
                    r,
                    &party_names(tx, r.account, r.contact)?,
                    ctx,
                ))
            }),
            Kind::Invoice => one::<Invoice>(tx, ctx, *id, |r, tx| {
                Ok(render::invoice(
                    r,
                    &party_names(tx, r.account, r.contact)?,
                    ctx,
                ))
            }),
            Kind::Activity => one::<Activity>(tx, ctx, *id, |r, _| Ok(render::activity(r, ctx))),
        },
    }
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

fn list(tx: &dyn Tx, ctx: &Context, q: &ListQuery) -> Result<Reply, CommandError> {
    let Some(kind) = q.kind else {
        let rows = tx.scan(b"p/", None, false, usize::MAX)?;
        let mut lines = Vec::new();
        let mut data = Vec::new();
        for (_, v) in rows {
            let p: Product = serde_json::from_slice(&v)
                .map_err(|e| CommandError::Store(records::TxError(e.to_string())))?;
            let state = if p.active { "active" } else { "retired" };
            if q.state.is_some_and(|s| s != state) || lines.len() >= q.limit {
                continue;
            }
            lines.push(render::product_line(&p));
            data.push(p);
        }
        let text = if lines.is_empty() {
            "No products.".to_string()
        } else {
            lines.join("\n")
        };
        return Ok(reply(ctx, text, &data, vec![]));
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
    let mut lines = Vec::new();
    let mut data = Vec::new();
    let mut last = None;
    let mut ids = Vec::new();
    for entry in entries.into_iter().take(q.limit) {
        let entry = String::from_utf8_lossy(&entry).to_string();
        let mut parts = entry.split('/');
        let number: u64 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let revision: Option<u32> = parts.next().and_then(|r| r.parse().ok());
        last = Some(number);
        ids.push(RecordId {
            kind,
            number,
            revision,
        });
        let (line, json) = render::list_line(tx, ctx, kind, number, revision)?;
        lines.push(line);
        data.push(json);
    }
    let mut text = if lines.is_empty() {
        format!(
            "No {}{}.",
            kind.plural(),
            q.state
                .map(|s| format!(" in state {s}"))
                .unwrap_or_default()
        )
    } else {
        lines.join("\n")
    };
    let mut next = Vec::new();
    if let (true, Some(n)) = (more, last) {
        let after = ctx.rules.show(kind, n);
        text.push_str(&format!("\n(more: add after:{after})"));
        next.push(format!("after:{after}"));
    }
    Ok(reply(ctx, text, &data, next).with(super::Outcome::Listed(ids)))
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
fn segments(tx: &dyn Tx, base: &[u8]) -> Result<Vec<String>, CommandError> {
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

fn history(tx: &dyn Tx, ctx: &Context, target: &Target) -> Result<Reply, CommandError> {
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
    Ok(reply(
        ctx,
        render::history(&id, &entries, ctx),
        &entries,
        vec![],
    ))
}

fn ensure_exists_any(tx: &dyn Tx, ctx: &Context, id: RecordId) -> Result<(), CommandError> {
    let exists = if id.kind == Kind::Quote {
        records::latest_revision(tx, id.number)?.is_some()
    } else {
        tx.get(&keys::record(id.kind, id.number, None))?.is_some()
    };
    if !exists {
        return Err(CommandError::NotFound(format!(
            "there is no {} {}",
            id.kind.name(),
            ctx.rules.numbering.display(id)
        )));
    }
    Ok(())
}

/// "there is no product X", with the record id meant when X is one typed
/// without its dash (`/show L1001`).
fn no_product(ctx: &Context, sku: &str) -> CommandError {
    let meant = Kind::ALL.into_iter().find_map(|kind| {
        let prefix = ctx.rules.numbering.format(kind).prefix;
        let bare = prefix.trim_end_matches('-');
        let upper = sku.to_uppercase();
        let digits = upper.strip_prefix(&bare.to_uppercase())?;
        (bare != prefix && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
            .then(|| format!("{prefix}{digits}"))
    });
    CommandError::NotFound(match meant {
        Some(id) => format!("there is no product {sku}; did you mean {id}?"),
        None => format!("there is no product {sku}; /product list shows the catalogue"),
    })
}
