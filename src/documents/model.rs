//! A document as the customer receives it, computed once from a stored
//! record: the parties, every line, and the totals by EN 16931's rules
//! (line nets; document allowance and charge per tax rate; tax basis and
//! tax per rate; grand total; prepaid; due). The PDF and the e-invoice
//! XML are both written from this, so they cannot disagree.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::config::company::CompanyConfig;
use crate::domain::invoice::{Invoice, InvoiceState};
use crate::domain::lines::Pricing;
use crate::domain::money::Currency;
use crate::domain::order::{Order, OrderState};
use crate::domain::party::{Account, Contact};
use crate::domain::quote::Quote;

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Quote,
    /// An order confirmation.
    Order,
    Invoice,
    /// The credit note that cancels an invoice.
    CreditNote,
}

impl DocKind {
    /// The UNTDID 1001 code an e-invoice gives it (380 invoice, 381
    /// credit note); `None` for documents that are no invoices.
    pub fn invoice_type_code(self) -> Option<&'static str> {
        match self {
            DocKind::Invoice => Some("380"),
            DocKind::CreditNote => Some("381"),
            _ => None,
        }
    }
}

pub use crate::domain::language::Lang;

/// The customer a document is for.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Buyer {
    pub name: String,
    /// The person it is for, when there is one.
    pub contact: Option<String>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2, as far as it can be told from the account.
    pub country: String,
    /// The country as the account spells it, when it is not the seller's.
    pub country_name: Option<String>,
    pub vat_id: Option<String>,
    /// The Leitweg-ID of a public customer (XRechnung's buyer reference).
    pub leitweg_id: Option<String>,
    /// Its 0 % parts are reverse charge (§ 13b UStG).
    pub reverse_charge: bool,
    pub email: Option<String>,
    /// The account's id as shown (`A-1001`): the customer number.
    pub number: Option<String>,
}

/// One line of a document, with its amounts (positive on a credit note).
#[derive(Debug, Clone, Serialize)]
pub struct DocLine {
    pub position: u32,
    pub sku: Option<String>,
    pub description: String,
    pub quantity: Decimal,
    /// UN/ECE Recommendation 20 unit (`C62`: one, piece).
    pub unit_code: &'static str,
    pub unit_price: Decimal,
    /// quantity x unit price, rounded.
    pub amount: Decimal,
    pub discount: Decimal,
    /// amount - discount: EN 16931's line net amount (BT-131).
    pub net: Decimal,
    pub tax_rate: Decimal,
    /// `S` standard rated, `E` exempt (UNTDID 5305).
    pub tax_category: &'static str,
}

/// One tax rate's part: its lines, its share of the document discount and
/// freight, the basis and the tax.
#[derive(Debug, Clone, Serialize)]
pub struct TaxPart {
    pub rate: Decimal,
    pub category: &'static str,
    pub lines_net: Decimal,
    pub allowance: Decimal,
    pub charge: Decimal,
    pub basis: Decimal,
    pub tax: Decimal,
}

/// The totals (EN 16931 BG-22).
#[derive(Debug, Clone, Serialize)]
pub struct DocTotals {
    /// Sum of line nets (BT-106).
    pub lines: Decimal,
    /// Document discount (BT-107).
    pub allowances: Decimal,
    /// Freight (BT-108).
    pub charges: Decimal,
    /// BT-109 = lines - allowances + charges.
    pub tax_basis: Decimal,
    /// BT-110.
    pub tax: Decimal,
    /// BT-112 = basis + tax.
    pub grand: Decimal,
    /// BT-113.
    pub paid: Decimal,
    /// BT-115 = grand - paid.
    pub due: Decimal,
}

/// A document, ready to print and to write as an e-invoice.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub kind: DocKind,
    pub language: Lang,
    /// The number as shown (`INV-1001`, `Q-1001-2`).
    pub number: String,
    pub title: String,
    pub issue_date: NaiveDate,
    /// When the goods or service were delivered (invoices, §14 (4) Nr. 6 UStG).
    pub delivery_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    /// Until when a quote holds.
    pub valid_until: Option<NaiveDate>,
    /// The order it bills or confirms, as shown.
    pub order: Option<String>,
    /// The invoice a credit note cancels, as shown.
    pub corrects: Option<String>,
    /// Who at the seller handles it.
    pub handled_by: String,
    pub currency: Currency,
    pub seller: CompanyConfig,
    pub buyer: Buyer,
    pub lines: Vec<DocLine>,
    pub taxes: Vec<TaxPart>,
    pub totals: DocTotals,
    pub description: Option<String>,
}

