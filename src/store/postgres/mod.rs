//! The PostgreSQL store: for a team that wants its data on a database it
//! already runs and backs up, and several daemons sharing it.
//!
//! The data is the same key-value layout as the embedded store
//! ([`crate::command::keys`]) in one table, `leadline_kv (k bytea, v
//! bytea)`, values the same JSON; [`schema`] creates and upgrades it
//! (versioned migrations) and keeps one view per record kind with typed
//! columns for plain SQL.
//!
//! How the contract of [`crate::store::Backend`] is met:
//! - **One group, one transaction, one at a time.** A group's units run
//!   inside one transaction that first takes the turn row
//!   (`leadline_writers`, id `(turn)`) `FOR UPDATE`: the groups of all
//!   daemons go one after another, each reading (`READ COMMITTED`, a
//!   fresh snapshot per statement, taken after its turn began) everything
//!   the ones before it committed, so each runs as if alone: serial
//!   execution, with the database queueing the waiters instead of
//!   aborting them. Each unit reads through its own overlay of pending
//!   writes ([`tx`]); what the kept units wrote goes out in one pipeline
//!   at the end (an upsert, a delete, `COMMIT`: one round trip). The
//!   sequence keys make numbers gap-free, also across daemons and after a
//!   rolled-back transaction.
//! - **Retries.** A serialization failure, a deadlock, a turn not had in
//!   10 s, a lost connection or
//!   a read-only server (a standby not yet promoted) before `COMMIT` rolls
//!   the group back and runs all of it again, on a fresh connection, for
//!   up to [`PgOptions::retry_for`]; the user never sees it.
//! - **A commit whose answer was lost** (the connection broke during
//!   `COMMIT`): every group also writes its number under this process's
//!   id in `leadline_writers`, so after reconnecting the store reads it
//!   and knows whether the group is in: then it is answered, else it is
//!   run again. Nothing is applied twice and nothing acknowledged is lost.
//! - **Fewer round trips.** What a group read and wrote stays known to
//!   this process ([`Known`]) and serves its next group's reads, as long
//!   as no other process committed in between: the group learns that in
//!   the same round trip as its turn (the sum of the writers' group
//!   numbers grows with every commit of anyone).
//! - **Durable when answered.** `COMMIT` returns once the database made
//!   it durable (with a synchronous standby, on both), so a ticket never
//!   waits and every read started afterwards, on any daemon, sees it.
//!
//! The driver is tokio-postgres (prepared statements; pooled by
//! deadpool-postgres) on a runtime of the store's own: the core's threads
//! wait for its answers without ever blocking the daemon's runtime.

pub mod schema;
mod tx;

use std::cell::RefCell;
use std::future::Future;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;

use crate::command::keys;
use crate::store::lease::Lease;
use crate::store::overlay::Writes;
use crate::store::{Backend, Durability, Durable, StoreError, Ticket, Tx, TxError, Unit};
use tx::{PgTx, Reads};

/// How to reach the database.
#[derive(Clone)]
pub struct PgOptions {
    /// The connection string (`postgres://...` or `host=... dbname=...`,
    /// several hosts allowed); never logged.
    pub url: String,
    /// Certificates to trust besides the public roots, for a server with
    /// a company CA (PEM).
    pub ca_file: Option<PathBuf>,
    /// Connections at most.
    pub pool: usize,
    /// How long a group is retried through conflicts and a failover
    /// before the command fails.
    pub retry_for: Duration,
    /// Open a store whose restore was cut short (`leadline restore
    /// --force` does, to replace it).
    pub restoring: bool,
}

impl std::fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOptions")
            .field("url", &"(secret)")
            .field("ca_file", &self.ca_file)
            .field("pool", &self.pool)
            .field("retry_for", &self.retry_for)
            .finish()
    }
}

impl PgOptions {
    /// The settings of `[store]`, with the connection string from the
    /// environment (`url_env`, default `LEADLINE_DATABASE_URL`) or
    /// `url_file`.
    ///
    /// Fails naming the variable or file (never the string).
    pub fn from_config(config: &crate::config::StoreConfig) -> Result<PgOptions, String> {
        let env = Some(
            config
                .url_env
                .clone()
                .unwrap_or_else(|| crate::config::StoreConfig::URL_ENV.to_string()),
        )
        .filter(|_| config.url_file.is_none());
        let url = crate::redact::Secret::load("store", &env, &config.url_file)
            .map_err(|e| format!("{e}; the PostgreSQL store needs its connection string there"))?;
        let mut options = PgOptions::new(url.expose());
        options.ca_file = config.ca_file.clone();
        options.pool = config.pool;
        Ok(options)
    }

