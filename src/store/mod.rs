//! The sled store: one tree of JSON records, indexes and history (key
//! layout in [`crate::command::keys`]).
//!
//! Each command runs in a [`SledTx`] overlay: reads see the command's own
//! writes; a refused command's overlay is dropped, so it changes nothing.
//!
//! A successful command (or a group of them) commits through a redo journal:
//! 1. all its writes are encoded into one value under one journal key;
//! 2. the writes are applied key by key, and the journal key removed;
//! 3. a flush thread syncs the log (one sync for everything applied since
//!    the last one) and only then is the command answered.
//!
//! sled recovers a prefix of its log, so after a crash either the journal
//! entry is there without its removal (and [`Store::open`] replays it: the
//! command takes effect whole) or it is not (nothing of it took effect), or
//! the removal is there too, after every write. This gives the atomicity
//! of a sled batch at the cost of one sync per group: sled 0.34's
//! `apply_batch` rolls its IO buffer twice, and every buffer write waits
//! for a `sync_file_range`, which made a batch three syncs. The writer does
//! not wait for the sync: it prepares the next group meanwhile.
//!
//! One writer at a time (a mutex), so commands never interleave. Readers
//! pass a gate: they wait while writes are applied (so no reader ever sees
//! half of a command) and while applied changes are not yet synced (so no
//! reader sees a change a crash could still take back). A writer waits for
//! the readers inside, and lets waiting ones in before it applies more.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};

pub mod repair;

use crate::command::{self, keys, Command, CommandError, Context, Reply, Rows, Tx, TxError};

/// The schema version this build writes and reads; older stores are
/// upgraded when opened ([`Store::open`]).
///
/// - 1: the first.
/// - 2: one index, by state and owner (`i/KIND/so/STATE/OWNER/...`); the
///   owner-only and state-only ones (`i/KIND/o/`, `i/KIND/s/`) are gone: a
///   state's or an owner's records are found in its ranges of that one.
/// - 3: the search words of every record and product (`s/`, for `/find`)
///   and the records of an account (`u/acct_*`, for `/show A-..`).
pub const SCHEMA: u64 = 3;

/// Why the store could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("the store at {path} is in use by another leadline process (is the daemon running?)")]
    Locked { path: PathBuf },
    #[error("the store at {path} was written by a newer leadline (schema {found}; this one reads up to {SCHEMA}); upgrade leadline")]
    TooNew { path: PathBuf, found: u64 },
    #[error("the store at {path} holds data that is not leadline's (no schema version)")]
    Foreign { path: PathBuf },
    #[error("the store at {path} has a damaged journal entry: {reason}")]
    Journal { path: PathBuf, reason: String },
    /// sled's own error, said in words (not as its source: its Display is
    /// Rust debug formatting).
    #[error("store: {}", sled_words(.0))]
    Sled(sled::Error),
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Sled(e)
    }
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub path: PathBuf,
    /// Background fsync interval; `None` turns it off.
    pub fsync_every_ms: Option<u64>,
    /// sled's page cache in bytes.
    pub cache_bytes: u64,
}

impl StoreOptions {
    /// Defaults for `path`: fsync every 500 ms, a 24 MiB cache (sled
    /// overshoots it; so a daemon on 100,000 leads, search index included,
    /// stays under 200 MB).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StoreOptions {
            path: path.into(),
            fsync_every_ms: Some(500),
            cache_bytes: 24 * 1024 * 1024,
        }
    }
}

/// The open store.
pub struct Store {
    db: sled::Db,
    path: PathBuf,
    /// Serialises writing commands: each sees the one before it complete.
    writer: Mutex<()>,
    /// Keeps readers out while writes are applied (so reads never see half
    /// of a command) and while applied changes wait for their sync.
    gate: Arc<Gate>,
    /// Syncs applied changes and then answers them.
    flusher: Flusher,
    /// Set when a journaled change could not be applied or synced.
    broken: Arc<AtomicBool>,
}

