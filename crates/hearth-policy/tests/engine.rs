//! The decision engine's behaviour: what leaves, when, in what form, and what is recorded.

mod common;

use common::{Clock, house, json, policy};
use hearth_model::{CommandKind, LockAction, LockState, Mode, Source};
use hearth_policy::{
    CommandError, CommandErrorCode, DecisionKind, Format, Inbound, TOPIC_RESPONSE, TOPIC_STATE,
};

const TEMP_ON_CHANGE: &str = r#"[fields."thermostat.temperature"]
share = "on_change"
min_interval = "5m"
min_delta = 0.5
round = 0.5"#;

#[test]
fn nothing_leaves_by_default_and_every_change_is_recorded_as_withheld() {
    let mut p = policy(Format::Json, "");
    let clock = Clock::at("2026-11-25T12:00:00Z");
    let (out, decisions) = p.on_state(&house(21.3, LockState::Locked), clock.after(0));
    assert!(out.is_empty());
    // All 9 fields are known on the first state, so each gets a `never` record.
    assert_eq!(decisions.len(), 9);
    assert!(
        decisions
            .iter()
            .all(|d| d.kind == DecisionKind::Withheld && d.detail == "share = never")
    );
    // Unchanged fields are not considered again.
    let (out, decisions) = p.on_state(&house(21.4, LockState::Locked), clock.after(1));
    assert!(out.is_empty());
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(
        decisions[0].field,
        Some(hearth_model::Field::ThermostatTemperature)
    );
}

#[test]
fn on_change_respects_rounding_min_delta_and_min_interval() {
    let mut p = policy(Format::Json, TEMP_ON_CHANGE);
    let clock = Clock::at("2026-11-25T12:00:00Z");
    let (out, d) = p.on_state(&house(21.3, LockState::Locked), clock.after(0));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].topic_suffix(), TOPIC_STATE);
    assert_eq!(
        json(out[0].bytes()),
        serde_json::json!({"thermostat.temperature": 21.5})
    );
    let t = d
        .iter()
        .find(|d| d.kind == DecisionKind::Transformed)
        .unwrap();
    assert!(
        t.detail
            .starts_with("21.3 -> 21.5, rounded to the nearest 0.5"),
        "{}",
        t.detail
    );
    let sent = d.iter().find(|d| d.kind == DecisionKind::Sent).unwrap();
    assert_eq!(sent.payload.as_deref(), Some(out[0].bytes()));

    // 21.6 rounds to 21.5: same as sent.
    let (out, d) = p.on_state(&house(21.6, LockState::Locked), clock.after(400));
    assert!(out.is_empty());
    assert!(
        d.iter().any(|d| d.detail.contains("same as last sent")),
        "{d:?}"
    );
    // 22.3 rounds to 22.5 and 5 minutes have passed: sent.
    let (out, _) = p.on_state(&house(22.3, LockState::Locked), clock.after(401));
    assert_eq!(
        json(out[0].bytes()),
        serde_json::json!({"thermostat.temperature": 22.5})
    );
    // 23.0 one minute later: held by min_interval, with a deadline.
    let (out, d) = p.on_state(&house(23.0, LockState::Locked), clock.after(461));
    assert!(out.is_empty());
    assert!(
        d.iter().any(|d| d.detail.contains("min_interval 5m")),
        "{d:?}"
    );
    assert_eq!(p.next_deadline(), Some(clock.mono(401 + 300)));
    // At the deadline the value then current is sent, not the one that was held.
    let (out, _) = p.on_state(&house(23.6, LockState::Locked), clock.after(701));
    assert_eq!(
        json(out[0].bytes()),
        serde_json::json!({"thermostat.temperature": 23.5})
    );
    assert_eq!(p.next_deadline(), None);
}

#[test]
fn min_delta_compares_with_the_last_sent_value() {
    let mut p = policy(
        Format::Json,
        r#"[fields."thermostat.setpoint_heat"]
share = "on_change"
min_delta = 1.0"#,
    );
    let clock = Clock::at("2026-11-25T12:00:00Z");
    let mut s = house(20.0, LockState::Locked);
    assert_eq!(p.on_state(&s, clock.after(0)).0.len(), 1);
    s.thermostat.setpoint_heat = 20.5;
    let (out, d) = p.on_state(&s, clock.after(1));
    assert!(out.is_empty());
    assert!(
        d.iter().any(|d| d.detail.contains("less than min_delta 1")),
        "{d:?}"
    );
    s.thermostat.setpoint_heat = 21.0;
    assert_eq!(
        json(p.on_state(&s, clock.after(2)).0[0].bytes())["thermostat.setpoint_heat"],
        21.0
    );
}

