//! Checks of the files and directories a config names, run when a config file is loaded
//! (not when text is parsed): each problem is a [`ConfigIssue`] on the key that names the
//! file, so the error shows that key's line.
//!
//! Databases must be a regular file, or absent in a directory that is not read-only (a
//! missing directory is allowed: systemd's StateDirectory creates it, and the writer retries
//! until it exists). Key and certificate files must exist and be readable regular files; their
//! contents and permissions are checked by the code that reads them.
//!
//! At start (and in `check-config`) [`refuse_special_files`] refuses, before any is opened,
//! every named file that exists but is not a regular file — a FIFO, a socket, a device:
//! opening a FIFO for reading blocks until someone writes to it, which would hang start-up
//! for good. `stat` never blocks, so that check cannot hang either.

use super::Config;
use hearth_model::ConfigIssue;
use std::path::{Path, PathBuf};

/// Every file problem in `cfg`.
pub fn check(cfg: &Config) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    issues.extend(database("history.path", &cfg.history.path));
    issues.extend(database("ledger.path", &cfg.ledger.path));
    for f in named_files(cfg) {
        issues.extend(readable_file(&f.key, &f.path));
    }
    issues
}

/// A file the config names: its key, its path, and whether hearth enforces the secrets rule
/// on it (owner/mode, see hearth_api::secrets_too_open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedFile {
    pub key: String,
    pub path: PathBuf,
    pub secret: bool,
}

/// Every file `cfg` tells hearthd to read.
pub fn named_files(cfg: &Config) -> Vec<NamedFile> {
    let mut files = Vec::new();
    let mut add = |key: String, path: &Path, secret: bool| {
        files.push(NamedFile {
            key,
            path: path.to_owned(),
            secret,
        })
    };
    if let Some(m) = &cfg.mqtt {
        if let Some(p) = &m.password_file {
            add("mqtt.password_file".into(), p, true);
        }
        if let Some(p) = &m.secrets_file {
            add("mqtt.secrets_file".into(), p, true);
        }
        if let Some(t) = &m.tls {
            add("mqtt.tls.ca_file".into(), &t.ca_file, false);
            if let Some(p) = &t.client_cert {
                add("mqtt.tls.client_cert".into(), p, false);
            }
            if let Some(p) = &t.client_key {
                add("mqtt.tls.client_key".into(), p, false);
            }
        }
    }
    for (i, c) in cfg.cloud.iter().enumerate() {
        if let Some(t) = &c.tls {
            add(format!("cloud[{i}].tls.ca_file"), &t.ca_file, false);
            add(format!("cloud[{i}].tls.client_cert"), &t.client_cert, false);
            add(format!("cloud[{i}].tls.client_key"), &t.client_key, false);
        }
    }
    files
}

/// Refuse, by key and path, every named file that exists and is not a regular file. Missing
/// files are left to the code that reads them, whose errors say what each file is for.
pub fn refuse_special_files(cfg: &Config) -> Result<(), String> {
    let problems: Vec<String> = named_files(cfg)
        .into_iter()
        // Follows symlinks: a link to a FIFO blocks the same way.
        .filter(|f| std::fs::metadata(&f.path).is_ok_and(|m| !m.is_file()))
        .map(|NamedFile { key, path, .. }| {
            format!(
                "{key}: {} is not a regular file (a FIFO, socket, device or directory); \
                 point it at a plain file",
                path.display()
            )
        })
        .collect();
    match problems.is_empty() {
        true => Ok(()),
        false => Err(problems.join("\n")),
    }
}

