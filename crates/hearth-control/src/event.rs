//! What the controllers tell history: faults raised and cleared, freeze protection, lock
//! changes with who caused them.
//!
//! Events are records of things that already happened; they never drive outputs and are
//! never replayed into a controller. Refused commands are returned to the caller, not evented.

use hearth_model::{Fault, LockAction, LockState, Source};
use serde::Serialize;

/// Something history should record, with enough detail to explain it later.
///
/// Serialised with an `event` tag, e.g.
/// `{"event":"lock_changed","from":"moving","to":"locked","source":{"kind":"local","name":"alice"}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ControlEvent {
    /// A fault became active; outputs it affects are off. `detail` is for people.
    FaultRaised { fault: Fault, detail: String },
    /// A fault is no longer active.
    FaultCleared { fault: Fault },
    /// Freeze protection started (`engaged`) or stopped calling for heat. `temperature` is
    /// the reading that decided it; `None` when it stopped because the sensor failed.
    FreezeProtection {
        engaged: bool,
        temperature: Option<f64>,
    },
    /// The lock's published state changed. `source` is who caused it: the commanding client
    /// or cloud, `auto_relock`, `manual` (seen on the sensors with no command in flight), or
    /// `system` (first reading at start-up, or hearth retracting an aborted lock).
    LockChanged {
        from: LockState,
        to: LockState,
        source: Source,
    },
    /// A motor run was stopped before it finished.
    LockAborted {
        action: LockAction,
        source: Source,
        reason: AbortReason,
    },
}

/// Why a lock motor run was stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AbortReason {
    /// The door opened while locking; hearth retracts the bolt.
    DoorOpened,
    /// Both limit switches closed at once; the bolt's position cannot be trusted.
    SensorConflict,
}

/// Emit `FaultRaised`/`FaultCleared` for the difference between the faults last reported
/// and the current ones, then remember the current ones. Both lists are sorted.
pub(crate) fn report_fault_changes(
    reported: &mut Vec<Fault>,
    current: Vec<Fault>,
    detail: impl Fn(Fault) -> String,
    events: &mut Vec<ControlEvent>,
) {
    for &fault in reported.iter() {
        if !current.contains(&fault) {
            events.push(ControlEvent::FaultCleared { fault });
        }
    }
    for &fault in &current {
        if !reported.contains(&fault) {
            events.push(ControlEvent::FaultRaised {
                fault,
                detail: detail(fault),
            });
        }
    }
    *reported = current;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_serialise_with_a_tag_and_their_source() {
        let e = ControlEvent::LockChanged {
            from: LockState::Moving,
            to: LockState::Locked,
            source: Source::Local("alice".into()),
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"event": "lock_changed", "from": "moving", "to": "locked",
                   "source": {"kind": "local", "name": "alice"}})
        );
        let e = ControlEvent::FaultRaised {
            fault: Fault::SensorTimeout,
            detail: "quiet".into(),
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"event": "fault_raised", "fault": "sensor_timeout", "detail": "quiet"})
        );
    }

    #[test]
    fn fault_diff_reports_only_changes() {
        let mut reported = vec![Fault::SensorTimeout];
        let mut events = Vec::new();
        report_fault_changes(
            &mut reported,
            vec![Fault::SensorImplausible],
            |f| f.as_str().to_string(),
            &mut events,
        );
        assert_eq!(
            events,
            [
                ControlEvent::FaultCleared {
                    fault: Fault::SensorTimeout
                },
                ControlEvent::FaultRaised {
                    fault: Fault::SensorImplausible,
                    detail: "sensor_implausible".into()
                },
            ]
        );
        events.clear();
        report_fault_changes(
            &mut reported,
            vec![Fault::SensorImplausible],
            |_| String::new(),
            &mut events,
        );
        assert!(events.is_empty());
    }
}
