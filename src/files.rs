//! The files a config names (broker password, unlock keys, TLS certificates and keys),
//! checked before any is opened: one that exists but is not a regular file — a FIFO, a
//! socket, a device — is refused at once. Opening a FIFO for reading blocks until someone
//! writes to it, which would hang start-up (and `check-config`) for good.
//!
//! `stat` never blocks, so this check cannot hang either. Missing files are left to the code
//! that reads them, whose errors say what each file is for.

use crate::config::Config;
use std::path::Path;

/// Refuse, by key and path, every named file that exists and is not a regular file.
pub fn refuse_special_files(cfg: &Config) -> Result<(), String> {
    let problems: Vec<String> = crate::config::files::named_files(cfg)
        .into_iter()
        .filter(|f| is_special(&f.path))
        .map(|crate::config::files::NamedFile { key, path, .. }| {
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

fn is_special(path: &Path) -> bool {
    // Follows symlinks: a link to a FIFO blocks the same way.
    std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_or_directory_is_named_by_key_and_a_missing_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("ca.pem");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
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
