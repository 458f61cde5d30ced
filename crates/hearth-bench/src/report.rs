//! The benchmark's results: one row per figure, with its baseline and goal, as a table for
//! people and JSON for tracking.

use serde_json::json;
use std::fmt::Write;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    /// The same quantity measured for a plain reference in the same run.
    pub baseline: Option<f64>,
    pub baseline_name: &'static str,
    /// DESIGN.md §8's goal: (bound, true = value must be at least the bound; false = below it).
    pub goal: Option<(f64, bool)>,
    pub note: String,
}

impl Figure {
    pub fn verdict(&self) -> &'static str {
        match self.goal {
            None => "-",
            Some((bound, true)) if self.value >= bound => "ok",
            Some((bound, false)) if self.value < bound => "ok",
            Some(_) => "MISSED",
        }
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub figures: Vec<Figure>,
    pub elapsed: Duration,
}

fn num(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

impl Report {
    pub fn push(&mut self, f: Figure) {
        self.figures.push(f);
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<30} {:>12} {:<12} {:>12}  {:<36} {:>9} {:<7} note",
            "figure", "value", "unit", "baseline", "baseline is", "goal", "verdict"
        );
        for f in &self.figures {
            let goal = match f.goal {
                Some((b, true)) => format!(">= {}", num(b)),
                Some((b, false)) => format!("< {}", num(b)),
                None => "-".into(),
            };
            let _ = writeln!(
                out,
                "{:<30} {:>12} {:<12} {:>12}  {:<36} {:>9} {:<7} {}",
                f.name,
                num(f.value),
                f.unit,
                f.baseline.map(num).unwrap_or_else(|| "-".into()),
                f.baseline_name,
                goal,
                f.verdict(),
                f.note
            );
        }
        let _ = writeln!(out, "bench took {:.0} s", self.elapsed.as_secs_f64());
        out
    }

    pub fn json(&self) -> String {
        let figures: Vec<_> = self
            .figures
            .iter()
            .map(|f| {
                json!({
                    "name": f.name, "value": f.value, "unit": f.unit,
                    "baseline": f.baseline, "baseline_is": f.baseline_name,
                    "goal": f.goal.map(|(b, at_least)| json!({"bound": b, "at_least": at_least})),
                    "verdict": f.verdict(), "note": f.note,
                })
            })
            .collect();
        serde_json::to_string_pretty(&json!({
            "machine": machine(),
            "elapsed_s": self.elapsed.as_secs_f64(),
            "figures": figures,
        }))
        .unwrap_or_default()
    }
}

fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("model name"))
            .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
    });
    json!({
        "arch": std::env::consts::ARCH,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "cpu": cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_goal_direction() {
        let mut f = Figure {
            name: "x".into(),
            value: 5.0,
            unit: "u",
            baseline: None,
            baseline_name: "",
            goal: Some((8.0, false)),
            note: String::new(),
        };
        assert_eq!(f.verdict(), "ok");
        f.value = 9.0;
        assert_eq!(f.verdict(), "MISSED");
        f.goal = Some((0.7, true));
        assert_eq!(f.verdict(), "ok");
        f.value = 0.5;
        assert_eq!(f.verdict(), "MISSED");
        f.goal = None;
        assert_eq!(f.verdict(), "-");
    }
}
