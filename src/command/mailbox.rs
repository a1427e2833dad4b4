//! Mail in the workflow: matching received mail to records, the unmatched
//! inbox, `/why`, `/email`, and the outbox's states as the sender moves
//! mails through them. The IMAP and SMTP adapters (`crate::mail`) call in
//! here through commands; this module does no network I/O.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::activities::{summary, Summary};
use super::args::{invalid, limit, Args};
use super::parse::Command;
use super::queue::{self, NoticeKind};
use super::records::{self, keys, load, next_number, read, save, write, Tx};
use super::Family;
use super::{CommandError, Context, Reply};
use crate::domain::activity::{Activity, ActivityState, Details, Direction, Due};
use crate::domain::fields::normalize_name;
use crate::domain::lead::Lead;
use crate::domain::mail::{with_token, IncomingMail, MailAddress};
use crate::domain::opportunity::Opportunity;
pub use crate::domain::outbox::OutboxStep;
use crate::domain::outbox::Settled;
use crate::domain::party::{Account, Contact};
use crate::domain::{Kind, Record, RecordId, Refusal};

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

fn first_open<R: Record>(tx: &dyn Tx, what: &str, of: u64) -> Result<Option<R>, CommandError> {
    let prefix = keys::lookups_under(what, of);
    for (_, v) in tx.scan(&prefix, None, false, 16)? {
        if let Ok(n) = serde_json::from_slice::<u64>(&v) {
            if let Some(r) = load::<R>(tx, n, None)? {
                return Ok(Some(r));
            }
        }
    }
    Ok(None)
}

/// Finds the record a mail belongs to, with the rule that matched and its
/// evidence, trying in order: In-Reply-To/References to a mail on a
/// timeline; a tracking token in the subject; a plus-address; a participant
/// who is a contact (their open opportunity first) or a lead (open); the
/// website domain of an account (never free-mail or the team's own).
///
/// Fails when the store cannot be read.
pub fn find_record(
    tx: &dyn Tx,
    ctx: &Context,
    mail: &IncomingMail,
) -> Result<Option<(Summary, String)>, CommandError> {
    use crate::domain::mail::{clues, Clue};
    let exists = |id: RecordId| summary(tx, id);
    let found = |id: RecordId, why: String| -> Result<Option<(Summary, String)>, CommandError> {
        Ok(exists(id)?.map(|s| (s, why)))
    };
    for clue in clues(mail, &ctx.rules.numbering, |e| ctx.team.is_own(e)) {
        match clue {
            Clue::Reply(id) => {
                if let Some(MailRef::Activity(a)) = read::<MailRef>(tx, &keys::message_id(id))? {
                    if let Some(act) = load::<Activity>(tx, a, None)? {
                        let why =
                            format!("reply to <{id}> ({})", ctx.rules.show(Kind::Activity, a));
                        if let Some(hit) = found(act.regarding, why)? {
                            return Ok(Some(hit));
                        }
                    }
                }
            }
            Clue::Token(id) => {
                let why = format!(
                    "tracking token [{}] in the subject",
                    ctx.rules.numbering.display(id)
                );
                if let Some(hit) = found(id, why)? {
                    return Ok(Some(hit));
                }
            }
            Clue::PlusAddress { id, address } => {
                if let Some(hit) = found(id, format!("plus-address {address}"))? {
                    return Ok(Some(hit));
                }
            }
            Clue::Address(address) => {
                if let Some(c) = records::lookup(tx, "contact_email", address)? {
                    if let Some(o) = first_open::<Opportunity>(tx, "opp_contact", c)? {
                        let why =
                            format!("{address} is contact {}", ctx.rules.show(Kind::Contact, c));
                        return found(RecordId::new(Kind::Opportunity, o.number), why);
                    }
                }
                for (_, v) in tx.scan(&keys::lead_email(address), None, false, 16)? {
                    let Ok(n) = serde_json::from_slice::<u64>(&v) else {
                        continue;
                    };
                    if let Some(l) = load::<Lead>(tx, n, None)? {
                        if l.state_name() == "open" {
                            let why = format!(
                                "{address} is the e-mail of lead {}",
                                ctx.rules.show(Kind::Lead, n)
                            );
                            return found(RecordId::new(Kind::Lead, n), why);
                        }
                    }
                }
                if let Some(c) = records::lookup(tx, "contact_email", address)? {
                    let why = format!("{address} is contact {}", ctx.rules.show(Kind::Contact, c));
                    return found(RecordId::new(Kind::Contact, c), why);
                }
            }
            Clue::Domain(domain) => {
                if let Some(acc) = records::lookup(tx, "account_domain", domain)? {
                    let target = match first_open::<Opportunity>(tx, "opp_account", acc)? {
                        Some(o) => RecordId::new(Kind::Opportunity, o.number),
                        None => RecordId::new(Kind::Account, acc),
                    };
                    let why = format!(
                        "{domain} is the website of account {}",
                        ctx.rules.show(Kind::Account, acc)
                    );
                    return found(target, why);
                }
            }
        }
    }
    Ok(None)
}

