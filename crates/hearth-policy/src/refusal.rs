//! What a cloud may be told when hearth does not do what it asked: a closed set of codes,
//! each with one fixed sentence, and the neutral refusal used when even the code would
//! reveal a field the policy does not share.
//!
//! The guarantee is a type, like `Outbound`: a format's `error` receives a [`CloudError`],
//! which is `Copy` and carries no data at all, so no house value, person or cloud name can
//! reach an error payload. The real reason travels beside it in [`Refused`] and goes only
//! to the ledger. This module never decides whether to refuse.

use hearth_model::Field;

/// A refusal as a cloud sees it. Add variants; never rename a code or change its wording
/// (clouds and tests match on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloudError {
    /// The directive could not be read (not JSON, duplicate keys, missing parts, no id).
    Malformed,
    /// The directive names a device hearth does not present to this cloud.
    NoSuchDevice,
    /// The policy does not allow this command from this cloud.
    NotAllowed,
    /// Unlocking needs the voice PIN and none was given.
    PinNeeded,
    /// The voice PIN given was wrong.
    PinWrong,
    /// Too many wrong PINs: unlocking is refused for a while.
    PinLockedOut,
    /// A message with this id was already handled.
    Replayed,
    /// The requested setpoint is outside the configured bounds.
    OutOfRange,
    /// The thermostat's mode does not take this request (only when the mode is shared).
    WrongMode,
    /// The door is open, so it cannot be locked (only when the door is shared).
    DoorOpen,
    /// The bolt is busy (only when the lock state is shared).
    Busy,
    /// The device reports a fault (only when the state that shows it is shared).
    HardwareFault,
    /// The neutral refusal: says nothing about why. Also used for hearth's own failures,
    /// so a neutral refusal cannot be told apart from one.
    Refused,
}

impl CloudError {
    pub const ALL: [CloudError; 13] = [
        CloudError::Malformed,
        CloudError::NoSuchDevice,
        CloudError::NotAllowed,
        CloudError::PinNeeded,
        CloudError::PinWrong,
        CloudError::PinLockedOut,
        CloudError::Replayed,
        CloudError::OutOfRange,
        CloudError::WrongMode,
        CloudError::DoorOpen,
        CloudError::Busy,
        CloudError::HardwareFault,
        CloudError::Refused,
    ];

    /// The stable code (the json format's `error.code`).
    pub fn code(self) -> &'static str {
        match self {
            CloudError::Malformed => "malformed",
            CloudError::NoSuchDevice => "no_such_device",
            CloudError::NotAllowed => "not_allowed",
            CloudError::PinNeeded => "pin_needed",
            CloudError::PinWrong => "pin_wrong",
            CloudError::PinLockedOut => "pin_locked_out",
            CloudError::Replayed => "replayed",
            CloudError::OutOfRange => "out_of_range",
            CloudError::WrongMode => "wrong_mode",
            CloudError::DoorOpen => "door_open",
            CloudError::Busy => "busy",
            CloudError::HardwareFault => "hardware_fault",
            CloudError::Refused => "refused",
        }
    }

    /// The one sentence every format uses for this code.
    pub fn message(self) -> &'static str {
        match self {
            CloudError::Malformed => "hearth could not read this request.",
            CloudError::NoSuchDevice => "hearth has no such device.",
            CloudError::NotAllowed => "hearth's privacy policy does not allow this request.",
            CloudError::PinNeeded => "The voice PIN is needed.",
            CloudError::PinWrong => "The voice PIN is wrong.",
            CloudError::PinLockedOut => "Too many wrong PINs; unlocking is refused for now.",
            CloudError::Replayed => "hearth has already handled a message with this id.",
            CloudError::OutOfRange => "The requested temperature is outside the allowed range.",
            CloudError::WrongMode => "The thermostat's current mode does not take this request.",
            CloudError::DoorOpen => "The door is open.",
            CloudError::Busy => "The lock is busy.",
            CloudError::HardwareFault => "The device reports a fault.",
            CloudError::Refused => "hearth did not carry out this request.",
        }
    }
}

/// A refusal on its way out: what the cloud may be told, the real reason for the ledger, and
/// the fields the public code would reveal (if any of them is not shared with this cloud
/// now, the engine sends [`CloudError::Refused`] instead).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Refused {
    pub public: CloudError,
    pub reason: String,
    pub reveals: Vec<Field>,
}

impl Refused {
    pub(crate) fn new(public: CloudError, reason: impl Into<String>) -> Self {
        Self {
            public,
            reason: reason.into(),
            reveals: Vec::new(),
        }
    }

    pub(crate) fn revealing(mut self, fields: &[Field]) -> Self {
        self.reveals.extend_from_slice(fields);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_sentences_fixed() {
        for (i, e) in CloudError::ALL.iter().enumerate() {
            assert!(
                !CloudError::ALL[i + 1..]
                    .iter()
                    .any(|o| o.code() == e.code())
            );
            assert!(e.message().ends_with('.'), "{e:?}");
        }
    }
}
