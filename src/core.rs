//! The one way into leadline: [`Leadline`], a handle owning the storage
//! backend and the configuration. Every front end (shell, control socket,
//! Discord, mail ingest, the outbox sender, the scheduler, import) builds a
//! [`Request`] and gets a typed [`Outcome`] back: what the command did, as
//! values. Front ends that show it to people or scripts render it at the
//! edge ([`Leadline::render`]: text, JSON, next steps), after the
//! transaction; adapters read the values and never parse text.
//!
//! Writes have one path. Outside the daemon, a write commits on the
//! caller's thread and is durable before it returns. In the daemon
//! ([`Leadline::start_writer`]) every write, from every front end, goes to
//! one writer thread that commits whatever has arrived as one group; the
//! backend makes the group durable on a thread of its own and only then
//! answers, while the writer goes on with the next group. The async side
//! never blocks: [`Leadline::call`] awaits the writer's answer, and reads
//! run on tokio's blocking threads.
//!
//! This module must not parse reply text or name a backend's type.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use crate::command::{self, Command, CommandError, Outcome, Reply, Tx, TxError};
use crate::config::Config;
pub use crate::store::backup::{BackupError, Summary as BackupSummary};
pub use crate::store::lease::{holder_id, Lease};
use crate::store::{Backend, Durability, Ticket};

/// One request to the core: a typed command (from text, or built by an
/// adapter: an ingest batch, an outbox step, a sweep, an import row...),
/// who asks, from where, and when.
#[derive(Debug)]
pub struct Request {
    pub command: Command,
    /// The command as typed, or what an adapter did (`(mail) ingest ...`):
    /// recorded in the history of every change.
    pub text: String,
    /// The acting team member (or `scheduler`, `mail`...).
    pub actor: String,
    /// The front end it came from (`shell`, `chat`, `mail`...).
    pub via: String,
    /// The moment it runs; the core never reads a clock.
    pub now: DateTime<Utc>,
    /// Work done under a lease (the scheduler, the outbox, an IMAP
    /// account): the write is made only while the lease is still held,
    /// checked in its transaction, so a daemon that lost the lease (paused,
    /// cut off) and wakes up writes nothing. Set by a fenced core
    /// ([`Leadline::fenced`]).
    pub fence: Option<Lease>,
}

impl Request {
    /// A request made by an adapter (not typed by a person).
    pub fn system(
        command: Command,
        text: impl Into<String>,
        actor: &str,
        via: &str,
        now: DateTime<Utc>,
    ) -> Request {
        Request {
            command,
            text: text.into(),
            actor: actor.to_string(),
            via: via.to_string(),
            now,
            fence: None,
        }
    }
}

/// A command's answer: what it did, or why nothing was done.
pub type Answer = Result<Outcome, CommandError>;

/// A write waiting for the writer, and where its answer goes.
struct Job {
    request: Request,
    answer: oneshot::Sender<Answer>,
}

/// Counters for `leadline status`.
#[derive(Default)]
struct Counters {
    /// Writes sent to the writer and not yet taken into a group.
    queued: AtomicUsize,
    /// Groups committed.
    commits: AtomicU64,
    /// Commands written successfully.
    written: AtomicU64,
    /// Bumped after every commit, on any path, once it is visible: what a
    /// front end's cache of a read is valid for ([`Leadline::generation`]).
    generation: AtomicU64,
}

struct Inner {
    backend: Arc<dyn Backend>,
    /// The configuration in force; [`Leadline::reconfigure`] replaces it
    /// (SIGHUP), and each command reads the one in force when it runs.
    config: Arc<RwLock<Arc<Config>>>,
    /// Where secrets the daemon keeps (OAuth sign-ins) live: from the
    /// configuration, never inside a backend's data.
    secrets: PathBuf,
    /// The writer's queue while one runs (the daemon); taken at shutdown
    /// so that no new write starts.
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    counters: Arc<Counters>,
    metrics: Arc<crate::metrics::Metrics>,
}

/// The core handle; cheap to clone, shared by every front end.
#[derive(Clone)]
pub struct Leadline {
    inner: Arc<Inner>,
    /// The lease this handle's writes are made under ([`Leadline::fenced`]).
    fence: Option<Arc<Lease>>,
}

