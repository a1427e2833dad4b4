//! The sled store, leadline's embedded default: one folder, one tree of
//! JSON records, indexes and history (key layout in
//! [`crate::command::keys`]).
//!
//! - `overlay`: a unit's view (committed data, its group, its own writes);
//! - `commit`: group commit through a redo `journal` entry;
//! - `gate`: readers never see half of a group or an unsynced write;
//! - `flush`: the thread that syncs once per group and then answers;
//! - `space`: a full disk refuses writes before anything is written, and
//!   they go on by themselves when there is room again;
//! - [`schema`]: the schema version and upgrades;
//! - [`repair`]: `leadline store check|repair`.
//!
//! This is the only place that names sled.

mod commit;
mod flush;
mod gate;
mod journal;
mod overlay;
pub mod repair;
pub mod schema;
mod space;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use crate::command::keys;
use crate::store::{Backend, Durability, Durable, StoreError, Ticket, Tx, TxError, Unit};
use flush::{Flusher, Syncer};
use gate::Gate;
use overlay::SledTx;
pub use schema::SCHEMA;

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub path: PathBuf,
    /// Background fsync interval; `None` turns it off.
    pub fsync_every_ms: Option<u64>,
    /// sled's page cache in bytes.
    pub cache_bytes: u64,
    /// Below this many free bytes on the disk, writes are refused.
    pub min_free_bytes: u64,
    /// The space reserve kept in the folder for syncs in flight.
    pub reserve_bytes: u64,
    /// Open a store whose restore was cut short (`leadline restore
    /// --force` does, to replace it).
    pub restoring: bool,
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
            min_free_bytes: 32 * 1024 * 1024,
            reserve_bytes: 16 * 1024 * 1024,
            restoring: false,
        }
    }
}

/// The open sled store.
pub struct SledStore {
    db: ::sled::Db,
    path: PathBuf,
    /// Serialises groups: each sees the one before it complete.
    writer: Mutex<()>,
    /// Keeps readers out while writes are applied (so reads never see half
    /// of a group) and while applied changes wait for their sync.
    gate: Arc<Gate>,
    /// Syncs applied changes and then answers them.
    flusher: Flusher,
    /// Set when a journaled change could not be applied or synced.
    broken: Arc<AtomicBool>,
    /// Free-space checks; `None` for a temporary store.
    space: Option<Arc<space::Space>>,
    /// While an export reads the store: every group applied meanwhile.
    capture: Mutex<Option<Vec<overlay::Writes>>>,
    /// One export at a time.
    exporting: Mutex<()>,
    /// Work only one daemon does: this one's (sled locks its folder).
    leases: crate::store::lease::Local,
}

impl SledStore {
    /// Opens (or creates) the store.
    ///
    /// Fails when the folder cannot be used, another process has it open,
    /// or it was written by a newer leadline.
    pub fn open(options: &StoreOptions) -> Result<SledStore, StoreError> {
        let path = options.path.clone();
        private_folder(&path)?;
        let space = Arc::new(space::Space::new(
            &path,
            options.min_free_bytes,
            options.reserve_bytes,
        ));
        space.before_open();
        clear_interrupted_writes(&path).map_err(|e| StoreError::Open {
            path: path.clone(),
            reason: format!("cannot tidy the folder before opening: {e}"),
        })?;
        let db = ::sled::Config::new()
            .path(&path)
            .cache_capacity(options.cache_bytes)
            .flush_every_ms(options.fsync_every_ms.filter(|ms| *ms > 0))
            .open()
            .map_err(|e| open_error(&path, e))?;
        let found = schema::found(&db, &path)?;
        if !options.restoring && db.get(keys::RESTORING).ok().flatten().is_some() {
            return Err(StoreError::Open {
                path: path.clone(),
                reason: "a restore into it did not finish, so it is not whole; run the restore again with --force".to_string(),
            });
        }
        let store = SledStore::with(db, path, Some(space)).map_err(|e| StoreError::Open {
            path: options.path.clone(),
            reason: e.to_string(),
        })?;
        store.recover()?;
        if found < SCHEMA {
            store.upgrade(found)?;
        }
        Ok(store)
    }

