//! Small JSON state files under the state directory (beside the ledger): state that must
//! outlive a reload and a restart, such as a PIN lockout (`hearth_policy::lockout`) and the
//! replay memory of a cloud. Reusable for any other secret's lockout.
//!
//! Writes are atomic (a temporary file, fsync, rename), so a crash leaves the old or the new
//! state, never half of one. Written only when the state changes, which is rare (a command,
//! a wrong PIN), so the SD card is not worn by it. The house's own files (thermostat
//! settings, local unlock-code lockouts) are in [`house`].

mod house;

pub use house::*;

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The state file of one cloud's inbound guard (PIN lockout, replay memory), beside the
/// ledger file.
pub fn guard_file(ledger: &Path, cloud: &str) -> PathBuf {
    ledger.with_file_name(format!("guard-{cloud}.json"))
}

/// Read `path`; `Ok(None)` when it does not exist yet.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, String> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    serde_json::from_slice(&text).map(Some).map_err(|e| {
        format!(
            "{} is not a valid state file ({e}); delete it to start afresh",
            path.display()
        )
    })
}

/// Write `value` to `path` atomically.
pub fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), String> {
    let bytes = serde_json::to_vec(value).map_err(|e| e.to_string())?;
    write_atomically(path, &bytes).map_err(|e| {
        format!(
            "cannot write {}: {e}; check that the state directory is writable",
            path.display()
        )
    })
}

/// Replace `path` with `bytes`: a temporary file in the same directory, fsync, rename, and
/// the directory synced so the rename itself is durable.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::UnixMillis;
    use hearth_policy::lockout::{Backoff, Lockout};
    use std::time::Duration;

    #[test]
    fn a_lockout_survives_save_and_load_and_a_bad_file_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lockout.json");
        assert_eq!(load::<Lockout>(&path).unwrap(), None);
        let b = Backoff {
            max_failures: 1,
            first: Duration::from_secs(60),
            max: Duration::from_secs(600),
        };
        let mut l = Lockout::default();
        l.failed(UnixMillis(1000), &b);
        save(&path, &l).unwrap();
        assert_eq!(load::<Lockout>(&path).unwrap(), Some(l));
        std::fs::write(&path, b"{not json").unwrap();
        let e = load::<Lockout>(&path).unwrap_err();
        assert!(e.contains("not a valid state file"), "{e}");
        assert_eq!(
            guard_file(Path::new("/var/lib/hearth/ledger.db"), "alexa"),
            Path::new("/var/lib/hearth/guard-alexa.json")
        );
    }
}
