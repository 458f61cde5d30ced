//! The house task: the one owner of the thermostat and lock controllers.
//!
//! It turns hardware events, commands and timer deadlines into controller steps, then
//! publishes the results: desired outputs to the hardware poller, the state snapshot to
//! every reader (local MQTT, clouds' policy, status requests), and samples and events to
//! history. The controllers decide; this task only moves messages. It never touches
//! hardware itself, so a refused command cannot move anything.

use crate::clock::Clock;
use crate::record::HouseRecorder;
use hearth_control::{LockController, Refusal, Thermostat};
use hearth_hardware::{DesiredOutputs, HardwareEvent};
use hearth_model::{Command, CommandKind, HouseState};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

/// A command on its way to the controllers, with where to send the verdict.
#[derive(Debug)]
pub struct CommandRequest {
    pub command: Command,
    pub reply: oneshot::Sender<Result<(), Refusal>>,
}

/// The channels the house task reads and writes.
pub(crate) struct HouseIo {
    pub hardware: mpsc::Receiver<HardwareEvent>,
    pub commands: mpsc::Receiver<CommandRequest>,
    pub outputs: watch::Sender<DesiredOutputs>,
    pub state: watch::Sender<HouseState>,
    /// Liveness probes from the systemd watchdog: answered from inside the loop, so a hung
    /// control loop stops the pings and systemd restarts hearth.
    pub probes: mpsc::Receiver<oneshot::Sender<()>>,
    pub shutdown: watch::Receiver<bool>,
}

/// What the house task counted, returned at the end (logged, and read by tests).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HouseStats {
    pub commands_accepted: u64,
    pub commands_refused: u64,
    /// Of the refused: `busy` because the event log's backlog was full (not logged, as
    /// nothing was done; every other command is).
    pub commands_busy: u64,
    /// Lock state changes the controller reported (each one is logged).
    pub lock_changes: u64,
    pub heat_starts: u64,
    pub cool_starts: u64,
}

pub(crate) struct House {
    thermostat: Thermostat,
    lock: LockController,
    recorder: HouseRecorder,
    clock: Clock,
    stats: HouseStats,
    last_outputs: DesiredOutputs,
}

impl House {
    pub fn new(
        thermostat: Thermostat,
        lock: LockController,
        recorder: HouseRecorder,
        clock: Clock,
    ) -> Self {
        Self {
            thermostat,
            lock,
            recorder,
            clock,
            stats: HouseStats::default(),
            last_outputs: DesiredOutputs::default(),
        }
    }

    pub fn snapshot(&self) -> HouseState {
        HouseState {
            thermostat: self.thermostat.state(),
            lock: self.lock.status(),
        }
    }

