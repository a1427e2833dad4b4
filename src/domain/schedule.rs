//! Schedules written as the usual five-field crontab (`0 8 * * Mon-Fri`).
//!
//! The `cron` crate wants a seconds field and numbers the weekdays 1 (Sun)
//! to 7 (Sat); crontab numbers them 0 (or 7) for Sunday to 6. This module
//! converts the one to the other and names the wrong field of a bad line.
//!
//! crontab(5): when both day of month and day of week are restricted (do
//! not start with `*`), a line fires when *either* matches; the `cron`
//! crate requires both. Such a line becomes two schedules, one for each
//! day field, and fires when either does.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::Deserialize;
use std::str::FromStr;

const FIELDS: [&str; 5] = ["minute", "hour", "day of month", "month", "day of week"];
const DAYS: [&str; 8] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A parsed five-field schedule.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Schedule {
    text: String,
    /// One schedule, or two whose union it is (see the module docs).
    inner: Vec<cron::Schedule>,
}

/// Crontab weekday numbers as names: `1-5` -> `Mon-Fri`, `0,6` -> `Sun,Sat`.
fn weekday_names(field: &str) -> String {
    let name = |n: &str| -> String {
        n.parse::<usize>()
            .ok()
            .and_then(|i| DAYS.get(i))
            .map_or_else(|| n.to_string(), |d| d.to_string())
    };
    field
        .split(',')
        .map(|part| {
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (part, None),
            };
            let range = match range.split_once('-') {
                // A range that ends on Sunday as 7 wraps: Fri-Sat plus Sun.
                Some((a, "7")) if a != "0" && a != "7" => format!("{}-Sat,Sun", name(a)),
                Some((a, b)) => format!("{}-{}", name(a), name(b)),
                None => name(range),
            };
            match step {
                Some(s) => format!("{range}/{s}"),
                None => range,
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn convert(fields: &[&str]) -> String {
    let mut f: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
    f[4] = weekday_names(&f[4]);
    format!("0 {}", f.join(" "))
}

impl Schedule {
    /// Parses a five-field crontab line.
    ///
    /// Fails naming the field that is wrong, or the field count.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "'{text}' has {} fields; a schedule has five: minute hour day-of-month month day-of-week (e.g. \"0 8 * * Mon-Fri\")",
                fields.len()
            ));
        }
        let restricted = |f: &str| !f.starts_with('*');
        let lines: Vec<String> = if restricted(fields[2]) && restricted(fields[4]) {
            let mut by_month_day = fields.clone();
            by_month_day[4] = "*";
            let mut by_weekday = fields.clone();
            by_weekday[2] = "*";
            vec![convert(&by_month_day), convert(&by_weekday)]
        } else {
            vec![convert(&fields)]
        };
        let parsed: Result<Vec<cron::Schedule>, _> =
            lines.iter().map(|l| cron::Schedule::from_str(l)).collect();
        match parsed {
            Ok(inner) => {
                let schedule = Schedule {
                    text: text.to_string(),
                    inner,
                };
                // From a fixed moment, so the answer does not depend on
                // today; eight years hold two leap days (29 February).
                let from = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single();
                let fires = from
                    .and_then(|f| schedule.next_after(f, &Utc))
                    .is_some_and(|t| t.year() < 2009);
                if !fires {
                    return Err(format!(
                        "'{text}' never fires: no date has that day in that month"
                    ));
                }
                Ok(schedule)
            }
            Err(e) => {
                for (i, field) in fields.iter().enumerate() {
                    let mut probe = ["*"; 5];
                    probe[i] = field;
                    if cron::Schedule::from_str(&convert(&probe)).is_err() {
                        return Err(format!(
                            "'{text}': the {} field '{field}' is not valid",
                            FIELDS[i]
                        ));
                    }
                }
                Err(format!("'{text}' is not a valid schedule: {e}"))
            }
        }
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The latest time the schedule fires in `(after, until]`, read in `tz`.
    pub fn latest_between<Tz: TimeZone>(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        tz: &Tz,
    ) -> Option<DateTime<Utc>> {
        self.inner
            .iter()
            .filter_map(|s| {
                s.after(&after.with_timezone(tz))
                    .map(|t| t.with_timezone(&Utc))
                    .take_while(|t| *t <= until)
                    .last()
            })
            .max()
    }

    /// The next time the schedule fires after `after`, read in `tz`.
    pub fn next_after<Tz: TimeZone>(&self, after: DateTime<Utc>, tz: &Tz) -> Option<DateTime<Utc>> {
        self.inner
            .iter()
            .filter_map(|s| {
                s.after(&after.with_timezone(tz))
                    .next()
                    .map(|t| t.with_timezone(&Utc))
            })
            .min()
    }
}

impl TryFrom<String> for Schedule {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Schedule::parse(&s)
    }
}

/// When a job on `schedule` runs at `now`, given when it last ran: it has
/// never run, or the schedule fired since (a run missed while leadline was
/// down is caught up once, not once per missed firing).
pub fn is_due(
    schedule: &Schedule,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    tz: &chrono_tz::Tz,
) -> bool {
    last.is_none_or(|last| schedule.latest_between(last, now, tz).is_some())
}