    /// Defaults for `url`: 16 connections, retries for 30 s.
    pub fn new(url: impl Into<String>) -> PgOptions {
        PgOptions {
            url: url.into(),
            ca_file: None,
            pool: 16,
            retry_for: Duration::from_secs(30),
            restoring: false,
        }
    }
}

/// Why a statement failed, as far as a retry is concerned.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// The database refused this transaction but would take it again:
    /// serialization failure, deadlock.
    Conflict(String),
    /// The connection is gone or the server cannot write now (shutting
    /// down, a standby): another connection may do.
    Connection(String),
    /// Anything else (a full disk, a bug): said to the user.
    Other(String),
}

impl Failure {
    pub(crate) fn of(e: &tokio_postgres::Error) -> Failure {
        let words = words(e);
        match e.code() {
            Some(c)
                if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED =>
            {
                Failure::Conflict(words)
            }
            Some(c)
                if *c == SqlState::READ_ONLY_SQL_TRANSACTION
                    || *c == SqlState::ADMIN_SHUTDOWN
                    || *c == SqlState::CRASH_SHUTDOWN
                    || *c == SqlState::CANNOT_CONNECT_NOW
                    || c.code().starts_with("08") =>
            {
                Failure::Connection(words)
            }
            Some(_) => Failure::Other(words),
            None => Failure::Connection(words),
        }
    }

    pub(crate) fn words(&self) -> String {
        match self {
            Failure::Conflict(w) | Failure::Connection(w) | Failure::Other(w) => w.clone(),
        }
    }
}

/// A driver error in words: the server's message, or what broke.
pub(crate) fn words(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("the database says: {}", db.message()),
        None => {
            let mut s = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                s = format!("{s}: {inner}");
                source = inner.source();
            }
            format!("the database: {s}")
        }
    }
}

/// Runs `f` to its end on this thread. The driver's futures only talk to
/// the connection tasks (which run on the store's runtime), so this works
/// from any thread, a tokio one included, and never needs that runtime.
pub(crate) fn wait<F: Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

/// The open PostgreSQL store.
pub struct PgStore {
    /// Drives the connections; shut down in the background when dropped.
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    pool: Pool,
    location: String,
    retry_for: Duration,
    /// This process's last group number (its row in `leadline_writers`
    /// has the id `id`); held while a group commits, so groups of this process go
    /// one after another.
    writer: Mutex<u64>,
    id: String,
    /// The last failure to reach the database, for `status`.
    problem: Mutex<Option<String>>,
    /// What this process's groups read and wrote, kept for its next group
    /// while no other process commits in between ([`Known`]).
    known: Mutex<Known>,
}

/// Values as they are in the database after this process's last group:
/// what it read and what it wrote. They are still the database's while
/// no other process has committed since, which the next group checks at
/// its start at no cost (the sum of every writer's group number, read in
/// the same round trip as its turn, grows with every commit of anyone):
/// then its reads of them need no round trip. Dropped after a failure,
/// and when they grow past [`KNOWN_MOST`].
#[derive(Default)]
struct Known {
    /// The sum of the group numbers right after this process's last
    /// commit; `None`: nothing known.
    after: Option<i64>,
    values: tx::Seen,
}

/// Values kept in [`Known`] at most (about a record each).
const KNOWN_MOST: usize = 20_000;

impl Known {
    /// The database after a group: `seen` as it was read, with `written`
    /// on top; the group numbers summing to `after`.
    fn remember(&mut self, after: i64, mut seen: tx::Seen, written: Writes) {
        seen.extend(written);
        if seen.len() > KNOWN_MOST {
            seen.clear();
        }
        self.values = seen;
        self.after = Some(after);
    }
}

