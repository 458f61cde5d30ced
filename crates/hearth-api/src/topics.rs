//! Every local MQTT topic name hearth uses, built from the configured base topic, and the
//! classification of incoming topics.
//!
//! This is the one place topic strings are spelled. It never subscribes or publishes; the
//! daemon asks it for names and for what an incoming topic means.

use crate::config::MqttConfig;

/// Retained payload on [`Topics::availability`] while hearth is connected.
pub const AVAILABILITY_ONLINE: &str = "online";
/// Payload of the last will and of a clean shutdown.
pub const AVAILABILITY_OFFLINE: &str = "offline";

/// Longest `reply_to` topic accepted, in bytes. Bounded so a client cannot make hearth
/// publish to arbitrarily long topics.
pub const MAX_REPLY_TO_BYTES: usize = 256;

/// Which device a command topic addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandTarget {
    Thermostat,
    Lock,
}

impl CommandTarget {
    /// The topic suffix under the base, also the `<op>` of the command's reply topic.
    pub fn suffix(self) -> &'static str {
        match self {
            CommandTarget::Thermostat => "thermostat/set",
            CommandTarget::Lock => "lock/set",
        }
    }
}

/// The operations of `<base>/request/<op>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestOp {
    Status,
    History,
    Events,
    Audit,
    PolicyExplain,
    PolicyReload,
}

impl RequestOp {
    pub const ALL: [RequestOp; 6] = [
        RequestOp::Status,
        RequestOp::History,
        RequestOp::Events,
        RequestOp::Audit,
        RequestOp::PolicyExplain,
        RequestOp::PolicyReload,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestOp::Status => "status",
            RequestOp::History => "history",
            RequestOp::Events => "events",
            RequestOp::Audit => "audit",
            RequestOp::PolicyExplain => "policy_explain",
            RequestOp::PolicyReload => "policy_reload",
        }
    }

    pub fn from_name(name: &str) -> Option<RequestOp> {
        RequestOp::ALL.into_iter().find(|op| op.as_str() == name)
    }
}

/// What an incoming message's topic is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// `<base>/thermostat/set` or `<base>/lock/set`.
    Command(CommandTarget),
    /// `<base>/request/<op>` for a known op.
    Request(RequestOp),
    /// `<base>/request/<op>` for an op hearth does not have; reply `unknown_request` on
    /// [`Topics::response`] of this op.
    UnknownRequest(String),
    /// `<base>/sim/set`: simulator control (only meaningful on the simulated backend).
    SimControl,
    /// `<discovery prefix>/status`: Home Assistant's birth/last-will message; on `online`
    /// the discovery configs should be published again.
    HomeAssistantStatus,
    /// Anything else (including hearth's own state and reply topics).
    Other,
}

/// All topic names for one base topic, computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    base: String,
    discovery_prefix: String,
    availability: String,
    thermostat_state: String,
    lock_state: String,
    faults_state: String,
    refusal_event: String,
    thermostat_set: String,
    lock_set: String,
    thermostat_set_response: String,
    lock_set_response: String,
    sim_set: String,
    sim_set_response: String,
    request_prefix: String,
    response_prefix: String,
    ha_status: String,
    /// Roots `reply_to` must be under (see [`MqttConfig::reply_to_roots`]).
    reply_roots: Vec<String>,
}

impl Topics {
    /// Topics under `base` (e.g. `hearth`), with Home Assistant discovery under
    /// `discovery_prefix` (e.g. `homeassistant`). Both must already be valid (see
    /// [`MqttConfig::validate`]).
    pub fn new(base: &str, discovery_prefix: &str) -> Self {
        let t = |suffix: &str| format!("{base}/{suffix}");
        Self {
            base: base.to_owned(),
            discovery_prefix: discovery_prefix.to_owned(),
            availability: t("availability"),
            thermostat_state: t("thermostat/state"),
            lock_state: t("lock/state"),
            faults_state: t("faults/state"),
            refusal_event: t("event/refusal"),
            thermostat_set: t("thermostat/set"),
            lock_set: t("lock/set"),
            thermostat_set_response: t("response/thermostat/set"),
            lock_set_response: t("response/lock/set"),
            sim_set: t("sim/set"),
            sim_set_response: t("response/sim/set"),
            request_prefix: t("request/"),
            response_prefix: t("response/"),
            ha_status: format!("{discovery_prefix}/status"),
            reply_roots: vec![format!("{base}/response"), format!("{base}/client")],
        }
    }

    pub fn from_config(config: &MqttConfig) -> Self {
        Self::new(&config.base_topic, &config.discovery.prefix)
            .with_reply_roots(config.reply_to_roots())
    }

    /// Replace the roots `reply_to` may name (already validated by [`MqttConfig::validate`]).
    pub fn with_reply_roots(mut self, roots: Vec<String>) -> Self {
        self.reply_roots = roots;
        self
    }