fn email_activity(
    number: u64,
    on: &Summary,
    mail: &IncomingMail,
    matched: Option<String>,
    ctx: &Context,
) -> Activity {
    let outgoing = mail
        .from
        .as_ref()
        .is_some_and(|f| ctx.team.is_own(&f.email));
    let mut notes = mail.problems.clone();
    if let Some(a) = &mail.automatic {
        notes.insert(0, format!("automatic mail: {a}"));
    }
    Activity {
        number,
        subject: if mail.subject.is_empty() {
            crate::domain::mail::NO_SUBJECT.to_string()
        } else {
            mail.subject.clone()
        },
        description: None,
        owner: on.owner.clone(),
        regarding: on.id,
        details: Details::Email {
            direction: if outgoing {
                Direction::Outgoing
            } else {
                Direction::Incoming
            },
            from: mail
                .from
                .as_ref()
                .map(MailAddress::display)
                .unwrap_or_default(),
            to: mail.to.iter().map(MailAddress::display).collect(),
            cc: mail.cc.iter().map(MailAddress::display).collect(),
            date: mail.date.unwrap_or(ctx.now),
            message_id: Some(mail.message_id.clone()),
            text: Some(mail.text.clone()),
            attachments: mail.attachments.clone(),
            matched,
            notes,
        },
        due: Some(Due::At(mail.date.unwrap_or(ctx.now))),
        state: ActivityState::Completed { at: ctx.now },
        created_at: ctx.now,
    }
}

/// Ingests a batch of fetched mails in one transaction: each becomes a
/// closed e-mail activity on its record, or waits in the unmatched inbox;
/// one already known (by Message-ID, or by folder, UIDVALIDITY and UID) is
/// skipped.
///
/// Fails when the store cannot be read.
pub fn ingest(
    tx: &mut dyn Tx,
    ctx: &Context,
    batch: &[(MailSource, IncomingMail)],
) -> Result<Reply, CommandError> {
    let mut outcomes = Vec::with_capacity(batch.len());
    for (source, mail) in batch {
        let source_key = keys::mail_source(
            &source.account,
            &source.folder,
            source.uid_validity,
            source.uid,
        );
        let id_key = keys::message_id(&mail.message_id);
        if tx.get(&source_key)?.is_some() || tx.get(&id_key)?.is_some() {
            tx.put(source_key, b"1".to_vec());
            outcomes.push(Ingested::Known);
            continue;
        }
        tx.put(source_key, b"1".to_vec());
        let text = format!(
            "(mail) {} {} uid {}",
            source.account, source.folder, source.uid
        );
        match find_record(tx, ctx, mail)? {
            Some((on, rule)) => {
                let number = next_number(tx, ctx, Kind::Activity)?;
                let a = email_activity(number, &on, mail, Some(rule.clone()), ctx);
                save(tx, ctx, &text, None, &a)?;
                write(tx, id_key, &MailRef::Activity(number))?;
                outcomes.push(Ingested::Matched {
                    activity: number,
                    record: ctx.rules.numbering.display(on.id),
                    rule,
                });
            }
            None => {
                let number = next_inbox(tx)?;
                let item = InboxItem {
                    number,
                    mail: mail.clone(),
                    received_at: ctx.now,
                    source: format!("{}/{}", source.account, source.folder),
                };
                write(tx, keys::inbox(number), &item)?;
                write(tx, id_key, &MailRef::Inbox(number))?;
                let from = mail
                    .from
                    .as_ref()
                    .map(MailAddress::display)
                    .unwrap_or_else(|| "(no sender)".into());
                queue::notify(
                    tx,
                    ctx,
                    queue::TRIAGE,
                    NoticeKind::Unmatched,
                    format!("Unmatched mail #{number} from {from}: {} (/inbox link {number} <record>, /inbox lead {number})", mail.subject),
                    None,
                )?;
                outcomes.push(Ingested::Unmatched { inbox: number });
            }
        }
    }
    let count = |f: fn(&Ingested) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let text = format!(
        "ingested {} mail(s): {} matched, {} unmatched, {} already known",
        batch.len(),
        count(|o| matches!(o, Ingested::Matched { .. })),
        count(|o| matches!(o, Ingested::Unmatched { .. })),
        count(|o| matches!(o, Ingested::Known))
    );
    Ok(Reply {
        data: serde_json::to_value(&outcomes).unwrap_or_default(),
        outcome: super::Outcome::Ingested(outcomes),
        text,
        next: vec![],
    })
}

