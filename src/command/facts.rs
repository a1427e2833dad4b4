//! Report sums kept by the commands. Every save of a lead, opportunity,
//! quote or invoice takes back what the record added to the sums before
//! and adds what it adds now, in the same transaction as the record: the
//! reports ([`super::report`]) read a few hundred sums, never every record.
//!
//! A sum is a *cell*: a key naming the report and its dimensions
//! (`pipe/EUR/maria/2027-03/2 develop`) holding named numbers (`n`,
//! `amount`, `weighted`...). What one record added is kept beside it
//! (`f/opportunity/N`), so a change takes back exactly that, whatever the
//! code that computed it then. A lead's or an opportunity's day of
//! creation is counted in the team's time zone; the sums are built again
//! when the zone or [`VERSION`] changes ([`stamp`], [`rebuild`]).
//!
//! The cells:
//! - `pipe/CUR/OWNER/MONTH/STAGE`: open opportunities (`n`, `amount`
//!   estimated, `weighted` by probability), by expected close month (`-`
//!   for none) and stage.
//! - `wl/CUR/DAY/won|lost/OWNER/REASON/COMPETITOR` and
//!   `wlp/CUR/DAY/won|lost/SKU`: closed opportunities (`n`, `amount`: the
//!   actual revenue when won, the estimate when lost; by product the line
//!   amounts).
//! - `rev/CUR/MONTH/OWNER/ACCOUNT` and `revp/CUR/MONTH/SKU`: won revenue
//!   (`won_n`, `won`) by the day it was won, and invoices (`invoiced_n`,
//!   `invoiced` net, `paid`, `open`) by invoice date; cancelled invoices and
//!   their credit notes cancel out and are left out.
//! - `age/CUR/OWNER/DUE`: open invoices with a balance (`n`, `amount`), by
//!   due date.
//! - `funl/DAY`, `fund/DAY/REASON`, `funo/DAY`: leads and opportunities by
//!   the day they were created (`n`, `qualified`, `disqualified`, `won`,
//!   `lost`, and `days_qualify:D`, `days_won:D`, `days_lost:D`: how many
//!   took D days to that step, for medians).

use std::collections::BTreeMap;

use chrono::NaiveDate;
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

/// The version of the cells' layout; a store stamped with another is
/// built again.
pub const VERSION: u32 = 1;

/// What [`keys::FACTS_BUILT`] holds when the sums are current for `tz`.
pub fn stamp(tz: Tz) -> String {
    format!("{VERSION} {}", tz.name())
}

/// Fails unless the sums are current for the team's time zone (a store
/// the binary has not prepared yet, or a zone changed since).
///
/// Fails when the store cannot be read.
pub(super) fn check(tx: &dyn Tx, tz: Tz) -> Result<(), CommandError> {
    let built: Option<String> = read(tx, keys::FACTS_BUILT)?;
    if built.as_deref() == Some(stamp(tz).as_str()) {
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
pub fn estimate(o: &Opportunity) -> Decimal {
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

fn lead_part(l: &Lead, tz: Tz) -> Part {
    let day = l.created_at.with_timezone(&tz).date_naive().to_string();
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
            part.push((
                key(&["fund", &day, &closing.reason]),
                numbers([("n", one())]),
            ));
        }
    }
    part.push((key(&["funl", &day]), n));
    part
}

fn opportunity_part(tx: &dyn Tx, o: &Opportunity, tz: Tz) -> Result<Part, CommandError> {
    let cur = o.pricing.currency.code();
    let created = o.created_at.with_timezone(&tz).date_naive();
    let mut funnel = numbers([("n", one())]);
    let mut part = Vec::new();
    let account = o.account.map_or("-".to_string(), keys::number);
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
            let day = date.to_string();
            funnel.insert("won".into(), one());
            funnel.insert(
                format!("days_won:{}", (*date - created).num_days().max(0)),
                one(),
            );
            part.push((
                key(&["wl", cur, &day, "won", &o.owner, "", ""]),
                numbers([("n", one()), ("amount", *actual_revenue)]),
            ));
            part.push((
                key(&["rev", cur, &month(*date), &o.owner, &account]),
                numbers([("won_n", one()), ("won", *actual_revenue)]),
            ));
            for (sku, net) in by_product(&o.pricing) {
                part.push((
                    key(&["wlp", cur, &day, "won", &sku]),
                    numbers([("n", one()), ("amount", net)]),
                ));
                part.push((
                    key(&["revp", cur, &month(*date), &sku]),
                    numbers([("won_n", one()), ("won", net)]),
                ));
            }
        }
        OppState::Lost {
            closing,
            competitor,
        } => {
            let day = closing.date.to_string();
            funnel.insert("lost".into(), one());
            funnel.insert(
                format!("days_lost:{}", (closing.date - created).num_days().max(0)),
                one(),
            );
            part.push((
                key(&[
                    "wl",
                    cur,
                    &day,
                    "lost",
                    &o.owner,
                    &closing.reason,
                    competitor.as_deref().unwrap_or(""),
                ]),
                numbers([("n", one()), ("amount", estimate(o))]),
            ));
            for (sku, net) in by_product(&o.pricing) {
                part.push((
                    key(&["wlp", cur, &day, "lost", &sku]),
                    numbers([("n", one()), ("amount", net)]),
                ));
            }
        }
    }
    part.push((key(&["funo", &created.to_string()]), funnel));
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
    let account = i.account.map_or("-".to_string(), keys::number);
    let m = month(i.invoice_date);
    let mut part = vec![(
        key(&["rev", cur, &m, &i.owner, &account]),
        numbers([
            ("invoiced_n", one()),
            ("invoiced", net),
            ("paid", i.paid()),
            ("open", balance),
        ]),
    )];
    for (sku, amount) in by_product(&i.pricing) {
        part.push((
            key(&["revp", cur, &m, &sku]),
            numbers([("invoiced_n", one()), ("invoiced", amount)]),
        ));
    }
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

