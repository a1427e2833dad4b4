//! `/find`: the search over leads, contacts, accounts, opportunities,
//! quotes, orders, invoices and products, and the word index behind it.
//!
//! Every record's words ([`Record::search_terms`], folded by
//! [`crate::domain::search`]) are kept as keys `s/WORD\0KIND-CODE ID`
//! ([`keys::search_word`]), updated
//! when it is saved (only the words that changed: an edit of other fields
//! writes nothing here). A query scans the keys of its most telling word
//! (the longest, digits first) by prefix, newest first, in batches, and
//! checks the record's other words on the record itself; the scan is
//! bounded, so a query costs the same on a store of any size.

use std::collections::BTreeSet;

use super::args::{invalid, limit, Args};
use super::parse::Command;
use super::records::{keys, read, write, Tx};
use super::Family;
use super::{render, CommandError, Context, Outcome, Reply};
use crate::domain::fields::normalize_name;
use crate::domain::invoice::Invoice;
use crate::domain::lead::Lead;
use crate::domain::opportunity::Opportunity;
use crate::domain::order::Order;
use crate::domain::party::{Account, Contact};
use crate::domain::product::Product;
use crate::domain::quote::Quote;
use crate::domain::search::{terms, words};
use crate::domain::{Kind, Record};

/// Index keys scanned at most for one query: what bounds its cost.
const SCAN_LIMIT: usize = 10_000;

/// The kinds `/find` returns, with products (which have no number).
pub const KINDS: &[&str] = &[
    "lead",
    "contact",
    "account",
    "opportunity",
    "quote",
    "order",
    "invoice",
    "product",
];

/// The words a product is found by: SKU, name, description.
pub fn product_terms(p: &Product) -> Vec<String> {
    terms([
        Some(p.sku.as_str()),
        Some(p.name.as_str()),
        p.description.as_deref(),
    ])
}

/// Moves the search words of record `kind`/`ident` from `old` to `new`.
pub fn update(tx: &mut dyn Tx, kind: &str, ident: &str, old: &[String], new: &[String]) {
    for w in old.iter().filter(|w| !new.contains(w)) {
        tx.remove(keys::search_word(w, kind, ident));
    }
    for w in new.iter().filter(|w| !old.contains(w)) {
        tx.put(keys::search_word(w, kind, ident), Vec::new());
    }
}

/// Rebuilds the search words and lookups of every record and product (the
/// upgrade to schema 3); returns how many records it read.
///
/// A record that does not decode is left out with a warning (`leadline
/// store check` lists it), so the store still opens.
///
/// Fails when the store fails.
pub fn reindex(tx: &mut dyn Tx) -> Result<usize, CommandError> {
    fn all<R: Record>(tx: &mut dyn Tx) -> Result<usize, CommandError> {
        let rows = tx.scan(&keys::records(R::KIND), None, false, usize::MAX)?;
        for (k, v) in &rows {
            let r: R = match serde_json::from_slice(v) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(
                        "{} does not decode ({e}); not indexed",
                        String::from_utf8_lossy(k)
                    );
                    continue;
                }
            };
            for l in r.lookups() {
                write(tx, keys::lookup(&l), &r.number())?;
            }
            update(
                tx,
                R::KIND.name(),
                &keys::number(r.number()),
                &[],
                &r.search_terms(),
            );
        }
        Ok(rows.len())
    }
    let mut n = all::<Lead>(tx)?;
    n += all::<Contact>(tx)?;
    n += all::<Account>(tx)?;
    n += all::<Opportunity>(tx)?;
    n += all::<Quote>(tx)?;
    n += all::<Order>(tx)?;
    n += all::<Invoice>(tx)?;
    for (k, v) in tx.scan(keys::PRODUCTS, None, false, usize::MAX)? {
        if let Ok(p) = serde_json::from_slice::<Product>(&v) {
            update(tx, "product", &p.sku, &[], &product_terms(&p));
            n += 1;
        } else {
            tracing::warn!(
                "{} does not decode; not indexed",
                String::from_utf8_lossy(&k)
            );
        }
    }
    Ok(n)
}

/// What `/find` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindQuery {
    pub text: String,
    /// Only this kind (one of [`KINDS`]).
    pub kind: Option<String>,
    pub limit: usize,
}