/// What the writer, the flush thread and readers share about syncs.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Default)]
struct GateState {
    /// Groups of changes applied to the tree, numbered from 1.
    applied: u64,
    /// The last of those known to be synced.
    synced: u64,
    /// Readers waiting to get in.
    waiting: usize,
    /// Readers in.
    reading: usize,
    /// Whether writes are being applied.
    applying: bool,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, GateState> {
        // The state is a few counters, never left half-updated.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything applied up to `seq` is synced.
    fn synced(&self, seq: u64) {
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
    fn enter_read(&self) -> Reading<'_> {
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
    fn start_apply(&self, counted: bool) -> (u64, Applying<'_>) {
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
struct Reading<'a>(&'a Gate);

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.0.lock().reading -= 1;
        self.0.changed.notify_all();
    }
}

/// Writes being applied; readers wait until it is dropped.
struct Applying<'a>(&'a Gate);

impl Drop for Applying<'_> {
    fn drop(&mut self) {
        self.0.lock().applying = false;
        self.0.changed.notify_all();
    }
}

/// Logs why the store refuses writes from now on, and refuses them.
fn refuse_writes(broken: &AtomicBool, what: &str, e: &str) {
    tracing::error!(
        "store: {what} failed ({e}); writes are refused until a restart (which replays what was journaled)"
    );
    broken.store(true, Ordering::SeqCst);
}

/// Called once a change is synced (or could not be).
type Synced = Box<dyn FnOnce(Result<(), TxError>) + Send>;

/// The flush thread: takes every applied group waiting for a sync, syncs
/// once for all of them, then opens the gate and answers them in order.
struct Flusher {
    queue: Option<mpsc::Sender<(u64, Synced)>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// What it syncs with, also for a sync on the caller's thread.
    syncer: Syncer,
}

/// Syncs the store and opens the gate for what that covered.
#[derive(Clone)]
struct Syncer {
    db: sled::Db,
    gate: Arc<Gate>,
    broken: Arc<AtomicBool>,
}

impl Syncer {
    /// Syncs everything applied so far, opens the gate up to the last of
    /// `waiting`, then answers each in order. An answer that panics (a bug)
    /// does not keep the others from theirs.
    fn sync(&self, waiting: Vec<(u64, Synced)>) {
        let result = self.sync_to(waiting.iter().map(|(seq, _)| *seq).max().unwrap_or(0));
        for (_, done) in waiting {
            let r = result.clone();
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || done(r)));
        }
    }

    /// Syncs everything applied so far and opens the gate up to `seq`
    /// (also after a failed sync, which refuses writes from then on).
    fn sync_to(&self, seq: u64) -> Result<(), TxError> {
        let result = self.db.flush().map(|_| ()).map_err(|e| {
            refuse_writes(&self.broken, "syncing to disk", &sled_words(&e));
            TxError(format!(
                "the change could not be saved to disk: {}",
                sled_words(&e)
            ))
        });
        self.gate.synced(seq);
        result
    }
}

