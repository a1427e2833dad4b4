//! Throwaway PostgreSQL clusters for the tests: Debian's `postgresql`
//! (the test command installs it), `initdb` and `pg_ctl` in a temporary
//! folder, on a free port on 127.0.0.1, as the `postgres` user when the
//! tests run as root (PostgreSQL refuses root). Stopped when dropped; the
//! suite's shared cluster ([`shared`]) is stopped by a watchdog when the
//! test process ends. The benchmarks use it too (`--backend postgres`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Whether the command suite runs on PostgreSQL (`LEADLINE_TEST_BACKEND=postgres`).
pub fn selected() -> bool {
    std::env::var("LEADLINE_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// A running cluster.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
    stopped: std::sync::atomic::AtomicBool,
}

/// Where Debian keeps PostgreSQL's programs (the newest version there),
/// else the PATH.
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|b| b.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().unwrap_or_default()
}

/// A free port on 127.0.0.1 (bound, then let go).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The user or group id (`flag`: `-u`, `-g`) of the system user `user`,
/// which the test command creates or installs.
pub fn system_id(flag: &str, user: &str) -> u32 {
    let out = Command::new("id")
        .args([flag, user])
        .output()
        .unwrap_or_else(|e| panic!("id {user}: {e}"));
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("the {user} user exists (the test command makes it)"))
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `program` from PostgreSQL's folder, as the `postgres` user when root.
pub fn pg_command(program: &str) -> Command {
    let path = bin_dir().join(program);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    }
}

fn checked(mut c: Command, what: &str) -> Output {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A folder the `postgres` user owns (when root).
fn owned_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("leadline-pg-")
        .tempdir()
        .expect("temp dir");
    if is_root() {
        let (uid, gid) = (system_id("-u", "postgres"), system_id("-g", "postgres"));
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown");
    }
    dir
}

impl Cluster {
    /// `initdb` and start a cluster; `settings` are extra `-c` settings
    /// (`fsync=off` for the fast command suite).
    pub fn start(settings: &[&str]) -> Cluster {
        let dir = owned_dir();
        let data = dir.path().join("data");
        let mut init = pg_command("initdb");
        init.arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-locale",
        ]);
        checked(init, "initdb");
        let port = free_port();
        let cluster = Cluster {
            dir,
            port,
            bin: bin_dir(),
            stopped: false.into(),
        };
        cluster.start_again(settings);
        let mut create = cluster.client("createdb");
        create.arg("leadline");
        checked(create, "createdb");
        cluster
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A client `program` (`psql`, `createdb`, `pgbench`) pointed at this
    /// cluster as the `postgres` user.
    pub fn client(&self, program: &str) -> Command {
        let mut c = pg_command(program);
        c.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
        ]);
        c
    }

    /// Starts the (stopped) cluster again.
    pub fn start_again(&self, settings: &[&str]) {
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
            self.port,
            self.dir.path().display()
        );
        for s in settings {
            options.push_str(&format!(" -c {s}"));
        }
        let mut start = pg_command("pg_ctl");
        start
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]);
        checked(start, "pg_ctl start");
        self.stopped.store(false, Ordering::SeqCst);
    }

    /// Stops it (`mode`: `fast`, `immediate`: a crash).
    pub fn stop(&self, mode: &str) {
        let mut stop = pg_command("pg_ctl");
        stop.arg("-D")
            .arg(self.data())
            .args(["-m", mode, "-w", "stop"]);
        let _ = stop.output();
        self.stopped.store(true, Ordering::SeqCst);
    }

    /// The connection string of database `db`, optionally in `schema`.
    pub fn url(&self, db: &str, schema: Option<&str>) -> String {
        let mut url = format!(
            "host=127.0.0.1 port={} user=postgres dbname={db}",
            self.port
        );
        if let Some(s) = schema {
            url.push_str(&format!(" options='-c search_path={s}'"));
        }
        url
    }

    /// Runs `sql` with psql on database `db` and returns its unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let mut c = self.client("psql");
        c.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            db,
            "-c",
            sql,
        ]);
        String::from_utf8_lossy(&checked(c, &format!("psql {sql}")).stdout)
            .trim_end()
            .to_string()
    }

    /// A fresh, empty schema in database `leadline`; its connection string.
    pub fn fresh(&self) -> String {
        static N: AtomicU64 = AtomicU64::new(0);
        let schema = format!(
            "t{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        self.psql("leadline", &format!("CREATE SCHEMA {schema}"));
        self.url("leadline", Some(&schema))
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.stopped.load(Ordering::SeqCst) {
            self.stop("immediate");
        }
    }
}

/// The cluster the command suite shares (fast settings: its tests are
/// about behaviour, the crash tests start clusters of their own), started
/// once; a watchdog stops it and removes its folder when this test
/// process ends.
pub fn shared() -> &'static Cluster {
    static SHARED: OnceLock<Cluster> = OnceLock::new();
    SHARED.get_or_init(|| {
        let cluster = Cluster::start(&[
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
        ]);
        let stop = format!(
            "{runas}{bin}/pg_ctl -D {data} -m immediate stop >/dev/null 2>&1",
            runas = if is_root() {
                "runuser -u postgres -- "
            } else {
                ""
            },
            bin = cluster.bin.display(),
            data = cluster.data().display()
        );
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop}; rm -rf {dir}",
            pid = std::process::id(),
            dir = cluster.path().display()
        );
        // Detached on purpose: it outlives this process to clean up after it.
        #[allow(clippy::zombie_processes)]
        let _watchdog = Command::new("setsid")
            .args(["sh", "-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the cluster's watchdog");
        cluster
    })
}
