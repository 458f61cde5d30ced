//! The common outer layer of every command and request payload: size and encoding limits,
//! a strict top-level JSON object (duplicate keys refused), the client's `id` and
//! `reply_to`, and typed field readers that produce the stable error codes.
//!
//! Message-specific meaning lives in `command.rs` and `request.rs`; this file must never
//! know what a thermostat or a history query is.

use crate::error::{ApiError, Rejected, code};
use crate::topics::Topics;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::fmt;

/// Largest payload accepted on a command or request topic, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 4096;

/// Longest text `id` accepted, in characters.
pub const MAX_ID_CHARS: usize = 128;

/// The client-chosen id echoed in the reply: a JSON string or number, kept byte for byte as
/// the client wrote it (`1e2` stays `1e2`, a 30-digit number is not rounded, `"\u0041"` keeps
/// its escape), so a client can match replies by comparing text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageId {
    /// The id's JSON text exactly as sent.
    raw: String,
    /// The decoded string for a text id; `None` for a number.
    text: Option<String>,
}

impl MessageId {
    /// The id as it enters the unlock signature: the decoded string itself, or the number's
    /// JSON text as sent (e.g. `42`, `-1.5`).
    pub fn canonical(&self) -> String {
        match &self.text {
            Some(s) => s.clone(),
            None => self.raw.clone(),
        }
    }

    /// The id's JSON text exactly as the client sent it.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Whether the id was a JSON number.
    pub fn is_number(&self) -> bool {
        self.text.is_none()
    }
}

impl Serialize for MessageId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The raw text was checked to be one JSON string or number when it was read.
        let raw = serde_json::value::RawValue::from_string(self.raw.clone())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl From<&str> for MessageId {
    fn from(s: &str) -> Self {
        MessageId {
            raw: serde_json::to_string(s).expect("strings serialize"),
            text: Some(s.to_owned()),
        }
    }
}

impl From<i64> for MessageId {
    fn from(n: i64) -> Self {
        MessageId {
            raw: n.to_string(),
            text: None,
        }
    }
}

/// A payload's top-level object after the shared checks, with `id` and `reply_to` taken out.
#[derive(Debug)]
pub(crate) struct Envelope {
    pub id: Option<MessageId>,
    pub reply_to: Option<String>,
    /// The remaining fields in payload order, each key exactly once.
    pub fields: Vec<(String, Value)>,
}

