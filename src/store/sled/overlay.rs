//! A unit's view of the sled tree: committed data, the writes of the units
//! before it in its group (`below`), and its own pending writes on top.
//! Nothing here touches the tree but reads; the commit applies `writes`.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::sled_words;
use crate::store::{Tx, TxError};

/// Pending writes, in key order; `None` is a removal.
pub(super) type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Scanned key-value pairs.
type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// A command's view: committed data, the writes of the commands before it
/// in its group (`below`), and its own uncommitted writes.
pub(super) struct SledTx<'a> {
    pub(super) tree: &'a ::sled::Tree,
    pub(super) below: Option<&'a Writes>,
    pub(super) writes: Writes,
}

impl<'a> SledTx<'a> {
    pub(super) fn new(tree: &'a ::sled::Tree) -> Self {
        SledTx {
            tree,
            below: None,
            writes: BTreeMap::new(),
        }
    }
}

/// The first key after every key starting with `prefix`, if any.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl Tx for SledTx<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
        if let Some(v) = self.writes.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.below.and_then(|b| b.get(key)) {
            return Ok(v.clone());
        }
        self.tree
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| TxError(sled_words(&e)))
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
        let end = prefix_end(prefix);
        let (lo, hi): (Bound<Vec<u8>>, Bound<Vec<u8>>) = match (from, reverse) {
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
        };
        // The group's writes below, this command's on top.
        let mut layered: BTreeMap<&Vec<u8>, &Option<Vec<u8>>> = BTreeMap::new();
        if let Some(below) = self.below {
            layered.extend(below.range((lo.clone(), hi.clone())));
        }
        layered.extend(self.writes.range((lo.clone(), hi.clone())));
        let mut pending: Vec<(&Vec<u8>, &Option<Vec<u8>>)> = layered.into_iter().collect();
        if reverse {
            pending.reverse();
        }
        let mut pending = pending.into_iter().peekable();
        let base = self.tree.range((lo, hi));
        let mut base: Box<dyn Iterator<Item = ::sled::Result<(::sled::IVec, ::sled::IVec)>>> =
            if reverse {
                Box::new(base.rev())
            } else {
                Box::new(base)
            };
        let mut next_base = base
            .next()
            .transpose()
            .map_err(|e| TxError(sled_words(&e)))?;
        let mut out = Vec::new();
        let before = |a: &[u8], b: &[u8]| if reverse { a > b } else { a < b };
        while out.len() < limit {
            let take_pending = match (pending.peek(), &next_base) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some((pk, _)), Some((bk, _))) => before(pk, bk) || pk.as_slice() == bk.as_ref(),
            };
            if take_pending {
                let Some((k, v)) = pending.next() else { break };
                if next_base
                    .as_ref()
                    .is_some_and(|(bk, _)| bk.as_ref() == k.as_slice())
                {
                    next_base = base
                        .next()
                        .transpose()
                        .map_err(|e| TxError(sled_words(&e)))?;
                }
                if let Some(v) = v {
                    out.push((k.clone(), v.clone()));
                }
            } else if let Some((k, v)) = next_base.take() {
                out.push((k.to_vec(), v.to_vec()));
                next_base = base
                    .next()
                    .transpose()
                    .map_err(|e| TxError(sled_words(&e)))?;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_merge_pending_writes_and_removals_in_both_directions(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let db = ::sled::Config::new().temporary(true).open()?;
        for k in ["p/a", "p/c", "p/e", "q/x"] {
            db.insert(k, k.as_bytes())?;
        }
        let mut tx = SledTx::new(&db);
        tx.put(b"p/b".to_vec(), b"new".to_vec());
        tx.put(b"p/c".to_vec(), b"changed".to_vec());
        tx.remove(b"p/e".to_vec());
        let keys = |rows: Vec<(Vec<u8>, Vec<u8>)>| {
            rows.into_iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        String::from_utf8_lossy(&k),
                        String::from_utf8_lossy(&v)
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(tx.scan(b"p/", None, false, 10)?),
            ["p/a=p/a", "p/b=new", "p/c=changed"]
        );
        assert_eq!(
            keys(tx.scan(b"p/", None, true, 10)?),
            ["p/c=changed", "p/b=new", "p/a=p/a"]
        );
        assert_eq!(keys(tx.scan(b"p/", Some(b"p/c"), true, 1)?), ["p/b=new"]);
        assert_eq!(
            keys(tx.scan(b"p/", Some(b"p/a"), false, 10)?),
            ["p/b=new", "p/c=changed"]
        );
        Ok(())
    }
}