fn next_inbox(tx: &mut dyn Tx) -> Result<u64, CommandError> {
    let key = keys::sequence("inbox");
    let n: u64 = read(tx, &key)?.unwrap_or(0) + 1;
    write(tx, key, &n)?;
    Ok(n)
}

fn require_inbox(tx: &dyn Tx, n: u64) -> Result<InboxItem, CommandError> {
    read(tx, &keys::inbox(n))?.ok_or_else(|| {
        CommandError::NotFound(format!(
            "there is no mail #{n} in the unmatched inbox; /inbox lists them"
        ))
    })
}

/// `/inbox`: unmatched mail, oldest first.
///
/// Fails when the store cannot be read.
pub fn inbox(tx: &dyn Tx, limit: usize) -> Result<Reply, CommandError> {
    let items: Vec<InboxItem> = queue::all(tx, keys::INBOX)?;
    let mut text = format!("unmatched inbox ({})", items.len());
    if items.len() > limit {
        text = format!(
            "unmatched inbox ({}, the oldest {limit} shown; /inbox limit:{} shows all)",
            items.len(),
            items.len()
        );
    }
    for i in items.iter().take(limit) {
        let from = i
            .mail
            .from
            .as_ref()
            .map(MailAddress::display)
            .unwrap_or_else(|| "(no sender)".into());
        let auto = if i.mail.automatic.is_some() {
            " [automatic]"
        } else {
            ""
        };
        text.push_str(&format!(
            "\n  #{} {} - {from} - {}{auto}",
            i.number,
            i.received_at.format("%Y-%m-%d %H:%M"),
            i.mail.subject
        ));
    }
    if items.is_empty() {
        text.push_str("\n  empty");
    } else {
        text.push_str("\n  file one with /inbox link <#> <record>, or /inbox lead <#>");
    }
    Ok(Reply {
        outcome: super::Outcome::Done,
        text,
        data: serde_json::to_value(items.iter().take(limit).collect::<Vec<_>>())
            .unwrap_or_default(),
        next: vec![],
    })
}

/// `/inbox link <n> <record>`: files an unmatched mail by hand.
///
/// Fails when the mail or the record does not exist.
pub fn link(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    n: u64,
    target: RecordId,
) -> Result<Reply, CommandError> {
    let item = require_inbox(tx, n)?;
    let on = summary(tx, target)?.ok_or_else(|| {
        CommandError::NotFound(format!(
            "there is no {} {}",
            target.kind.name(),
            ctx.rules.numbering.display(target)
        ))
    })?;
    let number = next_number(tx, ctx, Kind::Activity)?;
    let a = email_activity(
        number,
        &on,
        &item.mail,
        Some(format!("filed by hand by {}", ctx.actor)),
        ctx,
    );
    save(tx, ctx, text, None, &a)?;
    write(
        tx,
        keys::message_id(&item.mail.message_id),
        &MailRef::Activity(number),
    )?;
    tx.remove(keys::inbox(n));
    let id = ctx.rules.numbering.display(on.id);
    Ok(Reply {
        outcome: super::Outcome::Done,
        text: format!(
            "Filed mail #{n} '{}' on {id} as {}.",
            item.mail.subject,
            ctx.rules.show(Kind::Activity, number)
        ),
        data: serde_json::to_value(&a).unwrap_or_default(),
        next: vec![format!("/timeline {id}")],
    })
}

