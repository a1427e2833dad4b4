//! The Discord adapter (serenity 0.12): slash commands and messages become
//! command lines, the chat core decides (members, roles, confirmations),
//! the daemon runs them like any other front end, and the answer goes back
//! as an embed with buttons for the next steps. Refusals and confirmations
//! are shown only to the member who asked. Queued notices are posted.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::future::BoxFuture;
use serenity::all::{
    ChannelId, Command as SlashCommand, CommandDataOption, CommandDataOptionValue,
    CommandInteraction, CommandOptionType, ComponentInteraction, Context as Ctx, CreateActionRow,
    CreateAutocompleteResponse, CreateButton, CreateCommand, CreateCommandOption, CreateEmbed,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage, EventHandler,
    GatewayIntents, GuildId, Interaction, Message, Ready, UserId,
};
use serenity::http::HttpBuilder;

use super::{Chat, Decision};
use crate::config::Config;
use crate::domain::rules::Step;

/// Runs a command line as a member through the daemon; answers its JSON.
pub type Runner =
    Arc<dyn Fn(String, String) -> BoxFuture<'static, serde_json::Value> + Send + Sync>;

/// What the bot answers: text, next steps, and whether only the asker sees it.
struct Answer {
    text: String,
    next: Vec<String>,
    private: bool,
    confirm: Option<String>,
}

struct Handler {
    config: Arc<Config>,
    chat: Arc<Chat>,
    run: Runner,
}

/// `/disqualify lead:L-1001 reason:lost` -> the command line.
fn line_of(name: &str, options: &[CommandDataOption]) -> String {
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
            "lead" | "opp" | "quote" | "order" | "invoice" | "record" | "activity" | "id"
            | "args" => words.push(value),
            other => words.push(format!("{other}:\"{}\"", value.replace('"', "'"))),
        }
    }
    words.join(" ")
}

fn reasons(config: &Config, step: Step) -> Vec<String> {
    config.process.reasons.of(step).to_vec()
}

fn string(name: &str, description: &str, required: bool) -> CreateCommandOption {
    let o =
        CreateCommandOption::new(CommandOptionType::String, name, description).required(required);
    // Record ids are completed from the store as people type.
    if matches!(name, "lead" | "opp" | "quote" | "order" | "invoice") {
        o.set_autocomplete(true)
    } else {
        o
    }
}

fn with_choices(mut o: CreateCommandOption, choices: Vec<String>) -> CreateCommandOption {
    for c in choices.into_iter().take(25) {
        o = o.add_string_choice(c.clone(), c);
    }
    o
}

/// The slash commands: typed ones for the process steps, and one per
/// command word taking the rest as text.
fn commands(config: &Config) -> Vec<CreateCommand> {
    let sub = |name: &str, what: &str, opts: Vec<CreateCommandOption>| {
        let mut s = CreateCommandOption::new(CommandOptionType::SubCommand, name, what);
        for o in opts {
            s = s.add_sub_option(o);
        }
        s
    };
    let mut out = vec![
        CreateCommand::new("qualify")
            .description("Qualify a lead")
            .add_option(string("lead", "the lead, e.g. L-1001", true)),
        CreateCommand::new("disqualify")
            .description("Disqualify a lead with a reason")
            .add_option(string("lead", "the lead", true))
            .add_option(with_choices(
                string("reason", "why", true),
                reasons(config, Step::LeadDisqualify),
            ))
            .add_option(string("description", "a note", false)),
        CreateCommand::new("quote")
            .description("Quotes")
            .add_option(sub(
                "new",
                "a draft from an opportunity",
                vec![string("opp", "the opportunity", true)],
            ))
            .add_option(sub(
                "activate",
                "send it: read-only from now on",
                vec![string("quote", "the quote", true)],
            ))
            .add_option(sub(
                "revise",
                "an editable copy, revision + 1",
                vec![string("quote", "the quote", true)],
            ))
            .add_option(sub(
                "win",
                "won: creates the order",
                vec![string("quote", "the quote", true)],
            ))
            .add_option(sub(
                "close",
                "close with a reason",
                vec![
                    string("quote", "the quote", true),
                    with_choices(
                        string("reason", "why", true),
                        reasons(config, Step::QuoteClose),
                    ),
                ],
            ))
            .add_option(sub(
                "show",
                "show it",
                vec![string("quote", "the quote", true)],
            )),
        CreateCommand::new("order")
            .description("Orders")
            .add_option(sub(
                "fulfil",
                "fulfil it",
                vec![
                    string("order", "the order", true),
                    with_choices(
                        string("reason", "how", true),
                        reasons(config, Step::OrderFulfil),
                    ),
                ],
            ))
            .add_option(sub(
                "cancel",
                "cancel it",
                vec![
                    string("order", "the order", true),
                    string("reason", "why", true),
                ],
            ))
            .add_option(sub(
                "invoice",
                "create its invoice",
                vec![string("order", "the order", true)],
            )),
        CreateCommand::new("invoice")
            .description("Invoices")
            .add_option(sub(
                "paid",
                "mark it paid",
                vec![
                    string("invoice", "the invoice", true),
                    with_choices(
                        string("reason", "how", true),
                        reasons(config, Step::InvoicePaid),
                    ),
                ],
            ))
            .add_option(sub(
                "cancel",
                "cancel it",
                vec![
                    string("invoice", "the invoice", true),
                    with_choices(
                        string("reason", "why", true),
                        reasons(config, Step::InvoiceCancel),
                    ),
                ],
            )),
    ];
    for word in [
        "lead", "opp", "show", "list", "history", "timeline", "call", "task", "meeting", "note",
        "done", "agenda", "overdue", "inbox", "email", "help",
    ] {
        out.push(
            CreateCommand::new(word)
                .description(format!("/{word} as in the shell"))
                .add_option(string("args", "the rest of the command", false)),
        );
    }
    out
}

