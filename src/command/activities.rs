//! Applying the timeline commands: new activities (P-11), their
//! transitions, `/timeline` (P-7, P-10, P-12), `/agenda`, `/overdue`,
//! `/notices`, and the scheduler's sweep.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::apply::step as transition;
use super::args::{invalid, limit, split_list, Args};
use super::parse::Command;
use super::parse::{ActivityInput, TimelineQuery};
use super::queue::{self, NoticeKind};
use super::records::{self, keys, load, next_number, save, HistoryEntry, Tx, WatchItem};
use super::Family;
use super::{CommandError, Context, Reply};
use crate::domain::activity::{start_of_day, Activity, ActivityState, Details, Due, Shown};
use crate::domain::activity::{Direction, KINDS};
use crate::domain::fields::normalize_name;
use crate::domain::invoice::Invoice;
use crate::domain::lead::Lead;
use crate::domain::opportunity::Opportunity;
use crate::domain::order::Order;
use crate::domain::party::{Account, Contact};
use crate::domain::quote::Quote;
use crate::domain::{Kind, Record, RecordId, Refusal};

/// What any record says of itself, whatever its kind.
#[derive(Debug, Clone)]
pub struct Summary {
    pub id: RecordId,
    pub state: &'static str,
    pub title: String,
    pub owner: String,
    /// What the scheduler watches of it.
    pub due: Option<Due>,
}

impl Summary {
    /// Whether the record is closed, so that scheduling work on it makes no sense.
    pub fn closed(&self) -> bool {
        matches!(
            (self.id.kind, self.state),
            (Kind::Lead, "qualified" | "disqualified")
                | (Kind::Opportunity, "won" | "lost")
                | (Kind::Quote, "won" | "closed")
                | (Kind::Order, "invoiced" | "canceled")
                | (Kind::Invoice, "paid" | "canceled" | "credit_note")
                | (Kind::Activity, "completed" | "canceled")
        )
    }
}

/// The summary of record `id` (for quotes, the latest revision).
///
/// Fails when the store cannot be read.
pub fn summary(tx: &dyn Tx, id: RecordId) -> Result<Option<Summary>, CommandError> {
    fn of<R: Record>(tx: &dyn Tx, id: RecordId) -> Result<Option<Summary>, CommandError> {
        Ok(load::<R>(tx, id.number, id.revision)?.map(|r| Summary {
            id: RecordId::new(R::KIND, r.number()),
            state: r.state_name(),
            title: r.title(),
            owner: r.owner().to_string(),
            due: r.watch(),
        }))
    }
    match id.kind {
        Kind::Lead => of::<Lead>(tx, id),
        Kind::Contact => of::<Contact>(tx, id),
        Kind::Account => of::<Account>(tx, id),
        Kind::Opportunity => of::<Opportunity>(tx, id),
        Kind::Quote => of::<Quote>(tx, id),
        Kind::Order => of::<Order>(tx, id),
        Kind::Invoice => of::<Invoice>(tx, id),
        Kind::Activity => of::<Activity>(tx, id),
    }
}

fn require_summary(tx: &dyn Tx, ctx: &Context, id: RecordId) -> Result<Summary, CommandError> {
    summary(tx, id)?.ok_or_else(|| {
        CommandError::NotFound(format!(
            "there is no {} {}",
            id.kind.name(),
            ctx.rules.numbering.display(id)
        ))
    })
}

fn zone(ctx: &Context, owner: &str) -> Tz {
    ctx.team.zone_of(owner)
}

/// `due Mon 2026-11-30 10:00 CET` or `due Mon 2026-11-30`.
fn when_text(a: &Activity, tz: Tz) -> String {
    match (&a.details, a.due) {
        (Details::Appointment { end, .. }, Some(Due::At(start))) => format!(
            "{} - {}",
            Due::At(start).display(tz),
            end.with_timezone(&tz).format("%H:%M")
        ),
        (Details::Call { .. } | Details::Email { .. }, Some(d))
            if !matches!(a.state, ActivityState::Open) =>
        {
            d.display(tz)
        }
        (_, Some(d)) => format!("due {}", d.display(tz)),
        (_, None) => String::new(),
    }
}

