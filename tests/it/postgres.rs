//! The PostgreSQL store against real clusters (Debian's `postgresql`,
//! started by [`crate::pg`]): a copy there and back is identical, the
//! views read typed amounts, daemons share one database with gap-free
//! numbers and lose nothing when killed, a failover to a synchronous
//! standby loses no acknowledged command, and bad settings are refused in
//! one line.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::daemon::Daemon;
use crate::helpers::Bin;
use crate::pg::{pg_command, Cluster};
use leadline::daemon::client::Client;
use leadline::daemon::Request;

/// A configuration that keeps the store in PostgreSQL, written in `b`'s
/// folder (the connection string comes from the environment).
fn postgres_config(b: &Bin) -> std::path::PathBuf {
    let file = b.dir.path().join("postgres.toml");
    let text =
        leadline::config::DEFAULT.replacen("[store]\n", "[store]\nbackend = \"postgres\"\n", 1);
    std::fs::write(&file, text).expect("write config");
    file
}

/// `leadline --config CFG ...` on database `url`.
fn on(b: &Bin, cfg: &Path, url: &str) -> Command {
    let mut c = b.configured(cfg);
    c.env("LEADLINE_DATABASE_URL", url);
    c
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every key and value of a store, in key order.
fn pairs(backend: &dyn leadline::store::Backend) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = std::collections::BTreeMap::new();
    backend
        .export(&mut |k, v| {
            match v {
                Some(v) => out.insert(k.to_vec(), v.to_vec()),
                None => out.remove(k),
            };
            Ok(())
        })
        .expect("export");
    out.into_iter().collect()
}

fn sled_pairs(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let store = leadline::store::open(&leadline::store::embedded::StoreOptions::new(dir))
        .expect("open the embedded store");
    pairs(store.as_ref())
}

const JOURNEY: &[&str] = &[
    "/lead new topic:\"Office chairs\" first:Anna last:Schmidt email:anna@contoso.example company:\"Contoso GmbH\" city:Berlin",
    "/qualify L-1001",
    "/product new CHAIR-01 name:\"Office chair\" price:199.99 tax:19%",
    "/opp line add O-1001 sku:CHAIR-01 qty:10 discount:5%",
    "/quote new O-1001",
    "/quote activate Q-1001",
    "/quote revise Q-1001",
    "/quote activate Q-1001",
    "/quote win Q-1001",
    "/order fulfil SO-1001 reason:partial",
    "/order invoice SO-1001 lines:\"1=4\"",
    "/order fulfil SO-1001 reason:complete",
    "/order invoice SO-1001",
    "/invoice pay INV-1001 amount:\"500,00\" date:2026-11-27",
    "/invoice pay INV-1001 amount:404,35",
    "/invoice cancel INV-1002 reason:canceled",
    "/order invoice SO-1001",
    "/lead new topic:Desks company:\"Fabrikam AG\" estimated_value:5000",
    "/call L-1002 subject:Intro due:2026-12-01",
    "/note L-1002 text:\"likes oak\"",
    "/disqualify L-1002 reason:\"no longer interested\"",
];

