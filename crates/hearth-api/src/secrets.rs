//! Loading the per-client unlock keys (and the broker password) from files that only hearth
//! may read.
//!
//! This is the crate's only file I/O. It refuses a file that others can access, that its
//! group can write, or that a group hearthd is not in can read (see [`mode`]), so a key never
//! sits world-readable on the SD card while the packaged `root:hearth 0640` layout works.
//! It must never log or print a key.

pub mod mode;

use hearth_policy::pin::{MIN_ITERATIONS, PinHash};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Shortest key accepted: HMAC-SHA256 is only as strong as a 32-byte key.
pub const MIN_KEY_BYTES: usize = 32;
/// Longest key accepted (HMAC hashes longer keys down anyway).
pub const MAX_KEY_BYTES: usize = 1024;
/// Longest client name, in characters.
pub const MAX_CLIENT_NAME_CHARS: usize = 64;
/// Secrets and password files larger than this are refused unread.
const MAX_SECRET_FILE_BYTES: u64 = 1 << 20;

/// Unlock keys by client name. `Debug` shows the names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    keys: BTreeMap<String, Vec<u8>>,
    /// Unlock-code hashes by client (`[codes]`), for clients that cannot sign.
    codes: BTreeMap<String, PinHash>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("clients", &self.keys.keys().collect::<Vec<_>>())
            .field("codes", &self.codes.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Secrets {
    /// No keys: local unlock is disabled.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Keys given directly (tests, or a caller with its own storage). Names and key
    /// lengths are checked as for the file.
    pub fn from_keys<I, S>(keys: I) -> Result<Self, String>
    where
        I: IntoIterator<Item = (S, Vec<u8>)>,
        S: Into<String>,
    {
        let mut map = BTreeMap::new();
        for (name, key) in keys {
            let name = name.into();
            check_client_name(&name)?;
            check_key_len(key.len()).map_err(|p| format!("key for `{name}` {p}"))?;
            map.insert(name, key);
        }
        Ok(Self {
            keys: map,
            codes: BTreeMap::new(),
        })
    }

    /// The same with unlock-code hashes (tests, or a caller with its own storage).
    pub fn with_codes(mut self, codes: BTreeMap<String, PinHash>) -> Self {
        self.codes = codes;
        self
    }

    /// No signing keys (unlock codes are counted apart: [`Secrets::codes`]).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The unlock-code hashes by client; empty unless `[codes]` is configured.
    pub fn codes(&self) -> &BTreeMap<String, PinHash> {
        &self.codes
    }

    pub fn key(&self, client: &str) -> Option<&[u8]> {
        self.keys.get(client).map(Vec::as_slice)
    }

    pub fn clients(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }
}

/// Why a secrets or password file was refused.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a regular file (a FIFO, socket, device or directory); point the config \
         at a plain file"
    )]
    NotAFile { path: PathBuf },
    #[error(
        "{path} is too open (mode {mode:04o}: {why}); it holds secrets, so run \
         `chown root:hearth {path} && chmod 640 {path}` (or `chmod 600`, owned by the user \
         hearthd runs as) and start again"
    )]
    TooOpen {
        path: PathBuf,
        mode: u32,
        why: &'static str,
    },
    #[error("{path} is larger than 1 MiB; it should hold a few short lines")]
    TooLarge { path: PathBuf },
    #[error(
        "{path} is not a valid secrets file: {message}; expected\n  [clients]\n  alice = \"<hex key>\""
    )]
    Parse { path: PathBuf, message: String },
    #[error("{path}: [clients] {client}: {problem}")]
    BadEntry {
        path: PathBuf,
        client: String,
        problem: String,
    },
    #[error("{path} is empty; write the broker password on its first line")]
    EmptyPassword { path: PathBuf },
}

/// Load unlock keys from a TOML file of the form
///
/// ```toml
/// [clients]
/// alice = "5f1c…"   # hex, at least 32 bytes (64 hex digits)
///
/// [codes]           # optional: unlock with a code (Home Assistant), see unlock_code.rs
/// home_assistant = { pbkdf2_sha256 = "…", salt = "…", iterations = 100000 }
/// ```
///
/// The file must not be accessible by others nor writable by its group; see [`mode`].
pub fn load_secrets(path: &Path) -> Result<Secrets, SecretsError> {
    let text = read_private_file(path)?;
    parse_secrets(&text, path)
}

