//! The privacy guarantee as a property: random policies, random house states, requests and
//! commands, in all three formats. Every payload that leaves holds only fields the policy
//! allows for that kind of message, transformed exactly as the policy says, within windows,
//! consent and rate limits; every message and every changed field has a ledger record.
//!
//! Commands too: every kind of directive (allowed or not, replayed, with duplicate keys, for
//! a device that does not exist), answered by the house with success or with every refusal
//! the controllers produce, whose messages are full of house values and names. Every error
//! reply must be a fixed code with a fixed sentence, name a field's state only when that
//! field is shared, and carry no such value or name; a cloud whose consent ended gets nothing.
//!
//! The checks use an independent model of the policy (below), not the crate's internals.

mod common;

use common::commands::{self, Cmd, SENTINELS, gen_cmd, house_refusal, pin_config, reveals};
use common::{Clock, json};
use hearth_model::{
    DoorState, FanMode, Field, HouseState, HvacAction, LockState, LockStatus, Mode,
    ThermostatState, Value,
};
use hearth_policy::{
    BooleanConfig, BucketsConfig, CloudError, CommandErrorCode, CommandsConfig, DecisionKind,
    FieldRule, Format, Inbound, Now, Outbound, Policy, PolicyConfig, ShareKind,
};
use proptest::prelude::*;
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const DATES: [(&str, i64); 3] = [
    ("2026-11-25", 20782),
    ("2026-11-26", 20783),
    ("2026-11-27", 20784),
];

// ---------- generators ----------

#[derive(Debug, Clone)]
enum Form {
    Identity,
    Round(f64),
    Buckets(Vec<f64>, Vec<String>),
    Above(f64),
    OneOf(Vec<String>),
}

#[derive(Debug, Clone)]
struct Gen {
    share: ShareKind,
    min_interval: u64,
    min_delta: f64,
    every: u64,
    form: Form,
    window: Option<(u32, u32)>,
    until: Option<usize>,
}

fn words(field: Field) -> Vec<&'static str> {
    match field {
        Field::ThermostatMode => vec!["off", "heat", "cool", "auto", "fan_only"],
        Field::ThermostatAction => vec!["idle", "heating", "cooling", "fan"],
        Field::ThermostatFan => vec!["auto", "on"],
        Field::LockState => vec!["locked", "unlocked", "moving", "jammed", "unknown"],
        Field::LockDoor => vec!["open", "closed"],
        _ => vec![],
    }
}

fn carried(format: Format, f: Field) -> bool {
    match format {
        Format::Json => true,
        Format::Google => !matches!(f, Field::ThermostatFan | Field::LockDoor),
        Format::Alexa => matches!(
            f,
            Field::ThermostatTemperature
                | Field::ThermostatSetpointHeat
                | Field::ThermostatSetpointCool
                | Field::ThermostatMode
                | Field::LockState
        ),
    }
}

fn gen_rule(field: Field) -> impl Strategy<Value = Gen> {
    let share = prop_oneof![
        Just(ShareKind::Never),
        Just(ShareKind::OnRequest),
        Just(ShareKind::OnChange),
        Just(ShareKind::Periodic)
    ];
    let numeric = field.is_numeric();
    let ws = words(field);
    let form = if numeric {
        prop_oneof![
            Just(Form::Identity),
            prop_oneof![Just(0.1), Just(0.5), Just(1.0), Just(5.0)].prop_map(Form::Round),
            (10.0f64..30.0, 0.5f64..8.0).prop_map(|(a, gap)| Form::Buckets(
                vec![a, a + gap],
                vec!["lo".into(), "mid".into(), "hi".into()]
            )),
            (10.0f64..30.0).prop_map(Form::Above),
        ]
        .boxed()
    } else {
        prop_oneof![
            Just(Form::Identity),
            proptest::sample::subsequence(ws.clone(), 1..=ws.len())
                .prop_map(|w| Form::OneOf(w.into_iter().map(String::from).collect())),
        ]
        .boxed()
    };
    (
        share,
        prop_oneof![Just(0u64), 60u64..1200],
        prop_oneof![Just(0.0f64), 0.1f64..2.0],
        60u64..3600,
        form,
        proptest::option::of((0u32..24, 1u32..23)),
        proptest::option::of(0usize..3),
    )
        .prop_map(
            move |(share, min_interval, min_delta, every, form, window, until)| Gen {
                share,
                min_interval,
                min_delta,
                every,
                form,
                window: window.map(|(s, len)| (s * 60, ((s + len) % 24) * 60)),
                until,
            },
        )
}

