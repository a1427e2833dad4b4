//! The chat front end's core, independent of Discord: who may run what,
//! confirmations for irreversible steps, and which notices go where. The
//! Discord adapter turns interactions and messages into calls here, runs
//! what they decide through the same command path as the shell, and posts
//! the answers.
//!
//! - A stranger (no team member with that chat user id) gets a polite
//!   refusal, and nothing changes.
//! - Roles: `[chat.roles]` gives the lowest role allowed per step; by
//!   default only managers (and admins) cancel orders and invoices. The
//!   core enforces them for every front end ([`command::permit`]); chat
//!   checks first so a refused step is not offered for confirmation.
//! - Irreversible steps (`[chat] confirm`, by default cancel order, cancel
//!   invoice, disqualify) first answer with a confirmation token; the same
//!   member's confirmation within 5 minutes runs the command.

pub mod discord;

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::command::{self, queue, CommandError, Tx};
pub use crate::config::chat::ChatConfig;
use crate::config::{Config, Member};

/// What chat should do with a message or a button press.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run this command line as this member (the adapter runs it through
    /// the daemon and shows the reply; a refusal only to the member).
    Run { member: String, line: String },
    /// Shown only to the one who asked; nothing changed.
    Refuse(String),
    /// Ask "Are you sure?" with a button carrying `token`.
    Confirm { token: String, prompt: String },
}

/// A confirmation waiting for its button.
#[derive(Debug, Clone)]
struct Pending {
    member: String,
    line: String,
    expires: DateTime<Utc>,
}

/// The chat core's state: confirmations waiting for their button.
#[derive(Debug, Default)]
pub struct Chat {
    pending: Mutex<HashMap<String, Pending>>,
    counter: Mutex<u64>,
}

/// How long a confirmation button stays valid.
pub fn confirm_window() -> Duration {
    Duration::minutes(5)
}

fn member_of<'c>(config: &'c Config, chat_user: &str) -> Option<&'c Member> {
    config
        .team
        .members
        .iter()
        .find(|m| m.discord_id.as_deref() == Some(chat_user))
}

impl Chat {
    /// Decides what to do with a command `line` typed by chat user `chat_user`.
    pub fn decide(
        &self,
        config: &Config,
        chat_user: &str,
        line: &str,
        now: DateTime<Utc>,
    ) -> Decision {
        let Some(member) = member_of(config, chat_user) else {
            return Decision::Refuse("Sorry, I only take commands from members of the sales team. Ask an admin to add you.".to_string());
        };
        self.decide_as(config, member, line, now, "chat")
    }

    /// Decides what to do with a command `line` typed by team member
    /// `member` on front end `via` (chat, or the web view's command box):
    /// the same roles, refusals and confirmations everywhere.
    pub fn decide_as(
        &self,
        config: &Config,
        member: &Member,
        line: &str,
        now: DateTime<Utc>,
        via: &str,
    ) -> Decision {
        let ctx = config.context(&member.name, now, via);
        let cmd = match command::parse(line, &ctx) {
            Ok(c) => c,
            Err(e) => return Decision::Refuse(e.to_string()),
        };
        // Refused before asking for a confirmation; the core checks again.
        if let Err(e) = command::permit(&cmd, &ctx) {
            return Decision::Refuse(e.to_string());
        }
        let step = command::step(&cmd);
        if config.chat.confirm.iter().any(|c| c == step) {
            let n = {
                let mut c = self.counter.lock().unwrap_or_else(|e| e.into_inner());
                *c += 1;
                *c
            };
            let token = format!("confirm-{n}-{}", now.timestamp_millis());
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.retain(|_, p| p.expires > now);
            pending.insert(
                token.clone(),
                Pending {
                    member: member.name.clone(),
                    line: line.trim().to_string(),
                    expires: now + confirm_window(),
                },
            );
            return Decision::Confirm {
                token,
                prompt: format!(
                    "{} cannot be undone. Run `{}`?",
                    capitalise(step),
                    line.trim()
                ),
            };
        }
        Decision::Run {
            member: member.name.clone(),
            line: line.trim().to_string(),
        }
    }

    /// The confirmation button `token` was pressed by `chat_user`.
    pub fn confirm(
        &self,
        config: &Config,
        chat_user: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Decision {
        let Some(member) = member_of(config, chat_user) else {
            return Decision::Refuse(
                "Sorry, I only take commands from members of the sales team.".to_string(),
            );
        };
        self.confirm_as(member, token, now)
    }

    /// The confirmation `token` was given by team member `member`.
    pub fn confirm_as(&self, member: &Member, token: &str, now: DateTime<Utc>) -> Decision {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        match pending.get(token) {
            Some(p) if p.member != member.name => {
                Decision::Refuse("Only the one who asked can confirm this.".to_string())
            }
            Some(p) if p.expires <= now => {
                pending.remove(token);
                Decision::Refuse(
                    "That confirmation has expired; run the command again.".to_string(),
                )
            }
            Some(_) => match pending.remove(token) {
                Some(p) => Decision::Run {
                    member: p.member,
                    line: p.line,
                },
                None => Decision::Refuse("That confirmation was already used.".to_string()),
            },
            None => {
                Decision::Refuse("That confirmation was already used or never existed.".to_string())
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A notice for chat to post, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub notice: u64,
    /// `dm:<user id>` or `channel:<channel id>`.
    pub to: String,
    pub text: String,
}

/// Where a message for the team's admins goes when it cannot wait in the
/// store (the store itself cannot take writes): the notices channel when
/// one is set, else each admin's direct messages (the default user's when
/// no admin has a chat id).
pub fn admin_targets(config: &Config) -> Vec<String> {
    if config.chat.notices != "dm" {
        return vec![format!("channel:{}", config.chat.notices)];
    }
    let team = &config.team;
    let admins: Vec<String> = team
        .members
        .iter()
        .filter(|m| m.role == crate::command::team::Role::Admin)
        .filter_map(|m| m.discord_id.as_ref().map(|id| format!("dm:{id}")))
        .collect();
    if !admins.is_empty() {
        return admins;
    }
    team.member(&team.default_user)
        .and_then(|m| m.discord_id.as_ref())
        .map(|id| vec![format!("dm:{id}")])
        .unwrap_or_default()
}

/// The notices chat should post now: overdue notices and digests to their
/// owner (a direct message, or the configured channel), unmatched mail to
/// the triage channel. Notices for members without a chat id stay queued.
///
/// Fails when the store cannot be read.
pub fn outgoing(tx: &dyn Tx, config: &Config) -> Result<Vec<Outgoing>, CommandError> {
    let mut out = Vec::new();
    for n in queue::undelivered(tx)? {
        let to = if n.to == queue::TRIAGE {
            config
                .chat
                .triage_channel
                .as_ref()
                .map(|c| format!("channel:{c}"))
        } else if config.chat.notices == "dm" {
            config
                .team
                .member(&n.to)
                .and_then(|m| m.discord_id.as_ref())
                .map(|id| format!("dm:{id}"))
        } else {
            Some(format!("channel:{}", config.chat.notices))
        };
        if let Some(to) = to {
            out.push(Outgoing {
                notice: n.number,
                to,
                text: n.text,
            });
        }
    }
    Ok(out)
}
