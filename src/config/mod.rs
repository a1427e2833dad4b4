//! The configuration: one TOML file (`config/leadline.toml` is both the
//! sample and the embedded default), read once at start and validated, so
//! that a broken file is refused with one line naming the setting.

pub mod chat;
pub mod company;
pub mod mail;
pub mod schedule;
pub mod web;

use serde::Deserialize;
use std::path::{Path, PathBuf};

pub use crate::command::team::{Member, NumberLocale, Role, Team};
use crate::domain::Rules;

/// The embedded default configuration.
pub const DEFAULT: &str = include_str!("../../config/leadline.toml");

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Said once: the reason is part of the message, not a second error.
    #[error("cannot read config {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("config {origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("config {origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub team: Team,
    /// The configurable sales process (reasons, numbers, custom fields).
    #[serde(default)]
    pub process: Rules,
    /// When the overdue sweep and the daily digests run.
    #[serde(default)]
    pub scheduler: schedule::SchedulerConfig,
    /// Mailboxes to read and the SMTP server to send through.
    #[serde(default)]
    pub mail: mail::MailConfig,
    /// The chat bot: token, channels, roles, confirmations.
    #[serde(default)]
    pub chat: chat::ChatConfig,
    /// Where secrets the daemon keeps itself (OAuth2 sign-ins) live.
    #[serde(default)]
    pub secrets: SecretsConfig,
    /// Backups the daemon writes itself.
    #[serde(default)]
    pub backup: schedule::BackupConfig,
    /// The seller, as documents and e-invoices name it.
    #[serde(default)]
    pub company: company::CompanyConfig,
    /// The language and templates of quotes, orders and invoices.
    #[serde(default)]
    pub documents: company::DocumentsConfig,
    /// The web view and HTTP API.
    #[serde(default)]
    pub web: web::WebConfig,
}

/// Where the daemon keeps the secrets it writes itself: the OAuth2
/// sign-ins of `leadline login`, one owner-only file per account.
/// Passwords and tokens given by the operator come from the environment
/// or files named per setting (`password_env`, `token_file`...), never
/// from this file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// The folder; `oauth` in the data folder when absent.
    pub path: Option<PathBuf>,
}

/// Where and how the store keeps its data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sled` (the embedded default) or `postgres`.
    pub backend: StoreBackend,
    /// The data folder: the embedded store, the control socket, the OAuth
    /// sign-ins (with PostgreSQL: the socket and sign-ins only).
    pub path: PathBuf,
    /// Background fsync interval in milliseconds; 0 turns it off (sled).
    pub fsync_every_ms: u64,
    /// Refused: a connection string may hold a password. See `url_env`.
    pub url: Option<toml::Value>,
    /// The environment variable with the PostgreSQL connection string
    /// (default `LEADLINE_DATABASE_URL`).
    pub url_env: Option<String>,
    /// A file holding the connection string instead.
    pub url_file: Option<PathBuf>,
    /// Certificates to trust for the database's TLS besides the public
    /// roots (PEM).
    pub ca_file: Option<PathBuf>,
    /// Connections to the database at most.
    pub pool: usize,
    /// How long a daemon's lease on work done once (an IMAP account, the
    /// Discord gateway, the scheduler, the outbox) lasts unless renewed:
    /// after a daemon dies, another takes its work over this long later.
    pub lease_seconds: u64,
}

/// Which backend keeps the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    Sled,
    Postgres,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            backend: StoreBackend::Sled,
            path: PathBuf::from("leadline-data"),
            fsync_every_ms: 500,
            url: None,
            url_env: None,
            url_file: None,
            ca_file: None,
            pool: 16,
            lease_seconds: 15,
        }
    }
}

impl StoreConfig {
    /// The environment variable read when neither `url_env` nor
    /// `url_file` is given.
    pub const URL_ENV: &'static str = "LEADLINE_DATABASE_URL";

