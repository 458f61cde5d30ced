//! The `policy` table of one `[[cloud]]` entry: its TOML shape, its validation, and its
//! compiled form.
//!
//! Everything the owner writes is checked here once, with issues naming the full dotted key;
//! after `compile` no code looks at raw strings again. Any field not listed is `never`, so a
//! field added to hearth later is never shared by an old config. This module must never
//! decide what is sent at run time (that is `engine`).

use crate::clock::{Day, Window};
use crate::command::CommandName;
use crate::format::{Device, Format};
use crate::pin::{MAX_ITERATIONS, MIN_ITERATIONS, PinHash};
use crate::transform::{Transform, text_values};
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

fn kind_of(field: Field) -> String {
    if field.is_numeric() {
        format!("{field} is a number")
    } else {
        format!("{field} is text (one of {})", text_values(field).join(", "))
    }
}

fn compile_rule(
    field: Field,
    r: &FieldRule,
    key: &str,
    format: Option<Format>,
    issues: &mut Vec<ConfigIssue>,
) -> Option<Rule> {
    let before = issues.len();
    let mut issue = |k: &str, m: String| issues.push(ConfigIssue::new(format!("{key}.{k}"), m));

    let only_for = |what: &str, kind: &str| {
        format!(
            "`{what}` only applies to share = \"{kind}\"; this field has share = \"{}\"",
            r.share.as_str()
        )
    };
    if r.share != ShareKind::OnChange {
        if r.min_interval.is_some() {
            issue("min_interval", only_for("min_interval", "on_change"));
        }
        if r.min_delta.is_some() {
            issue("min_delta", only_for("min_delta", "on_change"));
        }
    }
    if r.share != ShareKind::Periodic && r.every.is_some() {
        issue("every", only_for("every", "periodic"));
    }

    let transforms = [r.round.is_some(), r.buckets.is_some(), r.boolean.is_some()];
    let transform = if transforms.iter().filter(|t| **t).count() > 1 {
        issue(
            "round",
            "choose one transform: `round`, `buckets` or `boolean`, not several".into(),
        );
        Transform::Identity
    } else if let Some(step) = r.round {
        if !field.is_numeric() {
            issue(
                "round",
                format!("`round` needs a number, but {}", kind_of(field)),
            );
        } else if !(step.is_finite() && step > 0.0) {
            issue(
                "round",
                format!("the step must be a positive number, not {step}"),
            );
        }
        Transform::round(step)
    } else if let Some(b) = &r.buckets {
        compile_buckets(field, b, &mut issue)
    } else if let Some(b) = &r.boolean {
        compile_boolean(field, b, &mut issue)
    } else {
        Transform::Identity
    };

    let share = match r.share {
        ShareKind::Never => Share::Never,
        ShareKind::OnRequest => Share::OnRequest,
        ShareKind::OnChange => {
            let min_delta = r.min_delta.unwrap_or(0.0);
            if r.min_delta.is_some() && !(field.is_numeric() && transform.keeps_number()) {
                let why = if field.is_numeric() {
                    format!("the transform sends {field} as {}", transform.describe())
                } else {
                    kind_of(field)
                };
                issue(
                    "min_delta",
                    format!("`min_delta` compares numbers, but {why}"),
                );
            } else if !(min_delta.is_finite() && min_delta >= 0.0) {
                issue(
                    "min_delta",
                    format!("must be zero or more, not {min_delta}"),
                );
            }
            Share::OnChange {
                min_interval: r.min_interval.unwrap_or(Duration::ZERO),
                min_delta,
            }
        }
        ShareKind::Periodic => match r.every {
            None => {
                issue(
                    "every",
                    "share = \"periodic\" needs `every`, e.g. every = \"15m\"".into(),
                );
                Share::Never
            }
            Some(every) if every < Duration::from_secs(1) => {
                issue("every", "must be at least 1s".into());
                Share::Never
            }
            Some(every) => Share::Periodic { every },
        },
    };

    let window = r
        .window
        .as_ref()
        .and_then(|w| Window::parse(w).map_err(|e| issue("window", e)).ok());
    let until = r
        .until
        .as_ref()
        .and_then(|d| Day::parse(d).map_err(|e| issue("until", e)).ok());

    if let Some(format) = format {
        let wire = format.wire();
        if share != Share::Never && !wire.carries(field) {
            issue(
                "share",
                format!(
                    "the {} format has no property for {field}, so it can never reach that \
                     cloud; set share = \"never\" or use format = \"json\"",
                    format.as_str()
                ),
            );
        } else if share != Share::Never
            && let Err(e) = wire.check_transform(field, &transform)
        {
            let k = if r.buckets.is_some() {
                "buckets"
            } else if r.boolean.is_some() {
                "boolean"
            } else {
                "round"
            };
            issue(k, e);
        }
    }

    (issues.len() == before).then_some(Rule {
        share,
        transform,
        window,
        until,
    })
}

