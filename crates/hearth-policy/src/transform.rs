//! Field transforms: the form in which a shared value leaves the house.
//!
//! A transform maps a field's raw value to the value a cloud sees: rounded to a step, named
//! bucket, or a yes/no. Pure functions only; this module never decides *whether* a value is
//! shared (that is `engine`), only *how it looks* when it is.

use hearth_model::{DoorState, FanMode, Field, HvacAction, LockState, Mode, Value};

/// How far, in steps, a reading must be from a rounded value sent `on_change` before the
/// next rounded value is sent: the rounding boundary is half a step away, so a reading must
/// pass it by a quarter step.
pub(crate) const ROUND_HYSTERESIS: f64 = 0.75;

/// The compiled transform of one field. `Identity` sends the value as it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Transform {
    Identity,
    /// Round to the nearest multiple of the step (numbers only).
    Round {
        step: f64,
        decimals: usize,
    },
    /// `names[i]` for `bounds[i-1] <= v < bounds[i]`; the first name is below `bounds[0]`,
    /// the last at or above the last bound.
    Buckets {
        bounds: Vec<f64>,
        names: Vec<String>,
    },
    /// `true` when the number is strictly above the threshold.
    Above(f64),
    /// `true` when the word is one of these.
    OneOf(Vec<String>),
}

impl Transform {
    /// A rounding transform; `step` must be finite and positive (checked by config).
    pub(crate) fn round(step: f64) -> Self {
        Transform::Round {
            step,
            decimals: decimals_of(step),
        }
    }

    /// The value the cloud sees for `raw`. Values of the wrong kind pass through unchanged;
    /// config validation guarantees a transform only meets the kind it was written for.
    pub(crate) fn apply(&self, raw: &Value) -> Value {
        match (self, raw) {
            (Transform::Identity, v) => v.clone(),
            (Transform::Round { step, decimals }, Value::Number(n)) => {
                Value::Number(round_to(*n, *step, *decimals))
            }
            (Transform::Buckets { bounds, names }, Value::Number(n)) => {
                let idx = bounds.iter().take_while(|b| *n >= **b).count();
                Value::Text(names[idx].clone())
            }
            (Transform::Above(t), Value::Number(n)) => Value::Bool(*n > *t),
            (Transform::OneOf(words), Value::Text(s)) => Value::Bool(words.iter().any(|w| w == s)),
            (_, v) => v.clone(),
        }
    }

    /// For `on_change`: whether `raw` still counts as the value last sent as `last`, `out`
    /// being `raw` transformed. A rounded value holds until the reading is
    /// [`ROUND_HYSTERESIS`] of a step away from it, a quarter step past the rounding
    /// boundary, so a reading hovering at a boundary (17.74, 17.76, 17.74…) does not send
    /// the two values on either side of it in turn. Other transforms: the same output.
    pub(crate) fn holds(&self, last: &Value, raw: &Value, out: &Value) -> bool {
        match (self, last, raw) {
            (Transform::Round { step, .. }, Value::Number(l), Value::Number(r)) => {
                (r - l).abs() < step * ROUND_HYSTERESIS
            }
            _ => last == out,
        }
    }

    /// `policy explain`'s words for where [`Transform::holds`] is more than "the same output".
    pub(crate) fn hold_words(&self) -> Option<String> {
        match self {
            Transform::Round { step, .. } => Some(format!(
                "a new rounded value once the reading is {} from the last one sent",
                fmt_num(step * ROUND_HYSTERESIS)
            )),
            _ => None,
        }
    }

    pub(crate) fn is_identity(&self) -> bool {
        matches!(self, Transform::Identity)
    }

    /// Whether the output is a number (so `min_delta` can compare it).
    pub(crate) fn keeps_number(&self) -> bool {
        matches!(self, Transform::Identity | Transform::Round { .. })
    }

    /// Plain words for `policy explain` and the ledger.
    pub(crate) fn describe(&self) -> String {
        match self {
            Transform::Identity => "as measured".into(),
            Transform::Round { step, .. } => format!("rounded to the nearest {step}"),
            Transform::Buckets { bounds, names } => {
                let mut s = String::from("only as a word: ");
                for (i, name) in names.iter().enumerate() {
                    if i > 0 {
                        s.push_str(" <= ");
                    }
                    s.push_str(&format!("\"{name}\""));
                    if i < bounds.len() {
                        s.push_str(&format!(" < {}", fmt_num(bounds[i])));
                    }
                }
                s
            }
            Transform::Above(t) => format!("only as yes/no: is it above {}", fmt_num(*t)),
            Transform::OneOf(words) => format!("only as yes/no: is it {}", words.join(" or ")),
        }
    }
}

