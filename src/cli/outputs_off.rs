//! `hearthd outputs-off`: drive every configured output to OFF and exit.
//!
//! The systemd unit runs it as `ExecStopPost=`, after every exit of the daemon: a SIGKILL, a
//! watchdog abort (SIGABRT) or an OOM kill runs no destructor, so without it a heat relay or
//! lock motor could stay energised until a restart succeeds. It refuses while a daemon runs
//! (that daemon owns the pins) and never touches an input or the sensor.

use hearth_hardware::OffReport;
use std::path::Path;
use std::process::ExitCode;

pub fn run(path: &Path) -> ExitCode {
    let cfg = match super::config_or_exit(path) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    match hearth_hardware::outputs_off(&cfg.hardware, &cfg.simulator) {
        Ok(OffReport::Pins(levels)) => {
            for l in &levels {
                println!(
                    "{} (BCM {}) off ({})",
                    l.key,
                    l.pin,
                    if l.high { "high" } else { "low" }
                );
            }
            println!("{} outputs driven off", levels.len());
            ExitCode::SUCCESS
        }
        Ok(OffReport::SimulatorStateFile(file)) => {
            println!("simulator outputs off in {}", file.display());
            ExitCode::SUCCESS
        }
        Ok(OffReport::Nothing) => {
            println!("the simulator has no state_file: no outputs exist outside hearthd run");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
