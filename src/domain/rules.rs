//! The configurable part of the process (P-5, P-30, P-31): status reasons
//! for every closing step, custom fields per record kind, numbering, the
//! default currency and payment terms.
//!
//! Loaded from `config/` by the adapters; the core only reads it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::fields::{normalize_name, CustomField, FieldType};
use super::ids::{Kind, Numbering};
use super::money::Currency;
use super::Refusal;

/// The closing steps that take a status reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    LeadDisqualify,
    OpportunityLost,
    QuoteClose,
    OrderFulfil,
    OrderCancel,
    InvoicePaid,
    InvoiceCancel,
}

impl Step {
    /// Every step, for validation and help.
    pub const ALL: [Step; 7] = [
        Step::LeadDisqualify,
        Step::OpportunityLost,
        Step::QuoteClose,
        Step::OrderFulfil,
        Step::OrderCancel,
        Step::InvoicePaid,
        Step::InvoiceCancel,
    ];

    /// The config key, e.g. `lead_disqualify`.
    pub fn key(self) -> &'static str {
        match self {
            Step::LeadDisqualify => "lead_disqualify",
            Step::OpportunityLost => "opportunity_lost",
            Step::QuoteClose => "quote_close",
            Step::OrderFulfil => "order_fulfil",
            Step::OrderCancel => "order_cancel",
            Step::InvoicePaid => "invoice_paid",
            Step::InvoiceCancel => "invoice_cancel",
        }
    }

    /// How the step reads in messages.
    pub fn label(self) -> &'static str {
        match self {
            Step::LeadDisqualify => "disqualifying a lead",
            Step::OpportunityLost => "losing an opportunity",
            Step::QuoteClose => "closing a quote",
            Step::OrderFulfil => "fulfilling an order",
            Step::OrderCancel => "canceling an order",
            Step::InvoicePaid => "marking an invoice paid",
            Step::InvoiceCancel => "canceling an invoice",
        }
    }
}

/// Status reasons per step. An empty list means free text (still required).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Reasons {
    pub lead_disqualify: Vec<String>,
    pub opportunity_lost: Vec<String>,
    pub quote_close: Vec<String>,
    pub order_fulfil: Vec<String>,
    pub order_cancel: Vec<String>,
    pub invoice_paid: Vec<String>,
    pub invoice_cancel: Vec<String>,
}

impl Default for Reasons {
    fn default() -> Self {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Reasons {
            lead_disqualify: v(&["Lost", "Cannot contact", "No longer interested", "Canceled"]),
            opportunity_lost: v(&["Canceled", "Out-sold"]),
            quote_close: v(&["Canceled", "Lost", "Revised"]),
            order_fulfil: v(&["Complete", "Partial"]),
            order_cancel: Vec::new(),
            invoice_paid: v(&["Complete", "Partial"]),
            invoice_cancel: v(&["Canceled"]),
        }
    }
}

impl Reasons {
    /// The configured reasons of `step`.
    pub fn of(&self, step: Step) -> &[String] {
        match step {
            Step::LeadDisqualify => &self.lead_disqualify,
            Step::OpportunityLost => &self.opportunity_lost,
            Step::QuoteClose => &self.quote_close,
            Step::OrderFulfil => &self.order_fulfil,
            Step::OrderCancel => &self.order_cancel,
            Step::InvoicePaid => &self.invoice_paid,
            Step::InvoiceCancel => &self.invoice_cancel,
        }
    }
}

/// The longest payment term `payment_days` takes: a year.
pub const MAX_PAYMENT_DAYS: u32 = 365;

/// Everything configurable that the workflow core reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Currency of new leads, opportunities and products unless given.
    pub currency: Currency,
    /// Days from an invoice's date to its due date.
    pub payment_days: u32,
    pub numbering: Numbering,
    pub reasons: Reasons,
    /// Custom fields per record kind.
    pub custom_fields: BTreeMap<Kind, Vec<CustomField>>,
    /// The tax rate of freight on new opportunities (and so their quotes,
    /// orders and invoices); absent: the lines' rates, shared as their nets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freight_tax: Option<rust_decimal::Decimal>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            currency: Currency::default(),
            payment_days: 30,
            numbering: Numbering::default(),
            reasons: Reasons::default(),
            custom_fields: BTreeMap::new(),
            freight_tax: None,
        }
    }
}