#[test]
fn periodic_sends_on_schedule_even_without_change() {
    let mut p = policy(
        Format::Json,
        r#"[fields."lock.state"]
share = "periodic"
every = "15m""#,
    );
    let clock = Clock::at("2026-11-25T12:00:00Z");
    let s = house(20.0, LockState::Locked);
    assert_eq!(p.on_state(&s, clock.after(0)).0.len(), 1);
    assert_eq!(p.next_deadline(), Some(clock.mono(900)));
    assert!(p.on_state(&s, clock.after(899)).0.is_empty());
    let (out, _) = p.on_state(&s, clock.after(900));
    assert_eq!(
        json(out[0].bytes()),
        serde_json::json!({"lock.state": "locked"})
    );
    assert_eq!(p.next_deadline(), Some(clock.mono(1800)));
}

#[test]
fn windows_use_local_time_and_consent_expires() {
    let cfg = r#"consent_until = "2026-11-26"
[fields."thermostat.temperature"]
share = "on_change"
window = "07:00-22:00""#;
    let mut p = policy(Format::Json, cfg);
    // 21:30 UTC is 22:30 in UTC+1: outside the window.
    let mut clock = Clock::at("2026-11-25T21:30:00Z");
    clock.offset_minutes = 60;
    let (out, d) = p.on_state(&house(20.0, LockState::Locked), clock.after(0));
    assert!(out.is_empty());
    assert!(
        d.iter()
            .any(|d| d.detail == "outside window 07:00-22:00 (local time 22:30)"),
        "{d:?}"
    );
    // Next morning 07:00 local (06:00 UTC): inside.
    let (out, _) = p.on_state(
        &house(20.5, LockState::Locked),
        clock.after(8 * 3600 + 30 * 60),
    );
    assert_eq!(out.len(), 1);
    // Two days later consent is over, for reports and for answers alike.
    let later = clock.after(2 * 86_400);
    let (out, d) = p.on_state(&house(25.0, LockState::Locked), later);
    assert!(out.is_empty());
    assert!(
        d.iter()
            .any(|d| d.detail.contains("consent_until 2026-11-26 has passed")),
        "{d:?}"
    );
    let (answer, _) = p.answer_state_request(
        br#"{"id":"q","op":"state"}"#,
        &house(25.0, LockState::Locked),
        later,
    );
    assert!(answer.is_none(), "ended consent: no answer at all");
    let (cap, d) = p.capability(later);
    assert!(cap.is_none(), "ended consent: no capability description");
    assert!(d[0].detail.contains("consent_until"), "{d:?}");
}

