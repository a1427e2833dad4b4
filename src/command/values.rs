//! Reads the values people type (dates, amounts, percentages, e-mails,
//! owners, yes/no) into typed values, with one-line errors that say what a
//! valid value looks like.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use rust_decimal::Decimal;
use std::str::FromStr;

use super::Context;
use crate::domain::fields::{CustomField, FieldType, FieldValue};
use crate::domain::lines::Discount;
use crate::domain::{Currency, Kind};

/// Reads a date: `2026-12-10`, `10.12.2026`, `today`, `tomorrow`,
/// `yesterday`, `in 3 days`, `+3d`, `mon`..`sun` (the next such day).
///
/// Fails with the accepted forms.
pub fn parse_date(raw: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let t = raw.trim().to_lowercase();
    let bad = || {
        format!("'{raw}' is not a date; write 2026-12-10, 10.12.2026, today, tomorrow, in 3 days or a weekday")
    };
    if let Ok(d) = NaiveDate::parse_from_str(&t, "%Y-%m-%d") {
        return Ok(d);
    }
    if let Ok(d) = NaiveDate::parse_from_str(&t, "%d.%m.%Y") {
        return Ok(d);
    }
    let add = |n: u64| today.checked_add_days(Days::new(n)).ok_or_else(bad);
    match t.as_str() {
        "today" | "heute" => return Ok(today),
        "tomorrow" | "morgen" => return add(1),
        "yesterday" | "gestern" => return today.checked_sub_days(Days::new(1)).ok_or_else(bad),
        _ => {}
    }
    let days = t
        .strip_prefix("in ")
        .and_then(|r| r.strip_suffix(" days").or_else(|| r.strip_suffix(" day")))
        .or_else(|| t.strip_prefix('+').and_then(|r| r.strip_suffix('d')));
    if let Some(n) = days.and_then(|n| n.trim().parse::<u64>().ok()) {
        return add(n);
    }
    if let Ok(wd) = Weekday::from_str(&t) {
        let ahead = (7 + wd.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
        return add(u64::from(if ahead == 0 { 7 } else { ahead }));
    }
    Err(bad())
}

/// Reads a due time: a date (`tomorrow`, `2026-12-03`: the whole day) or a
/// date and time (`tomorrow 9:00`, `fri 14:30`, `2026-12-03 10:00`,
/// `2026-12-03T10:00`, `15:00` for today) in the time zone `tz`.
///
/// Fails for unreadable text and for local times a clock change skips.
pub fn parse_when(
    raw: &str,
    today: NaiveDate,
    tz: chrono_tz::Tz,
) -> Result<crate::domain::activity::Due, String> {
    use crate::domain::activity::Due;
    use chrono::{NaiveTime, TimeZone};
    let t = raw.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(Due::At(dt.with_timezone(&chrono::Utc)));
    }
    let (date_part, time_part) = match t.split_once('T').filter(|(d, _)| d.len() == 10) {
        Some((d, tm)) => (d.to_string(), Some(tm.to_string())),
        None => match t.rsplit_once(char::is_whitespace) {
            Some((d, tm)) if read_time(tm).is_some() => {
                (d.trim().to_string(), Some(tm.to_string()))
            }
            _ if read_time(t).is_some() => (String::new(), Some(t.to_string())),
            _ => (t.to_string(), None),
        },
    };
    let date = if date_part.is_empty() {
        today
    } else {
        parse_date(&date_part, today)?
    };
    let Some(time_text) = time_part else {
        return Ok(Due::Day(date));
    };
    let time: NaiveTime = read_time(&time_text)
        .ok_or_else(|| format!("'{raw}' has no time I can read; write 9:00 or 14:30"))?;
    match tz.from_local_datetime(&date.and_time(time)) {
        chrono::LocalResult::Single(dt) => Ok(Due::At(dt.with_timezone(&chrono::Utc))),
        chrono::LocalResult::Ambiguous(first, _) => Ok(Due::At(first.with_timezone(&chrono::Utc))),
        chrono::LocalResult::None => Err(format!(
            "{date} {} does not exist in {tz}: the clocks skip it; pick another time",
            time.format("%H:%M")
        )),
    }
}

