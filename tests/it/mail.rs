//! Mail both ways against real servers on 127.0.0.1: Dovecot for IMAP and
//! an aiosmtpd SMTP server, driven through the `leadline` binary.

use std::path::PathBuf;

use crate::helpers::Bin;
use crate::mailserver::{Dovecot, MailUser, Smtp};

const NOW: &str = "2026-12-01T09:00:00Z";

struct Mail {
    b: Bin,
    cfg: PathBuf,
    dovecot: Dovecot,
    sales: MailUser,
    customer: MailUser,
    _smtp: Option<Smtp>,
}

impl Mail {
    /// A team on example.com reading `sales` over IMAP; with `smtp`
    /// options, sending through a server that delivers to `customer`.
    fn new(smtp: Option<&[&str]>) -> Mail {
        let b = Bin::new();
        let dovecot = Dovecot::start();
        let sales = dovecot.user("sales");
        let customer = dovecot.user("customer");
        let server = smtp.map(|opts| Smtp::start(&customer, opts));
        let smtp_conf = match &server {
            Some(s) => {
                let auth = if smtp.is_some_and(|o| o.contains(&"--user")) {
                    "user = \"relay\"\npassword_env = \"LEADLINE_TEST_SMTP\"\n"
                } else {
                    ""
                };
                format!("[mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nfrom = \"Maria <maria@example.com>\"\n{auth}", s.port)
            }
            None => String::new(),
        };
        let cfg = b.file(
            "mail.toml",
            &format!(
                "[team]\ndomains = [\"example.com\"]\ndefault_user = \"maria\"\n\
                 [[team.members]]\nname = \"maria\"\nemail = \"maria@example.com\"\n\
                 [[mail.accounts]]\nname = \"sales\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nuser = \"sales\"\npassword_env = \"LEADLINE_TEST_IMAP\"\n{smtp_conf}",
                dovecot.port
            ),
        );
        Mail {
            b,
            cfg,
            dovecot,
            sales,
            customer,
            _smtp: server,
        }
    }

    fn run_at(&self, now: &str, args: &[&str]) -> std::process::Output {
        self.b
            .configured(&self.cfg)
            .args(["--now", now])
            .args(args)
            .env("LEADLINE_TEST_IMAP", &self.sales.password)
            .env("LEADLINE_TEST_SMTP", "relay-secret")
            .output()
            .expect("run leadline")
    }

    fn ok(&self, args: &[&str]) -> String {
        crate::helpers::stdout_of(self.run_at(NOW, args), &format!("{args:?}"))
    }

    fn cmd(&self, line: &str) -> String {
        self.ok(&["cmd", line])
    }

    fn json(&self, line: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["--json", "cmd", line])).expect("json")
    }

    fn ingest(&self) -> String {
        self.ok(&["ingest", "--once"])
    }
}

fn mail(from: &str, subject: &str, id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: maria@example.com\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: Tue, 01 Dec 2026 09:30:00 +0100\r\n{extra}\r\n{body}\r\n"
    )
    .into_bytes()
}

