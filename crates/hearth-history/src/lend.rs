//! Lending a writer's connection to readers.
//!
//! hearthd's writers hold their database with `locking_mode=EXCLUSIVE`
//! ([`hold_exclusively`]): SQLite then keeps the WAL index in the process's memory instead
//! of the memory-mapped `-shm` file it would otherwise rewrite at every commit (on this
//! project's measurements, more than half of what a small commit costs the SD card). The
//! price is that no other connection, in this process or another, can read the file while
//! the writer has it open. So readers in the daemon borrow the writer's own connection,
//! between commits, through a [`Slot`]; a reader with no writer to borrow from (the CLI
//! when no daemon runs) opens its own read-only connection.
//!
//! Generic over the store type: the history and hearthd's ledger both use it.

use rusqlite::Connection;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A writer's connection, absent while it is not open (before the first open, after an
/// error that calls for reopening, after the writer stopped), shared with its readers;
/// cheap to clone.
pub struct Slot<S>(Arc<Shared<S>>);

/// The inside of a [`Slot`]: the connection, and a turnstile that gives the writer the
/// connection before any reader that comes after it (a steady stream of readers, e.g. a
/// flood of year-long history requests, must not keep a commit waiting for long).
struct Shared<S> {
    turnstile: Mutex<()>,
    conn: Mutex<Option<S>>,
}

impl<S> Clone for Slot<S> {
    fn clone(&self) -> Self {
        Slot(self.0.clone())
    }
}

impl<S> Default for Slot<S> {
    fn default() -> Self {
        Slot(Arc::new(Shared {
            turnstile: Mutex::new(()),
            conn: Mutex::new(None),
        }))
    }
}

/// A slot holding `conn`.
pub fn slot<S>(conn: Option<S>) -> Slot<S> {
    let slot = Slot::<S>::default();
    *lock(&slot) = conn;
    slot
}

/// Lock a slot as its writer: ahead of every reader that arrives while it waits. A panic
/// while it was held leaves the connection usable (SQLite rolled back whatever transaction
/// the panic interrupted when the statement was dropped).
pub fn lock<S>(slot: &Slot<S>) -> MutexGuard<'_, Option<S>> {
    // Held while waiting: readers arriving now queue behind it (`lock_as_reader`).
    let turn = slot
        .0
        .turnstile
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let guard = slot.0.conn.lock().unwrap_or_else(PoisonError::into_inner);
    drop(turn);
    guard
}

/// Lock a slot as a reader: through the turnstile first, so a waiting writer goes first.
fn lock_as_reader<S>(slot: &Slot<S>) -> MutexGuard<'_, Option<S>> {
    drop(
        slot.0
            .turnstile
            .lock()
            .unwrap_or_else(PoisonError::into_inner),
    );
    slot.0.conn.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A connection lent for reading; derefs to the store.
pub enum Lent<'a, S> {
    /// The reader's own read-only connection: no writer in this process.
    Own(S),
    /// The writer's connection, locked against commits until dropped.
    Writer(MutexGuard<'a, Option<S>>),
    /// The writer is not open: the reader's own connection, with the slot held so that the
    /// writer cannot open the file (and take it exclusively) while it is read.
    Beside(MutexGuard<'a, Option<S>>, S),
}

impl<S> Deref for Lent<'_, S> {
    type Target = S;
    fn deref(&self) -> &S {
        match self {
            Lent::Own(s) | Lent::Beside(_, s) => s,
            Lent::Writer(guard) => guard.as_ref().expect("a Writer loan holds an open store"),
        }
    }
}

/// Lend the writer's connection from `slot` when it is open, else a connection from
/// `open_own`. Blocking (it waits for a commit in progress): call from a blocking thread.
pub fn lend<'a, S, E>(
    slot: Option<&'a Slot<S>>,
    open_own: impl FnOnce() -> Result<S, E>,
) -> Result<Lent<'a, S>, E> {
    match slot {
        None => open_own().map(Lent::Own),
        Some(slot) => {
            let guard = lock_as_reader(slot);
            if guard.is_some() {
                Ok(Lent::Writer(guard))
            } else {
                open_own().map(|own| Lent::Beside(guard, own))
            }
        }
    }
}

/// A store a reader can open by itself, read-only.
pub trait ReadOnly: Sized {
    type Error;
    fn open_read_only(path: &Path) -> Result<Self, Self::Error>;
}

/// How everything but the writer reads a database: the daemon's requests, page and CLI
/// socket borrow the writer's connection; the CLI with no daemon running (or a reader made
/// with [`Reader::file`]) opens the file read-only itself. Cheap to clone.
pub struct Reader<S> {
    path: PathBuf,
    writer: Option<Slot<S>>,
}

impl<S> Clone for Reader<S> {
    fn clone(&self) -> Self {
        Reader {
            path: self.path.clone(),
            writer: self.writer.clone(),
        }
    }
}