/// Make a generated rule valid for the format (the property is about valid policies).
fn fit(format: Format, field: Field, mut g: Gen, alexa_group_proactive: bool) -> Gen {
    if !carried(format, field) {
        g.share = ShareKind::Never;
    }
    if format != Format::Json {
        let ok = match &g.form {
            Form::Identity | Form::Round(_) => true,
            Form::OneOf(w) => field == Field::LockState && w == &["locked"],
            _ => false,
        };
        if !ok {
            g.form = if field == Field::LockState && matches!(g.form, Form::OneOf(_)) {
                Form::OneOf(vec!["locked".into()])
            } else {
                Form::Identity
            };
        }
    }
    let group = [
        Field::ThermostatMode,
        Field::ThermostatSetpointHeat,
        Field::ThermostatSetpointCool,
    ];
    if format == Format::Alexa && group.contains(&field) && g.share != ShareKind::Never {
        let proactive = matches!(g.share, ShareKind::OnChange | ShareKind::Periodic);
        if proactive != alexa_group_proactive {
            g.share = if alexa_group_proactive {
                ShareKind::OnChange
            } else {
                ShareKind::OnRequest
            };
        }
    }
    if !(matches!(g.form, Form::Identity | Form::Round(_)) && field.is_numeric()) {
        g.min_delta = 0.0;
    }
    g
}

/// Which commands a generated policy allows: set_setpoint, set_mode, lock, unlock.
type Allow = [bool; 4];
const NAMES: [&str; 4] = ["set_setpoint", "set_mode", "lock", "unlock"];

fn to_config(
    rules: &BTreeMap<Field, Gen>,
    consent: Option<usize>,
    allow: Allow,
    format: Format,
) -> PolicyConfig {
    let mut cfg = PolicyConfig {
        consent_until: consent.map(|i| DATES[i].0.to_string()),
        ..Default::default()
    };
    for (f, g) in rules {
        let mut r = FieldRule {
            share: g.share,
            ..Default::default()
        };
        match g.share {
            ShareKind::OnChange => {
                r.min_interval = Some(Duration::from_secs(g.min_interval));
                r.min_delta = (g.min_delta > 0.0).then_some(g.min_delta);
            }
            ShareKind::Periodic => r.every = Some(Duration::from_secs(g.every)),
            _ => {}
        }
        match &g.form {
            Form::Identity => {}
            Form::Round(s) => r.round = Some(*s),
            Form::Buckets(b, n) => {
                r.buckets = Some(BucketsConfig {
                    bounds: b.clone(),
                    names: n.clone(),
                })
            }
            Form::Above(t) => {
                r.boolean = Some(BooleanConfig {
                    above: Some(*t),
                    true_when: None,
                })
            }
            Form::OneOf(w) => {
                r.boolean = Some(BooleanConfig {
                    above: None,
                    true_when: Some(w.clone()),
                })
            }
        }
        r.window = g
            .window
            .map(|(s, e)| format!("{:02}:00-{:02}:00", s / 60, e / 60));
        r.until = g.until.map(|i| DATES[i].0.to_string());
        cfg.fields.insert(f.name().to_string(), r);
    }
    cfg.commands = CommandsConfig {
        allow: NAMES
            .iter()
            .zip(allow)
            .filter(|(_, a)| *a)
            .map(|(n, _)| n.to_string())
            .collect(),
        unlock_pin: allow[3].then(|| pin_config(format)),
    };
    cfg
}

