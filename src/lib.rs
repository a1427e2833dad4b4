//! leadline: a self-hosted sales assistant that runs a team's sales process,
//! from lead to paid invoice, where the team already works.
//!
//! The map of the crate, in the direction dependencies point:
//! - [`domain`]: the workflow core. Records, states, transitions, money and
//!   ids; pure, no I/O.
//! - [`command`]: the command language every front end speaks: text ->
//!   [`command::Command`], applied to the records, -> [`command::Reply`].
//! - [`store`]: the sled database; one atomic batch per command, flushed
//!   before the reply.
//! - [`config`]: the TOML configuration (embedded default or a file).
//! - [`import`]: CSV import of leads (P-2).
//! - [`mail`]: IMAP ingest of flagged mail and the SMTP outbox sender.
//! - [`scheduler`]: the overdue sweep and daily digests, on cron schedules.
//! - [`chat`]: the chat front end's rules: members, roles, confirmations,
//!   notices to post (Discord-independent).
//! - [`daemon`]: `leadline run`: the control socket with group commit, the
//!   scheduler, mail and outbox loops, graceful shutdown.
//! - [`bench`]: the benchmark behind `leadline bench`.

pub mod bench;
pub mod chat;
pub mod command;
pub mod config;
pub mod daemon;
pub mod domain;
pub mod import;
pub mod mail;
pub mod scheduler;
pub mod store;
