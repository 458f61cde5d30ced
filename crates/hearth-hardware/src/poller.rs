//! The hardware poll loop: the one task that owns the hardware. It reads the sensor every
//! `poll_interval`, reads the lock inputs at once on an edge — or, only for hardware that
//! reports no edges, every `input_poll_interval` — debounces them, sends typed events, and
//! applies every change of the desired outputs as soon as it is published.
//!
//! It must never decide what the outputs should be (that is the controllers' job) and must
//! never leave them on: they are driven OFF before the first read and again when the
//! control side goes away. The desired outputs are re-written every `poll_interval` (a pin
//! changed behind hearth's back is put right); a write that fails is retried, and one that
//! keeps failing ends the poller with an error (outputs driven OFF) so the daemon stops and
//! systemd restarts it. A slow sensor read that hangs is reported as a failed reading after
//! `read_timeout`, and a read that panics still reports back, so readings always resume.

use crate::debounce::Debouncer;
use crate::{ClimateReading, Hardware, HardwareError, SensorError, SharedSensor};
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
    /// How long a slow sensor read may take before it counts as failed.
    pub read_timeout: Duration,
}

/// A slow (blocking-thread) sensor read taking longer than this is reported as failed; a
/// DS18B20 conversion takes 750 ms, an SHT3x measurement 15 ms.
pub const SENSOR_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How many times one output write is tried before the poller gives up with a fault.
pub const WRITE_ATTEMPTS: u32 = 3;

impl Default for PollerConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(10),
            input_poll_interval: Duration::from_millis(100),
            debounce: InputDebounce::default(),
            read_timeout: SENSOR_READ_TIMEOUT,
        }
    }
}

