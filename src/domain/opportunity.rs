//! Opportunities (P-13 to P-16): the folder for everything about one sale,
//! and the win, lose and reopen transitions.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::fields::{CustomValues, Editable, FieldSpec, FieldType, FieldValue};
use super::ids::Kind;
use super::lines::Pricing;
use super::rules::Step;
use super::{Closing, ClosingInput, Record, Refusal, Rules};

/// Where an open opportunity stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OppStatus {
    InProgress,
    OnHold,
}

/// An opportunity's state; each variant carries only what is true in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OppState {
    Open {
        status: OppStatus,
    },
    Won {
        actual_revenue: Decimal,
        date: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    Lost {
        closing: Closing,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        competitor: Option<String>,
    },
}

/// One sale in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opportunity {
    pub number: u64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<u64>,
    /// The lead it was qualified from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_situation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_situation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_solution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Close probability in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_revenue: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Decimal>,
    /// Estimated decision date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_date: Option<NaiveDate>,
    /// "Wiedervorlage": when to look at it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<NaiveDate>,
    pub owner: String,
    /// Currency, products (P-15), discount and freight.
    pub pricing: Pricing,
    #[serde(default, skip_serializing_if = "CustomValues::is_empty")]
    pub custom: CustomValues,
    /// Every quote made from it, by quote number (P-16).
    #[serde(default)]
    pub quotes: Vec<u64>,
    #[serde(flatten)]
    pub state: OppState,
    pub created_at: DateTime<Utc>,
}

impl Record for Opportunity {
    const KIND: Kind = Kind::Opportunity;
    fn into_any(self) -> super::AnyRecord {
        super::AnyRecord::Opportunity(self)
    }
    fn number(&self) -> u64 {
        self.number
    }
    fn state_name(&self) -> &'static str {
        match self.state {
            OppState::Open { .. } => "open",
            OppState::Won { .. } => "won",
            OppState::Lost { .. } => "lost",
        }
    }
    fn owner(&self) -> &str {
        &self.owner
    }
    fn title(&self) -> String {
        self.name.clone()
    }
    fn watch(&self) -> Option<super::activity::Due> {
        match (&self.state, self.follow_up) {
            (OppState::Open { .. }, Some(d)) => Some(super::activity::Due::Day(d)),
            _ => None,
        }
    }
    fn lookups(&self) -> Vec<super::Lookup> {
        use super::Lookup;
        let mut out: Vec<Lookup> =
            super::of_account("opportunity", self.account, self.number).collect();
        // Open opportunities by contact and by account, for mail matching.
        if !matches!(self.state, OppState::Open { .. }) {
            return out;
        }
        let n = self.number;
        out.extend(
            self.contact
                .map(|c| Lookup::under("opp_contact", c, n))
                .into_iter()
                .chain(self.account.map(|a| Lookup::under("opp_account", a, n))),
        );
        out
    }
    fn search_terms(&self) -> Vec<String> {
        super::search::terms([Some(self.name.as_str())])
    }
}

impl Editable for Opportunity {
    const FIELDS: &'static [FieldSpec] = crate::fields![
        "name" | "topic" | "subject" => FieldType::Text,
        "current_situation" | "situation" | "current" => FieldType::Text,
        "desired_situation" | "desired" | "need" | "customer_need" => FieldType::Text,
        "proposed_solution" | "solution" => FieldType::Text,
        "description" | "desc" => FieldType::Text,
        "probability" | "prob" => FieldType::Probability,
        "revenue" | "estimated_revenue" | "est_revenue" | "value" => FieldType::Amount,
        "budget" => FieldType::Amount,
        "decision" | "decision_date" | "close" | "close_date" | "estimated_close" => FieldType::Date,
        "followup" | "follow_up" | "wiedervorlage" => FieldType::Date,
        "owner" => FieldType::Owner,
        "currency" => FieldType::Currency,
        "discount" => FieldType::Discount,
        "freight" => FieldType::Amount,
        "freight_tax" => FieldType::Percent,
        "account" | "company" => FieldType::Ref(Kind::Account),
        "contact" => FieldType::Ref(Kind::Contact),
        "status" => FieldType::Choice(&["in_progress", "on_hold"]),
    ];

    fn set(&mut self, field: &'static str, value: FieldValue) -> Result<(), Refusal> {
        match field {
            "name" => self.name = value.required_text("an opportunity's name")?,
            "current_situation" => self.current_situation = value.text(),
            "desired_situation" => self.desired_situation = value.text(),
            "proposed_solution" => self.proposed_solution = value.text(),
            "description" => self.description = value.text(),
            "probability" => {
                self.probability = value.decimal().map(|p| p.trunc().to_u8().unwrap_or(100))
            }
            "revenue" => self.estimated_revenue = value.decimal(),
            "budget" => self.budget = value.decimal(),
            "decision" => self.decision_date = value.date(),
            "followup" => self.follow_up = value.date(),
            "owner" => self.owner = value.required_text("the owner")?,
            "currency" => self.pricing.set_currency(value.currency()?)?,
            "discount" => self.pricing.set_discount(value.discount())?,
            "freight" => self
                .pricing
                .set_freight(value.decimal().unwrap_or_default())?,
            "freight_tax" => self.pricing.set_freight_tax(value.decimal())?,
            "account" => self.account = value.reference(),
            "contact" => self.contact = value.reference(),
            "status" => {
                let status = match value.text().as_deref() {
                    Some("on_hold") => OppStatus::OnHold,
                    _ => OppStatus::InProgress,
                };
                self.state = OppState::Open { status };
            }
            _ => return Err(Refusal::new(format!("opportunities have no field {field}"))),
        }
        Ok(())
    }

    fn custom_mut(&mut self) -> Option<&mut CustomValues> {
        Some(&mut self.custom)
    }
}

