//! `hearthd bench`: run the benchmark and print its table (and JSON). The harness is the
//! hearth-bench crate, linked only with the `bench` feature; without it this says how to get it.

use std::path::PathBuf;
use std::process::ExitCode;

#[cfg(feature = "bench")]
pub fn run(quick: bool, json: Option<PathBuf>) -> ExitCode {
    use hearth_bench::BenchOptions;
    use std::time::Duration;

    let opts = BenchOptions {
        idle_window: Duration::from_secs(if quick { 3 } else { 20 }),
        latency_rounds: if quick { 20 } else { 200 },
        forward_messages: if quick { 500 } else { 10_000 },
        full_history: !quick,
        disk_settle: Duration::from_secs(if quick { 5 } else { 45 }),
        disk_window: Duration::from_secs(if quick { 5 } else { 3600 }),
        flood_commands: if quick { 2_000 } else { 50_000 },
        flood_history_requests: if quick { 20 } else { 200 },
        json_out: json,
    };
    match hearth_bench::run(&opts, &super::bench_host::Hearthd) {
        Ok(report) => {
            print!("{}", report.table());
            println!("{}", report.json());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: bench failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Without the feature: say how to get the harness, exit 2.
#[cfg(not(feature = "bench"))]
pub fn run(_quick: bool, _json: Option<PathBuf>) -> ExitCode {
    eprintln!(
        "error: this hearthd was built without the benchmark harness (installed binaries \
         leave it out). From a source checkout run:\n  \
         cargo run --release --features bench -- bench [--quick] [--json FILE]\n\
         (see BENCHMARKS.md)"
    );
    ExitCode::from(2)
}
