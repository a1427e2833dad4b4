//! What the bot does with interactions and messages: slash commands,
//! autocomplete, buttons and typed commands become command lines that the
//! chat core decides on and the daemon runs.

use std::sync::Arc;

use chrono::Utc;
use serenity::all::{
    Command as SlashCommand, CommandDataOption, CommandDataOptionValue, CommandInteraction,
    ComponentInteraction, Context as Ctx, CreateActionRow, CreateAutocompleteResponse,
    CreateButton, CreateEmbed, CreateInteractionResponse, CreateInteractionResponseMessage,
    CreateMessage, EventHandler, GuildId, Interaction, Message, Ready,
};

use super::*;
use crate::chat::{Chat, Decision};
use crate::command;
use crate::config::Config;

/// What the bot answers: text, next steps, and whether only the asker sees it.
pub(super) struct Answer {
    text: String,
    next: Vec<String>,
    private: bool,
    confirm: Option<String>,
    /// Files sent along (a document's PDF).
    files: Vec<(String, Vec<u8>)>,
}

pub(super) struct Handler {
    /// The core, for the configuration in force at each event (SIGHUP may
    /// have replaced it: new members and roles count at once).
    pub(super) core: crate::core::Leadline,
    pub(super) chat: Arc<Chat>,
    pub(super) run: Runner,
}

impl Handler {
    fn config(&self) -> Arc<Config> {
        self.core.config()
    }
}

/// `/disqualify lead:L-1001 reason:lost` -> the command line.
pub(super) fn line_of(name: &str, options: &[CommandDataOption]) -> String {
    let mut words = vec![format!("/{name}")];
    let mut opts = options.to_vec();
    if let Some(CommandDataOption {
        name: sub,
        value: CommandDataOptionValue::SubCommand(inner),
        ..
    }) = opts.first().cloned()
    {
        words.push(sub);
        opts = inner;
    }
    for o in opts {
        let value = match &o.value {
            CommandDataOptionValue::String(s) => s.clone(),
            CommandDataOptionValue::Integer(i) => i.to_string(),
            CommandDataOptionValue::Number(n) => n.to_string(),
            CommandDataOptionValue::Boolean(b) => if *b { "yes" } else { "no" }.to_string(),
            _ => continue,
        };
        match o.name.as_str() {
            // Ids, actions and raw text are positional; `fields` is already
            // `name:value` text.
            "lead" | "opp" | "quote" | "order" | "invoice" | "contact" | "account" | "record"
            | "activity" | "id" | "args" | "op" | "action" | "mail" | "fields" => words.push(value),
            "text" => words.push(format!("\"{}\"", value.replace('"', "'"))),
            other => words.push(format!("{other}:\"{}\"", value.replace('"', "'"))),
        }
    }
    words.join(" ")
}

pub(super) fn answer_of(result: Result<super::Ran, command::CommandError>) -> Answer {
    match result {
        Ok(ran) => Answer {
            text: ran.reply.text,
            next: ran.reply.next,
            private: false,
            confirm: None,
            files: ran.files,
        },
        Err(e) => Answer {
            text: e.to_string(),
            next: vec![],
            private: true,
            confirm: None,
            files: Vec::new(),
        },
    }
}

impl Handler {
    async fn decided(&self, d: Decision) -> Answer {
        match d {
            Decision::Run { member, line } => answer_of((self.run)(line, member).await),
            Decision::Refuse(text) => Answer {
                text,
                next: vec![],
                private: true,
                confirm: None,
                files: Vec::new(),
            },
            Decision::Confirm { token, prompt } => Answer {
                text: prompt,
                next: vec![],
                private: true,
                confirm: Some(token),
                files: Vec::new(),
            },
        }
    }

