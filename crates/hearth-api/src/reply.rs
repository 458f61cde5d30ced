//! Reply payloads for commands and requests:
//! `{"id":…, "ok":true}`, `{"id":…, "ok":true, "result":…}` and
//! `{"id":…, "ok":false, "error":{"code":…, "message":…}}`.
//!
//! `id` is always present: the client's id as it sent it (string or number), or `null`
//! when it sent none or it could not be read. Builders only; publishing is the daemon's.

use crate::envelope::MessageId;
use crate::error::{ApiError, Rejected};
use serde::Serialize;

#[derive(Serialize)]
struct Reply<'a, R: ?Sized = serde_json::Value> {
    id: Option<&'a MessageId>,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a R>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody<'a>>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

fn encode<R: Serialize + ?Sized>(reply: &Reply<'_, R>) -> Vec<u8> {
    serde_json::to_vec(reply).expect("reply types always serialize")
}

/// `{"id":…, "ok":true}`: the command was accepted.
pub fn reply_ok(id: Option<&MessageId>) -> Vec<u8> {
    encode(&Reply::<serde_json::Value> {
        id,
        ok: true,
        result: None,
        error: None,
    })
}

/// `{"id":…, "ok":true, "result":…}`: a request's answer (a `serde_json::Value`, or any
/// shape that serializes, such as JSON already written: `serde_json::value::RawValue`).
pub fn response_ok<R: Serialize + ?Sized>(id: Option<&MessageId>, result: &R) -> Vec<u8> {
    encode(&Reply {
        id,
        ok: true,
        result: Some(result),
        error: None,
    })
}

/// `{"id":…, "ok":false, "error":{"code":…, "message":…}}`. Also for refusals from the
/// controllers, which have their own codes.
pub fn reply_error(id: Option<&MessageId>, code: &str, message: &str) -> Vec<u8> {
    encode(&Reply::<serde_json::Value> {
        id,
        ok: false,
        result: None,
        error: Some(ErrorBody { code, message }),
    })
}

/// [`reply_error`] for an [`ApiError`].
pub fn reply_api_error(id: Option<&MessageId>, error: &ApiError) -> Vec<u8> {
    reply_error(id, error.code, &error.message)
}

impl Rejected {
    /// The error reply for this refusal.
    pub fn reply_json(&self) -> Vec<u8> {
        reply_api_error(self.id.as_ref(), &self.error)
    }

    /// Where the reply goes: the client's validated `reply_to`, else `default` (the
    /// message's `<base>/response/…` topic).
    pub fn reply_topic<'a>(&'a self, default: &'a str) -> &'a str {
        self.reply_to.as_deref().unwrap_or(default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(bytes: Vec<u8>) -> Value {
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn ok_reply_echoes_string_and_number_ids() {
        assert_eq!(
            parse(reply_ok(Some(&"a-1".into()))),
            json!({"id":"a-1","ok":true})
        );
        assert_eq!(
            parse(reply_ok(Some(&MessageId::from(7)))),
            json!({"id":7,"ok":true})
        );
        assert_eq!(parse(reply_ok(None)), json!({"id":null,"ok":true}));
    }

    #[test]
    fn ids_are_echoed_byte_for_byte() {
        let topics = crate::Topics::new("hearth", "homeassistant");
        for id in [
            "1e2",
            "123456789012345678901234567890",
            "-0.50",
            "7",
            r#""\u0041b""#,
            r#""caf\u00e9 ☕""#,
        ] {
            let payload = format!(r#"{{"id": {id} ,"nonsense":true}}"#);
            let rejected = crate::unknown_request("x", payload.as_bytes(), &topics);
            let reply = String::from_utf8(rejected.reply_json()).unwrap();
            assert!(
                reply.starts_with(&format!(r#"{{"id":{id},"ok":false"#)),
                "{id} came back as {reply}"
            );
            serde_json::from_str::<Value>(&reply).expect("the reply is JSON");
        }
    }

    #[test]
    fn error_reply_shape() {
        let e = ApiError::new("unknown_field", "unknown field `x`");
        assert_eq!(
            parse(reply_api_error(Some(&"r".into()), &e)),
            json!({"id":"r","ok":false,"error":{"code":"unknown_field","message":"unknown field `x`"}})
        );
    }

    #[test]
    fn response_carries_the_result() {
        assert_eq!(
            parse(response_ok(Some(&MessageId::from(1)), &json!({"rows":[]}))),
            json!({"id":1,"ok":true,"result":{"rows":[]}})
        );
    }

    #[test]
    fn rejected_replies_where_it_may() {
        let r = Rejected {
            id: None,
            reply_to: Some("me/replies".into()),
            error: ApiError::new("invalid_json", "bad"),
        };
        assert_eq!(r.reply_topic("hearth/response/lock/set"), "me/replies");
        assert_eq!(parse(r.reply_json())["error"]["code"], "invalid_json");
        let r = Rejected::bare(ApiError::new("invalid_json", "bad"));
        assert_eq!(
            r.reply_topic("hearth/response/lock/set"),
            "hearth/response/lock/set"
        );
    }
}
