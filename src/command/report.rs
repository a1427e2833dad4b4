//! The report family: `/pipeline` (open opportunities, estimated and
//! weighted revenue, by expected close month, owner or stage) and `/report
//! aging` (unpaid invoices by days overdue): parsed, applied and
//! explained side by side.
//!
//! Both read the state index (`open` opportunities, `open` invoices, for
//! one owner or every owner) and the records it names, never a scan of
//! every record.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::args::{invalid, Args};
use super::facts::{self, Numbers};
use super::parse::Command;
use super::records::{load, Tx};
use super::render::reply;
use super::values::resolve_owner;
use super::{CommandError, Context, Family, Outcome, Reply};
use crate::domain::language::Lang;
use crate::domain::party::Account;
use crate::domain::Kind;
use rust_decimal::prelude::ToPrimitive;

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
            "/report revenue [by:month|quarter|owner|account|product]",
            "won revenue, and invoiced revenue (net) with what is paid and open (gross); by account the 25 largest",
        ),
        (
            "/report funnel [from:2026-01-01] [to:today]",
            "leads and opportunities created in a period: qualified, disqualified by reason, won, lost, rates, median days per step",
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
                let (from, to) = period(args)?;
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
            Some("revenue") => Command::Revenue {
                by: match args.opt(&["by", "group"])?.as_deref() {
                    None | Some("month") => RevenueBy::Month,
                    Some("quarter") => RevenueBy::Quarter,
                    Some("owner") => RevenueBy::Owner,
                    Some("account") => RevenueBy::Account,
                    Some("product") => RevenueBy::Product,
                    Some(other) => {
                        return Err(invalid(format!(
                            "by:{other} is not a grouping; by:month, by:quarter, by:owner, by:account or by:product"
                        )))
                    }
                },
            },
            Some("funnel") => {
                let (from, to) = period(args)?;
                Command::Funnel { from, to }
            }
            Some(other) => {
                return Err(invalid(format!(
                    "/report has no report '{other}'; reports: wonlost, revenue, funnel, aging (and /pipeline)"
                )))
            }
            None => return Err(invalid("/report needs a report: /report aging")),
        },
        _ => return Ok(None),
    }))
}

/// `from:` and `to:` of a report, dates as everywhere (`today`, `-30d`).
///
/// Fails for a value that is not a date, or a period that ends before it
/// starts.
fn period(args: &mut Args) -> Result<(Option<NaiveDate>, Option<NaiveDate>), CommandError> {
    let today = args.ctx.today();
    let date = |v: Option<String>| -> Result<Option<NaiveDate>, CommandError> {
        v.map(|d| super::values::parse_date(&d, today).map_err(invalid))
            .transpose()
    };
    let from = date(args.opt(&["from", "since"])?)?;
    let to = date(args.opt(&["to", "until"])?)?;
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            return Err(invalid(format!(
                "the period ends ({t}) before it starts ({f})"
            )));
        }
    }
    Ok((from, to))
}

/// Reports only read.
fn step(cmd: &Command) -> Option<&'static str> {
    matches!(
        cmd,
        Command::Pipeline { .. }
            | Command::Aging { .. }
            | Command::WonLost { .. }
            | Command::Revenue { .. }
            | Command::Funnel { .. }
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

/// How `/report revenue` groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevenueBy {
    Month,
    Quarter,
    Owner,
    Account,
    Product,
}

impl RevenueBy {
    /// The grouping in words (`quarter`).
    pub fn name(self) -> &'static str {
        match self {
            RevenueBy::Month => "month",
            RevenueBy::Quarter => "quarter",
            RevenueBy::Owner => "owner",
            RevenueBy::Account => "account",
            RevenueBy::Product => "product",
        }
    }
}

/// One group of `/report revenue`: won opportunities (actual revenue; by
/// product their lines' net) and invoices (net, and the gross paid and
/// still open).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RevenueRow {
    pub group: String,
    pub won_count: usize,
    pub won: Decimal,
    pub invoiced_count: usize,
    pub invoiced: Decimal,
    pub paid: Decimal,
    pub open: Decimal,
}

/// How many accounts `/report revenue by:account` names; the others are
/// summed in one row.
pub const TOP_ACCOUNTS: usize = 25;

impl RevenueRow {
    fn merge(&mut self, r: &RevenueRow) {
        self.won_count += r.won_count;
        self.won += r.won;
        self.invoiced_count += r.invoiced_count;
        self.invoiced += r.invoiced;
        self.paid += r.paid;
        self.open += r.open;
    }

