//! The read socket: how `hearthd history`, `events`, `audit` and `report` read while the
//! daemon runs.
//!
//! The daemon holds its history and ledger files exclusively (`hearth_history::lend`: no
//! `-shm` file rewritten at every commit), so no other process can open them while it runs.
//! It listens on a Unix socket beside the history file (`<history path>.sock`, mode 0600)
//! and answers those four commands from its own connections. The CLI tries the socket
//! first: a connection means a daemon, which answers; no socket, or no one listening on a
//! stale one, means no daemon, and the CLI opens the files read-only itself. Either way
//! the text is made by the same function ([`ReadCommand::answer`]).
//!
//! Protocol: one JSON [`ReadCommand`] on a line; the answer is one JSON object
//! (`{"text": …}` or `{"error": …}`), then the daemon closes the connection. Read-only:
//! nothing sent here changes anything. At most [`CONCURRENT`] answers are made at once
//! and a request is at most [`REQUEST_MAX`] bytes.

use crate::config::Config;
use crate::web::data::Sources;
use hearth_history::Format;
use hearth_model::Field;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Semaphore, watch};

/// Answers made at once at most; more connections wait for a turn.
const CONCURRENT: usize = 2;
/// The longest request line accepted.
const REQUEST_MAX: u64 = 64 * 1024;
/// How long the daemon waits for a request line.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the CLI waits for an answer, and the daemon for a client to take it.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
/// How often a socket that could not be bound is tried again.
const BIND_RETRY: Duration = Duration::from_secs(30);
/// The answer beyond [`CONCURRENT`] questions at once.
const BUSY: &str = "the running hearthd is answering other questions; try again";

/// What the daemon makes in one answer at most, so that no question grows its memory past
/// its budget (the text is built whole): samples, events or rollup buckets...
pub const ANSWER_ROWS: usize = 50_000;
/// ... ledger rows (each may carry a payload of a few hundred bytes) ...
pub const ANSWER_LEDGER_ROWS: usize = 10_000;
/// ... and days of `report` (it reads every raw sample of four fields in the period).
pub const ANSWER_REPORT_DAYS: u64 = 31;

/// The answer is made by the daemon, within its limits (`Bounded`), or by the CLI from the
/// files, in its own memory (`Unbounded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limits {
    Bounded,
    Unbounded,
}

impl Limits {
    /// Refuse a question over a limit in the daemon, saying how to ask instead.
    pub fn check(self, over: bool, what: &str) -> Result<(), String> {
        if self == Limits::Bounded && over {
            return Err(format!(
                "the running hearthd answers {what} at a time, to keep its memory small: \
                 ask for less (a shorter --since/--until, --every, --limit), or stop hearthd \
                 and the command reads the file itself"
            ));
        }
        Ok(())
    }
}

/// A read command of the CLI, as sent to the daemon: the arguments as typed (times are
/// parsed where the answer is made; both ends share the clock).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum ReadCommand {
    History {
        field: Field,
        since: String,
        until: Option<String>,
        every: Option<String>,
        format: Format,
    },
    Events {
        since: String,
        limit: usize,
        format: Format,
    },
    Audit {
        cloud: Option<String>,
        since: String,
        limit: usize,
        #[serde(default)]
        json: bool,
    },
    Report {
        since: String,
        cloud: Option<String>,
    },
}

