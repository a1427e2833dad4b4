//! Mail as the workflow core sees it: already parsed, plain data. The mail
//! adapter turns raw messages into [`IncomingMail`]; this module knows how
//! tracking tokens (`[O-1001]`), plus-addresses (`sales+o-1001@...`) and
//! quoted history look. No parsing of MIME here, no I/O.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{Numbering, RecordId};

/// The subject shown for a mail that has none.
pub const NO_SUBJECT: &str = "(no subject)";

/// One address of a mail, the address lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub email: String,
}

impl MailAddress {
    /// The domain part, lower case.
    pub fn domain(&self) -> &str {
        self.email.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// `Anna Schmidt <anna@contoso.example>`.
    pub fn display(&self) -> String {
        match &self.name {
            Some(n) if !n.is_empty() => format!("{n} <{}>", self.email),
            _ => self.email.clone(),
        }
    }
}

/// An attachment, as metadata only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    pub size: usize,
}

/// A received mail, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingMail {
    /// The Message-ID without angle brackets; a hash when the mail has none.
    pub message_id: String,
    /// True when `message_id` is a hash because the mail had none.
    #[serde(default)]
    pub synthetic_id: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_reply_to: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<MailAddress>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<MailAddress>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<MailAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<DateTime<Utc>>,
    pub subject: String,
    /// The text body (HTML converted), quoted history trimmed, capped.
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Why this is an automatic mail (auto-reply, bulk, list), if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic: Option<String>,
    /// What was wrong with the mail, for people to see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl IncomingMail {
    /// Everyone on the mail: from, to, cc.
    pub fn participants(&self) -> impl Iterator<Item = &MailAddress> {
        self.from.iter().chain(&self.to).chain(&self.cc)
    }
}

/// The record ids in `[...]` tokens of a subject, e.g. `Re: Offer [O-1001]`.
pub fn tracking_tokens(subject: &str, numbering: &Numbering) -> Vec<RecordId> {
    subject
        .split('[')
        .skip(1)
        .filter_map(|part| part.split_once(']'))
        .filter_map(|(inside, _)| numbering.parse(inside).ok())
        .collect()
}

/// The record id in a plus-address: `sales+o-1001@example.com`.
pub fn plus_tag(email: &str, numbering: &Numbering) -> Option<RecordId> {
    let (local, _) = email.split_once('@')?;
    let (_, tag) = local.split_once('+')?;
    numbering.parse(tag).ok()
}

/// The subject with the record's token, unless it already carries it.
pub fn with_token(subject: &str, token: &str) -> String {
    if subject.contains(&format!("[{token}]")) {
        subject.to_string()
    } else {
        format!("{subject} [{token}]")
    }
}

/// Cuts quoted history: everything from a line such as `On ... wrote:`,
/// `Am ... schrieb ...:`, `-----Original Message-----`, `From: ...` after a
/// blank line, and trailing `>` quotes.
pub fn trim_quoted(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let lower = t.to_lowercase();
        let starts_quote = (lower.starts_with("on ") && lower.ends_with("wrote:"))
            || (lower.starts_with("am ") && lower.contains("schrieb") && lower.ends_with(':'))
            || lower.starts_with("-----original message")
            || lower.starts_with("-----ursprüngliche nachricht")
            || ((lower.starts_with("from:") || lower.starts_with("von:"))
                && i > 0
                && lines[i - 1].trim().is_empty());
        if starts_quote {
            end = i;
            break;
        }
    }
    while end > 0
        && (lines[end - 1].trim().is_empty() || lines[end - 1].trim_start().starts_with('>'))
    {
        end -= 1;
    }
    lines[..end].join("\n")
}

/// Cuts `text` to at most `max` bytes on a character boundary, saying so.
pub fn cap(text: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_string(), false);
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    (format!("{}\n[... cut at {max} bytes]", &text[..cut]), true)
}

/// Free-mail domains: never used to find an account by website domain.
pub const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "yahoo.de",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "gmx.de",
    "gmx.net",
    "gmx.com",
    "web.de",
    "t-online.de",
    "freenet.de",
    "posteo.de",
    "mailbox.org",
    "protonmail.com",
    "proton.me",
    "yandex.com",
    "mail.com",
    "zoho.com",
];