/// What a document is made from: the record and its customer, as read.
pub struct Source {
    pub record: Record,
    pub account: Option<Account>,
    pub contact: Option<Contact>,
    /// The order of an invoice (for its delivery date).
    pub order: Option<Order>,
}

/// The record a document prints.
pub enum Record {
    Quote(Quote),
    Order(Order),
    Invoice(Invoice),
}

impl Record {
    /// The team member who owns it.
    pub fn owner(&self) -> &str {
        match self {
            Record::Quote(q) => &q.owner,
            Record::Order(o) => &o.owner,
            Record::Invoice(i) => &i.owner,
        }
    }
}

/// Builds the document for `source`.
pub fn build(
    source: &Source,
    company: &CompanyConfig,
    default_language: &str,
    rules: &crate::domain::Rules,
    handled_by: &str,
) -> Document {
    let language = Lang::parse(
        source.account.as_ref().and_then(|a| a.language.as_deref()),
        default_language,
    );
    let buyer = buyer(source, company, rules);
    let show = |kind, n| rules.show(kind, n);
    use crate::domain::Kind;
    let (kind, number, title, issue, pricing, description) = match &source.record {
        Record::Quote(q) => (
            DocKind::Quote,
            if q.revision > 1 {
                format!("{}-{}", show(Kind::Quote, q.number), q.revision)
            } else {
                show(Kind::Quote, q.number)
            },
            q.name.clone(),
            q.created_at.date_naive(),
            q.pricing.clone(),
            q.description.clone(),
        ),
        Record::Order(o) => (
            DocKind::Order,
            show(Kind::Order, o.number),
            o.name.clone(),
            o.created_at.date_naive(),
            o.pricing.clone(),
            o.description.clone(),
        ),
        Record::Invoice(i) => {
            let credit = matches!(i.state, InvoiceState::CreditNote { .. });
            (
                if credit {
                    DocKind::CreditNote
                } else {
                    DocKind::Invoice
                },
                show(Kind::Invoice, i.number),
                // A credit note's record is named after the invoice it
                // cancels ("Credit note for INV-1001: ..."); the document
                // says that in its own language, so it keeps the rest.
                if credit {
                    i.name
                        .split_once(": ")
                        .map_or(i.name.clone(), |(_, rest)| rest.to_string())
                } else {
                    i.name.clone()
                },
                i.invoice_date,
                if credit {
                    positive(&i.pricing)
                } else {
                    i.pricing.clone()
                },
                i.description.clone(),
            )
        }
    };
    let zero = crate::domain::vat::zero_rated(
        &company.country,
        &buyer.country,
        buyer.vat_id.is_some(),
        buyer.reverse_charge,
    );
    let category = |rate: Decimal| if rate.is_zero() { zero } else { "S" };
    let c = &pricing.currency;
    let lines: Vec<DocLine> = pricing
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let a = l.amounts(c);
            DocLine {
                position: i as u32 + 1,
                sku: l.sku.clone(),
                description: l.description.clone(),
                quantity: l.quantity,
                unit_code: "C62",
                unit_price: l.unit_price,
                amount: a.amount,
                discount: a.discount,
                net: a.net,
                tax_rate: l.tax_rate.normalize(),
                tax_category: category(l.tax_rate),
            }
        })
        .collect();
    let totals = pricing.totals();
    let taxes: Vec<TaxPart> = pricing
        .tax_parts()
        .into_iter()
        .map(|p| TaxPart {
            rate: p.rate,
            category: category(p.rate),
            lines_net: p.lines_net,
            allowance: p.allowance,
            charge: p.charge,
            basis: p.base,
            tax: p.tax,
        })
        .collect();
    let paid = match &source.record {
        Record::Invoice(i) if kind == DocKind::Invoice => i.paid(),
        _ => Decimal::ZERO,
    };
    let grand = totals.total_amount;
    let (delivery_date, due_date, valid_until, order, corrects) = match &source.record {
        Record::Quote(q) => (None, None, q.valid_until, None, None),
        Record::Order(o) => (o.delivery_date, None, None, None, None),
        Record::Invoice(i) => (
            Some(delivery_date(i, source.order.as_ref())),
            (kind == DocKind::Invoice).then_some(i.due_date),
            None,
            Some(show(Kind::Order, i.order)),
            i.corrects.map(|n| show(Kind::Invoice, n)),
        ),
    };
    Document {
        kind,
        language,
        number,
        title,
        issue_date: issue,
        delivery_date,
        due_date,
        valid_until,
        order,
        corrects,
        handled_by: handled_by.to_string(),
        currency: c.clone(),
        seller: company.clone(),
        buyer,
        lines,
        taxes,
        totals: DocTotals {
            lines: totals.detail_amount,
            allowances: totals.discount,
            charges: totals.freight,
            tax_basis: totals.pre_freight_amount + totals.freight,
            tax: totals.total_tax,
            grand,
            paid,
            due: grand - paid,
        },
        description,
    }
}

