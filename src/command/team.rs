//! The team a command runs for: its members, their roles and time zones,
//! who acts by default, and how the team writes numbers. Read from
//! `[team]` of the configuration; commands read it through their
//! [`super::Context`].

use chrono_tz::Tz;
use serde::Deserialize;

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
    /// The name customers see on documents (`Maria Schmidt`); `name`
    /// when absent.
    #[serde(default)]
    pub full_name: Option<String>,
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
    /// The language of the web pages for this member (`de`, `en`);
    /// `[web] language` when absent.
    #[serde(default)]
    pub language: Option<String>,
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
