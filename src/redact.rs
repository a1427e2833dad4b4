//! Secrets never leave leadline: every secret it reads (a mail password, the
//! chat token, an OAuth client secret or token) is remembered here when it
//! is read, and every text that leaves the process passes [`redact`] first:
//! log lines, answers on the control socket, the binary's output, chat
//! posts, and the failure texts the outbox and notices store. A server that
//! quotes a credential back in its refusal (some IMAP and SMTP servers echo
//! the login line) is then shown with `[redacted]` in its place.
//!
//! The forms a server may echo are remembered too: the secret itself, and
//! its base64 (SMTP `AUTH LOGIN`); [`remember_login`] adds `AUTH PLAIN`'s
//! `\0user\0password`.

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::sync::RwLock;

use base64::Engine as _;

/// What a secret is replaced with.
pub const MARK: &str = "[redacted]";

/// Secrets shorter than this are not looked for: a one- or two-letter
/// "secret" would blank ordinary words out of every log line.
const SHORTEST: usize = 4;

/// Every remembered form, longest first (so a longer form is replaced
/// before a shorter one inside it).
static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Remembers `secret` and its base64, so neither is ever shown.
pub fn remember(secret: &str) {
    let secret = secret.trim();
    if secret.len() < SHORTEST {
        return;
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    add(&[secret.to_string(), b64]);
}

/// Remembers a password and the `AUTH PLAIN` form a server may echo.
pub fn remember_login(user: &str, password: &str) {
    remember(password);
    if password.len() >= SHORTEST {
        let plain = format!("\0{user}\0{password}");
        add(&[base64::engine::general_purpose::STANDARD.encode(plain)]);
    }
}

fn add(forms: &[String]) {
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    for f in forms {
        if !known.contains(f) {
            known.push(f.clone());
        }
    }
    known.sort_by_key(|f| std::cmp::Reverse(f.len()));
}

/// `text` with every remembered secret replaced by [`MARK`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    if !known.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for s in known.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MARK);
        }
    }
    Cow::Owned(out)
}

/// A writer that redacts what passes through it, for the log: the
/// `tracing` formatter writes each event in one piece, so a secret is never
/// split across two writes.
pub struct Redacting<W>(pub W);

impl<W: std::io::Write> std::io::Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(text) => self.0.write_all(redact(text).as_bytes()),
            Err(_) => self.0.write_all(buf),
        }?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// A secret that could not be read: which setting, never the secret.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SecretError(pub String);

/// A password, never printed.
#[derive(Clone)]
pub struct Secret(pub(crate) String);

impl Secret {
    /// Reads a secret from an environment variable or a file, and
    /// remembers it so that no text leadline shows ever contains it
    /// ([`crate::redact`]).
    ///
    /// Fails naming the variable or file (never the secret).
    pub fn load(
        what: &str,
        env: &Option<String>,
        file: &Option<PathBuf>,
    ) -> Result<Secret, SecretError> {
        let secret = Secret::read(what, env, file)?;
        remember(&secret.0);
        Ok(secret)
    }

    fn read(
        what: &str,
        env: &Option<String>,
        file: &Option<PathBuf>,
    ) -> Result<Secret, SecretError> {
        if let Some(var) = env {
            return std::env::var(var).map(Secret).map_err(|_| {
                SecretError(format!("{what}: the environment variable {var} is not set"))
            });
        }
        if let Some(path) = file {
            return std::fs::read_to_string(path)
                .map(|s| Secret(s.trim_end_matches(['\n', '\r']).to_string()))
                .map_err(|e| SecretError(format!("{what}: cannot read {}: {e}", path.display())));
        }
        Err(SecretError(format!(
            "{what}: no password_env or password_file"
        )))
    }

    /// The secret itself, for the login only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_secret_and_its_echoed_forms_are_replaced_and_short_ones_ignored() {
        remember_login("sales@contoso.example", "Sommer2026!xyz");
        remember("ab");
        let b64 = base64::engine::general_purpose::STANDARD.encode("Sommer2026!xyz");
        let plain = base64::engine::general_purpose::STANDARD
            .encode("\0sales@contoso.example\0Sommer2026!xyz");
        let said =
            format!("NO [AUTHENTICATIONFAILED] bad password Sommer2026!xyz ({b64}) {plain} ab");
        let shown = redact(&said);
        assert!(!shown.contains("Sommer2026!xyz"), "{shown}");
        assert!(!shown.contains(&b64) && !shown.contains(&plain), "{shown}");
        assert_eq!(shown.matches(MARK).count(), 3, "{shown}");
        assert!(shown.ends_with(" ab"), "{shown}");
        assert!(matches!(redact("nothing secret here"), Cow::Borrowed(_)));
    }
}
