//! Request/response over `<base>/request/<op>`: status, history (latest, range, rollup) and
//! events answered here; audit, policy explain and policy reload forwarded to the policy
//! supervisor. Every request gets exactly one response, an error being a structured reply.
//!
//! History queries run on a blocking thread, on the history writer's connection borrowed
//! between commits (`hearth_history::lend`: a waiting commit goes before later queries), so
//! a slow query never delays control or the broker connection. Nothing here changes the
//! house.

use super::answers;
use super::codes;
use super::replies::{Replies, ReplySource, queue_reply};
use crate::clock::Clock;
use crate::link::LinkState;
use crate::policy_requests::{PolicyOp, PolicyRequest};
use hearth_api::{HistoryQuery, MessageId, ParsedRequest, Request, RequestOp, Topics, code};
use hearth_history::{HistoryError, Store, WriterStatus};
use hearth_model::{HouseState, UnixMillis};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

/// Requests answered at once at most; more get `busy`.
const MAX_IN_FLIGHT: usize = 16;
/// How long the policy supervisor may take to answer.
const POLICY_TIMEOUT: Duration = Duration::from_secs(10);
/// Raw samples and rollup buckets per history reply at most, whatever the range: the
/// query reads one page (SQL `LIMIT`) and the reply's `next_since` asks for the next.
const HISTORY_PAGE: usize = 500;

/// Everything a request may read.
pub struct Requests {
    pub topics: Topics,
    pub state: watch::Receiver<HouseState>,
    pub history_status: watch::Receiver<WriterStatus>,
    /// For the live counters `status` reports (thinned readings, event backlog).
    pub history_handle: hearth_history::HistoryHandle,
    pub link: watch::Receiver<LinkState>,
    pub broker: (String, u16),
    pub history: HistoryReader,
    pub policy: Option<mpsc::Sender<PolicyRequest>>,
    pub clock: Clock,
    pub in_flight: Arc<Semaphore>,
}

impl Requests {
    pub fn new_in_flight() -> Arc<Semaphore> {
        Arc::new(Semaphore::new(MAX_IN_FLIGHT))
    }

    /// Answer `<base>/request/<op>` (a known op) received at `now`.
    pub fn handle(&self, op: RequestOp, payload: &[u8], replies: &Replies, now: UnixMillis) {
        let parsed = match hearth_api::parse_request(op, payload, &self.topics, now) {
            Ok(parsed) => parsed,
            Err(rejected) => {
                let default = self.topics.response(op.as_str());
                queue_reply(
                    replies,
                    ReplySource::Request,
                    rejected.reply_topic(&default),
                    rejected.reply_json(),
                );
                return;
            }
        };
        let topic = parsed.reply_topic(&self.topics);
        let ParsedRequest { id, request, .. } = parsed;
        if let Request::Status = request {
            let result = self.status(now);
            queue_reply(
                replies,
                ReplySource::Request,
                topic,
                hearth_api::response_ok(id.as_ref(), &result),
            );
            return;
        }
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            queue_reply(
                replies,
                ReplySource::Request,
                topic,
                hearth_api::reply_error(
                    id.as_ref(),
                    code::BUSY,
                    "too many requests in progress; try again shortly",
                ),
            );
            return;
        };
        let history = self.history.clone();
        let policy = self.policy.clone();
        let replies = replies.clone();
        let link = self.link.clone();
        tokio::spawn(async move {
            let result = match request {
                Request::History(query) => history.query(query).await,
                Request::Events {
                    since,
                    until,
                    limit,
                } => history.events(since, until, limit).await,
                Request::Audit {
                    cloud,
                    since,
                    limit,
                } => {
                    let op = PolicyOp::Audit {
                        cloud,
                        since,
                        limit: limit as usize,
                    };
                    ask_policy(policy, op).await.map(Answered::Value)
                }
                Request::PolicyExplain { cloud } => ask_policy(policy, PolicyOp::Explain { cloud })
                    .await
                    .map(Answered::Value),
                Request::PolicyReload => ask_policy(policy, PolicyOp::Reload)
                    .await
                    .map(Answered::Value),
                Request::Status => unreachable!("answered above"),
            };
            drop(permit);
            let broker_max = link.borrow().max_packet;
            let payload = response(id.as_ref(), &topic, broker_max, result);
            queue_reply(&replies, ReplySource::Request, topic, payload);
        });
    }

    /// The `status` result: state, faults, history health, broker connection, uptime.
    pub fn status(&self, now: UnixMillis) -> Value {
        let state = self.state.borrow().clone();
        let history = self.history_status.borrow().clone();
        let link = self.link.borrow().clone();
        let mut faults: Vec<&str> = state
            .thermostat
            .faults
            .iter()
            .chain(&state.lock.faults)
            .chain(history.fault().as_ref())
            .map(|f| f.as_str())
            .collect();
        faults.sort_unstable();
        faults.dedup();
        let uptime_ms = (self.clock.wall_now().0 - self.clock.started_at().0).max(0);
        json!({
            "thermostat": json_value(&hearth_api::thermostat_state_json(&state.thermostat)),
            "lock": json_value(&hearth_api::lock_state_json(&state.lock)),
            "faults": faults,
            "history": {
                "healthy": history.healthy,
                "last_error": history.last_error,
                "pending_samples": history.pending_samples,
                "pending_events": history.pending_events,
                "events_backlog": self.history_handle.events_backlog(),
                "readings_dropped": self.history_handle.readings_dropped(),
                "events_dropped": history.stats.events_dropped,
            },
            "broker": {
                "connected": link.connected,
                "host": self.broker.0,
                "port": self.broker.1,
                "connected_since": link.connected_since.map(UnixMillis::to_rfc3339),
                "disconnects": link.disconnects,
                "session_takeovers": link.takeovers,
                "last_error": link.last_error,
                "replies_dropped": super::replies::replies_dropped(),
            },
            "started_at": self.clock.started_at().to_rfc3339(),
            "uptime_s": uptime_ms / 1000,
            "now": now.to_rfc3339(),
            "version": env!("CARGO_PKG_VERSION"),
        })
    }
}

