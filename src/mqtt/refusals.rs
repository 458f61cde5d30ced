//! Making every refused command visible: a line at info in the journal, an entry in the
//! event log (for refusals the house task never saw — a parse error, a bad signature, a
//! wrong unlock code), and a non-retained event on `<base>/event/refusal` that Home
//! Assistant shows as the "last refusal" event entity.
//!
//! What a refusal says comes from the reply's code and message, which never echo a
//! signature or an unlock code. This file never decides whether a command is refused.

use super::replies::Reply;
use hearth_api::CommandTarget;
use hearth_history::{Event, EventKind, HistoryHandle};
use hearth_model::{Source, UnixMillis};
use tokio::sync::mpsc;

/// Where a refused command was turned away; it decides what besides the announcement is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Refused before it reached the controllers: logged at info, recorded, announced.
    BeforeHouse,
    /// Turned away because the house's queue is full or it is stopping: nothing was looked
    /// at, so nothing goes into the event log (under a flood that would be one row per
    /// command; `status` counts them) and the journal line is at debug. Still announced.
    NotTaken,
    /// Refused by the controllers: the house task has logged and recorded it; announced.
    ByHouse,
}

/// Where refusals are reported. Cheap to clone.
#[derive(Clone)]
pub struct Refusals {
    topic: String,
    events: mpsc::Sender<Reply>,
    /// `None` in tests; the daemon always records.
    history: Option<HistoryHandle>,
}

impl Refusals {
    pub fn new(topic: &str, events: mpsc::Sender<Reply>, history: Option<HistoryHandle>) -> Self {
        Self {
            topic: topic.to_owned(),
            events,
            history,
        }
    }

    /// Log, record and announce one refused command, as its `stage` asks.
    pub fn refused(
        &self,
        stage: Stage,
        target: CommandTarget,
        client: Option<&str>,
        code: &str,
        message: &str,
    ) {
        let what = what(target);
        let who = client.unwrap_or("-");
        match stage {
            Stage::BeforeHouse => {
                tracing::info!(
                    target_device = what,
                    client = who,
                    code,
                    "{what} command refused: {message}"
                );
                self.record(what, client, code, message);
            }
            Stage::NotTaken => {
                tracing::debug!(
                    target_device = what,
                    client = who,
                    code,
                    "{what} command not taken: {message}"
                );
            }
            Stage::ByHouse => {}
        }
        self.announce(what, client, code, message);
    }

    fn record(&self, what: &str, client: Option<&str>, code: &str, message: &str) {
        if let Some(history) = &self.history {
            history.record_event(Event {
                at: UnixMillis::now(),
                kind: EventKind::CommandRefused,
                source: Some(Source::Local(
                    client.unwrap_or(hearth_api::DEFAULT_CLIENT).to_owned(),
                )),
                detail: format!("{what}: {message} ({code})"),
            });
        }
    }

    /// Best effort, on a queue of its own: under a flood of refused commands the events
    /// that do not fit are dropped (the replies and the event log still have them), and
    /// they never take room from replies.
    fn announce(&self, what: &str, client: Option<&str>, code: &str, message: &str) {
        let payload = hearth_api::refusal_event_json(what, client, code, message);
        if self.events.try_send((self.topic.clone(), payload)).is_err() {
            tracing::debug!("refusal event dropped: too many waiting");
        }
    }
}

fn what(target: CommandTarget) -> &'static str {
    match target {
        CommandTarget::Thermostat => "thermostat",
        CommandTarget::Lock => "lock",
    }
}

/// The `client` a payload names, if it is a plain client name; read only to say who was
/// refused (the parser has already refused the payload itself).
pub fn claimed_client(payload: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(payload).ok()?;
    let name = value.get("client")?.as_str()?;
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    plain.then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed_client_is_read_only_when_plain() {
        assert_eq!(
            claimed_client(br#"{"action":"unlock","client":"home_assistant","code":"1"}"#),
            Some("home_assistant".into())
        );
        assert_eq!(claimed_client(br#"{"client":"a b"}"#), None);
        assert_eq!(claimed_client(b"not json"), None);
        assert_eq!(claimed_client(br#"{"client":7}"#), None);
    }

    #[tokio::test]
    async fn a_refusal_is_announced_as_an_event() {
        let (tx, mut rx) = mpsc::channel(4);
        let r = Refusals::new("hearth/event/refusal", tx, None);
        r.refused(
            Stage::BeforeHouse,
            CommandTarget::Lock,
            Some("home_assistant"),
            "wrong_code",
            "the unlock code is wrong",
        );
        r.refused(
            Stage::ByHouse,
            CommandTarget::Thermostat,
            None,
            "setpoints_too_close",
            "apart",
        );
        let (topic, payload) = rx.recv().await.unwrap();
        assert_eq!(topic, "hearth/event/refusal");
        let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"event_type":"refused","target":"lock","client":"home_assistant",
                "code":"wrong_code","message":"the unlock code is wrong"})
        );
        let (_, payload) = rx.recv().await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(v["target"], "thermostat");
        assert_eq!(v["client"], serde_json::Value::Null);
    }
}
