//! Storage: the [`Backend`] trait every store implements, and its
//! implementations. [`embedded`] (sled) is the default: one folder,
//! nothing else to run.
//!
//! The core ([`crate::core::Leadline`]) is the only caller: it hands a
//! backend units of work (one command each) that read and write through a
//! [`Tx`]; the backend makes them atomic and durable. A backend never
//! interprets records; the key layout is [`crate::command::keys`].
//!
//! # What a backend must guarantee
//! - **Atomic commit of one command.** A unit's writes take effect whole
//!   or not at all, also across a crash or a kill at any moment; a unit
//!   that returns "discard" changes nothing.
//! - **Group commit.** [`Backend::commit`] runs several units in order,
//!   each in an overlay of its own on top of the units before it in the
//!   group (so it sees their writes); the group is made durable as one
//!   (one sync for all), and a backend may prepare the next group while
//!   the last one syncs.
//! - **No read of an unsynced write.** [`Backend::read`] sees only changes
//!   that are durable: nothing half-applied, nothing a crash could still
//!   take back.
//! - **Read-your-writes.** Once a commit's [`Backend::make_durable`]
//!   returned, or its [`Backend::when_durable`] callback ran, every read
//!   started afterwards sees it.
//! - **Ordered prefix scans.** [`Tx::scan`] returns keys in byte order
//!   (or its reverse), with the unit's own pending writes and removals
//!   merged in.
//!
//! A backend must not panic on bad data or a failing disk: it returns a
//! [`TxError`] saying what went wrong in words, and refuses writes from
//! then on if it cannot tell what reached the disk.

#[doc(hidden)]
pub mod backup;
pub mod lease;
pub mod overlay;
pub mod postgres;
pub mod sled;

/// The embedded sled store (leadline's default), by its product name.
pub use self::sled as embedded;

use std::path::PathBuf;
use std::sync::Arc;

pub use crate::command::{Tx, TxError};

/// Called once a commit is durable (or could not be made so).
pub type Durable = Box<dyn FnOnce(Result<(), TxError>) + Send>;

/// What a commit hands back: the point readers wait for, to pass to
/// [`Backend::when_durable`] or [`Backend::make_durable`]. `Ticket::NONE`
/// when nothing waits (nothing was written, or the backend commits
/// synchronously).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(pub u64);

impl Ticket {
    /// Nothing to wait for.
    pub const NONE: Ticket = Ticket(0);
}

/// Whether a commit is made durable before it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Durable before the answer: the normal case.
    Flush,
    /// Applied but not yet durable: bulk loads, which call
    /// [`Backend::flush`] at the end.
    Deferred,
}

/// One unit of work in a group: its number in the group and its overlay.
/// It returns whether its writes are kept (`false`: the unit was refused
/// and its overlay is dropped).
pub type Unit<'a> = &'a mut dyn FnMut(usize, &mut dyn Tx) -> bool;

/// A store the core can run commands against. See the module docs for what
/// an implementation must guarantee.
pub trait Backend: Send + Sync + 'static {
    /// Where the data lives, for logs and `leadline status` (never a
    /// password or a connection string with one).
    fn location(&self) -> String;

    /// Hands `sink` every key and value of one consistent moment, without
    /// holding commands up: every key in key order as it is read, then
    /// every write committed while they were read (a value, or `None` for
    /// a removal), in commit order. Replayed in that order, they give the
    /// store as it was when the reading ended (what a backup needs).
    /// `sink` stops the export by failing.
    ///
    /// Fails when the store cannot be read, or with `sink`'s error.
    fn export(&self, sink: ExportSink<'_>) -> Result<(), TxError>;

    /// What keeps it from taking writes now (a full disk), for `status`;
    /// `None` when all is well.
    fn problem(&self) -> Option<String> {
        None
    }

    /// Runs `read` on a view of the durable state. Writes it makes are
    /// dropped.
    ///
    /// Fails when the backend cannot give a view.
    fn read(&self, read: &mut dyn FnMut(&mut dyn Tx)) -> Result<(), TxError>;

    /// Runs units `0..count` as one group (see the module docs) and applies
    /// what they kept. With [`Durability::Flush`] the returned ticket is what
    /// readers now wait for.
    ///
    /// Fails, with nothing applied, when the backend refuses writes or the
    /// group cannot be written; a panic in a unit (a bug) fails the group.
    fn commit(
        &self,
        count: usize,
        unit: Unit<'_>,
        durability: Durability,
    ) -> Result<Ticket, TxError>;

    /// Calls `done` once everything up to `ticket` is durable: on a thread
    /// of the backend's (so the caller goes on), or at once.
    fn when_durable(&self, ticket: Ticket, done: Durable);

    /// Makes everything up to `ticket` durable on this thread.
    ///
    /// Fails when the disk write fails; writes are refused from then on.
    fn make_durable(&self, ticket: Ticket) -> Result<(), TxError>;

    /// Makes everything applied so far durable (after deferred commits).
    ///
    /// Fails when the disk write fails.
    fn flush(&self) -> Result<(), TxError>;

    /// Takes the lease `name` for `holder` for `ttl`, or renews it when it
    /// is already `holder`'s ([`lease`]); `None` while another holder's
    /// lease runs.
    ///
    /// Fails when the store cannot be reached.
    fn take_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<lease::Lease>, TxError>;

    /// Ends `holder`'s lease `name` now, so another daemon can take it at
    /// once (a daemon that stops).
    ///
    /// Fails when the store cannot be reached.
    fn end_lease(&self, name: &str, holder: &str) -> Result<(), TxError>;

    /// On a store several processes write: a number that changes with
    /// every commit of any of them (caches of reads check it). `None` for
    /// a store only this process writes (its own commits are counted by
    /// the core).
    ///
    /// Fails when the store cannot be read.
    fn changes(&self) -> Result<Option<u64>, TxError> {
        Ok(None)
    }

    /// Every lease and its holder, for `leadline status`.
    ///
    /// Fails when the store cannot be read.
    fn leases(&self) -> Result<Vec<lease::Lease>, TxError>;
}