/// `/inbox lead <n>`: makes a lead from an unmatched mail's sender and files
/// the mail on it. Automatic mail never makes a lead.
///
/// Fails when the mail does not exist, is automatic, or has no sender.
pub fn lead_from(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    n: u64,
) -> Result<Reply, CommandError> {
    let item = require_inbox(tx, n)?;
    let made = crate::domain::mail::lead_from(&item.mail, &format!("mail #{n}"))?;
    let number = next_number(tx, ctx, Kind::Lead)?;
    let mut lead = Lead::new(
        number,
        made.topic,
        ctx.actor.clone(),
        ctx.rules.currency.clone(),
        ctx.now,
    );
    lead.first_name = made.first_name;
    lead.last_name = made.last_name;
    lead.email = Some(made.email);
    lead.source = Some("E-mail".to_string());
    lead.website = made.website;
    save(tx, ctx, text, None, &lead)?;
    let lead_id = RecordId::new(Kind::Lead, number);
    let reply = link(tx, ctx, text, n, lead_id)?;
    let id = ctx.rules.show(Kind::Lead, number);
    Ok(Reply {
        outcome: super::Outcome::Done,
        text: format!(
            "Created {id} {} from mail #{n}. {}",
            lead.title(),
            reply.text
        ),
        data: serde_json::to_value(&lead).unwrap_or_default(),
        next: vec![
            format!("/qualify {id}"),
            format!("/lead edit {id} company:"),
        ],
    })
}

/// `/why <activity>`: how a mail came to be on its record.
///
/// Fails when the activity does not exist.
pub fn why(tx: &dyn Tx, ctx: &Context, n: u64) -> Result<Reply, CommandError> {
    let a: Activity = records::require(tx, ctx, n, None)?;
    let id = ctx.rules.show(Kind::Activity, n);
    let on = ctx.rules.numbering.display(a.regarding);
    let text = match &a.details {
        Details::Email {
            matched: Some(m),
            direction: Direction::Incoming,
            ..
        } => format!("{id} is on {on} because: {m}"),
        Details::Email {
            direction: Direction::Outgoing,
            matched,
            ..
        } => match matched {
            Some(m) => format!("{id} is on {on} because: {m}"),
            None => format!("{id} was sent from leadline about {on}"),
        },
        Details::Email { .. } => format!("{id} is on {on}; no rule was recorded"),
        other => format!(
            "{id} is {} on {on}, not a mail",
            crate::domain::ids::with_article(other.name())
        ),
    };
    Ok(Reply {
        outcome: super::Outcome::Done,
        text,
        data: serde_json::to_value(&a).unwrap_or_default(),
        next: vec![],
    })
}