#[test]
fn a_state_request_opens_on_request_fields_for_that_answer_only() {
    let mut p = policy(
        Format::Json,
        r#"[fields."thermostat.mode"]
share = "on_request"
[fields."lock.state"]
share = "on_request"
boolean = { true_when = ["locked"] }"#,
    );
    let clock = Clock::at("2026-11-25T12:00:00Z");
    let s = house(20.0, LockState::Jammed);
    assert!(p.on_state(&s, clock.after(0)).0.is_empty());
    let (answer, d) = p.answer_state_request(br#"{"id":"7","op":"state"}"#, &s, clock.after(1));
    let answer = answer.unwrap();
    assert_eq!(answer.topic_suffix(), TOPIC_RESPONSE);
    assert_eq!(
        json(answer.bytes()),
        serde_json::json!({"id":"7","ok":true,"state":{"thermostat.mode":"heat","lock.state":false}})
    );
    // Every field of the requested devices has a record; the message has one too.
    assert_eq!(d.iter().filter(|d| d.field.is_some()).count(), 9);
    assert_eq!(d.iter().filter(|d| d.kind == DecisionKind::Sent).count(), 1);
    assert!(
        p.on_state(&house(20.0, LockState::Locked), clock.after(2))
            .0
            .is_empty()
    );
}

#[test]
fn commands_outside_the_allow_list_are_refused_with_a_record() {
    let mut p = policy(
        Format::Json,
        r#"[commands]
allow = ["lock"]"#,
    );
    let clock = Clock::at("2026-11-25T12:00:00Z");
    let s = house(20.0, LockState::Unlocked);
    let (inbound, d) = p.handle_inbound(
        br#"{"id":"1","op":"set_mode","mode":"cool"}"#,
        &s,
        clock.after(0),
    );
    let Inbound::Reply(reply) = inbound else {
        panic!("expected a refusal")
    };
    let v = json(reply.bytes());
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["code"], "not_allowed");
    assert!(
        d.iter()
            .any(|d| d.kind == DecisionKind::CommandRefused && d.detail.contains("set_mode"))
    );

    let (inbound, d) = p.handle_inbound(br#"{"id":"2","op":"lock"}"#, &s, clock.after(1));
    let Inbound::Command { command, reply } = inbound else {
        panic!("expected a command")
    };
    assert_eq!(command.source, Source::Cloud("test-cloud".into()));
    assert_eq!(command.kind, CommandKind::Lock(LockAction::Lock));
    assert_eq!(
        d.len(),
        1,
        "the command_allowed row, written before it runs"
    );
    assert_eq!(d[0].kind, DecisionKind::CommandAllowed);
    // The reply's snapshot passes the policy: lock.state is `never`, so it is absent.
    let (out, d) = p.command_reply(
        reply,
        Ok(()),
        &house(20.0, LockState::Locked),
        clock.after(2),
    );
    assert_eq!(
        json(out.bytes()),
        serde_json::json!({"id":"2","ok":true,"state":{}})
    );
    assert!(d.iter().any(|d| d.kind == DecisionKind::CommandAccepted));
}

#[test]
fn a_failed_command_gets_the_formats_error() {
    let mut p = policy(
        Format::Json,
        r#"[commands]
allow = ["set_setpoint"]"#,
    );
    let clock = Clock::at("2026-11-25T12:00:00Z");
    let s = house(20.0, LockState::Locked);
    let (inbound, _) = p.handle_inbound(
        br#"{"id":"3","op":"set_setpoint","setpoint":40}"#,
        &s,
        clock.after(0),
    );
    let Inbound::Command { command, reply } = inbound else {
        panic!("expected a command")
    };
    // The house is in heat mode, so a single setpoint is the heat setpoint.
    let CommandKind::Thermostat(change) = &command.kind else {
        panic!()
    };
    assert_eq!(change.setpoint_heat, Some(40.0));
    let err = CommandError::new(
        CommandErrorCode::SetpointOutOfRange,
        "heat setpoint 40 is above 30",
    );
    let (out, d) = p.command_reply(reply, Err(err), &s, clock.after(1));
    let v = json(out.bytes());
    // Which setpoint a single target goes to depends on the mode, which this cloud is not
    // given: even `out_of_range` would say something about it, so the refusal is neutral.
    assert_eq!(v["error"]["code"], "refused");
    assert!(
        d.iter().any(|d| d.kind == DecisionKind::CommandRefused
            && d.detail.contains("heat setpoint 40 is above 30")
            && d.detail.contains("would reveal thermostat.mode")),
        "{d:?}"
    );
    assert_eq!(d.last().unwrap().payload.as_deref(), Some(out.bytes()));
    // Off mode: a single setpoint makes no sense and is refused before reaching the house.
    let mut off = s.clone();
    off.thermostat.mode = Mode::Off;
    let (inbound, _) = p.handle_inbound(
        br#"{"id":"4","op":"set_setpoint","setpoint":21}"#,
        &off,
        clock.after(2),
    );
    assert!(matches!(inbound, Inbound::Reply(_)));
}

#[test]
fn garbage_gets_an_error_reply_never_a_command() {
    let mut p = policy(
        Format::Json,
        r#"[commands]
allow = ["lock", "set_mode"]"#,
    );
    let clock = Clock::at("2026-11-25T12:00:00Z");
    let s = house(20.0, LockState::Locked);
    for raw in [
        &b"not json"[..],
        br#"{"op":"lock","extra":1}"#,
        br#"{"op":"set_mode","mode":"warp"}"#,
        br#"{"id":"x"}"#,
    ] {
        let (inbound, d) = p.handle_inbound(raw, &s, clock.after(0));
        let Inbound::Reply(r) = inbound else {
            panic!("{raw:?} became a command")
        };
        assert_eq!(json(r.bytes())["ok"], false);
        assert_eq!(d.iter().filter(|d| d.kind == DecisionKind::Sent).count(), 1);
    }
}

#[test]
fn explain_describes_each_field_in_words() {
    let p = policy(
        Format::Json,
        r#"[fields."thermostat.temperature"]
share = "on_change"
min_interval = "5m"
min_delta = 0.5
round = 0.5
window = "07:00-22:00"
until = "2026-12-31"

[fields."lock.state"]
share = "on_request"
boolean = { true_when = ["locked"] }

[fields."thermostat.humidity"]
share = "periodic"
every = "1h"
buckets = { bounds = [30, 60], names = ["dry", "ok", "humid"] }"#,
    );
    let text = p.explain();
    assert!(text.contains("thermostat.temperature: sent when it changes, at most once every 5m, and only when it moved by at least 0.5 (a new rounded value once the reading is 0.375 from the last one sent); also when this cloud asks; rounded to the nearest 0.5; only between 07:00-22:00 local time, never outside it; consent ends after 2026-12-31."), "{text}");
    assert!(text.contains("lock.state: sent only when this cloud asks for the state (someone is using the assistant); only as yes/no: is it locked."), "{text}");
    assert!(text.contains("thermostat.humidity: sent every 1h, and when this cloud asks; only as a word: \"dry\" < 30.0 <= \"ok\" < 60.0 <= \"humid\"."), "{text}");
    assert!(text.contains("lock.door: never sent."), "{text}");
    assert!(text.contains("Commands: none allowed"), "{text}");
}

#[test]
fn explain_says_what_ended_consent_budget_and_refusals_mean() {
    let p = policy(
        Format::Json,
        "consent_until = \"2026-12-31\"\nmax_requests_per_hour = 12\n[commands]\nallow = [\"lock\"]",
    );
    let text = p.explain();
    assert!(
        text.contains(
            "Consent for this cloud ends after 2026-12-31; from then on it receives nothing at all: no reports, no capability description, no answers, no error replies, and its commands are not carried out"
        ),
        "{text}"
    );
    assert!(
        text.contains("at most 12 state requests an hour are answered"),
        "{text}"
    );
    assert!(text.contains("never a house value or a name"), "{text}");
    let default = policy(Format::Json, "");
    assert!(
        default.explain().contains(&format!(
            "at most {} state requests",
            hearth_policy::DEFAULT_MAX_REQUESTS_PER_HOUR
        )),
        "{}",
        default.explain()
    );
}

#[test]
fn a_rounded_value_sent_on_change_holds_until_the_reading_is_past_the_boundary_by_a_quarter_step() {
    let mut p = policy(
        Format::Json,
        "[fields.\"thermostat.temperature\"]\nshare = \"on_change\"\nround = 0.5",
    );
    let clock = Clock::at("2026-11-25T12:00:00Z");
    let sent = |out: &[hearth_policy::Outbound]| -> Vec<f64> {
        out.iter()
            .map(|o| json(o.bytes())["thermostat.temperature"].as_f64().unwrap())
            .collect()
    };
    let (out, _) = p.on_state(&house(17.70, LockState::Locked), clock.after(0));
    assert_eq!(sent(&out), [17.5]);
    // Hovering at the 17.75 boundary: 17.76 and 17.87 round to 18.0, but are less than
    // 0.375 (3/4 of the step) from the 17.5 sent. One detail, so the ledger keeps one run.
    for (i, t) in [17.76, 17.74, 17.80, 17.74, 17.87].into_iter().enumerate() {
        let (out, d) = p.on_state(&house(t, LockState::Locked), clock.after(i as u64 + 1));
        assert!(out.is_empty(), "{t}: {out:?}");
        assert_eq!(d.len(), 1, "{t}: {d:?}");
        assert_eq!(d[0].kind, DecisionKind::Withheld);
        assert_eq!(d[0].detail, "same as last sent (17.5)");
    }
    let (out, _) = p.on_state(&house(17.88, LockState::Locked), clock.after(10));
    assert_eq!(sent(&out), [18.0]);
    // And the same on the way down: 18.0 holds until the reading is below 17.625.
    let (out, _) = p.on_state(&house(17.70, LockState::Locked), clock.after(11));
    assert!(out.is_empty(), "{out:?}");
    let (out, _) = p.on_state(&house(17.62, LockState::Locked), clock.after(12));
    assert_eq!(sent(&out), [17.5]);
}
