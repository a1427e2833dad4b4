//! OAuth2 sign-in for mail accounts, against real servers on 127.0.0.1:
//! the fake provider (`fakeoauth`), Dovecot checking XOAUTH2 and
//! OAUTHBEARER tokens with the provider's introspection endpoint, and an
//! aiosmtpd server that takes only XOAUTH2 with a live token. Everything
//! goes through the `leadline` binary: `login`, `logout`, `ingest`,
//! `outbox send` and the daemon.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::daemon::Daemon;
use crate::fakeoauth::{FakeOAuth, Mode};
use crate::helpers::Bin;
use crate::mailserver::{Dovecot, MailUser, Smtp};

struct Setup {
    b: Bin,
    cfg: PathBuf,
    fake: FakeOAuth,
    dovecot: Dovecot,
    sales: MailUser,
    customer: MailUser,
    _smtp: Smtp,
}

impl Setup {
    /// A team (maria, and ada the admin) reading `sales` with OAuth2 and
    /// sending as `sales` through an XOAUTH2-only SMTP server. `extra`
    /// goes into the account's `[oauth2]` table.
    fn new(extra: &str) -> Setup {
        Setup::build(|f| f.account_config() + extra)
    }

    /// With the account's `[oauth2]` table made by `table`.
    fn build(table: impl FnOnce(&FakeOAuth) -> String) -> Setup {
        let fake = FakeOAuth::start();
        let dovecot = Dovecot::start_oauth(&fake.url("/introspect"));
        let sales = dovecot.user("sales");
        let customer = dovecot.user("customer");
        let smtp = Smtp::start(&customer, &["--oauth-introspect", &fake.url("/introspect")]);
        let b = Bin::new();
        let cfg = b.file(
            "oauth.toml",
            &format!(
                "[team]\ndomains = [\"example.com\"]\ndefault_user = \"maria\"\n\
                 [[team.members]]\nname = \"maria\"\nemail = \"maria@example.com\"\n\
                 [[team.members]]\nname = \"ada\"\nrole = \"admin\"\n\
                 [mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nfrom = \"Maria <maria@example.com>\"\noauth2_account = \"sales\"\n\
                 [[mail.accounts]]\nname = \"sales\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nuser = \"sales\"\npoll_seconds = 1\n{}",
                smtp.port,
                dovecot.port,
                table(&fake)
            ),
        );
        Setup {
            b,
            cfg,
            fake,
            dovecot,
            sales,
            customer,
            _smtp: smtp,
        }
    }

    fn command(&self) -> Command {
        let mut c = self.b.configured(&self.cfg);
        c.env("LEADLINE_TEST_OAUTH_SECRET", "s3cret-value");
        c
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.command().args(args).output().expect("run leadline")
    }

    fn ok(&self, args: &[&str]) -> String {
        crate::helpers::stdout_of(self.run(args), &format!("{args:?}"))
    }

    fn cmd(&self, line: &str) -> String {
        self.ok(&["cmd", line])
    }

    fn token_file(&self) -> PathBuf {
        self.b.data().join("oauth").join("sales.json")
    }

