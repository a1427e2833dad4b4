//! Record kinds and their human numbers (`L-1001`, `Q-1001 rev 2`).
//!
//! Numbers are gap-free per kind: the store hands out the next one in the
//! same transaction that writes the record. Prefixes come from [`Numbering`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use super::Refusal;

/// The kinds of record leadline keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Lead,
    Contact,
    Account,
    Opportunity,
    Quote,
    Order,
    Invoice,
    Activity,
}

impl Kind {
    /// Every kind, in process order.
    pub const ALL: [Kind; 8] = [
        Kind::Lead,
        Kind::Contact,
        Kind::Account,
        Kind::Opportunity,
        Kind::Quote,
        Kind::Order,
        Kind::Invoice,
        Kind::Activity,
    ];

    /// The lower-case name used in commands, keys and messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Lead => "lead",
            Kind::Contact => "contact",
            Kind::Account => "account",
            Kind::Opportunity => "opportunity",
            Kind::Quote => "quote",
            Kind::Order => "order",
            Kind::Invoice => "invoice",
            Kind::Activity => "activity",
        }
    }

    /// The kind named by a command word (`opp`, `opportunity`, `orders`...).
    pub fn from_word(word: &str) -> Option<Kind> {
        let w = word.to_ascii_lowercase();
        let w = w.strip_suffix('s').unwrap_or(&w);
        Some(match w {
            "lead" => Kind::Lead,
            "contact" => Kind::Contact,
            "account" => Kind::Account,
            "opp" | "opportunity" | "opportunitie" => Kind::Opportunity,
            "quote" => Kind::Quote,
            "order" | "salesorder" => Kind::Order,
            "invoice" => Kind::Invoice,
            "activity" | "activitie" | "act" => Kind::Activity,
            _ => return None,
        })
    }

    /// "a lead", "an opportunity": for messages.
    pub fn with_article(self) -> String {
        with_article(self.name())
    }

    /// "leads", "opportunities", "activities": for messages.
    pub fn plural(self) -> String {
        match self.name().strip_suffix('y') {
            Some(stem) => format!("{stem}ies"),
            None => format!("{}s", self.name()),
        }
    }
}

/// "a call", "an appointment", "an e-mail": a word with its article.
pub fn with_article(word: &str) -> String {
    let vowel = word
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {word}", if vowel { "an" } else { "a" })
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One record's identity: its kind and number (and, for quotes, revision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordId {
    pub kind: Kind,
    pub number: u64,
    /// Only for quotes: a specific revision; `None` means the latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
}

impl RecordId {
    /// The id of a record of `kind` numbered `number`.
    pub fn new(kind: Kind, number: u64) -> Self {
        RecordId {
            kind,
            number,
            revision: None,
        }
    }
}

/// Prefix and first number of one kind's ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberFormat {
    pub prefix: String,
    pub first: u64,
}

/// How every kind's numbers look; configurable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Numbering(pub BTreeMap<Kind, NumberFormat>);

impl Default for Numbering {
    fn default() -> Self {
        let f = |p: &str| NumberFormat {
            prefix: p.to_string(),
            first: 1001,
        };
        Numbering(BTreeMap::from([
            (Kind::Lead, f("L-")),
            (Kind::Contact, f("C-")),
            (Kind::Account, f("A-")),
            (Kind::Opportunity, f("O-")),
            (Kind::Quote, f("Q-")),
            (Kind::Order, f("SO-")),
            (Kind::Invoice, f("INV-")),
            (Kind::Activity, f("ACT-")),
        ]))
    }
}

impl Numbering {
    /// The format of `kind`, falling back to the built-in default.
    pub fn format(&self, kind: Kind) -> NumberFormat {
        self.0
            .get(&kind)
            .cloned()
            .or_else(|| Numbering::default().0.get(&kind).cloned())
            .unwrap_or(NumberFormat {
                prefix: format!("{}-", kind.name()),
                first: 1,
            })
    }

    /// Displays an id: `L-1001`, `Q-1001 rev 2`.
    pub fn display(&self, id: RecordId) -> String {
        let base = format!("{}{}", self.format(id.kind).prefix, id.number);
        match id.revision {
            Some(rev) => format!("{base} rev {rev}"),
            None => base,
        }
    }

    /// Displays kind and number without a revision.
    pub fn show(&self, kind: Kind, number: u64) -> String {
        self.display(RecordId::new(kind, number))
    }

