//! A problem found in a config section after it parsed: which key, and what is wrong.
//!
//! Each section type validates itself and returns these; the daemon's config loader turns
//! the dotted key into `file:line` for the person at the terminal.

/// One validation problem. `key` is the full dotted path, e.g. `hardware.outputs.heat.pin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub key: String,
    pub message: String,
}

impl ConfigIssue {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}