    /// `leadline login sales`, its input and output piped.
    fn spawn_login(&self) -> Child {
        self.command()
            .args(["login", "sales"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn login")
    }

    /// Starts `leadline login sales` and returns it with the user code it
    /// showed (and the line that showed it).
    fn start_login(&self) -> (Child, String, String) {
        let mut child = self.spawn_login();
        let mut first = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout"))
            .read_line(&mut first)
            .expect("the prompt line");
        let code = user_code(&first).unwrap_or_else(|| panic!("no user code in: {first}"));
        (child, code, first)
    }

    /// `leadline login sales`, approved by the test as the browser would.
    fn login(&self) -> String {
        self.login_as("sales")
    }

    /// `leadline login sales`, approved by mailbox user `user`.
    fn login_as(&self, user: &str) -> String {
        let (mut child, code, first) = self.start_login();
        assert!(
            first.contains(&self.fake.url("/verify")),
            "the prompt names the address: {first}"
        );
        self.fake.approve(&code, user);
        let (status, out, err) = finish(&mut child);
        assert!(status, "login failed: {out}{err}");
        format!("{first}{out}{err}")
    }

    /// `leadline login sales` that must fail: returns its one-line error.
    fn login_fails(&self, then: impl FnOnce(&FakeOAuth, &str)) -> String {
        let out = {
            let mut child = self.spawn_login();
            let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
            let mut first = String::new();
            let _ = stdout.read_line(&mut first);
            then(&self.fake, &user_code(&first).unwrap_or_default());
            let mut rest = String::new();
            let _ = stdout.read_to_string(&mut rest);
            let (status, _, err) = finish(&mut child);
            assert!(!status, "login should fail: {first}{rest}");
            assert!(!first.contains("rt-") && !rest.contains("at-"));
            err
        };
        assert_eq!(out.trim().lines().count(), 1, "one line: {out}");
        assert!(
            !self.token_file().exists(),
            "a failed sign-in stores nothing: {out}"
        );
        out
    }

    fn deliver(&self, subject: &str) {
        let id = subject.replace(' ', "-");
        let raw = format!(
            "From: Anna Schmidt <anna@contoso.example>\r\nTo: sales@example.com\r\nSubject: {subject}\r\nMessage-ID: <{id}@contoso.example>\r\nDate: Tue, 01 Dec 2026 09:30:00 +0100\r\n\r\nHello.\r\n"
        );
        self.sales.deliver(raw.as_bytes(), "F");
    }

    fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["status"])).expect("status json")
    }
}

/// The fake provider's user code in a line of `login`'s output.
fn user_code(line: &str) -> Option<String> {
    line.split_whitespace()
        .find(|w| w.starts_with("WDJB-"))
        .map(str::to_string)
}

fn finish(child: &mut Child) -> (bool, String, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "login did not end");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    (status.success(), out, err)
}

/// Waits until `f` holds, for up to 30 s.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

fn delivered(user: &MailUser, subject: &str) -> bool {
    user.messages()
        .iter()
        .any(|m| m.contains(&format!("Subject: {subject}")))
}

