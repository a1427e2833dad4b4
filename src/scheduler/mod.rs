//! The scheduler: the overdue sweep and the daily digests, at the times the
//! configuration gives as five-field crontab lines.
//!
//! Time is injected: [`tick`] runs every job that is due at `now` against
//! the store, so the daemon calls it on a timer and tests call it with any
//! moment. What ran last is kept in the store, so a job missed while
//! leadline was down runs once when it is back, and a digest is never sent
//! twice for the same owner and day (the store refuses a second one).

pub mod cron;
pub mod digest;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use crate::command::{queue, records, Command, CommandError, Context, DigestMail, Tx};
use crate::config::Config;
use crate::store::{Durability, Store};

pub use self::cron::Schedule;

/// When the jobs run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// The overdue sweep, in the team's time zone.
    pub sweep: Schedule,
    /// The daily digest, in each member's own time zone.
    pub digest: Schedule,
    /// A folder with `digest.txt` and `digest.html` to use instead of the
    /// built-in templates.
    pub templates: Option<PathBuf>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            sweep: Schedule::parse("*/5 * * * *").unwrap_or_else(|_| unreachable_schedule()),
            digest: Schedule::parse("0 8 * * Mon-Fri").unwrap_or_else(|_| unreachable_schedule()),
            templates: None,
        }
    }
}

/// The built-in lines parse (a unit test checks); this keeps Default total.
fn unreachable_schedule() -> Schedule {
    Schedule::parse("0 0 1 1 *").unwrap_or_else(|e| panic!("built-in schedule does not parse: {e}"))
}

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

fn last_run(store: &Store, job: &str) -> Result<Option<DateTime<Utc>>, CommandError> {
    records::read(&store.reader(), &queue::keys::job(job))
}

/// Announces every item overdue at `ctx.now` and not announced yet, in
/// transactions of at most 2,000 items; returns how many.
///
/// Fails when the store fails.
pub fn sweep(store: &Store, ctx: &Context) -> Result<usize, CommandError> {
    let mut announced = 0;
    loop {
        let reply = store.run(
            &Command::Sweep { limit: 2000 },
            "(scheduler) overdue sweep",
            ctx,
            Durability::Flush,
        )?;
        announced += reply.data["announced"].as_u64().unwrap_or(0) as usize;
        if reply.data["more"] != serde_json::Value::Bool(true) {
            return Ok(announced);
        }
    }
}

/// Runs every job due at `ctx.now`.
///
/// Fails when the store fails or a template cannot be rendered.
pub fn tick(store: &Store, config: &Config, ctx: &Context) -> Result<TickReport, TickError> {
    let now = ctx.now;
    let mut report = TickReport::default();
    let sched = &config.scheduler;

    let sweep_due = match last_run(store, "sweep")? {
        None => true,
        Some(last) => sched
            .sweep
            .latest_between(last, now, &config.team.timezone)
            .is_some(),
    };
    if sweep_due {
        report.announced = sweep(store, ctx)?;
        store.run(
            &Command::JobRan {
                job: "sweep".into(),
            },
            "(scheduler) sweep done",
            ctx,
            Durability::Flush,
        )?;
        report
            .ran
            .push(format!("sweep: announced {}", report.announced));
    }

    for (owner, email) in owners(config) {
        let job = format!("digest/{}", records::keys::owner_key(&owner));
        let tz = config.team.zone_of(&owner);
        // Never checked before: catch up today's digest, not older ones,
        // and remember the check so later ticks see what they missed.
        let last = last_run(store, &job)?;
        let since = last.unwrap_or_else(|| {
            let today = now.with_timezone(&tz).date_naive();
            crate::domain::activity::start_of_day(today, tz) - Duration::seconds(1)
        });
        let Some(fired) = sched.digest.latest_between(since, now, &tz) else {
            if last.is_none() {
                store.run(
                    &Command::JobRan { job },
                    "(scheduler) digest checked",
                    ctx,
                    Durability::Flush,
                )?;
            }
            continue;
        };
        let day = fired.with_timezone(&tz).date_naive();
        if store
            .reader()
            .get(&queue::keys::digest_sent(&owner, day))
            .map_err(CommandError::from)?
            .is_none()
        {
            let data = digest::gather(&store.reader(), ctx, &owner)?;
            let d = digest::render(data, sched.templates.as_deref())?;
            let mail = DigestMail {
                owner: owner.clone(),
                day,
                email: email.clone(),
                subject: d.subject,
                text: d.text,
                html: d.html,
            };
            store.run(
                &Command::QueueDigest(Box::new(mail)),
                "(scheduler) daily digest",
                ctx,
                Durability::Flush,
            )?;
            report.digests.push(owner.clone());
            report.ran.push(format!("digest for {owner} ({day})"));
        }
        store.run(
            &Command::JobRan { job },
            "(scheduler) digest done",
            ctx,
            Durability::Flush,
        )?;
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