    fn add(&mut self, n: &Numbers) {
        self.won_count += facts::count(n, "won_n");
        self.won += facts::get(n, "won");
        self.invoiced_count += facts::count(n, "invoiced_n");
        self.invoiced += facts::get(n, "invoiced");
        self.paid += facts::get(n, "paid");
        self.open += facts::get(n, "open");
    }
}

/// `/report funnel`: the leads and opportunities created in a period and
/// what became of them; days are medians (`None`: none took that step).
#[derive(Debug, Clone, Serialize)]
pub struct Funnel {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub leads: usize,
    pub qualified: usize,
    pub disqualified: usize,
    /// Disqualified leads by reason, the most frequent first.
    pub reasons: Vec<(String, usize)>,
    pub days_to_qualify: Option<Decimal>,
    pub opportunities: usize,
    pub won: usize,
    pub lost: usize,
    pub days_to_win: Option<Decimal>,
    pub days_to_lose: Option<Decimal>,
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
    Revenue {
        by: RevenueBy,
        rows: Vec<RevenueRow>,
        total: RevenueRow,
        other_currency: usize,
    },
    Funnel(Funnel),
    Aging {
        owner: Option<String>,
        today: NaiveDate,
        rows: Vec<Row>,
        total: Row,
        other_currency: usize,
    },
}

