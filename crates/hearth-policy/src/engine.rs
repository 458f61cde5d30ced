//! The decision engine: for one cloud, which field values may leave, when, and in what form,
//! plus the allow-list and PIN check for that cloud's commands.
//!
//! Pure: house state, raw inbound bytes and the caller's clock in; sealed `Outbound`
//! messages and ledger `Decision`s out. It must never do I/O, read a clock, or hand a
//! format anything but values it has allowed and transformed.

mod inbound;
mod report;

use crate::clock::Now;
use crate::command::{CommandName, Wanted};
use crate::config::{Compiled, PolicyConfig, Rule, Share};
use crate::format::{Declaration, Declared, Device, Env, Format, ReplyCtx, Shared, Wire};
use crate::guard::Guard;
use crate::outbound::{Decision, DecisionKind, Outbound, TOPIC_DISCOVERY, TOPIC_RESPONSE};
use crate::transform::show;
use hearth_model::{Command, ConfigIssue, Field, HouseState, Value};
use std::collections::BTreeMap;
use std::time::Instant;

/// The policy for one cloud: its compiled rules and what it has sent so far.
#[derive(Debug)]
pub struct Policy {
    cloud: String,
    format: Format,
    pub(crate) compiled: Compiled,
    memory: BTreeMap<Field, Memory>,
    guard: Guard,
    id_prefix: String,
    counter: u64,
}

/// What the engine remembers of a field between proactive calls.
#[derive(Debug, Default)]
struct Memory {
    /// The raw value at the last `on_state`, to notice changes; `None` inside = unknown.
    last_seen: Option<Option<Value>>,
    /// The value last sent proactively and when.
    last_sent: Option<(Value, Instant)>,
    /// A change held back by `min_interval`, to be sent when it is over.
    pending: bool,
    /// When the last periodic report for this field was due.
    last_periodic: Option<Instant>,
}

/// What to do with an inbound message from a cloud.
#[derive(Debug)]
pub enum Inbound {
    /// Publish this at once (an answer, an error, a PIN challenge, the capability).
    Reply(Outbound),
    /// Publish nothing: this cloud's consent has ended. The decisions record the refusal.
    Silent,
    /// Run this command — only once its `command_allowed` row is in the ledger — then pass
    /// `reply` back to [`Policy::command_reply`] with the result.
    Command { command: Command, reply: ReplyToken },
}

/// Carries what the reply to a command needs; only the policy makes one, and it is used up
/// by [`Policy::command_reply`].
#[derive(Debug)]
pub struct ReplyToken {
    reply: ReplyCtx,
    name: CommandName,
    wanted: Wanted,
    /// For the ledger: what was asked and why the policy let it through.
    detail: String,
}

impl ReplyToken {
    /// The command this token answers, for logs.
    pub fn command_name(&self) -> CommandName {
        self.name
    }
}

struct Included {
    field: Field,
    raw: Value,
    out: Value,
    why: String,
}

impl Policy {
    /// Compile `cfg` for the cloud `cloud_name` using `format`. Issues carry keys under
    /// `policy`; use [`Policy::with_key_prefix`] to get `cloud[0].policy...` keys.
    pub fn new(
        cloud_name: &str,
        format: Format,
        cfg: &PolicyConfig,
    ) -> Result<Self, Vec<ConfigIssue>> {
        Self::with_key_prefix(cloud_name, format, cfg, "policy")
    }

    /// As [`Policy::new`], with issue keys under `prefix` (e.g. `cloud[0].policy`).
    pub fn with_key_prefix(
        cloud_name: &str,
        format: Format,
        cfg: &PolicyConfig,
        prefix: &str,
    ) -> Result<Self, Vec<ConfigIssue>> {
        let compiled = cfg.compile(prefix, Some(format))?;
        Ok(Self {
            cloud: cloud_name.to_owned(),
            format,
            compiled,
            memory: BTreeMap::new(),
            guard: Guard::default(),
            id_prefix: format!("hearth-{:08x}", fastrand::u32(..)),
            counter: 0,
        })
    }

    pub fn cloud(&self) -> &str {
        &self.cloud
    }

    pub fn format(&self) -> Format {
        self.format
    }

    fn describe(&mut self, reply: Option<&ReplyCtx>, now: Now) -> (Outbound, Vec<Decision>) {
        let mut decl = Declaration::default();
        for field in Field::ALL {
            let rule = self.compiled.rule(field);
            if rule.share == Share::Never || self.consent_ended(field, &rule, now).is_some() {
                continue;
            }
            let d = if rule.share.is_proactive() {
                Declared::Proactive
            } else {
                Declared::Retrievable
            };
            decl.fields.insert(field, d);
            decl.forms.insert(field, rule.transform.describe());
        }
        decl.commands = self.compiled.allow.clone();
        let id = self.next_id();
        let env = self.env(id, now);
        let bytes = self.format.wire().capability(&env, reply, &decl);
        let names: Vec<&str> = decl.fields.keys().map(|f| f.name()).collect();
        let detail = format!(
            "capability description declaring: {}",
            if names.is_empty() {
                "no fields".into()
            } else {
                names.join(", ")
            }
        );
        let mut decisions = Vec::new();
        let topic = if reply.is_some() {
            TOPIC_RESPONSE
        } else {
            TOPIC_DISCOVERY
        };
        let o = self.sealed(topic, bytes, detail, now, &mut decisions);
        (o, decisions)
    }

