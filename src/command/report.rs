//! The report family: `/pipeline` (open opportunities, estimated and
//! weighted revenue, by expected close month, owner or stage) and `/report
//! aging` (unpaid invoices by days overdue): parsed, applied and
//! explained side by side.
//!
//! Both read the state index (`open` opportunities, `open` invoices, for
//! one owner or every owner) and the records it names, never a scan of
//! every record.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::args::{invalid, Args};
use super::parse::Command;
use super::records::{keys, load, Tx};
use super::render::reply;
use super::values::resolve_owner;
use super::{CommandError, Context, Family, Outcome, Reply};
use crate::domain::invoice::Invoice;
use crate::domain::language::Lang;
use crate::domain::opportunity::{OppState, OppStatus, Opportunity};
use crate::domain::quote::QuoteState;
use crate::domain::Kind;

/// The report family in the command table ([`super::FAMILIES`]).
pub(super) const FAMILY: Family = Family {
    topic: "reports",
    actions: &[],
    steps: &[],
    help: &[
        (
            "/pipeline [owner:maria] [by:month|owner|stage]",
            "open opportunities: count, estimated and weighted revenue (probability), with totals",
        ),
        (
            "/report wonlost [from:2026-01-01] [to:today] [by:reason|owner|competitor|product]",
            "opportunities won and lost in a period, counted and summed (won: actual revenue; lost: estimate)",
        ),
        (
            "/report aging [owner:maria]",
            "unpaid invoices by days overdue: not due, 1-30, 31-60, 61-90, over 90",
        ),
    ],
    parse,
    apply,
    step,
};

/// How `/pipeline` groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    Month,
    Owner,
    Stage,
}

/// Parses `/pipeline` and `/report aging`.
///
/// Fails for an unknown grouping, report or owner.
fn parse(args: &mut Args, kind: Option<Kind>, word: &str) -> Result<Option<Command>, CommandError> {
    if kind.is_some() {
        return Ok(None);
    }
    let owner = |args: &mut Args| -> Result<Option<String>, CommandError> {
        match args.opt(&["owner"])? {
            None => Ok(None),
            Some(o) if o == "team" || o == "all" => Ok(None),
            Some(o) => Ok(Some(resolve_owner(&o, args.ctx).map_err(invalid)?)),
        }
    };
    Ok(Some(match word {
        "pipeline" => {
            let owner = owner(args)?;
            let by = match args.opt(&["by", "group"])?.as_deref() {
                None | Some("month") => By::Month,
                Some("owner") => By::Owner,
                Some("stage") => By::Stage,
                Some(other) => {
                    return Err(invalid(format!(
                        "by:{other} is not a grouping; by:month, by:owner or by:stage"
                    )))
                }
            };
            Command::Pipeline { owner, by }
        }
        "report" => match args.word().as_deref() {
            Some("aging") => Command::Aging {
                owner: owner(args)?,
            },
            Some("wonlost" | "won_lost" | "winloss") => {
                let today = args.ctx.today();
                let date = |v: Option<String>| -> Result<Option<NaiveDate>, CommandError> {
                    v.map(|d| super::values::parse_date(&d, today).map_err(invalid))
                        .transpose()
                };
                let from = date(args.opt(&["from", "since"])?)?;
                let to = date(args.opt(&["to", "until"])?)?;
                let by = match args.opt(&["by", "group"])?.as_deref() {
                    None | Some("reason") => WonLostBy::Reason,
                    Some("owner") => WonLostBy::Owner,
                    Some("competitor") => WonLostBy::Competitor,
                    Some("product") => WonLostBy::Product,
                    Some(other) => {
                        return Err(invalid(format!(
                            "by:{other} is not a grouping; by:reason, by:owner, by:competitor or by:product"
                        )))
                    }
                };
                Command::WonLost { from, to, by }
            }
            Some(other) => {
                return Err(invalid(format!(
                    "/report has no report '{other}'; reports: wonlost, aging (and /pipeline)"
                )))
            }
            None => return Err(invalid("/report needs a report: /report aging")),
        },
        _ => return Ok(None),
    }))
}

/// Reports only read.
fn step(cmd: &Command) -> Option<&'static str> {
    matches!(
        cmd,
        Command::Pipeline { .. } | Command::Aging { .. } | Command::WonLost { .. }
    )
    .then_some("read")
}