impl Leadline {
    /// A core on `backend` with `config`; OAuth sign-ins live in `secrets`.
    pub fn new(backend: Arc<dyn Backend>, config: Arc<Config>, secrets: PathBuf) -> Leadline {
        Leadline {
            inner: Arc::new(Inner {
                backend,
                config: Arc::new(RwLock::new(config)),
                secrets,
                writer: Mutex::new(None),
                counters: Arc::default(),
                metrics: Arc::default(),
            }),
            fence: None,
        }
    }

    /// This core, with every write it makes fenced by `lease`: refused
    /// ("this daemon no longer holds ...") once the lease was lost.
    pub fn fenced(&self, lease: Lease) -> Leadline {
        Leadline {
            inner: self.inner.clone(),
            fence: Some(Arc::new(lease)),
        }
    }

    /// `request`, fenced by this core's lease unless it has one.
    fn stamped(&self, mut request: Request) -> Request {
        if request.fence.is_none() {
            request.fence = self.fence.as_deref().cloned();
        }
        request
    }

    /// Takes or renews a lease for `holder` ([`crate::store::lease`]).
    ///
    /// Fails when the store cannot be reached.
    pub fn take_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<Lease>, TxError> {
        self.inner.backend.take_lease(name, holder, ttl)
    }

    /// Ends `holder`'s lease `name` now.
    ///
    /// Fails when the store cannot be reached.
    pub fn end_lease(&self, name: &str, holder: &str) -> Result<(), TxError> {
        self.inner.backend.end_lease(name, holder)
    }

    /// Every lease and its holder.
    ///
    /// Fails when the store cannot be read.
    pub fn leases(&self) -> Result<Vec<Lease>, TxError> {
        self.inner.backend.leases()
    }

    /// A core on `backend`, its report sums built when they are not
    /// current ([`Leadline::prepare_reports`]): how the binary opens one.
    ///
    /// Fails when the store cannot be read or written.
    pub fn open(
        backend: Arc<dyn Backend>,
        config: Arc<Config>,
        secrets: PathBuf,
    ) -> Result<Leadline, TxError> {
        let core = Leadline::new(backend, config, secrets);
        core.prepare_reports()?;
        Ok(core)
    }

    /// A core on a throwaway store with `config`, for tests.
    ///
    /// Fails when the store cannot be created.
    pub fn temporary(config: Config) -> Result<Leadline, crate::store::StoreError> {
        let secrets = std::env::temp_dir().join(format!("leadline-secrets-{}", std::process::id()));
        Leadline::open(crate::store::temporary()?, Arc::new(config), secrets)
            .map_err(|e| crate::store::StoreError::Failed(e.0))
    }

