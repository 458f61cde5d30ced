//! One task per cloud: it owns that cloud's `Policy`, feeds it the house state, inbound
//! directives and deadlines, writes every decision to the ledger and hands only the
//! policy's sealed `Outbound` messages to the connection.
//!
//! While the cloud is down the forwarder does not call the policy's send paths at all:
//! nothing is produced, so nothing can queue (one ledger row notes the outage). On every
//! new connection it sends the capability description and then the current state as the
//! policy allows it now — never anything made before. This file never touches raw bytes
//! for a cloud except the directives it passes, unread, to the policy.
//!
//! The ledger is the audit: a message is published only after its `sent` row is queued;
//! if the ledger cannot take the row, the message is not sent (counted and logged). A
//! retained directive is never acted on (the broker replays it on every connection); it is
//! recorded as ignored. The policy's inbound guard (PIN lockout, replay memory) is carried
//! over on a reload and saved to a state file, so neither a reload nor a restart resets it.

use super::connection::{CloudLink, Directive, LinkState};
use crate::clock::Clock;
use crate::house::CommandRequest;
use crate::ledger::{Ledger, Row};
use hearth_control::Refusal;
use hearth_model::HouseState;
use hearth_policy::{
    CommandError, CommandErrorCode, Decision, DecisionKind, GuardState, Inbound, Now, Outbound,
    Policy,
};
use std::path::PathBuf;
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
    /// Where this cloud's PIN lockout and replay memory are kept across restarts (`None`:
    /// not persisted, for tests and benchmarks).
    pub guard_file: Option<PathBuf>,
}

enum Wake {
    Stop,
    Link,
    State,
    Deadline,
    Inbound(Directive),
    Policy(Box<(Policy, bool)>),
}

pub struct Forwarder {
    policy: Policy,
    /// The policy shares nothing: no capability description is published either.
    silent: bool,
    io: ForwarderIo,
    /// The guard state last saved (or loaded), to write only on change.
    saved_guard: GuardState,
    /// Messages not published because the ledger could not queue their `sent` row.
    unrecorded: u64,
}

/// A control refusal as the policy's formats report it: the stable code is mapped, the
/// message goes to the ledger only.
pub fn command_error(r: &Refusal) -> CommandError {
    CommandError::new(
        CommandErrorCode::from_refusal_code(r.code),
        r.message.clone(),
    )
}

impl Forwarder {
    /// `silent`: see [`super::CloudConfig::shares_nothing`]. Restores the guard state from
    /// `io.guard_file` when there is one.
    pub fn new(mut policy: Policy, silent: bool, io: ForwarderIo) -> Self {
        let mut saved_guard = GuardState::default();
        if let Some(path) = &io.guard_file {
            match crate::persist::load::<GuardState>(path) {
                Ok(Some(s)) => {
                    policy.restore_guard_state(s.clone());
                    saved_guard = s;
                }
                Ok(None) => {}
                Err(e) => tracing::error!(cloud = %policy.cloud(), "{e}"),
            }
        }
        Self {
            policy,
            silent,
            io,
            saved_guard,
            unrecorded: 0,
        }
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
        self.io.link.state.borrow().connected
    }

    /// Ledger the decisions and publish the messages: every row but the `sent` ones first,
    /// then per message its `sent` row, and the message only if that row was queued.
    fn emit(&mut self, messages: Vec<Outbound>, decisions: Vec<Decision>) {
        let (sent, other): (Vec<Decision>, Vec<Decision>) = decisions
            .into_iter()
            .partition(|d| d.kind == DecisionKind::Sent);
        // A row lost here is counted and logged by the ledger; the messages' own rows below
        // decide whether they leave.
        let _ = self.io.ledger.record(other);
        debug_assert_eq!(sent.len(), messages.len(), "one sent row per message");
        for (message, row) in messages.into_iter().zip(sent) {
            if let Err(why) = self.io.ledger.push(row.into()) {
                self.unrecorded += 1;
                tracing::error!(
                    cloud = %self.policy.cloud(),
                    not_published = self.unrecorded,
                    "message not published: its ledger row could not be queued ({why})"
                );
                continue;
            }
            let cloud = message.cloud().to_owned();
            if let Err(why) = self.io.link.publish(message) {
                // The `sent` row is already queued; this one says it did not leave.
                let _ = self.io.ledger.push(self.note(
                    &cloud,
                    "not_sent",
                    format!("{why}; message dropped, not queued"),
                ));
            }
        }
    }

