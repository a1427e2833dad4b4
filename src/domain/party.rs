//! Contacts and accounts: the people and companies a sale is with. Created
//! by qualifying a lead (P-6) and linked to each other.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::fields::{CustomValues, Editable, FieldSpec, FieldType, FieldValue};
use super::ids::Kind;
use super::{Record, Refusal};

/// A person at a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub number: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// The company this person works for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub owner: String,
    #[serde(default, skip_serializing_if = "CustomValues::is_empty")]
    pub custom: CustomValues,
    pub created_at: DateTime<Utc>,
}

impl Contact {
    /// The full name, or the e-mail when there is no name.
    pub fn full_name(&self) -> String {
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if name.is_empty() {
            self.email
                .clone()
                .unwrap_or_else(|| "(no name)".to_string())
        } else {
            name
        }
    }
}

impl Record for Contact {
    const KIND: Kind = Kind::Contact;
    fn into_any(self) -> super::AnyRecord {
        super::AnyRecord::Contact(self)
    }
    fn number(&self) -> u64 {
        self.number
    }
    fn state_name(&self) -> &'static str {
        "active"
    }
    fn owner(&self) -> &str {
        &self.owner
    }
    fn title(&self) -> String {
        self.full_name()
    }
    fn lookups(&self) -> Vec<super::Lookup> {
        let mut out: Vec<super::Lookup> = self
            .email
            .iter()
            .map(|e| super::Lookup::text("contact_email", e.to_lowercase()))
            .collect();
        out.extend(super::of_account("contact", self.account, self.number));
        out
    }
    fn search_terms(&self) -> Vec<String> {
        super::search::terms([
            self.first_name.as_deref(),
            self.last_name.as_deref(),
            self.email.as_deref(),
            self.mobile_phone.as_deref(),
            self.business_phone.as_deref(),
        ])
    }
}

impl Editable for Contact {
    const FIELDS: &'static [FieldSpec] = crate::fields![
        "first_name" | "first" | "firstname" | "vorname" => FieldType::Text,
        "last_name" | "last" | "lastname" | "nachname" => FieldType::Text,
        "email" | "e_mail" | "mail" => FieldType::Email,
        "mobile_phone" | "mobile" | "handy" => FieldType::Phone,
        "business_phone" | "phone" | "telefon" => FieldType::Phone,
        "job_title" | "title" | "position" => FieldType::Text,
        "account" | "company" => FieldType::Ref(Kind::Account),
        "description" | "desc" => FieldType::Text,
        "owner" => FieldType::Owner,
    ];

    fn set(&mut self, field: &'static str, value: FieldValue) -> Result<(), Refusal> {
        match field {
            "first_name" => self.first_name = value.text(),
            "last_name" => self.last_name = value.text(),
            "email" => self.email = value.text(),
            "mobile_phone" => self.mobile_phone = value.text(),
            "business_phone" => self.business_phone = value.text(),
            "job_title" => self.job_title = value.text(),
            "account" => self.account = value.reference(),
            "description" => self.description = value.text(),
            "owner" => self.owner = value.required_text("the owner")?,
            _ => return Err(Refusal::new(format!("contacts have no field {field}"))),
        }
        Ok(())
    }

    fn custom_mut(&mut self) -> Option<&mut CustomValues> {
        Some(&mut self.custom)
    }
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// State, province or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Address {
    /// `Street 1, 10115 Berlin, DE`, or `None` when empty.
    pub fn one_line(&self) -> Option<String> {
        let city = [self.postal_code.as_deref(), self.city.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let parts: Vec<String> = [
            self.street.clone(),
            Some(city).filter(|c| !c.is_empty()),
            self.region.clone(),
            self.country.clone(),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// Sets one address part by field name; `false` if it is no address field.
    pub fn set(&mut self, field: &str, value: Option<String>) -> bool {
        match field {
            "street" => self.street = value,
            "city" => self.city = value,
            "postal_code" => self.postal_code = value,
            "region" => self.region = value,
            "country" => self.country = value,
            _ => return false,
        }
        true
    }
}

/// A company: customer or prospect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub number: u64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_contact: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The language of its documents (`de`, `en`); none: the team's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Its VAT identification number (needed on reverse-charge invoices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_id: Option<String>,
    /// The Leitweg-ID of a public customer: its invoices go out as
    /// XRechnung, with this as the buyer reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leitweg_id: Option<String>,
    /// Its 0 % parts are reverse charge (§ 13b UStG): the customer owes
    /// the VAT, and the invoice says so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reverse_charge: bool,
    pub owner: String,
    #[serde(default, skip_serializing_if = "CustomValues::is_empty")]
    pub custom: CustomValues,
    pub created_at: DateTime<Utc>,
}

impl Record for Account {
    const KIND: Kind = Kind::Account;
    fn into_any(self) -> super::AnyRecord {
        super::AnyRecord::Account(self)
    }
    fn number(&self) -> u64 {
        self.number
    }
    fn state_name(&self) -> &'static str {
        "active"
    }
    fn owner(&self) -> &str {
        &self.owner
    }
    fn title(&self) -> String {
        self.name.clone()
    }
    fn lookups(&self) -> Vec<super::Lookup> {
        let mut out = vec![super::Lookup::text(
            "account_name",
            account_name_key(&self.name),
        )];
        if let Some(d) = self.website.as_deref().and_then(website_domain) {
            out.push(super::Lookup::text("account_domain", d));
        }
        out
    }
    fn search_terms(&self) -> Vec<String> {
        super::search::terms([
            Some(self.name.as_str()),
            self.website.as_deref(),
            self.phone.as_deref(),
            self.address.city.as_deref(),
        ])
    }
}

