//! leadline: a self-hosted sales assistant that runs a team's sales process,
//! from lead to paid invoice, where the team already works.
//!
//! The map of the crate (dependencies point up this list: `domain` imports
//! nothing else; `tests/it/layering.rs` checks there is no cycle):
//! - [`domain`]: the workflow core. Records, states, transitions, money and
//!   ids; pure, no I/O.
//! - [`command`]: the command language every front end speaks: text ->
//!   [`command::Command`], applied to the records, -> [`command::Reply`]
//!   with a typed [`command::Outcome`]; one file per command family, the
//!   key layout in [`command::keys`].
//! - [`core`]: the one way in: [`core::Leadline`] owns the backend and the
//!   configuration; a typed request in, a typed reply out; the one write
//!   path (group commit).
//! - [`store`]: the [`store::Backend`] trait and its implementations (the
//!   embedded sled store, PostgreSQL); the key layout is
//!   [`command::keys`].
//! - [`config`]: the TOML configuration (embedded default or a file),
//!   every adapter's settings included, so no adapter is imported by it.
//! - [`import`]: CSV import of leads (P-2); [`export`]: every record to
//!   CSV or JSON.
//! - [`documents`]: quotes, order confirmations, invoices and credit notes
//!   as PDF/A (Typst), and invoices as EN 16931 e-invoices (Factur-X,
//!   XRechnung).
//! - [`redact`]: every secret read is remembered and taken out of every
//!   text that leaves the process.
//! - [`tls`]: the TLS settings of leadline's clients (rustls with ring).
//! - [`mail`]: IMAP ingest of flagged mail and the SMTP outbox sender.
//! - [`scheduler`]: the overdue sweep and daily digests, on cron schedules.
//! - [`chat`]: the chat front end's rules: members, roles, confirmations,
//!   notices to post (Discord-independent).
//! - [`metrics`]: what `GET /metrics` counts (commands, commit latency).
//! - [`web`]: the web view and HTTP API the daemon serves (`[web]`).
//! - [`daemon`]: `leadline run`: the control socket with group commit, the
//!   scheduler, mail and outbox loops, graceful shutdown.

pub mod charts;
pub mod chat;
pub mod command;
pub mod config;
pub mod core;
pub mod daemon;
pub mod documents;
pub mod domain;
pub mod export;
pub mod import;
pub mod mail;
pub mod metrics;
pub mod redact;
pub mod scheduler;
pub mod store;
pub mod tls;
pub mod web;
