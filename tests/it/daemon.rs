//! The daemon, `leadline run`: commands through its control socket, status,
//! graceful shutdown and SIGKILL with work in flight, group commit.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::helpers::{all, check_invariants, Bin};
use leadline::daemon::client::Client;
use leadline::daemon::Request;
use leadline::domain::lead::Lead;
use leadline::domain::Kind;

pub struct Daemon {
    child: Child,
    pub lines: std::sync::mpsc::Receiver<String>,
    /// What it logged until it ran (which parts are on, and why not).
    pub started: Vec<String>,
}

impl Daemon {
    pub fn start(b: &Bin) -> Daemon {
        Daemon::start_with(b.command())
    }

    /// Starts `leadline run` from `cmd` (e.g. with a config) and waits
    /// until it runs.
    pub fn start_with(mut cmd: std::process::Command) -> Daemon {
        cmd.arg("run");
        let mut d = Daemon::spawn(cmd);
        d.started = d.wait_for("leadline is running");
        d
    }

    /// Starts a long-running `leadline` command (`run`, `ingest`), its
    /// output lines read as they come.
    pub fn spawn(mut cmd: std::process::Command) -> Daemon {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn leadline");
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Daemon {
            child,
            lines,
            started: Vec::new(),
        }
    }

    /// The lines up to the first that holds `needle` (which is last).
    pub fn wait_for(&self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(15);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let hit = l.contains(needle);
                    seen.push(l);
                    if hit {
                        return seen;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no line with '{needle}': {seen:?}");
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok);
    }

    pub fn wait(&mut self, secs: u64) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "leadline did not stop within {secs} s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ask(c: &mut Client, line: &str) -> serde_json::Value {
    c.request(&Request {
        cmd: Some(line.to_string()),
        ..Default::default()
    })
    .expect("request")
}