/// Parse the secrets file's text; `path` only names the file in errors.
pub fn parse_secrets(text: &str, path: &Path) -> Result<Secrets, SecretsError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        clients: BTreeMap<String, String>,
        #[serde(default)]
        codes: BTreeMap<String, CodeEntry>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct CodeEntry {
        pbkdf2_sha256: String,
        salt: String,
        iterations: u32,
    }
    let file: File = toml::from_str(text).map_err(|e| SecretsError::Parse {
        path: path.to_owned(),
        message: e.message().to_owned(),
    })?;
    let mut keys = BTreeMap::new();
    for (client, hex_key) in file.clients {
        let bad = |problem: String| SecretsError::BadEntry {
            path: path.to_owned(),
            client: client.clone(),
            problem,
        };
        check_client_name(&client).map_err(bad)?;
        // Never echo the key text: the message names the problem only.
        let key = hex::decode(hex_key.trim()).map_err(|e| {
            bad(format!(
                "the key is not hex ({e}); generate one with e.g. `openssl rand -hex 32`"
            ))
        })?;
        check_key_len(key.len()).map_err(|p| bad(format!("the key {p}")))?;
        keys.insert(client, key);
    }
    let mut codes = BTreeMap::new();
    for (client, entry) in file.codes {
        let bad = |problem: String| SecretsError::BadEntry {
            path: path.to_owned(),
            client: client.clone(),
            problem,
        };
        check_client_name(&client).map_err(bad)?;
        if entry.iterations < MIN_ITERATIONS {
            return Err(bad(format!(
                "[codes] iterations is {}; use at least {MIN_ITERATIONS} so a stolen hash is slow to \
                 brute-force (`hearthd policy hash-pin` picks a safe count)",
                entry.iterations
            )));
        }
        let hash = PinHash::from_config(&entry.pbkdf2_sha256, &entry.salt, entry.iterations)
            .map_err(|e| bad(format!("[codes] pbkdf2_sha256: {e}")))?;
        codes.insert(client, hash);
    }
    Ok(Secrets { keys, codes })
}

/// Read a broker password file: its first line, without the line ending. Same permission
/// rule as the secrets file.
pub fn read_password_file(path: &Path) -> Result<String, SecretsError> {
    let text = read_private_file(path)?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(SecretsError::EmptyPassword {
            path: path.to_owned(),
        });
    }
    Ok(line.to_owned())
}

