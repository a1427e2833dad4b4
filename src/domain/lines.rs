//! Product lines and totals, shared by opportunities, quotes, orders and
//! invoices (P-15, P-17, P-32).
//!
//! Per line: amount = quantity x unit price; manual discount (amount or
//! percent of the amount); net = amount - discount; tax = net x rate;
//! extended = net + tax, each rounded to the currency's minor unit. Per
//! record: detail amount = sum of nets; record discount; pre-freight amount;
//! freight; total tax = sum of line taxes; total = pre-freight + freight +
//! total tax.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::Currency;
use super::product::Product;
use super::Refusal;

/// A discount: a fixed amount or a percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discount {
    Amount(Decimal),
    Percent(Decimal),
}

impl Discount {
    /// The discount on `base`, rounded in `currency`.
    pub fn of(&self, base: Decimal, currency: &Currency) -> Decimal {
        match self {
            Discount::Amount(a) => currency.round(*a),
            Discount::Percent(p) => currency.round(base * *p / Decimal::ONE_HUNDRED),
        }
    }

    fn check(&self, what: &str) -> Result<(), Refusal> {
        match self {
            Discount::Amount(a) if a.is_sign_negative() => {
                Err(Refusal::new(format!("{what} cannot be negative")))
            }
            Discount::Percent(p) if p.is_sign_negative() || *p > Decimal::ONE_HUNDRED => {
                Err(Refusal::new(format!("{what} must be between 0% and 100%")))
            }
            _ => Ok(()),
        }
    }
}

/// One line: a catalogue product or a write-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// Position, stable while the line exists; used to edit or remove it.
    pub no: u32,
    /// The product's SKU; `None` for a write-in line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Discount>,
    /// Tax rate in percent.
    pub tax_rate: Decimal,
}

/// What a line adds up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAmounts {
    pub amount: Decimal,
    pub discount: Decimal,
    pub net: Decimal,
    pub tax: Decimal,
    pub extended: Decimal,
}

impl Line {
    /// The line's amounts in `currency`.
    pub fn amounts(&self, currency: &Currency) -> LineAmounts {
        let amount = currency.round(self.quantity * self.unit_price);
        let discount = self
            .discount
            .map_or(Decimal::ZERO, |d| d.of(amount, currency));
        let net = amount - discount;
        let tax = currency.round(net * self.tax_rate / Decimal::ONE_HUNDRED);
        LineAmounts {
            amount,
            discount,
            net,
            tax,
            extended: net + tax,
        }
    }
}

/// The totals of a record with lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub detail_amount: Decimal,
    pub discount: Decimal,
    pub pre_freight_amount: Decimal,
    pub freight: Decimal,
    pub total_tax: Decimal,
    pub total_amount: Decimal,
}

/// A change to a line, or a new line; absent parts keep their value (or take
/// the catalogue's for a new product line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    pub sku: Option<String>,
    pub description: Option<String>,
    pub quantity: Option<Decimal>,
    pub unit_price: Option<Decimal>,
    pub discount: Option<Discount>,
    pub tax_rate: Option<Decimal>,
}

/// Lines plus record-level discount and freight, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    pub currency: Currency,
    #[serde(default)]
    pub lines: Vec<Line>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Discount>,
    #[serde(default)]
    pub freight: Decimal,
}

impl Pricing {
    /// Empty pricing in `currency`.
    pub fn new(currency: Currency) -> Self {
        Pricing {
            currency,
            lines: Vec::new(),
            discount: None,
            freight: Decimal::ZERO,
        }
    }

    /// The record's totals.
    pub fn totals(&self) -> Totals {
        let mut detail = Decimal::ZERO;
        let mut tax = Decimal::ZERO;
        for line in &self.lines {
            let a = line.amounts(&self.currency);
            detail += a.net;
            tax += a.tax;
        }
        let discount = self
            .discount
            .map_or(Decimal::ZERO, |d| d.of(detail, &self.currency))
            .min(detail.max(Decimal::ZERO));
        let pre = detail - discount;
        let freight = self.currency.round(self.freight);
        Totals {
            detail_amount: detail,
            discount,
            pre_freight_amount: pre,
            freight,
            total_tax: tax,
            total_amount: pre + freight + tax,
        }
    }

