//! The outbox's state machine: how an outgoing mail moves from waiting to
//! sent or failed, and how long it waits after a temporary failure. Pure:
//! the sender carries out what it says (talks SMTP) and reports each step.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::RecordId;

/// Where an outgoing mail stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MailState {
    /// Waiting; not before `next_at` (after a temporary failure).
    Pending {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_at: Option<DateTime<Utc>>,
    },
    /// Handed to the SMTP server; marked before the first byte goes out.
    Sending {
        since: DateTime<Utc>,
    },
    Sent {
        at: DateTime<Utc>,
        response: String,
    },
    /// Refused by the server for good, or too many temporary failures.
    Failed {
        at: DateTime<Utc>,
        reason: String,
    },
    /// leadline stopped while sending it: the server may or may not have
    /// accepted it. Never sent again by itself; `/outbox retry` sends it.
    Uncertain {
        since: DateTime<Utc>,
    },
}

/// A mail waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutMail {
    pub number: u64,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<RecordId>,
    /// Our Message-ID (without brackets), so replies thread back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The e-mail activity on the record's timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<u64>,
    /// Attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// The last temporary failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// An iCalendar invitation (METHOD:REQUEST) sent along as `invite.ics`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    /// Records whose documents go along (a quote's revision, an invoice):
    /// rendered when the mail is sent, from the stored record, so every
    /// try sends the same document.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<RecordId>,
    #[serde(flatten)]
    pub state: MailState,
}

/// How the sender moves one outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxStep {
    /// Pending and due -> sending (durable before any byte goes out).
    Claim,
    /// The server accepted it, from the address `from`.
    Sent { response: String, from: String },
    /// A temporary failure: try again later, or fail after too many.
    Deferred { reason: String },
    /// A permanent failure.
    Failed { reason: String },
    /// A person asks to send a failed or uncertain mail again.
    Retry,
    /// The server could not be reached before the mail was claimed: it
    /// stays waiting, no try spent, with the reason shown in the outbox.
    Unreachable { reason: String },
}

/// How a mail ended, for the e-mail activity on its record's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Accepted by the server, sent from `from`.
    Sent { from: String },
    /// Given up, with why.
    Failed(String),
}

/// Temporary failures allowed before a mail is marked failed.
pub const MAX_ATTEMPTS: u32 = 6;

/// How long to wait after the `attempts`-th temporary failure: 1, 5, 15,
/// 60, 180, then 360 minutes.
pub fn backoff(attempts: u32) -> chrono::Duration {
    let minutes = [1, 5, 15, 60, 180, 360];
    chrono::Duration::minutes(minutes[(attempts.max(1) as usize - 1).min(minutes.len() - 1)])
}

/// Moves `mail` one `step` at `now`; says how it ended when it did.
///
/// Fails, with the verb the refusal names (`send`, `retry`, `update`),
/// when the mail's state does not allow the step; `mail` is then unchanged.
pub fn step(
    mail: &mut OutMail,
    step: &OutboxStep,
    now: DateTime<Utc>,
) -> Result<Option<Settled>, &'static str> {
    let mut settle = None;
    match (step, &mail.state) {
        (OutboxStep::Claim, MailState::Pending { next_at }) if next_at.is_none_or(|t| t <= now) => {
            mail.attempts += 1;
            mail.state = MailState::Sending { since: now };
        }
        (OutboxStep::Claim, _) => return Err("send"),
        (OutboxStep::Sent { response, from }, MailState::Sending { .. }) => {
            mail.state = MailState::Sent {
                at: now,
                response: response.clone(),
            };
            mail.last_error = None;
            settle = Some(Settled::Sent { from: from.clone() });
        }
        (OutboxStep::Deferred { reason }, MailState::Sending { .. }) => {
            mail.last_error = Some(reason.clone());
            if mail.attempts >= MAX_ATTEMPTS {
                let why = format!("gave up after {} attempts: {reason}", mail.attempts);
                mail.state = MailState::Failed {
                    at: now,
                    reason: why.clone(),
                };
                settle = Some(Settled::Failed(why));
            } else {
                mail.state = MailState::Pending {
                    next_at: Some(now + backoff(mail.attempts)),
                };
            }
        }
        (OutboxStep::Failed { reason }, MailState::Sending { .. }) => {
            mail.state = MailState::Failed {
                at: now,
                reason: reason.clone(),
            };
            settle = Some(Settled::Failed(reason.clone()));
        }
        (OutboxStep::Retry, MailState::Failed { .. } | MailState::Uncertain { .. }) => {
            mail.attempts = 0;
            mail.state = MailState::Pending { next_at: None };
        }
        (OutboxStep::Retry, _) => return Err("retry"),
        (OutboxStep::Unreachable { reason }, MailState::Pending { .. }) => {
            mail.last_error = Some(reason.clone());
        }
        (_, _) => return Err("update"),
    }
    Ok(settle)
}