    /// Checks the store settings.
    ///
    /// Fails naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.url.is_some() {
            return Err("store.url: the connection string never goes in the config file (it may hold a password); set LEADLINE_DATABASE_URL, or name a variable (url_env) or a file (url_file)".to_string());
        }
        if self.url_env.is_some() && self.url_file.is_some() {
            return Err("store.url_file: both url_env and url_file are given; keep one, so it is clear which is used".to_string());
        }
        if !(1..=3600).contains(&self.lease_seconds) {
            return Err(format!(
                "store.lease_seconds: {} is out of range; give 1 to 3600 (default 15)",
                self.lease_seconds
            ));
        }
        if self.pool < 2 {
            return Err(format!(
                "store.pool: {} is too few; give 2 or more",
                self.pool
            ));
        }
        Ok(())
    }
}

impl Config {
    /// The folder of the OAuth2 sign-ins for the data folder `data`:
    /// `[secrets] path`, else `DATA/oauth`.
    pub fn secrets_dir(&self, data: &Path) -> PathBuf {
        self.secrets
            .path
            .clone()
            .unwrap_or_else(|| data.join("oauth"))
    }

    /// The context a command runs in: these rules and team, `actor` acting
    /// at `now`, from front end `via`.
    pub fn context<'a>(
        &'a self,
        actor: &str,
        now: chrono::DateTime<chrono::Utc>,
        via: &'a str,
    ) -> crate::command::Context<'a> {
        crate::command::Context {
            rules: &self.process,
            team: &self.team,
            actor: actor.to_string(),
            now,
            via,
            roles: &self.chat.roles,
            language: &self.documents.language,
            seller_missing: self.company.missing(),
            with_data: false,
        }
    }

    /// The embedded default.
    pub fn embedded() -> Config {
        // The embedded file is checked by a unit test; falling back to the
        // built-in defaults keeps this total.
        Config::parse(DEFAULT, "(embedded)").unwrap_or_else(|_| Config {
            store: StoreConfig::default(),
            team: Team::default(),
            process: Rules::default(),
            scheduler: Default::default(),
            mail: Default::default(),
            chat: Default::default(),
            secrets: Default::default(),
            backup: Default::default(),
            company: Default::default(),
            documents: Default::default(),
            web: Default::default(),
        })
    }

    /// Reads `path`, or the embedded default when `None`.
    ///
    /// Fails when the file cannot be read, is not valid TOML, has unknown
    /// settings, or its values do not fit together.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            None => Ok(Config::embedded()),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Read {
                    path: p.to_path_buf(),
                    reason: e.to_string(),
                })?;
                Config::parse(&text, &p.display().to_string())
            }
        }
    }

    /// Parses and validates configuration text; `origin` names it in errors.
    ///
    /// Fails as [`Config::load`] does.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| {
                    format!(
                        "line {}: ",
                        text.as_bytes()[..s.start.min(text.len())]
                            .iter()
                            .filter(|b| **b == b'\n')
                            .count()
                            + 1
                    )
                })
                .unwrap_or_default();
            ConfigError::Parse {
                origin: origin.to_string(),
                message: format!("{line}{}", e.message().replace('\n', " ")),
            }
        })?;
        // Each check's message starts with the setting's path
        // (`mail.accounts[0].poll_seconds: ...`); its line is found in the
        // text.
        let invalid = |message: String| ConfigError::Invalid {
            origin: origin.to_string(),
            message: match line_of(text, &message) {
                Some(line) => format!("line {line}: {message}"),
                None => message,
            },
        };
        config
            .process
            .validate()
            .map_err(|r| invalid(format!("process.{r}")))?;
        config.store.validate().map_err(invalid)?;
        config.mail.validate().map_err(invalid)?;
        config.chat.validate().map_err(invalid)?;
        config.backup.validate().map_err(invalid)?;
        config.company.validate().map_err(invalid)?;
        config.documents.validate().map_err(invalid)?;
        config.web.validate().map_err(invalid)?;
        let mut names = std::collections::BTreeSet::new();
        for m in &config.team.members {
            if m.name.trim().is_empty()
                || m.name.contains('/')
                || !names.insert(m.name.to_lowercase())
            {
                return Err(invalid(format!(
                    "team.members: '{}' is empty, contains '/', or is listed twice",
                    m.name
                )));
            }
            if let Some(l) = &m.language {
                if !web::LANGUAGES.contains(&l.as_str()) {
                    return Err(invalid(format!(
                        "team.members: {}'s language '{l}' is not one of {}",
                        m.name,
                        web::LANGUAGES.join(", ")
                    )));
                }
            }
        }
        if config.team.default_user.trim().is_empty() {
            return Err(invalid("team.default_user cannot be empty".to_string()));
        }
        Ok(config)
    }
}

