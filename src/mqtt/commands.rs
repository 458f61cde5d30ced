//! Thermostat and lock commands from `<base>/thermostat/set` and `<base>/lock/set`: parsed
//! strictly (and unlocks verified) by hearth-api, handed to the house task, and answered with
//! one reply each — ok, the controller's refusal, or the parse error.
//!
//! A refused message never reaches the house task, so it can never move hardware. Every
//! refusal is also reported through [`Refusals`] (journal, event log, Home Assistant event).
//! This file never waits on the broker: verdicts are awaited on a spawned task and replies
//! are queued.

use super::codes;
use super::refusals::{Refusals, Stage, claimed_client};
use super::replies::{Replies, ReplySource, queue_reply};
use crate::house::CommandRequest;
use hearth_api::{CommandGuard, CommandTarget, MessageId, Topics, code};
use hearth_model::UnixMillis;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long a command waits for the controllers' verdict. The house answers in
/// microseconds; this only bounds a house that has stopped.
const VERDICT_TIMEOUT: Duration = Duration::from_secs(5);

/// Handle one command payload that arrived at `now` (wall clock).
#[allow(clippy::too_many_arguments)] // the intake's parts, passed from its one call site
pub fn handle(
    target: CommandTarget,
    payload: &[u8],
    topics: &Topics,
    guard: &mut CommandGuard,
    house: &mpsc::Sender<CommandRequest>,
    replies: &Replies,
    refusals: &Refusals,
    now: UnixMillis,
) {
    let default_topic = topics.command_response(target);
    let parsed = match hearth_api::parse_command(target, payload, topics, guard, now) {
        Ok(parsed) => parsed,
        Err(rejected) => {
            refusals.refused(
                Stage::BeforeHouse,
                target,
                claimed_client(payload).as_deref(),
                rejected.error.code,
                &rejected.error.message,
            );
            queue_reply(
                replies,
                target.into(),
                rejected.reply_topic(default_topic),
                rejected.reply_json(),
            );
            return;
        }
    };
    let reply_topic = parsed.reply_topic(topics, target).to_owned();
    let id = parsed.id.clone();
    let client = match &parsed.command.source {
        hearth_model::Source::Local(name) => Some(name.clone()),
        _ => None,
    };
    let (tx, verdict) = oneshot::channel();
    let request = CommandRequest {
        command: parsed.command,
        reply: tx,
    };
    // Never wait for room: a stalled house must not stall the broker connection.
    if let Err(e) = house.try_send(request) {
        let (code, message) = match e {
            mpsc::error::TrySendError::Full(_) => (
                code::BUSY,
                "hearth is still working through earlier commands; try again",
            ),
            mpsc::error::TrySendError::Closed(_) => (
                codes::SHUTTING_DOWN,
                "hearth is shutting down; the command was not carried out",
            ),
        };
        refusals.refused(Stage::NotTaken, target, client.as_deref(), code, message);
        queue_reply(
            replies,
            ReplySource::from(target),
            reply_topic,
            hearth_api::reply_error(id.as_ref(), code, message),
        );
        return;
    }
    let replies = replies.clone();
    let refusals = refusals.clone();
    tokio::spawn(async move {
        let payload = verdict_reply(id.as_ref(), verdict, |r| {
            refusals.refused(
                Stage::ByHouse,
                target,
                client.as_deref(),
                r.code,
                &r.message,
            )
        })
        .await;
        queue_reply(&replies, target.into(), reply_topic, payload);
    });
}

