//! The hardware poll loop: the one task that owns the hardware. It reads the sensor every
//! `poll_interval`, reads the lock inputs at once on an edge — or, only for hardware that
//! reports no edges, every `input_poll_interval` — debounces them, sends typed events, and
//! applies every change of the desired outputs as soon as it is published.
//!
//! It must never decide what the outputs should be (that is the controllers' job) and must
//! never leave them on: they are driven OFF before the first read and again when the
//! control side goes away.

use crate::debounce::Debouncer;
use crate::{ClimateReading, Hardware, SensorError, SharedSensor};
use hearth_model::{HvacOutputs, LockInputs, MotorDrive};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior, interval, interval_at, sleep_until};

/// What the controllers want the outputs to be. The default is everything off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DesiredOutputs {
    pub hvac: HvacOutputs,
    pub motor: MotorDrive,
}

/// What the poller reports.
#[derive(Debug, Clone, PartialEq)]
pub enum HardwareEvent {
    /// One sensor read, valid or not, every `poll_interval`.
    Climate {
        at: Instant,
        reading: Result<ClimateReading, SensorError>,
    },
    /// The debounced lock inputs: once at start, then on every change.
    Inputs { at: Instant, inputs: LockInputs },
}

/// How long each lock input must be stable before a change is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InputDebounce {
    pub bolt_locked: Duration,
    pub bolt_unlocked: Duration,
    pub door: Duration,
}

/// The poll loop's timing; [`crate::HardwareConfig::poller_config`] derives it from config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollerConfig {
    pub poll_interval: Duration,
    pub input_poll_interval: Duration,
    pub debounce: InputDebounce,
}

impl Default for PollerConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(10),
            input_poll_interval: Duration::from_millis(100),
            debounce: InputDebounce::default(),
        }
    }
}

/// Own the hardware until the `outputs` sender is dropped (or `events` is closed), then
/// drive everything OFF and return. Keep `events` drained: a full channel holds the loop.
pub async fn run_poller(
    hw: Box<dyn Hardware>,
    cfg: PollerConfig,
    events: mpsc::Sender<HardwareEvent>,
    mut outputs: watch::Receiver<DesiredOutputs>,
) {
    let mut p = Poller {
        hw,
        cfg,
        events,
        requested: DesiredOutputs::default(),
        debouncer: None,
        input_error_logged: false,
    };
    if let Err(e) = p.hw.all_off() {
        tracing::error!("could not drive the outputs off at start: {e}");
    }
    if p.poll_inputs().await {
        let want = *outputs.borrow_and_update();
        p.apply(want);
        p.run(&mut outputs).await;
    }
    if let Err(e) = p.hw.all_off() {
        tracing::error!("could not drive the outputs off when stopping: {e}");
    }
}

struct Poller {
    hw: Box<dyn Hardware>,
    cfg: PollerConfig,
    events: mpsc::Sender<HardwareEvent>,
    requested: DesiredOutputs,
    debouncer: Option<Debouncer>,
    input_error_logged: bool,
}

impl Poller {
    async fn run(&mut self, outputs: &mut watch::Receiver<DesiredOutputs>) {
        let edge = self.hw.edge_notify();
        let slow = self.hw.slow_sensor();
        let mut climate_tick = interval(self.cfg.poll_interval);
        climate_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let every = self.cfg.input_poll_interval;
        let mut input_tick = interval_at(Instant::now() + every, every);
        input_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let (done_tx, mut done_rx) = mpsc::channel(1);
        let mut reading_in_flight = false;

        loop {
            let deadline = self.debouncer.as_ref().and_then(Debouncer::next_deadline);
            let keep_going = tokio::select! {
                // Output changes first: switching off must never wait behind a read.
                biased;
                changed = outputs.changed() => match changed {
                    Ok(()) => {
                        let want = *outputs.borrow_and_update();
                        self.apply(want);
                        true
                    }
                    Err(_) => false,
                },
                () = edge_fired(edge.as_deref()) => self.poll_inputs().await,
                () = sleep_until_some(deadline) => self.poll_inputs().await,
                // The fallback poll, only without edges: an idle house then wakes nobody.
                _ = input_tick.tick(), if edge.is_none() => self.poll_inputs().await,
                _ = climate_tick.tick() => match &slow {
                    Some(sensor) => {
                        // A slow conversion is never started twice; the tick is just skipped.
                        if !reading_in_flight {
                            reading_in_flight = true;
                            read_on_blocking_thread(sensor.clone(), done_tx.clone());
                        }
                        true
                    }
                    None => {
                        let reading = self.hw.read_climate();
                        self.send(HardwareEvent::Climate { at: Instant::now(), reading }).await
                    }
                },
                Some(reading) = done_rx.recv() => {
                    reading_in_flight = false;
                    self.send(HardwareEvent::Climate { at: Instant::now(), reading }).await
                }
            };
            if !keep_going {
                return;
            }
        }
    }

    /// Read the inputs and report a debounced change; false when nobody listens any more.
    async fn poll_inputs(&mut self) -> bool {
        let now = Instant::now();
        let raw = match self.hw.read_inputs() {
            Ok(raw) => {
                self.input_error_logged = false;
                raw
            }
            Err(e) => {
                if !self.input_error_logged {
                    tracing::warn!("cannot read the lock inputs: {e}");
                    self.input_error_logged = true;
                }
                return true;
            }
        };
        let changed = match &mut self.debouncer {
            None => {
                let d = Debouncer::new(raw, now, self.cfg.debounce);
                let first = d.current();
                self.debouncer = Some(d);
                Some(first)
            }
            Some(d) => d.update(raw, now),
        };
        match changed {
            Some(inputs) => self.send(HardwareEvent::Inputs { at: now, inputs }).await,
            None => true,
        }
    }

    fn apply(&mut self, want: DesiredOutputs) {
        if want.hvac != self.requested.hvac {
            self.requested.hvac = want.hvac;
            if let Err(e) = self.hw.set_hvac(want.hvac) {
                tracing::error!("could not set the HVAC relays to {:?}: {e}", want.hvac);
            }
        }
        if want.motor != self.requested.motor {
            self.requested.motor = want.motor;
            if let Err(e) = self.hw.set_motor(want.motor) {
                tracing::error!("could not set the lock motor to {:?}: {e}", want.motor);
            }
        }
    }

    // `&mut`: a shared borrow would make the loop future !Send (`dyn Hardware` is not Sync).
    async fn send(&mut self, event: HardwareEvent) -> bool {
        self.events.send(event).await.is_ok()
    }
}

fn read_on_blocking_thread(
    sensor: SharedSensor,
    done: mpsc::Sender<Result<ClimateReading, SensorError>>,
) {
    tokio::task::spawn_blocking(move || {
        // A panic in another reader poisons the lock but leaves the sensor usable.
        let reading = sensor.lock().unwrap_or_else(|p| p.into_inner()).read();
        let _ = done.blocking_send(reading);
    });
}

async fn edge_fired(notify: Option<&Notify>) {
    match notify {
        Some(n) => n.notified().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
