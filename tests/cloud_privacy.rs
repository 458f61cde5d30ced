//! End-to-end privacy at the edges: the real daemon on the simulator, a second Mosquitto as
//! the cloud and the cloud's own subscriber on `#`. Shows that refusals with the door open,
//! the mode off and an out-of-range delta reveal nothing (exact bytes); that a replayed and a
//! retained unlock do nothing; that duplicate keys are refused; that the PIN lockout holds
//! after a reload and a restart; that an expired-consent cloud receives nothing and its lock
//! does not move the bolt; that a polling cloud is cut off at its budget; and that the ledger
//! holds exactly the bytes the cloud got, message for message. Every wait has a timeout.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::cloud::{Broker, Cloud, Daemon, count_rows, wait_until};

/// The deadline of one wait, stretched under emulation.
fn t() -> Duration {
    support::scaled(Duration::from_secs(10))
}

fn cloud_toml(name: &str, format: &str, port: u16, prefix: &str, policy: &str) -> String {
    format!(
        "[[cloud]]\nname = \"{name}\"\nformat = \"{format}\"\nhost = \"127.0.0.1\"\nport = {port}\n\
         client_id = \"hearth-{name}\"\ntopic_prefix = \"{prefix}\"\nkeep_alive = \"5s\"\n{policy}\n"
    )
}

/// Everything the cloud got until the first message on `<prefix>/response`, which is
/// returned; all of it is appended to `log`.
fn next_response(cloud: &Cloud, log: &mut Vec<(String, Vec<u8>)>) -> Vec<u8> {
    let topic = format!("{}/response", cloud.prefix);
    let end = std::time::Instant::now() + t();
    while std::time::Instant::now() < end {
        for m in cloud.collect_for(Duration::from_millis(100)) {
            log.push(m.clone());
            if m.0 == topic {
                return m.1;
            }
        }
    }
    panic!("no response within {:?}; got {log:?}", t());
}

/// The ledger's `sent` payloads for `cloud`, in the order they were written.
fn sent_rows(ledger: &std::path::Path, cloud: &str) -> Vec<Vec<u8>> {
    let conn = support::cloud::ledger_conn(ledger).unwrap();
    let mut q = conn
        .prepare("SELECT payload FROM ledger WHERE kind = 'sent' AND cloud = ?1 ORDER BY id")
        .unwrap();
    q.query_map([cloud], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn alexa(ns: &str, name: &str, endpoint: &str, id: &str, payload: &str) -> String {
    format!(
        r#"{{"directive":{{"header":{{"namespace":"{ns}","name":"{name}","payloadVersion":"3","messageId":"{id}","correlationToken":"ct-{id}"}},"endpoint":{{"endpointId":"{endpoint}"}},"payload":{payload}}}}}"#
    )
}

/// The neutral refusal exactly as Alexa gets it.
fn neutral_alexa(got: &[u8], endpoint: &str, id: &str) {
    let v: Value = serde_json::from_slice(got).unwrap();
    let mid = v["event"]["header"]["messageId"].as_str().unwrap();
    let want = format!(
        r#"{{"event":{{"endpoint":{{"endpointId":"{endpoint}"}},"header":{{"correlationToken":"ct-{id}","messageId":"{mid}","name":"ErrorResponse","namespace":"Alexa","payloadVersion":"3"}},"payload":{{"message":"hearth did not carry out this request.","type":"INTERNAL_ERROR"}}}}}}"#
    );
    assert_eq!(String::from_utf8_lossy(got), want);
}

#[test]
fn refusals_reveal_nothing_and_the_ledger_holds_every_byte_sent() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), "");
    let prefix = "cloudtest/alexa";
    let cloud = Cloud::connect_to(broker.port, prefix);
    // Door, mode and setpoints are `never`; the cloud may lock and change the thermostat.
    let policy = "[cloud.policy.commands]\nallow = [\"lock\", \"set_setpoint\", \"set_mode\"]\n\
                  [thermostat]\nmode = \"heat\"\n";
    let daemon = Daemon::start(
        dir.path(),
        &cloud_toml("alexa", "alexa", broker.port, prefix, policy),
        "initial_lock = \"unlocked\"\ninitial_door = \"open\"\n",
    );
    let mut log = Vec::new();
    wait_until("the capability description", t() * 2, || {
        log.extend(cloud.collect_for(Duration::from_millis(100)));
        log.iter().any(|(t, _)| t.ends_with("/discovery"))
    });

    // Lock with the door open: the controller refuses; the cloud learns nothing about why.
    let lock = alexa("Alexa.LockController", "Lock", "hearth-lock", "m1", "{}");
    cloud.directive(&lock);
    neutral_alexa(&next_response(&cloud, &mut log), "hearth-lock", "m1");

    // A delta that takes the hidden setpoint out of range.
    let delta = alexa(
        "Alexa.ThermostatController",
        "AdjustTargetTemperature",
        "hearth-thermostat",
        "m2",
        r#"{"targetSetpointDelta":{"value":40.0,"scale":"CELSIUS"}}"#,
    );
    cloud.directive(&delta);
    neutral_alexa(&next_response(&cloud, &mut log), "hearth-thermostat", "m2");

    // Mode off (allowed), then a single target, which off mode cannot take.
    let off = alexa(
        "Alexa.ThermostatController",
        "SetThermostatMode",
        "hearth-thermostat",
        "m3",
        r#"{"thermostatMode":{"value":"OFF"}}"#,
    );
    cloud.directive(&off);
    let done: Value = serde_json::from_slice(&next_response(&cloud, &mut log)).unwrap();
    assert_eq!(done["event"]["header"]["name"], "Response", "{done}");
    let target = alexa(
        "Alexa.ThermostatController",
        "SetTargetTemperature",
        "hearth-thermostat",
        "m4",
        r#"{"targetSetpoint":{"value":21.0,"scale":"CELSIUS"}}"#,
    );
    cloud.directive(&target);
    neutral_alexa(&next_response(&cloud, &mut log), "hearth-thermostat", "m4");

    let ledger = daemon.stop();
    log.extend(cloud.collect_for(Duration::from_millis(500)));
    // The real reasons are in the ledger, and only there.
    for (what, like) in [
        ("door open", "lock:%door_open%"),
        ("out-of-range delta", "set_setpoint:%setpoint_out_of_range%"),
        ("mode off", "set_setpoint:%mode off%"),
    ] {
        assert_eq!(
            count_rows(
                &ledger,
                &format!("kind = 'command_refused' AND detail LIKE '{like}'")
            ),
            1,
            "the {what} refusal and its real reason"
        );
    }
    assert_eq!(count_rows(&ledger, "kind = 'command_accepted'"), 1);
    assert_eq!(count_rows(&ledger, "kind = 'not_sent'"), 0);
    // Message for message, the ledger holds the exact bytes the cloud received.
    let got: Vec<Vec<u8>> = log.into_iter().map(|(_, b)| b).collect();
    let rows = sent_rows(&ledger, "alexa");
    assert_eq!(rows.len(), got.len(), "one sent row per message received");
    for (i, (row, bytes)) in rows.iter().zip(&got).enumerate() {
        assert_eq!(
            String::from_utf8_lossy(row),
            String::from_utf8_lossy(bytes),
            "message {i}"
        );
    }
}

