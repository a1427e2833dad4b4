//! Product lines and totals, shared by opportunities, quotes, orders and
//! invoices (P-15, P-17, P-32).
//!
//! Per line: amount = quantity x unit price; manual discount (amount or
//! percent of the amount); net = amount - discount, each rounded to the
//! currency's minor unit. Per record: detail amount = sum of nets; record
//! discount; pre-freight amount = detail - discount; freight.
//!
//! Tax is charged on what the customer pays (German VAT, §10 UStG): the
//! nets are grouped by tax rate; the record discount is shared among the
//! rates in proportion to their nets, and so is the freight (unless the
//! record has a freight tax rate of its own); each rate's tax = (its nets -
//! its share of the discount + its share of the freight) x rate, rounded.
//! Shares are rounded and the largest rate group takes the remainder, so
//! they add up to the discount and freight exactly. Total tax = sum of the
//! rates' taxes; total = pre-freight + freight + total tax.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// Lines plus record-level discount and freight, in one currency. Stored
/// with its [`Totals`] beside it (`totals`, computed, never read back):
/// so the record's amounts can be read without leadline (the PostgreSQL
/// views, an export).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "StoredPricing")]
pub struct Pricing {
    pub currency: Currency,
    #[serde(default)]
    pub lines: Vec<Line>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Discount>,
    #[serde(default)]
    pub freight: Decimal,
    /// The tax rate of the freight; `None`: the lines' rates, shared as
    /// their nets are (freight follows the goods, as German practice has it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freight_tax: Option<Decimal>,
}

/// [`Pricing`] as it is written: the same fields and its totals.
#[derive(Serialize)]
struct StoredPricing {
    currency: Currency,
    lines: Vec<Line>,
    #[serde(skip_serializing_if = "Option::is_none")]
    discount: Option<Discount>,
    freight: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    freight_tax: Option<Decimal>,
    totals: Totals,
}

impl From<Pricing> for StoredPricing {
    fn from(p: Pricing) -> Self {
        let totals = p.totals();
        StoredPricing {
            currency: p.currency,
            lines: p.lines,
            discount: p.discount,
            freight: p.freight,
            freight_tax: p.freight_tax,
            totals,
        }
    }
}

/// One tax rate's part of a record: what it is charged on, and the tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxShare {
    /// The rate in percent.
    pub rate: Decimal,
    /// Nets at this rate, less their share of the record discount, plus
    /// their share of the freight.
    pub base: Decimal,
    pub tax: Decimal,
}

/// One tax rate's part of a record, with where its basis comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxPart {
    /// The rate in percent.
    pub rate: Decimal,
    /// The nets of the lines at this rate.
    pub lines_net: Decimal,
    /// This rate's share of the record discount.
    pub allowance: Decimal,
    /// This rate's share of the freight.
    pub charge: Decimal,
    /// lines_net - allowance + charge.
    pub base: Decimal,
    pub tax: Decimal,
}

impl Pricing {
    /// Empty pricing in `currency`.
    pub fn new(currency: Currency) -> Self {
        Pricing {
            currency,
            lines: Vec::new(),
            discount: None,
            freight: Decimal::ZERO,
            freight_tax: None,
        }
    }

    /// Detail amount (sum of nets) and the record discount on it.
    fn detail_and_discount(&self) -> (Decimal, Decimal) {
        let detail: Decimal = self
            .lines
            .iter()
            .map(|l| l.amounts(&self.currency).net)
            .sum();
        let discount = self
            .discount
            .map_or(Decimal::ZERO, |d| d.of(detail, &self.currency))
            .min(detail.max(Decimal::ZERO));
        (detail, discount)
    }

    /// The tax per rate, lowest rate first (see the module documentation).
    pub fn tax_shares(&self) -> Vec<TaxShare> {
        self.tax_parts()
            .into_iter()
            .map(|p| TaxShare {
                rate: p.rate,
                base: p.base,
                tax: p.tax,
            })
            .collect()
    }

