//! Small state that must survive a restart, kept as JSON files beside the history database:
//! `thermostat.json` (the last accepted mode, fan and setpoints, restored at start; the
//! config's values are only the first-start ones) and `unlock-lockouts.json` (wrong unlock
//! codes and lockouts, so a restart does not reset them).
//!
//! Files are replaced atomically (temporary file, fsync, rename) so a power cut leaves the
//! old or the new version, never half of one. Nothing here holds the lock's state: the lock
//! is never moved on start. Unlock codes themselves are never written anywhere.

use hearth_api::Lockout;
use hearth_model::{HouseState, ThermostatChange, ThermostatState};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tokio::sync::watch;

/// The directory of the state files: the history database's.
pub fn state_dir(history_path: &Path) -> PathBuf {
    history_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned()
}

pub fn thermostat_path(history_path: &Path) -> PathBuf {
    state_dir(history_path).join("thermostat.json")
}

pub fn lockouts_path(history_path: &Path) -> PathBuf {
    state_dir(history_path).join("unlock-lockouts.json")
}

/// The saved thermostat settings as a change setting every part, or `None` when there is no
/// file yet. An unreadable file is an error naming it (the caller starts from the config).
pub fn load_thermostat(path: &Path) -> Result<Option<ThermostatChange>, String> {
    let Some(text) = read_if_exists(path)? else {
        return Ok(None);
    };
    let change: ThermostatChange = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a saved thermostat setting ({e})", path.display()))?;
    let whole = change.mode.is_some()
        && change.fan.is_some()
        && change.setpoint_heat.is_some()
        && change.setpoint_cool.is_some()
        && change.setpoint.is_none();
    if !whole {
        return Err(format!(
            "{}: a saved setting needs mode, fan, setpoint_heat and setpoint_cool",
            path.display()
        ));
    }
    Ok(Some(change))
}

fn settings_of(t: &ThermostatState) -> ThermostatChange {
    ThermostatChange {
        mode: Some(t.mode),
        fan: Some(t.fan),
        setpoint_heat: Some(t.setpoint_heat),
        setpoint_cool: Some(t.setpoint_cool),
        setpoint: None,
    }
}

pub fn save_thermostat(path: &Path, settings: &ThermostatChange) -> std::io::Result<()> {
    let json = serde_json::to_vec(settings).expect("settings serialize");
    super::write_atomically(path, &json)
}

/// Save the thermostat settings whenever they change, until the state channel closes. The
/// settings change only through accepted commands, so this writes a few bytes per command.
pub async fn keep_thermostat(path: PathBuf, mut state: watch::Receiver<HouseState>) {
    let mut saved = settings_of(&state.borrow_and_update().thermostat);
    let mut warned = false;
    while state.changed().await.is_ok() {
        let now = settings_of(&state.borrow_and_update().thermostat);
        if now == saved {
            continue;
        }
        let (p, n) = (path.clone(), now.clone());
        let written = tokio::task::spawn_blocking(move || save_thermostat(&p, &n)).await;
        match written {
            Ok(Ok(())) => {
                saved = now;
                warned = false;
            }
            Ok(Err(e)) if !warned => {
                warned = true;
                tracing::warn!(
                    "cannot save the thermostat settings to {}: {e}; they will be lost at restart",
                    path.display()
                );
            }
            _ => {}
        }
    }
}

/// The saved unlock-code lockouts; empty when there is no file.
pub fn load_lockouts(path: &Path) -> Result<BTreeMap<String, Lockout>, String> {
    match read_if_exists(path)? {
        None => Ok(BTreeMap::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a saved lockout table ({e})", path.display())),
    }
}

pub fn save_lockouts(path: &Path, table: &BTreeMap<String, Lockout>) -> std::io::Result<()> {
    let json = serde_json::to_vec(table).expect("lockouts serialize");
    super::write_atomically(path, &json)
}

fn read_if_exists(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::{FanMode, Mode};

    #[test]
    fn thermostat_settings_round_trip_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let history = dir.path().join("history.db");
        let path = thermostat_path(&history);
        assert_eq!(path, dir.path().join("thermostat.json"));
        assert_eq!(load_thermostat(&path), Ok(None));
        let s = ThermostatChange {
            mode: Some(Mode::Cool),
            fan: Some(FanMode::On),
            setpoint_heat: Some(18.5),
            setpoint_cool: Some(23.0),
            setpoint: None,
        };
        save_thermostat(&path, &s).unwrap();
        assert_eq!(load_thermostat(&path), Ok(Some(s)));
        std::fs::write(&path, "{\"mode\":\"cool\"}").unwrap();
        let e = load_thermostat(&path).unwrap_err();
        assert!(
            e.contains("thermostat.json") && e.contains("setpoint_heat"),
            "{e}"
        );
        std::fs::write(&path, "garbage").unwrap();
        assert!(
            load_thermostat(&path)
                .unwrap_err()
                .contains("thermostat.json")
        );
    }

    #[test]
    fn lockouts_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = lockouts_path(&dir.path().join("history.db"));
        assert!(load_lockouts(&path).unwrap().is_empty());
        let mut t = BTreeMap::new();
        t.insert(
            "home_assistant".to_owned(),
            Lockout {
                failures: 4,
                until_ms: 123,
            },
        );
        save_lockouts(&path, &t).unwrap();
        assert_eq!(load_lockouts(&path).unwrap(), t);
    }

    #[test]
    fn a_relative_history_path_keeps_state_in_the_working_directory() {
        assert_eq!(state_dir(Path::new("history.db")), PathBuf::from("."));
    }
}