    /// Save the guard state if it changed (a wrong PIN, a new command id).
    fn save_guard(&mut self) {
        let Some(path) = &self.io.guard_file else {
            return;
        };
        let now = self.policy.guard_state();
        if now == self.saved_guard {
            return;
        }
        match crate::persist::save(path, &now) {
            Ok(()) => self.saved_guard = now,
            Err(e) => tracing::error!(cloud = %self.policy.cloud(), "{e}"),
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
        self.emit(messages, decisions);
    }

    fn announce(&mut self) {
        if !self.silent {
            let now = self.now();
            let (m, d) = self.policy.capability(now);
            self.emit(m.into_iter().collect(), d);
        }
        self.report_state();
    }

    /// Write a row for directives the connection dropped because this task was behind.
    fn note_dropped(&mut self) {
        let n = self
            .io
            .link
            .dropped
            .swap(0, std::sync::atomic::Ordering::Relaxed);
        if n > 0 {
            let row = self.note(
                self.policy.cloud(),
                "directive_dropped",
                format!("{n} directive(s) dropped unread: they came faster than hearth handles them; none was answered"),
            );
            let _ = self.io.ledger.push(row);
        }
    }

    async fn inbound(&mut self, directive: Directive) {
        self.note_dropped();
        if directive.retained {
            let row = self.note(
                self.policy.cloud(),
                "directive_ignored",
                format!(
                    "retained directive ({} bytes) ignored: the broker replays a retained \
                     message on every connection, so it is never acted on",
                    directive.payload.len()
                ),
            );
            let _ = self.io.ledger.push(row);
            return;
        }
        let state = self.io.state.borrow().clone();
        let now = self.now();
        let policy = &mut self.policy;
        // A voice PIN is checked with PBKDF2 (100 000 rounds): never on an async worker.
        let (inbound, decisions) =
            crate::offload::off_worker(|| policy.handle_inbound(&directive.payload, &state, now));
        self.save_guard();
        match inbound {
            Inbound::Reply(m) => self.emit(vec![m], decisions),
            Inbound::Silent => self.emit(Vec::new(), decisions),
            Inbound::Command { command, reply } => {
                // Nothing moves without a record: no row, no command.
                let result = match self.io.ledger.record(decisions) {
                    Ok(()) => self.run_command(command).await,
                    Err(why) => Err(CommandError::new(
                        CommandErrorCode::Internal,
                        format!("not carried out: its ledger row could not be queued ({why})"),
                    )),
                };
                let state = self.io.state.borrow().clone();
                let (m, d) = self.policy.command_reply(reply, result, &state, self.now());
                self.emit(vec![m], d);
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
                if link.connected && link.session != seen.session {
                    self.announce();
                } else if !link.connected && seen.connected {
                    let row = self.note(
                        self.policy.cloud(),
                        "offline",
                        "cloud offline: nothing is produced or queued for it until it is back"
                            .into(),
                    );
                    let _ = self.io.ledger.push(row);
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
            self.note_dropped();
            match wake {
                Wake::Stop => break,
                Wake::Link => {}
                Wake::State | Wake::Deadline => self.report_state(),
                Wake::Inbound(raw) => self.inbound(raw).await,
                Wake::Policy(p) => {
                    let (mut policy, silent) = *p;
                    // The lockout, replay memory and request budget outlive the reload.
                    policy.carry_over_from(&mut self.policy);
                    (self.policy, self.silent) = (policy, silent);
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
    use crate::cloud::fixture::house;

    #[test]
    fn refusals_map_to_command_errors() {
        for code in hearth_control::refusal::codes::ALL {
            let r = Refusal {
                code,
                message: "m".into(),
            };
            let e = command_error(&r);
            assert_eq!(
                e.code.as_str(),
                code,
                "every control code has its own mapping"
            );
            assert_eq!(e.message, "m");
        }
        let r = Refusal {
            code: "shutting_down",
            message: "m".into(),
        };
        assert_eq!(command_error(&r).code, CommandErrorCode::Internal);
    }

    /// A forwarder for cloud "c" (json, sharing lock.state on change, allowed to lock) with
    /// a ledger queue of `capacity` rows; the link is up.
    fn forwarder(
        capacity: usize,
    ) -> (
        Forwarder,
        rumqttc::EventLoop,
        std::sync::mpsc::Receiver<Row>,
        mpsc::Receiver<CommandRequest>,
    ) {
        let cfg: hearth_policy::PolicyConfig = toml::from_str(
            "[fields.\"lock.state\"]\nshare = \"on_change\"\n[commands]\nallow = [\"lock\"]",
        )
        .unwrap();
        let policy = Policy::new("c", hearth_policy::Format::Json, &cfg).unwrap();
        let (link, eventloop, up, _in) = super::super::connection::test_link("c");
        up.send_replace(LinkState {
            connected: true,
            session: 1,
            ..LinkState::default()
        });
        let (ledger, rows) = Ledger::for_test(capacity);
        let (_state_tx, state) = watch::channel(house());
        let (commands, house_rx) = mpsc::channel(1);
        let (_ptx, policies) = mpsc::channel(1);
        let (_stx, shutdown) = watch::channel(false);
        let io = ForwarderIo {
            link,
            state,
            commands,
            policies,
            ledger,
            clock: Clock::start(),
            shutdown,
            guard_file: None,
        };
        // Dropping the sender keeps its last value: the link reads as up.
        drop(up);
        (Forwarder::new(policy, false, io), eventloop, rows, house_rx)
    }

    #[tokio::test]
    async fn nothing_is_published_unless_its_sent_row_is_queued() {
        // Room for every row: the capability description is published after its row.
        let (mut f, mut ev, rows, _house) = forwarder(64);
        f.announce();
        ev.clean();
        let published = ev.pending.len();
        assert!(published >= 1, "the capability description left");
        let sent_rows = rows.try_iter().filter(|r| r.kind == "sent").count();
        assert_eq!(sent_rows, published, "one sent row per published message");

        // No room at all: nothing leaves, and the loss is counted.
        let (mut f, mut ev, rows, _house) = forwarder(0);
        f.announce();
        ev.clean();
        assert!(ev.pending.is_empty(), "published without a ledger row");
        assert!(f.unrecorded >= 1);
        assert!(f.io.ledger.dropped() >= 1);
        drop(rows);
    }

    #[tokio::test]
    async fn a_retained_directive_is_recorded_and_never_acted_on() {
        let (mut f, mut ev, rows, _house) = forwarder(64);
        f.inbound(Directive {
            payload: br#"{"id":"r1","op":"lock"}"#.to_vec(),
            retained: true,
        })
        .await;
        ev.clean();
        assert!(ev.pending.is_empty(), "a retained directive got a reply");
        let rows: Vec<Row> = rows.try_iter().collect();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].kind, "directive_ignored");
        assert!(rows[0].detail.contains("retained"), "{}", rows[0].detail);
    }

    #[tokio::test]
    async fn a_command_the_ledger_cannot_record_is_not_carried_out() {
        let (mut f, mut ev, rows, mut house) = forwarder(0);
        f.inbound(Directive {
            payload: br#"{"id":"c1","op":"lock"}"#.to_vec(),
            retained: false,
        })
        .await;
        assert!(
            house.try_recv().is_err(),
            "the house got an unrecorded command"
        );
        ev.clean();
        assert!(ev.pending.is_empty(), "a reply left without its row");
        drop(rows);
    }

    #[tokio::test]
    async fn directives_dropped_by_the_connection_are_recorded() {
        let (mut f, _ev, rows, _house) = forwarder(64);
        f.io.link
            .dropped
            .store(3, std::sync::atomic::Ordering::Relaxed);
        f.inbound(Directive {
            payload: br#"{"id":"s1","op":"state"}"#.to_vec(),
            retained: false,
        })
        .await;
        let rows: Vec<Row> = rows.try_iter().collect();
        assert_eq!(rows[0].kind, "directive_dropped", "{rows:?}");
        assert!(
            rows[0].detail.starts_with("3 directive(s)"),
            "{}",
            rows[0].detail
        );
        assert_eq!(
            f.io.link.dropped.load(std::sync::atomic::Ordering::Relaxed),
            0
        );
    }
}