fn json_reply(cloud: &Cloud, body: &str) -> Value {
    cloud.directive(body);
    serde_json::from_slice(&next_response(cloud, &mut Vec::new())).unwrap()
}

fn lock_state(cloud: &Cloud, id: &str) -> String {
    let v = json_reply(cloud, &format!(r#"{{"id":"{id}","op":"state"}}"#));
    v["state"]["lock.state"].as_str().unwrap_or("?").to_owned()
}

fn wait_lock(cloud: &Cloud, want: &str) {
    let mut n = 0;
    wait_until(&format!("the bolt {want}"), t(), || {
        n += 1;
        std::thread::sleep(Duration::from_millis(300));
        lock_state(cloud, &format!("w-{want}-{n}")) == want
    });
}

#[test]
fn replays_retained_directives_duplicate_keys_and_pin_guessing_get_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), "");
    let prefix = "cloudtest/json";
    let cloud = Cloud::connect_to(broker.port, prefix);
    let pin = hearth_policy::pin::PinHash::derive("1234", "salty-salt", 10_000).to_toml();
    let policy = format!(
        "[cloud.policy.fields.\"lock.state\"]\nshare = \"on_request\"\n\
         [cloud.policy.commands]\nallow = [\"lock\", \"unlock\"]\n{pin}\n"
    );
    let toml = cloud_toml("home", "json", broker.port, prefix, &policy);
    let sim = "lock_travel_time = \"200ms\"\n";
    // A retained unlock with the right PIN waits on the broker before hearth connects.
    cloud.publish_directive(br#"{"id":"ret-1","op":"unlock","pin":"1234"}"#, true);
    let daemon = Daemon::start(dir.path(), &toml, sim);
    wait_until("the retained directive to be ignored", t() * 2, || {
        daemon.ledger_rows("kind = 'directive_ignored'") == 1
    });
    assert_eq!(lock_state(&cloud, "s0"), "locked", "a retained unlock ran");

    let unlock = r#"{"id":"u1","op":"unlock","pin":"1234"}"#;
    assert_eq!(json_reply(&cloud, unlock)["ok"], true);
    wait_lock(&cloud, "unlocked");
    assert_eq!(json_reply(&cloud, r#"{"id":"l1","op":"lock"}"#)["ok"], true);
    wait_lock(&cloud, "locked");

    // The byte-identical unlock again: refused as a replay, the bolt stays.
    let again = json_reply(&cloud, unlock);
    assert_eq!(again["error"]["code"], "replayed", "{again}");
    // Duplicate keys are refused, not read as the last one.
    let dup = json_reply(
        &cloud,
        r#"{"id":"d1","op":"lock","op":"unlock","pin":"1234"}"#,
    );
    assert_eq!(dup["error"]["code"], "malformed", "{dup}");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(lock_state(&cloud, "s1"), "locked");

    // Guessing: locked out after 5 wrong PINs ...
    let mut last = Value::Null;
    for i in 0..5 {
        last = json_reply(
            &cloud,
            &format!(r#"{{"id":"g{i}","op":"unlock","pin":"000{i}"}}"#),
        );
    }
    assert_eq!(last["error"]["code"], "pin_locked_out", "{last}");
    // ... and still after a reload ...
    daemon.signal("-HUP");
    wait_until("the reload", t(), || {
        daemon.ledger_rows("kind = 'policy_reloaded'") == 1
    });
    let after = json_reply(&cloud, r#"{"id":"u2","op":"unlock","pin":"1234"}"#);
    assert_eq!(after["error"]["code"], "pin_locked_out", "{after}");
    let ledger = daemon.stop();
    assert_eq!(
        count_rows(
            &ledger,
            "kind = 'command_refused' AND detail LIKE '%replay%'"
        ),
        1
    );

    // ... and after a restart; the replay memory survives it too, and the retained
    // directive is ignored again on the new connection.
    let daemon = Daemon::start(dir.path(), &toml, sim);
    wait_until(
        "the retained directive to be ignored again",
        t() * 2,
        || daemon.ledger_rows("kind = 'directive_ignored'") == 2,
    );
    let after = json_reply(&cloud, r#"{"id":"u3","op":"unlock","pin":"1234"}"#);
    assert_eq!(after["error"]["code"], "pin_locked_out", "{after}");
    let replay = json_reply(&cloud, r#"{"id":"l1","op":"lock"}"#);
    assert_eq!(replay["error"]["code"], "replayed", "{replay}");
    assert_eq!(lock_state(&cloud, "s2"), "locked");
    daemon.stop();
}

#[test]
fn an_expired_cloud_gets_nothing_and_a_polling_cloud_meets_its_budget() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), "");
    let gone = Cloud::connect_to(broker.port, "cloudtest/gone");
    let home = Cloud::connect_to(broker.port, "cloudtest/home");
    let clouds = format!(
        "{}{}",
        cloud_toml(
            "gone",
            "json",
            broker.port,
            "cloudtest/gone",
            "[cloud.policy]\nconsent_until = \"2020-01-01\"\n\
             [cloud.policy.fields.\"lock.state\"]\nshare = \"on_change\"\n\
             [cloud.policy.commands]\nallow = [\"lock\"]\n"
        ),
        cloud_toml(
            "home",
            "json",
            broker.port,
            "cloudtest/home",
            "[cloud.policy]\nmax_requests_per_hour = 3\n\
             [cloud.policy.fields.\"lock.state\"]\nshare = \"on_request\"\n"
        ),
    );
    let daemon = Daemon::start(
        dir.path(),
        &clouds,
        "initial_lock = \"unlocked\"\nlock_travel_time = \"200ms\"\n",
    );
    wait_until("both clouds connected", t() * 2, || {
        daemon.ledger_rows("cloud = 'gone'") > 0 && daemon.ledger_rows("cloud = 'home'") > 0
    });
    gone.directive(r#"{"id":"x1","op":"lock"}"#);
    wait_until("the expired cloud's lock to be refused", t(), || {
        daemon.ledger_rows(
            "cloud = 'gone' AND kind = 'command_refused' AND detail LIKE '%consent_until%'",
        ) == 1
    });
    std::thread::sleep(Duration::from_millis(500));

    // The polling cloud: three answers, then the neutral refusal.
    let mut answers = Vec::new();
    for i in 0..5 {
        home.directive(&format!(r#"{{"id":"p{i}","op":"state"}}"#));
        answers.push(next_response(&home, &mut Vec::new()));
    }
    for a in &answers[..3] {
        let v: Value = serde_json::from_slice(a).unwrap();
        assert_eq!(v["state"]["lock.state"], "unlocked", "the bolt moved: {v}");
    }
    for (i, a) in answers[3..].iter().enumerate() {
        let want = format!(
            r#"{{"error":{{"code":"refused","message":"hearth did not carry out this request."}},"id":"p{}","ok":false}}"#,
            i + 3
        );
        assert_eq!(String::from_utf8_lossy(a), want);
    }
    let ledger = daemon.stop();
    let heard: Vec<_> = gone
        .collect_for(Duration::from_millis(300))
        .into_iter()
        .filter(|(t, _)| t.starts_with("cloudtest/gone/") && !t.ends_with("/directive"))
        .collect();
    assert!(heard.is_empty(), "the expired cloud got {heard:?}");
    assert_eq!(count_rows(&ledger, "cloud = 'gone' AND kind = 'sent'"), 0);
    assert!(
        count_rows(
            &ledger,
            "cloud = 'gone' AND kind = 'withheld' AND detail LIKE 'capability description not sent%'"
        ) >= 1
    );
    assert_eq!(
        count_rows(
            &ledger,
            "cloud = 'home' AND kind = 'request_refused' AND detail LIKE '%max_requests_per_hour = 3%'"
        ),
        2
    );
}
