//! Each `crates/*` library exports only what is used outside it (issue #18): every name its
//! `lib.rs` makes public — `pub use` re-exports, `pub` items of `lib.rs`, `pub mod`s and the
//! top-level `pub` items of those modules' files — must appear in some Rust file outside the
//! crate's `src/` (another crate, hearthd, or the crate's own tests and examples) that also
//! names the crate.
//!
//! A text check, by name: it does not see methods or fields of public types, and a name used
//! outside under another crate's item of the same name passes. What it does catch is a new
//! `pub mod` or re-export nobody needs. Everything else stays private to its crate, where
//! rustc's dead-code lint covers it (a `pub` item in a private module that nothing uses is
//! reported as dead).
//!
//! hearthd's own library (`src/lib.rs`) is held to the same rule, its users being the tests,
//! the examples and `src/main.rs`; see `hearthd_exports_only_what_its_tests_and_binary_use`.

use std::collections::BTreeSet;

/// Public types no file outside names, kept public because they are in the signature or the
/// fields of a public item that is used outside (the second name): making them private would
/// leave callers holding values of a type they cannot name. The test fails when an entry goes
/// stale (the type is named outside, or is no longer public) or its carrier is not public.
const SIGNATURE_TYPES: &[(&str, &str, &str)] = &[
    ("hearth_api", "CodeGuard", "CommandGuard"),
    ("hearth_api", "DiscoveryConfig", "MqttConfig"),
    ("hearth_api", "ParsedCommand", "parse_command"),
    ("hearth_bench", "Report", "run"),
    ("hearth_control", "AbortReason", "ControlEvent"),
    ("hearth_hardware", "Hardware", "open"),
    ("hearth_hardware", "SharedSensor", "Hardware"),
    ("hearth_hardware", "ClimateSensor", "SharedSensor"),
    ("hearth_hardware", "SensorError", "HardwareEvent"),
    ("hearth_hardware", "InputDebounce", "PollerConfig"),
    ("hearth_history", "BenchFigures", "bench_report"),
    ("hearth_history", "InsertOutcome", "Store"),
    ("hearth_infer", "Score", "score"),
    ("hearth_infer", "Seen", "DaySummary"),
    ("hearth_infer", "Period", "DaySummary"),
    ("hearth_infer", "Moment", "DaySummary"),
    ("hearth_infer", "MomentKind", "Moment"),
    ("hearth_policy", "CommandName", "PolicyConfig"),
    ("hearth_policy", "DeviceNames", "PolicyConfig"),
    ("hearth_policy", "ReplyToken", "Inbound"),
    ("hearth_policy", "Verdict", "Lockout"),
];
use std::fs;
use std::path::{Path, PathBuf};