/// One line for an activity: id, what the timeline shows, kind, subject, when, owner.
pub fn activity_line(a: &Activity, ctx: &Context) -> String {
    let tz = zone(ctx, &a.owner);
    let shown = a.shown(ctx.now, tz);
    let mut line = format!(
        "{:<9} {:<8} {:<11} {}",
        ctx.rules.show(Kind::Activity, a.number),
        // Closed either way (P-10), but a canceled one was never done.
        match a.state {
            ActivityState::Canceled { .. } => "Canceled",
            _ => shown.label(),
        },
        a.details.name(),
        a.subject
    );
    let when = when_text(a, tz);
    if !when.is_empty() {
        line.push_str(&format!(" - {when}"));
    }
    if let Details::Call {
        result: Some(r), ..
    } = &a.details
    {
        line.push_str(&format!(" - {r}"));
    }
    line.push_str(&format!(" - {}", a.owner));
    line
}

/// Adds an activity to a record's timeline.
///
/// Fails when the record does not exist, a scheduled activity is put on a
/// closed record or in the past, or an appointment ends before it starts.
pub fn create(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    input: &ActivityInput,
) -> Result<Reply, CommandError> {
    let on = require_summary(tx, ctx, input.regarding)?;
    let on_id = ctx.rules.numbering.display(on.id);
    let owner = input.owner.clone().unwrap_or_else(|| ctx.actor.clone());
    let tz = zone(ctx, &owner);
    let what = input.details.name();
    if input.scheduled {
        if on.closed() {
            return Err(Refusal::new(format!(
                "cannot schedule {} on {on_id}: it is {}; log it as done, or put it on an open record",
                crate::domain::ids::with_article(what),
                on.state
            ))
            .into());
        }
        if let Some(due) = input.due {
            let deadline = match &input.details {
                Details::Appointment { end, .. } => *end,
                _ => due.overdue_at(tz),
            };
            if deadline <= ctx.now {
                return Err(Refusal::new(format!(
                    "cannot schedule a {what} for {}: that is in the past",
                    due.display(tz)
                ))
                .into());
            }
        }
        if let (Details::Appointment { end, .. }, Some(Due::At(start))) =
            (&input.details, input.due)
        {
            if *end <= start {
                return Err(Refusal::new(format!(
                    "the {what} ends ({}) before it starts ({})",
                    end.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
                    start.with_timezone(&tz).format("%Y-%m-%d %H:%M")
                ))
                .into());
            }
        }
    } else if let Some(d) = input.due {
        if d.overdue_at(tz) > ctx.now && matches!(d, Due::At(_)) {
            return Err(Refusal::new(format!(
                "a logged {what} cannot have happened at {}, in the future; schedule it with due: instead",
                d.display(tz)
            ))
            .into());
        }
    }
    let number = next_number(tx, ctx, Kind::Activity)?;
    let state = if input.scheduled || matches!(input.details, Details::Note) {
        ActivityState::Open
    } else {
        ActivityState::Completed { at: ctx.now }
    };
    let due = match (&input.details, input.due, input.scheduled) {
        (Details::Call { .. }, None, false) => Some(Due::At(ctx.now)),
        (_, d, _) => d,
    };
    let a = Activity {
        number,
        subject: input.subject.clone(),
        description: input.description.clone(),
        owner: owner.clone(),
        regarding: on.id,
        details: input.details.clone(),
        due,
        state,
        created_at: ctx.now,
    };
    save(tx, ctx, text, None, &a)?;
    let invited = super::mailbox::invite(tx, ctx, &a, &on_id)?;
    let id = ctx.rules.show(Kind::Activity, number);
    let verb = match (&a.details, input.scheduled) {
        (Details::Note, _) => "Noted".to_string(),
        (_, false) => format!("Logged {what}"),
        (Details::Appointment { .. }, true) => "Scheduled meeting".to_string(),
        (_, true) => format!("Scheduled {what}"),
    };
    let mut msg = format!("{verb} {id} '{}' on {on_id}", a.subject);
    if owner != ctx.actor {
        msg.push_str(&format!(" for {owner}"));
    }
    let when = when_text(&a, tz);
    if !when.is_empty() && input.scheduled {
        msg.push_str(&format!(", {when}"));
    }
    if let Details::Appointment {
        attendees,
        location,
        ..
    } = &a.details
    {
        if !attendees.is_empty() {
            msg.push_str(&format!(" with {}", attendees.join(", ")));
        }
        if let Some(l) = location {
            msg.push_str(&format!(" at {l}"));
        }
    }
    if let Details::Call {
        result: Some(r), ..
    } = &a.details
    {
        msg.push_str(&format!(": {r}"));
    }
    msg.push('.');
    if let Some(n) = invited {
        msg.push_str(&format!(" Invitation queued (outbox #{n})."));
    }
    let next = if input.scheduled {
        vec![
            format!("/done {id}"),
            format!("/activity reschedule {id} due:"),
        ]
    } else {
        vec![format!("/timeline {on_id}")]
    };
    Ok(Reply {
        outcome: super::Outcome::Done,
        text: msg,
        data: serde_json::to_value(&a).unwrap_or_default(),
        next,
    })
}