/// The e-mail address to write to about a record: its contact's, a lead's own.
fn recipient(tx: &dyn Tx, id: RecordId) -> Result<Option<String>, CommandError> {
    if id.kind == Kind::Lead {
        return Ok(load::<Lead>(tx, id.number, None)?.and_then(|l| l.email));
    }
    Ok(recipient_contact(tx, id)?.and_then(|c| c.email))
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

/// The mail templates, built in.
const TEMPLATES: &[(&str, &str)] = &[
    ("quote", include_str!("../../templates/mail/quote.txt")),
    ("invoice", include_str!("../../templates/mail/invoice.txt")),
    (
        "followup",
        include_str!("../../templates/mail/followup.txt"),
    ),
    ("intro", include_str!("../../templates/mail/intro.txt")),
];

fn lines_data(p: &crate::domain::lines::Pricing) -> (serde_json::Value, serde_json::Value) {
    let c = &p.currency;
    let lines: Vec<serde_json::Value> = p
        .lines
        .iter()
        .map(|l| {
            let a = l.amounts(c);
            serde_json::json!({
                "no": l.no,
                "description": l.description,
                "quantity": l.quantity.normalize().to_string(),
                "unit_price": c.format_price(l.unit_price),
                "discount": if a.discount.is_zero() { String::new() } else { c.format(a.discount) },
                "net": c.format(a.net),
                "tax_rate": l.tax_rate.normalize().to_string(),
            })
        })
        .collect();
    let t = p.totals();
    let taxes: Vec<serde_json::Value> = p
        .tax_shares()
        .iter()
        .map(|s| {
            serde_json::json!({
                "rate": s.rate.normalize().to_string(),
                "base": c.format(s.base),
                "tax": c.format(s.tax),
            })
        })
        .collect();
    let totals = serde_json::json!({
        "taxes": taxes,
        "discount": if t.discount.is_zero() { String::new() } else { c.format(t.discount) },
        "pre_freight": c.format(t.pre_freight_amount),
        "freight": c.format(t.freight),
        "tax": c.format(t.total_tax),
        "total": c.format(t.total_amount),
    });
    (serde_json::Value::Array(lines), totals)
}

fn recipient_contact(tx: &dyn Tx, id: RecordId) -> Result<Option<Contact>, CommandError> {
    use crate::domain::{invoice::Invoice, order::Order, quote::Quote};
    let contact = match id.kind {
        Kind::Contact => Some(id.number),
        Kind::Account => load::<Account>(tx, id.number, None)?.and_then(|a| a.primary_contact),
        Kind::Opportunity => load::<Opportunity>(tx, id.number, None)?.and_then(|o| o.contact),
        Kind::Quote => load::<Quote>(tx, id.number, None)?.and_then(|q| q.contact),
        Kind::Order => load::<Order>(tx, id.number, None)?.and_then(|o| o.contact),
        Kind::Invoice => load::<Invoice>(tx, id.number, None)?.and_then(|i| i.contact),
        Kind::Lead | Kind::Activity => None,
    };
    match contact {
        Some(c) => load::<Contact>(tx, c, None),
        None => Ok(None),
    }
}

/// Renders template `name` for record `on`: (subject, body).
fn render_template(
    tx: &dyn Tx,
    ctx: &Context,
    name: &str,
    on: &Summary,
    message: Option<&str>,
) -> Result<(String, String), CommandError> {
    use crate::domain::{invoice::Invoice, quote::Quote, quote::QuoteState};
    let Some((_, source)) = TEMPLATES.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = TEMPLATES.iter().map(|(n, _)| *n).collect();
        return Err(CommandError::Invalid(format!(
            "there is no mail template '{name}'; templates: {}",
            names.join(", ")
        )));
    };
    let id = ctx.rules.numbering.display(on.id);
    let contact = recipient_contact(tx, on.id)?.map(|c| c.full_name());
    let sender = ctx
        .team
        .member(&ctx.actor)
        .map(|m| m.name.clone())
        .unwrap_or_else(|| ctx.actor.clone());
    let mut data = serde_json::json!({"id": id, "name": on.title, "contact": contact, "sender": sender, "message": message});
    match (name, on.id.kind) {
        ("quote", Kind::Quote) => {
            let q: Quote = records::require(tx, ctx, on.id.number, None)?;
            if !matches!(q.state, QuoteState::Active { .. }) {
                return Err(Refusal::new(format!(
                    "cannot send {id}: it is {}; an active quote is the one that goes out (/quote activate {id})",
                    match q.state {
                        QuoteState::Draft => "a draft",
                        _ => q.state_name(),
                    }
                ))
                .into());
            }
            let (lines, totals) = lines_data(&q.pricing);
            data["lines"] = lines;
            data["totals"] = totals;
            data["valid_until"] = serde_json::json!(q.valid_until);
        }
        ("invoice", Kind::Invoice) => {
            let i: Invoice = records::require(tx, ctx, on.id.number, None)?;
            if i.state_name() == "canceled" {
                return Err(Refusal::new(format!("cannot send {id}: it is canceled")).into());
            }
            let (lines, totals) = lines_data(&i.pricing);
            data["lines"] = lines;
            data["totals"] = totals;
            let c = &i.pricing.currency;
            if !i.payments.is_empty() {
                data["paid"] = serde_json::json!(c.format(i.paid()));
            }
            data["balance"] = serde_json::json!(c.format(i.balance()));
            if let Some(original) = i.corrects {
                data["cancels"] = serde_json::json!(ctx.rules.show(Kind::Invoice, original));
            }
            data["invoice_date"] = serde_json::json!(i.invoice_date);
            data["due_date"] = serde_json::json!(i.due_date);
        }
        ("quote" | "invoice", _) => {
            return Err(CommandError::Invalid(format!(
                "the {name} template is for {}s; {id} is {}",
                name,
                on.id.kind.with_article()
            )));
        }
        _ => {}
    }
    let rendered = minijinja::Environment::new()
        .render_str(source, data)
        .map_err(|e| CommandError::Store(super::TxError(format!("mail template {name}: {e}"))))?;
    let (first, rest) = rendered.split_once('\n').unwrap_or((&rendered, ""));
    let subject = first
        .strip_prefix("Subject:")
        .unwrap_or(first)
        .trim()
        .to_string();
    Ok((subject, rest.trim_start_matches('\n').to_string()))
}

/// Remembers that `message_id` is the mail of `activity`, so answers thread back.
///
/// Fails when the store cannot be written.
pub fn remember(tx: &mut dyn Tx, message_id: &str, activity: u64) -> Result<(), CommandError> {
    write(
        tx,
        keys::message_id(message_id),
        &MailRef::Activity(activity),
    )
}

/// A Message-ID of ours for activity `n`.
pub fn our_message_id(ctx: &Context, n: u64) -> String {
    let domain = ctx
        .team
        .domains
        .first()
        .cloned()
        .unwrap_or_else(|| "leadline.invalid".to_string());
    format!("leadline.{n}.{}@{domain}", ctx.now.timestamp_millis())
}