#[test]
fn commands_go_through_the_control_socket_while_the_daemon_runs() {
    let b = Bin::new();
    let mut d = Daemon::start(&b);
    // At start it says which parts run, and why the others are off.
    for part in [
        "scheduler: on",
        "mail ingest: off, no [[mail.accounts]] configured",
        "outbox sender: off, no [mail.smtp] configured",
        "discord: off, no token set",
    ] {
        assert!(
            d.started.iter().any(|l| l.contains(part)),
            "{part} in {:?}",
            d.started
        );
    }
    // The shell's commands reach the daemon; the store stays the daemon's.
    assert!(b
        .ok("/lead new topic:Chairs last:Schmidt")
        .contains("Created L-1001"));
    assert!(b.ok("/qualify L-1001").contains("opportunity O-1001"));
    let err = b.fails("/qualify L-1001", 1);
    assert!(err.contains("it is qualified"), "{err}");
    b.fails("/frobnicate", 2);
    let out = b.run(&["--json", "cmd", "/show L-1001"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["data"]["state"], "qualified");
    // Only the daemon's user may use the socket.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(b.data().join("leadline.sock"))
            .expect("socket")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let status = String::from_utf8_lossy(&b.run(&["status"]).stdout).to_string();
    assert!(
        status.contains("\"scheduler\"")
            && status.contains("\"discord\"")
            && status.contains("\"outbox\""),
        "{status}"
    );
    // The scheduler answers through the daemon too.
    let out = b.run(&["--now", "2026-12-01T09:00:00Z", "tick"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let digest = String::from_utf8_lossy(
        &b.run(&["--now", "2026-12-01T09:00:00Z", "digest", "me"])
            .stdout,
    )
    .to_string();
    assert!(
        digest.starts_with("Subject: leadline digest for me, 2026-12-01")
            && digest.contains("open opportunities: 1"),
        "{digest}"
    );
    // Imports go through the daemon too.
    let csv = b.file("l.csv", "Topic,Last Name\nImported,Y\n");
    let out = b.run(&["import", "leads", csv.to_str().expect("utf-8")]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("imported 1, duplicates 0, failed 0"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(b.ok("/show L-1002").contains("Imported"));
    // What the daemon does on its own (ingest, sending) is refused by hand, clearly.
    let out = b.run(&["ingest", "--once"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a leadline daemon runs on"));
    let out = b.run(&["--as", "nobody at all", "cmd", "/list leads"]);
    assert!(out.status.success(), "without a team every name may act");
    d.signal("-TERM");
    assert!(d.wait(10).success());
    assert!(
        !b.data().join("leadline.sock").exists(),
        "the socket is removed"
    );
    // Without the daemon, the shell opens the store itself: all is there.
    assert!(b.ok("/show O-1001").contains("Chairs"));
}

/// Clients stream `lead new` commands until told to stop; returns the
/// acknowledged topics.
fn stream(
    b: &Bin,
    clients: usize,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<String>>> {
    (0..clients)
        .map(|c| {
            let data = b.data();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let Some(mut client) = Client::connect(&data) else {
                    return acked;
                };
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let topic = format!("C{c}N{i}");
                    match client.request(&Request {
                        cmd: Some(format!("/lead new topic:{topic} last:X company:Co{c}")),
                        ..Default::default()
                    }) {
                        Ok(v) if v["ok"] == true => acked.push(topic),
                        _ => break,
                    }
                }
                acked
            })
        })
        .collect()
}

fn check_acked(b: &Bin, acked: &[String]) {
    let store = b.store();
    check_invariants(&store, &leadline::config::Config::embedded().process);
    let leads: Vec<Lead> = all(&store, Kind::Lead);
    let topics: std::collections::BTreeSet<&str> = leads.iter().map(|l| l.topic.as_str()).collect();
    for t in acked {
        assert!(
            topics.contains(t.as_str()),
            "acknowledged lead {t} was lost"
        );
    }
}

#[test]
fn a_graceful_stop_with_work_in_flight_loses_nothing() {
    let b = Bin::new();
    let mut d = Daemon::start(&b);
    let stop = Arc::new(AtomicBool::new(false));
    let workers = stream(&b, 8, stop.clone());
    std::thread::sleep(Duration::from_millis(700));
    d.signal("-TERM");
    let status = d.wait(10);
    stop.store(true, Ordering::Relaxed);
    let acked: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("worker"))
        .collect();
    assert!(status.success(), "{status:?}");
    assert!(
        acked.len() > 50,
        "the clients got work done: {}",
        acked.len()
    );
    check_acked(&b, &acked);
}

#[test]
fn sigkill_during_a_stream_of_commands_loses_no_acknowledged_one() {
    let b = Bin::new();
    let mut d = Daemon::start(&b);
    let stop = Arc::new(AtomicBool::new(false));
    let workers = stream(&b, 8, stop.clone());
    std::thread::sleep(Duration::from_millis(700));
    d.signal("-KILL");
    d.wait(5);
    stop.store(true, Ordering::Relaxed);
    let acked: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("worker"))
        .collect();
    assert!(acked.len() > 50, "{}", acked.len());
    let _ = std::fs::remove_file(b.data().join("leadline.sock"));
    check_acked(&b, &acked);
}

#[test]
fn concurrent_writes_are_committed_in_groups() {
    let b = Bin::new();
    let _d = Daemon::start(&b);
    let stop = Arc::new(AtomicBool::new(false));
    let workers = stream(&b, 16, stop.clone());
    std::thread::sleep(Duration::from_millis(800));
    stop.store(true, Ordering::Relaxed);
    let acked: usize = workers
        .into_iter()
        .map(|w| w.join().expect("worker").len())
        .sum();
    let mut c = Client::connect(&b.data()).expect("daemon");
    let status = c
        .request(&Request {
            status: true,
            ..Default::default()
        })
        .expect("status");
    let commits = status["status"]["commits"].as_u64().expect("commits");
    let written = status["status"]["commands_written"]
        .as_u64()
        .expect("written");
    assert!(
        written as usize >= acked && acked > 100,
        "{written} {acked}"
    );
    assert!(
        commits < written,
        "one flush served several commands: {commits} flushes for {written} commands"
    );
    let v = ask(&mut c, "/list leads limit:1");
    assert_eq!(v["ok"], true);
}

#[test]
fn an_unknown_member_is_refused_through_the_socket() {
    let b = Bin::new();
    let cfg = b.file(
        "team.toml",
        "[team]\ndefault_user = \"maria\"\n[[team.members]]\nname = \"maria\"\n",
    );
    let mut d = Daemon::start_with(b.configured(&cfg));
    let mut c = Client::connect(&b.data()).expect("daemon");
    let v = c
        .request(&Request {
            cmd: Some("/lead new topic:X last:Y".into()),
            actor: Some("mallory".into()),
            ..Default::default()
        })
        .expect("answer");
    assert_eq!(v["ok"], false);
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("'mallory' is not on the team")),
        "{v}"
    );
    let v = ask(&mut c, "/list leads");
    assert!(
        v["reply"].as_str().is_some_and(|r| r.contains("No leads")),
        "{v}"
    );
    // A digest for someone off the team is refused the same way.
    let v = c
        .request(&Request {
            digest: Some("mallory".into()),
            ..Default::default()
        })
        .expect("answer");
    assert_eq!(v["error"], "invalid", "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("'mallory' is not on the team")),
        "{v}"
    );
    d.signal("-TERM");
    assert!(d.wait(10).success());
}

#[test]
fn an_oversized_request_is_refused_and_the_daemon_keeps_answering() {
    use std::io::{BufRead, Write};
    let b = Bin::new();
    let _d = Daemon::start(&b);
    let path = leadline::daemon::socket_path(&b.data());
    let stream = std::os::unix::net::UnixStream::connect(&path).expect("connect");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    // 65 MiB without a line break, written while the daemon answers.
    let mut writer = stream;
    let sending = std::thread::spawn(move || {
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..65 {
            if writer.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = writer.write_all(b"\n");
    });
    let mut answer = String::new();
    reader.read_line(&mut answer).expect("an answer");
    let v: serde_json::Value = serde_json::from_str(&answer).expect("json");
    assert_eq!(v["ok"], false, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("at most 64 MiB"),
        "{v}"
    );
    let _ = sending.join();
    // Other clients are answered as before.
    let mut client = Client::connect(&b.data()).expect("daemon still listens");
    let v = client
        .request(&Request {
            cmd: Some("/help".into()),
            ..Default::default()
        })
        .expect("answer");
    assert_eq!(v["ok"], true, "{v}");
}

/// CPU seconds (user + system) process `pid` has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // The fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap_or(0.0) + f[12].parse::<f64>().unwrap_or(0.0);
    ticks / 100.0
}

#[test]
fn many_idle_connections_neither_lock_out_a_command_nor_spin_the_daemon() {
    // This process holds 1,100 connections: it needs more than 1,024 files.
    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Nofile,
        rustix::process::Rlimit {
            current: nofile.maximum,
            maximum: nofile.maximum,
        },
    );
    let b = Bin::new();
    // The daemon gets the usual limit of 1,024 open files, soft and hard.
    let d = Daemon::start_with(b.through_shell("ulimit -n 1024 &&"));
    let said = d.started.join("\n");
    assert!(said.contains("at most 896 connections"), "{said}");
    let path = leadline::daemon::socket_path(&b.data());
    let idle: Vec<std::os::unix::net::UnixStream> = (0..1100)
        .map(|_| std::os::unix::net::UnixStream::connect(&path).expect("connect"))
        .collect();
    // A person's command still gets in and is answered.
    let started = Instant::now();
    let out = b.run(&["cmd", "/lead new topic:Chairs last:Schmidt"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // The daemon does not spin while they stay open.
    let pid = d.child.id();
    let before = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_seconds(pid) - before;
    assert!(
        used < 0.5,
        "the daemon used {used} s of CPU in 2 s while idle"
    );
    let status = b.run(&["--json", "status"]);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status json");
    let open = v["control_socket"]["connections"].as_u64().unwrap_or(0);
    assert!((1..=896).contains(&open), "{v}");
    // The oldest idle connections were closed to make room.
    let closed = idle
        .iter()
        .filter(|s| {
            s.set_nonblocking(true).expect("nonblocking");
            // The daemon's last line says it closed the connection.
            let mut buf = [0u8; 512];
            match std::io::Read::read(&mut &**s, &mut buf) {
                Ok(n) => String::from_utf8_lossy(&buf[..n]).contains("\"closed\""),
                Err(_) => false,
            }
        })
        .count();
    assert!(closed >= 204, "only {closed} idle connections were closed");
}

#[test]
fn restarts_start_first_time_while_one_shot_commands_use_the_store() {
    let b = Bin::new();
    b.ok("/lead new topic:Chairs last:Schmidt");
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        // One-shot commands without pause: in-process while the daemon is
        // down, through it while it runs, waiting while it starts or stops.
        let shots = s.spawn(|| {
            let mut done = 0;
            while !stop.load(Ordering::Relaxed) {
                let out = b.run(&["cmd", "/show L-1001"]);
                assert!(
                    out.status.success(),
                    "a one-shot command failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                done += 1;
            }
            done
        });
        // Stops the one-shot loop also when a round below fails.
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let guard = Stop(&stop);
        for round in 0..15 {
            let mut d = Daemon::start(&b);
            b.ok(&format!("/note L-1001 round {round}"));
            d.signal("-TERM");
            assert!(d.wait(15).success(), "round {round}");
        }
        drop(guard);
        let done = shots.join().expect("one-shot thread");
        assert!(done >= 15, "only {done} one-shot commands ran");
    });
    let shown = b.ok("/timeline L-1001");
    assert!(shown.contains("round 14"), "{shown}");
}

#[test]
fn systemd_hears_ready_watchdog_pings_and_stopping() {
    let b = Bin::new();
    let path = b.dir.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&path).expect("notify socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // systemd names the process the watchdog is for: the shell's pid is
    // the daemon's after exec.
    let mut cmd = b.through_shell("WATCHDOG_PID=$$");
    cmd.env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "300000");
    let mut d = Daemon::start_with(cmd);
    let mut said = Vec::new();
    let mut buf = [0u8; 256];
    while said
        .iter()
        .filter(|s: &&String| s.contains("WATCHDOG=1"))
        .count()
        < 3
    {
        let n = socket.recv(&mut buf).expect("a notification");
        said.push(String::from_utf8_lossy(&buf[..n]).to_string());
    }
    assert_eq!(said[0].trim(), "READY=1", "{said:?}");
    // Ready means it answers.
    assert!(b.ok("/help").contains("/lead"));
    d.signal("-TERM");
    loop {
        let n = socket.recv(&mut buf).expect("STOPPING=1 before it ends");
        if String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1") {
            break;
        }
    }
    assert!(d.wait(10).success());
}