    /// Adds a line from the catalogue (`product`) or a write-in; returns its number.
    ///
    /// Fails when the product is in another currency, a write-in has no
    /// description or price, or a quantity, price, discount or tax is out of range.
    pub fn add_line(
        &mut self,
        input: &LineInput,
        product: Option<&Product>,
    ) -> Result<u32, Refusal> {
        let line = match product {
            Some(p) => {
                if !p.active {
                    return Err(Refusal::new(format!(
                        "product {} is retired; choose an active product",
                        p.sku
                    )));
                }
                if p.currency != self.currency {
                    return Err(Refusal::new(format!(
                        "product {} is priced in {}, this record is in {}: amounts of different currencies are never added",
                        p.sku, p.currency, self.currency
                    )));
                }
                Line {
                    no: 0,
                    sku: Some(p.sku.clone()),
                    description: input.description.clone().unwrap_or_else(|| p.name.clone()),
                    quantity: input.quantity.unwrap_or(Decimal::ONE),
                    unit_price: input.unit_price.unwrap_or(p.unit_price),
                    discount: input.discount,
                    tax_rate: input.tax_rate.unwrap_or(p.tax_rate),
                }
            }
            None => {
                let Some(description) = input.description.clone().filter(|d| !d.trim().is_empty())
                else {
                    return Err(Refusal::new(
                        "a write-in line needs a description (name:\"...\") and a price; or give sku: for a catalogue product",
                    ));
                };
                let Some(unit_price) = input.unit_price else {
                    return Err(Refusal::new(format!(
                        "the write-in line '{description}' needs a price (price:...)"
                    )));
                };
                Line {
                    no: 0,
                    sku: None,
                    description,
                    quantity: input.quantity.unwrap_or(Decimal::ONE),
                    unit_price,
                    discount: input.discount,
                    tax_rate: input.tax_rate.unwrap_or(Decimal::ZERO),
                }
            }
        };
        check_line(&line, &self.currency)?;
        let no = self.lines.iter().map(|l| l.no).max().unwrap_or(0) + 1;
        self.lines.push(Line { no, ..line });
        Ok(no)
    }

    /// Changes line `no`; the SKU of a line cannot change.
    ///
    /// Fails when there is no such line or a value is out of range.
    pub fn edit_line(&mut self, no: u32, input: &LineInput) -> Result<(), Refusal> {
        let currency = self.currency.clone();
        let available = self.line_numbers();
        let Some(line) = self.lines.iter_mut().find(|l| l.no == no) else {
            return Err(Refusal::new(format!(
                "there is no line {no}; lines: {available}"
            )));
        };
        if input.sku.is_some() {
            return Err(Refusal::new(
                "a line's product cannot change; remove the line and add another",
            ));
        }
        let mut changed = line.clone();
        if let Some(d) = &input.description {
            changed.description = d.clone();
        }
        if let Some(q) = input.quantity {
            changed.quantity = q;
        }
        if let Some(p) = input.unit_price {
            changed.unit_price = p;
        }
        if let Some(d) = input.discount {
            changed.discount = Some(d);
        }
        if let Some(t) = input.tax_rate {
            changed.tax_rate = t;
        }
        check_line(&changed, &currency)?;
        *line = changed;
        Ok(())
    }

    /// Removes line `no`.
    ///
    /// Fails when there is no such line.
    pub fn remove_line(&mut self, no: u32) -> Result<(), Refusal> {
        let before = self.lines.len();
        let available = self.line_numbers();
        self.lines.retain(|l| l.no != no);
        if self.lines.len() == before {
            return Err(Refusal::new(format!(
                "there is no line {no}; lines: {available}"
            )));
        }
        Ok(())
    }

    /// Sets the record discount.
    ///
    /// Fails for a negative amount or a percentage outside 0..100.
    pub fn set_discount(&mut self, discount: Option<Discount>) -> Result<(), Refusal> {
        if let Some(d) = &discount {
            d.check("the discount")?;
            if let Discount::Amount(a) = d {
                let detail = self.totals().detail_amount;
                if *a > detail {
                    return Err(Refusal::new(format!(
                        "the discount {} is more than the lines' amount {}",
                        self.currency.format(*a),
                        self.currency.format(detail)
                    )));
                }
            }
        }
        self.discount = discount;
        Ok(())
    }

    /// Sets the freight amount.
    ///
    /// Fails for a negative amount.
    pub fn set_freight(&mut self, freight: Decimal) -> Result<(), Refusal> {
        if freight.is_sign_negative() {
            return Err(Refusal::new("freight cannot be negative"));
        }
        self.freight = self.currency.round(freight);
        Ok(())
    }

    /// Changes the currency; only while there are no lines.
    ///
    /// Fails when lines exist, since their prices are in the old currency.
    pub fn set_currency(&mut self, currency: Currency) -> Result<(), Refusal> {
        if currency != self.currency && !self.lines.is_empty() {
            return Err(Refusal::new(format!(
                "the currency cannot change from {} to {} while there are lines; amounts of different currencies are never mixed",
                self.currency, currency
            )));
        }
        self.currency = currency;
        Ok(())
    }

