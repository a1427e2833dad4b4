//! Durability: a process killed with SIGKILL while commands stream in loses
//! no acknowledged change and leaves no half-made record.
//!
//! `leadline shell` prints each reply only after the command's batch is
//! applied and flushed, so every reply line read here is an acknowledged
//! change. Qualify writes a lead, contact, account and opportunity in one
//! batch: after the kill, either all of them exist or none.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use crate::helpers::Store;
use crate::helpers::{all, check_invariants, Bin};
use leadline::config::Config;
use leadline::domain::lead::{Lead, LeadState};
use leadline::domain::Kind;
use leadline::store::embedded::StoreOptions;

/// Streams commands into `leadline shell` and kills it after `acks` replies;
/// returns the acknowledged command lines.
fn stream_and_kill(b: &Bin, first_lead: u64, count: u64, acks: usize) -> Vec<String> {
    let mut child = b
        .command()
        .arg("shell")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn leadline shell");
    let mut stdin = child.stdin.take().expect("stdin");
    let commands: Vec<String> = (first_lead..first_lead + count)
        .flat_map(|n| {
            [
                format!("/lead new topic:\"T{n}\" last:L{n} company:\"Company {n}\" email:p{n}@c{n}.example"),
                format!("/qualify L-{n}"),
            ]
        })
        .collect();
    let feed = commands.clone();
    let writer = std::thread::spawn(move || {
        for c in feed {
            if writeln!(stdin, "{c}").is_err() {
                break;
            }
        }
    });
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut acked = Vec::new();
    let mut line = String::new();
    while acked.len() < acks {
        line.clear();
        if reader.read_line(&mut line).expect("read reply") == 0 {
            break;
        }
        acked.push(commands[acked.len()].clone());
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let _ = writer.join();
    acked
}

#[test]
fn killing_the_process_mid_stream_loses_no_acknowledged_command_and_no_half_records() {
    let b = Bin::new();
    let config = Config::embedded();
    let mut next_lead = 1001;
    let mut acked_total: Vec<String> = Vec::new();
    // Kill after different numbers of replies, odd ones in the middle of a
    // lead/qualify pair, continuing on the same store each time.
    for acks in [37usize, 120, 251] {
        let acked = stream_and_kill(&b, next_lead, 400, acks);
        assert_eq!(
            acked.len(),
            acks,
            "the process replied to fewer commands than expected"
        );
        acked_total.extend(acked);
        let store = Store::open(&StoreOptions::new(b.data())).expect("reopen after kill");
        check_invariants(&store, &config.process);
        let leads: Vec<Lead> = all(&store, Kind::Lead);
        for cmd in &acked_total {
            if let Some(rest) = cmd.strip_prefix("/qualify L-") {
                let n: u64 = rest.parse().expect("number");
                let lead = leads
                    .iter()
                    .find(|l| l.number == n)
                    .unwrap_or_else(|| panic!("acknowledged lead {n} lost"));
                assert!(
                    matches!(lead.state, LeadState::Qualified { .. }),
                    "acknowledged qualify of L-{n} lost"
                );
            } else if let Some(t) = cmd.split("topic:\"T").nth(1) {
                let n: u64 = t
                    .split('"')
                    .next()
                    .and_then(|x| x.parse().ok())
                    .expect("number");
                assert!(
                    leads.iter().any(|l| l.topic == format!("T{n}")),
                    "acknowledged lead T{n} lost"
                );
            }
        }
        // Commands past the last reply may or may not have landed; number
        // the next round after whatever did.
        next_lead = leads.iter().map(|l| l.number).max().map_or(1001, |m| m + 1);
        drop(store);
    }
}

/// How many one-shot writers the kill test kills: `LEADLINE_CRASH_KILLS`
/// (`scripts/crash-test` runs 1,000), 150 in the normal suite.
fn kills() -> usize {
    std::env::var("LEADLINE_CRASH_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(150)
}

/// A small xorshift: the kill moments differ from run to run, and a failure
/// prints the seed that reproduces it (`LEADLINE_CRASH_SEED`).
struct Moments(u64);

impl Moments {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
fn one_shot_writers_killed_at_random_moments_never_leave_a_store_that_will_not_open() {
    let b = Bin::new();
    let config = Config::embedded();
    let seed = std::env::var("LEADLINE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    let mut moments = Moments(seed);
    // How long one writer takes, uninterrupted, on this machine and build:
    // the kills fall anywhere from its start to a little past its end.
    let started = std::time::Instant::now();
    assert!(b.run(&["cmd", "/list leads"]).status.success());
    let span = (started.elapsed().as_micros() as u64 * 13 / 10).max(1_000);
    // Acknowledged changes: topics of new leads, numbers of qualified leads.
    let mut acked_topics: Vec<String> = Vec::new();
    let mut acked_qualified: Vec<u64> = Vec::new();
    let mut open_lead: Option<u64> = None;
    let (mut acked, mut cut, mut leftovers) = (0, 0, 0);
    for round in 0..kills() {
        let line = match open_lead {
            Some(n) => format!("/qualify L-{n}"),
            None => format!("/lead new topic:\"K{round}\" last:K{round} company:\"Firm {round}\""),
        };
        let child = b
            .command()
            .args(["cmd", &line])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn leadline cmd");
        // Anywhere from before the store is open to after the reply.
        std::thread::sleep(std::time::Duration::from_micros(moments.next(span)));
        let signal = ["-KILL", "-KILL", "-TERM", "-INT"][moments.next(4) as usize];
        let _ = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status();
        let out = child.wait_with_output().expect("wait");
        if out.status.success() {
            acked += 1;
            match open_lead {
                Some(n) => acked_qualified.push(n),
                None => acked_topics.push(format!("K{round}")),
            }
        } else {
            cut += 1;
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                !err.contains("cannot open the store"),
                "seed {seed}, round {round}: the store would not open: {err}"
            );
        }
        let unfinished = std::fs::read_dir(b.data())
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".generating"))
                    .count()
            })
            .unwrap_or(0);
        leftovers += unfinished;
        // The restart: the store opens, keeps every acknowledged change, and
        // no qualify is half-applied.
        let store = Store::open(&StoreOptions::new(b.data()))
            .unwrap_or_else(|e| panic!("seed {seed}, round {round}: reopen failed: {e}"));
        check_invariants(&store, &config.process);
        let leads: Vec<Lead> = all(&store, Kind::Lead);
        for t in &acked_topics {
            assert!(
                leads.iter().any(|l| &l.topic == t),
                "seed {seed}: acknowledged lead {t} lost"
            );
        }
        for n in &acked_qualified {
            assert!(
                leads
                    .iter()
                    .any(|l| l.number == *n && matches!(l.state, LeadState::Qualified { .. })),
                "seed {seed}: acknowledged qualify of L-{n} lost"
            );
        }
        open_lead = leads
            .iter()
            .filter(|l| matches!(l.state, LeadState::Open { .. }))
            .map(|l| l.number)
            .max();
        drop(store);
    }
    // Both kinds of ending happened, or the moments were badly chosen.
    assert!(acked > 0 && cut > 0, "acked {acked}, cut {cut}");
    eprintln!(
        "seed {seed}: {acked} acknowledged, {cut} cut short, {leftovers} unfinished snapshots left and cleared"
    );
}
