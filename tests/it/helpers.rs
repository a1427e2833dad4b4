//! Test helpers: an in-process store ([`Lib`]) and the real binary ([`Bin`]).

#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use leadline::command::{CommandError, Context, Reply, Rows, Tx, TxError};
use leadline::config::Config;
use leadline::core::{Leadline, Request};
use leadline::domain::invoice::Invoice;
use leadline::domain::party::{Account, Contact};
use leadline::domain::Kind;
use leadline::store::embedded::StoreOptions;
use leadline::store::{Durability, StoreError};
use std::path::PathBuf;
use std::process::{Command, Output};

/// A store driven in process through the core, as a test reads it: run a
/// line or a typed command in a context, read keys.
pub struct Store {
    core: Leadline,
}

impl Store {
    /// A throwaway store whose commands run under `config`: embedded, or
    /// a fresh schema on the suite's PostgreSQL cluster when
    /// `LEADLINE_TEST_BACKEND=postgres` (the command suite runs on both).
    pub fn temporary(config: Config) -> Store {
        if crate::pg::selected() {
            let url = crate::pg::shared().fresh();
            let backend =
                leadline::store::open_postgres(&leadline::store::postgres::PgOptions::new(url))
                    .expect("a PostgreSQL store");
            let secrets =
                std::env::temp_dir().join(format!("leadline-secrets-{}", std::process::id()));
            return Store {
                core: Leadline::open(backend, std::sync::Arc::new(config), secrets)
                    .expect("open the core"),
            };
        }
        Store {
            core: Leadline::temporary(config).expect("temporary store"),
        }
    }

    /// The store in a folder (a stopped daemon's). sled's IO threads may
    /// hold the lock of a handle this test process just dropped a moment
    /// longer (the killed process's lock is gone with it): "in use" is
    /// asked again for up to two seconds.
    ///
    /// Fails when it cannot be opened.
    pub fn open(options: &StoreOptions) -> Result<Store, StoreError> {
        let mut tries = 0;
        let backend = loop {
            match leadline::store::open(options) {
                Err(StoreError::Locked { .. }) if tries < 100 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        Ok(Store {
            core: Leadline::open(
                backend,
                std::sync::Arc::new(Config::embedded()),
                options.path.join("oauth"),
            )
            .map_err(|e| StoreError::Failed(e.0))?,
        })
    }

    /// The core it runs on.
    pub fn core(&self) -> &Leadline {
        &self.core
    }

    /// Parses and runs one line in `ctx`.
    pub fn execute(&self, line: &str, ctx: &Context) -> Result<Reply, CommandError> {
        let cmd = leadline::command::parse(line, ctx)?;
        self.run(&cmd, line, ctx, Durability::Flush)
    }

    /// Runs a typed command in `ctx`.
    pub fn run(
        &self,
        cmd: &leadline::command::Command,
        text: &str,
        ctx: &Context,
        durability: Durability,
    ) -> Result<Reply, CommandError> {
        let request = Request {
            command: cmd.clone(),
            text: text.to_string(),
            actor: ctx.actor.clone(),
            via: ctx.via.to_string(),
            now: ctx.now,
            fence: None,
        };
        let outcome = if durability == Durability::Flush {
            self.core.run(request)
        } else {
            self.core
                .run_all(vec![request], durability)?
                .pop()
                .expect("one answer")
        }?;
        // Rendered as a front end does, with the records as JSON.
        Ok(self.core.render(&outcome, &ctx.actor, ctx.now, true))
    }

    /// The committed state, read key by key.
    pub fn reader(&self) -> Reader<'_> {
        Reader(&self.core)
    }
}

/// Reads through the core; a test never writes through it.
pub struct Reader<'a>(&'a Leadline);

impl Tx for Reader<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
        self.0.read(|tx| tx.get(key))?
    }

    fn put(&mut self, _: Vec<u8>, _: Vec<u8>) {
        panic!("a test reader does not write");
    }

    fn remove(&mut self, _: Vec<u8>) {
        panic!("a test reader does not write");
    }

    fn scan(
        &self,
        prefix: &[u8],
        from: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Rows, TxError> {
        self.0.read(|tx| tx.scan(prefix, from, reverse, limit))?
    }
}

/// A fresh temporary store with a configuration, driven in process.
pub struct Lib {
    pub store: Store,
    pub config: Config,
    pub actor: String,
    pub now: DateTime<Utc>,
}

