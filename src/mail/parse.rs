//! Raw message -> [`IncomingMail`], for any bytes at all: a part that does
//! not decode is flagged, never fatal; a message that is not MIME still
//! becomes a mail (with its raw text) so that nothing is lost.
//!
//! - Every text part is kept, in order (Apple Mail puts text after an
//!   inline image); HTML becomes text through `html2text`, which knows
//!   blocks, lists and tables and leaves out what CSS hides (preheaders).
//! - Charsets are decoded by mail-parser (with `full_encoding`: ISO-2022-JP,
//!   Shift_JIS, GBK, Big5, EUC-KR ...). Raw 8-bit headers and 8-bit text
//!   that does not match its label are decoded by a best guess
//!   (`chardetng`) and noted, never silently garbled.
//! - A mail without Message-ID is known by a hash of all of its bytes, so
//!   two different mails (two scans titled "Scan") are never one.

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
    if m.header_raw("List-Id").is_some()
        || m.header_raw("List-Unsubscribe").is_some()
        || m.header_raw("List-Post").is_some()
    {
        return Some("mailing list".to_string());
    }
    // Bounces: a delivery report, or the mail system as the sender.
    let ct = m.content_type();
    let ctype = |t: &str, sub: &str| {
        ct.is_some_and(|c| {
            c.ctype().eq_ignore_ascii_case(t)
                && c.subtype().is_some_and(|s| s.eq_ignore_ascii_case(sub))
        })
    };
    if ctype("multipart", "report") {
        return Some("delivery report (bounce)".to_string());
    }
    if ctype("multipart", "digest") {
        return Some("mailing list digest".to_string());
    }
    let from = m.from().and_then(|a| a.first());
    let sender = from
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_lowercase();
    let name = from
        .and_then(|a| a.name())
        .unwrap_or_default()
        .to_lowercase();
    let local = sender.split('@').next().unwrap_or_default();
    if matches!(local, "mailer-daemon" | "postmaster")
        || name.contains("mail delivery")
        || name.contains("mailer-daemon")
    {
        return Some(format!("delivery report (bounce) from {sender}"));
    }
    if header_text(m, "Return-Path").is_some_and(|v| v == "<>") {
        return Some("delivery report (empty Return-Path)".to_string());
    }
    None
}

/// The raw bytes of the top-level header `name`, if any.
fn raw_header<'a>(m: &Message<'_>, raw: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let h = m
        .parts
        .first()?
        .headers
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case(name))?;
    raw.get(h.offset_start as usize..h.offset_end as usize)
}

/// `bytes` decoded by a best guess: (text, the encoding guessed).
fn guess_decode(bytes: &[u8]) -> (String, &'static str) {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    detector.feed(bytes, true);
    let encoding = detector.guess(None, chardetng::Utf8Detection::Allow);
    let (text, _, _) = encoding.decode(bytes);
    (text.into_owned(), encoding.name())
}

/// HTML as text: blocks, list items and table cells on lines of their own;
/// what CSS hides (`display:none` preheaders) left out.
pub fn html_to_text(html: &str) -> String {
    html2text::config::plain()
        .use_doc_css()
        .link_footnotes(false)
        .string_from_read(html.as_bytes(), 100)
        .unwrap_or_else(|_| html.to_string())
}

