//! The product catalogue: what lines are priced from (P-15).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::fields::{Editable, FieldSpec, FieldType, FieldValue};
use super::money::Currency;
use super::Refusal;

/// A catalogue product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Stock keeping unit, upper case; the product's id.
    pub sku: String,
    pub name: String,
    pub unit_price: Decimal,
    pub currency: Currency,
    /// Default tax rate in percent.
    pub tax_rate: Decimal,
    /// Retired products stay on old lines but cannot be added to new ones.
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Product {
    /// Normalises and checks a SKU: letters, digits, `-`, `_`, `.`; upper case.
    ///
    /// Fails for an empty SKU or other characters.
    pub fn parse_sku(sku: &str) -> Result<String, Refusal> {
        let s = sku.trim().to_ascii_uppercase();
        if s.is_empty()
            || s.len() > 64
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(Refusal::new(format!(
                "'{sku}' is not a SKU; use letters, digits, '-', '_' or '.'"
            )));
        }
        Ok(s)
    }

    /// A new product from its fields, which must include a price.
    ///
    /// Fails when a value does not fit its field or no price is given.
    pub fn create(
        sku: String,
        currency: Currency,
        fields: Vec<(&'static str, FieldValue)>,
    ) -> Result<Product, Refusal> {
        let mut p = Product::new(sku, currency);
        let mut has_price = false;
        for (name, value) in fields {
            has_price |= name == "price";
            p.set(name, value)?;
        }
        if !has_price {
            return Err(Refusal::new(format!(
                "a new product needs a price: /product new {} price:199.00",
                p.sku
            )));
        }
        Ok(p)
    }

    /// Refuses a second product with the SKU of `self`.
    pub fn exists_already(&self) -> Refusal {
        Refusal::new(format!(
            "product {} already exists; change it with /product edit {} ...",
            self.sku, self.sku
        ))
    }

    /// A new active product with no price yet.
    pub fn new(sku: String, currency: Currency) -> Product {
        Product {
            name: sku.clone(),
            sku,
            unit_price: Decimal::ZERO,
            currency,
            tax_rate: Decimal::ZERO,
            active: true,
            description: None,
        }
    }
}

impl Editable for Product {
    const FIELDS: &'static [FieldSpec] = crate::fields![
        "name" => FieldType::Text,
        "price" | "unit_price" => FieldType::Amount,
        "currency" => FieldType::Currency,
        "tax" | "tax_rate" | "vat" => FieldType::Percent,
        "description" | "desc" => FieldType::Text,
        "status" => FieldType::Choice(&["active", "retired"]),
    ];

    fn set(&mut self, field: &'static str, value: FieldValue) -> Result<(), Refusal> {
        match field {
            "name" => self.name = value.required_text("a product's name")?,
            "price" => {
                self.unit_price = value
                    .decimal()
                    .ok_or_else(|| Refusal::new("a product needs a price"))?
            }
            "currency" => self.currency = value.currency()?,
            "tax" => self.tax_rate = value.decimal().unwrap_or(Decimal::ZERO),
            "description" => self.description = value.text(),
            "status" => self.active = value.text().as_deref() != Some("retired"),
            _ => return Err(Refusal::new(format!("products have no field {field}"))),
        }
        Ok(())
    }

    fn custom_mut(&mut self) -> Option<&mut super::fields::CustomValues> {
        None
    }
}
