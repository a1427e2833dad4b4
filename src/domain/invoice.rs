//! Invoices (P-26 to P-29): made from a fulfilled order, paid or canceled.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::fields::{CustomValues, Editable, FieldSpec, FieldType, FieldValue};
use super::ids::Kind;
use super::lines::Pricing;
use super::order::Order;
use super::rules::Step;
use super::{carry_custom, Closing, ClosingInput, Record, Refusal, Rules};

/// An invoice's state; each variant carries only what is true in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum InvoiceState {
    Open,
    Paid { closing: Closing },
    Canceled { closing: Closing },
}

/// A bill to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub number: u64,
    pub name: String,
    pub order: u64,
    pub opportunity: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<u64>,
    pub owner: String,
    pub pricing: Pricing,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub invoice_date: NaiveDate,
    pub due_date: NaiveDate,
    #[serde(default, skip_serializing_if = "CustomValues::is_empty")]
    pub custom: CustomValues,
    #[serde(flatten)]
    pub state: InvoiceState,
    pub created_at: DateTime<Utc>,
}

impl Record for Invoice {
    const KIND: Kind = Kind::Invoice;
    fn number(&self) -> u64 {
        self.number
    }
    fn state_name(&self) -> &'static str {
        match self.state {
            InvoiceState::Open => "open",
            InvoiceState::Paid { .. } => "paid",
            InvoiceState::Canceled { .. } => "canceled",
        }
    }
    fn owner(&self) -> &str {
        &self.owner
    }
    fn title(&self) -> String {
        self.name.clone()
    }
}

impl Editable for Invoice {
    const FIELDS: &'static [FieldSpec] = crate::fields![
        "name" | "topic" | "subject" => FieldType::Text,
        "description" | "desc" => FieldType::Text,
        "due" | "due_date" => FieldType::Date,
        "owner" => FieldType::Owner,
    ];

    fn set(&mut self, field: &'static str, value: FieldValue) -> Result<(), Refusal> {
        match field {
            "name" => self.name = value.required_text("an invoice's name")?,
            "description" => self.description = value.text(),
            "due" => {
                let due = value
                    .date()
                    .ok_or_else(|| Refusal::new("an invoice needs a due date"))?;
                if due < self.invoice_date {
                    return Err(Refusal::new(format!(
                        "the due date {due} is before the invoice date {}",
                        self.invoice_date
                    )));
                }
                self.due_date = due;
            }
            "owner" => self.owner = value.required_text("the owner")?,
            _ => return Err(Refusal::new(format!("invoices have no field {field}"))),
        }
        Ok(())
    }

    fn custom_mut(&mut self) -> Option<&mut CustomValues> {
        Some(&mut self.custom)
    }
}

impl Invoice {
    /// The invoice for a fulfilled order, prefilled from it (P-26); due
    /// after the configured payment days.
    pub fn from_order(
        order: &Order,
        number: u64,
        today: NaiveDate,
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Invoice {
        Invoice {
            number,
            name: order.name.clone(),
            order: order.number,
            opportunity: order.opportunity,
            account: order.account,
            contact: order.contact,
            owner: order.owner.clone(),
            pricing: order.pricing.clone(),
            description: order.description.clone(),
            invoice_date: today,
            due_date: today
                .checked_add_days(Days::new(u64::from(rules.payment_days)))
                .unwrap_or(today),
            custom: carry_custom(rules, Kind::Invoice, &order.custom),
            state: InvoiceState::Open,
            created_at: now,
        }
    }

    /// Refuses `action` unless the invoice is open.
    ///
    /// Fails for paid and canceled invoices.
    pub fn ensure_open(&self, rules: &Rules, action: &str) -> Result<(), Refusal> {
        let how = match &self.state {
            InvoiceState::Open => return Ok(()),
            InvoiceState::Paid { closing } => format!("paid ({})", closing.reason),
            InvoiceState::Canceled { closing } => format!("canceled ({})", closing.reason),
        };
        Err(Refusal::new(format!(
            "cannot {action} {}: it is {how}; only an open invoice can change",
            rules.show(Kind::Invoice, self.number)
        )))
    }

    /// Marks an open invoice paid (P-28).
    ///
    /// Fails unless open.
    pub fn pay(&self, input: &ClosingInput, rules: &Rules) -> Result<Invoice, Refusal> {
        self.ensure_open(rules, "mark paid")?;
        let closing = input.check(rules, Step::InvoicePaid)?;
        let mut i = self.clone();
        i.state = InvoiceState::Paid { closing };
        Ok(i)
    }

    /// Cancels an open invoice (P-29).
    ///
    /// Fails unless open.
    pub fn cancel(&self, input: &ClosingInput, rules: &Rules) -> Result<Invoice, Refusal> {
        self.ensure_open(rules, "cancel")?;
        let closing = input.check(rules, Step::InvoiceCancel)?;
        let mut i = self.clone();
        i.state = InvoiceState::Canceled { closing };
        Ok(i)
    }
}
