//! The `leadline` binary, black-box: the whole journey, exit codes, JSON,
//! restart, configuration errors and schema versions.

use crate::helpers::Bin;

#[test]
fn the_whole_journey_runs_through_the_binary_and_survives_restarts() {
    let b = Bin::new();
    b.ok("/product new CHAIR-01 name:\"Office chair\" price:199.99 tax:19%");
    let out = b.ok("/lead new topic:\"Office chairs\" first:Anna last:Schmidt email:anna@contoso.example company:\"Contoso GmbH\" city:Berlin");
    assert!(out.contains("Created L-1001"), "{out}");
    assert!(b.ok("/qualify L-1001").contains("opportunity O-1001"));
    b.ok("/opp line add O-1001 sku:CHAIR-01 qty:10 discount:5%");
    assert!(b.ok("/quote new O-1001").contains("draft Q-1001"));
    b.ok("/quote activate Q-1001");
    assert!(b
        .ok("/quote revise Q-1001")
        .contains("Q-1001 rev 2 is a draft"));
    b.ok("/quote edit Q-1001 freight:20");
    b.ok("/quote activate Q-1001");
    assert!(b
        .ok("/quote win Q-1001")
        .contains("created order SO-1001, total 2,284.68 EUR"));
    b.ok("/order fulfil SO-1001 reason:complete");
    assert!(b.ok("/order invoice SO-1001").contains("INV-1001"));
    b.ok("/invoice paid INV-1001 reason:complete");

    // Each `leadline cmd` opened the store anew: everything is there.
    let shown = b.ok("/show INV-1001");
    assert!(
        shown.contains("paid (Complete)") && shown.contains("total 2,284.68 EUR"),
        "{shown}"
    );
    assert!(b.ok("/show Q-1001 rev 1").contains("closed (Revised)"));
    assert!(b.ok("/show O-1001").contains("won on"));
    assert!(b.ok("/show SO-1001").contains("invoiced"));
    assert!(b.ok("/show L-1001").contains("qualified"));
    let hist = b.ok("/history INV-1001");
    assert!(
        hist.contains("/invoice paid INV-1001 reason:complete"),
        "{hist}"
    );
}

#[test]
fn a_refused_command_exits_non_zero_with_one_line_on_stderr() {
    let b = Bin::new();
    b.ok("/lead new topic:X last:Y");
    let err = b.fails("/lead reactivate L-1001", 1);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("already open"), "{err}");
    let err = b.fails("/quote frobnicate Q-1001", 2);
    assert!(err.contains("no action 'frobnicate'"), "{err}");
    let err = b.fails("/show L-4242", 1);
    assert!(err.contains("there is no lead L-4242"), "{err}");
}