impl Lib {
    /// The embedded default configuration.
    pub fn new() -> Lib {
        Lib::with_config(leadline::config::DEFAULT)
    }

    /// The embedded default with a seller, so that quotes and invoices
    /// can be sent as documents.
    pub fn with_company() -> Lib {
        Lib::with_config(&format!(
            "{}\n{}",
            leadline::config::DEFAULT,
            crate::documents::COMPANY
        ))
    }

    /// A configuration given as TOML text.
    pub fn with_config(toml: &str) -> Lib {
        let config = Config::parse(toml, "test").expect("valid test config");
        Lib {
            store: Store::temporary(config.clone()),
            config,
            actor: "me".to_string(),
            now: Utc
                .with_ymd_and_hms(2026, 11, 30, 9, 0, 0)
                .single()
                .expect("valid time"),
        }
    }

    pub fn ctx(&self) -> Context<'_> {
        self.config.context(&self.actor, self.now, "test")
    }

    /// Runs a command that must succeed.
    pub fn ok(&self, line: &str) -> Reply {
        match self.store.execute(line, &self.ctx()) {
            Ok(r) => r,
            Err(e) => panic!("{line}\n  was refused: {e}"),
        }
    }

    /// Runs a command that must fail, checks that it changed nothing, and
    /// returns the error.
    pub fn err(&self, line: &str) -> CommandError {
        let before = self.dump();
        let e = match self.store.execute(line, &self.ctx()) {
            Ok(r) => panic!("{line}\n  was accepted: {}", r.text),
            Err(e) => e,
        };
        assert_eq!(
            before,
            self.dump(),
            "{line} was refused ({e}) but changed the store"
        );
        let msg = e.to_string();
        assert!(!msg.contains('\n'), "refusals are one line: {msg}");
        e
    }

    /// Runs a command that must be refused (not invalid input) and returns the message.
    pub fn refused(&self, line: &str) -> String {
        match self.err(line) {
            CommandError::Refused(r) => r.to_string(),
            other => panic!("{line}: expected a refusal, got {other:?}"),
        }
    }

    /// Runs a command that must be rejected as invalid input.
    pub fn invalid(&self, line: &str) -> String {
        match self.err(line) {
            CommandError::Invalid(m) => m,
            other => panic!("{line}: expected invalid input, got {other:?}"),
        }
    }

    /// The JSON of a record, from `show`.
    pub fn json(&self, id: &str) -> serde_json::Value {
        self.ok(&format!("/show {id}")).data
    }

    /// A record's state field.
    pub fn state(&self, id: &str) -> String {
        self.json(id)["state"].as_str().unwrap_or("").to_string()
    }

    /// Every key and value in the store.
    pub fn dump(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.store
            .reader()
            .scan(b"", None, false, usize::MAX)
            .expect("scan")
    }

    /// A catalogue with one product and a qualified lead: L-1001 -> O-1001.
    pub fn qualified(&self) -> &Self {
        self.ok("/product new CHAIR-01 name:\"Office chair\" price:199.99 tax:19%");
        self.ok("/lead new topic:\"Office chairs\" first:Anna last:Schmidt email:anna@contoso.example company:\"Contoso GmbH\" website:contoso.example");
        self.ok("/qualify L-1001");
        self.ok("/opp line add O-1001 sku:CHAIR-01 qty:10 discount:5%");
        self
    }

    /// `qualified`, plus an active quote Q-1001.
    pub fn active_quote(&self) -> &Self {
        self.qualified();
        self.ok("/quote new O-1001");
        self.ok("/quote activate Q-1001");
        self
    }

    /// `active_quote`, won: order SO-1001.
    pub fn order(&self) -> &Self {
        self.active_quote();
        self.ok("/quote win Q-1001");
        self
    }

    /// `order`, fulfilled and invoiced: INV-1001.
    pub fn invoice(&self) -> &Self {
        self.order();
        self.ok("/order fulfil SO-1001 reason:complete");
        self.ok("/order invoice SO-1001");
        self
    }
}

/// The real `leadline` binary on a data folder of its own.
pub struct Bin {
    pub dir: tempfile::TempDir,
    /// With `LEADLINE_TEST_BACKEND=postgres`: this test's fresh schema on
    /// the suite's cluster, which every run of the binary uses (its
    /// configuration gets `backend = "postgres"`).
    pg: Option<String>,
}