#[test]
fn the_whole_path_login_ingest_send_refresh_revoke_and_login_again() {
    let s = Setup::new("");
    s.fake.with(|st| st.access_ttl = 4);
    // Not signed in yet: a clear line, nothing fetched.
    let out = s.run(&["ingest", "--once"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        text.contains(
            "mail account sales: it is not signed in; sign in again with `leadline login sales`"
        ),
        "{text}"
    );

    let shown = s.login();
    assert!(shown.contains("Signed in mail account sales"), "{shown}");
    assert!(
        !shown.contains("rt-") && !shown.contains("at-"),
        "no token is printed: {shown}"
    );
    let file = std::fs::metadata(s.token_file()).expect("token file");
    assert_eq!(file.permissions().mode() & 0o777, 0o600);
    let dir = std::fs::metadata(s.token_file().parent().expect("dir")).expect("dir");
    assert_eq!(dir.permissions().mode() & 0o777, 0o700);
    let refresh_token = |s: &Setup| {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(s.token_file()).expect("token file"))
                .expect("json");
        v["refresh_token"].as_str().unwrap_or_default().to_string()
    };
    let first_refresh_token = refresh_token(&s);
    assert!(first_refresh_token.starts_with("rt-"));

    s.cmd("/lead new topic:Chairs last:Schmidt email:anna@contoso.example company:Contoso");
    s.deliver("First question");
    let d = Daemon::start_with(s.command());
    assert!(
        d.started
            .iter()
            .any(|l| l.contains("mail ingest: on (sales: OAuth2, signed in 20")),
        "the start says the account is signed in: {:?}",
        d.started
    );
    eventually("the first mail on the timeline", || {
        s.cmd("/timeline L-1001").contains("First question")
    });
    s.cmd("/email L-1001 subject:\"Offer one\" body:\"Here it is.\"");
    eventually("the first mail sent over XOAUTH2", || {
        delivered(&s.customer, "Offer one")
    });
    assert_eq!(s.status()["mail"]["sales"]["sign_in"], "signed in");

    // Access tokens live 4 s: the daemon refreshes them and signs in anew.
    eventually("a refresh", || s.fake.refreshes() >= 2);
    s.deliver("Second question");
    eventually("the second mail, after the first token expired", || {
        s.cmd("/timeline L-1001").contains("Second question")
    });
    s.cmd("/email L-1001 subject:\"Offer two\" body:\"And another.\"");
    eventually("the second mail sent with a refreshed token", || {
        delivered(&s.customer, "Offer two")
    });
    assert_ne!(
        refresh_token(&s),
        first_refresh_token,
        "the rotated refresh token was stored"
    );

    // The user revokes leadline's access: the account needs a new sign-in,
    // the admins hear of it, the daemon goes on.
    s.fake.revoke_all();
    eventually("needs sign-in in the status", || {
        s.status()["mail"]["sales"]["sign_in"] == "needs sign-in"
    });
    let st = s.status();
    let err = st["mail"]["sales"]["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        err.contains("expired or was revoked") && err.contains("leadline login sales"),
        "{err}"
    );
    assert!(!err.contains("rt-"), "{err}");
    let notices = s.ok(&["--as", "ada", "cmd", "/notices"]);
    assert!(notices.contains("mail account sales"), "{notices}");
    assert!(
        s.cmd("/show L-1001").contains("Chairs"),
        "the daemon still answers"
    );
    s.cmd("/email L-1001 subject:\"Offer three\" body:\"Waiting.\"");
    eventually("the sender reports the sign-in", || {
        s.status()["outbox"]["sign_in"] == "needs sign-in"
    });
    let outbox = s.cmd("/outbox");
    assert!(outbox.contains("Offer three"), "the mail waits: {outbox}");
    // Nobody keeps asking the provider with the refused sign-in.
    let calls = s.fake.with(|st| st.token_calls);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        s.fake.with(|st| st.token_calls),
        calls,
        "no retries until a new login"
    );
    assert!(!delivered(&s.customer, "Offer three"));
    let logged: Vec<String> = d.lines.try_iter().collect();
    assert!(
        logged
            .iter()
            .any(|l| l.contains("sign in again with `leadline login sales`")),
        "the log says what to do: {logged:?}"
    );
    assert!(
        !logged
            .iter()
            .any(|l| l.contains("rt-") || l.contains("at-")),
        "no token in the log: {logged:?}"
    );

    // Signing in again while the daemon runs: it goes on by itself.
    s.deliver("Third question");
    s.login();
    eventually("the third mail after the new sign-in", || {
        s.cmd("/timeline L-1001").contains("Third question")
    });
    s.cmd("/email L-1001 subject:\"Offer four\" body:\"Signed in again.\"");
    eventually("the waiting mail sent after the new sign-in", || {
        delivered(&s.customer, "Offer three") && delivered(&s.customer, "Offer four")
    });
    eventually("signed in again in the status", || {
        s.status()["mail"]["sales"]["sign_in"] == "signed in"
    });
    let notices = s.ok(&["--as", "ada", "cmd", "/notices"]);
    assert!(notices.contains("signed in again"), "{notices}");
    drop(d);
}

