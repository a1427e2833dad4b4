//! leadline's benchmarks, outside the library: `cargo bench --bench leadline
//! -- journeys|daemon|scheduler ...` (see the README).
//!
//! `journeys`: what a command costs next to what the disk costs. In one run
//! and on one disk: (1) bare sled inserts with a flush after
//! each, the floor for any durable write; (2) whole journeys, lead to paid
//! invoice, each command parsed, applied and flushed before its reply, with
//! p50/p99 latency per command; (3) `show` and `list` on a store seeded with
//! many leads. Figures are for the closing notes, not for tests.

use serde::Serialize;
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use std::sync::Arc;

use leadline::command::Reply;
use leadline::config::Config;
use leadline::core::Leadline;
use leadline::store::embedded::StoreOptions;
use leadline::store::Durability;

/// The allocator the `leadline` binary runs with, so the in-process
/// figures measure what the binary does (sled copies tree nodes on write).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A core on the store in `dir` (made when missing).
///
/// Fails when the store cannot be opened.
fn open(config: &Config, dir: &Path) -> anyhow::Result<Leadline> {
    let mut options = StoreOptions::new(dir);
    options.fsync_every_ms = Some(config.store.fsync_every_ms);
    Ok(Leadline::open(
        leadline::store::open(&options)?,
        Arc::new(config.clone()),
        dir.join("oauth"),
    )?)
}

/// Runs `line` as `actor` at `now` through the core: durable before it
/// returns (`Flush`), or left for a flush at the end (`Deferred`).
///
/// Fails when the command fails.
fn exec(
    core: &Leadline,
    line: &str,
    actor: &str,
    now: chrono::DateTime<chrono::Utc>,
    durability: Durability,
) -> anyhow::Result<Reply> {
    let request = core
        .parse(line, actor, "bench", now)
        .map_err(|e| anyhow::anyhow!("{line}: {e}"))?;
    let answer = match durability {
        Durability::Flush => core.run(request),
        Durability::Deferred => core
            .run_all(vec![request], durability)?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("{line}: no answer"))?,
    };
    // Rendered as a front end shows it, so the figures include the text.
    answer
        .map(|outcome| core.render(&outcome, actor, now, false))
        .map_err(|e| anyhow::anyhow!("{line}: {e}"))
}

/// Latency figures of one kind of operation.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub name: String,
    pub count: usize,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl Latency {
    fn of(name: &str, mut samples: Vec<Duration>) -> Latency {
        samples.sort();
        let at = |q: f64| -> u64 {
            if samples.is_empty() {
                return 0;
            }
            let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
            samples[i.min(samples.len() - 1)].as_micros() as u64
        };
        Latency {
            name: name.to_string(),
            count: samples.len(),
            p50_us: at(0.50),
            p99_us: at(0.99),
            max_us: samples.last().map_or(0, |d| d.as_micros() as u64),
        }
    }
}

/// The whole benchmark's figures.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub bare_inserts: usize,
    pub bare_inserts_per_sec: f64,
    pub journeys: usize,
    pub commands: usize,
    pub commands_per_sec: f64,
    /// commands/s divided by bare flushed inserts/s (target: at least 0.5).
    pub ratio_to_bare: f64,
    /// The same journeys applied without a flush per command: the cost of
    /// parsing, rules and encoding alone.
    pub commands_per_sec_without_flush: f64,
    pub all_commands: Latency,
    pub per_command: Vec<Latency>,
    pub seeded_leads: usize,
    pub seed_seconds: f64,
    pub reads: Vec<Latency>,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "bare sled insert + flush: {} inserts, {:.0}/s",
            self.bare_inserts, self.bare_inserts_per_sec
        )?;
        writeln!(
            f,
            "journeys: {} ({} commands), {:.0} commands/s, ratio to bare inserts {:.2} (target >= 0.50)",
            self.journeys, self.commands, self.commands_per_sec, self.ratio_to_bare
        )?;
        writeln!(
            f,
            "the same journeys without a flush per command: {:.0} commands/s",
            self.commands_per_sec_without_flush
        )?;
        writeln!(
            f,
            "{:<28} {:>7} {:>9} {:>9} {:>9}",
            "latency (us)", "count", "p50", "p99", "max"
        )?;
        for l in std::iter::once(&self.all_commands).chain(&self.per_command) {
            writeln!(
                f,
                "{:<28} {:>7} {:>9} {:>9} {:>9}",
                l.name, l.count, l.p50_us, l.p99_us, l.max_us
            )?;
        }
        writeln!(
            f,
            "reads on a store of {} leads (seeded in {:.1} s; target p99 < 5000 us):",
            self.seeded_leads, self.seed_seconds
        )?;
        for l in &self.reads {
            writeln!(
                f,
                "{:<28} {:>7} {:>9} {:>9} {:>9}",
                l.name, l.count, l.p50_us, l.p99_us, l.max_us
            )?;
        }
        Ok(())
    }
}