/// Where to look for the record a mail belongs on, in the order to look;
/// the first clue that finds a record wins ([`clues`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clue<'a> {
    /// It answers a mail of ours (In-Reply-To, then References newest
    /// first): that mail's record.
    Reply(&'a str),
    /// A tracking token in the subject (`[O-1001]`).
    Token(RecordId),
    /// A plus-address among the recipients (`sales+o-1001@...`).
    PlusAddress { id: RecordId, address: &'a str },
    /// An outside participant's address: that contact's open opportunity,
    /// else an open lead with that e-mail, else the contact.
    Address(&'a str),
    /// An outside participant's company domain (never a free-mail one):
    /// that account's open opportunity, else the account.
    Domain(&'a str),
}

/// The clues of `mail`, in the order they decide: replies, tokens,
/// plus-addresses, then the outside participants' addresses, then their
/// domains. `is_own` tells the team's own addresses, which never decide.
pub fn clues<'a>(
    mail: &'a IncomingMail,
    numbering: &Numbering,
    is_own: impl Fn(&str) -> bool,
) -> Vec<Clue<'a>> {
    let mut out: Vec<Clue> = mail
        .in_reply_to
        .iter()
        .chain(mail.references.iter().rev())
        .map(|id| Clue::Reply(id.as_str()))
        .collect();
    out.extend(
        tracking_tokens(&mail.subject, numbering)
            .into_iter()
            .map(|id| {
                Clue::Token(RecordId {
                    revision: None,
                    ..id
                })
            }),
    );
    out.extend(mail.to.iter().chain(&mail.cc).filter_map(|a| {
        plus_tag(&a.email, numbering).map(|id| Clue::PlusAddress {
            id: RecordId {
                revision: None,
                ..id
            },
            address: &a.email,
        })
    }));
    let outside: Vec<&MailAddress> = mail.participants().filter(|a| !is_own(&a.email)).collect();
    out.extend(outside.iter().map(|a| Clue::Address(&a.email)));
    out.extend(
        outside
            .iter()
            .map(|a| a.domain())
            .filter(|d| !d.is_empty() && !FREE_MAIL.contains(d))
            .map(Clue::Domain),
    );
    out
}

/// What a lead made from a mail says: the subject as its topic (or "Mail
/// enquiry from ..." when there is none), the sender's name split into
/// first and last, the sender's address, and the sender's company domain
/// as its website (never a free-mail domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadFromMail {
    pub topic: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: String,
    pub website: Option<String>,
}