    /// The roots `reply_to` may name.
    pub fn reply_roots(&self) -> &[String] {
        &self.reply_roots
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn discovery_prefix(&self) -> &str {
        &self.discovery_prefix
    }

    /// Retained `online`/`offline`; also the last will.
    pub fn availability(&self) -> &str {
        &self.availability
    }

    pub fn thermostat_state(&self) -> &str {
        &self.thermostat_state
    }

    pub fn lock_state(&self) -> &str {
        &self.lock_state
    }

    /// Retained `{"problem":…,"faults":[…],…}`: every fault of the house in one place (Home
    /// Assistant's `problem` binary sensor reads it).
    pub fn faults_state(&self) -> &str {
        &self.faults_state
    }

    /// Not retained: one message per refused command (Home Assistant's "last refusal" event).
    pub fn refusal_event(&self) -> &str {
        &self.refusal_event
    }

    pub fn command(&self, target: CommandTarget) -> &str {
        match target {
            CommandTarget::Thermostat => &self.thermostat_set,
            CommandTarget::Lock => &self.lock_set,
        }
    }

    /// Where a command's reply goes when it has no (valid) `reply_to`.
    pub fn command_response(&self, target: CommandTarget) -> &str {
        match target {
            CommandTarget::Thermostat => &self.thermostat_set_response,
            CommandTarget::Lock => &self.lock_set_response,
        }
    }

    pub fn sim_control(&self) -> &str {
        &self.sim_set
    }

    pub fn sim_control_response(&self) -> &str {
        &self.sim_set_response
    }

    /// `<base>/request/<op>`.
    pub fn request(&self, op: RequestOp) -> String {
        format!("{}{}", self.request_prefix, op.as_str())
    }

    /// `<base>/response/<op>`; `op` is any single topic level (also unknown ops).
    pub fn response(&self, op: &str) -> String {
        format!("{}{op}", self.response_prefix)
    }

    /// Home Assistant's status topic (`<discovery prefix>/status`).
    pub fn home_assistant_status(&self) -> &str {
        &self.ha_status
    }

    /// The topic filters the daemon subscribes to.
    pub fn subscriptions(&self, sim_control: bool, discovery: bool) -> Vec<String> {
        let mut subs = vec![
            self.thermostat_set.clone(),
            self.lock_set.clone(),
            format!("{}+", self.request_prefix),
        ];
        if sim_control {
            subs.push(self.sim_set.clone());
        }
        if discovery {
            subs.push(self.ha_status.clone());
        }
        subs
    }

    /// What an incoming topic is.
    pub fn classify(&self, topic: &str) -> Incoming {
        if topic == self.thermostat_set {
            Incoming::Command(CommandTarget::Thermostat)
        } else if topic == self.lock_set {
            Incoming::Command(CommandTarget::Lock)
        } else if topic == self.sim_set {
            Incoming::SimControl
        } else if topic == self.ha_status {
            Incoming::HomeAssistantStatus
        } else if let Some(op) = topic.strip_prefix(&self.request_prefix) {
            if op.is_empty() || op.contains('/') {
                Incoming::Other
            } else {
                match RequestOp::from_name(op) {
                    Some(op) => Incoming::Request(op),
                    None => Incoming::UnknownRequest(op.to_owned()),
                }
            }
        } else {
            Incoming::Other
        }
    }

    /// Check a client's `reply_to` topic. Refused: empty, too long, wildcards, NUL, `$`
    /// system topics, anything under the discovery prefix (it could create Home Assistant
    /// entities), and anything outside the reply roots (by default `<base>/response/…` and
    /// `<base>/client/…`): a reply elsewhere could command another device or overwrite
    /// hearth's own state.
    pub fn validate_reply_to(&self, topic: &str) -> Result<(), String> {
        if topic.is_empty() {
            return Err("reply_to is empty; omit it to get the default reply topic".into());
        }
        if topic.len() > MAX_REPLY_TO_BYTES {
            return Err(format!(
                "reply_to is {} bytes; at most {MAX_REPLY_TO_BYTES} are allowed",
                topic.len()
            ));
        }
        if topic.contains(['+', '#']) {
            return Err(format!(
                "reply_to `{topic}` contains an MQTT wildcard (+ or #); give a plain topic"
            ));
        }
        if topic.contains('\0') || topic.chars().any(char::is_control) {
            return Err("reply_to contains control characters".into());
        }
        if topic.starts_with('$') {
            return Err(format!(
                "reply_to `{topic}` is a broker system topic ($…); choose your own topic"
            ));
        }
        if is_under(topic, &self.discovery_prefix) {
            return Err(format!(
                "reply_to `{topic}` is under the Home Assistant discovery prefix `{}`",
                self.discovery_prefix
            ));
        }
        // Only inside the configured reply areas: never another device's topics (a reply
        // on `zigbee2mqtt/front_door/set` would be a command to that device).
        if !self.reply_roots.iter().any(|root| {
            topic
                .strip_prefix(root.as_str())
                .is_some_and(|r| r.len() > 1 && r.starts_with('/'))
        }) {
            return Err(format!(
                "reply_to `{topic}` is outside the reply areas; use a topic under {}",
                self.reply_roots
                    .iter()
                    .map(|r| format!("`{r}/…`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
        Ok(())
    }
}

/// Whether `topic` is `prefix` itself or a topic below it.
fn is_under(topic: &str, prefix: &str) -> bool {
    topic == prefix
        || topic
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics() -> Topics {
        Topics::new("hearth", "homeassistant")
    }

    #[test]
    fn names_follow_the_base_topic() {
        let t = Topics::new("home/hearth", "homeassistant");
        assert_eq!(t.availability(), "home/hearth/availability");
        assert_eq!(t.thermostat_state(), "home/hearth/thermostat/state");
        assert_eq!(t.lock_state(), "home/hearth/lock/state");
        assert_eq!(
            t.command(CommandTarget::Thermostat),
            "home/hearth/thermostat/set"
        );
        assert_eq!(t.command(CommandTarget::Lock), "home/hearth/lock/set");
        assert_eq!(
            t.command_response(CommandTarget::Lock),
            "home/hearth/response/lock/set"
        );
        assert_eq!(
            t.request(RequestOp::PolicyExplain),
            "home/hearth/request/policy_explain"
        );
        assert_eq!(t.response("history"), "home/hearth/response/history");
        assert_eq!(t.sim_control(), "home/hearth/sim/set");
        assert_eq!(t.home_assistant_status(), "homeassistant/status");
    }

    #[test]
    fn classifies_incoming_topics() {
        let t = topics();
        assert_eq!(
            t.classify("hearth/thermostat/set"),
            Incoming::Command(CommandTarget::Thermostat)
        );
        assert_eq!(
            t.classify("hearth/lock/set"),
            Incoming::Command(CommandTarget::Lock)
        );
        assert_eq!(t.classify("hearth/sim/set"), Incoming::SimControl);
        assert_eq!(
            t.classify("homeassistant/status"),
            Incoming::HomeAssistantStatus
        );
        for op in RequestOp::ALL {
            assert_eq!(t.classify(&t.request(op)), Incoming::Request(op));
        }
        assert_eq!(
            t.classify("hearth/request/reboot"),
            Incoming::UnknownRequest("reboot".into())
        );
        assert_eq!(t.classify("hearth/request/"), Incoming::Other);
        assert_eq!(t.classify("hearth/request/a/b"), Incoming::Other);
        assert_eq!(t.classify("hearth/thermostat/state"), Incoming::Other);
        assert_eq!(t.classify("hearthx/lock/set"), Incoming::Other);
        assert_eq!(t.classify("hearth/lock/set/x"), Incoming::Other);
    }

    #[test]
    fn subscriptions_include_sim_and_ha_only_when_asked() {
        let t = topics();
        let all = t.subscriptions(true, true);
        assert!(all.contains(&"hearth/request/+".to_string()));
        assert!(all.contains(&"hearth/sim/set".to_string()));
        assert!(all.contains(&"homeassistant/status".to_string()));
        let few = t.subscriptions(false, false);
        assert!(
            !few.iter()
                .any(|s| s == "hearth/sim/set" || s == "homeassistant/status")
        );
        for s in &few {
            assert!(
                t.classify(&s.replace('+', "status")) != Incoming::Other,
                "{s}"
            );
        }
    }

    #[test]
    fn reply_to_validation() {
        let t = topics();
        for ok in [
            "hearth/client/alice/replies",
            "hearth/response/alice/1",
            "hearth/response/x",
        ] {
            assert_eq!(t.validate_reply_to(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a/+/b",
            "a/#",
            "$SYS/x",
            "hearth",
            "hearth/lock/set",
            "hearth/thermostat/set",
            "hearth/thermostat/state",
            "hearth/availability",
            "hearth/request/status",
            "hearth/sim/set",
            "homeassistant/lock/x/config",
            "a\u{0}b",
            "zigbee2mqtt/front_door/set",
            "clients/alice/replies",
            "hearthx/anything",
            "hearth/response",
            "hearth/client",
            "hearth/clientele/x",
        ] {
            assert!(t.validate_reply_to(bad).is_err(), "{bad:?} accepted");
        }
        let long = |n: usize| format!("hearth/client/{}", "a".repeat(n - 14));
        assert!(t.validate_reply_to(&long(MAX_REPLY_TO_BYTES)).is_ok());
        assert!(t.validate_reply_to(&long(MAX_REPLY_TO_BYTES + 1)).is_err());
        let custom = t.with_reply_roots(vec!["clients".into()]);
        assert!(custom.validate_reply_to("clients/alice/replies").is_ok());
        assert!(custom.validate_reply_to("hearth/response/x").is_err());
    }
}