/// Runs the benchmark in `dir` (a temporary folder when `None`).
///
/// Fails when a store cannot be created or a journey command is refused
/// (which would be a bug).
pub fn run(
    config: &Config,
    dir: Option<&Path>,
    journeys: usize,
    leads: usize,
) -> anyhow::Result<BenchReport> {
    let tmp;
    let dir = match dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.to_path_buf()
        }
        None => {
            tmp = TempDir::new()?;
            tmp.0.clone()
        }
    };
    let fsync = Some(config.store.fsync_every_ms);

    // 1. Bare sled: insert a record-sized value and flush, each time.
    let bare_n = (journeys * 11).clamp(500, 5000);
    let db = sled::Config::new()
        .path(dir.join("bare"))
        .flush_every_ms(fsync.filter(|m| *m > 0))
        .open()?;
    let value = vec![b'x'; 700];
    let start = Instant::now();
    for i in 0..bare_n {
        db.insert(format!("k/{i:020}"), value.as_slice())?;
        db.flush()?;
    }
    let bare_rate = bare_n as f64 / start.elapsed().as_secs_f64();
    drop(db);

    // 2. Journeys through the real parse/apply/commit path.
    let store = open(config, &dir.join("journeys"))?;
    let now = chrono::Utc::now();
    let me = config.team.default_user.as_str();
    exec(
        &store,
        "/product new CHAIR-01 name:\"Office chair\" price:199.99 tax:19%",
        me,
        now,
        Durability::Flush,
    )?;
    let (all, per, elapsed) = run_journeys(&store, journeys, 0, Durability::Flush)?;
    let commands = all.len();
    let rate = commands as f64 / elapsed;
    // The same journeys without the flush: what the command path itself costs.
    let (unflushed, _, unflushed_elapsed) =
        run_journeys(&store, journeys, journeys, Durability::Deferred)?;
    store.flush()?;
    let unflushed_rate = unflushed.len() as f64 / unflushed_elapsed;
    drop(store);

    // 3. show and list on a store with many leads.
    let store = open(config, &dir.join("reads"))?;
    let owners = OWNERS;
    let start = Instant::now();
    seed_leads(&store, leads)?;
    let seed_seconds = start.elapsed().as_secs_f64();
    let r = &config.process;
    let first = r.numbering.format(leadline::domain::Kind::Lead).first;
    let mut reads = Vec::new();
    let probes = 2000usize.min(leads.max(1) * 10);
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let lead_id = |x: u64| {
        r.show(
            leadline::domain::Kind::Lead,
            first + x % leads.max(1) as u64,
        )
    };
    let n = |x: u64| x % leads.max(1) as u64;
    let queries: [(&str, &dyn Fn(u64) -> String); 9] = [
        ("show L-random", &|x| format!("/lead show {}", lead_id(x))),
        ("list leads (20)", &|_| "/list leads".to_string()),
        ("list leads state:open", &|_| {
            "/list leads state:open".to_string()
        }),
        ("list leads owner:x state:open", &|x| {
            format!("/list leads owner:{} state:open", owners[(x % 4) as usize])
        }),
        ("list leads after:random", &|x| {
            format!("/list leads after:{}", lead_id(x))
        }),
        ("find Person<random>", &|x| format!("/find Person{}", n(x))),
        ("find Company <random> (common word + number)", &|x| {
            format!("/find Company {}", n(x))
        }),
        ("find p<random>@x<random> (e-mail)", &|x| {
            format!("/find p{}@x{}", n(x), n(x))
        }),
        ("find company (matches every lead)", &|_| {
            "/find company".to_string()
        }),
    ];
    for (name, make) in queries.iter().filter(|_| leads > 0) {
        let mut samples = Vec::with_capacity(probes);
        for _ in 0..probes {
            let text = make(next());
            let t = Instant::now();
            exec(&store, &text, me, now, Durability::Flush)?;
            samples.push(t.elapsed());
        }
        reads.push(Latency::of(name, samples));
    }

    Ok(BenchReport {
        bare_inserts: bare_n,
        bare_inserts_per_sec: bare_rate,
        journeys,
        commands,
        commands_per_sec: rate,
        ratio_to_bare: rate / bare_rate,
        commands_per_sec_without_flush: unflushed_rate,
        all_commands: Latency::of("all commands", all),
        per_command: per.into_iter().map(|(n, v)| Latency::of(n, v)).collect(),
        seeded_leads: leads,
        seed_seconds,
        reads,
    })
}

/// Owners of the seeded leads.
const OWNERS: [&str; 4] = ["anna", "ben", "chris", "dana"];

/// Seeds `n` leads through the command path, flushed once at the end.
fn seed_leads(store: &Leadline, n: usize) -> anyhow::Result<()> {
    let me = store.config().team.default_user.clone();
    let now = chrono::Utc::now();
    for i in 0..n {
        let owner = OWNERS[i % OWNERS.len()];
        let text = format!("/lead new topic:\"Lead {i}\" last:Person{i} email:p{i}@x{i}.example company:\"Company {i}\" owner:{owner}");
        exec(store, &text, &me, now, Durability::Deferred)?;
    }
    store.flush()?;
    Ok(())
}

/// The daemon benchmark's figures.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonReport {
    pub backend: String,
    /// pgbench's TPC-B-like transactions per second on the same cluster
    /// in the same run (PostgreSQL only).
    pub pgbench_tps: Option<f64>,
    pub leads: usize,
    pub clients: usize,
    pub seconds: f64,
    pub commands: usize,
    pub commands_per_sec: f64,
    pub latency: Latency,
    pub refused: usize,
    /// The daemon's group commits and the commands they carried.
    pub commits: u64,
    pub commands_per_commit: f64,
    /// The daemon process's peak resident memory (VmHWM), in MB (10^6 bytes,
    /// the unit).
    pub daemon_peak_rss_mb: f64,
    /// CPU seconds the daemon used per second of the run (2 = both cores);
    /// the clients ran on the same machine and took the rest.
    pub daemon_cpu_share: f64,
    /// The same writes one at a time in process, each flushed, this run.
    pub sequential_per_sec: f64,
    /// commands_per_sec / sequential_per_sec (target: at least 5).
    pub times_sequential: f64,
}

impl fmt::Display for DaemonReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "daemon ({}) on a store of {} leads, {} concurrent clients for {:.1} s",
            self.backend, self.leads, self.clients, self.seconds
        )?;
        if let Some(tps) = self.pgbench_tps {
            writeln!(
                f,
                "pgbench -c {} -j 2 -T 10 on the same cluster: {tps:.0} tps; leadline does {:.2} times that (target >= 0.5)",
                self.clients,
                self.commands_per_sec / tps
            )?;
        }
        writeln!(
            f,
            "writes through the control socket: {} ({} refused), {:.0} commands/s",
            self.commands, self.refused, self.commands_per_sec
        )?;
        writeln!(
            f,
            "the same writes one at a time, each flushed: {:.0} commands/s; the daemon does {:.1} times that (target >= 5)",
            self.sequential_per_sec, self.times_sequential
        )?;
        writeln!(
            f,
            "latency: p50 {} us, p99 {} us, max {} us (target p99 < 20000 us)",
            self.latency.p50_us, self.latency.p99_us, self.latency.max_us
        )?;
        writeln!(
            f,
            "group commit: {} flushes, {:.1} commands per flush",
            self.commits, self.commands_per_commit
        )?;
        writeln!(
            f,
            "daemon peak memory: {:.0} MB (target < 200 MB)",
            self.daemon_peak_rss_mb
        )?;
        writeln!(
            f,
            "daemon CPU: {:.2} cores of {} (the {} clients ran on the same machine)",
            self.daemon_cpu_share,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            self.clients
        )
    }
}

