//! Editable fields: the built-in ones of each record kind and the custom
//! fields a team configures (P-31).
//!
//! The command layer turns `name:value` text into a typed [`FieldValue`]
//! using the field's [`FieldType`]; records then take typed values only.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::ids::Kind;
use super::lines::Discount;
use super::money::Currency;
use super::Refusal;

/// What a field holds, and so how its text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Email,
    Website,
    Phone,
    Date,
    /// A money amount in the record's currency, not negative.
    Amount,
    /// A whole percentage 0..=100.
    Probability,
    /// A percentage 0..=100 with decimals (tax rates).
    Percent,
    Discount,
    Currency,
    /// A team member's name.
    Owner,
    /// An id of a record of this kind.
    Ref(Kind),
    /// One of these values (case-insensitive).
    Choice(&'static [&'static str]),
    /// A decimal number (custom fields).
    Number,
    /// One of the configured values of a custom field.
    CustomChoice,
}

/// A built-in field: its name, the other names people type, its type.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub ty: FieldType,
}

/// Shorthand for a table of [`FieldSpec`]s.
#[macro_export]
macro_rules! fields {
    ($( $name:literal $( | $alias:literal )* => $ty:expr ),* $(,)?) => {
        &[ $( $crate::domain::fields::FieldSpec { name: $name, aliases: &[$($alias),*], ty: $ty } ),* ]
    };
}

/// Normalises a field or option name: lower case, `-` and spaces as `_`.
pub fn normalize_name(name: &str) -> String {
    name.trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c == '-' || c == ' ' || c == '.' {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Finds a built-in field by name or alias.
pub fn find(specs: &'static [FieldSpec], name: &str) -> Option<&'static FieldSpec> {
    let n = normalize_name(name);
    specs
        .iter()
        .find(|s| s.name == n || s.aliases.contains(&n.as_str()))
}

/// A typed value for one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldValue {
    Text(String),
    Date(NaiveDate),
    Amount(Decimal),
    Number(Decimal),
    Discount(Discount),
    Currency(Currency),
    Ref(u64),
    /// The user emptied the field (`field:""` or `field:-`).
    Cleared,
}

impl FieldValue {
    /// Text, or `None` when cleared.
    pub fn text(self) -> Option<String> {
        match self {
            FieldValue::Text(t) => Some(t),
            _ => None,
        }
    }

    /// Text that may not be cleared.
    ///
    /// Fails when the value was cleared.
    pub fn required_text(self, field: &str) -> Result<String, Refusal> {
        self.text()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| Refusal::new(format!("{field} cannot be empty")))
    }

    /// A date, or `None` when cleared.
    pub fn date(self) -> Option<NaiveDate> {
        match self {
            FieldValue::Date(d) => Some(d),
            _ => None,
        }
    }

    /// An amount or number, or `None` when cleared.
    pub fn decimal(self) -> Option<Decimal> {
        match self {
            FieldValue::Amount(d) | FieldValue::Number(d) => Some(d),
            _ => None,
        }
    }

    /// A reference, or `None` when cleared.
    pub fn reference(self) -> Option<u64> {
        match self {
            FieldValue::Ref(n) => Some(n),
            _ => None,
        }
    }

    /// A discount, or `None` when cleared.
    pub fn discount(self) -> Option<Discount> {
        match self {
            FieldValue::Discount(d) => Some(d),
            _ => None,
        }
    }

    /// A currency that may not be cleared.
    ///
    /// Fails when the value was cleared.
    pub fn currency(self) -> Result<Currency, Refusal> {
        match self {
            FieldValue::Currency(c) => Ok(c),
            _ => Err(Refusal::new("the currency cannot be empty")),
        }
    }

    /// How the value reads in replies and history.
    pub fn display(&self) -> String {
        match self {
            FieldValue::Text(t) => t.clone(),
            FieldValue::Date(d) => d.to_string(),
            FieldValue::Amount(d) | FieldValue::Number(d) => d.to_string(),
            FieldValue::Discount(Discount::Amount(a)) => a.to_string(),
            FieldValue::Discount(Discount::Percent(p)) => format!("{p}%"),
            FieldValue::Currency(c) => c.to_string(),
            FieldValue::Ref(n) => n.to_string(),
            FieldValue::Cleared => String::new(),
        }
    }
}

/// Custom field values of one record, by field name.
pub type CustomValues = BTreeMap<String, FieldValue>;

/// The type of a configured custom field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomType {
    Text,
    Number,
    Date,
    Choice,
}

/// One configured custom field (P-31).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomField {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: CustomType,
    /// The allowed values of a `choice` field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

impl CustomField {
    /// The field type the command layer reads its text with.
    pub fn field_type(&self) -> FieldType {
        match self.ty {
            CustomType::Text => FieldType::Text,
            CustomType::Number => FieldType::Number,
            CustomType::Date => FieldType::Date,
            CustomType::Choice => FieldType::CustomChoice,
        }
    }

    /// The configured spelling of `value`, for a choice field.
    ///
    /// Fails with the list of allowed values.
    pub fn choose(&self, value: &str) -> Result<String, Refusal> {
        let want = normalize_name(value);
        self.choices
            .iter()
            .find(|c| normalize_name(c) == want)
            .cloned()
            .ok_or_else(|| {
                Refusal::new(format!(
                    "'{value}' is not allowed for {}; allowed: {}",
                    self.name,
                    self.choices.join(", ")
                ))
            })
    }
}

/// Sets or clears a custom value.
pub fn set_custom(values: &mut CustomValues, name: &str, value: FieldValue) {
    if value == FieldValue::Cleared {
        values.remove(name);
    } else {
        values.insert(name.to_string(), value);
    }
}

/// A record whose fields can be edited by name.
pub trait Editable {
    /// The record's built-in editable fields.
    const FIELDS: &'static [FieldSpec];

    /// Whether the record also has the address fields
    /// ([`super::party::ADDRESS_FIELDS`]).
    const HAS_ADDRESS: bool = false;

    /// Finds one of the record's built-in fields by name or alias.
    fn field(name: &str) -> Option<&'static FieldSpec> {
        find(Self::FIELDS, name).or_else(|| {
            if Self::HAS_ADDRESS {
                find(super::party::ADDRESS_FIELDS, name)
            } else {
                None
            }
        })
    }

    /// The names of all built-in fields, for help and error messages.
    fn field_names() -> Vec<&'static str> {
        let address: &[FieldSpec] = if Self::HAS_ADDRESS {
            super::party::ADDRESS_FIELDS
        } else {
            &[]
        };
        Self::FIELDS.iter().chain(address).map(|f| f.name).collect()
    }

    /// Sets one built-in field (named by its canonical name).
    ///
    /// Fails when the value is not allowed for that field.
    fn set(&mut self, field: &'static str, value: FieldValue) -> Result<(), Refusal>;

    /// The record's custom values; `None` for kinds without custom fields.
    fn custom_mut(&mut self) -> Option<&mut CustomValues>;
}
