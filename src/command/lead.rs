//! The lead family: `/qualify`, `/disqualify`, `/lead reactivate` (P-4 to
//! P-6): parsed, applied and explained side by side. `/lead new` and
//! `/lead edit` are the generic record commands ([`super::record`]).

use super::apply::{find_account, find_contact, step as transition};
use super::args::Args;
use super::parse::Command;
use super::records::Tx;
use super::records::{load, next_number, require, save};
use super::render::reply;
use super::{CommandError, Context, Family, Outcome, Reply};
use crate::domain::lead::{Lead, Qualification, QualifyInput};
use crate::domain::Kind;

/// The lead family in the command table ([`super::FAMILIES`]).
pub(super) const FAMILY: Family = Family {
    topic: "lead",
    actions: &[
        (Kind::Lead, "qualify"),
        (Kind::Lead, "disqualify"),
        (Kind::Lead, "reactivate"),
    ],
    steps: &[
        "lead new",
        "lead edit",
        "qualify",
        "disqualify",
        "reactivate",
    ],
    help: &[
        (
            "/lead new topic:\"...\" first:.. last:.. email:.. company:.. city:..",
            "create a lead (P-3); a quoted first word is the topic",
        ),
        (
            "/lead edit L-1001 field:value ...",
            "change an open lead's fields; field:\"\" empties one",
        ),
        (
            "/qualify L-1001",
            "create contact, account and opportunity from the lead (P-6)",
        ),
        (
            "/disqualify L-1001 reason:\"cannot contact\" [description:..]",
            "close the lead with a reason (P-5)",
        ),
        (
            "/lead reactivate L-1001",
            "reopen a qualified or disqualified lead",
        ),
    ],
    parse,
    apply,
    step,
};

/// Parses `/qualify`, `/disqualify`, `/reactivate` and their `/lead` forms.
///
/// Fails when the id or the closing details do not read.
fn parse(args: &mut Args, kind: Option<Kind>, word: &str) -> Result<Option<Command>, CommandError> {
    let cmd = match (kind, word) {
        (None | Some(Kind::Lead), "qualify") => Command::Qualify(args.number(Kind::Lead)?),
        (None | Some(Kind::Lead), "disqualify") => {
            let lead = args.number(Kind::Lead)?;
            Command::Disqualify {
                lead,
                close: args.close_input()?,
            }
        }
        (None | Some(Kind::Lead), "reactivate") => Command::Reactivate(args.number(Kind::Lead)?),
        _ => return Ok(None),
    };
    Ok(Some(cmd))
}

/// The step a lead command is.
fn step(cmd: &Command) -> Option<&'static str> {
    Some(match cmd {
        Command::New {
            kind: Kind::Lead, ..
        }
        | Command::ImportLead(_) => "lead new",
        Command::Edit { target, .. } if target.kind == Kind::Lead => "lead edit",
        Command::Qualify(_) => "qualify",
        Command::Disqualify { .. } => "disqualify",
        Command::Reactivate(_) => "reactivate",
        _ => return None,
    })
}

/// What this family's commands did.
#[derive(Debug, Clone)]
// One value per command, moved once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Done {
    Qualified(Qualification),
    Disqualified(Lead),
    Reactivated(Lead),
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
        Command::Qualify(n) => Done::Qualified(qualify(tx, ctx, text, *n)?),
        Command::Disqualify { lead, close } => {
            Done::Disqualified(transition(tx, ctx, text, *lead, None, |l: &Lead| {
                l.disqualify(close, ctx.rules)
            })?)
        }
        Command::Reactivate(n) => {
            Done::Reactivated(transition(tx, ctx, text, *n, None, |l: &Lead| {
                l.reactivate(ctx.rules)
            })?)
        }
        _ => return Ok(None),
    };
    Ok(Some(Outcome::Lead(done)))
}

/// This family's outcomes for people, scripts and chat.
pub(super) fn render(done: &Done, ctx: &Context) -> Reply {
    let r = ctx.rules;
    match done {
        Done::Qualified(q) => qualified(q, ctx),
        Done::Disqualified(lead) => {
            let id = r.show(Kind::Lead, lead.number);
            reply(
                ctx,
                format!(
                    "Disqualified {id} {}: {}.",
                    lead.topic,
                    close_reason(&lead.state)
                ),
                lead,
                vec![format!("/lead reactivate {id}")],
            )
        }
        Done::Reactivated(lead) => {
            let id = r.show(Kind::Lead, lead.number);
            reply(
                ctx,
                format!("Reactivated {id} {}: it is open again.", lead.topic),
                lead,
                vec![format!("/qualify {id}")],
            )
        }
    }
}

fn close_reason(state: &crate::domain::lead::LeadState) -> String {
    match state {
        crate::domain::lead::LeadState::Disqualified { closing } => closing.reason.clone(),
        _ => String::new(),
    }
}

fn qualify(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    number: u64,
) -> Result<Qualification, CommandError> {
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
    Ok(q)
}

fn qualified(q: &Qualification, ctx: &Context) -> Reply {
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
    let lead_id = r.show(Kind::Lead, q.lead.number);
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
    // The four records as JSON, made only when the front end asks.
    let data = if ctx.with_data {
        serde_json::json!({
            "lead": q.lead,
            "contact": q.contact,
            "account": q.account,
            "opportunity": q.opportunity,
        })
    } else {
        serde_json::Value::Null
    };
    reply(
        ctx,
        msg,
        &data,
        vec![
            format!("/quote new {opp}"),
            format!("/opp line add {opp} sku:"),
        ],
    )
}
