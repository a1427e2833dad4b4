//! Received mail onto timelines: the clues in the order they decide
//! ([`crate::domain::mail::clues`]), the e-mail activity a mail becomes,
//! and the unmatched inbox for the rest.

use super::Done;
use super::{InboxItem, Ingested, MailRef, MailSource};
use crate::command::activities::{summary, Summary};
use crate::command::queue::{self, NoticeKind};
use crate::command::records::{self, keys, load, next_number, read, save, write, Tx};
use crate::command::{CommandError, Context, Reply};
use crate::domain::activity::{Activity, ActivityState, Details, Direction, Due};
use crate::domain::lead::Lead;
use crate::domain::mail::{IncomingMail, MailAddress};
use crate::domain::opportunity::Opportunity;
use crate::domain::{Kind, Record, RecordId};

pub(super) fn first_open<R: Record>(
    tx: &dyn Tx,
    what: &str,
    of: u64,
) -> Result<Option<R>, CommandError> {
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

pub(super) fn email_activity(
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
) -> Result<Done, CommandError> {
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
    Ok(Done::Ingested(outcomes))
}

pub(super) fn render_ingested(outcomes: &[Ingested], ctx: &Context) -> Reply {
    let count = |f: fn(&Ingested) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let text = format!(
        "ingested {} mail(s): {} matched, {} unmatched, {} already known",
        outcomes.len(),
        count(|o| matches!(o, Ingested::Matched { .. })),
        count(|o| matches!(o, Ingested::Unmatched { .. })),
        count(|o| matches!(o, Ingested::Known))
    );
    crate::command::render::reply(ctx, text, &outcomes, vec![])
}

pub(super) fn next_inbox(tx: &mut dyn Tx) -> Result<u64, CommandError> {
    let key = keys::sequence("inbox");
    let n: u64 = read(tx, &key)?.unwrap_or(0) + 1;
    write(tx, key, &n)?;
    Ok(n)
}