const ITEM_KINDS: [&str; 8] = [
    "fn", "struct", "enum", "trait", "type", "const", "static", "mod",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The name a top-level `pub <kind> NAME` line declares (not `pub(crate)` and the like).
fn declared(line: &str) -> Option<String> {
    let rest = line.strip_prefix("pub ")?;
    let rest = rest.strip_prefix("async ").unwrap_or(rest);
    let rest = rest.strip_prefix("unsafe ").unwrap_or(rest);
    let (kind, rest) = rest.split_once(' ')?;
    if !ITEM_KINDS.contains(&kind) {
        return None;
    }
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Names exported by the `pub use` statements of `text` (after `as` when renamed).
fn reexported(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("\npub use ") {
        let stmt_start = at + "\npub use ".len();
        let end = rest[stmt_start..]
            .find(';')
            .expect("a `pub use` ends with ';'")
            + stmt_start;
        let stmt = &rest[stmt_start..end];
        let list = match (stmt.find('{'), stmt.rfind('}')) {
            (Some(open), Some(close)) => stmt[open + 1..close].to_owned(),
            _ => stmt.rsplit("::").next().unwrap_or(stmt).to_owned(),
        };
        for part in list.split(',') {
            let part = part.trim();
            if part.is_empty() || part.contains('{') || part.contains('}') {
                continue;
            }
            let name = match part.split_once(" as ") {
                Some((_, alias)) => alias.trim(),
                None => part.rsplit("::").next().unwrap_or(part),
            };
            if name != "self" && name != "*" {
                names.push(name.to_owned());
            }
        }
        rest = &rest[end..];
    }
    names
}

fn word_in(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// The public names of one crate, with where each comes from (for the failure message).
fn public_names(src: &Path) -> Vec<(String, String)> {
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let mut names: Vec<(String, String)> = reexported(&format!("\n{lib}"))
        .into_iter()
        .map(|n| (n, "lib.rs `pub use`".to_owned()))
        .collect();
    for line in lib.lines() {
        let Some(name) = declared(line) else { continue };
        if line.starts_with("pub mod ") && line.trim_end().ends_with(';') {
            // A public module: its own top-level public items are public too.
            let file = [
                src.join(format!("{name}.rs")),
                src.join(&name).join("mod.rs"),
            ]
            .into_iter()
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no file for `pub mod {name}` in {}", src.display()));
            let text = fs::read_to_string(&file).unwrap();
            names.extend(
                text.lines()
                    .filter_map(declared)
                    .map(|n| (n, format!("`pub mod {name}`"))),
            );
        }
        names.push((name, "lib.rs".to_owned()));
    }
    names
}

#[test]
fn every_public_name_of_a_workspace_crate_is_used_outside_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    for dir in ["src", "tests", "crates", "examples", "benches"] {
        rust_files(&root.join(dir), &mut all);
    }
    let texts: Vec<(PathBuf, String)> = all
        .into_iter()
        .map(|p| {
            let t = fs::read_to_string(&p).unwrap();
            (p, t)
        })
        .collect();

    let mut crates: Vec<PathBuf> = fs::read_dir(root.join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("src/lib.rs").exists())
        .collect();
    crates.sort();
    assert!(crates.len() >= 7, "found only {crates:?}");

    // This file names the allowed types; it is not a user.
    let this = Path::new("tests/public_surface.rs");
    let mut unused = BTreeSet::new();
    let mut public = BTreeSet::new();
    for krate in &crates {
        let src = krate.join("src");
        let ident = krate
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace('-', "_");
        let users: Vec<&str> = texts
            .iter()
            .filter(|(p, t)| !p.starts_with(&src) && !p.ends_with(this) && word_in(t, &ident))
            .map(|(_, t)| t.as_str())
            .collect();
        for (name, from) in public_names(&src) {
            let used = users.iter().any(|t| word_in(t, &name));
            let allowed = SIGNATURE_TYPES
                .iter()
                .any(|(c, n, _)| *c == ident && *n == name);
            if used && allowed {
                unused.insert(format!(
                    "{ident}::{name}: stale SIGNATURE_TYPES entry, it is named outside now"
                ));
            }
            if !used && !allowed {
                unused.insert(format!("{ident}::{name} ({from})"));
            }
            public.insert((ident.clone(), name));
        }
    }
    for (c, n, carrier) in SIGNATURE_TYPES {
        for name in [n, carrier] {
            if !public.contains(&((*c).to_owned(), (*name).to_owned())) {
                unused.insert(format!("{c}::{name}: in SIGNATURE_TYPES but not public"));
            }
        }
    }
    assert!(
        unused.is_empty(),
        "public but used nowhere outside its crate (make it private, or drop the \
         re-export):\n  {}",
        unused.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

#[test]
fn the_check_reads_declarations_and_reexports() {
    assert_eq!(declared("pub fn open("), Some("open".into()));
    assert_eq!(declared("pub(crate) fn open("), None);
    assert_eq!(declared("pub async fn run<T>("), Some("run".into()));
    assert_eq!(declared("    pub fn method("), None);
    assert_eq!(
        reexported("\npub use a::{B, c::D as E,\n    f};\npub use g::H;\nuse i::J;\n"),
        ["B", "E", "f", "H"]
    );
    assert!(word_in("x = hearth_api::Topics::new()", "Topics"));
    assert!(!word_in("x = TopicsExt", "Topics"));
}

/// The names `text` writes right after `parent::` (not `x_parent::`): the `name` of
/// `parent::name`, and the first segment of each part of a `parent::{a, b::c, d::{e}}` group.
fn names_after(text: &str, parent: &str) -> BTreeSet<String> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let lead = |s: &str| -> String { s.trim().chars().take_while(|c| ident(*c)).collect() };
    let path = format!("{parent}::");
    let mut names = BTreeSet::new();
    for (at, _) in text.match_indices(&path) {
        if text[..at].chars().next_back().is_some_and(ident) {
            continue;
        }
        let rest = text[at + path.len()..].trim_start();
        let Some(group) = rest.strip_prefix('{') else {
            names.insert(lead(rest));
            continue;
        };
        let (mut depth, mut part) = (0, 0);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth > 0 => depth -= 1,
                ',' | '}' if depth == 0 => {
                    names.insert(lead(&group[part..i]));
                    part = i + 1;
                    if c == '}' {
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    names.remove("");
    names
}

/// The public names of hearthd's lib, each as (module, name): the `pub mod`s of `src/lib.rs`
/// (module `hearthd`), then for each public module its `pub use` re-exports and top-level
/// `pub` items, down every chain of `pub mod`s. `file` is the module's file, `dir` where its
/// submodules' files live.
fn hearthd_public(file: &Path, dir: &Path, module: &str, out: &mut Vec<(String, String)>) {
    let text = fs::read_to_string(file).unwrap();
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("pub use ") && l.contains("::*")),
        "{}: a public glob re-export hides its names from this check; name them",
        file.display()
    );
    out.extend(
        reexported(&format!("\n{text}"))
            .into_iter()
            .map(|n| (module.to_owned(), n)),
    );
    for line in text.lines() {
        let Some(name) = declared(line) else { continue };
        if line.starts_with("pub mod ") && line.trim_end().ends_with(';') {
            let sub = [
                dir.join(format!("{name}.rs")),
                dir.join(&name).join("mod.rs"),
            ]
            .into_iter()
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no file for `pub mod {name}` in {}", file.display()));
            hearthd_public(&sub, &dir.join(&name), &name, out);
        }
        out.push((module.to_owned(), name));
    }
}

/// Public types of hearthd's lib no user names after their module, kept public because
/// they are in the signature or the fields of a used public item (the carrier): as
/// `SIGNATURE_TYPES`, each written `module::Name`.
const HEARTHD_SIGNATURE_TYPES: &[(&str, &str)] = &[
    ("clock::WallSource", "clock::Clock"),
    ("cloud::LedgerConfig", "config::Config"),
    ("config::ConfigSource", "config::Config"),
    ("config::DaemonConfig", "config::Config"),
    ("config::LocatedIssue", "config::ConfigError"),
    ("config::LogLevel", "config::DaemonConfig"),
    ("daemon::StopReport", "daemon::Running"),
    ("data::CloudLedger", "data::ledger"),
    ("data::HistoryData", "data::history"),
    ("data::Sources", "web::sources"),
    ("house::HouseStats", "daemon::StopReport"),
    ("ledger::LedgerError", "ledger::Store"),
    ("ledger::LedgerStats", "daemon::StopReport"),
    ("mqtt::Prepared", "mqtt::prepare"),
    ("mqtt::SetupError", "mqtt::prepare"),
    ("reveal::Reveal", "reveal::reveal"),
    ("reveal::View", "reveal::Reveal"),
    ("web::WebConfig", "config::Config"),
];

/// hearthd's names are common words (`config`, `run`, `parse`, `record`), so the bare-word
/// check above would pass almost any of them. Every use from outside goes through a path,
/// though: a name counts as used when some user writes it after its module's name
/// (`hearthd::config`, `config::parse`, `ledger::{Row, Store}`, `hearthd::{cli, daemon}`).
/// The module's name, not its whole path: `config::X` counts for `hearthd::config`,
/// `cloud::config` and `web::config` alike. Users are `src/main.rs` and the Rust files of
/// `tests/` (with `tests/support/`), `examples/` and `benches/` that name `hearthd`; no crate
/// under `crates/` can, since hearthd depends on them.
#[test]
fn hearthd_exports_only_what_its_tests_and_binary_use() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("src/main.rs")];
    for dir in ["tests", "examples", "benches"] {
        rust_files(&root.join(dir), &mut files);
    }
    let this = Path::new("tests/public_surface.rs");
    let users: Vec<String> = files
        .iter()
        .filter(|p| !p.ends_with(this))
        .map(|p| fs::read_to_string(p).unwrap())
        .filter(|t| word_in(t, "hearthd"))
        .collect();
    assert!(users.len() >= 10, "found only {} users", users.len());

    let mut public = Vec::new();
    hearthd_public(
        &root.join("src/lib.rs"),
        &root.join("src"),
        "hearthd",
        &mut public,
    );
    let mut unused = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for (module, name) in &public {
        let qualified = format!("{module}::{name}");
        let used = users.iter().any(|t| names_after(t, module).contains(name));
        let allowed = HEARTHD_SIGNATURE_TYPES.iter().any(|(n, _)| *n == qualified);
        if used && allowed {
            unused.insert(format!(
                "{qualified}: stale HEARTHD_SIGNATURE_TYPES entry, it is named outside now"
            ));
        }
        if !used && !allowed {
            unused.insert(qualified.clone());
        }
        seen.insert(qualified);
    }
    for (n, carrier) in HEARTHD_SIGNATURE_TYPES {
        for name in [n, carrier] {
            if !seen.contains(*name) {
                unused.insert(format!("{name}: in HEARTHD_SIGNATURE_TYPES but not public"));
            }
        }
    }
    println!("hearthd's lib: {} public names checked", seen.len());
    assert!(
        unused.is_empty(),
        "public in hearthd's lib but named by no test, example or src/main.rs (make it \
         pub(crate) or private):\n  {}",
        unused.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

#[test]
fn the_hearthd_check_reads_paths() {
    let text = "use hearthd::{config::{self, ConfigError}, daemon};\nlet s = x_daemon::a;\n\
                hearthd::web::auth::MAX;\nweb::{data,\n  pages}";
    let names = |p| names_after(text, p).into_iter().collect::<Vec<_>>();
    assert_eq!(names("hearthd"), ["config", "daemon", "web"]);
    assert_eq!(names("config"), ["ConfigError", "self"]);
    assert_eq!(names("daemon"), Vec::<String>::new());
    assert_eq!(names("web"), ["auth", "data", "pages"]);
}
