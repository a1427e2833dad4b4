//! Durability: a process killed with SIGKILL while commands stream in loses
//! no acknowledged change and leaves no half-made record.
//!
//! `leadline shell` prints each reply only after the command's batch is
//! applied and flushed, so every reply line read here is an acknowledged
//! change. Qualify writes a lead, contact, account and opportunity in one
//! batch: after the kill, either all of them exist or none.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use crate::helpers::{all, check_invariants, Bin};
use leadline::config::Config;
use leadline::domain::lead::{Lead, LeadState};
use leadline::domain::Kind;
use leadline::store::{Store, StoreOptions};

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