/// A structured error for the response: its code and message.
type Failure = (&'static str, String);
/// An answer, or a structured error.
type Answer = Result<Answered, Failure>;

/// An answer as it was built: JSON already written from the rows (`answers`), or the policy
/// supervisor's `Value`, serialized once, into the reply.
#[derive(Debug)]
enum Answered {
    Json(Box<RawValue>),
    Value(Value),
}

/// The reply to send on `topic`. An answer too large to be sent (an audit of many large
/// cloud payloads) would be dropped on its way, by the reply queue or before the broker,
/// and leave the client with no reply at all: it becomes an `answer_too_large` error. On
/// MQTT 3.1.1 a broker announces no limit, so one it sets (`message_size_limit`) is not
/// known here.
fn response(
    id: Option<&MessageId>,
    topic: &str,
    broker_max: Option<u32>,
    answer: Answer,
) -> Vec<u8> {
    let reply = match answer {
        Ok(Answered::Json(result)) => hearth_api::response_ok(id, &*result),
        Ok(Answered::Value(result)) => hearth_api::response_ok(id, &result),
        Err((code, message)) => return hearth_api::reply_error(id, code, &message),
    };
    let queue = super::replies::room(topic);
    let broker = super::publish::broker_room(topic, broker_max);
    if reply.len() <= queue.min(broker) {
        return reply;
    }
    let limit = if broker < queue {
        format!("the broker takes at most {broker} bytes on this topic")
    } else {
        format!("hearth keeps at most {queue} bytes for a reply waiting to be sent")
    };
    hearth_api::reply_error(
        id,
        codes::ANSWER_TOO_LARGE,
        &format!(
            "the answer is {} bytes and {limit}; ask for fewer rows (a smaller `limit` or a \
             later `since`)",
            reply.len()
        ),
    )
}

fn json_value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("state JSON is valid JSON")
}

async fn ask_policy(
    policy: Option<mpsc::Sender<PolicyRequest>>,
    op: PolicyOp,
) -> Result<Value, Failure> {
    let unavailable = || {
        (
            codes::POLICY_UNAVAILABLE,
            "no clouds are configured, so there is no policy to ask".to_owned(),
        )
    };
    let Some(policy) = policy else {
        return Err(unavailable());
    };
    let (tx, rx) = oneshot::channel();
    if policy.send(PolicyRequest { op, reply: tx }).await.is_err() {
        return Err(unavailable());
    }
    match tokio::time::timeout(POLICY_TIMEOUT, rx).await {
        Ok(Ok(Ok(value))) => Ok(value),
        Ok(Ok(Err(e))) => Err((e.code, e.message)),
        Ok(Err(_)) => Err(unavailable()),
        Err(_) => Err((
            codes::TIMEOUT,
            "the policy supervisor did not answer in time".to_owned(),
        )),
    }
}