/// How `/report wonlost` groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WonLostBy {
    Reason,
    Owner,
    Competitor,
    Product,
}

/// One group of `/report wonlost`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WonLostRow {
    pub group: String,
    pub won: usize,
    pub won_amount: Decimal,
    pub lost: usize,
    pub lost_amount: Decimal,
}

/// One group of a report: what it is, how many, and the amounts.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub group: String,
    pub count: usize,
    pub amount: Decimal,
    /// `/pipeline`: the estimated revenue times the probability.
    pub weighted: Decimal,
}

/// What this family's commands found.
#[derive(Debug, Clone)]
pub enum Done {
    Pipeline {
        by: By,
        owner: Option<String>,
        rows: Vec<Row>,
        total: Row,
        /// Opportunities in another currency than the team's, not summed.
        other_currency: usize,
    },
    WonLost {
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        by: WonLostBy,
        rows: Vec<WonLostRow>,
        total: WonLostRow,
        other_currency: usize,
    },
    Aging {
        owner: Option<String>,
        today: NaiveDate,
        rows: Vec<Row>,
        total: Row,
        other_currency: usize,
    },
}

/// The numbers of the records of `kind` in `state`, for one owner or all.
fn in_state(
    tx: &dyn Tx,
    kind: Kind,
    state: &str,
    owner: Option<&str>,
) -> Result<Vec<u64>, CommandError> {
    let prefixes: Vec<Vec<u8>> = match owner {
        Some(o) => vec![keys::index(kind, state, o)],
        None => {
            let base = keys::state_base(kind, state);
            super::record::segments(tx, &base)?
                .iter()
                .map(|o| keys::index(kind, state, o))
                .collect()
        }
    };
    let mut out = Vec::new();
    for prefix in prefixes {
        for (key, _) in tx.scan(&prefix, None, false, usize::MAX)? {
            let entry = String::from_utf8_lossy(&key[prefix.len()..]).to_string();
            if let Some(n) = entry.split('/').next().and_then(|n| n.parse().ok()) {
                out.push(n);
            }
        }
    }
    Ok(out)
}

/// Adds one record's amounts to its group.
fn add(rows: &mut Vec<Row>, group: String, amount: Decimal, weighted: Decimal) {
    match rows.iter_mut().find(|r| r.group == group) {
        Some(r) => {
            r.count += 1;
            r.amount += amount;
            r.weighted += weighted;
        }
        None => rows.push(Row {
            group,
            count: 1,
            amount,
            weighted,
        }),
    }
}

fn total(rows: &[Row]) -> Row {
    Row {
        group: "total".to_string(),
        count: rows.iter().map(|r| r.count).sum(),
        amount: rows.iter().map(|r| r.amount).sum(),
        weighted: rows.iter().map(|r| r.weighted).sum(),
    }
}

/// The stage an open opportunity is at, as D365 names its phases: on hold;
/// qualify (no products yet); develop (products, no quote); propose (a
/// quote, draft or active).
fn stage(tx: &dyn Tx, o: &Opportunity) -> Result<&'static str, CommandError> {
    if matches!(
        o.state,
        OppState::Open {
            status: OppStatus::OnHold
        }
    ) {
        return Ok("4 on hold");
    }
    for n in &o.quotes {
        if let Some(q) = load::<crate::domain::quote::Quote>(tx, *n, None)? {
            if matches!(q.state, QuoteState::Draft | QuoteState::Active { .. }) {
                return Ok("3 propose");
            }
        }
    }
    Ok(if o.pricing.lines.is_empty() {
        "1 qualify"
    } else {
        "2 develop"
    })
}

