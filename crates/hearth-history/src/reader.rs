//! [`Reader`]: how everything but the writer reads the history — the daemon's MQTT
//! requests, its web page and its CLI socket borrow the writer's connection (`lend.rs`);
//! the CLI with no daemon running opens the file read-only itself.

use crate::error::HistoryError;
use crate::lend::{self, Lent, Slot};
use crate::store::Store;
use std::path::{Path, PathBuf};

/// A way to read the history database; cheap to clone.
#[derive(Clone)]
pub struct Reader {
    path: PathBuf,
    writer: Option<Slot<Store>>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("path", &self.path)
            .field("borrows_the_writer", &self.writer.is_some())
            .finish()
    }
}

impl Reader {
    /// Read the file at `path` with a read-only connection of its own (no writer in this
    /// process).
    pub fn file(path: PathBuf) -> Reader {
        Reader { path, writer: None }
    }

    pub(crate) fn of_writer(path: PathBuf, slot: Slot<Store>) -> Reader {
        Reader {
            path,
            writer: Some(slot),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A connection to query, held until the returned loan is dropped (a commit waits for
    /// it). Blocking: call from a blocking thread. Fails like
    /// [`Store::open_read_only`] when the writer is not open and the file cannot be read
    /// (not created yet, held by another process, an older schema).
    pub fn read(&self) -> Result<Lent<'_, Store>, HistoryError> {
        lend::lend(self.writer.as_ref(), || Store::open_read_only(&self.path))
    }
}