impl dyn Backend {
    /// Runs `f` on a view of the durable state and returns what it returns.
    ///
    /// Fails when the backend cannot give a view.
    pub fn view<R>(&self, f: impl FnOnce(&mut dyn Tx) -> R) -> Result<R, TxError> {
        let mut f = Some(f);
        let mut out = None;
        self.read(&mut |tx| {
            if let Some(f) = f.take() {
                out = Some(f(tx));
            }
        })?;
        out.ok_or_else(|| TxError("the store gave no view".to_string()))
    }
}

/// Where [`Backend::export`] hands each key and value (`None`: removed);
/// failing stops the export.
pub type ExportSink<'a> = &'a mut dyn FnMut(&[u8], Option<&[u8]>) -> Result<(), String>;

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("the store at {path} is in use by another leadline process (is the daemon running?)")]
    Locked { path: PathBuf },
    #[error("the store at {path} was written by a newer leadline (schema {found}; this one reads up to {readable}); upgrade leadline")]
    TooNew {
        path: PathBuf,
        found: u64,
        readable: u64,
    },
    #[error("the store at {path} holds data that is not leadline's (no schema version)")]
    Foreign { path: PathBuf },
    #[error("the store at {path} has a damaged journal entry: {reason}")]
    Journal { path: PathBuf, reason: String },
    /// The backend's own failure, in words.
    #[error("store: {0}")]
    Failed(String),
}

/// The data layout's upgrades from layout `from` to
/// [`embedded::SCHEMA`], as writes in `tx` (every backend runs them as one
/// commit); the caller writes the new layout number.
///
/// Fails when the store cannot be read or a record does not decode.
pub fn upgrade(tx: &mut dyn Tx, from: u64) -> Result<(), TxError> {
    use crate::command::keys;
    let failed = |e: crate::command::CommandError| TxError(e.to_string());
    if from < 2 {
        for prefix in crate::domain::Kind::ALL
            .into_iter()
            .flat_map(keys::schema1_indexes)
        {
            for (key, _) in tx.scan(&prefix, None, false, usize::MAX)? {
                tx.remove(key);
            }
        }
    }
    if from < 3 {
        let n = crate::command::search::reindex(tx).map_err(failed)?;
        tracing::info!("store: indexed {n} records for /find and the account view");
    }
    if from < 4 {
        let n = crate::command::records::store_totals(tx).map_err(failed)?;
        tracing::info!("store: wrote the totals of {n} records with lines");
    }
    Ok(())
}

/// Opens the embedded store with `options`.
///
/// Fails as [`embedded::SledStore::open`] does.
pub fn open(options: &embedded::StoreOptions) -> Result<Arc<dyn Backend>, StoreError> {
    Ok(Arc::new(embedded::SledStore::open(options)?))
}

/// Opens (and sets up or upgrades) the PostgreSQL store.
///
/// Fails as [`postgres::PgStore::open`] does.
pub fn open_postgres(options: &postgres::PgOptions) -> Result<Arc<dyn Backend>, StoreError> {
    Ok(Arc::new(postgres::PgStore::open(options)?))
}

/// A throwaway embedded store (tests), removed when dropped.
///
/// Fails when it cannot be created.
pub fn temporary() -> Result<Arc<dyn Backend>, StoreError> {
    Ok(Arc::new(embedded::SledStore::temporary()?))
}
