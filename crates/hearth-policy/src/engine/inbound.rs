//! What a cloud sends: state requests (within the request budget), discovery, commands
//! (message id, replay memory, allow-list, PIN, mode) and the replies to them, and the
//! refusals — a fixed `CloudError`, or the neutral one when its code would reveal a field
//! this cloud is not given. Ended consent answers nothing. Part of `engine`: it uses the
//! same private state; it never does I/O or reads a clock.

use super::{Inbound, Policy, ReplyToken, decision};
use crate::clock::Now;
use crate::command::{CommandError, CommandName};
use crate::config::{Share, UnlockGuard};
use crate::format::{Device, ReplyCtx, Request};
use crate::guard::{GuardState, IdCheck};
use crate::outbound::{Decision, DecisionKind, Outbound, TOPIC_RESPONSE};
use crate::pin::PinCheck;
use crate::refusal::{CloudError, Refused};
use hearth_model::{Command, Field, HouseState, Source, UnixMillis};

impl Policy {
    /// Answer a state request (Alexa ReportState, Google QUERY, json `{"op":"state"}`):
    /// `on_request` fields open for this answer only. Anything else gets an error reply;
    /// `None` when this cloud's consent has ended (it gets nothing at all).
    pub fn answer_state_request(
        &mut self,
        raw_request: &[u8],
        state: &HouseState,
        now: Now,
    ) -> (Option<Outbound>, Vec<Decision>) {
        if let Some(why) = self.consent_over(now) {
            return (None, vec![self.ignored(None, &why, now)]);
        }
        let (o, d) = match self
            .format
            .wire()
            .parse(raw_request, &self.compiled.devices)
        {
            Request::State { reply, devices } => {
                self.answer_within_budget(&reply, &devices, state, now)
            }
            Request::Invalid { reply, error } => self.refuse(&reply, error, None, now),
            Request::Discovery { reply } | Request::Command { reply, .. } => self.refuse(
                &reply,
                Refused::new(CloudError::Malformed, "expected a state request"),
                None,
                now,
            ),
        };
        (Some(o), d)
    }