#[test]
fn a_copy_to_postgres_and_back_is_identical_and_the_views_read_typed_amounts() {
    let cluster = Cluster::start(&[]);
    let url = cluster.url("leadline", None);
    let b = Bin::new();
    for line in JOURNEY {
        b.ok(line);
    }
    let cfg = postgres_config(&b);
    let copy = |from: &str, to: &str| {
        on(&b, &cfg, &url)
            .args(["store", "copy", "--from", from, "--to", to])
            .output()
            .expect("run store copy")
    };
    let source = format!("sled:{}", b.data().display());
    let out = copy(&source, "postgres");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("4 invoice") && text(&out).contains("the same counts"),
        "{}",
        text(&out)
    );
    let back = b.dir.path().join("back");
    let out = copy("postgres", &format!("sled:{}", back.display()));
    assert!(out.status.success(), "{}", text(&out));
    // Byte for byte: the original, the database, the copy of the copy.
    let original = sled_pairs(&b.data());
    let pg = leadline::store::open_postgres(&leadline::store::postgres::PgOptions::new(&url))
        .expect("open the database");
    assert_eq!(
        pairs(pg.as_ref()),
        original,
        "the database differs from the source"
    );
    drop(pg);
    assert_eq!(sled_pairs(&back), original, "the copy of the copy differs");
    // A backup of the database restores the same store.
    let file = b.dir.path().join("pg.backup");
    let out = on(&b, &cfg, &url)
        .arg("backup")
        .arg(&file)
        .output()
        .expect("backup");
    assert!(out.status.success(), "{}", text(&out));
    let restored = b.dir.path().join("restored");
    let out = Command::new(env!("CARGO_BIN_EXE_leadline"))
        .arg("--data")
        .arg(&restored)
        .arg("restore")
        .arg(&file)
        .env_remove("LEADLINE_CONFIG")
        .output()
        .expect("restore");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        sled_pairs(&restored),
        original,
        "the restored backup differs"
    );
    // And into an empty database.
    cluster.psql("postgres", "CREATE DATABASE restored");
    let into = cluster.url("restored", None);
    let out = on(&b, &cfg, &into)
        .arg("restore")
        .arg(&file)
        .output()
        .expect("restore");
    assert!(out.status.success(), "{}", text(&out));
    let pg = leadline::store::open_postgres(&leadline::store::postgres::PgOptions::new(&into))
        .expect("open the restored database");
    assert_eq!(
        pairs(pg.as_ref()),
        original,
        "the backup restored into PostgreSQL differs"
    );
    drop(pg);
    assert!(
        original.len() > 100,
        "a real store was copied: {}",
        original.len()
    );

    // Plain SQL reads typed columns.
    assert_eq!(
        cluster.psql(
            "leadline",
            "SELECT number, state, total_amount, paid, pg_typeof(total_amount), due_date - invoice_date \
             FROM leadline_invoices ORDER BY number"
        ),
        "1001|paid|904.35|904.35|numeric|30\n\
         1002|canceled|1356.53|0|numeric|30\n\
         1003|credit_note|-1356.53|0|numeric|0\n\
         1004|open|1356.53|0|numeric|30"
    );
    assert_eq!(
        cluster.psql(
            "leadline",
            "SELECT revision, is_latest, state, total_amount FROM leadline_quotes ORDER BY revision"
        ),
        "1|f|closed|2260.88\n2|t|won|2260.88"
    );
    assert_eq!(
        cluster.psql(
            "leadline",
            "SELECT number, state, reason, estimated_value, pg_typeof(created_at) FROM leadline_leads ORDER BY number"
        ),
        "1001|qualified|||timestamp with time zone\n1002|disqualified|No longer interested|5000|timestamp with time zone"
    );
    assert_eq!(
        cluster.psql(
            "leadline",
            "SELECT o.number, a.name, o.state, o.actual_revenue, sum(l.quantity * l.unit_price) \
             FROM leadline_opportunities o JOIN leadline_accounts a ON a.number = o.account \
             JOIN leadline_lines l ON l.kind = 'opportunity' AND l.number = o.number GROUP BY 1, 2, 3, 4"
        ),
        "1001|Contoso GmbH|won|2260.88|1999.90"
    );
    assert_eq!(
        cluster.psql(
            "leadline",
            "SELECT kind, state, regarding_kind, regarding_number, due_day FROM leadline_activities ORDER BY number"
        ),
        "call|open|lead|1002|2026-12-01\nnote|open|lead|1002|"
    );

    // The copy runs on the database as leadline's store.
    let out = on(&b, &cfg, &url)
        .args(["cmd", "/show INV-1004"])
        .output()
        .expect("show");
    assert!(text(&out).contains("INV-1004"), "{}", text(&out));
    // Into a store that is not empty: refused, nothing written.
    let before = cluster.psql("leadline", "SELECT count(*) FROM leadline_kv");
    let out = copy(&source, "postgres");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("is not empty"), "{}", text(&out));
    assert_eq!(
        cluster.psql("leadline", "SELECT count(*) FROM leadline_kv"),
        before
    );
    let out = copy(&source, "mysql:x");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("give sled:DIR"), "{}", text(&out));
}

