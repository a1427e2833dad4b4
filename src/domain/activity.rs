//! Activities (P-7 to P-12): calls, e-mails, tasks, appointments and notes
//! on the timeline of any record.
//!
//! An activity is open, completed or canceled (notes are simply there). What
//! the timeline shows, Active, Closed or Overdue (P-10), is computed from the
//! state and the moment it becomes overdue, never stored.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::fields::{CustomValues, Editable, FieldSpec, FieldType, FieldValue};
use super::ids::{Kind, RecordId};
use super::{Record, Refusal, Rules};

/// When something is due: an exact moment, or a whole day in the owner's
/// time zone (overdue once that day is over).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Due {
    At(DateTime<Utc>),
    Day(NaiveDate),
}

impl Due {
    /// The moment it becomes overdue for an owner in `tz`.
    pub fn overdue_at(&self, tz: Tz) -> DateTime<Utc> {
        match self {
            Due::At(t) => *t,
            Due::Day(d) => start_of_day(d.checked_add_days(Days::new(1)).unwrap_or(*d), tz),
        }
    }

    /// `2026-12-03 10:00 (Europe/Berlin)` or `2026-12-03`, for people in `tz`.
    pub fn display(&self, tz: Tz) -> String {
        match self {
            Due::At(t) => t
                .with_timezone(&tz)
                .format("%a %Y-%m-%d %H:%M %Z")
                .to_string(),
            Due::Day(d) => d.format("%a %Y-%m-%d").to_string(),
        }
    }
}

/// The first moment of `day` in `tz` (midnight, or the first valid time when
/// a clock change skips midnight).
pub fn start_of_day(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut t = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    for _ in 0..24 {
        if let Some(dt) = tz.from_local_datetime(&t).earliest() {
            return dt.with_timezone(&Utc);
        }
        t += chrono::Duration::hours(1);
    }
    Utc.from_utc_datetime(&t)
}

/// Call direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Incoming,
    Outgoing,
}

/// What each kind of activity records beyond the common fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Details {
    Call {
        direction: Direction,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<String>,
    },
    Email {
        direction: Direction,
        from: String,
        #[serde(default)]
        to: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cc: Vec<String>,
        date: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// Attachment names and sizes (the files stay in the mailbox).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<super::mail::Attachment>,
        /// How an incoming mail was matched to this record, with evidence.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        matched: Option<String>,
        /// What was odd about the mail (automatic reply, bad parts...).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
    },
    Task,
    Appointment {
        end: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attendees: Vec<String>,
    },
    Note,
}

impl Details {
    /// The kind's word: `call`, `email`, `task`, `appointment`, `note`.
    pub fn name(&self) -> &'static str {
        match self {
            Details::Call { .. } => "call",
            Details::Email { .. } => "email",
            Details::Task => "task",
            Details::Appointment { .. } => "appointment",
            Details::Note => "note",
        }
    }
}

/// The activity kinds `kind:` filters accept.
pub const KINDS: &[&str] = &["call", "email", "task", "appointment", "note"];

/// An activity's stored state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ActivityState {
    Open,
    Completed { at: DateTime<Utc> },
    Canceled { at: DateTime<Utc> },
}

/// What the timeline shows (P-10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shown {
    Active,
    Closed,
    Overdue,
}

impl Shown {
    /// `Active`, `Closed`, `Overdue`.
    pub fn label(self) -> &'static str {
        match self {
            Shown::Active => "Active",
            Shown::Closed => "Closed",
            Shown::Overdue => "Overdue",
        }
    }
}

/// One activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub number: u64,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub owner: String,
    /// The record whose timeline it is on.
    pub regarding: RecordId,
    pub details: Details,
    /// Due time of a task or call; start of an appointment; when a logged
    /// call or e-mail happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Due>,
    #[serde(flatten)]
    pub state: ActivityState,
    pub created_at: DateTime<Utc>,
}

impl Record for Activity {
    const KIND: Kind = Kind::Activity;
    fn into_any(self) -> super::AnyRecord {
        super::AnyRecord::Activity(self)
    }
    const LISTED: bool = false;
    fn number(&self) -> u64 {
        self.number
    }
    fn state_name(&self) -> &'static str {
        match self.state {
            ActivityState::Open => "open",
            ActivityState::Completed { .. } => "completed",
            ActivityState::Canceled { .. } => "canceled",
        }
    }
    fn owner(&self) -> &str {
        &self.owner
    }
    fn title(&self) -> String {
        format!("{} {}", self.details.name(), self.subject)
    }
    fn lookups(&self) -> Vec<super::Lookup> {
        use super::Part;
        vec![super::Lookup {
            what: "timeline",
            parts: vec![
                Part::Text(self.regarding.kind.name().to_string()),
                Part::Number(self.regarding.number),
                Part::Number(self.number),
            ],
        }]
    }
    fn watch(&self) -> Option<Due> {
        match self.state {
            ActivityState::Open => self.overdue_due(),
            _ => None,
        }
    }
}

