//! The scheduler: the overdue sweep and the daily digests, at the times the
//! configuration gives as five-field crontab lines.
//!
//! Time is injected: [`tick`] runs every job that is due at `now` against
//! the store, so the daemon calls it on a timer and tests call it with any
//! moment. What ran last is kept in the store, so a job missed while
//! leadline was down runs once when it is back, and a digest is never sent
//! twice for the same owner and day (the store refuses a second one).

pub mod digest;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::command::{queue, records, Command, CommandError, DigestMail, Outcome};
use crate::config::Config;
use crate::core::{Leadline, Request};

pub use crate::config::schedule::SchedulerConfig;
pub use crate::domain::schedule::Schedule;
use crate::domain::schedule::{digest_due, is_due};

/// What one tick did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TickReport {
    /// Items announced as overdue.
    pub announced: usize,
    /// Owners whose digest was queued.
    pub digests: Vec<String>,
    /// Jobs that were due, with what they did.
    pub ran: Vec<String>,
}

/// Why a tick failed.
#[derive(Debug, thiserror::Error)]
pub enum TickError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Digest(#[from] digest::DigestError),
}

/// Not `#[from]` on a variant of its own: a store failure is a command's.
impl From<crate::command::TxError> for TickError {
    fn from(e: crate::command::TxError) -> Self {
        TickError::Command(e.into())
    }
}

/// The team members digests go to (the default user when none are configured).
pub fn owners(config: &Config) -> Vec<(String, Option<String>)> {
    if config.team.members.is_empty() {
        return vec![(config.team.default_user.clone(), None)];
    }
    config
        .team
        .members
        .iter()
        .map(|m| (m.name.clone(), m.email.clone()))
        .collect()
}

/// When `job` last ran.
///
/// Fails when the store fails.
pub(crate) fn last_run(core: &Leadline, job: &str) -> Result<Option<DateTime<Utc>>, CommandError> {
    core.read(|tx| records::read(tx, &queue::keys::job(job)))?
}

/// Runs one of the scheduler's own commands.
fn run(
    core: &Leadline,
    command: Command,
    what: &str,
    now: DateTime<Utc>,
) -> Result<Outcome, CommandError> {
    core.run(Request::system(
        command,
        format!("(scheduler) {what}"),
        "scheduler",
        "scheduler",
        now,
    ))
}

/// Announces every item overdue at `now` and not announced yet, in
/// transactions of at most 2,000 items; returns how many.
///
/// Fails when the store fails.
pub fn sweep(core: &Leadline, now: DateTime<Utc>) -> Result<usize, CommandError> {
    let mut total = 0;
    loop {
        match run(core, Command::Sweep { limit: 2000 }, "overdue sweep", now)?.swept() {
            Some((announced, more)) => {
                total += announced;
                if !more {
                    return Ok(total);
                }
            }
            None => return Ok(total),
        }
    }
}

/// Runs every job due at `now`.
///
/// Fails when the store fails or a template cannot be rendered.
pub fn tick(core: &Leadline, now: DateTime<Utc>) -> Result<TickReport, TickError> {
    let config = core.config();
    let ctx = config.context("scheduler", now, "scheduler");
    let mut report = TickReport::default();
    let sched = &config.scheduler;

    let sweep_due = is_due(
        &sched.sweep,
        last_run(core, "sweep")?,
        now,
        &config.team.timezone,
    );
    if sweep_due {
        report.announced = sweep(core, now)?;
        run(
            core,
            Command::JobRan {
                job: "sweep".into(),
            },
            "sweep done",
            now,
        )?;
        report
            .ran
            .push(format!("sweep: announced {}", report.announced));
    }

    for (owner, email) in owners(&config) {
        let job = format!("digest/{}", records::keys::owner_key(&owner));
        let tz = config.team.zone_of(&owner);
        // Never checked before: catch up today's digest, not older ones,
        // and remember the check so later ticks see what they missed.
        let last = last_run(core, &job)?;
        let Some(fired) = digest_due(&sched.digest, last, now, tz) else {
            // Remember the first check, so later ticks see what they missed.
            if last.is_none() {
                run(core, Command::JobRan { job }, "digest checked", now)?;
            }
            continue;
        };
        let day = fired.with_timezone(&tz).date_naive();
        let unsent = core
            .read(|tx| tx.get(&queue::keys::digest_sent(&owner, day)))??
            .is_none();
        if unsent {
            let data = core.read(|tx| digest::gather(tx, &ctx, &owner))??;
            let d = digest::render(data, sched.templates.as_deref())?;
            let mail = DigestMail {
                owner: owner.clone(),
                day,
                email: email.clone(),
                subject: d.subject,
                text: d.text,
                html: d.html,
            };
            run(
                core,
                Command::QueueDigest(Box::new(mail)),
                "daily digest",
                now,
            )?;
            report.digests.push(owner.clone());
            report.ran.push(format!("digest for {owner} ({day})"));
        }
        run(core, Command::JobRan { job }, "digest done", now)?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_schedules_parse() {
        assert!(Schedule::parse("*/5 * * * *").is_ok());
        assert!(Schedule::parse("0 8 * * Mon-Fri").is_ok());
    }
}
