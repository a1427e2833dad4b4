//! Real mail servers on 127.0.0.1 for the mail tests: Dovecot (IMAP) from
//! a throwaway config, and an aiosmtpd SMTP server that delivers into
//! Dovecot's Maildirs. Each test starts its own and stops them on drop.
//! The test command installs the packages and the `vmail` user.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::chown;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::pg::free_port;

fn id(flag: &str) -> u32 {
    crate::pg::system_id(flag, "vmail")
}

fn wait_for_port(port: u16, what: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not listen on {port}");
}

/// A Dovecot instance with its own users and Maildirs.
pub struct Dovecot {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// With TLS: the implicit-TLS port and the CA (self-signed) certificate.
    pub tls: Option<(u16, PathBuf)>,
    child: Child,
    uid: u32,
    gid: u32,
}

/// One mailbox user.
#[derive(Debug, Clone)]
pub struct MailUser {
    pub name: String,
    pub password: String,
    pub maildir: PathBuf,
    uid: u32,
    gid: u32,
}

impl Dovecot {
    pub fn start() -> Dovecot {
        Dovecot::launch(false, None)
    }

    /// Accepting XOAUTH2 and OAUTHBEARER too, each token checked with the
    /// provider's introspection endpoint (`introspection_mode = post`).
    pub fn start_oauth(introspection_url: &str) -> Dovecot {
        Dovecot::launch(false, Some(introspection_url))
    }

    /// With a self-signed certificate for 127.0.0.1: implicit TLS on its
    /// own port, STARTTLS on the plain one.
    pub fn start_tls() -> Dovecot {
        Dovecot::launch(true, None)
    }

    fn launch(tls: bool, oauth: Option<&str>) -> Dovecot {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let (uid, gid) = (id("-u"), id("-g"));
        for sub in ["mail", "run", "state"] {
            std::fs::create_dir_all(d.join(sub)).expect("mkdir");
        }
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        chown(d.join("mail"), Some(uid), Some(gid)).expect("chown mail");
        std::fs::write(d.join("users"), "").expect("users");
        let port = free_port();
        let tls = tls.then(|| {
            // A private CA, and a server certificate it signed for 127.0.0.1.
            let run = |args: &[&str]| {
                let ok = Command::new("openssl")
                    .args(args)
                    .current_dir(d)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .expect("openssl")
                    .success();
                assert!(ok, "openssl {args:?} failed");
            };
            std::fs::write(
                d.join("ext.cnf"),
                "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
            )
            .expect("ext");
            run(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=leadline test CA",
                "-days",
                "2",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ]);
            run(&[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "key.pem",
                "-out",
                "server.csr",
            ]);
            run(&[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
                "-out",
                "cert.pem",
            ]);
            (free_port(), d.join("ca.pem"))
        });
        let ssl = match &tls {
            Some((tls_port, _)) => format!(
                "ssl = yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n",
                d = d.display()
            ) + &format!("service imap-login {{\n  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {tls_port}\n  }}\n}}\n"),
            None => "ssl = no\nservice imap-login {\n  inet_listener imaps {\n    port = 0\n  }\n}\n".to_string(),
        };
        let (mechanisms, oauth_passdb) = match oauth {
            Some(url) => {
                std::fs::write(
                    d.join("oauth2.conf.ext"),
                    format!("introspection_mode = post\nintrospection_url = {url}\nusername_attribute = username\nactive_attribute = active\nactive_value = true\n"),
                )
                .expect("oauth2 conf");
                (
                    "plain login xoauth2 oauthbearer\nauth_failure_delay = 0",
                    format!(
                        "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}/oauth2.conf.ext\n}}\n",
                        d.display()
                    ),
                )
            }
            None => ("plain login", String::new()),
        };
        let conf = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
             {ssl}disable_plaintext_auth = no\nauth_mechanisms = {mechanisms}\nmail_location = maildir:{d}/mail/%u\n\
             {oauth_passdb}\
             first_valid_uid = {uid}\nlast_valid_uid = {uid}\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
             userdb {{\n  driver = passwd-file\n  args = username_format=%u {d}/users\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n}}\n",
            d = d.display()
        );
        std::fs::write(d.join("dovecot.conf"), conf).expect("conf");
        let child = Command::new("dovecot")
            .args(["-F", "-c"])
            .arg(d.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot runs (the test command installs dovecot-imapd)");
        wait_for_port(port, "dovecot");
        Dovecot {
            dir,
            port,
            tls,
            child,
            uid,
            gid,
        }
    }

    /// Adds a user with an empty INBOX.
    pub fn user(&self, name: &str) -> MailUser {
        let d = self.dir.path();
        let maildir = d.join("mail").join(name);
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
            chown(maildir.join(sub), Some(self.uid), Some(self.gid)).expect("chown");
        }
        chown(&maildir, Some(self.uid), Some(self.gid)).expect("chown");
        let password = format!("pw-{name}");
        let line = format!(
            "{name}:{{PLAIN}}{password}:{}:{}::{}::\n",
            self.uid,
            self.gid,
            maildir.display()
        );
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(d.join("users"))
            .expect("users");
        f.write_all(line.as_bytes()).expect("write users");
        MailUser {
            name: name.to_string(),
            password,
            maildir,
            uid: self.uid,
            gid: self.gid,
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl MailUser {
    /// Puts a message into the INBOX with Maildir flags (`F` = \Flagged,
    /// `S` = \Seen), as a mail client would have left it.
    pub fn deliver(&self, raw: &[u8], flags: &str) -> PathBuf {
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{}.{n}.test:2,{flags}", std::process::id());
        let path = self.maildir.join("cur").join(name);
        std::fs::write(&path, raw).expect("deliver");
        chown(&path, Some(self.uid), Some(self.gid)).expect("chown");
        path
    }

    /// Every message file in the INBOX (new and cur), read.
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(self.maildir.join(sub)) {
                for e in rd.flatten() {
                    let mut s = String::new();
                    if std::fs::File::open(e.path())
                        .and_then(|mut f| f.read_to_string(&mut s))
                        .is_ok()
                    {
                        out.push(s);
                    }
                }
            }
        }
        out
    }

    /// The Maildir file names in cur/ (their suffix carries the flags).
    pub fn files(&self) -> Vec<String> {
        std::fs::read_dir(self.maildir.join("cur"))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// An aiosmtpd server delivering into one Maildir.
pub struct Smtp {
    pub port: u16,
    child: Child,
}

impl Smtp {
    /// Starts a server delivering to `into`; `extra` are its options
    /// (`--user`, `--password`, `--reject`, `--tempfail`).
    pub fn start(into: &MailUser, extra: &[&str]) -> Smtp {
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .args(["--port", &port.to_string(), "--maildir"])
            .arg(&into.maildir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd (the test command installs python3-aiosmtpd)");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("ready line");
        assert!(
            line.starts_with("ready"),
            "smtp server did not start: {line}"
        );
        wait_for_port(port, "smtp");
        Smtp { port, child }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