fn gen_state() -> impl Strategy<Value = HouseState> {
    let modes = prop_oneof![
        Just(Mode::Off),
        Just(Mode::Heat),
        Just(Mode::Cool),
        Just(Mode::Auto),
        Just(Mode::FanOnly)
    ];
    let actions = prop_oneof![
        Just(HvacAction::Idle),
        Just(HvacAction::Heating),
        Just(HvacAction::Cooling),
        Just(HvacAction::Fan)
    ];
    let locks = prop_oneof![
        Just(LockState::Locked),
        Just(LockState::Unlocked),
        Just(LockState::Moving),
        Just(LockState::Jammed),
        Just(LockState::Unknown)
    ];
    let temp = proptest::option::weighted(0.9, (100i32..300).prop_map(|t| f64::from(t) / 10.0));
    (
        temp,
        proptest::option::of((200i32..700).prop_map(|h| f64::from(h) / 10.0)),
        (160i32..240).prop_map(|t| f64::from(t) / 10.0),
        (220i32..300).prop_map(|t| f64::from(t) / 10.0),
        modes,
        actions,
        any::<bool>(),
        locks,
        proptest::option::of(any::<bool>()),
    )
        .prop_map(
            |(temperature, humidity, heat, cool, mode, action, fan_on, lock, door)| HouseState {
                thermostat: ThermostatState {
                    mode,
                    fan: if fan_on { FanMode::On } else { FanMode::Auto },
                    setpoint_heat: heat,
                    setpoint_cool: cool,
                    temperature,
                    humidity,
                    action,
                    faults: Vec::new(),
                },
                lock: LockStatus {
                    state: lock,
                    door: door.map(|open| {
                        if open {
                            DoorState::Open
                        } else {
                            DoorState::Closed
                        }
                    }),
                    faults: Vec::new(),
                    motion: None,
                },
            },
        )
}

#[derive(Debug, Clone)]
enum Step {
    State(u64, HouseState),
    Deadline,
    Request(u64, bool),
    /// After this many seconds, send this command (again with the previous id when
    /// `replay`); the house answers OK (`None`) or with `CommandErrorCode::ALL[i]`.
    Command {
        dt: u64,
        cmd: Cmd,
        replay: bool,
        outcome: Option<usize>,
    },
}

fn gen_steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        5 => (prop_oneof![0u64..120, 0u64..4000], gen_state()).prop_map(|(d, s)| Step::State(d, s)),
        2 => Just(Step::Deadline),
        2 => (0u64..2000, any::<bool>()).prop_map(|(d, lock)| Step::Request(d, lock)),
        3 => (
            0u64..600,
            gen_cmd(),
            proptest::bool::weighted(0.2),
            proptest::option::weighted(0.6, 0usize..CommandErrorCode::ALL.len()),
        )
            .prop_map(|(dt, cmd, replay, outcome)| Step::Command { dt, cmd, replay, outcome }),
    ];
    proptest::collection::vec(step, 1..50)
}

// ---------- the model ----------

fn model_transform(form: &Form, raw: &Value) -> Value {
    match (form, raw) {
        (Form::Round(s), Value::Number(n)) => Value::Number((n / s).round() * s),
        (Form::Buckets(b, names), Value::Number(n)) => {
            Value::Text(names[b.iter().filter(|x| *n >= **x).count()].clone())
        }
        (Form::Above(t), Value::Number(n)) => Value::Bool(n > t),
        (Form::OneOf(w), Value::Text(s)) => Value::Bool(w.contains(s)),
        (_, v) => v.clone(),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => (x - y).abs() < 1e-6,
        _ => a == b,
    }
}

fn open_now(g: &Gen, consent: Option<usize>, now: &Now) -> bool {
    let local = now.wall.0 + i64::from(now.utc_offset_minutes) * 60_000;
    let day = local.div_euclid(86_400_000);
    let minute = (local.div_euclid(60_000).rem_euclid(1440)) as u32;
    if consent.is_some_and(|i| day > DATES[i].1) || g.until.is_some_and(|i| day > DATES[i].1) {
        return false;
    }
    match g.window {
        None => true,
        Some((s, e)) if s < e => minute >= s && minute < e,
        Some((s, e)) => minute >= s || minute < e,
    }
}

