//! The house simulator backend: a thermal model, a motorised deadbolt with limit switches,
//! a door, sensor noise from a seeded generator, scripted and runtime events, and faults.
//!
//! It runs on tokio's clock: the state is advanced to `Instant::now()` whenever anyone
//! looks at it, and a small task wakes at the next scripted event or bolt arrival so edges
//! are announced on time. With a paused clock a simulated day takes well under a second.
//! Same seed and same calls give the same readings. It must never sleep or read wall time.

mod config;
mod lock;
mod script;
pub mod state_file;
mod thermal;

pub use config::{InitialBolt, SimulatorConfig};
pub use lock::SimLock;
pub use script::{SimAction, SimFault, routine};
pub use thermal::{OutdoorProfile, Thermal};

use crate::{Hardware, HardwareError, SensorError, check_interlock};
use hearth_model::{ClimateReading, DoorState, HvacOutputs, LockAction, LockInputs, MotorDrive};
use script::Script;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The longest stretch integrated in one piece, so the outdoor curve is followed closely.
const MAX_STEP: Duration = Duration::from_secs(60);
const SENSOR: &str = "simulated sensor";

struct SimState {
    start: Instant,
    now: Instant,
    start_hour: f64,
    outdoor: OutdoorProfile,
    thermal: Thermal,
    lock: SimLock,
    door_open: bool,
    hvac: HvacOutputs,
    motor: MotorDrive,
    faults: BTreeSet<SimFault>,
    script: Script,
    rng: fastrand::Rng,
    noise_stddev: f64,
    humidity: f64,
    implausible_temperature: f64,
    /// Inputs as last announced through `edge`.
    announced: LockInputs,
    edge: Arc<Notify>,
    /// Tells the waker task to recompute when it should next wake.
    reschedule: Arc<Notify>,
    hardware_dropped: bool,
    /// `[simulator] state_file`, and what was last written to it.
    state_file: Option<(std::path::PathBuf, Option<(HvacOutputs, MotorDrive)>)>,
}

