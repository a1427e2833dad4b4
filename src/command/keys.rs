//! The key layout, all of it: records, numbers, history, lookups,
//! indexes, search words, queues, the mail inbox, the scheduler's marks
//! and the store's own meta keys. Numbers are zero-padded so key order is
//! number order. No other module formats a key.

use crate::domain::Kind;

/// The schema version key.
pub const SCHEMA: &[u8] = b"meta/schema";

/// Set while a backup is being restored into the store: a store whose
/// restore was cut short must not open as if it were whole.
pub const RESTORING: &[u8] = b"meta/restoring";

/// The store's redo journal: the writes of the command being committed.
pub const JOURNAL: &[u8] = b"meta/journal";

/// A record: `r/lead/00000000000000001001`; quotes add `/000002`.
pub fn record(kind: Kind, number: u64, revision: Option<u32>) -> Vec<u8> {
    match revision {
        Some(r) => format!("r/{}/{number:020}/{r:06}", kind.name()).into_bytes(),
        None => format!("r/{}/{number:020}", kind.name()).into_bytes(),
    }
}

/// The prefix of all records of a kind.
pub fn records(kind: Kind) -> Vec<u8> {
    format!("r/{}/", kind.name()).into_bytes()
}

/// The latest revision of a quote.
pub fn latest_revision(number: u64) -> Vec<u8> {
    format!("qrev/{number:020}").into_bytes()
}

/// The last number handed out for a kind.
pub fn sequence(kind: &str) -> Vec<u8> {
    format!("seq/{kind}").into_bytes()
}

/// The prefix of every product.
pub const PRODUCTS: &[u8] = b"p/";

/// The prefix of every record's history.
pub const HISTORY: &[u8] = b"h/";

/// A product by SKU.
pub fn product(sku: &str) -> Vec<u8> {
    format!("p/{sku}").into_bytes()
}

/// The history of one record (all revisions of a quote share one).
pub fn history(subject: &str) -> Vec<u8> {
    format!("h/{subject}/").into_bytes()
}

/// A unique lookup, e.g. `u/contact_email/anna@contoso.example`.
pub fn unique(what: &str, value: &str) -> Vec<u8> {
    format!("u/{what}/{value}").into_bytes()
}

/// The key of a record's [`crate::domain::Lookup`]: `u/WHAT/PART/PART`, numbers
/// zero-padded so key order is number order
/// (`u/opp_contact/00000000000000001001/00000000000000001002`).
pub fn lookup(l: &crate::domain::Lookup) -> Vec<u8> {
    use crate::domain::Part;
    use std::fmt::Write;
    let mut key = format!("u/{}/", l.what);
    for (i, part) in l.parts.iter().enumerate() {
        if i > 0 {
            key.push('/');
        }
        let _ = match part {
            Part::Text(t) => write!(key, "{t}"),
            Part::Number(n) => write!(key, "{n:020}"),
        };
    }
    key.into_bytes()
}

/// The one-byte codes of the kinds in search keys, and `p` for products.
const SEARCH_KINDS: [(&str, u8); 8] = [
    ("lead", b'l'),
    ("contact", b'c'),
    ("account", b'a'),
    ("opportunity", b'o'),
    ("quote", b'q'),
    ("order", b'r'),
    ("invoice", b'i'),
    ("product", b'p'),
];

/// A search word of a record, kept short because every record has
/// several: `s/` WORD `\0` KIND-CODE ID, the number as 8 bytes (a
/// product's SKU as it is). `ident` is the zero-padded number or SKU.
pub fn search_word(word: &str, kind: &str, ident: &str) -> Vec<u8> {
    let code = SEARCH_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(b'?', |(_, c)| *c);
    let mut k = Vec::with_capacity(word.len() + 12);
    k.extend_from_slice(b"s/");
    k.extend_from_slice(word.as_bytes());
    k.push(0);
    k.push(code);
    match ident.parse::<u64>() {
        Ok(n) if code != b'p' => k.extend_from_slice(&n.to_be_bytes()),
        _ => k.extend_from_slice(ident.as_bytes()),
    }
    k
}

/// The kind name and identity (zero-padded number or SKU) a key made by
/// [`search_word`] names.
pub fn parse_search_word(key: &[u8]) -> Option<(&'static str, String)> {
    let rest = key.strip_prefix(b"s/")?;
    let at = rest.iter().position(|b| *b == 0)?;
    let (&code, ident) = rest.get(at + 1..)?.split_first()?;
    let kind = SEARCH_KINDS.iter().find(|(_, c)| *c == code)?.0;
    let ident = if code == b'p' {
        String::from_utf8(ident.to_vec()).ok()?
    } else {
        format!("{:020}", u64::from_be_bytes(ident.try_into().ok()?))
    };
    Some((kind, ident))
}

/// Where the search words starting with `prefix` are.
pub fn search_prefix(prefix: &str) -> Vec<u8> {
    format!("s/{prefix}").into_bytes()
}

/// The prefix of all leads with this e-mail.
pub fn lead_email(email: &str) -> Vec<u8> {
    format!("u/lead_email/{}/", email.to_lowercase()).into_bytes()
}

/// The index of a kind's records in one state of one owner:
/// `i/lead/so/open/maria/`. It is the only index: a state's records
/// are those of each of its owners' ranges, an owner's those of each
/// state's (see [`state_owner_base`]).
pub fn index(kind: Kind, state: &str, owner: &str) -> Vec<u8> {
    let mut k = state_base(kind, state);
    k.extend_from_slice(format!("{}/", owner_key(owner)).as_bytes());
    k
}

/// Where one state's ranges of the index start: `i/lead/so/open/`.
pub fn state_base(kind: Kind, state: &str) -> Vec<u8> {
    let mut k = state_owner_base(kind);
    k.extend_from_slice(format!("{state}/").as_bytes());
    k
}