impl<S> std::fmt::Debug for Reader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("path", &self.path)
            .field("borrows_the_writer", &self.writer.is_some())
            .finish()
    }
}

impl<S: ReadOnly> Reader<S> {
    /// Read the file at `path` with read-only connections of its own (no writer here).
    pub fn file(path: PathBuf) -> Self {
        Reader { path, writer: None }
    }

    /// Borrow the connection of the writer whose slot is `slot`, writing `path`.
    pub fn of_writer(path: PathBuf, slot: Slot<S>) -> Self {
        Reader {
            path,
            writer: Some(slot),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A connection to query, held until the loan is dropped (a commit waits for it).
    /// Blocking: call from a blocking thread. Fails like `open_read_only` when the writer
    /// is not open and the file cannot be read (absent, held by another process, older).
    pub fn read(&self) -> Result<Lent<'_, S>, S::Error> {
        lend(self.writer.as_ref(), || S::open_read_only(&self.path))
    }
}

/// Take the file exclusively for this connection's lifetime, with the WAL index in memory
/// (no `-shm` file). Must come before the first statement that reads the file.
pub fn hold_exclusively(conn: &Connection) -> rusqlite::Result<()> {
    let mode: String = conn.query_row("PRAGMA locking_mode = EXCLUSIVE", [], |r| r.get(0))?;
    debug_assert_eq!(mode, "exclusive");
    Ok(())
}

/// Once the writer holds its file: remove a `-shm` file an older hearthd, or a reader that
/// ran while no daemon did, left beside it. It is unused from now on, and nobody else can be
/// using it (they would need the lock this writer holds).
pub fn remove_stale_shm(db: &Path) {
    let mut shm = db.as_os_str().to_owned();
    shm.push("-shm");
    let _ = std::fs::remove_file(shm);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lend.db");
        (dir, path)
    }

    fn writer(path: &std::path::Path) -> Connection {
        let conn = Connection::open(path).unwrap();
        hold_exclusively(&conn).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE IF NOT EXISTS t(v INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
        conn
    }

    fn reader(path: &std::path::Path) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(std::time::Duration::ZERO)?;
        conn.query_row("SELECT count(*) FROM t", [], |_| Ok(()))?;
        Ok(conn)
    }

    #[test]
    fn an_exclusive_writer_keeps_no_shm_file_and_shuts_other_readers_out() {
        let (_dir, path) = temp();
        let w = writer(&path);
        let mut shm = path.clone().into_os_string();
        shm.push("-shm");
        assert!(!std::path::Path::new(&shm).exists(), "WAL index in memory");
        let err = reader(&path).unwrap_err();
        assert_eq!(
            err.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy),
            "{err}"
        );
        drop(w);
        reader(&path).expect("readable once the writer closed");
    }

    #[test]
    fn a_waiting_writer_goes_before_readers_that_come_after_it() {
        use std::sync::mpsc;
        let (_dir, path) = temp();
        let slot: Slot<Connection> = slot(Some(writer(&path)));
        let first = lend(Some(&slot), || reader(&path)).unwrap();
        let (order_tx, order) = mpsc::channel();
        std::thread::scope(|s| {
            let (w, tx) = (slot.clone(), order_tx.clone());
            s.spawn(move || {
                let _g = lock(&w);
                tx.send("writer").unwrap();
            });
            // The writer now waits for `first`, holding the turnstile.
            while slot.0.turnstile.try_lock().is_ok() {
                std::thread::yield_now();
            }
            let (r, tx) = (slot.clone(), order_tx.clone());
            let path = path.clone();
            s.spawn(move || {
                let _l = lend(Some(&r), || reader(&path)).unwrap();
                tx.send("late reader").unwrap();
            });
            drop(first);
        });
        let got: Vec<_> = order.try_iter().collect();
        assert_eq!(got, ["writer", "late reader"]);
    }

    #[test]
    fn readers_borrow_the_open_writer_or_open_their_own_beside_a_closed_one() {
        let (_dir, path) = temp();
        let slot: Slot<Connection> = slot(Some(writer(&path)));
        let count = |c: &Connection| -> i64 {
            c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .unwrap()
        };
        {
            let lent = lend(Some(&slot), || reader(&path)).unwrap();
            assert!(matches!(lent, Lent::Writer(_)));
            assert_eq!(count(&lent), 1);
            // Locked against the writer while lent.
            assert!(slot.0.conn.try_lock().is_err());
        }
        *lock(&slot) = None;
        let lent = lend(Some(&slot), || reader(&path)).unwrap();
        assert!(matches!(lent, Lent::Beside(..)));
        assert_eq!(count(&lent), 1);
        assert!(
            slot.0.conn.try_lock().is_err(),
            "the writer cannot reopen meanwhile"
        );
        drop(lent);
        let own = lend(None, || reader(&path)).unwrap();
        assert!(matches!(own, Lent::Own(_)));
    }
}
