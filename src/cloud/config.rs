//! The `[[cloud]]` entries of `hearth.toml`: where each cloud's broker is, how hearth proves
//! who it is there (TLS with a client certificate), and its privacy policy.
//!
//! Validation runs once at load (and again on reload); issues carry full keys such as
//! `cloud[0].tls.ca_file` so the loader can point at the line. This module never opens a
//! connection and never reads the certificate files' contents.

use hearth_api::MqttProtocol;
use hearth_model::ConfigIssue;
use hearth_policy::{Format, Policy, PolicyConfig};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// One cloud destination.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudConfig {
    /// Unique, `[a-z0-9_-]`: names the cloud in the ledger, logs and `hearthd audit`.
    pub name: String,
    pub format: Format,
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    pub client_id: String,
    /// Messages go to `<topic_prefix>/state|response|discovery`; directives are read from
    /// `<topic_prefix>/directive`.
    pub topic_prefix: String,
    #[serde(default = "default_keep_alive", with = "hearth_model::duration")]
    pub keep_alive: Duration,
    /// MQTT version spoken to this cloud's broker: `"3.1.1"` (default, what every cloud
    /// bridge takes) or `"5"` (Maximum Packet Size announced, Retain As Published, the
    /// broker's session-takeover reason). AWS IoT Core speaks both.
    #[serde(default = "default_protocol")]
    pub protocol: MqttProtocol,
    /// Required unless `host` is loopback.
    #[serde(default)]
    pub tls: Option<CloudTls>,
    #[serde(default)]
    pub policy: PolicyConfig,
}

/// PEM files for the TLS connection.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudTls {
    pub ca_file: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// `[ledger]`: where every sharing decision is written, how often, and for how long.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    /// The ledger database; the clouds' guard state files (PIN lockout, replay memory) are
    /// kept beside it.
    #[serde(default = "default_ledger_path")]
    pub path: PathBuf,
    /// Whether a `policy_reload` request over local MQTT is obeyed. Off by default: any LAN
    /// client could trigger reloads; SIGHUP (`systemctl reload hearthd`) always works.
    #[serde(default)]
    pub policy_reload_over_mqtt: bool,
    /// How often queued decisions are committed (default 30 s, as `[history]`). A power
    /// cut loses at most this much of the ledger (and the counts of open `withheld` runs).
    #[serde(default = "default_ledger_commit", with = "hearth_model::duration")]
    pub commit_interval: Duration,
    /// How long rows are kept (default 365 days).
    #[serde(default = "default_ledger_retention", with = "hearth_model::duration")]
    pub retention: Duration,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        Self {
            path: default_ledger_path(),
            policy_reload_over_mqtt: false,
            commit_interval: default_ledger_commit(),
            retention: default_ledger_retention(),
        }
    }
}

impl LedgerConfig {
    /// Problems of the `[ledger]` section.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let show = hearth_model::duration::format;
        if self.path.as_os_str().is_empty() {
            issues.push(ConfigIssue::new(
                "ledger.path",
                "is empty; give the database file, e.g. \"/var/lib/hearth/ledger.db\"",
            ));
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&self.commit_interval) {
            issues.push(ConfigIssue::new(
                "ledger.commit_interval",
                format!(
                    "is {}; use between 1s and 1h (a power cut loses up to this much of the \
                     ledger, and shorter intervals wear an SD card faster)",
                    show(self.commit_interval)
                ),
            ));
        }
        if self.retention < Duration::from_secs(86_400) {
            issues.push(ConfigIssue::new(
                "ledger.retention",
                format!(
                    "is {}; keep at least 1d (the ledger is the record of what was shared)",
                    show(self.retention)
                ),
            ));
        }
        issues
    }
}

fn default_ledger_commit() -> Duration {
    Duration::from_secs(30)
}

fn default_ledger_retention() -> Duration {
    Duration::from_secs(365 * 86_400)
}

fn default_ledger_path() -> PathBuf {
    PathBuf::from("/var/lib/hearth/ledger.db")
}