/// Decode a payload back to (field, value) pairs; `lock_bool` says lock.state is a boolean.
fn decode(format: Format, bytes: &[u8], lock_bool: bool) -> Vec<(Field, Value)> {
    let v = json(bytes);
    let mut out = Vec::new();
    let n = |x: &J| Value::Number(x.as_f64().unwrap());
    let t = |s: &str| Value::Text(s.into());
    match format {
        Format::Json => {
            let obj = if v.get("ok").is_some() {
                v.get("state").cloned().unwrap_or(J::Null)
            } else {
                v.clone()
            };
            for (k, x) in obj.as_object().into_iter().flatten() {
                let f = Field::from_name(k).unwrap_or_else(|| panic!("unknown key {k}"));
                out.push((f, serde_json::from_value(x.clone()).unwrap()));
            }
        }
        Format::Alexa => {
            let mut props: Vec<J> = Vec::new();
            for p in [
                &v["context"]["properties"],
                &v["event"]["payload"]["change"]["properties"],
            ] {
                props.extend(p.as_array().cloned().unwrap_or_default());
            }
            let mut target = None;
            for p in props {
                let val = &p["value"];
                let f = match p["name"].as_str().unwrap() {
                    "temperature" => (Field::ThermostatTemperature, n(&val["value"])),
                    "lowerSetpoint" => (Field::ThermostatSetpointHeat, n(&val["value"])),
                    "upperSetpoint" => (Field::ThermostatSetpointCool, n(&val["value"])),
                    "targetSetpoint" => {
                        target = Some(val["value"].as_f64().unwrap());
                        continue;
                    }
                    "thermostatMode" => (
                        Field::ThermostatMode,
                        t(&val.as_str().unwrap().to_lowercase()),
                    ),
                    "lockState" => {
                        let w = val.as_str().unwrap().to_lowercase();
                        let v = if lock_bool {
                            Value::Bool(w == "locked")
                        } else {
                            t(&w)
                        };
                        (Field::LockState, v)
                    }
                    "connectivity" => continue,
                    other => panic!("unexpected alexa property {other}"),
                };
                out.push(f);
            }
            if let Some(tv) = target {
                // Derived only from values in the same message.
                let mode = out
                    .iter()
                    .find(|(f, _)| *f == Field::ThermostatMode)
                    .map(|(_, v)| v.clone());
                let want = match mode {
                    Some(Value::Text(m)) if m == "heat" => Field::ThermostatSetpointHeat,
                    Some(Value::Text(m)) if m == "cool" => Field::ThermostatSetpointCool,
                    other => panic!("targetSetpoint without heat/cool mode: {other:?}"),
                };
                let v = out
                    .iter()
                    .find(|(f, _)| *f == want)
                    .expect("target from a shared setpoint");
                assert!(same(&v.1, &Value::Number(tv)));
            }
        }
        Format::Google => {
            let p = &v["payload"];
            let mut maps: Vec<J> = Vec::new();
            if let Some(s) = p["devices"]["states"].as_object() {
                maps.extend(s.values().cloned());
            } else if let Some(d) = p["devices"].as_object() {
                maps.extend(d.values().cloned());
            }
            for c in p["commands"].as_array().into_iter().flatten() {
                maps.push(c["states"].clone());
            }
            for m in maps {
                let Some(m) = m.as_object() else { continue };
                let mut single = None;
                for (k, x) in m {
                    let f = match k.as_str() {
                        "thermostatTemperatureAmbient" => (Field::ThermostatTemperature, n(x)),
                        "thermostatHumidityAmbient" => (Field::ThermostatHumidity, n(x)),
                        "thermostatTemperatureSetpointLow" => (Field::ThermostatSetpointHeat, n(x)),
                        "thermostatTemperatureSetpointHigh" => {
                            (Field::ThermostatSetpointCool, n(x))
                        }
                        "thermostatTemperatureSetpoint" => {
                            single = x.as_f64();
                            continue;
                        }
                        "thermostatMode" => (
                            Field::ThermostatMode,
                            t(match x.as_str().unwrap() {
                                "heatcool" => "auto",
                                "fan-only" => "fan_only",
                                o => o,
                            }),
                        ),
                        "activeThermostatMode" => (
                            Field::ThermostatAction,
                            t(match x.as_str().unwrap() {
                                "none" => "idle",
                                "heat" => "heating",
                                "cool" => "cooling",
                                "fan-only" => "fan",
                                o => panic!("activeThermostatMode {o}"),
                            }),
                        ),
                        "isLocked" | "isJammed" => continue,
                        "online" | "status" => continue,
                        other => panic!("unexpected google state {other}"),
                    };
                    out.push(f);
                }
                let locked = m.get("isLocked").and_then(J::as_bool);
                let jammed = m.get("isJammed").and_then(J::as_bool);
                if lock_bool {
                    assert!(
                        jammed.is_none(),
                        "a boolean lock.state must not reveal jams"
                    );
                    if let Some(l) = locked {
                        out.push((Field::LockState, Value::Bool(l)));
                    }
                } else if jammed == Some(true) {
                    out.push((Field::LockState, t("jammed")));
                } else if let Some(l) = locked {
                    out.push((Field::LockState, t(if l { "locked" } else { "unlocked" })));
                }
                if let Some(sv) = single {
                    let mode = out
                        .iter()
                        .rev()
                        .find(|(f, _)| *f == Field::ThermostatMode)
                        .map(|(_, v)| v.clone());
                    let want = match mode {
                        Some(Value::Text(m)) if m == "heat" => Field::ThermostatSetpointHeat,
                        Some(Value::Text(m)) if m == "cool" => Field::ThermostatSetpointCool,
                        other => {
                            panic!("thermostatTemperatureSetpoint without heat/cool: {other:?}")
                        }
                    };
                    let v = out
                        .iter()
                        .find(|(f, _)| *f == want)
                        .expect("from a shared setpoint");
                    assert!(same(&v.1, &Value::Number(sv)));
                }
            }
        }
    }
    out
}