/// The firing of the daily digest a member is due at `now`, given the last
/// check: the latest firing since then. A first check looks back to the
/// start of today in the member's time zone only, so a new member or a new
/// store gets today's digest, never a pile of old ones.
pub fn digest_due(
    schedule: &Schedule,
    last_check: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Option<DateTime<Utc>> {
    let since = last_check.unwrap_or_else(|| {
        let today = now.with_timezone(&tz).date_naive();
        super::activity::start_of_day(today, tz) - chrono::Duration::seconds(1)
    });
    schedule.latest_between(since, now, &tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .expect("test literal")
    }

    #[test]
    fn five_field_lines_fire_in_the_given_time_zone() {
        let s = Schedule::parse("0 8 * * Mon-Fri").expect("valid");
        let berlin = chrono_tz::Europe::Berlin;
        // Monday 2026-11-30 08:00 Berlin is 07:00 UTC.
        assert_eq!(
            s.next_after(at("2026-11-29T12:00:00Z"), &berlin),
            Some(at("2026-11-30T07:00:00Z"))
        );
        let numeric = Schedule::parse("0 8 * * 1-5").expect("valid");
        assert_eq!(
            numeric.next_after(at("2026-11-29T12:00:00Z"), &berlin),
            Some(at("2026-11-30T07:00:00Z"))
        );
        let sunday = Schedule::parse("30 9 * * 0").expect("valid");
        assert_eq!(
            sunday.next_after(at("2026-11-30T00:00:00Z"), &chrono_tz::UTC),
            Some(at("2026-12-06T09:30:00Z"))
        );
        let weekend = Schedule::parse("0 10 * * 6-7").expect("valid");
        assert_eq!(
            weekend.next_after(at("2026-12-05T11:00:00Z"), &chrono_tz::UTC),
            Some(at("2026-12-06T10:00:00Z"))
        );
    }

    #[test]
    fn the_latest_missed_time_is_found_once() {
        let s = Schedule::parse("*/5 * * * *").expect("valid");
        let last = s.latest_between(
            at("2026-11-30T08:00:00Z"),
            at("2026-11-30T11:07:00Z"),
            &chrono_tz::UTC,
        );
        assert_eq!(last, Some(at("2026-11-30T11:05:00Z")));
        assert_eq!(
            s.latest_between(
                at("2026-11-30T11:05:00Z"),
                at("2026-11-30T11:07:00Z"),
                &chrono_tz::UTC
            ),
            None
        );
    }

    #[test]
    fn a_bad_line_names_the_wrong_field() {
        let e = Schedule::parse("0 25 * * *").err().unwrap_or_default();
        assert!(e.contains("the hour field '25'"), "{e}");
        let e = Schedule::parse("0 8 * * Funday").err().unwrap_or_default();
        assert!(e.contains("day of week"), "{e}");
        let e = Schedule::parse("0 0 8 * * Mon").err().unwrap_or_default();
        assert!(e.contains("has 6 fields"), "{e}");
    }

    #[test]
    fn day_of_month_and_weekday_restricted_together_mean_either() {
        let s = Schedule::parse("0 8 1,15 * Mon").expect("valid");
        let berlin = chrono_tz::Europe::Berlin;
        let at = |t: &str| t.parse::<DateTime<Utc>>().expect("time");
        // From Tue 2026-12-01 08:00 Berlin: Mon 7 Dec, Mon 14, Tue 15, Mon 21.
        let mut t = at("2026-12-01T07:00:00Z");
        let mut fired = Vec::new();
        for _ in 0..4 {
            t = s.next_after(t, &berlin).expect("fires");
            fired.push(t.with_timezone(&berlin).format("%a %d").to_string());
        }
        assert_eq!(fired, ["Mon 07", "Mon 14", "Tue 15", "Mon 21"]);
        assert_eq!(
            s.latest_between(
                at("2026-12-14T08:00:00Z"),
                at("2026-12-16T00:00:00Z"),
                &berlin
            ),
            Some(at("2026-12-15T07:00:00Z"))
        );
        // One restricted day field keeps the usual meaning.
        let weekdays = Schedule::parse("0 8 * * Mon").expect("valid");
        let next = weekdays
            .next_after(at("2026-12-14T08:00:00Z"), &berlin)
            .expect("fires");
        assert_eq!(next, at("2026-12-21T07:00:00Z"));
    }

    #[test]
    fn a_job_is_due_once_after_missed_firings_and_a_first_digest_is_only_todays() {
        use chrono::TimeZone;
        let berlin = chrono_tz::Europe::Berlin;
        let at = |d: u32, h: u32, m: u32| {
            Utc.with_ymd_and_hms(2026, 12, d, h, m, 0)
                .single()
                .expect("a time")
        };
        let sweep = Schedule::parse("*/5 * * * *").expect("schedule");
        assert!(is_due(&sweep, None, at(1, 9, 0), &berlin));
        assert!(!is_due(&sweep, Some(at(1, 9, 0)), at(1, 9, 3), &berlin));
        assert!(is_due(&sweep, Some(at(1, 9, 0)), at(1, 9, 5), &berlin));
        assert!(is_due(&sweep, Some(at(1, 9, 0)), at(3, 9, 0), &berlin));
        // 08:00 Berlin is 07:00 UTC in winter.
        let digest = Schedule::parse("0 8 * * Mon-Fri").expect("schedule");
        assert_eq!(digest_due(&digest, None, at(1, 6, 0), berlin), None);
        assert_eq!(
            digest_due(&digest, None, at(1, 9, 0), berlin),
            Some(at(1, 7, 0))
        );
        // Down since Monday morning: Tuesday's digest, not Monday's as well.
        assert_eq!(
            digest_due(&digest, Some(at(1, 6, 0)), at(2, 9, 0), berlin),
            Some(at(2, 7, 0))
        );
        assert_eq!(
            digest_due(&digest, Some(at(2, 7, 30)), at(2, 9, 0), berlin),
            None
        );
    }
}