    /// Checks the configuration: prefixes present and distinct.
    ///
    /// Fails with a message naming the offending kind.
    pub fn validate(&self) -> Result<(), Refusal> {
        let mut seen: BTreeMap<String, Kind> = BTreeMap::new();
        for kind in Kind::ALL {
            let f = self.format(kind);
            let p = f.prefix.to_ascii_uppercase();
            if p.is_empty()
                || p.chars().any(|c| {
                    c.is_ascii_digit() || c.is_whitespace() || matches!(c, ':' | '"' | '\'')
                })
            {
                return Err(Refusal::new(format!(
                    "numbering.{}: prefix '{}' must be non-empty, without digits, spaces, ':' or quotes (commands read 'name:value')",
                    kind.name(),
                    f.prefix
                )));
            }
            if f.first == 0 {
                return Err(Refusal::new(format!(
                    "numbering.{}: first must be at least 1",
                    kind.name()
                )));
            }
            if let Some(other) = seen.insert(p, kind) {
                return Err(Refusal::new(format!(
                    "numbering: {} and {} share the prefix '{}'",
                    other.name(),
                    kind.name(),
                    f.prefix
                )));
            }
        }
        Ok(())
    }

    /// Parses `L-1001`, `q-1001`, `Q-1001r2`, `Q-1001/2` or `Q-1001 rev 2` into an id.
    ///
    /// Fails when no kind's prefix matches or the number is not a number.
    pub fn parse(&self, text: &str) -> Result<RecordId, Refusal> {
        let t = text.trim();
        let upper = t.to_ascii_uppercase();
        let mut best: Option<(Kind, usize)> = None;
        for kind in Kind::ALL {
            let p = self.format(kind).prefix.to_ascii_uppercase();
            if upper.starts_with(&p) && best.is_none_or(|(_, len)| p.len() > len) {
                best = Some((kind, p.len()));
            }
        }
        let Some((kind, len)) = best else {
            return Err(Refusal::new(format!(
                "'{t}' is not a record id; ids look like {}",
                self.examples()
            )));
        };
        let rest = &upper[len..];
        let (num, rev) = match rest.find(|c: char| !c.is_ascii_digit()) {
            None => (rest, None),
            Some(i) => {
                let tail = rest[i..]
                    .trim_start_matches([' ', '/'])
                    .trim_start_matches("REV")
                    .trim_start_matches('R')
                    .trim();
                (&rest[..i], Some(tail))
            }
        };
        let number: u64 = num.parse().map_err(|_| {
            Refusal::new(format!("'{t}' is not a record id: the number is missing"))
        })?;
        let revision = match rev {
            None => None,
            Some(r) if kind == Kind::Quote => Some(r.parse::<u32>().map_err(|_| {
                Refusal::new(format!(
                    "'{t}' is not a quote id; write Q-1001 or Q-1001 rev 2"
                ))
            })?),
            Some(_) => return Err(Refusal::new(format!("'{t}' is not a record id"))),
        };
        Ok(RecordId {
            kind,
            number,
            revision,
        })
    }

    fn examples(&self) -> String {
        Kind::ALL
            .iter()
            .map(|k| format!("{}{}", self.format(*k).prefix, self.format(*k).first))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_case_insensitively_and_prefer_the_longest_prefix() {
        let n = Numbering::default();
        assert_eq!(
            n.parse("so-1001").ok(),
            Some(RecordId::new(Kind::Order, 1001))
        );
        assert_eq!(
            n.parse("O-7").ok(),
            Some(RecordId::new(Kind::Opportunity, 7))
        );
        let q = n.parse("Q-1001 rev 2").ok();
        assert_eq!(q.and_then(|q| q.revision), Some(2));
        assert_eq!(n.parse("Q-1001r3").ok().and_then(|q| q.revision), Some(3));
        assert!(n.parse("X-1").is_err());
        assert!(n.parse("L-").is_err());
        assert!(n.parse("L-1001 rev 2").is_err());
    }

    #[test]
    fn ids_display_with_revision() {
        let n = Numbering::default();
        let mut id = RecordId::new(Kind::Quote, 1001);
        id.revision = Some(2);
        assert_eq!(n.display(id), "Q-1001 rev 2");
    }

    #[test]
    fn numbering_with_shared_prefixes_is_refused() {
        let mut n = Numbering::default();
        n.0.insert(
            Kind::Invoice,
            NumberFormat {
                prefix: "l-".into(),
                first: 1,
            },
        );
        assert!(n.validate().is_err());
    }
}
