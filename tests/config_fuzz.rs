//! A seeded mutation fuzzer over config.example.toml: 600 broken variants (lines deleted,
//! duplicated, swapped, values replaced, bytes inserted including invalid UTF-8, sections
//! dropped or repeated, paths pointed at devices and directories, truncation). Every one
//! must load or be refused with an error naming the file, a line and a key — never panic,
//! never hang.

use hearthd::config::{self, ConfigError};
use std::path::Path;
use std::time::Duration;

/// Mutated configs per run; each run uses the same seeds, so a failure reproduces.
const MUTATIONS: u64 = 600;
/// All of them must finish within this (they take well under a second natively).
const DEADLINE: Duration = Duration::from_secs(120);

const VALUES: &[&str] = &[
    "\"\"",
    "\"x\"",
    "0",
    "-1",
    "1e400",
    "99999999999999999999",
    "true",
    "[]",
    "{}",
    "[1, \"a\"]",
    "\"10 parsecs\"",
    "\"0s\"",
    "\"/dev/zero\"",
    "\"/\"",
    "\"hearth/#\"",
    "nan",
    "\"\\u0000\"",
    "1979-05-27",
    "",
    "= 2",
];

const JUNK: &[&[u8]] = &[
    b"\xff",
    b"\xc3",
    b"[",
    b"]",
    b"\"",
    b"=",
    b"\n",
    b"[[cloud]]\n",
    b"[mqtt]\n",
    b"#",
    b"'''",
    b"{",
];

/// One mutation of `text`, chosen by `rng`.
fn mutate(rng: &mut fastrand::Rng, text: &[u8], fifo: &str, dir: &str) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = text.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    let n = lines.len();
    match rng.u8(0..12) {
        0 => {
            lines.remove(rng.usize(0..n));
        }
        1 => {
            let i = rng.usize(0..n);
            let copy = lines[i].clone();
            lines.insert(rng.usize(i..=n), copy);
        }
        2 => lines.swap(rng.usize(0..n), rng.usize(0..n)),
        3 | 4 => {
            // Replace the value of a random key line.
            let keyed: Vec<usize> = (0..n)
                .filter(|i| !lines[*i].starts_with(b"#") && lines[*i].contains(&b'='))
                .collect();
            if let Some(&i) = keyed.get(rng.usize(0..keyed.len().max(1))) {
                let eq = lines[i].iter().position(|b| *b == b'=').unwrap();
                let mut line = lines[i][..=eq].to_vec();
                line.push(b' ');
                let value = match rng.u8(0..4) {
                    0 => format!("\"{fifo}\""),
                    1 => format!("\"{dir}\""),
                    _ => VALUES[rng.usize(0..VALUES.len())].to_owned(),
                };
                line.extend(value.as_bytes());
                lines[i] = line;
            }
        }
        5 => {
            // Uncomment a commented example line (`# key = value`).
            let commented: Vec<usize> = (0..n)
                .filter(|i| lines[*i].starts_with(b"# ") && lines[*i].contains(&b'='))
                .collect();
            if let Some(&i) = commented.get(rng.usize(0..commented.len().max(1))) {
                lines[i].drain(..2);
            }
        }
        6 => {
            // Drop a section header.
            let headers: Vec<usize> = (0..n).filter(|i| lines[*i].starts_with(b"[")).collect();
            if let Some(&i) = headers.get(rng.usize(0..headers.len().max(1))) {
                lines.remove(i);
            }
        }
        7 => {
            // Rename a key.
            let keyed: Vec<usize> = (0..n)
                .filter(|i| lines[*i].first().is_some_and(u8::is_ascii_lowercase))
                .collect();
            if let Some(&i) = keyed.get(rng.usize(0..keyed.len().max(1))) {
                lines[i].insert(0, b'x');
            }
        }
        _ => {
            let mut bytes = lines.join(&b'\n');
            let at = rng.usize(0..=bytes.len());
            match rng.u8(0..4) {
                0 => bytes.truncate(at),
                1 => {
                    let end = (at + rng.usize(1..40)).min(bytes.len());
                    bytes.drain(at..end);
                }
                _ => {
                    let junk = JUNK[rng.usize(0..JUNK.len())];
                    bytes.splice(at..at, junk.iter().copied());
                }
            }
            return bytes;
        }
    }
    lines.join(&b'\n')
}

