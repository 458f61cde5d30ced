//! `policy explain`: what the policy does with each field and command, in plain sentences.
//!
//! Reads the compiled policy only; it must never show a PIN hash or any house value.

use crate::command::CommandName;
use crate::config::{Share, UnlockGuard};
use crate::engine::Policy;
use crate::format::Format;
use crate::transform::fmt_num;
use hearth_model::Field;

impl Policy {
    /// One paragraph per cloud: a line per field, then the commands.
    pub fn explain(&self) -> String {
        let c = &self.compiled;
        let mut out = format!(
            "Cloud \"{}\" (format {}):\n",
            self.cloud(),
            self.format().as_str()
        );
        if let Some(d) = c.consent_until {
            out.push_str(&format!(
                "  Consent for this cloud ends after {d}; from then on it receives nothing at all: \
                 no reports, no capability description, no answers, no error replies, and its \
                 commands are not carried out (each refusal is written to the ledger).\n"
            ));
        }
        for field in Field::ALL {
            out.push_str(&format!("  {field}: {}\n", self.explain_field(field)));
        }
        out.push_str(&format!("  Commands: {}\n", self.explain_commands()));
        out.push_str(&format!(
            "  Requests: at most {} state requests an hour are answered; beyond that it gets \
             a refusal that says nothing.\n",
            c.max_requests_per_hour
        ));
        out.push_str(
            "  Refusals: a fixed code and sentence only, never a house value or a name; when \
             even the code would tell a field it is not given (say, that the door is open), \
             it gets a refusal that says nothing, and the ledger keeps the real reason. A \
             command id it already used is refused (replays).\n",
        );
        out
    }

    fn explain_field(&self, field: Field) -> String {
        let rule = self.compiled.rule(field);
        let mut s = match &rule.share {
            Share::Never => return "never sent.".into(),
            Share::OnRequest => {
                "sent only when this cloud asks for the state (someone is using the assistant)"
                    .to_string()
            }
            Share::OnChange {
                min_interval,
                min_delta,
            } => {
                let mut s = "sent when it changes".to_string();
                if !min_interval.is_zero() {
                    s.push_str(&format!(
                        ", at most once every {}",
                        hearth_model::duration::format(*min_interval)
                    ));
                }
                if *min_delta > 0.0 {
                    s.push_str(&format!(
                        ", and only when it moved by at least {}",
                        fmt_num(*min_delta)
                    ));
                }
                if let Some(words) = rule.transform.hold_words() {
                    s.push_str(&format!(" ({words})"));
                }
                s.push_str("; also when this cloud asks");
                s
            }
            Share::Periodic { every } => format!(
                "sent every {}, and when this cloud asks",
                hearth_model::duration::format(*every)
            ),
        };
        s.push_str(&format!("; {}", rule.transform.describe()));
        if let Some(w) = rule.window {
            s.push_str(&format!("; only between {w} local time, never outside it"));
        }
        if let Some(d) = rule.until {
            s.push_str(&format!("; consent ends after {d}"));
        }
        if self.format() == Format::Alexa && field == Field::ThermostatMode {
            s.push_str("; Alexa has no fan-only mode, so that mode is never reported");
        }
        s.push('.');
        s
    }

    fn explain_commands(&self) -> String {
        let c = &self.compiled;
        if c.allow.is_empty() {
            return "none allowed; every command from this cloud is refused.".into();
        }
        let mut parts = Vec::new();
        for name in CommandName::ALL {
            if !c.allow.contains(&name) {
                continue;
            }
            let words = match name {
                CommandName::SetSetpoint => "change the setpoints".to_string(),
                CommandName::SetMode => "change the thermostat mode".to_string(),
                CommandName::Lock => "lock the door".to_string(),
                CommandName::Unlock => match &c.unlock {
                    Some(UnlockGuard::CheckedByAlexa) => {
                        "unlock the door after Alexa checks its voice code".to_string()
                    }
                    Some(UnlockGuard::Pin(_)) => format!(
                        "unlock the door after hearth checks the voice PIN (after {} wrong PINs, \
                         unlocking is refused for {}, twice as long after each further lockout \
                         up to {}; neither a reload nor a restart ends a lockout)",
                        crate::pin::MAX_FAILED_ATTEMPTS,
                        hearth_model::duration::format(crate::pin::LOCKOUT),
                        hearth_model::duration::format(crate::pin::MAX_LOCKOUT)
                    ),
                    None => continue,
                },
            };
            parts.push(words);
        }
        let mut s = format!("this cloud may {}", parts.join(", "));
        if !c.allow.contains(&CommandName::Unlock) {
            s.push_str("; it may never unlock the door");
        }
        s.push_str("; anything else is refused.");
        s
    }
}
