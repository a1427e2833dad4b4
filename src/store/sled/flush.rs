//! The flush thread: takes every applied group waiting for a sync, syncs
//! once for all of them (sled's flush), then opens the gate and answers
//! them in order. The writer does not wait for it: it prepares the next
//! group meanwhile.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use super::gate::Gate;
use super::sled_words;
use crate::store::{Durable, TxError};

/// Logs why the store refuses writes from now on, and refuses them.
pub(super) fn refuse_writes(broken: &AtomicBool, what: &str, e: &str) {
    tracing::error!(
        "store: {what} failed ({e}); writes are refused until a restart (which replays what was journaled)"
    );
    broken.store(true, Ordering::SeqCst);
}

/// The flush thread: takes every applied group waiting for a sync, syncs
/// once for all of them, then opens the gate and answers them in order.
pub(super) struct Flusher {
    pub(super) queue: Option<mpsc::Sender<(u64, Durable)>>,
    pub(super) thread: Option<std::thread::JoinHandle<()>>,
    /// What it syncs with, also for a sync on the caller's thread.
    pub(super) syncer: Syncer,
}

/// Syncs the store and opens the gate for what that covered.
#[derive(Clone)]
pub(super) struct Syncer {
    pub(super) db: ::sled::Db,
    pub(super) gate: Arc<Gate>,
    pub(super) broken: Arc<AtomicBool>,
    /// The space reserve to give back when a sync finds the disk full.
    pub(super) space: Option<Arc<super::space::Space>>,
}

impl Syncer {
    /// Syncs everything applied so far, opens the gate up to the last of
    /// `waiting`, then answers each in order. An answer that panics (a bug)
    /// does not keep the others from theirs.
    pub(super) fn sync(&self, waiting: Vec<(u64, Durable)>) {
        let result = self.sync_to(waiting.iter().map(|(seq, _)| *seq).max().unwrap_or(0));
        for (_, done) in waiting {
            let r = result.clone();
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || done(r)));
        }
    }

    /// Syncs everything applied so far and opens the gate up to `seq`
    /// (also after a failed sync, which refuses writes from then on).
    pub(super) fn sync_to(&self, seq: u64) -> Result<(), TxError> {
        let mut flushed = self.db.flush();
        // The disk filled up since the group's check: give the reserve
        // back and try once more, so what was applied is saved.
        if let (Err(e), Some(space)) = (&flushed, &self.space) {
            if super::space::is_full(e) && space.release("a sync found the disk full") {
                flushed = self.db.flush();
            }
        }
        let result = flushed.map(|_| ()).map_err(|e| {
            refuse_writes(&self.broken, "syncing to disk", &sled_words(&e));
            // Part of it may have reached the disk: say so, never "failed".
            TxError(format!(
                "the disk failed while saving ({}); this change may or may not be kept: look with /show after restarting leadline",
                sled_words(&e)
            ))
        });
        self.gate.synced(seq);
        result
    }
}

impl Flusher {
    pub(super) fn start(syncer: Syncer) -> std::io::Result<Flusher> {
        let (queue, rx) = mpsc::channel::<(u64, Durable)>();
        let s = syncer.clone();
        let thread = std::thread::Builder::new()
            .name("leadline-sync".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut waiting = vec![first];
                    waiting.extend(rx.try_iter());
                    s.sync(waiting);
                }
            })?;
        Ok(Flusher {
            queue: Some(queue),
            thread: Some(thread),
            syncer,
        })
    }

    /// Calls `done` once everything applied up to group `seq` is synced:
    /// on the flush thread, or on this one if that thread is gone (readers
    /// wait for the sync, so it must happen either way).
    pub(super) fn after_sync(&self, seq: u64, done: Durable) {
        let refused = match &self.queue {
            Some(q) => q.send((seq, done)).err().map(|e| e.0),
            None => Some((seq, done)),
        };
        if let Some(waiting) = refused {
            self.syncer.sync(vec![waiting]);
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        // Every queued answer is given before the store closes.
        self.queue.take();
        if let Some(t) = self.thread.take() {
            // An answer may hold the last handle on the store: then this
            // runs on the flush thread itself, which ends on its own.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}