/// A database path: a regular file, or absent in a writable (or not yet created) directory.
/// Writable is judged by the mode bits (see below).
pub fn database(key: &str, path: &Path) -> Option<ConfigIssue> {
    let issue = |m: String| Some(ConfigIssue::new(key, m));
    let shown = path.display();
    if path.as_os_str().is_empty() {
        return issue("is empty; give a database file, e.g. \"/var/lib/hearth/hearth.db\"".into());
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => return None,
        Ok(meta) => {
            let kind = if meta.is_dir() {
                "a directory"
            } else {
                use std::os::unix::fs::FileTypeExt;
                let t = meta.file_type();
                if t.is_fifo() {
                    "a FIFO"
                } else if t.is_char_device() || t.is_block_device() {
                    "a device"
                } else if t.is_socket() {
                    "a socket"
                } else {
                    "not a regular file"
                }
            };
            return issue(format!(
                "`{shown}` is {kind}; a database must be a regular file (or not exist yet)"
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return issue(format!("`{shown}` cannot be checked: {e}")),
    }
    let Some(dir) = path.parent() else {
        return issue(format!("`{shown}` names no file"));
    };
    // A bare file name is in the working directory.
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => issue(format!(
            "`{}` (the directory of `{shown}`) is not a directory",
            dir.display()
        )),
        // Mode bits only: the user checking a config (root, an admin running `hearthd
        // history`) is often not the one hearthd runs as, so "writable by me" would judge
        // the wrong user.
        Ok(meta) if meta.permissions().readonly() => issue(format!(
            "`{shown}` does not exist and its directory `{}` is read-only; create the file \
             or make the directory writable by hearth's user",
            dir.display()
        )),
        Ok(_) => None,
        // Not created yet: the writer retries until it appears.
        Err(_) => None,
    }
}

/// A file hearth reads: it must exist and be a readable regular file.
pub fn readable_file(key: &str, path: &Path) -> Option<ConfigIssue> {
    let shown = path.display();
    let message = match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => format!("`{shown}` is not a regular file"),
        Ok(_) => match std::fs::File::open(path) {
            Ok(_) => return None,
            Err(e) => format!("`{shown}` cannot be read: {e}"),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            format!("`{shown}` does not exist")
        }
        Err(e) => format!("`{shown}` cannot be checked: {e}"),
    };
    Some(ConfigIssue::new(key, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mkfifo(path: &Path) -> PathBuf {
        let made = std::process::Command::new("mkfifo").arg(path).status();
        assert!(made.unwrap().success(), "mkfifo {}", path.display());
        path.to_owned()
    }

    #[test]
    fn databases_must_be_regular_files_or_absent_in_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("h.db");
        std::fs::write(&file, b"").unwrap();
        assert_eq!(database("k", &file), None);
        assert_eq!(database("k", &dir.path().join("new.db")), None);
        assert_eq!(database("k", Path::new("/no/such/dir/yet.db")), None);
        assert_eq!(database("k", Path::new("relative-never-created.db")), None);
        let fifo = mkfifo(&dir.path().join("fifo"));
        for (bad, phrase) in [
            ("", "empty"),
            ("/", "directory"),
            ("/dev/zero", "device"),
            (fifo.to_str().unwrap(), "FIFO"),
        ] {
            let issue = database("ledger.path", Path::new(bad)).expect(bad);
            assert_eq!(issue.key, "ledger.path");
            assert!(issue.message.contains(phrase), "{bad}: {}", issue.message);
        }
        let under_file = file.join("x.db");
        assert!(database("k", &under_file).is_some());
        let ro = dir.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
        let issue = database("history.path", &ro.join("h.db")).expect("read-only dir");
        assert!(issue.message.contains("read-only"), "{}", issue.message);
    }

    #[test]
    fn read_files_must_exist_and_be_regular() {
        let dir = tempfile::tempdir().unwrap();
        assert!(readable_file("k", dir.path()).is_some());
        let missing = readable_file("mqtt.secrets_file", &dir.path().join("x")).unwrap();
        assert!(missing.message.contains("does not exist"), "{missing:?}");
        let f = dir.path().join("ok");
        std::fs::write(&f, "x").unwrap();
        assert_eq!(readable_file("k", &f), None);
    }

    #[test]
    fn a_fifo_or_directory_is_named_by_key_and_a_missing_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = mkfifo(&dir.path().join("ca.pem"));
        let text = format!(
            "[hardware]\nbackend = \"simulator\"\n[mqtt]\nhost = \"127.0.0.1\"\nusername = \"h\"\n\
             password_file = \"{}\"\nsecrets_file = \"{}\"\ntls = {{ ca_file = \"{}\" }}\n",
            dir.path().display(),
            dir.path().join("missing").display(),
            fifo.display()
        );
        let cfg =
            crate::config::parse(Path::new("t.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
        let e = refuse_special_files(&cfg).unwrap_err();
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(lines.len(), 2, "{e}");
        assert!(lines[0].starts_with("mqtt.password_file: "), "{e}");
        assert!(lines[1].starts_with("mqtt.tls.ca_file: "), "{e}");
    }
}
