//! How many control-socket connections the daemon keeps open, and which
//! one goes when there are too many.
//!
//! Each connection costs a file descriptor, and the process has a limit
//! (1,024 by default). Past the limit `accept` fails, and a loop that
//! retries at once spins at full CPU while no command is answered. So the
//! daemon raises its soft limit to the hard one at start, keeps room for
//! its own files (store, mail, chat), and admits at most [`limit`]
//! connections: when full, the connection idle the longest is closed to make
//! room for the new one (a person typing a command gets in; a flood of idle
//! connections does not keep them out); when none is idle, the newcomer is
//! refused in one line. A connection that sends nothing for [`IDLE`] is
//! closed too, and so is every idle one when the daemon stops (a busy one
//! after its answer).
//!
//! A connection is only ever closed between requests, and the daemon
//! says so in a last line (`"error": "closed"`): a client that sent a
//! request meanwhile reads that its request did not run, and may send it
//! again elsewhere without running it twice.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// A connection that sends nothing for this long is closed.
pub(super) const IDLE: Duration = Duration::from_secs(15 * 60);

/// File descriptors kept for the daemon's own use (store files, IMAP,
/// SMTP, chat, blocking threads).
const RESERVED: u64 = 128;

/// Raises the soft open-files limit to the hard one and returns the
/// connection limit it leaves room for.
pub(super) fn limit() -> usize {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut nofile = getrlimit(Resource::Nofile);
    if let (Some(current), Some(maximum)) = (nofile.current, nofile.maximum) {
        if current >= maximum {
            return connections_for(current);
        }
        let raised = rustix::process::Rlimit {
            current: Some(maximum),
            maximum: Some(maximum),
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => nofile = getrlimit(Resource::Nofile),
            Err(e) => tracing::warn!("cannot raise the open-files limit: {e}"),
        }
    }
    connections_for(nofile.current.unwrap_or(u64::MAX))
}

/// The connections a soft open-files limit of `soft` leaves room for.
fn connections_for(soft: u64) -> usize {
    usize::try_from(soft.saturating_sub(RESERVED).clamp(16, 16_384)).unwrap_or(16_384)
}

/// The open connections.
pub(super) struct Connections {
    limit: usize,
    open: Mutex<Open>,
    /// Set when the daemon stops: connections close after their answer.
    closing: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Open {
    next: u64,
    slots: BTreeMap<u64, Slot>,
}

struct Slot {
    /// Since when it waits for a request; `None` while one is answered.
    idle_since: Option<Instant>,
    close: Arc<Notify>,
}

/// One admitted connection; leaves the count when dropped.
pub(super) struct Admitted {
    id: u64,
    /// Notified when the connection must close to make room.
    pub close: Arc<Notify>,
    owner: Arc<Connections>,
}

impl Connections {
    pub(super) fn new(limit: usize) -> Arc<Connections> {
        Arc::new(Connections {
            limit,
            open: Mutex::new(Open::default()),
            closing: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The most connections kept open.
    pub(super) fn limit(&self) -> usize {
        self.limit
    }

    /// How many are open.
    pub(super) fn count(&self) -> usize {
        self.lock().slots.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits a new connection; when full, closes the one idle longest
    /// first. `None` when full and every connection is being answered.
    pub(super) fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut open = self.lock();
        if open.slots.len() >= self.limit && !evict(&mut open) {
            return None;
        }
        open.next += 1;
        let id = open.next;
        let close = Arc::new(Notify::new());
        open.slots.insert(
            id,
            Slot {
                idle_since: Some(Instant::now()),
                close: close.clone(),
            },
        );
        Some(Admitted {
            id,
            close,
            owner: self.clone(),
        })
    }

    /// Stops taking requests: idle connections close now, busy ones after
    /// their answer.
    pub(super) fn close_all(&self) {
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let mut open = self.lock();
        let idle: Vec<u64> = open
            .slots
            .iter()
            .filter(|(_, s)| s.idle_since.is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in idle {
            if let Some(slot) = open.slots.remove(&id) {
                slot.close.notify_one();
            }
        }
    }

    /// Whether the daemon is stopping.
    pub(super) fn closing(&self) -> bool {
        self.closing.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Closes the connection idle longest (when `accept` itself failed
    /// for lack of file descriptors); whether there was one.
    pub(super) fn evict_one(&self) -> bool {
        evict(&mut self.lock())
    }
}

/// Tells the longest-idle connection to close and forgets it.
fn evict(open: &mut Open) -> bool {
    let oldest = open
        .slots
        .iter()
        .filter_map(|(id, s)| s.idle_since.map(|at| (at, *id)))
        .min();
    match oldest.and_then(|(_, id)| open.slots.remove(&id)) {
        Some(slot) => {
            slot.close.notify_one();
            true
        }
        None => false,
    }
}

impl Admitted {
    /// Whether the connection must close now rather than wait for the
    /// next request (the daemon stops).
    pub(super) fn closing(&self) -> bool {
        self.owner.closing()
    }

    /// Marks the connection as answering a request (`false`) or waiting
    /// for the next (`true`).
    pub(super) fn idle(&self, idle: bool) {
        if let Some(slot) = self.owner.lock().slots.get_mut(&self.id) {
            slot.idle_since = idle.then(Instant::now);
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.owner.lock().slots.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_full_the_longest_idle_goes_and_a_busy_one_stays() {
        let c = Connections::new(2);
        let first = c.admit().expect("room");
        let second = c.admit().expect("room");
        first.idle(false);
        // Full: the second (idle) makes room; the first is busy.
        let third = c.admit().expect("room made");
        assert_eq!(c.count(), 2);
        second.idle(false);
        third.idle(false);
        assert!(c.admit().is_none(), "every connection is busy");
        third.idle(true);
        let fourth = c.admit().expect("room made: the third goes");
        assert_eq!(c.count(), 2);
        drop(fourth);
        drop(first);
        assert_eq!(c.count(), 0);
        // Dropping evicted ones counts nothing twice.
        drop(second);
        drop(third);
        assert_eq!(c.count(), 0);
    }
}
