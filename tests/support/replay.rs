//! A ledger for a recorded week: the house states in a history database, replayed in time
//! order through each cloud's real `Policy` (built from its `[[cloud]]` config) and written
//! with the ledger's own insert — what the forwarders would have recorded had each cloud been
//! connected all week. The paused-clock week cannot hold real broker connections (virtual
//! time outruns a network round trip), so the tests record the week without clouds and
//! replay it here; the live daemon then adds its own rows on top.

use hearth_model::{Field, HouseState, UnixMillis, Value};
use hearth_policy::Now;
use hearthd::cloud::CloudConfig;
use hearthd::ledger::{Row, Store};
use std::path::Path;
use std::time::{Duration, Instant};

fn enum_from<T: serde::de::DeserializeOwned>(v: &Value) -> Option<T> {
    match v {
        Value::Text(s) => serde_json::from_value(serde_json::Value::String(s.clone())).ok(),
        _ => None,
    }
}

fn apply(state: &mut HouseState, field: Field, v: &Value) {
    let num = match v {
        Value::Number(n) => Some(*n),
        _ => None,
    };
    let t = &mut state.thermostat;
    match field {
        Field::ThermostatTemperature => t.temperature = num.or(t.temperature),
        Field::ThermostatHumidity => t.humidity = num.or(t.humidity),
        Field::ThermostatSetpointHeat => t.setpoint_heat = num.unwrap_or(t.setpoint_heat),
        Field::ThermostatSetpointCool => t.setpoint_cool = num.unwrap_or(t.setpoint_cool),
        Field::ThermostatMode => t.mode = enum_from(v).unwrap_or(t.mode),
        Field::ThermostatAction => t.action = enum_from(v).unwrap_or(t.action),
        Field::ThermostatFan => t.fan = enum_from(v).unwrap_or(t.fan),
        Field::LockState => state.lock.state = enum_from(v).unwrap_or(state.lock.state),
        Field::LockDoor => state.lock.door = enum_from(v).or(state.lock.door),
    }
}

/// Replay `history` over `since..until` through every cloud's policy into `ledger`.
/// Returns the number of decisions recorded per cloud.
pub fn replay(
    history: &Path,
    ledger: &Path,
    clouds: &[CloudConfig],
    initial: HouseState,
    since: UnixMillis,
    until: UnixMillis,
) -> Vec<usize> {
    let store = hearth_history::Store::open_read_only(history).expect("the recorded history");
    let mut samples = Vec::new();
    for f in Field::ALL {
        samples.extend(store.range(f, since, until).expect("reading history"));
    }
    samples.sort_by_key(|s| s.at);
    let mut out = Store::open(ledger).expect("opening the ledger");
    let base = Instant::now();
    let now_at = |wall: UnixMillis| Now {
        wall,
        mono: base + Duration::from_millis((wall.0 - since.0).max(0) as u64),
        utc_offset_minutes: 0,
    };
    let mut counts = Vec::new();
    for (i, cfg) in clouds.iter().enumerate() {
        let mut policy = cfg.build_policy(i).expect("a valid policy");
        let mut n = 0;
        let mut record = |d: Vec<hearth_policy::Decision>| {
            n += d.len();
            let rows: Vec<hearthd::ledger::Stored> = d
                .into_iter()
                .map(|d| hearthd::ledger::Stored::single(Row::from(d)))
                .collect();
            out.insert(&rows).expect("writing the ledger");
        };
        let mut state = initial.clone();
        let (_, d) = policy.capability(now_at(since));
        record(d);
        for s in &samples {
            // Deadlines due before this sample fire first, as the forwarder's timer would.
            while let Some(due) = policy.next_deadline() {
                let wall =
                    UnixMillis(since.0 + due.saturating_duration_since(base).as_millis() as i64);
                if wall >= s.at {
                    break;
                }
                let (_, d) = policy.on_state(&state, now_at(wall));
                record(d);
                if policy.next_deadline() == Some(due) {
                    break;
                }
            }
            let before = state.clone();
            apply(&mut state, s.field, &s.value);
            if state != before {
                let (_, d) = policy.on_state(&state, now_at(s.at));
                record(d);
            }
        }
        counts.push(n);
    }
    counts
}
