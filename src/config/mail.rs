//! `[mail]`: the mailboxes to read and the SMTP server to send through, and
//! their OAuth2 sign-in settings. Secrets never come from here: only the
//! names of the environment variables or files that hold them.

use serde::Deserialize;
use std::path::PathBuf;

/// How a connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tls {
    /// TLS from the first byte (IMAP 993, SMTP 465).
    Implicit,
    /// Plain, then STARTTLS before logging in (IMAP 143, SMTP 587).
    Starttls,
    /// No encryption: only allowed to a loopback address.
    None,
}

/// One IMAP mailbox to watch.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapAccount {
    pub name: String,
    pub host: String,
    #[serde(default)]
    pub port: Option<u16>,
    pub tls: Tls,
    pub user: String,
    /// Refused when present: passwords never go in the config file.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Sign in with OAuth2 instead of a password (`leadline login`).
    #[serde(default)]
    pub oauth2: Option<OAuthConfig>,
    /// Extra certificate authority (PEM) to trust, for servers with a
    /// private CA; the public roots are always trusted.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default = "default_folders")]
    pub folders: Vec<String>,
    #[serde(default = "default_poll")]
    pub poll_seconds: u64,
}

fn default_folders() -> Vec<String> {
    vec!["INBOX".to_string()]
}

fn default_poll() -> u64 {
    60
}

/// The SMTP server the outbox is sent through.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default)]
    pub port: Option<u16>,
    pub tls: Tls,
    /// The login, if the server wants one.
    #[serde(default)]
    pub user: Option<String>,
    /// Refused when present: passwords never go in the config file.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Sign in with the OAuth2 sign-in of this mail account (SASL
    /// XOAUTH2) instead of a password; the login is `user`, else the
    /// account's.
    #[serde(default)]
    pub oauth2_account: Option<String>,
    /// The sender, e.g. `Sales <sales@example.com>`.
    pub from: String,
    /// Extra certificate authority (PEM) to trust, for servers with a private CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// Mail settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    pub accounts: Vec<ImapAccount>,
    pub smtp: Option<SmtpConfig>,
    /// Bodies kept on timelines are cut at this many KiB.
    pub max_body_kib: usize,
    /// Mails fetched and committed per transaction.
    pub batch: usize,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            accounts: Vec::new(),
            smtp: None,
            max_body_kib: 256,
            batch: 500,
        }
    }
}

pub(crate) fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "::1" | "[::1]") || host.starts_with("127.")
}

fn check_secret(
    what: &str,
    password: &Option<String>,
    env: &Option<String>,
    file: &Option<PathBuf>,
    needed: bool,
) -> Result<(), String> {
    if password.is_some() {
        return Err(format!(
            "{what}: passwords never go in the config file; use password_env or password_file"
        ));
    }
    if env.is_some() && file.is_some() {
        return Err(format!(
            "{what}: both password_env and password_file are given; keep one, so it is clear which is used"
        ));
    }
    if needed && env.is_none() && file.is_none() {
        return Err(format!(
            "{what}: give password_env (an environment variable) or password_file"
        ));
    }
    Ok(())
}

impl MailConfig {
    /// Checks the mail settings.
    ///
    /// Fails naming the account and the setting.
    pub fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::BTreeSet::new();
        for (i, a) in self.accounts.iter().enumerate() {
            let what = format!("mail.accounts[{i}] '{}'", a.name);
            if a.name.is_empty() || a.name.contains('/') || !names.insert(a.name.clone()) {
                return Err(format!(
                    "{what}: the name must be non-empty, without '/', and unique"
                ));
            }
            if a.tls == Tls::None && !is_loopback(&a.host) {
                return Err(format!(
                    "{what}: tls = \"none\" is only allowed to a loopback address, not {}",
                    a.host
                ));
            }
            match &a.oauth2 {
                Some(o) => {
                    if a.password.is_some() || a.password_env.is_some() || a.password_file.is_some()
                    {
                        return Err(format!(
                            "{what}: give either a password (password_env, password_file) or [oauth2], not both"
                        ));
                    }
                    o.validate(&what)?;
                }
                None => check_secret(&what, &a.password, &a.password_env, &a.password_file, true)?,
            }
            if a.folders.is_empty() {
                return Err(format!("{what}: folders cannot be empty"));
            }
            if a.poll_seconds == 0 || a.poll_seconds > 86_400 {
                return Err(format!(
                    "mail.accounts[{i}].poll_seconds: {} is not a wait between polls; give 1 to 86400 seconds",
                    a.poll_seconds
                ));
            }
        }
        if let Some(s) = &self.smtp {
            if s.tls == Tls::None && !is_loopback(&s.host) {
                return Err(format!(
                    "mail.smtp: tls = \"none\" is only allowed to a loopback address, not {}",
                    s.host
                ));
            }
            match &s.oauth2_account {
                Some(name) => {
                    if s.password.is_some() || s.password_env.is_some() || s.password_file.is_some()
                    {
                        return Err(
                            "mail.smtp: give either a password or oauth2_account, not both"
                                .to_string(),
                        );
                    }
                    if !self
                        .accounts
                        .iter()
                        .any(|a| &a.name == name && a.oauth2.is_some())
                    {
                        return Err(format!(
                            "mail.smtp: oauth2_account '{name}' is not a mail account with [oauth2]"
                        ));
                    }
                }
                None => check_secret(
                    "mail.smtp",
                    &s.password,
                    &s.password_env,
                    &s.password_file,
                    s.user.is_some(),
                )?,
            }
            if s.from.parse::<lettre::message::Mailbox>().is_err() {
                return Err(format!("mail.smtp: from '{}' is not an address", s.from));
            }
        }
        if self.batch == 0 || self.max_body_kib == 0 {
            return Err("mail: batch and max_body_kib must be at least 1".to_string());
        }
        Ok(())
    }
}

