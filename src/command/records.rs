//! Typed access to records through a [`Tx`]: storage keys, secondary
//! indexes, gap-free numbers and the history written with every change.
//!
//! Every write of a command goes through [`save`], so indexes and history
//! can never drift from the records.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CommandError, Context};
use crate::domain::product::Product;
use crate::domain::{AnyRecord, Kind, Record, RecordId};

/// A failure of the underlying store.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct TxError(pub String);

/// Key-value pairs a scan returns.
pub type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// The view of the store one command works in: reads see the command's own
/// writes; writes become visible to others only when the store commits them
/// all at once.
pub trait Tx {
    /// The value under `key`.
    ///
    /// Fails when the store cannot be read.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxError>;
    /// Writes `value` under `key`.
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>);
    /// Removes `key`.
    fn remove(&mut self, key: Vec<u8>);
    /// Up to `limit` entries whose keys start with `prefix`, in key order
    /// (or reverse), strictly after (before, in reverse) `from` when given.
    ///
    /// Fails when the store cannot be read.
    fn scan(
        &self,
        prefix: &[u8],
        from: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Rows, TxError>;
    /// Whether `holder` holds the lease `name` with fence `fence` at this
    /// point of the transaction ([`crate::store::lease`]): work done under
    /// a lease writes only while it does. A view that cannot tell says no.
    ///
    /// Fails when the store cannot be read.
    fn holds(&self, _name: &str, _holder: &str, _fence: u64) -> Result<bool, TxError> {
        Ok(false)
    }
}

pub use super::keys;

fn store_err(e: impl std::fmt::Display) -> CommandError {
    CommandError::Store(TxError(e.to_string()))
}

/// Reads and decodes a JSON value.
///
/// Fails when the store cannot be read or the value does not decode.
pub fn read<T: for<'de> Deserialize<'de>>(
    tx: &dyn Tx,
    key: &[u8],
) -> Result<Option<T>, CommandError> {
    match tx.get(key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            store_err(format!(
                "{} does not decode: {e}",
                String::from_utf8_lossy(key)
            ))
        }),
    }
}

/// Encodes and writes a JSON value.
pub fn write<T: Serialize>(tx: &mut dyn Tx, key: Vec<u8>, value: &T) -> Result<(), CommandError> {
    let bytes = serde_json::to_vec(value).map_err(store_err)?;
    tx.put(key, bytes);
    Ok(())
}

/// The latest revision of quote `number`, if it exists.
///
/// Fails when the store cannot be read.
pub fn latest_revision(tx: &dyn Tx, number: u64) -> Result<Option<u32>, CommandError> {
    read(tx, &keys::latest_revision(number))
}

/// Loads a record; for quotes, `revision: None` means the latest.
///
/// Fails when the store cannot be read.
pub fn load<R: Record>(
    tx: &dyn Tx,
    number: u64,
    revision: Option<u32>,
) -> Result<Option<R>, CommandError> {
    let revision = if R::KIND == Kind::Quote {
        match revision {
            Some(r) => Some(r),
            None => match latest_revision(tx, number)? {
                Some(r) => Some(r),
                None => return Ok(None),
            },
        }
    } else {
        None
    };
    read(tx, &keys::record(R::KIND, number, revision))
}

