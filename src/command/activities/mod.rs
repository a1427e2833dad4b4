//! Applying the timeline commands: new activities (P-11), their
//! transitions, `/timeline` (P-7, P-10, P-12), `/agenda`, `/overdue`,
//! `/notices`, and the scheduler's sweep.

mod create;
pub(crate) mod views;
mod watch;

pub use create::{activity_line, create};
pub(crate) use views::timeline_numbers;
pub use views::{agenda, notices, overdue, timeline};
pub use watch::{due_items, end_of_today, item_line, queue_digest, sweep, DueItems, Watched};

use super::apply::step as transition;
use super::args::{invalid, limit, split_list, Args};
use super::parse::Command;
use super::parse::{ActivityInput, TimelineQuery};
use super::records::{self, load, Tx};
use super::Family;
use super::{CommandError, Context, Outcome, Reply};
use crate::domain::activity::{Activity, Details, Due, Shown};
use crate::domain::activity::{Direction, KINDS};
use crate::domain::fields::normalize_name;
use crate::domain::invoice::Invoice;
use crate::domain::lead::Lead;
use crate::domain::opportunity::Opportunity;
use crate::domain::order::Order;
use crate::domain::party::{Account, Contact};
use crate::domain::quote::Quote;
use crate::domain::{Kind, Record, RecordId};

/// What any record says of itself, whatever its kind.
#[derive(Debug, Clone)]
pub struct Summary {
    pub id: RecordId,
    pub state: &'static str,
    pub title: String,
    pub owner: String,
    /// What the scheduler watches of it.
    pub due: Option<Due>,
}

impl Summary {
    /// Whether the record is closed, so that scheduling work on it makes no sense.
    pub fn closed(&self) -> bool {
        matches!(
            (self.id.kind, self.state),
            (Kind::Lead, "qualified" | "disqualified")
                | (Kind::Opportunity, "won" | "lost")
                | (Kind::Quote, "won" | "closed")
                | (Kind::Order, "invoiced" | "canceled")
                | (Kind::Invoice, "paid" | "canceled" | "credit_note")
                | (Kind::Activity, "completed" | "canceled")
        )
    }
}

/// The summary of record `id` (for quotes, the latest revision).
///
/// Fails when the store cannot be read.
pub fn summary(tx: &dyn Tx, id: RecordId) -> Result<Option<Summary>, CommandError> {
    fn of<R: Record>(tx: &dyn Tx, id: RecordId) -> Result<Option<Summary>, CommandError> {
        Ok(load::<R>(tx, id.number, id.revision)?.map(|r| Summary {
            id: RecordId::new(R::KIND, r.number()),
            state: r.state_name(),
            title: r.title(),
            owner: r.owner().to_string(),
            due: r.watch(),
        }))
    }
    match id.kind {
        Kind::Lead => of::<Lead>(tx, id),
        Kind::Contact => of::<Contact>(tx, id),
        Kind::Account => of::<Account>(tx, id),
        Kind::Opportunity => of::<Opportunity>(tx, id),
        Kind::Quote => of::<Quote>(tx, id),
        Kind::Order => of::<Order>(tx, id),
        Kind::Invoice => of::<Invoice>(tx, id),
        Kind::Activity => of::<Activity>(tx, id),
    }
}

fn require_summary(tx: &dyn Tx, ctx: &Context, id: RecordId) -> Result<Summary, CommandError> {
    summary(tx, id)?.ok_or_else(|| {
        CommandError::NotFound(format!(
            "there is no {} {}",
            id.kind.name(),
            ctx.rules.numbering.display(id)
        ))
    })
}

/// The activities family in the command table ([`super::FAMILIES`]).
pub(super) const FAMILY: Family = Family {
    topic: "activities",
    actions: &[(Kind::Lead, "timeline"), (Kind::Contact, "timeline"), (Kind::Account, "timeline"), (Kind::Opportunity, "timeline"), (Kind::Quote, "timeline"), (Kind::Order, "timeline"), (Kind::Invoice, "timeline"), (Kind::Activity, "done"), (Kind::Activity, "cancel"), (Kind::Activity, "reschedule"), (Kind::Activity, "assign")],
    steps: &["activity"],
    help: &[
        ("/call O-1001 subject:Intro result:\"wants a demo\"   /call O-1001 due:\"tomorrow 10:00\"",
         "log a call, or schedule the next one"),
        ("/task L-1001 Send brochure due:fri owner:maria   /note L-1001 \"Prefers e-mail\"",
         "a task with a due date; a note"),
        ("/meeting O-1001 Demo start:\"fri 10:00\" end:\"fri 11:00\" attendees:anna@contoso.example",
         "an appointment; e-mail attendees get an invitation"),
        ("/timeline O-1001 [state:overdue|active|closed] [kind:call|task|email|appointment|note]",
         "a record's activities, upcoming first, with the lead's on an opportunity (P-12)"),
        ("/done ACT-1001   /activity cancel|reschedule due:..|assign owner:.. ACT-1001",
         "finish, cancel, move or hand over an activity"),
        ("/agenda [owner:..]   /overdue [all|owner:..]   /notices",
         "what is overdue and due today; everyone's overdue; queued notices"),
    ],
    parse,
    apply,
    step,
};