impl Editable for Activity {
    const FIELDS: &'static [FieldSpec] = crate::fields![
        "subject" | "topic" | "title" => FieldType::Text,
        "description" | "desc" | "text" => FieldType::Text,
    ];

    fn set(&mut self, field: &'static str, value: FieldValue) -> Result<(), Refusal> {
        match field {
            "subject" => self.subject = value.required_text("an activity's subject")?,
            "description" => self.description = value.text(),
            _ => return Err(Refusal::new(format!("activities have no field {field}"))),
        }
        Ok(())
    }

    fn custom_mut(&mut self) -> Option<&mut CustomValues> {
        None
    }
}

impl Activity {
    /// The due that decides overdue: an appointment is overdue once it has
    /// ended without being completed; others at their due time.
    fn overdue_due(&self) -> Option<Due> {
        match (&self.details, self.due) {
            (Details::Appointment { end, .. }, _) => Some(Due::At(*end)),
            (Details::Note, _) => None,
            (_, due) => due,
        }
    }

    /// Active, Closed or Overdue at `now` for an owner in `tz` (P-10).
    pub fn shown(&self, now: DateTime<Utc>, tz: Tz) -> Shown {
        match self.state {
            ActivityState::Completed { .. } | ActivityState::Canceled { .. } => Shown::Closed,
            ActivityState::Open => match self.overdue_due() {
                None if matches!(self.details, Details::Note) => Shown::Closed,
                Some(d) if d.overdue_at(tz) <= now => Shown::Overdue,
                _ => Shown::Active,
            },
        }
    }

    fn id(&self, rules: &Rules) -> String {
        rules.show(Kind::Activity, self.number)
    }

    fn ensure_open(&self, rules: &Rules, action: &str) -> Result<(), Refusal> {
        match &self.state {
            ActivityState::Open if !matches!(self.details, Details::Note) => Ok(()),
            ActivityState::Open => Err(Refusal::new(format!(
                "cannot {action} {}: notes are not done or due; add another note instead",
                self.id(rules)
            ))),
            ActivityState::Completed { .. } => Err(Refusal::new(format!(
                "cannot {action} {}: it is already completed",
                self.id(rules)
            ))),
            ActivityState::Canceled { .. } => Err(Refusal::new(format!(
                "cannot {action} {}: it is canceled",
                self.id(rules)
            ))),
        }
    }

    /// Marks an open activity done; a call may record its result.
    ///
    /// Fails unless the activity is open (notes never are).
    pub fn complete(
        &self,
        result: Option<String>,
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Result<Activity, Refusal> {
        self.ensure_open(rules, "complete")?;
        let mut a = self.clone();
        if let (Details::Call { result: r, .. }, Some(new)) = (&mut a.details, result) {
            *r = Some(new);
        }
        a.state = ActivityState::Completed { at: now };
        Ok(a)
    }

    /// The e-mail activity of an outgoing mail the server accepted, sent
    /// from `from` at `now`: completed and dated then. `None` when it is
    /// not open any more (a person closed it meanwhile).
    pub fn mail_sent(&self, from: &str, now: DateTime<Utc>) -> Option<Activity> {
        if !matches!(self.state, ActivityState::Open) {
            return None;
        }
        let mut a = self.clone();
        a.state = ActivityState::Completed { at: now };
        a.due = Some(Due::At(now));
        if let Details::Email {
            from: sender, date, ..
        } = &mut a.details
        {
            *sender = from.to_string();
            *date = now;
        }
        Some(a)
    }

    /// The e-mail activity of an outgoing mail given up on: canceled, with
    /// why among its notes. `None` when it is not open any more.
    pub fn mail_failed(&self, reason: &str, now: DateTime<Utc>) -> Option<Activity> {
        if !matches!(self.state, ActivityState::Open) {
            return None;
        }
        let mut a = self.clone();
        a.state = ActivityState::Canceled { at: now };
        if let Details::Email { notes, date, .. } = &mut a.details {
            notes.push(reason.to_string());
            *date = now;
        }
        Some(a)
    }

    /// The e-mail activity of a failed mail a person sends again: open
    /// again, with `note` among its notes. `None` unless it was canceled.
    pub fn mail_resent(&self, note: String) -> Option<Activity> {
        if !matches!(self.state, ActivityState::Canceled { .. }) {
            return None;
        }
        let mut a = self.clone();
        a.state = ActivityState::Open;
        if let Details::Email { notes, .. } = &mut a.details {
            notes.push(note);
        }
        Some(a)
    }

    /// Cancels an open activity.
    ///
    /// Fails unless the activity is open.
    pub fn cancel(&self, rules: &Rules, now: DateTime<Utc>) -> Result<Activity, Refusal> {
        self.ensure_open(rules, "cancel")?;
        let mut a = self.clone();
        a.state = ActivityState::Canceled { at: now };
        Ok(a)
    }

    /// Moves an open activity to a new due time (for appointments, a new
    /// start with the same length), which must not be in the past.
    ///
    /// Fails unless open, or when the new time has passed.
    pub fn reschedule(
        &self,
        due: Due,
        tz: Tz,
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Result<Activity, Refusal> {
        self.ensure_open(rules, "reschedule")?;
        if due.overdue_at(tz) <= now {
            return Err(Refusal::new(format!(
                "cannot reschedule {} to {}: that is in the past",
                self.id(rules),
                due.display(tz)
            )));
        }
        let mut a = self.clone();
        if let (Details::Appointment { end, .. }, Some(Due::At(old)), Due::At(new)) =
            (&mut a.details, self.due, due)
        {
            *end = new + (*end - old);
        } else if matches!(a.details, Details::Appointment { .. }) {
            return Err(Refusal::new(
                "an appointment needs a start time, e.g. start:\"2026-12-04 10:00\"",
            ));
        }
        a.due = Some(due);
        Ok(a)
    }

    /// Gives an open activity to another owner.
    ///
    /// Fails unless open.
    pub fn reassign(&self, owner: String, rules: &Rules) -> Result<Activity, Refusal> {
        self.ensure_open(rules, "reassign")?;
        let mut a = self.clone();
        a.owner = owner;
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .expect("test literal")
    }

    fn task(due: Due) -> Activity {
        Activity {
            number: 1,
            subject: "Send brochure".into(),
            description: None,
            owner: "maria".into(),
            regarding: RecordId::new(Kind::Lead, 1001),
            details: Details::Task,
            due: Some(due),
            state: ActivityState::Open,
            created_at: at("2026-11-01T00:00:00Z"),
        }
    }

    #[test]
    fn a_day_is_overdue_when_it_is_over_in_the_owners_time_zone() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).expect("valid");
        let t = task(Due::Day(day));
        let berlin = chrono_tz::Europe::Berlin;
        let new_york = chrono_tz::America::New_York;
        // 23:30 UTC on the 3rd: the 4th in Berlin, still the 3rd in New York.
        let now = at("2026-12-03T23:30:00Z");
        assert_eq!(t.shown(now, berlin), Shown::Overdue);
        assert_eq!(t.shown(now, new_york), Shown::Active);
        assert_eq!(
            t.shown(at("2026-12-04T05:00:00Z"), new_york),
            Shown::Overdue
        );
    }