/// Loads a record of any kind that an index names: `kind` `number` (for
/// quotes, `revision`, or the latest).
///
/// Fails when the store cannot be read or the record is missing (an index
/// that names a missing record is damage, said as such).
pub fn load_any(
    tx: &dyn Tx,
    kind: Kind,
    number: u64,
    revision: Option<u32>,
) -> Result<AnyRecord, CommandError> {
    fn one<R: Record>(
        tx: &dyn Tx,
        number: u64,
        revision: Option<u32>,
    ) -> Result<AnyRecord, CommandError> {
        let r: R = load(tx, number, revision)?.ok_or_else(|| {
            CommandError::Store(TxError(format!(
                "index names {} {number} but the record is missing",
                R::KIND.name()
            )))
        })?;
        Ok(r.into_any())
    }
    use crate::domain::{activity, invoice, lead, opportunity, order, party, quote};
    match kind {
        Kind::Lead => one::<lead::Lead>(tx, number, None),
        Kind::Contact => one::<party::Contact>(tx, number, None),
        Kind::Account => one::<party::Account>(tx, number, None),
        Kind::Opportunity => one::<opportunity::Opportunity>(tx, number, None),
        Kind::Quote => one::<quote::Quote>(tx, number, revision),
        Kind::Order => one::<order::Order>(tx, number, None),
        Kind::Invoice => one::<invoice::Invoice>(tx, number, None),
        Kind::Activity => one::<activity::Activity>(tx, number, None),
    }
}

/// Loads a record that must exist.
///
/// Fails with a not-found error naming the id.
pub fn require<R: Record>(
    tx: &dyn Tx,
    ctx: &Context,
    number: u64,
    revision: Option<u32>,
) -> Result<R, CommandError> {
    load(tx, number, revision)?.ok_or_else(|| {
        let id = ctx.rules.numbering.display(RecordId {
            kind: R::KIND,
            number,
            revision,
        });
        CommandError::NotFound(format!("there is no {} {id}", R::KIND.name()))
    })
}

/// The next free number of `kind` (not yet taken: [`save`] takes it).
///
/// Fails when the store cannot be read.
pub fn next_number(tx: &dyn Tx, ctx: &Context, kind: Kind) -> Result<u64, CommandError> {
    let last: Option<u64> = read(tx, &keys::sequence(kind.name()))?;
    Ok(match last {
        Some(n) => n + 1,
        None => ctx.rules.numbering.format(kind).first,
    })
}

/// The record's entry in the index; none for kinds that are not listed.
fn index_key<R: Record>(r: &R) -> Option<Vec<u8>> {
    if !R::LISTED {
        return None;
    }
    // One index: "all records of a kind" are the record keys themselves,
    // and a state's or an owner's records are unions of its ranges.
    let mut key = keys::index(R::KIND, r.state_name(), r.owner());
    key.extend_from_slice(keys::entry(r.number(), r.revision()).as_bytes());
    Some(key)
}

/// A record the scheduler watches: who owns it, when it becomes overdue
/// (in the owner's time zone, fixed when the due time or owner is saved),
/// and whether the sweep has announced that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchItem {
    pub kind: Kind,
    pub number: u64,
    pub owner: String,
    pub at: DateTime<Utc>,
    pub announced: bool,
    /// False while the record is not watched (closed, or no due time): the
    /// item is kept, without index keys, to remember an announcement in case
    /// the record is watched again at the same moment.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl WatchItem {
    fn suffix(&self) -> String {
        keys::watch_suffix(self.at, self.kind, self.number)
    }

    /// The index keys of the item.
    fn index_keys(&self) -> Vec<Vec<u8>> {
        if !self.active {
            return Vec::new();
        }
        let s = self.suffix();
        let mut out = vec![
            [keys::DUE, s.as_bytes()].concat(),
            [keys::owner_due(&self.owner).as_slice(), s.as_bytes()].concat(),
        ];
        if !self.announced {
            out.push([keys::PENDING, s.as_bytes()].concat());
        }
        out
    }

    /// Reads the kind and number back from an index key.
    pub fn parse_key(key: &[u8]) -> Option<(DateTime<Utc>, Kind, u64)> {
        let text = std::str::from_utf8(key).ok()?;
        let mut parts = text.rsplit('/');
        let number = parts.next()?.parse().ok()?;
        let kind = Kind::from_word(parts.next()?)?;
        let at = chrono::NaiveDateTime::parse_from_str(parts.next()?, "%Y%m%dT%H%M%S%.6fZ")
            .ok()?
            .and_utc();
        Some((at, kind, number))
    }
}