impl Flusher {
    fn start(syncer: Syncer) -> std::io::Result<Flusher> {
        let (queue, rx) = mpsc::channel::<(u64, Synced)>();
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
    fn after_sync(&self, seq: u64, done: Synced) {
        let refused = match &self.queue {
            Some(q) => q.send((seq, done)).err().map(|e| e.0),
            None => Some((seq, done)),
        };
        if let Some(waiting) = refused {
            self.syncer.sync(vec![waiting]);
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Every queued answer is given before the store closes.
        self.flusher.queue.take();
        if let Some(t) = self.flusher.thread.take() {
            // An answer may hold the last handle on the store: then this
            // runs on the flush thread itself, which ends on its own.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

/// Whether a command's changes are flushed before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Flushed before the reply: the normal case.
    Flush,
    /// Applied but not yet flushed: bulk loads that call [`Store::flush`] at the end.
    Deferred,
}

impl Store {
    /// Opens (or creates) the store.
    ///
    /// Fails when the folder cannot be used, another process has it open,
    /// or it was written by a newer leadline.
    pub fn open(options: &StoreOptions) -> Result<Store, StoreError> {
        let path = options.path.clone();
        clear_interrupted_writes(&path).map_err(|e| StoreError::Open {
            path: path.clone(),
            reason: format!("cannot tidy the folder before opening: {e}"),
        })?;
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(options.cache_bytes)
            .flush_every_ms(options.fsync_every_ms.filter(|ms| *ms > 0))
            .open()
            .map_err(|e| open_error(&path, e))?;
        let found = match db.get(keys::SCHEMA)? {
            Some(v) => {
                let found = std::str::from_utf8(&v)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(u64::MAX);
                if found > SCHEMA {
                    return Err(StoreError::TooNew { path, found });
                }
                found
            }
            None if db.is_empty() => {
                db.insert(keys::SCHEMA, SCHEMA.to_string().as_bytes())?;
                db.flush()?;
                SCHEMA
            }
            None => return Err(StoreError::Foreign { path }),
        };
        let store = Store::with(db, path).map_err(|e| StoreError::Open {
            path: options.path.clone(),
            reason: e.to_string(),
        })?;
        store.recover()?;
        if found < SCHEMA {
            store.upgrade(found)?;
        }
        Ok(store)
    }

    /// Brings a store written with schema `from` to [`SCHEMA`], as one
    /// journaled change: a crash leaves it wholly upgraded or not at all.
    fn upgrade(&self, from: u64) -> Result<(), StoreError> {
        let failed = |e: TxError| StoreError::Open {
            path: self.path.clone(),
            reason: format!("upgrading it from schema {from} to {SCHEMA} failed: {e}"),
        };
        let mut tx = SledTx::new(&self.db);
        if from < 2 {
            for prefix in crate::domain::Kind::ALL
                .into_iter()
                .flat_map(keys::schema1_indexes)
            {
                for (key, _) in tx.scan(&prefix, None, false, usize::MAX).map_err(failed)? {
                    tx.remove(key);
                }
            }
        }
        if from < 3 {
            let n =
                command::search::reindex(&mut tx).map_err(|e| failed(TxError(e.to_string())))?;
            tracing::info!("store: indexed {n} records for /find and the account view");
        }
        tx.put(keys::SCHEMA.to_vec(), SCHEMA.to_string().into_bytes());
        let writes = std::mem::take(&mut tx.writes);
        self.apply_journaled(writes, Durability::Deferred)
            .and_then(|_| self.flush())
            .map_err(failed)?;
        tracing::info!(
            "store: upgraded {} from schema {from} to {SCHEMA}",
            self.path.display()
        );
        Ok(())
    }

    fn with(db: sled::Db, path: PathBuf) -> std::io::Result<Store> {
        let gate = Arc::new(Gate::default());
        let broken = Arc::new(AtomicBool::new(false));
        let flusher = Flusher::start(Syncer {
            db: db.clone(),
            gate: gate.clone(),
            broken: broken.clone(),
        })?;
        Ok(Store {
            db,
            path,
            writer: Mutex::new(()),
            gate,
            flusher,
            broken,
        })
    }

    /// A throwaway store for tests, removed when dropped.
    ///
    /// Fails when sled cannot create it.
    pub fn temporary() -> Result<Store, StoreError> {
        let db = sled::Config::new().temporary(true).open()?;
        db.insert(keys::SCHEMA, SCHEMA.to_string().as_bytes())?;
        Store::with(db, PathBuf::from("(temporary)")).map_err(|e| StoreError::Open {
            path: PathBuf::from("(temporary)"),
            reason: e.to_string(),
        })
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Parses and runs one command line, flushed before it returns.
    ///
    /// Fails as [`command::parse`] and [`command::apply`] do; nothing is then written.
    pub fn execute(&self, line: &str, ctx: &Context) -> Result<Reply, CommandError> {
        let cmd = command::parse(line, ctx)?;
        self.run(&cmd, line, ctx, Durability::Flush)
    }

    /// Runs a parsed command. Writing commands take the writer lock, apply
    /// their batch atomically and (with [`Durability::Flush`]) flush it.
    ///
    /// Fails as [`command::apply`] does, or when the batch cannot be
    /// written; nothing is then changed.
    pub fn run(
        &self,
        cmd: &Command,
        text: &str,
        ctx: &Context,
        durability: Durability,
    ) -> Result<Reply, CommandError> {
        if cmd.is_read_only() {
            let _reading = self.gate.enter_read();
            let mut tx = SledTx::new(&self.db);
            return command::apply(cmd, text, &mut tx, ctx);
        }
        // A poisoned lock only means another command panicked; its overlay
        // was never applied, so the store is consistent.
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut tx = SledTx::new(&self.db);
        let reply = command::apply(cmd, text, &mut tx, ctx)?;
        let seq = self.apply_journaled(tx.writes, durability)?;
        // The next writer may go on while this one syncs.
        drop(writer);
        self.sync_now(seq)?;
        Ok(reply)
    }

    /// Runs several commands as one group: each in an overlay of its own on
    /// top of the group's (so it sees the commands before it, and a refused
    /// one changes nothing), then the group is journaled once and applied,
    /// and synced by the flush thread together with whatever else was
    /// applied meanwhile. This is the daemon's group commit: one sync for
    /// many commands, and the writer prepares the next group during it.
    /// `answer` gets the results (on the flush thread) once the group is
    /// synced; readers wait for that, so nobody reads a change that a
    /// crash could take back, and an answered change is always seen.
    ///
    /// `answer` gets an error as a whole only when the store cannot be
    /// written; each command's own refusal is in its result.
    pub fn run_group(
        &self,
        jobs: &[(&Command, &str, &Context)],
        answer: impl FnOnce(Result<Vec<Result<Reply, CommandError>>, TxError>) + Send + 'static,
    ) {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = self.usable() {
            return answer(Err(e));
        }
        // A panic in a command (a bug) must not take the writer down: the
        // group is not committed, so the store is as before it.
        let prepared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut group = Writes::new();
            let mut out = Vec::with_capacity(jobs.len());
            for (cmd, text, ctx) in jobs {
                let mut tx = SledTx {
                    tree: &self.db,
                    below: Some(&group),
                    writes: Writes::new(),
                };
                let result = command::apply(cmd, text, &mut tx, ctx);
                let writes = std::mem::take(&mut tx.writes);
                if result.is_ok() {
                    group.extend(writes);
                }
                out.push(result);
            }
            (group, out)
        }));
        let Ok((group, out)) = prepared else {
            return answer(Err(TxError(
                "an internal error stopped this group of commands; nothing of it was written"
                    .to_string(),
            )));
        };
        match self.apply_journaled(group, Durability::Flush) {
            Err(e) => answer(Err(e)),
            Ok(0) => answer(Ok(out)),
            Ok(seq) => self
                .flusher
                .after_sync(seq, Box::new(move |synced| answer(synced.map(|()| out)))),
        }
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
    /// the number readers now wait to see synced (see [`Store::sync_now`]
    /// and [`Flusher::after_sync`]); 0 when nothing waits for a sync.
    /// A failed apply leaves the journal entry and refuses writes until a
    /// restart replays it.
    fn apply_journaled(&self, writes: Writes, durability: Durability) -> Result<u64, TxError> {
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
        self.journal(&writes)?;
        let (seq, applying) = self.gate.start_apply(flushed);
        let applied =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.apply_writes(writes)));
        drop(applying);
        let e = match applied {
            Ok(Ok(())) => return Ok(seq),
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
    fn sync_now(&self, seq: u64) -> Result<(), TxError> {
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
    fn apply_writes(&self, writes: Writes) -> sled::Result<()> {
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
    /// command and applying it.
    fn recover(&self) -> Result<(), StoreError> {
        let Some(entry) = self.db.get(keys::JOURNAL)? else {
            return Ok(());
        };
        let writes = journal::decode(&entry).map_err(|reason| StoreError::Journal {
            path: self.path.clone(),
            reason,
        })?;
        self.apply_writes(writes)?;
        self.db.flush()?;
        Ok(())
    }

    /// Writes everything applied so far to the operating system (sled's
    /// flush), so a killed process loses none of it.
    ///
    /// Fails when the disk write fails.
    pub fn flush(&self) -> Result<(), TxError> {
        self.db
            .flush()
            .map(|_| ())
            .map_err(|e| TxError(sled_words(&e)))
    }

    /// A read-only view of the committed state.
    pub fn reader(&self) -> impl Tx + '_ {
        SledTx::new(&self.db)
    }
}

/// Removes what an interrupted sled write leaves behind that sled would
/// misread on the next start: a snapshot is written to
/// `snap.<lsn>.generating`, synced, then renamed to `snap.<lsn>`; a process
/// killed before the rename leaves the `.generating` file (often empty or
/// cut short), and sled 0.34 takes it for the newest snapshot and refuses
/// to open ("Read corrupted data"). Such a file is never a finished
/// snapshot, so removing it loses nothing: sled reads the last finished
/// one and replays its log from there.
///
/// Runs only while holding the lock sled itself takes on `db`, so it never
/// touches a snapshot that a running leadline is writing; when the store is
/// in use it does nothing (the open then reports the store as in use).
///
/// Fails when the folder cannot be read or a leftover cannot be removed.
fn clear_interrupted_writes(dir: &Path) -> std::io::Result<()> {
    let lock_file = dir.join("db");
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&lock_file)
    {
        Ok(file) => file,
        // A new store: nothing to tidy.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if file.try_lock().is_err() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            tracing::warn!(
                "store: removing {name}, a snapshot left unfinished by an interrupted run"
            );
            std::fs::remove_file(entry.path())?;
        }
    }
    // The lock goes with `file`.
    Ok(())
}

fn open_error(path: &Path, e: sled::Error) -> StoreError {
    let reason = e.to_string();
    if reason.contains("lock")
        || reason.contains("WouldBlock")
        || reason.contains("temporarily unavailable")
    {
        return StoreError::Locked {
            path: path.to_path_buf(),
        };
    }
    let reason = match e {
        sled::Error::Corruption { .. } => format!(
            "its files are damaged ({}); restore the folder from a backup, or run \
             `leadline store repair`, which keeps the damaged folder and copies every \
             record it can read into a fresh store",
            sled_words(&e)
        ),
        other => sled_words(&other),
    };
    StoreError::Open {
        path: path.to_path_buf(),
        reason,
    }
}

/// A sled error in words, without Rust's debug formatting.
fn sled_words(e: &sled::Error) -> String {
    match e {
        sled::Error::Io(io) => io.to_string(),
        sled::Error::Corruption { .. } => "sled found data it cannot read".to_string(),
        sled::Error::Unsupported(what) => format!("sled cannot do this: {what}"),
        sled::Error::ReportableBug(what) => format!("sled failed: {what}"),
        sled::Error::CollectionNotFound(_) => "a part of the store is missing".to_string(),
    }
}

/// A command's pending writes, in key order; `None` is a removal.
type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// A command's view: committed data, the writes of the commands before it
/// in its group (`below`), and its own uncommitted writes.
struct SledTx<'a> {
    tree: &'a sled::Tree,
    below: Option<&'a Writes>,
    writes: Writes,
}