impl SimState {
    /// Mirror the outputs to the state file when they changed since the last write.
    fn mirror_outputs(&mut self) -> Result<(), HardwareError> {
        let now = (self.hvac, self.motor);
        let Some((path, written)) = &mut self.state_file else {
            return Ok(());
        };
        if *written == Some(now) {
            return Ok(());
        }
        state_file::write(path, now.0, now.1).map_err(|e| HardwareError::StateFile {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        *written = Some(now);
        Ok(())
    }

    fn hour_at(&self, t: Instant) -> f64 {
        self.start_hour + t.duration_since(self.start).as_secs_f64() / 3600.0
    }

    fn inputs(&self) -> LockInputs {
        LockInputs {
            bolt_locked: self.lock.bolt_locked(),
            bolt_unlocked: self.lock.bolt_unlocked(),
            door_open: self.door_open,
        }
    }

    /// Bring the house up to `t`, running script steps at their own times.
    fn advance_to(&mut self, t: Instant) {
        while let Some(step) = self.script.pop_due(t.duration_since(self.start)) {
            self.integrate_to(self.start + step.after);
            self.apply(step.action);
        }
        self.integrate_to(t);
        self.announce_edges();
    }

    fn integrate_to(&mut self, t: Instant) {
        while self.now < t {
            let dt = (t - self.now).min(MAX_STEP);
            let outdoor = self.outdoor.at_hour(self.hour_at(self.now + dt / 2));
            self.thermal
                .step(dt.as_secs_f64() / 3600.0, outdoor, self.hvac);
            self.lock.advance(self.motor, dt);
            self.now += dt;
        }
    }

    fn apply(&mut self, action: SimAction) {
        if let Some(fault) = action.fault() {
            self.faults.insert(fault);
        }
        if let Some(turn) = action.key_turn() {
            self.lock.turn_key(turn);
        }
        match action {
            SimAction::OpenDoor | SimAction::DoorHeldOpen => self.door_open = true,
            SimAction::CloseDoor if !self.faults.contains(&SimFault::DoorHeldOpen) => {
                self.door_open = false
            }
            SimAction::ClearFaults => self.faults.clear(),
            _ => {}
        }
        self.lock
            .set_jammed(self.faults.contains(&SimFault::LockJam));
        self.reschedule.notify_one();
    }

    fn announce_edges(&mut self) {
        let now = self.inputs();
        if now != self.announced {
            self.announced = now;
            self.edge.notify_one();
        }
    }

    /// When something will next change on its own: a script step or the bolt stopping.
    fn next_event(&self) -> Option<Instant> {
        let script = self.script.next_due().map(|d| self.start + d);
        let bolt = self.lock.time_to_stop(self.motor).map(|d| self.now + d);
        script.into_iter().chain(bolt).min()
    }

    fn gaussian(&mut self) -> f64 {
        // Box–Muller; 1 - f64() is in (0, 1], so the log is finite.
        let u1 = 1.0 - self.rng.f64();
        let u2 = self.rng.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn read_climate(&mut self) -> Result<ClimateReading, SensorError> {
        if self.faults.contains(&SimFault::SensorPanic) {
            self.faults.remove(&SimFault::SensorPanic);
            panic!("simulated sensor driver bug (sensor_panic injected)");
        }
        if self.faults.contains(&SimFault::SensorDropout) {
            return Err(SensorError::NoResponse {
                sensor: SENSOR,
                detail: "sensor dropout injected".into(),
            });
        }
        let noise_t = self.noise_stddev * self.gaussian();
        let noise_h = self.noise_stddev * self.gaussian();
        let temperature = if self.faults.contains(&SimFault::ImplausibleReading) {
            self.implausible_temperature
        } else {
            round2(self.thermal.indoor + noise_t)
        };
        Ok(ClimateReading {
            temperature,
            humidity: Some(round2((self.humidity + noise_h).clamp(0.0, 100.0))),
        })
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

type Shared = Arc<Mutex<SimState>>;

fn lock_at_now(state: &Mutex<SimState>) -> MutexGuard<'_, SimState> {
    // A panic elsewhere while holding the lock leaves the state consistent enough to read.
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.advance_to(Instant::now());
    s
}

/// The simulated hardware. Drop it (inside [`crate::guard::OutputsOffGuard`]) to end its waker.
pub struct Simulator {
    state: Shared,
}

impl Simulator {
    /// Build a simulator starting now, with outputs off. Inside a tokio runtime this also
    /// starts the task that announces scripted events and bolt arrivals on time.
    pub fn new(cfg: &SimulatorConfig) -> (Simulator, SimHandle) {
        let now = Instant::now();
        let edge = Arc::new(Notify::new());
        let reschedule = Arc::new(Notify::new());
        let mut state = SimState {
            start: now,
            now,
            start_hour: cfg.start_hour,
            outdoor: cfg.outdoor.clone(),
            thermal: Thermal {
                indoor: cfg.initial_indoor_temperature,
                heat_rate: cfg.heat_rate_per_hour,
                cool_rate: cfg.cool_rate_per_hour,
                loss_per_hour: cfg.loss_per_hour,
            },
            lock: SimLock::new(
                cfg.initial_lock == InitialBolt::Locked,
                cfg.lock_travel_time,
            ),
            door_open: cfg.initial_door == DoorState::Open,
            hvac: HvacOutputs::OFF,
            motor: MotorDrive::Off,
            faults: BTreeSet::new(),
            script: Script::new(&cfg.script),
            rng: fastrand::Rng::with_seed(cfg.seed),
            noise_stddev: cfg.noise_stddev,
            humidity: cfg.humidity,
            implausible_temperature: cfg.implausible_temperature,
            announced: LockInputs {
                bolt_locked: false,
                bolt_unlocked: false,
                door_open: false,
            },
            edge,
            reschedule: reschedule.clone(),
            hardware_dropped: false,
            state_file: cfg.state_file.clone().map(|p| (p, None)),
        };
        if let Err(e) = state.mirror_outputs() {
            tracing::error!("{e}");
        }
        state.announced = state.inputs();
        let state = Arc::new(Mutex::new(state));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(wake_at_events(Arc::downgrade(&state), reschedule));
        }
        (
            Simulator {
                state: state.clone(),
            },
            SimHandle { state },
        )
    }
}

/// Sleeps until the next moment the house changes by itself and brings the state there,
/// which fires the edge notification. Ends when the simulator hardware is dropped.
async fn wake_at_events(state: Weak<Mutex<SimState>>, reschedule: Arc<Notify>) {
    loop {
        let next = {
            let Some(state) = state.upgrade() else { return };
            let s = lock_at_now(&state);
            if s.hardware_dropped {
                return;
            }
            s.next_event()
        };
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = reschedule.notified() => {}
                }
            }
            None => reschedule.notified().await,
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.hardware_dropped = true;
        s.reschedule.notify_one();
    }
}

impl Hardware for Simulator {
    fn read_climate(&mut self) -> Result<ClimateReading, SensorError> {
        lock_at_now(&self.state).read_climate()
    }

