//! Thermostat and lock controllers: pure state machines with hearth's safety rules.
//!
//! Inputs and the current time go in, outputs and state come out. Nothing in this crate
//! may do I/O, spawn tasks or read a clock: every method takes `now: Instant`, and the
//! caller drives the outputs and sleeps until `next_deadline()`.
//!
//! # Using the controllers
//!
//! ```
//! use hearth_control::{Thermostat, ThermostatConfig, LockController, LockConfig};
//! use hearth_model::{ClimateReading, LockAction, LockInputs, Source, ThermostatChange, Mode};
//! use std::time::{Duration, Instant};
//!
//! let t0 = Instant::now();
//! let mut th = Thermostat::new(ThermostatConfig::default(), t0);
//! th.apply(&ThermostatChange { mode: Some(Mode::Heat), ..Default::default() }, t0).unwrap();
//! let reading = Ok(ClimateReading { temperature: 17.0, humidity: None });
//! th.on_reading(reading.clone(), t0);
//! assert!(!th.outputs().heat); // start-up counts as "heat just switched off"
//! th.on_reading(reading, t0 + Duration::from_secs(30));
//! let deadline = th.next_deadline().unwrap(); // heat_min_off (1 min) after start-up
//! th.tick(deadline);
//! assert!(th.outputs().heat);
//!
//! let mut lock = LockController::new(LockConfig::default());
//! let inputs = LockInputs { bolt_locked: false, bolt_unlocked: true, door_open: false };
//! lock.on_inputs(inputs, t0);
//! lock.command(LockAction::Lock, Source::Local("hall-panel".into()), t0).unwrap();
//! assert_eq!(lock.next_deadline(), Some(t0 + Duration::from_secs(3)));
//! ```
//!
//! # Thermostat rules
//!
//! - Heat and cool are never on together; a changeover switches one off before the other on.
//! - Heating starts at `setpoint_heat - hysteresis` and stops at `setpoint_heat + hysteresis`;
//!   cooling starts at `setpoint_cool + hysteresis` and stops at `setpoint_cool - hysteresis`.
//! - Cooling waits `cool_min_off` before starting and runs at least `cool_min_run`; heating
//!   waits `heat_min_off`. Start-up counts as "just switched off". Only a fault cuts a
//!   minimum run short.
//! - A reading outside `plausible_min..plausible_max`, or further than `max_jump` from the
//!   last accepted one (until `jump_confirm` agreeing readings prove the new level real), is
//!   rejected with fault `sensor_implausible`. No accepted reading for `sensor_timeout` is
//!   fault `sensor_timeout`. While any fault stands **all** outputs are off (fan included,
//!   freeze protection included: it cannot act on a sensor it cannot trust).
//! - Freeze protection (on by default) runs heat below `freeze_below` in every mode.
//! - Fan (G) runs with cooling, in `fan_only`, with fan `on`, and with heat if
//!   `fan_with_heat`.
//! - A change is checked whole and refused, never clamped.
//! - In `auto`, a change that leaves `setpoint_heat > setpoint_cool - auto_min_gap` pushes
//!   the setpoint it does not name to keep the gap (raising heat pushes cool up, lowering
//!   cool pushes heat down; a switch to `auto` pushes cool up, or heat down when cool cannot
//!   move), as wall thermostats do. Only what cannot fit the bounds is refused, and a change
//!   naming both setpoints is taken as meant.
//! - `setpoint` names the setpoint of the mode in force after the change: `setpoint_cool` in
//!   `cool`, `setpoint_heat` otherwise.
//!
//! # Lock rules
//!
//! - Before the first inputs the state is `unknown` and commands are refused. The first
//!   inputs set the state (event source `system`); no command is ever replayed.
//! - A command drives the motor until the matching limit switch, or for `travel_timeout`
//!   at most; then the motor stops and the state is `jammed` (fault `lock_jammed`) until the
//!   bolt is seen elsewhere or a new command is accepted.
//! - Locking is refused while the door is open; if the door opens mid-lock the bolt is
//!   retracted (event `lock_aborted`, then an unlock run with source `system`).
//! - A change seen on the switches with no run in flight has source `manual`.
//! - With `auto_relock_after`, the lock relocks (source `auto_relock`) once it has been
//!   unlocked and the door closed, both for that long; opening the door restarts the wait.
//! - Both limit switches closed is fault `lock_sensor_conflict`: the motor stops and
//!   commands are refused.
//!
//! # Refusal codes
//!
//! Commands that cannot be carried out return a [`Refusal`] whose `code` is stable and
//! meant for MQTT replies and cloud error responses (see [`refusal::codes`]):
//!
//! | code | when |
//! |---|---|
//! | `setpoint_out_of_range` | a setpoint outside its `[thermostat]` bounds, or not a number |
//! | `setpoints_too_close` | in `auto`, the gap cannot be kept within the bounds (or both setpoints were named too close) |
//! | `conflicting_setpoints` | `setpoint` and the same setpoint by name in one change |
//! | `door_open` | `lock` while the door contact reads open |
//! | `lock_busy` | a lock/unlock while the bolt is moving the other way |
//! | `state_unknown` | a lock command before the lock inputs were first read |
//! | `sensor_fault` | a lock command while both limit switches read closed |
//!
//! A thermostat change is accepted while the sensor is faulted (it takes effect when the
//! sensor recovers), and a lock command is accepted while jammed (retrying is how a jam is
//! cleared; each run is still bounded by `travel_timeout`).

mod config;
mod event;
mod lock;
pub mod refusal;
mod thermostat;

pub use config::{LockConfig, ThermostatConfig};
pub use event::{AbortReason, ControlEvent};
pub use lock::LockController;
pub use refusal::Refusal;
pub use thermostat::Thermostat;

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sections {
        thermostat: ThermostatConfig,
        lock: LockConfig,
    }

    #[test]
    fn example_toml_parses_and_validates() {
        let s: Sections = toml::from_str(include_str!("../example.toml")).unwrap();
        assert!(
            s.thermostat.validate().is_empty(),
            "{:?}",
            s.thermostat.validate()
        );
        assert!(s.lock.validate().is_empty(), "{:?}", s.lock.validate());
        assert_eq!(
            s.lock.auto_relock_after,
            Some(std::time::Duration::from_secs(60))
        );
    }
}
