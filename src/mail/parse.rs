//! Raw message -> [`IncomingMail`], for any bytes at all: a part that does
//! not decode is flagged, never fatal; a message that is not MIME still
//! becomes a mail (with its raw text) so that nothing is lost.

use chrono::{DateTime, Utc};
use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use crate::domain::mail::{cap, trim_quoted, Attachment, IncomingMail, MailAddress};

fn addresses(a: Option<&Address<'_>>) -> Vec<MailAddress> {
    a.map(|a| {
        a.iter()
            .filter_map(|x| {
                let email = x.address()?.trim().to_lowercase();
                email.contains('@').then(|| MailAddress {
                    name: x
                        .name()
                        .map(|n| n.trim().to_string())
                        .filter(|n| !n.is_empty()),
                    email,
                })
            })
            .collect()
    })
    .unwrap_or_default()
}

fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.trim().trim_matches(['<', '>']).to_string()],
        HeaderValue::TextList(l) => l
            .iter()
            .map(|t| t.trim().trim_matches(['<', '>']).to_string())
            .collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect()
}

fn header_text(m: &Message<'_>, name: &str) -> Option<String> {
    m.header_raw(name).map(|v| v.trim().to_lowercase())
}

/// Why a mail is automatic (RFC 3834 and the common conventions), if it is.
fn automatic(m: &Message<'_>) -> Option<String> {
    if let Some(v) = header_text(m, "Auto-Submitted") {
        if v != "no" {
            return Some(format!("Auto-Submitted: {v}"));
        }
    }
    if let Some(v) = header_text(m, "Precedence") {
        if matches!(v.as_str(), "bulk" | "list" | "junk") {
            return Some(format!("Precedence: {v}"));
        }
    }
    for h in ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"] {
        if let Some(v) = header_text(m, h) {
            if h != "X-Auto-Response-Suppress" || v.contains("all") || v.contains("oof") {
                return Some(format!("{h}: {v}"));
            }
        }
    }
    if m.header_raw("List-Id").is_some() || m.header_raw("List-Unsubscribe").is_some() {
        return Some("mailing list".to_string());
    }
    None
}

fn synthetic_id(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
        h.update([0]);
    }
    let hex: String = h
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256.{hex}@leadline")
}

/// Parses raw message bytes; `max_body` caps the kept text in bytes.
pub fn parse(raw: &[u8], max_body: usize) -> IncomingMail {
    let Some(m) = MessageParser::default().parse(raw) else {
        let text = String::from_utf8_lossy(&raw[..raw.len().min(max_body)]).to_string();
        return IncomingMail {
            message_id: synthetic_id(&[raw]),
            synthetic_id: true,
            in_reply_to: Vec::new(),
            references: Vec::new(),
            from: None,
            to: Vec::new(),
            cc: Vec::new(),
            date: None,
            subject: "(unreadable mail)".to_string(),
            text,
            attachments: Vec::new(),
            automatic: None,
            problems: vec![
                "the message is not readable as a mail; its raw text is kept".to_string(),
            ],
        };
    };
    let mut problems = Vec::new();
    let from = addresses(m.from()).into_iter().next();
    if from.is_none() {
        problems.push("no readable sender (From)".to_string());
    }
    let date: Option<DateTime<Utc>> = m
        .date()
        .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0));
    if date.is_none() {
        problems.push("no readable date".to_string());
    }
    let subject = m
        .subject()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "(no subject)".to_string());
    let body = m.body_text(0).map(|t| t.to_string()).unwrap_or_default();
    if m.text_body_count() == 0 && m.html_body_count() == 0 {
        problems.push("no text body".to_string());
    }
    let body = body.replace("\r\n", "\n");
    let (text, was_cut) = cap(trim_quoted(&body).trim(), max_body);
    if was_cut {
        problems.push(format!("the text was cut at {max_body} bytes"));
    }
    let attachments: Vec<Attachment> = m
        .attachments()
        .map(|p| Attachment {
            name: p.attachment_name().unwrap_or("(unnamed)").to_string(),
            size: p.len(),
        })
        .collect();
    let (message_id, synthetic) = match m
        .message_id()
        .map(|i| i.trim().trim_matches(['<', '>']).to_string())
        .filter(|i| !i.is_empty())
    {
        Some(id) => (id, false),
        None => {
            problems.push(
                "no Message-ID; identified by a hash of sender, date, subject and body".to_string(),
            );
            let sender = from.as_ref().map(|f| f.email.clone()).unwrap_or_default();
            let when = date.map(|d| d.to_rfc3339()).unwrap_or_default();
            (
                synthetic_id(&[
                    sender.as_bytes(),
                    when.as_bytes(),
                    subject.as_bytes(),
                    body.as_bytes(),
                ]),
                true,
            )
        }
    };
    IncomingMail {
        message_id,
        synthetic_id: synthetic,
        in_reply_to: ids(m.in_reply_to()),
        references: ids(m.references()),
        from,
        to: addresses(m.to()),
        cc: addresses(m.cc()),
        date,
        subject,
        text,
        attachments,
        automatic: automatic(&m),
        problems,
    }
}
