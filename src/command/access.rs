//! Access to the web view and the HTTP API: one-time sign-in links and
//! per-member API tokens, kept in the store so that the shell, chat and
//! the daemon see the same ones.
//!
//! The secrets themselves never reach the store or a history: the front
//! end that makes one (`leadline web-link`, `/web` in chat, `leadline
//! token new`) draws it at random, shows it once, and hands the core only
//! its SHA-256 digest ([`digest`]). A sign-in link is taken by the
//! transaction that starts the session, so it works once; it expires
//! after [`LINK_MINUTES`]. A token is checked by its digest on every API
//! request and can be revoked by its number.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::args::Args;
use super::parse::Command;
use super::records::{keys, read, write, Tx};
use super::{CommandError, Context, Family, Outcome, Reply};
use crate::domain::Refusal;

/// How long a sign-in link is valid.
pub const LINK_MINUTES: i64 = 15;

/// The hex SHA-256 digest of a secret: what the store keeps of it.
pub fn digest(secret: &str) -> String {
    let hash = Sha256::digest(secret.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh random secret (32 bytes, URL-safe base64), for links, tokens
/// and sessions.
///
/// Fails when the system has no randomness to give.
pub fn secret() -> Result<String, String> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the system: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A sign-in link waiting to be used.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Link {
    member: String,
    expires: DateTime<Utc>,
}

/// An API token, as the store keeps it (its digest is the key).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Token {
    pub number: u64,
    pub member: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// What an access command did.
#[derive(Debug, Clone)]
pub enum Done {
    /// A sign-in link for `member`, valid until `expires`.
    Link {
        member: String,
        expires: DateTime<Utc>,
    },
    /// A link was taken: `member` is signed in.
    SignedIn { member: String },
    /// A token was made.
    TokenMade(Token),
    /// A token was revoked.
    TokenRevoked(Token),
    /// The tokens there are.
    Tokens(Vec<Token>),
}

impl Done {
    /// The member a sign-in link was taken for.
    pub fn signed_in(&self) -> Option<&str> {
        match self {
            Done::SignedIn { member } => Some(member),
            _ => None,
        }
    }
}

/// The member `name` names (case aside), as the team spells them.
fn member(ctx: &Context, name: &str) -> Result<String, CommandError> {
    ctx.team
        .member(name)
        .map(|m| m.name.clone())
        .ok_or_else(|| CommandError::NotFound(format!("{name} is not a member of the team")))
}

/// Whether the acting one may hand out access for `member`: that member,
/// an admin, or the operator: the shell (whoever runs leadline on the
/// server holds the store anyway) or an actor who is not on the team.
fn may_act_for(ctx: &Context, member: &str) -> Result<(), CommandError> {
    if ctx.via == "shell" {
        return Ok(());
    }
    match ctx.team.member(&ctx.actor) {
        None => Ok(()),
        Some(m) if m.name == member || m.role == super::team::Role::Admin => Ok(()),
        Some(m) => Err(CommandError::Refused(Refusal::new(format!(
            "only {member} or an admin can do that; you are {}",
            m.name
        )))),
    }
}

/// Web sign-in links and API tokens; not in the text grammar (the front
/// ends that hand out secrets build these commands themselves).
pub(super) const FAMILY: Family = Family {
    topic: "access",
    actions: &[],
    steps: &["sign in", "api token"],
    help: &[],
    parse: |_: &mut Args, _, _| Ok(None),
    apply: |cmd, _, tx, ctx| apply(cmd, tx, ctx),
    step,
};

fn step(cmd: &Command) -> Option<&'static str> {
    match cmd {
        Command::WebLinkNew { .. } | Command::WebSignIn { .. } => Some("sign in"),
        Command::TokenNew { .. } | Command::TokenRevoke(_) | Command::Tokens => Some("api token"),
        _ => None,
    }
}

/// Applies an access command; `None` for another family's.
///
/// Fails when the member is unknown, a link is used, expired or unknown,
/// a token unknown, or the store fails.
fn apply(cmd: &Command, tx: &mut dyn Tx, ctx: &Context) -> Result<Option<Outcome>, CommandError> {
    let done = match cmd {
        Command::WebLinkNew {
            member: who,
            digest,
        } => {
            let who = member(ctx, who)?;
            may_act_for(ctx, &who)?;
            let expires = ctx.now + Duration::minutes(LINK_MINUTES);
            // Links left unused are dropped as new ones are made.
            for (k, v) in tx.scan(keys::WEB_LINKS, None, false, 1000)? {
                if serde_json::from_slice::<Link>(&v).is_ok_and(|l| l.expires < ctx.now) {
                    tx.remove(k);
                }
            }
            write(
                tx,
                keys::web_link(digest),
                &Link {
                    member: who.clone(),
                    expires,
                },
            )?;
            Done::Link {
                member: who,
                expires,
            }
        }
        Command::WebSignIn { digest } => {
            let key = keys::web_link(digest);
            let Some(link) = read::<Link>(tx, &key)? else {
                return Err(CommandError::Refused(Refusal::new(
                    "this sign-in link was used already or never existed; ask for a new one with /web",
                )));
            };
            tx.remove(key);
            if link.expires <= ctx.now {
                return Err(CommandError::Refused(Refusal::new(format!(
                    "this sign-in link has expired (links are valid {LINK_MINUTES} minutes); ask for a new one with /web"
                ))));
            }
            // The member may have left the team since.
            let who = member(ctx, &link.member)?;
            Done::SignedIn { member: who }
        }
        Command::TokenNew {
            member: who,
            digest,
        } => {
            let who = member(ctx, who)?;
            may_act_for(ctx, &who)?;
            let key = keys::sequence("token");
            let number: u64 = read(tx, &key)?.unwrap_or(0) + 1;
            write(tx, key, &number)?;
            let token = Token {
                number,
                member: who,
                created_at: ctx.now,
                created_by: ctx.actor.clone(),
            };
            write(tx, keys::api_token(digest), &token)?;
            write(tx, keys::api_token_number(number), digest)?;
            Done::TokenMade(token)
        }
        Command::TokenRevoke(number) => {
            let by_number = keys::api_token_number(*number);
            let not_found = || CommandError::NotFound(format!("there is no API token {number}"));
            let digest: String = read(tx, &by_number)?.ok_or_else(not_found)?;
            let token: Token = read(tx, &keys::api_token(&digest))?.ok_or_else(not_found)?;
            may_act_for(ctx, &token.member)?;
            tx.remove(by_number);
            tx.remove(keys::api_token(&digest));
            Done::TokenRevoked(token)
        }
        Command::Tokens => {
            let mut out = Vec::new();
            for (_, v) in tx.scan(keys::API_TOKENS, None, false, usize::MAX)? {
                if let Ok(t) = serde_json::from_slice::<Token>(&v) {
                    out.push(t);
                }
            }
            out.sort_by_key(|t| t.number);
            Done::Tokens(out)
        }
        _ => return Ok(None),
    };
    Ok(Some(Outcome::Access(done)))
}

/// The member an API token (given by its digest) acts for, if it is valid.
///
/// Fails when the store cannot be read.
pub fn token_member(tx: &dyn Tx, digest: &str) -> Result<Option<String>, CommandError> {
    Ok(read::<Token>(tx, &keys::api_token(digest))?.map(|t| t.member))
}

pub(super) fn render(done: &Done, ctx: &Context) -> Reply {
    let when = |at: &DateTime<Utc>| {
        at.with_timezone(&ctx.team.timezone)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let token_line = |t: &Token| {
        format!(
            "token {} for {}, made {} by {}",
            t.number,
            t.member,
            when(&t.created_at),
            t.created_by
        )
    };
    let (text, data) = match done {
        Done::Link { member, expires } => (
            format!(
                "a sign-in link for {member}, valid once until {}",
                when(expires)
            ),
            serde_json::json!({"member": member, "expires": expires}),
        ),
        Done::SignedIn { member } => (
            format!("{member} is signed in"),
            serde_json::json!({"member": member}),
        ),
        Done::TokenMade(t) => (
            format!("made API {}", token_line(t)),
            serde_json::to_value(t).unwrap_or_default(),
        ),
        Done::TokenRevoked(t) => (
            format!("revoked API {}", token_line(t)),
            serde_json::to_value(t).unwrap_or_default(),
        ),
        Done::Tokens(all) if all.is_empty() => ("no API tokens".to_string(), serde_json::json!([])),
        Done::Tokens(all) => (
            all.iter().map(token_line).collect::<Vec<_>>().join("\n"),
            serde_json::to_value(all).unwrap_or_default(),
        ),
    };
    Reply {
        text,
        data: if ctx.with_data {
            data
        } else {
            serde_json::Value::Null
        },
        next: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_is_hex_sha256_and_secrets_differ() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let (a, b) = (secret().expect("random"), secret().expect("random"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }
}
