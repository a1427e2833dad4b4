//! The outbox as people see it (`/outbox`) and as the sender moves it
//! ([`crate::domain::outbox`]), and what a settled mail does to its
//! activity.

use super::Done;
use crate::command::queue::{self, NoticeKind};
use crate::command::records::{load, save, Tx};
use crate::command::render::reply;
use crate::command::{CommandError, Context, Reply};
use crate::domain::activity::Activity;
use crate::domain::outbox::{OutboxStep, Settled};
use crate::domain::{Kind, Refusal};

/// Closes the e-mail activity of an outgoing mail: completed when it was
/// sent (dated then, from the address it really went from), canceled with
/// the reason (and a notice to its owner) when it failed.
pub(super) fn settle_activity(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    activity: u64,
    outcome: &Settled,
) -> Result<(), CommandError> {
    let Some(old) = load::<Activity>(tx, activity, None)? else {
        return Ok(());
    };
    let settled = match outcome {
        Settled::Sent { from } => old.mail_sent(from, ctx.now),
        Settled::Failed(reason) => old.mail_failed(reason, ctx.now),
    };
    let Some(new) = settled else {
        return Ok(());
    };
    save(tx, ctx, text, Some(&old), &new)?;
    if let Settled::Failed(reason) = outcome {
        queue::notify(
            tx,
            ctx,
            &old.owner,
            NoticeKind::MailFailed,
            format!(
                "Mail not sent: {} '{}': {reason}",
                ctx.rules.show(Kind::Activity, activity),
                old.subject,
            ),
            Some(old.regarding),
        )?;
    }
    Ok(())
}

/// A failed or uncertain mail is sent again: its canceled e-mail activity
/// is open again, to be completed when the mail goes out.
pub(super) fn reopen_activity(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    activity: u64,
) -> Result<(), CommandError> {
    let Some(old) = load::<Activity>(tx, activity, None)? else {
        return Ok(());
    };
    let note = format!("sent again by {} ({})", ctx.actor, text.trim());
    match old.mail_resent(note) {
        Some(new) => save(tx, ctx, text, Some(&old), &new),
        None => Ok(()),
    }
}

/// `/outbox`: mails waiting, failed or uncertain (with `all`, also sent).
///
/// Fails when the store cannot be read.
pub fn outbox(tx: &dyn Tx, all: bool) -> Result<Done, CommandError> {
    use queue::MailState;
    let mut mails: Vec<queue::OutMail> = queue::all(tx, queue::keys::OUTBOX)?;
    let total = mails.len();
    mails.retain(|m| all || !matches!(m.state, MailState::Sent { .. }));
    Ok(Done::Outbox {
        shown: mails,
        total,
    })
}

pub(super) fn render_outbox(shown: &[queue::OutMail], total: usize, ctx: &Context) -> Reply {
    use queue::MailState;
    let mut text = format!("outbox: {} shown of {total}", shown.len());
    for m in shown {
        let state = match &m.state {
            MailState::Pending { next_at: None } => "waiting".to_string(),
            MailState::Pending { next_at: Some(t) } => format!("waiting, next try {}", t.format("%Y-%m-%d %H:%M UTC")),
            MailState::Sending { .. } => "sending".to_string(),
            MailState::Sent { at, .. } => format!("sent {}", at.format("%Y-%m-%d %H:%M UTC")),
            MailState::Failed { reason, .. } => format!("FAILED: {reason}"),
            MailState::Uncertain { .. } => "UNCERTAIN: leadline stopped while sending; check the recipient's copy, then /outbox retry".to_string(),
        };
        let err = match (&m.last_error, &m.state) {
            (Some(e), MailState::Pending { .. }) => format!(" (last error: {e})"),
            _ => String::new(),
        };
        text.push_str(&format!(
            "\n  #{} to {} - {} - {state}{err}",
            m.number,
            m.to.join(", "),
            m.subject
        ));
    }
    reply(ctx, text, &shown, vec![])
}

/// Moves outbox entry `n` one step.
///
/// Fails (refused) when the entry is not in a state that allows the step.
pub fn outbox_step(
    tx: &mut dyn Tx,
    ctx: &Context,
    text: &str,
    n: u64,
    step: &OutboxStep,
) -> Result<Done, CommandError> {
    let mut m = queue::require_mail(tx, n)?;
    let wrong = |m: &queue::OutMail, what: &str| -> CommandError {
        Refusal::new(format!(
            "cannot {what} outbox #{n}: it is {}",
            state_word(&m.state)
        ))
        .into()
    };
    let settle =
        crate::domain::outbox::step(&mut m, step, ctx.now).map_err(|what| wrong(&m, what))?;
    queue::put_mail(tx, &m)?;
    if let (Some(outcome), Some(a)) = (&settle, m.activity) {
        settle_activity(tx, ctx, text, a, outcome)?;
    }
    if let (OutboxStep::Retry, Some(a)) = (step, m.activity) {
        reopen_activity(tx, ctx, text, a)?;
    }
    Ok(Done::Stepped(m))
}

pub(super) fn state_word(s: &queue::MailState) -> String {
    use queue::MailState;
    match s {
        MailState::Pending { .. } => "waiting".into(),
        MailState::Sending { .. } => "sending".into(),
        MailState::Sent { .. } => "sent".into(),
        MailState::Failed { reason, .. } => format!("failed ({reason})"),
        MailState::Uncertain { .. } => "uncertain".into(),
    }
}

/// At the start of a sending run: entries left "sending" by a crash become
/// "uncertain" (the server may have accepted them) and are not sent again
/// by themselves.
///
/// Fails when the store cannot be read.
pub fn outbox_recover(tx: &mut dyn Tx, ctx: &Context) -> Result<Done, CommandError> {
    let mails: Vec<queue::OutMail> = queue::all(tx, queue::keys::OUTBOX)?;
    let mut count = 0;
    for mut m in mails {
        if crate::domain::outbox::recover(&mut m) {
            queue::put_mail(tx, &m)?;
            queue::notify(tx, ctx, &ctx.team.default_user, NoticeKind::Overdue, format!("Outbox #{} '{}' may or may not have been sent (leadline stopped while sending); check, then /outbox retry {}", m.number, m.subject, m.number), m.about)?;
            count += 1;
        }
    }
    Ok(Done::Recovered(count))
}

/// Tells the team's admins (the default user when the team names none)
/// that mail account `account` needs attention or works again.
///
/// Fails when the store cannot be read.
pub fn admin_notice(
    tx: &mut dyn Tx,
    ctx: &Context,
    kind: NoticeKind,
    about: &str,
    text: &str,
) -> Result<Done, CommandError> {
    let mut to: Vec<&str> = ctx
        .team
        .members
        .iter()
        .filter(|m| m.role == crate::command::team::Role::Admin)
        .map(|m| m.name.as_str())
        .collect();
    if to.is_empty() {
        to.push(&ctx.team.default_user);
    }
    for who in &to {
        queue::notify(tx, ctx, who, kind, text.to_string(), None)?;
    }
    Ok(Done::Told {
        about: about.to_string(),
        to: to.iter().map(|s| s.to_string()).collect(),
    })
}