fn default_port() -> u16 {
    8883
}

fn default_protocol() -> MqttProtocol {
    MqttProtocol::V311
}

fn default_keep_alive() -> Duration {
    Duration::from_secs(30)
}

/// Whether traffic to `host` never leaves this machine.
pub fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

impl CloudConfig {
    /// Problems of this entry (connection and policy), keys under `cloud[index]`.
    pub fn validate(&self, index: usize) -> Vec<ConfigIssue> {
        let k = |s: &str| format!("cloud[{index}].{s}");
        let mut issues = Vec::new();
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            issues.push(ConfigIssue::new(
                k("name"),
                format!(
                    "`{}` is not a cloud name; use lowercase letters, digits, `_` and `-`, e.g. \"alexa\"",
                    self.name
                ),
            ));
        }
        if self.host.trim().is_empty() {
            issues.push(ConfigIssue::new(
                k("host"),
                "is empty; give the broker's host name",
            ));
        }
        if self.port == 0 {
            issues.push(ConfigIssue::new(
                k("port"),
                "is 0; the usual TLS port is 8883",
            ));
        }
        if self.client_id.is_empty()
            || self.client_id.len() > 256
            || self
                .client_id
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            issues.push(ConfigIssue::new(
                k("client_id"),
                format!(
                    "`{}` is not usable: give 1-256 characters without spaces, as the cloud registered it",
                    self.client_id
                ),
            ));
        }
        if self.topic_prefix.is_empty()
            || self.topic_prefix.contains(['#', '+', '\0'])
            || self.topic_prefix.split('/').any(str::is_empty)
        {
            issues.push(ConfigIssue::new(
                k("topic_prefix"),
                format!(
                    "`{}` is not a topic prefix: no wildcards (# +), no empty levels, e.g. \"hearth/home1\"",
                    self.topic_prefix
                ),
            ));
        }
        // rumqttc asserts keep-alive >= 1 s and stores whole seconds in a u16.
        if self.keep_alive < Duration::from_secs(1)
            || self.keep_alive > Duration::from_secs(u64::from(u16::MAX))
        {
            issues.push(ConfigIssue::new(
                k("keep_alive"),
                format!(
                    "is {}; it must be between 1s and 18h, e.g. \"30s\"",
                    hearth_model::duration::format(self.keep_alive)
                ),
            ));
        }
        if self.tls.is_none() && !is_loopback(&self.host) {
            issues.push(ConfigIssue::new(
                k("tls"),
                format!(
                    "is missing: plaintext refused to `{}`, which is not loopback; add \
                     tls = {{ ca_file = ..., client_cert = ..., client_key = ... }}",
                    self.host
                ),
            ));
        }
        if let Some(tls) = &self.tls {
            for (key, path) in [
                ("tls.ca_file", &tls.ca_file),
                ("tls.client_cert", &tls.client_cert),
                ("tls.client_key", &tls.client_key),
            ] {
                if path.as_os_str().is_empty() {
                    issues.push(ConfigIssue::new(
                        k(key),
                        "is empty; give the path of a PEM file",
                    ));
                }
            }
        }
        issues.extend(self.policy.validate_for(&k("policy"), self.format));
        issues
    }

    /// A policy that shares no field and allows no command: hearth then publishes nothing
    /// at all to this cloud, not even a capability description, except answers to its own
    /// requests (which carry no house value).
    pub fn shares_nothing(&self) -> bool {
        self.policy
            .fields
            .values()
            .all(|r| r.share == hearth_policy::ShareKind::Never)
            && self.policy.commands.allow.is_empty()
    }

    /// Whether `other` connects the same way (a reload may change only the policy).
    pub fn same_connection(&self, other: &CloudConfig) -> bool {
        (
            &self.name,
            &self.host,
            self.port,
            &self.client_id,
            &self.topic_prefix,
            self.keep_alive,
            self.protocol,
            &self.tls,
        ) == (
            &other.name,
            &other.host,
            other.port,
            &other.client_id,
            &other.topic_prefix,
            other.keep_alive,
            other.protocol,
            &other.tls,
        )
    }

    /// Compile this entry's policy, issue keys under `cloud[index].policy`.
    pub fn build_policy(&self, index: usize) -> Result<Policy, Vec<ConfigIssue>> {
        Policy::with_key_prefix(
            &self.name,
            self.format,
            &self.policy,
            &format!("cloud[{index}].policy"),
        )
    }
}