    /// Handle anything a cloud sends: state requests, discovery, commands.
    pub fn handle_inbound(
        &mut self,
        raw: &[u8],
        state: &HouseState,
        now: Now,
    ) -> (Inbound, Vec<Decision>) {
        let request = self.format.wire().parse(raw, &self.compiled.devices);
        if let Some(why) = self.consent_over(now) {
            let name = match &request {
                Request::Command { wanted, .. } => Some(wanted.name()),
                _ => None,
            };
            return (Inbound::Silent, vec![self.ignored(name, &why, now)]);
        }
        let (reply, wanted, pin, msg_id) = match request {
            Request::State { reply, devices } => {
                let (o, d) = self.answer_within_budget(&reply, &devices, state, now);
                return (Inbound::Reply(o), d);
            }
            Request::Discovery { reply } => {
                let (o, d) = self.describe(Some(&reply), now);
                return (Inbound::Reply(o), d);
            }
            Request::Invalid { reply, error } => {
                let (o, d) = self.refuse(&reply, error, None, now);
                return (Inbound::Reply(o), d);
            }
            Request::Command {
                reply,
                wanted,
                pin,
                msg_id,
            } => (reply, wanted, pin, msg_id),
        };
        let name = wanted.name();
        let refuse = |this: &mut Self, error: Refused| {
            let (o, d) = this.refuse(&reply, error, Some(name), now);
            (Inbound::Reply(o), d)
        };
        let Some(msg_id) = msg_id.filter(|id| !id.is_empty()) else {
            return refuse(
                self,
                Refused::new(
                    CloudError::Malformed,
                    "a command needs a message id (json `id`) so that replays can be refused",
                ),
            );
        };
        match self.guard.check_id(&msg_id, now.wall) {
            IdCheck::Fresh => {}
            IdCheck::Replayed => {
                return refuse(
                    self,
                    Refused::new(
                        CloudError::Replayed,
                        format!(
                            "replay: message id `{msg_id}` was already handled in the last {}",
                            hearth_model::duration::format(crate::guard::REPLAY_WINDOW)
                        ),
                    ),
                );
            }
            IdCheck::MemoryFull => {
                return refuse(
                    self,
                    Refused::new(
                        CloudError::Refused,
                        format!(
                            "{} command ids remembered within the replay window; no more commands until the oldest expire",
                            crate::guard::MAX_REMEMBERED_IDS
                        ),
                    ),
                );
            }
        }
        if !self.compiled.allow.contains(&name) {
            let why = format!(
                "commands.allow does not include `{}` for this cloud",
                name.as_str()
            );
            return refuse(self, Refused::new(CloudError::NotAllowed, why));
        }
        let mut how = String::from("allowed by commands.allow");
        if name == CommandName::Unlock {
            match &self.compiled.unlock {
                None => {
                    return refuse(
                        self,
                        Refused::new(
                            CloudError::NotAllowed,
                            "unlock needs a voice PIN and none is configured",
                        ),
                    );
                }
                Some(UnlockGuard::CheckedByAlexa) => how.push_str("; voice code checked by Alexa"),
                Some(UnlockGuard::Pin(hash)) => {
                    let r = |e, m: &str| Refused::new(e, m);
                    match self.guard.pin.check(hash, pin.as_deref(), now.wall) {
                        PinCheck::Accepted => how.push_str("; voice PIN checked by hearth"),
                        PinCheck::Missing => {
                            return refuse(
                                self,
                                r(CloudError::PinNeeded, "no voice PIN given; asked for it"),
                            );
                        }
                        PinCheck::Wrong => {
                            return refuse(self, r(CloudError::PinWrong, "wrong voice PIN"));
                        }
                        PinCheck::LockedOut => {
                            let until = self.guard.pin.lockout.locked_until.unwrap_or_default();
                            let m = format!(
                                "too many wrong voice PINs: unlocking refused until {}",
                                UnixMillis(until).to_rfc3339()
                            );
                            return refuse(self, r(CloudError::PinLockedOut, &m));
                        }
                    }
                }
            }
        }
        let kind = match wanted.to_kind(state) {
            Ok(k) => k,
            Err(r) => return refuse(self, r),
        };
        let detail = format!("{kind:?} ({how})");
        let allowed = decision(
            &self.cloud,
            now,
            None,
            DecisionKind::CommandAllowed,
            format!("{}: {detail}; handed to the house", name.as_str()),
            None,
        );
        let command = Command {
            source: Source::Cloud(self.cloud.clone()),
            kind,
        };
        (
            Inbound::Command {
                command,
                reply: ReplyToken {
                    reply,
                    name,
                    wanted,
                    detail,
                },
            },
            vec![allowed],
        )
    }

    /// The reply to a command once the house has run it, with its ledger record: accepted,
    /// or refused with the house's real reason (the cloud gets a fixed code, or the neutral
    /// refusal when the code would reveal a field it is not given). A success carries the
    /// device's state as the policy allows it for an answer (Alexa responses include one).
    pub fn command_reply(
        &mut self,
        token: ReplyToken,
        result: Result<(), CommandError>,
        state: &HouseState,
        now: Now,
    ) -> (Outbound, Vec<Decision>) {
        match result {
            Err(e) => {
                let refused = token.wanted.failure(&e);
                let refused = Refused {
                    reason: format!("{}; {}", token.detail, refused.reason),
                    ..refused
                };
                self.refuse(&token.reply, refused, Some(token.name), now)
            }
            Ok(()) => {
                let mut decisions = vec![decision(
                    &self.cloud,
                    now,
                    None,
                    DecisionKind::CommandAccepted,
                    format!("{}: {}; carried out", token.name.as_str(), token.detail),
                    None,
                )];
                let device = token
                    .reply
                    .devices
                    .first()
                    .copied()
                    .unwrap_or(Device::of_command(token.name));
                let shared = self.snapshot(state, &[device], now, &mut decisions);
                let id = self.next_id();
                let env = self.env(id, now);
                let bytes = self.format.wire().command_done(&env, &token.reply, &shared);
                let detail = format!("reply to {}: done", token.name.as_str());
                let o = self.sealed(TOPIC_RESPONSE, bytes, detail, now, &mut decisions);
                (o, decisions)
            }
        }
    }

    /// The capability description to publish (on connect, after a policy reload): only
    /// fields the policy shares, only allowed commands. `None` once this cloud's consent
    /// has ended: it gets no description either.
    pub fn capability(&mut self, now: Now) -> (Option<Outbound>, Vec<Decision>) {
        if let Some(why) = self.consent_over(now) {
            let d = decision(
                &self.cloud,
                now,
                None,
                DecisionKind::Withheld,
                format!("capability description not sent: {why}"),
                None,
            );
            return (None, vec![d]);
        }
        let (o, d) = self.describe(None, now);
        (Some(o), d)
    }