async fn verdict_reply(
    id: Option<&MessageId>,
    verdict: oneshot::Receiver<Result<(), hearth_control::Refusal>>,
    on_refusal: impl FnOnce(&hearth_control::Refusal),
) -> Vec<u8> {
    match tokio::time::timeout(VERDICT_TIMEOUT, verdict).await {
        Ok(Ok(Ok(()))) => hearth_api::reply_ok(id),
        Ok(Ok(Err(refusal))) => {
            on_refusal(&refusal);
            hearth_api::reply_error(id, refusal.code, &refusal.message)
        }
        Ok(Err(_)) => hearth_api::reply_error(
            id,
            codes::SHUTTING_DOWN,
            "hearth is shutting down; the command was not carried out",
        ),
        Err(_) => hearth_api::reply_error(
            id,
            codes::TIMEOUT,
            "the controllers did not answer in time; check the lock or thermostat state before retrying",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_api::Secrets;
    use hearth_model::{CommandKind, Mode, Source};
    use serde_json::Value;

    struct Rig {
        topics: Topics,
        guard: CommandGuard,
        house_tx: mpsc::Sender<CommandRequest>,
        house_rx: mpsc::Receiver<CommandRequest>,
        replies_tx: Replies,
        replies_rx: super::super::replies::ReplyReceiver,
        refusals: Refusals,
        events_rx: mpsc::Receiver<super::super::replies::Reply>,
    }

    fn rig(house_capacity: usize) -> Rig {
        let (house_tx, house_rx) = mpsc::channel(house_capacity);
        let (replies_tx, replies_rx) = super::super::replies::reply_queue(16);
        let (events_tx, events_rx) = mpsc::channel(16);
        Rig {
            refusals: Refusals::new("hearth/event/refusal", events_tx, None),
            events_rx,
            topics: Topics::new("hearth", "homeassistant"),
            guard: CommandGuard::new(Secrets::empty(), UnixMillis(0), Duration::from_secs(10)),
            house_tx,
            house_rx,
            replies_tx,
            replies_rx,
        }
    }

    impl Rig {
        fn send(&mut self, target: CommandTarget, payload: &str) {
            handle(
                target,
                payload.as_bytes(),
                &self.topics,
                &mut self.guard,
                &self.house_tx,
                &self.replies_tx,
                &self.refusals,
                UnixMillis(1_000_000),
            );
        }

        async fn reply(&mut self) -> (String, Value) {
            let (topic, payload) = self.replies_rx.recv().await.unwrap();
            (topic, serde_json::from_slice(&payload).unwrap())
        }
    }

    #[tokio::test]
    async fn a_malformed_command_is_answered_and_never_reaches_the_house() {
        let mut r = rig(4);
        r.send(CommandTarget::Thermostat, "{\"id\":3,\"mode\":\"warm\"}");
        r.send(CommandTarget::Lock, "not json");
        r.send(CommandTarget::Lock, "{\"id\":\"u\",\"action\":\"unlock\"}");
        let (topic, v) = r.reply().await;
        assert_eq!(topic, "hearth/response/thermostat/set");
        assert_eq!(
            (v["id"].clone(), v["error"]["code"].clone()),
            (3.into(), "invalid_value".into())
        );
        let (topic, v) = r.reply().await;
        assert_eq!(topic, "hearth/response/lock/set");
        assert_eq!(
            (v["id"].clone(), v["error"]["code"].clone()),
            (Value::Null, "invalid_json".into())
        );
        let (_, v) = r.reply().await;
        assert_eq!(v["error"]["code"], "unlock_disabled");
        assert!(
            r.house_rx.try_recv().is_err(),
            "a refused command reached the house"
        );
        // Each refusal is announced as an event too.
        let mut codes = Vec::new();
        while let Ok((topic, payload)) = r.events_rx.try_recv() {
            assert_eq!(topic, "hearth/event/refusal");
            let v: Value = serde_json::from_slice(&payload).unwrap();
            codes.push(v["code"].as_str().unwrap().to_owned());
        }
        assert_eq!(codes, ["invalid_value", "invalid_json", "unlock_disabled"]);
    }

    #[tokio::test]
    async fn a_valid_command_gets_the_controllers_verdict() {
        let mut r = rig(4);
        r.send(
            CommandTarget::Thermostat,
            "{\"id\":\"a\",\"mode\":\"heat\",\"client\":\"panel\",\"reply_to\":\"hearth/client/me/replies\"}",
        );
        let req = r.house_rx.recv().await.unwrap();
        assert_eq!(req.command.source, Source::Local("panel".into()));
        let CommandKind::Thermostat(change) = &req.command.kind else {
            panic!("not a thermostat command: {:?}", req.command);
        };
        assert_eq!(change.mode, Some(Mode::Heat));
        req.reply.send(Ok(())).unwrap();
        assert_eq!(
            r.reply().await,
            (
                "hearth/client/me/replies".into(),
                serde_json::json!({"id":"a","ok":true})
            )
        );

        r.send(CommandTarget::Lock, "{\"id\":9,\"action\":\"lock\"}");
        let req = r.house_rx.recv().await.unwrap();
        req.reply
            .send(Err(hearth_control::Refusal {
                code: "door_open",
                message: "the door is open".into(),
            }))
            .unwrap();
        let (_, v) = r.reply().await;
        assert_eq!(
            (v["id"].clone(), v["error"]["code"].clone()),
            (9.into(), "door_open".into())
        );
        let (_, event) = r.events_rx.recv().await.unwrap();
        let event: Value = serde_json::from_slice(&event).unwrap();
        assert_eq!(
            (
                event["target"].clone(),
                event["code"].clone(),
                event["client"].clone()
            ),
            ("lock".into(), "door_open".into(), "local".into())
        );
    }

    #[tokio::test]
    async fn a_full_or_stopped_house_is_answered_at_once() {
        let mut r = rig(1);
        r.send(CommandTarget::Lock, "{\"id\":1,\"action\":\"lock\"}");
        r.send(CommandTarget::Lock, "{\"id\":2,\"action\":\"lock\"}");
        let (_, v) = r.reply().await;
        assert_eq!(
            (v["id"].clone(), v["error"]["code"].clone()),
            (2.into(), "busy".into())
        );
        let first = r.house_rx.recv().await.unwrap();
        drop(first);
        let (_, v) = r.reply().await;
        assert_eq!(
            (v["id"].clone(), v["error"]["code"].clone()),
            (1.into(), "shutting_down".into())
        );
        r.house_rx.close();
        r.send(CommandTarget::Lock, "{\"id\":3,\"action\":\"lock\"}");
        let (_, v) = r.reply().await;
        assert_eq!(v["error"]["code"], "shutting_down");
    }

    /// One `error.code` field carries hearth-api's parse codes, the controllers' refusals and
    /// the daemon's own: a client can only tell them apart if no code is in two sets.
    #[test]
    fn the_three_code_sets_share_no_code() {
        let daemon = [
            codes::SHUTTING_DOWN,
            codes::TIMEOUT,
            codes::POLICY_UNAVAILABLE,
            codes::HISTORY_UNAVAILABLE,
        ];
        let sets: [&[&str]; 3] = [&code::ALL, &hearth_control::refusal::codes::ALL, &daemon];
        for (i, a) in sets.iter().enumerate() {
            for b in &sets[i + 1..] {
                let shared: Vec<_> = a.iter().filter(|c| b.contains(c)).collect();
                assert!(shared.is_empty(), "codes in two sets: {shared:?}");
            }
        }
    }
}
