//! Invoices (P-26 to P-29): made from a fulfilled order, paid or canceled.
//!
//! As a German business needs them: payments are recorded with amount and
//! date, the balance is what is still due, and the invoice is paid when it
//! reaches zero. An issued invoice is never changed or deleted: canceling
//! it issues a credit note (Stornorechnung) with its own number from the
//! same gap-free sequence, negating every amount of the original and
//! naming it; the order can then be invoiced anew.

use chrono::{DateTime, Days, NaiveDate, Utc};
use rust_decimal::Decimal;
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
    Paid {
        closing: Closing,
    },
    Canceled {
        closing: Closing,
        /// The credit note that cancels it (none on stores from before).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        credit_note: Option<u64>,
    },
    /// A credit note: it cancels the invoice it `corrects`, and is settled
    /// against it.
    CreditNote {
        date: NaiveDate,
    },
}

/// A payment received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub amount: Decimal,
    pub date: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The payment reason that means nothing is left to pay.
pub const COMPLETE: &str = "Complete";

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
    /// Payments received, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payments: Vec<Payment>,
    /// For a credit note: the invoice it cancels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrects: Option<u64>,
    #[serde(flatten)]
    pub state: InvoiceState,
    pub created_at: DateTime<Utc>,
}

impl Record for Invoice {
    const KIND: Kind = Kind::Invoice;
    fn into_any(self) -> super::AnyRecord {
        super::AnyRecord::Invoice(self)
    }
    fn number(&self) -> u64 {
        self.number
    }
    fn state_name(&self) -> &'static str {
        match self.state {
            InvoiceState::Open => "open",
            InvoiceState::Paid { .. } => "paid",
            InvoiceState::Canceled { .. } => "canceled",
            InvoiceState::CreditNote { .. } => "credit_note",
        }
    }
    fn owner(&self) -> &str {
        &self.owner
    }
    fn title(&self) -> String {
        self.name.clone()
    }
    fn lookups(&self) -> Vec<super::Lookup> {
        super::of_account("invoice", self.account, self.number).collect()
    }
    fn search_terms(&self) -> Vec<String> {
        super::search::terms([Some(self.name.as_str())])
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
            payments: Vec::new(),
            corrects: None,
            state: InvoiceState::Open,
            created_at: now,
        }
    }

    /// What was paid so far.
    pub fn paid(&self) -> Decimal {
        self.payments.iter().map(|p| p.amount).sum()
    }

    /// What is still due: the total less the payments (zero once closed).
    pub fn balance(&self) -> Decimal {
        match self.state {
            InvoiceState::Open => self.pricing.totals().total_amount - self.paid(),
            _ => Decimal::ZERO,
        }
    }

    /// Records a payment of `amount` on `date`; at a balance of zero the
    /// invoice is paid (reason `Complete`, or the first configured one).
    ///
    /// Fails unless open, for amounts of zero or less, more than the
    /// balance, or with more decimals than the currency has.
    pub fn record_payment(
        &self,
        amount: Decimal,
        date: NaiveDate,
        note: Option<String>,
        rules: &Rules,
    ) -> Result<Invoice, Refusal> {
        let id = rules.show(Kind::Invoice, self.number);
        self.ensure_open(rules, "record a payment on")?;
        let c = &self.pricing.currency;
        if amount <= Decimal::ZERO {
            return Err(Refusal::new(format!(
                "a payment must be more than {}",
                c.format(Decimal::ZERO)
            )));
        }
        if c.round(amount) != amount {
            return Err(Refusal::new(format!(
                "{amount} has more decimals than {c} has; a payment is in whole cents"
            )));
        }
        let balance = self.balance();
        if amount > balance {
            return Err(Refusal::new(format!(
                "cannot record {} on {id}: only {} is due; an overpayment is not taken",
                c.format(amount),
                c.format(balance)
            )));
        }
        let mut i = self.clone();
        i.payments.push(Payment { amount, date, note });
        if i.balance().is_zero() {
            let reason = rules
                .reason(Step::InvoicePaid, Some(COMPLETE))
                .or_else(|_| {
                    rules
                        .reasons
                        .invoice_paid
                        .first()
                        .cloned()
                        .ok_or_else(|| Refusal::new("no invoice_paid reason is configured"))
                })?;
            i.state = InvoiceState::Paid {
                closing: Closing {
                    reason,
                    date,
                    description: None,
                },
            };
        }
        Ok(i)
    }

    /// The credit note (Stornorechnung) `number` that cancels this invoice:
    /// every amount negated, dated `today`.
    pub fn credit_note(
        &self,
        number: u64,
        today: NaiveDate,
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Invoice {
        let mut pricing = self.pricing.clone();
        for line in &mut pricing.lines {
            line.quantity = -line.quantity;
            if let Some(super::lines::Discount::Amount(a)) = line.discount {
                line.discount = Some(super::lines::Discount::Amount(-a));
            }
        }
        if let Some(super::lines::Discount::Amount(a)) = pricing.discount {
            pricing.discount = Some(super::lines::Discount::Amount(-a));
        }
        pricing.freight = -pricing.freight;
        Invoice {
            number,
            name: format!(
                "Credit note for {}: {}",
                rules.show(Kind::Invoice, self.number),
                self.name
            ),
            pricing,
            invoice_date: today,
            due_date: today,
            payments: Vec::new(),
            corrects: Some(self.number),
            state: InvoiceState::CreditNote { date: today },
            created_at: now,
            ..self.clone()
        }
    }

    /// Refuses `action` unless the invoice is open.
    ///
    /// Fails for paid and canceled invoices.
    pub fn ensure_open(&self, rules: &Rules, action: &str) -> Result<(), Refusal> {
        let how = match &self.state {
            InvoiceState::Open => return Ok(()),
            InvoiceState::Paid { closing } => format!("paid ({})", closing.reason),
            InvoiceState::Canceled { closing, .. } => format!("canceled ({})", closing.reason),
            InvoiceState::CreditNote { .. } => format!(
                "a credit note for {}",
                rules.show(Kind::Invoice, self.corrects.unwrap_or_default())
            ),
        };
        Err(Refusal::new(format!(
            "cannot {action} {}: it is {how}; only an open invoice can change",
            rules.show(Kind::Invoice, self.number)
        )))
    }

    /// Marks an open invoice paid (P-28).
    ///
    /// Fails unless open.
    /// With reason `Complete`, the balance is recorded as paid on the
    /// closing date first.
    pub fn pay(&self, input: &ClosingInput, rules: &Rules) -> Result<Invoice, Refusal> {
        self.ensure_open(rules, "mark paid")?;
        let closing = input.check(rules, Step::InvoicePaid)?;
        let mut i = self.clone();
        let balance = i.balance();
        if closing.reason.eq_ignore_ascii_case(COMPLETE) && balance > Decimal::ZERO {
            i.payments.push(Payment {
                amount: balance,
                date: closing.date,
                note: Some("the balance, marked paid".to_string()),
            });
        }
        i.state = InvoiceState::Paid { closing };
        Ok(i)
    }

    /// Cancels an open invoice (P-29) by the credit note `credit_note`
    /// (see [`Invoice::credit_note`]).
    ///
    /// Fails unless open, and while payments are recorded on it (refunds
    /// are not kept yet: settle them outside leadline first).
    pub fn cancel(
        &self,
        input: &ClosingInput,
        credit_note: u64,
        rules: &Rules,
    ) -> Result<Invoice, Refusal> {
        self.ensure_open(rules, "cancel")?;
        if !self.payments.is_empty() {
            return Err(Refusal::new(format!(
                "cannot cancel {}: {} was paid on it; leadline keeps no refunds, so it cannot be canceled by a credit note",
                rules.show(Kind::Invoice, self.number),
                self.pricing.currency.format(self.paid())
            )));
        }
        let closing = input.check(rules, Step::InvoiceCancel)?;
        let mut i = self.clone();
        i.state = InvoiceState::Canceled {
            closing,
            credit_note: Some(credit_note),
        };
        Ok(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lines::Pricing;
    use crate::domain::table::{chairs, check, d, day, input, Cell};
    use crate::domain::Currency;

    /// An open invoice of 119.00 EUR (100 + 19% tax).
    fn invoice() -> Invoice {
        let mut pricing = Pricing::new(Currency::default());
        pricing.lines.push(chairs("1"));
        Invoice {
            number: 1001,
            name: "Chairs".into(),
            order: 1001,
            opportunity: 1001,
            account: None,
            contact: None,
            owner: "me".into(),
            pricing,
            description: None,
            invoice_date: day(),
            due_date: day(),
            custom: CustomValues::default(),
            payments: Vec::new(),
            corrects: None,
            state: InvoiceState::Open,
            created_at: chrono::Utc::now(),
        }
    }

    /// What each step does from each state: the new state's name (and the
    /// balance), or a refusal containing the given words.
    #[test]
    fn the_invoice_state_machine_as_a_table() {
        let rules = Rules::default();
        let open = invoice();
        let part_paid = open
            .record_payment(d("19"), day(), None, &rules)
            .expect("a payment");
        let paid = open.pay(&input("complete"), &rules).expect("paid");
        let canceled = open
            .cancel(&input("canceled"), 1002, &rules)
            .expect("canceled");
        let credit = open.credit_note(1002, day(), &rules, chrono::Utc::now());
        type Step = fn(&Invoice, &Rules, &dyn Fn(&str) -> ClosingInput) -> Result<Invoice, Refusal>;
        let steps: [(&str, Step); 5] = [
            ("pay 19.00", |i, r, _| {
                i.record_payment(d("19"), day(), None, r)
            }),
            ("pay the rest", |i, r, _| {
                i.record_payment(i.balance(), day(), None, r)
            }),
            ("pay 200.00", |i, r, _| {
                i.record_payment(d("200"), day(), None, r)
            }),
            ("paid complete", |i, r, f| i.pay(&f("complete"), r)),
            ("cancel", |i, r, f| i.cancel(&f("canceled"), 1003, r)),
        ];
        // Per step: Ok("state balance") or Err(words of the refusal).
        let expected: [(&str, &Invoice, [Cell; 5]); 5] = [
            (
                "open",
                &open,
                [
                    Ok("open 100"),
                    Ok("paid 0"),
                    Err("an overpayment is not taken"),
                    Ok("paid 0"),
                    Ok("canceled 0"),
                ],
            ),
            (
                "paid in part",
                &part_paid,
                [
                    Ok("open 81"),
                    Ok("paid 0"),
                    Err("only 100.00 EUR is due"),
                    Ok("paid 0"),
                    Err("was paid on it"),
                ],
            ),
            (
                "paid",
                &paid,
                [
                    Err("paid (Complete)"),
                    Err("paid (Complete)"),
                    Err("paid (Complete)"),
                    Err("paid (Complete)"),
                    Err("paid (Complete)"),
                ],
            ),
            (
                "canceled",
                &canceled,
                [
                    Err("canceled (Canceled)"),
                    Err("canceled (Canceled)"),
                    Err("canceled (Canceled)"),
                    Err("canceled (Canceled)"),
                    Err("canceled (Canceled)"),
                ],
            ),
            (
                "credit note",
                &credit,
                [
                    Err("a credit note"),
                    Err("a credit note"),
                    Err("a credit note"),
                    Err("a credit note"),
                    Err("a credit note"),
                ],
            ),
        ];
        for (name, inv, row) in expected {
            for ((step, f), want) in steps.iter().zip(row) {
                check(name, step, f(inv, &rules, &input), want, |i| {
                    format!("{} {}", i.state_name(), i.balance().normalize())
                });
            }
        }
        // A credit note negates the original, to the cent.
        assert_eq!(credit.pricing.totals().total_amount, d("-119.00"));
        assert_eq!(credit.corrects, Some(1001));
    }
}
