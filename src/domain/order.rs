//! Orders (P-23 to P-26): made from a won quote; fulfilled or canceled; a
//! fulfilled order is invoiced.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::fields::{CustomValues, Editable, FieldSpec, FieldType, FieldValue};
use super::ids::Kind;
use super::invoice::Invoice;
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
    /// Fulfilled, and invoiced in full (`invoice` is the last invoice).
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
    /// Its invoices, oldest first (stores from before keep only the one
    /// in [`OrderState::Invoiced`]: see [`Order::invoice_numbers`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invoices: Vec<u64>,
    #[serde(flatten)]
    pub state: OrderState,
    pub created_at: DateTime<Utc>,
}

impl Record for Order {
    const KIND: Kind = Kind::Order;
    fn into_any(self) -> super::AnyRecord {
        super::AnyRecord::Order(self)
    }
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
    fn lookups(&self) -> Vec<super::Lookup> {
        super::of_account("order", self.account, self.number).collect()
    }
    fn search_terms(&self) -> Vec<String> {
        super::search::terms([Some(self.name.as_str())])
    }
}

impl Editable for Order {
    const FIELDS: &'static [FieldSpec] = crate::fields![
        "name" | "topic" | "subject" => FieldType::Text,
        "description" | "desc" => FieldType::Text,
        "delivery_date" | "delivery" | "requested_delivery" => FieldType::Date,
        "discount" => FieldType::Discount,
        "freight" => FieldType::Amount,
        "freight_tax" => FieldType::Percent,
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
            "freight_tax" => self.pricing.set_freight_tax(value.decimal())?,
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
            invoices: Vec::new(),
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

    /// Every invoice made for it, oldest first (credit notes not included).
    pub fn invoice_numbers(&self) -> Vec<u64> {
        let mut all = self.invoices.clone();
        if let OrderState::Invoiced { invoice, .. } = self.state {
            if !all.contains(&invoice) {
                all.push(invoice);
            }
        }
        all
    }