fn state_request(format: Format, to_lock: bool) -> Vec<u8> {
    match format {
        Format::Json => br#"{"id":"q","op":"state"}"#.to_vec(),
        Format::Alexa => format!(
            r#"{{"directive":{{"header":{{"namespace":"Alexa","name":"ReportState","payloadVersion":"3","messageId":"m1","correlationToken":"c1"}},"endpoint":{{"endpointId":"{}"}},"payload":{{}}}}}}"#,
            if to_lock { "hearth-lock" } else { "hearth-thermostat" }
        )
        .into_bytes(),
        Format::Google => br#"{"requestId":"q","inputs":[{"intent":"action.devices.QUERY","payload":{"devices":[{"id":"hearth-thermostat"},{"id":"hearth-lock"}]}}]}"#.to_vec(),
    }
}

struct Checker {
    format: Format,
    rules: BTreeMap<Field, Gen>,
    consent: Option<usize>,
    last_sent: BTreeMap<Field, (Value, Instant)>,
    last_raw: BTreeMap<Field, Option<Value>>,
}

const CLOUD: &str = "cloud-zq";

impl Checker {
    fn consent_over(&self, now: &Now) -> bool {
        let local = now.wall.0 + i64::from(now.utc_offset_minutes) * 60_000;
        self.consent
            .is_some_and(|i| local.div_euclid(86_400_000) > DATES[i].1)
    }

    /// Whether a value of `f` could be in an answer now.
    fn shared_now(&self, f: Field, now: &Now) -> bool {
        let g = self.rule(f);
        g.share != ShareKind::Never && carried(self.format, f) && open_now(&g, self.consent, now)
    }