/// The reply after an activity changed.
pub fn changed(a: &Activity, verb: &str, ctx: &Context) -> Reply {
    Reply {
        outcome: super::Outcome::Done,
        text: format!("{verb}: {}", activity_line(a, ctx)),
        data: serde_json::to_value(a).unwrap_or_default(),
        next: vec![],
    }
}

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
fn state_changes(tx: &dyn Tx, id: RecordId) -> Result<Vec<HistoryEntry>, CommandError> {
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
fn sales_documents(tx: &dyn Tx, opp: &Opportunity) -> Result<Vec<RecordId>, CommandError> {
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
        outcome: super::Outcome::Done,
        text,
        data: serde_json::Value::Array(rows.into_iter().map(|r| r.3).collect()),
        next: vec![],
    })
}

/// Watched items under `prefix` that become overdue at or before `until`,
/// in order; at most `max` are returned, `count` says how many there were.
pub struct DueItems {
    pub items: Vec<(DateTime<Utc>, Kind, u64)>,
    pub count: usize,
}

/// Reads a due index up to `until`.
///
/// Fails when the store cannot be read.
pub fn due_items(
    tx: &dyn Tx,
    prefix: &[u8],
    from: Option<DateTime<Utc>>,
    until: DateTime<Utc>,
    max: usize,
) -> Result<DueItems, CommandError> {
    let mut out = DueItems {
        items: Vec::new(),
        count: 0,
    };
    let mut cursor: Option<Vec<u8>> =
        from.map(|f| [prefix, keys::moment(f).as_bytes(), b"~"].concat());
    loop {
        let page = tx.scan(prefix, cursor.as_deref(), false, 512)?;
        let Some((last, _)) = page.last() else { break };
        let last = last.clone();
        for (k, _) in &page {
            let Some((at, kind, n)) = WatchItem::parse_key(k) else {
                continue;
            };
            if at > until {
                return Ok(out);
            }
            out.count += 1;
            if out.items.len() < max {
                out.items.push((at, kind, n));
            }
        }
        if page.len() < 512 {
            break;
        }
        cursor = Some(last);
    }
    Ok(out)
}

/// One line for a watched item: the activity, or the record whose
/// follow-up date it is.
pub fn item_line(
    tx: &dyn Tx,
    ctx: &Context,
    kind: Kind,
    n: u64,
) -> Result<Option<String>, CommandError> {
    if kind == Kind::Activity {
        return Ok(load::<Activity>(tx, n, None)?.map(|a| {
            format!(
                "{} (on {})",
                activity_line(&a, ctx),
                ctx.rules.numbering.display(a.regarding)
            )
        }));
    }
    Ok(summary(tx, RecordId::new(kind, n))?.map(|s| {
        let due = s
            .due
            .map(|d| d.display(zone(ctx, &s.owner)))
            .unwrap_or_default();
        format!(
            "{:<9} follow-up {} {} - follow-up {due} - {}",
            ctx.rules.show(kind, n),
            kind.name(),
            s.title,
            s.owner
        )
    }))
}

fn section(
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

/// The end of today for `owner`.
pub fn end_of_today(ctx: &Context, owner: &str) -> DateTime<Utc> {
    let tz = zone(ctx, owner);
    let today = ctx.now.with_timezone(&tz).date_naive();
    start_of_day(today.succ_opt().unwrap_or(today), tz)
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
        outcome: super::Outcome::Done,
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
        outcome: super::Outcome::Done,
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
        outcome: super::Outcome::Done,
        text,
        data: serde_json::to_value(&shown).unwrap_or_default(),
        next: vec![],
    })
}

