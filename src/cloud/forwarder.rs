//! One task per cloud: it owns that cloud's `Policy`, feeds it the house state, inbound
//! directives and deadlines, writes every decision to the ledger and hands only the
//! policy's sealed `Outbound` messages to the connection.
//!
//! While the cloud is down the forwarder does not call the policy's send paths at all:
//! nothing is produced, so nothing can queue (one ledger row notes the outage). On every
//! new connection it sends the capability description and then the current state as the
//! policy allows it now — never anything made before. This file never touches raw bytes
//! for a cloud except the directives it passes, unread, to the policy.

use super::connection::{CloudLink, LinkState};
use crate::clock::Clock;
use crate::house::CommandRequest;
use crate::ledger::{Ledger, Row};
use hearth_control::Refusal;
use hearth_model::HouseState;
use hearth_policy::{CommandError, CommandErrorCode, Decision, Inbound, Now, Outbound, Policy};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// How long a cloud's command may wait for the house before it is answered as failed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything a forwarder reads and writes.
pub struct ForwarderIo {
    pub link: CloudLink,
    pub state: watch::Receiver<HouseState>,
    pub commands: mpsc::Sender<CommandRequest>,
    /// A new policy for this cloud after an accepted reload, and whether it shares nothing.
    pub policies: mpsc::Receiver<(Policy, bool)>,
    pub ledger: Ledger,
    pub clock: Clock,
    pub shutdown: watch::Receiver<bool>,
}

enum Wake {
    Stop,
    Link,
    State,
    Deadline,
    Inbound(Vec<u8>),
    Policy(Box<(Policy, bool)>),
}

pub struct Forwarder {
    policy: Policy,
    /// The policy shares nothing: no capability description is published either.
    silent: bool,
    io: ForwarderIo,
}

/// A control refusal as the policy's formats report it.
pub fn command_error(r: &Refusal) -> CommandError {
    let code = match r.code {
        "setpoint_out_of_range" | "setpoints_too_close" => CommandErrorCode::OutOfRange,
        "door_open" | "state_unknown" => CommandErrorCode::NotPossibleNow,
        "sensor_fault" => CommandErrorCode::HardwareFault,
        "lock_busy" => CommandErrorCode::Busy,
        _ => CommandErrorCode::Internal,
    };
    CommandError::new(code, r.message.clone())
}

impl Forwarder {
    /// `silent`: see [`super::CloudConfig::shares_nothing`].
    pub fn new(policy: Policy, silent: bool, io: ForwarderIo) -> Self {
        Self { policy, silent, io }
    }

    fn now(&self) -> Now {
        let mono = self.io.clock.now();
        Now {
            wall: self.io.clock.wall(mono),
            mono: mono.into_std(),
            utc_offset_minutes: self.io.clock.utc_offset_minutes(),
        }
    }

    fn up(&self) -> bool {
        self.io.link.state.borrow().up
    }

    /// Ledger the policy's decisions and publish its message, noting when it could not go.
    fn emit(&mut self, message: Outbound, decisions: Vec<Decision>) {
        self.io.ledger.record(decisions);
        let cloud = message.cloud().to_owned();
        if let Err(why) = self.io.link.publish(message) {
            // The policy's `sent` row is already written; this one says it did not leave.
            self.io.ledger.push(self.note(
                &cloud,
                "not_sent",
                format!("{why}; message dropped, not queued"),
            ));
        }
    }

    fn note(&self, cloud: &str, kind: &str, detail: String) -> Row {
        Row {
            time: self.io.clock.wall_now(),
            cloud: cloud.to_owned(),
            field: None,
            kind: kind.to_owned(),
            detail,
            payload: None,
        }
    }

    fn report_state(&mut self) {
        if !self.up() {
            return;
        }
        let state = self.io.state.borrow().clone();
        let now = self.now();
        let (messages, decisions) = self.policy.on_state(&state, now);
        self.io.ledger.record(decisions);
        for m in messages {
            self.emit(m, Vec::new());
        }
    }

