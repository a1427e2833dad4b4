//! What people read of timelines: `/timeline` (P-7, P-10, P-12),
//! `/agenda`, `/overdue`, `/notices`.

use chrono::{DateTime, Utc};

use super::create::zone;
use super::*;
use crate::command::parse::TimelineQuery;
use crate::command::queue::{self};
use crate::command::records::{self, keys, load, HistoryEntry, Tx};
use crate::command::{CommandError, Context, Reply};
use crate::domain::activity::{Activity, Details, Shown};
use crate::domain::invoice::Invoice;
use crate::domain::opportunity::Opportunity;
use crate::domain::order::Order;
use crate::domain::quote::Quote;
use crate::domain::{Kind, RecordId};

/// The activity ids on one record's timeline.
pub(crate) fn timeline_numbers(tx: &dyn Tx, id: RecordId) -> Result<Vec<u64>, CommandError> {
    let prefix = keys::timeline(id);
    Ok(tx
        .scan(&prefix, None, false, usize::MAX)?
        .iter()
        .filter_map(|(_, v)| serde_json::from_slice::<u64>(v).ok())
        .collect())
}

/// The state changes in a record's history, as timeline entries (closing
/// steps and the like).
pub(super) fn state_changes(tx: &dyn Tx, id: RecordId) -> Result<Vec<HistoryEntry>, CommandError> {
    let all = records::history(tx, &records::history_subject(id.kind, id.number), 500)?;
    Ok(all
        .into_iter()
        .filter(|e| {
            e.changes
                .iter()
                .any(|c| c.starts_with("state:") || c.contains(": state:"))
        })
        .collect())
}

/// An opportunity's quotes, their orders, and those orders' invoices and
/// credit notes: one conversation with the customer.
pub(super) fn sales_documents(
    tx: &dyn Tx,
    opp: &Opportunity,
) -> Result<Vec<RecordId>, CommandError> {
    use crate::domain::invoice::InvoiceState;
    use crate::domain::quote::QuoteState;
    let mut out = Vec::new();
    for n in &opp.quotes {
        out.push(RecordId::new(Kind::Quote, *n));
        let Some(q) = load::<Quote>(tx, *n, None)? else {
            continue;
        };
        let QuoteState::Won { order, .. } = q.state else {
            continue;
        };
        out.push(RecordId::new(Kind::Order, order));
        let Some(o) = load::<Order>(tx, order, None)? else {
            continue;
        };
        for i in o.invoice_numbers() {
            out.push(RecordId::new(Kind::Invoice, i));
            if let Some(Invoice {
                state:
                    InvoiceState::Canceled {
                        credit_note: Some(c),
                        ..
                    },
                ..
            }) = load::<Invoice>(tx, i, None)?
            {
                out.push(RecordId::new(Kind::Invoice, c));
            }
        }
    }
    Ok(out)
}

/// `/timeline`: upcoming activities first (soonest first), then the past
/// (newest first), with state changes of the record among them.
///
/// Fails when the record does not exist.
pub fn timeline(tx: &dyn Tx, ctx: &Context, q: &TimelineQuery) -> Result<Reply, CommandError> {
    let on = require_summary(tx, ctx, q.target)?;
    let on_id = ctx.rules.numbering.display(on.id);
    let mut sources = vec![(on.id, None)];
    // The records whose mail belongs to this one's customer thread.
    let mut mail_sources: Vec<RecordId> = Vec::new();
    if on.id.kind == Kind::Opportunity {
        if let Some(opp) = load::<Opportunity>(tx, on.id.number, None)? {
            if let Some(lead) = opp.lead {
                sources.push((
                    RecordId::new(Kind::Lead, lead),
                    Some(ctx.rules.show(Kind::Lead, lead)),
                ));
            }
            mail_sources = sales_documents(tx, &opp)?;
        }
    }
    for id in &mail_sources {
        sources.push((*id, Some(ctx.rules.numbering.display(*id))));
    }
    // (upcoming?, sort time, line, json)
    let mut rows: Vec<(bool, DateTime<Utc>, String, serde_json::Value)> = Vec::new();
    for (source, from) in &sources {
        for n in timeline_numbers(tx, *source)? {
            let Some(a) = load::<Activity>(tx, n, None)? else {
                continue;
            };
            let tz = zone(ctx, &a.owner);
            let shown = a.shown(ctx.now, tz);
            if q.state.is_some_and(|s| s != shown) || q.kind.is_some_and(|k| k != a.details.name())
            {
                continue;
            }
            // From quotes, orders and invoices, only their mail.
            if mail_sources.contains(source) && !matches!(a.details, Details::Email { .. }) {
                continue;
            }
            let at = match a.due {
                Some(d) => d.overdue_at(tz),
                None => a.created_at,
            };
            let upcoming = shown == Shown::Active;
            let mut line = activity_line(&a, ctx);
            if let Some(f) = from {
                line.push_str(&format!(" (from {f})"));
            }
            rows.push((
                upcoming,
                at,
                line,
                serde_json::to_value(&a).unwrap_or_default(),
            ));
        }
        if q.state.is_none() && q.kind.is_none() && !mail_sources.contains(source) {
            for e in state_changes(tx, *source)? {
                let change = e
                    .changes
                    .iter()
                    .find(|c| c.contains("state:"))
                    .cloned()
                    .unwrap_or_default();
                let mut line = format!(
                    "{:<9} {:<8} {:<11} {} - {} - {}",
                    "",
                    "Closed",
                    "step",
                    e.command,
                    e.at.with_timezone(&ctx.team.timezone)
                        .format("%a %Y-%m-%d %H:%M %Z"),
                    e.by
                );
                if let Some(f) = from {
                    line.push_str(&format!(" (from {f})"));
                }
                let json = serde_json::json!({"step": e.command, "change": change, "at": e.at, "by": e.by});
                rows.push((false, e.at, line, json));
            }
        }
    }
    rows.sort_by(|a, b| match (a.0, b.0) {
        (true, true) => a.1.cmp(&b.1),
        (false, false) => b.1.cmp(&a.1),
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
    });
    let total = rows.len();
    rows.truncate(q.limit);
    let mut text = format!("timeline of {on_id} {}", on.title);
    if rows.is_empty() {
        text.push_str("\n  nothing yet; add with /call, /task, /meeting or /note");
    }
    for r in &rows {
        text.push_str(&format!("\n  {}", r.2));
    }
    if total > rows.len() {
        text.push_str(&format!(
            "\n  ... {} more (limit:{})",
            total - rows.len(),
            q.limit
        ));
    }
    Ok(Reply {
        outcome: crate::command::Outcome::Done,
        text,
        data: serde_json::Value::Array(rows.into_iter().map(|r| r.3).collect()),
        next: vec![],
    })
}

