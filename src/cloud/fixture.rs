//! The house state the cloud tasks' unit tests and the bench's forwarding figure start from.

use hearth_model::{
    DoorState, FanMode, HouseState, HvacAction, LockState, LockStatus, Mode, ThermostatState,
};

/// Heating to 20 °C at 20.3 °C, idle; locked, door closed; no faults.
#[cfg(test)]
pub fn house() -> HouseState {
    house_at(20.3)
}

/// The same house at `temperature`.
pub fn house_at(temperature: f64) -> HouseState {
    HouseState {
        thermostat: ThermostatState {
            mode: Mode::Heat,
            fan: FanMode::Auto,
            setpoint_heat: 20.0,
            setpoint_cool: 26.0,
            temperature: Some(temperature),
            humidity: Some(41.0),
            action: HvacAction::Idle,
            faults: Vec::new(),
        },
        lock: LockStatus {
            state: LockState::Locked,
            door: Some(DoorState::Closed),
            faults: Vec::new(),
            motion: None,
        },
    }
}
