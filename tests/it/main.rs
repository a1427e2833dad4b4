//! leadline's black-box tests, in one binary (one link, one run).
//!
//! - `process`: every transition and refusal of P-4..P-29, through
//!   `Store::execute`, the path every front end uses.
//! - `cli`: the `leadline` binary: the whole journey, exit codes, JSON,
//!   restart, config errors, schema versions.
//! - `durability`: SIGKILL during a stream of commands loses no
//!   acknowledged change and leaves no half-made record.
//! - `import`: CSV import of leads.
//! - `properties`: random command sequences keep the invariants.

mod backup;
mod browser;
mod chat;
mod cli;
mod daemon;
mod discord;
mod disk;
mod documents;
mod durability;
mod export;
mod fakediscord;
mod fakeoauth;
mod helpers;
mod import;
mod layering;
mod leases;
mod mail;
mod mailserver;
mod oauth;
mod outcomes;
mod package;
mod pg;
mod postgres;
mod process;
mod properties;
mod readme;
mod replicas;
mod reports;
mod scheduler;
mod secrets;
mod timeline;
mod web;
mod write_path;