#[test]
fn dovecot_takes_xoauth2_and_oauthbearer_and_refuses_a_bad_token() {
    // The fixture itself: a good token logs in, a bad one is refused.
    let fake = FakeOAuth::start();
    let dovecot = Dovecot::start_oauth(&fake.url("/introspect"));
    dovecot.user("sales");
    let auth = |mech: &str, token: &str| {
        use base64::Engine;
        let raw = if mech == "XOAUTH2" {
            format!("user=sales\x01auth=Bearer {token}\x01\x01")
        } else {
            format!("n,a=sales,\x01auth=Bearer {token}\x01\x01")
        };
        let mut c = std::net::TcpStream::connect(("127.0.0.1", dovecot.port)).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut r = BufReader::new(c.try_clone().expect("clone"));
        let mut line = String::new();
        r.read_line(&mut line).expect("greeting");
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        write!(c, "a AUTHENTICATE {mech} {b64}\r\n").expect("write");
        loop {
            line.clear();
            r.read_line(&mut line).expect("answer");
            if line.starts_with('+') {
                write!(c, "\r\n").expect("write");
            } else if line.starts_with("a ") {
                return line;
            }
        }
    };
    let good = fake.issue("sales");
    assert!(auth("XOAUTH2", &good).starts_with("a OK"));
    assert!(auth("OAUTHBEARER", &good).starts_with("a OK"));
    assert!(auth("XOAUTH2", "at-forged").contains("AUTHENTICATIONFAILED"));
    assert!(auth("OAUTHBEARER", "at-forged").contains("AUTHENTICATIONFAILED"));

    // leadline with each mechanism; and a token the provider expired
    // early (clocks apart) is refreshed and tried once more.
    for sasl in ["xoauth2", "oauthbearer"] {
        let s = Setup::new(&format!("sasl = \"{sasl}\"\n"));
        s.login();
        s.deliver(&format!("Hello over {sasl}"));
        let out = s.ok(&["ingest", "--once"]);
        assert!(out.contains("fetched 1"), "{sasl}: {out}");
        assert!(s.cmd("/inbox").contains(&format!("Hello over {sasl}")));
        s.fake.expire_access();
        s.deliver(&format!("Again over {sasl}"));
        let before = s.fake.refreshes();
        let out = s.ok(&["ingest", "--once"]);
        assert!(out.contains("fetched 1"), "{sasl}: {out}");
        assert_eq!(
            s.fake.refreshes(),
            before + 1,
            "refreshed once after the refusal"
        );
        // The sender refreshes the same way.
        s.fake.expire_access();
        s.cmd("/lead new topic:Chairs last:Schmidt email:anna@contoso.example");
        s.cmd("/email L-1001 subject:Quick body:x");
        let out = s.ok(&["outbox", "send", "--once"]);
        assert!(out.contains("sent 1"), "{out}");
        assert!(delivered(&s.customer, "Quick"));
        let _ = &s.dovecot;
    }
}

