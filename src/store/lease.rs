//! Leases: work that must happen in one place at a time (reading an IMAP
//! account, the Discord gateway, the scheduler's jobs, the outbox sender)
//! is done only by the daemon holding its lease.
//!
//! A lease has a holder, an expiry and a fence. The holder renews it well
//! before it expires; when it is not renewed (the daemon was killed,
//! paused, or cut off from the database), another daemon takes it over
//! once it has expired, and its fence goes up by one. Every write made for
//! leased work carries the lease ([`crate::core::Request::fence`]) and is
//! checked in the same transaction ([`crate::store::Tx::holds`]): a
//! former holder that wakes up after losing the lease writes nothing.
//!
//! The embedded store is one daemon's alone (sled locks its folder), so
//! its leases ([`Local`]) live in memory and are always this daemon's;
//! the PostgreSQL store keeps them in `leadline_leases`, timed by the
//! database's clock, so daemons on machines whose clocks differ agree.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One lease as held (or last held).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lease {
    /// What it is for: `scheduler`, `outbox`, `discord`, `imap:<account>`.
    pub name: String,
    /// The daemon holding it ([`holder_id`]).
    pub holder: String,
    /// Goes up by one each time the lease changes hands.
    pub fence: u64,
    /// When it ends unless renewed.
    pub expires: DateTime<Utc>,
}

/// This process's name as a lease holder: `host:pid:random`, readable in
/// `leadline status`, and new for every start (a restarted daemon waits
/// for its former self's leases to expire, like any other daemon).
pub fn holder_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    let mut r = [0u8; 2];
    let _ = getrandom::fill(&mut r);
    format!("{host}:{}:{:02x}{:02x}", std::process::id(), r[0], r[1])
}

/// The leases of a store only one process opens: in memory, granted to
/// whoever asks when free, expired or already theirs.
#[derive(Default)]
pub struct Local {
    leases: Mutex<BTreeMap<String, Lease>>,
}

impl Local {
    /// Takes or renews `name` for `holder` for `ttl`; `None` while another
    /// holder's lease runs.
    pub fn take(&self, name: &str, holder: &str, ttl: Duration) -> Option<Lease> {
        let now = Utc::now();
        let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let mut leases = self.leases.lock().unwrap_or_else(|e| e.into_inner());
        let lease = match leases.get(name) {
            Some(l) if l.holder == holder => Lease {
                expires,
                ..l.clone()
            },
            Some(l) if l.expires > now => return None,
            Some(l) => Lease {
                name: name.to_string(),
                holder: holder.to_string(),
                fence: l.fence + 1,
                expires,
            },
            None => Lease {
                name: name.to_string(),
                holder: holder.to_string(),
                fence: 1,
                expires,
            },
        };
        leases.insert(name.to_string(), lease.clone());
        Some(lease)
    }

    /// Ends `holder`'s lease `name` now.
    pub fn end(&self, name: &str, holder: &str) {
        let mut leases = self.leases.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = leases.get_mut(name).filter(|l| l.holder == holder) {
            l.expires = Utc::now();
        }
    }

    /// Every lease, in name order.
    pub fn all(&self) -> Vec<Lease> {
        let leases = self.leases.lock().unwrap_or_else(|e| e.into_inner());
        leases.values().cloned().collect()
    }

    /// Whether `holder` holds `name` with `fence` now.
    pub fn holds(&self, name: &str, holder: &str, fence: u64) -> bool {
        let leases = self.leases.lock().unwrap_or_else(|e| e.into_inner());
        leases
            .get(name)
            .is_some_and(|l| l.holder == holder && l.fence == fence && l.expires > Utc::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_changes_hands_only_after_it_expired_and_its_fence_goes_up() {
        let local = Local::default();
        let a = local
            .take("scheduler", "a", Duration::from_millis(50))
            .expect("free");
        assert_eq!(a.fence, 1);
        assert!(local
            .take("scheduler", "b", Duration::from_secs(1))
            .is_none());
        let renewed = local
            .take("scheduler", "a", Duration::from_millis(50))
            .expect("a renews");
        assert_eq!(renewed.fence, 1);
        assert!(local.holds("scheduler", "a", 1));
        std::thread::sleep(Duration::from_millis(80));
        assert!(!local.holds("scheduler", "a", 1), "expired");
        let b = local
            .take("scheduler", "b", Duration::from_secs(1))
            .expect("expired: b takes it");
        assert_eq!((b.holder.as_str(), b.fence), ("b", 2));
        assert!(!local.holds("scheduler", "a", 1));
        local.end("scheduler", "a");
        assert!(local.holds("scheduler", "b", 2), "only the holder ends it");
        local.end("scheduler", "b");
        assert_eq!(
            local
                .take("scheduler", "a", Duration::from_secs(1))
                .map(|l| l.fence),
            Some(3)
        );
        assert!(holder_id().split(':').count() >= 3);
    }
}
