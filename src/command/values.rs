//! Reads the values people type (dates, amounts, percentages, e-mails,
//! owners, yes/no) into typed values, with one-line errors that say what a
//! valid value looks like.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use rust_decimal::Decimal;
use std::str::FromStr;

use super::team::NumberLocale;
use super::Context;
use crate::domain::fields::{CustomField, FieldType, FieldValue};
use crate::domain::lines::Discount;
use crate::domain::{Currency, Kind};

/// Reads a date: `2026-12-10`, `10.12.2026`, `10.12.26` (two-digit years
/// are this century), `10.12.` (no year: the next such day, today
/// included), `today`/`heute`, `tomorrow`/`morgen`, `übermorgen`,
/// `yesterday`/`gestern`, `in 3 days`/`in 3 Tagen`, `+3d`, a weekday in
/// English or German (`fri`, `Fr`, `Freitag`: the next such day).
///
/// Fails with the accepted forms, and for years before 1900 or after 2999.
pub fn parse_date(raw: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let t = raw.trim().to_lowercase();
    let bad = || {
        format!("'{raw}' is not a date; write 2026-12-10, 10.12.2026, 10.12.26, 10.12., today, tomorrow, in 3 days or a weekday")
    };
    let checked = |d: NaiveDate| {
        if (1900..=2999).contains(&d.year()) {
            Ok(d)
        } else {
            Err(format!(
                "'{raw}' is in the year {}; write the year in full (2026) or with two digits (26)",
                d.year()
            ))
        }
    };
    if let Ok(d) = NaiveDate::parse_from_str(&t, "%Y-%m-%d") {
        return checked(d);
    }
    if let Some(d) = german_date(&t, today) {
        return d.ok_or_else(bad).and_then(checked);
    }
    let add = |n: u64| today.checked_add_days(Days::new(n)).ok_or_else(bad);
    match t.as_str() {
        "today" | "heute" => return Ok(today),
        "tomorrow" | "morgen" => return add(1),
        "übermorgen" | "uebermorgen" | "day after tomorrow" => return add(2),
        "yesterday" | "gestern" => return today.checked_sub_days(Days::new(1)).ok_or_else(bad),
        _ => {}
    }
    let days = t
        .strip_prefix("in ")
        .and_then(|r| {
            ["days", "day", "tagen", "tag"]
                .into_iter()
                .find_map(|unit| r.strip_suffix(unit))
        })
        .or_else(|| t.strip_prefix('+').and_then(|r| r.strip_suffix('d')));
    if let Some(n) = days.and_then(|n| n.trim().parse::<u64>().ok()) {
        return add(n);
    }
    if let Some(wd) = weekday(&t) {
        let ahead = (7 + wd.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
        return add(u64::from(if ahead == 0 { 7 } else { ahead }));
    }
    Err(bad())
}

/// `10.12.2026`, `10.12.26`, `10.12.` and `10.12`: `None` when `t` is not
/// of that shape, `Some(None)` when it is but names no real day.
fn german_date(t: &str, today: NaiveDate) -> Option<Option<NaiveDate>> {
    let parts: Vec<&str> = t.split('.').collect();
    let number = |p: &str| {
        (!p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    let (day, month) = (number(parts.first()?)?, number(parts.get(1)?)?);
    let year = match parts.get(2).copied() {
        None | Some("") if parts.len() <= 3 => None,
        Some(y) if parts.len() == 3 && y.chars().all(|c| c.is_ascii_digit()) => match y.len() {
            2 => Some(2000 + y.parse::<i32>().ok()?),
            4 => Some(y.parse::<i32>().ok()?),
            _ => return Some(None),
        },
        _ => return None,
    };
    Some(match year {
        Some(y) => NaiveDate::from_ymd_opt(y, month, day),
        None => {
            let this_year = NaiveDate::from_ymd_opt(today.year(), month, day);
            match this_year {
                Some(d) if d >= today => Some(d),
                _ => NaiveDate::from_ymd_opt(today.year() + 1, month, day),
            }
        }
    })
}

/// A weekday in English (`fri`, `friday`) or German (`Fr`, `Freitag`).
fn weekday(t: &str) -> Option<Weekday> {
    let german = match t.trim_end_matches('.') {
        "mo" | "montag" => Some(Weekday::Mon),
        "di" | "dienstag" => Some(Weekday::Tue),
        "mi" | "mittwoch" => Some(Weekday::Wed),
        "do" | "donnerstag" => Some(Weekday::Thu),
        "fr" | "freitag" => Some(Weekday::Fri),
        "sa" | "samstag" | "sonnabend" => Some(Weekday::Sat),
        "so" | "sonntag" => Some(Weekday::Sun),
        _ => None,
    };
    german.or_else(|| Weekday::from_str(t).ok())
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

/// Reads a decimal number the way people write them, by one rule:
///
/// 1. Spaces, `_` and `'` are ignored; a leading `-` or `+` is the sign;
///    a German `,-` at the end (`20.000,-`) means no cents.
/// 2. With both `.` and `,` in it, the one that comes last marks the
///    decimals and the other groups thousands: `1.234,56`, `1,234.56`.
/// 3. One kind of separator, more than once, groups thousands:
///    `1.234.567`, `1,234,567`.
/// 4. One separator once, not followed by exactly three digits (or after
///    a `0` or more than three digits), marks the decimals: `1234,56`,
///    `99.5`, `0,125`, `1234.567`.
/// 5. One separator once, followed by exactly three digits (`20.000`,
///    `1,500`): the team's locale decides for its own grouping separator
///    (`de`: `20.000` is twenty thousand; `en`: `1,500` is fifteen
///    hundred); the other separator could be read two ways and is refused
///    with both readings.
///
/// Thousands groups must have three digits. Fails with a one-line reason.
pub fn parse_decimal(raw: &str, what: &str, locale: NumberLocale) -> Result<Decimal, String> {
    let mut t: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, '_' | '\'' | ' ' | '\u{a0}' | '\u{202f}'))
        .collect();
    for no_cents in [",--", ",-"] {
        if let Some(rest) = t.strip_suffix(no_cents) {
            t = rest.to_string();
            break;
        }
    }
    let (sign, body) = match t.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", t.strip_prefix('+').unwrap_or(&t)),
    };
    let not_a_number =
        || format!("'{raw}' is not {what}; write a number such as 12000, 12.000,50 or 99,50");
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return Err(not_a_number());
    }
    let last_sep = body.rfind(['.', ',']).map(|i| body.as_bytes()[i] as char);
    let dots = body.matches('.').count();
    let commas = body.matches(',').count();
    let decimal = match last_sep {
        None => None,
        Some(sep) if dots > 0 && commas > 0 => {
            if body.matches(sep).count() > 1 {
                return Err(not_a_number());
            }
            Some(sep)
        }
        Some(sep) if dots + commas > 1 => {
            let _ = sep;
            None
        }
        Some(sep) => {
            let (int, frac) = body.split_once(sep).unwrap_or((body, ""));
            let could_group =
                frac.len() == 3 && (1..=3).contains(&int.len()) && !int.starts_with('0');
            if !could_group {
                Some(sep)
            } else if sep == locale.grouping() {
                None
            } else {
                let grouped = format!("{sign}{int}{frac}");
                let decimal = format!("{sign}{int}.{frac}");
                let decimal = Decimal::from_str(&decimal)
                    .map(|d| d.normalize().to_string())
                    .unwrap_or(decimal);
                return Err(format!(
                    "'{raw}' could be read as {grouped} or as {decimal}; write {grouped} or {decimal} (or set [team] locale)"
                ));
            }
        }
    };
    let (int, frac) = match decimal {
        Some(sep) => body.rsplit_once(sep).unwrap_or((body, "")),
        None => (body, ""),
    };
    let grouping = ['.', ',']
        .into_iter()
        .find(|c| Some(*c) != decimal && int.contains(*c));
    let digits = match grouping {
        None => int.to_string(),
        Some(g) => {
            let groups: Vec<&str> = int.split(g).collect();
            let first_ok = (1..=3).contains(&groups[0].len());
            if !first_ok || groups[1..].iter().any(|grp| grp.len() != 3) {
                return Err(format!(
                    "'{raw}' is not {what}: thousands are grouped by three digits (12.000,50 or 12,000.50)"
                ));
            }
            groups.concat()
        }
    };
    if frac.contains(['.', ',']) {
        return Err(not_a_number());
    }
    let text = if frac.is_empty() {
        format!("{sign}{digits}")
    } else {
        format!(
            "{sign}{}.{frac}",
            if digits.is_empty() { "0" } else { &digits }
        )
    };
    let d = Decimal::from_str(&text)
        .map(|d| d.normalize())
        .map_err(|_| not_a_number())?;
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
pub fn parse_quantity(raw: &str, locale: NumberLocale) -> Result<Decimal, String> {
    let q = parse_decimal(raw, "a quantity", locale)?;
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
pub fn parse_amount(raw: &str, locale: NumberLocale) -> Result<Decimal, String> {
    let d = parse_decimal(raw, "an amount", locale)?;
    if d.is_sign_negative() {
        return Err(format!("'{raw}' is negative; amounts cannot be"));
    }
    Ok(d)
}

/// Reads a percentage 0..=100, with or without `%`.
///
/// Fails outside that range.
pub fn parse_percent(raw: &str, locale: NumberLocale) -> Result<Decimal, String> {
    let t = raw.trim();
    let d = parse_decimal(
        t.strip_suffix('%').unwrap_or(t).trim_end(),
        "a percentage",
        locale,
    )?;
    if d.is_sign_negative() || d > Decimal::ONE_HUNDRED {
        return Err(format!("'{raw}' is not a percentage between 0 and 100"));
    }
    Ok(d)
}

/// Reads a discount: `5%` is a percentage, `50` an amount.
///
/// Fails for negative values or percentages above 100.
pub fn parse_discount(raw: &str, locale: NumberLocale) -> Result<Discount, String> {
    if raw.trim().ends_with('%') {
        Ok(Discount::Percent(parse_percent(raw, locale)?))
    } else {
        Ok(Discount::Amount(parse_amount(raw, locale)?))
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
    let locale = ctx.team.locale;
    let v = match ty {
        FieldType::Text => FieldValue::Text(t.to_string()),
        FieldType::Email => FieldValue::Text(parse_email(t).map_err(prefix)?),
        FieldType::Website => FieldValue::Text(parse_website(t).map_err(prefix)?),
        FieldType::Phone => FieldValue::Text(parse_phone(t).map_err(prefix)?),
        FieldType::Date => FieldValue::Date(parse_date(t, ctx.today()).map_err(prefix)?),
        FieldType::Amount => FieldValue::Amount(parse_amount(t, locale).map_err(prefix)?),
        FieldType::Number => {
            FieldValue::Number(parse_decimal(t, "a number", locale).map_err(prefix)?)
        }
        FieldType::Percent => FieldValue::Number(parse_percent(t, locale).map_err(prefix)?),
        FieldType::Probability => {
            let p = parse_percent(t, locale).map_err(prefix)?;
            if !p.fract().is_zero() {
                return Err(format!("{name}: '{raw}' must be a whole percentage"));
            }
            FieldValue::Number(p)
        }
        FieldType::Discount => FieldValue::Discount(parse_discount(t, locale).map_err(prefix)?),
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
    fn two_digit_years_are_this_century_not_year_26() {
        let today = day("2026-11-29");
        assert_eq!(parse_date("1.12.26", today), Ok(day("2026-12-01")));
        assert_eq!(parse_date("1.1.27", today), Ok(day("2027-01-01")));
        assert_eq!(parse_date("01.01.2027", today), Ok(day("2027-01-01")));
        assert!(parse_date("0026-12-01", today).is_err());
        assert!(parse_date("1.12.026", today).is_err());
        assert!(parse_date("31.2.26", today).is_err());
    }

    #[test]
    fn a_date_without_a_year_is_the_next_such_day() {
        let today = day("2026-11-29");
        assert_eq!(parse_date("10.12.", today), Ok(day("2026-12-10")));
        assert_eq!(parse_date("29.11.", today), Ok(day("2026-11-29")));
        assert_eq!(parse_date("5.1.", today), Ok(day("2027-01-05")));
        assert_eq!(parse_date("28.11", today), Ok(day("2027-11-28")));
    }

    #[test]
    fn german_weekdays_and_uebermorgen_are_understood() {
        let today = day("2026-11-29"); // a Sunday
        assert_eq!(parse_date("Mo", today), Ok(day("2026-11-30")));
        assert_eq!(parse_date("Di", today), Ok(day("2026-12-01")));
        assert_eq!(parse_date("Fr", today), Ok(day("2026-12-04")));
        assert_eq!(parse_date("Freitag", today), Ok(day("2026-12-04")));
        assert_eq!(parse_date("So", today), Ok(day("2026-12-06")));
        assert_eq!(parse_date("übermorgen", today), Ok(day("2026-12-01")));
        assert_eq!(parse_date("in 3 Tagen", today), Ok(day("2026-12-02")));
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

    const DE: NumberLocale = NumberLocale::De;
    const EN: NumberLocale = NumberLocale::En;

    fn amount(raw: &str, locale: NumberLocale) -> Result<String, String> {
        parse_amount(raw, locale).map(|d| d.to_string())
    }

    #[test]
    fn numbers_too_large_to_compute_safely_are_refused() {
        assert!(parse_amount("1000000000000", DE).is_ok());
        assert!(parse_amount("1000000000001", DE).is_err());
        assert!(parse_amount("99999999999999999999999999999999", DE).is_err());
        assert!(parse_quantity("1000000001", DE).is_err());
        assert!(parse_amount("0.0000001", DE).is_err());
    }

    #[test]
    fn a_dot_before_three_digits_is_german_thousands_not_decimals() {
        // The bug: "20.000" was stored as 20.00 EUR.
        assert_eq!(amount("20.000", DE), Ok("20000".into()));
        assert_eq!(amount("1.500", DE), Ok("1500".into()));
        assert_eq!(amount("12.000", DE), Ok("12000".into()));
        assert_eq!(amount("1.234.567", DE), Ok("1234567".into()));
        assert_eq!(amount("20.000,-", DE), Ok("20000".into()));
    }

    #[test]
    fn every_usual_way_of_writing_an_amount_reads_the_same() {
        for locale in [DE, EN] {
            for raw in [
                "1234.56", "1234,56", "1.234,56", "1,234.56", "1 234,56", "1'234.56",
            ] {
                assert_eq!(
                    amount(raw, locale),
                    Ok("1234.56".into()),
                    "{raw} {locale:?}"
                );
            }
            assert_eq!(amount("12.500,50", locale), Ok("12500.5".into()));
            assert_eq!(amount("0,125", locale), Ok("0.125".into()));
            assert_eq!(amount("0.0125", locale), Ok("0.0125".into()));
            assert_eq!(amount("1234.567", locale), Ok("1234.567".into()));
            assert_eq!(amount("99,5", locale), Ok("99.5".into()));
            assert_eq!(amount("12000", locale), Ok("12000".into()));
        }
        assert_eq!(amount("1,500", EN), Ok("1500".into()));
    }

    #[test]
    fn a_number_that_reads_two_ways_is_refused_with_both_readings() {
        let e = amount("1.500", EN).expect_err("ambiguous in English");
        assert!(e.contains("1500") && e.contains("1.5"), "{e}");
        let e = amount("1,500", DE).expect_err("ambiguous in German");
        assert!(e.contains("1500") && e.contains("1.5"), "{e}");
    }

    #[test]
    fn malformed_numbers_and_negatives_are_refused() {
        for raw in [
            "1.23.4",
            "1,2,3",
            "1.234.56",
            "12000 EUR",
            "1.2,3,4",
            "",
            ".",
            "1..2",
            "abc",
        ] {
            assert!(amount(raw, DE).is_err(), "{raw}");
        }
        assert!(amount("-5", DE).is_err());
        assert_eq!(
            parse_decimal("-1.500", "a number", DE).map(|d| d.to_string()),
            Ok("-1500".into())
        );
        assert_eq!(
            parse_percent("7,5%", DE).map(|d| d.to_string()),
            Ok("7.5".into())
        );
    }

    #[test]
    fn discounts_are_percent_with_a_sign_and_amounts_without() {
        assert_eq!(
            parse_discount("5%", DE),
            Ok(Discount::Percent(Decimal::from(5)))
        );
        assert_eq!(
            parse_discount("50", DE),
            Ok(Discount::Amount(Decimal::from(50)))
        );
        assert!(parse_discount("150%", DE).is_err());
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
