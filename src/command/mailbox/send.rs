//! `/email` and the `send` of quotes and invoices: recipients, templates,
//! calendar invitations, and the e-mail activity a queued mail is.

use super::Done;
use super::{EmailInput, MailRef};
use crate::command::activities::{summary, Summary};
use crate::command::queue::{self};
use crate::command::records::{self, keys, load, next_number, save, write, Tx};
use crate::command::{CommandError, Context, Reply};
use crate::domain::activity::{Activity, ActivityState, Details, Direction, Due};
use crate::domain::lead::Lead;
use crate::domain::mail::with_token;
use crate::domain::opportunity::Opportunity;
use crate::domain::party::{Account, Contact};
use crate::domain::{Kind, Record, RecordId, Refusal};

/// The e-mail address to write to about a record: its contact's, a lead's own.
pub(super) fn recipient(tx: &dyn Tx, id: RecordId) -> Result<Option<String>, CommandError> {
    if id.kind == Kind::Lead {
        return Ok(load::<Lead>(tx, id.number, None)?.and_then(|l| l.email));
    }
    Ok(recipient_contact(tx, id)?.and_then(|c| c.email))
}

/// The mail templates, built in.
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("quote", include_str!("../../../templates/mail/quote.txt")),
    (
        "invoice",
        include_str!("../../../templates/mail/invoice.txt"),
    ),
    (
        "followup",
        include_str!("../../../templates/mail/followup.txt"),
    ),
    ("intro", include_str!("../../../templates/mail/intro.txt")),
];

pub(super) fn lines_data(
    p: &crate::domain::lines::Pricing,
) -> (serde_json::Value, serde_json::Value) {
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

pub(super) fn recipient_contact(
    tx: &dyn Tx,
    id: RecordId,
) -> Result<Option<Contact>, CommandError> {
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
pub(super) fn render_template(
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
        .map_err(|e| {
            CommandError::Store(crate::command::TxError(format!(
                "mail template {name}: {e}"
            )))
        })?;
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
) -> Result<Done, CommandError> {
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
    Ok(Done::Queued {
        activity: a,
        to,
        outbox: out,
    })
}

pub(super) fn render_queued(a: &Activity, to: &[String], outbox: u64, ctx: &Context) -> Reply {
    let act = ctx.rules.show(Kind::Activity, a.number);
    crate::command::render::reply(
        ctx,
        format!(
            "Queued mail {act} '{}' to {} (outbox #{outbox}).",
            a.subject,
            to.join(", ")
        ),
        a,
        vec![format!(
            "/timeline {}",
            ctx.rules.numbering.display(a.regarding)
        )],
    )
}