#[test]
fn bad_database_settings_are_refused_in_one_line() {
    let cluster = Cluster::start(&[]);
    let b = Bin::new();
    let cfg = postgres_config(&b);
    let one_line = |out: &std::process::Output, needle: &str| {
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains(needle), "{needle} in {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    };
    // No connection string.
    let out = b
        .configured(&cfg)
        .env_remove("LEADLINE_DATABASE_URL")
        .args(["cmd", "/list leads"])
        .output()
        .expect("run");
    one_line(&out, "LEADLINE_DATABASE_URL is not set");
    // In the config file: refused, whatever it holds.
    let inline = b.dir.path().join("inline.toml");
    std::fs::write(
        &inline,
        "[store]\nbackend = \"postgres\"\nurl = \"postgres://u:secret@h/db\"\n",
    )
    .expect("write");
    let out = b
        .configured(&inline)
        .args(["cmd", "/list leads"])
        .output()
        .expect("run");
    one_line(&out, "never goes in the config file");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("secret"));
    // Not a connection string; a server that is not there (the password
    // is never shown).
    let out = on(&b, &cfg, "host=127.0.0.1 port=notaport")
        .args(["cmd", "/list leads"])
        .output()
        .expect("run");
    one_line(&out, "connection string is not valid");
    let closed = crate::browser::free_port();
    let out = on(
        &b,
        &cfg,
        &format!("host=127.0.0.1 port={closed} user=postgres password=hunter2 dbname=leadline"),
    )
    .args(["cmd", "/list leads"])
    .output()
    .expect("run");
    one_line(&out, "cannot reach the database");
    assert!(!text(&out).contains("hunter2"), "{}", text(&out));
    // A database a newer leadline set up.
    let url = cluster.url("leadline", None);
    let ok = on(&b, &cfg, &url)
        .args(["cmd", "/lead new topic:T company:C"])
        .output()
        .expect("run");
    assert!(ok.status.success(), "{}", text(&ok));
    cluster.psql(
        "leadline",
        "INSERT INTO leadline_migrations (version, name) VALUES (99, 'from the future')",
    );
    let out = on(&b, &cfg, &url)
        .args(["cmd", "/list leads"])
        .output()
        .expect("run");
    one_line(&out, "written by a newer leadline (schema 99");
}

/// Sends `/lead new` for `topics` to the daemon on `data`, in order;
/// returns the topics it acknowledged (stops at the first failure).
fn write_leads(data: &Path, topics: impl Iterator<Item = String>) -> Vec<String> {
    let mut acked = Vec::new();
    let Some(mut client) = Client::connect(data) else {
        return acked;
    };
    for topic in topics {
        let v = client.request(&Request {
            cmd: Some(format!("/lead new topic:{topic} company:\"{topic} GmbH\"")),
            ..Default::default()
        });
        match v {
            Ok(v) if v["ok"] == true => acked.push(topic),
            _ => break,
        }
    }
    acked
}

/// Every lead's (number, topic) in the database.
fn leads(cluster: &Cluster, db: &str) -> Vec<(u64, String)> {
    cluster
        .psql(
            db,
            "SELECT number, topic FROM leadline_leads ORDER BY number",
        )
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, t) = l.split_once('|').expect("row");
            (n.parse().expect("number"), t.to_string())
        })
        .collect()
}

/// Every acknowledged topic is there exactly once, and the numbers run
/// from 1001 without a gap.
fn check_leads(found: &[(u64, String)], acked: &[String]) {
    let numbers: Vec<u64> = found.iter().map(|(n, _)| *n).collect();
    let expected: Vec<u64> = (1001..1001 + found.len() as u64).collect();
    assert_eq!(numbers, expected, "numbers with a gap");
    let topics: Vec<&String> = found.iter().map(|(_, t)| t).collect();
    let unique: BTreeSet<&String> = topics.iter().copied().collect();
    assert_eq!(unique.len(), topics.len(), "a lead made twice");
    for t in acked {
        assert!(unique.contains(t), "acknowledged {t} is missing");
    }
}

