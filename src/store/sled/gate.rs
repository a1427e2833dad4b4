//! The gate between readers and the writer: readers wait while a group's
//! writes are applied (so no reader sees half of a command) and while
//! applied writes wait for their sync (so no reader sees a change that a
//! crash could still take back). A writer waits for the readers inside,
//! and lets waiting ones in before it applies more.

use std::sync::{Condvar, Mutex, MutexGuard};

/// What the writer, the flush thread and readers share about syncs.
#[derive(Default)]
pub(super) struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Default)]
pub(super) struct GateState {
    /// Groups of changes applied to the tree, numbered from 1.
    pub(super) applied: u64,
    /// The last of those known to be synced.
    pub(super) synced: u64,
    /// Readers waiting to get in.
    waiting: usize,
    /// Readers in.
    reading: usize,
    /// Whether writes are being applied.
    applying: bool,
}

impl Gate {
    pub(super) fn lock(&self) -> MutexGuard<'_, GateState> {
        // The state is a few counters, never left half-updated.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything applied up to `seq` is synced.
    pub(super) fn synced(&self, seq: u64) {
        {
            let mut state = self.lock();
            state.synced = state.synced.max(seq);
        }
        self.changed.notify_all();
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, GateState>) -> MutexGuard<'a, GateState> {
        self.changed.wait(guard).unwrap_or_else(|e| e.into_inner())
    }

    /// Lets a reader in once nothing is being applied and every applied
    /// change is synced; it stays in until the guard is dropped.
    pub(super) fn enter_read(&self) -> Reading<'_> {
        let mut state = self.lock();
        state.waiting += 1;
        while state.applying || state.applied > state.synced {
            state = self.wait(state);
        }
        state.waiting -= 1;
        state.reading += 1;
        drop(state);
        self.changed.notify_all();
        Reading(self)
    }

    /// Starts applying writes once no reader is in, and (for writes that
    /// wait for a sync, `counted`) none is waiting either, so readers get
    /// their turn between groups. Returns the group's number (0 when not
    /// counted); the guard ends the apply.
    pub(super) fn start_apply(&self, counted: bool) -> (u64, Applying<'_>) {
        let mut state = self.lock();
        while state.reading > 0 || (counted && state.waiting > 0) {
            state = self.wait(state);
        }
        state.applying = true;
        let seq = if counted {
            state.applied += 1;
            state.applied
        } else {
            0
        };
        (seq, Applying(self))
    }
}

/// A reader inside the gate.
pub(super) struct Reading<'a>(&'a Gate);

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.0.lock().reading -= 1;
        self.0.changed.notify_all();
    }
}

/// Writes being applied; readers wait until it is dropped.
pub(super) struct Applying<'a>(&'a Gate);

impl Drop for Applying<'_> {
    fn drop(&mut self) {
        self.0.lock().applying = false;
        self.0.changed.notify_all();
    }
}