    #[test]
    fn days_end_correctly_across_daylight_saving_changes() {
        let berlin = chrono_tz::Europe::Berlin;
        // Clocks go forward on 2026-03-29 at 02:00 and back on 2026-10-25 at 03:00.
        let spring = Due::Day(NaiveDate::from_ymd_opt(2026, 3, 28).expect("valid"));
        assert_eq!(spring.overdue_at(berlin), at("2026-03-28T23:00:00Z"));
        let march_29 = Due::Day(NaiveDate::from_ymd_opt(2026, 3, 29).expect("valid"));
        assert_eq!(march_29.overdue_at(berlin), at("2026-03-29T22:00:00Z"));
        let autumn = Due::Day(NaiveDate::from_ymd_opt(2026, 10, 25).expect("valid"));
        assert_eq!(autumn.overdue_at(berlin), at("2026-10-25T23:00:00Z"));
    }

    #[test]
    fn completed_and_canceled_activities_are_closed_and_notes_never_due() {
        let t = task(Due::At(at("2026-12-01T09:00:00Z")));
        let rules = Rules::default();
        let now = at("2026-12-02T00:00:00Z");
        assert_eq!(t.shown(now, chrono_tz::UTC), Shown::Overdue);
        let done = t.complete(None, &rules, now).expect("open");
        assert_eq!(done.shown(now, chrono_tz::UTC), Shown::Closed);
        assert!(done.complete(None, &rules, now).is_err());
        assert!(done.watch().is_none());
        let mut note = t.clone();
        note.details = Details::Note;
        note.due = None;
        assert_eq!(note.shown(now, chrono_tz::UTC), Shown::Closed);
        assert!(note.complete(None, &rules, now).is_err());
    }

    #[test]
    fn rescheduling_into_the_past_is_refused_and_appointments_keep_their_length() {
        let rules = Rules::default();
        let now = at("2026-12-01T12:00:00Z");
        let t = task(Due::At(at("2026-12-01T09:00:00Z")));
        assert!(t
            .reschedule(
                Due::At(at("2026-12-01T11:00:00Z")),
                chrono_tz::UTC,
                &rules,
                now
            )
            .is_err());
        let mut m = t.clone();
        m.details = Details::Appointment {
            end: at("2026-12-01T10:00:00Z"),
            location: None,
            attendees: vec![],
        };
        let moved = m
            .reschedule(
                Due::At(at("2026-12-02T14:00:00Z")),
                chrono_tz::UTC,
                &rules,
                now,
            )
            .expect("future");
        assert!(
            matches!(moved.details, Details::Appointment { end, .. } if end == at("2026-12-02T15:00:00Z"))
        );
    }
}
