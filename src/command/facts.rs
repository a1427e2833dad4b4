//! Report sums kept by the commands. Every save of a lead, opportunity,
//! quote or invoice takes back what the record added to the sums before
//! and adds what it adds now, in the same transaction as the record: the
//! reports ([`super::report`]) read a few hundred sums, never every record.
//!
//! A sum is a *cell*: a key naming the report and its dimensions
//! (`pipe/EUR/maria/2027-03/2 develop`) holding named numbers (`n`,
//! `amount`, `weighted`...). A change takes back what the record added
//! before: computed from the old record for leads and invoices, kept
//! beside it for opportunities (`f/opportunity/N`), whose stage depends on
//! their quotes too. A lead's or an opportunity's day of
//! creation is counted in the team's time zone; the sums are built again
//! when the zone or [`VERSION`] changes ([`stamp`], [`rebuild`]).
//!
//! The cells:
//! - `pipe/CUR/OWNER/MONTH/STAGE`: open opportunities (`n`, `amount`
//!   estimated, `weighted` by probability), by expected close month (`-`
//!   for none) and stage.
//! - Dated families keep each fact twice, by day (`FAMILY/d/CUR/DAY/...`)
//!   and by month (`FAMILY/m/CUR/MONTH/...`): a period reads its whole
//!   months from the month cells and only the months it cuts day by day,
//!   so a report over years reads a few cells per month.
//! - `wlr`, `wlo`, `wlc`, `wlp` (dated, then `won|lost/VALUE`): closed
//!   opportunities by reason, owner, competitor and product (`n`,
//!   `amount`: the actual revenue when won, the estimate when lost; by
//!   product the lines' net).
//! - `revm/CUR/MONTH`, `revo/CUR/OWNER`, `reva/CUR/ACCOUNT`,
//!   `revp/CUR/SKU`: won revenue (`won_n`, `won`) by the month it was won,
//!   and invoices (`invoiced_n`, `invoiced` net, `paid`, `open`) by
//!   invoice date; cancelled invoices and their credit notes cancel out
//!   and are left out.
//! - `age/CUR/OWNER/DUE`: open invoices with a balance (`n`, `amount`), by
//!   due date.
//! - `funl`, `fund` (then `REASON`), `funo` (dated, currency `-`): leads
//!   and opportunities by
//!   the day they were created (`n`, `qualified`, `disqualified`, `won`,
//!   `lost`, and `days_qualify:D`, `days_won:D`, `days_lost:D`: how many
//!   took D days to that step, for medians).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::records::{keys, load, read, write, Tx};
use super::CommandError;
use crate::domain::invoice::{Invoice, InvoiceState};
use crate::domain::lead::{Lead, LeadState};
use crate::domain::opportunity::{OppState, OppStatus, Opportunity};
use crate::domain::quote::{Quote, QuoteState};
use crate::domain::{AnyRecord, Kind, Record};

/// The named numbers of one cell.
pub type Numbers = BTreeMap<String, Decimal>;

/// What one record adds: cells and their numbers.
type Part = Vec<(String, Numbers)>;

/// Cells as a report reads them: their dimensions and numbers.
pub type Cells = Vec<(Vec<String>, Numbers)>;

/// The version of the cells' layout; a store stamped with another is
/// built again.
pub const VERSION: u32 = 1;

/// What [`keys::FACTS_BUILT`] holds when the sums are current for `tz`.
pub fn stamp(tz: Tz) -> String {
    format!("{VERSION} {}", tz.name())
}

/// Whether the store's sums are current: built by this layout, in `tz`.
///
/// Fails when the store cannot be read.
pub fn current(tx: &dyn Tx, tz: Tz) -> Result<bool, CommandError> {
    let built: Option<String> = read(tx, keys::FACTS_BUILT)?;
    Ok(built.as_deref() == Some(stamp(tz).as_str()))
}

