//! The web view and the HTTP API, served by the real daemon: sign-in by
//! one-time link, the board, a record page, the command box, refusals,
//! CSRF, the inbox buttons, exports, reports, in headless Chromium; the API
//! with its tokens, OpenAPI document, `/healthz` and `/metrics` over HTTP.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::browser::{free_port, Browser};
use crate::daemon::Daemon;
use crate::helpers::Bin;

const TEAM: &str = r#"
[team]
timezone = "Europe/Berlin"
default_user = "maria"
[[team.members]]
name = "maria"
role = "manager"
[[team.members]]
name = "tom"
role = "rep"
language = "en"
"#;

/// A daemon with the web view on a free port, and its address.
struct Served {
    bin: Bin,
    cfg: PathBuf,
    base: String,
    daemon: Daemon,
}

impl Served {
    /// `setup` runs on the store (as maria, through the binary) before the
    /// daemon starts; `extra` is added to the configuration.
    fn start(setup: &[&str], extra: &str) -> Served {
        let (bin, cfg, port) = Served::prepare(setup, extra);
        Served::run(bin, cfg, &format!("http://127.0.0.1:{port}"))
    }

    /// A store with `setup` run on it and a configuration with the web
    /// view on a free port (and `extra`); the daemon not started yet.
    fn prepare(setup: &[&str], extra: &str) -> (Bin, PathBuf, u16) {
        let bin = Bin::new();
        let port = free_port();
        let cfg = bin.file(
            "leadline.toml",
            &format!("{TEAM}\n[web]\nlisten = \"127.0.0.1:{port}\"\n{extra}"),
        );
        for line in setup {
            let out = bin
                .configured(&cfg)
                .args(["cmd", line])
                .output()
                .expect("run");
            assert!(
                out.status.success(),
                "{line}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        (bin, cfg, port)
    }

    /// Starts the daemon, which must say it serves the web view at `base`.
    fn run(bin: Bin, cfg: PathBuf, base: &str) -> Served {
        let daemon = Daemon::start_with(bin.configured(&cfg));
        assert!(
            daemon
                .started
                .iter()
                .any(|l| l.contains(&format!("web: on, {base}"))),
            "{:?}",
            daemon.started
        );
        Served {
            bin,
            cfg,
            base: base.to_string(),
            daemon,
        }
    }

    /// `leadline <args>` through the running daemon; its standard output.
    fn leadline(&self, args: &[&str]) -> String {
        let out = self
            .bin
            .configured(&self.cfg)
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

    /// A fresh sign-in link for `member`.
    fn link(&self, member: &str) -> String {
        let out = self.leadline(&["web-link", member]);
        let link = out.lines().last().expect("a link").to_string();
        assert!(link.starts_with(&format!("{}/signin/", self.base)), "{out}");
        link
    }

    /// The state of record `id`, read through the daemon.
    fn state(&self, id: &str) -> String {
        let out = self.leadline(&["--json", "cmd", &format!("/show {id}")]);
        let v: Value = serde_json::from_str(&out).expect("json");
        v["data"]["state"].as_str().unwrap_or("").to_string()
    }
}

const JOURNEY: &[&str] = &[
    "/lead new topic:\"Office chairs\" first:Anna last:Schmidt email:anna@contoso.example company:\"Contoso GmbH\" city:Berlin",
    "/qualify L-1001",
    "/product new CHAIR-01 name:\"Office chair\" price:199.99 tax:19%",
    "/opp line add O-1001 sku:CHAIR-01 qty:10 discount:5%",
    "/opp edit O-1001 probability:60 followup:2026-12-10",
    "/call O-1001 \"Ask about the budget\" due:2026-12-03",
    "/lead new topic:\"Standing desks\" first:Ben last:Braun email:ben@fabrikam.example company:\"Fabrikam AG\" owner:tom",
    "/qualify L-1002",
];

/// Where the screenshots go, to be looked at.
fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots")
}

#[test]
fn in_chromium_a_member_signs_in_by_link_moves_a_card_and_runs_commands_from_the_page() {
    let s = Served::start(JOURNEY, "");
    let b = Browser::start();

    // Not signed in: the sign-in page, and nothing else.
    b.goto(&format!("{}/board", s.base));
    assert!(b.text("body").contains("/web"), "{}", b.text("body"));
    assert_eq!(b.count(".card"), 0);
    b.goto(&format!("{}/record/O-1001", s.base));
    assert!(!b.text("body").contains("Office chairs"));

    // The link signs in once.
    let link = s.link("maria");
    b.goto(&link);
    b.submit("#signin");
    b.find("#member");
    assert_eq!(b.text("#member"), "maria");
    assert!(b.url().ends_with("/board"), "{}", b.url());
    let html_lang = b.run("return document.documentElement.lang");
    assert_eq!(html_lang, "de", "maria reads German pages");

    // The board: both open opportunities, in the stage they are at, with
    // account, value, probability, next activity and follow-up.
    let develop = b.text("section[data-stage='2 develop']");
    assert!(
        develop.contains("O-1001") && develop.contains("Contoso GmbH"),
        "{develop}"
    );
    assert!(
        develop.contains("1.899,90") && develop.contains("60 %"),
        "{develop}"
    );
    assert!(
        develop.contains("Ask about the budget") && develop.contains("2026-12-10"),
        "{develop}"
    );
    assert!(b.text("section[data-stage='1 qualify']").contains("O-1002"));
    b.screenshot(&shots().join("board.png"));

    // Moving the card to "propose" makes the quote.
    b.click("#card-O-1001 summary");
    b.submit("#card-O-1001 button[value='3 propose']");
    b.find("#flash");
    assert!(
        b.text("#flash").contains("Created draft Q-1001"),
        "{}",
        b.text("#flash")
    );
    assert!(b.text("section[data-stage='3 propose']").contains("O-1001"));
    assert!(!b.text("section[data-stage='2 develop']").contains("O-1001"));

    // Losing from the board asks for the reason in the command box.
    b.click("#card-O-1002 summary");
    b.submit("#card-O-1002 button[value='lost']");
    assert!(
        b.text("#flash").contains("needs a reason"),
        "{}",
        b.text("#flash")
    );
    let prefill = b.run("return document.querySelector('#line').value");
    assert_eq!(prefill, "/opp lose O-1002 reason:");
    assert_eq!(s.state("O-1002"), "open");

    // The record page, and a command from its command box.
    b.goto(&format!("{}/record/Q-1001", s.base));
    assert!(
        b.text("#summary").contains("draft"),
        "{}",
        b.text("#summary")
    );
    b.type_into("#line", "/quote activate Q-1001");
    b.submit("#run");
    b.find("#flash");
    assert!(
        b.text("#flash").contains("Activated Q-1001"),
        "{}",
        b.text("#flash")
    );
    assert!(
        b.text("#summary").contains("active"),
        "{}",
        b.text("#summary")
    );
    assert!(b.url().ends_with("/record/Q-1001"));
    assert_eq!(s.state("Q-1001"), "active");
    // The next steps are buttons that carry the session's token.
    let token = b.run("return document.querySelector('#flash .next input[name=csrf]').value");
    let page_token = b.run("return document.querySelector('#command-box input[name=csrf]').value");
    assert!(
        token.as_str().is_some_and(|t| t.len() > 20) && token == page_token,
        "{token}"
    );
    assert!(b.text("#flash .next").contains("/quote win Q-1001"));
    // A next step that needs a value is put in the command box, not run.
    b.submit("#flash .next input[value='/quote close Q-1001 reason:'] + button");
    let prefill = b.run("return document.querySelector('#line').value");
    assert_eq!(prefill, "/quote close Q-1001 reason:");
    assert_eq!(s.state("Q-1001"), "active");
    let history = s.leadline(&["cmd", "/history Q-1001"]);
    assert!(
        history.contains("maria via web: /quote activate Q-1001"),
        "{history}"
    );
    b.screenshot(&shots().join("record.png"));

    // A refusal is shown, and changes nothing.
    b.type_into("#line", "/quote activate Q-1001");
    b.submit("#run");
    let flash = b.text("#flash");
    assert!(
        flash.contains("active") && b.count("#flash.refused") == 1,
        "{flash}"
    );

    // A step chat confirms asks here too; the button runs it.
    b.goto(&format!("{}/record/L-1001", s.base));
    s.leadline(&["cmd", "/lead new topic:Spam last:Nobody"]);
    b.type_into(
        "#line",
        "/disqualify L-1003 reason:\"no longer interested\"",
    );
    b.submit("#run");
    assert!(
        b.text("#flash").contains("cannot be undone"),
        "{}",
        b.text("#flash")
    );
    assert_eq!(s.state("L-1003"), "open");
    b.submit("#confirm");
    assert!(
        b.text("#flash").contains("Disqualified L-1003"),
        "{}",
        b.text("#flash")
    );
    assert_eq!(s.state("L-1003"), "disqualified");

    // Lists with filters, and /find.
    b.goto(&format!("{}/list/lead?state=qualified", s.base));
    assert_eq!(b.count("table.records tbody tr"), 2);
    b.goto(&format!("{}/list/opportunity?owner=tom", s.base));
    assert_eq!(b.count("table.records tbody tr"), 1);
    assert!(b.text("table.records").contains("O-1002"));
    b.type_into("#find-q", "Schmidt Berlin");
    b.submit("form.find button");
    assert!(b.text("#found").contains("L-1001"), "{}", b.text("#found"));

    // A CSV export of a list, opened as the browser gets it.
    let csv = b.run_async(
        "fetch('/list/lead?state=qualified&format=csv').then(r => r.text()).then(arguments[0])",
    );
    let csv = csv.as_str().expect("csv text");
    assert!(
        csv.trim_start_matches('\u{feff}').starts_with("id"),
        "{csv}"
    );
    assert!(
        csv.contains("L-1001") && csv.contains("L-1002") && !csv.contains("L-1003"),
        "{csv}"
    );

    // The reports, with their chart.
    b.goto(&format!("{}/reports/pipeline?by=stage", s.base));
    assert!(
        b.count("figure.chart svg") == 1,
        "no chart: {}",
        b.text("body")
    );
    assert!(b.text("#report").contains("total"));
    b.screenshot(&shots().join("report.png"));

    // On a phone's screen the board's columns stack.
    b.resize(400, 900);
    b.goto(&format!("{}/board", s.base));
    let stacked = b.run(
        "const c = document.querySelectorAll('.column'); return c[1].getBoundingClientRect().top > c[0].getBoundingClientRect().top",
    );
    assert_eq!(stacked, true);
    b.screenshot(&shots().join("board-phone.png"));

    // Signing out ends the session.
    b.resize(1400, 1000);
    b.submit("form.signout button");
    b.goto(&format!("{}/board", s.base));
    assert_eq!(b.count("#member"), 0);

    // A used link is refused.
    b.goto(&link);
    b.submit("#signin");
    assert!(
        b.text("#error").contains("used already"),
        "{}",
        b.text("body")
    );
    // So is one made 20 minutes ago.
    let past = (chrono::Utc::now() - chrono::Duration::minutes(20)).to_rfc3339();
    let old_link = s.leadline(&["--now", &past, "web-link", "maria"]);
    b.goto(old_link.lines().last().expect("a link"));
    b.submit("#signin");
    assert!(b.text("#error").contains("expired"), "{}", b.text("body"));
    assert_eq!(b.count("#member"), 0);

    // A form without its CSRF token is refused, and nothing runs.
    b.goto(&s.link("maria"));
    b.submit("#signin");
    b.run("document.querySelector('#command-box input[name=csrf]').remove()");
    b.type_into("#line", "/opp edit O-1002 probability:90");
    b.submit("#run");
    assert!(
        b.text("body").contains("security token"),
        "{}",
        b.text("body")
    );
    let o = s.leadline(&["--json", "cmd", "/show O-1002"]);
    assert!(!o.contains("\"probability\":90"), "{o}");
    drop(s.daemon);
}

#[test]
fn in_chromium_the_inbox_buttons_link_a_mail_and_make_a_lead_and_english_pages_for_tom() {
    let (bin, cfg, port) = Served::prepare(JOURNEY, "");
    // Two unmatched mails, ingested as the IMAP adapter does.
    {
        let store = bin.store();
        let config = leadline::config::Config::load(Some(&cfg)).expect("config");
        let ctx = config.context("maria", chrono::Utc::now(), "test");
        for (uid, from, subject) in [
            (1, "Eva Weber <eva@tailspin.example>", "Angebot?"),
            (2, "Otto <otto@wingtip.example>", "Lieferung"),
        ] {
            let mail = leadline::mail::parse::parse(
                format!(
                    "From: {from}\r\nSubject: {subject}\r\nMessage-ID: <m{uid}@x>\r\n\r\nHallo\r\n"
                )
                .as_bytes(),
                1000,
            );
            let source = leadline::command::mailbox::MailSource {
                account: "sales".into(),
                folder: "INBOX".into(),
                uid_validity: 1,
                uid,
            };
            store
                .run(
                    &leadline::command::Command::IngestMail(Box::new(vec![(source, mail)])),
                    "ingest",
                    &ctx,
                    leadline::store::Durability::Flush,
                )
                .expect("ingest");
        }
    }
    let s = Served::run(bin, cfg, &format!("http://127.0.0.1:{port}"));
    let b = Browser::start();
    b.goto(&s.link("tom"));
    b.submit("#signin");
    b.find("#member");
    assert_eq!(b.run("return document.documentElement.lang"), "en");
    assert!(b.text("nav").contains("My agenda"), "{}", b.text("nav"));

    b.goto(&format!("{}/inbox", s.base));
    assert_eq!(b.count("#inbox-mails tbody tr"), 2);
    b.type_into("#target-1", "O-1001");
    b.submit("#mail-1 form[action='/inbox/link'] button");
    assert!(b.text("#flash").contains("O-1001"), "{}", b.text("#flash"));
    assert_eq!(b.count("#inbox-mails tbody tr"), 1);
    b.submit("#lead-2");
    assert!(b.text("#flash").contains("L-1003"), "{}", b.text("#flash"));
    assert_eq!(b.count("#inbox-mails tbody tr"), 0);
    let timeline = s.leadline(&["cmd", "/timeline O-1001"]);
    assert!(timeline.contains("Angebot?"), "{timeline}");

    // The agenda page.
    b.goto(&format!("{}/agenda", s.base));
    assert!(
        b.text("#agenda").contains("agenda of tom"),
        "{}",
        b.text("#agenda")
    );
    drop(s.daemon);
}

/// A blocking HTTP client that keeps cookies off (each test says which).
fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Signs `member` in with a fresh link through `client`: the whole
/// `Set-Cookie` header of the session.
fn session_cookie(client: &reqwest::blocking::Client, s: &Served, member: &str) -> String {
    let link = s.link(member);
    let token = link.rsplit('/').next().expect("token");
    let r = client
        .post(format!("{}/signin", s.base))
        .form(&[("token", token)])
        .send()
        .expect("sign in");
    assert_eq!(r.status(), 303);
    r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string()
}

/// Signs in with a link over plain HTTP: the session cookie's `name=value`.
fn sign_in(s: &Served, member: &str) -> String {
    let cookie = session_cookie(&http(), s, member);
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    cookie.split(';').next().expect("pair").to_string()
}

/// The session's CSRF token, read off a page.
fn csrf(s: &Served, cookie: &str) -> String {
    let page = http()
        .get(format!("{}/board", s.base))
        .header("cookie", cookie)
        .send()
        .expect("board")
        .text()
        .expect("html");
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..].split('"').next().expect("token").to_string()
}

#[test]
fn strangers_forged_forms_and_expired_links_are_refused_and_change_nothing() {
    let s = Served::start(JOURNEY, "");
    let c = http();
    // Nothing but the sign-in page without a session, whatever is asked.
    for path in [
        "/board",
        "/record/O-1001",
        "/list/lead",
        "/reports/pipeline",
        "/document/Q-1001",
        "/nope",
        "/agenda",
    ] {
        let r = c.get(format!("{}{path}", s.base)).send().expect("get");
        assert_eq!(r.status(), 401, "{path}");
        let body = r.text().expect("body");
        assert!(
            !body.contains("Office chairs") && !body.contains("O-1001"),
            "{path}: {body}"
        );
    }
    let r = c
        .post(format!("{}/command", s.base))
        .form(&[("line", "/qualify L-1002"), ("csrf", "x")])
        .send()
        .expect("post");
    assert_eq!(r.status(), 401);
    // A forged cookie is no session.
    let r = c
        .get(format!("{}/board", s.base))
        .header("cookie", "leadline_session=forged")
        .send()
        .expect("get");
    assert_eq!(r.status(), 401);

    // Signed in, a POST without the right CSRF token is refused.
    let cookie = sign_in(&s, "maria");
    for token in [None, Some("wrong")] {
        let mut form = vec![
            ("line", "/opp edit O-1001 probability:10"),
            ("back", "/board"),
        ];
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        let r = c
            .post(format!("{}/command", s.base))
            .header("cookie", &cookie)
            .form(&form)
            .send()
            .expect("post");
        assert_eq!(r.status(), 403);
        assert!(r.text().expect("body").contains("security token"));
    }
    let show = s.leadline(&["--json", "cmd", "/show O-1001"]);
    assert!(show.contains("\"probability\":60"), "{show}");
    // With it, the same form runs; a back address off the site is not
    // followed.
    let token = csrf(&s, &cookie);
    let r = c
        .post(format!("{}/command", s.base))
        .header("cookie", &cookie)
        .form(&[
            ("line", "/opp edit O-1001 probability:10"),
            ("back", "//evil.example/"),
            ("csrf", &token),
        ])
        .send()
        .expect("post");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/board");
    let show = s.leadline(&["--json", "cmd", "/show O-1001"]);
    assert!(show.contains("\"probability\":10"), "{show}");

    // A report page is made again after any change (it is kept between
    // changes).
    let report = |c: &reqwest::blocking::Client| {
        c.get(format!("{}/reports/pipeline?by=stage", s.base))
            .header("cookie", &cookie)
            .send()
            .expect("report")
            .text()
            .expect("html")
            .split_once("<figure")
            .map(|(_, chart_and_numbers)| chart_and_numbers.to_string())
            .expect("a chart")
    };
    let before = report(&c);
    assert!(
        before.contains("develop") && !before.contains("on hold"),
        "{before}"
    );
    assert_eq!(report(&c), before);
    s.leadline(&["cmd", "/opp edit O-1001 status:on_hold"]);
    let after = report(&c);
    assert!(
        after.contains("on hold") && !after.contains("develop"),
        "{after}"
    );

    // An expired link: made 20 minutes ago.
    let past = (chrono::Utc::now() - chrono::Duration::minutes(20)).to_rfc3339();
    let out = s.leadline(&["--now", &past, "web-link", "tom"]);
    let token = out
        .lines()
        .last()
        .expect("link")
        .rsplit('/')
        .next()
        .expect("token")
        .to_string();
    let r = c
        .post(format!("{}/signin", s.base))
        .form(&[("token", token.as_str())])
        .send()
        .expect("sign in");
    assert_eq!(r.status(), 403);
    assert!(r.text().expect("body").contains("expired"));
    // An unknown member gets no link; a bad config value is one line.
    let out = s
        .bin
        .configured(&s.cfg)
        .args(["web-link", "nobody"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody is not a member"));
    let bad = s.bin.with_config(
        "bad.toml",
        "[web]\nlisten = \"127.0.0.1:1\"\nlanguage = \"fr\"\n",
        &["cmd", "/help"],
    );
    assert_eq!(bad.status.code(), Some(3));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("web.language: 'fr' is not one of de, en") && err.lines().count() == 1,
        "{err}"
    );

    // Hostile requests get an error and leave the server serving.
    let raw = |bytes: &[u8]| -> String {
        use std::io::{Read, Write};
        let mut c =
            std::net::TcpStream::connect(s.base.trim_start_matches("http://")).expect("connect");
        c.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("timeout");
        let _ = c.write_all(bytes);
        let mut answer = Vec::new();
        let _ = c.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    };
    assert!(raw(b"GARBAGE\r\n\r\n").contains("400"));
    assert!(raw(b"GET /record/%ZZ%00 HTTP/1.1\r\nHost: x\r\n\r\n").starts_with("HTTP/1.1 4"));
    let huge_header = format!(
        "GET /board HTTP/1.1\r\nHost: x\r\nX-A: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    let answer = raw(huge_header.as_bytes());
    assert!(
        answer.starts_with("HTTP/1.1 431") || answer.is_empty(),
        "{answer}"
    );
    let token = csrf(&s, &cookie);
    for body in [
        vec![0xff, 0xfe, b'=', 0x80],
        format!("csrf={token}&line={}", "x".repeat(3 << 20)).into_bytes(),
        format!("csrf={token}&line=%2Fqualify%20L-1002%00%0A%2Fdisqualify").into_bytes(),
    ] {
        let oversized = body.len() > 1 << 20;
        // A client of its own each: a connection the server closed after a
        // refusal is not reused for the next body.
        let sent = http()
            .post(format!("{}/command", s.base))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send();
        let r = match sent {
            Ok(r) => r,
            // The server answers 413 without reading 3 MB and closes the
            // connection; a client still sending may see the reset
            // before the answer. Either way nothing ran (checked below).
            Err(e) if oversized && e.is_request() => continue,
            Err(e) => panic!("post: {e:?}"),
        };
        assert!(
            r.status().is_client_error() || r.status() == 303,
            "{}",
            r.status()
        );
    }
    assert_eq!(s.state("L-1002"), "qualified", "nothing ran twice or oddly");
    let r = c
        .get(format!("{}/healthz", s.base))
        .send()
        .expect("healthz");
    assert_eq!(r.status(), 200);

    // A member taken off the team (the configuration read again on
    // SIGHUP) is signed out at once, and their links no longer work.
    let toms = sign_in(&s, "tom");
    let tom_link = s.link("tom");
    let board = |cookie: &str| {
        c.get(format!("{}/board", s.base))
            .header("cookie", cookie)
            .send()
            .expect("board")
            .status()
    };
    assert_eq!(board(&toms), 200);
    let without_tom = std::fs::read_to_string(&s.cfg).expect("config").replace(
        "[[team.members]]\nname = \"tom\"\nrole = \"rep\"\nlanguage = \"en\"\n",
        "",
    );
    assert!(!without_tom.contains("tom"));
    std::fs::write(&s.cfg, without_tom).expect("write config");
    s.daemon.signal("-HUP");
    s.daemon.wait_for("configuration reloaded");
    assert_eq!(board(&toms), 401);
    assert_eq!(board(&cookie), 200, "maria stays signed in");
    let token = tom_link.rsplit('/').next().expect("token");
    let r = c
        .post(format!("{}/signin", s.base))
        .form(&[("token", token)])
        .send()
        .expect("sign in");
    assert_eq!(r.status(), 403);

    // Signing out ends the session on the server.
    let token = csrf(&s, &cookie);
    let r = c
        .post(format!("{}/signout", s.base))
        .header("cookie", &cookie)
        .form(&[("csrf", token.as_str())])
        .send()
        .expect("sign out");
    assert_eq!(r.status(), 303);
    let r = c
        .get(format!("{}/board", s.base))
        .header("cookie", &cookie)
        .send()
        .expect("get");
    assert_eq!(r.status(), 401);
    drop(s.daemon);
}

#[test]
fn the_api_runs_commands_with_a_token_reads_records_and_lists_and_says_what_it_does() {
    let s = Served::start(JOURNEY, "");
    let out = s.leadline(&["token", "new", "tom"]);
    let token = out.lines().nth(1).expect("the token").trim().to_string();
    assert!(out.starts_with("made API token 1 for tom"), "{out}");
    let c = http();
    let api = |method: &str, path: &str, body: Option<Value>, token: &str| -> (u16, Value) {
        let url = format!("{}{path}", s.base);
        let mut r = match method {
            "GET" => c.get(url),
            _ => c.post(url),
        };
        if !token.is_empty() {
            r = r.bearer_auth(token);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().expect("api");
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    };

    let run = |body: Value| api("POST", "/api/v1/commands", Some(body), &token);
    // Commands as tom, recorded `via api`.
    let (status, v) = run(json!({"command": "/quote new O-1001"}));
    assert_eq!((status, v["ok"].clone()), (200, json!(true)), "{v}");
    assert!(v["reply"].as_str().unwrap_or("").contains("Q-1001"), "{v}");
    let history = s.leadline(&["cmd", "/history Q-1001"]);
    assert!(
        history.contains("tom via api: /quote new O-1001"),
        "{history}"
    );
    // Errors keep their kind.
    let (status, v) = run(json!({"command": "/quote win Q-1001"}));
    assert_eq!((status, v["error"].clone()), (409, json!("refused")), "{v}");
    let (status, v) = run(json!({"command": "/frobnicate"}));
    assert_eq!((status, v["error"].clone()), (400, json!("invalid")), "{v}");
    let (status, _) = run(json!({"cmd": "/help"}));
    assert_eq!(status, 400);
    // A step that cannot be undone needs "confirm": true.
    let (status, v) = run(json!({"command": "/disqualify L-1001 reason:lost"}));
    assert_eq!((status, v["error"].clone()), (409, json!("confirm")), "{v}");
    // Roles hold for the API as everywhere: tom is a rep.
    s.leadline(&["cmd", "/quote activate Q-1001"]);
    s.leadline(&["cmd", "/quote win Q-1001"]);
    let (status, v) =
        run(json!({"command": "/order cancel SO-1001 reason:canceled", "confirm": true}));
    assert_eq!((status, v["error"].clone()), (409, json!("refused")), "{v}");
    assert!(
        v["message"].as_str().unwrap_or("").contains("manager"),
        "{v}"
    );

    // Read endpoints.
    let (status, v) = api("GET", "/api/v1/records/O-1001", None, &token);
    assert_eq!(status, 200);
    assert_eq!(v["data"]["name"], "Office chairs");
    let (status, v) = api("GET", "/api/v1/records/O-9999", None, &token);
    assert_eq!((status, v["error"].clone()), (404, json!("not_found")));
    let (status, v) = api(
        "GET",
        "/api/v1/lists/lead?state=qualified&limit=1",
        None,
        &token,
    );
    assert_eq!(status, 200);
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1));

    // No token, a wrong one, a revoked one: 401.
    for t in ["", "not-a-token"] {
        let (status, v) = api("GET", "/api/v1/records/O-1001", None, t);
        assert_eq!((status, v["error"].clone()), (401, json!("unauthorized")));
    }
    let listed = s.leadline(&["token", "list"]);
    assert!(
        listed.contains("token 1 for tom") && !listed.contains(&token),
        "{listed}"
    );
    let store_dump = std::fs::read_dir(s.bin.data()).expect("data").count();
    assert!(store_dump > 0);
    s.leadline(&["token", "revoke", "1"]);
    let (status, _) = api("GET", "/api/v1/records/O-1001", None, &token);
    assert_eq!(status, 401);

    // The OpenAPI document names what the server does: every path and
    // method in it answers (401 without a token, not 404 or 405).
    let doc: Value = c
        .get(format!("{}/api/v1/openapi.json", s.base))
        .send()
        .expect("doc")
        .json()
        .expect("json");
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 3);
    for (path, methods) in paths {
        for method in methods.as_object().expect("methods").keys() {
            let concrete = path.replace("{id}", "O-1001").replace("{kind}", "lead");
            let (status, _) = api(
                &method.to_uppercase(),
                &concrete,
                Some(json!({"command": "/help"})),
                "",
            );
            assert_eq!(status, 401, "{method} {path}");
        }
    }
    let (status, _) = api("GET", "/api/v1/commands", None, "");
    assert_eq!(status, 405, "only what the document says");

    // Health and metrics.
    let r = c
        .get(format!("{}/healthz", s.base))
        .send()
        .expect("healthz");
    assert_eq!(r.status(), 200);
    let metrics = c
        .get(format!("{}/metrics", s.base))
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    assert!(
        metrics.contains("leadline_commands_total{step=\"quote new\",outcome=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("leadline_commands_total{step=\"quote win\",outcome=\"refused\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("leadline_commit_seconds_count"),
        "{metrics}"
    );
    assert!(metrics.contains("leadline_outbox_depth 0"), "{metrics}");
    let status: Value = serde_json::from_str(&s.leadline(&["status"])).expect("status json");
    let web = status["web"].as_str().unwrap_or("");
    assert!(web.starts_with(&format!("on, {}", s.base)), "{status}");
    drop(s.daemon);
}

/// A self-signed certificate for 127.0.0.1 (not a CA, as rustls wants of
/// a server's certificate), made by openssl: (cert, key) files.
fn self_signed(bin: &Bin) -> (PathBuf, PathBuf) {
    let cnf = bin.file(
        "cert.cnf",
        "[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n[dn]\nCN = leadline test\n\
         [ext]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = digitalSignature,keyEncipherment\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1\n",
    );
    let (cert, key) = (
        bin.dir.path().join("cert.pem"),
        bin.dir.path().join("key.pem"),
    );
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
        ])
        .arg("-config")
        .arg(&cnf)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    (cert, key)
}

#[test]
fn with_a_certificate_it_serves_https_itself_and_the_cookie_is_secure() {
    let bin = Bin::new();
    let (cert, key) = self_signed(&bin);
    let port = free_port();
    let cfg = bin.file(
        "leadline.toml",
        &format!(
            "{TEAM}\n[web]\nlisten = \"127.0.0.1:{port}\"\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
            cert.display(),
            key.display()
        ),
    );
    let s = Served::run(bin, cfg, &format!("https://127.0.0.1:{port}"));
    assert!(
        s.daemon.started.iter().any(|l| l.contains("TLS")),
        "{:?}",
        s.daemon.started
    );
    let pem = std::fs::read(&cert).expect("cert");
    let https = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("pem"))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = https
        .get(format!("{}/healthz", s.base))
        .send()
        .expect("https");
    assert_eq!(r.status(), 200);
    let cookie = session_cookie(&https, &s, "maria");
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // Plain HTTP on the same port gets no page.
    let plain = http()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send();
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
    drop(s.daemon);

