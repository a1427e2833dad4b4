//! The pipeline board of the web view: open opportunities by stage, each
//! a card with its account, value, probability, next activity and
//! follow-up. A typed read ([`board`]), run on a view of the store like
//! any read command; moving a card is a command (the web view maps each
//! move to one, see `crate::web`).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::records::{keys, load, Tx};
use super::{Command, CommandError, Context};
use crate::domain::activity::{Activity, ActivityState};
use crate::domain::opportunity::Opportunity;
use crate::domain::party::Account;
use crate::domain::{Kind, RecordId};

/// The board's columns, as [`super::facts`] names the stages.
pub const STAGES: &[&str] = &["1 qualify", "2 develop", "3 propose", "4 on hold"];

/// Cards shown per column unless more are asked for (the rest are
/// counted and summed in the column's heading), as Odoo's kanban loads a
/// page of cards per column.
pub const CARDS_PER_COLUMN: usize = 40;

/// The most cards a column shows when asked.
pub const MOST_CARDS_PER_COLUMN: usize = 2000;

/// One open opportunity on the board.
#[derive(Debug, Clone, Serialize)]
pub struct Card {
    pub id: String,
    pub number: u64,
    pub name: String,
    pub account: Option<String>,
    pub owner: String,
    pub value: Decimal,
    pub currency: String,
    pub probability: Option<u8>,
    pub follow_up: Option<NaiveDate>,
    pub follow_up_overdue: bool,
    /// The earliest open activity: its id, subject and due day.
    pub next_activity: Option<(String, String, Option<NaiveDate>)>,
}

/// One column: a stage, its cards, how many there are and their value
/// (in the team's currency, as `/pipeline by:stage` sums it).
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub stage: &'static str,
    pub cards: Vec<Card>,
    pub count: usize,
    pub value: Decimal,
}

/// The open opportunities of `owner` (everyone's when `None`) by stage:
/// each column's count and value from the report sums, and up to
/// `per_column` of its newest cards.
///
/// Fails when the store cannot be read, a record does not decode, or the
/// report sums are not current.
pub fn board(
    tx: &mut dyn Tx,
    ctx: &Context,
    owner: Option<&str>,
    per_column: usize,
) -> Result<Vec<Column>, CommandError> {
    let per_column = per_column.min(MOST_CARDS_PER_COLUMN);
    let mut columns: Vec<Column> = STAGES
        .iter()
        .map(|s| Column {
            stage: s,
            cards: Vec::new(),
            count: 0,
            value: Decimal::ZERO,
        })
        .collect();
    // Counts and values: the pipeline's sums, not a scan.
    let pipeline = super::apply(
        &Command::Pipeline {
            owner: owner.map(str::to_string),
            by: super::report::By::Stage,
        },
        "/pipeline by:stage",
        tx,
        ctx,
    )?;
    if let Some(super::report::Done::Pipeline { rows, .. }) = pipeline.report() {
        for row in rows {
            if let Some(c) = columns.iter_mut().find(|c| {
                c.stage
                    .split_once(' ')
                    .is_some_and(|(_, name)| name == row.group)
            }) {
                c.count = row.count;
                c.value = row.amount;
            }
        }
    }
    let prefix = match owner {
        Some(o) => keys::index(Kind::Opportunity, "open", o),
        None => keys::state_base(Kind::Opportunity, "open"),
    };
    let today = ctx.today();
    let wanted = |columns: &[Column]| {
        columns
            .iter()
            .any(|c| c.cards.len() < c.count.min(per_column))
    };
    // Newest first, in batches, until every column has what it shows.
    let mut from: Option<Vec<u8>> = None;
    'scan: while wanted(&columns) {
        let batch = tx.scan(&prefix, from.as_deref(), true, 256)?;
        if batch.is_empty() {
            break;
        }
        from = batch.last().map(|(k, _)| k.clone());
        for (key, _) in batch {
            if !wanted(&columns) {
                break 'scan;
            }
            let Some(number) = key
                .rsplit(|b| *b == b'/')
                .next()
                .and_then(|n| std::str::from_utf8(n).ok())
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            let Some(o) = load::<Opportunity>(tx, number, None)? else {
                continue;
            };
            let stage = super::facts::stage(tx, &o)?;
            let Some(column) = columns.iter_mut().find(|c| c.stage == stage) else {
                continue;
            };
            if column.cards.len() >= per_column {
                continue;
            }
            column.cards.push(card(tx, ctx, o, today)?);
        }
    }
    Ok(columns)
}

/// One opportunity's card.
fn card(
    tx: &dyn Tx,
    ctx: &Context,
    o: Opportunity,
    today: NaiveDate,
) -> Result<Card, CommandError> {
    let value = super::facts::estimate(&o);
    let account = match o.account {
        Some(a) => load::<Account>(tx, a, None)?.map(|a| a.name),
        None => None,
    };
    let id = RecordId::new(Kind::Opportunity, o.number);
    let mut next: Option<(Activity, chrono::DateTime<chrono::Utc>)> = None;
    for n in super::activities::views::timeline_numbers(tx, id)? {
        let Some(a) = load::<Activity>(tx, n, None)? else {
            continue;
        };
        let Some(due) = a.due.filter(|_| matches!(a.state, ActivityState::Open)) else {
            continue;
        };
        let at = due.overdue_at(ctx.team.timezone);
        if next.as_ref().is_none_or(|(_, t)| at < *t) {
            next = Some((a, at));
        }
    }
    Ok(Card {
        id: ctx.rules.show(Kind::Opportunity, o.number),
        number: o.number,
        account,
        owner: o.owner.clone(),
        value,
        currency: o.pricing.currency.code().to_string(),
        probability: o.probability,
        follow_up: o.follow_up,
        follow_up_overdue: o.follow_up.is_some_and(|d| d < today),
        next_activity: next.map(|(a, at)| {
            (
                ctx.rules.show(Kind::Activity, a.number),
                a.subject,
                // The day it is due: the last moment before it is overdue.
                Some(
                    (at - chrono::Duration::seconds(1))
                        .with_timezone(&ctx.team.timezone)
                        .date_naive(),
                ),
            )
        }),
        name: o.name,
    })
}