/// The address fields, for records that list them with their own.
pub const ADDRESS_FIELDS: &[FieldSpec] = crate::fields![
    "street" | "strasse" | "straße" | "address" => FieldType::Text,
    "city" | "ort" | "stadt" | "town" => FieldType::Text,
    "postal_code" | "zip" | "plz" | "postcode" | "postleitzahl" => FieldType::Text,
    "region" | "province" | "bundesland" | "county" => FieldType::Text,
    "country" | "land" => FieldType::Text,
];

impl Editable for Account {
    const HAS_ADDRESS: bool = true;
    const FIELDS: &'static [FieldSpec] = crate::fields![
        "name" | "company" | "company_name" => FieldType::Text,
        "website" | "web" | "url" => FieldType::Website,
        "phone" | "business_phone" | "telefon" => FieldType::Phone,
        "primary_contact" | "contact" => FieldType::Ref(Kind::Contact),
        "description" | "desc" => FieldType::Text,
        "language" | "lang" | "sprache" => FieldType::Choice(&["de", "en"]),
        "vat_id" | "ust_id" | "ustid" | "vat" => FieldType::Text,
        "leitweg_id" | "leitweg" => FieldType::Text,
        "reverse_charge" | "reverse" | "13b" => FieldType::Choice(&["yes", "no"]),
        "owner" => FieldType::Owner,
    ];

    fn set(&mut self, field: &'static str, value: FieldValue) -> Result<(), Refusal> {
        match field {
            "name" => self.name = value.required_text("an account's name")?,
            "website" => self.website = value.text(),
            "phone" => self.phone = value.text(),
            "primary_contact" => self.primary_contact = value.reference(),
            "description" => self.description = value.text(),
            "language" => self.language = value.text().map(|l| l.to_lowercase()),
            "vat_id" => self.vat_id = value.text().map(|v| v.replace(' ', "").to_uppercase()),
            "leitweg_id" => self.leitweg_id = value.text(),
            "reverse_charge" => self.reverse_charge = value.text().is_some_and(|v| v == "yes"),
            "owner" => self.owner = value.required_text("the owner")?,
            f if self.address.set(f, value.clone().text()) => {}
            _ => return Err(Refusal::new(format!("accounts have no field {field}"))),
        }
        Ok(())
    }

    fn custom_mut(&mut self) -> Option<&mut CustomValues> {
        Some(&mut self.custom)
    }
}

/// The domain of a website (`https://www.contoso.example/x` -> `contoso.example`),
/// used to find an existing account.
pub fn website_domain(website: &str) -> Option<String> {
    let w = website.trim().to_ascii_lowercase();
    let w = w
        .strip_prefix("https://")
        .or_else(|| w.strip_prefix("http://"))
        .unwrap_or(&w);
    let host = w.split(['/', '?', '#', ':']).next().unwrap_or("");
    let host = host.strip_prefix("www.").unwrap_or(host);
    (host.contains('.') && !host.starts_with('.')).then(|| host.to_string())
}

/// An account name compared loosely: lower case, single spaces.
pub fn account_name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn website_domains_drop_scheme_www_and_path() {
        assert_eq!(
            website_domain("https://www.Contoso.example/about").as_deref(),
            Some("contoso.example")
        );
        assert_eq!(
            website_domain("contoso.example").as_deref(),
            Some("contoso.example")
        );
        assert_eq!(website_domain("localhost"), None);
    }
}
