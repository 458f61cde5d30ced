//! The rules on hand-made days: a weekday out, a night lock, a set-back, a heating pause.

use crate::time::{DAY_MS, Local, MINUTE_MS};
use crate::{MomentKind, Obs, Rule, Signal, infer, score};
use hearth_model::UnixMillis;

/// 2026-11-30, a Monday, 00:00 UTC.
const MONDAY: i64 = 1_795_996_800_000;

fn at(day: i64, h: i64, m: i64) -> UnixMillis {
    UnixMillis(MONDAY + day * DAY_MS + (h * 60 + m) * MINUTE_MS)
}

fn o(t: UnixMillis, signal: Signal) -> Obs {
    Obs { at: t, signal }
}

/// Unlock 07:30, out 08:05 (lock 08:07), back 17:40, bed 22:30.
fn weekday(day: i64) -> Vec<Obs> {
    use Signal::*;
    vec![
        o(at(day, 7, 30), Locked(false)),
        o(at(day, 8, 5), DoorOpen(true)),
        o(at(day, 8, 6), DoorOpen(false)),
        o(at(day, 8, 7), Locked(true)),
        o(at(day, 17, 40), Locked(false)),
        o(at(day, 17, 41), DoorOpen(true)),
        o(at(day, 17, 42), DoorOpen(false)),
        o(at(day, 22, 30), Locked(true)),
    ]
}

#[test]
fn the_full_feed_exposes_a_weekday_out_and_bedtime() {
    let local = Local::new(0);
    let obs: Vec<Obs> = (0..2).flat_map(weekday).collect();
    let inf = infer(&obs, local, at(2, 0, 0));
    assert_eq!(inf.empty.len(), 2, "{inf:?}");
    assert_eq!(inf.empty[0].rule, Rule::DoorThenLock);
    assert_eq!(
        (inf.empty[0].start, inf.empty[0].end),
        (at(0, 8, 6), at(0, 17, 40))
    );
    let beds: Vec<_> = inf
        .moments
        .iter()
        .filter(|m| m.kind == MomentKind::Bed)
        .collect();
    assert_eq!(beds.len(), 2);
    let days = inf.days(local, local.day(at(0, 0, 0)), local.day(at(1, 0, 0)));
    assert_eq!(days[0].empty, ["08:06–17:40"]);
    assert_eq!(days[0].bed, ["22:30"]);
    assert_eq!(days[0].label, "Mon 2026-11-30");
    let truth = [(at(0, 8, 5), at(0, 17, 40)), (at(1, 8, 5), at(1, 17, 40))];
    let s = score(&truth, &inf.empty);
    assert_eq!((s.exposed, s.total, s.false_alarms), (2, 2, 0));
    assert!(
        inf.sentence(local, local.day(at(0, 0, 0)), local.day(at(1, 0, 0)))
            .starts_with("empty on 2 of 2 days (most often 08:06–17:40)")
    );
}

#[test]
fn without_the_door_a_daytime_lock_still_gives_it_away_but_a_short_one_does_not() {
    let local = Local::new(0);
    let obs: Vec<Obs> = weekday(0)
        .into_iter()
        .filter(|o| matches!(o.signal, Signal::Locked(_)))
        .chain([
            o(at(1, 9, 0), Signal::Locked(true)),
            o(at(1, 9, 30), Signal::Locked(false)),
        ])
        .collect();
    let inf = infer(&obs, local, at(2, 0, 0));
    assert_eq!(inf.empty.len(), 1, "{inf:?}");
    assert_eq!(inf.empty[0].rule, Rule::DaytimeLock);
    assert_eq!(inf.empty[0].start, at(0, 8, 7));
}

#[test]
fn an_arrival_that_locks_behind_it_is_not_a_bedtime_and_a_night_lock_is() {
    use Signal::*;
    let local = Local::new(0);
    let obs = [
        o(at(0, 21, 0), DoorOpen(true)),
        o(at(0, 21, 1), DoorOpen(false)),
        o(at(0, 21, 2), Locked(true)),
        o(at(0, 21, 10), Locked(false)),
        o(at(0, 23, 0), Locked(true)),
    ];
    let inf = infer(&obs, local, at(1, 6, 0));
    let beds: Vec<_> = inf
        .moments
        .iter()
        .filter(|m| m.kind == MomentKind::Bed)
        .collect();
    assert_eq!(beds.len(), 1);
    assert_eq!(beds[0].at, at(0, 23, 0));
    assert!(inf.empty.is_empty(), "8 minutes locked is not an absence");
}

#[test]
fn setpoint_set_backs_in_the_day_are_absences_and_at_night_bedtimes() {
    use Signal::*;
    let local = Local::new(0);
    let obs = [
        o(at(0, 0, 0), SetpointHeat(20.0)),
        o(at(0, 8, 10), SetpointHeat(16.0)),
        o(at(0, 17, 30), SetpointHeat(20.0)),
        o(at(0, 22, 45), SetpointHeat(17.0)),
        o(at(1, 6, 30), SetpointHeat(20.0)),
    ];
    let inf = infer(&obs, local, at(1, 12, 0));
    assert_eq!(inf.empty.len(), 1);
    assert_eq!(
        (inf.empty[0].start, inf.empty[0].end),
        (at(0, 8, 10), at(0, 17, 30))
    );
    assert!(
        inf.moments
            .iter()
            .any(|m| m.kind == MomentKind::Bed && m.at == at(0, 22, 45))
    );
}

#[test]
fn the_first_reading_of_the_lock_is_no_event() {
    use Signal::*;
    let local = Local::new(0);
    let obs = [o(at(0, 0, 15), Locked(true)), o(at(0, 7, 0), Locked(false))];
    let inf = infer(&obs, local, at(1, 0, 0));
    assert!(inf.moments.is_empty() && inf.empty.is_empty(), "{inf:?}");
}

#[test]
fn a_long_heating_pause_is_a_weak_hint_and_nothing_seen_is_nothing_inferable() {
    use Signal::*;
    let local = Local::new(0);
    let obs = [
        o(at(0, 7, 0), Heating(true)),
        o(at(0, 7, 20), Heating(false)),
        o(at(0, 8, 0), Heating(true)),
        o(at(0, 8, 20), Heating(false)),
        o(at(0, 13, 0), Heating(true)),
    ];
    let inf = infer(&obs, local, at(1, 0, 0));
    assert_eq!(inf.empty.len(), 1);
    assert_eq!(inf.empty[0].rule, Rule::HeatingPause);
    let none = infer(&[], local, at(1, 0, 0));
    assert!(none.sentence(local, 0, 1).starts_with("nothing inferable"));
    assert!(none.empty.is_empty());
}