#[test]
fn a_reply_to_a_mail_leadline_sent_lands_on_the_same_opportunity_once() {
    let m = Mail::new(Some(&[]));
    m.cmd("/lead new topic:\"Office chairs\" first:Anna last:Schmidt email:anna@contoso.example company:Contoso");
    m.cmd("/qualify L-1001");
    let out = m.cmd("/email O-1001 subject:\"Your offer\" body:\"Hello Anna, here it is.\"");
    assert!(
        out.contains("Queued mail ACT-1001 'Your offer [O-1001]' to anna@contoso.example"),
        "{out}"
    );
    assert!(m
        .cmd("/timeline O-1001")
        .contains("ACT-1001  Active   email"));
    assert_eq!(
        m.ok(&["outbox", "send", "--once"]).trim(),
        "sent 1, deferred 0, failed 0, uncertain 0"
    );
    // The SMTP server got it, with our Message-ID and the tracking token.
    let received = m.customer.messages();
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(
        received[0].contains("Subject: Your offer [O-1001]"),
        "{}",
        received[0]
    );
    let sent: serde_json::Value = m.json("/show ACT-1001")["data"].clone();
    let our_id = sent["details"]["message_id"]
        .as_str()
        .expect("message id")
        .to_string();
    assert!(
        received[0].contains(&format!("<{our_id}>")),
        "{}",
        received[0]
    );
    assert_eq!(sent["state"], "completed");
    assert!(
        m.ok(&["outbox", "send", "--once"]).starts_with("sent 0"),
        "nothing is sent twice"
    );

    // Anna answers; the subject lost its token, the thread headers did not.
    let reply = mail(
        "Anna Schmidt <anna@contoso.example>",
        "Re: Your offer",
        "reply-1@contoso.example",
        &format!("In-Reply-To: <{our_id}>\r\nReferences: <{our_id}>\r\n"),
        "Thanks, we take it.",
    );
    m.sales.deliver(&reply, "F");
    // Unflagged mail is not for leadline.
    m.sales.deliver(
        &mail(
            "Anna Schmidt <anna@contoso.example>",
            "Private",
            "private-1@contoso.example",
            "",
            "not for the CRM",
        ),
        "S",
    );
    let out = m.ingest();
    assert!(
        out.starts_with("sales: fetched 1, matched 1, unmatched 0"),
        "{out}"
    );
    let tl = m.cmd("/timeline O-1001");
    assert!(
        tl.contains("Re: Your offer") && !tl.contains("Private"),
        "{tl}"
    );
    assert!(m
        .cmd("/why ACT-1002")
        .contains(&format!("reply to <{our_id}>")));
    let shown = m.cmd("/show ACT-1002");
    assert!(shown.contains("Thanks, we take it."), "{shown}");
    // The same run again adds nothing; the server's flags are intact.
    assert!(m.ingest().starts_with("sales: fetched 0"));
    let files = m.sales.files();
    assert!(
        files.iter().any(|f| f.ends_with(":2,Fa")),
        "flagged, marked $Leadline, still unseen: {files:?}"
    );
    // Flagged while leadline was not running: the next pass picks it up.
    m.sales.deliver(
        &mail(
            "Anna Schmidt <anna@contoso.example>",
            "One more thing [O-1001]",
            "later-1@contoso.example",
            "",
            "Delivery on Monday?",
        ),
        "F",
    );
    assert!(m.ingest().starts_with("sales: fetched 1, matched 1"));
}

#[test]
fn mail_is_matched_by_token_plus_address_participant_and_domain_in_that_order() {
    let m = Mail::new(None);
    m.cmd("/lead new topic:Chairs last:Schmidt email:anna@contoso.example company:Contoso website:contoso.example");
    m.cmd("/qualify L-1001");
    m.cmd("/lead new topic:Desks last:Meier email:bob@fabrikam.example");
    m.cmd("/lead new topic:Free last:Free email:someone@gmail.com");
    let cases: [(&str, &[u8]); 7] = [
        ("token", &mail("X <x@unknown.example>", "About [L-1002]", "t1@x", "", "token")),
        ("plus", b"From: X <x@unknown.example>\r\nTo: sales+o-1001@example.com\r\nSubject: plus\r\nMessage-ID: <p1@x>\r\nDate: Tue, 01 Dec 2026 09:30:00 +0100\r\n\r\nplus\r\n"),
        ("contact", &mail("Anna <anna@contoso.example>", "contact", "c1@x", "", "contact")),
        ("lead", &mail("Bob <bob@fabrikam.example>", "lead", "l1@x", "", "lead")),
        ("domain", &mail("Carla <carla@contoso.example>", "domain", "d1@x", "", "domain")),
        ("own", &mail("Maria <maria@example.com>", "internal", "o1@x", "", "our own domain never matches")),
        ("free", &mail("Stranger <stranger@gmail.com>", "free mail", "f1@x", "", "free-mail domains never match by domain")),
    ];
    for (_, raw) in &cases {
        m.sales.deliver(raw, "F");
    }
    let out = m.ingest();
    assert!(
        out.starts_with("sales: fetched 7, matched 5, unmatched 2"),
        "{out}"
    );
    let why = |subject: &str| -> String {
        for n in 1001..1010 {
            let a = m.json(&format!("/show ACT-{n}"));
            if a["data"]["subject"] == subject {
                return format!(
                    "{} {}",
                    m.cmd(&format!("/why ACT-{n}")).trim(),
                    a["data"]["regarding"]["number"]
                );
            }
        }
        panic!("no activity for {subject}");
    };
    assert!(why("About [L-1002]").contains("tracking token [L-1002]"));
    assert!(why("plus").contains("plus-address sales+o-1001@example.com"));
    let c = why("contact");
    assert!(
        c.contains("anna@contoso.example is contact C-1001") && c.contains("on O-1001"),
        "{c}"
    );
    assert!(why("lead").contains("is the e-mail of lead L-1002"));
    let d = why("domain");
    assert!(
        d.contains("contoso.example is the website of account A-1001") && d.contains("on O-1001"),
        "{d}"
    );
    let inbox = m.cmd("/inbox");
    assert!(
        inbox.contains("unmatched inbox (2)")
            && inbox.contains("internal")
            && inbox.contains("free mail"),
        "{inbox}"
    );
    // Filed by hand, and a new lead from the stranger.
    let out = m.cmd("/inbox link 1 O-1001");
    assert!(out.contains("Filed mail #1 'internal' on O-1001"), "{out}");
    let out = m.cmd("/inbox lead 2");
    assert!(out.contains("Created L-1004 free mail (Stranger)"), "{out}");
    assert!(m.cmd("/inbox").contains("unmatched inbox (0)"));
    let lead = m.json("/show L-1004")["data"].clone();
    assert_eq!(
        (lead["email"].as_str(), lead["website"].as_str()),
        (Some("stranger@gmail.com"), None)
    );
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/mail")
            .join(name),
    )
    .expect("fixture")
}

