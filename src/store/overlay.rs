//! What every backend's unit view shares: pending writes layered on the
//! committed data (the units before it in its group below, its own on
//! top), and the merge of those writes into an ordered prefix scan.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::store::TxError;

/// Pending writes, in key order; `None` is a removal.
pub type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Scanned key-value pairs.
pub type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// A unit's pending writes: the group's below, its own on top.
#[derive(Clone, Copy)]
pub struct Layers<'a> {
    pub below: Option<&'a Writes>,
    pub writes: &'a Writes,
}

/// The key range a scan reads: `(low, high)` in key order.
pub type Range = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The first key after every key starting with `prefix`, if any.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// The keys a scan of `prefix` reads: after `from` (before it, in
/// `reverse`), or all of them.
pub fn range(prefix: &[u8], from: Option<&[u8]>, reverse: bool) -> Range {
    let end = prefix_end(prefix);
    match (from, reverse) {
        (Some(f), false) => (
            Bound::Excluded(f.to_vec()),
            end.map_or(Bound::Unbounded, Bound::Excluded),
        ),
        (Some(f), true) => (
            Bound::Included(prefix.to_vec()),
            Bound::Excluded(f.to_vec()),
        ),
        (None, _) => (
            Bound::Included(prefix.to_vec()),
            end.map_or(Bound::Unbounded, Bound::Excluded),
        ),
    }
}

impl<'a> Layers<'a> {
    /// The pending write of `key` (`Some(None)`: removed), if any.
    pub fn get(&self, key: &[u8]) -> Option<&'a Option<Vec<u8>>> {
        self.writes
            .get(key)
            .or_else(|| self.below.and_then(|b| b.get(key)))
    }

    /// The pending writes in `range`, in scan order.
    pub fn pending(&self, range: &Range, reverse: bool) -> Vec<(&'a Vec<u8>, &'a Option<Vec<u8>>)> {
        let mut layered: BTreeMap<&Vec<u8>, &Option<Vec<u8>>> = BTreeMap::new();
        if let Some(below) = self.below {
            layered.extend(below.range(range.clone()));
        }
        layered.extend(self.writes.range(range.clone()));
        let mut pending: Vec<_> = layered.into_iter().collect();
        if reverse {
            pending.reverse();
        }
        pending
    }
}

/// Up to `limit` rows of `base` (committed rows in scan order) with
/// `pending` (in the same order) merged in: a pending value replaces the
/// committed one, a pending removal hides it.
///
/// Fails with `base`'s first error.
pub fn merge(
    pending: Vec<(&Vec<u8>, &Option<Vec<u8>>)>,
    base: &mut dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), TxError>>,
    reverse: bool,
    limit: usize,
) -> Result<Rows, TxError> {
    let mut pending = pending.into_iter().peekable();
    let mut next_base = base.next().transpose()?;
    let mut out = Vec::new();
    let before = |a: &[u8], b: &[u8]| if reverse { a > b } else { a < b };
    while out.len() < limit {
        let take_pending = match (pending.peek(), &next_base) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((pk, _)), Some((bk, _))) => before(pk, bk) || pk.as_slice() == bk.as_slice(),
        };
        if take_pending {
            let Some((k, v)) = pending.next() else { break };
            if next_base.as_ref().is_some_and(|(bk, _)| bk == k) {
                next_base = base.next().transpose()?;
            }
            if let Some(v) = v {
                out.push((k.clone(), v.clone()));
            }
        } else if let Some(row) = next_base.take() {
            out.push(row);
            next_base = base.next().transpose()?;
        }
    }
    Ok(out)
}