/// The lead `mail` makes.
///
/// Fails for an automatic mail (auto-reply, bulk) or one without a sender;
/// `what` names the mail in the refusal.
pub fn lead_from(mail: &IncomingMail, what: &str) -> Result<LeadFromMail, super::Refusal> {
    if let Some(why) = &mail.automatic {
        return Err(super::Refusal::new(format!(
            "{what} is an automatic mail ({why}); it never makes a lead"
        )));
    }
    let Some(from) = &mail.from else {
        return Err(super::Refusal::new(format!(
            "{what} has no sender to make a lead of"
        )));
    };
    let subject = mail.subject.trim();
    let topic = if subject.is_empty() || subject == NO_SUBJECT {
        format!("Mail enquiry from {}", from.display())
    } else {
        mail.subject.clone()
    };
    let (first_name, last_name) = match from
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(name) => match name.rsplit_once(' ') {
            Some((f, l)) => (Some(f.to_string()), Some(l.to_string())),
            None => (None, Some(name.to_string())),
        },
        None => (None, None),
    };
    let domain = from.domain();
    Ok(LeadFromMail {
        topic,
        first_name,
        last_name,
        email: from.email.clone(),
        website: (!domain.is_empty() && !FREE_MAIL.contains(&domain)).then(|| domain.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_plus_addresses_name_records() {
        let n = Numbering::default();
        let ids = tracking_tokens("Re: AW: Your offer [Q-1001] [nonsense] [O-1002]", &n);
        assert_eq!(ids.len(), 2);
        assert_eq!(n.display(ids[1]), "O-1002");
        assert_eq!(
            plus_tag("sales+o-1001@example.com", &n).map(|i| n.display(i)),
            Some("O-1001".into())
        );
        assert!(plus_tag("sales@example.com", &n).is_none());
        assert_eq!(with_token("Offer [O-1001]", "O-1001"), "Offer [O-1001]");
    }

    #[test]
    fn quoted_history_is_trimmed_in_english_and_german() {
        let en = "Thanks, see you Friday.\n\nOn Mon, 30 Nov 2026 Maria wrote:\n> the offer\n";
        assert_eq!(trim_quoted(en), "Thanks, see you Friday.");
        let de = "Passt.\n\nAm 30.11.2026 um 10:00 schrieb Maria <m@x.example>:\n> Angebot\n";
        assert_eq!(trim_quoted(de), "Passt.");
        let outlook = "Yes.\n\nFrom: Maria\nSent: Monday\n";
        assert_eq!(trim_quoted(outlook), "Yes.");
        assert_eq!(trim_quoted("Only text"), "Only text");
    }

    #[test]
    fn capping_cuts_on_a_character_boundary() {
        let (t, cut) = cap("äöü", 3);
        assert!(cut && t.starts_with('ä') && !t.starts_with("äö"));
    }

    fn address(name: Option<&str>, email: &str) -> MailAddress {
        MailAddress {
            name: name.map(str::to_string),
            email: email.to_string(),
        }
    }

    fn a_mail() -> IncomingMail {
        IncomingMail {
            message_id: "m1@customer.example".into(),
            synthetic_id: false,
            in_reply_to: vec!["ours-1@example.com".into()],
            references: vec!["ours-0@example.com".into(), "ours-1@example.com".into()],
            from: Some(address(Some("Anna Maria Schmidt"), "anna@contoso.example")),
            to: vec![address(None, "sales+o-1002@example.com")],
            cc: vec![
                address(None, "ben@gmail.com"),
                address(None, "maria@example.com"),
            ],
            date: None,
            subject: "Re: Offer [Q-1001]".into(),
            text: "Yes".into(),
            attachments: vec![],
            automatic: None,
            problems: vec![],
        }
    }

    #[test]
    fn clues_come_in_the_order_they_decide() {
        let numbering = crate::domain::Rules::default().numbering;
        let mail = a_mail();
        let own = |e: &str| e.ends_with("@example.com");
        let shown: Vec<String> = clues(&mail, &numbering, own)
            .into_iter()
            .map(|c| match c {
                Clue::Reply(id) => format!("reply {id}"),
                Clue::Token(id) => format!("token {}", numbering.display(id)),
                Clue::PlusAddress { id, .. } => format!("plus {}", numbering.display(id)),
                Clue::Address(a) => format!("address {a}"),
                Clue::Domain(d) => format!("domain {d}"),
            })
            .collect();
        assert_eq!(
            shown,
            [
                "reply ours-1@example.com",
                "reply ours-1@example.com",
                "reply ours-0@example.com",
                "token Q-1001",
                "plus O-1002",
                "address anna@contoso.example",
                "address ben@gmail.com",
                "domain contoso.example",
            ]
        );
    }

    #[test]
    fn a_lead_from_a_mail_takes_the_sender_and_never_a_free_mail_domain() {
        let mut mail = a_mail();
        let lead = lead_from(&mail, "mail #1").expect("a lead");
        assert_eq!(lead.topic, "Re: Offer [Q-1001]");
        assert_eq!(lead.first_name.as_deref(), Some("Anna Maria"));
        assert_eq!(lead.last_name.as_deref(), Some("Schmidt"));
        assert_eq!(lead.website.as_deref(), Some("contoso.example"));
        mail.subject = String::new();
        mail.from = Some(address(None, "ben@gmail.com"));
        let lead = lead_from(&mail, "mail #1").expect("a lead");
        assert_eq!(lead.topic, "Mail enquiry from ben@gmail.com");
        assert_eq!(
            (lead.first_name, lead.last_name, lead.website),
            (None, None, None)
        );
        mail.automatic = Some("auto-reply".into());
        let refused = lead_from(&mail, "mail #1").expect_err("refused");
        assert!(refused.to_string().contains("automatic"), "{refused}");
        mail.automatic = None;
        mail.from = None;
        assert!(lead_from(&mail, "mail #1").is_err());
    }
}
