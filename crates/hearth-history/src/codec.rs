//! How a sample becomes two integers on disk, and back.
//!
//! A raw sample row is `(k, v)`: `k = (unix_ms << 7) | field_id` is the table's rowid, so
//! rows are appended in time order and cost ~14 bytes; `v` is the value in hundredths for
//! numeric fields (0.01 °C / 0.01 %RH is finer than any supported sensor resolves) and a
//! small code for text fields. The code tables below are on disk: append new words at the
//! end, never reorder. This module must never touch SQLite.

use hearth_model::{DoorState, FanMode, Field, HvacAction, LockState, Mode, UnixMillis, Value};

/// Bits of the key that hold the field id.
pub(crate) const FIELD_BITS: u32 = 7;
const FIELD_MASK: i64 = (1 << FIELD_BITS) - 1;
/// Numeric values are stored as `round(value * SCALE)`.
pub(crate) const SCALE: f64 = 100.0;
/// Milliseconds per hour: rollups are per UTC hour.
pub(crate) const HOUR_MS: i64 = 3_600_000;
/// The latest time a key can hold (`i64::MAX >> 7` ms, far beyond any real clock).
const MAX_AT: i64 = i64::MAX >> FIELD_BITS;

/// One sample ready for the `sample` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Encoded {
    pub k: i64,
    pub v: i64,
}

impl Encoded {
    pub fn at_ms(self) -> i64 {
        self.k >> FIELD_BITS
    }
    pub fn field_id(self) -> u16 {
        (self.k & FIELD_MASK) as u16
    }
    pub fn hour(self) -> i64 {
        self.at_ms().div_euclid(HOUR_MS)
    }
}

/// Why a sample could not be stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EncodeError {
    /// Before 1970 or absurdly far in the future.
    TimeOutOfRange,
    /// A number that is NaN, infinite or too large to scale.
    BadNumber,
    /// The value's kind does not fit the field (text for a temperature, an unknown word).
    WrongKind,
}

/// The first key at or after time `at`, for any field. Times before 1970 clamp to 0.
pub(crate) fn key_floor(at: UnixMillis) -> i64 {
    at.0.clamp(0, MAX_AT) << FIELD_BITS
}

pub(crate) fn hour_of(at: UnixMillis) -> i64 {
    at.0.div_euclid(HOUR_MS)
}

pub(crate) fn hour_start(hour: i64) -> UnixMillis {
    UnixMillis(hour.saturating_mul(HOUR_MS))
}

pub(crate) fn encode(field: Field, value: &Value, at: UnixMillis) -> Result<Encoded, EncodeError> {
    if !(0..=MAX_AT).contains(&at.0) {
        return Err(EncodeError::TimeOutOfRange);
    }
    let v = encode_value(field, value)?;
    Ok(Encoded {
        k: (at.0 << FIELD_BITS) | i64::from(field.id()),
        v,
    })
}

pub(crate) fn encode_value(field: Field, value: &Value) -> Result<i64, EncodeError> {
    match (field.is_numeric(), value) {
        (true, Value::Number(x)) => {
            let scaled = (x * SCALE).round();
            // 2^53 keeps the round trip through f64 exact.
            if scaled.is_finite() && scaled.abs() < 9.0e15 {
                Ok(scaled as i64)
            } else {
                Err(EncodeError::BadNumber)
            }
        }
        (false, Value::Text(word)) => code_of(field, word).ok_or(EncodeError::WrongKind),
        _ => Err(EncodeError::WrongKind),
    }
}

pub(crate) fn decode_value(field: Field, v: i64) -> Value {
    if field.is_numeric() {
        Value::Number(v as f64 / SCALE)
    } else {
        match word(field, v) {
            Some(w) => Value::Text(w.to_owned()),
            // A newer hearthd may have added words; show the code rather than fail.
            None => Value::Text(format!("code_{v}")),
        }
    }
}

/// Split a key into its time and field; `None` for a field id this build does not know.
pub(crate) fn decode_key(k: i64) -> (UnixMillis, Option<Field>) {
    let e = Encoded { k, v: 0 };
    (UnixMillis(e.at_ms()), Field::from_id(e.field_id()))
}

// On-disk code tables: index = code. Append only.
const MODES: [Mode; 5] = [Mode::Off, Mode::Heat, Mode::Cool, Mode::Auto, Mode::FanOnly];
const ACTIONS: [HvacAction; 4] = [
    HvacAction::Idle,
    HvacAction::Heating,
    HvacAction::Cooling,
    HvacAction::Fan,
];
const FANS: [FanMode; 2] = [FanMode::Auto, FanMode::On];
const LOCK_STATES: [LockState; 5] = [
    LockState::Locked,
    LockState::Unlocked,
    LockState::Moving,
    LockState::Jammed,
    LockState::Unknown,
];
const DOORS: [DoorState; 2] = [DoorState::Closed, DoorState::Open];