/// `/find TEXT [kind:..] [limit:N]`: records and products whose words
/// start with every word of TEXT, umlauts folded (`Muller` finds
/// `Müller`); an id finds its record.
///
/// Fails for an empty query or when the store fails.
fn find(tx: &dyn Tx, ctx: &Context, q: &FindQuery) -> Result<Done, CommandError> {
    let mut wanted = words(&q.text);
    wanted.dedup();
    if wanted.is_empty() {
        return Err(CommandError::Invalid(
            "/find needs something to look for: a name, company, e-mail, phone, city or id"
                .to_string(),
        ));
    }
    let mut found: Vec<(String, String)> = Vec::new();
    // An id finds its record first.
    if let Ok(id) = ctx.rules.numbering.parse(q.text.trim()) {
        if q.kind.as_deref().is_none_or(|k| k == id.kind.name()) && id.kind != Kind::Activity {
            found.push((id.kind.name().to_string(), keys::number(id.number)));
        }
    }
    // The most telling word drives the scan.
    let mut order = wanted.clone();
    order.sort_by_key(|w| {
        (
            !w.chars().any(|c| c.is_ascii_digit()),
            std::cmp::Reverse(w.len()),
        )
    });
    let driver = &order[0];
    let others = &order[1..];
    let mut seen: BTreeSet<(String, String)> = found.iter().cloned().collect();
    // In batches, so that a word every record has stops at the first hits.
    let prefix = keys::search_prefix(driver);
    let mut after: Option<Vec<u8>> = None;
    let mut scanned = 0;
    let mut batch_keys: Vec<Vec<u8>> = Vec::new();
    while found.len() < q.limit && scanned < SCAN_LIMIT {
        let batch = tx.scan(
            &prefix,
            after.as_deref(),
            true,
            256.min(SCAN_LIMIT - scanned),
        )?;
        scanned += batch.len();
        let Some((last, _)) = batch.last() else { break };
        after = Some(last.clone());
        let full = batch.len() == 256;
        batch_keys.clear();
        batch_keys.extend(batch.into_iter().map(|(k, _)| k));
        check_batch(tx, q, others, &batch_keys, &mut seen, &mut found)?;
        if !full {
            break;
        }
    }
    let cut_short = scanned >= SCAN_LIMIT;
    let mut hits = Vec::new();
    for (kind, ident) in found.iter().take(q.limit) {
        match (Kind::from_word(kind), ident.parse::<u64>()) {
            (Some(k), Ok(n)) => match super::records::load_any(tx, k, n, None) {
                Ok(r) => hits.push(Hit::Record(r)),
                // An id typed that names nothing: not a result.
                Err(_) => continue,
            },
            _ => match load_product(tx, ident)? {
                Some(p) => hits.push(Hit::Product(p)),
                None => continue,
            },
        }
    }
    let more = hits.len() >= q.limit || cut_short;
    Ok(Done::Found {
        query: q.text.trim().to_string(),
        hits,
        more,
        limit: q.limit,
    })
}

/// What `/find` did.
#[derive(Debug, Clone)]
pub enum Done {
    /// What it looked for, what it found, and whether more may match.
    Found {
        query: String,
        hits: Vec<Hit>,
        more: bool,
        limit: usize,
    },
}

/// One thing `/find` found.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
// One value per command, moved once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Hit {
    Record(crate::domain::AnyRecord),
    Product(Product),
}

/// `/find`'s outcome for people, scripts and chat.
pub(super) fn render(done: &Done, ctx: &Context) -> Reply {
    let Done::Found {
        query,
        hits,
        more,
        limit,
    } = done;
    let lines: Vec<String> = hits
        .iter()
        .map(|h| match h {
            Hit::Record(r) => format!("  {}", render::list_line(ctx, r)),
            Hit::Product(p) => format!("  {:<12} {}", "product", render::product_line(p)),
        })
        .collect();
    let mut text = match lines.len() {
        0 => format!("Nothing found for '{query}'."),
        n => format!("Found {n} for '{query}':\n{}", lines.join("\n")),
    };
    if *more {
        text.push_str(&format!(
            "\n  (more may match: add a word, kind:lead|contact|..., or limit:{})",
            limit * 2
        ));
    }
    render::reply(ctx, text, hits, vec![])
}