/// Applies this family's commands; `None` for another family's.
///
/// Fails when the store cannot be read.
fn apply(
    cmd: &Command,
    _text: &str,
    tx: &mut dyn Tx,
    ctx: &Context,
) -> Result<Option<Outcome>, CommandError> {
    let done = match cmd {
        Command::Pipeline { owner, by } => {
            let mut rows = Vec::new();
            let mut other_currency = 0;
            for n in in_state(tx, Kind::Opportunity, "open", owner.as_deref())? {
                let Some(o) = load::<Opportunity>(tx, n, None)? else {
                    continue;
                };
                if o.pricing.currency != ctx.rules.currency {
                    other_currency += 1;
                    continue;
                }
                let estimated = o
                    .estimated_revenue
                    .unwrap_or_else(|| o.pricing.totals().pre_freight_amount);
                let weighted = ctx.rules.currency.round(
                    estimated * Decimal::from(o.probability.unwrap_or(0)) / Decimal::ONE_HUNDRED,
                );
                let group = match by {
                    By::Month => o.decision_date.map_or("no close date".to_string(), |d| {
                        d.format("%Y-%m").to_string()
                    }),
                    By::Owner => o.owner.clone(),
                    By::Stage => stage(tx, &o)?.to_string(),
                };
                add(&mut rows, group, estimated, weighted);
            }
            rows.sort_by(|a, b| a.group.cmp(&b.group));
            // Stages sort by their leading digit, which is not shown.
            for r in &mut rows {
                if let Some((_, name)) = r.group.split_once(' ').filter(|_| *by == By::Stage) {
                    r.group = name.to_string();
                }
            }
            Done::Pipeline {
                by: *by,
                owner: owner.clone(),
                total: total(&rows),
                rows,
                other_currency,
            }
        }
        Command::WonLost { from, to, by } => {
            let mut rows: Vec<WonLostRow> = Vec::new();
            let mut other_currency = 0;
            for (state, won) in [("won", true), ("lost", false)] {
                for n in in_state(tx, Kind::Opportunity, state, None)? {
                    let Some(o) = load::<Opportunity>(tx, n, None)? else {
                        continue;
                    };
                    if o.pricing.currency != ctx.rules.currency {
                        other_currency += 1;
                        continue;
                    }
                    let (date, reason, competitor, amount) = match &o.state {
                        OppState::Won {
                            actual_revenue,
                            date,
                            ..
                        } => (*date, "(won)".to_string(), None, *actual_revenue),
                        OppState::Lost {
                            closing,
                            competitor,
                        } => (
                            closing.date,
                            closing.reason.clone(),
                            competitor.clone(),
                            o.estimated_revenue
                                .unwrap_or_else(|| o.pricing.totals().pre_freight_amount),
                        ),
                        OppState::Open { .. } => continue,
                    };
                    if from.is_some_and(|f| date < f) || to.is_some_and(|t| date > t) {
                        continue;
                    }
                    let groups: Vec<(String, Decimal)> = match by {
                        WonLostBy::Reason => vec![(reason, amount)],
                        WonLostBy::Owner => vec![(o.owner.clone(), amount)],
                        WonLostBy::Competitor => {
                            vec![(competitor.unwrap_or_else(|| "(none)".to_string()), amount)]
                        }
                        WonLostBy::Product => o
                            .pricing
                            .lines
                            .iter()
                            .map(|l| {
                                (
                                    l.sku.clone().unwrap_or_else(|| "(write-in)".to_string()),
                                    l.amounts(&o.pricing.currency).net,
                                )
                            })
                            .collect(),
                    };
                    for (group, amount) in groups {
                        let i = match rows.iter().position(|r| r.group == group) {
                            Some(i) => i,
                            None => {
                                rows.push(WonLostRow {
                                    group,
                                    ..WonLostRow::default()
                                });
                                rows.len() - 1
                            }
                        };
                        let row = &mut rows[i];
                        if won {
                            row.won += 1;
                            row.won_amount += amount;
                        } else {
                            row.lost += 1;
                            row.lost_amount += amount;
                        }
                    }
                }
            }
            rows.sort_by(|a, b| a.group.cmp(&b.group));
            let total = WonLostRow {
                group: "total".to_string(),
                won: rows.iter().map(|r| r.won).sum(),
                won_amount: rows.iter().map(|r| r.won_amount).sum(),
                lost: rows.iter().map(|r| r.lost).sum(),
                lost_amount: rows.iter().map(|r| r.lost_amount).sum(),
            };
            Done::WonLost {
                from: *from,
                to: *to,
                by: *by,
                rows,
                total,
                other_currency,
            }
        }
        Command::Aging { owner } => {
            let today = ctx.today();
            let buckets = [
                "not due",
                "1-30 days",
                "31-60 days",
                "61-90 days",
                "over 90 days",
            ];
            let mut rows: Vec<Row> = buckets
                .iter()
                .map(|b| Row {
                    group: b.to_string(),
                    count: 0,
                    amount: Decimal::ZERO,
                    weighted: Decimal::ZERO,
                })
                .collect();
            let mut other_currency = 0;
            for n in in_state(tx, Kind::Invoice, "open", owner.as_deref())? {
                let Some(i) = load::<Invoice>(tx, n, None)? else {
                    continue;
                };
                if i.pricing.currency != ctx.rules.currency {
                    other_currency += 1;
                    continue;
                }
                let late = (today - i.due_date).num_days();
                let bucket = match late {
                    d if d <= 0 => 0,
                    1..=30 => 1,
                    31..=60 => 2,
                    61..=90 => 3,
                    _ => 4,
                };
                let row = &mut rows[bucket];
                row.count += 1;
                row.amount += i.balance();
            }
            Done::Aging {
                owner: owner.clone(),
                today,
                total: total(&rows),
                rows,
                other_currency,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(Outcome::Report(done)))
}

/// This family's outcomes for people, scripts and chat.
pub(super) fn render(done: &Done, ctx: &Context) -> Reply {
    let c = &ctx.rules.currency;
    // Records in another currency are counted apart, never summed.
    let other = |n: usize| {
        if n == 0 {
            String::new()
        } else {
            format!("\n  ({n} in another currency than {} not summed)", c.code())
        }
    };
    let money = |a: Decimal| c.format(a);
    let whose = |owner: &Option<String>| owner.clone().unwrap_or_else(|| "the team".to_string());
    match done {
        Done::Pipeline {
            by,
            owner,
            rows,
            total,
            other_currency,
        } => {
            let mut text = format!(
                "pipeline of {} by {}: {} open opportunit{}",
                whose(owner),
                match by {
                    By::Month => "expected close month",
                    By::Owner => "owner",
                    By::Stage => "stage",
                },
                total.count,
                if total.count == 1 { "y" } else { "ies" }
            );
            text.push_str(&format!(
                "\n  {:<16} {:>5} {:>18} {:>18}",
                "", "count", "estimated", "weighted"
            ));
            for r in rows.iter().chain(std::iter::once(total)) {
                let group = r.group.as_str();
                text.push_str(&format!(
                    "\n  {:<16} {:>5} {:>18} {:>18}",
                    group,
                    r.count,
                    money(r.amount),
                    money(r.weighted)
                ));
            }
            text.push_str(&other(*other_currency));
            reply(
                ctx,
                text,
                &serde_json::json!({"by": by, "rows": rows, "total": total}),
                vec![],
            )
        }
        Done::WonLost {
            from,
            to,
            by,
            rows,
            total,
            other_currency,
        } => {
            let period = match (from, to) {
                (None, None) => "all time".to_string(),
                (f, t) => format!(
                    "{} to {}",
                    f.map_or("the start".to_string(), |d| d.to_string()),
                    t.map_or("today".to_string(), |d| d.to_string())
                ),
            };
            // Counted by opportunity (by product: by line).
            let closed = total.won + total.lost;
            let rate = (total.won * 100).checked_div(closed).unwrap_or(0);
            let mut text = format!(
                "won and lost, {period}: {} won, {} lost ({rate}% won)",
                total.won, total.lost
            );
            text.push_str(&format!(
                "\n  {:<20} {:>4} {:>16} {:>4} {:>16}",
                "", "won", "", "lost", ""
            ));
            for r in rows.iter().chain(std::iter::once(total)) {
                text.push_str(&format!(
                    "\n  {:<20} {:>4} {:>16} {:>4} {:>16}",
                    r.group,
                    r.won,
                    money(r.won_amount),
                    r.lost,
                    money(r.lost_amount)
                ));
            }
            text.push_str(&other(*other_currency));
            reply(
                ctx,
                text,
                &serde_json::json!({"by": by, "rows": rows, "total": total}),
                vec![],
            )
        }
        Done::Aging {
            owner,
            today,
            rows,
            total,
            other_currency,
        } => {
            let mut text = format!(
                "unpaid invoices of {} on {}: {} open, {} due",
                whose(owner),
                Lang::parse(Some(ctx.language), "de").date(*today),
                total.count,
                money(total.amount)
            );
            for r in rows.iter().chain(std::iter::once(total)) {
                text.push_str(&format!(
                    "\n  {:<14} {:>5} {:>18}",
                    r.group,
                    r.count,
                    money(r.amount)
                ));
            }
            text.push_str(&other(*other_currency));
            reply(
                ctx,
                text,
                &serde_json::json!({"rows": rows, "total": total}),
                vec![],
            )
        }
    }
}
