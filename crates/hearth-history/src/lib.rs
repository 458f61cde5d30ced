//! The history store: readings, state changes and events in SQLite, kind to an SD card.
//!
//! - [`spawn_writer`] starts the task the daemon records through ([`HistoryHandle`]): it
//!   filters readings with a deadband and heartbeat, batches them, commits every
//!   `commit_interval`, rolls up hours, applies retention, and survives a full or read-only
//!   disk by buffering (see [`WriterStatus`]).
//! - [`Store`] is a connection for queries (`latest`, `range`, `rollup`, `events`). The
//!   writer holds the file exclusively ([`lend`]), so readers in the daemon borrow its
//!   connection through a [`Reader`] ([`HistoryHandle::reader`]); with no writer running,
//!   [`Reader::file`] / [`Store::open_read_only`] open the file. Query on a blocking thread
//!   (`spawn_blocking`); a `Store` is `Send` but not `Sync`. [`Format`] renders results as a
//!   table or CSV; [`history_text`]/[`events_text`] are the bodies of `hearthd history`.
//! - `bench` (only with the `bench` feature, for the hearth-bench crate) measures insert rate,
//!   bytes per sample, bytes written per day and rollup query time for `hearthd bench`.
//!
//! This crate must never be on the control path: nothing here blocks a caller that holds a
//! `HistoryHandle`, and no history failure stops the house from being controlled.

#[cfg(feature = "bench")]
pub mod bench;
mod cli;
mod codec;
mod config;
mod cycle;
mod error;
mod event;
mod format;
pub mod lend;
mod query;
mod recorder;
mod retention;
mod schema;
mod store;
mod writer;

pub use cli::{events_text, history_text, samples_text};
pub use config::HistoryConfig;
pub use error::HistoryError;
pub use event::{Event, EventKind};
pub use format::{Format, parse_time};
pub use query::{Page, Rollup};
/// How the daemon and the CLI read the history (`lend.rs`).
pub type Reader = lend::Reader<Store>;

pub use recorder::WriterStats;
pub use store::{InsertOutcome, Sample, Store, set_durable_wal};
pub use writer::{HistoryHandle, WriterStatus, spawn_writer};

/// The schema version this build writes (`PRAGMA user_version`).
#[cfg(test)]
pub(crate) const SCHEMA_VERSION: u32 = schema::CURRENT_VERSION;

#[cfg(test)]
mod tests;
