//! The workflow core: records, their states, the transitions between them,
//! money and ids.
//!
//! Everything here is pure: no clock (callers pass `now`), no storage, no
//! network. A transition takes the records it needs and its input, and
//! returns the changed records or a [`Refusal`] a person can read. Adapters
//! (store, command language, chat, mail) are built around this module and
//! never re-implement a rule.

pub mod activity;
pub mod fields;
pub mod ids;
pub mod invoice;
pub mod language;
pub mod lead;
pub mod lines;
pub mod mail;
pub mod money;
pub mod opportunity;
pub mod order;
pub mod outbox;
pub mod party;
pub mod product;
pub mod quote;
pub mod refusal;
pub mod rules;
pub mod schedule;
pub mod search;
#[cfg(test)]
mod table;
pub mod vat;

pub use ids::{Kind, RecordId};
pub use money::Currency;
pub use refusal::Refusal;
pub use rules::Rules;

/// The closing details every closing step shares: a status reason checked
/// against the configured list, the date it happened and an optional note.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Closing {
    /// The status reason, spelled as in the configuration.
    pub reason: String,
    /// The date the step happened (the team's local date).
    pub date: chrono::NaiveDate,
    /// Free text the user gave, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What a user gave for a closing step, before the reason is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosingInput {
    pub reason: Option<String>,
    pub date: chrono::NaiveDate,
    pub description: Option<String>,
}

impl ClosingInput {
    /// The closing, with the reason checked against the configured list of `step`.
    ///
    /// Fails when the reason is missing or not allowed.
    pub fn check(&self, rules: &Rules, step: rules::Step) -> Result<Closing, Refusal> {
        Ok(Closing {
            reason: rules.reason(step, self.reason.as_deref())?,
            date: self.date,
            description: self.description.clone(),
        })
    }
}

/// What every stored record can say about itself, for storage keys, indexes
/// and list lines.
pub trait Record: serde::Serialize + serde::de::DeserializeOwned + Clone {
    /// The record's kind.
    const KIND: Kind;
    /// Whether `list` filters this kind by state and owner (through
    /// indexes). Activities are not: there are many, and the timeline,
    /// agenda and overdue views reach them through their own indexes.
    const LISTED: bool = true;
    /// Its number (for quotes, the quote number shared by all revisions).
    fn number(&self) -> u64;
    /// Its revision: quotes only.
    fn revision(&self) -> Option<u32> {
        None
    }
    /// Its state in one word (`open`, `qualified`, `active`...), the key of
    /// the state index.
    fn state_name(&self) -> &'static str;
    /// The team member who owns it.
    fn owner(&self) -> &str;
    /// A short title for list lines.
    fn title(&self) -> String;
    /// Lookup keys `(what, value)` that find this record: a contact by
    /// e-mail, an account by name or website domain, leads by e-mail.
    fn lookups(&self) -> Vec<Lookup> {
        Vec::new()
    }
    /// The words `/find` finds it by ([`search::terms`]): names, company,
    /// e-mail, phone, city, topic.
    fn search_terms(&self) -> Vec<String> {
        Vec::new()
    }
    /// When the scheduler should flag this record as overdue: an open
    /// activity's due time, an open lead's or opportunity's follow-up date.
    fn watch(&self) -> Option<activity::Due> {
        None
    }
    /// The record's id.
    fn id(&self) -> RecordId {
        RecordId {
            kind: Self::KIND,
            number: self.number(),
            revision: self.revision(),
        }
    }
    /// The record as one of any kind.
    fn into_any(self) -> AnyRecord;
}

/// A record of any kind: what an outcome names when its kind is known only
/// at run time (`/edit`, `/show`, a line change). Serialized as the record.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum AnyRecord {
    Lead(lead::Lead),
    Contact(party::Contact),
    Account(party::Account),
    Opportunity(opportunity::Opportunity),
    Quote(quote::Quote),
    Order(order::Order),
    Invoice(invoice::Invoice),
    Activity(activity::Activity),
}

/// `$body` with `$r` bound to the record inside `$any`, whatever its kind.
macro_rules! each_kind {
    ($any:expr, $r:ident => $body:expr) => {
        match $any {
            AnyRecord::Lead($r) => $body,
            AnyRecord::Contact($r) => $body,
            AnyRecord::Account($r) => $body,
            AnyRecord::Opportunity($r) => $body,
            AnyRecord::Quote($r) => $body,
            AnyRecord::Order($r) => $body,
            AnyRecord::Invoice($r) => $body,
            AnyRecord::Activity($r) => $body,
        }
    };
}

