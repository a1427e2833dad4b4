//! Currencies and amounts: exact decimals, rounded to the currency's minor
//! unit, never added across currencies.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;

use super::Refusal;

/// An ISO 4217 currency code such as `EUR`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    /// Parses a three-letter code, in any case.
    ///
    /// Fails for anything that is not three ASCII letters.
    pub fn parse(code: &str) -> Result<Currency, Refusal> {
        let c = code.trim().to_ascii_uppercase();
        if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()) {
            Ok(Currency(c))
        } else {
            Err(Refusal::new(format!(
                "'{code}' is not a currency code; use three letters such as EUR or USD"
            )))
        }
    }

    /// The code, e.g. `EUR`.
    pub fn code(&self) -> &str {
        &self.0
    }

    /// Digits after the decimal point in this currency.
    pub fn minor_units(&self) -> u32 {
        match self.0.as_str() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }

    /// Rounds an amount to this currency's minor unit, halves away from zero.
    pub fn round(&self, amount: Decimal) -> Decimal {
        let mut r = amount
            .round_dp_with_strategy(self.minor_units(), RoundingStrategy::MidpointAwayFromZero);
        r.rescale(self.minor_units());
        r
    }

    /// `12,345.60 EUR`: for people.
    pub fn format(&self, amount: Decimal) -> String {
        self.format_exact(self.round(amount))
    }

    /// A unit price as it is computed with: the currency's minor unit, or
    /// more decimals when the price has them (`0.0125 EUR`, `100.5 JPY`),
    /// so that quantity x price on a printed line adds up to its amount.
    pub fn format_price(&self, price: Decimal) -> String {
        let mut p = price.normalize();
        if p.scale() < self.minor_units() {
            p.rescale(self.minor_units());
        }
        self.format_exact(p)
    }

    fn format_exact(&self, r: Decimal) -> String {
        let text = r.abs().to_string();
        let (int, frac) = match text.split_once('.') {
            Some((i, f)) => (i.to_string(), Some(f.to_string())),
            None => (text, None),
        };
        let mut grouped = String::new();
        for (i, ch) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        let sign = if r.is_sign_negative() && !r.is_zero() {
            "-"
        } else {
            ""
        };
        match frac {
            Some(f) => format!("{sign}{grouped}.{f} {}", self.0),
            None => format!("{sign}{grouped} {}", self.0),
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = Refusal;
    fn try_from(s: String) -> Result<Self, Refusal> {
        Currency::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency("EUR".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("test literal")
    }

    #[test]
    fn amounts_round_to_the_currency_minor_unit() {
        let eur = Currency::parse("eur").expect("valid");
        assert_eq!(eur.round(d("1.005")), d("1.01"));
        assert_eq!(eur.round(d("2")).to_string(), "2.00");
        let jpy = Currency::parse("JPY").expect("valid");
        assert_eq!(jpy.round(d("100.5")), d("101"));
        let kwd = Currency::parse("KWD").expect("valid");
        assert_eq!(kwd.round(d("1.2345")).to_string(), "1.235");
    }

    #[test]
    fn amounts_format_with_thousands_separators() {
        let eur = Currency::parse("EUR").expect("valid");
        assert_eq!(eur.format(d("12345.6")), "12,345.60 EUR");
        assert_eq!(eur.format(d("-999")), "-999.00 EUR");
        assert_eq!(eur.format(d("0")), "0.00 EUR");
    }

    #[test]
    fn currency_codes_must_be_three_letters() {
        assert!(Currency::parse("EURO").is_err());
        assert!(Currency::parse("E1R").is_err());
    }
}
