//! `hearthd history` and `hearthd events` against a database written through the history
//! crate: the values come back in the chosen format, and bad arguments say what is wrong.

mod support;

use hearth_history::{Event, Sample, Store};
use hearth_model::{Command, CommandKind, Field, LockAction, Source, UnixMillis, Value};
use support::daemon::hearthd_command;

#[test]
fn history_and_events_print_what_was_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "[hardware]\nbackend = \"simulator\"\n[history]\npath = \"{}\"\n",
            db.display()
        ),
    )
    .unwrap();

    let now = UnixMillis::now();
    let t1 = UnixMillis(now.0 - 20 * 60_000);
    let t2 = UnixMillis(now.0 - 10 * 60_000);
    let mut store = Store::open(&db).unwrap();
    let samples = [
        Sample {
            at: t1,
            field: Field::ThermostatTemperature,
            value: Value::Number(19.5),
        },
        Sample {
            at: t2,
            field: Field::ThermostatTemperature,
            value: Value::Number(20.25),
        },
    ];
    let command = Command {
        source: Source::Local("alice".into()),
        kind: CommandKind::Lock(LockAction::Lock),
    };
    store
        .insert(&samples, &[Event::command(t2, &command, Ok(()))])
        .unwrap();
    drop(store);

    let out = hearthd_command()
        .args([
            "history",
            "thermostat.temperature",
            "--since",
            "1h",
            "--format",
            "csv",
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "header + two rows:\n{csv}");
    assert!(
        lines[1].contains("19.5") && lines[2].contains("20.25"),
        "{csv}"
    );
    assert!(lines[1].contains(&t1.to_rfc3339()), "{csv}");

    let out = hearthd_command()
        .args(["events", "--since", "1h", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("local:alice") || table.contains("alice"),
        "{table}"
    );

    let out = hearthd_command()
        .args([
            "history",
            "thermostat.temperature",
            "--since",
            "last tuesday",
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--since"),
        "the error names the argument"
    );

    let out = hearthd_command()
        .args(["history", "thermostat.colour", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("thermostat.colour"));
}
