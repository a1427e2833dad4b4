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
        "quote.de",
        include_str!("../../../templates/mail/quote.de.txt"),
    ),
    (
        "invoice",
        include_str!("../../../templates/mail/invoice.txt"),
    ),
    (
        "invoice.de",
        include_str!("../../../templates/mail/invoice.de.txt"),
    ),
    (
        "followup",
        include_str!("../../../templates/mail/followup.txt"),
    ),
    ("intro", include_str!("../../../templates/mail/intro.txt")),
];

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
) -> Result<Rendered, CommandError> {
    use crate::domain::language::Lang;
    use crate::domain::{invoice::Invoice, quote::Quote, quote::QuoteState};
    let names: Vec<&str> = TEMPLATES
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| !n.contains('.'))
        .collect();
    if !names.contains(&name) {
        return Err(CommandError::Invalid(format!(
            "there is no mail template '{name}'; templates: {}",
            names.join(", ")
        )));
    }
    let id = ctx.rules.numbering.display(on.id);
    let contact = recipient_contact(tx, on.id)?.map(|c| c.full_name());
    let sender = ctx
        .team
        .member(&ctx.actor)
        .map(|m| m.full_name.clone().unwrap_or_else(|| m.name.clone()))
        .unwrap_or_else(|| ctx.actor.clone());
    let mut data = serde_json::json!({"id": id, "name": on.title, "contact": contact, "sender": sender, "message": message});
    // Quotes and invoices go out as a document with a cover letter in the
    // document's language: the account's, else the team's.
    let language = |account: Option<u64>| -> Result<Lang, CommandError> {
        let own = match account {
            Some(n) => load::<Account>(tx, n, None)?.and_then(|a| a.language),
            None => None,
        };
        Ok(Lang::parse(own.as_deref(), ctx.language))
    };
    let mut lang = None;
    let mut document = None;
    match (name, on.id.kind) {
        ("quote" | "invoice", Kind::Quote | Kind::Invoice) if ctx.seller_missing.is_some() => {
            return Err(Refusal::new(format!(
                "cannot send {id}: {}",
                ctx.seller_missing.clone().unwrap_or_default()
            ))
            .into());
        }
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
            let l = language(q.account)?;
            let c = &q.pricing.currency;
            data["total"] = serde_json::json!(l.money(q.pricing.totals().total_amount, c));
            data["valid_until"] = serde_json::json!(q.valid_until.map(|d| l.date(d)));
            lang = Some(l);
            document = Some(q.id());
        }
        ("invoice", Kind::Invoice) => {
            let i: Invoice = records::require(tx, ctx, on.id.number, None)?;
            if i.state_name() == "canceled" {
                return Err(Refusal::new(format!("cannot send {id}: it is canceled")).into());
            }
            let l = language(i.account)?;
            let c = &i.pricing.currency;
            let total = i.pricing.totals().total_amount;
            data["total"] = serde_json::json!(l.money(total.abs(), c));
            if !i.payments.is_empty() {
                data["paid"] = serde_json::json!(l.money(i.paid(), c));
            }
            data["balance"] = serde_json::json!(l.money(i.balance(), c));
            if let Some(original) = i.corrects {
                data["cancels"] = serde_json::json!(ctx.rules.show(Kind::Invoice, original));
            }
            data["invoice_date"] = serde_json::json!(l.date(i.invoice_date));
            data["due_date"] = serde_json::json!(l.date(i.due_date));
            lang = Some(l);
            document = Some(i.id());
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
    let key = match lang {
        Some(Lang::De) => format!("{name}.de"),
        _ => name.to_string(),
    };
    let source = TEMPLATES
        .iter()
        .find(|(n, _)| *n == key)
        .map(|(_, s)| *s)
        .unwrap_or_default();
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
    Ok(Rendered {
        subject,
        body: rest.trim_start_matches('\n').to_string(),
        document,
    })
}

/// A mail template rendered: subject, body, and the record whose document
/// goes along (a quote's revision, an invoice).
pub(super) struct Rendered {
    pub subject: String,
    pub body: String,
    pub document: Option<RecordId>,
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
            documents: Vec::new(),
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
    let mut documents = Vec::new();
    let (subject, body) = match &input.template {
        Some(name) => {
            let r = render_template(tx, ctx, name, &on, input.message.as_deref())?;
            documents.extend(r.document);
            (input.subject.clone().unwrap_or(r.subject), r.body)
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
            documents,
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