/// Queues an iCalendar invitation (METHOD:REQUEST) to a meeting's
/// attendees who are e-mail addresses; returns the outbox number.
///
/// Fails when the store cannot be written.
pub fn invite(
    tx: &mut dyn Tx,
    ctx: &Context,
    a: &Activity,
    on_id: &str,
) -> Result<Option<u64>, CommandError> {
    use icalendar::{Component, EventLike};
    let (
        Details::Appointment {
            end,
            location,
            attendees,
        },
        Some(Due::At(start)),
    ) = (&a.details, a.due)
    else {
        return Ok(None);
    };
    let emails: Vec<String> = attendees
        .iter()
        .filter(|x| x.contains('@'))
        .cloned()
        .collect();
    if emails.is_empty() {
        return Ok(None);
    }
    let message_id = our_message_id(ctx, a.number);
    let mut event = icalendar::Event::new();
    event
        .uid(&format!(
            "{}@leadline",
            ctx.rules.show(Kind::Activity, a.number)
        ))
        .summary(&a.subject)
        .starts(start)
        .ends(*end)
        .timestamp(ctx.now);
    if let Some(l) = location {
        event.location(l);
    }
    if let Some(o) = ctx.team.member(&a.owner).and_then(|m| m.email.clone()) {
        event.add_property("ORGANIZER", format!("mailto:{o}"));
    }
    for e in &emails {
        event.add_multi_property("ATTENDEE", &format!("mailto:{e}"));
    }
    let mut cal = icalendar::Calendar::new();
    cal.append_property(("METHOD", "REQUEST"));
    cal.push(event.done());
    let tz = ctx.team.zone_of(&a.owner);
    let when = format!(
        "{} - {}",
        start.with_timezone(&tz).format("%a %Y-%m-%d %H:%M %Z"),
        end.with_timezone(&tz).format("%H:%M")
    );
    let place = location
        .as_ref()
        .map(|l| format!("Where: {l}\n"))
        .unwrap_or_default();
    remember(tx, &message_id, a.number)?;
    let n = queue::queue_mail_full(
        tx,
        ctx,
        queue::NewMail {
            to: emails,
            subject: with_token(&format!("Invitation: {}", a.subject), on_id),
            text: format!("You are invited: {}\nWhen: {when}\n{place}", a.subject),
            html: None,
            about: Some(a.regarding),
            message_id: Some(message_id),
            activity: None,
            calendar: Some(cal.done().to_string()),
        },
    )?;
    Ok(Some(n))
}

/// `/email`: queues a mail about a record in the outbox, with our
/// Message-ID and the record's tracking token in the subject, and puts it
/// on the record's timeline (open until it is sent).
///
/// Fails when the record does not exist or nobody is there to write to.
pub fn email(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    input: &EmailInput,
) -> Result<Reply, CommandError> {
    let on = summary(tx, input.target)?.ok_or_else(|| {
        CommandError::NotFound(format!(
            "there is no {} {}",
            input.target.kind.name(),
            ctx.rules.numbering.display(input.target)
        ))
    })?;
    let to = if input.to.is_empty() {
        match recipient(tx, on.id)? {
            Some(e) => vec![e],
            None => {
                return Err(Refusal::new(format!(
                    "{} has no contact e-mail to write to; add to:name@example.com",
                    ctx.rules.numbering.display(on.id)
                ))
                .into())
            }
        }
    } else {
        input.to.clone()
    };
    let token = ctx.rules.numbering.display(on.id);
    let (subject, body) = match &input.template {
        Some(name) => {
            let (s, b) = render_template(tx, ctx, name, &on, input.message.as_deref())?;
            (input.subject.clone().unwrap_or(s), b)
        }
        None => match (&input.subject, &input.body) {
            (Some(s), Some(b)) => (s.clone(), b.clone()),
            _ => {
                return Err(CommandError::Invalid(
                    "/email needs subject:\"...\" and body:\"...\", or template:<name>".to_string(),
                ))
            }
        },
    };
    let subject = with_token(&subject, &token);
    let number = next_number(tx, ctx, Kind::Activity)?;
    let message_id = our_message_id(ctx, number);
    let from = ctx
        .team
        .member(&ctx.actor)
        .and_then(|m| m.email.clone())
        .unwrap_or_default();
    let a = Activity {
        number,
        subject: subject.clone(),
        description: None,
        owner: ctx.actor.clone(),
        regarding: on.id,
        details: Details::Email {
            direction: Direction::Outgoing,
            from,
            to: to.clone(),
            cc: input.cc.clone(),
            date: ctx.now,
            message_id: Some(message_id.clone()),
            text: Some(body.clone()),
            attachments: Vec::new(),
            matched: None,
            notes: Vec::new(),
        },
        due: None,
        state: ActivityState::Open,
        created_at: ctx.now,
    };
    save(tx, ctx, text, None, &a)?;
    remember(tx, &message_id, number)?;
    let mut all = to.clone();
    all.extend(input.cc.iter().cloned());
    let out = queue::queue_mail_full(
        tx,
        ctx,
        queue::NewMail {
            to: all,
            subject: subject.clone(),
            text: body,
            html: None,
            about: Some(on.id),
            message_id: Some(message_id),
            activity: Some(number),
            calendar: None,
        },
    )?;
    let act = ctx.rules.show(Kind::Activity, number);
    Ok(Reply {
        outcome: super::Outcome::Done,
        text: format!(
            "Queued mail {act} '{subject}' to {} (outbox #{out}).",
            to.join(", ")
        ),
        data: serde_json::to_value(&a).unwrap_or_default(),
        next: vec![format!("/timeline {token}")],
    })
}

