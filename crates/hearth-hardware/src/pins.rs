//! The Raspberry Pi pin map check: valid BCM numbers, no pin claimed twice, no output that
//! is also an input, and no pin taken from a bus the sensor needs.
//!
//! Pure: it sees only numbers and config keys. It must never touch GPIO — it runs before
//! anything is claimed so a wrong map cannot energise a relay.

use hearth_model::ConfigIssue;
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

/// The BCM GPIO numbers usable on the 40-pin header. 0 and 1 are the HAT ID EEPROM bus.
pub const VALID_BCM_PINS: RangeInclusive<u8> = 2..=27;

/// Whether `pin` is a BCM GPIO hearth may use.
pub fn is_valid_bcm(pin: u8) -> bool {
    VALID_BCM_PINS.contains(&pin)
}

/// How a pin is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinRole {
    Output,
    Input,
    /// Taken by a kernel bus (1-Wire data, I2C SDA/SCL) for the sensor.
    Bus,
}

impl PinRole {
    fn noun(self) -> &'static str {
        match self {
            PinRole::Output => "an output",
            PinRole::Input => "an input",
            PinRole::Bus => "a sensor bus line",
        }
    }
}

/// One use of a pin, named by the config key that asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinUse {
    pub key: String,
    pub pin: u8,
    pub role: PinRole,
}

impl PinUse {
    pub fn new(key: impl Into<String>, pin: u8, role: PinRole) -> Self {
        Self {
            key: key.into(),
            pin,
            role,
        }
    }
}

/// Check a pin map; every problem is reported at the key of the later use, naming the
/// earlier one, so the person can see both lines.
pub fn validate_pin_map(uses: &[PinUse]) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    let mut first_use: BTreeMap<u8, &PinUse> = BTreeMap::new();
    for u in uses {
        if !is_valid_bcm(u.pin) {
            issues.push(ConfigIssue::new(
                &u.key,
                format!(
                    "BCM pin {} is not a GPIO on the 40-pin header; use a BCM number from {} to {} \
                     (BCM numbers, not physical pin positions)",
                    u.pin,
                    VALID_BCM_PINS.start(),
                    VALID_BCM_PINS.end()
                ),
            ));
            continue;
        }
        match first_use.get(&u.pin) {
            None => {
                first_use.insert(u.pin, u);
            }
            Some(first) => issues.push(ConfigIssue::new(&u.key, conflict(first, u))),
        }
    }
    issues
}

fn conflict(first: &PinUse, later: &PinUse) -> String {
    use PinRole::*;
    let pin = later.pin;
    match (first.role, later.role) {
        (Output, Input) | (Input, Output) => format!(
            "BCM pin {pin} is {} at {} and cannot also be {}; an output also used as an input \
             would read back its own relay — move one of them to a free pin",
            first.role.noun(),
            first.key,
            later.role.noun()
        ),
        (Bus, _) | (_, Bus) => format!(
            "BCM pin {pin} is {} at {} and cannot also be {}; choose another pin",
            first.role.noun(),
            first.key,
            later.role.noun()
        ),
        _ => format!(
            "BCM pin {pin} is already used by {}; give each {} its own pin",
            first.key,
            if later.role == Output {
                "output"
            } else {
                "input"
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(key: &str, pin: u8) -> PinUse {
        PinUse::new(key, pin, PinRole::Output)
    }
    fn inp(key: &str, pin: u8) -> PinUse {
        PinUse::new(key, pin, PinRole::Input)
    }

    #[test]
    fn a_clean_map_passes() {
        let map = [
            out("hardware.outputs.heat.pin", 17),
            out("hardware.outputs.cool.pin", 27),
            inp("hardware.inputs.door.pin", 22),
        ];
        assert!(validate_pin_map(&map).is_empty());
    }

    #[test]
    fn header_range_is_2_to_27() {
        for p in 0..=40u8 {
            assert_eq!(is_valid_bcm(p), (2..=27).contains(&p), "pin {p}");
        }
        let issues = validate_pin_map(&[out("hardware.outputs.fan.pin", 28)]);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].key, "hardware.outputs.fan.pin");
        assert!(issues[0].message.contains("28") && issues[0].message.contains("2 to 27"));
        assert_eq!(validate_pin_map(&[out("a", 1)]).len(), 1);
    }

    #[test]
    fn pin_used_twice_names_both_keys() {
        let issues = validate_pin_map(&[
            out("hardware.outputs.heat.pin", 17),
            out("hardware.outputs.fan.pin", 17),
        ]);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].key, "hardware.outputs.fan.pin");
        assert!(issues[0].message.contains("hardware.outputs.heat.pin"));
    }

    #[test]
    fn output_also_used_as_input_is_refused() {
        let issues = validate_pin_map(&[
            out("hardware.motor.lock.pin", 23),
            inp("hardware.inputs.bolt_locked.pin", 23),
        ]);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].key, "hardware.inputs.bolt_locked.pin");
        let m = &issues[0].message;
        assert!(
            m.contains("an output") && m.contains("hardware.motor.lock.pin"),
            "{m}"
        );
    }

    #[test]
    fn sensor_bus_lines_are_reserved() {
        let issues = validate_pin_map(&[
            PinUse::new("hardware.sensor", 2, PinRole::Bus),
            out("hardware.outputs.heat.pin", 2),
        ]);
        assert_eq!(issues.len(), 1);
        assert!(issues[0].message.contains("sensor bus line"));
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let issues = validate_pin_map(&[
            out("hardware.outputs.heat.pin", 99),
            out("hardware.outputs.cool.pin", 5),
            inp("hardware.inputs.door.pin", 5),
            inp("hardware.inputs.bolt_locked.pin", 5),
        ]);
        let keys: Vec<_> = issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "hardware.outputs.heat.pin",
                "hardware.inputs.door.pin",
                "hardware.inputs.bolt_locked.pin"
            ]
        );
    }
}