    /// An error reply: a fixed sentence, no sentinel, a field-naming code only for shared
    /// fields, neutral when `reveals` has a field not shared now. Returns (code, sentence);
    /// ("ok", "") for a reply that is not an error.
    fn check_error(
        &self,
        o: &Outbound,
        now: &Now,
        reveals: &[Field],
    ) -> Result<(String, String), TestCaseError> {
        let text = String::from_utf8_lossy(o.bytes());
        for s in SENTINELS.iter().chain([&CLOUD]) {
            prop_assert!(!text.contains(s), "`{}` reached the cloud: {}", s, text);
        }
        let Some((code, sentence)) = commands::error_of(self.format, o.bytes()) else {
            return Ok(("ok".into(), String::new()));
        };
        prop_assert!(
            CloudError::ALL.iter().any(|e| e.message() == sentence),
            "not a fixed sentence: {}",
            sentence
        );
        for f in commands::fields_named_by(self.format, &code) {
            prop_assert!(
                self.shared_now(*f, now),
                "`{}` tells about {}, which is not shared: {}",
                code,
                f,
                text
            );
        }
        if reveals.iter().any(|f| !self.shared_now(*f, now)) {
            prop_assert_eq!(
                &code,
                commands::neutral(self.format),
                "not neutral: {}",
                text
            );
        }
        Ok((code, sentence))
    }

    fn rule(&self, f: Field) -> Gen {
        self.rules.get(&f).cloned().unwrap_or(Gen {
            share: ShareKind::Never,
            min_interval: 0,
            min_delta: 0.0,
            every: 0,
            form: Form::Identity,
            window: None,
            until: None,
        })
    }

    /// Check one call's messages and decisions; `proactive` for on_state.
    fn check(
        &mut self,
        out: &[Outbound],
        decisions: &[hearth_policy::Decision],
        state: &HouseState,
        now: &Now,
        proactive: bool,
    ) -> Result<(), TestCaseError> {
        let sent: Vec<_> = decisions
            .iter()
            .filter(|d| d.kind == DecisionKind::Sent)
            .collect();
        prop_assert_eq!(sent.len(), out.len(), "one Sent record per message");
        for (o, d) in out.iter().zip(&sent) {
            prop_assert_eq!(
                d.payload.as_deref(),
                Some(o.bytes()),
                "the record holds the exact bytes"
            );
        }
        let lock_bool = matches!(self.rule(Field::LockState).form, Form::OneOf(_));
        let mut seen = Vec::new();
        for o in out {
            for (field, value) in decode(self.format, o.bytes(), lock_bool) {
                let g = self.rule(field);
                prop_assert!(
                    g.share != ShareKind::Never,
                    "{} is never shared but was sent",
                    field
                );
                if proactive {
                    prop_assert!(
                        matches!(g.share, ShareKind::OnChange | ShareKind::Periodic),
                        "{} sent proactively with share {:?}",
                        field,
                        g.share
                    );
                }
                prop_assert!(
                    open_now(&g, self.consent, now),
                    "{} sent outside its window or consent",
                    field
                );
                let raw = field.value_in(state).expect("a sent field has a value");
                let want = model_transform(&g.form, &raw);
                prop_assert!(
                    same(&value, &want),
                    "{}: sent {:?}, policy says {:?} (raw {:?})",
                    field,
                    value,
                    want,
                    raw
                );
                prop_assert!(
                    decisions.iter().any(|d| d.field == Some(field)
                        && matches!(d.kind, DecisionKind::Included | DecisionKind::Transformed)),
                    "{} sent without an included/transformed record",
                    field
                );
                if proactive {
                    if let Some((last, at)) = self.last_sent.get(&field) {
                        let gap = now.mono.duration_since(*at);
                        match g.share {
                            ShareKind::OnChange => {
                                prop_assert!(
                                    gap >= Duration::from_secs(g.min_interval),
                                    "{} sent again after {:?} < min_interval",
                                    field,
                                    gap
                                );
                                prop_assert!(!same(last, &value), "{} resent unchanged", field);
                                if let (Value::Number(a), Value::Number(b)) = (last, &value) {
                                    prop_assert!(
                                        (a - b).abs() >= g.min_delta - 1e-9,
                                        "{} moved less than min_delta",
                                        field
                                    );
                                }
                            }
                            ShareKind::Periodic => {
                                prop_assert!(
                                    gap >= Duration::from_secs(g.every),
                                    "{} periodic after {:?}",
                                    field,
                                    gap
                                );
                            }
                            _ => {}
                        }
                    }
                    seen.push((field, value));
                }
            }
        }
        for (f, v) in seen {
            self.last_sent.insert(f, (v, now.mono));
        }
        if proactive {
            for f in Field::ALL {
                let raw = f.value_in(state);
                if self.last_raw.get(&f) != Some(&raw) {
                    prop_assert!(
                        decisions.iter().any(|d| d.field == Some(f)),
                        "changed field {} has no record",
                        f
                    );
                }
                self.last_raw.insert(f, raw);
            }
        }
        Ok(())
    }
}