/// Adds the records of the index `keys` (one word's, newest first) that
/// have every word of `others`, up to the query's limit.
fn check_batch(
    tx: &dyn Tx,
    q: &FindQuery,
    others: &[String],
    keys: &[Vec<u8>],
    seen: &mut BTreeSet<(String, String)>,
    found: &mut Vec<(String, String)>,
) -> Result<(), CommandError> {
    for key in keys {
        if found.len() >= q.limit {
            break;
        }
        let Some((kind, ident)) = super::records::keys::parse_search_word(key) else {
            continue;
        };
        let ident = ident.as_str();
        if q.kind.as_deref().is_some_and(|k| k != kind) {
            continue;
        }
        let hit = (kind.to_string(), ident.to_string());
        if !seen.insert(hit.clone()) {
            continue;
        }
        if !others.is_empty() {
            let list = terms_of(tx, kind, ident)?;
            let has = |w: &String| list.iter().any(|t| t.starts_with(w.as_str()));
            if !others.iter().all(has) {
                continue;
            }
        }
        found.push(hit);
    }
    Ok(())
}

/// The search words of record `kind`/`ident`, read from the record.
fn terms_of(tx: &dyn Tx, kind: &str, ident: &str) -> Result<Vec<String>, CommandError> {
    fn of<R: Record>(tx: &dyn Tx, ident: &str) -> Result<Vec<String>, CommandError> {
        let Ok(n) = ident.parse::<u64>() else {
            return Ok(Vec::new());
        };
        let revision = if R::KIND == Kind::Quote {
            super::records::latest_revision(tx, n)?
        } else {
            None
        };
        Ok(super::records::load::<R>(tx, n, revision)?
            .map(|r| r.search_terms())
            .unwrap_or_default())
    }
    match Kind::from_word(kind) {
        Some(Kind::Lead) => of::<Lead>(tx, ident),
        Some(Kind::Contact) => of::<Contact>(tx, ident),
        Some(Kind::Account) => of::<Account>(tx, ident),
        Some(Kind::Opportunity) => of::<Opportunity>(tx, ident),
        Some(Kind::Quote) => of::<Quote>(tx, ident),
        Some(Kind::Order) => of::<Order>(tx, ident),
        Some(Kind::Invoice) => of::<Invoice>(tx, ident),
        _ => Ok(load_product(tx, ident)?
            .map(|p| product_terms(&p))
            .unwrap_or_default()),
    }
}

fn load_product(tx: &dyn Tx, sku: &str) -> Result<Option<Product>, CommandError> {
    read(tx, &keys::product(sku))
}

/// The search family in the command table ([`super::FAMILIES`]).
pub(super) const FAMILY: Family = Family {
    topic: "records",
    actions: &[],
    steps: &[],
    help: &[],
    parse,
    apply,
    step,
};

/// Parses `/find` (also `/search`, `/suche`).
///
/// Fails when `kind:` or `limit:` does not read.
fn parse(args: &mut Args, kind: Option<Kind>, word: &str) -> Result<Option<Command>, CommandError> {
    if kind.is_some() || !matches!(word, "find" | "search" | "suche") {
        return Ok(None);
    }
    let kind = match args.opt(&["kind", "type"])? {
        None => None,
        Some(k) => {
            let name = match normalize_name(&k).trim_end_matches('s') {
                "product" => "product".to_string(),
                other => Kind::from_word(other)
                    .filter(|k| *k != Kind::Activity)
                    .map(|k| k.name().to_string())
                    .ok_or_else(|| {
                        invalid(format!("kind:{k} is not one of {}", KINDS.join(", ")))
                    })?,
            };
            Some(name)
        }
    };
    let limit = limit(args)?;
    let mut text = Vec::new();
    while let Some(w) = args.word() {
        text.push(w);
    }
    Ok(Some(Command::Find(FindQuery {
        text: text.join(" "),
        kind,
        limit,
    })))
}

/// `/find` only reads.
fn step(_: &Command) -> Option<&'static str> {
    None
}

/// Applies this family's commands; `None` for another family's.
///
/// Fails when the rules refuse, a record is missing or the store fails.
fn apply(
    cmd: &Command,
    _text: &str,
    tx: &mut dyn Tx,
    ctx: &Context,
) -> Result<Option<Outcome>, CommandError> {
    match cmd {
        Command::Find(q) => Ok(Some(Outcome::Search(find(tx, ctx, q)?))),
        _ => Ok(None),
    }
}