    fn line_numbers(&self) -> String {
        if self.lines.is_empty() {
            "none".to_string()
        } else {
            self.lines
                .iter()
                .map(|l| l.no.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

fn check_line(line: &Line, currency: &Currency) -> Result<(), Refusal> {
    if line.quantity <= Decimal::ZERO {
        return Err(Refusal::new(format!(
            "the quantity must be more than 0, not {}",
            line.quantity
        )));
    }
    if line.unit_price.is_sign_negative() {
        return Err(Refusal::new("a unit price cannot be negative"));
    }
    if line.tax_rate.is_sign_negative() || line.tax_rate > Decimal::ONE_HUNDRED {
        return Err(Refusal::new("the tax rate must be between 0% and 100%"));
    }
    if let Some(d) = &line.discount {
        d.check("a line discount")?;
        let a = line.amounts(currency);
        if a.discount > a.amount {
            return Err(Refusal::new(format!(
                "the line discount {} is more than the line amount {}",
                currency.format(a.discount),
                currency.format(a.amount)
            )));
        }
    }
    Ok(())
}

/// A record that carries lines: opportunities, quotes and orders.
pub trait Priced {
    /// The record's pricing.
    fn pricing(&self) -> &Pricing;
    /// The record's pricing, to change.
    fn pricing_mut(&mut self) -> &mut Pricing;
    /// Refuses line changes in states where the record is read-only.
    ///
    /// Fails naming the state and what to do instead.
    fn ensure_lines_editable(&self, rules: &super::Rules) -> Result<(), Refusal>;
}

/// Implements [`Priced`] for a record with a `pricing` field and a guard.
#[macro_export]
macro_rules! priced {
    ($t:ty, $guard:ident) => {
        impl $crate::domain::lines::Priced for $t {
            fn pricing(&self) -> &$crate::domain::lines::Pricing {
                &self.pricing
            }
            fn pricing_mut(&mut self) -> &mut $crate::domain::lines::Pricing {
                &mut self.pricing
            }
            fn ensure_lines_editable(
                &self,
                rules: &$crate::domain::Rules,
            ) -> Result<(), $crate::domain::Refusal> {
                self.$guard(rules, "change the lines of")
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("test literal")
    }

    fn eur() -> Currency {
        Currency::parse("EUR").expect("valid")
    }

    fn chair() -> Product {
        Product {
            sku: "CHAIR-01".into(),
            name: "Office chair".into(),
            unit_price: d("199.99"),
            currency: eur(),
            tax_rate: d("19"),
            active: true,
            description: None,
        }
    }

    #[test]
    fn totals_follow_the_documented_formula() {
        let mut p = Pricing::new(eur());
        let input = LineInput {
            quantity: Some(d("10")),
            discount: Some(Discount::Percent(d("5"))),
            ..LineInput::default()
        };
        p.add_line(&input, Some(&chair())).expect("valid line");
        let write_in = LineInput {
            description: Some("Delivery setup".into()),
            unit_price: Some(d("50")),
            ..LineInput::default()
        };
        p.add_line(&write_in, None).expect("valid line");
        p.set_discount(Some(Discount::Amount(d("100"))))
            .expect("valid");
        p.set_freight(d("25")).expect("valid");
        let t = p.totals();
        // 10 x 199.99 = 1999.90, 5% = 99.995 -> 100.00, net 1899.90, tax 360.98
        assert_eq!(t.detail_amount, d("1949.90"));
        assert_eq!(t.discount, d("100.00"));
        assert_eq!(t.pre_freight_amount, d("1849.90"));
        assert_eq!(t.total_tax, d("360.98"));
        assert_eq!(t.total_amount, d("2235.88"));
    }

    #[test]
    fn a_product_in_another_currency_is_refused() {
        let mut p = Pricing::new(Currency::parse("USD").expect("valid"));
        let e = p.add_line(&LineInput::default(), Some(&chair()));
        assert!(e.is_err_and(|r| r.message().contains("different currencies")));
        assert!(p.lines.is_empty());
    }

    #[test]
    fn negative_or_zero_quantities_are_refused() {
        let mut p = Pricing::new(eur());
        for q in ["0", "-1"] {
            let input = LineInput {
                quantity: Some(d(q)),
                ..LineInput::default()
            };
            assert!(p.add_line(&input, Some(&chair())).is_err());
        }
        assert!(p.lines.is_empty());
    }

    #[test]
    fn a_discount_above_the_line_amount_is_refused() {
        let mut p = Pricing::new(eur());
        let input = LineInput {
            discount: Some(Discount::Amount(d("500"))),
            ..LineInput::default()
        };
        assert!(p.add_line(&input, Some(&chair())).is_err());
    }

    #[test]
    fn line_numbers_stay_stable_after_removal() {
        let mut p = Pricing::new(eur());
        let a = p
            .add_line(&LineInput::default(), Some(&chair()))
            .expect("valid");
        let b = p
            .add_line(&LineInput::default(), Some(&chair()))
            .expect("valid");
        p.remove_line(a).expect("exists");
        let c = p
            .add_line(&LineInput::default(), Some(&chair()))
            .expect("valid");
        assert_eq!((a, b, c), (1, 2, 3));
        assert!(p.remove_line(a).is_err());
    }
}