/// The scheduler's sweep: every watched item that has become overdue and
/// was not yet announced gets exactly one notice to its owner.
///
/// Fails when the store cannot be read.
pub fn sweep(tx: &mut dyn Tx, ctx: &Context, limit: usize) -> Result<Reply, CommandError> {
    let pending = due_items(tx, keys::PENDING, None, ctx.now, limit)?;
    let mut announced = 0;
    for (_, kind, n) in &pending.items {
        let key = keys::watch_item(*kind, *n);
        let Some(mut item): Option<WatchItem> = records::read(tx, &key)? else {
            continue;
        };
        let line = item_line(tx, ctx, *kind, *n)?.unwrap_or_else(|| ctx.rules.show(*kind, *n));
        let text = if *kind == Kind::Activity {
            format!("Overdue: {line}")
        } else {
            format!("Follow-up due: {line}")
        };
        queue::notify(
            tx,
            ctx,
            &item.owner,
            NoticeKind::Overdue,
            text,
            Some(RecordId::new(*kind, *n)),
        )?;
        item.announced = true;
        records::set_watch(tx, *kind, *n, Some(item))?;
        announced += 1;
    }
    let more = pending.count > pending.items.len();
    Ok(Reply {
        outcome: super::Outcome::Swept { announced, more },
        text: format!(
            "sweep: announced {announced} overdue item(s){}",
            if more { ", more to go" } else { "" }
        ),
        data: serde_json::json!({"announced": announced, "more": more}),
        next: vec![],
    })
}

/// Queues a digest as a mail (when the owner has an address) and a notice,
/// once per owner and day.
///
/// Fails (refused) when that owner's digest for that day was queued before.
pub fn queue_digest(
    tx: &mut dyn Tx,
    ctx: &Context,
    d: &queue::DigestMail,
) -> Result<Reply, CommandError> {
    let marker = queue::keys::digest_sent(&d.owner, d.day);
    if tx.get(&marker)?.is_some() {
        return Err(Refusal::new(format!(
            "the digest of {} for {} was already sent",
            d.owner, d.day
        ))
        .into());
    }
    records::write(tx, marker, &ctx.now)?;
    let mail = match &d.email {
        Some(to) => Some(queue::queue_mail_full(
            tx,
            ctx,
            queue::NewMail {
                to: vec![to.clone()],
                subject: d.subject.clone(),
                text: d.text.clone(),
                html: Some(d.html.clone()),
                about: None,
                message_id: None,
                activity: None,
                calendar: None,
            },
        )?),
        None => None,
    };
    queue::notify(tx, ctx, &d.owner, NoticeKind::Digest, d.text.clone(), None)?;
    Ok(Reply {
        outcome: super::Outcome::Done,
        text: format!(
            "queued the digest of {} for {}{}",
            d.owner,
            d.day,
            if mail.is_some() {
                " (mail and notice)"
            } else {
                " (notice; no e-mail address)"
            }
        ),
        data: serde_json::json!({"owner": d.owner, "day": d.day, "mail": mail}),
        next: vec![],
    })
}

/// The activities family in the command table ([`super::FAMILIES`]).
pub(super) const FAMILY: Family = Family {
    topic: "activities",
    actions: &[(Kind::Lead, "timeline"), (Kind::Contact, "timeline"), (Kind::Account, "timeline"), (Kind::Opportunity, "timeline"), (Kind::Quote, "timeline"), (Kind::Order, "timeline"), (Kind::Invoice, "timeline"), (Kind::Activity, "done"), (Kind::Activity, "cancel"), (Kind::Activity, "reschedule"), (Kind::Activity, "assign")],
    steps: &["activity"],
    help: &[
        ("/call O-1001 subject:Intro result:\"wants a demo\"   /call O-1001 due:\"tomorrow 10:00\"",
         "log a call, or schedule the next one"),
        ("/task L-1001 Send brochure due:fri owner:maria   /note L-1001 \"Prefers e-mail\"",
         "a task with a due date; a note"),
        ("/meeting O-1001 Demo start:\"fri 10:00\" end:\"fri 11:00\" attendees:anna@contoso.example",
         "an appointment; e-mail attendees get an invitation"),
        ("/timeline O-1001 [state:overdue|active|closed] [kind:call|task|email|appointment|note]",
         "a record's activities, upcoming first, with the lead's on an opportunity (P-12)"),
        ("/done ACT-1001   /activity cancel|reschedule due:..|assign owner:.. ACT-1001",
         "finish, cancel, move or hand over an activity"),
        ("/agenda [owner:..]   /overdue [all|owner:..]   /notices",
         "what is overdue and due today; everyone's overdue; queued notices"),
    ],
    parse,
    apply,
    step,
};