/// Replaces a record's watch item and its index keys.
///
/// Fails when the store cannot be read.
pub fn set_watch(
    tx: &mut dyn Tx,
    kind: Kind,
    number: u64,
    new: Option<WatchItem>,
) -> Result<(), CommandError> {
    let key = keys::watch_item(kind, number);
    let old: Option<WatchItem> = read(tx, &key)?;
    if old == new {
        return Ok(());
    }
    if let Some(old) = &old {
        for k in old.index_keys() {
            tx.remove(k);
        }
    }
    match new {
        Some(item) => {
            for k in item.index_keys() {
                tx.put(k, Vec::new());
            }
            write(tx, key, &item)?;
        }
        None => tx.remove(key),
    }
    Ok(())
}

fn update_watch<R: Record>(tx: &mut dyn Tx, ctx: &Context, new: &R) -> Result<(), CommandError> {
    let key = keys::watch_item(R::KIND, new.number());
    let old: Option<WatchItem> = read(tx, &key)?;
    let item = match new.watch() {
        Some(due) => {
            let at = due.overdue_at(ctx.team.zone_of(new.owner()));
            // Still the same moment and owner: keep whether it was announced.
            let announced = old
                .as_ref()
                .is_some_and(|o| o.announced && o.at == at && o.owner == new.owner());
            Some(WatchItem {
                kind: R::KIND,
                number: new.number(),
                owner: new.owner().to_string(),
                at,
                announced,
                active: true,
            })
        }
        // Not watched now: forget it, unless it was announced.
        None => old
            .filter(|o| o.announced)
            .map(|o| WatchItem { active: false, ..o }),
    };
    set_watch(tx, R::KIND, new.number(), item)
}

/// One entry of a record's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub by: String,
    pub via: String,
    pub command: String,
    pub changes: Vec<String>,
}

/// The history subject of a record: all revisions of a quote share one.
pub fn history_subject(kind: Kind, number: u64) -> String {
    keys::history_subject(kind, number)
}

/// Appends a history entry for `subject`.
///
/// Fails when the store cannot be read.
pub fn write_history(
    tx: &mut dyn Tx,
    ctx: &Context,
    subject: &str,
    command: &str,
    changes: Vec<String>,
) -> Result<(), CommandError> {
    let seq: u64 = read(tx, &keys::sequence("history"))?.unwrap_or(0) + 1;
    write(tx, keys::sequence("history"), &seq)?;
    let key = keys::history_entry(subject, seq);
    let entry = HistoryEntry {
        at: ctx.now,
        by: ctx.actor.clone(),
        via: ctx.via.to_string(),
        command: command.to_string(),
        changes,
    };
    write(tx, key, &entry)
}

/// The number of the record found by a unique lookup.
///
/// Fails when the store cannot be read.
pub fn lookup(tx: &dyn Tx, what: &str, value: &str) -> Result<Option<u64>, CommandError> {
    read(tx, &keys::unique(what, value))
}