impl Opportunity {
    /// The actual revenue a win records when none is given, and how it
    /// was found: the sum of the won quotes (in the opportunity's
    /// currency), else the total of its lines, else its estimated revenue.
    /// `None` when there is none of these.
    pub fn computed_revenue(
        &self,
        quotes: &[super::quote::Quote],
    ) -> Option<(Decimal, &'static str)> {
        use super::quote::QuoteState;
        let won: Vec<&super::quote::Quote> = quotes
            .iter()
            .filter(|q| {
                matches!(q.state, QuoteState::Won { .. })
                    && q.pricing.currency == self.pricing.currency
            })
            .collect();
        if !won.is_empty() {
            let sum = won.iter().map(|q| q.pricing.totals().total_amount).sum();
            return Some((sum, "sum of won quotes"));
        }
        if !self.pricing.lines.is_empty() {
            return Some((
                self.pricing.totals().total_amount,
                "from the opportunity's lines",
            ));
        }
        self.estimated_revenue
            .map(|estimate| (estimate, "the estimated revenue: no quote was won"))
    }

    /// Refuses `action` unless the opportunity is open.
    ///
    /// Fails for won and lost opportunities, saying how to reopen them.
    pub fn ensure_open(&self, rules: &Rules, action: &str) -> Result<(), Refusal> {
        let id = rules.show(Kind::Opportunity, self.number);
        let how = match &self.state {
            OppState::Open { .. } => return Ok(()),
            OppState::Won { .. } => "won".to_string(),
            OppState::Lost { closing, .. } => format!("lost ({})", closing.reason),
        };
        Err(Refusal::new(format!(
            "cannot {action} {id}: it is {how}; reopen it first (/opp reopen {id})"
        )))
    }

    /// Closes the opportunity as won with its actual revenue.
    ///
    /// Fails unless open, or for a negative revenue.
    pub fn win(
        &self,
        actual_revenue: Decimal,
        date: NaiveDate,
        description: Option<String>,
        rules: &Rules,
    ) -> Result<Opportunity, Refusal> {
        self.ensure_open(rules, "win")?;
        if actual_revenue.is_sign_negative() {
            return Err(Refusal::new("the actual revenue cannot be negative"));
        }
        let mut o = self.clone();
        o.state = OppState::Won {
            actual_revenue: self.pricing.currency.round(actual_revenue),
            date,
            description,
        };
        Ok(o)
    }

    /// Closes the opportunity as lost with a configured reason.
    ///
    /// Fails unless open, or for a reason that is not configured.
    pub fn lose(
        &self,
        input: &ClosingInput,
        competitor: Option<String>,
        rules: &Rules,
    ) -> Result<Opportunity, Refusal> {
        self.ensure_open(rules, "lose")?;
        let closing = input.check(rules, Step::OpportunityLost)?;
        let mut o = self.clone();
        o.state = OppState::Lost {
            closing,
            competitor,
        };
        Ok(o)
    }

    /// Reopens a won or lost opportunity.
    ///
    /// Fails when it is already open.
    pub fn reopen(&self, rules: &Rules) -> Result<Opportunity, Refusal> {
        if let OppState::Open { .. } = self.state {
            return Err(Refusal::new(format!(
                "{} is already open",
                rules.show(Kind::Opportunity, self.number)
            )));
        }
        let mut o = self.clone();
        o.state = OppState::Open {
            status: OppStatus::InProgress,
        };
        Ok(o)
    }

    /// Weighted revenue of an open opportunity: estimated revenue x probability.
    pub fn weighted_revenue(&self) -> Option<Decimal> {
        // A closed opportunity has an outcome, not a forecast.
        if !matches!(self.state, OppState::Open { .. }) {
            return None;
        }
        let p = Decimal::from(self.probability?);
        Some(
            self.pricing
                .currency
                .round(self.estimated_revenue? * p / Decimal::ONE_HUNDRED),
        )
    }
}
crate::priced!(Opportunity, ensure_open);