    // A key that is not one stops the start with one line.
    let b = Bin::new();
    let bad = b.file("key.pem", "not a key\n");
    let cfg = b.file(
        "leadline.toml",
        &format!(
            "{TEAM}\n[web]\nlisten = \"127.0.0.1:{}\"\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
            free_port(),
            cert.display(),
            bad.display()
        ),
    );
    let out = b
        .configured(&cfg)
        .arg("run")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no PEM private key") && err.trim().lines().count() == 1,
        "{err}"
    );
}

#[test]
fn a_report_page_shows_a_change_made_through_another_daemon_on_the_same_database() {
    let cluster = crate::pg::Cluster::start(&[]);
    let secrets = tempfile::tempdir().expect("temp dir");
    let url_file = secrets.path().join("database-url");
    std::fs::write(&url_file, cluster.url("leadline", None)).expect("url file");
    let store = format!(
        "[store]\nbackend = \"postgres\"\nurl_file = \"{}\"\n",
        url_file.display()
    );
    let s = Served::start(JOURNEY, &store);
    let other = Bin::new();
    let other_cfg = other.file("other.toml", &format!("{TEAM}\n{store}"));
    let _other = Daemon::start_with(other.configured(&other_cfg));
    let cookie = sign_in(&s, "maria");
    let report = || {
        http()
            .get(format!("{}/reports/pipeline?by=stage", s.base))
            .header("cookie", &cookie)
            .send()
            .expect("report")
            .text()
            .expect("html")
    };
    let before = report();
    assert!(
        before.contains("develop") && !before.contains("on hold"),
        "{before}"
    );
    let out = other
        .configured(&other_cfg)
        .args(["cmd", "/opp edit O-1001 status:on_hold"])
        .output()
        .expect("run");
    crate::helpers::stdout_of(out, "the change through the other daemon");
    let after = report();
    assert!(
        after.contains("on hold") && !after.contains("develop"),
        "the page kept what it made before the other daemon's change: {after}"
    );
}
