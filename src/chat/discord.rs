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
use crate::command;
use crate::config::Config;
use crate::domain::rules::Step;
use crate::domain::Kind;

/// Runs a command line as a member through the daemon's one way in;
/// answers the typed reply.
pub type Runner = Arc<
    dyn Fn(String, String) -> BoxFuture<'static, Result<command::Reply, command::CommandError>>
        + Send
        + Sync,
>;

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

fn reasons(config: &Config, step: Step) -> Vec<String> {
    config.process.reasons.of(step).to_vec()
}

fn string(name: &str, description: &str, required: bool) -> CreateCommandOption {
    let o =
        CreateCommandOption::new(CommandOptionType::String, name, description).required(required);
    // Record ids are completed from the store as people type.
    if matches!(
        name,
        "lead"
            | "opp"
            | "quote"
            | "order"
            | "invoice"
            | "contact"
            | "account"
            | "activity"
            | "record"
    ) {
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

/// The option that names the record of a kind's command.
fn id_option(kind: Kind) -> &'static str {
    match kind {
        Kind::Opportunity => "opp",
        other => other.name(),
    }
}

/// The closing step of `action` on `kind`, whose reasons are offered as choices.
fn reason_step(kind: Kind, action: &str) -> Option<Step> {
    Some(match (kind, action) {
        (Kind::Lead, "disqualify") => Step::LeadDisqualify,
        (Kind::Opportunity, "lose") => Step::OpportunityLost,
        (Kind::Quote, "close") => Step::QuoteClose,
        (Kind::Order, "fulfil") => Step::OrderFulfil,
        (Kind::Order, "cancel") => Step::OrderCancel,
        (Kind::Invoice, "paid") => Step::InvoicePaid,
        (Kind::Invoice, "cancel") => Step::InvoiceCancel,
        _ => return None,
    })
}

fn sub(name: &str, what: &str, opts: Vec<CreateCommandOption>) -> CreateCommandOption {
    let mut s = CreateCommandOption::new(CommandOptionType::SubCommand, name, what);
    for o in opts {
        s = s.add_sub_option(o);
    }
    s
}

fn command(name: &str, what: &str, opts: Vec<CreateCommandOption>) -> CreateCommand {
    let mut c = CreateCommand::new(name).description(what);
    for o in opts {
        c = c.add_option(o);
    }
    c
}

fn choice_list(name: &str, what: &str, required: bool, choices: &[&str]) -> CreateCommandOption {
    with_choices(
        string(name, what, required),
        choices.iter().map(|c| c.to_string()).collect(),
    )
}

/// Every command of the language as a slash command with typed options:
/// one per record kind with its actions as subcommands (the record id
/// completed as you type, reasons as choices from the config, fields as
/// `name:value` text), and the activity and view commands.
fn commands(config: &Config) -> Vec<CreateCommand> {
    let mut out = Vec::new();
    for kind in [
        Kind::Lead,
        Kind::Opportunity,
        Kind::Quote,
        Kind::Order,
        Kind::Invoice,
        Kind::Contact,
        Kind::Account,
        Kind::Activity,
    ] {
        let word = id_option(kind);
        let mut subs = Vec::new();
        for action in command::help::actions(kind) {
            let mut opts = Vec::new();
            match (kind, action) {
                (Kind::Quote, "new") => opts.push(string("opp", "the opportunity to quote", true)),
                (_, "new") => {}
                (_, "list") => {
                    opts.push(with_choices(
                        string("state", "only in this state", false),
                        crate::domain::state_names(kind)
                            .iter()
                            .map(|s| s.to_string())
                            .collect(),
                    ));
                    opts.push(string("owner", "only this owner's (me for yours)", false));
                }
                (_, "line") => {
                    opts.push(choice_list(
                        "op",
                        "add, edit or remove a line",
                        true,
                        &["add", "edit", "remove"],
                    ));
                    opts.push(string(word, "the record", true));
                }
                _ => opts.push(string(word, "the record", true)),
            }
            if let Some(step) = reason_step(kind, action) {
                let reasons = reasons(config, step);
                opts.push(if reasons.is_empty() {
                    string("reason", "why", true)
                } else {
                    with_choices(string("reason", "why", true), reasons)
                });
            }
            if matches!(
                action,
                "new"
                    | "edit"
                    | "line"
                    | "win"
                    | "lose"
                    | "close"
                    | "fulfil"
                    | "cancel"
                    | "paid"
                    | "pay"
                    | "invoice"
                    | "send"
                    | "reschedule"
                    | "assign"
                    | "done"
                    | "disqualify"
            ) {
                opts.push(string(
                    "fields",
                    "more name:value options, e.g. qty:10 discount:5%",
                    false,
                ));
            }
            subs.push(sub(action, &format!("{word} {action}"), opts));
        }
        out.push(command(word, &format!("{}s", kind.name()), subs));
    }
    let rec = || string("record", "the record, e.g. O-1001", true);
    let fields = || string("fields", "more name:value options", false);
    out.push(command(
        "qualify",
        "Qualify a lead",
        vec![string("lead", "the lead", true)],
    ));
    out.push(command(
        "disqualify",
        "Disqualify a lead with a reason",
        vec![
            string("lead", "the lead", true),
            with_choices(
                string("reason", "why", true),
                reasons(config, Step::LeadDisqualify),
            ),
            string("description", "a note", false),
        ],
    ));
    out.push(command(
        "call",
        "Log a call, or schedule the next one",
        vec![
            rec(),
            string("subject", "what about", false),
            string("result", "how it went (logged)", false),
            string("due", "when the next one is due (scheduled)", false),
            fields(),
        ],
    ));
    out.push(command(
        "task",
        "A task with a due date",
        vec![
            rec(),
            string("subject", "what to do", true),
            string("due", "when, e.g. tomorrow 9:00", false),
            string("owner", "who", false),
            fields(),
        ],
    ));
    out.push(command(
        "meeting",
        "An appointment",
        vec![
            rec(),
            string("subject", "what", true),
            string("start", "when it starts", true),
            string("end", "when it ends", false),
            string("attendees", "e-mails, comma separated", false),
            string("location", "where", false),
        ],
    ));
    out.push(command(
        "note",
        "A note on the timeline",
        vec![rec(), string("text", "the note", true)],
    ));
    out.push(command(
        "timeline",
        "A record's activities",
        vec![
            rec(),
            choice_list(
                "state",
                "only these",
                false,
                &["active", "closed", "overdue"],
            ),
            choice_list(
                "kind",
                "only this kind",
                false,
                crate::domain::activity::KINDS,
            ),
        ],
    ));
    out.push(command(
        "done",
        "Complete an activity",
        vec![
            string("activity", "the activity, e.g. ACT-1001", true),
            string("result", "how it went", false),
        ],
    ));
    out.push(command(
        "agenda",
        "Overdue and due today",
        vec![string("owner", "whose (default: yours)", false)],
    ));
    out.push(command(
        "overdue",
        "Overdue items",
        vec![string("owner", "whose (default: yours)", false)],
    ));
    out.push(command(
        "find",
        "Search every record and product (Muller finds Müller)",
        vec![
            string("args", "names, company, e-mail, phone, city or id", true),
            choice_list(
                "kind",
                "only this kind",
                false,
                crate::command::search::KINDS,
            ),
        ],
    ));
    out.push(command("show", "Show any record", vec![rec()]));
    out.push(command("history", "Who changed what", vec![rec()]));
    out.push(command(
        "list",
        "List records",
        vec![
            choice_list(
                "args",
                "what to list",
                true,
                &[
                    "leads",
                    "opps",
                    "quotes",
                    "orders",
                    "invoices",
                    "contacts",
                    "accounts",
                    "products",
                    "activities",
                ],
            ),
            string("state", "only in this state", false),
            string("owner", "only this owner's", false),
        ],
    ));
    out.push(command(
        "email",
        "Mail about a record",
        vec![
            rec(),
            string("subject", "the subject", false),
            string("body", "the text", false),
            choice_list(
                "template",
                "a template instead",
                false,
                &["followup", "intro", "quote", "invoice"],
            ),
            string("message", "your own words for a template", false),
        ],
    ));
    out.push(command(
        "inbox",
        "Unmatched mail",
        vec![
            choice_list("action", "what to do", false, &["list", "link", "lead"]),
            string("mail", "the mail's #number", false),
            string("record", "the record to file it on", false),
        ],
    ));
    out.push(command(
        "outbox",
        "Mail waiting to go out",
        vec![
            choice_list("action", "what to do", false, &["list", "all", "retry"]),
            string("mail", "the entry's #number", false),
        ],
    ));
    out.push(command(
        "help",
        "Every command",
        vec![choice_list(
            "args",
            "a topic",
            false,
            &[
                "lead",
                "opp",
                "quote",
                "order",
                "invoice",
                "activities",
                "mail",
                "product",
                "records",
                "reasons",
            ],
        )],
    ));
    out
}

fn answer_of(result: Result<command::Reply, command::CommandError>) -> Answer {
    match result {
        Ok(reply) => Answer {
            text: reply.text,
            next: reply.next,
            private: false,
            confirm: None,
        },
        Err(e) => Answer {
            text: e.to_string(),
            next: vec![],
            private: true,
            confirm: None,
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
            .config
            .team
            .members
            .iter()
            .find(|m| m.discord_id.as_deref() == Some(user.as_str()))
            .map(|m| m.name.clone());
        if let Some(member) = member {
            let mut ids: Vec<String> = Vec::new();
            for kind in kinds {
                let listed = (self.run)(format!("/list {kind} limit:100"), member.clone()).await;
                let Ok(command::Reply {
                    outcome: command::Outcome::Listed(listed),
                    ..
                }) = listed
                else {
                    continue;
                };
                // Quote revisions: the quote is enough.
                ids.extend(
                    listed
                        .into_iter()
                        .map(|id| self.config.process.show(id.kind, id.number))
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
pub async fn serve(
    conn: Connection,
    core: crate::core::Leadline,
    chat: Arc<Chat>,
    run: Runner,
    mut stop: tokio::sync::watch::Receiver<bool>,
    status: Arc<std::sync::Mutex<String>>,
) {
    use serenity::all::ClientBuilder;
    let config = core.shared_config();
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
        let core = core.clone();
        let notices = async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let c = core.shared_config();
                let Ok(Ok(out)) = core.query(move |tx| super::outgoing(tx, &c)).await else {
                    continue;
                };
                for o in out {
                    match post(&http, &o.to, &o.text).await {
                        Ok(()) => {
                            let request = crate::core::Request::system(
                                command::Command::NoticeDelivered(o.notice),
                                "(chat) notice posted",
                                "chat",
                                "chat",
                                Utc::now(),
                            );
                            if let Err(e) = core.call(request).await {
                                tracing::warn!(
                                    "discord: notice #{} was posted but not marked: {e}",
                                    o.notice
                                );
                            }
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
