//! The rules of [`Rule`](crate::Rule) applied to a timeline of observations.

use crate::time::{HOUR_MS, Local, MINUTE_MS};
use crate::{Inference, Moment, MomentKind, Obs, Period, Rule, Seen, Signal};
use hearth_model::UnixMillis;

const LOCK_AFTER_CLOSE_MS: i64 = 5 * MINUTE_MS;
const MIN_AWAY_MS: i64 = 30 * MINUTE_MS;
const MIN_DAYTIME_LOCK_MS: i64 = HOUR_MS;
const BED_DOOR_QUIET_MS: i64 = 10 * MINUTE_MS;
const SETBACK_DROP: f64 = 1.5;
const HEATING_PAUSE_MS: i64 = 4 * HOUR_MS;

fn daytime(local: Local, t: UnixMillis) -> bool {
    (7 * 60..20 * 60).contains(&local.minute_of_day(t))
}

fn night(local: Local, t: UnixMillis) -> bool {
    let m = local.minute_of_day(t);
    !(3 * 60..20 * 60).contains(&m)
}

/// Apply every rule to `obs` (oldest first) up to `until`, the end of the data.
pub fn infer(obs: &[Obs], local: Local, until: UnixMillis) -> Inference {
    let mut seen = Seen::default();
    for o in obs {
        match o.signal {
            Signal::Locked(_) => seen.lock = true,
            Signal::DoorOpen(_) => seen.door = true,
            Signal::SetpointHeat(_) => seen.setpoint = true,
            Signal::Heating(_) => seen.heating = true,
        }
    }
    let mut empty = Vec::new();
    let mut moments = Vec::new();
    lock_rules(obs, local, until, seen, &mut empty, &mut moments);
    if seen.setpoint {
        setback_rule(obs, local, until, &mut empty, &mut moments);
    }
    if seen.heating && !seen.lock && !seen.setpoint {
        heating_rule(obs, local, until, &mut empty);
    }
    empty.sort_by_key(|p| (p.start, p.rule));
    let empty = merge(empty);
    for p in &empty {
        moments.push(Moment {
            at: p.start,
            kind: MomentKind::Left,
            rule: p.rule,
        });
        if !p.open {
            moments.push(Moment {
                at: p.end,
                kind: MomentKind::CameBack,
                rule: p.rule,
            });
        }
    }
    moments.sort_by_key(|m| m.at);
    Inference {
        seen,
        empty,
        moments,
    }
}

/// Door-then-lock, daytime lock (without a door) and night lock.
fn lock_rules(
    obs: &[Obs],
    local: Local,
    until: UnixMillis,
    seen: Seen,
    empty: &mut Vec<Period>,
    moments: &mut Vec<Moment>,
) {
    let mut locked: Option<bool> = None;
    let mut door_opened_at: Option<UnixMillis> = None;
    let mut door_closed_at: Option<UnixMillis> = None;
    let mut door_open = false;
    for (i, o) in obs.iter().enumerate() {
        match o.signal {
            Signal::DoorOpen(true) => {
                door_open = true;
                door_opened_at = Some(o.at);
            }
            Signal::DoorOpen(false) => {
                if door_open {
                    door_closed_at = Some(o.at);
                }
                door_open = false;
            }
            // The first reading says how the bolt is, not when it moved: no rule fires on it.
            Signal::Locked(l) if locked.is_none() => locked = Some(l),
            Signal::Locked(true) if locked != Some(true) => {
                locked = Some(true);
                let unlock = obs[i + 1..]
                    .iter()
                    .find(|n| n.signal == Signal::Locked(false))
                    .map(|n| n.at);
                let end = unlock.unwrap_or(until);
                let lasted = end.0 - o.at.0;
                let after_close =
                    door_closed_at.is_some_and(|c| o.at.0 - c.0 <= LOCK_AFTER_CLOSE_MS);
                let door_recent = door_opened_at.is_some_and(|d| o.at.0 - d.0 <= BED_DOOR_QUIET_MS);
                if seen.door && after_close && lasted >= MIN_AWAY_MS {
                    empty.push(Period {
                        start: door_closed_at.unwrap_or(o.at),
                        end,
                        open: unlock.is_none(),
                        rule: Rule::DoorThenLock,
                    });
                } else if !seen.door && daytime(local, o.at) && lasted >= MIN_DAYTIME_LOCK_MS {
                    empty.push(Period {
                        start: o.at,
                        end,
                        open: unlock.is_none(),
                        rule: Rule::DaytimeLock,
                    });
                } else if night(local, o.at) && !door_recent {
                    moments.push(Moment {
                        at: o.at,
                        kind: MomentKind::Bed,
                        rule: Rule::NightLock,
                    });
                }
            }
            Signal::Locked(l) => locked = Some(l),
            _ => {}
        }
    }
}

/// A heat setpoint dropped and raised again.
fn setback_rule(
    obs: &[Obs],
    local: Local,
    until: UnixMillis,
    empty: &mut Vec<Period>,
    moments: &mut Vec<Moment>,
) {
    let mut last: Option<f64> = None;
    let mut since: Option<(UnixMillis, f64)> = None;
    for o in obs {
        let Signal::SetpointHeat(sp) = o.signal else {
            continue;
        };
        if let (Some(prev), None) = (last, since)
            && prev - sp >= SETBACK_DROP
        {
            since = Some((o.at, prev));
        } else if let Some((start, before)) = since
            && sp >= before - SETBACK_DROP / 2.0
        {
            close_setback(local, start, o.at, false, empty, moments);
            since = None;
        }
        last = Some(sp);
    }
    if let Some((start, _)) = since {
        close_setback(local, start, until, true, empty, moments);
    }
}

fn close_setback(
    local: Local,
    start: UnixMillis,
    end: UnixMillis,
    open: bool,
    empty: &mut Vec<Period>,
    moments: &mut Vec<Moment>,
) {
    if night(local, start) {
        moments.push(Moment {
            at: start,
            kind: MomentKind::Bed,
            rule: Rule::SetBack,
        });
    } else if daytime(local, start) && end.0 - start.0 >= HOUR_MS {
        empty.push(Period {
            start,
            end,
            open,
            rule: Rule::SetBack,
        });
    }
}

/// Heating that ran and then paused for hours in the daytime.
fn heating_rule(obs: &[Obs], local: Local, until: UnixMillis, empty: &mut Vec<Period>) {
    let mut stopped: Option<UnixMillis> = None;
    let mut ran = false;
    let check = |from: UnixMillis, to: UnixMillis, open: bool, empty: &mut Vec<Period>| {
        if to.0 - from.0 >= HEATING_PAUSE_MS && daytime(local, from) {
            empty.push(Period {
                start: from,
                end: to,
                open,
                rule: Rule::HeatingPause,
            });
        }
    };
    for o in obs {
        match o.signal {
            Signal::Heating(true) => {
                if let Some(s) = stopped.take() {
                    check(s, o.at, false, empty);
                }
                ran = true;
            }
            Signal::Heating(false) if ran && stopped.is_none() => stopped = Some(o.at),
            _ => {}
        }
    }
    if let Some(s) = stopped {
        check(s, until, true, empty);
    }
}

/// Overlapping periods become one, keeping the earlier one's rule.
fn merge(sorted: Vec<Period>) -> Vec<Period> {
    let mut out: Vec<Period> = Vec::new();
    for p in sorted {
        match out.last_mut() {
            Some(last) if p.start <= last.end => {
                if p.end > last.end {
                    last.end = p.end;
                    last.open = p.open;
                }
            }
            _ => out.push(p),
        }
    }
    out
}

#[cfg(test)]
mod tests;
