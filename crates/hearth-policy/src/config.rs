//! The `policy` table of one `[[cloud]]` entry: its TOML shape, its validation, and its
//! compiled form.
//!
//! Everything the owner writes is checked here once, with issues naming the full dotted key;
//! after `compile` no code looks at raw strings again. Any field not listed is `never`, so a
//! field added to hearth later is never shared by an old config. This module must never
//! decide what is sent at run time (that is `engine`).

mod commands;
use commands::{check_devices, compile_commands};
mod rule;
use rule::{check_alexa_thermostat, compile_rule};

use crate::clock::{Day, Window};
use crate::command::CommandName;
use crate::format::{Device, Format};
use crate::pin::PinHash;
use crate::transform::Transform;
use hearth_model::{ConfigIssue, Field};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The `policy` table of one `[[cloud]]` entry. An empty table shares nothing and allows no
/// command.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Consent for this whole cloud ends after this local date, `"YYYY-MM-DD"`.
    #[serde(default)]
    pub consent_until: Option<String>,
    /// How the devices are named to this cloud.
    #[serde(default)]
    pub devices: DeviceNames,
    /// Per field, keyed by its dotted name (`"thermostat.temperature"`).
    #[serde(default)]
    pub fields: BTreeMap<String, FieldRule>,
    #[serde(default)]
    pub commands: CommandsConfig,
    /// State requests (Alexa ReportState, Google QUERY, json `state`) answered per sliding
    /// hour at most; the excess gets the neutral refusal. Keeps `on_request` from becoming
    /// a live feed for a cloud that polls.
    #[serde(default)]
    pub max_requests_per_hour: Option<u32>,
}

/// `max_requests_per_hour` when the policy does not say: a request a minute on average.
pub const DEFAULT_MAX_REQUESTS_PER_HOUR: u32 = 60;

/// The rule for one field. Every key is optional; the default shares nothing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    #[serde(default)]
    pub share: ShareKind,
    /// `on_change`: at most one report per this interval.
    #[serde(default, with = "hearth_model::duration::option")]
    pub min_interval: Option<Duration>,
    /// `on_change`: ignore changes of the sent number smaller than this.
    #[serde(default)]
    pub min_delta: Option<f64>,
    /// `periodic`: report every this often.
    #[serde(default, with = "hearth_model::duration::option")]
    pub every: Option<Duration>,
    /// Round numbers to this step.
    #[serde(default)]
    pub round: Option<f64>,
    /// Send a word instead of the number.
    #[serde(default)]
    pub buckets: Option<BucketsConfig>,
    /// Send only yes/no.
    #[serde(default)]
    pub boolean: Option<BooleanConfig>,
    /// Share only during this local time of day, `"HH:MM-HH:MM"`.
    #[serde(default)]
    pub window: Option<String>,
    /// Consent for this field ends after this local date, `"YYYY-MM-DD"`.
    #[serde(default)]
    pub until: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareKind {
    #[default]
    Never,
    OnRequest,
    OnChange,
    Periodic,
}

impl ShareKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ShareKind::Never => "never",
            ShareKind::OnRequest => "on_request",
            ShareKind::OnChange => "on_change",
            ShareKind::Periodic => "periodic",
        }
    }
}

/// `buckets = { bounds = [18, 24], names = ["cold", "comfortable", "warm"] }` means
/// cold < 18 <= comfortable < 24 <= warm.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketsConfig {
    pub bounds: Vec<f64>,
    pub names: Vec<String>,
}

/// `boolean = { above = 24.0 }` for numbers, `boolean = { true_when = ["locked"] }` for words.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BooleanConfig {
    #[serde(default)]
    pub above: Option<f64>,
    #[serde(default)]
    pub true_when: Option<Vec<String>>,
}

/// Inbound commands this cloud may issue.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandsConfig {
    /// Any of `set_setpoint`, `set_mode`, `lock`, `unlock`.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Required when `allow` has `unlock`.
    #[serde(default)]
    pub unlock_pin: Option<PinConfig>,
}

/// Either `{ pbkdf2_sha256 = "<hex>", salt = "...", iterations = N }` (hearth checks the PIN,
/// as Google and json clouds need) or `{ checked_by = "alexa" }` (Alexa checks its own voice
/// code and never tells hearth the PIN).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinConfig {
    #[serde(default)]
    pub pbkdf2_sha256: Option<String>,
    #[serde(default)]
    pub salt: Option<String>,
    #[serde(default)]
    pub iterations: Option<u32>,
    #[serde(default)]
    pub checked_by: Option<String>,
}

/// Ids and spoken names of the two devices as this cloud sees them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceNames {
    pub thermostat_id: String,
    pub thermostat_name: String,
    pub lock_id: String,
    pub lock_name: String,
    /// Google's `agentUserId`: the account these devices belong to.
    pub agent_user_id: String,
}

