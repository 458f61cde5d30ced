//! The event log's entries: commands with their source and result, lock changes, faults.
//!
//! An `Event` is what the daemon hands the writer and what queries return. Kinds have
//! stable integer codes on disk (append only). This module must never touch SQLite.

use hearth_model::{Command, CommandKind, Fault, LockState, Source, UnixMillis};
use serde::Serialize;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A command was carried out.
    CommandAccepted,
    /// A command was refused (out of range, door open, bad signature, ...).
    CommandRefused,
    /// The lock changed state, by command, auto-relock, or by hand (`Source::Manual`).
    LockChange,
    FaultRaised,
    FaultCleared,
    /// hearth itself: start-up, shutdown, configuration reloads.
    System,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::CommandAccepted,
        EventKind::CommandRefused,
        EventKind::LockChange,
        EventKind::FaultRaised,
        EventKind::FaultCleared,
        EventKind::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CommandAccepted => "command_accepted",
            EventKind::CommandRefused => "command_refused",
            EventKind::LockChange => "lock_change",
            EventKind::FaultRaised => "fault_raised",
            EventKind::FaultCleared => "fault_cleared",
            EventKind::System => "system",
        }
    }

    /// Stable code on disk. Never renumber.
    pub(crate) fn code(self) -> i64 {
        match self {
            EventKind::CommandAccepted => 1,
            EventKind::CommandRefused => 2,
            EventKind::LockChange => 3,
            EventKind::FaultRaised => 4,
            EventKind::FaultCleared => 5,
            EventKind::System => 6,
        }
    }

    pub(crate) fn from_code(code: i64) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub at: UnixMillis,
    pub kind: EventKind,
    /// Who caused it, when someone did.
    pub source: Option<Source>,
    /// Human-readable specifics: the command, `locked -> unlocked`, the fault name, the error.
    pub detail: String,
}

impl Event {
    /// A command and what became of it: `Ok(())` when carried out, `Err(reason)` when refused.
    pub fn command(at: UnixMillis, command: &Command, result: Result<(), &str>) -> Event {
        let what = describe_command(&command.kind);
        let (kind, detail) = match result {
            Ok(()) => (EventKind::CommandAccepted, what),
            Err(reason) => (EventKind::CommandRefused, format!("{what}: {reason}")),
        };
        Event {
            at,
            kind,
            source: Some(command.source.clone()),
            detail,
        }
    }

    /// The lock moved from one state to another; `Source::Manual` when no command did it.
    pub fn lock_change(at: UnixMillis, from: LockState, to: LockState, source: Source) -> Event {
        Event {
            at,
            kind: EventKind::LockChange,
            source: Some(source),
            detail: format!("{} -> {}", from.as_str(), to.as_str()),
        }
    }

    /// A fault appeared (`raised`) or went away.
    pub fn fault(at: UnixMillis, fault: Fault, raised: bool, detail: &str) -> Event {
        let kind = if raised {
            EventKind::FaultRaised
        } else {
            EventKind::FaultCleared
        };
        let detail = if detail.is_empty() {
            fault.as_str().to_owned()
        } else {
            format!("{}: {detail}", fault.as_str())
        };
        Event {
            at,
            kind,
            source: Some(Source::System),
            detail,
        }
    }
}

fn describe_command(kind: &CommandKind) -> String {
    match kind {
        CommandKind::Lock(action) => action.as_str().to_owned(),
        CommandKind::Thermostat(change) => {
            let mut parts = Vec::new();
            if let Some(m) = change.mode {
                parts.push(format!("mode={}", m.as_str()));
            }
            if let Some(f) = change.fan {
                parts.push(format!("fan={}", f.as_str()));
            }
            if let Some(x) = change.setpoint_heat {
                parts.push(format!("setpoint_heat={x}"));
            }
            if let Some(x) = change.setpoint_cool {
                parts.push(format!("setpoint_cool={x}"));
            }
            if let Some(x) = change.setpoint {
                parts.push(format!("setpoint={x}"));
            }
            if parts.is_empty() {
                "thermostat (no change)".to_owned()
            } else {
                format!("thermostat {}", parts.join(" "))
            }
        }
    }
}

/// The stored form of a source: its display form (`local:alice`, `cloud:alexa`, `manual`).
pub(crate) fn source_to_text(source: &Source) -> String {
    source.to_string()
}

/// Read a stored source back; an unknown form (a newer hearthd) reads as a local name.
pub(crate) fn source_from_text(text: &str) -> Source {
    if let Some(name) = text.strip_prefix("local:") {
        Source::Local(name.to_owned())
    } else if let Some(name) = text.strip_prefix("cloud:") {
        Source::Cloud(name.to_owned())
    } else {
        match text {
            "auto-relock" => Source::AutoRelock,
            "manual" => Source::Manual,
            "system" => Source::System,
            other => Source::Local(other.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::{LockAction, Mode, ThermostatChange};

    #[test]
    fn kinds_have_unique_codes() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::from_code(k.code()), Some(k));
        }
        assert_eq!(EventKind::from_code(0), None);
    }

    #[test]
    fn sources_round_trip_through_text() {
        for s in [
            Source::Local("alice".into()),
            Source::Cloud("alexa".into()),
            Source::AutoRelock,
            Source::Manual,
            Source::System,
        ] {
            assert_eq!(source_from_text(&source_to_text(&s)), s);
        }
    }

    #[test]
    fn commands_say_what_and_whether() {
        let cmd = Command {
            source: Source::Cloud("google".into()),
            kind: CommandKind::Thermostat(ThermostatChange {
                mode: Some(Mode::Heat),
                setpoint_heat: Some(21.5),
                ..Default::default()
            }),
        };
        let ok = Event::command(UnixMillis(5), &cmd, Ok(()));
        assert_eq!(ok.kind, EventKind::CommandAccepted);
        assert_eq!(ok.detail, "thermostat mode=heat setpoint_heat=21.5");
        let lock = Command {
            source: Source::Local("bob".into()),
            kind: CommandKind::Lock(LockAction::Lock),
        };
        let refused = Event::command(UnixMillis(6), &lock, Err("door is open"));
        assert_eq!(refused.kind, EventKind::CommandRefused);
        assert_eq!(refused.detail, "lock: door is open");
        assert_eq!(refused.source, Some(Source::Local("bob".into())));
    }
}