/// The history as requests read it: the writer's connection, borrowed between commits
/// (`hearth_history::lend`), on blocking threads only.
#[derive(Clone)]
pub struct HistoryReader {
    reader: hearth_history::Reader,
}

impl HistoryReader {
    pub fn new(reader: hearth_history::Reader) -> Self {
        Self { reader }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, HistoryError> + Send + 'static,
    ) -> Result<T, Failure> {
        let reader = self.reader.clone();
        let joined = tokio::task::spawn_blocking(move || {
            if !reader.path().exists() {
                // The writer creates the file at its first commit.
                return Err((
                    codes::HISTORY_UNAVAILABLE,
                    format!(
                        "nothing is recorded yet: {} is created at the first commit \
                         (history.commit_interval); ask again shortly",
                        reader.path().display()
                    ),
                ));
            }
            let store = reader.read().map_err(history_error)?;
            f(&store).map_err(history_error)
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(e) => Err((
                codes::HISTORY_UNAVAILABLE,
                format!("the history query failed: {e}"),
            )),
        }
    }

    async fn query(&self, query: HistoryQuery) -> Answer {
        match query {
            HistoryQuery::Latest { field } => {
                let fields: Vec<_> = match field {
                    Some(f) => vec![f],
                    None => hearth_model::Field::ALL.to_vec(),
                };
                let rows = self
                    .run(move |s| {
                        let mut rows = Vec::new();
                        for f in fields {
                            if let Some(sample) = s.latest(f)? {
                                rows.push(sample);
                            }
                        }
                        Ok(rows)
                    })
                    .await?;
                Ok(Answered::Json(answers::latest(&rows)))
            }
            HistoryQuery::Range {
                field,
                since,
                until,
                limit,
            } => {
                let page_size = (limit as usize).min(HISTORY_PAGE);
                let page = self
                    .run(move |s| s.range_page(field, since, until, page_size))
                    .await?;
                Ok(Answered::Json(answers::range(field, &page)))
            }
            HistoryQuery::Rollup {
                field,
                since,
                until,
                every,
            } => {
                let page = self
                    .run(move |s| s.rollup_page(field, since, until, every, HISTORY_PAGE))
                    .await?;
                let every = hearth_model::duration::format(every);
                Ok(Answered::Json(answers::rollup(field, &every, &page)))
            }
        }
    }

    async fn events(
        &self,
        since: Option<UnixMillis>,
        until: Option<UnixMillis>,
        limit: u32,
    ) -> Answer {
        let since = since.unwrap_or(UnixMillis(i64::MIN));
        let until = until.unwrap_or(UnixMillis(i64::MAX));
        let rows = self
            .run(move |s| s.events(since, until, limit as usize))
            .await?;
        Ok(Answered::Json(answers::events(&rows)))
    }
}

fn history_error(e: HistoryError) -> Failure {
    let code = match e {
        HistoryError::BadStep { .. } | HistoryError::NotNumeric { .. } => code::INVALID_VALUE,
        _ => codes::HISTORY_UNAVAILABLE,
    };
    (code, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy_requests::PolicyError;

    #[tokio::test]
    async fn policy_requests_without_a_supervisor_are_unavailable() {
        let (code, message) = ask_policy(None, PolicyOp::Reload).await.unwrap_err();
        assert_eq!(code, codes::POLICY_UNAVAILABLE);
        assert!(message.contains("no clouds"), "{message}");
    }

    #[tokio::test]
    async fn policy_answers_and_errors_are_relayed() {
        let (tx, mut rx) = mpsc::channel::<PolicyRequest>(1);
        tokio::spawn(async move {
            while let Some(req) = rx.recv().await {
                let answer = match req.op {
                    PolicyOp::Explain { .. } => Ok(json!({"clouds": []})),
                    _ => Err(PolicyError {
                        code: "reload_refused",
                        message: "bad policy".into(),
                    }),
                };
                let _ = req.reply.send(answer);
            }
        });
        let explained = ask_policy(Some(tx.clone()), PolicyOp::Explain { cloud: None }).await;
        assert_eq!(explained, Ok(json!({"clouds": []})));
        let refused = ask_policy(Some(tx), PolicyOp::Reload).await;
        assert_eq!(refused, Err(("reload_refused", "bad policy".to_owned())));
    }

    fn parsed(answer: &Answered) -> Value {
        match answer {
            Answered::Json(raw) => serde_json::from_str(raw.get()).unwrap(),
            Answered::Value(v) => v.clone(),
        }
    }

    #[tokio::test]
    async fn history_ranges_come_in_pages_that_chain() {
        use hearth_history::Sample;
        use hearth_model::{Field, Value as V};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        let field = Field::ThermostatTemperature;
        let t0 = 1_795_564_800_000i64;
        let samples: Vec<Sample> = (0..2500)
            .map(|i| Sample {
                at: UnixMillis(t0 + i * 10_000),
                field,
                value: V::Number(20.0 + (i % 10) as f64 / 10.0),
            })
            .collect();
        Store::open(&path).unwrap().insert(&samples, &[]).unwrap();
        let reader = HistoryReader::new(hearth_history::Reader::file(path));
        let mut since = UnixMillis(t0);
        let mut got = 0;
        let mut pages = 0;
        loop {
            let query = HistoryQuery::Range {
                field,
                since,
                until: UnixMillis(t0 + 86_400_000),
                limit: 10_000,
            };
            let answer = parsed(&reader.query(query).await.unwrap());
            let n = answer["samples"].as_array().unwrap().len();
            assert!(n <= HISTORY_PAGE, "{n} samples in one reply");
            got += n;
            pages += 1;
            match answer["next_since"].as_str() {
                Some(next) => {
                    assert_eq!(answer["truncated"], true);
                    since = UnixMillis::parse_rfc3339(next).unwrap();
                }
                None => break,
            }
        }
        assert_eq!((got, pages), (2500, 5));
        let rollup = HistoryQuery::Rollup {
            field,
            since: UnixMillis(t0),
            until: UnixMillis(t0 + 365 * 86_400_000),
            every: Duration::from_secs(3600),
        };
        let answer = parsed(&reader.query(rollup).await.unwrap());
        assert_eq!(answer["buckets"].as_array().unwrap().len(), 7, "{answer}");
        assert!(
            answer["next_since"].is_string(),
            "a year of hours is cut into pages"
        );
    }

    #[test]
    fn an_answer_too_large_to_send_is_an_error_reply_not_silence() {
        use super::super::{publish, replies};
        let id = MessageId::from(7);
        let topic = "hearth/response/audit";
        let rows = |n: usize| json!({"rows": "x".repeat(n)});
        let overhead = hearth_api::response_ok(Some(&id), &rows(0)).len();
        let send = |n: usize, broker_max: Option<u32>| -> Value {
            let payload = response(Some(&id), topic, broker_max, Ok(Answered::Value(rows(n))));
            serde_json::from_slice(&payload).unwrap()
        };
        let refused = |reply: Value, why: &str| {
            assert_eq!(reply["ok"], false, "{reply}");
            assert_eq!(reply["id"], 7);
            assert_eq!(reply["error"]["code"], codes::ANSWER_TOO_LARGE);
            let message = reply["error"]["message"].as_str().unwrap();
            assert!(message.contains(why), "{message}");
            assert!(message.contains("smaller `limit`"), "{message}");
        };
        // The reply queue's bound: the largest answer that fits is sent, one byte more is
        // refused, under the client's id, saying why.
        let queue = replies::room(topic);
        assert_eq!(send(queue - overhead, None)["ok"], true);
        refused(
            send(queue - overhead + 1, None),
            &format!("at most {queue} bytes for a reply waiting"),
        );
        // The broker's, when it announced a smaller one.
        let max = 65_536;
        let broker = publish::broker_room(topic, Some(max));
        assert!(broker < queue);
        assert_eq!(send(broker - overhead, Some(max))["ok"], true);
        refused(
            send(broker - overhead + 1, Some(max)),
            &format!("the broker takes at most {broker} bytes"),
        );
        // Errors pass as they are.
        let error = response(Some(&id), topic, Some(10), Err(("busy", "x".repeat(100))));
        assert!(String::from_utf8(error).unwrap().contains("busy"));
    }

    #[tokio::test]
    async fn history_before_the_first_commit_is_a_structured_error() {
        let dir = tempfile::tempdir().unwrap();
        let reader =
            HistoryReader::new(hearth_history::Reader::file(dir.path().join("history.db")));
        let (code, message) = reader.events(None, None, 10).await.unwrap_err();
        assert_eq!(code, codes::HISTORY_UNAVAILABLE);
        assert!(message.contains("nothing is recorded yet"), "{message}");
    }
}
