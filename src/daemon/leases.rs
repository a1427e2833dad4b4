//! Work that must happen once among the daemons sharing a store: each
//! part ([`while_held`]) runs only while this daemon holds its lease
//! ([`crate::store::lease`]): `imap:<account>` for each mail account,
//! `discord` for the gateway, `scheduler` for the sweep, digests and
//! backups, `outbox` for the sender. [`keep`] takes and renews them every
//! third of the lease time; a part whose lease is lost (not renewed in
//! time, or taken over) is stopped, and its writes are fenced meanwhile
//! (a fenced core, [`crate::core::Leadline::fenced`]). On the embedded
//! store this daemon is the only one, so it holds them all at once.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::core::Leadline;
use crate::core::Lease;

/// This daemon's leases: what it wants, and what it holds now.
pub(super) struct Leases {
    /// This daemon as a holder (`host:pid:random`).
    pub(super) holder: String,
    /// How long a lease lasts unless renewed (`[store] lease_seconds`).
    pub(super) ttl: Duration,
    /// Each wanted lease: the lease while held, `None` while not.
    wanted: Mutex<BTreeMap<String, watch::Sender<Option<Lease>>>>,
    /// Woken when a part wants a lease it has not got: try at once.
    ask: tokio::sync::Notify,
}

impl Leases {
    pub(super) fn new(holder: String, ttl: Duration) -> Arc<Leases> {
        Arc::new(Leases {
            holder,
            ttl,
            wanted: Mutex::new(BTreeMap::new()),
            ask: tokio::sync::Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, watch::Sender<Option<Lease>>>> {
        self.wanted.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts wanting `name`: its holding as it changes.
    fn want(&self, name: &str) -> watch::Receiver<Option<Lease>> {
        let rx = self
            .lock()
            .entry(name.to_string())
            .or_insert_with(|| watch::channel(None).0)
            .subscribe();
        self.ask.notify_one();
        rx
    }

    /// Stops wanting `name` (an account removed by a reload): [`keep`]
    /// ends it.
    fn unwant(&self, name: &str) {
        self.lock().remove(name);
    }

    /// The leases this daemon holds now.
    pub(super) fn held(&self) -> Vec<Lease> {
        self.lock()
            .values()
            .filter_map(|s| s.borrow().clone())
            .collect()
    }
}

/// Takes and renews every wanted lease, every third of the lease time
/// (and at once when a part starts wanting one), until `stop`; then ends
/// the ones held, so another daemon takes the work over at once.
pub(super) async fn keep(leases: Arc<Leases>, core: Leadline, mut stop: watch::Receiver<bool>) {
    let every = leases.ttl / 3;
    // When each lease was last renewed (by this daemon's clock): one not
    // renewed for two thirds of its time is given up before it expires.
    let mut renewed: BTreeMap<String, Instant> = BTreeMap::new();
    let mut seen: Vec<String> = Vec::new();
    loop {
        let names: Vec<String> = leases.lock().keys().cloned().collect();
        // Leases no part wants any more (an account removed by a reload).
        for gone in seen.iter().filter(|n| !names.contains(n)) {
            core.metrics().lease(gone, None);
            if renewed.remove(gone).is_some() {
                end(&core, gone, &leases.holder).await;
            }
        }
        seen.clone_from(&names);
        for name in names {
            let started = Instant::now();
            let (c, n, h, ttl) = (
                core.clone(),
                name.clone(),
                leases.holder.clone(),
                leases.ttl,
            );
            let taken = tokio::task::spawn_blocking(move || c.take_lease(&n, &h, ttl))
                .await
                .unwrap_or_else(|_| Err(crate::command::TxError("stopped".to_string())));
            let now = match taken {
                Ok(Some(lease)) => {
                    renewed.insert(name.clone(), started);
                    Some(lease)
                }
                Ok(None) => {
                    renewed.remove(&name);
                    None
                }
                Err(e) => {
                    tracing::warn!("lease {name}: cannot renew it ({e})");
                    match renewed.get(&name) {
                        Some(at) if at.elapsed() < leases.ttl * 2 / 3 => continue,
                        _ => {
                            renewed.remove(&name);
                            None
                        }
                    }
                }
            };
            core.metrics().lease(&name, Some(now.is_some()));
            if let Some(sender) = leases.lock().get(&name) {
                sender.send_if_modified(|held| {
                    let changed = match (&*held, &now) {
                        (Some(a), Some(b)) => a.fence != b.fence,
                        (None, None) => false,
                        _ => true,
                    };
                    match (&now, changed) {
                        (Some(l), false) => {
                            if let Some(h) = held.as_mut() {
                                h.expires = l.expires;
                            }
                        }
                        _ => held.clone_from(&now),
                    }
                    changed
                });
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = leases.ask.notified() => {}
            _ = stop.changed() => break,
        }
    }
    for lease in leases.held() {
        end(&core, &lease.name, &leases.holder).await;
    }
}

/// Ends `holder`'s lease `name`, saying so in the log when it cannot.
async fn end(core: &Leadline, name: &str, holder: &str) {
    let (c, n, h) = (core.clone(), name.to_string(), holder.to_string());
    match tokio::task::spawn_blocking(move || c.end_lease(&n, &h)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("lease {name}: cannot end it ({e}); it expires by itself"),
        Err(_) => {}
    }
}

/// Runs `work` while this daemon holds lease `name`, until `stop`: it
/// waits for the lease, runs `work` with a core fenced by it and a stop of
/// its own, and stops it when the lease is lost (then waits for it again).
/// `standby` is told what the part is doing, for `leadline status`.
pub(super) async fn while_held<F, Fut>(
    leases: Arc<Leases>,
    name: String,
    core: Leadline,
    mut stop: watch::Receiver<bool>,
    standby: impl Fn(Option<&Lease>),
    mut work: F,
) where
    F: FnMut(Leadline, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut held = leases.want(&name);
    loop {
        let lease = loop {
            if *stop.borrow() {
                leases.unwant(&name);
                return;
            }
            if let Some(l) = held.borrow_and_update().clone() {
                break l;
            }
            standby(None);
            tokio::select! {
                r = held.changed() => if r.is_err() { return },
                _ = stop.changed() => {}
            }
        };
        tracing::info!(
            "lease {name}: taken by this daemon ({}, fence {})",
            leases.holder,
            lease.fence
        );
        standby(Some(&lease));
        let fence = lease.fence;
        let (lost, lost_rx) = watch::channel(false);
        let running = work(core.fenced(lease), lost_rx);
        tokio::pin!(running);
        let mut stopping = false;
        loop {
            tokio::select! {
                _ = &mut running => break,
                r = held.changed(), if !stopping => {
                    let still = r.is_ok() && held.borrow().as_ref().is_some_and(|l| l.fence == fence);
                    if !still {
                        tracing::warn!("lease {name}: lost; this daemon stops that work");
                        let _ = lost.send(true);
                        stopping = true;
                    }
                }
                _ = stop.changed(), if !stopping => {
                    let _ = lost.send(true);
                    stopping = true;
                }
            }
        }
        if !stopping {
            // The work ended by itself: not at once again.
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