/// Closes the e-mail activity of an outgoing mail: completed when it was
/// sent (dated then, from the address it really went from), canceled with
/// the reason (and a notice to its owner) when it failed.
fn settle_activity(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    activity: u64,
    outcome: &Settled,
) -> Result<(), CommandError> {
    let Some(old) = load::<Activity>(tx, activity, None)? else {
        return Ok(());
    };
    let settled = match outcome {
        Settled::Sent { from } => old.mail_sent(from, ctx.now),
        Settled::Failed(reason) => old.mail_failed(reason, ctx.now),
    };
    let Some(new) = settled else {
        return Ok(());
    };
    save(tx, ctx, text, Some(&old), &new)?;
    if let Settled::Failed(reason) = outcome {
        queue::notify(
            tx,
            ctx,
            &old.owner,
            NoticeKind::MailFailed,
            format!(
                "Mail not sent: {} '{}': {reason}",
                ctx.rules.show(Kind::Activity, activity),
                old.subject,
            ),
            Some(old.regarding),
        )?;
    }
    Ok(())
}

/// A failed or uncertain mail is sent again: its canceled e-mail activity
/// is open again, to be completed when the mail goes out.
fn reopen_activity(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    activity: u64,
) -> Result<(), CommandError> {
    let Some(old) = load::<Activity>(tx, activity, None)? else {
        return Ok(());
    };
    let note = format!("sent again by {} ({})", ctx.actor, text.trim());
    match old.mail_resent(note) {
        Some(new) => save(tx, ctx, text, Some(&old), &new),
        None => Ok(()),
    }
}

/// `/outbox`: mails waiting, failed or uncertain (with `all`, also sent).
///
/// Fails when the store cannot be read.
pub fn outbox(tx: &dyn Tx, all: bool) -> Result<Reply, CommandError> {
    use queue::MailState;
    let mails: Vec<queue::OutMail> = queue::all(tx, queue::keys::OUTBOX)?;
    let shown: Vec<&queue::OutMail> = mails
        .iter()
        .filter(|m| all || !matches!(m.state, MailState::Sent { .. }))
        .collect();
    let mut text = format!("outbox: {} shown of {}", shown.len(), mails.len());
    for m in &shown {
        let state = match &m.state {
            MailState::Pending { next_at: None } => "waiting".to_string(),
            MailState::Pending { next_at: Some(t) } => format!("waiting, next try {}", t.format("%Y-%m-%d %H:%M UTC")),
            MailState::Sending { .. } => "sending".to_string(),
            MailState::Sent { at, .. } => format!("sent {}", at.format("%Y-%m-%d %H:%M UTC")),
            MailState::Failed { reason, .. } => format!("FAILED: {reason}"),
            MailState::Uncertain { .. } => "UNCERTAIN: leadline stopped while sending; check the recipient's copy, then /outbox retry".to_string(),
        };
        let err = match (&m.last_error, &m.state) {
            (Some(e), MailState::Pending { .. }) => format!(" (last error: {e})"),
            _ => String::new(),
        };
        text.push_str(&format!(
            "\n  #{} to {} - {} - {state}{err}",
            m.number,
            m.to.join(", "),
            m.subject
        ));
    }
    Ok(Reply {
        outcome: super::Outcome::Done,
        text,
        data: serde_json::to_value(&shown).unwrap_or_default(),
        next: vec![],
    })
}