/// The text of every text part, in order, with what was odd about them.
fn body_texts(m: &Message<'_>, raw: &[u8], problems: &mut Vec<String>) -> String {
    let mut texts: Vec<String> = Vec::new();
    let ids: Vec<u32> = if m.text_body.is_empty() {
        m.html_body.clone()
    } else {
        m.text_body.clone()
    };
    for id in ids {
        let Some(part) = m.parts.get(id as usize) else {
            continue;
        };
        let mut text = match &part.body {
            mail_parser::PartType::Html(h) => html_to_text(h),
            mail_parser::PartType::Text(t) => t.to_string(),
            _ => continue,
        };
        if text.contains('\u{fffd}') || part.is_encoding_problem {
            let label = part
                .content_type()
                .and_then(|c| c.attribute("charset"))
                .unwrap_or("none")
                .to_string();
            let bytes = raw
                .get(part.offset_body as usize..part.offset_end as usize)
                .unwrap_or_default();
            if matches!(part.encoding, mail_parser::Encoding::None) && !bytes.is_ascii() {
                let (guessed, name) = guess_decode(bytes);
                text = match &part.body {
                    mail_parser::PartType::Html(_) => html_to_text(&guessed),
                    _ => guessed,
                };
                problems.push(format!(
                    "the text is not in its declared charset ({label}); read as {name}, a best guess"
                ));
            } else {
                problems.push(format!(
                    "some characters of the text do not decode in its declared charset ({label})"
                ));
            }
        }
        texts.push(text);
    }
    // A text part without a subtype, or a multipart without a boundary, is
    // text all the same, not an unnamed attachment.
    for id in &m.attachments {
        let Some(part) = m.parts.get(*id as usize) else {
            continue;
        };
        if part.attachment_name().is_some() {
            continue;
        }
        let ct = part.content_type();
        let no_subtype_text =
            ct.is_some_and(|c| c.ctype().eq_ignore_ascii_case("text") && c.subtype().is_none());
        let unsplit_multipart = ct.is_some_and(|c| c.ctype().eq_ignore_ascii_case("multipart"));
        if no_subtype_text || unsplit_multipart {
            let bytes = part.contents();
            let text = match std::str::from_utf8(bytes) {
                Ok(t) => t.to_string(),
                Err(_) => guess_decode(bytes).0,
            };
            problems.push(if no_subtype_text {
                "a part is typed \"text\" with no subtype; read as plain text".to_string()
            } else {
                "a multipart part has no boundary; its content is kept as text".to_string()
            });
            texts.push(text);
        }
    }
    texts.join("\n\n")
}

