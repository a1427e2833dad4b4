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
    /// A mail nobody's rule matched (to the triage channel).
    Unmatched,
    /// A mail that could not be sent.
    MailFailed,
    /// A mail account needs a new sign-in, or works again (to admins).
    MailAccount,
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

/// Where an outgoing mail stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MailState {
    /// Waiting; not before `next_at` (after a temporary failure).
    Pending {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_at: Option<DateTime<Utc>>,
    },
    /// Handed to the SMTP server; marked before the first byte goes out.
    Sending {
        since: DateTime<Utc>,
    },
    Sent {
        at: DateTime<Utc>,
        response: String,
    },
    /// Refused by the server for good, or too many temporary failures.
    Failed {
        at: DateTime<Utc>,
        reason: String,
    },
    /// leadline stopped while sending it: the server may or may not have
    /// accepted it. Never sent again by itself; `/outbox retry` sends it.
    Uncertain {
        since: DateTime<Utc>,
    },
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
    /// Our Message-ID (without brackets), so replies thread back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The e-mail activity on the record's timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<u64>,
    /// Attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// The last temporary failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// An iCalendar invitation (METHOD:REQUEST) sent along as `invite.ics`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    #[serde(flatten)]
    pub state: MailState,
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
        state: MailState::Pending { next_at: None },
    };
    write(tx, keys::outbox(number), &mail)?;
    Ok(number)
}

/// Temporary failures allowed before a mail is marked failed.
pub const MAX_ATTEMPTS: u32 = 6;

/// How long to wait after the `attempts`-th temporary failure.
pub fn backoff(attempts: u32) -> chrono::Duration {
    let minutes = [1, 5, 15, 60, 180, 360];
    chrono::Duration::minutes(minutes[(attempts.max(1) as usize - 1).min(minutes.len() - 1)])
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