impl Bin {
    pub fn new() -> Bin {
        Bin {
            dir: tempfile::tempdir().expect("temp dir"),
            pg: crate::pg::selected().then(|| crate::pg::shared().fresh()),
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The store the binary uses (no daemon running on it): its data
    /// folder, or on PostgreSQL runs its schema.
    pub fn store(&self) -> Store {
        let Some(url) = &self.pg else {
            return Store::open(&StoreOptions::new(self.data())).expect("open the store");
        };
        let backend =
            leadline::store::open_postgres(&leadline::store::postgres::PgOptions::new(url))
                .expect("a PostgreSQL store");
        Store {
            core: Leadline::open(
                backend,
                std::sync::Arc::new(Config::embedded()),
                self.data().join("oauth"),
            )
            .expect("open the core"),
        }
    }

    /// The binary on this test's data folder (and database), without a
    /// configuration.
    fn base(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_leadline"));
        c.arg("--data").arg(self.data());
        c.env_remove("LEADLINE_CONFIG")
            .env_remove("LEADLINE_USER")
            .env_remove("LEADLINE_DATA");
        if let Some(url) = &self.pg {
            c.env("LEADLINE_DATABASE_URL", url);
        }
        c
    }

    /// The binary on its embedded configuration (on PostgreSQL runs, the
    /// same with `backend = "postgres"`).
    pub fn command(&self) -> Command {
        let mut c = self.base();
        if self.pg.is_some() {
            c.arg("--config").arg(self.embedded_on_postgres());
        }
        c
    }

    /// The embedded configuration with `backend = "postgres"`, written
    /// once (runs from several threads read it meanwhile).
    fn embedded_on_postgres(&self) -> PathBuf {
        let cfg = self.dir.path().join("embedded.postgres.toml");
        if !cfg.exists() {
            let text = leadline::config::DEFAULT.replacen(
                "[store]\n",
                "[store]\nbackend = \"postgres\"\n",
                1,
            );
            replace_file(&cfg, &text);
        }
        cfg
    }

    /// `cfg` as the run's configuration: itself, or on PostgreSQL runs
    /// with `backend = "postgres"` (unless it names a backend): written
    /// into it when it is this test's (so a SIGHUP after the test changed
    /// it reads the change), else into a copy.
    fn on_backend(&self, cfg: &std::path::Path) -> PathBuf {
        let Some(text) = self
            .pg
            .as_ref()
            .and_then(|_| std::fs::read_to_string(cfg).ok())
            // A file that does not load stays as it is (its error is the test).
            .filter(|t| {
                t.parse::<toml::Table>()
                    .is_ok_and(|cfg| cfg.get("store").and_then(|s| s.get("backend")).is_none())
            })
        else {
            return cfg.to_path_buf();
        };
        let text = if text.contains("[store]\n") {
            text.replacen("[store]\n", "[store]\nbackend = \"postgres\"\n", 1)
        } else {
            format!("{text}\n[store]\nbackend = \"postgres\"\n")
        };
        if cfg.starts_with(self.dir.path()) {
            replace_file(cfg, &text);
            return cfg.to_path_buf();
        }
        let name = cfg.file_name().and_then(|n| n.to_str()).unwrap_or("config");
        self.file(&format!("{name}.postgres.toml"), &text)
    }

    /// [`Bin::command`] run by `sh -c '<prefix> exec leadline ...'`: the
    /// shell sets a limit or a variable (`ulimit -n 1024 &&`,
    /// `WATCHDOG_PID=$$`) and becomes leadline, the same process.
    pub fn through_shell(&self, prefix: &str) -> Command {
        let mut c = Command::new("sh");
        c.args([
            "-c",
            &format!("{prefix} exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_leadline"),
            "--data",
        ])
        .arg(self.data())
        .env_remove("LEADLINE_CONFIG")
        .env_remove("LEADLINE_USER")
        .env_remove("LEADLINE_DATA");
        if let Some(url) = &self.pg {
            c.env("LEADLINE_DATABASE_URL", url)
                .arg("--config")
                .arg(self.embedded_on_postgres());
        }
        c
    }

    /// `leadline --config <cfg>`, to add arguments to.
    pub fn configured(&self, cfg: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = self.base();
        c.arg("--config")
            .arg(self.on_backend(std::path::Path::new(cfg.as_ref())));
        c
    }

    /// Starts `leadline <args>` with its standard streams piped.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        use std::process::Stdio;
        self.command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn leadline")
    }

    /// Runs `leadline <args>`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run leadline")
    }

