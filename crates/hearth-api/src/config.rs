//! The `[mqtt]` config section: the local broker connection, topics, Home Assistant
//! discovery and the unlock secrets file, with validation that catches every value that
//! would make rumqttc panic or hearth misbehave.
//!
//! Parsing and checking only: it never reads the files it names (see `secrets.rs`) and
//! never connects.

use crate::topic_roots::{check_topic_root, overlaps};
use hearth_model::ConfigIssue;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// `[mqtt]`: how hearth talks to the local broker.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// Broker host name or address.
    pub host: String,
    pub port: u16,
    /// MQTT client id; must be unique on the broker.
    pub client_id: String,
    /// Root of all hearth topics (`<base>/thermostat/state`, ...).
    pub base_topic: String,
    pub username: Option<String>,
    /// File holding the broker password (first line, trailing newline ignored).
    pub password_file: Option<PathBuf>,
    /// TLS to the broker; absent means plain TCP.
    pub tls: Option<TlsConfig>,
    #[serde(with = "hearth_model::duration")]
    pub keep_alive: Duration,
    /// First delay before reconnecting after the broker drops; doubles up to `reconnect_max`.
    #[serde(with = "hearth_model::duration")]
    pub reconnect_min: Duration,
    #[serde(with = "hearth_model::duration")]
    pub reconnect_max: Duration,
    /// A command carrying a `ts` older than this is refused as `expired`.
    #[serde(with = "hearth_model::duration")]
    pub command_max_age: Duration,
    pub discovery: DiscoveryConfig,
    /// TOML file with per-client unlock keys; without it local unlock is disabled.
    pub secrets_file: Option<PathBuf>,
    /// Accept simulator control on `<base>/sim/set` (ignored on real hardware).
    pub sim_control: bool,
    /// Topic roots a command's `reply_to` may name. `None`: `<base>/response` and
    /// `<base>/client` (see [`MqttConfig::reply_to_roots`]).
    pub reply_to_prefixes: Option<Vec<String>>,
    /// MQTT protocol version for the local broker: `"5"` (default) or `"3.1.1"` for old
    /// brokers, with the risks listed in the README.
    pub protocol: MqttProtocol,
}

/// `mqtt.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum MqttProtocol {
    /// MQTT 5: Maximum Packet Size, Retain As Published, No Local, session-takeover reason.
    #[default]
    #[serde(rename = "5")]
    V5,
    /// MQTT 3.1.1, for brokers without MQTT 5.
    #[serde(rename = "3.1.1")]
    V311,
}

/// `[mqtt.tls]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// CA certificate(s) (PEM) that signed the broker's certificate.
    pub ca_file: PathBuf,
    /// Client certificate (PEM) for brokers that require one; needs `client_key`.
    pub client_cert: Option<PathBuf>,
    /// Private key (PEM) of `client_cert`.
    pub client_key: Option<PathBuf>,
}

/// `[mqtt.discovery]`: Home Assistant MQTT discovery.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscoveryConfig {
    pub enabled: bool,
    /// Home Assistant's discovery prefix.
    pub prefix: String,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            prefix: "homeassistant".into(),
        }
    }
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: "hearthd".into(),
            base_topic: "hearth".into(),
            username: None,
            password_file: None,
            tls: None,
            keep_alive: Duration::from_secs(30),
            reconnect_min: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(60),
            command_max_age: Duration::from_secs(10),
            discovery: DiscoveryConfig::default(),
            secrets_file: None,
            sim_control: true,
            reply_to_prefixes: None,
            protocol: MqttProtocol::V5,
        }
    }
}

/// Longest client id accepted; brokers must take 23 bytes, most take far more.
const MAX_CLIENT_ID_BYTES: usize = 128;

impl MqttConfig {
    /// Every problem in the section, each naming its key (`mqtt.port`, ...).
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut issue = |key: &str, msg: String| issues.push(ConfigIssue::new(key, msg));