/// Parses `/call`, `/task`, `/meeting`, `/note`, `/done`, `/timeline`,
/// `/agenda`, `/overdue`, `/notices` and `/activity done|cancel|reschedule|assign`.
///
/// Fails when an id, a time or an option does not read.
fn parse(args: &mut Args, kind: Option<Kind>, word: &str) -> Result<Option<Command>, CommandError> {
    let cmd = match (kind, word) {
        (None, "call" | "task" | "meeting" | "appointment" | "note") => parse_activity(args, word)?,
        (None, "done" | "complete") | (Some(Kind::Activity), "done") => {
            let activity = args.number(Kind::Activity)?;
            Command::ActivityDone {
                activity,
                result: args.text(&["result", "outcome"])?,
            }
        }
        (None, "timeline" | "tl") => {
            let target = args.any_id()?;
            parse_timeline(args, target)?
        }
        (Some(kind), "timeline") => {
            let id = args.id(kind)?;
            parse_timeline(args, id)?
        }
        (None, "agenda" | "today") => Command::Agenda {
            owner: args.owner()?,
        },
        (None, "overdue") => {
            let everyone = args.words.front().is_some_and(|(w, _)| {
                matches!(w.to_lowercase().as_str(), "all" | "everyone" | "team")
            });
            if everyone {
                args.word();
            }
            let owner = args.owner()?;
            Command::Overdue { owner, everyone }
        }
        (None, "notices") => {
            let owner = args.owner()?;
            Command::Notices {
                owner,
                limit: limit(args)?,
            }
        }
        (Some(Kind::Activity), "cancel") => Command::ActivityCancel(args.number(Kind::Activity)?),
        (Some(Kind::Activity), "reschedule") => {
            let activity = args.number(Kind::Activity)?;
            let due = args.when(&["due", "start", "at", "to"])?.ok_or_else(|| {
                invalid("/activity reschedule needs the new time: due:\"tomorrow 10:00\"")
            })?;
            Command::ActivityReschedule { activity, due }
        }
        (Some(Kind::Activity), "assign") => {
            let activity = args.number(Kind::Activity)?;
            let owner = args
                .owner()?
                .ok_or_else(|| invalid("/activity assign needs owner:<name>"))?;
            Command::ActivityAssign { activity, owner }
        }
        _ => return Ok(None),
    };
    Ok(Some(cmd))
}

/// The step an activity command is.
fn step(cmd: &Command) -> Option<&'static str> {
    Some(match cmd {
        Command::NewActivity(_)
        | Command::ActivityDone { .. }
        | Command::ActivityCancel(_)
        | Command::ActivityReschedule { .. }
        | Command::ActivityAssign { .. } => "activity",
        _ => return None,
    })
}

fn parse_timeline(args: &mut Args, target: RecordId) -> Result<Command, CommandError> {
    let state = match args.opt(&["state", "status"])? {
        None => None,
        Some(s) => Some(match normalize_name(&s).as_str() {
            "active" | "open" => Shown::Active,
            "closed" | "done" => Shown::Closed,
            "overdue" => Shown::Overdue,
            _ => {
                return Err(invalid(format!(
                    "state:{s} is not a timeline state; states: active, closed, overdue"
                )))
            }
        }),
    };
    let kind = match args.opt(&["kind", "type"])? {
        None => None,
        Some(k) => {
            let mut want = normalize_name(&k);
            if want == "meeting" {
                want = "appointment".to_string();
            }
            if want == "mail" || want == "e_mail" {
                want = "email".to_string();
            }
            Some(
                *KINDS
                    .iter()
                    .find(|x| **x == want.trim_end_matches('s'))
                    .ok_or_else(|| {
                        invalid(format!(
                            "kind:{k} is not an activity kind; kinds: {}",
                            KINDS.join(", ")
                        ))
                    })?,
            )
        }
    };
    Ok(Command::Timeline(TimelineQuery {
        target,
        state,
        kind,
        limit: limit(args)?,
    }))
}