fn word(field: Field, code: i64) -> Option<&'static str> {
    let i = usize::try_from(code).ok()?;
    match field {
        Field::ThermostatMode => MODES.get(i).map(|x| x.as_str()),
        Field::ThermostatAction => ACTIONS.get(i).map(|x| x.as_str()),
        Field::ThermostatFan => FANS.get(i).map(|x| x.as_str()),
        Field::LockState => LOCK_STATES.get(i).map(|x| x.as_str()),
        Field::LockDoor => DOORS.get(i).map(|x| x.as_str()),
        Field::ThermostatTemperature
        | Field::ThermostatHumidity
        | Field::ThermostatSetpointHeat
        | Field::ThermostatSetpointCool => None,
    }
}

fn code_of(field: Field, text: &str) -> Option<i64> {
    (0..)
        .map_while(|c| word(field, c).map(|w| (c, w)))
        .find(|&(_, w)| w == text)
        .map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_id_fits_in_the_key() {
        for f in Field::ALL {
            assert!(i64::from(f.id()) <= FIELD_MASK, "{f} id {} too big", f.id());
        }
    }

    #[test]
    fn numbers_round_trip_at_hundredths() {
        let at = UnixMillis(1_795_610_096_789);
        let e = encode(Field::ThermostatTemperature, &Value::Number(21.375), at).unwrap();
        assert_eq!(e.v, 2138);
        assert_eq!(e.at_ms(), at.0);
        assert_eq!(
            Field::from_id(e.field_id()),
            Some(Field::ThermostatTemperature)
        );
        assert_eq!(
            decode_value(Field::ThermostatTemperature, e.v),
            Value::Number(21.38)
        );
        assert_eq!(
            decode_value(Field::ThermostatTemperature, -1234),
            Value::Number(-12.34)
        );
    }

    #[test]
    fn every_word_of_every_text_field_round_trips() {
        for f in Field::ALL.into_iter().filter(|f| !f.is_numeric()) {
            let mut n = 0;
            while let Some(w) = word(f, n) {
                let v = encode_value(f, &Value::Text(w.into())).unwrap();
                assert_eq!(decode_value(f, v), Value::Text(w.into()));
                n += 1;
            }
            assert!(n >= 2, "{f} has a code table");
        }
        assert_eq!(
            decode_value(Field::LockState, 99),
            Value::Text("code_99".into())
        );
    }

    #[test]
    fn refuses_what_it_cannot_store() {
        let at = UnixMillis(0);
        let t = Field::ThermostatTemperature;
        assert_eq!(
            encode(t, &Value::Number(f64::NAN), at),
            Err(EncodeError::BadNumber)
        );
        assert_eq!(
            encode(t, &Value::Number(1e300), at),
            Err(EncodeError::BadNumber)
        );
        assert_eq!(
            encode(t, &Value::Text("hot".into()), at),
            Err(EncodeError::WrongKind)
        );
        assert_eq!(
            encode(Field::LockState, &Value::Text("ajar".into()), at),
            Err(EncodeError::WrongKind)
        );
        assert_eq!(
            encode(t, &Value::Number(1.0), UnixMillis(-1)),
            Err(EncodeError::TimeOutOfRange)
        );
    }

    #[test]
    fn keys_sort_by_time_first() {
        let a = encode(
            Field::LockDoor,
            &Value::Text("open".into()),
            UnixMillis(1000),
        )
        .unwrap();
        let b = encode(
            Field::ThermostatTemperature,
            &Value::Number(1.0),
            UnixMillis(1001),
        )
        .unwrap();
        assert!(a.k < b.k);
        assert!(key_floor(UnixMillis(1001)) > a.k && key_floor(UnixMillis(1001)) <= b.k);
        assert_eq!(
            decode_key(b.k),
            (UnixMillis(1001), Some(Field::ThermostatTemperature))
        );
    }

    /// Each on-disk table holds every word the model has (a value missing from it could not
    /// be stored), whatever its order.
    #[test]
    fn code_tables_hold_every_word_of_the_model() {
        fn words<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> Vec<&'static str> {
            let mut w: Vec<_> = all.iter().map(|&x| as_str(x)).collect();
            w.sort_unstable();
            w
        }
        assert_eq!(words(&MODES, Mode::as_str), words(&Mode::ALL, Mode::as_str));
        assert_eq!(
            words(&ACTIONS, HvacAction::as_str),
            words(&HvacAction::ALL, HvacAction::as_str)
        );
        assert_eq!(
            words(&FANS, FanMode::as_str),
            words(&FanMode::ALL, FanMode::as_str)
        );
        assert_eq!(
            words(&LOCK_STATES, LockState::as_str),
            words(&LockState::ALL, LockState::as_str)
        );
        assert_eq!(
            words(&DOORS, DoorState::as_str),
            words(&DoorState::ALL, DoorState::as_str)
        );
    }
}
