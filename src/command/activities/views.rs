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

/// A record's timeline as `/timeline` shows it: the record, its rows in
/// order (at most the query's limit), and how many there were in all.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub on: Summary,
    pub rows: Vec<TimelineRow>,
    pub total: usize,
    pub limit: usize,
}

/// One row of a timeline: an activity or a closing step, and the related
/// record it comes from when that is not the record itself.
#[derive(Debug, Clone)]
pub struct TimelineRow {
    pub upcoming: bool,
    pub at: DateTime<Utc>,
    pub from: Option<RecordId>,
    pub entry: TimelineEntry,
}

#[derive(Debug, Clone)]
// One value per command, moved once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum TimelineEntry {
    Activity(Activity),
    /// A state change from the record's history, and the change itself.
    Step(HistoryEntry, String),
}

/// `/timeline`: upcoming activities first (soonest first), then the past
/// (newest first), with state changes of the record among them.
///
/// Fails when the record does not exist.
pub fn timeline(tx: &dyn Tx, ctx: &Context, q: &TimelineQuery) -> Result<Timeline, CommandError> {
    let on = require_summary(tx, ctx, q.target)?;
    let mut sources = vec![(on.id, None)];
    // The records whose mail belongs to this one's customer thread.
    let mut mail_sources: Vec<RecordId> = Vec::new();
    if on.id.kind == Kind::Opportunity {
        if let Some(opp) = load::<Opportunity>(tx, on.id.number, None)? {
            if let Some(lead) = opp.lead {
                sources.push((
                    RecordId::new(Kind::Lead, lead),
                    Some(RecordId::new(Kind::Lead, lead)),
                ));
            }
            mail_sources = sales_documents(tx, &opp)?;
        }
    }
    for id in &mail_sources {
        sources.push((*id, Some(*id)));
    }
    let mut rows: Vec<TimelineRow> = Vec::new();
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
            rows.push(TimelineRow {
                upcoming: shown == Shown::Active,
                at,
                from: *from,
                entry: TimelineEntry::Activity(a),
            });
        }
        if q.state.is_none() && q.kind.is_none() && !mail_sources.contains(source) {
            for e in state_changes(tx, *source)? {
                let change = e
                    .changes
                    .iter()
                    .find(|c| c.contains("state:"))
                    .cloned()
                    .unwrap_or_default();
                rows.push(TimelineRow {
                    upcoming: false,
                    at: e.at,
                    from: *from,
                    entry: TimelineEntry::Step(e, change),
                });
            }
        }
    }
    rows.sort_by(|a, b| match (a.upcoming, b.upcoming) {
        (true, true) => a.at.cmp(&b.at),
        (false, false) => b.at.cmp(&a.at),
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
    });
    let total = rows.len();
    rows.truncate(q.limit);
    Ok(Timeline {
        on,
        rows,
        total,
        limit: q.limit,
    })
}

/// A timeline for people, scripts and chat.
pub(super) fn render_timeline(t: &Timeline, ctx: &Context) -> Reply {
    let on_id = ctx.rules.numbering.display(t.on.id);
    let mut text = format!("timeline of {on_id} {}", t.on.title);
    if t.rows.is_empty() {
        text.push_str("\n  nothing yet; add with /call, /task, /meeting or /note");
    }
    let mut data = Vec::new();
    for r in &t.rows {
        let mut line = match &r.entry {
            TimelineEntry::Activity(a) => {
                if ctx.with_data {
                    data.push(serde_json::to_value(a).unwrap_or_default());
                }
                activity_line(a, ctx)
            }
            TimelineEntry::Step(e, change) => {
                if ctx.with_data {
                    data.push(serde_json::json!({"step": e.command, "change": change, "at": e.at, "by": e.by}));
                }
                format!(
                    "{:<9} {:<8} {:<11} {} - {} - {}",
                    "",
                    "Closed",
                    "step",
                    e.command,
                    e.at.with_timezone(&ctx.team.timezone)
                        .format("%a %Y-%m-%d %H:%M %Z"),
                    e.by
                )
            }
        };
        if let Some(f) = r.from {
            line.push_str(&format!(" (from {})", ctx.rules.numbering.display(f)));
        }
        text.push_str(&format!("\n  {line}"));
    }
    if t.total > t.rows.len() {
        text.push_str(&format!(
            "\n  ... {} more (limit:{})",
            t.total - t.rows.len(),
            t.limit
        ));
    }
    crate::command::render::reply(ctx, text, &data, vec![])
}