fn compile_buckets(
    field: Field,
    b: &BucketsConfig,
    issue: &mut impl FnMut(&str, String),
) -> Transform {
    if !field.is_numeric() {
        issue(
            "buckets",
            format!("`buckets` needs a number, but {}", kind_of(field)),
        );
    }
    if b.bounds.is_empty() {
        issue(
            "buckets.bounds",
            "give at least one bound, e.g. bounds = [18, 24]".into(),
        );
    }
    if let Some(bad) = b.bounds.iter().find(|x| !x.is_finite()) {
        issue("buckets.bounds", format!("{bad} is not a finite number"));
    }
    for pair in b.bounds.windows(2) {
        if pair[1] <= pair[0] {
            issue(
                "buckets.bounds",
                format!(
                    "bounds must increase, but {} is not above {}",
                    pair[1], pair[0]
                ),
            );
        }
    }
    if b.names.len() != b.bounds.len() + 1 {
        issue(
            "buckets.names",
            format!(
                "{} bounds make {} buckets, so give {} names (one below the first bound, \
                 one between each pair, one above the last); there are {}",
                b.bounds.len(),
                b.bounds.len() + 1,
                b.bounds.len() + 1,
                b.names.len()
            ),
        );
    }
    let unique: BTreeSet<_> = b.names.iter().collect();
    if unique.len() != b.names.len() {
        issue("buckets.names", "names must differ from each other".into());
    }
    if b.names.iter().any(|n| n.trim().is_empty()) {
        issue("buckets.names", "names must not be empty".into());
    }
    Transform::Buckets {
        bounds: b.bounds.clone(),
        names: b.names.clone(),
    }
}

fn compile_boolean(
    field: Field,
    b: &BooleanConfig,
    issue: &mut impl FnMut(&str, String),
) -> Transform {
    match (b.above, &b.true_when) {
        (Some(t), None) => {
            if !field.is_numeric() {
                issue(
                    "boolean.above",
                    format!(
                        "`above` needs a number, but {}; use `true_when`",
                        kind_of(field)
                    ),
                );
            } else if !t.is_finite() {
                issue("boolean.above", format!("{t} is not a finite number"));
            }
            Transform::Above(t)
        }
        (None, Some(words)) => {
            if field.is_numeric() {
                issue(
                    "boolean.true_when",
                    format!("`true_when` needs text, but {field} is a number; use `above`"),
                );
                return Transform::Identity;
            }
            let known = text_values(field);
            if words.is_empty() {
                issue("boolean.true_when", "list at least one value".into());
            }
            for w in words {
                if !known.contains(&w.as_str()) {
                    issue(
                        "boolean.true_when",
                        format!("{field} is never `{w}`; it is one of {}", known.join(", ")),
                    );
                }
            }
            Transform::OneOf(words.clone())
        }
        _ => {
            issue(
                "boolean",
                "give exactly one of `above = <number>` (numbers) or `true_when = [..]` (text)"
                    .into(),
            );
            Transform::Identity
        }
    }
}

fn check_devices(d: &DeviceNames, key: &str, issues: &mut Vec<ConfigIssue>) {
    // Alexa's endpointId pattern; Google accepts the same ids.
    let ok_id = |s: &str| {
        !s.is_empty()
            && s.len() <= 256
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-=#;:?@&".contains(c))
    };
    for (k, v) in [("thermostat_id", &d.thermostat_id), ("lock_id", &d.lock_id)] {
        if !ok_id(v) {
            issues.push(ConfigIssue::new(
                format!("{key}.{k}"),
                format!("`{v}` is not a device id: use 1-256 letters, digits or _-=#;:?@&"),
            ));
        }
    }
    if d.thermostat_id == d.lock_id {
        issues.push(ConfigIssue::new(
            format!("{key}.lock_id"),
            "the lock and the thermostat need different ids".to_string(),
        ));
    }
    for (k, v) in [
        ("thermostat_name", &d.thermostat_name),
        ("lock_name", &d.lock_name),
        ("agent_user_id", &d.agent_user_id),
    ] {
        if v.trim().is_empty() || v.len() > 128 {
            issues.push(ConfigIssue::new(
                format!("{key}.{k}"),
                "must be 1-128 characters".to_string(),
            ));
        }
    }
}