/// `/call`, `/task`, `/meeting`, `/note` on a record.
fn parse_activity(args: &mut Args, head: &str) -> Result<Command, CommandError> {
    let regarding = args.any_id()?;
    if regarding.kind == Kind::Activity {
        return Err(invalid(format!(
            "{} goes on a record's timeline, not on an activity",
            args.name
        )));
    }
    let subject = args.subject()?;
    let description = args.text(&["description", "desc", "details", "text"])?;
    let owner = args.owner()?;
    let (details, due, scheduled, default_subject) = match head {
        "call" => {
            let direction = match args.opt(&["direction", "dir"])?.map(|d| normalize_name(&d)) {
                None => Direction::Outgoing,
                Some(d) if d == "in" || d == "incoming" || d == "inbound" => Direction::Incoming,
                Some(d) if d == "out" || d == "outgoing" || d == "outbound" => Direction::Outgoing,
                Some(d) => return Err(invalid(format!("direction:{d} must be in or out"))),
            };
            let phone = args.text(&["phone", "number"])?;
            let result = args.text(&["result", "outcome"])?;
            let due = args.when(&["due", "next", "at_time"])?;
            let happened = args.when(&["at", "when", "on"])?;
            if due.is_some() && (happened.is_some() || result.is_some()) {
                return Err(invalid(
                    "a call is either logged (result:, at:) or scheduled (due:), not both",
                ));
            }
            let scheduled = due.is_some();
            (
                Details::Call {
                    direction,
                    phone,
                    result,
                },
                due.or(happened),
                scheduled,
                "Call",
            )
        }
        "task" => (
            Details::Task,
            args.when(&["due", "by", "on"])?,
            true,
            "Task",
        ),
        "meeting" | "appointment" => {
            let start = args.when(&["start", "at", "on", "due"])?.ok_or_else(|| {
                invalid(format!(
                    "{} needs a start, e.g. start:\"2026-12-04 10:00\"",
                    args.name
                ))
            })?;
            let Due::At(start_at) = start else {
                return Err(invalid(format!(
                    "{} needs a start time, not just a day, e.g. start:\"2026-12-04 10:00\"",
                    args.name
                )));
            };
            let end = match args.when(&["end", "until", "to"])? {
                None => start_at + chrono::Duration::hours(1),
                Some(Due::At(e)) => e,
                Some(Due::Day(_)) => {
                    return Err(invalid("end: needs a time, e.g. end:\"2026-12-04 11:00\""))
                }
            };
            let location = args.text(&["location", "where", "place"])?;
            let attendees = split_list(args.text(&["attendees", "with", "invite"])?);
            (
                Details::Appointment {
                    end,
                    location,
                    attendees,
                },
                Some(start),
                true,
                "Meeting",
            )
        }
        _ => {
            let Some(text) = subject.clone().or(description.clone()) else {
                return Err(invalid(
                    "/note needs its text, e.g. /note L-1001 \"Prefers e-mail\"",
                ));
            };
            let short: String = text.lines().next().unwrap_or("").chars().take(80).collect();
            return Ok(Command::NewActivity(ActivityInput {
                regarding,
                subject: short,
                description: Some(text)
                    .filter(|t| t.chars().count() > 80 || t.contains('\n'))
                    .or(description),
                owner,
                details: Details::Note,
                due: None,
                scheduled: false,
            }));
        }
    };
    Ok(Command::NewActivity(ActivityInput {
        regarding,
        subject: subject.unwrap_or_else(|| default_subject.to_string()),
        description,
        owner,
        details,
        due,
        scheduled,
    }))
}

/// What this family's commands did.
#[derive(Debug, Clone)]
pub enum Done {
    /// An activity added to a record's timeline, and the outbox number of
    /// the invitation queued for it.
    Created {
        activity: Activity,
        scheduled: bool,
        invited: Option<u64>,
    },
    /// An activity moved on: how (`Completed`, `Canceled`...), and after.
    Changed(&'static str, Activity),
    Timeline(views::Timeline),
    NoticeDelivered(u64),
    /// An owner's overdue items and those due today.
    Agenda {
        owner: String,
        overdue: views::Section,
        today: views::Section,
    },
    /// Overdue items of one owner, or of `everyone`.
    Overdue {
        who: String,
        items: views::Section,
    },
    /// The notices queued for a member: how many, and the newest.
    Notices {
        who: String,
        total: usize,
        shown: Vec<super::queue::Notice>,
    },
    /// Overdue items announced; `more` when another pass is due.
    Swept {
        announced: usize,
        more: bool,
    },
    /// A digest queued: whose, for which day, and its outbox mail.
    DigestQueued {
        owner: String,
        day: chrono::NaiveDate,
        mail: Option<u64>,
    },
    /// A scheduler job recorded as run.
    JobRan {
        job: String,
        at: chrono::DateTime<chrono::Utc>,
    },
}

impl Done {
    pub(crate) fn created(&self) -> Option<RecordId> {
        match self {
            Done::Created { activity, .. } => Some(activity.id()),
            _ => None,
        }
    }

