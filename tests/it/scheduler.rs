//! The scheduler through the binary: `leadline tick --now` and
//! `leadline digest`, across restarts (every call is a new process).

use crate::helpers::Bin;

const TEAM: &str = "[team]\ntimezone = \"Europe/Berlin\"\ndefault_user = \"maria\"\n\
    [[team.members]]\nname = \"maria\"\nemail = \"maria@example.com\"\n\
    [[team.members]]\nname = \"jonas\"\ntimezone = \"America/New_York\"\n\
    [scheduler]\nsweep = \"*/5 * * * *\"\ndigest = \"0 8 * * Mon-Fri\"\n";

struct Team {
    b: Bin,
    cfg: std::path::PathBuf,
}

impl Team {
    fn new() -> Team {
        let b = Bin::new();
        let cfg = b.file("team.toml", TEAM);
        Team { b, cfg }
    }

    fn at(&self, now: &str, args: &[&str]) -> String {
        let out = self
            .b
            .configured(&self.cfg)
            .args(["--now", now])
            .args(args)
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn cmd(&self, now: &str, line: &str) -> String {
        self.at(now, &["cmd", line])
    }

    fn notices(&self, owner: &str) -> Vec<serde_json::Value> {
        let out = self.at(
            "2027-01-01T00:00:00Z",
            &[
                "--json",
                "cmd",
                &format!("/notices owner:{owner} limit:500"),
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        v["data"].as_array().cloned().unwrap_or_default()
    }
}

#[test]
fn the_sweep_announces_each_overdue_item_once_also_after_restarts() {
    let t = Team::new();
    let now = "2026-11-30T08:00:00Z";
    t.cmd(
        now,
        "/lead new topic:Chairs last:Schmidt followup:2026-11-30",
    );
    t.cmd(
        now,
        "/task L-1001 \"Send brochure\" due:\"2026-11-30 10:00\"",
    );
    t.cmd(
        now,
        "/task L-1001 \"Done in time\" due:\"2026-11-30 10:00\"",
    );
    t.cmd(
        now,
        "/task L-1001 \"For jonas\" due:\"2026-11-30 10:00\" owner:jonas",
    );
    assert!(t
        .at("2026-11-30T08:02:00Z", &["tick"])
        .contains("sweep: announced 0"));
    t.cmd("2026-11-30T08:30:00Z", "/done ACT-1002");
    // 10:00 Berlin is 09:00 UTC.
    assert!(t
        .at("2026-11-30T09:00:00Z", &["tick"])
        .contains("sweep: announced 2"));
    assert!(t
        .at("2026-11-30T09:05:00Z", &["tick"])
        .contains("sweep: announced 0"));
    assert!(t
        .at("2026-11-30T10:00:00Z", &["tick"])
        .contains("sweep: announced 0"));
    let maria: Vec<String> = t
        .notices("maria")
        .iter()
        .filter(|n| n["kind"] == "overdue")
        .map(|n| n["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(maria.len(), 1, "{maria:?}");
    assert!(
        maria[0].starts_with("Overdue: ACT-1001") && maria[0].contains("Send brochure"),
        "{maria:?}"
    );
    assert_eq!(
        t.notices("jonas")
            .iter()
            .filter(|n| n["kind"] == "overdue")
            .count(),
        1
    );
    // The lead's follow-up (Nov 30) is overdue when Nov 30 ends in Berlin.
    assert!(t
        .at("2026-11-30T23:00:00Z", &["tick"])
        .contains("sweep: announced 1"));
    assert!(t
        .at("2026-12-01T09:00:00Z", &["tick"])
        .contains("sweep: announced 0"));
    // Rescheduled, it is announced again when the new time passes.
    t.cmd(
        "2026-12-01T09:00:00Z",
        "/activity reschedule ACT-1001 due:\"2026-12-01 12:00\"",
    );
    assert!(t
        .at("2026-12-01T11:00:00Z", &["tick"])
        .contains("sweep: announced 1"));
    assert_eq!(
        t.notices("maria")
            .iter()
            .filter(|n| n["kind"] == "overdue")
            .count(),
        3
    );
}

#[test]
fn a_missed_digest_is_caught_up_once_and_never_sent_twice() {
    let t = Team::new();
    t.cmd(
        "2026-11-27T10:00:00Z",
        "/lead new topic:Chairs last:Schmidt",
    );
    // Friday 08:00 Berlin: the digest goes.
    let out = t.at("2026-11-27T07:00:00Z", &["tick"]);
    assert!(out.contains("digest for maria (2026-11-27)"), "{out}");
    assert!(!out.contains("jonas"), "08:00 in New York is later: {out}");
    assert!(!t.at("2026-11-27T07:03:00Z", &["tick"]).contains("digest"));
    // Down over the weekend and Monday; back on Tuesday at 11:00 Berlin:
    // one digest, for Tuesday, not one per missed day.
    let out = t.at("2026-12-01T10:00:00Z", &["tick"]);
    assert!(out.contains("digest for maria (2026-12-01)"), "{out}");
    assert!(
        out.contains("digest for jonas (2026-11-30)"),
        "jonas's Monday 08:00 EST was the last he missed: {out}"
    );
    assert!(!t.at("2026-12-01T10:05:00Z", &["tick"]).contains("digest"));
    let maria = t.notices("maria");
    let digests: Vec<&serde_json::Value> = maria.iter().filter(|n| n["kind"] == "digest").collect();
    assert_eq!(digests.len(), 2, "{maria:?}");
    // The digest is also queued as a mail to maria (jonas has no address).
    let out = t.at("2027-01-01T00:00:00Z", &["cmd", "/notices owner:jonas"]);
    assert!(out.contains("notices for jonas (1)"), "{out}");
}

/// The subject counted the follow-up as overdue ("2 overdue") while the
/// body said one: it now counts what the sections count.
#[test]
fn the_digest_for_a_known_store_reads_exactly_so() {
    let t = Team::new();
    let now = "2026-11-30T08:00:00Z";
    t.cmd(now, "/product new CHAIR-01 name:Chair price:100 tax:19%");
    t.cmd(
        now,
        "/lead new topic:Chairs last:Schmidt company:Contoso followup:2026-11-29",
    );
    t.cmd(now, "/lead new topic:Desks last:Meier company:Fabrikam");
    t.cmd(now, "/qualify L-1002");
    t.cmd(
        now,
        "/opp edit O-1001 probability:50 revenue:10000 followup:2026-12-02",
    );
    t.cmd(now, "/opp line add O-1001 sku:CHAIR-01 qty:10");
    t.cmd(now, "/quote new O-1001");
    t.cmd(now, "/quote activate Q-1001");
    t.cmd(
        now,
        "/task O-1001 \"Call about quote\" due:\"2026-11-30 10:00\"",
    );
    t.cmd(now, "/task L-1001 \"Send brochure\" due:2026-11-30");
    t.cmd(
        now,
        "/meeting O-1001 Demo start:\"2026-12-03 14:00\" end:\"2026-12-03 15:00\"",
    );
    t.cmd(now, "/task L-1001 \"Far away\" due:2026-12-20");
    let digest = t.at("2026-11-30T12:00:00Z", &["digest", "maria"]);
    let expected = "\
Subject: leadline digest for maria, 2026-11-30: 1 overdue, 1 due today, 1 follow-up due

Good morning maria, here is your leadline digest for 2026-11-30.

Overdue (1):
  - ACT-1001 Overdue task Call about quote - due Mon 2026-11-30 10:00 CET - maria (on O-1001)

Due today (1):
  - ACT-1002 Active task Send brochure - due Mon 2026-11-30 - maria (on L-1001)

Next 7 days (1):
  - ACT-1003 Active appointment Demo - Thu 2026-12-03 14:00 CET - 15:00 - maria (on O-1001)

Follow-ups due (1):
  - L-1001 follow-up lead Chairs (Schmidt) - follow-up Sun 2026-11-29 - maria

Pipeline:
  open opportunities: 1, weighted 5,000.00 EUR
  quotes awaiting an answer: 1
  orders to fulfil: 0
  unpaid invoices: 0
";
    assert_eq!(digest.trim_end(), expected.trim_end());
    let html = t.at("2026-11-30T12:00:00Z", &["digest", "maria", "--html"]);
    assert!(
        html.contains("<li>ACT-1001 Overdue task Call about quote")
            && html.contains("<h3>Overdue (1)</h3>"),
        "{html}"
    );
}

#[test]
fn a_bad_schedule_or_time_zone_is_refused_naming_it() {
    let b = Bin::new();
    let cfg = b.file("bad.toml", "[scheduler]\ndigest = \"0 25 * * *\"\n");
    let out = b.configured(&cfg).args(["tick"]).output().expect("run");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the hour field '25' is not valid"), "{err}");
    let cfg = b.file(
        "tz.toml",
        "[[team.members]]\nname = \"x\"\ntimezone = \"Mars/Olympus\"\n",
    );
    let out = b.configured(&cfg).args(["tick"]).output().expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Mars/Olympus"));
}

#[test]
fn a_long_backlog_shows_its_true_count_and_the_first_lines() {
    use crate::helpers::Lib;
    let mut t = Lib::new();
    t.ok("/lead new topic:Chairs last:Schmidt");
    for i in 0..30 {
        t.ok(&format!(
            "/task L-1001 \"Task {i}\" due:\"2026-12-01 {:02}:00\"",
            10 + i % 12
        ));
    }
    t.now += chrono::Duration::days(3);
    let data =
        leadline::scheduler::digest::gather(&t.store.reader(), &t.ctx(), "me").expect("gather");
    assert_eq!((data.counts.overdue, data.overdue.len()), (30, 25));
    let d = leadline::scheduler::digest::render(data, None).expect("render");
    assert!(
        d.text.contains("Overdue (30):") && d.text.contains("  ... and 5 more\n"),
        "{}",
        d.text
    );
    assert!(d.subject.contains("30 overdue"), "{}", d.subject);
    assert!(d.html.contains("<li>... and 5 more</li>"), "{}", d.html);
}
