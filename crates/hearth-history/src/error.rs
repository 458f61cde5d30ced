//! Errors of the history store: what went wrong, with which file, and what to do about it.
//!
//! This module only names failures; it must never decide policy (retrying, reporting a
//! fault) — the writer does that.

use hearth_model::Field;
use std::path::PathBuf;

/// Anything the history store can fail at.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(
        "cannot open the history database {path}: {source}; check that the directory exists \
         and that hearthd may write to it (config key `history.path`)"
    )]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },

    #[error(
        "the history database {path} has schema version {found}, but this hearthd knows only \
         versions up to {known}: it was written by a newer hearthd; upgrade hearthd or point \
         `history.path` at another file"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },

    #[error(
        "the history database {path} has schema version {found} and this hearthd needs {known}; \
         a read-only open cannot migrate it: start hearthd once (it migrates at start-up)"
    )]
    NeedsMigration {
        path: PathBuf,
        found: u32,
        known: u32,
    },

    #[error("migrating the history database {path} to schema version {version} failed: {source}")]
    Migrate {
        path: PathBuf,
        version: u32,
        source: rusqlite::Error,
    },

    #[error("history database error while {doing}: {source}")]
    Sqlite {
        doing: &'static str,
        source: rusqlite::Error,
    },

    #[error(
        "`{field}` is not a numeric field; min/avg/max rollups exist only for \
         thermostat.temperature, thermostat.humidity and the setpoints — ask for a raw range instead"
    )]
    NotNumeric { field: Field },

    #[error("rollup step `{step}` is not a whole number of hours; use 1h, 6h, 1d, ...")]
    BadStep { step: String },

    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("invalid [history] config: {0}")]
    InvalidConfig(String),
}

impl HistoryError {
    /// True when the database is out of space: the writer keeps buffering and retries.
    pub fn is_disk_full(&self) -> bool {
        self.sqlite_code() == Some(rusqlite::ErrorCode::DiskFull)
    }

    fn sqlite_code(&self) -> Option<rusqlite::ErrorCode> {
        match self {
            HistoryError::Open { source, .. }
            | HistoryError::Migrate { source, .. }
            | HistoryError::Sqlite { source, .. } => source.sqlite_error_code(),
            _ => None,
        }
    }
}

/// Attach "while doing what" to a rusqlite result.
pub(crate) trait Doing<T> {
    fn doing(self, doing: &'static str) -> Result<T, HistoryError>;
}

impl<T> Doing<T> for Result<T, rusqlite::Error> {
    fn doing(self, doing: &'static str) -> Result<T, HistoryError> {
        self.map_err(|source| HistoryError::Sqlite { doing, source })
    }
}