    pub(crate) fn swept(&self) -> Option<(usize, bool)> {
        match self {
            Done::Swept { announced, more } => Some((*announced, *more)),
            _ => None,
        }
    }
}

/// Applies this family's commands; `None` for another family's.
///
/// Fails when the rules refuse, a record is missing or the store fails.
fn apply(
    cmd: &Command,
    text: &str,
    tx: &mut dyn Tx,
    ctx: &Context,
) -> Result<Option<Outcome>, CommandError> {
    let changed = |verb: &'static str, a: Activity| Done::Changed(verb, a);
    let done = match cmd {
        Command::NewActivity(input) => create(tx, ctx, text, input)?,
        Command::ActivityDone { activity, result } => changed(
            "Completed",
            transition(tx, ctx, text, *activity, None, |a: &Activity| {
                a.complete(result.clone(), ctx.rules, ctx.now)
            })?,
        ),
        Command::ActivityCancel(activity) => changed(
            "Canceled",
            transition(tx, ctx, text, *activity, None, |a: &Activity| {
                a.cancel(ctx.rules, ctx.now)
            })?,
        ),
        Command::ActivityReschedule { activity, due } => changed(
            "Rescheduled",
            transition(tx, ctx, text, *activity, None, |a: &Activity| {
                a.reschedule(*due, ctx.team.zone_of(&a.owner), ctx.rules, ctx.now)
            })?,
        ),
        Command::ActivityAssign { activity, owner } => changed(
            "Reassigned",
            transition(tx, ctx, text, *activity, None, |a: &Activity| {
                a.reassign(owner.clone(), ctx.rules)
            })?,
        ),
        Command::Timeline(q) => Done::Timeline(timeline(tx, ctx, q)?),
        Command::NoticeDelivered(n) => {
            super::queue::delivered(tx, ctx, *n)?;
            Done::NoticeDelivered(*n)
        }
        Command::Agenda { owner } => agenda(tx, ctx, owner.as_deref())?,
        Command::Overdue { owner, everyone } => overdue(tx, ctx, owner.as_deref(), *everyone)?,
        Command::Notices { owner, limit } => notices(tx, ctx, owner.as_deref(), *limit)?,
        Command::Sweep { limit } => sweep(tx, ctx, *limit)?,
        Command::QueueDigest(mail) => queue_digest(tx, ctx, mail)?,
        Command::JobRan { job } => {
            records::write(tx, super::queue::keys::job(job), &ctx.now)?;
            Done::JobRan {
                job: job.clone(),
                at: ctx.now,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(Outcome::Activity(done)))
}

/// This family's outcomes for people, scripts and chat.
pub(super) fn render(done: &Done, ctx: &Context) -> Reply {
    use super::render::reply;
    match done {
        Done::Created {
            activity,
            scheduled,
            invited,
        } => create::created(activity, *scheduled, *invited, ctx),
        Done::Changed(verb, a) => {
            reply(ctx, format!("{verb}: {}", activity_line(a, ctx)), a, vec![])
        }
        Done::Timeline(t) => views::render_timeline(t, ctx),
        Done::NoticeDelivered(n) => Reply::text(format!("notice #{n} delivered")),
        Done::Agenda {
            owner,
            overdue,
            today,
        } => views::render_agenda(owner, overdue, today, ctx),
        Done::Overdue { who, items } => views::render_overdue(who, items, ctx),
        Done::Notices { who, total, shown } => views::render_notices(who, *total, shown, ctx),
        Done::Swept { announced, more } => reply(
            ctx,
            format!(
                "sweep: announced {announced} overdue item(s){}",
                if *more { ", more to go" } else { "" }
            ),
            &serde_json::json!({"announced": announced, "more": more}),
            vec![],
        ),
        Done::DigestQueued { owner, day, mail } => reply(
            ctx,
            format!(
                "queued the digest of {owner} for {day}{}",
                if mail.is_some() {
                    " (mail and notice)"
                } else {
                    " (notice; no e-mail address)"
                }
            ),
            &serde_json::json!({"owner": owner, "day": day, "mail": mail}),
            vec![],
        ),
        Done::JobRan { job, at } => Reply::text(format!("{job} ran at {at}")),
    }
}
