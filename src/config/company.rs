//! `[company]`: the seller as quotes, orders and invoices name it (the
//! letterhead, and what §14 (4) UStG and EN 16931 need of the seller), and
//! `[documents]`: the language and templates of those documents.

use std::path::PathBuf;

use serde::Deserialize;

/// The company that sells: printed on every document and written into
/// every e-invoice.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompanyConfig {
    /// The legal name (`Muster Büromöbel GmbH`).
    pub name: String,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2 (`DE`).
    pub country: String,
    /// The VAT identification number (`DE123456789`).
    pub vat_id: Option<String>,
    /// The tax number of the tax office (`214/5678/1234`).
    pub tax_number: Option<String>,
    /// Register court and number (`Amtsgericht Köln, HRB 12345`).
    pub register: Option<String>,
    pub managing_directors: Vec<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    /// The bank's name.
    pub bank: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    /// A PNG, JPEG or SVG printed at the top right of every document.
    pub logo: Option<PathBuf>,
    /// Why 0% lines are exempt, printed and written into e-invoices
    /// (`Steuerfreie Leistung nach § 4 UStG`).
    pub exemption_reason: Option<String>,
}

impl Default for CompanyConfig {
    fn default() -> Self {
        CompanyConfig {
            name: String::new(),
            street: None,
            postal_code: None,
            city: None,
            country: "DE".to_string(),
            vat_id: None,
            tax_number: None,
            register: None,
            managing_directors: Vec::new(),
            phone: None,
            email: None,
            website: None,
            bank: None,
            iban: None,
            bic: None,
            logo: None,
            exemption_reason: None,
        }
    }
}

impl CompanyConfig {
    /// Checks the settings.
    ///
    /// Fails naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.country.len() != 2 || !self.country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "company.country: '{}' is not a two-letter country code such as DE",
                self.country
            ));
        }
        if let Some(iban) = &self.iban {
            check_iban(iban).map_err(|e| format!("company.iban: {e}"))?;
        }
        if let Some(vat) = &self.vat_id {
            let v: String = vat.chars().filter(|c| !c.is_whitespace()).collect();
            if v.len() < 4
                || !v[..2].bytes().all(|b| b.is_ascii_uppercase())
                || !v[2..].bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(format!(
                    "company.vat_id: '{vat}' is not a VAT identification number such as DE123456789"
                ));
            }
        }
        if let Some(logo) = &self.logo {
            let ext = logo
                .extension()
                .map(|e| e.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            if !matches!(ext.as_str(), "png" | "jpg" | "jpeg" | "svg") {
                return Err(format!(
                    "company.logo: {} is not a PNG, JPEG or SVG file",
                    logo.display()
                ));
            }
        }
        Ok(())
    }

    /// Why documents cannot be made yet: the settings they need that are
    /// missing; `None` when they can.
    pub fn missing(&self) -> Option<String> {
        let mut missing = Vec::new();
        if self.name.trim().is_empty() {
            missing.push("name");
        }
        if self.street.is_none() || self.postal_code.is_none() || self.city.is_none() {
            missing.push("street, postal_code and city");
        }
        if self.vat_id.is_none() && self.tax_number.is_none() {
            missing.push("vat_id or tax_number");
        }
        (!missing.is_empty()).then(|| {
            format!(
                "documents need the seller: set {} in [company] of the configuration",
                missing.join(", ")
            )
        })
    }

    /// The IBAN without spaces.
    pub fn iban_compact(&self) -> Option<String> {
        self.iban
            .as_ref()
            .map(|i| i.chars().filter(|c| !c.is_whitespace()).collect())
    }
}

/// Checks an IBAN's length and its ISO 7064 mod-97 check digits.
///
/// Fails saying what is wrong.
pub fn check_iban(iban: &str) -> Result<(), String> {
    let compact: String = iban
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if compact.len() < 15
        || compact.len() > 34
        || !compact.bytes().all(|b| b.is_ascii_alphanumeric())
        || !compact[..2].bytes().all(|b| b.is_ascii_alphabetic())
    {
        return Err(format!("'{iban}' is not an IBAN"));
    }
    let rearranged = format!("{}{}", &compact[4..], &compact[..4]);
    let mut rest: u32 = 0;
    for c in rearranged.chars() {
        let digits = match c.to_digit(36) {
            Some(d) => d,
            None => return Err(format!("'{iban}' is not an IBAN")),
        };
        for d in digits.to_string().chars() {
            rest = (rest * 10 + d.to_digit(10).unwrap_or(0)) % 97;
        }
    }
    if rest != 1 {
        return Err(format!("'{iban}' has wrong check digits (a typo?)"));
    }
    Ok(())
}

/// `[documents]`: the language documents are written in when an account
/// names none, and a folder of templates that replace the built-in ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DocumentsConfig {
    /// `de` or `en`.
    pub language: String,
    /// A folder with `document.typ` (and `cover-de.txt`, `cover-en.txt`)
    /// to use instead of the built-in ones; read each time, so a change
    /// needs no restart.
    pub templates: Option<PathBuf>,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        DocumentsConfig {
            language: "de".to_string(),
            templates: None,
        }
    }
}

impl DocumentsConfig {
    /// Checks the settings.
    ///
    /// Fails naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        if !matches!(self.language.as_str(), "de" | "en") {
            return Err(format!(
                "documents.language: '{}' is not de or en",
                self.language
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_are_checked_by_their_check_digits() {
        assert!(check_iban("DE02 3705 0198 0001 8020 57").is_ok());
        assert!(check_iban("DE89370400440532013000").is_ok());
        let typo = check_iban("DE89370400440532013001").unwrap_err();
        assert!(typo.contains("check digits"), "{typo}");
        assert!(check_iban("12345").is_err());
        assert!(check_iban("DE89 3704 0044 0532 0130 0!").is_err());
    }

    #[test]
    fn a_company_without_name_address_or_tax_id_cannot_make_documents() {
        let mut c = CompanyConfig {
            country: "DE".into(),
            ..Default::default()
        };
        let m = c.missing().expect("missing settings");
        assert!(
            m.contains("name") && m.contains("vat_id or tax_number"),
            "{m}"
        );
        c.name = "Muster GmbH".into();
        c.street = Some("Hauptstraße 1".into());
        c.postal_code = Some("50667".into());
        c.city = Some("Köln".into());
        c.tax_number = Some("214/5678/1234".into());
        assert_eq!(c.missing(), None);
        c.country = "Germany".into();
        assert!(c.validate().unwrap_err().starts_with("company.country"));
    }
}