    /// `leadline cmd <line>` that must succeed; returns stdout.
    pub fn ok(&self, line: &str) -> String {
        let out = self.run(&["cmd", line]);
        assert!(
            out.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// `leadline cmd <line>` that must fail with `code`; returns stderr.
    pub fn fails(&self, line: &str, code: i32) -> String {
        let out = self.run(&["cmd", line]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{line}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).to_string()
    }

    /// Writes a file in the test folder.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write test file");
        p
    }

    /// Runs `leadline --config <file with toml> <args>`.
    pub fn with_config(&self, name: &str, toml: &str, args: &[&str]) -> Output {
        let cfg = self.file(name, toml);
        self.configured(&cfg)
            .args(args)
            .output()
            .expect("run leadline")
    }
}

/// Writes `text` as `path` at once (a reader sees the old file or the
/// new one, never half of it).
fn replace_file(path: &std::path::Path, text: &str) {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{n}"));
    std::fs::write(&tmp, text).expect("write a test file");
    std::fs::rename(&tmp, path).expect("put a test file in place");
}

/// The standard output of a `leadline` run that must succeed; `what` names
/// it when it did not.
pub fn stdout_of(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Every record of `kind` in the store, decoded, in key order.
pub fn all<R: serde::de::DeserializeOwned>(store: &Store, kind: Kind) -> Vec<R> {
    store
        .reader()
        .scan(
            &leadline::command::keys::records(kind),
            None,
            false,
            usize::MAX,
        )
        .expect("scan")
        .into_iter()
        .map(|(k, v)| {
            serde_json::from_slice(&v)
                .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(&k)))
        })
        .collect()
}

/// The report sums the commands kept step by step are the sums built
/// from the records as they are now.
pub fn sums_match_the_records(store: &Store) {
    use leadline::command::{facts, keys};
    type Sums = std::collections::BTreeMap<Vec<u8>, facts::Numbers>;
    fn sums(tx: &dyn Tx) -> Sums {
        tx.scan(keys::CELLS, None, false, usize::MAX)
            .expect("scan")
            .into_iter()
            .map(|(k, v)| (k, serde_json::from_slice(&v).expect("a sum decodes")))
            .collect()
    }
    let tz = store.core.config().team.timezone;
    let (kept, built) = store
        .core
        .read(|tx| {
            let kept = sums(tx);
            facts::rebuild(tx, tz).expect("rebuild");
            (kept, sums(tx))
        })
        .expect("read");
    if kept != built {
        let show = |s: &Sums| {
            s.iter()
                .map(|(k, v)| format!("{} {v:?}", String::from_utf8_lossy(k)))
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "the report sums drifted from the records\nkept:\n{}\nbuilt:\n{}",
            show(&kept),
            show(&built)
        );
    }
}

