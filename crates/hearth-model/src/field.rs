//! The named fields of the house state: the one place their names and ids are spelled.
//!
//! History stores fields by their stable numeric id; the policy is written per field name;
//! MQTT and the clouds see the names. Adding a field here never shares it: the policy's
//! default for every field is `never`.

use crate::state::HouseState;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    ThermostatTemperature,
    ThermostatHumidity,
    ThermostatSetpointHeat,
    ThermostatSetpointCool,
    ThermostatMode,
    ThermostatAction,
    ThermostatFan,
    LockState,
    LockDoor,
}

impl Field {
    pub const ALL: [Field; 9] = [
        Field::ThermostatTemperature,
        Field::ThermostatHumidity,
        Field::ThermostatSetpointHeat,
        Field::ThermostatSetpointCool,
        Field::ThermostatMode,
        Field::ThermostatAction,
        Field::ThermostatFan,
        Field::LockState,
        Field::LockDoor,
    ];

    /// The dotted name used in config, MQTT and the ledger.
    pub fn name(self) -> &'static str {
        match self {
            Field::ThermostatTemperature => "thermostat.temperature",
            Field::ThermostatHumidity => "thermostat.humidity",
            Field::ThermostatSetpointHeat => "thermostat.setpoint_heat",
            Field::ThermostatSetpointCool => "thermostat.setpoint_cool",
            Field::ThermostatMode => "thermostat.mode",
            Field::ThermostatAction => "thermostat.action",
            Field::ThermostatFan => "thermostat.fan",
            Field::LockState => "lock.state",
            Field::LockDoor => "lock.door",
        }
    }

    /// Stable numeric id for compact storage. Never renumber: ids are on disk.
    pub fn id(self) -> u16 {
        match self {
            Field::ThermostatTemperature => 1,
            Field::ThermostatHumidity => 2,
            Field::ThermostatSetpointHeat => 3,
            Field::ThermostatSetpointCool => 4,
            Field::ThermostatMode => 5,
            Field::ThermostatAction => 6,
            Field::ThermostatFan => 7,
            Field::LockState => 8,
            Field::LockDoor => 9,
        }
    }

    pub fn from_id(id: u16) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.id() == id)
    }

    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether the field carries a number (temperatures, humidity, setpoints).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Field::ThermostatTemperature
                | Field::ThermostatHumidity
                | Field::ThermostatSetpointHeat
                | Field::ThermostatSetpointCool
        )
    }

    /// The field's current value in a snapshot; `None` when it is not known (no reading yet).
    pub fn value_in(self, s: &HouseState) -> Option<Value> {
        let t = &s.thermostat;
        Some(match self {
            Field::ThermostatTemperature => Value::Number(t.temperature?),
            Field::ThermostatHumidity => Value::Number(t.humidity?),
            Field::ThermostatSetpointHeat => Value::Number(t.setpoint_heat),
            Field::ThermostatSetpointCool => Value::Number(t.setpoint_cool),
            Field::ThermostatMode => Value::Text(t.mode.as_str().into()),
            Field::ThermostatAction => Value::Text(t.action.as_str().into()),
            Field::ThermostatFan => Value::Text(t.fan.as_str().into()),
            Field::LockState => Value::Text(s.lock.state.as_str().into()),
            Field::LockDoor => Value::Text(s.lock.door?.as_str().into()),
        })
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Field {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Field::from_name(s).ok_or_else(|| {
            let names: Vec<_> = Field::ALL.iter().map(|f| f.name()).collect();
            format!("unknown field `{s}`; known fields: {}", names.join(", "))
        })
    }
}

impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A field's value: a number, a word (`"heat"`, `"locked"`), or a yes/no.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Number(f64),
    Text(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_ids_are_unique_and_round_trip() {
        let ids: HashSet<_> = Field::ALL.iter().map(|f| f.id()).collect();
        let names: HashSet<_> = Field::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(ids.len(), Field::ALL.len());
        assert_eq!(names.len(), Field::ALL.len());
        for f in Field::ALL {
            assert_eq!(Field::from_id(f.id()), Some(f));
            assert_eq!(f.name().parse::<Field>().unwrap(), f);
        }
    }

    #[test]
    fn unknown_field_lists_known_ones() {
        let e = "thermostat.colour".parse::<Field>().unwrap_err();
        assert!(
            e.contains("thermostat.colour") && e.contains("lock.door"),
            "{e}"
        );
    }
}
