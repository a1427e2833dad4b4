//! Secrets never leave: a mail server that quotes the credentials back in
//! its refusal (some do) must not get them into the output of `ingest
//! --once` and `outbox send --once`, the outbox, the store's files, the
//! daemon's log or `leadline status`.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

use base64::Engine as _;

use crate::daemon::Daemon;
use crate::helpers::Bin;

const PASSWORD: &str = "Geheim-2026!sales";

/// A server on loopback that answers each connection with `serve`.
fn echo_server(serve: fn(TcpStream) -> std::io::Result<()>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || serve(conn));
        }
    });
    port
}

/// IMAP that refuses every login, quoting the line it got.
fn imap(conn: TcpStream) -> std::io::Result<()> {
    let mut w = conn.try_clone()?;
    w.write_all(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] echo ready\r\n")?;
    for line in BufReader::new(conn).lines() {
        let line = line?;
        let (tag, rest) = line.split_once(' ').unwrap_or((&line, ""));
        let verb = rest.split(' ').next().unwrap_or("").to_uppercase();
        let answer = match verb.as_str() {
            "CAPABILITY" => format!("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n"),
            "LOGIN" => format!("{tag} NO [AUTHENTICATIONFAILED] refused: {rest}\r\n"),
            "LOGOUT" => format!("* BYE\r\n{tag} OK bye\r\n"),
            _ => format!("{tag} BAD what is {rest}\r\n"),
        };
        w.write_all(answer.as_bytes())?;
    }
    Ok(())
}

/// SMTP that refuses every AUTH, quoting it and what it decodes to.
fn smtp(conn: TcpStream) -> std::io::Result<()> {
    let mut w = conn.try_clone()?;
    w.write_all(b"220 echo ESMTP\r\n")?;
    for line in BufReader::new(conn).lines() {
        let line = line?;
        let upper = line.to_uppercase();
        let answer = if upper.starts_with("EHLO") {
            "250-echo\r\n250 AUTH PLAIN LOGIN\r\n".to_string()
        } else if upper.starts_with("AUTH") {
            let b64 = line.rsplit(' ').next().unwrap_or("");
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map(|d| String::from_utf8_lossy(&d).replace('\0', " "))
                .unwrap_or_default();
            format!("535 5.7.8 refused {line} ({decoded})\r\n")
        } else if upper.starts_with("QUIT") {
            "221 bye\r\n".to_string()
        } else {
            "250 ok\r\n".to_string()
        };
        w.write_all(answer.as_bytes())?;
    }
    Ok(())
}

fn all_of(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether any file under `dir` holds `needle`.
fn stored_anywhere(dir: &std::path::Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).expect("read dir").any(|e| {
        let p = e.expect("entry").path();
        if p.is_dir() {
            return stored_anywhere(&p, needle);
        }
        let bytes = std::fs::read(&p).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle)
    })
}

#[test]
fn a_server_that_echoes_the_password_gets_it_into_no_output_log_status_or_store() {
    let b = Bin::new();
    let imap_port = echo_server(imap);
    let smtp_port = echo_server(smtp);
    let cfg = b.file(
        "echo.toml",
        &format!(
            "[[mail.accounts]]\nname = \"sales\"\nhost = \"127.0.0.1\"\nport = {imap_port}\n\
             tls = \"none\"\nuser = \"sales\"\npassword_env = \"LEADLINE_TEST_PW\"\npoll_seconds = 1\n\
             [mail.smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\n\
             from = \"Sales <sales@example.com>\"\nuser = \"relay\"\npassword_env = \"LEADLINE_TEST_PW\"\n"
        ),
    );
    let run = |args: &[&str]| {
        b.configured(&cfg)
            .env("LEADLINE_TEST_PW", PASSWORD)
            .args(args)
            .output()
            .expect("run leadline")
    };
    let clean = |what: &str, text: &str| {
        assert!(
            !text.contains(PASSWORD),
            "{what} shows the password: {text}"
        );
        assert!(
            !text.contains("R2VoZWlt"),
            "{what} shows it in base64: {text}"
        );
    };

    // IMAP: the refusal is shown, the password in it is not.
    let out = run(&["ingest", "--once"]);
    let said = all_of(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("refused") && said.contains("[redacted]"),
        "{said}"
    );
    clean("ingest --once", &said);

    // SMTP: the same for the outbox, and for what the outbox stores.
    run(&[
        "cmd",
        "/lead new topic:Chairs last:Schmidt email:anna@contoso.example",
    ]);
    run(&["cmd", "/email L-1001 subject:Hello body:Hi"]);
    let out = run(&["outbox", "send", "--once"]);
    let said = all_of(&out);
    assert!(
        said.contains("535") && said.contains("[redacted]"),
        "{said}"
    );
    clean("outbox send --once", &said);
    let listed = all_of(&run(&["cmd", "/outbox"]));
    assert!(listed.contains("anna@contoso.example"), "{listed}");
    clean("/outbox", &listed);

    // The daemon: its log and its status.
    let mut cmd = b.configured(&cfg);
    cmd.env("LEADLINE_TEST_PW", PASSWORD);
    let daemon = Daemon::start_with(cmd);
    let log = daemon.wait_for("refused").join("\n");
    assert!(log.contains("[redacted]"), "{log}");
    clean("the daemon's log", &log);
    let status = all_of(&run(&["status"]));
    clean("status", &status);
    let json = all_of(&run(&["--json", "status"]));
    clean("status --json", &json);
    drop(daemon);

    assert!(
        !stored_anywhere(&b.data(), PASSWORD.as_bytes()),
        "the password is in the store's files"
    );
}