    /// Run until shutdown. On the way out the outputs are set OFF and the outputs channel is
    /// dropped, which tells the poller to drive everything OFF and stop.
    pub async fn run(mut self, mut io: HouseIo) -> HouseStats {
        io.state.send_replace(self.snapshot());
        self.recorder.state(&self.snapshot(), self.clock.wall_now());
        let mut hardware_open = true;
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                biased;
                _ = crate::shutdown::wait(&mut io.shutdown) => break,
                event = io.hardware.recv(), if hardware_open => match event {
                    Some(event) => self.on_hardware(event),
                    None => {
                        tracing::error!("the hardware poller stopped; outputs are off and control is suspended");
                        hardware_open = false;
                    }
                },
                Some(request) = io.commands.recv() => self.on_command(request),
                Some(probe) = io.probes.recv() => {
                    let _ = probe.send(());
                    continue;
                }
                _ = sleep_until(deadline) => self.tick(),
            }
            self.publish(&io);
        }
        // Stop intake first: commands still queued get a clear refusal.
        io.commands.close();
        while let Ok(request) = io.commands.try_recv() {
            let _ = request.reply.send(Err(Refusal {
                code: "shutting_down",
                message: "hearth is shutting down; the command was not carried out".into(),
            }));
            self.stats.commands_refused += 1;
        }
        io.outputs.send_replace(DesiredOutputs::default());
        drop(io.outputs);
        // The last word: the state hearth leaves behind, which local MQTT publishes (retained)
        // before `offline` — not the heating or moving of a moment ago.
        let last = stopped(self.snapshot());
        self.recorder.state(&last, self.clock.wall_now());
        io.state.send_replace(last);
        self.stats
    }

    fn next_deadline(&self) -> Option<Instant> {
        let a = self.thermostat.next_deadline();
        let b = self.lock.next_deadline();
        a.into_iter().chain(b).min().map(Instant::from_std)
    }

    fn on_hardware(&mut self, event: HardwareEvent) {
        match event {
            HardwareEvent::Climate { at, reading } => {
                match &reading {
                    Ok(r) => tracing::debug!(
                        temperature = r.temperature,
                        humidity = r.humidity,
                        action = self.thermostat.action().as_str(),
                        "reading"
                    ),
                    Err(e) => tracing::warn!("sensor read failed: {e}"),
                }
                let reading = reading.map_err(|e| e.to_string());
                self.thermostat.on_reading(reading, at.into_std());
            }
            HardwareEvent::Inputs { at, inputs } => self.lock.on_inputs(inputs, at.into_std()),
        }
        self.tick();
    }

    fn on_command(&mut self, request: CommandRequest) {
        let now = Instant::now().into_std();
        let CommandRequest { command, reply } = request;
        // Accepted only if its event can be queued: the audit trail is never short of a
        // command that ran (the event path never drops; this bounds its backlog).
        if !self.recorder.has_event_room() {
            self.stats.commands_refused += 1;
            self.stats.commands_busy += 1;
            let _ = reply.send(Err(Refusal {
                code: "busy",
                message: "hearth's event log is catching up; the command was not carried out, \
                          try again shortly"
                    .into(),
            }));
            return;
        }
        let result = match &command.kind {
            CommandKind::Thermostat(change) => self.thermostat.apply(change, now),
            CommandKind::Lock(action) => self.lock.command(*action, command.source.clone(), now),
        };
        match &result {
            Ok(()) => self.stats.commands_accepted += 1,
            Err(r) => {
                self.stats.commands_refused += 1;
                tracing::info!(source = %command.source, code = r.code, "command refused: {}", r.message);
            }
        }
        self.recorder
            .command(&command, &result, self.clock.wall_now());
        self.tick();
        // The requester may have given up waiting; the command still happened.
        let _ = reply.send(result);
    }

    fn tick(&mut self) {
        let now = Instant::now().into_std();
        self.thermostat.tick(now);
        self.lock.tick(now);
    }

    fn publish(&mut self, io: &HouseIo) {
        let at = self.clock.wall_now();
        for event in self
            .thermostat
            .take_events()
            .into_iter()
            .chain(self.lock.take_events())
        {
            tracing::info!(event = %serde_json::to_string(&event).unwrap_or_default(), "control");
            if matches!(event, hearth_control::ControlEvent::LockChanged { .. }) {
                self.stats.lock_changes += 1;
            }
            self.recorder.control_event(&event, at);
        }
        let outputs = DesiredOutputs {
            hvac: self.thermostat.outputs(),
            motor: self.lock.motor(),
        };
        if outputs != self.last_outputs {
            // A state change, so at info: a few dozen lines a day (one per relay cycle).
            if outputs.hvac != self.last_outputs.hvac {
                tracing::info!(
                    action = self.thermostat.action().as_str(),
                    heat = outputs.hvac.heat,
                    cool = outputs.hvac.cool,
                    fan = outputs.hvac.fan,
                    "hvac outputs changed"
                );
            }
            if outputs.hvac.heat && !self.last_outputs.hvac.heat {
                self.stats.heat_starts += 1;
            }
            if outputs.hvac.cool && !self.last_outputs.hvac.cool {
                self.stats.cool_starts += 1;
            }
            self.last_outputs = outputs;
            io.outputs.send_replace(outputs);
        }
        let snapshot = self.snapshot();
        let changed = io.state.send_if_modified(|current| {
            if *current == snapshot {
                false
            } else {
                *current = snapshot.clone();
                true
            }
        });
        if changed {
            self.recorder.state(&snapshot, at);
        }
    }
}

/// The house as hearth leaves it on stop: every output is off, so nothing is heating or
/// cooling, and a bolt stopped mid-travel is at an unknown position.
pub fn stopped(mut state: HouseState) -> HouseState {
    state.thermostat.action = hearth_model::HvacAction::Idle;
    if state.lock.state == hearth_model::LockState::Moving {
        state.lock.state = hearth_model::LockState::Unknown;
    }
    state
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