impl<'a> SledTx<'a> {
    fn new(tree: &'a sled::Tree) -> Self {
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
        let mut base: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> = if reverse
        {
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

/// The journal entry's encoding: a count, then per write the key, a tag
/// (1 insert, 0 remove) and the value, lengths as little-endian u32.
mod journal {
    use super::Writes;

    pub fn encode(writes: &Writes) -> Vec<u8> {
        let size: usize = writes
            .iter()
            .map(|(k, v)| 9 + k.len() + v.as_ref().map_or(0, Vec::len))
            .sum();
        let mut out = Vec::with_capacity(4 + size);
        out.extend_from_slice(&(writes.len() as u32).to_le_bytes());
        for (k, v) in writes {
            out.extend_from_slice(&(k.len() as u32).to_le_bytes());
            out.extend_from_slice(k);
            match v {
                Some(v) => {
                    out.push(1);
                    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    out.extend_from_slice(v);
                }
                None => out.push(0),
            }
        }
        out
    }

    pub fn decode(mut bytes: &[u8]) -> Result<Writes, String> {
        fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
            if bytes.len() < n {
                return Err("entry is truncated".to_string());
            }
            let (head, tail) = bytes.split_at(n);
            *bytes = tail;
            Ok(head)
        }
        fn len(bytes: &mut &[u8]) -> Result<usize, String> {
            let b = take(bytes, 4)?;
            Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        }
        let count = len(&mut bytes)?;
        let mut writes = Writes::new();
        for _ in 0..count {
            let klen = len(&mut bytes)?;
            let key = take(&mut bytes, klen)?.to_vec();
            let value = match take(&mut bytes, 1)?[0] {
                0 => None,
                1 => {
                    let vlen = len(&mut bytes)?;
                    Some(take(&mut bytes, vlen)?.to_vec())
                }
                t => return Err(format!("unknown tag {t}")),
            };
            writes.insert(key, value);
        }
        if !bytes.is_empty() {
            return Err("trailing bytes".to_string());
        }
        Ok(writes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Opens a store that a plain `sled::Db` of the test just had open:
    /// sled's IO threads may hold its lock a moment after the drop.
    fn open_once_released(dir: &Path) -> Result<Store, StoreError> {
        repair::wait_for_release(|| Store::open(&StoreOptions::new(dir)))
    }

    #[test]
    fn a_group_is_answered_once_synced_and_an_answered_change_is_read(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let store = std::sync::Arc::new(Store::temporary()?);
        let config = crate::config::Config::parse(crate::config::DEFAULT, "test")?;
        let ctx = config.context("me", chrono::Utc::now(), "test");
        let text = "/lead new topic:Chairs last:Schmidt";
        let cmd = command::parse(text, &ctx)?;
        let (tx, rx) = mpsc::channel();
        let (s, cfg) = (store.clone(), config.clone());
        store.run_group(&[(&cmd, text, &ctx)], move |answer| {
            let answer = answer.expect("written");
            assert!(answer[0].is_ok());
            // A reader started the moment the answer goes out sees the lead.
            let reader = std::thread::spawn(move || {
                let ctx = cfg.context("me", chrono::Utc::now(), "test");
                let show = command::parse("/show L-1001", &ctx)?;
                s.run(&show, "/show L-1001", &ctx, Durability::Flush)
                    .map(|r| r.text)
            });
            let _ = tx.send(reader);
        });
        let shown = rx.recv()?.join().expect("reader")?;
        assert!(shown.contains("Chairs"), "{shown}");
        // A read after the group was applied, not waiting for its answer,
        // sees it too (it waits for the sync).
        let text = "/lead new topic:Tables last:Weber";
        let cmd = command::parse(text, &ctx)?;
        store.run_group(&[(&cmd, text, &ctx)], |_| {});
        let show = command::parse("/show L-1002", &ctx)?;
        let shown = store
            .run(&show, "/show L-1002", &ctx, Durability::Flush)?
            .text;
        assert!(shown.contains("Tables"), "{shown}");
        Ok(())
    }

    #[test]
    fn a_reader_waits_until_what_was_applied_is_synced() -> Result<(), Box<dyn std::error::Error>> {
        let store = std::sync::Arc::new(Store::temporary()?);
        let config = crate::config::Config::parse(crate::config::DEFAULT, "test")?;
        let ctx = config.context("me", chrono::Utc::now(), "test");
        let text = "/lead new topic:Chairs last:Schmidt";
        let mut tx = SledTx::new(&store.db);
        command::apply(&command::parse(text, &ctx)?, text, &mut tx, &ctx)?;
        let writes = std::mem::take(&mut tx.writes);
        let seq = store.apply_journaled(writes, Durability::Flush)?;
        assert!(seq > 0);
        let (shown, reads) = mpsc::channel();
        let (s, cfg) = (store.clone(), config.clone());
        std::thread::spawn(move || {
            let ctx = cfg.context("me", chrono::Utc::now(), "test");
            let read = command::parse("/show L-1001", &ctx)
                .and_then(|show| s.run(&show, "/show L-1001", &ctx, Durability::Flush));
            let _ = shown.send(read.map(|r| r.text));
        });
        // Applied but not synced: a crash could still take it back.
        let early = reads.recv_timeout(std::time::Duration::from_millis(300));
        assert!(early.is_err(), "read before the sync: {early:?}");
        store.sync_now(seq)?;
        let text = reads.recv_timeout(std::time::Duration::from_secs(10))??;
        assert!(text.contains("Chairs"), "{text}");
        Ok(())
    }

    #[test]
    fn a_schema_1_store_is_upgraded_when_opened() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        {
            let db = sled::open(dir.path())?;
            db.insert(keys::SCHEMA, b"1")?;
            let lead = crate::domain::lead::Lead::new(
                1001,
                "Bürostühle".to_string(),
                "anna".to_string(),
                crate::domain::Currency::default(),
                chrono::Utc::now(),
            );
            db.insert("r/lead/00000000000000001001", serde_json::to_vec(&lead)?)?;
            db.insert("i/lead/o/anna/00000000000000001001", b"".to_vec())?;
            db.insert("i/quote/o/ben/00000000000000001001/000001", b"".to_vec())?;
            db.insert("i/lead/s/open/00000000000000001001", b"".to_vec())?;
            db.insert("i/lead/so/open/anna/00000000000000001001", b"".to_vec())?;
            db.flush()?;
        }
        let store = open_once_released(dir.path())?;
        let r = store.reader();
        assert_eq!(r.get(keys::SCHEMA)?, Some(SCHEMA.to_string().into_bytes()));
        assert!(r.scan(b"i/lead/o/", None, false, 10)?.is_empty());
        assert!(r.scan(b"i/quote/o/", None, false, 10)?.is_empty());
        assert!(r.scan(b"i/lead/s/", None, false, 10)?.is_empty());
        assert_eq!(r.scan(b"i/lead/so/", None, false, 10)?.len(), 1);
        assert!(r.get(b"r/lead/00000000000000001001")?.is_some());
        assert_eq!(r.get(keys::JOURNAL)?, None);
        // Schema 3: the search words of what was there.
        assert_eq!(r.scan(b"s/burostuhle\0l", None, false, 10)?.len(), 1);
        Ok(())
    }

    #[test]
    fn journal_entries_round_trip_and_damage_is_detected() {
        let mut w = Writes::new();
        w.insert(b"r/lead/1".to_vec(), Some(b"{}".to_vec()));
        w.insert(b"i/x".to_vec(), None);
        w.insert(b"empty".to_vec(), Some(Vec::new()));
        let bytes = journal::encode(&w);
        assert_eq!(journal::decode(&bytes), Ok(w));
        assert!(journal::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(journal::decode(&longer).is_err());
    }

    #[test]
    fn a_journal_entry_left_by_a_crash_is_replayed_on_open(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        {
            let db = sled::open(dir.path())?;
            db.insert(keys::SCHEMA, SCHEMA.to_string().as_bytes())?;
            db.insert("old", "gone")?;
            let mut w = Writes::new();
            w.insert(b"a".to_vec(), Some(b"1".to_vec()));
            w.insert(b"old".to_vec(), None);
            db.insert(keys::JOURNAL, journal::encode(&w))?;
            db.flush()?;
        }
        let store = open_once_released(dir.path())?;
        let r = store.reader();
        assert_eq!(r.get(b"a")?, Some(b"1".to_vec()));
        assert_eq!(r.get(b"old")?, None);
        assert_eq!(r.get(keys::JOURNAL)?, None);
        Ok(())
    }

    /// A store with one lead, closed again.
    fn store_with_a_lead(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
        let store = open_once_released(dir)?;
        let config = crate::config::Config::parse(crate::config::DEFAULT, "test")?;
        let ctx = config.context("me", chrono::Utc::now(), "test");
        store.execute("/lead new topic:Chairs last:Schmidt", &ctx)?;
        Ok(())
    }

    fn snapshots(dir: &Path) -> Result<Vec<PathBuf>, std::io::Error> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            if e.file_name().to_string_lossy().starts_with("snap.") {
                out.push(e.path());
            }
        }
        Ok(out)
    }

    #[test]
    fn a_snapshot_left_unfinished_by_a_kill_does_not_keep_the_store_from_opening(
    ) -> Result<(), Box<dyn std::error::Error>> {
        // The sizes seen after killed starts: empty, one and four pages.
        for size in [0usize, 8_192, 32_768] {
            let dir = tempfile::tempdir()?;
            store_with_a_lead(dir.path())?;
            let leftover = dir.path().join("snap.7FFFFFFFFFFFFFFF.generating");
            std::fs::write(&leftover, vec![0x5a; size])?;
            // sled alone takes it for the newest snapshot and refuses.
            let plain = sled::open(dir.path());
            assert!(plain.is_err(), "sled opened with a {size}-byte leftover");
            drop(plain);
            let store = open_once_released(dir.path())?;
            assert!(store
                .reader()
                .get(b"r/lead/00000000000000001001")?
                .is_some());
            assert!(!leftover.exists());
        }
        Ok(())
    }

    #[test]
    fn a_store_in_use_keeps_its_unfinished_snapshot() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = open_once_released(dir.path())?;
        let leftover = dir.path().join("snap.7FFFFFFFFFFFFFFF.generating");
        std::fs::write(&leftover, b"being written")?;
        assert!(matches!(
            Store::open(&StoreOptions::new(dir.path())),
            Err(StoreError::Locked { .. })
        ));
        assert!(
            leftover.exists(),
            "removed a file the open store may be writing"
        );
        std::fs::remove_file(leftover)?;
        drop(store);
        Ok(())
    }

    #[test]
    fn a_damaged_store_says_what_to_do_and_repair_keeps_every_readable_record(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        store_with_a_lead(&data)?;
        std::fs::create_dir(data.join("oauth"))?;
        std::fs::write(data.join("oauth/sales.json"), b"{}")?;
        // Make sure a finished snapshot exists, then damage it.
        {
            let db = loop {
                match sled::open(&data) {
                    Ok(db) => break db,
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                }
            };
            db.flush()?;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        let snaps = snapshots(&data)?;
        assert!(!snaps.is_empty(), "sled wrote no snapshot");
        for snap in &snaps {
            let mut bytes = std::fs::read(snap)?;
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0xff;
            std::fs::write(snap, bytes)?;
        }
        let e = match open_once_released(&data) {
            Err(e) => e.to_string(),
            Ok(_) => return Err("a damaged store opened".into()),
        };
        assert!(
            e.contains("leadline store repair") && e.contains("backup"),
            "{e}"
        );
        assert!(!e.contains("None") && !e.contains("Corruption {"), "{e}");
        let now = chrono::Utc::now();
        let report = repair::repair(&StoreOptions::new(&data), now)?;
        assert!(report.kept_at.exists());
        assert_eq!(
            report.check.records.get("lead"),
            Some(&1),
            "{}",
            report.render()
        );
        assert!(data.join("oauth/sales.json").exists());
        let store = open_once_released(&data)?;
        assert!(store
            .reader()
            .get(b"r/lead/00000000000000001001")?
            .is_some());
        drop(store);
        // A store that opens is not "repaired".
        std::thread::sleep(std::time::Duration::from_millis(100));
        let again = repair::repair(&StoreOptions::new(&data), now);
        assert!(again.is_err());
        Ok(())
    }

    #[test]
    fn repair_leaves_out_a_damaged_journal_entry_that_keeps_the_store_shut(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        store_with_a_lead(&data)?;
        {
            let db = loop {
                match sled::open(&data) {
                    Ok(db) => break db,
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                }
            };
            db.insert(keys::JOURNAL, b"not a journal entry".to_vec())?;
            db.flush()?;
        }
        let e = match open_once_released(&data) {
            Err(e) => e,
            Ok(_) => return Err("a damaged journal entry went unnoticed".into()),
        };
        assert!(matches!(e, StoreError::Journal { .. }), "{e}");
        let report = repair::wait_for_release(|| {
            repair::repair(&StoreOptions::new(&data), chrono::Utc::now())
        })?;
        assert!(report.dropped_journal, "{}", report.render());
        let store = open_once_released(&data)?;
        assert!(store
            .reader()
            .get(b"r/lead/00000000000000001001")?
            .is_some());
        assert_eq!(store.reader().get(keys::JOURNAL)?, None);
        Ok(())
    }

    #[test]
    fn scans_merge_pending_writes_and_removals_in_both_directions(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let db = sled::Config::new().temporary(true).open()?;
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
