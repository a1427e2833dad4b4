//! A unit's view of the sled tree: committed data, the writes of the units
//! before it in its group (`below`), and its own pending writes on top.
//! Nothing here touches the tree but reads; the commit applies `writes`.

use super::sled_words;
pub(super) use crate::store::overlay::Writes;
use crate::store::overlay::{self, Layers, Rows};
use crate::store::{Tx, TxError};

/// A command's view: committed data, the writes of the commands before it
/// in its group (`below`), and its own uncommitted writes.
pub(super) struct SledTx<'a> {
    pub(super) tree: &'a ::sled::Tree,
    pub(super) below: Option<&'a Writes>,
    pub(super) writes: Writes,
    /// The store's leases, in a group (a read-only view has none).
    pub(super) leases: Option<&'a crate::store::lease::Local>,
}

impl<'a> SledTx<'a> {
    pub(super) fn new(tree: &'a ::sled::Tree) -> Self {
        SledTx {
            tree,
            below: None,
            writes: Writes::new(),
            leases: None,
        }
    }

    fn layers(&self) -> Layers<'_> {
        Layers {
            below: self.below,
            writes: &self.writes,
        }
    }
}

impl Tx for SledTx<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
        if let Some(v) = self.layers().get(key) {
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
        let range = overlay::range(prefix, from, reverse);
        let pending = self.layers().pending(&range, reverse);
        let base = self.tree.range(range);
        let base: Box<dyn Iterator<Item = ::sled::Result<(::sled::IVec, ::sled::IVec)>>> =
            if reverse {
                Box::new(base.rev())
            } else {
                Box::new(base)
            };
        let mut base = base.map(|row| {
            row.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(|e| TxError(sled_words(&e)))
        });
        overlay::merge(pending, &mut base, reverse, limit)
    }

    fn holds(&self, name: &str, holder: &str, fence: u64) -> Result<bool, TxError> {
        Ok(self.leases.is_some_and(|l| l.holds(name, holder, fence)))
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
