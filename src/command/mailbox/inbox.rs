//! The unmatched inbox: `/inbox`, `/inbox link`, `/inbox lead`, and `/why`.

use super::ingest::*;
use super::Done;
use super::{InboxItem, MailRef};
use crate::command::activities::summary;
use crate::command::queue::{self};
use crate::command::records::{self, keys, next_number, read, save, write, Tx};
use crate::command::render::reply;
use crate::command::{CommandError, Context, Reply};
use crate::domain::activity::{Activity, Details, Direction};
use crate::domain::lead::Lead;
use crate::domain::mail::MailAddress;
use crate::domain::{Kind, Record, RecordId};

pub(super) fn require_inbox(tx: &dyn Tx, n: u64) -> Result<InboxItem, CommandError> {
    read(tx, &keys::inbox(n))?.ok_or_else(|| {
        CommandError::NotFound(format!(
            "there is no mail #{n} in the unmatched inbox; /inbox lists them"
        ))
    })
}

/// `/inbox`: unmatched mail, oldest first.
///
/// Fails when the store cannot be read.
pub fn inbox(tx: &dyn Tx, limit: usize) -> Result<Done, CommandError> {
    let mut items: Vec<InboxItem> = queue::all(tx, keys::INBOX)?;
    let total = items.len();
    items.truncate(limit);
    Ok(Done::Inbox {
        items,
        total,
        limit,
    })
}

pub(super) fn render_inbox(
    items: &[InboxItem],
    total: usize,
    limit: usize,
    ctx: &Context,
) -> Reply {
    let mut text = format!("unmatched inbox ({total})");
    if total > limit {
        text = format!(
            "unmatched inbox ({total}, the oldest {limit} shown; /inbox limit:{total} shows all)"
        );
    }
    for i in items {
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
    reply(ctx, text, &items, vec![])
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
) -> Result<Done, CommandError> {
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
    Ok(Done::Filed {
        mail: n,
        subject: item.mail.subject,
        activity: a,
    })
}

/// The line that says where a mail was filed.
fn filed_text(mail: u64, subject: &str, a: &Activity, ctx: &Context) -> String {
    format!(
        "Filed mail #{mail} '{subject}' on {} as {}.",
        ctx.rules.numbering.display(a.regarding),
        ctx.rules.show(Kind::Activity, a.number)
    )
}

pub(super) fn render_filed(mail: u64, subject: &str, a: &Activity, ctx: &Context) -> Reply {
    reply(
        ctx,
        filed_text(mail, subject, a, ctx),
        a,
        vec![format!(
            "/timeline {}",
            ctx.rules.numbering.display(a.regarding)
        )],
    )
}

/// `/inbox lead <n>`: makes a lead from an unmatched mail's sender and files
/// the mail on it. Automatic mail never makes a lead.
///
/// Fails when the mail does not exist, is automatic, or has no sender.
pub fn lead_from(tx: &mut dyn Tx, ctx: &Context, text: &str, n: u64) -> Result<Done, CommandError> {
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
    let Done::Filed {
        subject, activity, ..
    } = link(tx, ctx, text, n, lead_id)?
    else {
        return Err(CommandError::Invalid(format!("mail #{n} was not filed")));
    };
    Ok(Done::LeadMade {
        lead,
        mail: n,
        subject,
        activity,
    })
}

pub(super) fn render_lead_made(
    lead: &Lead,
    mail: u64,
    subject: &str,
    a: &Activity,
    ctx: &Context,
) -> Reply {
    let id = ctx.rules.show(Kind::Lead, lead.number);
    reply(
        ctx,
        format!(
            "Created {id} {} from mail #{mail}. {}",
            lead.title(),
            filed_text(mail, subject, a, ctx)
        ),
        lead,
        vec![
            format!("/qualify {id}"),
            format!("/lead edit {id} company:"),
        ],
    )
}

/// `/why <activity>`: how a mail came to be on its record.
///
/// Fails when the activity does not exist.
pub fn why(tx: &dyn Tx, ctx: &Context, n: u64) -> Result<Done, CommandError> {
    Ok(Done::Why(records::require(tx, ctx, n, None)?))
}

pub(super) fn render_why(a: &Activity, ctx: &Context) -> Reply {
    let id = ctx.rules.show(Kind::Activity, a.number);
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
    reply(ctx, text, a, vec![])
}
