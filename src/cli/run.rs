//! `hearthd run`: load the config, set up logging, and hand over to the daemon.

use crate::{daemon, logging};
use std::path::Path;
use std::process::ExitCode;

pub fn run(path: &Path) -> ExitCode {
    let cfg = match super::config_or_exit(path) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    logging::init(cfg.daemon.log_level);
    limit_malloc_arenas();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Blocking work (sensor reads, SQLite queries, file I/O) is short and mostly
        // serialised; a few threads suffice, and each thread that allocates costs memory.
        .max_blocking_threads(8)
        .enable_all()
        .thread_name("hearthd")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(daemon::run(cfg, path.to_owned()));
    // Do not wait for blocking threads: a sensor read that hangs in the kernel must not keep
    // a stopped hearth from exiting (its outputs are already off).
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// glibc gives each thread that allocates its own heap ("arena"), up to 8 per core, and
/// keeps what each once held: under a flood of history requests on blocking threads that
/// was megabytes of RSS. With one heap the peaks of the threads do not add up (BENCHMARKS.md,
/// the flood: 14.7 and 15.0 MiB with one arena against 15.2 and 15.3 with two); the
/// forwarding figure, the busiest path, stayed within its run-to-run spread.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any other thread
    // exists (the runtime is built after it).
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
