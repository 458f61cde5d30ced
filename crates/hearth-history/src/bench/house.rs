//! A small deterministic house for the bench: a heated room with a night setback, a
//! DS18B20-like quantised sensor with noise, drifting humidity, a lock and a door used a
//! few times a day. It produces what the daemon would offer the writer every poll.
//!
//! Only for measuring history's write load; the real simulator lives in hearth-hardware.
//! This module must never touch the database.

use crate::event::Event;
use hearth_model::{
    DoorState, FanMode, Fault, Field, HvacAction, LockState, Mode, Source, UnixMillis, Value,
};

/// Seconds between polls, as the hardware poller reads the sensor.
pub(crate) const POLL_SECS: i64 = 10;

/// What one poll yields: every field's value, and any events.
pub(crate) struct Poll {
    pub values: Vec<(Field, Value)>,
    pub events: Vec<Event>,
}

pub(crate) struct House {
    inside: f64,
    heating: bool,
    setpoint: f64,
    lock: LockState,
    door: DoorState,
    rng: u64,
}

impl House {
    pub fn new(seed: u64) -> House {
        House {
            inside: 20.0,
            heating: false,
            setpoint: 21.0,
            lock: LockState::Locked,
            door: DoorState::Closed,
            rng: seed | 1,
        }
    }

    /// Uniform in [-1, 1): xorshift64*, enough for sensor noise.
    fn noise(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    /// Advance one poll to `at` and read everything.
    pub fn poll(&mut self, at: UnixMillis) -> Poll {
        let mut events = Vec::new();
        let secs_of_day = at.as_secs().rem_euclid(86_400);
        let hour = secs_of_day as f64 / 3600.0;
        let outside = 5.0 + 5.0 * (std::f64::consts::TAU * (hour - 9.0) / 24.0).sin();

        let setpoint = if (7.0..22.0).contains(&hour) {
            21.0
        } else {
            18.0
        };
        if setpoint != self.setpoint {
            self.setpoint = setpoint;
            events.push(Event::command(
                at,
                &hearth_model::Command {
                    source: Source::Local("schedule".into()),
                    kind: hearth_model::CommandKind::Thermostat(hearth_model::ThermostatChange {
                        setpoint_heat: Some(setpoint),
                        ..Default::default()
                    }),
                },
                Ok(()),
            ));
        }
        // Heating adds ~3 °C/h; losses are ~1 °C/h per 15 °C of difference to outside.
        let dt = POLL_SECS as f64 / 3600.0;
        if self.heating {
            self.inside += 3.0 * dt;
        }
        self.inside -= (self.inside - outside) / 15.0 * dt;
        if self.inside < self.setpoint - 0.5 {
            self.heating = true;
        } else if self.inside > self.setpoint + 0.5 {
            self.heating = false;
        }
        // DS18B20: 1/16 °C steps; a few hundredths of noise.
        let reading = ((self.inside + 0.03 * self.noise()) * 16.0).round() / 16.0;
        let humidity =
            45.0 + 4.0 * (std::f64::consts::TAU * hour / 24.0).cos() + 0.1 * self.noise();

        self.lock_and_door(secs_of_day, at, &mut events);

        let action = if self.heating {
            HvacAction::Heating
        } else {
            HvacAction::Idle
        };
        let values = vec![
            (Field::ThermostatTemperature, Value::Number(reading)),
            (
                Field::ThermostatHumidity,
                Value::Number((humidity * 100.0).round() / 100.0),
            ),
            (Field::ThermostatSetpointHeat, Value::Number(self.setpoint)),
            (Field::ThermostatSetpointCool, Value::Number(25.0)),
            (
                Field::ThermostatMode,
                Value::Text(Mode::Heat.as_str().into()),
            ),
            (Field::ThermostatAction, Value::Text(action.as_str().into())),
            (
                Field::ThermostatFan,
                Value::Text(FanMode::Auto.as_str().into()),
            ),
            (Field::LockState, Value::Text(self.lock.as_str().into())),
            (Field::LockDoor, Value::Text(self.door.as_str().into())),
        ];
        Poll { values, events }
    }

    /// Leave at 8:00, back at 17:30, a delivery at 12:00, out and back in the evening;
    /// the door opens for a minute each time, and the lock relocks after.
    fn lock_and_door(&mut self, secs_of_day: i64, at: UnixMillis, events: &mut Vec<Event>) {
        const USES: [(i64, &str); 4] = [
            (8 * 3600, "alice"),
            (12 * 3600, "bob"),
            (17 * 3600 + 1800, "alice"),
            (20 * 3600, "bob"),
        ];
        for (start, who) in USES {
            let t = secs_of_day - start;
            let (lock, door, source) = match t {
                0 => (
                    LockState::Unlocked,
                    DoorState::Closed,
                    Source::Local(who.into()),
                ),
                30 => (LockState::Unlocked, DoorState::Open, Source::Manual),
                90 => (LockState::Unlocked, DoorState::Closed, Source::Manual),
                150 => (LockState::Locked, DoorState::Closed, Source::AutoRelock),
                _ => continue,
            };
            if lock != self.lock {
                events.push(Event::lock_change(at, self.lock, lock, source));
            }
            self.lock = lock;
            self.door = door;
        }
        // One jam a day, cleared a poll later, so faults show up in the event log too.
        if secs_of_day == 3 * 3600 {
            events.push(Event::fault(at, Fault::LockJammed, true, ""));
        } else if secs_of_day == 3 * 3600 + POLL_SECS {
            events.push(Event::fault(at, Fault::LockJammed, false, ""));
        }
    }
}