    fn read_inputs(&mut self) -> Result<LockInputs, HardwareError> {
        Ok(lock_at_now(&self.state).inputs())
    }

    fn set_hvac(&mut self, out: HvacOutputs) -> Result<(), HardwareError> {
        let mut s = lock_at_now(&self.state);
        if let Err(e) = check_interlock(out) {
            s.hvac = HvacOutputs {
                heat: false,
                cool: false,
                ..s.hvac
            };
            s.mirror_outputs()?;
            return Err(e);
        }
        s.hvac = out;
        s.mirror_outputs()
    }

    fn set_motor(&mut self, drive: MotorDrive) -> Result<(), HardwareError> {
        let mut s = lock_at_now(&self.state);
        s.motor = drive;
        s.reschedule.notify_one();
        s.mirror_outputs()
    }

    fn edge_notify(&self) -> Option<Arc<Notify>> {
        Some(lock_at_now(&self.state).edge.clone())
    }
}

/// Control of the simulated house from tests and the sim-only MQTT topic. Cloneable and
/// usable from any task; every call first brings the house up to the current time.
#[derive(Clone)]
pub struct SimHandle {
    state: Shared,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle").finish_non_exhaustive()
    }
}

impl SimHandle {
    fn with<T>(&self, f: impl FnOnce(&mut SimState) -> T) -> T {
        let mut s = lock_at_now(&self.state);
        let out = f(&mut s);
        s.announce_edges();
        out
    }

    /// Do one action now: a door action, a key turn, a fault, or clearing the faults.
    pub fn apply(&self, action: SimAction) {
        self.with(|s| s.apply(action));
    }

    pub fn open_door(&self) {
        self.apply(SimAction::OpenDoor);
    }

    /// Close the door — unless `door_held_open` is injected.
    pub fn close_door(&self) {
        self.apply(SimAction::CloseDoor);
    }

    pub fn inject(&self, fault: SimFault) {
        self.apply(fault.into());
    }

    /// Clear every fault. A door held open stays open until closed.
    pub fn clear_faults(&self) {
        self.apply(SimAction::ClearFaults);
    }

    /// Move the bolt by hand, as with a key: no motor, no command.
    pub fn turn_key(&self, action: LockAction) {
        self.apply(match action {
            LockAction::Lock => SimAction::KeyLock,
            LockAction::Unlock => SimAction::KeyUnlock,
        });
    }

    /// The true indoor temperature, without sensor noise.
    pub fn indoor_temperature(&self) -> f64 {
        self.with(|s| s.thermal.indoor)
    }

    /// The outdoor temperature now.
    pub fn outdoor_temperature(&self) -> f64 {
        self.with(|s| s.outdoor.at_hour(s.hour_at(s.now)))
    }

    /// The limit switches and door contact now.
    pub fn inputs(&self) -> LockInputs {
        self.with(|s| s.inputs())
    }

    /// What the hardware is being driven to do now.
    pub fn outputs(&self) -> (HvacOutputs, MotorDrive) {
        self.with(|s| (s.hvac, s.motor))
    }

    /// The faults in force, in a stable order.
    pub fn faults(&self) -> Vec<SimFault> {
        self.with(|s| s.faults.iter().copied().collect())
    }

    /// Time since the simulator started, on tokio's clock.
    pub fn elapsed(&self) -> Duration {
        self.with(|s| s.now.duration_since(s.start))
    }
}

#[cfg(test)]
mod tests;