/// Adds one cell's amounts to its group.
fn add(rows: &mut Vec<Row>, group: String, count: usize, amount: Decimal, weighted: Decimal) {
    match rows.iter_mut().find(|r| r.group == group) {
        Some(r) => {
            r.count += count;
            r.amount += amount;
            r.weighted += weighted;
        }
        None => rows.push(Row {
            group,
            count,
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

/// Whether a cell's owner is the one asked for (any, when none).
fn owned(owner: &Option<String>, by: &str) -> bool {
    owner.as_ref().is_none_or(|o| o.eq_ignore_ascii_case(by))
}

/// The cells of `report`: those in the team's currency, and the count of
/// records in another (never summed with them); `count` names the number
/// that counts records.
fn team_cells(
    tx: &dyn Tx,
    ctx: &Context,
    report: &str,
    count: &[&str],
) -> Result<(facts::Cells, usize), CommandError> {
    facts::check(tx, ctx.team.timezone)?;
    let mut other = 0;
    let mut ours = Vec::new();
    for (mut dims, n) in facts::cells(tx, report, &[])? {
        if dims.first().map(String::as_str) == Some(ctx.rules.currency.code()) {
            dims.remove(0);
            ours.push((dims, n));
        } else {
            other += count.iter().map(|c| facts::count(&n, c)).sum::<usize>();
        }
    }
    Ok((ours, other))
}

/// The middle of a distribution of `days:N` counts (the mean of the two
/// middle ones for an even count); `None` when it is empty.
fn median(n: &Numbers, name: &str) -> Option<Decimal> {
    let prefix = format!("{name}:");
    let mut days: Vec<(i64, usize)> = n
        .iter()
        .filter_map(|(k, v)| {
            let d = k.strip_prefix(&prefix)?.parse().ok()?;
            Some((d, v.to_usize().unwrap_or(0)))
        })
        .collect();
    days.sort_unstable();
    let total: usize = days.iter().map(|(_, c)| c).sum();
    if total == 0 {
        return None;
    }
    let nth = |i: usize| {
        let mut seen = 0;
        for (d, c) in &days {
            seen += c;
            if seen > i {
                return Decimal::from(*d);
            }
        }
        Decimal::ZERO
    };
    Some(if total % 2 == 1 {
        nth(total / 2)
    } else {
        (nth(total / 2 - 1) + nth(total / 2)) / Decimal::TWO
    })
}

/// An account's name for a report row (`(no account)` for `-`).
fn account_name(tx: &dyn Tx, dim: &str) -> Result<String, CommandError> {
    let Ok(n) = dim.parse::<u64>() else {
        return Ok("(no account)".to_string());
    };
    Ok(load::<Account>(tx, n, None)?.map_or_else(|| format!("account {n}"), |a| a.name))
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
            let (cells, other_currency) = team_cells(tx, ctx, "pipe", &["n"])?;
            for (dims, n) in cells {
                let [who, month, stage] = &dims[..] else {
                    continue;
                };
                if !owned(owner, who) {
                    continue;
                }
                let group = match by {
                    By::Month if month == "-" => "no close date".to_string(),
                    By::Month => month.clone(),
                    By::Owner => who.clone(),
                    By::Stage => stage.clone(),
                };
                add(
                    &mut rows,
                    group,
                    facts::count(&n, "n"),
                    facts::get(&n, "amount"),
                    facts::get(&n, "weighted"),
                );
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
            facts::check(tx, ctx.team.timezone)?;
            let mut groups: BTreeMap<String, WonLostRow> = BTreeMap::new();
            let family = match by {
                WonLostBy::Reason => "wlr",
                WonLostBy::Owner => "wlo",
                WonLostBy::Competitor => "wlc",
                WonLostBy::Product => "wlp",
            };
            let mut other_currency = 0;
            for (cur, dims, n) in facts::dated(tx, family, *from, *to)? {
                if cur != ctx.rules.currency.code() {
                    // By product an opportunity has a cell per product.
                    if *by != WonLostBy::Product {
                        other_currency += facts::count(&n, "n");
                    }
                    continue;
                }
                let [outcome, value] = &dims[..] else {
                    continue;
                };
                let group = match by {
                    WonLostBy::Reason if outcome == "won" => "(won)".to_string(),
                    WonLostBy::Competitor if value.is_empty() => "(none)".to_string(),
                    _ => value.clone(),
                };
                let row = groups.entry(group).or_insert_with_key(|g| WonLostRow {
                    group: g.clone(),
                    ..WonLostRow::default()
                });
                if outcome == "won" {
                    row.won += facts::count(&n, "n");
                    row.won_amount += facts::get(&n, "amount");
                } else {
                    row.lost += facts::count(&n, "n");
                    row.lost_amount += facts::get(&n, "amount");
                }
            }
            let rows: Vec<WonLostRow> = groups.into_values().collect();
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
        Command::Revenue { by } => {
            let family = match by {
                RevenueBy::Month | RevenueBy::Quarter => "revm",
                RevenueBy::Owner => "revo",
                RevenueBy::Account => "reva",
                RevenueBy::Product => "revp",
            };
            let (cells, other_currency) = team_cells(tx, ctx, family, &["won_n", "invoiced_n"])?;
            let mut groups: BTreeMap<String, RevenueRow> = BTreeMap::new();
            for (dims, n) in cells {
                let Some(dim) = dims.first() else {
                    continue;
                };
                let group = match by {
                    RevenueBy::Quarter => quarter(dim),
                    _ => dim.clone(),
                };
                groups
                    .entry(group)
                    .or_insert_with_key(|g| RevenueRow {
                        group: g.clone(),
                        ..RevenueRow::default()
                    })
                    .add(&n);
            }
            let mut rows: Vec<RevenueRow> = groups.into_values().collect();
            if *by == RevenueBy::Account {
                // The largest accounts by name; the rest in one row.
                rows.sort_by_key(|r| std::cmp::Reverse(r.won + r.invoiced));
                let rest = rows.split_off(rows.len().min(TOP_ACCOUNTS));
                for r in &mut rows {
                    r.group = account_name(tx, &r.group)?;
                }
                rows.sort_by(|a, b| a.group.cmp(&b.group));
                if !rest.is_empty() {
                    let mut other = RevenueRow {
                        group: format!("({} other accounts)", rest.len()),
                        ..RevenueRow::default()
                    };
                    for r in &rest {
                        other.merge(r);
                    }
                    rows.push(other);
                }
            }
            let mut total = RevenueRow {
                group: "total".to_string(),
                ..RevenueRow::default()
            };
            for r in &rows {
                total.merge(r);
            }
            Done::Revenue {
                by: *by,
                rows,
                total,
                other_currency,
            }
        }
        Command::Funnel { from, to } => {
            facts::check(tx, ctx.team.timezone)?;
            let mut leads = Numbers::new();
            for (_, _, n) in facts::dated(tx, "funl", *from, *to)? {
                facts::add_to(&mut leads, &n);
            }
            let mut reasons: Vec<(String, usize)> = Vec::new();
            for (_, dims, n) in facts::dated(tx, "fund", *from, *to)? {
                let Some(reason) = dims.first() else {
                    continue;
                };
                match reasons.iter_mut().find(|(r, _)| r == reason) {
                    Some((_, c)) => *c += facts::count(&n, "n"),
                    None => reasons.push((reason.clone(), facts::count(&n, "n"))),
                }
            }
            reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut opps = Numbers::new();
            for (_, _, n) in facts::dated(tx, "funo", *from, *to)? {
                facts::add_to(&mut opps, &n);
            }
            Done::Funnel(Funnel {
                from: *from,
                to: *to,
                leads: facts::count(&leads, "n"),
                qualified: facts::count(&leads, "qualified"),
                disqualified: facts::count(&leads, "disqualified"),
                reasons,
                days_to_qualify: median(&leads, "days_qualify"),
                opportunities: facts::count(&opps, "n"),
                won: facts::count(&opps, "won"),
                lost: facts::count(&opps, "lost"),
                days_to_win: median(&opps, "days_won"),
                days_to_lose: median(&opps, "days_lost"),
            })
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
            let (cells, other_currency) = team_cells(tx, ctx, "age", &["n"])?;
            for (dims, n) in cells {
                let [who, due] = &dims[..] else {
                    continue;
                };
                let Ok(due) = due.parse::<NaiveDate>() else {
                    continue;
                };
                if !owned(owner, who) {
                    continue;
                }
                let bucket = match (today - due).num_days() {
                    d if d <= 0 => 0,
                    1..=30 => 1,
                    31..=60 => 2,
                    61..=90 => 3,
                    _ => 4,
                };
                let row = &mut rows[bucket];
                row.count += facts::count(&n, "n");
                row.amount += facts::get(&n, "amount");
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

/// `2027-03` as `2027-Q1`.
fn quarter(month: &str) -> String {
    match month.split_once('-') {
        Some((y, m)) => match m.parse::<u32>() {
            Ok(m @ 1..=12) => format!("{y}-Q{}", (m - 1) / 3 + 1),
            _ => month.to_string(),
        },
        None => month.to_string(),
    }
}

/// A report's period in words: `all time`, `2026-01-01 to today`.
fn period_words(from: Option<NaiveDate>, to: Option<NaiveDate>) -> String {
    match (from, to) {
        (None, None) => "all time".to_string(),
        (f, t) => format!(
            "{} to {}",
            f.map_or("the start".to_string(), |d| d.to_string()),
            t.map_or("today".to_string(), |d| d.to_string())
        ),
    }
}

/// A grouped report's reply: its text, and its numbers as JSON.
fn grouped(
    ctx: &Context,
    text: String,
    by: &impl Serialize,
    rows: &impl Serialize,
    total: &impl Serialize,
) -> Reply {
    reply(
        ctx,
        text,
        &serde_json::json!({"by": by, "rows": rows, "total": total}),
        vec![],
    )
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
            grouped(ctx, text, by, rows, total)
        }
        Done::WonLost {
            from,
            to,
            by,
            rows,
            total,
            other_currency,
        } => {
            let period = period_words(*from, *to);
            // Counted by opportunity (by product: by opportunity and product).
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
            grouped(ctx, text, by, rows, total)
        }
        Done::Revenue {
            by,
            rows,
            total,
            other_currency,
        } => {
            let mut text = format!(
                "revenue by {}: won {} ({} opportunities), invoiced {} net ({} invoices), paid {}, open {}",
                by.name(),
                money(total.won),
                total.won_count,
                money(total.invoiced),
                total.invoiced_count,
                money(total.paid),
                money(total.open),
            );
            text.push_str(&format!(
                "\n  {:<20} {:>18} {:>18} {:>18} {:>18}",
                "", "won", "invoiced (net)", "paid", "open"
            ));
            for r in rows.iter().chain(std::iter::once(total)) {
                text.push_str(&format!(
                    "\n  {:<20} {:>18} {:>18} {:>18} {:>18}",
                    r.group,
                    money(r.won),
                    money(r.invoiced),
                    money(r.paid),
                    money(r.open)
                ));
            }
            text.push_str(&other(*other_currency));
            grouped(ctx, text, by, rows, total)
        }
        Done::Funnel(f) => {
            let period = period_words(f.from, f.to);
            let pct = |part: usize, of: usize| match (part * 100).checked_div(of) {
                Some(p) => format!("{p}%"),
                None => "-".to_string(),
            };
            let days = |d: Option<Decimal>| {
                d.map_or("-".to_string(), |d| format!("{} days", d.normalize()))
            };
            let open_leads = f.leads.saturating_sub(f.qualified + f.disqualified);
            let open_opps = f.opportunities.saturating_sub(f.won + f.lost);
            let mut text = format!(
                "funnel, created {period}:\n  leads {:>6}\n  qualified {:>6} ({} of leads; median {} to qualify)\n  disqualified {:>6} ({})\n  still open {:>6}",
                f.leads,
                f.qualified,
                pct(f.qualified, f.leads),
                days(f.days_to_qualify),
                f.disqualified,
                pct(f.disqualified, f.leads),
                open_leads,
            );
            for (reason, n) in &f.reasons {
                text.push_str(&format!("\n    {reason}: {n}"));
            }
            text.push_str(&format!(
                "\n  opportunities {:>6}\n  won {:>6} ({} of those closed; median {} to win)\n  lost {:>6} (median {} to lose)\n  open {:>6}",
                f.opportunities,
                f.won,
                pct(f.won, f.won + f.lost),
                days(f.days_to_win),
                f.lost,
                days(f.days_to_lose),
                open_opps,
            ));
            reply(ctx, text, &serde_json::json!(f), vec![])
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
