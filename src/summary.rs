//! A short, human summary of a loaded config, printed by `hearthd check-config`.
//!
//! It says what hearth will do with this file, not every setting: enough for the owner to
//! see at a glance that the right hardware, broker and clouds are configured.

use crate::config::Config;
use hearth_hardware::Backend;
use hearth_model::duration::format as dur;
use std::fmt::Write;

pub fn describe(cfg: &Config) -> String {
    let mut s = String::new();
    let hw = &cfg.hardware;
    let backend = match hw.backend {
        Backend::Simulator => format!("simulator (seed {})", cfg.simulator.seed),
        Backend::RaspberryPi => "Raspberry Pi GPIO (rppal)".to_owned(),
    };
    let _ = writeln!(
        s,
        "  hardware:   {backend}; sensor every {}, inputs every {}",
        dur(hw.poll_interval),
        dur(hw.input_poll_interval)
    );
    let t = &cfg.thermostat;
    let _ = writeln!(
        s,
        "  thermostat: starts in mode {} with heat {:.1} °C / cool {:.1} °C, hysteresis {:.1} °C, freeze protection {}",
        t.mode.as_str(),
        t.setpoint_heat,
        t.setpoint_cool,
        t.hysteresis,
        if t.freeze_protection {
            format!("below {:.1} °C", t.freeze_below)
        } else {
            "off".to_owned()
        }
    );
    let l = &cfg.lock;
    let relock = l
        .auto_relock_after
        .map(|d| format!("auto-relock after {}", dur(d)))
        .unwrap_or_else(|| "no auto-relock".to_owned());
    let _ = writeln!(
        s,
        "  lock:       travel timeout {}, {relock}",
        dur(l.travel_timeout)
    );
    let h = &cfg.history;
    let _ = writeln!(
        s,
        "  history:    {} (commit every {}, raw samples kept {})",
        h.path.display(),
        dur(h.commit_interval),
        dur(h.retention)
    );
    match &cfg.mqtt {
        Some(m) => {
            let tls = if m.tls.is_some() { "TLS" } else { "plain TCP" };
            let login = match &m.username {
                Some(user) => format!("as {user}"),
                None => "anonymous".to_owned(),
            };
            let _ = writeln!(
                s,
                "  local MQTT: {}:{} ({tls}, {login}), topics under {}/",
                m.host, m.port, m.base_topic
            );
            let unlock = match &m.secrets_file {
                Some(path) => format!("signed unlock with keys from {}", path.display()),
                None => "unlock disabled (no mqtt.secrets_file)".to_owned(),
            };
            let discovery = if m.discovery.enabled {
                format!("Home Assistant discovery under {}/", m.discovery.prefix)
            } else {
                "no Home Assistant discovery".to_owned()
            };
            let _ = writeln!(s, "              {unlock}; {discovery}");
        }
        None => {
            let _ = writeln!(
                s,
                "  local MQTT: off (no [mqtt] section): nothing can command hearth"
            );
        }
    }
    if cfg.cloud.is_empty() {
        let _ = writeln!(s, "  clouds:     none: nothing leaves the house");
    }
    for c in &cfg.cloud {
        let shared: Vec<String> = c
            .policy
            .fields
            .iter()
            .filter(|(_, rule)| rule.share != hearth_policy::ShareKind::Never)
            .map(|(name, rule)| format!("{name} ({})", rule.share.as_str()))
            .collect();
        let shared = if shared.is_empty() {
            "shares nothing".to_owned()
        } else {
            format!("may see {}", shared.join(", "))
        };
        let _ = writeln!(
            s,
            "  cloud:      {} ({} format, {}:{}, {}): {shared}; ledger {}",
            c.name,
            format!("{:?}", c.format).to_lowercase(),
            c.host,
            c.port,
            if c.tls.is_some() {
                "TLS"
            } else {
                "plain, loopback only"
            },
            cfg.ledger.path.display()
        );
    }
    let w = &cfg.web;
    let _ = writeln!(
        s,
        "  web page:   {}",
        if w.enabled {
            format!(
                "{}://{}/ ({})",
                if w.tls.is_some() { "https" } else { "http" },
                w.listen,
                if w.password_file.is_some() {
                    "password required"
                } else {
                    "no password: this machine only"
                }
            )
        } else {
            "off".to_owned()
        }
    );
    s
}
