//! The house state the cloud tasks' unit tests start from (test support only).

use hearth_model::{
    DoorState, FanMode, HouseState, HvacAction, LockState, LockStatus, Mode, ThermostatState,
};

/// Heating to 20 °C at 20.3 °C, idle; locked, door closed; no faults.
pub fn house() -> HouseState {
    HouseState {
        thermostat: ThermostatState {
            mode: Mode::Heat,
            fan: FanMode::Auto,
            setpoint_heat: 20.0,
            setpoint_cool: 26.0,
            temperature: Some(20.3),
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