impl AnyRecord {
    /// The record's id.
    pub fn id(&self) -> RecordId {
        each_kind!(self, r => r.id())
    }

    /// Its state in one word ([`Record::state_name`]).
    pub fn state_name(&self) -> &'static str {
        each_kind!(self, r => r.state_name())
    }

    /// The team member who owns it.
    pub fn owner(&self) -> &str {
        each_kind!(self, r => r.owner())
    }

    /// A short title for list lines.
    pub fn title(&self) -> String {
        each_kind!(self, r => r.title())
    }
}

/// The states `list state:...` accepts for `kind`.
pub fn state_names(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Lead => &["open", "qualified", "disqualified"],
        Kind::Contact | Kind::Account => &["active"],
        Kind::Opportunity => &["open", "won", "lost"],
        Kind::Quote => &["draft", "active", "won", "closed"],
        Kind::Order => &["active", "fulfilled", "invoiced", "canceled"],
        Kind::Invoice => &["open", "paid", "canceled"],
        Kind::Activity => &["open", "completed", "canceled"],
    }
}

/// Copies custom values whose field is configured on both kinds (P-32).
pub fn carry_custom(
    rules: &Rules,
    to: Kind,
    values: &fields::CustomValues,
) -> fields::CustomValues {
    rules
        .custom(to)
        .iter()
        .filter_map(|def| values.get(&def.name).map(|v| (def.name.clone(), v.clone())))
        .collect()
}

/// The built-in field of `kind` called `name` (or one of its aliases).
pub fn builtin_field(kind: Kind, name: &str) -> Option<&'static fields::FieldSpec> {
    use fields::Editable;
    match kind {
        Kind::Lead => lead::Lead::field(name),
        Kind::Contact => party::Contact::field(name),
        Kind::Account => party::Account::field(name),
        Kind::Opportunity => opportunity::Opportunity::field(name),
        Kind::Quote => quote::Quote::field(name),
        Kind::Order => order::Order::field(name),
        Kind::Invoice => invoice::Invoice::field(name),
        Kind::Activity => activity::Activity::field(name),
    }
}

/// The lookup that lists a record under its account (`/show A-1001`):
/// `acct_quote`, account, number.
pub fn of_account(
    kind: &'static str,
    account: Option<u64>,
    number: u64,
) -> impl Iterator<Item = Lookup> {
    let what = match kind {
        "contact" => "acct_contact",
        "opportunity" => "acct_opportunity",
        "quote" => "acct_quote",
        "order" => "acct_order",
        _ => "acct_invoice",
    };
    account
        .map(move |a| Lookup::under(what, a, number))
        .into_iter()
}

/// A way a record is found besides its number: a contact by e-mail, an
/// account by name, a record under its account, an activity under its
/// record. The domain says what a lookup is made of; the key layout
/// (`command::keys::lookup`) turns it into a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub what: &'static str,
    pub parts: Vec<Part>,
}

/// One part of a [`Lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// A record's number (the key layout keeps number order).
    Number(u64),
}

impl Lookup {
    /// A lookup by one text: at most one record has it.
    pub fn text(what: &'static str, value: impl Into<String>) -> Lookup {
        Lookup {
            what,
            parts: vec![Part::Text(value.into())],
        }
    }

    /// Record `number` listed under record `owner`.
    pub fn under(what: &'static str, owner: u64, number: u64) -> Lookup {
        Lookup {
            what,
            parts: vec![Part::Number(owner), Part::Number(number)],
        }
    }

    /// The field a unique lookup stands for: a contact's `e-mail`, an
    /// account's `name` or `website domain`; no two records of a kind may
    /// share one. `None` for lookups many records share.
    pub fn unique_field(&self) -> Option<&'static str> {
        match self.what {
            "contact_email" => Some("e-mail"),
            "account_name" => Some("name"),
            "account_domain" => Some("website domain"),
            _ => None,
        }
    }

    /// The refusal of a record that would share unique `field` with
    /// record `other` (its id as shown).
    pub fn duplicate(&self, field: &str, other: &str) -> Refusal {
        Refusal::new(format!(
            "{other} already has this {field} ({}); use it instead of a duplicate",
            self.shown()
        ))
    }

    /// The value as people read it (numbers as they are).
    pub fn shown(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Number(n) => n.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}