fn gen_policy() -> impl Strategy<Value = (Format, BTreeMap<Field, Gen>, Option<usize>, Allow)> {
    let format = prop_oneof![
        Just(Format::Json),
        Just(Format::Alexa),
        Just(Format::Google)
    ];
    let rules: Vec<_> = Field::ALL.iter().map(|f| gen_rule(*f)).collect();
    (
        format,
        rules,
        proptest::option::weighted(0.3, 0usize..3),
        any::<bool>(),
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            proptest::bool::weighted(0.3),
        ),
    )
        .prop_map(|(format, rules, consent, group, (a, b, c, d))| {
            let rules = Field::ALL
                .into_iter()
                .zip(rules)
                .map(|(f, g)| (f, fit(format, f, g, group)))
                .collect();
            (format, rules, consent, [a, b, c, d])
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn nothing_leaves_but_what_the_policy_allows(
        (format, rules, consent, allow) in gen_policy(),
        offset in (-20i32..20).prop_map(|h| h * 30),
        first in gen_state(),
        steps in gen_steps(),
    ) {
        let cfg = to_config(&rules, consent, allow, format);
        let mut policy = Policy::new(CLOUD, format, &cfg).map_err(|e| TestCaseError::fail(format!("generated policy invalid: {e:?}")))?;
        let mut clock = Clock::at("2026-11-25T00:00:00Z");
        clock.offset_minutes = offset;
        let mut checker = Checker { format, rules, consent, last_sent: BTreeMap::new(), last_raw: BTreeMap::new() };
        let mut t = Duration::ZERO;
        let mut state = first;
        let mut last_id = String::new();
        let mut seen_ids = std::collections::HashSet::new();
        let now = clock.after_d(t);
        let (out, d) = policy.on_state(&state, now);
        checker.check(&out, &d, &state, &now, true)?;
        for step in steps {
            match step {
                Step::State(dt, s) => {
                    t += Duration::from_secs(dt);
                    state = s;
                    let now = clock.after_d(t);
                    let (out, d) = policy.on_state(&state, now);
                    checker.check(&out, &d, &state, &now, true)?;
                }
                Step::Deadline => {
                    let Some(deadline) = policy.next_deadline() else { continue };
                    let now0 = clock.after_d(t);
                    if deadline > now0.mono {
                        t += deadline - now0.mono;
                    }
                    let now = clock.after_d(t);
                    let (out, d) = policy.on_state(&state, now);
                    checker.check(&out, &d, &state, &now, true)?;
                }
                Step::Request(dt, to_lock) => {
                    t += Duration::from_secs(dt);
                    let now = clock.after_d(t);
                    let (o, d) = policy.answer_state_request(&state_request(format, to_lock), &state, now);
                    let out: Vec<Outbound> = o.into_iter().collect();
                    checker.check(&out, &d, &state, &now, false)?;
                }
                Step::Command { dt, cmd, replay, outcome } => {
                    t += Duration::from_secs(dt);
                    let now = clock.after_d(t);
                    if !replay || last_id.is_empty() {
                        last_id = format!("cmd-{t:?}-{}", last_id.len());
                    }
                    let raw = commands::directive(format, cmd, &last_id);
                    // A replay is refused as one once the directive reads as a command.
                    let was_seen = seen_ids.contains(&last_id)
                        && !matches!(cmd, Cmd::DuplicateKey | Cmd::UnknownDevice);
                    if !checker.consent_over(&now) && !matches!(cmd, Cmd::DuplicateKey | Cmd::UnknownDevice) {
                        seen_ids.insert(last_id.clone());
                    }
                    let (inbound, d) = policy.handle_inbound(&raw, &state, now);
                    if checker.consent_over(&now) {
                        prop_assert!(matches!(inbound, Inbound::Silent), "ended consent still answered");
                        prop_assert!(d.iter().all(|d| d.kind != DecisionKind::Sent && d.payload.is_none()));
                        prop_assert!(d.iter().any(|d| matches!(d.kind, DecisionKind::CommandRefused | DecisionKind::RequestRefused)));
                        continue;
                    }
                    match inbound {
                        Inbound::Silent => prop_assert!(false, "silent while consent holds"),
                        Inbound::Reply(o) => {
                            prop_assert!(d.iter().any(|d| matches!(d.kind, DecisionKind::CommandRefused | DecisionKind::RequestRefused)));
                            let (code, _) = checker.check_error(&o, &now, &[])?;
                            if was_seen {
                                let want = match format {
                                    Format::Json => "replayed",
                                    Format::Alexa => "INVALID_DIRECTIVE",
                                    Format::Google => "protocolError",
                                };
                                prop_assert_eq!(code, want, "a replay was not refused as one");
                            }
                            checker.check(std::slice::from_ref(&o), &d, &state, &now, false)?;
                        }
                        Inbound::Command { command, reply } => {
                            prop_assert!(!was_seen, "a replayed command was accepted");
                            prop_assert!(d.iter().any(|d| d.kind == DecisionKind::CommandAllowed), "recorded before it runs");
                            let name = NAMES.iter().position(|n| *n == reply.command_name().as_str()).unwrap();
                            prop_assert!(allow[name], "{} outside the allow-list was accepted", NAMES[name]);
                            prop_assert_eq!(command.source, hearth_model::Source::Cloud(CLOUD.into()));
                            let result = outcome.map(|i| house_refusal(CommandErrorCode::ALL[i], &state));
                            let (o, d) = policy.command_reply(reply, result.clone().map_or(Ok(()), Err), &state, now);
                            match &result {
                                None => prop_assert!(d.iter().any(|d| d.kind == DecisionKind::CommandAccepted)),
                                Some(e) => {
                                    prop_assert!(d.iter().any(|d| d.kind == DecisionKind::CommandRefused && d.detail.contains(&e.message)), "the real reason is in the ledger");
                                    // json has no delta: its "delta" directive is a target.
                                    let asked = match (format, cmd) {
                                        (Format::Json, Cmd::Delta(d)) => Cmd::Target(d),
                                        _ => cmd,
                                    };
                                    let reveals = reveals(e.code, asked);
                                    let (code, _) = checker.check_error(&o, &now, &reveals)?;
                                    if matches!(e.code, CommandErrorCode::StateUnknown | CommandErrorCode::Internal) {
                                        prop_assert_eq!(code, commands::neutral(format));
                                    }
                                }
                            }
                            checker.check(std::slice::from_ref(&o), &d, &state, &now, false)?;
                        }
                    }
                }
            }
        }
        // The capability never declares a `never` field (json lists them by name).
        if format == Format::Json {
            let (cap, _) = policy.capability(clock.after_d(t));
            for (k, _) in cap.iter().flat_map(|c| json(c.bytes())["fields"].as_object().cloned().unwrap()) {
                let f = Field::from_name(&k).unwrap();
                prop_assert!(checker.rule(f).share != ShareKind::Never, "{} declared", f);
            }
        }
    }
}