/// The line of the setting a check's `message` starts with: a dotted
/// path whose parts may carry an index (`mail.accounts[1].poll_seconds`),
/// up to the first space or colon. The deepest part written in the file
/// gives the line (a setting left at its default has none of its own, so
/// its table's line is given).
fn line_of(text: &str, message: &str) -> Option<usize> {
    let path = message.split([' ', ':']).next()?;
    let doc = toml_edit::ImDocument::parse(text.to_string()).ok()?;
    let mut item = doc.as_item();
    let mut span = None;
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let Some(next) = item.get(key) else { break };
        item = next;
        span = item.span().or(span);
        if let Some(i) = index {
            let Some(next) = item.get(i) else { break };
            item = next;
            span = item.span().or(span);
        }
    }
    let start = span?.start.min(text.len());
    Some(
        text.as_bytes()[..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_default_parses() {
        let c = Config::parse(DEFAULT, "(embedded)");
        assert!(c.is_ok(), "{:?}", c.err());
    }

    #[test]
    fn values_that_cannot_work_are_refused_with_the_setting_and_its_line() {
        let account = "[[mail.accounts]]\nname = \"a\"\nhost = \"127.0.0.1\"\ntls = \"none\"\nuser = \"u\"\npassword_env = \"P\"\n";
        let cases = [
            (
                "[process]\ncurrency = \"EUR\"\npayment_days = 100000000\n",
                3,
                "process.payment_days",
            ),
            (
                "[scheduler]\nsweep = \"*/5 * * * *\"\ndigest = \"0 8 30 2 *\"\n",
                3,
                "never fires",
            ),
            (
                &format!(
                    "{account}{}poll_seconds = 0\n",
                    account.replace("\"a\"", "\"b\"")
                ),
                13,
                "mail.accounts[1].poll_seconds",
            ),
            (
                &format!("{account}password_file = \"/run/p\"\n"),
                1,
                "both password_env and password_file",
            ),
            ("[chat]\n\nnotices = \"#sales\"\n", 3, "chat.notices"),
            (
                "[chat]\ntoken_env = \"T\"\ntoken_file = \"/run/t\"\n",
                3,
                "both token_env and token_file",
            ),
            (
                "[process.numbering]\nlead = { prefix = \"L:\", first = 1 }\n",
                2,
                "process.numbering.lead: prefix 'L:'",
            ),
        ];
        for (text, line, said) in cases {
            let msg = match Config::parse(text, "t.toml") {
                Ok(_) => panic!("accepted: {text}"),
                Err(e) => e.to_string(),
            };
            assert!(msg.contains(said), "{text}\n-> {msg}");
            assert!(msg.contains(&format!("line {line}:")), "{text}\n-> {msg}");
            assert_eq!(msg.lines().count(), 1, "{msg}");
        }
        // Edges that do work.
        for ok in [
            "[process]\npayment_days = 0\n",
            "[process]\npayment_days = 365\n",
            "[scheduler]\ndigest = \"0 8 29 2 *\"\n",
            "[chat]\nnotices = \"123456789012345678\"\n",
        ] {
            assert!(Config::parse(ok, "t.toml").is_ok(), "{ok}");
        }
    }

    #[test]
    fn unknown_settings_are_refused_with_their_line() {
        let e = Config::parse("[team]\ntimezone = \"Europe/Berlin\"\nfoo = 1\n", "t.toml");
        let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("line 3") && msg.contains("foo"), "{msg}");
    }

    #[test]
    fn a_bad_time_zone_is_refused() {
        let e = Config::parse("[team]\ntimezone = \"Mars/Base\"\n", "t.toml");
        assert!(e.is_err());
    }

    #[test]
    fn a_custom_field_may_not_shadow_a_built_in_one() {
        let text = "[[process.custom_fields.lead]]\nname = \"email\"\ntype = \"text\"\n";
        let msg = Config::parse(text, "t.toml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("built-in"), "{msg}");
    }
}