#[test]
fn sighup_puts_a_new_configuration_in_force_and_refuses_a_broken_one() {
    let b = Bin::new();
    let team = |members: &[&str]| {
        let mut t = "[team]\ndefault_user = \"maria\"\n".to_string();
        for m in members {
            t.push_str(&format!("[[team.members]]\nname = \"{m}\"\n"));
        }
        t
    };
    let cfg = b.file("team.toml", &team(&["maria"]));
    let d = Daemon::start_with(b.configured(&cfg));
    let as_jonas = || {
        b.configured(&cfg)
            .args(["--as", "jonas", "cmd", "/lead new topic:Desks last:Weber"])
            .output()
            .expect("run")
    };
    assert_eq!(
        as_jonas().status.code(),
        Some(2),
        "jonas is not on the team yet"
    );

    std::fs::write(&cfg, team(&["maria", "jonas"])).expect("rewrite");
    d.signal("-HUP");
    d.wait_for("configuration reloaded (2 team member(s)");
    let out = as_jonas();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A broken file: refused with its line; the configuration in force stays.
    std::fs::write(
        &cfg,
        format!(
            "{}\n[process]\npayment_days = 100000000\n",
            team(&["maria"])
        ),
    )
    .expect("rewrite");
    d.signal("-HUP");
    let said = d.wait_for("was not reloaded").join("\n");
    assert!(
        said.contains("line 7") && said.contains("payment_days"),
        "{said}"
    );
    // (Through the socket: the command line itself reads the broken file.)
    let mut c = Client::connect(&b.data()).expect("daemon");
    let v = c
        .request(&Request {
            cmd: Some("/lead new topic:Chairs last:Schulz".into()),
            actor: Some("jonas".into()),
            ..Default::default()
        })
        .expect("answer");
    assert_eq!(v["ok"], true, "the old configuration stays in force: {v}");
    let v = c
        .request(&Request {
            status: true,
            ..Default::default()
        })
        .expect("status");
    assert!(
        v["status"]["config"]["last_reload_error"]
            .as_str()
            .unwrap_or("")
            .contains("payment_days"),
        "{v}"
    );
}

