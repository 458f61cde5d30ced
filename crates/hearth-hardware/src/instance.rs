//! One hearthd per house: an exclusive lock on a file, taken before any pin is touched.
//!
//! A second `hearthd run` (a stray `sudo hearthd run` next to the service) would claim the
//! same pins, fail on an edge line, and rppal's reset-on-drop would switch the running
//! daemon's pull resistors off. With the lock it stops with a clear error before opening
//! anything. The kernel drops the lock when the process ends, however it ends (SIGKILL
//! included), so a crash never leaves a stale lock behind.

use crate::HardwareError;
use crate::config::{Backend, HardwareConfig};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Where the Raspberry Pi backend locks when `hardware.lock_file` is not set: the service's
/// StateDirectory, writable by the `hearth` user and present before the first start.
pub const DEFAULT_LOCK_FILE: &str = "/var/lib/hearth/hearthd.lock";

/// Where the single-instance lock lives for this config, if anywhere: `hardware.lock_file`,
/// else [`DEFAULT_LOCK_FILE`] for the Pi; the simulator locks only when asked to.
pub fn lock_path(cfg: &HardwareConfig) -> Option<PathBuf> {
    match (&cfg.lock_file, cfg.backend) {
        (Some(path), _) => Some(path.clone()),
        (None, Backend::RaspberryPi) => Some(PathBuf::from(DEFAULT_LOCK_FILE)),
        (None, Backend::Simulator) => None,
    }
}

/// Held for as long as this process owns the hardware.
#[derive(Debug)]
pub struct InstanceLock {
    file: File,
}

impl InstanceLock {
    /// Take the lock without waiting; if another process holds it, say which one.
    pub fn acquire(path: &Path) -> Result<Self, HardwareError> {
        let fail = |detail: String| HardwareError::LockFile {
            path: path.display().to_string(),
            detail,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| {
                fail(format!(
                    "{e}; create its directory writable by hearthd, or set hardware.lock_file"
                ))
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(HardwareError::AlreadyRunning {
                    path: path.display().to_string(),
                    holder: holder.trim().to_owned(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(fail(e.to_string())),
        }
        // Note who holds it, for the second instance's message. Best effort.
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "pid {}", std::process::id()));
        Ok(Self { file })
    }
}

impl Drop for InstanceLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first makes the order explicit.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_named_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hearthd.lock");
        let first = InstanceLock::acquire(&path).unwrap();
        let Err(e) = InstanceLock::acquire(&path) else {
            panic!("two holders of one lock");
        };
        let msg = e.to_string();
        assert!(matches!(e, HardwareError::AlreadyRunning { .. }), "{e:?}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("hearthd.lock"), "{msg}");
        drop(first);
        InstanceLock::acquire(&path).expect("free again once the first holder is gone");
    }

    #[test]
    fn an_unwritable_place_is_a_clear_error() {
        let e = InstanceLock::acquire(Path::new("/nonexistent-dir/hearthd.lock")).unwrap_err();
        assert!(e.to_string().contains("hardware.lock_file"), "{e}");
    }
}
