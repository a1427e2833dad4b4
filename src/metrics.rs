//! What the daemon counts for `GET /metrics` (Prometheus' text format):
//! commands by step and outcome from every front end, how long group
//! commits take to become durable, and mail ingested. Kept in the core
//! ([`crate::core::Leadline::metrics`]); plain atomics and one mutex, so
//! counting costs nothing next to a commit.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The upper bounds of the commit latency histogram, in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (step, outcome) -> count.
    commands: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Counts per bucket of [`BUCKETS`], then +Inf.
    latency: [AtomicU64; 12],
    latency_sum_micros: AtomicU64,
    mail_ingested: AtomicU64,
    /// Lease name -> whether this daemon holds it now.
    leases: Mutex<BTreeMap<String, bool>>,
}

impl Metrics {
    /// One command answered: its step and outcome (`ok` or the error code).
    pub fn command(&self, step: &'static str, outcome: &'static str) {
        let mut c = self.commands.lock().unwrap_or_else(|e| e.into_inner());
        *c.entry((step, outcome)).or_insert(0) += 1;
    }

    /// A group commit became durable after `took`.
    pub fn commit(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.latency[i].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// `n` mails were ingested.
    pub fn ingested(&self, n: usize) {
        self.mail_ingested.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Whether this daemon holds lease `name` now (`None`: it no longer
    /// wants it).
    pub fn lease(&self, name: &str, held: Option<bool>) {
        let mut l = self.leases.lock().unwrap_or_else(|e| e.into_inner());
        match held {
            Some(h) => {
                l.insert(name.to_string(), h);
            }
            None => {
                l.remove(name);
            }
        }
    }

    /// The counters in Prometheus' text exposition format, with `gauges`
    /// (name, help, value) read by the caller.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP leadline_commands_total Commands answered, by step and outcome.\n");
        out.push_str("# TYPE leadline_commands_total counter\n");
        let commands = self
            .commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for ((step, outcome), n) in commands {
            let _ = writeln!(
                out,
                "leadline_commands_total{{step=\"{step}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP leadline_commit_seconds Time from a group commit's start until it is durable.\n",
        );
        out.push_str("# TYPE leadline_commit_seconds histogram\n");
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.latency[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "leadline_commit_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.latency[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "leadline_commit_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let _ = writeln!(
            out,
            "leadline_commit_seconds_sum {}",
            self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "leadline_commit_seconds_count {cumulative}");
        out.push_str("# HELP leadline_mail_ingested_total Mails taken from IMAP into the store.\n");
        out.push_str("# TYPE leadline_mail_ingested_total counter\n");
        let _ = writeln!(
            out,
            "leadline_mail_ingested_total {}",
            self.mail_ingested.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP leadline_lease_held Whether this daemon holds the lease of work done once (1) or another daemon does (0).\n",
        );
        out.push_str("# TYPE leadline_lease_held gauge\n");
        let leases = self
            .leases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (name, held) in leases {
            let _ = writeln!(
                out,
                "leadline_lease_held{{lease=\"{name}\"}} {}",
                u8::from(held)
            );
        }
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_text_format() {
        let m = Metrics::default();
        m.command("qualify", "ok");
        m.command("qualify", "ok");
        m.command("quote activate", "refused");
        m.commit(Duration::from_millis(3));
        m.commit(Duration::from_secs(9));
        m.lease("imap:sales", Some(true));
        m.lease("scheduler", Some(false));
        m.lease("outbox", Some(true));
        m.lease("outbox", None);
        let text = m.render(&[("leadline_outbox_depth", "Mail waiting.", 2.0)]);
        assert!(text.contains("leadline_lease_held{lease=\"imap:sales\"} 1"));
        assert!(text.contains("leadline_lease_held{lease=\"scheduler\"} 0"));
        assert!(!text.contains("lease=\"outbox\""));
        assert!(text.contains("leadline_commands_total{step=\"qualify\",outcome=\"ok\"} 2"));
        assert!(text.contains("{step=\"quote activate\",outcome=\"refused\"} 1"));
        assert!(text.contains("leadline_commit_seconds_bucket{le=\"0.0025\"} 0"));
        assert!(text.contains("leadline_commit_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("leadline_commit_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(text.contains("leadline_outbox_depth 2"));
    }
}