#[test]
fn two_daemons_share_one_database_and_a_killed_one_loses_nothing() {
    let cluster = Cluster::start(&[]);
    let url = cluster.url("leadline", None);
    let (a, b) = (Bin::new(), Bin::new());
    let (cfg_a, cfg_b) = (postgres_config(&a), postgres_config(&b));
    let mut da = Daemon::start_with(on(&a, &cfg_a, &url));
    let db = Daemon::start_with(on(&b, &cfg_b, &url));
    assert!(
        da.started.iter().any(|l| l.contains("postgres 127.0.0.1")),
        "{:?}",
        da.started
    );
    // Four writers on each daemon at once: every number is handed out once.
    let mut writers = Vec::new();
    for w in 0..8 {
        let data = if w % 2 == 0 { a.data() } else { b.data() };
        writers.push(std::thread::spawn(move || {
            write_leads(&data, (0..25).map(move |i| format!("W{w}x{i}")))
        }));
    }
    let mut acked: Vec<String> = writers
        .into_iter()
        .flat_map(|w| w.join().expect("writer"))
        .collect();
    assert_eq!(acked.len(), 200, "every command was answered");
    check_leads(&leads(&cluster, "leadline"), &acked);
    // A refused command between them leaves no gap either.
    let out = on(&a, &cfg_a, &url)
        .args(["cmd", "/qualify L-99999"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    // SIGKILL one daemon while both are written to.
    let data_a = a.data();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        da.signal("-KILL");
        da.wait(10);
    });
    let wa =
        std::thread::spawn(move || write_leads(&data_a, (0..100_000).map(|i| format!("KA{i}"))));
    let data_b = b.data();
    let wb = std::thread::spawn(move || write_leads(&data_b, (0..150).map(|i| format!("KB{i}"))));
    killer.join().expect("killer");
    let from_a = wa.join().expect("writer a");
    let from_b = wb.join().expect("writer b");
    assert!(
        !from_a.is_empty() && from_a.len() < 100_000,
        "{}",
        from_a.len()
    );
    assert_eq!(from_b.len(), 150, "the other daemon went on");
    acked.extend(from_a);
    acked.extend(from_b);
    let found = leads(&cluster, "leadline");
    check_leads(&found, &acked);
    // No half-made record: every lead has its search words and index.
    let orphans = cluster.psql(
        "leadline",
        "SELECT count(*) FROM leadline_leads l WHERE NOT EXISTS (SELECT 1 FROM leadline_kv k \
         WHERE k.k = convert_to('i/lead/so/open/me/' || lpad(l.number::text, 20, '0'), 'UTF8'))",
    );
    assert_eq!(orphans, "0");
    // The killed daemon comes back on the same database.
    let da = Daemon::start_with(on(&a, &cfg_a, &url));
    let more = write_leads(&a.data(), (0..5).map(|i| format!("R{i}")));
    assert_eq!(more.len(), 5);
    acked.extend(more);
    check_leads(&leads(&cluster, "leadline"), &acked);
    drop((da, db));
}

