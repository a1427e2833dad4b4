//! The schema version of a sled store, and the upgrades from older ones.

use std::path::Path;

use super::overlay::SledTx;
use super::SledStore;
use crate::command::keys;
use crate::store::{Durability, StoreError, Tx, TxError};

/// The schema version this build writes and reads; older stores are
/// upgraded when opened ([`SledStore::open`]).
///
/// - 1: the first.
/// - 2: one index, by state and owner (`i/KIND/so/STATE/OWNER/...`); the
///   owner-only and state-only ones (`i/KIND/o/`, `i/KIND/s/`) are gone: a
///   state's or an owner's records are found in its ranges of that one.
/// - 3: the search words of every record and product (`s/`, for `/find`)
///   and the records of an account (`u/acct_*`, for `/show A-..`).
/// - 4: records with lines carry their totals (`pricing.totals`), so
///   amounts are read without leadline (the PostgreSQL views).
pub const SCHEMA: u64 = 4;

/// The schema of the store in `db`, writing the current one into an empty
/// store.
///
/// Fails when the store is newer than this build or not leadline's.
pub(super) fn found(db: &::sled::Db, path: &Path) -> Result<u64, StoreError> {
    let failed = |e: ::sled::Error| StoreError::Failed(super::sled_words(&e));
    match db.get(keys::SCHEMA).map_err(failed)? {
        Some(v) => {
            let found = std::str::from_utf8(&v)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(u64::MAX);
            if found > SCHEMA {
                return Err(StoreError::TooNew {
                    path: path.to_path_buf(),
                    found,
                    readable: SCHEMA,
                });
            }
            Ok(found)
        }
        None if db.is_empty() => {
            db.insert(keys::SCHEMA, SCHEMA.to_string().as_bytes())
                .map_err(failed)?;
            db.flush().map_err(failed)?;
            Ok(SCHEMA)
        }
        None => Err(StoreError::Foreign {
            path: path.to_path_buf(),
        }),
    }
}

impl SledStore {
    /// Brings a store written with schema `from` to [`SCHEMA`], as one
    /// journaled change: a crash leaves it wholly upgraded or not at all.
    pub(super) fn upgrade(&self, from: u64) -> Result<(), StoreError> {
        let failed = |e: TxError| StoreError::Open {
            path: self.path.clone(),
            reason: format!("upgrading it from schema {from} to {SCHEMA} failed: {e}"),
        };
        let mut tx = SledTx::new(&self.db);
        crate::store::upgrade(&mut tx, from).map_err(failed)?;
        tx.put(keys::SCHEMA.to_vec(), SCHEMA.to_string().into_bytes());
        let writes = std::mem::take(&mut tx.writes);
        self.apply_journaled(writes, Durability::Deferred)
            .and_then(|_| self.flush_all())
            .map_err(failed)?;
        tracing::info!(
            "store: upgraded {} from schema {from} to {SCHEMA}",
            self.path.display()
        );
        Ok(())
    }
}