    fn with(
        db: ::sled::Db,
        path: PathBuf,
        space: Option<Arc<space::Space>>,
    ) -> std::io::Result<SledStore> {
        let gate = Arc::new(Gate::default());
        let broken = Arc::new(AtomicBool::new(false));
        let flusher = Flusher::start(Syncer {
            db: db.clone(),
            gate: gate.clone(),
            broken: broken.clone(),
            space: space.clone(),
        })?;
        Ok(SledStore {
            db,
            path,
            writer: Mutex::new(()),
            gate,
            flusher,
            broken,
            space,
            capture: Mutex::new(None),
            exporting: Mutex::new(()),
            leases: crate::store::lease::Local::default(),
        })
    }

    /// A throwaway store for tests, removed when dropped.
    ///
    /// Fails when sled cannot create it.
    pub fn temporary() -> Result<SledStore, StoreError> {
        let failed = |e: ::sled::Error| StoreError::Failed(sled_words(&e));
        let db = ::sled::Config::new()
            .temporary(true)
            .open()
            .map_err(failed)?;
        db.insert(keys::SCHEMA, SCHEMA.to_string().as_bytes())
            .map_err(failed)?;
        SledStore::with(db, PathBuf::from("(temporary)"), None).map_err(|e| StoreError::Open {
            path: PathBuf::from("(temporary)"),
            reason: e.to_string(),
        })
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes everything applied so far to the operating system (sled's
    /// flush), so a killed process loses none of it.
    fn flush_all(&self) -> Result<(), TxError> {
        self.db
            .flush()
            .map(|_| ())
            .map_err(|e| TxError(sled_words(&e)))
    }
}

impl Backend for SledStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn take_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<crate::store::lease::Lease>, TxError> {
        Ok(self.leases.take(name, holder, ttl))
    }

    fn end_lease(&self, name: &str, holder: &str) -> Result<(), TxError> {
        self.leases.end(name, holder);
        Ok(())
    }

    fn leases(&self) -> Result<Vec<crate::store::lease::Lease>, TxError> {
        Ok(self.leases.all())
    }

    fn export(&self, sink: crate::store::ExportSink<'_>) -> Result<(), TxError> {
        let _one = self.exporting.lock().unwrap_or_else(|e| e.into_inner());
        // Under the writer's lock: no group is half-applied, and every
        // group applied from now on is captured (groups apply under it).
        {
            let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            *self.capture.lock().unwrap_or_else(|e| e.into_inner()) = Some(Vec::new());
        }
        let read = (|| {
            for item in self.db.iter() {
                let (k, v) = item.map_err(|e| TxError(sled_words(&e)))?;
                sink(&k, Some(&v)).map_err(TxError)?;
            }
            Ok(())
        })();
        let captured = {
            let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            self.capture
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .unwrap_or_default()
        };
        read?;
        for writes in captured {
            for (k, v) in writes {
                sink(&k, v.as_deref()).map_err(TxError)?;
            }
        }
        Ok(())
    }

    fn problem(&self) -> Option<String> {
        if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
            return Some(
                "the store could not save a change; restart leadline (it replays what was journaled)"
                    .to_string(),
            );
        }
        self.space.as_ref().and_then(|s| s.problem())
    }

    fn read(&self, read: &mut dyn FnMut(&mut dyn Tx)) -> Result<(), TxError> {
        let _reading = self.gate.enter_read();
        let mut tx = SledTx::new(&self.db);
        read(&mut tx);
        Ok(())
    }

    fn commit(
        &self,
        count: usize,
        unit: Unit<'_>,
        durability: Durability,
    ) -> Result<Ticket, TxError> {
        self.commit_group(count, unit, durability)
    }

    fn when_durable(&self, ticket: Ticket, done: Durable) {
        if ticket == Ticket::NONE {
            return done(Ok(()));
        }
        self.flusher.after_sync(ticket.0, done);
    }

    fn make_durable(&self, ticket: Ticket) -> Result<(), TxError> {
        self.sync_now(ticket.0)
    }

    fn flush(&self) -> Result<(), TxError> {
        self.flush_all()
    }
}

