//! `[chat]`: the chat bot's settings (the token's source, channels, roles
//! per step, confirmations).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::command;
use crate::command::team::Role;

/// The chat settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatConfig {
    /// Refused when present: the bot token never goes in the config file.
    pub token: Option<String>,
    pub token_env: Option<String>,
    pub token_file: Option<PathBuf>,
    /// The Discord server (guild) id.
    pub guild: Option<String>,
    /// Channel ids where typed commands are read.
    pub channels: Vec<String>,
    /// Where unmatched mail is announced.
    pub triage_channel: Option<String>,
    /// Where notices go: `dm`, or a channel id.
    pub notices: String,
    /// The lowest role per step, e.g. `"invoice cancel" = "manager"`.
    pub roles: BTreeMap<String, Role>,
    /// Steps that ask for confirmation first.
    pub confirm: Vec<String>,
    /// Where the Discord API is; only tests set it (a fake on 127.0.0.1).
    pub api_base: Option<String>,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            token: None,
            token_env: None,
            token_file: None,
            guild: None,
            channels: Vec::new(),
            triage_channel: None,
            notices: "dm".to_string(),
            roles: BTreeMap::from([
                ("order cancel".to_string(), Role::Manager),
                ("invoice cancel".to_string(), Role::Manager),
            ]),
            confirm: vec![
                "order cancel".into(),
                "invoice cancel".into(),
                "disqualify".into(),
            ],
            api_base: None,
        }
    }
}

impl ChatConfig {
    /// Checks the chat settings.
    ///
    /// Fails naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.token.is_some() {
            return Err(
                "chat: the bot token never goes in the config file; use token_env or token_file"
                    .to_string(),
            );
        }
        if self.token_env.is_some() && self.token_file.is_some() {
            return Err(
                "chat.token_file: both token_env and token_file are given; keep one, so it is clear which is used"
                    .to_string(),
            );
        }
        if self.notices != "dm"
            && (self.notices.is_empty() || !self.notices.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(format!(
                "chat.notices: '{}' is not a target; give \"dm\" (each member's direct messages) or a channel id (digits)",
                self.notices
            ));
        }
        for step in self.roles.keys().chain(&self.confirm) {
            if !command::steps().contains(&step.as_str()) {
                return Err(format!(
                    "chat: '{step}' is not a step; steps: {}",
                    command::steps().join(", ")
                ));
            }
        }
        Ok(())
    }
}