impl ReadCommand {
    /// The command's output, read from `src` (the files, or the daemon's connections).
    pub fn answer(&self, cfg: &Config, src: &Sources, limits: Limits) -> Result<String, String> {
        match self {
            ReadCommand::History {
                field,
                since,
                until,
                every,
                format,
            } => crate::cli::history::history_text(
                src,
                *field,
                since,
                until.as_deref(),
                every.as_deref(),
                *format,
                limits,
            ),
            ReadCommand::Events {
                since,
                limit,
                format,
            } => {
                limits.check(
                    *limit > ANSWER_ROWS,
                    &format!("at most {ANSWER_ROWS} events"),
                )?;
                crate::cli::history::events_text(src, since, *limit, *format)
            }
            ReadCommand::Audit {
                cloud,
                since,
                limit,
                json,
            } => {
                limits.check(
                    *limit > ANSWER_LEDGER_ROWS,
                    &format!("at most {ANSWER_LEDGER_ROWS} ledger rows"),
                )?;
                crate::cli::audit::text(src, cloud.as_deref(), since, *limit, *json)
            }
            ReadCommand::Report { since, cloud } => {
                // The zone's offset now, not when the daemon started (a DST change since).
                let src = Sources {
                    local: crate::web::local_now(cfg),
                    ..src.clone()
                };
                crate::cli::report::text(cfg, &src, since, cloud.as_deref(), limits)
            }
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Answer {
    Text(String),
    Error(String),
}

/// Where the daemon listens: beside the history file.
pub fn socket_path(cfg: &Config) -> PathBuf {
    let mut path = cfg.history.path.clone().into_os_string();
    path.push(".sock");
    PathBuf::from(path)
}

/// Run `cmd` for the CLI: through the daemon when one answers on the socket, else from
/// the files.
pub fn run_cli(config: &Path, cmd: &ReadCommand) -> std::process::ExitCode {
    let cfg = match crate::cli::config_or_exit(config) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    let socket = socket_path(&cfg);
    let result = match ask(&socket, cmd) {
        Some(answer) => answer,
        None => cmd
            .answer(&cfg, &crate::web::sources(&cfg), Limits::Unbounded)
            .map_err(|e| {
                if e.contains("database is locked") {
                    format!(
                        "{e}\nA running hearthd holds its databases and answers on {}; it did \
                         not answer (starting, stopping, or the socket could not be made: see \
                         its log). Try again.",
                        socket.display()
                    )
                } else {
                    e
                }
            }),
    };
    crate::cli::print_or_fail(result)
}

/// Ask the daemon listening at `path`. `None` when none listens there (no socket file, or
/// a stale one): the caller reads the files itself.
pub fn ask(path: &Path, cmd: &ReadCommand) -> Option<Result<String, String>> {
    let mut stream = std::os::unix::net::UnixStream::connect(path).ok()?;
    let failed = |e: std::io::Error| {
        format!(
            "the running hearthd holds the databases, and asking it through {} failed: {e}",
            path.display()
        )
    };
    let mut exchange = || -> std::io::Result<Vec<u8>> {
        stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
        let mut line = serde_json::to_vec(cmd).map_err(std::io::Error::other)?;
        line.push(b'\n');
        stream.write_all(&line)?;
        stream.shutdown(std::net::Shutdown::Write)?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        Ok(answer)
    };
    Some(match exchange() {
        Err(e) => Err(failed(e)),
        Ok(bytes) => match serde_json::from_slice::<Answer>(&bytes) {
            Ok(Answer::Text(text)) => Ok(text),
            Ok(Answer::Error(e)) => Err(e),
            Err(e) => Err(failed(std::io::Error::other(format!(
                "an answer that is not hearthd's ({e})"
            )))),
        },
    })
}

/// Listen at `path` until `shutdown`, answering from `src`; the socket file is removed at
/// the end (if it is still this daemon's). A socket that cannot be bound (the directory
/// does not exist yet, a live daemon already answers there) is logged and tried again every
/// [`BIND_RETRY`]; meanwhile the CLI reports the files as held.
pub async fn serve(
    path: PathBuf,
    cfg: Arc<Config>,
    src: Sources,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut logged = false;
    let (listener, ours) = loop {
        let at = path.clone();
        let bound = tokio::task::spawn_blocking(move || bind(&at))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
            .and_then(|(l, id)| Ok((tokio::net::UnixListener::from_std(l)?, id)));
        match bound {
            Ok(bound) => break bound,
            Err(e) => {
                if !logged {
                    tracing::warn!(
                        "cannot listen on {} ({e}); until it can, `hearthd history`, `events`, \
                         `audit` and `report` cannot read while hearthd runs",
                        path.display()
                    );
                    logged = true;
                }
                tokio::select! {
                    () = stopped(&mut shutdown) => return,
                    () = tokio::time::sleep(BIND_RETRY) => {}
                }
            }
        }
    };
    if logged {
        tracing::info!("listening on {} now", path.display());
    }
    let turns = Arc::new(Semaphore::new(CONCURRENT));
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let (cfg, src) = (cfg.clone(), src.clone());
                    // Never waits here: a question beyond the turns is told so at once, so
                    // slow clients can neither stop the socket nor hold up the daemon's stop.
                    let turn = turns.clone().try_acquire_owned().ok();
                    tokio::spawn(async move {
                        match turn {
                            Some(_turn) => answer_one(stream, &cfg, src).await,
                            None => send(stream, &Answer::Error(BUSY.into())).await,
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "read socket: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    let _ = tokio::task::spawn_blocking(move || {
        // Another daemon may have replaced it meanwhile: only ours is removed.
        if file_id(&path).is_some_and(|id| id == ours) {
            let _ = std::fs::remove_file(&path);
        }
    })
    .await;
}

/// Resolves once shutdown is triggered (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not Send: dropped inside the expression.
    let _ = shutdown.wait_for(|stop| *stop).await.is_ok();
}

/// Device and inode of what is at `path`, to tell our socket file from another's.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

/// Bind, replacing a socket left by a daemon that is gone (only a socket nobody answers
/// on: a live daemon's is left alone, anything else at that path is an error). Returns the
/// listener and its file's identity.
fn bind(path: &Path) -> std::io::Result<(std::os::unix::net::UnixListener, (u64, u64))> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && meta.file_type().is_socket()
    {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "another hearthd answers there",
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    listener.set_nonblocking(true)?;
    // Whoever may read the files may ask, no one else: they are the service user's alone
    // (the unit's UMask=0077), and so is this.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let id = file_id(path).ok_or_else(|| std::io::Error::other("the socket file vanished"))?;
    Ok((listener, id))
}

async fn answer_one(stream: tokio::net::UnixStream, cfg: &Arc<Config>, src: Sources) {
    let (read, mut write) = stream.into_split();
    let mut line = Vec::new();
    let mut reader = tokio::io::BufReader::new(read.take(REQUEST_MAX + 1));
    let got = tokio::time::timeout(REQUEST_TIMEOUT, reader.read_until(b'\n', &mut line)).await;
    let answer = match got {
        Err(_) => Answer::Error("no request arrived in time".into()),
        Ok(Err(e)) => Answer::Error(format!("reading the request: {e}")),
        Ok(Ok(_)) if line.len() as u64 > REQUEST_MAX => {
            Answer::Error(format!("a request is at most {REQUEST_MAX} bytes"))
        }
        Ok(Ok(_)) => match serde_json::from_slice::<ReadCommand>(&line) {
            Err(e) => Answer::Error(format!("not a read command this hearthd knows: {e}")),
            Ok(cmd) => {
                let cfg = cfg.clone();
                let answer = move || cmd.answer(&cfg, &src, Limits::Bounded);
                match tokio::task::spawn_blocking(answer).await {
                    Ok(Ok(text)) => Answer::Text(text),
                    Ok(Err(e)) => Answer::Error(e),
                    Err(e) => Answer::Error(format!("the daemon failed to answer: {e}")),
                }
            }
        },
    };
    let _ = tokio::time::timeout(ANSWER_TIMEOUT, send_half(&mut write, &answer)).await;
}

async fn send(mut stream: tokio::net::UnixStream, answer: &Answer) {
    let _ = tokio::time::timeout(REQUEST_TIMEOUT, send_half(&mut stream, answer)).await;
}

/// Write the answer and close; bounded in time by the caller (a client that never reads).
async fn send_half(write: &mut (impl AsyncWriteExt + Unpin), answer: &Answer) {
    let bytes = serde_json::to_vec(answer).unwrap_or_default();
    if write.write_all(&bytes).await.is_ok() {
        let _ = write.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::{UnixMillis, Value};

    fn setup() -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let history = dir.path().join("history.db");
        let text = format!(
            "[hardware]\nbackend = \"simulator\"\n[history]\npath = \"{}\"\n[ledger]\npath = \"{}\"\n",
            history.display(),
            dir.path().join("ledger.db").display()
        );
        let cfg = crate::config::parse(Path::new("t.toml"), &text).unwrap();
        let mut store = hearth_history::Store::open(&history).unwrap();
        let now = UnixMillis::now();
        let samples: Vec<_> = (1..=3)
            .map(|i| hearth_history::Sample {
                at: now.saturating_sub(Duration::from_secs(60 * i)),
                field: Field::ThermostatTemperature,
                value: Value::Number(20.0 + i as f64),
            })
            .collect();
        store.insert(&samples, &[]).unwrap();
        (dir, cfg)
    }

    fn history_cmd() -> ReadCommand {
        ReadCommand::History {
            field: Field::ThermostatTemperature,
            since: "1h".into(),
            until: None,
            every: None,
            format: Format::Csv,
        }
    }

    #[test]
    fn the_daemon_refuses_questions_over_its_limits_and_says_how_to_ask() {
        let (_dir, cfg) = setup();
        let src = crate::web::sources(&cfg);
        let over = [
            ReadCommand::Events {
                since: "1h".into(),
                limit: ANSWER_ROWS + 1,
                format: Format::Table,
            },
            ReadCommand::Audit {
                cloud: None,
                since: "1h".into(),
                limit: ANSWER_LEDGER_ROWS + 1,
                json: true,
            },
            ReadCommand::Report {
                since: format!("{}d", ANSWER_REPORT_DAYS + 1),
                cloud: None,
            },
            ReadCommand::History {
                field: Field::ThermostatTemperature,
                since: "3650d".into(),
                until: None,
                every: Some("1h".into()),
                format: Format::Csv,
            },
        ];
        for cmd in over {
            let err = cmd.answer(&cfg, &src, Limits::Bounded).unwrap_err();
            assert!(err.contains("stop hearthd"), "{cmd:?}: {err}");
            // The CLI reading the files itself has no such limit.
            if let Err(e) = cmd.answer(&cfg, &src, Limits::Unbounded) {
                assert!(!e.contains("stop hearthd"), "{cmd:?}: {e}");
            }
        }
        let within = ReadCommand::Report {
            since: format!("{ANSWER_REPORT_DAYS}d"),
            cloud: None,
        };
        assert!(within.answer(&cfg, &src, Limits::Bounded).is_ok());
    }

    #[test]
    fn raw_history_is_answered_from_one_bounded_read() {
        let (_dir, cfg) = setup();
        let src = crate::web::sources(&cfg);
        // Within the bound: the daemon's answer is the file's.
        let cmd = history_cmd();
        let bounded = cmd.answer(&cfg, &src, Limits::Bounded).unwrap();
        assert_eq!(bounded, cmd.answer(&cfg, &src, Limits::Unbounded).unwrap());
        assert_eq!(bounded.lines().count(), 1 + 3, "{bounded}");
        // One sample over the bound, all in the last hour (50 to 42 minutes ago, apart from
        // the three above): refused, with the way to ask.
        let mut store = hearth_history::Store::open(&cfg.history.path).unwrap();
        let from = UnixMillis::now().saturating_sub(Duration::from_secs(50 * 60));
        let at = |i: u64| hearth_history::Sample {
            at: from.saturating_add(Duration::from_millis(10 * i)),
            field: Field::ThermostatTemperature,
            value: Value::Number(18.0),
        };
        let many: Vec<_> = (0..ANSWER_ROWS as u64 - 3).map(at).collect();
        store.insert(&many, &[]).unwrap();
        drop(store); // A writer holds its file: no other connection while it is open.
        // Exactly the bound is answered.
        let full = cmd.answer(&cfg, &src, Limits::Bounded).unwrap();
        assert_eq!(full.lines().count(), 1 + ANSWER_ROWS);
        let mut store = hearth_history::Store::open(&cfg.history.path).unwrap();
        store.insert(&[at(ANSWER_ROWS as u64)], &[]).unwrap();
        drop(store);
        let err = cmd.answer(&cfg, &src, Limits::Bounded).unwrap_err();
        assert!(err.contains("at most 50000 samples"), "{err}");
        let all = cmd.answer(&cfg, &src, Limits::Unbounded).unwrap();
        assert_eq!(all.lines().count(), 1 + ANSWER_ROWS + 1);
    }

    #[test]
    fn no_socket_or_a_stale_one_means_no_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db.sock");
        assert!(ask(&path, &history_cmd()).is_none(), "no socket file");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists(), "a socket left by a dead daemon");
        assert!(ask(&path, &history_cmd()).is_none(), "no one listens");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_daemon_answers_as_the_files_would_and_refuses_what_is_not_a_read_command() {
        let (_dir, cfg) = setup();
        let src = crate::web::sources(&cfg);
        let path = socket_path(&cfg);
        // A stale socket from a daemon that was killed is replaced.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let (stop_tx, stop) = watch::channel(false);
        let server = tokio::spawn(serve(
            path.clone(),
            Arc::new(cfg.clone()),
            src.clone(),
            stop,
        ));
        let p = path.clone();
        tokio::task::spawn_blocking(move || {
            let end = std::time::Instant::now() + Duration::from_secs(10);
            while std::os::unix::net::UnixStream::connect(&p).is_err() {
                assert!(std::time::Instant::now() < end, "the socket never listened");
                std::thread::sleep(Duration::from_millis(10));
            }
        })
        .await
        .unwrap();
        let (p, c, s) = (path.clone(), cfg.clone(), src.clone());
        let (through, direct) = tokio::task::spawn_blocking(move || {
            let cmd = history_cmd();
            (
                ask(&p, &cmd).expect("a daemon answers"),
                cmd.answer(&c, &s, Limits::Unbounded),
            )
        })
        .await
        .unwrap();
        let text = through.unwrap();
        assert_eq!(Ok(text.clone()), direct);
        assert_eq!(text.lines().count(), 4, "header and three samples: {text}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        // Garbage and an oversized line get an error, and the socket keeps serving.
        let p = path.clone();
        let (garbage, huge, again) = tokio::task::spawn_blocking(move || {
            let raw = |bytes: &[u8]| {
                let mut s = std::os::unix::net::UnixStream::connect(&p).unwrap();
                s.write_all(bytes).unwrap();
                let _ = s.shutdown(std::net::Shutdown::Write);
                let mut out = String::new();
                s.read_to_string(&mut out).unwrap();
                out
            };
            let garbage = raw(b"{\"command\":\"drop_tables\"}\n");
            // One byte over, no newline: the daemon reads exactly that much, so it closes
            // with nothing unread (more would reset the connection under the client's feet).
            let huge = raw(&vec![b'x'; REQUEST_MAX as usize + 1]);
            (garbage, huge, ask(&p, &history_cmd()))
        })
        .await
        .unwrap();
        assert!(garbage.contains("not a read command"), "{garbage}");
        assert!(huge.contains("at most"), "{huge}");
        assert!(again.unwrap().is_ok());

        // A second daemon finds this one answering and leaves its socket alone.
        let p = path.clone();
        let second = tokio::task::spawn_blocking(move || bind(&p).map(|_| ()))
            .await
            .unwrap();
        assert_eq!(second.unwrap_err().kind(), std::io::ErrorKind::AddrInUse);

        stop_tx.send(true).unwrap();
        server.await.unwrap();
        assert!(!path.exists(), "the socket file goes with the daemon");
    }
}
