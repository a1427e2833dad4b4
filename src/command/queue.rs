//! What leadline has to tell people, queued in the store in the same
//! transaction as the change that produced it: notices (for chat, or
//! `/notices`) and outgoing mail (the outbox the mail sender empties).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::records::{read, write, Tx};
use super::{CommandError, Context};
use crate::domain::RecordId;

/// Key layout of the queues.
pub mod keys {
    use chrono::NaiveDate;

    /// The prefix of all notices.
    pub const NOTICES: &[u8] = b"q/notice/";
    /// The prefix of all outgoing mail.
    pub const OUTBOX: &[u8] = b"q/outbox/";

    /// One notice.
    pub fn notice(n: u64) -> Vec<u8> {
        format!("q/notice/{n:020}").into_bytes()
    }

    /// One outgoing mail.
    pub fn outbox(n: u64) -> Vec<u8> {
        format!("q/outbox/{n:020}").into_bytes()
    }

    /// Marks the digest of `owner` for `day` as queued.
    pub fn digest_sent(owner: &str, day: NaiveDate) -> Vec<u8> {
        format!("meta/digest/{}/{day}", super::super::keys::owner_key(owner)).into_bytes()
    }

    /// When a scheduler job last ran.
    pub fn job(name: &str) -> Vec<u8> {
        format!("meta/job/{name}").into_bytes()
    }
}

/// Why a notice was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Overdue,
    Digest,
}

/// A message for one team member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub number: u64,
    pub to: String,
    pub at: DateTime<Utc>,
    pub kind: NoticeKind,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<RecordId>,
}

/// Where an outgoing mail stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MailState {
    Pending,
}

/// A mail waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutMail {
    pub number: u64,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<RecordId>,
    #[serde(flatten)]
    pub state: MailState,
}

/// A rendered daily digest for one owner and day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestMail {
    pub owner: String,
    pub day: NaiveDate,
    /// Where to mail it; no mail without an address, the notice still goes.
    pub email: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn next(tx: &mut dyn Tx, what: &str) -> Result<u64, CommandError> {
    let key = super::keys::sequence(what);
    let n: u64 = read(tx, &key)?.unwrap_or(0) + 1;
    write(tx, key, &n)?;
    Ok(n)
}

/// Queues a notice for `to`.
///
/// Fails when the store cannot be read.
pub fn notify(
    tx: &mut dyn Tx,
    ctx: &Context,
    to: &str,
    kind: NoticeKind,
    text: String,
    about: Option<RecordId>,
) -> Result<u64, CommandError> {
    let number = next(tx, "notice")?;
    let notice = Notice {
        number,
        to: to.to_string(),
        at: ctx.now,
        kind,
        text,
        about,
    };
    write(tx, keys::notice(number), &notice)?;
    Ok(number)
}

/// Queues a mail.
///
/// Fails when the store cannot be read.
pub fn queue_mail(
    tx: &mut dyn Tx,
    ctx: &Context,
    to: Vec<String>,
    subject: String,
    text: String,
    html: Option<String>,
    about: Option<RecordId>,
) -> Result<u64, CommandError> {
    let number = next(tx, "outbox")?;
    let mail = OutMail {
        number,
        to,
        subject,
        text,
        html,
        created_at: ctx.now,
        about,
        state: MailState::Pending,
    };
    write(tx, keys::outbox(number), &mail)?;
    Ok(number)
}

/// Every queued item under `prefix` (notices or outbox), oldest first.
///
/// Fails when the store cannot be read or an item does not decode.
pub fn all<T: for<'de> Deserialize<'de>>(
    tx: &dyn Tx,
    prefix: &[u8],
) -> Result<Vec<T>, CommandError> {
    tx.scan(prefix, None, false, usize::MAX)?
        .into_iter()
        .map(|(_, v)| {
            serde_json::from_slice(&v)
                .map_err(|e| CommandError::Store(super::TxError(e.to_string())))
        })
        .collect()
}
