//! What a feed of a home's state gives away: presence and routine inferred from door, lock,
//! heat setpoint and heating observations, by a few simple rules stated in words ([`Rule`]).
//!
//! The same rules run on the full local history (what a continuous feed would reveal) and on
//! what one cloud received per the ledger, so the two can be put side by side. Pure code: time
//! is passed in, nothing here reads a clock, a file or the network. The rules are deliberately
//! plain — a vendor with the feed can do at least this much.

mod rules;
mod score;
mod time;

pub use rules::infer;
pub use score::{Score, score};
pub use time::{DAY_MS, Local, weekday};

use hearth_model::UnixMillis;

/// One observed value at a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signal {
    /// The bolt is locked (`true`) or not.
    Locked(bool),
    /// The door is open (`true`) or closed.
    DoorOpen(bool),
    /// The heat setpoint, °C.
    SetpointHeat(f64),
    /// The heating is running.
    Heating(bool),
}

/// A signal at a time. Feed them oldest first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Obs {
    pub at: UnixMillis,
    pub signal: Signal,
}

/// Which kinds of signal a view contained at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Seen {
    pub lock: bool,
    pub door: bool,
    pub setpoint: bool,
    pub heating: bool,
}

impl Seen {
    pub fn any(self) -> bool {
        self.lock || self.door || self.setpoint || self.heating
    }
}

/// The rules, each stated on the page and in `hearthd report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    DoorThenLock,
    DaytimeLock,
    SetBack,
    HeatingPause,
    NightLock,
}

impl Rule {
    pub const ALL: [Rule; 5] = [
        Rule::DoorThenLock,
        Rule::DaytimeLock,
        Rule::SetBack,
        Rule::HeatingPause,
        Rule::NightLock,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::DoorThenLock => "door then lock",
            Rule::DaytimeLock => "daytime lock",
            Rule::SetBack => "set-back",
            Rule::HeatingPause => "heating pause",
            Rule::NightLock => "night lock",
        }
    }

    /// The rule in plain words.
    pub fn text(self) -> &'static str {
        match self {
            Rule::DoorThenLock => {
                "Door opened, closed, and the bolt locked within 5 minutes of closing, then stayed locked for at least 30 minutes: someone went out and locked from outside. The house counts as empty from the door closing until the next unlock (someone came back)."
            }
            Rule::DaytimeLock => {
                "Only when the door is not visible: the bolt locked between 07:00 and 20:00 and stayed locked for at least an hour: the house counts as empty until the next unlock."
            }
            Rule::SetBack => {
                "The heat setpoint dropped by 1.5 °C or more between 07:00 and 20:00 and rose again at least an hour later: empty while it was set back. A drop between 20:00 and 03:00 is read as bedtime."
            }
            Rule::HeatingPause => {
                "Only when neither lock nor setpoint is visible: the heating ran, then did not run for 4 hours or more between 07:00 and 20:00: possibly empty (a weak rule: mild weather does the same)."
            }
            Rule::NightLock => {
                "The bolt locked between 20:00 and 03:00 without the door opening in the 10 minutes before: people are in and going to bed."
            }
        }
    }
}

/// A stretch of time the house was likely empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: UnixMillis,
    pub end: UnixMillis,
    /// The period had not ended by the end of the data.
    pub open: bool,
    pub rule: Rule,
}

/// What a moment of routine was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MomentKind {
    Left,
    CameBack,
    Bed,
}

impl MomentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MomentKind::Left => "left",
            MomentKind::CameBack => "came back",
            MomentKind::Bed => "went to bed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    pub at: UnixMillis,
    pub kind: MomentKind,
    pub rule: Rule,
}

/// Everything one view gives away.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inference {
    pub seen: Seen,
    /// Likely-empty periods, oldest first, not overlapping.
    pub empty: Vec<Period>,
    /// Departures, returns and bedtimes, oldest first.
    pub moments: Vec<Moment>,
}

/// One local day of an inference, for the side-by-side table.
#[derive(Debug, Clone, PartialEq)]
pub struct DaySummary {
    pub day: i64,
    pub label: String,
    /// `08:07–17:40` per empty period touching the day, clipped to it.
    pub empty: Vec<String>,
    /// `22:30` per bedtime.
    pub bed: Vec<String>,
}

impl Inference {
    /// Per local day from `first_day` to `last_day` inclusive.
    pub fn days(&self, local: Local, first_day: i64, last_day: i64) -> Vec<DaySummary> {
        (first_day..=last_day)
            .map(|day| {
                let (from, to) = (local.day_start(day), local.day_start(day + 1));
                let empty = self
                    .empty
                    .iter()
                    .filter(|p| p.start < to && p.end > from)
                    .map(|p| {
                        let s = if p.start < from {
                            "00:00".into()
                        } else {
                            local.hhmm(p.start)
                        };
                        let e = if p.end >= to {
                            "24:00".into()
                        } else {
                            local.hhmm(p.end)
                        };
                        format!("{s}–{e}")
                    })
                    .collect();
                let bed = self
                    .moments
                    .iter()
                    .filter(|m| m.kind == MomentKind::Bed && m.at >= from && m.at < to)
                    .map(|m| local.hhmm(m.at))
                    .collect();
                DaySummary {
                    day,
                    label: local.day_label(day),
                    empty,
                    bed,
                }
            })
            .collect()
    }

    /// One sentence: what this view exposes over `days` days.
    pub fn sentence(&self, local: Local, first_day: i64, last_day: i64) -> String {
        if !self.seen.any() {
            return "nothing inferable: no door, lock, setpoint or heating data".into();
        }
        let days = self.days(local, first_day, last_day);
        let with_empty: Vec<&DaySummary> = days.iter().filter(|d| !d.empty.is_empty()).collect();
        let beds = days.iter().filter(|d| !d.bed.is_empty()).count();
        if with_empty.is_empty() && beds == 0 {
            return "no empty period or bedtime inferable".into();
        }
        let mut s = format!("empty on {} of {} days", with_empty.len(), days.len());
        if let Some(typical) = most_common(with_empty.iter().flat_map(|d| d.empty.iter())) {
            s.push_str(&format!(" (most often {typical})"));
        }
        if beds > 0 {
            s.push_str(&format!("; bedtime seen on {beds} days"));
        }
        s
    }
}

fn most_common<'a>(items: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    let mut counts: Vec<(&String, usize)> = Vec::new();
    for i in items {
        match counts.iter_mut().find(|(k, _)| *k == i) {
            Some((_, n)) => *n += 1,
            None => counts.push((i, 1)),
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 1)
        .map(|(k, _)| k)
}