#[test]
fn odd_real_world_mails_all_land_on_a_timeline_or_in_the_inbox() {
    let m = Mail::new(None);
    m.cmd("/lead new topic:Desks last:Meier email:bob@fabrikam.example company:Fabrikam website:fabrikam.example");
    let names: Vec<String> =
        std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail"))
            .expect("fixtures")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
    for n in &names {
        m.sales.deliver(&fixture(n), "F");
    }
    // A 30 MB attachment: kept as metadata only.
    let big = format!(
        "From: Bob Meier <bob@fabrikam.example>\r\nTo: maria@example.com\r\nSubject: The big file\r\nMessage-ID: <big-1@fabrikam.example>\r\nDate: Tue, 01 Dec 2026 09:40:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nSee attachment.\r\n--B\r\nContent-Type: application/octet-stream; name=\"scan.bin\"\r\nContent-Disposition: attachment; filename=\"scan.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--B--\r\n",
        "QUJD".repeat(10 * 1024 * 1024 / 4 * 3 / 3 * 4 / 4 * 3)
    );
    m.sales.deliver(big.as_bytes(), "F");
    let out = m.ingest();
    let total = names.len() + 1;
    assert!(
        out.starts_with(&format!("sales: fetched {total}, ")),
        "{out}"
    );
    assert!(out.contains("failed 0") && !out.contains("error"), "{out}");
    assert!(
        out.contains("automatic 3"),
        "the auto-reply, the newsletter and the bounce: {out}"
    );
    let timeline = m.cmd("/timeline L-1001 limit:100");
    let inbox = m.cmd("/inbox limit:100");
    let everywhere = format!("{timeline}\n{inbox}");
    for subject in [
        "Re: Desks",
        "HTML only",
        "No id",
        "Bürostühle",
        "Strange charset",
        "Broken multipart",
        "Out of office: Desks",
        "Our December newsletter",
        "Who sent this?",
        "Angebot für Bürostühle",
        "(no subject)",
        "Second subject",
        "The big file",
        "Undelivered Mail Returned to Sender",
        "こんにちは",
    ] {
        assert!(
            everywhere.contains(subject),
            "{subject} is lost:\n{everywhere}"
        );
    }
    let find = |subject: &str| -> serde_json::Value {
        let all = m.json("/timeline L-1001 limit:100")["data"].clone();
        all.as_array()
            .into_iter()
            .flatten()
            .find(|a| a["subject"] == subject)
            .cloned()
            .unwrap_or_else(|| panic!("{subject} not on the timeline"))
    };
    assert_eq!(
        find("Re: Desks")["details"]["text"],
        "Sounds good, send the offer.",
        "quoted history trimmed"
    );
    assert!(
        find("HTML only")["details"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("20 desks")),
        "HTML converted to text"
    );
    assert!(find("No id")["details"]["notes"][0]
        .as_str()
        .is_some_and(|n| n.contains("no Message-ID")));
    assert!(find("Angebot für Bürostühle")["details"]["attachments"][0]["name"] == "liste.csv");
    // Two scans without Message-ID, alike but for their PDF: both kept.
    let scans: Vec<String> = m.json("/timeline L-1001 limit:100")["data"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            m.json("/inbox limit:100")["data"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| &i["mail"]),
        )
        .filter(|a| a["subject"] == "Scan")
        .map(|a| a.to_string())
        .collect();
    assert_eq!(scans.len(), 2, "{everywhere}");
    assert!(
        scans.iter().any(|s| s.contains("scan-1.pdf"))
            && scans.iter().any(|s| s.contains("scan-2.pdf"))
    );
    let big = find("The big file");
    assert_eq!(big["details"]["attachments"][0]["name"], "scan.bin");
    assert!(big["details"]["attachments"][0]["size"]
        .as_u64()
        .is_some_and(|s| s > 20_000_000));
    assert!(find("Out of office: Desks")["details"]["notes"][0]
        .as_str()
        .is_some_and(|n| n.starts_with("automatic mail")));
    let odd = m.json("/inbox limit:100")["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["mail"]["subject"] == "(no subject)")
        .cloned()
        .expect("the bytes that are no mail");
    assert!(
        odd["mail"]["problems"]
            .to_string()
            .contains("no readable sender"),
        "{odd}"
    );
    // Never twice.
    assert!(m.ingest().starts_with("sales: fetched 0"));
    // Automatic mail never makes a lead.
    let n = m.json("/inbox")["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["mail"]["subject"] == "Our December newsletter")
        .and_then(|i| i["number"].as_u64())
        .expect("newsletter in the inbox");
    let out = m.run_at(NOW, &["cmd", &format!("/inbox lead {n}")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("automatic mail"));
    // A short listing says that it is short.
    let all = m.json("/inbox limit:100")["data"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(all > 2);
    let head = m.cmd("/inbox limit:2");
    assert!(
        head.starts_with(&format!(
            "unmatched inbox ({all}, the oldest 2 shown; /inbox limit:{all} shows all)"
        )),
        "{head}"
    );
}

#[test]
fn a_lead_made_from_a_mail_without_subject_is_named_after_its_sender() {
    let m = Mail::new(None);
    m.sales.deliver(
        b"From: Carla Weiss <carla@litware.example>\r\nTo: sales@example.com\r\nMessage-ID: <ns-1@litware.example>\r\nDate: Tue, 01 Dec 2026 09:00:00 +0100\r\n\r\nPlease call me about 30 chairs.\r\n",
        "F",
    );
    m.ingest();
    assert!(m.cmd("/inbox").contains("(no subject)"));
    let out = m.cmd("/inbox lead 1");
    assert!(out.contains("Mail enquiry from Carla Weiss"), "{out}");
    assert!(!m.cmd("/show L-1001").contains("(no subject)"));
}

/// Removes leadline's keyword from every message and forgets the mailbox's
/// UIDs, as if leadline had crashed before marking and the server had
/// renumbered the folder (new UIDVALIDITY).
fn unmark_and_renumber(user: &MailUser) {
    for f in user.files() {
        if let Some((base, flags)) = f.rsplit_once(":2,") {
            let kept: String = flags.chars().filter(|c| c.is_ascii_uppercase()).collect();
            std::fs::rename(
                user.maildir.join("cur").join(&f),
                user.maildir.join("cur").join(format!("{base}:2,{kept}")),
            )
            .expect("rename");
        }
    }
    for entry in std::fs::read_dir(&user.maildir).expect("maildir").flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("dovecot") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[test]
fn a_crash_before_marking_or_a_new_uidvalidity_never_adds_a_mail_twice() {
    let m = Mail::new(None);
    m.cmd("/lead new topic:Desks last:Meier email:bob@fabrikam.example");
    m.sales.deliver(
        &mail("Bob <bob@fabrikam.example>", "One", "one@x", "", "1"),
        "F",
    );
    m.sales.deliver(&fixture("no_message_id.eml"), "F");
    assert!(m.ingest().starts_with("sales: fetched 2, matched 2"));
    unmark_and_renumber(&m.sales);
    let out = m.ingest();
    assert!(
        out.starts_with("sales: fetched 2, matched 0, unmatched 0, automatic 0, already known 2"),
        "{out}"
    );
    let tl = m.json("/timeline L-1001")["data"].as_array().map(Vec::len);
    assert_eq!(tl, Some(2));
    assert!(
        m.ingest().starts_with("sales: fetched 0"),
        "marked this time"
    );
}

#[test]
fn an_unreachable_server_or_a_wrong_password_is_reported_not_fatal() {
    let m = Mail::new(None);
    let out =
        m.b.configured(&m.cfg)
            .args(["ingest", "--once"])
            .env("LEADLINE_TEST_IMAP", "wrong")
            .output()
            .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("error: sales: login as sales failed"),
        "{text}"
    );
    assert!(
        !text.contains("wrong"),
        "the password is never printed: {text}"
    );
    drop(m.dovecot);
    let out =
        m.b.configured(&m.cfg)
            .args(["ingest", "--once"])
            .env("LEADLINE_TEST_IMAP", "x")
            .output()
            .expect("run");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("cannot connect to 127.0.0.1"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn refused_and_delayed_mail_is_reported_and_retried() {
    let m = Mail::new(Some(&["--reject", "nobody@", "--tempfail", "later@"]));
    m.cmd("/lead new topic:Chairs last:Schmidt email:anna@contoso.example");
    m.cmd("/email L-1001 subject:Bounce body:x to:nobody@contoso.example");
    m.cmd("/email L-1001 subject:Delay body:y to:later@contoso.example");
    m.cmd("/email L-1001 subject:Fine body:z");
    let out = m.ok(&["outbox", "send", "--once"]);
    assert!(out.starts_with("sent 1, deferred 1, failed 1"), "{out}");
    let outbox = m.cmd("/outbox");
    assert!(
        outbox.contains("#1 to nobody@contoso.example - Bounce [L-1001] - FAILED"),
        "{outbox}"
    );
    assert!(outbox.contains("#2 to later@contoso.example - Delay [L-1001] - waiting, next try 2026-12-01 09:01 UTC (last error:"), "{outbox}");
    assert_eq!(m.json("/show ACT-1001")["data"]["state"], "canceled");
    assert!(m
        .cmd("/notices")
        .contains("Mail not sent: ACT-1001 'Bounce [L-1001]'"));
    // Not yet due: nothing happens; later it is tried again.
    assert!(String::from_utf8_lossy(
        &m.run_at("2026-12-01T09:00:30Z", &["outbox", "send", "--once"])
            .stdout
    )
    .starts_with("sent 0, deferred 0"));
    assert!(String::from_utf8_lossy(
        &m.run_at("2026-12-01T09:02:00Z", &["outbox", "send", "--once"])
            .stdout
    )
    .starts_with("sent 0, deferred 1"));
    assert_eq!(m.customer.messages().len(), 1);
}

#[test]
fn smtp_auth_uses_the_secret_from_the_environment() {
    let m = Mail::new(Some(&["--user", "relay", "--password", "relay-secret"]));
    m.cmd("/lead new topic:Chairs last:Schmidt email:anna@contoso.example");
    m.cmd("/email L-1001 subject:Hi body:there");
    assert!(m.ok(&["outbox", "send", "--once"]).starts_with("sent 1"));
    assert_eq!(m.customer.messages().len(), 1);
}

#[test]
fn a_send_interrupted_by_a_crash_is_never_repeated_by_itself() {
    use leadline::command::mailbox::OutboxStep;
    use leadline::command::Command;
    use leadline::store::Durability;
    let m = Mail::new(Some(&[]));
    m.cmd("/lead new topic:Chairs last:Schmidt email:anna@contoso.example");
    m.cmd("/email L-1001 subject:Hi body:there");
    {
        // A run that marked the mail "sending" and died before the answer.
        let store = m.b.store();
        let config = leadline::config::Config::load(Some(&m.cfg)).expect("config");
        let ctx = config.context("maria", chrono::Utc::now(), "test");
        store
            .run(
                &Command::OutboxStep {
                    mail: 1,
                    step: OutboxStep::Claim,
                },
                "claim",
                &ctx,
                Durability::Flush,
            )
            .expect("claim");
    }
    let out = m.ok(&["outbox", "send", "--once"]);
    assert!(
        out.starts_with("sent 0, deferred 0, failed 0, uncertain 1"),
        "{out}"
    );
    assert!(m.customer.messages().is_empty());
    assert!(m.cmd("/outbox").contains("UNCERTAIN"));
    assert!(
        m.ok(&["outbox", "send", "--once"]).starts_with("sent 0"),
        "still not by itself"
    );
    m.cmd("/outbox retry 1");
    assert!(m.ok(&["outbox", "send", "--once"]).starts_with("sent 1"));
    assert_eq!(m.customer.messages().len(), 1);
}

#[test]
fn mail_settings_with_a_password_inside_or_plain_text_to_a_remote_host_are_refused() {
    let b = Bin::new();
    let out = b.with_config("m.toml", "[[mail.accounts]]\nname = \"x\"\nhost = \"127.0.0.1\"\ntls = \"none\"\nuser = \"u\"\npassword = \"hunter2\"\n", &["cmd", "/help"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("passwords never go in the config file") && !err.contains("hunter2"),
        "{err}"
    );
    let out = b.with_config("n.toml", "[[mail.accounts]]\nname = \"x\"\nhost = \"imap.example.com\"\ntls = \"none\"\nuser = \"u\"\npassword_env = \"P\"\n", &["cmd", "/help"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("only allowed to a loopback address"));
}

#[test]
fn quotes_invoices_and_meeting_invitations_go_out_with_their_content() {
    let m = Mail::new(Some(&[]));
    m.cmd("/product new CHAIR-01 name:\"Office chair\" price:199.99 tax:19%");
    m.cmd("/lead new topic:Desks last:Early email:early@contoso.example company:Early");
    m.cmd("/qualify L-1001");
    m.cmd("/opp line add O-1001 sku:CHAIR-01 qty:1");
    m.cmd("/quote new O-1001");
    m.cmd("/quote activate Q-1001");
    // Without the seller's details there is no document to send.
    let out = m.run_at(NOW, &["cmd", "/quote send Q-1001"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot send Q-1001: documents need the seller"),
        "{err}"
    );
    // The seller, and English documents for this customer's team.
    let cfg = std::fs::read_to_string(&m.cfg).expect("config");
    std::fs::write(
        &m.cfg,
        format!(
            "{cfg}{}\n[documents]\nlanguage = \"en\"\n",
            crate::documents::COMPANY
        ),
    )
    .expect("config");
    m.cmd("/quote close Q-1001 reason:canceled");
    m.cmd("/lead new topic:\"Office chairs\" first:Anna last:Schmidt email:anna@contoso.example company:Contoso");
    m.cmd("/qualify L-1002");
    m.cmd("/opp line add O-1002 sku:CHAIR-01 qty:10");
    m.cmd("/quote new O-1002");
    let out = m.run_at(NOW, &["cmd", "/quote send Q-1002"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("an active quote is the one that goes out")
    );
    m.cmd("/quote activate Q-1002");
    let out = m.cmd("/quote send Q-1002 message:\"Delivery within two weeks.\"");
    assert!(
        out.contains("'Quote Q-1002: Office chairs [Q-1002]' to anna@contoso.example"),
        "{out}"
    );
    m.cmd("/email O-1002 template:followup");
    m.cmd("/meeting O-1002 Demo start:\"2026-12-04 10:00\" end:\"2026-12-04 11:00\" attendees:\"anna@contoso.example, Ben\"");
    m.cmd("/quote win Q-1002");
    m.cmd("/order fulfil SO-1001 reason:complete");
    m.cmd("/order invoice SO-1001");
    m.cmd("/invoice send INV-1001");
    assert!(m
        .ok(&["outbox", "send", "--once"])
        .starts_with("sent 4, deferred 0, failed 0"));
    let got = m.customer.messages();
    let find = |needle: &str| {
        got.iter()
            .find(|t| t.contains(needle))
            .cloned()
            .unwrap_or_else(|| panic!("no mail with {needle}"))
    };
    // The quote: a cover letter, and the quote as PDF.
    use mail_parser::MimeHeaders;
    let quote = find("Subject: Quote Q-1002");
    let parsed = mail_parser::MessageParser::default()
        .parse(quote.as_bytes())
        .expect("a mail");
    let body = parsed.body_text(0).expect("a text part").to_string();
    assert!(
        body.contains("Dear Anna Schmidt")
            && body.contains("Please find attached our quote Q-1002 over €2,379.88")
            && body.contains("Delivery within two weeks."),
        "{body}"
    );
    let pdf = parsed
        .attachments()
        .find(|a| a.attachment_name() == Some("Quotation-Q-1002.pdf"))
        .expect("the quote as PDF");
    assert_eq!(pdf.content_type().map(|c| c.ctype()), Some("application"));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("quote.pdf");
    std::fs::write(&file, pdf.contents()).expect("pdf");
    let text = crate::documents::pages(&file).join("\n");
    assert!(
        text.contains("Quotation Q-1002") && text.contains("€2,379.88"),
        "{text}"
    );
    assert!(find("Subject: Following up: Office chairs [O-1002]").contains("Kind regards\r\nmaria"));
    let invite = find("Subject: Invitation: Demo [O-1002]");
    assert!(
        invite.contains("text/calendar")
            && invite.contains("METHOD:REQUEST")
            && invite.contains("ATTENDEE:mailto:anna@contoso.example"),
        "{invite}"
    );
    assert!(invite.contains("DTSTART:20261204T090000Z"), "{invite}");
    // The invoice: its PDF carries the e-invoice, which validates.
    let invoice = find("Subject: Invoice INV-1001");
    let parsed = mail_parser::MessageParser::default()
        .parse(invoice.as_bytes())
        .expect("a mail");
    let body = parsed.body_text(0).expect("a text part").to_string();
    assert!(
        body.contains("over €2,379.88, due 31 Dec 2026") && body.contains("ZUGFeRD/Factur-X"),
        "{body}"
    );
    let pdf = parsed
        .attachments()
        .find(|a| a.attachment_name() == Some("Invoice-INV-1001.pdf"))
        .expect("the invoice as PDF");
    let file = dir.path().join("invoice.pdf");
    std::fs::write(&file, pdf.contents()).expect("pdf");
    // The checker compares the embedded XML with the one written beside it.
    let embedded = extract_xml(&file);
    std::fs::write(file.with_extension("xml"), embedded).expect("xml");
    let x = &crate::documents::facturx_check(&[file])[0];
    assert_eq!(x["GrandTotalAmount"], "2379.88");
    // An answer to the invitation threads back to the meeting's record.
    let id = invite
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .expect("message id")
        .trim()
        .to_string();
    m.sales.deliver(
        &mail(
            "Anna <anna@contoso.example>",
            "Accepted: Demo",
            "accept-1@contoso.example",
            &format!("In-Reply-To: {id}\r\n"),
            "Accepted",
        ),
        "F",
    );
    assert!(m.ingest().starts_with("sales: fetched 1, matched 1"));
    assert!(m.cmd("/timeline O-1002").contains("Accepted: Demo"));
}

/// The XML embedded in a PDF, read back by the factur-x package.
pub fn extract_xml(pdf: &std::path::Path) -> Vec<u8> {
    let out = std::process::Command::new(crate::documents::python())
        .args([
            "-c",
            "import sys; from facturx import get_facturx_xml_from_pdf; sys.stdout.buffer.write(get_facturx_xml_from_pdf(open(sys.argv[1], 'rb'), check_xsd=False)[1])",
        ])
        .arg(pdf)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn a_running_ingest_wakes_on_idle_and_stops_cleanly_on_sigterm() {
    let m = Mail::new(None);
    // Poll only every 5 minutes: a mail that lands within seconds came by IDLE.
    let cfg = std::fs::read_to_string(&m.cfg).expect("config").replace(
        "password_env = \"LEADLINE_TEST_IMAP\"\n",
        "password_env = \"LEADLINE_TEST_IMAP\"\npoll_seconds = 300\n",
    );
    std::fs::write(&m.cfg, cfg).expect("config");
    m.cmd("/lead new topic:Desks last:Meier email:bob@fabrikam.example");
    let mut ingest = m.b.configured(&m.cfg);
    ingest
        .arg("ingest")
        .env("LEADLINE_TEST_IMAP", &m.sales.password);
    let mut d = crate::daemon::Daemon::spawn(ingest);
    let wait_for = |needle: &str| d.wait_for(needle).pop().unwrap_or_default();
    assert!(wait_for("watching").contains("sales: watching INBOX (IDLE)"));
    m.sales.deliver(
        &mail(
            "Bob <bob@fabrikam.example>",
            "Woken by IDLE",
            "idle-1@x",
            "",
            "hi",
        ),
        "F",
    );
    let line = wait_for("fetched");
    assert!(line.contains("sales: fetched 1, matched 1"), "{line}");
    d.signal("-TERM");
    let status = d.wait(10);
    assert!(status.success(), "{status:?}");
    assert!(m.cmd("/timeline L-1001").contains("Woken by IDLE"));
}

#[test]
fn implicit_tls_and_starttls_work_with_a_private_ca_and_an_untrusted_server_is_refused() {
    let b = Bin::new();
    let dovecot = Dovecot::start_tls();
    let sales = dovecot.user("sales");
    let (tls_port, ca) = dovecot.tls.clone().expect("tls");
    sales.deliver(
        &mail(
            "Bob <bob@fabrikam.example>",
            "Over TLS",
            "tls-1@x",
            "",
            "secret stuff",
        ),
        "F",
    );
    let account = |name: &str, port: u16, tls: &str, ca: Option<&std::path::Path>| {
        format!(
            "[[mail.accounts]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"{tls}\"\nuser = \"sales\"\npassword_env = \"LEADLINE_TEST_IMAP\"\n{}",
            ca.map(|c| format!("ca_file = \"{}\"\n", c.display())).unwrap_or_default()
        )
    };
    let run = |cfg: &str| {
        let path = b.file("tls.toml", cfg);
        b.configured(&path)
            .args(["ingest", "--once"])
            .env("LEADLINE_TEST_IMAP", &sales.password)
            .output()
            .expect("run")
    };
    // Without the CA the certificate is not trusted: reported, not fatal.
    let out = run(&account("untrusted", tls_port, "implicit", None));
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("untrusted: cannot connect") && text.contains("TLS"),
        "{text}"
    );
    let out = run(&account("implicit", tls_port, "implicit", Some(&ca)));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.starts_with("implicit: fetched 1"),
        "{text}"
    );
    sales.deliver(
        &mail(
            "Bob <bob@fabrikam.example>",
            "Via STARTTLS",
            "tls-2@x",
            "",
            "more",
        ),
        "F",
    );
    let out = run(&account("starttls", dovecot.port, "starttls", Some(&ca)));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.starts_with("starttls: fetched 1"),
        "{text}"
    );
}

#[test]
fn mail_goes_out_over_starttls_to_a_server_with_a_private_ca() {
    let b = Bin::new();
    let dovecot = Dovecot::start_tls();
    let customer = dovecot.user("customer");
    let (_, ca) = dovecot.tls.clone().expect("tls");
    let dir = ca.parent().expect("dir").to_path_buf();
    let cert = dir.join("cert.pem").display().to_string();
    let key = dir.join("key.pem").display().to_string();
    let smtp = Smtp::start(&customer, &["--tls-cert", &cert, "--tls-key", &key]);
    let cfg = b.file(
        "smtp.toml",
        &format!(
            "[mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"starttls\"\nfrom = \"Maria <maria@example.com>\"\nca_file = \"{}\"\n",
            smtp.port,
            ca.display()
        ),
    );
    let run = |args: &[&str]| b.configured(&cfg).args(args).output().expect("run");
    assert!(run(&[
        "cmd",
        "/lead new topic:Chairs last:Schmidt email:anna@contoso.example"
    ])
    .status
    .success());
    assert!(run(&["cmd", "/email L-1001 subject:Encrypted body:yes"])
        .status
        .success());
    let out = run(&["outbox", "send", "--once"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("sent 1"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(customer
        .messages()
        .iter()
        .any(|m| m.contains("Subject: Encrypted [L-1001]")));
}

#[test]
fn a_mail_given_up_then_retried_and_sent_shows_as_sent_with_its_date_and_sender() {
    use leadline::command::mailbox::OutboxStep;
    use leadline::command::Command;
    use leadline::store::Durability;
    let m = Mail::new(Some(&["--tempfail", "later@"]));
    m.cmd("/lead new topic:Chairs last:Schmidt email:anna@contoso.example");
    m.cmd("/email L-1001 subject:Delay body:y to:later@contoso.example");
    // Six tries a day apart: the sixth gives up, and the run says so.
    let mut last = String::new();
    for day in 2..=7 {
        last = String::from_utf8_lossy(
            &m.run_at(
                &format!("2026-12-0{day}T09:00:00Z"),
                &["outbox", "send", "--once"],
            )
            .stdout,
        )
        .to_string();
    }
    assert!(last.starts_with("sent 0, deferred 0, failed 1"), "{last}");
    assert!(m
        .cmd("/outbox")
        .contains("FAILED: gave up after 6 attempts"));

    // A mail to Anna that failed (forced here), retried by hand, then sent.
    m.cmd("/email L-1001 subject:Offer body:\"Here it is\"");
    {
        let store = m.b.store();
        let config = leadline::config::Config::load(Some(&m.cfg)).expect("config");
        let ctx = config.context("maria", chrono::Utc::now(), "test");
        for step in [
            OutboxStep::Claim,
            OutboxStep::Failed {
                reason: "550 mailbox full".into(),
            },
        ] {
            store
                .run(
                    &Command::OutboxStep { mail: 2, step },
                    "step",
                    &ctx,
                    Durability::Flush,
                )
                .expect("step");
        }
    }
    assert_eq!(m.json("/show ACT-1002")["data"]["state"], "canceled");
    m.cmd("/outbox retry 2");
    let out = m.ok(&["outbox", "send", "--once"]);
    assert!(out.starts_with("sent 1"), "{out}");
    let act = m.json("/show ACT-1002")["data"].clone();
    assert_eq!(act["state"], "completed", "{act}");
    assert_eq!(act["details"]["from"], "maria@example.com", "{act}");
    let timeline = m.cmd("/timeline L-1001");
    let line = timeline
        .lines()
        .find(|l| l.contains("ACT-1002"))
        .expect("on the timeline")
        .to_string();
    assert!(line.contains("Closed") && line.contains("2026-"), "{line}");
    let received = m.customer.messages();
    let offer = received
        .iter()
        .find(|r| r.contains("Subject: Offer"))
        .expect("offer received");
    assert!(offer.contains("MIME-Version: 1.0"), "{offer}");
}