        if self.host.trim().is_empty() {
            issue(
                "mqtt.host",
                "is empty; give the broker's host name or address, e.g. \"127.0.0.1\"".into(),
            );
        }
        if self.port == 0 {
            issue(
                "mqtt.port",
                "is 0; the usual MQTT ports are 1883 (TCP) and 8883 (TLS)".into(),
            );
        }
        if let Err(m) = check_client_id(&self.client_id) {
            issue("mqtt.client_id", m);
        }
        if let Err(m) = check_topic_root(&self.base_topic) {
            issue("mqtt.base_topic", m);
        }
        if let Err(m) = check_topic_root(&self.discovery.prefix) {
            issue("mqtt.discovery.prefix", m);
        }
        if overlaps(&self.discovery.prefix, &self.base_topic) {
            issue(
                "mqtt.discovery.prefix",
                format!(
                    "`{}` overlaps mqtt.base_topic (`{}`): one would hold the other's topics \
                     (requests and discovery would be confused); choose topics that are not \
                     inside one another, e.g. \"homeassistant\" and \"hearth\"",
                    self.discovery.prefix, self.base_topic
                ),
            );
        }
        if let Some(roots) = &self.reply_to_prefixes {
            if roots.is_empty() {
                issue(
                    "mqtt.reply_to_prefixes",
                    "is empty; remove it for the default (<base>/response and <base>/client)"
                        .into(),
                );
            }
            for root in roots {
                if let Err(m) = self.check_reply_root(root) {
                    issue("mqtt.reply_to_prefixes", m);
                }
            }
        }
        if self.username.as_deref().is_some_and(|u| u.is_empty()) {
            issue(
                "mqtt.username",
                "is empty; remove it or give the broker user name".into(),
            );
        }
        if self.password_file.is_some() && self.username.is_none() {
            issue(
                "mqtt.password_file",
                "is set but mqtt.username is not; MQTT sends a password only with a user name"
                    .into(),
            );
        }
        if let Some(tls) = &self.tls {
            match (&tls.client_cert, &tls.client_key) {
                (Some(_), None) => issue(
                    "mqtt.tls.client_key",
                    "is missing; mqtt.tls.client_cert needs its private key".into(),
                ),
                (None, Some(_)) => issue(
                    "mqtt.tls.client_cert",
                    "is missing; mqtt.tls.client_key is set without its certificate".into(),
                ),
                _ => {}
            }
        }
        // rumqttc asserts keep-alive >= 1 s (or zero, which disables pings and with them
        // the detection of a dead connection) and stores it as whole seconds in a u16.
        if self.keep_alive < Duration::from_secs(1) {
            issue(
                "mqtt.keep_alive",
                format!(
                    "is {}; it must be at least 1s, e.g. \"30s\"",
                    fmt_dur(self.keep_alive)
                ),
            );
        } else if self.keep_alive > Duration::from_secs(u16::MAX as u64) {
            issue(
                "mqtt.keep_alive",
                format!(
                    "is {}; MQTT allows at most 18h 12m 15s",
                    fmt_dur(self.keep_alive)
                ),
            );
        }
        if self.reconnect_min.is_zero() {
            issue(
                "mqtt.reconnect_min",
                "is 0; a zero delay makes a down broker a busy loop, use e.g. \"1s\"".into(),
            );
        }
        if self.reconnect_max < self.reconnect_min {
            issue(
                "mqtt.reconnect_max",
                format!(
                    "({}) is shorter than mqtt.reconnect_min ({})",
                    fmt_dur(self.reconnect_max),
                    fmt_dur(self.reconnect_min)
                ),
            );
        }
        if self.reconnect_max > Duration::from_secs(3600) {
            issue(
                "mqtt.reconnect_max",
                format!(
                    "is {}; at most 1h, or a broker back up stays unused that long",
                    fmt_dur(self.reconnect_max)
                ),
            );
        }
        if self.command_max_age > Duration::from_secs(3600) {
            issue(
                "mqtt.command_max_age",
                format!(
                    "is {}; at most 1h, or hour-old commands would still be carried out",
                    fmt_dur(self.command_max_age)
                ),
            );
        }
        if self.command_max_age < Duration::from_secs(1) {
            issue(
                "mqtt.command_max_age",
                format!(
                    "is {}; it must be at least 1s",
                    fmt_dur(self.command_max_age)
                ),
            );
        }
        issues
    }
}

fn fmt_dur(d: Duration) -> String {
    hearth_model::duration::format(d)
}

