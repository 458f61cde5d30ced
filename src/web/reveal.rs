//! The "What it reveals" data: observations of door, lock, heat setpoint and heating from the
//! local history (the full feed) and from each cloud's ledger rows (exactly the values it was
//! sent), run through `hearth_infer`. Blocking (it reads both databases); the rules are in
//! `hearth-infer`, this file only turns stored rows into observations.

use super::data::{CloudLedger, Sources};
use hearth_infer::{Inference, Local, Obs, Signal};
use hearth_model::{Field, UnixMillis, Value};

/// One view's inference.
#[derive(Debug, Clone)]
pub struct View {
    pub name: String,
    pub inference: Inference,
}

/// The full feed and each cloud's view over the same local days.
#[derive(Debug, Clone)]
pub struct Reveal {
    pub local: Local,
    pub first_day: i64,
    pub last_day: i64,
    pub full: View,
    pub clouds: Vec<View>,
}

impl Reveal {
    /// Every view, the full feed first.
    pub fn views(&self) -> impl Iterator<Item = &View> {
        std::iter::once(&self.full).chain(self.clouds.iter())
    }

    pub fn sentence(&self, v: &View) -> String {
        v.inference
            .sentence(self.local, self.first_day, self.last_day)
    }
}

/// The signal a stored history value is, if any.
fn signal(field: Field, v: &Value) -> Option<Signal> {
    match (field, v) {
        (Field::LockState, Value::Text(s)) if s == "locked" => Some(Signal::Locked(true)),
        (Field::LockState, Value::Text(s)) if s == "unlocked" => Some(Signal::Locked(false)),
        (Field::LockDoor, Value::Text(s)) => Some(Signal::DoorOpen(s == "open")),
        (Field::ThermostatSetpointHeat, Value::Number(n)) => Some(Signal::SetpointHeat(*n)),
        (Field::ThermostatAction, Value::Text(s)) => Some(Signal::Heating(s == "heating")),
        _ => None,
    }
}

const FIELDS: [Field; 4] = [
    Field::LockState,
    Field::LockDoor,
    Field::ThermostatSetpointHeat,
    Field::ThermostatAction,
];

/// Observations from the local history in `since..until`, oldest first.
pub(crate) fn from_history(
    src: &Sources,
    since: UnixMillis,
    until: UnixMillis,
) -> Result<Vec<Obs>, String> {
    let store = src.history.read().map_err(|e| e.to_string())?;
    let mut obs = Vec::new();
    for f in FIELDS {
        for s in store.range(f, since, until).map_err(|e| e.to_string())? {
            if let Some(signal) = signal(f, &s.value) {
                obs.push(Obs { at: s.at, signal });
            }
        }
    }
    obs.sort_by_key(|o| o.at);
    Ok(obs)
}

/// The value a cloud received, from an `included` or `transformed` ledger row's detail:
/// `<value> (<why>)` or `<raw> -> <value>, <transform> (<why>)`. A yes/no transform
/// (`only as yes/no: is it locked`) becomes the signal it answers.
pub(crate) fn received_signal(field: &str, kind: &str, detail: &str) -> Option<Signal> {
    let field = Field::from_name(field)?;
    let (value, transform) = match kind {
        "included" => (detail.split(" (").next()?, ""),
        "transformed" => {
            let (_, rest) = detail.split_once(" -> ")?;
            let (value, transform) = rest.split_once(", ")?;
            (value, transform)
        }
        _ => return None,
    };
    let value = value.trim();
    let parsed = if let Some(word) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Value::Text(word.to_owned())
    } else if let Ok(b) = value.parse::<bool>() {
        // A yes/no answer to "is it <word>"; only the first word is trusted.
        let asked = transform
            .strip_prefix("only as yes/no: is it ")?
            .split(' ')
            .next()?;
        match (field, asked, b) {
            (Field::LockState, "locked", b) => return Some(Signal::Locked(b)),
            (Field::LockState, "unlocked", b) => return Some(Signal::Locked(!b)),
            (Field::LockDoor, "open", b) => return Some(Signal::DoorOpen(b)),
            (Field::LockDoor, "closed", b) => return Some(Signal::DoorOpen(!b)),
            (Field::ThermostatAction, "heating", b) => return Some(Signal::Heating(b)),
            _ => return None,
        }
    } else if let Ok(n) = value.parse::<f64>() {
        Value::Number(n)
    } else {
        return None;
    };
    signal(field, &parsed)
}

/// Observations from what one cloud was sent, oldest first.
pub(crate) fn from_ledger(c: &CloudLedger) -> Vec<Obs> {
    let mut obs: Vec<Obs> = c
        .rows
        .iter()
        .filter_map(|r| {
            let signal = received_signal(r.row.field.as_deref()?, &r.row.kind, &r.row.detail)?;
            Some(Obs {
                at: r.row.time,
                signal,
            })
        })
        .collect();
    obs.sort_by_key(|o| o.at);
    obs
}

/// The whole comparison for the local days from `since`'s to `until`'s.
pub fn reveal(
    src: &Sources,
    since: UnixMillis,
    until: UnixMillis,
    only: Option<&str>,
) -> Result<Reveal, String> {
    let local = src.local;
    let infer = |obs: &[Obs]| hearth_infer::infer(obs, local, until);
    let full = View {
        name: "the full feed".into(),
        inference: infer(&from_history(src, since, until)?),
    };
    let clouds = super::data::ledger(src, since)?
        .iter()
        .filter(|c| only.is_none_or(|n| n == c.name))
        .map(|c| View {
            name: c.name.clone(),
            inference: infer(&from_ledger(c)),
        })
        .collect();
    Ok(Reveal {
        local,
        first_day: local.day(since),
        last_day: local.day(UnixMillis(until.0 - 1)),
        full,
        clouds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_details_become_what_the_cloud_saw() {
        assert_eq!(
            received_signal("lock.state", "included", "\"locked\" (on_change)"),
            Some(Signal::Locked(true))
        );
        assert_eq!(
            received_signal(
                "lock.state",
                "transformed",
                "\"unlocked\" -> false, only as yes/no: is it locked (on_change)"
            ),
            Some(Signal::Locked(false))
        );
        assert_eq!(
            received_signal(
                "thermostat.setpoint_heat",
                "transformed",
                "20.3 -> 20.5, rounded to the nearest 0.5 (on_request)"
            ),
            Some(Signal::SetpointHeat(20.5))
        );
        assert_eq!(
            received_signal("lock.door", "included", "\"open\" (on_change)"),
            Some(Signal::DoorOpen(true))
        );
        assert_eq!(received_signal("lock.door", "withheld", "never"), None);
        assert_eq!(
            received_signal("thermostat.temperature", "included", "21.5 (on_change)"),
            None,
            "the temperature is not one of the signals"
        );
        assert_eq!(
            received_signal(
                "thermostat.setpoint_heat",
                "transformed",
                "20.3 -> \"warm\", only as a word: \"cold\" < 18 <= \"warm\" (x)"
            ),
            None
        );
    }
}