    fn message(a: &Answer) -> CreateInteractionResponseMessage {
        let text = crate::redact::redact(&a.text);
        let mut m = CreateInteractionResponseMessage::new().ephemeral(a.private);
        if a.private {
            m = m.content(text.to_string());
        } else {
            let (title, rest) = text.split_once('\n').unwrap_or((&text, ""));
            m = m.embed(
                CreateEmbed::new()
                    .title(title.chars().take(256).collect::<String>())
                    .description(rest.chars().take(4000).collect::<String>()),
            );
        }
        let mut buttons: Vec<CreateButton> = Vec::new();
        if let Some(t) = &a.confirm {
            buttons.push(CreateButton::new(format!("confirm:{t}")).label("Yes, do it"));
        }
        // Buttons for the obvious next steps that need nothing more typed.
        for n in a
            .next
            .iter()
            .filter(|n| !n.ends_with(':') && n.len() <= 90)
            .take(4)
        {
            buttons.push(
                CreateButton::new(format!("run:{n}")).label(n.chars().take(80).collect::<String>()),
            );
        }
        if !buttons.is_empty() {
            m = m.components(vec![CreateActionRow::Buttons(buttons)]);
        }
        for (name, bytes) in &a.files {
            m = m.add_file(serenity::all::CreateAttachment::bytes(
                bytes.clone(),
                name.clone(),
            ));
        }
        m
    }

    /// `/web`: a one-time sign-in link to the web view, only for the
    /// member who asked (never in a channel).
    async fn web_link(&self, chat_user: &str) -> Answer {
        let private = |text: String| Answer {
            text,
            next: vec![],
            private: true,
            confirm: None,
            files: Vec::new(),
        };
        let config = self.config();
        let Some(member) = config
            .team
            .members
            .iter()
            .find(|m| m.discord_id.as_deref() == Some(chat_user))
        else {
            return private(
                "Sorry, I only give sign-in links to members of the sales team.".into(),
            );
        };
        let Some(base) = config.web.base() else {
            return private(
                "The web view is off: an admin sets [web] listen to turn it on.".into(),
            );
        };
        let secret = match command::access::secret() {
            Ok(s) => s,
            Err(e) => return private(e),
        };
        let request = crate::core::Request::system(
            command::Command::WebLinkNew {
                member: member.name.clone(),
                digest: command::access::digest(&secret),
            },
            "(chat) /web",
            &member.name,
            "chat",
            Utc::now(),
        );
        match self.core.call(request).await {
            Ok(_) => private(format!(
                "Your sign-in link (valid {} minutes, once): {base}/signin/{secret}",
                command::access::LINK_MINUTES
            )),
            Err(e) => private(e.to_string()),
        }
    }

    async fn command(&self, ctx: &Ctx, c: &CommandInteraction) {
        let a = if c.data.name == "web" {
            self.web_link(&c.user.id.to_string()).await
        } else {
            let line = line_of(&c.data.name, &c.data.options);
            let d = self
                .chat
                .decide(&self.config(), &c.user.id.to_string(), &line, Utc::now());
            self.decided(d).await
        };
        let r = CreateInteractionResponse::Message(Handler::message(&a));
        if let Err(e) = c.create_response(&ctx.http, r).await {
            tracing::warn!("discord: answering an interaction failed: {e}");
        }
    }

    /// Suggests ids of the kind being typed, newest first, matching what
    /// was typed so far.
    async fn autocomplete(&self, ctx: &Ctx, a: &CommandInteraction) {
        let Some(focused) = a.data.autocomplete() else {
            return;
        };
        let kinds: &[&str] = match focused.name {
            "opp" => &["opps"],
            "lead" => &["leads"],
            "quote" => &["quotes"],
            "order" => &["orders"],
            "invoice" => &["invoices"],
            "contact" => &["contacts"],
            "account" => &["accounts"],
            "activity" => &["activities"],
            "record" => &["opps", "leads"],
            _ => return,
        };
        let typed = focused.value.to_uppercase();
        let mut response = CreateAutocompleteResponse::new();
        let user = a.user.id.to_string();
        let member = self
            .config()
            .team
            .members
            .iter()
            .find(|m| m.discord_id.as_deref() == Some(user.as_str()))
            .map(|m| m.name.clone());
        if let Some(member) = member {
            let mut ids: Vec<String> = Vec::new();
            for kind in kinds {
                let listed = (self.run)(format!("/list {kind} limit:100"), member.clone()).await;
                let Some(listed) = listed.ok().and_then(|ran| ran.outcome.listed()) else {
                    continue;
                };
                // Quote revisions: the quote is enough.
                ids.extend(
                    listed
                        .into_iter()
                        .map(|id| self.config().process.show(id.kind, id.number))
                        .filter(|id| id.to_uppercase().starts_with(&typed)),
                );
            }
            let mut seen = std::collections::BTreeSet::new();
            for id in ids
                .into_iter()
                .filter(|id| seen.insert(id.clone()))
                .take(25)
            {
                response = response.add_string_choice(id.clone(), id);
            }
        }
        if let Err(e) = a
            .create_response(&ctx.http, CreateInteractionResponse::Autocomplete(response))
            .await
        {
            tracing::warn!("discord: autocomplete failed: {e}");
        }
    }

