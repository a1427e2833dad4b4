//! The Discord adapter (serenity 0.12): slash commands and messages become
//! command lines, the chat core decides (members, roles, confirmations),
//! the daemon runs them like any other front end, and the answer goes back
//! as an embed with buttons for the next steps. Refusals and confirmations
//! are shown only to the member who asked. Queued notices are posted.

mod commands;
mod handler;

use commands::commands;
use handler::Handler;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::future::BoxFuture;
use serenity::all::{ChannelId, CreateMessage, GatewayIntents, UserId};
use serenity::http::HttpBuilder;

use super::Chat;
use crate::command;

/// Runs a command line as a member through the daemon's one way in;
/// answers what it did and its reply rendered for that member.
pub type Runner = Arc<
    dyn Fn(String, String) -> BoxFuture<'static, Result<Ran, command::CommandError>> + Send + Sync,
>;

/// A command run from chat: its typed outcome (what autocomplete reads)
/// and the reply rendered for the member (what chat shows).
pub struct Ran {
    pub outcome: command::Outcome,
    pub reply: command::Reply,
    /// Files to send along: a document asked for (`/invoice pdf`).
    pub files: Vec<(String, Vec<u8>)>,
}

/// Where the bot talks to: Discord, or (tests) a fake at `api_base`.
#[derive(Clone)]
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
            core: core.clone(),
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
            // What the admins were last told about the store (a full disk
            // keeps notices from being stored, so this goes straight out).
            let mut told: Option<String> = None;
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let c = core.config();
                let problem = core.store_problem();
                if problem.is_some() != told.is_some() {
                    let text = match &problem {
                        Some(p) => format!("leadline cannot save changes: {p}"),
                        None => "leadline saves changes again.".to_string(),
                    };
                    for to in super::admin_targets(&c) {
                        if let Err(e) = post(&http, &to, &text).await {
                            tracing::warn!(
                                "discord: telling the admins about the store failed: {e}"
                            );
                        }
                    }
                    told = problem;
                }
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
    let text = crate::redact::redact(text);
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

/// A report's text for chat: its first line as the title, the table under
/// it in a code block so its columns line up (cut to what a message holds).
pub fn table(text: &str) -> String {
    let (title, rest) = text.split_once('\n').unwrap_or((text, ""));
    if rest.is_empty() {
        return title.to_string();
    }
    const ROOM: usize = 3900;
    let mut table: String = rest.chars().take(ROOM).collect();
    if rest.chars().count() > ROOM {
        table.push_str("\n…");
    }
    format!("{title}\n```\n{table}\n```")
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn a_report_table_is_a_code_block_cut_to_what_a_message_holds() {
        assert_eq!(table("pipeline: 0"), "pipeline: 0");
        assert_eq!(
            table("title\n  a 1\n  b 2"),
            "title\n```\n  a 1\n  b 2\n```"
        );
        let long = format!("title\n{}", "ä".repeat(5000));
        let t = table(&long);
        assert!(t.ends_with("\n…\n```"), "{}", &t[t.len() - 20..]);
        assert_eq!(t.chars().filter(|c| *c == 'ä').count(), 3900);
    }
}