#[test]
fn json_output_carries_the_reply_the_record_and_errors() {
    let b = Bin::new();
    let out = b.run(&[
        "--json",
        "cmd",
        "/lead new topic:X last:Y email:y@x.example",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], true);
    assert_eq!(v["data"]["number"], 1001);
    assert_eq!(v["data"]["email"], "y@x.example");
    assert!(v["next"][0]
        .as_str()
        .is_some_and(|n| n.starts_with("/qualify")));
    let out = b.run(&["--json", "cmd", "/qualify L-2000"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        (v["ok"].as_bool(), v["error"].as_str()),
        (Some(false), Some("not_found"))
    );
}

#[test]
fn the_acting_user_is_recorded_and_must_be_on_a_configured_team() {
    let b = Bin::new();
    let cfg = b.file("team.toml", "[team]\ndefault_user = \"maria\"\n[[team.members]]\nname = \"maria\"\n[[team.members]]\nname = \"jonas\"\nrole = \"manager\"\n");
    let run = |args: &[&str]| b.configured(&cfg).args(args).output().expect("run");
    let out = run(&["--as", "Jonas", "cmd", "/lead new topic:X last:Y"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["cmd", "/lead edit L-1001 owner:maria"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["cmd", "/lead edit L-1001 owner:stranger"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("owners: maria, jonas"));
    // Not a member: invalid input (2), not a broken config (3).
    let out = run(&["--as", "stranger", "cmd", "/list leads"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'stranger' is not on the team"));
    let out = run(&["cmd", "/history L-1001"]);
    let h = String::from_utf8_lossy(&out.stdout);
    assert!(
        h.contains("jonas via shell: /lead new") && h.contains("maria via shell: /lead edit"),
        "{h}"
    );
}

#[test]
fn a_broken_config_is_refused_in_one_line_naming_the_setting() {
    let b = Bin::new();
    let out = b.with_config(
        "bad.toml",
        "[process.reasons]\nlead_disqualify = []\n",
        &["cmd", "/help"],
    );
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("reasons.lead_disqualify must list at least one reason"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1);
    let out = b.with_config(
        "typo.toml",
        "[team]\ntimezon = \"Europe/Berlin\"\n",
        &["cmd", "/help"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("timezon"), "{err}");
    let out = b
        .configured("/nonexistent/x.toml")
        .args(["cmd", "/help"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read config /nonexistent/x.toml"),
        "{err}"
    );
    // Said once, not twice.
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
}

/// Makes a folder made by a test (umask 022) private, as leadline's own are.
fn private(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
}

/// Every file and folder under `dir` (itself included) with its mode bits.
fn modes(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = vec![];
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        let meta = std::fs::symlink_metadata(&p).expect("stat");
        out.push((p.clone(), meta.permissions().mode() & 0o777));
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).expect("read dir") {
                todo.push(e.expect("entry").path());
            }
        }
    }
    out
}

#[test]
fn the_data_folder_is_private_whatever_the_umask_and_a_readable_one_is_refused() {
    let b = Bin::new();
    // The test runs under the usual umask (022); leadline must not inherit it.
    b.ok("/lead new topic:X last:Y");
    let daemon = crate::daemon::Daemon::start_with(b.command());
    b.ok("/lead new topic:Z last:W");
    drop(daemon);
    let found = modes(&b.data());
    assert!(found.len() > 3, "{found:?}");
    for (path, mode) in &found {
        assert_eq!(mode & 0o077, 0, "{} is {mode:04o}", path.display());
    }
    assert_eq!(found[0].1, 0o700);

    // A folder others can enter is refused, with the chmod that fixes it,
    // and nothing is written.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(b.data(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let err = b.fails("/lead new topic:Q last:R", 3);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("mode 0755") && err.contains(&format!("chmod 700 '{}'", b.data().display())),
        "{err}"
    );
    private(&b.data());
    assert!(b.fails("/show L-1003", 1).contains("no lead L-1003"));
    assert!(b.ok("/show L-1002").contains("Z"));
}

#[test]
fn check_config_validates_without_starting_anything() {
    let b = Bin::new();
    let bad = b.file(
        "bad.toml",
        "[team]\ndefault_user = \"maria\"\n\n[scheduler]\ndigest = \"0 8 30 2 *\"\n",
    );
    let out = b.run(&["check-config", bad.to_str().expect("utf-8 path")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("line 5") && err.contains("never fires"),
        "{err}"
    );
    let good = b.file("good.toml", "[chat]\nnotices = \"dm\"\n");
    let out = b.run(&["check-config", good.to_str().expect("utf-8 path")]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.contains(": ok:"), "{said}");
    assert!(!b.data().exists(), "check-config opened the store");
}

#[test]
fn a_store_written_by_a_newer_leadline_is_refused() {
    let b = Bin::new();
    b.ok("/lead new topic:X last:Y");
    {
        let db = sled::open(b.data()).expect("open store");
        db.insert("meta/schema", "99").expect("write");
        db.flush().expect("flush");
    }
    let out = b.run(&["cmd", "/show L-1001"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("written by a newer leadline (schema 99"),
        "{err}"
    );
}

#[test]
fn a_folder_of_other_sled_data_is_not_taken_for_a_store() {
    let b = Bin::new();
    {
        let db = sled::open(b.data()).expect("open");
        db.insert("something", "else").expect("write");
        db.flush().expect("flush");
    }
    private(&b.data());
    let out = b.run(&["cmd", "/list leads"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not leadline's"));
}

#[test]
fn the_shell_reads_commands_from_standard_input() {
    use std::io::Write;
    let b = Bin::new();
    let mut child = b.spawn(&["shell"]);
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(
        stdin,
        "/lead new topic:X last:Y\n# a comment\n/qualify L-1001\n/qualify L-1001\n/quit"
    )
    .expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Created L-1001") && stdout.contains("Qualified L-1001"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot qualify L-1001"));
    assert!(out.status.success());
}

#[test]
fn roles_hold_in_the_shell_too_not_only_in_chat() {
    let b = Bin::new();
    let cfg = b.file(
        "team.toml",
        "[team]\ndefault_user = \"maria\"\n\
         [[team.members]]\nname = \"maria\"\nrole = \"manager\"\n\
         [[team.members]]\nname = \"jonas\"\nrole = \"rep\"\n",
    );
    let as_ = |who: &str, line: &str| {
        b.configured(&cfg)
            .args(["--as", who, "cmd", line])
            .output()
            .expect("run")
    };
    for line in [
        "/product new CHAIR-01 name:Chair price:199.99 tax:19%",
        "/lead new topic:Chairs last:Schmidt email:anna@contoso.example",
        "/qualify L-1001",
        "/opp line add O-1001 sku:CHAIR-01 qty:10",
        "/quote new O-1001",
        "/quote activate Q-1001",
        "/quote win Q-1001",
        "/order fulfil SO-1001 reason:complete",
        "/order invoice SO-1001",
    ] {
        let out = as_("jonas", line);
        assert!(out.status.success(), "{line}: {out:?}");
    }
    // A rep may not cancel an invoice (by default only managers do), from
    // the shell just as from chat; nothing changes.
    let out = as_("jonas", "/invoice cancel INV-1001 reason:Canceled");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'invoice cancel' needs the role manager or higher; you are rep"),
        "{err}"
    );
    let show = String::from_utf8_lossy(&as_("jonas", "/show INV-1001").stdout).to_string();
    assert!(!show.contains("Canceled"), "{show}");
    let out = as_("maria", "/invoice cancel INV-1001 reason:Canceled");
    assert!(out.status.success(), "{out:?}");
    let show = String::from_utf8_lossy(&as_("maria", "/show INV-1001").stdout).to_string();
    assert!(show.contains("Canceled"), "{show}");
}

#[test]
fn a_reader_that_goes_away_is_no_panic() {
    let b = Bin::new();
    b.ok("/lead new topic:Chairs last:Schmidt");
    let mut child = b.spawn(&["cmd", "/help"]);
    // Close the reading end before leadline writes its reply.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}

#[test]
fn the_shell_reports_a_line_that_is_not_utf8_and_goes_on() {
    let b = Bin::new();
    let mut child = b.spawn(&["shell"]);
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"/lead new topic:One last:A\n/lead new topic:\xff\xfe last:B\n/lead new topic:Three last:C\n")
            .expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2: not valid UTF-8"), "{err}");
    assert!(out.status.success(), "{err}");
    assert!(b.ok("/show L-1002").contains("Three"));
}

#[test]
fn escape_sequences_from_input_are_printed_escaped() {
    let b = Bin::new();
    let out = b.ok("/lead new topic:\"a\u{1b}[2Jb\" last:X");
    assert!(!out.contains('\u{1b}'), "{out:?}");
    assert!(out.contains("a\\u{1b}[2Jb"), "{out}");
}

#[test]
fn an_unreachable_mail_server_has_its_own_exit_code_and_the_outbox_shows_why() {
    let b = Bin::new();
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let cfg = b.file(
        "smtp.toml",
        &format!("[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"Sales <sales@example.com>\"\n"),
    );
    let run = |args: &[&str]| b.configured(&cfg).args(args).output().expect("run");
    let ok = |args: &[&str]| {
        let out = run(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    ok(&[
        "cmd",
        "/lead new topic:Chairs last:Schmidt email:anna@contoso.example",
    ]);
    ok(&["cmd", "/email L-1001 subject:Hello body:Hi"]);
    let out = run(&["outbox", "send", "--once"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{err}"
    );
    let outbox = ok(&["outbox"]);
    assert!(
        outbox.contains("waiting") && outbox.contains("last error: mail.smtp: cannot connect"),
        "{outbox}"
    );
}