fn answer_of(v: &serde_json::Value) -> Answer {
    if v["ok"] == true {
        Answer {
            text: v["reply"].as_str().unwrap_or("").to_string(),
            next: v["next"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            private: false,
            confirm: None,
        }
    } else {
        Answer {
            text: v["message"].as_str().unwrap_or("failed").to_string(),
            next: vec![],
            private: true,
            confirm: None,
        }
    }
}

impl Handler {
    async fn decided(&self, d: Decision) -> Answer {
        match d {
            Decision::Run { member, line } => answer_of(&(self.run)(line, member).await),
            Decision::Refuse(text) => Answer {
                text,
                next: vec![],
                private: true,
                confirm: None,
            },
            Decision::Confirm { token, prompt } => Answer {
                text: prompt,
                next: vec![],
                private: true,
                confirm: Some(token),
            },
        }
    }

    fn message(a: &Answer) -> CreateInteractionResponseMessage {
        let mut m = CreateInteractionResponseMessage::new().ephemeral(a.private);
        if a.private {
            m = m.content(a.text.clone());
        } else {
            let (title, rest) = a.text.split_once('\n').unwrap_or((&a.text, ""));
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
        m
    }

    async fn command(&self, ctx: &Ctx, c: &CommandInteraction) {
        let line = line_of(&c.data.name, &c.data.options);
        let d = self
            .chat
            .decide(&self.config, &c.user.id.to_string(), &line, Utc::now());
        let a = self.decided(d).await;
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
        let kind = match focused.name {
            "opp" => "opps",
            "lead" => "leads",
            "quote" => "quotes",
            "order" => "orders",
            "invoice" => "invoices",
            _ => return,
        };
        let typed = focused.value.to_uppercase();
        let mut response = CreateAutocompleteResponse::new();
        let member = self
            .config
            .team
            .members
            .iter()
            .find(|m| m.discord_id.as_deref() == Some(&a.user.id.to_string()))
            .map(|m| m.name.clone());
        if let Some(member) = member {
            let v = (self.run)(format!("/list {kind} limit:100"), member).await;
            let ids = v["reply"].as_str().unwrap_or("").lines().filter_map(|l| {
                let mut words = l.split_whitespace();
                let id = words.next()?;
                // Quote revisions read `Q-1001 rev 2`: the quote is enough.
                (id.contains('-') && id.to_uppercase().starts_with(&typed)).then(|| id.to_string())
            });
            let mut seen = std::collections::BTreeSet::new();
            for id in ids.filter(|id| seen.insert(id.clone())).take(25) {
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
            self.chat.confirm(&self.config, &user, token, now)
        } else if let Some(line) = c.data.custom_id.strip_prefix("run:") {
            self.chat.decide(&self.config, &user, line, now)
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
        let cmds = commands(&self.config);
        let result = match self
            .config
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
            .config
            .chat
            .channels
            .iter()
            .any(|c| *c == msg.channel_id.to_string())
        {
            return;
        }
        let d = self.chat.decide(
            &self.config,
            &msg.author.id.to_string(),
            &msg.content,
            Utc::now(),
        );
        let a = self.decided(d).await;
        let sent = if a.private {
            // Only the one who typed it sees a refusal: a direct message.
            match msg.author.id.create_dm_channel(&ctx.http).await {
                Ok(dm) => dm
                    .id
                    .send_message(&ctx.http, CreateMessage::new().content(a.text.clone()))
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            }
        } else {
            msg.channel_id
                .send_message(&ctx.http, CreateMessage::new().content(a.text.clone()))
                .await
                .map(|_| ())
        };
        if let Err(e) = sent {
            tracing::warn!("discord: replying failed: {e}");
        }
    }
}

/// Where the bot talks to: Discord, or (tests) a fake at `api_base`.
pub struct Connection {
    pub token: String,
    pub api_base: Option<String>,
}

impl Connection {
    fn http(&self) -> serenity::http::Http {
        let mut builder = HttpBuilder::new(&self.token);
        if let Some(base) = &self.api_base {
            // Every REST call goes to `base`; only tests set it, and the
            // rate limiter would ignore the proxy.
            builder = builder.proxy(base.clone()).ratelimiter_disabled(true);
        }
        builder.build()
    }
}

/// Connects and serves until `stop`, posting queued notices every few
/// seconds; reconnects with backoff and never takes the daemon down.
/// `status` tells `leadline status` how it goes.
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    conn: Connection,
    config: Arc<Config>,
    store: Arc<crate::store::Store>,
    chat: Arc<Chat>,
    run: Runner,
    mut stop: tokio::sync::watch::Receiver<bool>,
    status: Arc<std::sync::Mutex<String>>,
) {
    use serenity::all::ClientBuilder;
    let mut backoff = Duration::from_secs(1);
    while !*stop.borrow() {
        // Ask for the gateway first: serenity would fall back to the real
        // Discord gateway if its own request failed.
        let gateway = match conn.http().get_gateway().await {
            Ok(g) => g.url,
            Err(e) => {
                set(&status, format!("error: cannot reach the Discord API: {e}"));
                tracing::warn!(
                    "discord: cannot reach the API: {e}; retrying in {} s",
                    backoff.as_secs()
                );
                tokio::select! { _ = tokio::time::sleep(backoff) => {}, _ = stop.changed() => return }
                backoff = (backoff * 2).min(Duration::from_secs(300));
                continue;
            }
        };
        let intents = GatewayIntents::GUILD_MESSAGES
            | GatewayIntents::DIRECT_MESSAGES
            | GatewayIntents::MESSAGE_CONTENT;
        let handler = Handler {
            config: config.clone(),
            chat: chat.clone(),
            run: run.clone(),
        };
        let mut client = match ClientBuilder::new_with_http(conn.http(), intents)
            .event_handler(handler)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                set(&status, format!("error: {e}"));
                tokio::select! { _ = tokio::time::sleep(backoff) => {}, _ = stop.changed() => return }
                backoff = (backoff * 2).min(Duration::from_secs(300));
                continue;
            }
        };
        *client.ws_url.lock().await = gateway;
        set(&status, "connected".to_string());
        let shards = client.shard_manager.clone();
        let http = client.http.clone();
        let (s, c) = (store.clone(), config.clone());
        let notices = async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let Ok(out) = super::outgoing(&s.reader(), &c) else {
                    continue;
                };
                for o in out {
                    match post(&http, &o.to, &o.text).await {
                        Ok(()) => {
                            let ctx = c.context("chat", Utc::now(), "chat");
                            let _ = s.run(
                                &crate::command::Command::NoticeDelivered(o.notice),
                                "(chat) notice posted",
                                &ctx,
                                crate::store::Durability::Flush,
                            );
                        }
                        Err(e) => {
                            tracing::warn!("discord: posting notice #{} failed: {e}", o.notice)
                        }
                    }
                }
            }
        };
        tokio::select! {
            r = client.start() => {
                set(&status, format!("disconnected: {}", r.err().map(|e| e.to_string()).unwrap_or_default()));
            }
            _ = notices => {}
            _ = stop.changed() => {
                shards.shutdown_all().await;
                set(&status, "stopped".to_string());
                return;
            }
        }
        tokio::select! { _ = tokio::time::sleep(backoff) => {}, _ = stop.changed() => return }
        backoff = (backoff * 2).min(Duration::from_secs(300));
    }
}

fn set(status: &std::sync::Mutex<String>, s: String) {
    if let Ok(mut g) = status.lock() {
        *g = s;
    }
}

/// Posts one notice: `dm:<user>` or `channel:<id>`.
///
/// Fails when Discord refuses.
pub async fn post(
    http: &serenity::http::Http,
    to: &str,
    text: &str,
) -> Result<(), serenity::Error> {
    let msg = CreateMessage::new().content(text.chars().take(1900).collect::<String>());
    if let Some(user) = to.strip_prefix("dm:").and_then(|u| u.parse::<u64>().ok()) {
        let dm = UserId::new(user).create_dm_channel(http).await?;
        dm.id.send_message(http, msg).await?;
    } else if let Some(ch) = to
        .strip_prefix("channel:")
        .and_then(|c| c.parse::<u64>().ok())
    {
        ChannelId::new(ch).send_message(http, msg).await?;
    }
    Ok(())
}
