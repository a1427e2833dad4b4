//! The pipeline board of the web view: open opportunities by stage, each
//! a card with its account, value, probability, next activity and
//! follow-up. A typed read ([`board`]), run on a view of the store like
//! any read command; moving a card is a command (the web view maps each
//! move to one, see `crate::web`).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::records::{keys, load, Tx};
use super::{CommandError, Context};
use crate::domain::activity::{Activity, ActivityState};
use crate::domain::opportunity::Opportunity;
use crate::domain::party::Account;
use crate::domain::{Kind, RecordId};

/// The board's columns, as [`super::facts`] names the stages.
pub const STAGES: &[&str] = &["1 qualify", "2 develop", "3 propose", "4 on hold"];

/// Cards shown at most per column (the rest are counted).
pub const CARDS_PER_COLUMN: usize = 1000;

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

/// One column: a stage, its cards, how many there are and their value.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub stage: &'static str,
    pub cards: Vec<Card>,
    pub count: usize,
    pub value: Decimal,
}

/// The open opportunities of `owner` (everyone's when `None`), by stage.
///
/// Fails when the store cannot be read or a record does not decode.
pub fn board(tx: &dyn Tx, ctx: &Context, owner: Option<&str>) -> Result<Vec<Column>, CommandError> {
    let prefix = match owner {
        Some(o) => keys::index(Kind::Opportunity, "open", o),
        None => keys::state_base(Kind::Opportunity, "open"),
    };
    let mut columns: Vec<Column> = STAGES
        .iter()
        .map(|s| Column {
            stage: s,
            cards: Vec::new(),
            count: 0,
            value: Decimal::ZERO,
        })
        .collect();
    let today = ctx.today();
    for (key, _) in tx.scan(&prefix, None, true, usize::MAX)? {
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
        let value = o
            .estimated_revenue
            .unwrap_or_else(|| o.pricing.totals().pre_freight_amount);
        column.count += 1;
        column.value += value;
        if column.cards.len() >= CARDS_PER_COLUMN {
            continue;
        }
        let account = match o.account {
            Some(a) => load::<Account>(tx, a, None)?.map(|a| a.name),
            None => None,
        };
        let id = RecordId::new(Kind::Opportunity, o.number);
        let mut next: Option<(Activity, Option<chrono::DateTime<chrono::Utc>>)> = None;
        for n in super::activities::views::timeline_numbers(tx, id)? {
            let Some(a) = load::<Activity>(tx, n, None)? else {
                continue;
            };
            if !matches!(a.state, ActivityState::Open) || a.due.is_none() {
                continue;
            }
            let at = a.due.map(|d| d.overdue_at(ctx.team.timezone));
            if next.as_ref().is_none_or(|(_, t)| at < *t) {
                next = Some((a, at));
            }
        }
        column.cards.push(Card {
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
                    at.map(|t| {
                        (t - chrono::Duration::seconds(1))
                            .with_timezone(&ctx.team.timezone)
                            .date_naive()
                    }),
                )
            }),
            name: o.name,
        });
    }
    Ok(columns)
}