/// A mail left sending by a stopped run: the server may have taken it, so
/// it becomes uncertain and is not sent again by itself. True when it was.
pub fn recover(mail: &mut OutMail) -> bool {
    if let MailState::Sending { since } = mail.state {
        mail.state = MailState::Uncertain { since };
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, minute, 0)
            .single()
            .expect("a time")
    }

    fn mail(state: MailState, attempts: u32) -> OutMail {
        OutMail {
            number: 1,
            to: vec!["anna@contoso.example".into()],
            subject: "Offer".into(),
            text: "Here it is".into(),
            html: None,
            created_at: at(0),
            about: None,
            message_id: None,
            activity: None,
            attempts,
            last_error: None,
            calendar: None,
            documents: Vec::new(),
            state,
        }
    }

    /// The states, each with the tries made so far.
    fn states() -> Vec<(&'static str, MailState, u32)> {
        vec![
            ("waiting", MailState::Pending { next_at: None }, 0),
            (
                "waiting, not due",
                MailState::Pending {
                    next_at: Some(at(30)),
                },
                1,
            ),
            ("sending", MailState::Sending { since: at(1) }, 1),
            (
                "sending, last try",
                MailState::Sending { since: at(1) },
                MAX_ATTEMPTS,
            ),
            (
                "sent",
                MailState::Sent {
                    at: at(2),
                    response: "250 ok".into(),
                },
                1,
            ),
            (
                "failed",
                MailState::Failed {
                    at: at(2),
                    reason: "550".into(),
                },
                1,
            ),
            ("uncertain", MailState::Uncertain { since: at(1) }, 1),
        ]
    }

    fn steps() -> Vec<(&'static str, OutboxStep)> {
        vec![
            ("claim", OutboxStep::Claim),
            (
                "sent",
                OutboxStep::Sent {
                    response: "250 ok".into(),
                    from: "sales@example.com".into(),
                },
            ),
            (
                "deferred",
                OutboxStep::Deferred {
                    reason: "451 later".into(),
                },
            ),
            (
                "failed",
                OutboxStep::Failed {
                    reason: "550 no".into(),
                },
            ),
            ("retry", OutboxStep::Retry),
            (
                "unreachable",
                OutboxStep::Unreachable {
                    reason: "refused".into(),
                },
            ),
        ]
    }

    /// What each step does in each state, at 09:10: the new state and
    /// tries, or the refusal's verb.
    fn expected(state: &str, step: &str) -> &'static str {
        match (state, step) {
            ("waiting", "claim") => "sending 1",
            ("waiting", "unreachable") => "waiting 0",
            ("waiting" | "waiting, not due", "retry") => "refused retry",
            ("waiting" | "waiting, not due", _) if step != "unreachable" && step != "claim" => {
                "refused update"
            }
            ("waiting, not due", "claim") => "refused send",
            ("waiting, not due", "unreachable") => "waiting 1",
            ("sending", "sent") | ("sending, last try", "sent") => "sent",
            ("sending", "deferred") => "waiting 1",
            ("sending, last try", "deferred") => "failed 6",
            ("sending" | "sending, last try", "failed") => "failed",
            ("sending" | "sending, last try", "claim") => "refused send",
            ("sending" | "sending, last try", "retry") => "refused retry",
            ("sending" | "sending, last try", "unreachable") => "refused update",
            ("failed" | "uncertain", "retry") => "waiting 0",
            (_, "claim") => "refused send",
            (_, "retry") => "refused retry",
            _ => "refused update",
        }
    }

    fn shown(m: &OutMail) -> String {
        match &m.state {
            MailState::Pending { .. } => format!("waiting {}", m.attempts),
            MailState::Sending { .. } => format!("sending {}", m.attempts),
            MailState::Sent { .. } => "sent".into(),
            MailState::Failed { reason, .. } if reason.starts_with("gave up") => {
                format!("failed {}", m.attempts)
            }
            MailState::Failed { .. } => "failed".into(),
            MailState::Uncertain { .. } => "uncertain".into(),
        }
    }

    #[test]
    fn the_outbox_state_machine_as_a_table() {
        for (state_name, state, attempts) in states() {
            for (step_name, s) in steps() {
                let before = mail(state.clone(), attempts);
                let mut m = before.clone();
                let got = match super::step(&mut m, &s, at(10)) {
                    Ok(_) => shown(&m),
                    Err(verb) => {
                        assert_eq!(m, before, "a refused step changed the mail");
                        format!("refused {verb}")
                    }
                };
                assert_eq!(
                    got,
                    expected(state_name, step_name),
                    "{step_name} when {state_name}"
                );
            }
        }
    }

    #[test]
    fn a_deferred_mail_waits_longer_after_each_failure_and_settles_once() {
        assert_eq!(backoff(0), chrono::Duration::minutes(1));
        assert_eq!(backoff(1), chrono::Duration::minutes(1));
        assert_eq!(backoff(3), chrono::Duration::minutes(15));
        assert_eq!(backoff(99), chrono::Duration::minutes(360));
        let mut m = mail(MailState::Sending { since: at(1) }, 2);
        assert_eq!(
            super::step(
                &mut m,
                &OutboxStep::Deferred {
                    reason: "451".into()
                },
                at(10)
            ),
            Ok(None)
        );
        assert_eq!(
            m.state,
            MailState::Pending {
                next_at: Some(at(15))
            }
        );
        let mut m = mail(MailState::Sending { since: at(1) }, 1);
        let settled = super::step(
            &mut m,
            &OutboxStep::Sent {
                response: "250".into(),
                from: "me@x.example".into(),
            },
            at(10),
        );
        assert_eq!(
            settled,
            Ok(Some(Settled::Sent {
                from: "me@x.example".into()
            }))
        );
        assert!(recover(&mut mail(MailState::Sending { since: at(1) }, 1)));
        assert!(!recover(&mut mail(MailState::Pending { next_at: None }, 0)));
    }

    /// A step by its number, for generated sequences.
    fn nth_step(n: u8) -> OutboxStep {
        match n % 6 {
            0 => OutboxStep::Claim,
            1 => OutboxStep::Sent {
                response: "250 ok".into(),
                from: "sales@example.com".into(),
            },
            2 => OutboxStep::Deferred {
                reason: "451 later".into(),
            },
            3 => OutboxStep::Failed {
                reason: "550 no".into(),
            },
            4 => OutboxStep::Retry,
            _ => OutboxStep::Unreachable {
                reason: "refused".into(),
            },
        }
    }

    proptest::proptest! {
        /// Whatever the sender and people do, in any order: tries stay
        /// within the limit, a refused step changes nothing, a mail is
        /// settled exactly when it becomes sent or failed, and only a
        /// claim starts a send.
        #[test]
        fn any_sequence_of_steps_keeps_the_outbox_rules(
            steps in proptest::collection::vec((0u8..6, 0u32..400), 1..60)
        ) {
            let mut m = mail(MailState::Pending { next_at: None }, 0);
            let mut now = at(0);
            for (n, minutes) in steps {
                now += chrono::Duration::minutes(i64::from(minutes));
                let s = nth_step(n);
                let before = m.clone();
                match super::step(&mut m, &s, now) {
                    Err(_) => proptest::prop_assert_eq!(&m, &before),
                    Ok(settled) => {
                        let ended = matches!(m.state, MailState::Sent { .. } | MailState::Failed { .. });
                        let was_ended = matches!(before.state, MailState::Sent { .. } | MailState::Failed { .. });
                        proptest::prop_assert_eq!(settled.is_some(), ended && !was_ended);
                        if matches!(m.state, MailState::Sending { .. }) && !matches!(before.state, MailState::Sending { .. }) {
                            proptest::prop_assert_eq!(&s, &OutboxStep::Claim);
                            proptest::prop_assert_eq!(m.attempts, before.attempts + 1);
                        }
                        if matches!(before.state, MailState::Sent { .. }) {
                            proptest::prop_assert_eq!(&m, &before, "a sent mail never changes");
                        }
                    }
                }
                proptest::prop_assert!(m.attempts <= MAX_ATTEMPTS);
            }
        }
    }
}