    fn announce(&mut self) {
        if !self.silent {
            let now = self.now();
            let (m, d) = self.policy.capability(now);
            self.emit(m, d);
        }
        self.report_state();
    }

    async fn inbound(&mut self, raw: Vec<u8>) {
        let state = self.io.state.borrow().clone();
        let now = self.now();
        let policy = &mut self.policy;
        // A voice PIN is checked with PBKDF2 (100 000 rounds): never on an async worker.
        let (inbound, decisions) =
            crate::offload::off_worker(|| policy.handle_inbound(&raw, &state, now));
        match inbound {
            Inbound::Reply(m) => self.emit(m, decisions),
            Inbound::Command { command, reply } => {
                self.io.ledger.record(decisions);
                let result = self.run_command(command).await;
                let state = self.io.state.borrow().clone();
                let (m, d) = self.policy.command_reply(reply, result, &state, self.now());
                self.emit(m, d);
            }
        }
    }

    async fn run_command(&self, command: hearth_model::Command) -> Result<(), CommandError> {
        let (tx, rx) = oneshot::channel();
        let request = CommandRequest { command, reply: tx };
        let internal = |m: &str| CommandError::new(CommandErrorCode::Internal, m);
        let sent = tokio::time::timeout(COMMAND_TIMEOUT, self.io.commands.send(request)).await;
        if !matches!(sent, Ok(Ok(()))) {
            return Err(internal("hearth is busy or shutting down"));
        }
        match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(refusal))) => Err(command_error(&refusal)),
            _ => Err(internal("hearth did not answer in time")),
        }
    }

    /// Run until shutdown.
    pub async fn run(mut self) {
        let mut seen = LinkState::default();
        loop {
            // Deadlines only matter while the cloud is up; a floor keeps a deadline the
            // policy did not move from spinning this loop.
            let deadline = self.policy.next_deadline().filter(|_| self.up()).map(|at| {
                tokio::time::Instant::from_std(at)
                    .max(tokio::time::Instant::now() + Duration::from_millis(100))
            });
            let link = self.io.link.state.borrow_and_update().to_owned();
            if link != seen {
                if link.up && link.session != seen.session {
                    self.announce();
                } else if !link.up && seen.up {
                    let row = self.note(
                        self.policy.cloud(),
                        "offline",
                        "cloud offline: nothing is produced or queued for it until it is back"
                            .into(),
                    );
                    self.io.ledger.push(row);
                }
                seen = link;
            }
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let wake = {
                let io = &mut self.io;
                tokio::select! {
                    _ = crate::shutdown::wait(&mut io.shutdown) => Wake::Stop,
                    r = io.link.state.changed() => if r.is_err() { Wake::Stop } else { Wake::Link },
                    r = io.state.changed() => if r.is_err() { Wake::Stop } else { Wake::State },
                    Some(raw) = io.link.inbound.recv() => Wake::Inbound(raw),
                    Some(p) = io.policies.recv() => Wake::Policy(Box::new(p)),
                    _ = sleep => Wake::Deadline,
                }
            };
            match wake {
                Wake::Stop => break,
                Wake::Link => {}
                Wake::State | Wake::Deadline => self.report_state(),
                Wake::Inbound(raw) => self.inbound(raw).await,
                Wake::Policy(p) => {
                    (self.policy, self.silent) = *p;
                    if self.up() {
                        self.announce();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_map_to_command_errors() {
        let cases = [
            ("setpoint_out_of_range", CommandErrorCode::OutOfRange),
            ("setpoints_too_close", CommandErrorCode::OutOfRange),
            ("door_open", CommandErrorCode::NotPossibleNow),
            ("state_unknown", CommandErrorCode::NotPossibleNow),
            ("sensor_fault", CommandErrorCode::HardwareFault),
            ("lock_busy", CommandErrorCode::Busy),
            ("shutting_down", CommandErrorCode::Internal),
        ];
        for (code, want) in cases {
            let r = Refusal {
                code,
                message: "m".into(),
            };
            assert_eq!(command_error(&r).code, want, "{code}");
        }
    }
}