/// Moves outbox entry `n` one step.
///
/// Fails (refused) when the entry is not in a state that allows the step.
pub fn outbox_step(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    n: u64,
    step: &OutboxStep,
) -> Result<Reply, CommandError> {
    let mut m = queue::require_mail(tx, n)?;
    let wrong = |m: &queue::OutMail, what: &str| -> CommandError {
        Refusal::new(format!(
            "cannot {what} outbox #{n}: it is {}",
            state_word(&m.state)
        ))
        .into()
    };
    let settle =
        crate::domain::outbox::step(&mut m, step, ctx.now).map_err(|what| wrong(&m, what))?;
    queue::put_mail(tx, &m)?;
    if let (Some(outcome), Some(a)) = (&settle, m.activity) {
        settle_activity(tx, ctx, text, a, outcome)?;
    }
    if let (OutboxStep::Retry, Some(a)) = (step, m.activity) {
        reopen_activity(tx, ctx, text, a)?;
    }
    Ok(Reply {
        outcome: super::Outcome::Done,
        text: format!("outbox #{n}: {}", state_word(&m.state)),
        data: serde_json::to_value(&m).unwrap_or_default(),
        next: vec![],
    })
}

fn state_word(s: &queue::MailState) -> String {
    use queue::MailState;
    match s {
        MailState::Pending { .. } => "waiting".into(),
        MailState::Sending { .. } => "sending".into(),
        MailState::Sent { .. } => "sent".into(),
        MailState::Failed { reason, .. } => format!("failed ({reason})"),
        MailState::Uncertain { .. } => "uncertain".into(),
    }
}

/// At the start of a sending run: entries left "sending" by a crash become
/// "uncertain" (the server may have accepted them) and are not sent again
/// by themselves.
///
/// Fails when the store cannot be read.
pub fn outbox_recover(tx: &mut dyn Tx, ctx: &Context) -> Result<Reply, CommandError> {
    let mails: Vec<queue::OutMail> = queue::all(tx, queue::keys::OUTBOX)?;
    let mut count = 0;
    for mut m in mails {
        if crate::domain::outbox::recover(&mut m) {
            queue::put_mail(tx, &m)?;
            queue::notify(tx, ctx, &ctx.team.default_user, NoticeKind::Overdue, format!("Outbox #{} '{}' may or may not have been sent (leadline stopped while sending); check, then /outbox retry {}", m.number, m.subject, m.number), m.about)?;
            count += 1;
        }
    }
    Ok(
        Reply::text(format!("{count} outbox entr(ies) marked uncertain"))
            .with(super::Outcome::Recovered(count)),
    )
}

/// Tells the team's admins (the default user when the team names none)
/// that mail account `account` needs attention or works again.
///
/// Fails when the store cannot be read.
pub fn account_notice(
    tx: &mut dyn Tx,
    ctx: &Context,
    account: &str,
    text: &str,
) -> Result<Reply, CommandError> {
    let mut to: Vec<&str> = ctx
        .team
        .members
        .iter()
        .filter(|m| m.role == super::team::Role::Admin)
        .map(|m| m.name.as_str())
        .collect();
    if to.is_empty() {
        to.push(&ctx.team.default_user);
    }
    for who in &to {
        queue::notify(
            tx,
            ctx,
            who,
            NoticeKind::MailAccount,
            text.to_string(),
            None,
        )?;
    }
    Ok(Reply::text(format!(
        "mail account {account}: told {}",
        to.join(", ")
    )))
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

/// Applies this family's commands; `None` for another family's.
///
/// Fails when the rules refuse, a record is missing or the store fails.
fn apply(
    cmd: &Command,
    text: &str,
    tx: &mut dyn Tx,
    ctx: &Context,
) -> Result<Option<Reply>, CommandError> {
    let reply = match cmd {
        Command::IngestMail(batch) => ingest(tx, ctx, batch),
        Command::Inbox { limit } => inbox(tx, *limit),
        Command::InboxLink { mail, target } => link(tx, ctx, text, *mail, *target),
        Command::InboxLead { mail } => lead_from(tx, ctx, text, *mail),
        Command::Why(n) => why(tx, ctx, *n),
        Command::Email(input) => email(tx, ctx, text, input),
        Command::Outbox { all } => outbox(tx, *all),
        Command::OutboxStep { mail, step } => outbox_step(tx, ctx, text, *mail, step),
        Command::OutboxRecover => outbox_recover(tx, ctx),
        Command::MailAccountNotice { account, text } => account_notice(tx, ctx, account, text),
        _ => return Ok(None),
    };
    reply.map(Some)
}