/// The words a text field can take, spelled as `hearth_model` spells them.
pub(crate) fn text_values(field: Field) -> Vec<&'static str> {
    match field {
        Field::ThermostatMode => Mode::ALL.map(Mode::as_str).to_vec(),
        Field::ThermostatAction => HvacAction::ALL.map(HvacAction::as_str).to_vec(),
        Field::ThermostatFan => FanMode::ALL.map(FanMode::as_str).to_vec(),
        Field::LockState => LockState::ALL.map(LockState::as_str).to_vec(),
        Field::LockDoor => DoorState::ALL.map(DoorState::as_str).to_vec(),
        _ => Vec::new(),
    }
}

/// Render a value for people: `21.5`, `"heat"`, `true`.
pub(crate) fn show(v: &Value) -> String {
    match v {
        Value::Number(n) => fmt_num(*n),
        Value::Text(s) => format!("\"{s}\""),
        Value::Bool(b) => b.to_string(),
    }
}

pub(crate) fn fmt_num(n: f64) -> String {
    // serde_json's shortest round-trip form: `21.5`, `18.0`.
    serde_json::to_string(&n).unwrap_or_else(|_| n.to_string())
}

fn decimals_of(step: f64) -> usize {
    // The step as written decides the output precision, so 0.1 gives 21.4, not
    // 21.400000000000002 — a cloud must not learn digits the owner chose to hide.
    let s = fmt_num(step);
    s.split_once('.')
        .map(|(_, frac)| frac.trim_end_matches('0').len())
        .unwrap_or(0)
        .min(9)
}

fn round_to(n: f64, step: f64, decimals: usize) -> f64 {
    let r = (n / step).round() * step;
    format!("{r:.decimals$}").parse().unwrap_or(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_hides_digits_finer_than_the_step() {
        let t = Transform::round(0.5);
        assert_eq!(t.apply(&Value::Number(21.37)), Value::Number(21.5));
        assert_eq!(t.apply(&Value::Number(21.2)), Value::Number(21.0));
        let t = Transform::round(0.1);
        assert_eq!(t.apply(&Value::Number(21.37)), Value::Number(21.4));
        let t = Transform::round(5.0);
        assert_eq!(t.apply(&Value::Number(47.0)), Value::Number(45.0));
    }

    #[test]
    fn buckets_follow_half_open_bounds() {
        let t = Transform::Buckets {
            bounds: vec![18.0, 24.0],
            names: vec!["cold".into(), "comfortable".into(), "warm".into()],
        };
        let word = |n| t.apply(&Value::Number(n));
        assert_eq!(word(17.99), Value::Text("cold".into()));
        assert_eq!(word(18.0), Value::Text("comfortable".into()));
        assert_eq!(word(23.9), Value::Text("comfortable".into()));
        assert_eq!(word(24.0), Value::Text("warm".into()));
        assert!(t.describe().contains("\"cold\" < 18.0"), "{}", t.describe());
    }

    #[test]
    fn booleans_for_numbers_and_words() {
        assert_eq!(
            Transform::Above(24.0).apply(&Value::Number(24.5)),
            Value::Bool(true)
        );
        assert_eq!(
            Transform::Above(24.0).apply(&Value::Number(24.0)),
            Value::Bool(false)
        );
        let locked = Transform::OneOf(vec!["locked".into()]);
        assert_eq!(
            locked.apply(&Value::Text("locked".into())),
            Value::Bool(true)
        );
        assert_eq!(
            locked.apply(&Value::Text("jammed".into())),
            Value::Bool(false)
        );
    }

    #[test]
    fn text_values_match_the_model() {
        assert!(text_values(Field::LockState).contains(&"jammed"));
        assert!(text_values(Field::ThermostatMode).contains(&"fan_only"));
        assert!(text_values(Field::ThermostatTemperature).is_empty());
    }
}
