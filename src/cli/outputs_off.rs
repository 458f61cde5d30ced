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
    // Only `[hardware]` and `[simulator]` matter here: a mistake elsewhere in the file (a cloud,
    // the broker) must not keep the outputs on after a crash.
    let (hardware, simulator) = match hardware_sections(path) {
        Ok(sections) => sections,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    match hearth_hardware::outputs_off(&hardware, &simulator) {
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

/// The `[hardware]` and `[simulator]` sections of the config file, on their own.
fn hardware_sections(
    path: &Path,
) -> Result<
    (
        hearth_hardware::HardwareConfig,
        hearth_hardware::SimulatorConfig,
    ),
    String,
> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err("not a regular file; name a plain file".into());
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| e.message().to_owned())?;
    let hardware = table
        .remove("hardware")
        .ok_or("no [hardware] section; outputs-off needs the pin map")?
        .try_into()
        .map_err(|e: toml::de::Error| format!("[hardware]: {}", e.message()))?;
    let simulator = match table.remove("simulator") {
        Some(v) => v
            .try_into()
            .map_err(|e: toml::de::Error| format!("[simulator]: {}", e.message()))?,
        None => hearth_hardware::SimulatorConfig::default(),
    };
    Ok((hardware, simulator))
}
