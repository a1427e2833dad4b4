//! What leadline has to tell people, queued in the store in the same
//! transaction as the change that produced it: notices (for chat, or
//! `/notices`) and outgoing mail (the outbox the mail sender empties).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::records::{read, write, Tx};
use super::{CommandError, Context};
pub use crate::domain::outbox::{backoff, MailState, OutMail, MAX_ATTEMPTS};
use crate::domain::RecordId;

pub use super::keys;

/// Why a notice was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Overdue,
    Digest,
    /// A mail nobody's rule matched (to the triage channel).
    Unmatched,
    /// A mail that could not be sent.
    MailFailed,
    /// A mail account needs a new sign-in, or works again (to admins).
    MailAccount,
    /// The daemon needs its operator (a backup failed...; to admins).
    Operations,
}

/// Who gets notices meant for the triage channel.
pub const TRIAGE: &str = "#triage";

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
    /// When chat delivered it; `None` while it waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Every notice not yet delivered, oldest first.
///
/// Fails when the store cannot be read.
pub fn undelivered(tx: &dyn Tx) -> Result<Vec<Notice>, CommandError> {
    let mut all: Vec<Notice> = self::all(tx, keys::NOTICES)?;
    all.retain(|n| n.delivered_at.is_none());
    Ok(all)
}

/// Marks notice `n` delivered (once).
///
/// Fails when there is no such notice.
pub fn delivered(tx: &mut dyn Tx, ctx: &Context, n: u64) -> Result<(), CommandError> {
    let mut notice: Notice = read(tx, &keys::notice(n))?
        .ok_or_else(|| CommandError::NotFound(format!("there is no notice #{n}")))?;
    if notice.delivered_at.is_none() {
        notice.delivered_at = Some(ctx.now);
        write(tx, keys::notice(n), &notice)?;
    }
    Ok(())
}

/// What a new outgoing mail carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub about: Option<RecordId>,
    pub message_id: Option<String>,
    pub activity: Option<u64>,
    pub calendar: Option<String>,
    /// Records whose documents are attached when it is sent.
    pub documents: Vec<RecordId>,
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
        delivered_at: None,
    };
    write(tx, keys::notice(number), &notice)?;
    Ok(number)
}

/// Queues a mail with all its parts.
///
/// Fails when the store cannot be read.
pub fn queue_mail_full(tx: &mut dyn Tx, ctx: &Context, m: NewMail) -> Result<u64, CommandError> {
    let number = next(tx, "outbox")?;
    let mail = OutMail {
        number,
        to: m.to,
        subject: m.subject,
        text: m.text,
        html: m.html,
        created_at: ctx.now,
        about: m.about,
        message_id: m.message_id,
        activity: m.activity,
        attempts: 0,
        last_error: None,
        calendar: m.calendar,
        documents: m.documents,
        state: MailState::Pending { next_at: None },
    };
    write(tx, keys::outbox(number), &mail)?;
    Ok(number)
}

/// Reads an outgoing mail that must exist.
///
/// Fails when there is no such mail.
pub fn require_mail(tx: &dyn Tx, n: u64) -> Result<OutMail, CommandError> {
    read(tx, &keys::outbox(n))?.ok_or_else(|| {
        CommandError::NotFound(format!("there is no outbox entry #{n}; /outbox lists them"))
    })
}

/// Writes an outgoing mail back.
///
/// Fails when it does not encode.
pub fn put_mail(tx: &mut dyn Tx, mail: &OutMail) -> Result<(), CommandError> {
    write(tx, keys::outbox(mail.number), mail)
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