/// Creates the data folder readable by its owner only (0700, whatever the
/// umask), or checks that an existing one is: it holds every lead, deal
/// and e-mail, so a folder that other local users can enter is refused
/// with the `chmod` that fixes it rather than opened.
///
/// Fails when the folder cannot be created or read, or others can use it.
pub(super) fn private_folder(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let failed = |e: std::io::Error| StoreError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)
                .map_err(failed)?;
            // `mode` is masked by the umask; set it exactly.
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
                .map_err(failed)?;
            return Ok(());
        }
        Err(e) => return Err(failed(e)),
    };
    let mode = meta.permissions().mode() & 0o777;
    if meta.is_dir() && mode & 0o077 != 0 {
        return Err(StoreError::Open {
            path: path.to_path_buf(),
            reason: format!(
                "other users can open it (mode {mode:04o}), and it holds every lead and \
                 e-mail; make it private first: chmod 700 '{}'",
                path.display()
            ),
        });
    }
    Ok(())
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

fn open_error(path: &Path, e: ::sled::Error) -> StoreError {
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
        ::sled::Error::Corruption { .. } => format!(
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
pub(crate) fn sled_words(e: &::sled::Error) -> String {
    match e {
        ::sled::Error::Io(io) => io.to_string(),
        ::sled::Error::Corruption { .. } => "sled found data it cannot read".to_string(),
        ::sled::Error::Unsupported(what) => format!("sled cannot do this: {what}"),
        ::sled::Error::ReportableBug(what) => format!("sled failed: {what}"),
        ::sled::Error::CollectionNotFound(_) => "a part of the store is missing".to_string(),
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{self, Reply};
    use overlay::Writes;
    use std::sync::mpsc;

    /// Opens a store that a plain `sled::Db` of the test just had open:
    /// sled's IO threads may hold its lock a moment after the drop.
    fn open_once_released(dir: &Path) -> Result<SledStore, StoreError> {
        repair::wait_for_release(|| SledStore::open(&StoreOptions::new(dir)))
    }

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn config() -> crate::config::Config {
        crate::config::Config::parse(crate::config::DEFAULT, "test").expect("the default config")
    }

    /// Runs one command line as the core does: one unit, durable before it
    /// returns.
    fn run(store: &SledStore, line: &str) -> Result<Reply, Box<dyn std::error::Error>> {
        let config = config();
        let ctx = config.context("me", chrono::Utc::now(), "test");
        let cmd = command::parse(line, &ctx)?;
        let mut out = None;
        let ticket = store.commit(
            1,
            &mut |_, tx| {
                let r = command::apply(&cmd, line, tx, &ctx);
                let keep = r.is_ok();
                out = Some(r);
                keep
            },
            Durability::Flush,
        )?;
        store.make_durable(ticket)?;
        Ok(out.ok_or("no answer")??.render(&ctx))
    }

    /// A read-only command through the gate, as the core reads.
    fn show(store: &SledStore, line: &str) -> Result<String, Box<dyn std::error::Error>> {
        let config = config();
        let ctx = config.context("me", chrono::Utc::now(), "test");
        let cmd = command::parse(line, &ctx)?;
        let backend: &dyn Backend = store;
        Ok(backend
            .view(|tx| command::apply(&cmd, line, tx, &ctx))??
            .render(&ctx)
            .text)
    }

    /// The committed tree as it is, for checks.
    fn reader(store: &SledStore) -> SledTx<'_> {
        SledTx::new(&store.db)
    }

    #[test]
    fn a_group_is_answered_once_synced_and_an_answered_change_is_read() -> TestResult {
        let store = std::sync::Arc::new(SledStore::temporary()?);
        let config = config();
        let ctx = config.context("me", chrono::Utc::now(), "test");
        let text = "/lead new topic:Chairs last:Schmidt";
        let cmd = command::parse(text, &ctx)?;
        let (tx, rx) = mpsc::channel();
        let s = store.clone();
        let ticket = store.commit(
            1,
            &mut |_, tx| command::apply(&cmd, text, tx, &ctx).is_ok(),
            Durability::Flush,
        )?;
        store.when_durable(
            ticket,
            Box::new(move |synced| {
                assert!(synced.is_ok());
                // A reader started the moment the answer goes out sees the lead.
                let reader =
                    std::thread::spawn(move || show(&s, "/show L-1001").map_err(|e| e.to_string()));
                let _ = tx.send(reader);
            }),
        );
        let shown = rx.recv()?.join().expect("reader")?;
        assert!(shown.contains("Chairs"), "{shown}");
        // A read after the group was applied, not waiting for its answer,
        // sees it too (it waits for the sync).
        let text = "/lead new topic:Tables last:Weber";
        let cmd = command::parse(text, &ctx)?;
        let ticket = store.commit(
            1,
            &mut |_, tx| command::apply(&cmd, text, tx, &ctx).is_ok(),
            Durability::Flush,
        )?;
        store.when_durable(ticket, Box::new(|_| {}));
        let shown = show(&store, "/show L-1002")?;
        assert!(shown.contains("Tables"), "{shown}");
        Ok(())
    }

    #[test]
    fn a_reader_waits_until_what_was_applied_is_synced() -> TestResult {
        let store = std::sync::Arc::new(SledStore::temporary()?);
        let config = config();
        let ctx = config.context("me", chrono::Utc::now(), "test");
        let text = "/lead new topic:Chairs last:Schmidt";
        let mut tx = SledTx::new(&store.db);
        command::apply(&command::parse(text, &ctx)?, text, &mut tx, &ctx)?;
        let writes = std::mem::take(&mut tx.writes);
        let seq = store.apply_journaled(writes, Durability::Flush)?;
        assert!(seq > 0);
        let (shown, reads) = mpsc::channel();
        let s = store.clone();
        std::thread::spawn(move || {
            let _ = shown.send(show(&s, "/show L-1001").map_err(|e| e.to_string()));
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
        let dir = private_tempdir()?;
        {
            let db = ::sled::open(dir.path())?;
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
        let r = reader(&store);
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
    fn a_journal_entry_left_by_a_crash_is_replayed_on_open(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = private_tempdir()?;
        {
            let db = ::sled::open(dir.path())?;
            db.insert(keys::SCHEMA, SCHEMA.to_string().as_bytes())?;
            db.insert("old", "gone")?;
            let mut w = Writes::new();
            w.insert(b"a".to_vec(), Some(b"1".to_vec()));
            w.insert(b"old".to_vec(), None);
            db.insert(keys::JOURNAL, journal::encode(&w))?;
            db.flush()?;
        }
        let store = open_once_released(dir.path())?;
        let r = reader(&store);
        assert_eq!(r.get(b"a")?, Some(b"1".to_vec()));
        assert_eq!(r.get(b"old")?, None);
        assert_eq!(r.get(keys::JOURNAL)?, None);
        Ok(())
    }

    /// A store with one lead, closed again.
    /// A temporary folder as leadline makes its data folders: private.
    fn private_tempdir() -> std::io::Result<tempfile::TempDir> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
        Ok(dir)
    }

    fn store_with_a_lead(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
        let store = open_once_released(dir)?;
        run(&store, "/lead new topic:Chairs last:Schmidt")?;
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
            let dir = private_tempdir()?;
            store_with_a_lead(dir.path())?;
            let leftover = dir.path().join("snap.7FFFFFFFFFFFFFFF.generating");
            std::fs::write(&leftover, vec![0x5a; size])?;
            // sled alone takes it for the newest snapshot and refuses.
            let plain = ::sled::open(dir.path());
            assert!(plain.is_err(), "sled opened with a {size}-byte leftover");
            drop(plain);
            let store = open_once_released(dir.path())?;
            assert!(reader(&store)
                .get(b"r/lead/00000000000000001001")?
                .is_some());
            assert!(!leftover.exists());
        }
        Ok(())
    }

    #[test]
    fn a_store_in_use_keeps_its_unfinished_snapshot() -> Result<(), Box<dyn std::error::Error>> {
        let dir = private_tempdir()?;
        let store = open_once_released(dir.path())?;
        let leftover = dir.path().join("snap.7FFFFFFFFFFFFFFF.generating");
        std::fs::write(&leftover, b"being written")?;
        assert!(matches!(
            SledStore::open(&StoreOptions::new(dir.path())),
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
        let dir = private_tempdir()?;
        let data = dir.path().join("data");
        store_with_a_lead(&data)?;
        std::fs::create_dir(data.join("oauth"))?;
        std::fs::write(data.join("oauth/sales.json"), b"{}")?;
        // Make sure a finished snapshot exists, then damage it.
        {
            let db = loop {
                match ::sled::open(&data) {
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
        assert!(reader(&store)
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
        let dir = private_tempdir()?;
        let data = dir.path().join("data");
        store_with_a_lead(&data)?;
        {
            let db = loop {
                match ::sled::open(&data) {
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
        assert!(reader(&store)
            .get(b"r/lead/00000000000000001001")?
            .is_some());
        assert_eq!(reader(&store).get(keys::JOURNAL)?, None);
        Ok(())
    }
}
