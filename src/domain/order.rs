//! Orders (P-23 to P-26): made from a won quote; fulfilled or canceled; a
//! fulfilled order is invoiced.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::fields::{CustomValues, Editable, FieldSpec, FieldType, FieldValue};
use super::ids::Kind;
use super::lines::Pricing;
use super::quote::Quote;
use super::rules::Step;
use super::{carry_custom, Closing, ClosingInput, Record, Refusal, Rules};

/// The fulfilment reason that leaves the rest of an order to deliver.
pub const PARTIAL: &str = "Partial";

/// An order's state; each variant carries only what is true in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OrderState {
    Active,
    Fulfilled {
        closing: Closing,
    },
    /// Fulfilled, and its invoice made.
    Invoiced {
        closing: Closing,
        invoice: u64,
    },
    Canceled {
        closing: Closing,
    },
}

/// A customer's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub number: u64,
    pub name: String,
    /// The won quote and its revision.
    pub quote: u64,
    pub quote_revision: u32,
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
    pub delivery_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "CustomValues::is_empty")]
    pub custom: CustomValues,
    #[serde(flatten)]
    pub state: OrderState,
    pub created_at: DateTime<Utc>,
}

impl Record for Order {
    const KIND: Kind = Kind::Order;
    fn number(&self) -> u64 {
        self.number
    }
    fn state_name(&self) -> &'static str {
        match self.state {
            OrderState::Active => "active",
            OrderState::Fulfilled { .. } => "fulfilled",
            OrderState::Invoiced { .. } => "invoiced",
            OrderState::Canceled { .. } => "canceled",
        }
    }
    fn owner(&self) -> &str {
        &self.owner
    }
    fn title(&self) -> String {
        self.name.clone()
    }
}

impl Editable for Order {
    const FIELDS: &'static [FieldSpec] = crate::fields![
        "name" | "topic" | "subject" => FieldType::Text,
        "description" | "desc" => FieldType::Text,
        "delivery_date" | "delivery" | "requested_delivery" => FieldType::Date,
        "discount" => FieldType::Discount,
        "freight" => FieldType::Amount,
        "owner" => FieldType::Owner,
    ];

    fn set(&mut self, field: &'static str, value: FieldValue) -> Result<(), Refusal> {
        match field {
            "name" => self.name = value.required_text("an order's name")?,
            "description" => self.description = value.text(),
            "delivery_date" => self.delivery_date = value.date(),
            "discount" => self.pricing.set_discount(value.discount())?,
            "freight" => self
                .pricing
                .set_freight(value.decimal().unwrap_or_default())?,
            "owner" => self.owner = value.required_text("the owner")?,
            _ => return Err(Refusal::new(format!("orders have no field {field}"))),
        }
        Ok(())
    }

    fn custom_mut(&mut self) -> Option<&mut CustomValues> {
        Some(&mut self.custom)
    }
}

impl Order {
    /// The order made from a won quote, prefilled from it (P-23, P-32).
    pub fn from_quote(quote: &Quote, number: u64, rules: &Rules, now: DateTime<Utc>) -> Order {
        Order {
            number,
            name: quote.name.clone(),
            quote: quote.number,
            quote_revision: quote.revision,
            opportunity: quote.opportunity,
            account: quote.account,
            contact: quote.contact,
            owner: quote.owner.clone(),
            pricing: quote.pricing.clone(),
            description: quote.description.clone(),
            delivery_date: None,
            custom: carry_custom(rules, Kind::Order, &quote.custom),
            state: OrderState::Active,
            created_at: now,
        }
    }

    fn state_text(&self) -> String {
        match &self.state {
            OrderState::Active => "active".to_string(),
            OrderState::Fulfilled { closing } => format!("fulfilled ({})", closing.reason),
            OrderState::Invoiced { .. } => "invoiced".to_string(),
            OrderState::Canceled { closing } => format!("canceled ({})", closing.reason),
        }
    }

    /// Refuses `action` unless the order is active.
    ///
    /// Fails for fulfilled, invoiced and canceled orders.
    pub fn ensure_active(&self, rules: &Rules, action: &str) -> Result<(), Refusal> {
        if matches!(self.state, OrderState::Active) {
            return Ok(());
        }
        Err(Refusal::new(format!(
            "cannot {action} {}: it is {}; only an active order can change",
            rules.show(Kind::Order, self.number),
            self.state_text()
        )))
    }

    /// Fulfils an active order (P-24). A partly fulfilled order (reason
    /// `Partial`) is fulfilled again when the rest is delivered.
    ///
    /// Fails unless active or partly fulfilled.
    pub fn fulfil(&self, input: &ClosingInput, rules: &Rules) -> Result<Order, Refusal> {
        let partly = matches!(&self.state, OrderState::Fulfilled { closing }
            if closing.reason.eq_ignore_ascii_case(PARTIAL));
        if !partly {
            self.ensure_active(rules, "fulfil")?;
        }
        let closing = input.check(rules, Step::OrderFulfil)?;
        let mut o = self.clone();
        o.state = OrderState::Fulfilled { closing };
        Ok(o)
    }

    /// Cancels an active order (P-25); an empty reason is refused.
    ///
    /// Fails unless active.
    pub fn cancel(&self, input: &ClosingInput, rules: &Rules) -> Result<Order, Refusal> {
        self.ensure_active(rules, "cancel")?;
        let closing = input.check(rules, Step::OrderCancel)?;
        let mut o = self.clone();
        o.state = OrderState::Canceled { closing };
        Ok(o)
    }

    /// Marks a fulfilled order as invoiced by `invoice` (P-26). An order
    /// whose invoice was canceled (`invoice_canceled`) is invoiced anew.
    ///
    /// Fails unless fulfilled (and not invoiced by a live invoice).
    pub fn invoice(
        &self,
        invoice: u64,
        invoice_canceled: bool,
        rules: &Rules,
    ) -> Result<Order, Refusal> {
        let id = rules.show(Kind::Order, self.number);
        match &self.state {
            OrderState::Fulfilled { closing } | OrderState::Invoiced { closing, .. }
                if matches!(self.state, OrderState::Fulfilled { .. }) || invoice_canceled =>
            {
                let mut o = self.clone();
                o.state = OrderState::Invoiced {
                    closing: closing.clone(),
                    invoice,
                };
                Ok(o)
            }
            OrderState::Invoiced { invoice, .. } => Err(Refusal::new(format!(
                "cannot invoice {id}: it is already invoiced by {}; cancel that invoice first to invoice it anew",
                rules.show(Kind::Invoice, *invoice)
            ))),
            OrderState::Active | OrderState::Fulfilled { .. } => Err(Refusal::new(format!(
                "cannot invoice {id}: it is active; fulfil it first (/order fulfil {id} reason:complete)"
            ))),
            OrderState::Canceled { .. } => Err(Refusal::new(format!(
                "cannot invoice {id}: it is {}; canceled orders are not invoiced",
                self.state_text()
            ))),
        }
    }
}
crate::priced!(Order, ensure_active);