/// Where the state-and-owner index of a kind starts: `i/lead/so/`.
pub fn state_owner_base(kind: Kind) -> Vec<u8> {
    format!("i/{}/so/", kind.name()).into_bytes()
}

/// The owner-only and state-only indexes that schema 1 also kept
/// (`i/lead/o/maria/...`, `i/lead/s/open/...`); the upgrade to schema 2
/// removes them.
pub fn schema1_indexes(kind: Kind) -> [Vec<u8>; 2] {
    let k = kind.name();
    [
        format!("i/{k}/o/").into_bytes(),
        format!("i/{k}/s/").into_bytes(),
    ]
}

/// An owner name as it appears in keys.
pub fn owner_key(owner: &str) -> String {
    owner.to_lowercase().replace('/', "_")
}

/// What the scheduler watches of one record.
pub fn watch_item(kind: Kind, number: u64) -> Vec<u8> {
    format!("w/item/{}/{number:020}", kind.name()).into_bytes()
}

/// A moment as it sorts in keys: UTC, fixed width.
pub fn moment(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y%m%dT%H%M%S%.6fZ").to_string()
}

/// Watched items not yet announced as overdue, by when they become so.
pub const PENDING: &[u8] = b"w/pending/";

/// Every watched item, by when it becomes overdue.
pub const DUE: &[u8] = b"w/due/";

/// One owner's watched items, by when they become overdue.
pub fn owner_due(owner: &str) -> Vec<u8> {
    format!("w/owner/{}/", owner_key(owner)).into_bytes()
}

/// The suffix identifying one record inside an index.
pub fn entry(number: u64, revision: Option<u32>) -> String {
    match revision {
        Some(r) => format!("{number:020}/{r:06}"),
        None => format!("{number:020}"),
    }
}

/// Every lookup `what` listing records under record `owner` (an account's
/// records, a contact's open opportunities): the prefix of
/// [`lookup`]`(Lookup::under(what, owner, _))`.
pub fn lookups_under(what: &str, owner: u64) -> Vec<u8> {
    unique(what, &format!("{owner:020}/"))
}

/// The activities on a record's timeline: the prefix of their `timeline`
/// lookups.
pub fn timeline(id: crate::domain::RecordId) -> Vec<u8> {
    unique(
        "timeline",
        &format!("{}/{:020}/", id.kind.name(), id.number),
    )
}

/// A record's number in search keys and other places where it stands for
/// the record: zero-padded.
pub fn number(n: u64) -> String {
    format!("{n:020}")
}

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
pub fn digest_sent(owner: &str, day: chrono::NaiveDate) -> Vec<u8> {
    format!("meta/digest/{}/{day}", owner_key(owner)).into_bytes()
}

/// When a scheduler job last ran.
pub fn job(name: &str) -> Vec<u8> {
    format!("meta/job/{name}").into_bytes()
}

/// A fetched mail by its Message-ID.
pub fn message_id(id: &str) -> Vec<u8> {
    format!("u/mail_id/{id}").into_bytes()
}

/// A fetched mail by where it was fetched from.
pub fn mail_source(account: &str, folder: &str, uid_validity: u32, uid: u32) -> Vec<u8> {
    format!("u/mail_uid/{account}/{folder}/{uid_validity}/{uid:010}").into_bytes()
}

/// The prefix of the unmatched inbox.
pub const INBOX: &[u8] = b"m/inbox/";

/// One unmatched mail.
pub fn inbox(n: u64) -> Vec<u8> {
    format!("m/inbox/{n:020}").into_bytes()
}

/// Where a watch item sorts among the others: its moment, kind, number.
pub fn watch_suffix(at: chrono::DateTime<chrono::Utc>, kind: Kind, number: u64) -> String {
    format!("{}/{}/{number:020}", moment(at), kind.name())
}

/// The history subject of a record (all revisions of a quote share one).
pub fn history_subject(kind: Kind, number: u64) -> String {
    format!("{}/{number:020}", kind.name())
}

/// History entry `seq` of `subject`.
pub fn history_entry(subject: &str, seq: u64) -> Vec<u8> {
    let mut key = history(subject);
    key.extend_from_slice(format!("{seq:020}").as_bytes());
    key
}

/// Which report sums the store holds: their version and the time zone
/// their days are counted in (see [`crate::command::facts`]).
pub const FACTS_BUILT: &[u8] = b"meta/facts";

/// The prefix of every report sum (a cell).
pub const CELLS: &[u8] = b"a/";

/// One report sum: `a/pipe/EUR/maria/2027-03/2 develop`.
pub fn cell(key: &str) -> Vec<u8> {
    format!("a/{key}").into_bytes()
}

/// The prefix of every record's part in the report sums.
pub const FACTS: &[u8] = b"f/";

/// What one record adds to the report sums, kept to take it back.
pub fn facts(kind: Kind, number: u64) -> Vec<u8> {
    format!("f/{}/{number:020}", kind.name()).into_bytes()
}

/// Sign-in links for the web view, by the digest of their secret.
pub const WEB_LINKS: &[u8] = b"web/link/";

/// The sign-in link whose secret has `digest`.
pub fn web_link(digest: &str) -> Vec<u8> {
    format!("web/link/{digest}").into_bytes()
}

/// API tokens, by the digest of their secret.
pub const API_TOKENS: &[u8] = b"web/token/";

/// The API token whose secret has `digest`.
pub fn api_token(digest: &str) -> Vec<u8> {
    format!("web/token/{digest}").into_bytes()
}

/// The digest of API token number `n` (to revoke it by number).
pub fn api_token_number(n: u64) -> Vec<u8> {
    format!("web/token-number/{n:020}").into_bytes()
}