/// CPU seconds (user + system) a process has used, from /proc.
fn cpu_seconds_of(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let after = s
                .rsplit_once(") ")?
                .1
                .split_whitespace()
                .collect::<Vec<_>>();
            let utime: f64 = after.get(11)?.parse().ok()?;
            let stime: f64 = after.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

/// Peak resident memory (VmHWM) of process `pid` in MiB, from /proc.
fn rss_of(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Seeds `leads` leads in `dir` (unless seeded before), starts `leadline
/// run` there as a separate process, and lets `clients` threads write
/// through its control socket for `seconds`: `lead new` and `lead edit` of
/// random leads, every one flushed before its answer.
///
/// Fails when the daemon cannot be started or reached.
pub fn daemon(
    config: &Config,
    dir: &Path,
    leads: usize,
    clients: usize,
    seconds: f64,
    on: &Backend,
) -> anyhow::Result<DaemonReport> {
    use leadline::daemon::{client::Client, Request};
    let sequential;
    {
        let store = match on {
            Backend::Sled => open(config, dir)?,
            Backend::Postgres { url, .. } => Leadline::open(
                leadline::store::open_postgres(&leadline::store::postgres::PgOptions::new(url))?,
                Arc::new(config.clone()),
                dir.join("oauth"),
            )?,
        };
        let seeded = store
            .read(|tx| tx.get(&leadline::command::keys::sequence("lead")))?
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .is_some();
        let me = config.team.default_user.as_str();
        if !seeded {
            seed_leads(&store, leads)?;
        }
        // The same mix, one command at a time, each flushed: the sequential
        // rate the daemon's is compared with, measured now, on this disk.
        let start = Instant::now();
        let mut i = 0;
        while start.elapsed() < Duration::from_secs(3) {
            let line = mix_line(&config.process, 999, i, leads);
            exec(&store, &line, me, chrono::Utc::now(), Durability::Flush)?;
            i += 1;
        }
        sequential = i as f64 / start.elapsed().as_secs_f64();
    }
    // One daemon on the folder (sled), or several on one database, each
    // with a data folder of its own for its socket.
    let exe = env!("CARGO_BIN_EXE_leadline");
    let folders: Vec<std::path::PathBuf> = match on {
        Backend::Sled => vec![dir.to_path_buf()],
        Backend::Postgres { daemons, .. } => (0..*daemons)
            .map(|d| dir.join(format!("daemon{d}")))
            .collect(),
    };
    let mut children = Vec::new();
    for folder in &folders {
        let mut cmd = std::process::Command::new(exe);
        if let Backend::Postgres {
            url, config_file, ..
        } = on
        {
            cmd.arg("--config")
                .arg(config_file)
                .env("LEADLINE_DATABASE_URL", url);
        }
        let child = cmd
            .arg("--data")
            .arg(folder)
            .arg("run")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        children.push(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Client::connect(folder).is_none() {
            if Instant::now() > deadline {
                for c in &mut children {
                    let _ = c.kill();
                }
                anyhow::bail!("the daemon did not open its control socket within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // 50 concurrent clients, each its own connection, all driven by one
    // thread: the machine's cores go to the daemon, not to switching between
    // 50 client threads.
    let stop_at = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let cpu_before: f64 = children.iter().map(|c| cpu_seconds_of(c.id())).sum();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let results: Vec<(Vec<Duration>, usize)> = rt.block_on(async {
        let tasks = (0..clients).map(|c| {
            let rules = config.process.clone();
            let path = leadline::daemon::socket_path(&folders[c % folders.len()]);
            async move {
                use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
                let mut samples = Vec::new();
                let mut refused = 0;
                let Ok(stream) = tokio::net::UnixStream::connect(&path).await else {
                    return (samples, 0);
                };
                let (read, mut write) = stream.into_split();
                let mut lines = tokio::io::BufReader::new(read).lines();
                let mut i = 0u64;
                while Instant::now() < stop_at {
                    let req = serde_json::json!({"cmd": mix_line(&rules, c, i, leads)}).to_string()
                        + "\n";
                    i += 1;
                    let t = Instant::now();
                    if write.write_all(req.as_bytes()).await.is_err() {
                        break;
                    }
                    match lines.next_line().await {
                        Ok(Some(answer)) if answer.contains("\"ok\":true") => {
                            samples.push(t.elapsed())
                        }
                        Ok(Some(_)) => refused += 1,
                        _ => break,
                    }
                }
                (samples, refused)
            }
        });
        futures_util::future::join_all(tasks).await
    });
    let mut all = Vec::new();
    let mut refused = 0;
    for (s, r) in results {
        all.extend(s);
        refused += r;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (mut commits, mut written) = (0, 0);
    for folder in &folders {
        let status = Client::connect(folder)
            .map(|mut c| {
                c.request(&Request {
                    status: true,
                    ..Default::default()
                })
            })
            .transpose()?
            .unwrap_or_default();
        commits += status["status"]["commits"].as_u64().unwrap_or(0);
        written += status["status"]["commands_written"].as_u64().unwrap_or(0);
    }
    let rss = children.iter().map(|c| rss_of(c.id())).fold(0.0, f64::max);
    let cpu_after: f64 = children.iter().map(|c| cpu_seconds_of(c.id())).sum();
    let cpu = (cpu_after - cpu_before) / elapsed;
    for child in &mut children {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    let commands = all.len();
    Ok(DaemonReport {
        backend: match on {
            Backend::Sled => "sled".to_string(),
            Backend::Postgres { daemons, .. } => format!("postgres, {daemons} daemon(s)"),
        },
        pgbench_tps: None,
        leads,
        clients,
        seconds: elapsed,
        commands,
        commands_per_sec: commands as f64 / elapsed,
        latency: Latency::of("socket writes", all),
        refused,
        commits,
        commands_per_commit: if commits == 0 {
            0.0
        } else {
            written as f64 / commits as f64
        },
        daemon_peak_rss_mb: rss * 1024.0 * 1024.0 / 1e6,
        daemon_cpu_share: cpu,
        sequential_per_sec: sequential,
        times_sequential: commands as f64 / elapsed / sequential,
    })
}

/// Where the daemon benchmark keeps its store.
pub enum Backend {
    Sled,
    /// A throwaway cluster's database, `daemons` daemons on it.
    Postgres {
        url: String,
        config_file: std::path::PathBuf,
        daemons: usize,
    },
}

/// The daemon benchmark on PostgreSQL: a throwaway cluster (default
/// settings: fsync and synchronous commit on), pgbench's TPC-B-like run
/// on it first, then leadline's daemons on a fresh database of it.
///
/// Fails when the cluster or a daemon cannot be started.
pub fn daemon_postgres(
    config: &Config,
    leads: usize,
    clients: usize,
    seconds: f64,
    daemons: usize,
) -> anyhow::Result<DaemonReport> {
    let cluster = pg::Cluster::start(&[]);
    let mut create = cluster.client("createdb");
    create.arg("pgbench");
    anyhow::ensure!(create.status()?.success(), "createdb pgbench failed");
    let mut init = cluster.client("pgbench");
    init.args(["-i", "-q", "-s", "10", "pgbench"]);
    anyhow::ensure!(init.output()?.status.success(), "pgbench -i failed");
    let mut bench = cluster.client("pgbench");
    let clients_arg = clients.to_string();
    bench.args(["-c", &clients_arg, "-j", "2", "-T", "10", "pgbench"]);
    let out = bench.output()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .ok_or_else(|| anyhow::anyhow!("no tps in pgbench's output: {text}"))?;
    let dir = TempDir::new()?;
    let config_file = dir.0.join("postgres.toml");
    std::fs::write(
        &config_file,
        leadline::config::DEFAULT.replacen("[store]\n", "[store]\nbackend = \"postgres\"\n", 1),
    )?;
    let on = Backend::Postgres {
        url: cluster.url("leadline", None),
        config_file,
        daemons,
    };
    let mut report = daemon(config, &dir.0, leads, clients, seconds, &on)?;
    report.pgbench_tps = Some(tps);
    Ok(report)
}

/// The test suite's throwaway PostgreSQL clusters.
#[path = "../tests/it/pg.rs"]
mod pg;

/// The benchmark's writes: half new leads, half edits of random leads.
fn mix_line(rules: &leadline::domain::Rules, client: usize, i: u64, leads: usize) -> String {
    if i.is_multiple_of(2) {
        format!("/lead new topic:\"Bench {client}-{i}\" last:B{client} email:b{client}x{i}@bench.example")
    } else {
        let mut x = (i ^ (client as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .wrapping_mul(0x2545_f491_4f6c_dd1d);
        x ^= x >> 29;
        let first = rules.numbering.format(leadline::domain::Kind::Lead).first;
        let lead = rules.show(
            leadline::domain::Kind::Lead,
            first + x % leads.max(1) as u64,
        );
        format!("/lead edit {lead} city:City{}", x % 1000)
    }
}

/// Latencies of every command, per step, and the elapsed seconds.
type JourneyTimes = (Vec<Duration>, Vec<(&'static str, Vec<Duration>)>, f64);

/// Runs `count` journeys numbered from `offset`, timing each command.
fn run_journeys(
    store: &Leadline,
    count: usize,
    offset: usize,
    durability: Durability,
) -> anyhow::Result<JourneyTimes> {
    use leadline::domain::Kind::*;
    let config = store.config();
    let r = &config.process;
    let me = config.team.default_user.as_str();
    let mut per: Vec<(&'static str, Vec<Duration>)> = Vec::new();
    let mut all = Vec::new();
    let start = Instant::now();
    for j in offset..offset + count {
        let n = |k| r.numbering.format(k).first + j as u64;
        let (l, o, q, so, inv) = (
            r.show(Lead, n(Lead)),
            r.show(Opportunity, n(Opportunity)),
            r.show(Quote, n(Quote)),
            r.show(Order, n(Order)),
            r.show(Invoice, n(Invoice)),
        );
        let steps: [(&'static str, String); 11] = [
            ("lead new", format!("/lead new topic:\"Chairs {j}\" first:Anna last:Schmidt email:anna{j}@contoso{j}.example company:\"Contoso {j}\" city:Berlin")),
            ("qualify", format!("/qualify {l}")),
            ("opp line add", format!("/opp line add {o} sku:CHAIR-01 qty:10 discount:5%")),
            ("quote new", format!("/quote new {o}")),
            ("quote activate", format!("/quote activate {q}")),
            ("quote revise", format!("/quote revise {q}")),
            ("quote activate (rev 2)", format!("/quote activate {q}")),
            ("quote win", format!("/quote win {q}")),
            ("order fulfil", format!("/order fulfil {so} reason:complete")),
            ("order invoice", format!("/order invoice {so}")),
            ("invoice paid", format!("/invoice paid {inv} reason:complete")),
        ];
        for (name, text) in steps {
            let t = Instant::now();
            exec(store, &text, me, chrono::Utc::now(), durability)
                .map_err(|e| anyhow::anyhow!("journey {j}: {e}"))?;
            let d = t.elapsed();
            all.push(d);
            match per.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) => v.push(d),
                None => per.push((name, vec![d])),
            }
        }
    }
    Ok((all, per, start.elapsed().as_secs_f64()))
}

/// A folder removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        let p = std::env::temp_dir().join(format!(
            "leadline-bench-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
        ));
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The scheduler benchmark's figures.
#[derive(Debug, Clone, Serialize)]
pub struct SchedulerReport {
    pub activities: usize,
    pub owners: usize,
    pub leads: usize,
    /// Seconds spent seeding (0 when the store was seeded before).
    pub seed_seconds: f64,
    /// The regular sweep five minutes after the previous one.
    pub sweep_seconds: f64,
    pub sweep_announced: usize,
    /// A sweep after a day without one (catching up).
    pub catch_up_sweep_seconds: f64,
    pub catch_up_announced: usize,
    /// Gathering and rendering every owner's digest.
    pub digests_seconds: f64,
    pub digests: usize,
    /// Overdue items across the digests (what they had to count).
    pub digest_overdue_items: usize,
    /// Peak resident memory of this process (VmHWM), in MiB.
    pub peak_rss_mib: f64,
}

impl fmt::Display for SchedulerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "store: {} activities, {} leads, {} owners (seeded in {:.0} s)",
            self.activities, self.leads, self.owners, self.seed_seconds
        )?;
        writeln!(
            f,
            "overdue sweep (5 minutes later): {:.3} s, {} announced (target < 1 s)",
            self.sweep_seconds, self.sweep_announced
        )?;
        writeln!(
            f,
            "catch-up sweep (a day later):    {:.3} s, {} announced",
            self.catch_up_sweep_seconds, self.catch_up_announced
        )?;
        writeln!(
            f,
            "all {} digests: {:.3} s, {} overdue items counted (target < 1 s)",
            self.digests, self.digests_seconds, self.digest_overdue_items
        )?;
        writeln!(
            f,
            "peak memory of this process: {:.0} MiB (target < 300 MiB)",
            self.peak_rss_mib
        )
    }
}

/// Peak resident memory (VmHWM) of this process in MiB, from /proc.
pub fn peak_rss_mib() -> f64 {
    rss_of(std::process::id())
}

/// Seeds (unless `dir` already holds a seeded store) and measures the
/// scheduler: 80% of activities are logged calls (closed), 20% open tasks
/// due between 60 days before and 30 days after the measured moment.
///
/// Fails when the store cannot be created or a command is refused (a bug).
pub fn scheduler(
    base: &Config,
    dir: &Path,
    activities: usize,
    owners: usize,
) -> anyhow::Result<SchedulerReport> {
    use chrono::{Duration as D, TimeZone};
    use leadline::command::Command;
    let mut config = base.clone();
    config.team.members = (0..owners)
        .map(|i| leadline::config::Member {
            name: format!("owner{i:03}"),
            full_name: None,
            email: Some(format!("owner{i:03}@example.com")),
            timezone: Some(if i % 2 == 0 {
                chrono_tz::Europe::Berlin
            } else {
                chrono_tz::America::New_York
            }),
            role: leadline::config::Role::Rep,
            discord_id: None,
            language: None,
        })
        .collect();
    let t0 = chrono::Utc
        .with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .ok_or_else(|| anyhow::anyhow!("bad time"))?;
    let store = open(&config, dir)?;
    let leads = (activities / 50).max(1);
    // The last measured moment; none yet means the store is not seeded.
    let last: Option<chrono::DateTime<chrono::Utc>> = store.read(|tx| {
        leadline::command::records::read(tx, &leadline::command::queue::keys::job("bench"))
    })??;
    let seeded = last.is_some();
    let mut seed_seconds = 0.0;
    if !seeded {
        let start = Instant::now();
        let seed_at = t0 - D::days(61);
        let run = |text: &str, owner: &str, now| -> anyhow::Result<()> {
            exec(&store, text, owner, now, Durability::Deferred)?;
            Ok(())
        };
        let first = config
            .process
            .numbering
            .format(leadline::domain::Kind::Lead)
            .first;
        for i in 0..leads {
            let owner = format!("owner{:03}", i % owners);
            run(
                &format!("/lead new topic:\"Lead {i}\" last:P{i} company:\"C{i}\""),
                &owner,
                seed_at,
            )?;
        }
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        for a in 0..activities {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let lead = a % leads;
            let owner = format!("owner{:03}", lead % owners);
            let id = config
                .process
                .show(leadline::domain::Kind::Lead, first + lead as u64);
            if rng.is_multiple_of(5) {
                // Due between t0 - 60 days and t0 + 30 days, on the minute.
                let minutes = (rng >> 8) % (90 * 24 * 60);
                let due = (t0 - D::days(60) + D::minutes(minutes as i64)).to_rfc3339();
                run(
                    &format!("/task {id} \"Task {a}\" due:{due}"),
                    &owner,
                    seed_at,
                )?;
            } else {
                run(
                    &format!("/call {id} subject:\"Call {a}\" result:reached"),
                    &owner,
                    seed_at,
                )?;
            }
        }
        store.flush()?;
        // Earlier sweeps have announced everything overdue until 5 minutes ago.
        leadline::scheduler::sweep(&store, t0 - D::minutes(5))?;
        seed_seconds = start.elapsed().as_secs_f64();
    }

    // Each run measures on its own day (a sweep announces what it finds, so
    // a second run at the same moment would find nothing): a warm-up sweep
    // five minutes before, the measured sweep, and a catch-up a day later.
    let at = last.map_or(t0, |l| l + D::days(2));
    store.run(leadline::core::Request::system(
        Command::JobRan {
            job: "bench".into(),
        },
        "bench",
        "bench",
        "bench",
        at,
    ))?;
    let sweep = |now| -> anyhow::Result<(f64, usize)> {
        let start = Instant::now();
        let announced = leadline::scheduler::sweep(&store, now)?;
        Ok((start.elapsed().as_secs_f64(), announced))
    };
    sweep(at - D::minutes(5))?;
    let (sweep_seconds, sweep_announced) = sweep(at)?;
    let (catch_up_sweep_seconds, catch_up_announced) = sweep(at + D::days(1))?;

    let ctx = config.context("scheduler", at, "scheduler");
    let start = Instant::now();
    let mut overdue_items = 0;
    for (owner, _) in leadline::scheduler::owners(&config) {
        let data = store.read(|tx| leadline::scheduler::digest::gather(tx, &ctx, &owner))??;
        overdue_items += data.counts.overdue;
        leadline::scheduler::digest::render(data, None)?;
    }
    let digests_seconds = start.elapsed().as_secs_f64();
    Ok(SchedulerReport {
        activities,
        owners,
        leads,
        seed_seconds,
        sweep_seconds,
        sweep_announced,
        catch_up_sweep_seconds,
        catch_up_announced,
        digests_seconds,
        digests: owners,
        digest_overdue_items: overdue_items,
        peak_rss_mib: peak_rss_mib(),
    })
}

/// leadline's benchmarks: `cargo bench --bench leadline -- <which> ...`.
#[derive(Debug, clap::Parser)]
#[command(name = "leadline-bench")]
struct Cli {
    /// The configuration file; default: the embedded one.
    #[arg(long, global = true)]
    config: Option<std::path::PathBuf>,
    /// Print the figures as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Passed by `cargo bench`; nothing to do.
    #[arg(long, global = true, hide = true)]
    bench: bool,
    /// Which benchmark; without one (as `cargo test --all-targets` runs
    /// it) a small run of `journeys` checks that the benchmarks still work.
    #[command(subcommand)]
    which: Option<Which>,
}

#[derive(Debug, clap::Subcommand)]
enum Which {
    /// Command throughput and latency against bare sled, whole journeys
    /// (lead to paid invoice), and reads on a store of many leads.
    Journeys {
        /// Whole journeys (lead to paid invoice) to run.
        #[arg(long, default_value_t = 300)]
        journeys: usize,
        /// Leads in the store for the show/list measurement.
        #[arg(long, default_value_t = 100_000)]
        leads: usize,
        /// Where to put the benchmark stores (a fresh temporary folder if absent).
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
    /// The daemon: concurrent clients writing through the control socket on
    /// a store of many leads (seeded in --dir on the first run).
    Daemon {
        #[arg(long, default_value_t = 50)]
        clients: usize,
        #[arg(long, default_value_t = 100_000)]
        leads: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// The sled store's folder (not with --backend postgres).
        #[arg(long, required_unless_present = "backend")]
        dir: Option<std::path::PathBuf>,
        /// `postgres`: a throwaway cluster, pgbench on it in the same run.
        #[arg(long)]
        backend: Option<String>,
        /// Daemons sharing the database (PostgreSQL).
        #[arg(long, default_value_t = 1)]
        daemons: usize,
    },
    /// Documents: invoices (with --lines lines each) rendered to PDF/A-3
    /// with their Factur-X XML, one after the other in one process.
    Documents {
        #[arg(long, default_value_t = 1000)]
        invoices: usize,
        #[arg(long, default_value_t = 10)]
        lines: usize,
    },
    /// Reports (/pipeline, /report wonlost, revenue, funnel, aging) on a
    /// store of many leads and opportunities, a third of these won or lost;
    /// the baseline is one read of every opportunity (what a report
    /// without kept sums must do).
    Reports {
        #[arg(long, default_value_t = 30_000)]
        opportunities: usize,
        /// Leads in all (those not qualified stay open or are disqualified).
        #[arg(long, default_value_t = 100_000)]
        leads: usize,
        #[arg(long, default_value_t = 200)]
        probes: usize,
    },
    /// The web view: the pages (board, record, list, reports) served by
    /// the daemon's web server in this process, fetched by --clients
    /// clients at once over loopback for --seconds; the baseline is
    /// `/healthz` (a page that reads nothing) at the same load. With
    /// --chromium, also the time headless Chromium takes to load the
    /// board with 2,000 cards.
    Web {
        #[arg(long, default_value_t = 30_000)]
        opportunities: usize,
        #[arg(long, default_value_t = 100_000)]
        leads: usize,
        #[arg(long, default_value_t = 20)]
        clients: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        #[arg(long)]
        chromium: bool,
    },
    /// The scheduler: sweep and digests on a store of many activities
    /// (seeded in --dir on the first run, reused after).
    Scheduler {
        #[arg(long, default_value_t = 1_000_000)]
        activities: usize,
        #[arg(long, default_value_t = 100)]
        owners: usize,
        #[arg(long)]
        dir: std::path::PathBuf,
    },
}

fn print<T: Serialize + fmt::Display>(report: &T, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        println!("{report}");
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = <Cli as clap::Parser>::parse();
    let config = Config::load(cli.config.as_deref())?;
    let which = cli.which.unwrap_or(Which::Journeys {
        journeys: 2,
        leads: 20,
        dir: None,
    });
    match which {
        Which::Journeys {
            journeys,
            leads,
            dir,
        } => print(&run(&config, dir.as_deref(), journeys, leads)?, cli.json),
        Which::Daemon {
            clients,
            leads,
            seconds,
            dir,
            backend,
            daemons,
        } => match (backend.as_deref(), dir) {
            (Some("postgres"), _) => print(
                &daemon_postgres(&config, leads, clients, seconds, daemons)?,
                cli.json,
            ),
            (None | Some("sled"), Some(dir)) => print(
                &daemon(&config, &dir, leads, clients, seconds, &Backend::Sled)?,
                cli.json,
            ),
            (other, _) => anyhow::bail!("--backend {other:?}: give postgres, or sled with --dir"),
        },
        Which::Scheduler {
            activities,
            owners,
            dir,
        } => print(&scheduler(&config, &dir, activities, owners)?, cli.json),
        Which::Reports {
            opportunities,
            leads,
            probes,
        } => {
            let report = reports(&config, opportunities, leads, probes)?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                let base = report.first().map_or(1, |l| l.p50_us.max(1)) as f64;
                println!(
                    "reports on {} leads and {opportunities} opportunities (p99 target < 50 ms):",
                    leads.max(opportunities)
                );
                println!(
                    "{:<34} {:>8} {:>8} {:>8} {:>14}",
                    "", "p50 us", "p99 us", "max us", "p50/baseline"
                );
                for l in &report {
                    println!(
                        "{:<34} {:>8} {:>8} {:>8} {:>14.3}",
                        l.name,
                        l.p50_us,
                        l.p99_us,
                        l.max_us,
                        l.p50_us as f64 / base
                    );
                }
            }
            Ok(())
        }
        Which::Documents { invoices, lines } => {
            print(&documents(&config, invoices, lines)?, cli.json)
        }
        Which::Web {
            opportunities,
            leads,
            clients,
            seconds,
            chromium,
        } => print(
            &web(&config, opportunities, leads, clients, seconds, chromium)?,
            cli.json,
        ),
    }
}

#[path = "../tests/it/browser.rs"]
#[allow(dead_code)]
mod browser;

/// What the web view's pages cost under load.
#[derive(Debug, Serialize)]
pub struct WebReport {
    pub opportunities: usize,
    pub leads: usize,
    pub clients: usize,
    /// Per page: the server's time (its `Server-Timing`) with its p95,
    /// the figure to reach, and the p95 seen by the clients (with the
    /// loopback and the clients' own share of the two cores).
    pub pages: Vec<(Latency, u64, u64)>,
    /// Chromium: cards on the board, and the milliseconds from navigation
    /// to the load event.
    pub chromium_board: Option<(u64, f64)>,
}

impl fmt::Display for WebReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "web pages on {} leads and {} opportunities, {} clients at once (p95 target < 50 ms):",
            self.leads, self.opportunities, self.clients
        )?;
        writeln!(
            f,
            "{:<40} {:>7} {:>13} {:>13} {:>13} {:>16}",
            "", "count", "server p50 ms", "server p95 ms", "server p99 ms", "client p95 ms"
        )?;
        for (l, p95, client) in &self.pages {
            writeln!(
                f,
                "{:<40} {:>7} {:>13.1} {:>13.1} {:>13.1} {:>16.1}",
                l.name,
                l.count,
                l.p50_us as f64 / 1000.0,
                *p95 as f64 / 1000.0,
                l.p99_us as f64 / 1000.0,
                *client as f64 / 1000.0,
            )?;
        }
        if let Some((cards, ms)) = self.chromium_board {
            writeln!(
                f,
                "headless Chromium: the board with {cards} cards loads in {ms:.0} ms (target < 1000 ms)"
            )?;
        }
        Ok(())
    }
}

/// The address of a page for the n-th request.
type PagePath<'a> = Box<dyn Fn(usize) -> String + Sync + 'a>;

/// Serves the web view of a seeded store in this process and loads its
/// pages from `clients` threads at once.
fn web(
    base: &Config,
    opportunities: usize,
    leads: usize,
    clients: usize,
    seconds: f64,
    chromium: bool,
) -> anyhow::Result<WebReport> {
    use leadline::domain::Kind;
    let started = Instant::now();
    let (_dir, core) = seed_sales(base, opportunities, leads)?;
    eprintln!("seeded in {:.0} s", started.elapsed().as_secs_f64());
    let writer = core.start_writer()?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let served = core.clone();
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            leadline::web::serve(served, listener, None, stopped).await;
        });
    });
    // A session for rep00, signed in as a member is.
    let secret = leadline::command::access::secret().map_err(anyhow::Error::msg)?;
    core.run(leadline::core::Request::system(
        leadline::command::Command::WebLinkNew {
            member: "rep00".into(),
            digest: leadline::command::access::digest(&secret),
        },
        "bench",
        "rep00",
        "shell",
        chrono::Utc::now(),
    ))?;
    let base_url = format!("http://{addr}");
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(clients)
        .build()?;
    let signed = http
        .post(format!("{base_url}/signin"))
        .form(&[("token", secret.as_str())])
        .send()?;
    let cookie = signed
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("no session"))?
        .to_string();
    let r = &base.process;
    let opp = |i: usize| {
        r.show(
            Kind::Opportunity,
            r.numbering.format(Kind::Opportunity).first + (i % opportunities.max(1)) as u64,
        )
    };
    let pages: Vec<(&str, PagePath)> = vec![
        ("baseline: /healthz", Box::new(|_| "/healthz".to_string())),
        (
            "board (team, 40 cards a column)",
            Box::new(|_| "/board".to_string()),
        ),
        (
            "board (one owner)",
            Box::new(|i| format!("/board?owner=rep{:02}", i % 20)),
        ),
        (
            "record page of an opportunity",
            Box::new(move |i| format!("/record/{}", opp(i * 7919))),
        ),
        (
            "list: open opportunities",
            Box::new(|_| "/list/opportunity?state=open".to_string()),
        ),
        (
            "list: leads of one owner",
            Box::new(|i| format!("/list/lead?owner=rep{:02}", i % 20)),
        ),
        (
            "report: pipeline by stage (SVG)",
            Box::new(|_| "/reports/pipeline?by=stage".to_string()),
        ),
        (
            "report: revenue by account (SVG)",
            Box::new(|_| "/reports/revenue?by=account".to_string()),
        ),
        (
            "report: won/lost by reason (SVG)",
            Box::new(|_| "/reports/wonlost".to_string()),
        ),
    ];
    let mut out = Vec::new();
    for (name, path) in &pages {
        let samples = std::sync::Mutex::new(Vec::new());
        let until = Instant::now() + Duration::from_secs_f64(seconds / pages.len() as f64 * 2.0);
        std::thread::scope(|scope| {
            for c in 0..clients {
                let (http, cookie, samples, base_url) = (&http, &cookie, &samples, &base_url);
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    let mut i = c;
                    while Instant::now() < until {
                        let t = Instant::now();
                        let answer = http
                            .get(format!("{base_url}{}", path(i)))
                            .header("cookie", cookie.as_str())
                            .send()
                            .and_then(|r| {
                                let ok = r.status().is_success();
                                let server = r
                                    .headers()
                                    .get("server-timing")
                                    .and_then(|v| v.to_str().ok())
                                    .and_then(|v| v.strip_prefix("app;dur="))
                                    .and_then(|v| v.parse::<f64>().ok());
                                r.bytes().map(|_| (ok, server))
                            });
                        match answer {
                            Ok((true, Some(server))) => {
                                mine.push((Duration::from_secs_f64(server / 1000.0), t.elapsed()))
                            }
                            other => panic!("{name}: {other:?}"),
                        }
                        i += clients;
                    }
                    samples.lock().expect("samples").extend(mine);
                });
            }
        });
        let all: Vec<(Duration, Duration)> = samples.into_inner().expect("samples");
        let p95 = |mut v: Vec<Duration>| {
            v.sort();
            v.get(((v.len() as f64 - 1.0) * 0.95).round() as usize)
                .map_or(0, |d| d.as_micros() as u64)
        };
        let server: Vec<Duration> = all.iter().map(|s| s.0).collect();
        let client: Vec<Duration> = all.iter().map(|s| s.1).collect();
        out.push((Latency::of(name, server.clone()), p95(server), p95(client)));
    }
    let chromium_board = if chromium {
        let b = browser::Browser::start();
        // The session's cookie, set on the site before loading the board.
        b.goto(&format!("{base_url}/healthz"));
        let (name, value) = cookie.split_once('=').unwrap_or_default();
        b.run(&format!("document.cookie = '{name}={value}; path=/'"));
        let mut best = f64::MAX;
        let mut cards = 0;
        for _ in 0..3 {
            b.goto(&format!("{base_url}/board?cards=2000&owner="));
            let ms = b.run(
                "const t = performance.getEntriesByType('navigation')[0]; return [t.responseStart - t.startTime, t.responseEnd - t.startTime, t.domContentLoadedEventEnd - t.startTime, t.loadEventEnd - t.startTime, t.transferSize]",
            );
            eprintln!("chromium: first byte, last byte, DOM ready, loaded (ms), bytes: {ms}");
            best = best.min(ms[3].as_f64().unwrap_or(f64::MAX));
            cards = b.count(".card") as u64;
        }
        Some((cards, best))
    } else {
        None
    };
    let _ = stop.send(true);
    let _ = server.join();
    writer.stop();
    Ok(WebReport {
        opportunities,
        leads,
        clients,
        pages: out,
        chromium_board,
    })
}