/// Puts the sums right after `record` (just written) was saved: takes
/// back what it added before and adds what it adds now. A quote's change
/// moves its opportunity's stage.
///
/// Fails when the store cannot be read or a sum does not decode.
pub(super) fn saved<R: Record>(tx: &mut dyn Tx, tz: Tz, record: &R) -> Result<(), CommandError> {
    let any = match R::KIND {
        Kind::Lead | Kind::Opportunity | Kind::Invoice => record.clone().into_any(),
        Kind::Quote => {
            let AnyRecord::Quote(q) = record.clone().into_any() else {
                return Ok(());
            };
            match load::<Opportunity>(tx, q.opportunity, None)? {
                Some(o) => AnyRecord::Opportunity(o),
                None => return Ok(()),
            }
        }
        _ => return Ok(()),
    };
    let id = any.id();
    let (kind, number) = (id.kind, id.number);
    let new = part_of(tx, &any, tz)?;
    let facts = keys::facts(kind, number);
    let old: Part = read(tx, &facts)?.unwrap_or_default();
    if old == new {
        return Ok(());
    }
    let mut delta: BTreeMap<String, Numbers> = BTreeMap::new();
    for (cell, n) in &old {
        add(delta.entry(cell.clone()).or_default(), n, -Decimal::ONE);
    }
    for (cell, n) in &new {
        add(delta.entry(cell.clone()).or_default(), n, Decimal::ONE);
    }
    for (cell, d) in delta.into_iter().filter(|(_, d)| !d.is_empty()) {
        let k = keys::cell(&cell);
        let mut sum: Numbers = read(tx, &k)?.unwrap_or_default();
        add(&mut sum, &d, Decimal::ONE);
        if sum.is_empty() {
            tx.remove(k);
        } else {
            write(tx, k, &sum)?;
        }
    }
    if new.is_empty() {
        tx.remove(facts);
    } else {
        write(tx, facts, &new)?;
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
            write(tx, keys::facts(kind, record.id().number), &part)?;
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
pub(super) fn cells(
    tx: &dyn Tx,
    report: &str,
    under: &[&str],
) -> Result<Vec<(Vec<String>, Numbers)>, CommandError> {
    let mut parts = vec![report];
    parts.extend_from_slice(under);
    let mut prefix = keys::cell(&key(&parts));
    prefix.push(b'/');
    let mut out = Vec::new();
    for (k, v) in tx.scan(&prefix, None, false, usize::MAX)? {
        let rest = String::from_utf8_lossy(&k[prefix.len()..]).to_string();
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
