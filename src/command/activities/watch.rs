//! What the scheduler watches: the items due by owner and moment, the
//! overdue sweep, and the daily digest queued once per owner and day.

use chrono::{DateTime, Utc};

use super::create::zone;
use super::*;
use crate::command::queue::{self, NoticeKind};
use crate::command::records::{self, keys, load, Tx, WatchItem};
use crate::command::{CommandError, Context};
use crate::domain::activity::{start_of_day, Activity};
use crate::domain::{Kind, RecordId, Refusal};

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

/// A watched item: an activity, or a record whose follow-up date it is.
#[derive(Debug, Clone)]
// One value per command, moved once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Watched {
    Activity(Activity),
    FollowUp(Summary),
}

impl Watched {
    /// Loads watched item `kind` `n`; `None` when it is gone.
    ///
    /// Fails when the store cannot be read.
    pub fn load(tx: &dyn Tx, kind: Kind, n: u64) -> Result<Option<Watched>, CommandError> {
        if kind == Kind::Activity {
            return Ok(load::<Activity>(tx, n, None)?.map(Watched::Activity));
        }
        Ok(summary(tx, RecordId::new(kind, n))?.map(Watched::FollowUp))
    }

    /// Its line in views, notices and digests.
    pub fn line(&self, ctx: &Context) -> String {
        match self {
            Watched::Activity(a) => format!(
                "{} (on {})",
                activity_line(a, ctx),
                ctx.rules.numbering.display(a.regarding)
            ),
            Watched::FollowUp(s) => {
                let due = s
                    .due
                    .map(|d| d.display(zone(ctx, &s.owner)))
                    .unwrap_or_default();
                format!(
                    "{:<9} follow-up {} {} - follow-up {due} - {}",
                    ctx.rules.numbering.display(s.id),
                    s.id.kind.name(),
                    s.title,
                    s.owner
                )
            }
        }
    }
}

/// One line for a watched item: the activity, or the record whose
/// follow-up date it is; `None` when it is gone.
///
/// Fails when the store cannot be read.
pub fn item_line(
    tx: &dyn Tx,
    ctx: &Context,
    kind: Kind,
    n: u64,
) -> Result<Option<String>, CommandError> {
    Ok(Watched::load(tx, kind, n)?.map(|w| w.line(ctx)))
}

/// The end of today for `owner`.
pub fn end_of_today(ctx: &Context, owner: &str) -> DateTime<Utc> {
    let tz = zone(ctx, owner);
    let today = ctx.now.with_timezone(&tz).date_naive();
    start_of_day(today.succ_opt().unwrap_or(today), tz)
}

/// The scheduler's sweep: every watched item that has become overdue and
/// was not yet announced gets exactly one notice to its owner.
///
/// Fails when the store cannot be read.
pub fn sweep(tx: &mut dyn Tx, ctx: &Context, limit: usize) -> Result<Done, CommandError> {
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
    Ok(Done::Swept { announced, more })
}

/// Queues a digest as a mail (when the owner has an address) and a notice,
/// once per owner and day.
///
/// Fails (refused) when that owner's digest for that day was queued before.
pub fn queue_digest(
    tx: &mut dyn Tx,
    ctx: &Context,
    d: &queue::DigestMail,
) -> Result<Done, CommandError> {
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
                documents: Vec::new(),
            },
        )?),
        None => None,
    };
    queue::notify(tx, ctx, &d.owner, NoticeKind::Digest, d.text.clone(), None)?;
    Ok(Done::DigestQueued {
        owner: d.owner.clone(),
        day: d.day,
        mail,
    })
}
