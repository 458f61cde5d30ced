//! Compiling one field's rule: `share` with its interval and delta, the transform (round,
//! buckets, boolean, as is), the time window and `until`, checked against the field's kind
//! and, when known, the cloud's format.

use super::{BooleanConfig, BucketsConfig, FieldRule, Rule, Share, ShareKind};
use crate::clock::{Day, Window};
use crate::format::Format;
use crate::transform::{Transform, text_values};
use hearth_model::{ConfigIssue, Field};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

fn kind_of(field: Field) -> String {
    if field.is_numeric() {
        format!("{field} is a number")
    } else {
        format!("{field} is text (one of {})", text_values(field).join(", "))
    }
}

pub(super) fn compile_rule(
    field: Field,
    r: &FieldRule,
    key: &str,
    format: Option<Format>,
    issues: &mut Vec<ConfigIssue>,
) -> Option<Rule> {
    let before = issues.len();
    let mut issue = |k: &str, m: String| issues.push(ConfigIssue::new(format!("{key}.{k}"), m));

    let only_for = |what: &str, kind: &str| {
        format!(
            "`{what}` only applies to share = \"{kind}\"; this field has share = \"{}\"",
            r.share.as_str()
        )
    };
    if r.share != ShareKind::OnChange {
        if r.min_interval.is_some() {
            issue("min_interval", only_for("min_interval", "on_change"));
        }
        if r.min_delta.is_some() {
            issue("min_delta", only_for("min_delta", "on_change"));
        }
    }
    if r.share != ShareKind::Periodic && r.every.is_some() {
        issue("every", only_for("every", "periodic"));
    }

    let transforms = [r.round.is_some(), r.buckets.is_some(), r.boolean.is_some()];
    let transform = if transforms.iter().filter(|t| **t).count() > 1 {
        issue(
            "round",
            "choose one transform: `round`, `buckets` or `boolean`, not several".into(),
        );
        Transform::Identity
    } else if let Some(step) = r.round {
        if !field.is_numeric() {
            issue(
                "round",
                format!("`round` needs a number, but {}", kind_of(field)),
            );
        } else if !(step.is_finite() && step > 0.0) {
            issue(
                "round",
                format!("the step must be a positive number, not {step}"),
            );
        }
        Transform::round(step)
    } else if let Some(b) = &r.buckets {
        compile_buckets(field, b, &mut issue)
    } else if let Some(b) = &r.boolean {
        compile_boolean(field, b, &mut issue)
    } else {
        Transform::Identity
    };

    let share = match r.share {
        ShareKind::Never => Share::Never,
        ShareKind::OnRequest => Share::OnRequest,
        ShareKind::OnChange => {
            let min_delta = r.min_delta.unwrap_or(0.0);
            if r.min_delta.is_some() && !(field.is_numeric() && transform.keeps_number()) {
                let why = if field.is_numeric() {
                    format!("the transform sends {field} as {}", transform.describe())
                } else {
                    kind_of(field)
                };
                issue(
                    "min_delta",
                    format!("`min_delta` compares numbers, but {why}"),
                );
            } else if !(min_delta.is_finite() && min_delta >= 0.0) {
                issue(
                    "min_delta",
                    format!("must be zero or more, not {min_delta}"),
                );
            }
            Share::OnChange {
                min_interval: r.min_interval.unwrap_or(Duration::ZERO),
                min_delta,
            }
        }
        ShareKind::Periodic => match r.every {
            None => {
                issue(
                    "every",
                    "share = \"periodic\" needs `every`, e.g. every = \"15m\"".into(),
                );
                Share::Never
            }
            Some(every) if every < Duration::from_secs(1) => {
                issue("every", "must be at least 1s".into());
                Share::Never
            }
            Some(every) => Share::Periodic { every },
        },
    };

    let window = r
        .window
        .as_ref()
        .and_then(|w| Window::parse(w).map_err(|e| issue("window", e)).ok());
    let until = r
        .until
        .as_ref()
        .and_then(|d| Day::parse(d).map_err(|e| issue("until", e)).ok());

    if let Some(format) = format {
        let wire = format.wire();
        if share != Share::Never && !wire.carries(field) {
            issue(
                "share",
                format!(
                    "the {} format has no property for {field}, so it can never reach that \
                     cloud; set share = \"never\" or use format = \"json\"",
                    format.as_str()
                ),
            );
        } else if share != Share::Never
            && let Err(e) = wire.check_transform(field, &transform)
        {
            let k = if r.buckets.is_some() {
                "buckets"
            } else if r.boolean.is_some() {
                "boolean"
            } else {
                "round"
            };
            issue(k, e);
        }
    }

    (issues.len() == before).then_some(Rule {
        share,
        transform,
        window,
        until,
    })
}

