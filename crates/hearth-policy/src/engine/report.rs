//! Proactive reports: which `on_change` and `periodic` fields a new house state (or a
//! deadline) sends, and when the engine wants to be called again. Every field that changed
//! or was due gets a ledger decision, sent or withheld.

use super::{Included, Policy, admit, decision};
use crate::clock::Now;
use crate::config::Share;
use crate::outbound::{Decision, DecisionKind, Outbound, TOPIC_STATE};
use crate::transform::show;
use hearth_model::{Field, HouseState, Value};
use std::time::Instant;

impl Policy {
    /// Proactive reports for a new state (or at [`Policy::next_deadline`]): `on_change` and
    /// `periodic` fields only. Decisions cover every field whose value changed, every field
    /// that was due, and every message.
    pub fn on_state(&mut self, state: &HouseState, now: Now) -> (Vec<Outbound>, Vec<Decision>) {
        let mut decisions = Vec::new();
        let mut included = Vec::new();
        let mut all_periodic = true;
        let cloud = self.cloud.clone();
        for field in Field::ALL {
            let rule = self.compiled.rule(field).into_owned();
            let raw = field.value_in(state);
            let gate = self.gate(field, &rule, now);
            let wire = self.format.wire();
            let mem = self.memory.entry(field).or_default();
            let changed = mem.last_seen.as_ref() != Some(&raw);
            mem.last_seen = Some(raw.clone());
            let mut withhold = |detail: String| {
                decisions.push(decision(
                    &cloud,
                    now,
                    Some(field),
                    DecisionKind::Withheld,
                    detail,
                    None,
                ));
            };
            match rule.share {
                Share::Never => {
                    if changed {
                        withhold("share = never".into());
                    }
                }
                Share::OnRequest => {
                    if changed {
                        withhold(
                            "share = on_request: sent only in answer to this cloud's request"
                                .into(),
                        );
                    }
                }
                Share::OnChange {
                    min_interval,
                    min_delta,
                } => {
                    if !(changed || mem.pending) {
                        continue;
                    }
                    mem.pending = false;
                    let (raw, out) = match admit(raw, "no value known", gate, &rule, wire, field) {
                        Ok(pair) => pair,
                        Err(e) => {
                            withhold(e);
                            continue;
                        }
                    };
                    if let Some((last, at)) = &mem.last_sent {
                        if rule.transform.holds(last, &raw, &out) {
                            withhold(format!("same as last sent ({})", show(last)));
                            continue;
                        }
                        if let (Value::Number(a), Value::Number(b)) = (last, &out)
                            && (a - b).abs() < min_delta
                        {
                            withhold(format!(
                                "moved {} from the last sent {}, less than min_delta {}",
                                show(&Value::Number((a - b).abs())),
                                show(last),
                                min_delta
                            ));
                            continue;
                        }
                        if now.mono < *at + min_interval {
                            mem.pending = true;
                            withhold(format!(
                                "min_interval {} not over since the last report; the value then current is sent when it is",
                                hearth_model::duration::format(min_interval)
                            ));
                            continue;
                        }
                    }
                    all_periodic = false;
                    included.push(Included {
                        field,
                        raw,
                        out,
                        why: "share = on_change".into(),
                    });
                }
                Share::Periodic { every } => {
                    let due = mem.last_periodic.is_none_or(|t| now.mono >= t + every);
                    if !due {
                        if changed {
                            withhold(format!(
                                "share = periodic every {}: not due yet",
                                hearth_model::duration::format(every)
                            ));
                        }
                        continue;
                    }
                    mem.last_periodic = Some(now.mono);
                    let missing = "periodic report due, but no value known";
                    let (raw, out) = match admit(raw, missing, gate, &rule, wire, field) {
                        Ok(pair) => pair,
                        Err(e) => {
                            withhold(e);
                            continue;
                        }
                    };
                    included.push(Included {
                        field,
                        raw,
                        out,
                        why: format!(
                            "share = periodic every {}",
                            hearth_model::duration::format(every)
                        ),
                    });
                }
            }
        }
        if included.is_empty() {
            return (Vec::new(), decisions);
        }
        for inc in &included {
            if let Some(m) = self.memory.get_mut(&inc.field)
                && matches!(self.compiled.rule(inc.field).share, Share::OnChange { .. })
            {
                m.last_sent = Some((inc.out.clone(), now.mono));
            }
        }
        let shared = self.record_included(&included, now, &mut decisions);
        let id = self.next_id();
        let env = self.env(id, now);
        let payloads = self.format.wire().report(&env, &shared, all_periodic);
        let mut out = Vec::new();
        for bytes in payloads {
            out.push(self.sealed(
                TOPIC_STATE,
                bytes,
                "proactive report".into(),
                now,
                &mut decisions,
            ));
        }
        (out, decisions)
    }

    /// When to call [`Policy::on_state`] again even if nothing changes: the next periodic
    /// report, or the end of a `min_interval` holding back a change. `None`: only on change.
    /// Periodic fields start with the first `on_state` call.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.memory
            .iter()
            .filter_map(|(field, m)| match self.compiled.rule(*field).share {
                Share::Periodic { every } => m.last_periodic.map(|t| t + every),
                Share::OnChange { min_interval, .. } if m.pending => {
                    m.last_sent.as_ref().map(|(_, at)| *at + min_interval)
                }
                _ => None,
            })
            .min()
    }
}