/// `9:00`, `09:30`, `14:30:00`, `9am`, `5pm`.
fn read_time(text: &str) -> Option<chrono::NaiveTime> {
    use chrono::NaiveTime;
    let t = text.trim().to_lowercase();
    for f in ["%H:%M", "%H:%M:%S"] {
        if let Ok(time) = NaiveTime::parse_from_str(&t, f) {
            return Some(time);
        }
    }
    let (num, pm) = match (t.strip_suffix("am"), t.strip_suffix("pm")) {
        (Some(n), _) => (n, false),
        (_, Some(n)) => (n, true),
        _ => return None,
    };
    let h: u32 = num.trim().parse().ok().filter(|h| (1..=12).contains(h))?;
    NaiveTime::from_hms_opt(h % 12 + if pm { 12 } else { 0 }, 0, 0)
}

/// Reads a decimal number: `12000`, `12000.50`, `12_000`.
///
/// Fails for anything else, explaining the accepted form.
pub fn parse_decimal(raw: &str, what: &str) -> Result<Decimal, String> {
    let t = raw.trim().replace('_', "");
    if t.contains(',') {
        return Err(format!(
            "'{raw}' is not {what}: use a dot for decimals and no thousands separators (12000.50)"
        ));
    }
    let d = Decimal::from_str(&t)
        .map(|d| d.normalize())
        .map_err(|_| format!("'{raw}' is not {what}; write a number such as 12000 or 99.50"))?;
    // Bounded so that no line, total or sum can overflow the decimal type.
    if d.abs() > Decimal::from(MAX_NUMBER) || d.scale() > 6 {
        return Err(format!(
            "'{raw}' is out of range for {what}: at most {MAX_NUMBER} and 6 decimals"
        ));
    }
    Ok(d)
}

/// The largest amount or number leadline takes: a trillion.
pub const MAX_NUMBER: i64 = 1_000_000_000_000;

/// The largest quantity on a line.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// Reads a line quantity (a decimal, at most a billion).
///
/// Fails for non-numbers and quantities out of range.
pub fn parse_quantity(raw: &str) -> Result<Decimal, String> {
    let q = parse_decimal(raw, "a quantity")?;
    if q.abs() > Decimal::from(MAX_QUANTITY) {
        return Err(format!(
            "'{raw}' is out of range for a quantity: at most {MAX_QUANTITY}"
        ));
    }
    Ok(q)
}

/// Reads a money amount (not negative).
///
/// Fails for negative amounts and non-numbers.
pub fn parse_amount(raw: &str) -> Result<Decimal, String> {
    let d = parse_decimal(raw, "an amount")?;
    if d.is_sign_negative() {
        return Err(format!("'{raw}' is negative; amounts cannot be"));
    }
    Ok(d)
}

/// Reads a percentage 0..=100, with or without `%`.
///
/// Fails outside that range.
pub fn parse_percent(raw: &str) -> Result<Decimal, String> {
    let t = raw.trim();
    let d = parse_decimal(t.strip_suffix('%').unwrap_or(t), "a percentage")?;
    if d.is_sign_negative() || d > Decimal::ONE_HUNDRED {
        return Err(format!("'{raw}' is not a percentage between 0 and 100"));
    }
    Ok(d)
}

/// Reads a discount: `5%` is a percentage, `50` an amount.
///
/// Fails for negative values or percentages above 100.
pub fn parse_discount(raw: &str) -> Result<Discount, String> {
    if raw.trim().ends_with('%') {
        Ok(Discount::Percent(parse_percent(raw)?))
    } else {
        Ok(Discount::Amount(parse_amount(raw)?))
    }
}

/// Reads yes/no (also true/false, ja/nein, 1/0).
///
/// Fails for anything else.
pub fn parse_yes_no(raw: &str, option: &str) -> Result<bool, String> {
    match raw.trim().to_lowercase().as_str() {
        "yes" | "y" | "true" | "1" | "ja" | "on" => Ok(true),
        "no" | "n" | "false" | "0" | "nein" | "off" => Ok(false),
        _ => Err(format!("{option}:{raw} must be yes or no")),
    }
}