    /// Each rate's part, lowest rate first, with where its basis comes
    /// from: its lines' nets, less its share of the record discount, plus
    /// its share of the freight (an e-invoice states each of them).
    pub fn tax_parts(&self) -> Vec<TaxPart> {
        let c = &self.currency;
        let mut nets: BTreeMap<Decimal, Decimal> = BTreeMap::new();
        for line in &self.lines {
            *nets.entry(line.tax_rate.normalize()).or_default() += line.amounts(c).net;
        }
        let (_, discount) = self.detail_and_discount();
        let allowances: BTreeMap<Decimal, Decimal> =
            spread(discount, &nets, c).into_iter().collect();
        let mut after_discount = nets.clone();
        for (rate, share) in &allowances {
            *after_discount.entry(*rate).or_default() -= *share;
        }
        let freight = c.round(self.freight);
        let charges: BTreeMap<Decimal, Decimal> = match self.freight_tax {
            Some(rate) => [(rate.normalize(), freight)].into_iter().collect(),
            None if after_discount.is_empty() => [(Decimal::ZERO, freight)].into_iter().collect(),
            None => spread(freight, &after_discount, c).into_iter().collect(),
        };
        let rates: std::collections::BTreeSet<Decimal> =
            nets.keys().chain(charges.keys()).copied().collect();
        rates
            .into_iter()
            .map(|rate| {
                let lines_net = nets.get(&rate).copied().unwrap_or_default();
                let allowance = allowances.get(&rate).copied().unwrap_or_default();
                let charge = charges.get(&rate).copied().unwrap_or_default();
                let base = lines_net - allowance + charge;
                TaxPart {
                    rate,
                    lines_net,
                    allowance,
                    charge,
                    base,
                    tax: c.round(base * rate / Decimal::ONE_HUNDRED),
                }
            })
            .filter(|p| !p.base.is_zero())
            .collect()
    }

    /// The record's totals.
    pub fn totals(&self) -> Totals {
        let (detail, discount) = self.detail_and_discount();
        let pre = detail - discount;
        let freight = self.currency.round(self.freight);
        let tax: Decimal = self.tax_shares().iter().map(|s| s.tax).sum();
        Totals {
            detail_amount: detail,
            discount,
            pre_freight_amount: pre,
            freight,
            total_tax: tax,
            total_amount: pre + freight + tax,
        }
    }