impl Envelope {
    /// Parse `payload` down to its fields. Order of checks: size, UTF-8, JSON, object,
    /// duplicate keys, then `id` (so it is echoed whenever readable) and `reply_to`.
    pub fn open(payload: &[u8], topics: &Topics) -> Result<Envelope, Rejected> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(Rejected::bare(ApiError::new(
                code::PAYLOAD_TOO_LARGE,
                format!(
                    "payload is {} bytes; at most {MAX_PAYLOAD_BYTES} are accepted",
                    payload.len()
                ),
            )));
        }
        let text = std::str::from_utf8(payload).map_err(|e| {
            Rejected::bare(ApiError::new(
                code::INVALID_UTF8,
                format!(
                    "payload is not UTF-8 (bad byte at offset {})",
                    e.valid_up_to()
                ),
            ))
        })?;
        if text.trim().is_empty() {
            return Err(Rejected::bare(ApiError::new(
                code::INVALID_JSON,
                "payload is empty; send a JSON object, e.g. {\"id\":1}",
            )));
        }
        let top: TopLevel = serde_json::from_str(text).map_err(|e| {
            Rejected::bare(ApiError::new(
                code::INVALID_JSON,
                format!("payload is not valid JSON: {e}"),
            ))
        })?;
        let raw_pairs = match top {
            TopLevel::Object(pairs) => pairs,
            TopLevel::Other(kind) => {
                return Err(Rejected::bare(ApiError::new(
                    code::NOT_AN_OBJECT,
                    format!("payload is {kind}; send a JSON object"),
                )));
            }
        };

        // The id is read before anything else can fail so the reply can echo it.
        let id = match raw_pairs.iter().find(|(k, _)| k == "id") {
            None => None,
            Some((_, v)) => Some(read_id(v).map_err(Rejected::bare)?),
        };
        let reject = |error| Rejected {
            id: id.clone(),
            reply_to: None,
            error,
        };

        let mut seen = std::collections::HashSet::new();
        for (k, _) in &raw_pairs {
            if !seen.insert(k.as_str()) {
                return Err(reject(ApiError::new(
                    code::DUPLICATE_FIELD,
                    format!("field `{k}` appears more than once"),
                )));
            }
        }

        let mut pairs = Vec::with_capacity(raw_pairs.len());
        for (k, raw) in raw_pairs {
            let value: Value = serde_json::from_str(raw.get()).map_err(|e| {
                reject(ApiError::new(
                    code::INVALID_JSON,
                    format!("field `{k}` is not valid JSON: {e}"),
                ))
            })?;
            pairs.push((k, value));
        }
        let reply_to = match pairs.iter().find(|(k, _)| k == "reply_to") {
            None => None,
            Some((_, Value::String(t))) => {
                topics
                    .validate_reply_to(t)
                    .map_err(|m| reject(ApiError::new(code::INVALID_REPLY_TO, m)))?;
                Some(t.clone())
            }
            Some((_, other)) => {
                return Err(reject(ApiError::new(
                    code::INVALID_REPLY_TO,
                    format!("reply_to must be a topic string, not {}", kind_of(other)),
                )));
            }
        };

        let fields = pairs
            .into_iter()
            .filter(|(k, _)| k != "id" && k != "reply_to")
            .collect();
        Ok(Envelope {
            id,
            reply_to,
            fields,
        })
    }

    /// A rejection that echoes this envelope's id and uses its reply topic.
    pub fn reject(&self, error: ApiError) -> Rejected {
        Rejected {
            id: self.id.clone(),
            reply_to: self.reply_to.clone(),
            error,
        }
    }

    /// Refuse the first field not in `allowed` (which excludes `id`/`reply_to`: those are
    /// always allowed).
    pub fn only(&self, allowed: &[&str], what: &str) -> Result<(), ApiError> {
        match self
            .fields
            .iter()
            .find(|(k, _)| !allowed.contains(&k.as_str()))
        {
            None => Ok(()),
            Some((k, _)) => Err(ApiError::new(
                code::UNKNOWN_FIELD,
                format!(
                    "unknown field `{k}` in {what}; known fields: id, reply_to, {}",
                    allowed.join(", ")
                ),
            )),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// An optional string field.
    pub fn str(&self, key: &str) -> Result<Option<&str>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(wrong_type(key, "a string", other)),
        }
    }

    /// A required string field.
    pub fn required_str(&self, key: &str) -> Result<&str, ApiError> {
        self.str(key)?.ok_or_else(|| missing(key))
    }

    /// An optional finite number.
    pub fn number(&self, key: &str) -> Result<Option<f64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(ApiError::new(
                    code::INVALID_VALUE,
                    format!("`{key}` must be a finite number, got {n}"),
                )),
            },
            Some(other) => Err(wrong_type(key, "a number", other)),
        }
    }

    /// An optional integer (no fraction, fits in i64).
    pub fn integer(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
                ApiError::new(
                    code::INVALID_VALUE,
                    format!("`{key}` must be a whole number, got {n}"),
                )
            }),
            Some(other) => Err(wrong_type(key, "an integer", other)),
        }
    }
}

pub(crate) fn missing(key: &str) -> ApiError {
    ApiError::new(code::MISSING_FIELD, format!("field `{key}` is required"))
}

pub(crate) fn wrong_type(key: &str, expected: &str, got: &Value) -> ApiError {
    let hint = if got.is_null() {
        " (omit the field instead of sending null)"
    } else {
        ""
    };
    ApiError::new(
        code::WRONG_TYPE,
        format!("`{key}` must be {expected}, not {}{hint}", kind_of(got)),
    )
}

pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn read_id(raw: &RawValue) -> Result<MessageId, ApiError> {
    let text = raw.get().trim();
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::new(code::INVALID_JSON, format!("`id` is not valid JSON: {e}")))?;
    match value {
        Value::String(s) if s.chars().count() <= MAX_ID_CHARS => Ok(MessageId {
            raw: text.to_owned(),
            text: Some(s),
        }),
        Value::String(_) => Err(ApiError::new(
            code::INVALID_VALUE,
            format!("`id` is longer than {MAX_ID_CHARS} characters"),
        )),
        Value::Number(_) if text.len() <= MAX_ID_CHARS => Ok(MessageId {
            raw: text.to_owned(),
            text: None,
        }),
        Value::Number(_) => Err(ApiError::new(
            code::INVALID_VALUE,
            format!("`id` is a number longer than {MAX_ID_CHARS} characters"),
        )),
        other => Err(wrong_type("id", "a string or a number", &other)),
    }
}

/// The top level of a payload, read so duplicate keys stay visible (a `serde_json::Map`
/// would silently keep the last one, letting `{"action":"lock","action":"unlock"}` mean
/// whatever the reader's map chose).
enum TopLevel {
    /// Values kept as text: the `id` is echoed exactly as sent, the rest parsed afterwards.
    Object(Vec<(String, Box<RawValue>)>),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for TopLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = TopLevel;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
        let mut pairs = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
            pairs.push((k, v));
        }
        Ok(TopLevel::Object(pairs))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopLevel, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TopLevel::Other("an array"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a string"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("null"))
    }
}
