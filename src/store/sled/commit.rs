//! Committing a group through the redo journal:
//! 1. every unit runs in an overlay on top of the group's; what it keeps
//!    joins the group;
//! 2. all the group's writes are encoded into one value under one journal
//!    key ([`super::journal`]);
//! 3. the writes are applied key by key behind the gate, and the journal
//!    key removed;
//! 4. the flush thread syncs the log (one sync for everything applied
//!    since the last one), and only then is the group answered.
//!
//! sled recovers a prefix of its log, so after a crash either the journal
//! entry is there without its removal (and [`SledStore::recover`] replays
//! it: the group takes effect whole) or it is not (nothing of it took
//! effect), or the removal is there too, after every write. This gives the
//! atomicity of a sled batch at the cost of one sync per group: sled 0.34's
//! `apply_batch` rolls its IO buffer twice, and every buffer write waits
//! for a `sync_file_range`, which made a batch three syncs.

use std::sync::atomic::Ordering;

use super::flush::refuse_writes;
use super::overlay::{SledTx, Writes};
use super::{journal, sled_words, SledStore};
use crate::command::keys;
use crate::store::{Durability, StoreError, Ticket, TxError, Unit};

impl SledStore {
    /// Runs the units of a group and commits what they kept (see
    /// [`crate::store::Backend::commit`]).
    pub(super) fn commit_group(
        &self,
        count: usize,
        unit: Unit<'_>,
        durability: Durability,
    ) -> Result<Ticket, TxError> {
        // One writer at a time: each group sees the one before it whole. A
        // poisoned lock only means a unit panicked; its group was never
        // applied, so the store is consistent.
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // A panic in a unit (a bug) must not take the writer down: the
        // group is not committed, so the store is as before it.
        let prepared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut group = Writes::new();
            for i in 0..count {
                let mut tx = SledTx {
                    tree: &self.db,
                    below: Some(&group),
                    writes: Writes::new(),
                    leases: Some(&self.leases),
                };
                let keep = unit(i, &mut tx);
                let writes = std::mem::take(&mut tx.writes);
                drop(tx);
                if keep {
                    // The first kept unit's writes become the group as
                    // they are (a lone command costs no copy).
                    if group.is_empty() {
                        group = writes;
                    } else {
                        group.extend(writes);
                    }
                }
            }
            group
        }));
        let Ok(group) = prepared else {
            return Err(TxError(
                "an internal error stopped this command; nothing of it was written".to_string(),
            ));
        };
        self.apply_journaled(group, durability).map(Ticket)
    }

    /// Refuses writes after a journaled change could not be applied (its
    /// journal entry must stay until a restart replays it) or synced.
    fn usable(&self) -> Result<(), TxError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(TxError(
                "the store could not save a change; restart leadline (it replays what was journaled)"
                    .to_string(),
            ));
        }
        Ok(())
    }

    /// Journals and applies `writes`. With [`Durability::Flush`] it returns
    /// the number readers now wait to see synced; 0 when nothing waits for
    /// a sync. A failed apply leaves the journal entry and refuses writes
    /// until a restart replays it.
    pub(super) fn apply_journaled(
        &self,
        writes: Writes,
        durability: Durability,
    ) -> Result<u64, TxError> {
        let flushed = durability == Durability::Flush;
        if writes.is_empty() {
            // Nothing to write, but a reply may rest on changes still
            // waiting for their sync.
            let state = self.gate.lock();
            return Ok(if flushed && state.applied > state.synced {
                state.applied
            } else {
                0
            });
        }
        self.usable()?;
        // On a full disk nothing is written: a refusal means nothing of
        // the group is applied, now or after a restart.
        if let Some(space) = &self.space {
            space.check().map_err(TxError)?;
        }
        self.journal(&writes)?;
        // An export is reading: it gets this group's writes too.
        let copy = self
            .capture
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
            .then(|| writes.clone());
        let (seq, applying) = self.gate.start_apply(flushed);
        let applied =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.apply_writes(writes)));
        drop(applying);
        let e = match applied {
            Ok(Ok(())) => {
                if let Some(copy) = copy {
                    if let Some(c) = self
                        .capture
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .as_mut()
                    {
                        c.push(copy);
                    }
                }
                return Ok(seq);
            }
            Ok(Err(e)) => sled_words(&e),
            Err(_) => "an internal error".to_string(),
        };
        refuse_writes(&self.broken, "applying a journaled change", &e);
        if seq > 0 {
            // Readers wait for it: it is synced all the same (the journal
            // entry is kept for the restart).
            self.flusher.after_sync(seq, Box::new(|_| {}));
        }
        Err(TxError(e))
    }

    /// Syncs everything applied so far, on this thread; then readers may
    /// see changes up to `seq`. Does nothing for 0.
    pub(super) fn sync_now(&self, seq: u64) -> Result<(), TxError> {
        if seq == 0 {
            return Ok(());
        }
        self.flusher.syncer.sync_to(seq)
    }

    /// Writes `writes` as the journal entry.
    fn journal(&self, writes: &Writes) -> Result<(), TxError> {
        self.db
            .insert(keys::JOURNAL, journal::encode(writes))
            .map(|_| ())
            .map_err(|e| TxError(sled_words(&e)))
    }

    /// Applies journaled writes and removes the journal entry; the caller
    /// keeps readers out (the gate's apply, or, opening the store, nobody
    /// reads yet).
    fn apply_writes(&self, writes: Writes) -> ::sled::Result<()> {
        for (k, v) in writes {
            match v {
                Some(v) => self.db.insert(k, v)?,
                None => self.db.remove(k)?,
            };
        }
        self.db.remove(keys::JOURNAL)?;
        Ok(())
    }

    /// Replays a journal entry left by a crash between journaling a
    /// group and applying it.
    pub(super) fn recover(&self) -> Result<(), StoreError> {
        let failed = |e: ::sled::Error| StoreError::Failed(sled_words(&e));
        let Some(entry) = self.db.get(keys::JOURNAL).map_err(failed)? else {
            return Ok(());
        };
        let writes = journal::decode(&entry).map_err(|reason| StoreError::Journal {
            path: self.path.clone(),
            reason,
        })?;
        self.apply_writes(writes).map_err(failed)?;
        self.db.flush().map_err(failed)?;
        Ok(())
    }
}