impl Default for DeviceNames {
    fn default() -> Self {
        Self {
            thermostat_id: "hearth-thermostat".into(),
            thermostat_name: "Thermostat".into(),
            lock_id: "hearth-lock".into(),
            lock_name: "Front door".into(),
            agent_user_id: "hearth".into(),
        }
    }
}

impl DeviceNames {
    pub(crate) fn id(&self, d: Device) -> &str {
        match d {
            Device::Thermostat => &self.thermostat_id,
            Device::Lock => &self.lock_id,
        }
    }

    pub(crate) fn name(&self, d: Device) -> &str {
        match d {
            Device::Thermostat => &self.thermostat_name,
            Device::Lock => &self.lock_name,
        }
    }

    pub(crate) fn device(&self, id: &str) -> Option<Device> {
        Device::ALL.into_iter().find(|d| self.id(*d) == id)
    }
}

/// How a field may leave, compiled.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Share {
    Never,
    OnRequest,
    OnChange {
        min_interval: Duration,
        min_delta: f64,
    },
    Periodic {
        every: Duration,
    },
}

impl Share {
    pub(crate) fn is_proactive(&self) -> bool {
        matches!(self, Share::OnChange { .. } | Share::Periodic { .. })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub share: Share,
    pub transform: Transform,
    pub window: Option<Window>,
    pub until: Option<Day>,
}

impl Rule {
    pub(crate) fn never() -> Self {
        Self {
            share: Share::Never,
            transform: Transform::Identity,
            window: None,
            until: None,
        }
    }
}

/// Who checks the PIN before a cloud may unlock.
#[derive(Debug, Clone)]
pub(crate) enum UnlockGuard {
    CheckedByAlexa,
    Pin(PinHash),
}

/// A validated policy, ready for the engine.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub rules: BTreeMap<Field, Rule>,
    pub consent_until: Option<Day>,
    pub devices: DeviceNames,
    pub allow: BTreeSet<CommandName>,
    pub unlock: Option<UnlockGuard>,
    pub max_requests_per_hour: u32,
}

impl Compiled {
    pub(crate) fn rule(&self, f: Field) -> std::borrow::Cow<'_, Rule> {
        match self.rules.get(&f) {
            Some(r) => std::borrow::Cow::Borrowed(r),
            None => std::borrow::Cow::Owned(Rule::never()),
        }
    }
}

impl PolicyConfig {
    /// Check the table without knowing the cloud's format. `prefix` is the dotted key of
    /// this table, e.g. `cloud[0].policy`; every issue's key starts with it.
    pub fn validate(&self, prefix: &str) -> Vec<ConfigIssue> {
        self.compile(prefix, None).err().unwrap_or_default()
    }

    /// Check the table for a cloud of this format too (fields the format cannot carry,
    /// transforms it cannot spell, who checks the unlock PIN).
    pub fn validate_for(&self, prefix: &str, format: Format) -> Vec<ConfigIssue> {
        self.compile(prefix, Some(format)).err().unwrap_or_default()
    }

    pub(crate) fn compile(
        &self,
        prefix: &str,
        format: Option<Format>,
    ) -> Result<Compiled, Vec<ConfigIssue>> {
        let mut issues = Vec::new();
        let mut rules = BTreeMap::new();
        for (name, rule) in &self.fields {
            let key = format!("{prefix}.fields.\"{name}\"");
            match Field::from_name(name) {
                None => issues.push(ConfigIssue::new(
                    key,
                    format!(
                        "unknown field `{name}`; known fields: {}",
                        Field::ALL.map(|f| f.name()).join(", ")
                    ),
                )),
                Some(field) => {
                    if let Some(r) = compile_rule(field, rule, &key, format, &mut issues) {
                        rules.insert(field, r);
                    }
                }
            }
        }
        let consent_until = parse_opt(
            &self.consent_until,
            &format!("{prefix}.consent_until"),
            Day::parse,
            &mut issues,
        );
        check_devices(&self.devices, &format!("{prefix}.devices"), &mut issues);
        let (allow, unlock) = compile_commands(
            &self.commands,
            &format!("{prefix}.commands"),
            format,
            &mut issues,
        );
        if format == Some(Format::Alexa) {
            check_alexa_thermostat(&rules, prefix, &mut issues);
        }
        if issues.is_empty() {
            Ok(Compiled {
                rules,
                consent_until,
                devices: self.devices.clone(),
                allow,
                unlock,
                max_requests_per_hour: self
                    .max_requests_per_hour
                    .unwrap_or(DEFAULT_MAX_REQUESTS_PER_HOUR),
            })
        } else {
            Err(issues)
        }
    }
}

fn parse_opt<T>(
    s: &Option<String>,
    key: &str,
    parse: fn(&str) -> Result<T, String>,
    issues: &mut Vec<ConfigIssue>,
) -> Option<T> {
    let s = s.as_ref()?;
    parse(s)
        .map_err(|e| issues.push(ConfigIssue::new(key, e)))
        .ok()
}