fn compile_buckets(
    field: Field,
    b: &BucketsConfig,
    issue: &mut impl FnMut(&str, String),
) -> Transform {
    if !field.is_numeric() {
        issue(
            "buckets",
            format!("`buckets` needs a number, but {}", kind_of(field)),
        );
    }
    if b.bounds.is_empty() {
        issue(
            "buckets.bounds",
            "give at least one bound, e.g. bounds = [18, 24]".into(),
        );
    }
    if let Some(bad) = b.bounds.iter().find(|x| !x.is_finite()) {
        issue("buckets.bounds", format!("{bad} is not a finite number"));
    }
    for pair in b.bounds.windows(2) {
        if pair[1] <= pair[0] {
            issue(
                "buckets.bounds",
                format!(
                    "bounds must increase, but {} is not above {}",
                    pair[1], pair[0]
                ),
            );
        }
    }
    if b.names.len() != b.bounds.len() + 1 {
        issue(
            "buckets.names",
            format!(
                "{} bounds make {} buckets, so give {} names (one below the first bound, \
                 one between each pair, one above the last); there are {}",
                b.bounds.len(),
                b.bounds.len() + 1,
                b.bounds.len() + 1,
                b.names.len()
            ),
        );
    }
    let unique: BTreeSet<_> = b.names.iter().collect();
    if unique.len() != b.names.len() {
        issue("buckets.names", "names must differ from each other".into());
    }
    if b.names.iter().any(|n| n.trim().is_empty()) {
        issue("buckets.names", "names must not be empty".into());
    }
    Transform::Buckets {
        bounds: b.bounds.clone(),
        names: b.names.clone(),
    }
}

fn compile_boolean(
    field: Field,
    b: &BooleanConfig,
    issue: &mut impl FnMut(&str, String),
) -> Transform {
    match (b.above, &b.true_when) {
        (Some(t), None) => {
            if !field.is_numeric() {
                issue(
                    "boolean.above",
                    format!(
                        "`above` needs a number, but {}; use `true_when`",
                        kind_of(field)
                    ),
                );
            } else if !t.is_finite() {
                issue("boolean.above", format!("{t} is not a finite number"));
            }
            Transform::Above(t)
        }
        (None, Some(words)) => {
            if field.is_numeric() {
                issue(
                    "boolean.true_when",
                    format!("`true_when` needs text, but {field} is a number; use `above`"),
                );
                return Transform::Identity;
            }
            let known = text_values(field);
            if words.is_empty() {
                issue("boolean.true_when", "list at least one value".into());
            }
            for w in words {
                if !known.contains(&w.as_str()) {
                    issue(
                        "boolean.true_when",
                        format!("{field} is never `{w}`; it is one of {}", known.join(", ")),
                    );
                }
            }
            Transform::OneOf(words.clone())
        }
        _ => {
            issue(
                "boolean",
                "give exactly one of `above = <number>` (numbers) or `true_when = [..]` (text)"
                    .into(),
            );
            Transform::Identity
        }
    }
}

/// Alexa reports mode and setpoints through one interface whose `proactivelyReported` flag
/// covers all of them, so they must agree on being proactive or not.
pub(super) fn check_alexa_thermostat(
    rules: &BTreeMap<Field, Rule>,
    prefix: &str,
    issues: &mut Vec<ConfigIssue>,
) {
    let members = [
        Field::ThermostatMode,
        Field::ThermostatSetpointHeat,
        Field::ThermostatSetpointCool,
    ];
    let shared: Vec<(Field, bool)> = members
        .iter()
        .filter_map(|f| rules.get(f).map(|r| (*f, &r.share)))
        .filter(|(_, s)| **s != Share::Never)
        .map(|(f, s)| (f, s.is_proactive()))
        .collect();
    if shared.iter().any(|(_, p)| *p) && shared.iter().any(|(_, p)| !*p) {
        let (odd, _) = shared.iter().find(|(_, p)| !*p).expect("checked above");
        issues.push(ConfigIssue::new(
            format!("{prefix}.fields.\"{odd}\".share"),
            "Alexa reports thermostat.mode, thermostat.setpoint_heat and \
             thermostat.setpoint_cool through one interface that is either proactively \
             reported or not: give them all on_request, or all on_change/periodic (or never)",
        ));
    }
}