    /// Sets the tax rate of the freight (`None`: the lines' rates).
    ///
    /// Fails outside 0..100%.
    pub fn set_freight_tax(&mut self, rate: Option<Decimal>) -> Result<(), Refusal> {
        if rate.is_some_and(|r| r.is_sign_negative() || r > Decimal::ONE_HUNDRED) {
            return Err(Refusal::new(
                "the freight tax rate must be between 0% and 100%",
            ));
        }
        self.freight_tax = rate;
        Ok(())
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

/// `amount` shared among `weights` in proportion, each share rounded in
/// `currency`; the largest weight takes the remainder, so the shares add
/// up to `amount` exactly.
fn spread(
    amount: Decimal,
    weights: &BTreeMap<Decimal, Decimal>,
    currency: &Currency,
) -> Vec<(Decimal, Decimal)> {
    let total: Decimal = weights.values().copied().sum();
    if amount.is_zero() || total.is_zero() {
        return Vec::new();
    }
    let Some(largest) = weights
        .iter()
        .max_by(|a, b| a.1.abs().cmp(&b.1.abs()).then(a.0.cmp(b.0)))
        .map(|(rate, _)| *rate)
    else {
        return Vec::new();
    };
    let mut shares: Vec<(Decimal, Decimal)> = weights
        .iter()
        .filter(|(rate, _)| **rate != largest)
        .map(|(rate, w)| (*rate, currency.round(amount * *w / total)))
        .collect();
    let rest = amount - shares.iter().map(|(_, s)| *s).sum::<Decimal>();
    shares.push((largest, rest));
    shares
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
        // 10 x 199.99 = 1999.90, 5% = 99.995 -> 100.00, net 1899.90 at
        // 19%; 50.00 at 0%. The 100.00 discount: 2.56 on the 0% net, 97.44
        // on the 19%; the 25.00 freight: 0.64 and 24.36. 19% of 1826.82 =
        // 347.10.
        assert_eq!(t.detail_amount, d("1949.90"));
        assert_eq!(t.discount, d("100.00"));
        assert_eq!(t.pre_freight_amount, d("1849.90"));
        assert_eq!(t.total_tax, d("347.10"));
        assert_eq!(t.total_amount, d("2222.00"));
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

    fn book() -> Product {
        Product {
            sku: "BOOK".into(),
            name: "Guide".into(),
            unit_price: d("24.50"),
            currency: eur(),
            tax_rate: d("7"),
            active: true,
            description: None,
        }
    }

    /// The README's worked example.
    fn mixed() -> Pricing {
        let mut p = Pricing::new(eur());
        let chairs = LineInput {
            quantity: Some(d("10")),
            discount: Some(Discount::Percent(d("5"))),
            ..LineInput::default()
        };
        p.add_line(&chairs, Some(&chair())).expect("chairs");
        let books = LineInput {
            quantity: Some(d("2")),
            ..LineInput::default()
        };
        p.add_line(&books, Some(&book())).expect("books");
        p.set_discount(Some(Discount::Percent(d("10"))))
            .expect("discount");
        p.set_freight(d("50")).expect("freight");
        p
    }

    #[test]
    fn a_record_discount_lowers_the_tax_base_of_each_rate_in_proportion() {
        let p = mixed();
        let shares = p.tax_shares();
        assert_eq!(
            shares,
            vec![
                TaxShare {
                    rate: d("7"),
                    base: d("45.36"),
                    tax: d("3.18")
                },
                TaxShare {
                    rate: d("19"),
                    base: d("1758.65"),
                    tax: d("334.14")
                },
            ]
        );
        let t = p.totals();
        assert_eq!(t.discount, d("194.89"));
        assert_eq!(t.total_tax, d("337.32"));
        assert_eq!(t.total_amount, d("2141.33"));
        // The bases add up to what the customer pays before tax.
        let bases: Decimal = shares.iter().map(|s| s.base).sum();
        assert_eq!(bases, t.pre_freight_amount + t.freight);
    }

    #[test]
    fn freight_with_a_rate_of_its_own_is_taxed_at_that_rate() {
        let mut p = mixed();
        p.set_freight_tax(Some(d("19"))).expect("rate");
        let shares = p.tax_shares();
        // 7%: 49.00 - 4.90 discount; 19%: 1899.90 - 189.99 + 50 freight.
        assert_eq!(shares[0].base, d("44.10"));
        assert_eq!(shares[1].base, d("1759.91"));
        assert!(p.set_freight_tax(Some(d("101"))).is_err());
    }

    #[test]
    fn shares_always_add_up_to_the_discount_and_freight() {
        let mut p = Pricing::new(eur());
        for (price, rate) in [("0.01", "19"), ("0.01", "7"), ("0.01", "0")] {
            let input = LineInput {
                description: Some("x".into()),
                unit_price: Some(d(price)),
                tax_rate: Some(d(rate)),
                ..LineInput::default()
            };
            p.add_line(&input, None).expect("line");
        }
        p.set_discount(Some(Discount::Amount(d("0.02"))))
            .expect("discount");
        p.set_freight(d("0.01")).expect("freight");
        let bases: Decimal = p.tax_shares().iter().map(|s| s.base).sum();
        let t = p.totals();
        assert_eq!(bases, t.pre_freight_amount + t.freight);
        assert_eq!(bases, d("0.02"));
    }
}