/// What rendering documents costs.
#[derive(Debug, Serialize)]
pub struct DocumentsReport {
    pub invoices: usize,
    pub lines: usize,
    /// Making the invoices through the command path (not rendering).
    pub setup_secs: f64,
    /// The first document of the process: fonts, Typst's library, and a
    /// compilation with nothing cached yet.
    pub first_ms: f64,
    /// Every later one: PDF/A-3, Factur-X XML, XMP.
    pub render: Latency,
    pub mean_ms: f64,
    pub pdf_kib: f64,
}

impl fmt::Display for DocumentsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} invoices of {} lines made through the commands in {:.1} s",
            self.invoices, self.lines, self.setup_secs
        )?;
        writeln!(
            f,
            "first document (start-up: fonts, library, cold caches): {:.0} ms",
            self.first_ms
        )?;
        writeln!(
            f,
            "then per invoice (PDF/A-3 + Factur-X XML): mean {:.1} ms, p50 {:.1} ms, p99 {:.1} ms (target < 20 ms); {:.0} KiB each",
            self.mean_ms,
            self.render.p50_us as f64 / 1000.0,
            self.render.p99_us as f64 / 1000.0,
            self.pdf_kib
        )
    }
}

/// Makes `invoices` invoices of `lines` lines (each its own lead,
/// opportunity, quote and order, with varied quantities and discounts),
/// then renders each one's document and times it.
fn documents(base: &Config, invoices: usize, lines: usize) -> anyhow::Result<DocumentsReport> {
    use leadline::domain::{Kind, RecordId};
    let mut config = base.clone();
    if config.company.missing().is_some() {
        config.company = leadline::config::company::CompanyConfig {
            name: "Muster Büromöbel GmbH".into(),
            street: Some("Hauptstraße 1".into()),
            postal_code: Some("50667".into()),
            city: Some("Köln".into()),
            vat_id: Some("DE123456789".into()),
            iban: Some("DE02370501980001802057".into()),
            ..Default::default()
        };
    }
    let dir = tempfile::tempdir()?;
    let core = open(&config, &dir.path().join("store"))?;
    let me = config.team.default_user.clone();
    let now = chrono::Utc::now();
    let started = Instant::now();
    let run = |line: &str| exec(&core, line, &me, now, Durability::Deferred);
    run("/product new A name:\"Bürostuhl Ergo\" price:199.99 tax:19%")?;
    run("/product new B name:\"Handbuch Ergonomie\" price:24.50 tax:7%")?;
    run("/product new C name:\"Einweisung vor Ort\" price:480 tax:0%")?;
    let r = &config.process;
    let first = |kind| r.numbering.format(kind).first;
    for i in 0..invoices {
        run(&format!(
            "/lead new topic:\"Ausstattung {i}\" last:Kunde{i} company:\"Firma {i} GmbH\""
        ))?;
        let lead = r.show(Kind::Lead, first(Kind::Lead) + i as u64);
        run(&format!("/qualify {lead}"))?;
        let opp = r.show(Kind::Opportunity, first(Kind::Opportunity) + i as u64);
        for l in 0..lines {
            let sku = ["A", "B", "C"][(i + l) % 3];
            let discount = if (i + l) % 4 == 0 { " discount:5%" } else { "" };
            run(&format!(
                "/opp line add {opp} sku:{sku} quantity:{}{discount}",
                (i * 7 + l) % 20 + 1
            ))?;
        }
        let q = r.show(Kind::Quote, first(Kind::Quote) + i as u64);
        run(&format!("/quote new {opp}"))?;
        run(&format!("/quote activate {q}"))?;
        run(&format!("/quote win {q}"))?;
        let so = r.show(Kind::Order, first(Kind::Order) + i as u64);
        run(&format!("/order fulfil {so} reason:complete"))?;
        run(&format!("/order invoice {so}"))?;
    }
    core.flush()?;
    let setup_secs = started.elapsed().as_secs_f64();
    let number = |i: usize| RecordId::new(Kind::Invoice, first(Kind::Invoice) + i as u64);
    let t = Instant::now();
    let doc = leadline::documents::render(&core, number(0), now)?;
    let first_ms = t.elapsed().as_secs_f64() * 1000.0;
    let mut samples = Vec::with_capacity(invoices);
    let mut bytes = doc.pdf.len();
    let all = Instant::now();
    for i in 1..invoices {
        let t = Instant::now();
        let d = leadline::documents::render(&core, number(i), now)?;
        samples.push(t.elapsed());
        bytes += d.pdf.len();
        anyhow::ensure!(d.facturx.is_some(), "invoice {i} has no e-invoice");
    }
    let mean_ms = all.elapsed().as_secs_f64() * 1000.0 / (invoices.max(2) - 1) as f64;
    Ok(DocumentsReport {
        invoices,
        lines,
        setup_secs,
        first_ms,
        render: Latency::of("render", samples),
        mean_ms,
        pdf_kib: bytes as f64 / invoices.max(1) as f64 / 1024.0,
    })
}