/// Open, then check the mode on the open handle (not the path) so the file checked is the
/// file read.
fn read_private_file(path: &Path) -> Result<String, SecretsError> {
    let io = |source| SecretsError::Io {
        path: path.to_owned(),
        source,
    };
    let file = open_nonblocking(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(SecretsError::NotAFile {
            path: path.to_owned(),
        });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if let Some(why) = mode::too_open(mode, meta.gid(), mode::Reader::current().as_ref()) {
        return Err(SecretsError::TooOpen {
            path: path.to_owned(),
            mode,
            why,
        });
    }
    if meta.len() > MAX_SECRET_FILE_BYTES {
        return Err(SecretsError::TooLarge {
            path: path.to_owned(),
        });
    }
    let mut text = String::new();
    file.take(MAX_SECRET_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(io)?;
    Ok(text)
}

/// Open for reading without blocking: a FIFO (or a device) in place of a secrets file would
/// otherwise block `open` until someone writes to it, hanging start-up. The caller checks on
/// the open handle that it is a regular file before reading anything.
pub fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

/// Client names: 1–64 characters of `A–Z a–z 0–9 _ . -`. They appear in the signed
/// message, the event log and the ledger, so they stay plain.
pub(crate) fn check_client_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if name.is_empty() || name.chars().count() > MAX_CLIENT_NAME_CHARS || !ok_chars {
        return Err(format!(
            "client name `{name}` is not allowed; use 1–{MAX_CLIENT_NAME_CHARS} characters \
             of letters, digits, `_`, `.` and `-`"
        ));
    }
    Ok(())
}

fn check_key_len(len: usize) -> Result<(), String> {
    if len < MIN_KEY_BYTES {
        Err(format!(
            "is {len} bytes; at least {MIN_KEY_BYTES} bytes ({} hex digits) are required",
            MIN_KEY_BYTES * 2
        ))
    } else if len > MAX_KEY_BYTES {
        Err(format!(
            "is {len} bytes; at most {MAX_KEY_BYTES} are allowed"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::Write;

    const KEY_HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn write(dir: &tempfile::TempDir, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.path().join(name);
        let mut f = fs::File::create(&path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn loads_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[clients]\nalice = \"{KEY_HEX}\"\nbob-2 = \"{}\"\n",
            "ab".repeat(40)
        );
        let path = write(&dir, "keys.toml", &text, 0o600);
        let s = load_secrets(&path).unwrap();
        assert_eq!(s.clients().collect::<Vec<_>>(), ["alice", "bob-2"]);
        assert_eq!(s.key("alice").unwrap(), hex::decode(KEY_HEX).unwrap());
        assert_eq!(s.key("bob-2").unwrap().len(), 40);
        assert!(s.key("carol").is_none());
        // Debug never shows key bytes.
        assert!(!format!("{s:?}").contains("0011"), "{s:?}");
    }

    #[test]
    fn refuses_a_file_others_can_access_or_its_group_can_write() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o604, 0o644, 0o660, 0o606] {
            let text = format!("[clients]\nalice = \"{KEY_HEX}\"\n");
            let path = write(&dir, &format!("keys-{mode:o}.toml"), &text, mode);
            let err = load_secrets(&path).unwrap_err();
            assert!(
                matches!(err, SecretsError::TooOpen { .. }),
                "{mode:o}: {err}"
            );
            let msg = err.to_string();
            assert!(
                msg.contains("chmod 640") && msg.contains(&format!("{mode:04o}")),
                "{msg}"
            );
            assert!(msg.contains(path.to_str().unwrap()), "{msg}");
        }
        let path = write(&dir, "ok.toml", "[clients]\n", 0o400);
        assert!(load_secrets(&path).unwrap().is_empty());
        // Group-readable by the reader's own group (here: the file's group is the test's
        // primary group, as root:hearth is for the service) is accepted.
        let path = write(&dir, "group.toml", "[clients]\n", 0o640);
        assert!(load_secrets(&path).unwrap().is_empty());
    }

    #[test]
    fn refuses_bad_hex_short_keys_and_bad_names_without_echoing_keys() {
        let dir = tempfile::tempdir().unwrap();
        let short = "ab".repeat(31);
        let cases = [
            ("alice = \"zz\"".to_string(), "not hex"),
            (format!("alice = \"{short}\""), "at least 32 bytes"),
            (format!("\"al ice\" = \"{KEY_HEX}\""), "not allowed"),
            ("alice = 42".to_string(), "not a valid secrets file"),
        ];
        for (i, (line, expect)) in cases.iter().enumerate() {
            let path = write(
                &dir,
                &format!("k{i}.toml"),
                &format!("[clients]\n{line}\n"),
                0o600,
            );
            let msg = load_secrets(&path).unwrap_err().to_string();
            assert!(msg.contains(expect), "{line}: {msg}");
            assert!(!msg.contains(&short), "key echoed: {msg}");
        }
        let path = write(&dir, "unknown.toml", "[client]\n", 0o600);
        assert!(matches!(
            load_secrets(&path).unwrap_err(),
            SecretsError::Parse { .. }
        ));
    }

    #[test]
    fn missing_file_names_the_path() {
        let msg = load_secrets(Path::new("/nonexistent/keys.toml"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("/nonexistent/keys.toml"), "{msg}");
    }

    #[test]
    fn password_file_first_line_and_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "pw", "s3cret\nignored\n", 0o600);
        assert_eq!(read_password_file(&path).unwrap(), "s3cret");
        let path = write(&dir, "pw-open", "s3cret\n", 0o644);
        assert!(matches!(
            read_password_file(&path).unwrap_err(),
            SecretsError::TooOpen { .. }
        ));
        let path = write(&dir, "pw-empty", "\n", 0o600);
        assert!(matches!(
            read_password_file(&path).unwrap_err(),
            SecretsError::EmptyPassword { .. }
        ));
    }

    #[test]
    fn codes_are_read_as_hashes_and_weak_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let line = PinHash::derive("4711", "abcd", 10_000).to_toml();
        let entry = line.trim_start_matches("unlock_pin = ");
        let path = write(
            &dir,
            "codes.toml",
            &format!("[codes]\nhome_assistant = {entry}\n"),
            0o600,
        );
        let s = load_secrets(&path).unwrap();
        assert!(s.is_empty(), "codes are not signing keys");
        assert!(s.codes()["home_assistant"].verify("4711"));
        assert!(!format!("{s:?}").contains("pbkdf2"), "{s:?}");
        let weak = PinHash::derive("4711", "abcd", 100).to_toml();
        let path = write(
            &dir,
            "weak.toml",
            &format!(
                "[codes]\nhome_assistant = {}\n",
                weak.trim_start_matches("unlock_pin = ")
            ),
            0o600,
        );
        let msg = load_secrets(&path).unwrap_err().to_string();
        assert!(
            msg.contains("home_assistant") && msg.contains("iterations"),
            "{msg}"
        );
    }

    #[test]
    fn from_keys_checks_like_the_file() {
        assert!(Secrets::from_keys([("alice", vec![7u8; 32])]).is_ok());
        assert!(Secrets::from_keys([("alice", vec![7u8; 31])]).is_err());
        assert!(Secrets::from_keys([("a/b", vec![7u8; 32])]).is_err());
    }

    #[test]
    fn a_fifo_is_refused_at_once_instead_of_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        // Without O_NONBLOCK both calls would wait forever for a writer.
        assert!(matches!(
            load_secrets(&path),
            Err(SecretsError::NotAFile { .. })
        ));
        assert!(matches!(
            read_password_file(&path),
            Err(SecretsError::NotAFile { .. })
        ));
    }
}