/// How one attempt at a group ended, when not committed.
enum Attempt {
    /// Rolled back: run it again.
    Again(Failure),
    /// `COMMIT` was sent and no answer came.
    Uncertain(Failure),
    /// Nothing applied; answer with this.
    Failed(TxError),
}

impl PgStore {
    /// Connects, creates or upgrades the schema ([`schema::migrate`]) and
    /// checks the data's layout version.
    ///
    /// Fails when the connection string is not valid, the database cannot
    /// be reached, or it was set up by a newer leadline.
    pub fn open(options: &PgOptions) -> Result<PgStore, StoreError> {
        let mut config = tokio_postgres::Config::from_str(&options.url).map_err(|e| {
            StoreError::Failed(format!(
                "the PostgreSQL connection string is not valid: {}",
                words(&e)
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        config.application_name("leadline");
        config.keepalives_idle(Duration::from_secs(30));
        let location = describe(&config);
        let tls = tls(options.ca_file.as_deref()).map_err(StoreError::Failed)?;
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("leadline-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Failed(format!("cannot start the database driver: {e}")))?;
        let pool = {
            let _in = runtime.enter();
            Pool::builder(manager)
                .max_size(options.pool.max(2))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(Duration::from_secs(30)))
                .create_timeout(Some(Duration::from_secs(10)))
                .build()
                .map_err(|e| StoreError::Failed(format!("cannot set up the database pool: {e}")))?
        };
        let mut id = [0u8; 8];
        getrandom::fill(&mut id)
            .map_err(|e| StoreError::Failed(format!("no randomness for the writer id: {e}")))?;
        let store = PgStore {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            pool,
            location: location.clone(),
            retry_for: options.retry_for,
            writer: Mutex::new(0),
            id: id.iter().map(|b| format!("{b:02x}")).collect(),
            problem: Mutex::new(None),
            known: Mutex::new(Known::default()),
        };
        let open_failed = |reason: String| StoreError::Open {
            path: PathBuf::from(&location),
            reason,
        };
        // Not the long retry of a commit: a database that cannot be
        // reached now is said at once (a daemon is restarted by systemd).
        let client = store
            .client_within(Duration::from_secs(2))
            .map_err(|e| open_failed(e.0))?;
        schema::migrate(&client, &location)?;
        drop(client);
        store.check_layout(options.restoring)?;
        Ok(store)
    }

    /// Runs `f` on the store's runtime and waits for it.
    pub(crate) fn on_runtime<T: Send + 'static>(
        &self,
        f: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, TxError> {
        wait(self.handle.spawn(f)).map_err(|_| TxError("the database driver stopped".to_string()))
    }

    /// A pooled connection, retried for [`PgOptions::retry_for`] while the
    /// database cannot be reached (a restart, a failover).
    pub(crate) fn client(&self) -> Result<Object, TxError> {
        self.client_within(self.retry_for)
    }

    /// A pooled connection, asked for until `wait` has passed.
    fn client_within(&self, wait: Duration) -> Result<Object, TxError> {
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(20);
        loop {
            let pool = self.pool.clone();
            let got = self.on_runtime(async move { pool.get().await })?;
            match got {
                Ok(c) => return Ok(c),
                Err(e) => {
                    let why = format!("cannot reach the database at {}: {e}", self.location);
                    *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.clone());
                    if Instant::now() >= deadline {
                        return Err(TxError(why));
                    }
                    tracing::warn!("store: {why}; trying again");
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// The statements a view reads with, prepared on `client` (once per
    /// connection: deadpool keeps them).
    fn reads(client: &Object) -> Result<Reads, tokio_postgres::Error> {
        wait(async {
            Ok(Reads {
                get: client.prepare_cached(Reads::GET).await?,
                asc: client.prepare_cached(Reads::ASC).await?,
                desc: client.prepare_cached(Reads::DESC).await?,
                asc_open: client.prepare_cached(Reads::ASC_OPEN).await?,
                desc_open: client.prepare_cached(Reads::DESC_OPEN).await?,
            })
        })
    }

    /// Refuses data of a layout this build does not read; writes the
    /// current one into an empty store.
    fn check_layout(&self, restoring: bool) -> Result<(), StoreError> {
        let current = crate::store::embedded::SCHEMA;
        let mut found = None;
        let mut unfinished = false;
        self.commit(
            1,
            &mut |_, tx| {
                unfinished = matches!(tx.get(keys::RESTORING), Ok(Some(_)));
                found = Some(tx.get(keys::SCHEMA));
                if let Some(Ok(None)) = found {
                    tx.put(keys::SCHEMA.to_vec(), current.to_string().into_bytes());
                    return true;
                }
                false
            },
            Durability::Flush,
        )
        .map_err(|e| StoreError::Failed(e.0))?;
        let path = PathBuf::from(&self.location);
        if unfinished && !restoring {
            return Err(StoreError::Open {
                path,
                reason: "a restore into it did not finish, so it is not whole; run the restore again with --force".to_string(),
            });
        }
        match found {
            Some(Ok(Some(v))) => {
                let found = std::str::from_utf8(&v)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(u64::MAX);
                if found > current {
                    return Err(StoreError::TooNew {
                        path,
                        found,
                        readable: current,
                    });
                }
                if found < current {
                    self.upgrade(found)?;
                }
                Ok(())
            }
            Some(Ok(None)) => Ok(()),
            Some(Err(e)) => Err(StoreError::Failed(e.0)),
            None => Err(StoreError::Failed("the store gave no view".to_string())),
        }
    }

    /// Brings data of layout `from` to the current one, as one commit.
    ///
    /// Fails when the upgrade cannot be read or written.
    fn upgrade(&self, from: u64) -> Result<(), StoreError> {
        let current = crate::store::embedded::SCHEMA;
        let mut result = Ok(());
        self.commit(
            1,
            &mut |_, tx| {
                // Another daemon may have upgraded it meanwhile.
                let layout = tx.get(keys::SCHEMA).ok().flatten();
                if layout.as_deref() == Some(current.to_string().as_bytes()) {
                    return false;
                }
                result = crate::store::upgrade(tx, from);
                tx.put(keys::SCHEMA.to_vec(), current.to_string().into_bytes());
                result.is_ok()
            },
            Durability::Flush,
        )
        .and(result)
        .map_err(|e| StoreError::Open {
            path: PathBuf::from(&self.location),
            reason: format!("upgrading its data from layout {from} to {current} failed: {e}"),
        })?;
        tracing::info!(
            "store: upgraded {} from layout {from} to {current}",
            self.location
        );
        Ok(())
    }

    /// One attempt at a group: run the units in one transaction, write what
    /// they kept and this process's group number, commit.
    fn attempt(&self, count: usize, unit: Unit<'_>, group: u64) -> Result<(), Attempt> {
        let client = self.client().map_err(Attempt::Failed)?;
        let again = |e: tokio_postgres::Error| match Failure::of(&e) {
            Failure::Other(w) => Attempt::Failed(TxError(w)),
            f => Attempt::Again(f),
        };
        let reads = Self::reads(&client).map_err(again)?;
        let (upsert, delete, groups) = wait(async {
            Ok((
                client.prepare_cached(UPSERT).await?,
                client.prepare_cached(DELETE).await?,
                client.prepare_cached(GROUPS).await?,
            ))
        })
        .map_err(again)?;
        // One group at a time among all daemons: each waits its turn on
        // the turn row (the database queues the waiters), then reads what
        // the groups before it committed. Nothing else writes meanwhile, so
        // the group runs as if alone; conflicts are not waited out by
        // aborting and retrying (which let one daemon starve another).
        // In the same round trip: whether anyone else committed since this
        // process's last group.
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        // Until this group is in, nothing is known (a failure keeps it so).
        let after = known.after.take();
        let values = std::mem::take(&mut known.values);
        let (turn, sums) = wait(futures_util::future::join(
            client.batch_execute(TURN),
            client.query_one(&groups, &[&self.id]),
        ));
        turn.map_err(again)?;
        let (sum, mine): (i64, i64) = sums.map(|r| (r.get(0), r.get(1))).map_err(again)?;
        let seen = if after == Some(sum) {
            values
        } else {
            tx::Seen::new()
        };
        let failed = RefCell::new(None);
        let seen = RefCell::new(seen);
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut kept = Writes::new();
            for i in 0..count {
                let mut tx = PgTx {
                    client: &client,
                    reads: &reads,
                    below: Some(&kept),
                    writes: Writes::new(),
                    failed: &failed,
                    seen: &seen,
                };
                let keep = unit(i, &mut tx);
                let writes = std::mem::take(&mut tx.writes);
                drop(tx);
                if failed.borrow().is_some() {
                    break;
                }
                if keep {
                    kept.extend(writes);
                }
            }
            kept
        }));
        let rollback = |client: &Object| {
            let _ = wait(client.batch_execute("ROLLBACK"));
        };
        let Ok(kept) = ran else {
            rollback(&client);
            return Err(Attempt::Failed(TxError(
                "an internal error stopped this command; nothing of it was written".to_string(),
            )));
        };
        if let Some(f) = failed.into_inner() {
            rollback(&client);
            return Err(match f {
                Failure::Other(w) => Attempt::Failed(TxError(w)),
                f => Attempt::Again(f),
            });
        }
        if kept.is_empty() {
            // Nothing to write: the reads were of committed data.
            rollback(&client);
            known.remember(sum, seen.into_inner(), Writes::new());
            return Ok(());
        }
        // Borrowed: the values stay in `kept` for what this process knows.
        let mut put_k: Vec<&[u8]> = Vec::new();
        let mut put_v: Vec<&[u8]> = Vec::new();
        let mut gone: Vec<&[u8]> = Vec::new();
        for (k, v) in &kept {
            match v {
                Some(v) => {
                    put_k.push(k);
                    put_v.push(v);
                }
                None => gone.push(k),
            }
        }
        let group = i64::try_from(group).unwrap_or(i64::MAX);
        // The writes and COMMIT in one pipeline: one round trip. A
        // failed write aborts the transaction, and the COMMIT after it
        // then rolls back (it answers without an error), so the writes'
        // answers are looked at first.
        let (up, del, commit) = wait(futures_util::future::join3(
            client.execute(&upsert, &[&put_k, &put_v, &self.id, &group]),
            client.execute(&delete, &[&gone]),
            client.batch_execute("COMMIT"),
        ));
        let settled = |e: &tokio_postgres::Error| match Failure::of(e) {
            // The server answered: it did not commit.
            Failure::Conflict(w) => Attempt::Again(Failure::Conflict(w)),
            Failure::Other(w) if e.as_db_error().is_some() => Attempt::Failed(TxError(w)),
            f => Attempt::Uncertain(f),
        };
        if let Some(e) = up.err().or(del.err()) {
            return Err(settled(&e));
        }
        commit.map_err(|e| settled(&e))?;
        // This group's number replaced this process's last one.
        known.remember(sum - mine + group, seen.into_inner(), kept);
        Ok(())
    }

    /// Whether this process's group `group` is in the database (after a
    /// `COMMIT` whose answer was lost), asked again until the database
    /// answers or `deadline` passes.
    fn landed(&self, group: u64, deadline: Instant) -> Result<bool, TxError> {
        loop {
            let asked = self.client().and_then(|client| {
                wait(client.query_opt(
                    "SELECT grp FROM leadline_writers WHERE id = $1",
                    &[&self.id],
                ))
                .map_err(|e| TxError(words(&e)))
            });
            match asked {
                Ok(row) => {
                    let landed: Option<i64> = row.map(|r| r.get(0));
                    return Ok(landed.and_then(|g| u64::try_from(g).ok()) == Some(group));
                }
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

/// Writes a group's values (any number of keys) and the writer's group
/// number.
const UPSERT: &str = "WITH w AS (INSERT INTO leadline_writers (id, grp) VALUES ($3, $4) \
     ON CONFLICT (id) DO UPDATE SET grp = excluded.grp) \
     INSERT INTO leadline_kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
     ON CONFLICT (k) DO UPDATE SET v = excluded.v";
/// Begins a group: its turn among the daemons' groups (see
/// [`PgStore::attempt`]), waited for at most 10 s before the group is
/// tried again.
const TURN: &str = "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = '10s'; \
     SELECT 1 FROM leadline_writers WHERE id = '(turn)' FOR UPDATE";
/// Takes lease `$1` for holder `$2` for `$3` ms, or renews it: when it
/// is free, expired, or the holder's already; its fence goes up when it
/// changes hands. No row back: another holder's lease runs. Timed by the
/// database's clock, so daemons whose clocks differ agree.
const TAKE_LEASE: &str = "INSERT INTO leadline_leases AS l \
     (name, holder, fence, expires_at, renewed_at) \
     VALUES ($1, $2, 1, clock_timestamp() + $3::bigint * interval '1 millisecond', clock_timestamp()) \
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
     fence = CASE WHEN l.holder = excluded.holder THEN l.fence ELSE l.fence + 1 END, \
     expires_at = excluded.expires_at, renewed_at = excluded.renewed_at \
     WHERE l.holder = excluded.holder OR l.expires_at <= clock_timestamp() \
     RETURNING fence, (extract(epoch FROM expires_at) * 1000)::bigint";
/// How long a lease's statements wait for a connection: a renewal that
/// cannot be made soon is tried again at the next one.
const LEASE_WAIT: Duration = Duration::from_secs(2);

/// Milliseconds since 1970 as a moment.
fn moment(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The sum of every writer's group number (it grows with every commit of
/// any process) and this process's own (`$1`), read at a group's start.
const GROUPS: &str = "SELECT coalesce(sum(grp), 0)::bigint, \
     coalesce(max(grp) FILTER (WHERE id = $1), 0)::bigint FROM leadline_writers";

/// Removes a group's removed keys.
const DELETE: &str = "DELETE FROM leadline_kv WHERE k = ANY($1::bytea[])";

/// `postgres host:port[,host:port]/dbname as user`: where, never a password.
fn describe(config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match h {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    format!(
        "postgres {}/{} as {}",
        hosts.join(","),
        config.get_dbname().unwrap_or("(default database)"),
        config.get_user().unwrap_or("(default user)")
    )
}

/// TLS for the connections: rustls with ring, the public roots and
/// `ca_file`. Used when the server offers it (`sslmode=prefer`, the
/// default) or demanded (`sslmode=require`).
fn tls(
    ca_file: Option<&std::path::Path>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let config = crate::tls::client_config(ca_file).map_err(|e| e.to_string())?;
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.pool.close();
        // Not a blocking shutdown: the store may be dropped on a thread of
        // another runtime.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Backend for PgStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn take_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, TxError> {
        let client = self.client_within(LEASE_WAIT)?;
        let ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let row = wait(client.query_opt(TAKE_LEASE, &[&name, &holder, &ms]))
            .map_err(|e| TxError(words(&e)))?;
        Ok(row.map(|r| Lease {
            name: name.to_string(),
            holder: holder.to_string(),
            fence: u64::try_from(r.get::<_, i64>(0)).unwrap_or(0),
            expires: moment(r.get(1)),
        }))
    }

    fn end_lease(&self, name: &str, holder: &str) -> Result<(), TxError> {
        let client = self.client_within(LEASE_WAIT)?;
        wait(client.execute(
            "UPDATE leadline_leases SET expires_at = clock_timestamp() \
             WHERE name = $1 AND holder = $2 AND expires_at > clock_timestamp()",
            &[&name, &holder],
        ))
        .map_err(|e| TxError(words(&e)))?;
        Ok(())
    }

    fn changes(&self) -> Result<Option<u64>, TxError> {
        // Every group adds one to its writer's number, so the sum grows
        // with every commit of every daemon.
        let client = self.client_within(LEASE_WAIT)?;
        let row = wait(client.query_one(
            "SELECT coalesce(sum(grp), 0)::bigint FROM leadline_writers",
            &[],
        ))
        .map_err(|e| TxError(words(&e)))?;
        Ok(Some(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0)))
    }

    fn leases(&self) -> Result<Vec<Lease>, TxError> {
        let client = self.client_within(LEASE_WAIT)?;
        let rows = wait(client.query(
            "SELECT name, holder, fence, (extract(epoch FROM expires_at) * 1000)::bigint \
             FROM leadline_leases ORDER BY name",
            &[],
        ))
        .map_err(|e| TxError(words(&e)))?;
        Ok(rows
            .into_iter()
            .map(|r| Lease {
                name: r.get(0),
                holder: r.get(1),
                fence: u64::try_from(r.get::<_, i64>(2)).unwrap_or(0),
                expires: moment(r.get(3)),
            })
            .collect())
    }

    fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn export(&self, sink: crate::store::ExportSink<'_>) -> Result<(), TxError> {
        use futures_util::StreamExt;
        let client = self.client()?;
        let failed = |e: tokio_postgres::Error| TxError(words(&e));
        wait(client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            .map_err(failed)?;
        let read = wait(async {
            let rows = client
                .query_raw(
                    "SELECT k, v FROM leadline_kv ORDER BY k",
                    std::iter::empty::<&str>(),
                )
                .await
                .map_err(failed)?;
            let mut rows = std::pin::pin!(rows);
            while let Some(row) = rows.next().await {
                let row = row.map_err(failed)?;
                let (k, v): (Vec<u8>, Vec<u8>) = (row.get(0), row.get(1));
                sink(&k, Some(&v)).map_err(TxError)?;
            }
            Ok(())
        });
        let _ = wait(client.batch_execute("ROLLBACK"));
        read
    }

    fn read(&self, read: &mut dyn FnMut(&mut dyn Tx)) -> Result<(), TxError> {
        let client = self.client()?;
        let failed = |e: tokio_postgres::Error| TxError(words(&e));
        let reads = Self::reads(&client).map_err(failed)?;
        wait(client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            .map_err(failed)?;
        let failure = RefCell::new(None);
        let seen = RefCell::new(tx::Seen::new());
        let empty = Writes::new();
        let mut tx = PgTx {
            client: &client,
            reads: &reads,
            below: Some(&empty),
            writes: Writes::new(),
            failed: &failure,
            seen: &seen,
        };
        read(&mut tx);
        drop(tx);
        let _ = wait(client.batch_execute("ROLLBACK"));
        if let Some(f) = failure.into_inner() {
            // The reader saw the error itself; a broken connection is not
            // handed out again.
            if !matches!(f, Failure::Other(_)) {
                let _ = Object::take(client);
            }
        }
        Ok(())
    }

    fn commit(
        &self,
        count: usize,
        unit: Unit<'_>,
        _durability: Durability,
    ) -> Result<Ticket, TxError> {
        let mut last = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        *last += 1;
        let group = *last;
        let deadline = Instant::now() + self.retry_for;
        let mut pause = Duration::from_millis(25);
        loop {
            let failure = match self.attempt(count, &mut *unit, group) {
                Ok(()) => {
                    self.problem
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .take();
                    return Ok(Ticket::NONE);
                }
                Err(Attempt::Failed(e)) => return Err(e),
                Err(Attempt::Again(f)) => f,
                Err(Attempt::Uncertain(f)) => {
                    // Unknown until the database answers again: never
                    // said to have failed while it may be saved.
                    let landed = self.landed(group, deadline).map_err(|e| {
                        TxError(format!(
                            "the change went to the database but its answer was lost, and the database cannot be asked now ({e}); it may be saved: look before running it again"
                        ))
                    })?;
                    if landed {
                        return Ok(Ticket::NONE);
                    }
                    f
                }
            };
            if Instant::now() >= deadline {
                return Err(TxError(format!(
                    "the database did not take the change in {} s; nothing of it was written ({})",
                    self.retry_for.as_secs(),
                    failure.words()
                )));
            }
            if matches!(failure, Failure::Connection(_)) {
                // The database is away (a restart, a failover): wait longer
                // each time.
                tracing::warn!("store: {}; trying again", failure.words());
                pause = (pause * 2).clamp(Duration::from_millis(50), Duration::from_millis(500));
                std::thread::sleep(pause + jitter(pause));
            } else {
                // A conflict: again at once, after a moment's jitter (a
                // growing pause would let the other daemon win every time).
                std::thread::sleep(jitter(Duration::from_millis(2)));
            }
        }
    }

    fn when_durable(&self, _ticket: Ticket, done: Durable) {
        // Every commit is durable when it returns.
        done(Ok(()));
    }

    fn make_durable(&self, _ticket: Ticket) -> Result<(), TxError> {
        Ok(())
    }

    fn flush(&self) -> Result<(), TxError> {
        Ok(())
    }
}

/// Up to `pause` more, so daemons that collided do not collide again.
fn jitter(pause: Duration) -> Duration {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    pause.mul_f64(f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX))
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<PgStore>();
}
