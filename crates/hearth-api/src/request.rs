//! Parsing `<base>/request/<op>` payloads into typed [`Request`]s: history, event and audit
//! queries, policy explain/reload and status, with times as RFC 3339, `"now"`, or a
//! duration back from now (`"24h"`).
//!
//! It only says what was asked; the daemon runs the query and builds the response with
//! `reply.rs`. It never reads the clock: `now` is passed in.

use crate::envelope::{Envelope, MessageId, missing};
use crate::error::{ApiError, Rejected, code};
use crate::secrets::check_client_name;
use crate::topics::{RequestOp, Topics};
use hearth_model::{Field, UnixMillis};
use std::time::Duration;

/// `limit` of events/audit when not given, and its maximum.
pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;
/// `limit` of a history range when not given, and its maximum.
pub const DEFAULT_RANGE_LIMIT: u32 = 1000;
pub const MAX_RANGE_LIMIT: u32 = 10_000;
/// Rollup step when `every` is not given.
pub const DEFAULT_ROLLUP_EVERY: Duration = Duration::from_secs(3600);

/// A request that passed every check here, with what is needed to reply to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRequest {
    pub op: RequestOp,
    pub id: Option<MessageId>,
    pub reply_to: Option<String>,
    pub request: Request,
}

impl ParsedRequest {
    /// Where the response goes: `reply_to`, else `<base>/response/<op>`.
    pub fn reply_topic(&self, topics: &Topics) -> String {
        self.reply_to
            .clone()
            .unwrap_or_else(|| topics.response(self.op.as_str()))
    }
}

/// What a client asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Current state, faults, connections.
    Status,
    History(HistoryQuery),
    /// The event log (commands and their sources, state changes, faults).
    Events {
        since: Option<UnixMillis>,
        until: Option<UnixMillis>,
        limit: u32,
    },
    /// The sharing ledger, optionally for one cloud.
    Audit {
        cloud: Option<String>,
        since: Option<UnixMillis>,
        limit: u32,
    },
    /// The policy in plain words, optionally for one cloud.
    PolicyExplain {
        cloud: Option<String>,
    },
    PolicyReload,
}

/// A history query. Times are inclusive `since`, exclusive `until`, `since < until`.
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryQuery {
    /// The newest stored value of one field, or of every field when `field` is absent.
    Latest { field: Option<Field> },
    /// Raw samples of one field, oldest first, at most `limit`.
    Range {
        field: Field,
        since: UnixMillis,
        until: UnixMillis,
        limit: u32,
    },
    /// min/avg/max of a numeric field per `every`.
    Rollup {
        field: Field,
        since: UnixMillis,
        until: UnixMillis,
        every: Duration,
    },
}

/// Parse a request payload for a known `op`. An empty payload means `{}`.
pub fn parse_request(
    op: RequestOp,
    payload: &[u8],
    topics: &Topics,
    now: UnixMillis,
) -> Result<ParsedRequest, Rejected> {
    let payload = if payload.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        payload
    };
    let env = Envelope::open(payload, topics)?;
    let request = match op {
        RequestOp::Status => env.only(&[], "a status request").map(|()| Request::Status),
        RequestOp::PolicyReload => env
            .only(&[], "a policy_reload request")
            .map(|()| Request::PolicyReload),
        RequestOp::PolicyExplain => policy_explain(&env),
        RequestOp::History => history(&env, now).map(Request::History),
        RequestOp::Events => events(&env, now),
        RequestOp::Audit => audit(&env, now),
    }
    .map_err(|e| env.reject(e))?;
    Ok(ParsedRequest {
        op,
        id: env.id,
        reply_to: env.reply_to,
        request,
    })
}

/// The refusal for `<base>/request/<op>` with an unknown op, echoing the id (and using
/// `reply_to`) when the payload allows it.
pub fn unknown_request(op: &str, payload: &[u8], topics: &Topics) -> Rejected {
    let known: Vec<_> = RequestOp::ALL.iter().map(|o| o.as_str()).collect();
    let error = ApiError::new(
        code::UNKNOWN_REQUEST,
        format!("no request `{op}`; known requests: {}", known.join(", ")),
    );
    match Envelope::open(payload, topics) {
        Ok(env) => env.reject(error),
        Err(r) => Rejected { error, ..r },
    }
}

fn policy_explain(env: &Envelope) -> Result<Request, ApiError> {
    env.only(&["cloud"], "a policy_explain request")?;
    Ok(Request::PolicyExplain {
        cloud: cloud_name(env)?,
    })
}

