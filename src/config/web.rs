//! `[web]`: the web view and HTTP API the daemon serves (off unless
//! `listen` is set).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// The web settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Where the web view listens (`127.0.0.1:8080`); off when absent.
    pub listen: Option<SocketAddr>,
    /// The address people open (`https://crm.example.de`, behind a
    /// reverse proxy), which sign-in links start with; `http://LISTEN`
    /// when absent. With `https://` the session cookie is `Secure`.
    pub base_url: Option<String>,
    /// How long a session lasts, in hours.
    pub session_hours: u32,
    /// The pages' language for members who set none: `de` or `en`.
    pub language: String,
    /// Serve HTTPS (rustls) with this certificate chain (PEM)...
    pub tls_cert_file: Option<PathBuf>,
    /// ...and this private key (PEM, a file only its owner reads).
    pub tls_key_file: Option<PathBuf>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: None,
            base_url: None,
            session_hours: 12,
            language: "de".to_string(),
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

/// The languages the pages come in.
pub const LANGUAGES: &[&str] = &["de", "en"];

impl WebConfig {
    /// Checks the web settings.
    ///
    /// Fails naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(url) = &self.base_url {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
                return Err(format!(
                    "web.base_url: '{url}' is not an address; give one like \"https://crm.example.de\""
                ));
            }
        }
        if !(1..=24 * 30).contains(&self.session_hours) {
            return Err(format!(
                "web.session_hours: {} is out of range; give 1 to 720",
                self.session_hours
            ));
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return Err(
                "web.tls_cert_file: give both tls_cert_file and tls_key_file, or neither"
                    .to_string(),
            );
        }
        if !LANGUAGES.contains(&self.language.as_str()) {
            return Err(format!(
                "web.language: '{}' is not one of {}",
                self.language,
                LANGUAGES.join(", ")
            ));
        }
        Ok(())
    }

    /// Whether leadline serves HTTPS itself.
    pub fn tls(&self) -> bool {
        self.tls_cert_file.is_some()
    }

    /// The address links start with, without a trailing `/`.
    pub fn base(&self) -> Option<String> {
        let scheme = if self.tls() { "https" } else { "http" };
        match (&self.base_url, self.listen) {
            (Some(u), _) => Some(u.trim_end_matches('/').to_string()),
            (None, Some(addr)) => Some(format!("{scheme}://{addr}")),
            (None, None) => None,
        }
    }

    /// Whether people reach it over HTTPS (the cookie is then `Secure`).
    pub fn secure(&self) -> bool {
        self.base().is_some_and(|u| u.starts_with("https://"))
    }
}