/// Own the hardware until the `outputs` sender is dropped (or `events` is closed), then
/// drive everything OFF and return. Keep `events` drained: a full channel holds the loop.
/// An error means an output could not be written even after retries (outputs are still
/// driven OFF as far as possible before returning).
pub async fn run_poller(
    hw: Box<dyn Hardware>,
    cfg: PollerConfig,
    events: mpsc::Sender<HardwareEvent>,
    mut outputs: watch::Receiver<DesiredOutputs>,
) -> Result<(), HardwareError> {
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
    let mut result = Ok(());
    if p.poll_inputs().await {
        let want = *outputs.borrow_and_update();
        result = match p.apply(want, false) {
            Ok(()) => p.run(&mut outputs).await,
            Err(e) => Err(e),
        };
    }
    if let Err(e) = &result {
        tracing::error!("{e}");
    }
    if let Err(e) = p.hw.all_off() {
        tracing::error!("could not drive the outputs off when stopping: {e}");
    }
    result
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
    async fn run(
        &mut self,
        outputs: &mut watch::Receiver<DesiredOutputs>,
    ) -> Result<(), HardwareError> {
        let edge = self.hw.edge_notify();
        let slow = self.hw.slow_sensor();
        let mut climate_tick = interval(self.cfg.poll_interval);
        climate_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let every = self.cfg.input_poll_interval;
        let mut input_tick = interval_at(Instant::now() + every, every);
        input_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let period = self.cfg.poll_interval;
        let mut reassert_tick = interval_at(Instant::now() + period, period);
        reassert_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let (done_tx, mut done_rx) = mpsc::channel(1);
        // When the slow read now running was started; at most one runs at a time.
        let mut reading_since: Option<Instant> = None;

        loop {
            let deadline = self.debouncer.as_ref().and_then(Debouncer::next_deadline);
            let keep_going = tokio::select! {
                // Output changes first: switching off must never wait behind a read.
                biased;
                changed = outputs.changed() => match changed {
                    Ok(()) => {
                        let want = *outputs.borrow_and_update();
                        self.apply(want, false)?;
                        true
                    }
                    Err(_) => false,
                },
                _ = reassert_tick.tick() => {
                    self.apply(self.requested, true)?;
                    true
                }
                () = edge_fired(edge.as_deref()) => self.poll_inputs().await,
                () = sleep_until_some(deadline) => self.poll_inputs().await,
                // The fallback poll, only without edges: an idle house then wakes nobody.
                _ = input_tick.tick(), if edge.is_none() => self.poll_inputs().await,
                _ = climate_tick.tick() => match &slow {
                    Some(sensor) => match reading_since {
                        None => {
                            reading_since = Some(Instant::now());
                            read_on_blocking_thread(sensor.clone(), done_tx.clone());
                            true
                        }
                        // Never a second read behind a hung one; say so at every poll instead,
                        // so the controller's sensor timeout runs as for a dead sensor.
                        Some(since) if since.elapsed() >= self.cfg.read_timeout => {
                            let reading = Err(SensorError::NoResponse {
                                sensor: "temperature sensor",
                                detail: format!(
                                    "a read has not returned for {} s (timeout {} s); the next \
                                     read starts once it does",
                                    since.elapsed().as_secs(),
                                    self.cfg.read_timeout.as_secs()
                                ),
                            });
                            self.send(HardwareEvent::Climate { at: Instant::now(), reading }).await
                        }
                        Some(_) => true,
                    },
                    None => {
                        let reading = self.hw.read_climate();
                        self.send(HardwareEvent::Climate { at: Instant::now(), reading }).await
                    }
                },
                Some(reading) = done_rx.recv() => {
                    let took = reading_since.take().map(|s| s.elapsed()).unwrap_or_default();
                    if took > self.cfg.read_timeout {
                        tracing::warn!("a sensor read returned after {} s; its value is stale and was dropped", took.as_secs());
                        true
                    } else {
                        self.send(HardwareEvent::Climate { at: Instant::now(), reading }).await
                    }
                }
            };
            if !keep_going {
                return Ok(());
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

    /// Write what changed (or everything, when `reassert`). A write that fails is retried;
    /// still failing after [`WRITE_ATTEMPTS`], it is an error that ends the poller.
    fn apply(&mut self, want: DesiredOutputs, reassert: bool) -> Result<(), HardwareError> {
        if reassert || want.hvac != self.requested.hvac {
            self.requested.hvac = want.hvac;
            let hvac = want.hvac;
            write_with_retry("the HVAC relays", || self.hw.set_hvac(hvac))?;
        }
        if reassert || want.motor != self.requested.motor {
            self.requested.motor = want.motor;
            let motor = want.motor;
            write_with_retry("the lock motor", || self.hw.set_motor(motor))?;
        }
        Ok(())
    }

    // `&mut`: a shared borrow would make the loop future !Send (`dyn Hardware` is not Sync).
    async fn send(&mut self, event: HardwareEvent) -> bool {
        self.events.send(event).await.is_ok()
    }
}

/// Try a write up to [`WRITE_ATTEMPTS`] times. Errors a retry cannot fix (an output that
/// is not wired, the heat/cool interlock) are logged and not retried: they are not faults of
/// the write but of the request, and the interlock has already driven both relays off.
fn write_with_retry(
    what: &'static str,
    mut write: impl FnMut() -> Result<(), HardwareError>,
) -> Result<(), HardwareError> {
    let mut last = None;
    for attempt in 1..=WRITE_ATTEMPTS {
        match write() {
            Ok(()) => return Ok(()),
            Err(e @ (HardwareError::NotWired { .. } | HardwareError::Interlock)) => {
                tracing::error!("could not set {what}: {e}");
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(
                    "writing {what} failed (attempt {attempt} of {WRITE_ATTEMPTS}): {e}"
                );
                last = Some(e);
            }
        }
    }
    Err(HardwareError::OutputWrite {
        what,
        attempts: WRITE_ATTEMPTS,
        detail: last.map(|e| e.to_string()).unwrap_or_default(),
    })
}

type Reading = Result<ClimateReading, SensorError>;

/// Reports a blocking read's result, or — if the read panicked and unwound past it — an
/// error, so the poller always learns the read is over and can start the next one.
struct ReadReport {
    done: mpsc::Sender<Reading>,
    sent: bool,
}

impl ReadReport {
    fn send(mut self, reading: Reading) {
        self.sent = true;
        let _ = self.done.blocking_send(reading);
    }
}

impl Drop for ReadReport {
    fn drop(&mut self) {
        if !self.sent {
            // One read is in flight at a time, so the one-slot channel has room.
            let _ = self.done.try_send(Err(SensorError::NoResponse {
                sensor: "temperature sensor",
                detail: "the read failed inside the driver (a panic; see the log)".into(),
            }));
        }
    }
}

fn read_on_blocking_thread(sensor: SharedSensor, done: mpsc::Sender<Reading>) {
    tokio::task::spawn_blocking(move || {
        let report = ReadReport { done, sent: false };
        // A panic in another reader poisons the lock but leaves the sensor usable.
        let reading = sensor.lock().unwrap_or_else(|p| p.into_inner()).read();
        report.send(reading);
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