/// A primary with a synchronous standby (`pg_basebackup`,
/// `synchronous_standby_names`).
fn primary_and_standby() -> (Cluster, Cluster) {
    // Synchronous only once the standby is there: until then every
    // commit (createdb's too) would wait for it.
    let primary = Cluster::start(&["wal_level=replica", "max_wal_senders=5"]);
    let standby = Cluster::start(&[]);
    standby.stop("fast");
    std::fs::remove_dir_all(standby.data()).expect("empty the standby");
    let mut base = primary.client("pg_basebackup");
    base.args(["-R", "-c", "fast", "-D"]).arg(standby.data());
    let out = base.output().expect("pg_basebackup");
    assert!(out.status.success(), "{}", text(&out));
    let auto = standby.data().join("postgresql.auto.conf");
    let mut conf = std::fs::read_to_string(&auto).expect("auto.conf");
    conf.push_str(&format!(
        "primary_conninfo = 'host=127.0.0.1 port={} user=postgres application_name=standby1'\n",
        primary.port
    ));
    std::fs::write(&auto, conf).expect("write auto.conf");
    standby.start_again(&[]);
    primary.psql(
        "postgres",
        "ALTER SYSTEM SET synchronous_standby_names = 'standby1'",
    );
    primary.psql("postgres", "SELECT pg_reload_conf()");
    // The standby is synchronous before the test goes on.
    let deadline = Instant::now() + Duration::from_secs(30);
    while primary.psql("postgres", "SELECT sync_state FROM pg_stat_replication") != "sync" {
        assert!(
            Instant::now() < deadline,
            "the standby did not become synchronous"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (primary, standby)
}

#[test]
fn a_failover_to_the_synchronous_standby_loses_no_acknowledged_command() {
    let (primary, standby) = primary_and_standby();
    let url = format!(
        "host=127.0.0.1,127.0.0.1 port={},{} user=postgres dbname=leadline target_session_attrs=read-write connect_timeout=2",
        primary.port, standby.port
    );
    let b = Bin::new();
    let cfg = postgres_config(&b);
    let d = Daemon::start_with(on(&b, &cfg, &url));
    let progress = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (data, done, stopping) = (b.data(), progress.clone(), stop.clone());
    // One writer, command after command, until told to stop; the first
    // failure ends it (and fails the test).
    let writer = std::thread::spawn(move || {
        let mut acked = Vec::new();
        let mut slowest = Duration::ZERO;
        let mut client = Client::connect(&data).expect("the daemon's socket");
        let mut i = 0;
        while !stopping.load(Ordering::SeqCst) {
            let topic = format!("F{i}");
            i += 1;
            let started = Instant::now();
            let v = client
                .request(&Request {
                    cmd: Some(format!("/lead new topic:{topic} company:\"{topic} GmbH\"")),
                    ..Default::default()
                })
                .expect("the daemon answers");
            slowest = slowest.max(started.elapsed());
            assert_eq!(v["ok"], true, "{topic} failed during the failover: {v}");
            acked.push(topic);
            done.fetch_add(1, Ordering::SeqCst);
        }
        (acked, slowest)
    });
    let wait_for = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(90);
        while progress.load(Ordering::SeqCst) < n {
            assert!(
                Instant::now() < deadline,
                "the writer stalled at {}",
                progress.load(Ordering::SeqCst)
            );
            assert!(!writer.is_finished(), "the writer stopped");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // Mid-run: the primary dies; the standby is promoted a moment later.
    wait_for(50);
    primary.stop("immediate");
    let at_kill = progress.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(700));
    let mut promote = pg_command("pg_ctl");
    promote
        .arg("-D")
        .arg(standby.data())
        .args(["-w", "promote"]);
    let out = promote.output().expect("promote");
    assert!(out.status.success(), "{}", text(&out));
    wait_for(at_kill + 50);
    stop.store(true, Ordering::SeqCst);
    let (acked, slowest) = writer.join().expect("writer");
    // leadline waited through the failover and went on by itself.
    assert!(
        slowest >= Duration::from_millis(500),
        "no command waited for the failover: {slowest:?}"
    );
    eprintln!(
        "failover: {} commands, the slowest took {slowest:?}",
        acked.len()
    );
    check_leads(&leads(&standby, "leadline"), &acked);
    drop(d);
}

/// Adds one to the counter under `key` in one group of `store`; the value
/// the group read.
fn add_one(store: &dyn leadline::store::Backend, key: &[u8]) -> u64 {
    let mut read = 0;
    store
        .commit(
            1,
            &mut |_, tx| {
                read = tx
                    .get(key)
                    .expect("read")
                    .map(|v| String::from_utf8_lossy(&v).parse().expect("a number"))
                    .unwrap_or(0);
                tx.put(key.to_vec(), (read + 1).to_string().into_bytes());
                true
            },
            leadline::store::Durability::Flush,
        )
        .expect("commit");
    read
}

#[test]
fn a_group_reads_what_another_process_committed_since_its_own_last_one() {
    // Two stores on one schema are two processes (each its own writer id).
    let url = crate::pg::shared().fresh();
    let open = || {
        leadline::store::open_postgres(&leadline::store::postgres::PgOptions::new(&url))
            .expect("a PostgreSQL store")
    };
    let (a, b) = (open(), open());
    let key = b"test/counter";
    // Runs of one process, then alternating, then the other: every group
    // reads the count the one before it left, whoever made it.
    let mut turns = vec![true; 20];
    turns.extend((0..100).map(|i| i % 2 == 0));
    turns.extend([false; 20]);
    turns.extend((0..100).map(|i| i % 3 == 0));
    for (n, on_a) in turns.iter().enumerate() {
        let store = if *on_a { &a } else { &b };
        assert_eq!(add_one(store.as_ref(), key), n as u64, "group {n}");
    }
}