/// Writes a new or changed record with its indexes, lookups, its number
/// taken and its history entry (what changed, field by field).
///
/// Fails when the store cannot be read or the record does not encode.
pub fn save<R: Record>(
    tx: &mut dyn Tx,
    ctx: &Context,
    command: &str,
    old: Option<&R>,
    new: &R,
) -> Result<(), CommandError> {
    // Only what changed is written: fewer keys, fewer pages to flush.
    let new_key = index_key(new);
    let old_key = old.and_then(index_key);
    if old_key != new_key {
        if let Some(k) = old_key {
            tx.remove(k);
        }
        if let Some(k) = new_key {
            tx.put(k, Vec::new());
        }
    }
    if old.is_none() {
        let seq = keys::sequence(R::KIND.name());
        let last: Option<u64> = read(tx, &seq)?;
        if last.is_none_or(|l| new.number() > l) {
            write(tx, seq, &new.number())?;
        }
    }
    let new_lookups = new.lookups();
    let old_lookups = old.map(Record::lookups).unwrap_or_default();
    for l in &old_lookups {
        if !new_lookups.contains(l) {
            tx.remove(keys::lookup(l));
        }
    }
    for l in &new_lookups {
        if !old_lookups.contains(l) {
            write(tx, keys::lookup(l), &new.number())?;
        }
    }
    let new_terms = new.search_terms();
    let old_terms = old.map(Record::search_terms).unwrap_or_default();
    if old_terms != new_terms {
        super::search::update(
            tx,
            R::KIND.name(),
            &keys::number(new.number()),
            &old_terms,
            &new_terms,
        );
    }
    // A new record has no watch item yet, and a saved one keeps its item
    // while its due moment and owner stay the same: no read needed then.
    let watch_changed = match old {
        None => new.watch().is_some(),
        Some(old) => old.watch() != new.watch() || old.owner() != new.owner(),
    };
    if R::KIND != Kind::Quote && watch_changed {
        update_watch(tx, ctx, new)?;
    }
    if R::KIND == Kind::Quote {
        let rev = new.revision().unwrap_or(1);
        let latest = latest_revision(tx, new.number())?;
        if latest.is_none_or(|l| rev > l) {
            write(tx, keys::latest_revision(new.number()), &rev)?;
        }
    }
    // A new record needs no diff: it is encoded once, straight to bytes.
    let (changes, bytes) = match old {
        None => (
            vec![match new.revision() {
                Some(r) if r > 1 => format!("created revision {r}"),
                _ => "created".to_string(),
            }],
            serde_json::to_vec(new).map_err(store_err)?,
        ),
        Some(old) => {
            let new_json = serde_json::to_value(new).map_err(store_err)?;
            let old_json = serde_json::to_value(old).map_err(store_err)?;
            let mut changes = Vec::new();
            diff("", &old_json, &new_json, &mut changes);
            if let Some(r) = new.revision().filter(|r| *r > 1) {
                for c in &mut changes {
                    *c = format!("rev {r}: {c}");
                }
            }
            (changes, serde_json::to_vec(&new_json).map_err(store_err)?)
        }
    };
    write_history(
        tx,
        ctx,
        &history_subject(R::KIND, new.number()),
        command,
        changes,
    )?;
    tx.put(keys::record(R::KIND, new.number(), new.revision()), bytes);
    super::facts::saved(tx, ctx.team.timezone, old, new)
}

/// Writes a new or changed product with its history.
///
/// Fails when the store cannot be read or the product does not encode.
pub fn save_product(
    tx: &mut dyn Tx,
    ctx: &Context,
    command: &str,
    old: Option<&Product>,
    new: &Product,
) -> Result<(), CommandError> {
    let new_json = serde_json::to_value(new).map_err(store_err)?;
    let mut changes = Vec::new();
    match old {
        None => changes.push("created".to_string()),
        Some(old) => diff(
            "",
            &serde_json::to_value(old).map_err(store_err)?,
            &new_json,
            &mut changes,
        ),
    }
    write_history(tx, ctx, &format!("product/{}", new.sku), command, changes)?;
    super::search::update(
        tx,
        "product",
        &new.sku,
        &old.map(super::search::product_terms).unwrap_or_default(),
        &super::search::product_terms(new),
    );
    write(tx, keys::product(&new.sku), &new_json)
}

