//! Refusals decided by how a message arrived rather than what it says: published retained,
//! or larger than hearth keeps. Each still echoes the id and honours a valid `reply_to`
//! when the payload can be read, so the sender learns why nothing happened.

use crate::envelope::{Envelope, MAX_PAYLOAD_BYTES};
use crate::error::{ApiError, Rejected, code};
use crate::topics::Topics;

/// A command or request that was published retained (live, or replayed by the broker): it
/// is refused whatever it says, because a retained command would run again at every
/// reconnect and for every new subscriber.
pub fn refuse_retained(payload: &[u8], topics: &Topics) -> Rejected {
    let error = ApiError::new(
        code::RETAINED,
        "commands and requests must not be retained; nothing was done. Publish with retain \
         off, and clear the retained message (publish an empty retained payload to this topic)",
    );
    match Envelope::open(payload, topics) {
        Ok(envelope) => envelope.reject(error),
        Err(unreadable) => Rejected {
            id: unreadable.id,
            reply_to: unreadable.reply_to,
            error,
        },
    }
}

/// A payload of `size` bytes that hearth did not keep (see the MQTT link's limits).
pub fn refuse_oversized(size: usize) -> Rejected {
    Rejected::bare(ApiError::new(
        code::PAYLOAD_TOO_LARGE,
        format!("payload is {size} bytes; at most {MAX_PAYLOAD_BYTES} are accepted"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retained_command_is_refused_with_its_id_and_reply_topic() {
        let t = Topics::new("hearth", "homeassistant");
        let r = refuse_retained(
            br#"{"id":"r1","action":"unlock","reply_to":"hearth/client/x"}"#,
            &t,
        );
        assert_eq!(r.error.code, code::RETAINED);
        assert_eq!(r.id, Some("r1".into()));
        assert_eq!(r.reply_topic("default"), "hearth/client/x");
        let r = refuse_retained(b"\xff not json", &t);
        assert_eq!((r.error.code, r.id), (code::RETAINED, None));
        assert_eq!(
            refuse_oversized(5 << 20).error.code,
            code::PAYLOAD_TOO_LARGE
        );
    }
}