/// Whether a part became text in [`body_texts`] rather than an attachment.
fn read_as_text(part: &mail_parser::MessagePart<'_>) -> bool {
    part.attachment_name().is_none()
        && part.content_type().is_some_and(|c| {
            (c.ctype().eq_ignore_ascii_case("text") && c.subtype().is_none())
                || c.ctype().eq_ignore_ascii_case("multipart")
        })
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
    let mut subject = m
        .subject()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| crate::domain::mail::NO_SUBJECT.to_string());
    if let Some(bytes) = raw_header(&m, raw, "Subject").filter(|b| std::str::from_utf8(b).is_err())
    {
        let (guessed, name) = guess_decode(bytes);
        subject = guessed.split_whitespace().collect::<Vec<_>>().join(" ");
        problems.push(format!(
            "the subject has raw 8-bit bytes; read as {name}, a best guess"
        ));
    }
    let body = body_texts(&m, raw, &mut problems);
    if m.text_body_count() == 0 && m.html_body_count() == 0 && body.is_empty() {
        problems.push("no text body".to_string());
    }
    let body = body.replace("\r\n", "\n");
    let (text, was_cut) = cap(trim_quoted(&body).trim(), max_body);
    if was_cut {
        problems.push(format!("the text was cut at {max_body} bytes"));
    }
    let attachments: Vec<Attachment> = m
        .attachments()
        .filter(|p| !read_as_text(p))
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
            // Everything that tells two mails apart: all headers, the
            // body, every attachment.
            problems.push("no Message-ID; identified by a hash of the whole message".to_string());
            (synthetic_id(&[raw]), true)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(headers: &str, body: &[u8]) -> Vec<u8> {
        let mut m = format!("From: Anna <anna@contoso.example>\r\nTo: sales@example.com\r\nDate: Tue, 01 Dec 2026 09:00:00 +0100\r\n{headers}\r\n\r\n").into_bytes();
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn two_different_mails_without_message_id_are_never_one() {
        let scan = |pdf: &str| {
            mail(
                "Subject: Scan\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"",
                format!("--B\r\nContent-Type: text/plain\r\n\r\nScan\r\n--B\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n--B--\r\n").as_bytes(),
            )
        };
        let a = parse(&scan("QUFB"), 1 << 20);
        let b = parse(&scan("QkJC"), 1 << 20);
        assert!(a.synthetic_id && b.synthetic_id);
        assert_ne!(a.message_id, b.message_id);
        // The same mail fetched again keeps its key.
        assert_eq!(a.message_id, parse(&scan("QUFB"), 1 << 20).message_id);
    }

    #[test]
    fn east_asian_charsets_are_decoded() {
        let cases: [(&str, &[u8], &str); 7] = [
            ("ISO-2022-JP", b"\x1b$B$3$s$K$A$O\x1b(B", "こんにちは"),
            ("Shift_JIS", b"\x93\xfa\x96\x7b", "日本"),
            ("EUC-JP", b"\xc6\xfc\xcb\xdc", "日本"),
            ("GB2312", b"\xd6\xd0\xce\xc4", "中文"),
            ("GBK", b"\xd6\xd0\xce\xc4", "中文"),
            ("Big5", b"\xa4\xa4\xa4\xe5", "中文"),
            ("EUC-KR", b"\xc7\xd1\xb1\xb9", "한국"),
        ];
        for (charset, bytes, want) in cases {
            let m = parse(
                &mail(
                    &format!("Subject: Hi\r\nMessage-ID: <c@x>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit"),
                    bytes,
                ),
                1 << 20,
            );
            assert_eq!(m.text, want, "{charset}: {:?}", m.problems);
            assert!(m.problems.is_empty(), "{charset}: {:?}", m.problems);
        }
        let m = parse(
            &mail(
                "Subject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\r\nMessage-ID: <j@x>",
                b"x",
            ),
            1 << 20,
        );
        assert_eq!(m.subject, "こんにちは");
    }

    #[test]
    fn raw_8bit_headers_and_mislabelled_text_are_decoded_by_a_guess_with_a_note() {
        let m = parse(
            &mail(
                "Subject: Angebot B\u{fc}rost\u{fc}hle f\u{fc}r M\u{fc}ller\r\nMessage-ID: <l@x>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit",
                b"Gr\xfc\xdfe aus K\xf6ln, die Preise f\xfcr B\xfcrost\xfchle",
            )
            .iter()
            // The subject as raw Latin-1 bytes, as a broken client sends it.
            .flat_map(|b| [*b])
            .collect::<Vec<u8>>()
            .replace_utf8_with_latin1(),
            1 << 20,
        );
        assert_eq!(
            m.subject, "Angebot Bürostühle für Müller",
            "{:?}",
            m.problems
        );
        assert_eq!(m.text, "Grüße aus Köln, die Preise für Bürostühle");
        assert!(
            m.problems
                .iter()
                .any(|p| p.contains("subject has raw 8-bit")),
            "{:?}",
            m.problems
        );
        assert!(
            m.problems
                .iter()
                .any(|p| p.contains("not in its declared charset (utf-8)")),
            "{:?}",
            m.problems
        );
    }

    trait Latin1 {
        fn replace_utf8_with_latin1(self) -> Vec<u8>;
    }

    impl Latin1 for Vec<u8> {
        /// The header part re-encoded as Latin-1 (the body already is).
        fn replace_utf8_with_latin1(self) -> Vec<u8> {
            let split = self.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0);
            let (head, body) = self.split_at(split);
            let head = String::from_utf8_lossy(head);
            let mut out: Vec<u8> = head.chars().map(|c| c as u32 as u8).collect();
            out.extend_from_slice(body);
            out
        }
    }

    #[test]
    fn text_after_an_inline_image_is_kept() {
        let m = parse(
            &mail(
                "Subject: Photo\r\nMessage-ID: <p@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"",
                b"--B\r\nContent-Type: text/plain\r\n\r\nHere is the room:\r\n--B\r\nContent-Type: image/png; name=\"room.png\"\r\nContent-Disposition: inline; filename=\"room.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--B\r\nContent-Type: text/plain\r\n\r\nWe need 12 chairs for it.\r\n--B--\r\n",
            ),
            1 << 20,
        );
        assert!(
            m.text.contains("Here is the room:") && m.text.contains("We need 12 chairs for it."),
            "{}",
            m.text
        );
        assert_eq!(m.attachments.len(), 1);
    }

    #[test]
    fn html_only_mail_keeps_cells_and_items_apart_and_hides_what_css_hides() {
        let html = "<html><body><div style=\"display:none\">Preheader: 50% off everything</div>\
            <p>Our order:</p><ul><li>Chairs</li><li>Desks</li></ul>\
            <table><tr><td>Chair</td><td>199,99</td></tr><tr><td>Desk</td><td>499,00</td></tr></table></body></html>";
        let m = parse(
            &mail(
                "Subject: Order\r\nMessage-ID: <h@x>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8",
                html.as_bytes(),
            ),
            1 << 20,
        );
        assert!(!m.text.contains("Preheader"), "{}", m.text);
        assert!(!m.text.contains("ChairsDesks"), "{}", m.text);
        assert!(!m.text.contains("Chair199"), "{}", m.text);
        let lines: Vec<&str> = m.text.lines().map(str::trim).collect();
        assert!(lines.iter().any(|l| l.ends_with("Chairs")), "{}", m.text);
        assert!(
            lines
                .iter()
                .any(|l| l.contains("Chair") && l.contains("199,99")),
            "{}",
            m.text
        );
    }

    #[test]
    fn bounces_and_list_mail_are_automatic() {
        let bounce = parse(
            &mail(
                "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"",
                b"--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n--B--\r\n",
            ),
            1 << 20,
        );
        assert!(bounce.automatic.is_some());
        let daemon = parse(
            b"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\nTo: sales@example.com\r\nSubject: Delivery Status Notification (Failure)\r\nMessage-ID: <d@x>\r\n\r\nAddress not found",
            1 << 20,
        );
        assert!(
            daemon
                .automatic
                .as_deref()
                .is_some_and(|a| a.contains("bounce")),
            "{:?}",
            daemon.automatic
        );
        let list = parse(
            &mail(
                "Subject: Weekly\r\nMessage-ID: <w@x>\r\nList-Post: <mailto:news@x.example>",
                b"news",
            ),
            1 << 20,
        );
        assert!(list.automatic.is_some());
        let digest = parse(
            &mail(
                "Subject: Digest\r\nMessage-ID: <g@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/digest; boundary=\"B\"",
                b"--B\r\n\r\nFrom: x@y.example\r\nSubject: one\r\n\r\nhi\r\n--B--\r\n",
            ),
            1 << 20,
        );
        assert!(digest.automatic.is_some());
        let person = parse(&mail("Subject: Hello\r\nMessage-ID: <o@x>", b"hi"), 1 << 20);
        assert_eq!(person.automatic, None);
    }

    #[test]
    fn text_without_a_subtype_or_a_multipart_without_boundary_is_text() {
        let m = parse(
            &mail(
                "Subject: Odd\r\nMessage-ID: <t@x>\r\nMIME-Version: 1.0\r\nContent-Type: text",
                b"Please call me back.",
            ),
            1 << 20,
        );
        assert_eq!(m.text, "Please call me back.", "{:?}", m.attachments);
        assert!(m.attachments.is_empty(), "{:?}", m.attachments);
        let m = parse(
            &mail("Subject: Odd\r\nMessage-ID: <u@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed", b"Please call me back too."),
            1 << 20,
        );
        assert!(
            m.text.contains("Please call me back too."),
            "{} {:?}",
            m.text,
            m.attachments
        );
        assert!(m.attachments.is_empty(), "{:?}", m.attachments);
    }
}
