//! The doctor's checklist: one line per check, a fix under each failure or warning, and the
//! exit code scripts can test.

use std::fmt::Write as _;

/// Every check passed (warnings allowed).
pub const EXIT_READY: u8 = 0;
/// At least one check failed; the fix lines say what to do.
pub const EXIT_FAILED: u8 = 1;
/// The config itself cannot be loaded (EX_CONFIG, as `check-config`); other checks still ran.
pub const EXIT_CONFIG: u8 = super::super::EXIT_CONFIG;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works, but something should be looked at; does not change the exit code.
    Warn,
    Fail,
    /// Does not apply to this config (e.g. GPIO with the simulator backend).
    Skip,
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Short, stable name, e.g. `config`, `broker`, `cloud alexa`.
    pub name: String,
    pub status: Status,
    pub detail: String,
    /// What to do, for `Warn` and `Fail`.
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Ok, detail, None)
    }
    pub fn skip(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Skip, detail, None)
    }
    pub fn fail(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(name, Status::Fail, detail, Some(fix.into()))
    }
    pub fn warn(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(name, Status::Warn, detail, Some(fix.into()))
    }
    fn new(
        name: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
        fix: Option<String>,
    ) -> Self {
        Self {
            name: name.into(),
            status,
            detail: detail.into(),
            fix,
        }
    }
}

/// The checklist as printed, and the summary line.
pub fn render(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        let tag = match c.status {
            Status::Ok => " ok ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        };
        let _ = writeln!(out, "[{tag}] {}: {}", c.name, c.detail);
        if let Some(fix) = &c.fix {
            for (i, line) in fix.lines().enumerate() {
                let lead = if i == 0 { "fix:" } else { "    " };
                let _ = writeln!(out, "       {lead} {line}");
            }
        }
    }
    let count = |s| checks.iter().filter(|c| c.status == s).count();
    let (failed, warned) = (count(Status::Fail), count(Status::Warn));
    if failed == 0 {
        let _ = writeln!(out, "ready: no check failed ({warned} warning(s))");
    } else {
        let _ = writeln!(
            out,
            "not ready: {failed} check(s) failed, {warned} warning(s)"
        );
    }
    out
}

/// 0 when nothing failed; 78 when the config could not be loaded; 1 for any other failure.
pub fn exit_code(checks: &[Check], config_loaded: bool) -> u8 {
    if !config_loaded {
        EXIT_CONFIG
    } else if checks.iter().any(|c| c.status == Status::Fail) {
        EXIT_FAILED
    } else {
        EXIT_READY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_fixes_and_picks_the_exit_code() {
        let checks = vec![
            Check::ok("config", "valid"),
            Check::fail("broker", "refused", "start it:\nsystemctl start mosquitto"),
            Check::warn("clock", "not synchronised", "timedatectl set-ntp true"),
            Check::skip("gpio", "simulator"),
        ];
        let text = render(&checks);
        assert!(text.contains("[ ok ] config: valid\n"), "{text}");
        assert!(
            text.contains("[FAIL] broker: refused\n       fix: start it:\n            systemctl start mosquitto\n"),
            "{text}"
        );
        assert!(
            text.contains("not ready: 1 check(s) failed, 1 warning(s)"),
            "{text}"
        );
        assert_eq!(exit_code(&checks, true), EXIT_FAILED);
        assert_eq!(exit_code(&checks, false), EXIT_CONFIG);
        assert_eq!(exit_code(&checks[2..], true), EXIT_READY);
        assert!(render(&checks[2..]).contains("ready: no check failed (1 warning(s))"));
    }
}