/// Seeds `opportunities` opportunities over 20 owners (a line each, every
/// third won, every third lost, the rest open with an estimate,
/// probability and close month; every 30th won one quoted, ordered and
/// invoiced), then more leads up to `leads` (every fourth disqualified),
/// and times each report `probes` times, after the baseline: one read of
/// every opportunity.
fn reports(
    base: &Config,
    opportunities: usize,
    leads: usize,
    probes: usize,
) -> anyhow::Result<Vec<Latency>> {
    use leadline::domain::Kind;
    let (_dir, core) = seed_sales(base, opportunities, leads)?;
    let now = chrono::Utc::now();
    let mut out = Vec::new();
    // The baseline: every opportunity read once, as a report that keeps
    // no sums reads them.
    let mut samples = Vec::with_capacity(probes);
    for _ in 0..probes.min(20) {
        let t = Instant::now();
        let n = core.read(|tx| {
            tx.scan(
                &leadline::command::keys::records(Kind::Opportunity),
                None,
                false,
                usize::MAX,
            )
            .map(|rows| {
                rows.iter()
                    .filter(|(_, v)| {
                        serde_json::from_slice::<leadline::domain::opportunity::Opportunity>(v)
                            .is_ok()
                    })
                    .count()
            })
        })??;
        anyhow::ensure!(n == opportunities, "read {n} opportunities");
        samples.push(t.elapsed());
    }
    out.push(Latency::of("baseline: read every opportunity", samples));
    for line in [
        "/pipeline",
        "/pipeline by:owner",
        "/pipeline by:stage",
        "/pipeline owner:rep03",
        "/report wonlost",
        "/report wonlost by:owner from:2026-01-10 to:2026-06-20",
        "/report wonlost by:product",
        "/report revenue",
        "/report revenue by:quarter",
        "/report revenue by:account",
        "/report funnel",
        "/report funnel from:2025-03-10 to:2026-08-20",
        "/report aging",
    ] {
        let mut samples = Vec::with_capacity(probes);
        for _ in 0..probes {
            let t = Instant::now();
            exec(&core, line, "rep00", now, Durability::Flush)?;
            samples.push(t.elapsed());
        }
        out.push(Latency::of(line, samples));
    }
    Ok(out)
}

