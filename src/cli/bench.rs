//! `hearthd bench`: run the benchmark and print its table (and JSON).

use crate::bench::{self, BenchOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

pub fn run(quick: bool, json: Option<PathBuf>) -> ExitCode {
    let opts = BenchOptions {
        idle_window: Duration::from_secs(if quick { 3 } else { 20 }),
        latency_rounds: if quick { 20 } else { 200 },
        forward_messages: if quick { 500 } else { 10_000 },
        full_history: !quick,
        disk_settle: Duration::from_secs(if quick { 5 } else { 45 }),
        disk_window: Duration::from_secs(if quick { 5 } else { 1200 }),
        flood_commands: if quick { 2_000 } else { 50_000 },
        flood_history_requests: if quick { 20 } else { 200 },
        json_out: json,
    };
    match bench::run(&opts) {
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
