//! Every refusal the controllers produce (each refusal code, with messages full of house
//! values and names), in every format, as the exact bytes the cloud receives: the format's
//! own error type when the cloud is given the field the code tells about, the neutral
//! refusal when it is not. And a cloud whose consent has ended: no bytes at all.

mod common;

use common::commands::{Cmd, directive};
use common::replies::*;
use common::{Clock, house, policy};
use hearth_model::LockState;
use hearth_policy::{CommandErrorCode, DecisionKind, Format, Inbound};

#[test]
fn house_refusals_are_fixed_bytes_and_neutral_when_they_would_reveal() {
    use CommandErrorCode as C;
    let mut alexa_msgs = Vec::new();
    // (code, command, shared policy?, alexa type, google code, json code)
    let cases: [(C, Cmd, bool, &str, &str, &str); 13] = [
        (
            C::DoorOpen,
            Cmd::Lock,
            false,
            "INTERNAL_ERROR",
            "transientError",
            "refused",
        ),
        (
            C::DoorOpen,
            Cmd::Lock,
            true,
            "INTERNAL_ERROR",
            "transientError",
            "door_open",
        ),
        (
            C::LockBusy,
            Cmd::Lock,
            false,
            "INTERNAL_ERROR",
            "transientError",
            "refused",
        ),
        (
            C::LockBusy,
            Cmd::Lock,
            true,
            "ENDPOINT_BUSY",
            "deviceBusy",
            "busy",
        ),
        (
            C::SensorFault,
            Cmd::Lock,
            false,
            "INTERNAL_ERROR",
            "transientError",
            "refused",
        ),
        (
            C::SensorFault,
            Cmd::Lock,
            true,
            "HARDWARE_MALFUNCTION",
            "hardwareFailure",
            "hardware_fault",
        ),
        (
            C::StateUnknown,
            Cmd::Lock,
            true,
            "INTERNAL_ERROR",
            "transientError",
            "refused",
        ),
        (
            C::Internal,
            Cmd::Lock,
            true,
            "INTERNAL_ERROR",
            "transientError",
            "refused",
        ),
        (
            C::SetpointOutOfRange,
            Cmd::Delta(40.0),
            false,
            "INTERNAL_ERROR",
            "transientError",
            "refused",
        ),
        (
            C::SetpointOutOfRange,
            Cmd::Range(5.0, 40.0),
            false,
            "TEMPERATURE_VALUE_OUT_OF_RANGE",
            "valueOutOfRange",
            "out_of_range",
        ),
        (
            C::SetpointsTooClose,
            Cmd::Target(25.5),
            false,
            "INTERNAL_ERROR",
            "transientError",
            "refused",
        ),
        (
            C::SetpointsTooClose,
            Cmd::Range(22.0, 22.5),
            true,
            "TEMPERATURE_VALUE_OUT_OF_RANGE",
            "valueOutOfRange",
            "out_of_range",
        ), // Only a local command can name a setpoint twice: a cloud gets the neutral refusal.
        (
            C::ConflictingSetpoints,
            Cmd::Target(21.0),
            true,
            "INTERNAL_ERROR",
            "transientError",
            "refused",
        ),
    ];
    for (n, (code, cmd, is_shared, alexa_t, google_c, json_c)) in cases.into_iter().enumerate() {
        for format in [Format::Alexa, Format::Google, Format::Json] {
            let mut p = if is_shared {
                shared(format)
            } else {
                hidden(format)
            };
            let id = format!("h{n}");
            let got = reply(&mut p, &directive(format, cmd, &id), Some(house_says(code)));
            let device = if matches!(cmd, Cmd::Lock) { LK } else { TH };
            let message = |c: &str| {
                hearth_policy::CloudError::ALL
                    .into_iter()
                    .find(|e| e.code() == c)
                    .unwrap()
                    .message()
            };
            let alexa_message = if alexa_t == "INTERNAL_ERROR" {
                NEUTRAL
            } else {
                message(json_c)
            };
            match format {
                Format::Alexa => {
                    expect(format, &got, &alexa_err(device, alexa_t, alexa_message));
                    alexa_msgs.push((format!("house_{n}"), got));
                }
                Format::Google => expect(format, &got, &google_exec(&id, device, google_c)),
                Format::Json => expect(format, &got, &json_err(Some(&id), json_c, message(json_c))),
            }
        }
    }
    common::validate_alexa(&alexa_msgs);
}

#[test]
fn ended_consent_gets_no_bytes_at_all() {
    for format in [Format::Alexa, Format::Google, Format::Json] {
        let mut p = policy(
            format,
            "consent_until = \"2026-11-24\"\n[fields.\"lock.state\"]\nshare = \"on_request\"\n\
             [commands]\nallow = [\"lock\"]",
        );
        let s = house(20.0, LockState::Unlocked);
        let now = Clock::at("2026-11-25T12:00:00Z").after(0);
        let (inbound, d) = p.handle_inbound(&directive(format, Cmd::Lock, "c1"), &s, now);
        assert!(
            matches!(inbound, Inbound::Silent),
            "the lock is not carried out"
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, DecisionKind::CommandRefused);
        assert!(
            d[0].detail.contains("consent_until 2026-11-24 has passed"),
            "{d:?}"
        );
        assert!(p.capability(now).0.is_none());
        let (o, _) = p.answer_state_request(b"{}", &s, now);
        assert!(o.is_none());
        assert!(p.on_state(&s, now).0.is_empty());
    }
}