fn check_client_id(id: &str) -> Result<(), String> {
    // rumqttc panics on an empty id or one starting with a space.
    if id.is_empty() {
        return Err("is empty; give a name unique on the broker, e.g. \"hearthd\"".into());
    }
    if id.len() > MAX_CLIENT_ID_BYTES {
        return Err(format!("is longer than {MAX_CLIENT_ID_BYTES} bytes"));
    }
    if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("`{id}` contains whitespace or control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_roots_may_not_hold_one_another() {
        for (base, prefix) in [
            ("hearth", "hearth/request"),
            ("hearth", "hearth"),
            ("home/hearth", "home"),
        ] {
            let cfg = MqttConfig {
                base_topic: base.into(),
                discovery: DiscoveryConfig {
                    enabled: false,
                    prefix: prefix.into(),
                },
                ..MqttConfig::default()
            };
            let issues = cfg.validate();
            assert!(
                issues.iter().any(|i| i.key == "mqtt.discovery.prefix"),
                "{base} / {prefix}: {issues:?}"
            );
        }
        let cfg = MqttConfig {
            base_topic: "hearthx".into(),
            ..MqttConfig::default()
        };
        assert!(cfg.validate().is_empty());
    }

    #[test]
    fn reply_roots_must_stay_out_of_hearths_topics() {
        for (root, ok) in [
            ("clients", true),
            ("hearth/client/panel", true),
            ("hearth/response", true),
            ("hearth", false),
            ("hearth/lock", false),
            ("homeassistant/x", false),
            ("a/+", false),
        ] {
            let cfg = MqttConfig {
                reply_to_prefixes: Some(vec![root.into()]),
                ..MqttConfig::default()
            };
            assert_eq!(
                cfg.validate().is_empty(),
                ok,
                "{root}: {:?}",
                cfg.validate()
            );
        }
        let protocol: MqttConfig = toml::from_str("protocol = \"3.1.1\"").unwrap();
        assert_eq!(protocol.protocol, MqttProtocol::V311);
        assert!(toml::from_str::<MqttConfig>("protocol = \"4\"").is_err());
    }

    fn parse(toml_text: &str) -> Result<MqttConfig, toml::de::Error> {
        #[derive(Deserialize)]
        struct Root {
            mqtt: MqttConfig,
        }
        toml::from_str::<Root>(toml_text).map(|r| r.mqtt)
    }

    fn keys(c: &MqttConfig) -> Vec<String> {
        c.validate().into_iter().map(|i| i.key).collect()
    }

    #[test]
    fn defaults_are_valid_and_match_the_docs() {
        let c = parse("[mqtt]\n").unwrap();
        assert_eq!(c, MqttConfig::default());
        assert_eq!(c.host, "127.0.0.1");
        assert_eq!(c.port, 1883);
        assert_eq!(c.client_id, "hearthd");
        assert_eq!(c.base_topic, "hearth");
        assert_eq!(c.keep_alive, Duration::from_secs(30));
        assert_eq!(c.command_max_age, Duration::from_secs(10));
        assert!(c.discovery.enabled && c.sim_control);
        assert!(c.validate().is_empty(), "{:?}", c.validate());
    }

    #[test]
    fn example_file_parses_and_validates() {
        let text = include_str!("../example.toml");
        let c = parse(text).unwrap();
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        assert!(c.tls.is_some() && c.secrets_file.is_some());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = parse("[mqtt]\nhots = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("hots"), "{e}");
        assert!(parse("[mqtt.discovery]\nprefx = \"x\"\n").is_err());
        assert!(parse("[mqtt.tls]\nca_file = \"a\"\ncert = \"b\"\n").is_err());
    }

    #[test]
    fn bad_values_are_reported_by_key() {
        let cases: &[(&str, &str)] = &[
            ("port = 0", "mqtt.port"),
            ("host = \" \"", "mqtt.host"),
            ("client_id = \"\"", "mqtt.client_id"),
            ("client_id = \" hearth\"", "mqtt.client_id"),
            ("base_topic = \"hearth/#\"", "mqtt.base_topic"),
            ("base_topic = \"/hearth\"", "mqtt.base_topic"),
            ("base_topic = \"hearth/\"", "mqtt.base_topic"),
            ("base_topic = \"a//b\"", "mqtt.base_topic"),
            ("base_topic = \"\"", "mqtt.base_topic"),
            ("base_topic = \"$SYS\"", "mqtt.base_topic"),
            ("keep_alive = \"500ms\"", "mqtt.keep_alive"),
            ("keep_alive = \"0s\"", "mqtt.keep_alive"),
            ("keep_alive = \"1day\"", "mqtt.keep_alive"),
            ("reconnect_min = \"0s\"", "mqtt.reconnect_min"),
            (
                "reconnect_min = \"10s\"\nreconnect_max = \"5s\"",
                "mqtt.reconnect_max",
            ),
            ("command_max_age = \"100ms\"", "mqtt.command_max_age"),
            ("password_file = \"/etc/hearth/pw\"", "mqtt.password_file"),
            ("username = \"\"", "mqtt.username"),
            (
                "[mqtt.tls]\nca_file = \"ca.pem\"\nclient_cert = \"c.pem\"",
                "mqtt.tls.client_key",
            ),
            (
                "[mqtt.tls]\nca_file = \"ca.pem\"\nclient_key = \"k.pem\"",
                "mqtt.tls.client_cert",
            ),
            (
                "[mqtt.discovery]\nprefix = \"a/+\"",
                "mqtt.discovery.prefix",
            ),
            (
                "base_topic = \"ha\"\n[mqtt.discovery]\nprefix = \"ha\"",
                "mqtt.discovery.prefix",
            ),
        ];
        for (body, key) in cases {
            let c = parse(&format!("[mqtt]\n{body}\n")).unwrap_or_else(|e| panic!("{body}: {e}"));
            assert_eq!(keys(&c), vec![key.to_string()], "{body}");
        }
    }

    #[test]
    fn keep_alive_of_one_second_is_the_minimum() {
        let c = parse("[mqtt]\nkeep_alive = \"1s\"\n").unwrap();
        assert!(c.validate().is_empty());
    }

    #[test]
    fn bad_duration_text_fails_to_parse_with_the_value_named() {
        let e = parse("[mqtt]\nkeep_alive = \"soon\"\n").unwrap_err();
        assert!(e.to_string().contains("soon"), "{e}");
    }
}
