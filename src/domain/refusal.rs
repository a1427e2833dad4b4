//! [`Refusal`]: the one-line answer to a command the rules do not allow.
//!
//! Refusals are read by people in chat and in the shell, so each says what
//! was refused, the state of the record, and what is allowed instead.

use std::fmt;

/// A command the workflow rules refuse; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(String);

impl Refusal {
    /// A refusal with the given one-line message.
    pub fn new(message: impl Into<String>) -> Self {
        let message: String = message.into();
        // One line, always: chat replies and stderr both expect it.
        Refusal(message.replace('\n', " "))
    }

    /// The message shown to the user.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// Shorthand for `Err(Refusal::new(format!(...)))`.
#[macro_export]
macro_rules! refuse {
    ($($arg:tt)*) => {
        return Err($crate::domain::Refusal::new(format!($($arg)*)))
    };
}