fn compile_commands(
    c: &CommandsConfig,
    key: &str,
    format: Option<Format>,
    issues: &mut Vec<ConfigIssue>,
) -> (BTreeSet<CommandName>, Option<UnlockGuard>) {
    let mut allow = BTreeSet::new();
    for name in &c.allow {
        match CommandName::parse(name) {
            Some(n) => {
                allow.insert(n);
            }
            None => issues.push(ConfigIssue::new(
                format!("{key}.allow"),
                format!(
                    "unknown command `{name}`; known commands: {}",
                    CommandName::ALL.map(|c| c.as_str()).join(", ")
                ),
            )),
        }
    }
    let pin_key = format!("{key}.unlock_pin");
    let unlock = match &c.unlock_pin {
        None => {
            if allow.contains(&CommandName::Unlock) {
                issues.push(ConfigIssue::new(
                    &pin_key,
                    "unlocking from a cloud needs a voice PIN: add unlock_pin = { pbkdf2_sha256 \
                     = \"<hex>\", salt = \"<salt>\", iterations = 100000 } (hearthd policy \
                     hash-pin prints it), or for Alexa unlock_pin = { checked_by = \"alexa\" }",
                ));
            }
            None
        }
        Some(p) => compile_pin(p, &pin_key, format, issues),
    };
    (allow, unlock)
}

fn compile_pin(
    p: &PinConfig,
    key: &str,
    format: Option<Format>,
    issues: &mut Vec<ConfigIssue>,
) -> Option<UnlockGuard> {
    let hashed = p.pbkdf2_sha256.is_some() || p.salt.is_some() || p.iterations.is_some();
    match (&p.checked_by, hashed) {
        (Some(_), true) => {
            issues.push(ConfigIssue::new(
                key,
                "give either checked_by or pbkdf2_sha256/salt/iterations, not both",
            ));
            None
        }
        (Some(by), false) => {
            if by != "alexa" {
                issues.push(ConfigIssue::new(
                    format!("{key}.checked_by"),
                    format!("only \"alexa\" checks its own voice code; `{by}` does not"),
                ));
                None
            } else if matches!(format, Some(Format::Google | Format::Json)) {
                issues.push(ConfigIssue::new(
                    format!("{key}.checked_by"),
                    "only an alexa cloud checks the PIN itself; this cloud sends the PIN to \
                     hearth, so give pbkdf2_sha256, salt and iterations",
                ));
                None
            } else {
                Some(UnlockGuard::CheckedByAlexa)
            }
        }
        (None, _) => {
            if format == Some(Format::Alexa) {
                issues.push(ConfigIssue::new(
                    key,
                    "Alexa never tells hearth the spoken PIN, so a hash cannot be checked; set \
                     the voice code in the Alexa app and write unlock_pin = { checked_by = \"alexa\" }",
                ));
                return None;
            }
            let (Some(h), Some(salt), Some(iter)) = (&p.pbkdf2_sha256, &p.salt, p.iterations)
            else {
                issues.push(ConfigIssue::new(
                    key,
                    "give pbkdf2_sha256, salt and iterations together (hearthd policy hash-pin \
                     prints them)",
                ));
                return None;
            };
            let mut ok = true;
            if iter < MIN_ITERATIONS {
                ok = false;
                issues.push(ConfigIssue::new(
                    format!("{key}.iterations"),
                    format!("at least {MIN_ITERATIONS}, or a stolen config gives the PIN away"),
                ));
            }
            if iter > MAX_ITERATIONS {
                ok = false;
                issues.push(ConfigIssue::new(
                    format!("{key}.iterations"),
                    format!(
                        "at most {MAX_ITERATIONS}: every PIN check costs this many hashes on the Pi \
                         (hearthd policy hash-pin uses 100000)"
                    ),
                ));
            }
            if salt.len() < 8 {
                ok = false;
                issues.push(ConfigIssue::new(
                    format!("{key}.salt"),
                    "use a salt of at least 8 characters",
                ));
            }
            match PinHash::from_config(h, salt, iter) {
                Ok(pin) if ok => Some(UnlockGuard::Pin(pin)),
                Ok(_) => None,
                Err(e) => {
                    issues.push(ConfigIssue::new(format!("{key}.pbkdf2_sha256"), e));
                    None
                }
            }
        }
    }
}

/// Alexa reports mode and setpoints through one interface whose `proactivelyReported` flag
/// covers all of them, so they must agree on being proactive or not.
fn check_alexa_thermostat(
    rules: &BTreeMap<Field, Rule>,
    prefix: &str,
    issues: &mut Vec<ConfigIssue>,
) {
    let members = [
        Field::ThermostatMode,
        Field::ThermostatSetpointHeat,
        Field::ThermostatSetpointCool,
    ];
    let shared: Vec<(Field, bool)> = members
        .iter()
        .filter_map(|f| rules.get(f).map(|r| (*f, &r.share)))
        .filter(|(_, s)| **s != Share::Never)
        .map(|(f, s)| (f, s.is_proactive()))
        .collect();
    if shared.iter().any(|(_, p)| *p) && shared.iter().any(|(_, p)| !*p) {
        let (odd, _) = shared.iter().find(|(_, p)| !*p).expect("checked above");
        issues.push(ConfigIssue::new(
            format!("{prefix}.fields.\"{odd}\".share"),
            "Alexa reports thermostat.mode, thermostat.setpoint_heat and \
             thermostat.setpoint_cool through one interface that is either proactively \
             reported or not: give them all on_request, or all on_change/periodic (or never)",
        ));
    }
}