/// Checks the invariants every store must keep, whatever happened to it:
/// every qualified lead has its contact, account and exactly one
/// opportunity; links point both ways; numbers are gap-free from the
/// configured first; every revision of a quote exists; totals are the sum
/// of the lines; won quotes have their order, invoiced orders their invoice.
pub fn check_invariants(store: &Store, rules: &leadline::domain::Rules) {
    use leadline::domain::invoice::InvoiceState;
    use leadline::domain::lead::{Lead, LeadState};
    use leadline::domain::opportunity::Opportunity;
    use leadline::domain::order::{Order, OrderState};
    use leadline::domain::quote::{Quote, QuoteState};
    use rust_decimal::Decimal;

    sums_match_the_records(store);
    let leads: Vec<Lead> = all(store, Kind::Lead);
    let opps: Vec<Opportunity> = all(store, Kind::Opportunity);
    let contacts: Vec<Contact> = all(store, Kind::Contact);
    let accounts: Vec<Account> = all(store, Kind::Account);
    let quotes: Vec<Quote> = all(store, Kind::Quote);
    let orders: Vec<Order> = all(store, Kind::Order);
    let invoices: Vec<Invoice> = all(store, Kind::Invoice);

    let gap_free = |kind: Kind, mut numbers: Vec<u64>| {
        numbers.sort();
        numbers.dedup();
        let first = rules.numbering.format(kind).first;
        let expected: Vec<u64> = (first..first + numbers.len() as u64).collect();
        assert_eq!(numbers, expected, "{kind} numbers are not gap-free");
    };
    gap_free(Kind::Lead, leads.iter().map(|l| l.number).collect());
    gap_free(Kind::Opportunity, opps.iter().map(|o| o.number).collect());
    gap_free(Kind::Contact, contacts.iter().map(|c| c.number).collect());
    gap_free(Kind::Account, accounts.iter().map(|a| a.number).collect());
    gap_free(Kind::Quote, quotes.iter().map(|q| q.number).collect());
    gap_free(Kind::Order, orders.iter().map(|o| o.number).collect());
    gap_free(Kind::Invoice, invoices.iter().map(|i| i.number).collect());

    for l in &leads {
        let from_lead = opps.iter().filter(|o| o.lead == Some(l.number)).count();
        assert!(
            from_lead <= 1,
            "L{} has {from_lead} opportunities",
            l.number
        );
        if let LeadState::Qualified { .. } = l.state {
            assert_eq!(
                from_lead, 1,
                "qualified L{} must have exactly one opportunity",
                l.number
            );
            let c = l.contact.expect("a qualified lead has a contact");
            assert!(
                contacts.iter().any(|x| x.number == c),
                "L{}: contact {c} missing",
                l.number
            );
            if let Some(a) = l.account {
                assert!(
                    accounts.iter().any(|x| x.number == a),
                    "L{}: account {a} missing",
                    l.number
                );
            }
        }
        if let Some(o) = l.opportunity {
            assert!(
                opps.iter()
                    .any(|x| x.number == o && x.lead == Some(l.number)),
                "L{} -> O{o} not linked back",
                l.number
            );
        }
    }
    for o in &opps {
        if let Some(l) = o.lead {
            assert!(
                leads
                    .iter()
                    .any(|x| x.number == l && x.opportunity == Some(o.number)),
                "O{} <- L{l} not linked",
                o.number
            );
        }
        for q in &o.quotes {
            assert!(
                quotes
                    .iter()
                    .any(|x| x.number == *q && x.opportunity == o.number),
                "O{} lists missing Q{q}",
                o.number
            );
        }
    }
    let mut latest: std::collections::BTreeMap<u64, u32> = Default::default();
    for q in &quotes {
        let e = latest.entry(q.number).or_default();
        *e = (*e).max(q.revision);
        let opp = opps
            .iter()
            .find(|o| o.number == q.opportunity)
            .expect("a quote's opportunity exists");
        assert!(
            opp.quotes.contains(&q.number),
            "O{} does not list Q{}",
            opp.number,
            q.number
        );
        if let QuoteState::Won { order, .. } = q.state {
            assert!(
                orders.iter().any(|o| o.number == order
                    && o.quote == q.number
                    && o.quote_revision == q.revision),
                "won Q{} has no order {order}",
                q.number
            );
        }
    }
    for (n, rev) in latest {
        let revs = quotes.iter().filter(|q| q.number == n).count();
        assert_eq!(revs as u32, rev, "Q{n} is missing revisions");
        let open = quotes
            .iter()
            .filter(|q| {
                q.number == n && matches!(q.state, QuoteState::Draft | QuoteState::Active { .. })
            })
            .count();
        assert!(open <= 1, "Q{n} has {open} open revisions");
    }
    for o in &orders {
        let q = quotes
            .iter()
            .find(|q| q.number == o.quote && q.revision == o.quote_revision)
            .expect("an order's quote exists");
        assert!(
            matches!(q.state, QuoteState::Won { order, .. } if order == o.number),
            "SO{}'s quote is not won into it",
            o.number
        );
        if let OrderState::Invoiced { invoice, .. } = o.state {
            assert!(
                invoices
                    .iter()
                    .any(|i| i.number == invoice && i.order == o.number),
                "SO{} invoice {invoice} missing",
                o.number
            );
        }
    }
    // Every open, due record has exactly one watch item with the same owner,
    // and every watch item belongs to such a record.
    use leadline::command::records::WatchItem;
    use leadline::domain::activity::Activity;
    use leadline::domain::Record;
    let activities: Vec<Activity> = all(store, Kind::Activity);
    gap_free(
        Kind::Activity,
        activities.iter().map(|a| a.number).collect(),
    );
    let items: Vec<WatchItem> = store
        .reader()
        .scan(b"w/item/", None, false, usize::MAX)
        .expect("scan")
        .into_iter()
        .map(|(_, v)| serde_json::from_slice(&v).expect("watch item"))
        .filter(|i: &WatchItem| i.active)
        .collect();
    let watched: Vec<(Kind, u64, String)> = activities
        .iter()
        .filter(|a| a.watch().is_some())
        .map(|a| (Kind::Activity, a.number, a.owner.clone()))
        .chain(
            leads
                .iter()
                .filter(|l| l.watch().is_some())
                .map(|l| (Kind::Lead, l.number, l.owner.clone())),
        )
        .chain(
            opps.iter()
                .filter(|o| o.watch().is_some())
                .map(|o| (Kind::Opportunity, o.number, o.owner.clone())),
        )
        .collect();
    assert_eq!(
        items.len(),
        watched.len(),
        "watch items and watched records differ"
    );
    for (kind, n, owner) in &watched {
        assert!(
            items
                .iter()
                .any(|i| i.kind == *kind && i.number == *n && &i.owner == owner),
            "{kind} {n} is not watched"
        );
    }
    let due_keys = store
        .reader()
        .scan(b"w/due/", None, false, usize::MAX)
        .expect("scan")
        .len();
    assert_eq!(
        due_keys,
        items.len(),
        "the due index and the watch items differ"
    );
    let pending = store
        .reader()
        .scan(b"w/pending/", None, false, usize::MAX)
        .expect("scan")
        .len();
    assert_eq!(
        pending,
        items.iter().filter(|i| !i.announced).count(),
        "the pending index is off"
    );
    for a in &activities {
        let timeline = format!(
            "u/timeline/{}/{:020}/{:020}",
            a.regarding.kind.name(),
            a.regarding.number,
            a.number
        );
        assert!(
            store
                .reader()
                .get(timeline.as_bytes())
                .expect("get")
                .is_some(),
            "ACT {} is not on its timeline",
            a.number
        );
    }

    for i in &invoices {
        let order = orders
            .iter()
            .find(|o| o.number == i.order)
            .unwrap_or_else(|| panic!("INV{}: its order is missing", i.number));
        match i.corrects {
            // A credit note cancels an invoice of the same order, negating it.
            Some(original) => {
                let o = invoices
                    .iter()
                    .find(|x| x.number == original)
                    .unwrap_or_else(|| {
                        panic!("INV{}: the invoice it cancels is missing", i.number)
                    });
                assert!(
                    matches!(o.state, InvoiceState::Canceled { credit_note: Some(c), .. } if c == i.number),
                    "INV{original} is not canceled by INV{}",
                    i.number
                );
                assert_eq!(
                    i.pricing.totals().total_amount,
                    -o.pricing.totals().total_amount
                );
            }
            None => assert!(
                order.invoice_numbers().contains(&i.number),
                "INV{} is not among its order's invoices",
                i.number
            ),
        }
        // Payments never exceed the total.
        assert!(i.paid() <= i.pricing.totals().total_amount.max(Decimal::ZERO));
    }
    // An order invoiced in full bills every line through live invoices.
    for o in &orders {
        if let OrderState::Invoiced { .. } = o.state {
            for l in &o.pricing.lines {
                let billed: Decimal = invoices
                    .iter()
                    .filter(|i| i.order == o.number && i.corrects.is_none())
                    .filter(|i| !matches!(i.state, InvoiceState::Canceled { .. }))
                    .flat_map(|i| i.pricing.lines.iter().filter(|x| x.no == l.no))
                    .map(|x| x.quantity)
                    .sum();
                assert_eq!(billed, l.quantity, "SO{} line {}", o.number, l.no);
            }
        }
    }
    let pricings = opps
        .iter()
        .map(|o| &o.pricing)
        .chain(quotes.iter().map(|q| &q.pricing))
        .chain(orders.iter().map(|o| &o.pricing))
        .chain(invoices.iter().map(|i| &i.pricing));
    for p in pricings {
        let t = p.totals();
        let net: Decimal = p.lines.iter().map(|l| l.amounts(&p.currency).net).sum();
        assert_eq!(t.detail_amount, net);
        // Tax is charged per rate on what is paid: the bases add up to the
        // net after discount plus freight, each rate's tax is its base's.
        let shares = p.tax_shares();
        let bases: Decimal = shares.iter().map(|s| s.base).sum();
        assert_eq!(bases, t.pre_freight_amount + t.freight);
        for s in &shares {
            assert_eq!(
                s.tax,
                p.currency.round(s.base * s.rate / Decimal::ONE_HUNDRED)
            );
        }
        assert_eq!(t.total_tax, shares.iter().map(|s| s.tax).sum::<Decimal>());
        assert_eq!(
            t.total_amount,
            t.detail_amount - t.discount + t.freight + t.total_tax
        );
    }
}
