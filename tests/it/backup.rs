//! `leadline backup` while the daemon takes writes from 8 clients, and
//! `leadline restore` into a fresh folder: the restored store is one
//! consistent moment of the live one, record for record; a cut or altered
//! file is refused before anything is written.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::daemon::Daemon;
use crate::helpers::{all, check_invariants, stdout_of, Bin, Store};
use leadline::daemon::client::Client;
use leadline::daemon::Request;
use leadline::domain::lead::Lead;
use leadline::domain::Kind;
use leadline::store::embedded::StoreOptions;

/// What one writer had acknowledged: lead topics, in order.
type Acked = Arc<Mutex<Vec<String>>>;

/// A client that makes leads and qualifies every other one (a qualify
/// writes four records at once) until told to stop.
fn writer(b: &Bin, c: usize, stop: Arc<AtomicBool>, acked: Acked) -> std::thread::JoinHandle<()> {
    let data = b.data();
    std::thread::spawn(move || {
        let mut client = Client::connect(&data).expect("daemon");
        let mut ask = |line: String| {
            client
                .request(&Request {
                    cmd: Some(line),
                    data: true,
                    ..Default::default()
                })
                .expect("answer")
        };
        for i in 0.. {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let topic = format!("C{c}N{i}");
            let v = ask(format!(
                "/lead new topic:{topic} last:Weber email:c{c}n{i}@example.com company:\"Co {c} {i}\""
            ));
            assert_eq!(v["ok"], true, "{v}");
            if i % 2 == 0 {
                let n = v["data"]["number"].as_u64().expect("number");
                let q = ask(format!("/qualify L-{n}"));
                assert_eq!(q["ok"], true, "{q}");
            }
            acked.lock().expect("lock").push(topic);
        }
    })
}

#[test]
fn a_backup_under_load_restores_one_consistent_moment_record_for_record() {
    let b = Bin::new();
    let mut d = Daemon::start(&b);
    let stop = Arc::new(AtomicBool::new(false));
    let acks: Vec<Acked> = (0..8).map(|_| Acked::default()).collect();
    let writers: Vec<_> = acks
        .iter()
        .enumerate()
        .map(|(c, a)| writer(&b, c, stop.clone(), a.clone()))
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let before: Vec<usize> = acks.iter().map(|a| a.lock().expect("lock").len()).collect();
    let file = b.dir.path().join("leadline.backup");
    let said = stdout_of(b.run(&["backup", file.to_str().expect("utf-8")]), "backup");
    assert!(said.contains("keys ("), "{said}");
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    d.signal("-TERM");
    assert!(d.wait(15).success());
    let written: usize = acks.iter().map(|a| a.lock().expect("lock").len()).sum();
    assert!(
        written > before.iter().sum::<usize>(),
        "writes went on during the backup"
    );

    let fresh = Bin::new();
    let said = stdout_of(
        fresh.run(&["restore", file.to_str().expect("utf-8")]),
        "restore",
    );
    assert!(said.contains("the same counts as the backup"), "{said}");

    let live = Store::open(&StoreOptions::new(b.data())).expect("live store");
    let restored = Store::open(&StoreOptions::new(fresh.data())).expect("restored store");
    let rules = leadline::config::Config::embedded().process;
    check_invariants(&restored, &rules);
    // Every restored record is the live one. Contacts, accounts and
    // opportunities are never changed after their qualify here; a lead is
    // also changed by its qualify, so an open one may be qualified since.
    let live_leads: Vec<serde_json::Value> = all(&live, Kind::Lead);
    for r in all::<serde_json::Value>(&restored, Kind::Lead) {
        let same = |l: &&serde_json::Value| {
            ["number", "topic", "email", "company", "created_at"]
                .iter()
                .all(|f| l[f] == r[f])
        };
        let l = live_leads
            .iter()
            .find(same)
            .unwrap_or_else(|| panic!("restored lead not live: {r}"));
        assert!(
            r["state"] == "open" || *l == r,
            "restored lead differs: {r} / {l}"
        );
    }
    for kind in [Kind::Contact, Kind::Account, Kind::Opportunity] {
        let live_records: Vec<serde_json::Value> = all(&live, kind);
        let restored_records: Vec<serde_json::Value> = all(&restored, kind);
        assert!(!restored_records.is_empty(), "no {kind}");
        for r in &restored_records {
            assert!(live_records.contains(r), "restored {kind} differs: {r}");
        }
    }
    // One moment: each writer's leads are a prefix of what it wrote, at
    // least what it had before the backup began.
    let leads: Vec<Lead> = all(&restored, Kind::Lead);
    for (c, acked) in acks.iter().enumerate() {
        let acked = acked.lock().expect("lock");
        let got: Vec<&String> = acked
            .iter()
            .filter(|t| leads.iter().any(|l| &&l.topic == t))
            .collect();
        assert!(
            got.len() >= before[c],
            "writer {c}: {} < {}",
            got.len(),
            before[c]
        );
        assert_eq!(
            got,
            acked.iter().take(got.len()).collect::<Vec<_>>(),
            "writer {c}: a gap"
        );
    }
}