/// Problems across all `[[cloud]]` entries, duplicates included.
pub fn validate_all(clouds: &[CloudConfig]) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    let mut names = BTreeSet::new();
    for (i, c) in clouds.iter().enumerate() {
        issues.extend(c.validate(i));
        if !names.insert(c.name.as_str()) {
            issues.push(ConfigIssue::new(
                format!("cloud[{i}].name"),
                format!(
                    "`{}` is used by an earlier [[cloud]]; names must be unique",
                    c.name
                ),
            ));
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> CloudConfig {
        toml::from_str(text).unwrap()
    }

    const BASE: &str = r#"
name = "home"
format = "json"
host = "iot.example.com"
client_id = "hearth-1"
topic_prefix = "hearth/home1"
"#;

    #[test]
    fn plaintext_to_a_remote_host_is_refused_naming_the_key() {
        let issues = parse(BASE).validate(2);
        let tls = issues.iter().find(|i| i.key == "cloud[2].tls").unwrap();
        assert!(tls.message.contains("plaintext refused"), "{tls}");
    }

    #[test]
    fn loopback_hosts_may_be_plaintext() {
        for host in ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost"] {
            assert!(is_loopback(host), "{host}");
            let c = parse(&BASE.replace("iot.example.com", host));
            assert!(c.validate(0).is_empty(), "{host}: {:?}", c.validate(0));
        }
        assert!(!is_loopback("10.0.0.1") && !is_loopback("localhost.example.com"));
    }

    #[test]
    fn bad_and_duplicate_names_carry_full_keys() {
        let mut a = parse(&BASE.replace("iot.example.com", "127.0.0.1"));
        a.name = "Bad Name".into();
        let b = a.clone();
        let keys: Vec<String> = validate_all(&[a, b]).into_iter().map(|i| i.key).collect();
        assert_eq!(
            keys.iter().filter(|k| *k == "cloud[0].name").count(),
            1,
            "{keys:?}"
        );
        // cloud[1] is both badly named and a duplicate.
        assert_eq!(
            keys.iter().filter(|k| *k == "cloud[1].name").count(),
            2,
            "{keys:?}"
        );
    }

    #[test]
    fn policy_problems_are_keyed_under_the_cloud() {
        let text = format!(
            "{}\n[policy.fields.\"thermostat.temperature\"]\nshare = \"on_change\"\nround = -1.0\n",
            BASE.replace("iot.example.com", "127.0.0.1")
        );
        let c = parse(&text);
        let issues = c.validate(1);
        assert!(
            issues.iter().any(|i| i.key.starts_with("cloud[1].policy.")),
            "{issues:?}"
        );
        assert!(c.build_policy(1).is_err());
    }

    #[test]
    fn the_protocol_defaults_to_3_1_1_and_changing_it_needs_a_restart() {
        let text = "name = \"c\"\nformat = \"json\"\nhost = \"127.0.0.1\"\nclient_id = \"x\"\ntopic_prefix = \"p\"\n";
        let old: CloudConfig = toml::from_str(text).unwrap();
        assert_eq!(old.protocol, MqttProtocol::V311);
        let v5: CloudConfig = toml::from_str(&format!("{text}protocol = \"5\"\n")).unwrap();
        assert_eq!(v5.protocol, MqttProtocol::V5);
        assert!(
            !old.same_connection(&v5),
            "a protocol change was reloaded live"
        );
        assert!(old.same_connection(&old.clone()));
        let bad = toml::from_str::<CloudConfig>(&format!("{text}protocol = \"3\"\n"));
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("expected `5` or `3.1.1`")
        );
    }
}