/// A store of `opportunities` opportunities over 20 owners (a line each,
/// every third won, every third lost, the rest open with an estimate,
/// probability and close month; every 30th won one quoted, ordered and
/// invoiced), then more leads up to `leads` (every fourth disqualified).
///
/// Fails when a command fails.
fn seed_sales(
    base: &Config,
    opportunities: usize,
    leads: usize,
) -> anyhow::Result<(tempfile::TempDir, Leadline)> {
    use leadline::domain::Kind;
    let mut config = base.clone();
    config.team.members = (0..20)
        .map(|i| leadline::config::Member {
            name: format!("rep{i:02}"),
            full_name: None,
            email: None,
            timezone: None,
            role: leadline::config::Role::Manager,
            discord_id: None,
            language: None,
        })
        .collect();
    let dir = tempfile::tempdir()?;
    let core = open(&config, &dir.path().join("store"))?;
    let now = chrono::Utc::now();
    let r = &config.process;
    let first = r.numbering.format(Kind::Opportunity).first;
    let lead_first = r.numbering.format(Kind::Lead).first;
    exec(
        &core,
        "/product new P name:Chair price:100 tax:19%",
        "rep00",
        now,
        Durability::Deferred,
    )?;
    let reasons = r.reasons.opportunity_lost.clone();
    let (mut quotes, mut orders) = (0u64, 0u64);
    // Spread over two years, as a team's history is.
    let day = |i: usize| now - chrono::Duration::days((i * 7 % 730) as i64);
    for i in 0..opportunities {
        let me = format!("rep{:02}", i % 20);
        let run = |line: &str| exec(&core, line, &me, day(i), Durability::Deferred);
        run(&format!(
            "/lead new topic:Deal{i} last:L{i} company:\"Firma {i}\""
        ))?;
        run(&format!(
            "/qualify {}",
            r.show(Kind::Lead, lead_first + i as u64)
        ))?;
        let opp = r.show(Kind::Opportunity, first + i as u64);
        run(&format!(
            "/opp edit {opp} revenue:{} probability:{} close:2027-{:02}-15",
            1000 + i % 5000,
            i % 100,
            i % 12 + 1
        ))?;
        run(&format!("/opp line add {opp} sku:P qty:{}", i % 9 + 1))?;
        match i % 3 {
            0 if i % 30 == 0 => {
                run(&format!("/quote new {opp}"))?;
                let q = r.show(Kind::Quote, r.numbering.format(Kind::Quote).first + quotes);
                quotes += 1;
                run(&format!("/quote activate {q}"))?;
                run(&format!("/quote win {q}"))?;
                let so = r.show(Kind::Order, r.numbering.format(Kind::Order).first + orders);
                orders += 1;
                run(&format!("/order fulfil {so} reason:complete"))?;
                run(&format!("/order invoice {so}"))?;
            }
            0 => {
                run(&format!("/opp win {opp}"))?;
            }
            1 => {
                let reason = reasons
                    .get(i % reasons.len().max(1))
                    .cloned()
                    .unwrap_or_default();
                run(&format!(
                    "/opp lose {opp} reason:\"{reason}\" competitor:C{}",
                    i % 7
                ))?;
            }
            _ => {}
        }
    }
    let disqualify = r
        .reasons
        .lead_disqualify
        .first()
        .cloned()
        .unwrap_or_default();
    for i in opportunities..leads {
        let me = format!("rep{:02}", i % 20);
        let run = |line: &str| exec(&core, line, &me, day(i), Durability::Deferred);
        run(&format!(
            "/lead new topic:Lead{i} last:L{i} company:\"Firma {i}\""
        ))?;
        if i % 4 == 0 {
            run(&format!(
                "/disqualify {} reason:\"{disqualify}\"",
                r.show(Kind::Lead, lead_first + i as u64)
            ))?;
        }
    }
    core.flush()?;
    Ok((dir, core))
}