    /// The fields of `devices` allowed in an answer: anything but `never`, within consent,
    /// window and what the format can spell.
    fn snapshot(
        &self,
        state: &HouseState,
        devices: &[Device],
        now: Now,
        decisions: &mut Vec<Decision>,
    ) -> Vec<Shared> {
        let mut included = Vec::new();
        for field in Field::ALL
            .into_iter()
            .filter(|f| devices.contains(&Device::of(*f)))
        {
            let rule = self.compiled.rule(field);
            let mut withhold = |detail: String| {
                decisions.push(decision(
                    &self.cloud,
                    now,
                    Some(field),
                    DecisionKind::Withheld,
                    detail,
                    None,
                ));
            };
            if rule.share == Share::Never {
                withhold("share = never".into());
                continue;
            }
            let raw = field.value_in(state);
            let gate = self.gate(field, &rule, now);
            let wire = self.format.wire();
            let (raw, out) = match admit(raw, "no value known", gate, &rule, wire, field) {
                Ok(pair) => pair,
                Err(e) => {
                    withhold(e);
                    continue;
                }
            };
            let why = format!(
                "share = {}: answering this cloud's request",
                share_name(&rule.share)
            );
            included.push(Included {
                field,
                raw,
                out,
                why,
            });
        }
        self.record_included(&included, now, decisions)
    }

    fn record_included(
        &self,
        included: &[Included],
        now: Now,
        decisions: &mut Vec<Decision>,
    ) -> Vec<Shared> {
        included
            .iter()
            .map(|inc| {
                let rule = self.compiled.rule(inc.field);
                let (kind, detail) = if rule.transform.is_identity() {
                    (
                        DecisionKind::Included,
                        format!("{} ({})", show(&inc.out), inc.why),
                    )
                } else {
                    (
                        DecisionKind::Transformed,
                        format!(
                            "{} -> {}, {} ({})",
                            show(&inc.raw),
                            show(&inc.out),
                            rule.transform.describe(),
                            inc.why
                        ),
                    )
                };
                decisions.push(decision(
                    &self.cloud,
                    now,
                    Some(inc.field),
                    kind,
                    detail,
                    None,
                ));
                Shared {
                    field: inc.field,
                    value: inc.out.clone(),
                }
            })
            .collect()
    }

    /// Consent and time-of-day window; `Err` names the rule that closes the field now.
    fn gate(&self, field: Field, rule: &Rule, now: Now) -> Result<(), String> {
        if let Some(e) = self.consent_ended(field, rule, now) {
            return Err(e);
        }
        if let Some(w) = rule.window {
            let m = now.local_minute_of_day();
            if !w.contains(m) {
                return Err(format!(
                    "outside window {w} (local time {:02}:{:02})",
                    m / 60,
                    m % 60
                ));
            }
        }
        Ok(())
    }

    fn consent_ended(&self, field: Field, rule: &Rule, now: Now) -> Option<String> {
        let today = now.local_day();
        if let Some(d) = self.compiled.consent_until
            && !d.still_valid(today)
        {
            return Some(format!("consent_until {d} has passed for this cloud"));
        }
        match rule.until {
            Some(d) if !d.still_valid(today) => Some(format!("until {d} has passed for {field}")),
            _ => None,
        }
    }

    fn next_id(&mut self) -> String {
        self.counter += 1;
        format!("{}-{}", self.id_prefix, self.counter)
    }

    fn env(&self, message_id: String, now: Now) -> Env<'_> {
        Env {
            devices: &self.compiled.devices,
            message_id,
            now: now.wall,
        }
    }

    fn sealed(
        &self,
        topic: &'static str,
        bytes: Vec<u8>,
        detail: String,
        now: Now,
        decisions: &mut Vec<Decision>,
    ) -> Outbound {
        decisions.push(decision(
            &self.cloud,
            now,
            None,
            DecisionKind::Sent,
            detail,
            Some(bytes.clone()),
        ));
        Outbound::seal(&self.cloud, topic, bytes)
    }
}

/// What every value goes through before it may be sent: a known value (else `missing`),
/// the gate (consent, time window, computed by [`Policy::gate`]), the transform, then whether
/// the format can spell the result. The raw and the transformed value, or why it is withheld.
fn admit(
    raw: Option<Value>,
    missing: &str,
    gate: Result<(), String>,
    rule: &Rule,
    wire: &dyn Wire,
    field: Field,
) -> Result<(Value, Value), String> {
    let raw = raw.ok_or_else(|| missing.to_owned())?;
    gate?;
    let out = rule.transform.apply(&raw);
    wire.expressible(field, &out)?;
    Ok((raw, out))
}

pub(crate) fn share_name(s: &Share) -> &'static str {
    match s {
        Share::Never => "never",
        Share::OnRequest => "on_request",
        Share::OnChange { .. } => "on_change",
        Share::Periodic { .. } => "periodic",
    }
}

fn decision(
    cloud: &str,
    now: Now,
    field: Option<Field>,
    kind: DecisionKind,
    detail: String,
    payload: Option<Vec<u8>>,
) -> Decision {
    Decision {
        time: now.wall,
        cloud: cloud.to_owned(),
        field,
        kind,
        detail,
        payload,
    }
}
