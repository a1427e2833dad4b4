//! The configuration: one TOML file (`config/leadline.toml` is both the
//! sample and the embedded default), read once at start and validated, so
//! that a broken file is refused with one line naming the setting.

use chrono_tz::Tz;
use serde::Deserialize;
use std::path::{Path, PathBuf};

use crate::domain::Rules;

/// The embedded default configuration.
pub const DEFAULT: &str = include_str!("../config/leadline.toml");

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
    pub scheduler: crate::scheduler::SchedulerConfig,
    /// Mailboxes to read and the SMTP server to send through.
    #[serde(default)]
    pub mail: crate::mail::MailConfig,
    /// The chat bot: token, channels, roles, confirmations.
    #[serde(default)]
    pub chat: crate::chat::ChatConfig,
    /// Where secrets the daemon keeps itself (OAuth2 sign-ins) live.
    #[serde(default)]
    pub secrets: SecretsConfig,
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
    pub path: PathBuf,
    /// Background fsync interval in milliseconds; 0 turns it off.
    pub fsync_every_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("leadline-data"),
            fsync_every_ms: 500,
        }
    }
}

/// What a team member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Rep,
    Manager,
    Admin,
}

impl Role {
    /// `rep`, `manager`, `admin`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Rep => "rep",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }
}

/// One team member.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// The member's own time zone; the team's when absent.
    #[serde(default)]
    pub timezone: Option<Tz>,
    #[serde(default = "default_role")]
    pub role: Role,
    /// The member's Discord user id.
    #[serde(default)]
    pub discord_id: Option<String>,
}

fn default_role() -> Role {
    Role::Rep
}

/// The team: its time zone, its members, who acts by default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Team {
    pub timezone: Tz,
    pub default_user: String,
    pub members: Vec<Member>,
    /// The team's own mail domains: their addresses never match a lead or
    /// contact, and leadline's Message-IDs use the first.
    pub domains: Vec<String>,
    /// How the team writes numbers: which of `1.500` and `1,500` means
    /// fifteen hundred (see [`NumberLocale`]).
    pub locale: NumberLocale,
}

impl Default for Team {
    fn default() -> Self {
        Team {
            timezone: chrono_tz::Europe::Berlin,
            default_user: "me".to_string(),
            members: Vec::new(),
            domains: Vec::new(),
            locale: NumberLocale::De,
        }
    }
}

/// How a team writes numbers. It matters only for a number with one
/// separator followed by exactly three digits: `de` reads `20.000` as
/// twenty thousand and refuses `1,500` (1,5 or 1500?); `en` reads `1,500`
/// as fifteen hundred and refuses `1.500`. Everything else reads the same
/// in both (`1.234,56`, `1,234.56`, `1234,56`, `1234.56`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberLocale {
    /// German: `.` groups thousands, `,` marks decimals.
    #[default]
    De,
    /// English: `,` groups thousands, `.` marks decimals.
    En,
}

impl NumberLocale {
    /// The separator this locale groups thousands with.
    pub fn grouping(self) -> char {
        match self {
            NumberLocale::De => '.',
            NumberLocale::En => ',',
        }
    }
}

impl Team {
    /// The acting member for `name` (case-insensitive); any name when no
    /// members are configured.
    ///
    /// Fails for names not on a configured team, listing the members.
    pub fn resolve_actor(&self, name: &str) -> Result<String, String> {
        let name = name.trim();
        if name.is_empty() {
            return Err("the acting user needs a name".to_string());
        }
        if self.members.is_empty() {
            return Ok(name.to_string());
        }
        self.member(name).map(|m| m.name.clone()).ok_or_else(|| {
            format!(
                "'{name}' is not on the team; members: {}",
                self.members
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    /// Whether `email` is an address of the team's own domains (or a member's).
    pub fn is_own(&self, email: &str) -> bool {
        let e = email.to_lowercase();
        let domain = e.rsplit_once('@').map_or("", |(_, d)| d);
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
            || self.members.iter().any(|m| {
                m.email
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(&e))
            })
    }

    /// The time zone of `who`: the member's own, else the team's.
    pub fn zone_of(&self, who: &str) -> Tz {
        self.member(who)
            .and_then(|m| m.timezone)
            .unwrap_or(self.timezone)
    }

    /// The member with this name or e-mail (case-insensitive).
    pub fn member(&self, who: &str) -> Option<&Member> {
        self.members.iter().find(|m| {
            m.name.eq_ignore_ascii_case(who)
                || m.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(who))
        })
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
            with_data: true,
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
        let invalid = |message: String| ConfigError::Invalid {
            origin: origin.to_string(),
            message,
        };
        config
            .process
            .validate()
            .map_err(|r| invalid(r.to_string()))?;
        config.mail.validate().map_err(invalid)?;
        config.chat.validate().map_err(invalid)?;
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
        }
        if config.team.default_user.trim().is_empty() {
            return Err(invalid("team.default_user cannot be empty".to_string()));
        }
        Ok(config)
    }
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
