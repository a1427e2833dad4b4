//! Quotes (P-17 to P-22): draft, active (read-only), revised, closed and won.
//!
//! A quote number is shared by all its revisions; each revision is its own
//! record, so every earlier version stays readable (P-20).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::fields::{CustomValues, Editable, FieldSpec, FieldType, FieldValue};
use super::ids::{Kind, RecordId};
use super::lines::Pricing;
use super::opportunity::Opportunity;
use super::rules::Step;
use super::{carry_custom, Closing, ClosingInput, Record, Refusal, Rules};

/// A quote's state; each variant carries only what is true in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum QuoteState {
    /// Editable.
    Draft,
    /// Sent to the customer: read-only.
    Active { activated_at: DateTime<Utc> },
    /// Accepted: an order was made from it.
    Won {
        date: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        order: u64,
    },
    /// Canceled, lost or revised.
    Closed { closing: Closing },
}

/// One revision of a quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub number: u64,
    pub revision: u32,
    pub name: String,
    pub opportunity: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<u64>,
    pub owner: String,
    pub pricing: Pricing,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "CustomValues::is_empty")]
    pub custom: CustomValues,
    #[serde(flatten)]
    pub state: QuoteState,
    pub created_at: DateTime<Utc>,
}

impl Record for Quote {
    const KIND: Kind = Kind::Quote;
    fn into_any(self) -> super::AnyRecord {
        super::AnyRecord::Quote(self)
    }
    fn number(&self) -> u64 {
        self.number
    }
    fn revision(&self) -> Option<u32> {
        Some(self.revision)
    }
    fn state_name(&self) -> &'static str {
        match self.state {
            QuoteState::Draft => "draft",
            QuoteState::Active { .. } => "active",
            QuoteState::Won { .. } => "won",
            QuoteState::Closed { .. } => "closed",
        }
    }
    fn owner(&self) -> &str {
        &self.owner
    }
    fn title(&self) -> String {
        self.name.clone()
    }
    fn lookups(&self) -> Vec<super::Lookup> {
        super::of_account("quote", self.account, self.number).collect()
    }
    fn search_terms(&self) -> Vec<String> {
        super::search::terms([Some(self.name.as_str())])
    }
}

impl Editable for Quote {
    const FIELDS: &'static [FieldSpec] = crate::fields![
        "name" | "topic" | "subject" => FieldType::Text,
        "description" | "desc" => FieldType::Text,
        "valid_until" | "valid" | "expires" | "effective_to" => FieldType::Date,
        "discount" => FieldType::Discount,
        "freight" => FieldType::Amount,
        "freight_tax" => FieldType::Percent,
        "owner" => FieldType::Owner,
    ];

    fn set(&mut self, field: &'static str, value: FieldValue) -> Result<(), Refusal> {
        match field {
            "name" => self.name = value.required_text("a quote's name")?,
            "description" => self.description = value.text(),
            "valid_until" => self.valid_until = value.date(),
            "discount" => self.pricing.set_discount(value.discount())?,
            "freight" => self
                .pricing
                .set_freight(value.decimal().unwrap_or_default())?,
            "freight_tax" => self.pricing.set_freight_tax(value.decimal())?,
            "owner" => self.owner = value.required_text("the owner")?,
            _ => return Err(Refusal::new(format!("quotes have no field {field}"))),
        }
        Ok(())
    }

    fn custom_mut(&mut self) -> Option<&mut CustomValues> {
        Some(&mut self.custom)
    }
}

/// The closing reason a revision leaves on the quote it replaces.
const REVISED: &str = "Revised";

