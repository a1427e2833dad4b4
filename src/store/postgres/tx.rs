//! A unit's view of the database: rows read inside the group's
//! transaction, with the group's and the unit's own pending writes on top
//! ([`crate::store::overlay`]). Writes stay in memory until the group
//! commits; a read that fails is remembered, so the whole group is rolled
//! back and (when the failure is worth it) run again.

use std::cell::RefCell;
use std::ops::Bound;

use tokio_postgres::{Client, Statement};

use super::{wait, Failure};
use crate::store::overlay::{self, Layers, Rows, Writes};
use crate::store::{Tx, TxError};

/// The statements a view reads with, prepared once per connection.
pub(super) struct Reads {
    pub(super) get: Statement,
    /// `k >= $1 AND k < $2`, ascending, `LIMIT $3`.
    pub(super) asc: Statement,
    /// The same, descending.
    pub(super) desc: Statement,
    /// `k >= $1`, ascending, `LIMIT $2` (a prefix with no end).
    pub(super) asc_open: Statement,
    /// The same, descending.
    pub(super) desc_open: Statement,
}

impl Reads {
    pub(super) const GET: &'static str = "SELECT v FROM leadline_kv WHERE k = $1";
    pub(super) const ASC: &'static str =
        "SELECT k, v FROM leadline_kv WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3";
    pub(super) const DESC: &'static str =
        "SELECT k, v FROM leadline_kv WHERE k >= $1 AND k < $2 ORDER BY k DESC LIMIT $3";
    pub(super) const ASC_OPEN: &'static str =
        "SELECT k, v FROM leadline_kv WHERE k >= $1 ORDER BY k LIMIT $2";
    pub(super) const DESC_OPEN: &'static str =
        "SELECT k, v FROM leadline_kv WHERE k >= $1 ORDER BY k DESC LIMIT $2";
    /// Whether a lease is held now: by the database's clock at this
    /// statement, inside the group's turn (no other group writes until it
    /// commits, so a checked write comes before any write of a daemon
    /// that takes the lease over).
    const HOLDS: &'static str = "SELECT 1 FROM leadline_leases WHERE name = $1 AND holder = $2 \
         AND fence = $3 AND expires_at > clock_timestamp()";
}

/// One unit's view inside an open transaction on `client`.
pub(super) struct PgTx<'a> {
    pub(super) client: &'a Client,
    pub(super) reads: &'a Reads,
    pub(super) below: Option<&'a Writes>,
    pub(super) writes: Writes,
    /// The first read that failed: the group cannot be trusted after it.
    pub(super) failed: &'a RefCell<Option<Failure>>,
    /// Values this transaction has read: they stay as read until it ends
    /// (its snapshot), so the units of a group share them.
    pub(super) seen: &'a RefCell<Seen>,
}

/// Values read in one transaction, by key (`None`: not there).
pub(super) type Seen = std::collections::HashMap<Vec<u8>, Option<Vec<u8>>>;

impl PgTx<'_> {
    fn layers(&self) -> Layers<'_> {
        Layers {
            below: self.below,
            writes: &self.writes,
        }
    }

    /// Remembers `e` (the first failure wins) and says it in words.
    fn fail(&self, e: tokio_postgres::Error) -> TxError {
        let failure = Failure::of(&e);
        let words = TxError(failure.words());
        self.failed.borrow_mut().get_or_insert(failure);
        words
    }
}

/// The inclusive low key of `bound` (an excluded key's successor is the
/// key with a zero byte after it).
fn low(bound: &Bound<Vec<u8>>) -> Vec<u8> {
    match bound {
        Bound::Included(k) => k.clone(),
        Bound::Excluded(k) => {
            let mut k = k.clone();
            k.push(0);
            k
        }
        Bound::Unbounded => Vec::new(),
    }
}

impl Tx for PgTx<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
        if let Some(v) = self.layers().get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.seen.borrow().get(key) {
            return Ok(v.clone());
        }
        let row =
            wait(self.client.query_opt(&self.reads.get, &[&key])).map_err(|e| self.fail(e))?;
        let value = row.map(|r| r.get::<_, Vec<u8>>(0));
        self.seen.borrow_mut().insert(key.to_vec(), value.clone());
        Ok(value)
    }

    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    fn remove(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    fn scan(
        &self,
        prefix: &[u8],
        from: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Rows, TxError> {
        let range = overlay::range(prefix, from, reverse);
        let pending = self.layers().pending(&range, reverse);
        // Each pending write hides or replaces at most one committed row,
        // so this many committed rows always fill `limit`.
        let want = i64::try_from(limit.saturating_add(pending.len())).unwrap_or(i64::MAX);
        let lo = low(&range.0);
        let rows = match (&range.1, reverse) {
            (Bound::Excluded(hi) | Bound::Included(hi), false) => {
                wait(self.client.query(&self.reads.asc, &[&lo, hi, &want]))
            }
            (Bound::Excluded(hi) | Bound::Included(hi), true) => {
                wait(self.client.query(&self.reads.desc, &[&lo, hi, &want]))
            }
            (Bound::Unbounded, false) => {
                wait(self.client.query(&self.reads.asc_open, &[&lo, &want]))
            }
            (Bound::Unbounded, true) => {
                wait(self.client.query(&self.reads.desc_open, &[&lo, &want]))
            }
        }
        .map_err(|e| self.fail(e))?;
        let mut base = rows
            .into_iter()
            .map(|r| Ok((r.get::<_, Vec<u8>>(0), r.get::<_, Vec<u8>>(1))));
        overlay::merge(pending, &mut base, reverse, limit)
    }

    fn holds(&self, name: &str, holder: &str, fence: u64) -> Result<bool, TxError> {
        let fence = i64::try_from(fence).unwrap_or(i64::MAX);
        let row = wait(
            self.client
                .query_opt(Reads::HOLDS, &[&name, &holder, &fence]),
        )
        .map_err(|e| self.fail(e))?;
        Ok(row.is_some())
    }
}
