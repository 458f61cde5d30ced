//! Scoring an inference against known empty periods (a scripted simulator week): how many of
//! them a view exposes, and how many periods it claims that were not empty at all.

use crate::Period;
use hearth_model::UnixMillis;

/// How a view did against the truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Score {
    /// Known empty periods covered at least half by an inferred one.
    pub exposed: usize,
    pub total: usize,
    /// Inferred periods overlapping no known empty period.
    pub false_alarms: usize,
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} empty periods exposed, {} false",
            self.exposed, self.total, self.false_alarms
        )
    }
}

fn overlap(a: (UnixMillis, UnixMillis), b: (UnixMillis, UnixMillis)) -> i64 {
    (a.1.0.min(b.1.0) - a.0.0.max(b.0.0)).max(0)
}

/// Score `found` against the known empty periods `truth` (start, end).
pub fn score(truth: &[(UnixMillis, UnixMillis)], found: &[Period]) -> Score {
    let exposed = truth
        .iter()
        .filter(|t| {
            let covered: i64 = found.iter().map(|p| overlap(**t, (p.start, p.end))).sum();
            covered * 2 >= t.1.0 - t.0.0
        })
        .count();
    let false_alarms = found
        .iter()
        .filter(|p| truth.iter().all(|t| overlap(*t, (p.start, p.end)) == 0))
        .count();
    Score {
        exposed,
        total: truth.len(),
        false_alarms,
    }
}