impl Quote {
    /// A new draft from an open opportunity, prefilled with its customer,
    /// lines, discount and freight (P-17, P-32).
    ///
    /// Fails unless the opportunity is open.
    pub fn from_opportunity(
        opp: &Opportunity,
        number: u64,
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Result<Quote, Refusal> {
        opp.ensure_open(rules, "quote")?;
        Ok(Quote {
            number,
            revision: 1,
            name: opp.name.clone(),
            opportunity: opp.number,
            account: opp.account,
            contact: opp.contact,
            owner: opp.owner.clone(),
            pricing: opp.pricing.clone(),
            description: opp.proposed_solution.clone(),
            valid_until: None,
            custom: carry_custom(rules, Kind::Quote, &opp.custom),
            state: QuoteState::Draft,
            created_at: now,
        })
    }

    fn show(&self, rules: &Rules) -> String {
        rules.numbering.display(RecordId {
            kind: Kind::Quote,
            number: self.number,
            revision: (self.revision > 1).then_some(self.revision),
        })
    }

    fn state_text(&self) -> String {
        match &self.state {
            QuoteState::Draft => "a draft".to_string(),
            QuoteState::Active { .. } => "active (read-only)".to_string(),
            QuoteState::Won { .. } => "won".to_string(),
            QuoteState::Closed { closing } => format!("closed ({})", closing.reason),
        }
    }

    /// Refuses an edit unless the quote is a draft (P-18, P-19).
    ///
    /// Fails for active quotes (saying to revise) and closed or won ones.
    pub fn ensure_draft(&self, rules: &Rules, action: &str) -> Result<(), Refusal> {
        let id = self.show(rules);
        match &self.state {
            QuoteState::Draft => Ok(()),
            QuoteState::Active { .. } => Err(Refusal::new(format!(
                "cannot {action} {id}: it is active (read-only); revise it to make changes (/quote revise {})",
                rules.show(Kind::Quote, self.number)
            ))),
            _ => Err(Refusal::new(format!(
                "cannot {action} {id}: it is {}; closed quotes never change",
                self.state_text()
            ))),
        }
    }

    /// Refuses `action` once `valid_until` has passed.
    fn ensure_valid(&self, rules: &Rules, action: &str, on: NaiveDate) -> Result<(), Refusal> {
        match self.valid_until {
            Some(until) if until < on => Err(Refusal::new(format!(
                "cannot {action} {}: it expired on {until}; extend it first{}",
                self.show(rules),
                if matches!(self.state, QuoteState::Draft) {
                    format!(
                        " (/quote edit {} valid_until:...)",
                        rules.show(Kind::Quote, self.number)
                    )
                } else {
                    format!(
                        " by revising it (/quote revise {})",
                        rules.show(Kind::Quote, self.number)
                    )
                }
            ))),
            _ => Ok(()),
        }
    }

    fn ensure_active(&self, rules: &Rules, action: &str) -> Result<(), Refusal> {
        match &self.state {
            QuoteState::Active { .. } => Ok(()),
            QuoteState::Draft => Err(Refusal::new(format!(
                "cannot {action} {}: it is a draft; activate it first (/quote activate {})",
                self.show(rules),
                rules.show(Kind::Quote, self.number)
            ))),
            _ => Err(Refusal::new(format!(
                "cannot {action} {}: it is {}; only an active quote can be {}",
                self.show(rules),
                self.state_text(),
                match action {
                    "win" => "won",
                    "close" => "closed",
                    _ => "revised",
                }
            ))),
        }
    }

    /// Activates a draft: it becomes read-only (P-19).
    ///
    /// Fails unless the quote is a draft.
    /// Fails unless the quote is a draft, has lines adding up to more than
    /// nothing, and is still valid on `today` (D365 refuses both too).
    pub fn activate(
        &self,
        rules: &Rules,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Quote, Refusal> {
        let id = self.show(rules);
        let base = rules.show(Kind::Quote, self.number);
        if !matches!(self.state, QuoteState::Draft) {
            return Err(Refusal::new(format!(
                "cannot activate {id}: it is {}; only a draft can be activated",
                self.state_text()
            )));
        }
        if self.pricing.lines.is_empty() {
            return Err(Refusal::new(format!(
                "cannot activate {id}: it has no lines; add one first (/quote line add {base} sku:...)"
            )));
        }
        if self.pricing.totals().total_amount <= rust_decimal::Decimal::ZERO {
            return Err(Refusal::new(format!(
                "cannot activate {id}: its total is {}; check its prices and discounts",
                self.pricing
                    .currency
                    .format(self.pricing.totals().total_amount)
            )));
        }
        self.ensure_valid(rules, "activate", today)?;
        let mut q = self.clone();
        q.state = QuoteState::Active { activated_at: now };
        Ok(q)
    }

    /// Revises an active quote (P-20): it closes as revised and a draft with
    /// the same number and the next revision copies everything.
    ///
    /// Fails unless the quote is active.
    pub fn revise(
        &self,
        rules: &Rules,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(Quote, Quote), Refusal> {
        self.ensure_active(rules, "revise")?;
        let closing = Closing {
            reason: rules
                .reason(Step::QuoteClose, Some(REVISED))
                .unwrap_or_else(|_| REVISED.to_string()),
            date: today,
            description: None,
        };
        Ok(self.close_and_copy(closing, now))
    }

    fn close_and_copy(&self, closing: Closing, now: DateTime<Utc>) -> (Quote, Quote) {
        let mut old = self.clone();
        old.state = QuoteState::Closed { closing };
        let mut new = self.clone();
        new.revision = self.revision + 1;
        new.state = QuoteState::Draft;
        new.created_at = now;
        (old, new)
    }

    /// Closes an active quote with a configured reason (P-21); with
    /// `revise`, also returns an editable copy with the next revision.
    ///
    /// Fails unless the quote is active.
    pub fn close(
        &self,
        input: &ClosingInput,
        revise: bool,
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Result<(Quote, Option<Quote>), Refusal> {
        self.ensure_active(rules, "close")?;
        let closing = input.check(rules, Step::QuoteClose)?;
        let (old, new) = self.close_and_copy(closing, now);
        Ok((old, revise.then_some(new)))
    }

    /// Wins an active quote (P-22); the caller makes the order `order`.
    ///
    /// Fails unless the quote is active.
    /// Fails unless the quote is active, still valid on `date`, and its
    /// opportunity is not lost.
    pub fn win(
        &self,
        opportunity: &Opportunity,
        date: NaiveDate,
        description: Option<String>,
        order: u64,
        rules: &Rules,
    ) -> Result<Quote, Refusal> {
        self.ensure_active(rules, "win")?;
        if let super::opportunity::OppState::Lost { closing, .. } = &opportunity.state {
            let opp = rules.show(Kind::Opportunity, opportunity.number);
            return Err(Refusal::new(format!(
                "cannot win {}: its opportunity {opp} is lost ({}); reopen it first (/opp reopen {opp})",
                self.show(rules),
                closing.reason
            )));
        }
        self.ensure_valid(rules, "win", date)?;
        let mut q = self.clone();
        q.state = QuoteState::Won {
            date,
            description,
            order,
        };
        Ok(q)
    }
}
crate::priced!(Quote, ensure_draft);