/// Checks an e-mail address loosely (one `@`, a dotted domain, no spaces);
/// the domain is lower-cased.
///
/// Fails for anything that cannot be an address.
pub fn parse_email(raw: &str) -> Result<String, String> {
    let t = raw.trim().trim_start_matches("mailto:");
    let bad = || format!("'{raw}' is not an e-mail address");
    let (local, domain) = t.rsplit_once('@').ok_or_else(bad)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if local.is_empty() || local.contains(char::is_whitespace) || local.contains('@') || !domain_ok
    {
        return Err(bad());
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

fn parse_website(raw: &str) -> Result<String, String> {
    let t = raw.trim();
    if t.contains(char::is_whitespace) || crate::domain::party::website_domain(t).is_none() {
        return Err(format!(
            "'{raw}' is not a website; write contoso.example or https://contoso.example"
        ));
    }
    Ok(t.to_string())
}

fn parse_phone(raw: &str) -> Result<String, String> {
    let t = raw.trim();
    let ok = t
        .chars()
        .all(|c| c.is_ascii_digit() || " +-()/.".contains(c))
        && t.chars().filter(char::is_ascii_digit).count() >= 3;
    if !ok {
        return Err(format!(
            "'{raw}' is not a phone number; use digits, spaces and + - ( ) /"
        ));
    }
    Ok(t.to_string())
}

/// Resolves an owner: `me` is the acting user; with a configured team the
/// name (or e-mail) must be a member's.
///
/// Fails for unknown members, listing the team.
pub fn resolve_owner(raw: &str, ctx: &Context) -> Result<String, String> {
    let t = raw.trim();
    if t.eq_ignore_ascii_case("me") {
        return Ok(ctx.actor.clone());
    }
    if t.is_empty() || t.chars().any(char::is_control) {
        return Err("an owner needs a name".to_string());
    }
    if ctx.team.members.is_empty() {
        return Ok(t.to_string());
    }
    ctx.team.member(t).map(|m| m.name.clone()).ok_or_else(|| {
        format!(
            "'{t}' is not on the team; owners: {}",
            ctx.team
                .members
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// Reads `raw` as a value of a field of type `ty`. An empty value or `-`
/// clears the field.
///
/// Fails with a one-line message naming the field and the expected form.
pub fn parse_field(
    name: &str,
    ty: FieldType,
    raw: &str,
    ctx: &Context,
    custom: Option<&CustomField>,
) -> Result<FieldValue, String> {
    let t = raw.trim();
    if t.is_empty() || t == "-" {
        return Ok(FieldValue::Cleared);
    }
    let prefix = |e: String| format!("{name}: {e}");
    let v = match ty {
        FieldType::Text => FieldValue::Text(t.to_string()),
        FieldType::Email => FieldValue::Text(parse_email(t).map_err(prefix)?),
        FieldType::Website => FieldValue::Text(parse_website(t).map_err(prefix)?),
        FieldType::Phone => FieldValue::Text(parse_phone(t).map_err(prefix)?),
        FieldType::Date => FieldValue::Date(parse_date(t, ctx.today()).map_err(prefix)?),
        FieldType::Amount => FieldValue::Amount(parse_amount(t).map_err(prefix)?),
        FieldType::Number => FieldValue::Number(parse_decimal(t, "a number").map_err(prefix)?),
        FieldType::Percent => FieldValue::Number(parse_percent(t).map_err(prefix)?),
        FieldType::Probability => {
            let p = parse_percent(t).map_err(prefix)?;
            if !p.fract().is_zero() {
                return Err(format!("{name}: '{raw}' must be a whole percentage"));
            }
            FieldValue::Number(p)
        }
        FieldType::Discount => FieldValue::Discount(parse_discount(t).map_err(prefix)?),
        FieldType::Currency => {
            FieldValue::Currency(Currency::parse(t).map_err(|e| prefix(e.to_string()))?)
        }
        FieldType::Owner => FieldValue::Text(resolve_owner(t, ctx).map_err(prefix)?),
        FieldType::Ref(kind) => FieldValue::Ref(parse_ref(t, kind, ctx).map_err(prefix)?),
        FieldType::Choice(choices) => {
            let want = crate::domain::fields::normalize_name(t);
            match choices.iter().find(|c| **c == want) {
                Some(c) => FieldValue::Text((*c).to_string()),
                None => {
                    return Err(format!(
                        "{name}: '{raw}' is not one of {}",
                        choices.join(", ")
                    ))
                }
            }
        }
        FieldType::CustomChoice => match custom {
            Some(def) => FieldValue::Text(def.choose(t).map_err(|e| e.to_string())?),
            None => return Err(format!("{name}: no choices are configured")),
        },
    };
    Ok(v)
}

/// Reads the id of a record of `kind`.
///
/// Fails for malformed ids and ids of another kind.
pub fn parse_ref(raw: &str, kind: Kind, ctx: &Context) -> Result<u64, String> {
    let id = ctx.rules.numbering.parse(raw).map_err(|e| e.to_string())?;
    if id.kind != kind {
        return Err(format!(
            "{} is {}, not {}",
            raw.trim(),
            id.kind.with_article(),
            kind.with_article()
        ));
    }
    Ok(id.number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test literal")
    }

    #[test]
    fn dates_accept_iso_german_and_everyday_forms() {
        let today = day("2026-11-29"); // a Sunday
        assert_eq!(parse_date("2026-12-10", today), Ok(day("2026-12-10")));
        assert_eq!(parse_date("10.12.2026", today), Ok(day("2026-12-10")));
        assert_eq!(parse_date("tomorrow", today), Ok(day("2026-11-30")));
        assert_eq!(parse_date("in 3 days", today), Ok(day("2026-12-02")));
        assert_eq!(parse_date("fri", today), Ok(day("2026-12-04")));
        assert_eq!(parse_date("sun", today), Ok(day("2026-12-06")));
        assert!(parse_date("2026-02-30", today).is_err());
        assert!(parse_date("soon", today).is_err());
    }

    #[test]
    fn due_times_read_dates_times_and_refuse_skipped_local_times() {
        use crate::domain::activity::Due;
        let today = day("2026-11-29");
        let berlin = chrono_tz::Europe::Berlin;
        let at = |s: &str| {
            Due::At(
                chrono::DateTime::parse_from_rfc3339(s)
                    .expect("literal")
                    .with_timezone(&chrono::Utc),
            )
        };
        assert_eq!(
            parse_when("tomorrow", today, berlin),
            Ok(Due::Day(day("2026-11-30")))
        );
        assert_eq!(
            parse_when("tomorrow 9:00", today, berlin),
            Ok(at("2026-11-30T08:00:00Z"))
        );
        assert_eq!(
            parse_when("2026-12-03 10:00", today, berlin),
            Ok(at("2026-12-03T09:00:00Z"))
        );
        assert_eq!(
            parse_when("2026-12-03T10:00", today, berlin),
            Ok(at("2026-12-03T09:00:00Z"))
        );
        assert_eq!(
            parse_when("fri 2pm", today, berlin),
            Ok(at("2026-12-04T13:00:00Z"))
        );
        assert_eq!(
            parse_when("in 3 days 17:30", today, berlin),
            Ok(at("2026-12-02T16:30:00Z"))
        );
        assert_eq!(
            parse_when("15:00", today, berlin),
            Ok(at("2026-11-29T14:00:00Z"))
        );
        assert_eq!(
            parse_when("2026-07-01 10:00", today, berlin),
            Ok(at("2026-07-01T08:00:00Z"))
        );
        let gap = parse_when("2026-03-29 02:30", today, berlin);
        assert!(
            gap.as_ref().is_err_and(|e| e.contains("does not exist")),
            "{gap:?}"
        );
        assert_eq!(
            parse_when("2026-10-25 02:30", today, berlin),
            Ok(at("2026-10-25T00:30:00Z"))
        );
        assert!(parse_when("someday 10:00", today, berlin).is_err());
    }

    #[test]
    fn numbers_too_large_to_compute_safely_are_refused() {
        assert!(parse_amount("1000000000000").is_ok());
        assert!(parse_amount("1000000000001").is_err());
        assert!(parse_amount("99999999999999999999999999999999").is_err());
        assert!(parse_quantity("1000000001").is_err());
        assert!(parse_amount("0.0000001").is_err());
    }

    #[test]
    fn amounts_refuse_commas_and_negatives() {
        assert_eq!(
            parse_amount("12000.50").map(|d| d.to_string()),
            Ok("12000.5".into())
        );
        assert!(parse_amount("12,000").is_err());
        assert!(parse_amount("-5").is_err());
        assert!(parse_amount("12000 EUR").is_err());
    }

    #[test]
    fn discounts_are_percent_with_a_sign_and_amounts_without() {
        assert_eq!(
            parse_discount("5%"),
            Ok(Discount::Percent(Decimal::from(5)))
        );
        assert_eq!(
            parse_discount("50"),
            Ok(Discount::Amount(Decimal::from(50)))
        );
        assert!(parse_discount("150%").is_err());
    }

    #[test]
    fn emails_are_checked_and_domains_lower_cased() {
        assert_eq!(
            parse_email("Anna@Contoso.Example"),
            Ok("Anna@contoso.example".into())
        );
        assert!(parse_email("anna").is_err());
        assert!(parse_email("anna@localhost").is_err());
        assert!(parse_email("an na@x.example").is_err());
    }
}