pub(super) fn section(
    tx: &dyn Tx,
    ctx: &Context,
    title: &str,
    items: &DueItems,
    out: &mut String,
) -> Result<(), CommandError> {
    out.push_str(&format!("\n{title} ({}):", items.count));
    for (_, kind, n) in &items.items {
        if let Some(line) = item_line(tx, ctx, *kind, *n)? {
            out.push_str(&format!("\n  {line}"));
        }
    }
    if items.count > items.items.len() {
        out.push_str(&format!(
            "\n  ... and {} more",
            items.count - items.items.len()
        ));
    }
    Ok(())
}

/// `/agenda`: the owner's overdue items and what is due today.
///
/// Fails when the store cannot be read.
pub fn agenda(tx: &dyn Tx, ctx: &Context, owner: Option<&str>) -> Result<Reply, CommandError> {
    let owner = owner.unwrap_or(&ctx.actor);
    let tz = zone(ctx, owner);
    let prefix = keys::owner_due(owner);
    let overdue = due_items(tx, &prefix, None, ctx.now, 50)?;
    let today = due_items(tx, &prefix, Some(ctx.now), end_of_today(ctx, owner), 50)?;
    let mut text = format!(
        "agenda of {owner} for {} ({tz})",
        ctx.now.with_timezone(&tz).format("%a %Y-%m-%d")
    );
    section(tx, ctx, "Overdue", &overdue, &mut text)?;
    section(tx, ctx, "Due today", &today, &mut text)?;
    Ok(Reply {
        outcome: crate::command::Outcome::Done,
        text,
        data: serde_json::json!({"owner": owner, "overdue": overdue.count, "today": today.count}),
        next: vec![],
    })
}

/// `/overdue`: one owner's overdue items, or everyone's.
///
/// Fails when the store cannot be read.
pub fn overdue(
    tx: &dyn Tx,
    ctx: &Context,
    owner: Option<&str>,
    everyone: bool,
) -> Result<Reply, CommandError> {
    let (prefix, who) = if everyone && owner.is_none() {
        (keys::DUE.to_vec(), "everyone".to_string())
    } else {
        let o = owner.unwrap_or(&ctx.actor).to_string();
        (keys::owner_due(&o), o)
    };
    let items = due_items(tx, &prefix, None, ctx.now, 100)?;
    let mut text = format!("overdue for {who}");
    section(tx, ctx, "Overdue", &items, &mut text)?;
    Ok(Reply {
        outcome: crate::command::Outcome::Done,
        text,
        data: serde_json::json!({"overdue": items.count}),
        next: vec![],
    })
}

/// `/notices`: what is queued for a member (default: the acting user).
///
/// Fails when the store cannot be read.
pub fn notices(
    tx: &dyn Tx,
    ctx: &Context,
    owner: Option<&str>,
    limit: usize,
) -> Result<Reply, CommandError> {
    let who = owner.unwrap_or(&ctx.actor);
    let mut all: Vec<queue::Notice> = queue::all(tx, queue::keys::NOTICES)?;
    all.retain(|n| n.to.eq_ignore_ascii_case(who));
    let shown: Vec<&queue::Notice> = all.iter().rev().take(limit).collect();
    let mut text = format!("notices for {who} ({})", all.len());
    for n in &shown {
        let first = n.text.lines().next().unwrap_or("");
        text.push_str(&format!(
            "\n  {} {first}",
            n.at.with_timezone(&zone(ctx, who)).format("%Y-%m-%d %H:%M")
        ));
    }
    Ok(Reply {
        outcome: crate::command::Outcome::Done,
        text,
        data: serde_json::to_value(&shown).unwrap_or_default(),
        next: vec![],
    })
}