    /// Invoices a fulfilled order (P-26): `request` names line numbers and
    /// quantities to bill (a partial delivery); empty, everything not yet
    /// billed. `billed` is what its live invoices bill already. Freight and
    /// an amount discount go on the first live invoice. The order is
    /// invoiced once every line is billed in full.
    ///
    /// Fails unless fulfilled (in part or whole), for lines it does not
    /// have, and for quantities above what is left to bill.
    pub fn invoice(
        &self,
        number: u64,
        billed: &Billed,
        request: &BTreeMap<u32, Decimal>,
        today: NaiveDate,
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Result<(Order, Invoice), Refusal> {
        let id = rules.show(Kind::Order, self.number);
        let closing = match &self.state {
            OrderState::Fulfilled { closing } => closing.clone(),
            OrderState::Invoiced { .. } => {
                return Err(Refusal::new(format!(
                    "cannot invoice {id}: it is invoiced in full ({}); cancel one of its invoices to invoice it anew",
                    self.invoice_numbers()
                        .iter()
                        .map(|n| rules.show(Kind::Invoice, *n))
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
            OrderState::Active => {
                return Err(Refusal::new(format!(
                    "cannot invoice {id}: it is active; fulfil it first (/order fulfil {id} reason:complete)"
                )))
            }
            OrderState::Canceled { .. } => {
                return Err(Refusal::new(format!(
                    "cannot invoice {id}: it is {}; canceled orders are not invoiced",
                    self.state_text()
                )))
            }
        };
        let left = |l: &super::lines::Line| {
            l.quantity - billed.quantities.get(&l.no).copied().unwrap_or_default()
        };
        for no in request.keys() {
            if !self.pricing.lines.iter().any(|l| l.no == *no) {
                return Err(Refusal::new(format!(
                    "{id} has no line {no}; lines: {}",
                    self.pricing
                        .lines
                        .iter()
                        .map(|l| l.no.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        let mut pricing = self.pricing.clone();
        pricing.lines.clear();
        for line in &self.pricing.lines {
            let left = left(line);
            let qty = match request.get(&line.no) {
                Some(q) if *q > left => {
                    return Err(Refusal::new(format!(
                        "cannot bill {} of line {} of {id}: {} of {} are billed already, {} left",
                        q.normalize(),
                        line.no,
                        (line.quantity - left).normalize(),
                        line.quantity.normalize(),
                        left.normalize()
                    )))
                }
                Some(q) => *q,
                None if request.is_empty() => left,
                None => Decimal::ZERO,
            };
            if qty > Decimal::ZERO {
                pricing.lines.push(super::lines::Line {
                    quantity: qty,
                    ..line.clone()
                });
            }
        }
        if pricing.lines.is_empty() {
            return Err(Refusal::new(format!(
                "cannot invoice {id}: every line is billed already"
            )));
        }
        if billed.extras {
            pricing.freight = Decimal::ZERO;
            if let Some(super::lines::Discount::Amount(_)) = pricing.discount {
                pricing.discount = None;
            }
        }
        let mut invoice = Invoice::from_order(self, number, today, rules, now);
        invoice.pricing = pricing;
        let mut o = self.clone();
        o.invoices = self.invoice_numbers();
        o.invoices.push(number);
        let all_billed = self.pricing.lines.iter().all(|l| {
            invoice
                .pricing
                .lines
                .iter()
                .find(|x| x.no == l.no)
                .map_or(Decimal::ZERO, |x| x.quantity)
                >= left(l)
        });
        if all_billed {
            o.state = OrderState::Invoiced {
                closing,
                invoice: number,
            };
        }
        Ok((o, invoice))
    }

    /// After one of its invoices was canceled: an order invoiced in full
    /// is fulfilled again, to be invoiced anew.
    pub fn invoice_canceled(&self) -> Order {
        let mut o = self.clone();
        if let OrderState::Invoiced { closing, .. } = &self.state {
            o.invoices = self.invoice_numbers();
            o.state = OrderState::Fulfilled {
                closing: closing.clone(),
            };
        }
        o
    }
}

/// What an order's live invoices bill already.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Billed {
    /// Quantity per order line number.
    pub quantities: BTreeMap<u32, Decimal>,
    /// Whether one of them carries the freight and an amount discount.
    pub extras: bool,
}

impl Billed {
    /// Adds what `invoice` bills, unless it is canceled or a credit note.
    pub fn add(&mut self, invoice: &Invoice) {
        if !matches!(
            invoice.state,
            super::invoice::InvoiceState::Open | super::invoice::InvoiceState::Paid { .. }
        ) {
            return;
        }
        for l in &invoice.pricing.lines {
            *self.quantities.entry(l.no).or_default() += l.quantity;
        }
        self.extras |= !invoice.pricing.freight.is_zero()
            || matches!(
                invoice.pricing.discount,
                Some(super::lines::Discount::Amount(_))
            );
    }
}
crate::priced!(Order, ensure_active);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lines::Pricing;
    use crate::domain::table::{chairs, check, d, day, input};
    use crate::domain::Currency;

    fn closing(reason: &str) -> Closing {
        Closing {
            reason: reason.to_string(),
            date: day(),
            description: None,
        }
    }

    fn order(state: OrderState) -> Order {
        let mut pricing = Pricing::new(Currency::default());
        pricing.lines.push(chairs("10"));
        Order {
            number: 1001,
            name: "Chairs".into(),
            quote: 1001,
            quote_revision: 1,
            opportunity: 1001,
            account: None,
            contact: None,
            owner: "me".into(),
            pricing,
            description: None,
            delivery_date: None,
            custom: CustomValues::default(),
            invoices: Vec::new(),
            state,
            created_at: chrono::Utc::now(),
        }
    }

    /// What each step does from each state: the new state's name, or a
    /// refusal containing the given words.
    #[test]
    fn the_order_state_machine_as_a_table() {
        let rules = Rules::default();
        let invoiced = OrderState::Invoiced {
            closing: closing("Complete"),
            invoice: 1001,
        };
        let states = [
            ("active", OrderState::Active),
            (
                "partly fulfilled",
                OrderState::Fulfilled {
                    closing: closing("Partial"),
                },
            ),
            (
                "fulfilled",
                OrderState::Fulfilled {
                    closing: closing("Complete"),
                },
            ),
            ("invoiced", invoiced),
            (
                "canceled",
                OrderState::Canceled {
                    closing: closing("x"),
                },
            ),
        ];
        type Step = fn(&Order, &Rules, &dyn Fn(&str) -> ClosingInput) -> Result<Order, Refusal>;
        let steps: [(&str, Step); 4] = [
            ("fulfil complete", |o, r, i| o.fulfil(&i("complete"), r)),
            ("fulfil partial", |o, r, i| o.fulfil(&i("partial"), r)),
            ("cancel", |o, r, i| o.cancel(&i("no money"), r)),
            ("invoice", |o, r, _| {
                o.invoice(
                    1002,
                    &Billed::default(),
                    &BTreeMap::new(),
                    day(),
                    r,
                    chrono::Utc::now(),
                )
                .map(|(o, _)| o)
            }),
        ];
        // Rows: states; columns: steps; Ok(state) or Err(words).
        let expected: [[Result<&str, &str>; 4]; 5] = [
            [
                Ok("fulfilled"),
                Ok("fulfilled"),
                Ok("canceled"),
                Err("fulfil it first"),
            ],
            [
                Ok("fulfilled"),
                Ok("fulfilled"),
                Err("only an active order"),
                Ok("invoiced"),
            ],
            [
                Err("only an active order"),
                Err("only an active order"),
                Err("only an active order"),
                Ok("invoiced"),
            ],
            [
                Err("only an active order"),
                Err("only an active order"),
                Err("only an active order"),
                Err("invoiced in full"),
            ],
            [
                Err("only an active order"),
                Err("only an active order"),
                Err("only an active order"),
                Err("not invoiced"),
            ],
        ];
        for ((name, state), row) in states.into_iter().zip(expected) {
            let o = order(state);
            for ((step, f), want) in steps.iter().zip(row) {
                check(name, step, f(&o, &rules, &input), want, |o| {
                    o.state_name().to_string()
                });
            }
        }
    }

    #[test]
    fn a_partial_invoice_leaves_the_order_fulfilled_and_billing_past_it_is_refused() {
        let rules = Rules::default();
        let o = order(OrderState::Fulfilled {
            closing: closing("Partial"),
        });
        let four = BTreeMap::from([(1, d("4"))]);
        let (o2, inv) = o
            .invoice(
                1001,
                &Billed::default(),
                &four,
                day(),
                &rules,
                chrono::Utc::now(),
            )
            .expect("billed");
        assert_eq!(o2.state_name(), "fulfilled");
        assert_eq!(inv.pricing.lines[0].quantity, d("4"));
        let mut billed = Billed::default();
        billed.add(&inv);
        let seven = BTreeMap::from([(1, d("7"))]);
        let e = o2
            .invoice(1002, &billed, &seven, day(), &rules, chrono::Utc::now())
            .expect_err("only 6 left");
        assert!(e.message().contains("6 left"), "{}", e.message());
    }
}