fn history(env: &Envelope, now: UnixMillis) -> Result<HistoryQuery, ApiError> {
    env.only(
        &["query", "field", "since", "until", "every", "limit"],
        "a history request",
    )?;
    let query = env.str("query")?.unwrap_or("latest");
    let field = env.str("field")?.map(parse_field).transpose()?;
    let since = time(env, "since", now)?;
    let until = time(env, "until", now)?;
    let only_for = |key: &str, query_name: &str| {
        ApiError::new(
            code::INVALID_VALUE,
            format!("`{key}` only applies to query \"{query_name}\""),
        )
    };
    match query {
        "latest" => {
            for key in ["since", "until", "every", "limit"] {
                if env.has(key) {
                    return Err(ApiError::new(
                        code::INVALID_VALUE,
                        format!("`{key}` does not apply to query \"latest\""),
                    ));
                }
            }
            Ok(HistoryQuery::Latest { field })
        }
        "range" => {
            if env.has("every") {
                return Err(only_for("every", "rollup"));
            }
            let field = field.ok_or_else(|| missing("field"))?;
            let (since, until) = span(since, until, now)?;
            let limit = limit(env, DEFAULT_RANGE_LIMIT, MAX_RANGE_LIMIT)?;
            Ok(HistoryQuery::Range {
                field,
                since,
                until,
                limit,
            })
        }
        "rollup" => {
            if env.has("limit") {
                return Err(only_for("limit", "range"));
            }
            let field = field.ok_or_else(|| missing("field"))?;
            if !field.is_numeric() {
                return Err(ApiError::new(
                    code::INVALID_VALUE,
                    format!("`{field}` is not numeric, so it has no rollups; use query \"range\""),
                ));
            }
            let (since, until) = span(since, until, now)?;
            let every = match env.str("every")? {
                None => DEFAULT_ROLLUP_EVERY,
                Some(text) => hearth_model::duration::parse(text)
                    .map_err(|m| ApiError::new(code::INVALID_VALUE, format!("`every`: {m}")))?,
            };
            if every < Duration::from_secs(1) {
                return Err(ApiError::new(
                    code::INVALID_VALUE,
                    "`every` must be at least 1s, e.g. \"1h\"",
                ));
            }
            Ok(HistoryQuery::Rollup {
                field,
                since,
                until,
                every,
            })
        }
        other => Err(ApiError::new(
            code::INVALID_VALUE,
            format!("`query` is `{other}`; use \"latest\", \"range\" or \"rollup\""),
        )),
    }
}

fn events(env: &Envelope, now: UnixMillis) -> Result<Request, ApiError> {
    env.only(&["since", "until", "limit"], "an events request")?;
    let since = time(env, "since", now)?;
    let until = time(env, "until", now)?;
    if let (Some(s), Some(u)) = (since, until) {
        ordered(s, u)?;
    }
    Ok(Request::Events {
        since,
        until,
        limit: limit(env, DEFAULT_LIMIT, MAX_LIMIT)?,
    })
}

fn audit(env: &Envelope, now: UnixMillis) -> Result<Request, ApiError> {
    env.only(&["cloud", "since", "limit"], "an audit request")?;
    Ok(Request::Audit {
        cloud: cloud_name(env)?,
        since: time(env, "since", now)?,
        limit: limit(env, DEFAULT_LIMIT, MAX_LIMIT)?,
    })
}

fn cloud_name(env: &Envelope) -> Result<Option<String>, ApiError> {
    let cloud = env.str("cloud")?;
    if let Some(name) = cloud {
        check_client_name(name).map_err(|_| {
            ApiError::new(
                code::INVALID_VALUE,
                format!("`cloud` `{name}` is not a cloud name (letters, digits, `_ . -`)"),
            )
        })?;
    }
    Ok(cloud.map(str::to_owned))
}

fn parse_field(name: &str) -> Result<Field, ApiError> {
    name.parse::<Field>()
        .map_err(|m| ApiError::new(code::INVALID_VALUE, m))
}

fn limit(env: &Envelope, default: u32, max: u32) -> Result<u32, ApiError> {
    match env.integer("limit")? {
        None => Ok(default),
        Some(n) if (1..=i64::from(max)).contains(&n) => Ok(n as u32),
        Some(n) => Err(ApiError::new(
            code::INVALID_VALUE,
            format!("`limit` is {n}; use 1 to {max}"),
        )),
    }
}

/// A range's bounds: `since` required, `until` defaulting to now.
fn span(
    since: Option<UnixMillis>,
    until: Option<UnixMillis>,
    now: UnixMillis,
) -> Result<(UnixMillis, UnixMillis), ApiError> {
    let since = since.ok_or_else(|| missing("since"))?;
    let until = until.unwrap_or(now);
    ordered(since, until)?;
    Ok((since, until))
}

fn ordered(since: UnixMillis, until: UnixMillis) -> Result<(), ApiError> {
    if since >= until {
        return Err(ApiError::new(
            code::INVALID_VALUE,
            format!("`since` ({since}) must be before `until` ({until})"),
        ));
    }
    Ok(())
}

fn time(env: &Envelope, key: &str, now: UnixMillis) -> Result<Option<UnixMillis>, ApiError> {
    env.str(key)?
        .map(|text| {
            parse_time(text, now)
                .map_err(|m| ApiError::new(code::INVALID_VALUE, format!("`{key}`: {m}")))
        })
        .transpose()
}

/// `"now"`, an RFC 3339 time (`2026-11-25T08:00:00Z`), or a duration back from now
/// (`"24h"`, `"90m"`, `"7days"`).
pub fn parse_time(text: &str, now: UnixMillis) -> Result<UnixMillis, String> {
    let text = text.trim();
    if text == "now" {
        return Ok(now);
    }
    if let Ok(t) = UnixMillis::parse_rfc3339(text) {
        return Ok(t);
    }
    match hearth_model::duration::parse(text) {
        Ok(d) => Ok(now.saturating_sub(d)),
        Err(_) => Err(format!(
            "`{text}` is not a time; write \"now\", an RFC 3339 time like \
             \"2026-11-25T08:00:00Z\", or a duration back from now like \"24h\""
        )),
    }
}