#[test]
fn failed_sign_ins_say_what_to_do_in_one_line_and_store_nothing() {
    let s = Setup::new("");
    let err = s.login_fails(|fake, code| fake.deny(code));
    assert!(
        err.contains("mail account sales: the sign-in was denied in the browser")
            && err.contains("leadline login sales"),
        "{err}"
    );

    s.fake.with(|st| st.device_ttl = 2);
    let err = s.login_fails(|_, _| {});
    assert!(
        err.contains("the code expired before the sign-in was approved"),
        "{err}"
    );
    s.fake.with(|st| st.device_ttl = 600);

    s.fake.with(|st| st.client_id = "another-app".to_string());
    let err = s.login_fails(|_, _| {});
    assert!(
        err.contains("the provider refused client id leadline-test")
            && err.contains("AADSTS700016: Application not found in the directory.")
            && !err.contains("Trace ID"),
        "{err}"
    );
    s.fake.with(|st| st.client_id = "leadline-test".to_string());

    s.fake.with(|st| st.mode = Mode::Garbage);
    let err = s.login_fails(|_, _| {});
    assert!(
        err.contains("mail account sales: the provider at 127.0.0.1"),
        "{err}"
    );
    assert!(err.contains("answered something"), "{err}");

    s.fake.with(|st| st.mode = Mode::Down);
    let err = s.login_fails(|_, _| {});
    assert!(
        err.contains("is failing (temporarily_unavailable)"),
        "{err}"
    );

    s.fake.with(|st| st.mode = Mode::UnknownTenant);
    let err = s.login_fails(|_, _| {});
    assert!(
        err.contains("the provider refused the request (invalid_request): AADSTS90002: Tenant 'nosuch.onmicrosoft.com' not found"),
        "{err}"
    );

    s.fake.with(|st| st.mode = Mode::Silent);
    let err = s.login_fails(|_, _| {});
    assert!(err.contains("did not answer within 3 s"), "{err}");
    s.fake.with(|st| st.mode = Mode::Normal);

    // Accounts that are not there or use a password.
    let out = s.run(&["login", "nosuch"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("no mail account is named 'nosuch' (configured: sales)"));

    // A secret in the config file is refused without being echoed; a
    // password and [oauth2] together are refused.
    let login_with = |name: &str, toml: &str| {
        let out = s.b.with_config(name, toml, &["login", "x"]);
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = login_with(
        "bad.toml",
        "[[mail.accounts]]\nname = \"x\"\nhost = \"127.0.0.1\"\ntls = \"none\"\nuser = \"u\"\n[mail.accounts.oauth2]\nprovider = \"google\"\nclient_id = \"c\"\nclient_secret = \"hunter2\"\n",
    );
    assert!(
        err.contains("client_secret_env") && !err.contains("hunter2"),
        "{err}"
    );
    let err = login_with(
        "both.toml",
        "[[mail.accounts]]\nname = \"x\"\nhost = \"127.0.0.1\"\ntls = \"none\"\nuser = \"u\"\npassword_env = \"P\"\n[mail.accounts.oauth2]\nprovider = \"microsoft\"\ntenant = \"contoso.onmicrosoft.com\"\nclient_id = \"c\"\n",
    );
    assert!(err.contains("either a password"), "{err}");

    // An app that needs a client secret: refused without it, signed in
    // with it (sent as HTTP Basic authentication, never printed).
    s.fake
        .with(|st| st.client_secret = Some("s3cret-value".to_string()));
    let err = s.login_fails(|_, _| {});
    assert!(err.contains("the provider refused client id leadline-test (check oauth2.client_id and the client secret)"), "{err}");
    let mut cfg = std::fs::read_to_string(&s.cfg).expect("cfg");
    cfg.push_str("client_secret_env = \"LEADLINE_TEST_OAUTH_SECRET\"\n");
    std::fs::write(&s.cfg, cfg).expect("cfg");
    let shown = s.login();
    assert!(!shown.contains("s3cret-value"), "{shown}");
    s.fake.expire_access();
    s.deliver("Refreshed with the secret");
    let out = s.ok(&["ingest", "--once"]);
    assert!(
        out.contains("fetched 1") && !out.contains("s3cret-value"),
        "{out}"
    );
    assert!(s.ok(&["logout", "sales"]).contains("Signed out"));

    // Then a good sign-in, and logout forgets it.
    s.login();
    assert!(s.token_file().exists());
    assert!(s
        .ok(&["logout", "sales"])
        .contains("Signed out mail account sales"));
    assert!(!s.token_file().exists());
    assert!(s.ok(&["logout", "sales"]).contains("was not signed in"));
    let out = s.run(&["ingest", "--once"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("it is not signed in"));
}

#[test]
fn an_outage_or_a_revoked_sign_in_stops_only_that_account() {
    // A second account, `support`, signs in with a password on the same
    // server; it goes on whatever happens to `sales`.
    let s = Setup::new("");
    let support = s.dovecot.user("support");
    let cfg = std::fs::read_to_string(&s.cfg).expect("cfg")
        + &format!(
            "[[mail.accounts]]\nname = \"support\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nuser = \"support\"\npassword_env = \"LEADLINE_TEST_IMAP\"\npoll_seconds = 1\n",
            s.dovecot.port
        );
    std::fs::write(&s.cfg, cfg).expect("cfg");
    s.fake.with(|st| st.access_ttl = 3);
    s.login();
    let mut cmd = s.command();
    cmd.env("LEADLINE_TEST_IMAP", &support.password);
    let d = Daemon::start_with(cmd);
    let to_support = |subject: &str| {
        let raw = format!(
            "From: Bob <bob@fabrikam.example>\r\nTo: support@example.com\r\nSubject: {subject}\r\nMessage-ID: <{}@fabrikam.example>\r\n\r\nHi.\r\n",
            subject.replace(' ', "-")
        );
        support.deliver(raw.as_bytes(), "F");
    };
    s.deliver("Before the outage");
    eventually("sales read", || {
        s.cmd("/inbox").contains("Before the outage")
    });

    // The provider is down: tokens cannot be refreshed. Status and admins
    // say so, support goes on, and sales recovers by itself afterwards.
    s.fake.with(|st| st.mode = Mode::Down);
    eventually("provider unreachable in the status", || {
        s.status()["mail"]["sales"]["sign_in"] == "provider unreachable"
    });
    let notices = s.ok(&["--as", "ada", "cmd", "/notices"]);
    assert!(
        notices.contains("is failing (temporarily_unavailable)"),
        "{notices}"
    );
    to_support("During the outage");
    eventually("support read during the outage", || {
        s.cmd("/inbox").contains("During the outage")
    });
    s.deliver("After the outage");
    s.fake.with(|st| st.mode = Mode::Normal);
    eventually("sales read after the outage, without a new sign-in", || {
        s.cmd("/inbox").contains("After the outage")
    });
    assert_eq!(s.status()["mail"]["sales"]["sign_in"], "signed in");

    // Revoked: sales waits for a sign-in; support still goes on.
    s.fake.revoke_all();
    eventually("needs sign-in", || {
        s.status()["mail"]["sales"]["sign_in"] == "needs sign-in"
    });
    to_support("While sales waits");
    eventually("support read while sales waits", || {
        s.cmd("/inbox").contains("While sales waits")
    });
    assert_eq!(s.status()["mail"]["support"]["connected"], true);
    drop(d);
}

#[test]
fn a_token_the_mail_server_refuses_even_fresh_means_a_new_sign_in() {
    // Signed in as a user the mailbox is not (or a disabled mailbox): the
    // provider gives tokens, the server refuses them.
    let s = Setup::new("");
    s.login_as("someone-else");
    s.deliver("Never read");
    let out = s.run(&["ingest", "--once"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        text.contains("mail account sales: the server refused a fresh access token for sales")
            && text.contains("leadline login sales"),
        "{text}"
    );
    assert!(s.cmd("/inbox").contains("(0)"));
}

/// A plain HTTP GET, as a browser would send it: the status and the
/// `Location` header (or the body when there is none).
fn get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut c = std::net::TcpStream::connect(host).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        c,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    let _ = c.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let location = answer
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .map(str::to_string);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, location.unwrap_or(body))
}

/// Reads a login's output until a line is an address starting with
/// `scheme`; returns it and everything shown until then.
fn shown_address(child: &mut Child, scheme: &str) -> (String, String) {
    let mut out = BufReader::new(child.stdout.as_mut().expect("stdout"));
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).expect("read") > 0,
            "no {scheme} address in: {seen}"
        );
        seen.push_str(&line);
        if line.trim().starts_with(scheme) {
            return (line.trim().to_string(), seen);
        }
    }
}