/// Fails unless the sums are current for the team's time zone (a store
/// the binary has not prepared yet, or a zone changed since).
///
/// Fails when the store cannot be read.
pub(super) fn check(tx: &dyn Tx, tz: Tz) -> Result<(), CommandError> {
    if current(tx, tz)? {
        return Ok(());
    }
    Err(CommandError::Store(super::TxError(
        "the report sums are not built for this store yet (or the team's time zone changed); restart leadline, which builds them".to_string(),
    )))
}

/// One dimension as it appears in a cell key: `/` and `%` escaped.
fn seg(s: &str) -> String {
    s.replace('%', "%25").replace('/', "%2F")
}

/// A dimension back from a cell key.
fn unseg(s: &str) -> String {
    s.replace("%2F", "/").replace("%25", "%")
}

fn key(parts: &[&str]) -> String {
    parts.iter().map(|p| seg(p)).collect::<Vec<_>>().join("/")
}

fn numbers<const N: usize>(pairs: [(&str, Decimal); N]) -> Numbers {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn month(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

/// The stage an open opportunity is at, as D365 names its phases (the
/// leading digit orders them): qualify (no products yet), develop
/// (products, no quote), propose (a quote, draft or active), on hold.
///
/// Fails when the store cannot be read.
pub(super) fn stage(tx: &dyn Tx, o: &Opportunity) -> Result<&'static str, CommandError> {
    if matches!(
        o.state,
        OppState::Open {
            status: OppStatus::OnHold
        }
    ) {
        return Ok("4 on hold");
    }
    for n in &o.quotes {
        if let Some(q) = load::<Quote>(tx, *n, None)? {
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

/// An opportunity's estimated revenue: the one given, else its lines'.
pub(super) fn estimate(o: &Opportunity) -> Decimal {
    o.estimated_revenue
        .unwrap_or_else(|| o.pricing.totals().pre_freight_amount)
}

/// The net amounts of `lines` by product (write-ins as `(write-in)`).
fn by_product(pricing: &crate::domain::lines::Pricing) -> BTreeMap<String, Decimal> {
    let mut out = BTreeMap::new();
    for l in &pricing.lines {
        let sku = l.sku.clone().unwrap_or_else(|| "(write-in)".to_string());
        *out.entry(sku).or_insert(Decimal::ZERO) += l.amounts(&pricing.currency).net;
    }
    out
}

fn one() -> Decimal {
    Decimal::ONE
}

/// The cells of one dated fact: by day (`FAMILY/d/CUR/DAY/...`) and by
/// month (`FAMILY/m/CUR/MONTH/...`). A period reads whole months from the
/// month cells and only its first and last month day by day ([`dated`]).
fn dated_cells(
    part: &mut Part,
    family: &str,
    cur: &str,
    day: NaiveDate,
    rest: &[&str],
    n: Numbers,
) {
    let (d, m) = (day.to_string(), month(day));
    let mut by_day = vec![family, "d", cur, &d];
    by_day.extend_from_slice(rest);
    let mut by_month = vec![family, "m", cur, &m];
    by_month.extend_from_slice(rest);
    part.push((key(&by_day), n.clone()));
    part.push((key(&by_month), n));
}

/// The currency slot of cells that count, not sum money (the funnel).
pub(super) const COUNTS: &str = "-";

fn lead_part(l: &Lead, tz: Tz) -> Part {
    let day = l.created_at.with_timezone(&tz).date_naive();
    let mut n = numbers([("n", one())]);
    let mut part = Vec::new();
    match &l.state {
        LeadState::Open { .. } => {}
        LeadState::Qualified { at } => {
            let days = (*at - l.created_at).num_days().max(0);
            n.insert("qualified".into(), one());
            n.insert(format!("days_qualify:{days}"), one());
        }
        LeadState::Disqualified { closing } => {
            n.insert("disqualified".into(), one());
            dated_cells(
                &mut part,
                "fund",
                COUNTS,
                day,
                &[&closing.reason],
                numbers([("n", one())]),
            );
        }
    }
    dated_cells(&mut part, "funl", COUNTS, day, &[], n);
    part
}

/// The cells of a won or lost opportunity in `/report wonlost`: by reason,
/// owner, competitor and product.
fn closed_cells(
    part: &mut Part,
    o: &Opportunity,
    day: NaiveDate,
    outcome: &str,
    reason: &str,
    competitor: &str,
    amount: Decimal,
) {
    let cur = o.pricing.currency.code();
    let n = numbers([("n", one()), ("amount", amount)]);
    dated_cells(part, "wlr", cur, day, &[outcome, reason], n.clone());
    dated_cells(part, "wlo", cur, day, &[outcome, &o.owner], n.clone());
    dated_cells(part, "wlc", cur, day, &[outcome, competitor], n);
    for (sku, net) in by_product(&o.pricing) {
        dated_cells(
            part,
            "wlp",
            cur,
            day,
            &[outcome, &sku],
            numbers([("n", one()), ("amount", net)]),
        );
    }
}

/// The cells of revenue (won or invoiced) in `/report revenue`: by month,
/// owner, account and product (the product's numbers given apart).
fn revenue_cells(
    part: &mut Part,
    cur: &str,
    day: NaiveDate,
    owner: &str,
    account: Option<u64>,
    n: Numbers,
    products: Vec<(String, Numbers)>,
) {
    let account = account.map_or("-".to_string(), keys::number);
    part.push((key(&["revm", cur, &month(day)]), n.clone()));
    part.push((key(&["revo", cur, owner]), n.clone()));
    part.push((key(&["reva", cur, &account]), n));
    for (sku, n) in products {
        part.push((key(&["revp", cur, &sku]), n));
    }
}

fn opportunity_part(tx: &dyn Tx, o: &Opportunity, tz: Tz) -> Result<Part, CommandError> {
    let cur = o.pricing.currency.code();
    let created = o.created_at.with_timezone(&tz).date_naive();
    let mut funnel = numbers([("n", one())]);
    let mut part = Vec::new();
    match &o.state {
        OppState::Open { .. } => {
            let amount = estimate(o);
            let weighted = o
                .pricing
                .currency
                .round(amount * Decimal::from(o.probability.unwrap_or(0)) / Decimal::ONE_HUNDRED);
            let close = o.decision_date.map_or("-".to_string(), month);
            part.push((
                key(&["pipe", cur, &o.owner, &close, stage(tx, o)?]),
                numbers([("n", one()), ("amount", amount), ("weighted", weighted)]),
            ));
        }
        OppState::Won {
            actual_revenue,
            date,
            ..
        } => {
            funnel.insert("won".into(), one());
            funnel.insert(
                format!("days_won:{}", (*date - created).num_days().max(0)),
                one(),
            );
            closed_cells(&mut part, o, *date, "won", "", "", *actual_revenue);
            revenue_cells(
                &mut part,
                cur,
                *date,
                &o.owner,
                o.account,
                numbers([("won_n", one()), ("won", *actual_revenue)]),
                by_product(&o.pricing)
                    .into_iter()
                    .map(|(sku, net)| (sku, numbers([("won_n", one()), ("won", net)])))
                    .collect(),
            );
        }
        OppState::Lost {
            closing,
            competitor,
        } => {
            funnel.insert("lost".into(), one());
            funnel.insert(
                format!("days_lost:{}", (closing.date - created).num_days().max(0)),
                one(),
            );
            closed_cells(
                &mut part,
                o,
                closing.date,
                "lost",
                &closing.reason,
                competitor.as_deref().unwrap_or(""),
                estimate(o),
            );
        }
    }
    dated_cells(&mut part, "funo", COUNTS, created, &[], funnel);
    Ok(part)
}

fn invoice_part(i: &Invoice) -> Part {
    if !matches!(i.state, InvoiceState::Open | InvoiceState::Paid { .. }) {
        return Vec::new();
    }
    let cur = i.pricing.currency.code();
    let totals = i.pricing.totals();
    let net = totals.total_amount - totals.total_tax;
    let balance = i.balance();
    let mut part = Vec::new();
    revenue_cells(
        &mut part,
        cur,
        i.invoice_date,
        &i.owner,
        i.account,
        numbers([
            ("invoiced_n", one()),
            ("invoiced", net),
            ("paid", i.paid()),
            ("open", balance),
        ]),
        by_product(&i.pricing)
            .into_iter()
            .map(|(sku, net)| (sku, numbers([("invoiced_n", one()), ("invoiced", net)])))
            .collect(),
    );
    if balance > Decimal::ZERO {
        part.push((
            key(&["age", cur, &i.owner, &i.due_date.to_string()]),
            numbers([("n", one()), ("amount", balance)]),
        ));
    }
    part
}

/// What `record` adds to the sums (nothing for the kinds no report sums).
///
/// Fails when the store cannot be read.
fn part_of(tx: &dyn Tx, record: &AnyRecord, tz: Tz) -> Result<Part, CommandError> {
    Ok(match record {
        AnyRecord::Lead(l) => lead_part(l, tz),
        AnyRecord::Opportunity(o) => opportunity_part(tx, o, tz)?,
        AnyRecord::Invoice(i) => invoice_part(i),
        _ => Vec::new(),
    })
}

/// Adds `sign` times `numbers` to `into`, dropping numbers that reach zero.
fn add(into: &mut Numbers, numbers: &Numbers, sign: Decimal) {
    for (k, v) in numbers {
        let e = into.entry(k.clone()).or_insert(Decimal::ZERO);
        *e += *v * sign;
        if e.is_zero() {
            into.remove(k);
        }
    }
}

/// Puts the sums right after `record` (just written over `old`) was
/// saved: takes back what it added before and adds what it adds now.
///
/// A lead's or an invoice's part follows from the record alone, so the
/// old part is computed from `old`. An opportunity's also depends on its
/// quotes (its stage), so what it added is kept (`f/opportunity/N`); a
/// quote that becomes or stops being open (draft or active) moves its
/// opportunity's stage.
///
/// Fails when the store cannot be read or a sum does not decode.
pub(super) fn saved<R: Record>(
    tx: &mut dyn Tx,
    tz: Tz,
    old: Option<&R>,
    record: &R,
) -> Result<(), CommandError> {
    match R::KIND {
        Kind::Lead | Kind::Invoice => {
            let before = match old {
                Some(o) => part_of(tx, &o.clone().into_any(), tz)?,
                None => Vec::new(),
            };
            let after = part_of(tx, &record.clone().into_any(), tz)?;
            change(tx, &before, &after)
        }
        Kind::Opportunity => match record.clone().into_any() {
            AnyRecord::Opportunity(o) => restage(tx, tz, &o),
            _ => Ok(()),
        },
        Kind::Quote => {
            let open = |r: &R| match r.clone().into_any() {
                AnyRecord::Quote(q) => Some((
                    q.opportunity,
                    matches!(q.state, QuoteState::Draft | QuoteState::Active { .. }),
                )),
                _ => None,
            };
            let Some((opportunity, now_open)) = open(record) else {
                return Ok(());
            };
            if old
                .and_then(open)
                .is_some_and(|(_, was_open)| was_open == now_open)
            {
                return Ok(());
            }
            match load::<Opportunity>(tx, opportunity, None)? {
                Some(o) => restage(tx, tz, &o),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// Puts an opportunity's part right: the one kept beside it taken back,
/// the one it adds now added and kept.
///
/// Fails when the store cannot be read or a sum does not decode.
fn restage(tx: &mut dyn Tx, tz: Tz, o: &Opportunity) -> Result<(), CommandError> {
    let after = opportunity_part(tx, o, tz)?;
    let facts = keys::facts(Kind::Opportunity, o.number);
    let before: Part = read(tx, &facts)?.unwrap_or_default();
    if before == after {
        return Ok(());
    }
    change(tx, &before, &after)?;
    write(tx, facts, &after)
}

/// Takes `before` back from the sums and adds `after`, writing only the
/// cells whose numbers change.
///
/// Fails when the store cannot be read or a sum does not decode.
fn change(tx: &mut dyn Tx, before: &Part, after: &Part) -> Result<(), CommandError> {
    if before == after {
        return Ok(());
    }
    let mut delta: BTreeMap<&str, Numbers> = BTreeMap::new();
    for (cell, n) in before {
        add(delta.entry(cell).or_default(), n, -Decimal::ONE);
    }
    for (cell, n) in after {
        add(delta.entry(cell).or_default(), n, Decimal::ONE);
    }
    for (cell, d) in delta.into_iter().filter(|(_, d)| !d.is_empty()) {
        let k = keys::cell(cell);
        let mut sum: Numbers = read(tx, &k)?.unwrap_or_default();
        add(&mut sum, &d, Decimal::ONE);
        if sum.is_empty() {
            tx.remove(k);
        } else {
            write(tx, k, &sum)?;
        }
    }
    Ok(())
}

/// Builds every sum again from the records, in `tz`, and stamps the store
/// ([`stamp`]); returns how many records it read.
///
/// Fails when the store cannot be read or a sum does not encode.
pub fn rebuild(tx: &mut dyn Tx, tz: Tz) -> Result<usize, CommandError> {
    for prefix in [keys::CELLS, keys::FACTS] {
        for (k, _) in tx.scan(prefix, None, false, usize::MAX)? {
            tx.remove(k);
        }
    }
    let mut sums: BTreeMap<String, Numbers> = BTreeMap::new();
    let mut read_count = 0;
    for kind in [Kind::Lead, Kind::Opportunity, Kind::Invoice] {
        for (k, v) in tx.scan(&keys::records(kind), None, false, usize::MAX)? {
            let record = match kind {
                Kind::Lead => serde_json::from_slice::<Lead>(&v).map(Record::into_any),
                Kind::Opportunity => {
                    serde_json::from_slice::<Opportunity>(&v).map(Record::into_any)
                }
                _ => serde_json::from_slice::<Invoice>(&v).map(Record::into_any),
            };
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(
                        "{} does not decode ({e}); left out of the report sums",
                        String::from_utf8_lossy(&k)
                    );
                    continue;
                }
            };
            read_count += 1;
            let part = part_of(tx, &record, tz)?;
            if part.is_empty() {
                continue;
            }
            for (cell, n) in &part {
                add(sums.entry(cell.clone()).or_default(), n, Decimal::ONE);
            }
            if kind == Kind::Opportunity {
                write(tx, keys::facts(kind, record.id().number), &part)?;
            }
        }
    }
    for (cell, n) in sums.into_iter().filter(|(_, n)| !n.is_empty()) {
        write(tx, keys::cell(&cell), &n)?;
    }
    write(tx, keys::FACTS_BUILT.to_vec(), &stamp(tz))?;
    Ok(read_count)
}

/// The cells of `report` under the dimensions `under`: each cell's
/// remaining dimensions and numbers.
///
/// Fails when the store cannot be read or a cell does not decode.
pub(super) fn cells(tx: &dyn Tx, report: &str, under: &[&str]) -> Result<Cells, CommandError> {
    scan_cells(tx, report, under, "")
}

/// [`cells`] whose next dimension starts with `starting` (a month's days:
/// `2027-03-`).
///
/// Fails when the store cannot be read or a cell does not decode.
fn scan_cells(
    tx: &dyn Tx,
    report: &str,
    under: &[&str],
    starting: &str,
) -> Result<Cells, CommandError> {
    let mut parts = vec![report];
    parts.extend_from_slice(under);
    let mut base = keys::cell(&key(&parts));
    base.push(b'/');
    let mut prefix = base.clone();
    prefix.extend_from_slice(seg(starting).as_bytes());
    let mut out = Vec::new();
    for (k, v) in tx.scan(&prefix, None, false, usize::MAX)? {
        let rest = String::from_utf8_lossy(&k[base.len()..]).to_string();
        let numbers: Numbers = serde_json::from_slice(&v).map_err(|e| {
            CommandError::Store(super::TxError(format!(
                "the report sum {} does not decode: {e}",
                String::from_utf8_lossy(&k)
            )))
        })?;
        out.push((rest.split('/').map(unseg).collect(), numbers));
    }
    Ok(out)
}

/// The cells of a dated `family` (see [`dated_cells`]) inside the period
/// `from..=to` (open ends: unbounded): whole months from the month cells,
/// the first and last month day by day. Each comes with its currency and
/// its dimensions after the date.
///
/// Fails when the store cannot be read or a cell does not decode.
pub(super) fn dated(
    tx: &dyn Tx,
    family: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<(String, Vec<String>, Numbers)>, CommandError> {
    let first_of = |d: NaiveDate| d.with_day(1).unwrap_or(d);
    let whole = |m: NaiveDate| {
        let next = m.checked_add_months(chrono::Months::new(1)).unwrap_or(m);
        from.is_none_or(|f| f <= m) && to.is_none_or(|t| next.pred_opt().is_some_and(|l| l <= t))
    };
    let mut out = Vec::new();
    let mut currencies = std::collections::BTreeSet::new();
    for (dims, n) in cells(tx, family, &["m"])? {
        let [cur, when, rest @ ..] = &dims[..] else {
            continue;
        };
        currencies.insert(cur.clone());
        let Ok(m) = NaiveDate::parse_from_str(&format!("{when}-01"), "%Y-%m-%d") else {
            continue;
        };
        if whole(m) {
            out.push((cur.clone(), rest.to_vec(), n));
        }
    }
    // The months the period cuts: read day by day.
    let mut cut: Vec<NaiveDate> = [from, to]
        .into_iter()
        .flatten()
        .map(first_of)
        .filter(|m| !whole(*m))
        .collect();
    cut.dedup();
    for cur in &currencies {
        for m in &cut {
            let days = format!("{}-", month(*m));
            for (dims, n) in scan_cells(tx, family, &["d", cur], &days)? {
                let [day, rest @ ..] = &dims[..] else {
                    continue;
                };
                let Ok(d) = day.parse::<NaiveDate>() else {
                    continue;
                };
                if from.is_none_or(|f| f <= d) && to.is_none_or(|t| d <= t) {
                    out.push((cur.clone(), rest.to_vec(), n));
                }
            }
        }
    }
    Ok(out)
}

/// Adds the numbers of one cell to a sum of several.
pub(super) fn add_to(into: &mut Numbers, numbers: &Numbers) {
    add(into, numbers, Decimal::ONE);
}

/// A number of a cell (zero when absent).
pub(super) fn get(n: &Numbers, name: &str) -> Decimal {
    n.get(name).copied().unwrap_or(Decimal::ZERO)
}

/// A count of a cell.
pub(super) fn count(n: &Numbers, name: &str) -> usize {
    use rust_decimal::prelude::ToPrimitive;
    get(n, name).to_usize().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_with_slashes_come_back_whole() {
        for s in ["a/b", "100%", "%2F", "", "Müller & Söhne / Nord"] {
            assert_eq!(unseg(&seg(s)), s);
            assert!(!seg(s).contains('/'));
        }
        assert_eq!(key(&["wl", "a/b", ""]), "wl/a%2Fb/");
    }

    #[test]
    fn adding_back_what_was_added_leaves_nothing() {
        let mut sum = numbers([("n", one()), ("amount", Decimal::new(1250, 2))]);
        let part = sum.clone();
        add(&mut sum, &part, Decimal::ONE);
        assert_eq!(get(&sum, "amount"), Decimal::new(2500, 2));
        assert_eq!(count(&sum, "n"), 2);
        add(&mut sum, &part, -Decimal::ONE);
        add(&mut sum, &part, -Decimal::ONE);
        assert!(sum.is_empty());
    }
}