#[test]
fn a_cut_or_altered_backup_is_refused_and_nothing_is_restored() {
    let b = Bin::new();
    b.ok("/lead new topic:Chairs last:Schmidt");
    b.ok("/qualify L-1001");
    let file = b.dir.path().join("b.backup");
    stdout_of(b.run(&["backup", file.to_str().expect("utf-8")]), "backup");
    let bytes = std::fs::read(&file).expect("read backup");

    let cut = b.dir.path().join("cut.backup");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    // One letter of a record's value changed (not a length, which would
    // read as a cut): only the checksum can tell.
    let mut altered = bytes.clone();
    let at = altered
        .windows(7)
        .position(|w| w == b"Schmidt")
        .expect("the lead's name in the backup");
    altered[at] ^= 0x20;
    let changed = b.dir.path().join("altered.backup");
    std::fs::write(&changed, &altered).expect("write");
    let newer = b.dir.path().join("newer.backup");
    let text = String::from_utf8_lossy(&bytes[..60]).to_string();
    let first = text.split('\n').next().expect("first line").to_string();
    let mut future = first.replace("format=1", "format=2").into_bytes();
    future.extend_from_slice(&bytes[first.len()..]);
    std::fs::write(&newer, future).expect("write");

    for (file, said) in [
        (&cut, "cut short"),
        (&changed, "checksum does not match"),
        (&newer, "backup format 2"),
    ] {
        let fresh = Bin::new();
        let out = fresh.run(&["restore", file.to_str().expect("utf-8")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains(said) && err.lines().count() == 1, "{err}");
        let out = fresh.run(&["cmd", "/list leads"]);
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("Chairs"),
            "something was restored from {}",
            file.display()
        );
    }

    // Into a store that holds something: refused, unless --force.
    let other = Bin::new();
    other.ok("/lead new topic:Tables last:Weber");
    let out = other.run(&["restore", file.to_str().expect("utf-8")]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not empty"));
    assert!(other.ok("/show L-1001").contains("Tables"));
    stdout_of(
        other.run(&["restore", file.to_str().expect("utf-8"), "--force"]),
        "restore --force",
    );
    assert!(other.ok("/show L-1001").contains("Chairs"));
    assert!(other.ok("/show O-1001").contains("Chairs"));
}

#[test]
fn the_daemon_writes_scheduled_backups_prunes_old_ones_and_reports_a_failure() {
    use leadline::command::Tx as _;
    let b = Bin::new();
    b.ok("/lead new topic:Chairs last:Schmidt");
    let dir = b.dir.path().join("backups");
    std::fs::create_dir(&dir).expect("dir");
    for day in ["20200101", "20200102", "20200103"] {
        std::fs::write(dir.join(format!("leadline-{day}-020000.backup")), b"old").expect("old");
    }
    let cfg = b.file(
        "backup.toml",
        &format!(
            "[backup]\nschedule = \"0 2 * * *\"\ndir = \"{}\"\nkeep = 2\n",
            dir.display()
        ),
    );
    // Never run before: the first scheduler pass writes one.
    let d = Daemon::start_with(b.configured(&cfg));
    d.wait_for("backup: wrote");
    let mut kept: Vec<String> = std::fs::read_dir(&dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(kept[0], "leadline-20200103-020000.backup", "{kept:?}");
    let status: serde_json::Value = serde_json::from_slice(
        &b.configured(&cfg)
            .args(["--json", "status"])
            .output()
            .expect("status")
            .stdout,
    )
    .expect("json");
    assert_eq!(
        status["backup"]["last_error"],
        serde_json::Value::Null,
        "{status}"
    );
    let newest = dir.join(&kept[1]);
    drop(d);
    let fresh = Bin::new();
    stdout_of(
        fresh.run(&["restore", newest.to_str().expect("utf-8")]),
        "restore",
    );
    assert!(fresh.ok("/show L-1001").contains("Chairs"));

    // A folder that cannot be written: status says why, the admins hear.
    let broken = Bin::new();
    let not_a_dir = broken.file("not-a-folder", "a file");
    let cfg = broken.file(
        "backup.toml",
        &format!(
            "[backup]\nschedule = \"0 2 * * *\"\ndir = \"{}\"\n",
            not_a_dir.join("sub").display()
        ),
    );
    let d = Daemon::start_with(broken.configured(&cfg));
    d.wait_for("backup:");
    std::thread::sleep(Duration::from_millis(200));
    let status: serde_json::Value = serde_json::from_slice(
        &broken
            .configured(&cfg)
            .args(["--json", "status"])
            .output()
            .expect("status")
            .stdout,
    )
    .expect("json");
    assert!(
        status["backup"]["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("cannot make"),
        "{status}"
    );
    drop(d);
    let store = Store::open(&StoreOptions::new(broken.data())).expect("store");
    let notices = store
        .reader()
        .scan(b"q/notice/", None, false, 10)
        .expect("notices");
    assert!(
        notices
            .iter()
            .any(|(_, v)| String::from_utf8_lossy(v).contains("The scheduled backup failed")),
        "no notice for the admins"
    );
}
