//! Request parsing: each op's fields, defaults and limits, relative and absolute times,
//! and structured errors with the id echoed.

use hearth_api::{DEFAULT_LIMIT, DEFAULT_RANGE_LIMIT, DEFAULT_ROLLUP_EVERY};
use hearth_api::{
    HistoryQuery, Incoming, MessageId, Request, RequestOp, Topics, code, parse_request, parse_time,
    unknown_request,
};
use hearth_model::{Field, UnixMillis};
use std::time::Duration;

const NOW: UnixMillis = UnixMillis(1_795_610_096_000);
const HOUR: i64 = 3_600_000;

fn topics() -> Topics {
    Topics::new("hearth", "homeassistant")
}

fn ok(op: RequestOp, payload: &str) -> Request {
    parse_request(op, payload.as_bytes(), &topics(), NOW)
        .unwrap_or_else(|r| panic!("{payload}: {}", r.error))
        .request
}

fn err(op: RequestOp, payload: &str) -> &'static str {
    parse_request(op, payload.as_bytes(), &topics(), NOW)
        .map(|p| panic!("{payload} accepted as {:?}", p.request))
        .unwrap_err()
        .error
        .code
}

#[test]
fn status_and_reload_take_no_fields_and_allow_an_empty_payload() {
    assert_eq!(ok(RequestOp::Status, ""), Request::Status);
    assert_eq!(ok(RequestOp::Status, "{\"id\":\"s1\"}"), Request::Status);
    assert_eq!(ok(RequestOp::PolicyReload, "{}"), Request::PolicyReload);
    assert_eq!(
        err(RequestOp::Status, "{\"verbose\":true}"),
        code::UNKNOWN_FIELD
    );
    assert_eq!(err(RequestOp::PolicyReload, "[]"), code::NOT_AN_OBJECT);
}

