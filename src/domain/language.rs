//! The languages documents and their mails are written in, and how each
//! writes amounts, quantities and dates (`1.234,56 €`, `30.11.2026`).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::money::Currency;

/// The language of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    De,
    En,
}

impl Lang {
    /// `de` or `en`; anything else is the team's default.
    pub fn parse(code: Option<&str>, default: &str) -> Lang {
        match code.unwrap_or(default) {
            "en" => Lang::En,
            _ => Lang::De,
        }
    }

    /// `1.234,56 €` (German) or `€1,234.56` (English).
    pub fn money(self, amount: Decimal, currency: &Currency) -> String {
        let fixed = currency.round(amount);
        let body = self.number(fixed.abs(), currency.minor_units());
        let sign = if fixed.is_sign_negative() && !fixed.is_zero() {
            "-"
        } else {
            ""
        };
        let symbol = symbol(currency);
        match self {
            Lang::De => format!("{sign}{body} {symbol}"),
            Lang::En if symbol.len() > 3 || symbol.chars().all(|c| c.is_ascii_uppercase()) => {
                format!("{sign}{symbol} {body}")
            }
            Lang::En => format!("{sign}{symbol}{body}"),
        }
    }

    /// A unit price: the currency's decimals, or more when it has them.
    pub fn price(self, price: Decimal, currency: &Currency) -> String {
        let mut p = price.normalize();
        let minor = currency.minor_units();
        if p.scale() < minor {
            p.rescale(minor);
        }
        let symbol = symbol(currency);
        let body = self.number(p.abs(), p.scale());
        let sign = if p.is_sign_negative() { "-" } else { "" };
        match self {
            Lang::De => format!("{sign}{body} {symbol}"),
            Lang::En => format!("{sign}{symbol}{body}"),
        }
    }

    /// A quantity or rate: as many decimals as it has, none when whole.
    pub fn quantity(self, q: Decimal) -> String {
        let q = q.normalize();
        let body = self.number(q.abs(), q.scale());
        if q.is_sign_negative() {
            format!("-{body}")
        } else {
            body
        }
    }

    /// `30.11.2026` or `30 Nov 2026`.
    pub fn date(self, d: NaiveDate) -> String {
        match self {
            Lang::De => d.format("%d.%m.%Y").to_string(),
            Lang::En => d.format("%-d %b %Y").to_string(),
        }
    }

    /// Digits grouped by thousands with `scale` decimals, in this language.
    fn number(self, n: Decimal, scale: u32) -> String {
        let mut n = n;
        n.rescale(scale);
        let text = n.to_string();
        let (int, frac) = match text.split_once('.') {
            Some((i, f)) => (i.to_string(), Some(f.to_string())),
            None => (text, None),
        };
        let (group, point) = match self {
            Lang::De => ('.', ','),
            Lang::En => (',', '.'),
        };
        let mut grouped = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(group);
            }
            grouped.push(c);
        }
        match frac {
            Some(f) if !f.is_empty() => format!("{grouped}{point}{f}"),
            _ => grouped,
        }
    }
}

fn symbol(c: &Currency) -> String {
    match c.code() {
        "EUR" => "€".to_string(),
        "USD" => "$".to_string(),
        "GBP" => "£".to_string(),
        "CHF" => "CHF".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_dates_read_as_each_language_writes_them() {
        let eur = Currency::parse("EUR").expect("EUR");
        let n = Decimal::new(123456, 2);
        assert_eq!(Lang::De.money(n, &eur), "1.234,56 €");
        assert_eq!(Lang::En.money(n, &eur), "€1,234.56");
        assert_eq!(Lang::De.money(-n, &eur), "-1.234,56 €");
        assert_eq!(Lang::De.money(Decimal::ZERO, &eur), "0,00 €");
        assert_eq!(Lang::De.price(Decimal::new(125, 4), &eur), "0,0125 €");
        assert_eq!(Lang::De.quantity(Decimal::new(2500, 3)), "2,5");
        assert_eq!(Lang::En.quantity(Decimal::new(1200000, 3)), "1,200");
        let d = NaiveDate::from_ymd_opt(2026, 11, 30).expect("date");
        assert_eq!(Lang::De.date(d), "30.11.2026");
        assert_eq!(Lang::En.date(d), "30 Nov 2026");
    }
}