/// When an invoice's goods went out: its order's fulfilment date, else the
/// order's delivery date, else the invoice date.
fn delivery_date(i: &Invoice, order: Option<&Order>) -> NaiveDate {
    match order {
        Some(Order {
            state: OrderState::Fulfilled { closing } | OrderState::Invoiced { closing, .. },
            ..
        }) => closing.date,
        Some(Order {
            delivery_date: Some(d),
            ..
        }) => *d,
        _ => i.invoice_date,
    }
}

/// A credit note's pricing with its signs turned back: a credit note
/// states positive amounts; its type says they are credited.
fn positive(p: &Pricing) -> Pricing {
    use crate::domain::lines::Discount;
    let mut p = p.clone();
    for line in &mut p.lines {
        line.quantity = -line.quantity;
        if let Some(Discount::Amount(a)) = line.discount {
            line.discount = Some(Discount::Amount(-a));
        }
    }
    if let Some(Discount::Amount(a)) = p.discount {
        p.discount = Some(Discount::Amount(-a));
    }
    p.freight = -p.freight;
    p
}

fn buyer(source: &Source, company: &CompanyConfig, rules: &crate::domain::Rules) -> Buyer {
    let contact_name = source.contact.as_ref().map(|c| c.full_name());
    let Some(a) = &source.account else {
        return Buyer {
            name: contact_name.unwrap_or_default(),
            country: company.country.clone(),
            email: source.contact.as_ref().and_then(|c| c.email.clone()),
            ..Buyer::default()
        };
    };
    let country = a
        .address
        .country
        .as_deref()
        .map(country_code)
        .unwrap_or_else(|| Some(company.country.clone()));
    let country_name = a
        .address
        .country
        .clone()
        .filter(|_| country.as_deref() != Some(company.country.as_str()));
    Buyer {
        name: a.name.clone(),
        contact: contact_name,
        street: a.address.street.clone(),
        postal_code: a.address.postal_code.clone(),
        city: a.address.city.clone(),
        country: country.unwrap_or_else(|| company.country.clone()),
        country_name,
        vat_id: a.vat_id.clone(),
        leitweg_id: a.leitweg_id.clone(),
        reverse_charge: a.reverse_charge,
        email: source.contact.as_ref().and_then(|c| c.email.clone()),
        number: Some(rules.show(crate::domain::Kind::Account, a.number)),
    }
}

/// The ISO code of a country as people write it (`Deutschland`,
/// `Germany`, `DE`, `Österreich`...); `None` when it cannot be told.
pub fn country_code(name: &str) -> Option<String> {
    let n: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'ä' => 'a',
            'ö' => 'o',
            'ü' => 'u',
            'é' | 'è' => 'e',
            'ñ' => 'n',
            c => c,
        })
        .collect::<String>()
        .replace('ß', "ss");
    let code = match n.as_str() {
        "de" | "deutschland" | "germany" | "brd" => "DE",
        "at" | "osterreich" | "oesterreich" | "austria" => "AT",
        "ch" | "schweiz" | "switzerland" | "suisse" => "CH",
        "fr" | "frankreich" | "france" => "FR",
        "nl" | "niederlande" | "netherlands" | "holland" => "NL",
        "be" | "belgien" | "belgium" | "belgique" => "BE",
        "lu" | "luxemburg" | "luxembourg" => "LU",
        "it" | "italien" | "italy" | "italia" => "IT",
        "es" | "spanien" | "spain" | "espana" => "ES",
        "pl" | "polen" | "poland" | "polska" => "PL",
        "cz" | "tschechien" | "czechia" | "czech republic" => "CZ",
        "dk" | "danemark" | "daenemark" | "denmark" => "DK",
        "se" | "schweden" | "sweden" => "SE",
        "gb" | "uk" | "united kingdom" | "grossbritannien" | "england" => "GB",
        "us" | "usa" | "united states" | "vereinigte staaten" => "US",
        other if other.len() == 2 && other.bytes().all(|b| b.is_ascii_alphabetic()) => {
            return Some(other.to_ascii_uppercase())
        }
        _ => return None,
    };
    Some(code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_are_told_by_their_names() {
        assert_eq!(country_code("Deutschland").as_deref(), Some("DE"));
        assert_eq!(country_code("Österreich").as_deref(), Some("AT"));
        assert_eq!(country_code("fr").as_deref(), Some("FR"));
        assert_eq!(country_code("Atlantis"), None);
    }
}
