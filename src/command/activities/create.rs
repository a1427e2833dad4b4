//! New activities on a record's timeline (P-11) and how one is shown.

use chrono_tz::Tz;

use super::*;
use crate::command::parse::ActivityInput;
use crate::command::records::{next_number, save, Tx};
use crate::command::{CommandError, Context, Reply};
use crate::domain::activity::{Activity, ActivityState, Details, Due};
use crate::domain::{Kind, Refusal};

pub(super) fn zone(ctx: &Context, owner: &str) -> Tz {
    ctx.team.zone_of(owner)
}

/// `due Mon 2026-11-30 10:00 CET` or `due Mon 2026-11-30`.
pub(super) fn when_text(a: &Activity, tz: Tz) -> String {
    match (&a.details, a.due) {
        (Details::Appointment { end, .. }, Some(Due::At(start))) => format!(
            "{} - {}",
            Due::At(start).display(tz),
            end.with_timezone(&tz).format("%H:%M")
        ),
        (Details::Call { .. } | Details::Email { .. }, Some(d))
            if !matches!(a.state, ActivityState::Open) =>
        {
            d.display(tz)
        }
        (_, Some(d)) => format!("due {}", d.display(tz)),
        (_, None) => String::new(),
    }
}

/// One line for an activity: id, what the timeline shows, kind, subject, when, owner.
pub fn activity_line(a: &Activity, ctx: &Context) -> String {
    let tz = zone(ctx, &a.owner);
    let shown = a.shown(ctx.now, tz);
    let mut line = format!(
        "{:<9} {:<8} {:<11} {}",
        ctx.rules.show(Kind::Activity, a.number),
        // Closed either way (P-10), but a canceled one was never done.
        match a.state {
            ActivityState::Canceled { .. } => "Canceled",
            _ => shown.label(),
        },
        a.details.name(),
        a.subject
    );
    let when = when_text(a, tz);
    if !when.is_empty() {
        line.push_str(&format!(" - {when}"));
    }
    if let Details::Call {
        result: Some(r), ..
    } = &a.details
    {
        line.push_str(&format!(" - {r}"));
    }
    line.push_str(&format!(" - {}", a.owner));
    line
}

/// Adds an activity to a record's timeline.
///
/// Fails when the record does not exist, a scheduled activity is put on a
/// closed record or in the past, or an appointment ends before it starts.
pub fn create(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    input: &ActivityInput,
) -> Result<Done, CommandError> {
    let on = require_summary(tx, ctx, input.regarding)?;
    let on_id = ctx.rules.numbering.display(on.id);
    let owner = input.owner.clone().unwrap_or_else(|| ctx.actor.clone());
    let tz = zone(ctx, &owner);
    let what = input.details.name();
    if input.scheduled {
        if on.closed() {
            return Err(Refusal::new(format!(
                "cannot schedule {} on {on_id}: it is {}; log it as done, or put it on an open record",
                crate::domain::ids::with_article(what),
                on.state
            ))
            .into());
        }
        if let Some(due) = input.due {
            let deadline = match &input.details {
                Details::Appointment { end, .. } => *end,
                _ => due.overdue_at(tz),
            };
            if deadline <= ctx.now {
                return Err(Refusal::new(format!(
                    "cannot schedule a {what} for {}: that is in the past",
                    due.display(tz)
                ))
                .into());
            }
        }
        if let (Details::Appointment { end, .. }, Some(Due::At(start))) =
            (&input.details, input.due)
        {
            if *end <= start {
                return Err(Refusal::new(format!(
                    "the {what} ends ({}) before it starts ({})",
                    end.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
                    start.with_timezone(&tz).format("%Y-%m-%d %H:%M")
                ))
                .into());
            }
        }
    } else if let Some(d) = input.due {
        if d.overdue_at(tz) > ctx.now && matches!(d, Due::At(_)) {
            return Err(Refusal::new(format!(
                "a logged {what} cannot have happened at {}, in the future; schedule it with due: instead",
                d.display(tz)
            ))
            .into());
        }
    }
    let number = next_number(tx, ctx, Kind::Activity)?;
    let state = if input.scheduled || matches!(input.details, Details::Note) {
        ActivityState::Open
    } else {
        ActivityState::Completed { at: ctx.now }
    };
    let due = match (&input.details, input.due, input.scheduled) {
        (Details::Call { .. }, None, false) => Some(Due::At(ctx.now)),
        (_, d, _) => d,
    };
    let a = Activity {
        number,
        subject: input.subject.clone(),
        description: input.description.clone(),
        owner: owner.clone(),
        regarding: on.id,
        details: input.details.clone(),
        due,
        state,
        created_at: ctx.now,
    };
    save(tx, ctx, text, None, &a)?;
    let invited = crate::command::mailbox::invite(tx, ctx, &a, &on_id)?;
    Ok(Done::Created {
        activity: a,
        scheduled: input.scheduled,
        invited,
    })
}

/// The reply after an activity was added.
pub(super) fn created(a: &Activity, scheduled: bool, invited: Option<u64>, ctx: &Context) -> Reply {
    let id = ctx.rules.show(Kind::Activity, a.number);
    let on_id = ctx.rules.numbering.display(a.regarding);
    let tz = zone(ctx, &a.owner);
    let what = a.details.name();
    let verb = match (&a.details, scheduled) {
        (Details::Note, _) => "Noted".to_string(),
        (_, false) => format!("Logged {what}"),
        (Details::Appointment { .. }, true) => "Scheduled meeting".to_string(),
        (_, true) => format!("Scheduled {what}"),
    };
    let mut msg = format!("{verb} {id} '{}' on {on_id}", a.subject);
    if a.owner != ctx.actor {
        msg.push_str(&format!(" for {}", a.owner));
    }
    let when = when_text(a, tz);
    if !when.is_empty() && scheduled {
        msg.push_str(&format!(", {when}"));
    }
    if let Details::Appointment {
        attendees,
        location,
        ..
    } = &a.details
    {
        if !attendees.is_empty() {
            msg.push_str(&format!(" with {}", attendees.join(", ")));
        }
        if let Some(l) = location {
            msg.push_str(&format!(" at {l}"));
        }
    }
    if let Details::Call {
        result: Some(r), ..
    } = &a.details
    {
        msg.push_str(&format!(": {r}"));
    }
    msg.push('.');
    if let Some(n) = invited {
        msg.push_str(&format!(" Invitation queued (outbox #{n})."));
    }
    let next = if scheduled {
        vec![
            format!("/done {id}"),
            format!("/activity reschedule {id} due:"),
        ]
    } else {
        vec![format!("/timeline {on_id}")]
    };
    crate::command::render::reply(ctx, msg, a, next)
}
