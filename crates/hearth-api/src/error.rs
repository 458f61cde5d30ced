//! The errors a local MQTT client can get back, with their stable codes.
//!
//! Codes are part of the wire format: clients match on them, so a code is never renamed
//! or reused for another meaning. Messages are for people and may be reworded. Nothing here
//! may touch the broker or the hardware.

use crate::envelope::MessageId;

/// Stable error codes, one constant per code so no module spells them twice.
/// Not `hearth_control::refusal::codes`: these refuse a message before it reaches the house
/// (parse, signature, unlock code), those are the house's verdict on a well-formed command;
/// no code is in both (the daemon's tests check the sets are disjoint on the one wire field).
pub mod code {
    /// The payload is larger than [`crate::MAX_PAYLOAD_BYTES`].
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    /// The payload is not UTF-8.
    pub const INVALID_UTF8: &str = "invalid_utf8";
    /// The payload is not JSON (or is empty).
    pub const INVALID_JSON: &str = "invalid_json";
    /// The payload is JSON but not an object.
    pub const NOT_AN_OBJECT: &str = "not_an_object";
    /// The same key appears twice in the object.
    pub const DUPLICATE_FIELD: &str = "duplicate_field";
    /// A key this message does not know.
    pub const UNKNOWN_FIELD: &str = "unknown_field";
    /// A field of the wrong JSON type (string instead of number, null, ...).
    pub const WRONG_TYPE: &str = "wrong_type";
    /// A required field is absent.
    pub const MISSING_FIELD: &str = "missing_field";
    /// A field has the right type but a value outside what it accepts.
    pub const INVALID_VALUE: &str = "invalid_value";
    /// A thermostat command that changes nothing.
    pub const EMPTY_COMMAND: &str = "empty_command";
    /// The `reply_to` topic cannot be used.
    pub const INVALID_REPLY_TO: &str = "invalid_reply_to";
    /// An unlock without signature fields.
    pub const SIGNATURE_REQUIRED: &str = "signature_required";
    /// The signature does not match the command and the client's key.
    pub const BAD_SIGNATURE: &str = "bad_signature";
    /// The signing client has no key in the secrets file.
    pub const UNKNOWN_CLIENT: &str = "unknown_client";
    /// The command's `ts` is too old (or older than the daemon's start).
    pub const EXPIRED: &str = "expired";
    /// The command's `ts` is too far in the future (the client's clock is ahead).
    pub const FUTURE_TIMESTAMP: &str = "future_timestamp";
    /// The nonce was already accepted once.
    pub const REPLAYED_NONCE: &str = "replayed_nonce";
    /// The nonce cache is full of nonces still inside the replay window; try again shortly.
    pub const BUSY: &str = "busy";
    /// Unlocking over local MQTT is disabled because no client keys are configured.
    pub const UNLOCK_DISABLED: &str = "unlock_disabled";
    /// `<base>/request/<op>` with an op hearth does not have.
    pub const UNKNOWN_REQUEST: &str = "unknown_request";
    /// The command or request was published retained; it is never acted on.
    pub const RETAINED: &str = "retained";
    /// An unlock with a code that does not match the client's code hash.
    pub const WRONG_CODE: &str = "wrong_code";
    /// Too many wrong codes: codes from this client are not checked until the lockout ends.
    pub const LOCKED_OUT: &str = "locked_out";

    /// Every code above, for documentation and tests.
    pub const ALL: [&str; 23] = [
        PAYLOAD_TOO_LARGE,
        INVALID_UTF8,
        INVALID_JSON,
        NOT_AN_OBJECT,
        DUPLICATE_FIELD,
        UNKNOWN_FIELD,
        WRONG_TYPE,
        MISSING_FIELD,
        INVALID_VALUE,
        EMPTY_COMMAND,
        INVALID_REPLY_TO,
        SIGNATURE_REQUIRED,
        BAD_SIGNATURE,
        UNKNOWN_CLIENT,
        EXPIRED,
        FUTURE_TIMESTAMP,
        REPLAYED_NONCE,
        BUSY,
        UNLOCK_DISABLED,
        UNKNOWN_REQUEST,
        RETAINED,
        WRONG_CODE,
        LOCKED_OUT,
    ];
}

/// An error for the client: a stable `code` and a message saying what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A refused message: the error plus what is needed to reply to it.
///
/// `id` is the client's id when it could be read, even if the rest was bad; `reply_to` is
/// the client's reply topic only when it passed validation (an invalid one is never used).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}")]
pub struct Rejected {
    pub id: Option<MessageId>,
    pub reply_to: Option<String>,
    pub error: ApiError,
}

impl Rejected {
    pub fn bare(error: ApiError) -> Self {
        Self {
            id: None,
            reply_to: None,
            error,
        }
    }
}