    /// The persisted part of what this policy remembers (PIN lockout, replay memory).
    pub fn guard_state(&self) -> GuardState {
        self.guard.state()
    }

    /// Restore what [`Policy::guard_state`] returned, e.g. after a restart.
    pub fn restore_guard_state(&mut self, s: GuardState) {
        self.guard.restore(s);
    }

    /// Take over what the old policy of this cloud remembers (lockout, replay memory,
    /// request budget), so a reload gives nobody fresh tries.
    pub fn carry_over_from(&mut self, old: &mut Policy) {
        self.guard.carry_from(&mut old.guard);
    }

    /// Whether this whole cloud's consent has ended; `Some` says why.
    pub fn consent_over(&self, now: Now) -> Option<String> {
        let d = self.compiled.consent_until?;
        (!d.still_valid(now.local_day()))
            .then(|| format!("consent_until {d} has passed for this cloud: it gets nothing"))
    }

    fn ignored(&self, command: Option<CommandName>, why: &str, now: Now) -> Decision {
        let (kind, what) = match command {
            Some(c) => (
                DecisionKind::CommandRefused,
                format!("{}: not carried out", c.as_str()),
            ),
            None => (DecisionKind::RequestRefused, "request not answered".into()),
        };
        decision(
            &self.cloud,
            now,
            None,
            kind,
            format!("{what}, nothing sent: {why}"),
            None,
        )
    }

    /// Answer a state request, if this cloud has requests left this hour.
    fn answer_within_budget(
        &mut self,
        reply: &ReplyCtx,
        devices: &[Device],
        state: &HouseState,
        now: Now,
    ) -> (Outbound, Vec<Decision>) {
        let max = self.compiled.max_requests_per_hour;
        if !self.guard.spend_request(max, now.mono) {
            let why = format!(
                "max_requests_per_hour = {max} reached: state request refused, no field sent"
            );
            return self.refuse(reply, Refused::new(CloudError::Refused, why), None, now);
        }
        let mut decisions = Vec::new();
        let shared = self.snapshot(state, devices, now, &mut decisions);
        let id = self.next_id();
        let env = self.env(id, now);
        let bytes = self.format.wire().answer(&env, reply, &shared);
        let o = self.sealed(
            TOPIC_RESPONSE,
            bytes,
            "answer to a state request".into(),
            now,
            &mut decisions,
        );
        (o, decisions)
    }

    /// Refuse with a fixed code, or with the neutral refusal when the code would reveal a
    /// field not shared with this cloud now. The ledger gets the real reason.
    fn refuse(
        &mut self,
        reply: &ReplyCtx,
        error: Refused,
        command: Option<CommandName>,
        now: Now,
    ) -> (Outbound, Vec<Decision>) {
        let hidden: Vec<&str> = error
            .reveals
            .iter()
            .filter(|f| !self.shared_now(**f, now))
            .map(|f| f.name())
            .collect();
        let public = if hidden.is_empty() {
            error.public
        } else {
            CloudError::Refused
        };
        let mut told = format!("the cloud was told `{}`", public.code());
        if !hidden.is_empty() {
            told.push_str(&format!(
                " (neutral: `{}` would reveal {})",
                error.public.code(),
                hidden.join(", ")
            ));
        }
        let (kind, what) = match command {
            Some(c) => (DecisionKind::CommandRefused, format!("{}: ", c.as_str())),
            None => (DecisionKind::RequestRefused, String::new()),
        };
        let mut decisions = vec![decision(
            &self.cloud,
            now,
            None,
            kind,
            format!("{what}{}; {told}", error.reason),
            None,
        )];
        let id = self.next_id();
        let env = self.env(id, now);
        let bytes = self.format.wire().error(&env, reply, public);
        let o = self.sealed(
            TOPIC_RESPONSE,
            bytes,
            format!("error reply `{}`", public.code()),
            now,
            &mut decisions,
        );
        (o, decisions)
    }

    /// Whether a value of `field` could be in an answer to this cloud now.
    fn shared_now(&self, field: Field, now: Now) -> bool {
        let rule = self.compiled.rule(field);
        rule.share != Share::Never
            && self.format.wire().carries(field)
            && self.gate(field, &rule, now).is_ok()
    }
}
