//! Helpers shared by the policy's integration tests: house states, clocks and policies
//! from TOML. Test support only; nothing here may be used to build an `Outbound`.
#![allow(dead_code)]

pub mod commands;
pub mod replies;

use hearth_model::{
    DoorState, FanMode, HouseState, HvacAction, LockState, LockStatus, Mode, ThermostatState,
    UnixMillis,
};
use hearth_policy::{Format, Now, Policy, PolicyConfig};
use std::time::{Duration, Instant};

pub fn house(temp: f64, lock: LockState) -> HouseState {
    HouseState {
        thermostat: ThermostatState {
            mode: Mode::Heat,
            fan: FanMode::Auto,
            setpoint_heat: 20.0,
            setpoint_cool: 26.0,
            temperature: Some(temp),
            humidity: Some(41.0),
            action: HvacAction::Heating,
            faults: Vec::new(),
        },
        lock: LockStatus {
            state: lock,
            door: Some(DoorState::Closed),
            faults: Vec::new(),
            motion: None,
        },
    }
}

/// A test clock: wall time from an RFC 3339 string, monotonic time from a fixed base.
pub struct Clock {
    base_wall: UnixMillis,
    base_mono: Instant,
    pub offset_minutes: i32,
}

impl Clock {
    pub fn at(rfc3339: &str) -> Self {
        Self {
            base_wall: UnixMillis::parse_rfc3339(rfc3339).unwrap(),
            base_mono: Instant::now(),
            offset_minutes: 0,
        }
    }

    /// The moment `secs` seconds after the start.
    pub fn after(&self, secs: u64) -> Now {
        self.after_d(Duration::from_secs(secs))
    }

    pub fn after_d(&self, d: Duration) -> Now {
        Now {
            wall: self.base_wall.saturating_add(d),
            mono: self.base_mono + d,
            utc_offset_minutes: self.offset_minutes,
        }
    }

    pub fn mono(&self, secs: u64) -> Instant {
        self.base_mono + Duration::from_secs(secs)
    }
}

pub fn config(toml_text: &str) -> PolicyConfig {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("test policy does not parse: {e}"))
}

pub fn policy(format: Format, toml_text: &str) -> Policy {
    Policy::new("test-cloud", format, &config(toml_text))
        .unwrap_or_else(|issues| panic!("test policy is invalid: {issues:?}"))
}

pub fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("payloads are JSON")
}

/// Validate Alexa messages against Amazon's schema (HEARTH_ALEXA_SCHEMA) with Python's
/// jsonschema (draft-04); prints why and returns when either is missing.
pub fn validate_alexa(msgs: &[(String, Vec<u8>)]) {
    let Ok(schema) = std::env::var("HEARTH_ALEXA_SCHEMA") else {
        eprintln!(
            "SKIPPED: set HEARTH_ALEXA_SCHEMA to alexa_smart_home_message_schema.json to validate Alexa messages"
        );
        return;
    };
    let has_jsonschema = std::process::Command::new("python3")
        .args(["-c", "import jsonschema"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !has_jsonschema {
        eprintln!("SKIPPED: python3 with the jsonschema module is needed (pip install jsonschema)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, bytes) in msgs {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, bytes).unwrap();
        files.push(path.display().to_string());
    }
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
validator = jsonschema.Draft4Validator(schema)
bad = 0
for path in sys.argv[2:]:
    errors = list(validator.iter_errors(json.load(open(path))))
    if errors:
        bad += 1
        best = jsonschema.exceptions.best_match(errors)
        print("INVALID", path, best.message[:400], list(best.absolute_path))
    else:
        print("valid", path)
sys.exit(1 if bad else 0)
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .args(&files)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("{report}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "some Alexa messages do not validate:\n{report}"
    );
    assert_eq!(report.matches("valid ").count(), msgs.len());
}