    async fn component(&self, ctx: &Ctx, c: &ComponentInteraction) {
        let user = c.user.id.to_string();
        let now = Utc::now();
        let d = if let Some(token) = c.data.custom_id.strip_prefix("confirm:") {
            self.chat.confirm(&self.config(), &user, token, now)
        } else if let Some(line) = c.data.custom_id.strip_prefix("run:") {
            self.chat.decide(&self.config(), &user, line, now)
        } else {
            return;
        };
        let a = self.decided(d).await;
        let r = CreateInteractionResponse::Message(Handler::message(&a));
        if let Err(e) = c.create_response(&ctx.http, r).await {
            tracing::warn!("discord: answering a button failed: {e}");
        }
    }
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Ctx, ready: Ready) {
        tracing::info!("discord: connected as {}", ready.user.name);
        let cmds = commands(&self.config());
        let result = match self
            .config()
            .chat
            .guild
            .as_deref()
            .and_then(|g| g.parse::<u64>().ok())
        {
            Some(g) => GuildId::new(g)
                .set_commands(&ctx.http, cmds)
                .await
                .map(|_| ()),
            None => SlashCommand::set_global_commands(&ctx.http, cmds)
                .await
                .map(|_| ()),
        };
        if let Err(e) = result {
            tracing::warn!("discord: registering the slash commands failed: {e}");
        }
    }

    async fn interaction_create(&self, ctx: Ctx, interaction: Interaction) {
        match &interaction {
            Interaction::Command(c) => self.command(&ctx, c).await,
            Interaction::Component(c) => self.component(&ctx, c).await,
            Interaction::Autocomplete(a) => self.autocomplete(&ctx, a).await,
            _ => {}
        }
    }

    async fn message(&self, ctx: Ctx, msg: Message) {
        if msg.author.bot || !msg.content.trim_start().starts_with('/') {
            return;
        }
        if !self
            .config()
            .chat
            .channels
            .iter()
            .any(|c| *c == msg.channel_id.to_string())
        {
            return;
        }
        let a = if msg.content.trim() == "/web" {
            self.web_link(&msg.author.id.to_string()).await
        } else {
            let d = self.chat.decide(
                &self.config(),
                &msg.author.id.to_string(),
                &msg.content,
                Utc::now(),
            );
            self.decided(d).await
        };
        let sent = if a.private {
            // Only the one who typed it sees a refusal: a direct message.
            match msg.author.id.create_dm_channel(&ctx.http).await {
                Ok(dm) => dm
                    .id
                    .send_message(
                        &ctx.http,
                        CreateMessage::new().content(crate::redact::redact(&a.text)),
                    )
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            }
        } else {
            let mut m = CreateMessage::new().content(crate::redact::redact(&a.text));
            for (name, bytes) in &a.files {
                m = m.add_file(serenity::all::CreateAttachment::bytes(
                    bytes.clone(),
                    name.clone(),
                ));
            }
            msg.channel_id.send_message(&ctx.http, m).await.map(|_| ())
        };
        if let Err(e) = sent {
            tracing::warn!("discord: replying failed: {e}");
        }
    }
}