impl MailConfig {
    /// The account named `name`.
    pub fn account(&self, name: &str) -> Option<&ImapAccount> {
        self.accounts.iter().find(|a| a.name == name)
    }
}

/// Who signs the account in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Microsoft 365 / Outlook.com (Microsoft identity platform v2.0).
    Microsoft,
    /// Gmail and Google Workspace.
    Google,
    /// Any provider, its endpoints given by URL.
    Custom,
}

/// Which SASL mechanism signs in to IMAP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sasl {
    /// OAUTHBEARER (RFC 7628) where the server offers it, else XOAUTH2.
    #[default]
    Auto,
    Xoauth2,
    Oauthbearer,
}

/// `[mail.accounts.oauth2]`: how an account signs in with OAuth2.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthConfig {
    pub provider: Provider,
    /// Microsoft only: the tenant (`contoso.onmicrosoft.com`, its id,
    /// `organizations` or `common`); default `common`.
    #[serde(default)]
    pub tenant: Option<String>,
    pub client_id: String,
    /// Refused when present: secrets never go in the config file.
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub client_secret_env: Option<String>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// Default: what the provider needs for IMAP and SMTP.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Endpoints: required for `custom`, overrides for the others.
    #[serde(default)]
    pub authorization_url: Option<String>,
    #[serde(default)]
    pub device_authorization_url: Option<String>,
    #[serde(default)]
    pub token_url: Option<String>,
    #[serde(default)]
    pub sasl: Sasl,
    /// How long to wait for the provider's answer.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_timeout() -> u64 {
    30
}

/// The provider's endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub authorization: Option<String>,
    pub device: Option<String>,
    pub token: String,
}

impl OAuthConfig {
    fn tenant(&self) -> &str {
        self.tenant.as_deref().unwrap_or("common")
    }

    /// The endpoints: the provider's own, or those given.
    pub fn endpoints(&self) -> Endpoints {
        let ms = |path: &str| {
            format!(
                "https://login.microsoftonline.com/{}/oauth2/v2.0/{path}",
                self.tenant()
            )
        };
        let (auth, device, token) = match self.provider {
            Provider::Microsoft => (Some(ms("authorize")), Some(ms("devicecode")), ms("token")),
            Provider::Google => (
                Some("https://accounts.google.com/o/oauth2/v2/auth".to_string()),
                Some("https://oauth2.googleapis.com/device/code".to_string()),
                "https://oauth2.googleapis.com/token".to_string(),
            ),
            Provider::Custom => (None, None, String::new()),
        };
        Endpoints {
            authorization: self.authorization_url.clone().or(auth),
            device: self.device_authorization_url.clone().or(device),
            token: self.token_url.clone().unwrap_or(token),
        }
    }

    /// The scopes asked for: those given, or the provider's defaults.
    pub fn scopes(&self) -> Vec<String> {
        if let Some(s) = &self.scopes {
            return s.clone();
        }
        match self.provider {
            Provider::Microsoft => vec![
                "https://outlook.office.com/IMAP.AccessAsUser.All".to_string(),
                "https://outlook.office.com/SMTP.Send".to_string(),
                "offline_access".to_string(),
            ],
            Provider::Google => vec!["https://mail.google.com/".to_string()],
            Provider::Custom => Vec::new(),
        }
    }

    /// Checks the settings; `what` names the account.
    pub fn validate(&self, what: &str) -> Result<(), String> {
        if self.client_id.trim().is_empty() {
            return Err(format!("{what}: oauth2.client_id is empty"));
        }
        if self.client_secret_env.is_some() && self.client_secret_file.is_some() {
            return Err(format!(
                "{what}: both oauth2.client_secret_env and oauth2.client_secret_file are given; keep one"
            ));
        }
        if self.client_secret.is_some() {
            return Err(format!(
                "{what}: secrets never go in the config file; use oauth2.client_secret_env or oauth2.client_secret_file"
            ));
        }
        if let Some(t) = &self.tenant {
            if self.provider != Provider::Microsoft {
                return Err(format!(
                    "{what}: oauth2.tenant is for provider \"microsoft\" only"
                ));
            }
            if t.is_empty()
                || !t
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
            {
                return Err(format!(
                    "{what}: oauth2.tenant '{t}' is not a tenant name or id"
                ));
            }
        }
        if self.provider == Provider::Custom
            && (self.token_url.is_none()
                || (self.device_authorization_url.is_none() && self.authorization_url.is_none()))
        {
            return Err(format!(
                "{what}: provider \"custom\" needs oauth2.token_url and oauth2.device_authorization_url or oauth2.authorization_url"
            ));
        }
        let e = self.endpoints();
        for (name, url) in [
            ("authorization_url", e.authorization.as_deref()),
            ("device_authorization_url", e.device.as_deref()),
            ("token_url", Some(e.token.as_str())),
        ] {
            let Some(url) = url else { continue };
            let parsed = oauth2::url::Url::parse(url)
                .map_err(|err| format!("{what}: oauth2.{name} '{url}': {err}"))?;
            let loopback = parsed.host_str().is_some_and(is_loopback);
            if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
                return Err(format!(
                    "{what}: oauth2.{name} must be https (plain http only to a loopback address): {url}"
                ));
            }
        }
        if self.scopes().is_empty() {
            return Err(format!("{what}: oauth2.scopes cannot be empty"));
        }
        if self.timeout_seconds == 0 {
            return Err(format!("{what}: oauth2.timeout_seconds must be at least 1"));
        }
        Ok(())
    }
}