#[test]
fn id_and_reply_topic() {
    let t = topics();
    let p = parse_request(RequestOp::History, br#"{"id":9}"#, &t, NOW).unwrap();
    assert_eq!(p.id, Some(MessageId::from(9)));
    assert_eq!(p.reply_topic(&t), "hearth/response/history");
    let p = parse_request(
        RequestOp::Status,
        br#"{"id":"a","reply_to":"hearth/client/panel/replies"}"#,
        &t,
        NOW,
    )
    .unwrap();
    assert_eq!(p.reply_topic(&t), "hearth/client/panel/replies");
    let r = parse_request(RequestOp::Events, br#"{"id":"e1","limit":0}"#, &t, NOW).unwrap_err();
    assert_eq!(r.id, Some(MessageId::from("e1")));
    assert_eq!(r.error.code, code::INVALID_VALUE);
}

#[test]
fn history_latest_range_and_rollup() {
    assert_eq!(
        ok(RequestOp::History, "{}"),
        Request::History(HistoryQuery::Latest { field: None })
    );
    assert_eq!(
        ok(
            RequestOp::History,
            r#"{"query":"latest","field":"lock.state"}"#
        ),
        Request::History(HistoryQuery::Latest {
            field: Some(Field::LockState)
        })
    );
    assert_eq!(
        ok(
            RequestOp::History,
            r#"{"query":"range","field":"thermostat.temperature","since":"24h"}"#
        ),
        Request::History(HistoryQuery::Range {
            field: Field::ThermostatTemperature,
            since: UnixMillis(NOW.0 - 24 * HOUR),
            until: NOW,
            limit: DEFAULT_RANGE_LIMIT,
        })
    );
    assert_eq!(
        ok(
            RequestOp::History,
            r#"{"query":"rollup","field":"thermostat.humidity","since":"2026-11-01T00:00:00Z","until":"2026-11-02T00:00:00Z","every":"15m"}"#
        ),
        Request::History(HistoryQuery::Rollup {
            field: Field::ThermostatHumidity,
            since: UnixMillis::parse_rfc3339("2026-11-01T00:00:00Z").unwrap(),
            until: UnixMillis::parse_rfc3339("2026-11-02T00:00:00Z").unwrap(),
            every: Duration::from_secs(900),
        })
    );
    match ok(
        RequestOp::History,
        r#"{"query":"rollup","field":"thermostat.setpoint_heat","since":"7days"}"#,
    ) {
        Request::History(HistoryQuery::Rollup { every, .. }) => {
            assert_eq!(every, DEFAULT_ROLLUP_EVERY)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn history_errors() {
    let h = RequestOp::History;
    let cases = [
        (r#"{"query":"median"}"#, code::INVALID_VALUE),
        (r#"{"query":3}"#, code::WRONG_TYPE),
        (r#"{"field":"thermostat.colour"}"#, code::INVALID_VALUE),
        (r#"{"query":"range","since":"1h"}"#, code::MISSING_FIELD),
        (
            r#"{"query":"range","field":"lock.state"}"#,
            code::MISSING_FIELD,
        ),
        (
            r#"{"query":"range","field":"lock.state","since":"yesterday"}"#,
            code::INVALID_VALUE,
        ),
        (
            r#"{"query":"range","field":"lock.state","since":"1h","until":"2h"}"#,
            code::INVALID_VALUE,
        ),
        (
            r#"{"query":"range","field":"lock.state","since":"1h","every":"1m"}"#,
            code::INVALID_VALUE,
        ),
        (
            r#"{"query":"range","field":"lock.state","since":"1h","limit":100001}"#,
            code::INVALID_VALUE,
        ),
        (
            r#"{"query":"rollup","field":"lock.state","since":"1h"}"#,
            code::INVALID_VALUE,
        ),
        (
            r#"{"query":"rollup","field":"thermostat.temperature","since":"1h","every":"0s"}"#,
            code::INVALID_VALUE,
        ),
        (
            r#"{"query":"rollup","field":"thermostat.temperature","since":"1h","every":"often"}"#,
            code::INVALID_VALUE,
        ),
        (r#"{"query":"latest","since":"1h"}"#, code::INVALID_VALUE),
        (r#"{"query":"latest","step":"1h"}"#, code::UNKNOWN_FIELD),
        (r#"{"since":5}"#, code::WRONG_TYPE),
    ];
    for (payload, expected) in cases {
        assert_eq!(err(h, payload), expected, "{payload}");
    }
}

#[test]
fn events_and_audit() {
    assert_eq!(
        ok(RequestOp::Events, "{}"),
        Request::Events {
            since: None,
            until: None,
            limit: DEFAULT_LIMIT
        }
    );
    assert_eq!(
        ok(
            RequestOp::Events,
            r#"{"since":"2h","until":"now","limit":5}"#
        ),
        Request::Events {
            since: Some(UnixMillis(NOW.0 - 2 * HOUR)),
            until: Some(NOW),
            limit: 5
        }
    );
    assert_eq!(
        err(RequestOp::Events, r#"{"since":"now","until":"1h"}"#),
        code::INVALID_VALUE
    );
    assert_eq!(
        err(RequestOp::Events, r#"{"limit":1001}"#),
        code::INVALID_VALUE
    );
    assert_eq!(err(RequestOp::Events, r#"{"limit":"5"}"#), code::WRONG_TYPE);
    assert_eq!(
        ok(
            RequestOp::Audit,
            r#"{"cloud":"alexa","since":"30d","limit":1000}"#
        ),
        Request::Audit {
            cloud: Some("alexa".into()),
            since: Some(UnixMillis(NOW.0 - 30 * 24 * HOUR)),
            limit: 1000
        }
    );
    assert_eq!(
        err(RequestOp::Audit, r#"{"cloud":"a b"}"#),
        code::INVALID_VALUE
    );
    assert_eq!(
        err(RequestOp::Audit, r#"{"until":"now"}"#),
        code::UNKNOWN_FIELD
    );
}

#[test]
fn policy_explain_with_and_without_cloud() {
    assert_eq!(
        ok(RequestOp::PolicyExplain, "{}"),
        Request::PolicyExplain { cloud: None }
    );
    assert_eq!(
        ok(RequestOp::PolicyExplain, r#"{"cloud":"google"}"#),
        Request::PolicyExplain {
            cloud: Some("google".into())
        }
    );
    assert_eq!(
        err(RequestOp::PolicyExplain, r#"{"cloud":null}"#),
        code::WRONG_TYPE
    );
}

#[test]
fn unknown_ops_are_refused_with_the_id_echoed() {
    let t = topics();
    let Incoming::UnknownRequest(op) = t.classify("hearth/request/reboot") else {
        panic!("not classified as unknown request");
    };
    let r = unknown_request(&op, br#"{"id":"u1","reply_to":"hearth/client/me/r"}"#, &t);
    assert_eq!(r.error.code, code::UNKNOWN_REQUEST);
    assert!(
        r.error.message.contains("policy_explain"),
        "{}",
        r.error.message
    );
    assert_eq!(r.id, Some(MessageId::from("u1")));
    assert_eq!(r.reply_topic(&t.response(&op)), "hearth/client/me/r");
    let r = unknown_request(&op, b"not json", &t);
    assert_eq!(r.error.code, code::UNKNOWN_REQUEST);
    assert_eq!(r.reply_topic(&t.response(&op)), "hearth/response/reboot");
}

#[test]
fn time_forms() {
    assert_eq!(parse_time("now", NOW), Ok(NOW));
    assert_eq!(parse_time("90m", NOW), Ok(UnixMillis(NOW.0 - 90 * 60_000)));
    assert_eq!(
        parse_time("2026-11-25T12:34:56.789Z", NOW),
        Ok(UnixMillis(1_795_610_096_789))
    );
    let e = parse_time("last tuesday", NOW).unwrap_err();
    assert!(e.contains("RFC 3339") && e.contains("24h"), "{e}");
}