/// Writes every record with lines again, so each carries its totals
/// (data layout 4); returns how many. Run by the store's upgrade.
///
/// Fails when the store cannot be read or a record does not decode.
pub fn store_totals(tx: &mut dyn Tx) -> Result<usize, CommandError> {
    let mut n = 0;
    for kind in [Kind::Opportunity, Kind::Quote, Kind::Order, Kind::Invoice] {
        for (key, value) in tx.scan(&keys::records(kind), None, false, usize::MAX)? {
            let mut record: serde_json::Value =
                serde_json::from_slice(&value).map_err(store_err)?;
            let Some(pricing) = record.get_mut("pricing") else {
                continue;
            };
            let typed: crate::domain::lines::Pricing =
                serde_json::from_value(pricing.clone()).map_err(store_err)?;
            *pricing = serde_json::to_value(typed).map_err(store_err)?;
            tx.put(key, serde_json::to_vec(&record).map_err(store_err)?);
            n += 1;
        }
    }
    Ok(n)
}

/// Field-by-field differences between two JSON values: `path: old -> new`.
fn diff(path: &str, old: &serde_json::Value, new: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    let empty = serde_json::Map::new();
    match (old, new) {
        (Value::Null, Value::Object(b)) => {
            diff(path, &Value::Object(empty), &Value::Object(b.clone()), out)
        }
        (Value::Object(a), Value::Null) => {
            diff(path, &Value::Object(a.clone()), &Value::Object(empty), out)
        }
        (Value::Object(a), Value::Object(b)) => {
            // A record's totals follow from its lines: the lines' changes
            // are the history, not the sums.
            let computed = |k: &str| path == "pricing" && k == "totals";
            for (k, va) in a {
                if computed(k) {
                    continue;
                }
                diff(&join(k), va, b.get(k).unwrap_or(&Value::Null), out);
            }
            for (k, vb) in b {
                if !a.contains_key(k) && !computed(k) {
                    diff(&join(k), &Value::Null, vb, out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                diff(&join(&(i + 1).to_string()), va, vb, out);
            }
        }
        _ if old != new => {
            let show = |v: &Value| match v {
                Value::Null => "(empty)".to_string(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push(format!("{path}: {} -> {}", show(old), show(new)));
        }
        _ => {}
    }
}

/// The history of a subject, oldest first.
///
/// Fails when the store cannot be read.
pub fn history(
    tx: &dyn Tx,
    subject: &str,
    limit: usize,
) -> Result<Vec<HistoryEntry>, CommandError> {
    let rows = tx.scan(&keys::history(subject), None, true, limit)?;
    let mut out = Vec::with_capacity(rows.len());
    for (_, v) in rows.into_iter().rev() {
        out.push(serde_json::from_slice(&v).map_err(store_err)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {

    #[test]
    fn search_keys_are_short_and_read_back() {
        let k = keys::search_word("muller", "lead", "00000000000000001001");
        assert_eq!(k.len(), 2 + 6 + 1 + 1 + 8);
        assert_eq!(
            keys::parse_search_word(&k),
            Some(("lead", "00000000000000001001".to_string()))
        );
        let p = keys::search_word("stuhl", "product", "ERGO-1");
        assert_eq!(
            keys::parse_search_word(&p),
            Some(("product", "ERGO-1".to_string()))
        );
        assert!(k.starts_with(b"s/mul") && !k.starts_with(b"s/mux"));
    }

    use super::*;

    #[test]
    fn diff_descends_into_objects_that_appear_or_disappear() {
        let a = serde_json::json!({"state": "active"});
        let b = serde_json::json!({"state": "closed", "closing": {"reason": "Lost"}});
        let mut out = Vec::new();
        diff("", &a, &b, &mut out);
        assert_eq!(
            out,
            vec!["state: active -> closed", "closing.reason: (empty) -> Lost"]
        );
    }

    #[test]
    fn diff_names_each_changed_field_with_old_and_new_values() {
        let a =
            serde_json::json!({"topic": "Chairs", "address": {"city": "Berlin"}, "budget": null});
        let b =
            serde_json::json!({"topic": "Desks", "address": {"city": "Berlin"}, "budget": "100"});
        let mut out = Vec::new();
        diff("", &a, &b, &mut out);
        assert_eq!(
            out,
            vec!["budget: (empty) -> 100", "topic: Chairs -> Desks"]
        );
    }
}