/// Starts `leadline login sales` (browser flow) and returns it with the
/// sign-in address it showed.
fn start_browser_login(s: &Setup) -> (Child, String) {
    let mut child = s.spawn_login();
    let (url, _) = shown_address(&mut child, "http://");
    (child, url)
}

#[test]
fn a_browser_sign_in_comes_back_to_leadline_or_is_pasted() {
    let s = Setup::build(|f| f.browser_config());
    // The browser on this machine: the provider sends it to leadline.
    let (mut child, url) = start_browser_login(&s);
    assert!(url.starts_with(&s.fake.url("/authorize?")), "{url}");
    assert!(url.contains("code_challenge_method=S256"), "PKCE: {url}");
    let (status, back) = get(&url);
    assert_eq!(status, 302);
    assert!(back.starts_with("http://127.0.0.1:"), "{back}");
    let (status, page) = get(&back);
    assert_eq!(status, 200);
    assert!(page.contains("go back to the terminal"), "{page}");
    let (ok, out, err) = finish(&mut child);
    assert!(ok, "{out}{err}");
    assert!(out.contains("Signed in mail account sales"), "{out}");
    s.deliver("Through the browser");
    assert!(s.ok(&["ingest", "--once"]).contains("fetched 1"));

    // The browser on another machine: the address is pasted.
    s.ok(&["logout", "sales"]);
    let (mut child, url) = start_browser_login(&s);
    let (_, back) = get(&url);
    let stdin = child.stdin.as_mut().expect("stdin");
    writeln!(stdin, "{back}").expect("paste");
    let (ok, out, err) = finish(&mut child);
    assert!(ok, "{out}{err}");
    assert!(s.token_file().exists());

    // An answer from another sign-in is refused.
    s.ok(&["logout", "sales"]);
    let (mut child, url) = start_browser_login(&s);
    let (_, back) = get(&url);
    let forged = back.split("&state=").next().unwrap_or("").to_string() + "&state=forged";
    writeln!(child.stdin.as_mut().expect("stdin"), "{forged}").expect("paste");
    let (ok, _, err) = finish(&mut child);
    assert!(!ok);
    assert!(err.contains("the answer is not from this sign-in"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!s.token_file().exists());

    // Denied in the browser.
    s.fake.with(|st| st.browser_user = None);
    let (mut child, url) = start_browser_login(&s);
    let (_, back) = get(&url);
    let (status, _) = get(&back);
    assert_eq!(status, 200);
    let (ok, _, err) = finish(&mut child);
    assert!(!ok);
    assert!(
        err.contains(
            "mail account sales: the sign-in was denied in the browser: The user declined."
        ),
        "{err}"
    );
    assert!(!s.token_file().exists());
}

#[test]
fn google_signs_in_by_browser_and_microsoft_asks_for_imap_and_smtp() {
    // Only the sign-in address is made; nothing reaches the providers.
    let b = Bin::new();
    let cfg = b.file(
        "providers.toml",
        "[[mail.accounts]]\nname = \"gmail\"\nhost = \"imap.gmail.com\"\ntls = \"implicit\"\nuser = \"a@gmail.example\"\n\
         [mail.accounts.oauth2]\nprovider = \"google\"\nclient_id = \"g-id\"\nclient_secret_env = \"G_SECRET\"\n\
         [[mail.accounts]]\nname = \"m365\"\nhost = \"outlook.office365.com\"\ntls = \"implicit\"\nuser = \"a@contoso.example\"\n\
         [mail.accounts.oauth2]\nprovider = \"microsoft\"\ntenant = \"contoso.onmicrosoft.com\"\nclient_id = \"m-id\"\n",
    );
    let address = |args: &[&str]| {
        let mut child = b
            .configured(&cfg)
            .args(args)
            .env("G_SECRET", "not-so-secret")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn login");
        let (url, text) = shown_address(&mut child, "https://");
        let _ = child.kill();
        let _ = child.wait();
        assert!(!text.contains("not-so-secret"), "{text}");
        url
    };
    let g = address(&["login", "gmail"]);
    assert!(
        g.starts_with("https://accounts.google.com/o/oauth2/v2/auth?"),
        "{g}"
    );
    for part in [
        "scope=https%3A%2F%2Fmail.google.com%2F",
        "access_type=offline",
        "client_id=g-id",
        "redirect_uri=http%3A%2F%2F127.0.0.1%3A",
        "code_challenge_method=S256",
    ] {
        assert!(g.contains(part), "{part} in {g}");
    }
    let out = b
        .configured(&cfg)
        .args(["login", "gmail"])
        .env_remove("G_SECRET")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("mail account gmail: oauth2 client secret: the environment variable G_SECRET is not set"),
        "{err}"
    );
    let m = address(&["login", "m365", "--browser"]);
    assert!(
        m.starts_with(
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize?"
        ),
        "{m}"
    );
    for part in [
        "https%3A%2F%2Foutlook.office.com%2FIMAP.AccessAsUser.All",
        "https%3A%2F%2Foutlook.office.com%2FSMTP.Send",
        "offline_access",
    ] {
        assert!(m.contains(part), "{part} in {m}");
    }
}

#[test]
fn sign_ins_live_in_the_configured_secrets_folder_not_in_the_data_folder() {
    let secrets = tempfile::tempdir().expect("temp dir");
    let folder = secrets.path().join("leadline-secrets");
    let s = Setup::build(|f| {
        format!(
            "{}\n[secrets]\npath = \"{}\"\n",
            f.account_config(),
            folder.display()
        )
    });
    let shown = s.login();
    assert!(shown.contains("Signed in mail account sales"), "{shown}");
    let kept = folder.join("sales.json");
    let file = std::fs::metadata(&kept).expect("the sign-in in the secrets folder");
    assert_eq!(file.permissions().mode() & 0o777, 0o600);
    assert!(
        !s.token_file().exists(),
        "a sign-in was written into the data folder too"
    );
    // The mail account reads with that sign-in.
    s.deliver("From the secrets folder");
    let out = s.ok(&["ingest", "--once"]);
    assert!(out.contains("sales: fetched 1"), "{out}");
    // Logging out deletes it there.
    s.ok(&["logout", "sales"]);
    assert!(!kept.exists());
}