    /// The configuration in force now (SIGHUP may replace it: see
    /// [`Leadline::reconfigure`]); hold the `Arc` for one piece of work.
    pub fn config(&self) -> Arc<Config> {
        self.inner
            .config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Puts `config` in force for every command from now on (commands
    /// already running finish under the one they started with). The store
    /// and the secrets folder stay as they are.
    pub fn reconfigure(&self, config: Config) {
        *self.inner.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
    }

    /// Builds the report sums ([`command::facts`]) when the store has none
    /// yet, or they were counted in another time zone or layout; returns
    /// how many records were read then (`None`: they were current). Run
    /// when the store is opened and after a restore or a change of zone.
    ///
    /// Fails when the store cannot be read or written.
    pub fn prepare_reports(&self) -> Result<Option<usize>, TxError> {
        let tz = self.config().team.timezone;
        if self
            .read(|tx| command::facts::current(tx, tz))?
            .map_err(|e| TxError(e.to_string()))?
        {
            return Ok(None);
        }
        let mut result = Ok(0);
        let ticket = self.inner.backend.commit(
            1,
            &mut |_, tx| {
                result = command::facts::rebuild(tx, tz);
                result.is_ok()
            },
            Durability::Flush,
        )?;
        self.inner.backend.make_durable(ticket)?;
        self.inner
            .counters
            .generation
            .fetch_add(1, Ordering::SeqCst);
        let n = result.map_err(|e| TxError(e.to_string()))?;
        tracing::info!("store: built the report sums from {n} records");
        Ok(Some(n))
    }

    /// Where the store's data lives, for logs and status.
    pub fn location(&self) -> String {
        self.inner.backend.location()
    }

    /// Writes a backup of the whole store to `file` while commands go on
    /// ([`crate::store::backup`]).
    ///
    /// Fails when the store cannot be read or the file written.
    pub fn backup(
        &self,
        file: &std::path::Path,
    ) -> Result<crate::store::backup::Summary, crate::store::backup::BackupError> {
        crate::store::backup::write(
            self.inner.backend.as_ref(),
            crate::store::embedded::SCHEMA,
            file,
        )
    }

    /// Restores the backup `file` into this store (which must be empty,
    /// unless `force`), then counts what it holds.
    ///
    /// Fails before writing anything when the file is damaged or too new,
    /// or the store is not empty; and when the counts after the restore
    /// differ from the backup's.
    pub fn restore(
        &self,
        file: &std::path::Path,
        force: bool,
    ) -> Result<crate::store::backup::Summary, crate::store::backup::BackupError> {
        use crate::store::backup;
        let backend = self.inner.backend.as_ref();
        let summary = backup::restore(
            backend,
            std::path::Path::new(&self.location()),
            file,
            crate::store::embedded::SCHEMA,
            force,
        )?;
        let now = backup::counts(backend)?;
        if now != summary.counts {
            return Err(backup::BackupError::Store(format!(
                "after the restore the store holds {now:?}, the backup said {:?}",
                summary.counts
            )));
        }
        // The backup's sums came with it; built again when they are from
        // another layout or zone, or missing (an older backup).
        self.prepare_reports().map_err(|e| {
            backup::BackupError::Store(format!(
                "the backup is restored, but building the report sums failed ({e}); leadline builds them when it next opens the store"
            ))
        })?;
        Ok(summary)
    }

    /// Every key and value of one consistent moment, without holding
    /// commands up ([`crate::store::Backend::export`]).
    ///
    /// Fails when the store cannot be read, or with `sink`'s error.
    pub fn export(&self, sink: crate::store::ExportSink<'_>) -> Result<(), TxError> {
        self.inner.backend.export(sink)
    }

    /// What keeps the store from taking writes now (a full disk); `None`
    /// when all is well.
    pub fn store_problem(&self) -> Option<String> {
        self.inner.backend.problem()
    }

    /// The folder of the OAuth sign-ins.
    pub fn secrets(&self) -> &Path {
        &self.inner.secrets
    }

    /// Parses one command line typed by `actor` into a request.
    ///
    /// Fails, as [`command::parse`] does, when the text is not a command.
    pub fn parse(
        &self,
        line: &str,
        actor: &str,
        via: &str,
        now: DateTime<Utc>,
    ) -> Result<Request, CommandError> {
        let config = self.config();
        let ctx = config.context(actor, now, via);
        Ok(Request {
            command: command::parse(line, &ctx)?,
            text: line.to_string(),
            actor: actor.to_string(),
            via: via.to_string(),
            now,
            fence: None,
        })
    }

    /// What a front end shows of `outcome`: text for people, the records
    /// as JSON for scripts (with `with_data`), and next steps for chat; in
    /// the configuration in force, for `actor` (whose time zone and name
    /// the text uses) at `now`.
    pub fn render(
        &self,
        outcome: &Outcome,
        actor: &str,
        now: DateTime<Utc>,
        with_data: bool,
    ) -> Reply {
        let config = self.config();
        let ctx = command::Context {
            with_data,
            ..config.context(actor, now, "")
        };
        outcome.render(&ctx)
    }

    /// Runs `request` and renders its outcome ([`Leadline::run`], then
    /// [`Leadline::render`]): for front ends that show the reply.
    pub fn answer(&self, request: Request, with_data: bool) -> Result<Reply, CommandError> {
        let (actor, now) = (request.actor.clone(), request.now);
        self.run(request)
            .map(|outcome| self.render(&outcome, &actor, now, with_data))
    }

    /// Runs one request on this thread and returns its answer; a write is
    /// durable before it returns (through the writer when one runs).
    ///
    /// Must not be called on an async task's thread while a writer runs
    /// (it waits for the writer): use [`Leadline::call`] there.
    pub fn run(&self, request: Request) -> Answer {
        let request = self.stamped(request);
        if request.command.is_read_only() {
            return self.read_command(&request);
        }
        if let Some(sender) = self.writer() {
            let (answer, answered) = oneshot::channel();
            self.inner.counters.queued.fetch_add(1, Ordering::SeqCst);
            if sender.blocking_send(Job { request, answer }).is_err() {
                self.inner.counters.queued.fetch_sub(1, Ordering::SeqCst);
                return Err(stopping());
            }
            return answered.blocking_recv().unwrap_or_else(|_| Err(stopped()));
        }
        let mut answers = self.commit_here(vec![request], Durability::Flush)?;
        answers.pop().unwrap_or_else(|| Err(stopped()))
    }

    /// Runs several writes, in order, each seeing the ones before it, and
    /// returns their answers: as one group (outside the daemon, made durable
    /// once at the end with `Durability::Flush`, or left for
    /// [`Leadline::flush`] with `Deferred`), or through the writer, which
    /// groups them with whatever else arrives.
    ///
    /// Fails as a whole only when the store cannot be written (outside the
    /// daemon; through the writer each request has its own answer).
    pub fn run_all(
        &self,
        requests: Vec<Request>,
        durability: Durability,
    ) -> Result<Vec<Answer>, TxError> {
        let requests: Vec<Request> = requests.into_iter().map(|r| self.stamped(r)).collect();
        if let Some(sender) = self.writer() {
            // Each request gets its own answer: one the writer never took
            // (leadline stopping) says so, the ones before it stand.
            let mut waiting = Vec::with_capacity(requests.len());
            for request in requests {
                let (answer, answered) = oneshot::channel();
                self.inner.counters.queued.fetch_add(1, Ordering::SeqCst);
                if sender.blocking_send(Job { request, answer }).is_err() {
                    self.inner.counters.queued.fetch_sub(1, Ordering::SeqCst);
                    waiting.push(None);
                } else {
                    waiting.push(Some(answered));
                }
            }
            return Ok(waiting
                .into_iter()
                .map(|w| match w {
                    Some(w) => w.blocking_recv().unwrap_or_else(|_| Err(stopped())),
                    None => Err(stopping()),
                })
                .collect());
        }
        self.commit_here(requests, durability)
    }

    /// Runs one request from an async task without blocking it: a write
    /// awaits the writer's answer (or, with no writer, runs on a blocking
    /// thread); a read runs on a blocking thread.
    pub async fn call(&self, request: Request) -> Answer {
        let request = self.stamped(request);
        if !request.command.is_read_only() {
            if let Some(sender) = self.writer() {
                let (answer, answered) = oneshot::channel();
                self.inner.counters.queued.fetch_add(1, Ordering::SeqCst);
                if sender.send(Job { request, answer }).await.is_err() {
                    self.inner.counters.queued.fetch_sub(1, Ordering::SeqCst);
                    return Err(stopping());
                }
                return answered.await.unwrap_or_else(|_| Err(stopped()));
            }
        }
        let core = self.clone();
        tokio::task::spawn_blocking(move || core.run(request))
            .await
            .unwrap_or_else(|_| Err(internal()))
    }

    /// Runs `f` on a view of the durable state (typed reads: the outbox,
    /// a digest's items), on this thread.
    ///
    /// Fails when the store cannot give a view.
    pub fn read<R>(&self, f: impl FnOnce(&mut dyn Tx) -> R) -> Result<R, TxError> {
        self.inner.backend.view(f)
    }

    /// [`Leadline::read`] from an async task, on a blocking thread.
    ///
    /// Fails when the store cannot give a view.
    pub async fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> R + Send + 'static,
    ) -> Result<R, TxError> {
        let core = self.clone();
        tokio::task::spawn_blocking(move || core.read(f))
            .await
            .map_err(|_| TxError(internal().to_string()))?
    }

    /// Makes every deferred write durable.
    ///
    /// Fails when the disk write fails.
    pub fn flush(&self) -> Result<(), TxError> {
        self.inner.backend.flush()
    }

    /// What the daemon counts, for `GET /metrics`.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// Writes waiting for the writer (for `leadline status`).
    pub fn queue_depth(&self) -> usize {
        self.inner.counters.queued.load(Ordering::SeqCst)
    }

    /// A value that changes after every commit that may have changed the
    /// store, this process's or (on a store several daemons share)
    /// another's: read it before a read; a cached result of that read
    /// stays valid while it is the same. `None` when the store cannot say
    /// (then nothing is valid).
    pub fn generation(&self) -> Option<(u64, u64)> {
        let here = self.inner.counters.generation.load(Ordering::SeqCst);
        match self.inner.backend.changes() {
            Ok(elsewhere) => Some((here, elsewhere.unwrap_or(0))),
            Err(_) => None,
        }
    }

    /// Groups committed and commands written by the writer.
    pub fn commits(&self) -> (u64, u64) {
        let c = &self.inner.counters;
        (
            c.commits.load(Ordering::SeqCst),
            c.written.load(Ordering::SeqCst),
        )
    }

    /// Starts the group-commit writer: from now on every write goes
    /// through it, until [`Writer::stop`].
    ///
    /// Fails when the thread cannot be started.
    pub fn start_writer(&self) -> std::io::Result<Writer> {
        let (sender, jobs) = mpsc::channel::<Job>(4096);
        let backend = self.inner.backend.clone();
        let config = self.inner.config.clone();
        let counters = self.inner.counters.clone();
        let metrics = self.inner.metrics.clone();
        let thread = std::thread::Builder::new()
            .name("leadline-writer".into())
            .spawn(move || write_loop(backend, config, counters, metrics, jobs))?;
        if let Ok(mut w) = self.inner.writer.lock() {
            *w = Some(sender);
        }
        Ok(Writer {
            core: self.clone(),
            thread: Some(thread),
        })
    }

    fn writer(&self) -> Option<mpsc::Sender<Job>> {
        self.inner.writer.lock().ok().and_then(|w| w.clone())
    }

    /// A read-only command on a view of the durable state.
    fn read_command(&self, request: &Request) -> Answer {
        let config = self.config();
        let ctx = config.context(&request.actor, request.now, &request.via);
        let answer = self.read(|tx| command::apply(&request.command, &request.text, tx, &ctx))?;
        count(&self.inner.metrics, &request.command, &answer);
        answer
    }

    /// Commits `requests` as one group on this thread.
    fn commit_here(
        &self,
        requests: Vec<Request>,
        durability: Durability,
    ) -> Result<Vec<Answer>, TxError> {
        let backend = &self.inner.backend;
        let (answers, ticket) = commit(backend.as_ref(), &self.config(), &requests, durability)?;
        if durability == Durability::Flush {
            backend.make_durable(ticket)?;
        }
        self.inner
            .counters
            .generation
            .fetch_add(1, Ordering::SeqCst);
        for (r, a) in requests.iter().zip(&answers) {
            count(&self.inner.metrics, &r.command, a);
        }
        Ok(answers)
    }
}

/// The running writer; [`Writer::stop`] lets it finish and flush.
pub struct Writer {
    core: Leadline,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    /// Whether the writer thread still runs (for the systemd watchdog).
    pub fn alive(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Takes no new writes; the writer answers what it has, flushes and
    /// ends. Writes asked for after this are refused ("shutting down").
    pub fn stop(mut self) {
        self.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn close(&self) {
        if let Ok(mut w) = self.core.inner.writer.lock() {
            w.take();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.close();
    }
}

/// Runs `requests` as one group in `backend`; each keeps its writes only
/// when it succeeds.
fn commit(
    backend: &dyn Backend,
    config: &Config,
    requests: &[Request],
    durability: Durability,
) -> Result<(Vec<Answer>, Ticket), TxError> {
    let contexts: Vec<command::Context> = requests
        .iter()
        .map(|r| config.context(&r.actor, r.now, &r.via))
        .collect();
    let mut answers: Vec<Option<Answer>> = requests.iter().map(|_| None).collect();
    let ticket = backend.commit(
        requests.len(),
        &mut |i, tx| {
            let r = &requests[i];
            if let Some(refused) = r.fence.as_ref().and_then(|l| not_held(tx, l)) {
                answers[i] = Some(Err(refused));
                return false;
            }
            let answer = command::apply(&r.command, &r.text, tx, &contexts[i]);
            let keep = answer.is_ok();
            answers[i] = Some(answer);
            keep
        },
        durability,
    )?;
    let answers = answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(internal())))
        .collect();
    Ok((answers, ticket))
}

/// Why a write fenced by `lease` may not be made now, if it may not.
fn not_held(tx: &dyn Tx, lease: &Lease) -> Option<CommandError> {
    match tx.holds(&lease.name, &lease.holder, lease.fence) {
        Ok(true) => None,
        Ok(false) => Some(CommandError::Store(TxError(format!(
            "this daemon ({}) no longer holds the {} lease; another daemon does that work now, and nothing was written",
            lease.holder, lease.name
        )))),
        Err(e) => Some(CommandError::Store(e)),
    }
}

/// The writer thread: takes every write that has arrived (up to 512),
/// commits them as one group, and hands the answers to the backend to give
/// once the group is durable, while it goes on with the next group.
fn write_loop(
    backend: Arc<dyn Backend>,
    config: Arc<RwLock<Arc<Config>>>,
    counters: Arc<Counters>,
    metrics: Arc<crate::metrics::Metrics>,
    mut jobs: mpsc::Receiver<Job>,
) {
    while let Some(first) = jobs.blocking_recv() {
        let started = std::time::Instant::now();
        let mut batch = vec![first];
        while batch.len() < 512 {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        counters.queued.fetch_sub(batch.len(), Ordering::SeqCst);
        let (requests, senders): (Vec<Request>, Vec<oneshot::Sender<Answer>>) =
            batch.into_iter().map(|j| (j.request, j.answer)).unzip();
        let steps: Vec<&'static str> = requests.iter().map(|r| command::step(&r.command)).collect();
        let in_force = config.read().unwrap_or_else(|e| e.into_inner()).clone();
        match commit(backend.as_ref(), &in_force, &requests, Durability::Flush) {
            Err(e) => {
                for s in senders {
                    let _ = s.send(Err(CommandError::Store(e.clone())));
                }
            }
            Ok((answers, ticket)) => {
                let counters = counters.clone();
                let metrics = metrics.clone();
                backend.when_durable(
                    ticket,
                    Box::new(move |durable| {
                        counters.commits.fetch_add(1, Ordering::SeqCst);
                        counters.generation.fetch_add(1, Ordering::SeqCst);
                        metrics.commit(started.elapsed());
                        for ((s, a), step) in senders.into_iter().zip(answers).zip(steps) {
                            let a = match &durable {
                                Ok(()) => a,
                                Err(e) => Err(CommandError::Store(e.clone())),
                            };
                            if a.is_ok() {
                                counters.written.fetch_add(1, Ordering::SeqCst);
                            }
                            counted(&metrics, step, &a);
                            let _ = s.send(a);
                        }
                    }),
                );
            }
        }
    }
    if let Err(e) = backend.flush() {
        tracing::error!("store: the last flush failed: {e}");
    }
}

/// Counts one answer of `command` in `metrics`.
fn count(metrics: &crate::metrics::Metrics, command: &Command, answer: &Answer) {
    counted(metrics, command::step(command), answer);
}

fn counted(metrics: &crate::metrics::Metrics, step: &'static str, answer: &Answer) {
    match answer {
        Ok(outcome) => {
            metrics.command(step, "ok");
            if let Some(n) = outcome.ingested() {
                metrics.ingested(
                    n.iter()
                        .filter(|i| !matches!(i, command::mailbox::Ingested::Known))
                        .count(),
                );
            }
        }
        Err(e) => metrics.command(step, e.code()),
    }
}

fn stopping() -> CommandError {
    CommandError::Store(TxError(
        "leadline is shutting down; the command was not run".to_string(),
    ))
}

fn stopped() -> CommandError {
    CommandError::Store(TxError("the writer stopped before answering".to_string()))
}

fn internal() -> CommandError {
    CommandError::Store(TxError(
        "an internal error stopped this command; nothing of it was written".to_string(),
    ))
}