#[test]
fn a_new_time_zone_by_sighup_builds_the_report_sums_again_and_reports_go_on() {
    let b = Bin::new();
    let team = |zone: &str| {
        format!("[team]\ndefault_user = \"maria\"\ntimezone = \"{zone}\"\n[[team.members]]\nname = \"maria\"\n")
    };
    let cfg = b.file("team.toml", &team("Europe/Berlin"));
    let d = Daemon::start_with(b.configured(&cfg));
    let mut c = Client::connect(&b.data()).expect("daemon");
    let mut ask = |cmd: &str| {
        c.request(&Request {
            cmd: Some(cmd.into()),
            data: true,
            ..Default::default()
        })
        .expect("answer")
    };
    assert_eq!(ask("/lead new topic:Chairs last:Schmidt")["ok"], true);
    assert_eq!(ask("/report funnel")["data"]["leads"], 1);

    // Days are counted in the team's zone: a new zone builds the sums
    // again before the reload is done, and reports answer on them.
    std::fs::write(&cfg, team("Pacific/Kiritimati")).expect("rewrite");
    d.signal("-HUP");
    let said = d.wait_for("configuration reloaded").join("\n");
    assert!(
        said.contains("built the report sums from 1 records"),
        "{said}"
    );
    let funnel = ask("/report funnel");
    assert_eq!(funnel["ok"], true, "{funnel}");
    assert_eq!(funnel["data"]["leads"], 1, "{funnel}");
}