/// Watched items as a view shows them: the newest few loaded, and how
/// many there are in all.
#[derive(Debug, Clone)]
pub struct Section {
    pub count: usize,
    pub items: Vec<Watched>,
}

impl Section {
    /// Loads the items of `due`.
    ///
    /// Fails when the store cannot be read.
    pub fn load(tx: &dyn Tx, due: &DueItems) -> Result<Section, CommandError> {
        let mut items = Vec::new();
        for (_, kind, n) in &due.items {
            if let Some(w) = Watched::load(tx, *kind, *n)? {
                items.push(w);
            }
        }
        Ok(Section {
            count: due.count,
            items,
        })
    }
}

fn section(ctx: &Context, title: &str, items: &Section, out: &mut String) {
    out.push_str(&format!("\n{title} ({}):", items.count));
    for w in &items.items {
        out.push_str(&format!("\n  {}", w.line(ctx)));
    }
    if items.count > items.items.len() {
        out.push_str(&format!(
            "\n  ... and {} more",
            items.count - items.items.len()
        ));
    }
}

/// `/agenda`: the owner's overdue items and what is due today.
///
/// Fails when the store cannot be read.
pub fn agenda(tx: &dyn Tx, ctx: &Context, owner: Option<&str>) -> Result<Done, CommandError> {
    let owner = owner.unwrap_or(&ctx.actor);
    let prefix = keys::owner_due(owner);
    let overdue = due_items(tx, &prefix, None, ctx.now, 50)?;
    let today = due_items(tx, &prefix, Some(ctx.now), end_of_today(ctx, owner), 50)?;
    Ok(Done::Agenda {
        owner: owner.to_string(),
        overdue: Section::load(tx, &overdue)?,
        today: Section::load(tx, &today)?,
    })
}

pub(super) fn render_agenda(
    owner: &str,
    overdue: &Section,
    today: &Section,
    ctx: &Context,
) -> Reply {
    let tz = zone(ctx, owner);
    let mut text = format!(
        "agenda of {owner} for {} ({tz})",
        ctx.now.with_timezone(&tz).format("%a %Y-%m-%d")
    );
    section(ctx, "Overdue", overdue, &mut text);
    section(ctx, "Due today", today, &mut text);
    crate::command::render::reply(
        ctx,
        text,
        &serde_json::json!({"owner": owner, "overdue": overdue.count, "today": today.count}),
        vec![],
    )
}

/// `/overdue`: one owner's overdue items, or everyone's.
///
/// Fails when the store cannot be read.
pub fn overdue(
    tx: &dyn Tx,
    ctx: &Context,
    owner: Option<&str>,
    everyone: bool,
) -> Result<Done, CommandError> {
    let (prefix, who) = if everyone && owner.is_none() {
        (keys::DUE.to_vec(), "everyone".to_string())
    } else {
        let o = owner.unwrap_or(&ctx.actor).to_string();
        (keys::owner_due(&o), o)
    };
    let items = due_items(tx, &prefix, None, ctx.now, 100)?;
    Ok(Done::Overdue {
        who,
        items: Section::load(tx, &items)?,
    })
}

pub(super) fn render_overdue(who: &str, items: &Section, ctx: &Context) -> Reply {
    let mut text = format!("overdue for {who}");
    section(ctx, "Overdue", items, &mut text);
    crate::command::render::reply(
        ctx,
        text,
        &serde_json::json!({"overdue": items.count}),
        vec![],
    )
}

/// `/notices`: what is queued for a member (default: the acting user).
///
/// Fails when the store cannot be read.
pub fn notices(
    tx: &dyn Tx,
    ctx: &Context,
    owner: Option<&str>,
    limit: usize,
) -> Result<Done, CommandError> {
    let who = owner.unwrap_or(&ctx.actor);
    let mut all: Vec<queue::Notice> = queue::all(tx, queue::keys::NOTICES)?;
    all.retain(|n| n.to.eq_ignore_ascii_case(who));
    let total = all.len();
    let shown: Vec<queue::Notice> = all.into_iter().rev().take(limit).collect();
    Ok(Done::Notices {
        who: who.to_string(),
        total,
        shown,
    })
}

pub(super) fn render_notices(
    who: &str,
    total: usize,
    shown: &[queue::Notice],
    ctx: &Context,
) -> Reply {
    let mut text = format!("notices for {who} ({total})");
    for n in shown {
        let first = n.text.lines().next().unwrap_or("");
        text.push_str(&format!(
            "\n  {} {first}",
            n.at.with_timezone(&zone(ctx, who)).format("%Y-%m-%d %H:%M")
        ));
    }
    crate::command::render::reply(ctx, text, &shown, vec![])
}