impl Rules {
    /// Checks `given` against the reasons of `step` and returns the
    /// configured spelling (`cannot-contact` -> `Cannot contact`).
    ///
    /// Fails when the reason is empty or not in the list (the message lists
    /// the allowed ones).
    pub fn reason(&self, step: Step, given: Option<&str>) -> Result<String, Refusal> {
        let allowed = self.reasons.of(step);
        let given = given.map(str::trim).unwrap_or("");
        if given.is_empty() {
            return Err(if allowed.is_empty() {
                Refusal::new(format!(
                    "{} needs a reason: add reason:\"...\"",
                    step.label()
                ))
            } else {
                Refusal::new(format!(
                    "{} needs a reason: add reason:<one of {}>",
                    step.label(),
                    allowed.join(", ")
                ))
            });
        }
        if allowed.is_empty() {
            return Ok(given.to_string());
        }
        let want = normalize_name(given);
        allowed
            .iter()
            .find(|r| normalize_name(r) == want)
            .cloned()
            .ok_or_else(|| {
                Refusal::new(format!(
                    "'{given}' is not a reason for {}; allowed: {}",
                    step.label(),
                    allowed.join(", ")
                ))
            })
    }

    /// The custom fields configured for `kind`.
    pub fn custom(&self, kind: Kind) -> &[CustomField] {
        self.custom_fields
            .get(&kind)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Displays kind and number, e.g. `L-1001`.
    pub fn show(&self, kind: Kind, number: u64) -> String {
        self.numbering.show(kind, number)
    }

    /// Checks the whole configuration.
    ///
    /// Fails with a one-line message naming the offending setting.
    pub fn validate(&self) -> Result<(), Refusal> {
        self.numbering.validate()?;
        if self.payment_days > MAX_PAYMENT_DAYS {
            return Err(Refusal::new(format!(
                "payment_days: {} days is not a payment term; give 0 to {MAX_PAYMENT_DAYS}",
                self.payment_days
            )));
        }
        for step in Step::ALL {
            let list = self.reasons.of(step);
            if list.is_empty() && step != Step::OrderCancel {
                return Err(Refusal::new(format!(
                    "reasons.{} must list at least one reason",
                    step.key()
                )));
            }
            let mut seen = std::collections::BTreeSet::new();
            for r in list {
                if r.trim().is_empty() || !seen.insert(normalize_name(r)) {
                    return Err(Refusal::new(format!(
                        "reasons.{}: '{r}' is empty or listed twice",
                        step.key()
                    )));
                }
            }
        }
        for (kind, defs) in &self.custom_fields {
            let mut seen = std::collections::BTreeSet::new();
            for def in defs {
                let ok = !def.name.is_empty()
                    && def.name.len() <= 40
                    && def
                        .name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !ok {
                    return Err(Refusal::new(format!(
                        "custom_fields.{}: '{}' must be lower-case letters, digits and _",
                        kind.name(),
                        def.name
                    )));
                }
                if super::builtin_field(*kind, &def.name).is_some()
                    || RESERVED.contains(&def.name.as_str())
                {
                    return Err(Refusal::new(format!(
                        "custom_fields.{}: '{}' is already a built-in field or option",
                        kind.name(),
                        def.name
                    )));
                }
                if !seen.insert(def.name.clone()) {
                    return Err(Refusal::new(format!(
                        "custom_fields.{}: '{}' is defined twice",
                        kind.name(),
                        def.name
                    )));
                }
                if (def.field_type() == FieldType::CustomChoice) == def.choices.is_empty() {
                    return Err(Refusal::new(format!(
                        "custom_fields.{}.{}: choices go with type = \"choice\", and a choice field needs them",
                        kind.name(),
                        def.name
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Option names commands use that custom fields may not take.
const RESERVED: &[&str] = &[
    "state", "limit", "after", "reason", "date", "sku", "qty", "line",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_match_loosely_and_return_the_configured_spelling() {
        let r = Rules::default();
        assert_eq!(
            r.reason(Step::LeadDisqualify, Some("cannot-contact"))
                .ok()
                .as_deref(),
            Some("Cannot contact")
        );
        let e = r.reason(Step::LeadDisqualify, Some("bored")).err();
        assert!(e.is_some_and(|e| e.message().contains("allowed: Lost, Cannot contact")));
    }

    #[test]
    fn an_empty_reason_is_refused_even_where_text_is_free() {
        let r = Rules::default();
        assert!(r.reason(Step::OrderCancel, Some("  ")).is_err());
        assert!(r.reason(Step::OrderCancel, None).is_err());
        assert_eq!(
            r.reason(Step::OrderCancel, Some("no money"))
                .ok()
                .as_deref(),
            Some("no money")
        );
    }
}