/// Parses `/call`, `/task`, `/meeting`, `/note`, `/done`, `/timeline`,
/// `/agenda`, `/overdue`, `/notices` and `/activity done|cancel|reschedule|assign`.
///
/// Fails when an id, a time or an option does not read.
fn parse(args: &mut Args, kind: Option<Kind>, word: &str) -> Result<Option<Command>, CommandError> {
    let cmd = match (kind, word) {
        (None, "call" | "task" | "meeting" | "appointment" | "note") => parse_activity(args, word)?,
        (None, "done" | "complete") | (Some(Kind::Activity), "done") => {
            let activity = args.number(Kind::Activity)?;
            Command::ActivityDone {
                activity,
                result: args.text(&["result", "outcome"])?,
            }
        }
        (None, "timeline" | "tl") => {
            let target = args.any_id()?;
            parse_timeline(args, target)?
        }
        (Some(kind), "timeline") => {
            let id = args.id(kind)?;
            parse_timeline(args, id)?
        }
        (None, "agenda" | "today") => Command::Agenda {
            owner: args.owner()?,
        },
        (None, "overdue") => {
            let everyone = args.words.front().is_some_and(|(w, _)| {
                matches!(w.to_lowercase().as_str(), "all" | "everyone" | "team")
            });
            if everyone {
                args.word();
            }
            let owner = args.owner()?;
            Command::Overdue { owner, everyone }
        }
        (None, "notices") => {
            let owner = args.owner()?;
            Command::Notices {
                owner,
                limit: limit(args)?,
            }
        }
        (Some(Kind::Activity), "cancel") => Command::ActivityCancel(args.number(Kind::Activity)?),
        (Some(Kind::Activity), "reschedule") => {
            let activity = args.number(Kind::Activity)?;
            let due = args.when(&["due", "start", "at", "to"])?.ok_or_else(|| {
                invalid("/activity reschedule needs the new time: due:\"tomorrow 10:00\"")
            })?;
            Command::ActivityReschedule { activity, due }
        }
        (Some(Kind::Activity), "assign") => {
            let activity = args.number(Kind::Activity)?;
            let owner = args
                .owner()?
                .ok_or_else(|| invalid("/activity assign needs owner:<name>"))?;
            Command::ActivityAssign { activity, owner }
        }
        _ => return Ok(None),
    };
    Ok(Some(cmd))
}

/// The step an activity command is.
fn step(cmd: &Command) -> Option<&'static str> {
    Some(match cmd {
        Command::NewActivity(_)
        | Command::ActivityDone { .. }
        | Command::ActivityCancel(_)
        | Command::ActivityReschedule { .. }
        | Command::ActivityAssign { .. } => "activity",
        _ => return None,
    })
}

fn parse_timeline(args: &mut Args, target: RecordId) -> Result<Command, CommandError> {
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
fn parse_activity(args: &mut Args, head: &str) -> Result<Command, CommandError> {
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
        Command::NewActivity(input) => create(tx, ctx, text, input),
        Command::ActivityDone { activity, result } => {
            let a: Activity = transition(tx, ctx, text, *activity, None, |a: &Activity| {
                a.complete(result.clone(), ctx.rules, ctx.now)
            })?;
            Ok(changed(&a, "Completed", ctx))
        }
        Command::ActivityCancel(activity) => {
            let a: Activity = transition(tx, ctx, text, *activity, None, |a: &Activity| {
                a.cancel(ctx.rules, ctx.now)
            })?;
            Ok(changed(&a, "Canceled", ctx))
        }
        Command::ActivityReschedule { activity, due } => {
            let a: Activity = transition(tx, ctx, text, *activity, None, |a: &Activity| {
                a.reschedule(*due, ctx.team.zone_of(&a.owner), ctx.rules, ctx.now)
            })?;
            Ok(changed(&a, "Rescheduled", ctx))
        }
        Command::ActivityAssign { activity, owner } => {
            let a: Activity = transition(tx, ctx, text, *activity, None, |a: &Activity| {
                a.reassign(owner.clone(), ctx.rules)
            })?;
            Ok(changed(&a, "Reassigned", ctx))
        }
        Command::Timeline(q) => timeline(tx, ctx, q),
        Command::NoticeDelivered(n) => {
            super::queue::delivered(tx, ctx, *n)?;
            Ok(Reply::text(format!("notice #{n} delivered")))
        }
        Command::Agenda { owner } => agenda(tx, ctx, owner.as_deref()),
        Command::Overdue { owner, everyone } => overdue(tx, ctx, owner.as_deref(), *everyone),
        Command::Notices { owner, limit } => notices(tx, ctx, owner.as_deref(), *limit),
        Command::Sweep { limit } => sweep(tx, ctx, *limit),
        Command::QueueDigest(mail) => queue_digest(tx, ctx, mail),
        Command::JobRan { job } => {
            records::write(tx, super::queue::keys::job(job), &ctx.now)?;
            Ok(Reply::text(format!("{job} ran at {}", ctx.now)))
        }
        _ => return Ok(None),
    };
    reply.map(Some)
}
