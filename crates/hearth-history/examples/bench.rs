//! Run the history bench at full size and print its figures:
//! `cargo run --release -p hearth-history --example bench [DIR] [--tiny]`.
//!
//! DIR defaults to a fresh temporary directory under the system's temp dir; point it at
//! the SD card to measure the card. Never run as a test: it takes a while.

use hearth_history::bench::{BenchSize, bench_report};
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let size = if args.iter().any(|a| a == "--tiny") {
        BenchSize::tiny()
    } else {
        BenchSize::full()
    };
    let dir = match args.iter().find(|a| !a.starts_with("--")) {
        Some(d) => PathBuf::from(d),
        None => std::env::temp_dir().join(format!("hearth-history-bench-{}", std::process::id())),
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        std::process::exit(1);
    }
    match bench_report(&dir, size) {
        Ok(figures) => print!("{figures}"),
        Err(e) => {
            eprintln!("history bench failed: {e}");
            std::process::exit(1);
        }
    }
}
