//! `[scheduler]`: when the overdue sweep and the daily digests run.

use std::path::PathBuf;

use serde::Deserialize;

use crate::domain::schedule::Schedule;

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

/// `[backup]`: backups the daemon writes itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// When, in the team's time zone (e.g. `"0 2 * * *"`); none: off.
    pub schedule: Option<Schedule>,
    /// The folder they go to (best on another disk than the data folder).
    pub dir: Option<PathBuf>,
    /// How many to keep; older ones are removed.
    pub keep: usize,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            schedule: None,
            dir: None,
            keep: 14,
        }
    }
}

impl BackupConfig {
    /// Checks the settings.
    ///
    /// Fails naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.schedule.is_some() && self.dir.is_none() {
            return Err(
                "backup.schedule: give backup.dir, the folder the backups go to".to_string(),
            );
        }
        if self.keep == 0 {
            return Err("backup.keep: keep at least 1 backup".to_string());
        }
        Ok(())
    }
}
