//! CPU-heavy work (PBKDF2 for a voice PIN) from async code without stalling an async worker.
//!
//! hearthd runs two tokio workers; a 100 000-round PBKDF2 on a Pi takes a good fraction of a
//! second, during which one of them would otherwise serve nobody. `block_in_place` hands the
//! worker's queued tasks to another thread first. On a current-thread runtime (unit tests)
//! there is no other worker to hand over to, and the work runs inline.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Run `f` (synchronous, possibly slow) so that no async task waits behind it.
pub fn off_worker<T>(f: impl FnOnce() -> T) -> T {
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn other_tasks_run_while_the_heavy_work_blocks() {
        // The only worker is inside `off_worker`, waiting for a task it cannot run itself:
        // it only completes if the worker's other tasks moved to another thread.
        let (tx, rx) = std::sync::mpsc::channel();
        tokio::spawn(async move {
            tx.send(()).unwrap();
        });
        let got = off_worker(|| rx.recv_timeout(Duration::from_secs(10)));
        assert!(got.is_ok(), "the spawned task never ran");
    }

    #[tokio::test]
    async fn a_current_thread_runtime_runs_it_inline() {
        assert_eq!(off_worker(|| 41 + 1), 42);
    }
}