/// `None` when the error names the file, a line inside it (or just after it) and a key.
fn unlocated(err: &ConfigError, path: &Path, lines: usize) -> Option<String> {
    let shown = err.to_string();
    let prefix = format!("{}:", path.display());
    let line_ok = |line: usize| (1..=lines + 1).contains(&line);
    let key_ok = |key: &str| !key.is_empty() && key != "(top level)";
    let ok = match err {
        ConfigError::Read { .. } => false,
        ConfigError::Parse { line, key, .. } => line_ok(*line) && key_ok(key),
        ConfigError::Invalid { problems, .. } => {
            !problems.is_empty()
                && problems
                    .iter()
                    .all(|p| line_ok(p.line) && key_ok(&p.issue.key))
        }
    };
    let every_line_prefixed = shown.lines().all(|l| l.starts_with(&prefix));
    (!ok || !every_line_prefixed).then_some(shown)
}

#[test]
fn mutated_example_configs_always_get_a_located_error() {
    let handle = std::thread::spawn(run_mutations);
    let deadline = std::time::Instant::now() + DEADLINE;
    while !handle.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "the config fuzzer did not finish within {DEADLINE:?}: a parse hangs"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    handle.join().expect("the fuzzer thread panicked");
}

fn run_mutations() {
    let example = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml"))
        .expect("config.example.toml");
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    let path = dir.path().join("hearth.toml");
    let (mut loaded, mut kinds) = (0, std::collections::BTreeMap::<&str, u32>::new());
    let mut failures = Vec::new();
    for seed in 0..MUTATIONS {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut text = example.clone();
        // One to three mutations stacked.
        for _ in 0..rng.usize(1..=3) {
            text = mutate(
                &mut rng,
                &text,
                fifo.to_str().unwrap(),
                dir.path().to_str().unwrap(),
            );
        }
        std::fs::write(&path, &text).unwrap();
        let lines = text.split(|b| *b == b'\n').count();
        let result = std::panic::catch_unwind(|| config::load(&path));
        let outcome = match result {
            Err(_) => {
                failures.push(format!("seed {seed}: config::load panicked"));
                continue;
            }
            Ok(outcome) => outcome,
        };
        match outcome {
            Ok(cfg) => {
                loaded += 1;
                // The files it names are checked like `hearthd run` does, at their line.
                if let Err(e) = hearthd::mqtt::prepare(&cfg) {
                    let shown = e.to_string();
                    *kinds.entry("mqtt setup").or_default() += 1;
                    if !shown.starts_with(&format!("{}:", path.display())) {
                        failures.push(format!("seed {seed}: unlocated mqtt error: {shown}"));
                    }
                }
            }
            Err(e) => {
                let kind = match &e {
                    ConfigError::Read { .. } => "read",
                    ConfigError::Parse { message, .. } if message.contains("not UTF-8") => "utf8",
                    ConfigError::Parse { .. } => "parse",
                    ConfigError::Invalid { .. } => "invalid",
                };
                *kinds.entry(kind).or_default() += 1;
                if let Some(shown) = unlocated(&e, &path, lines) {
                    failures.push(format!("seed {seed}: {shown}"));
                }
            }
        }
    }
    println!("{MUTATIONS} mutations: {loaded} loaded, refused by kind: {kinds:?}");
    assert!(
        failures.is_empty(),
        "{} of {MUTATIONS} errors lack a file, line or key:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The mutations must really break things, or the fuzzer proves little.
    assert!(
        kinds.values().sum::<u32>() >= (MUTATIONS / 3) as u32,
        "too few refusals: {kinds:?}"
    );
}
