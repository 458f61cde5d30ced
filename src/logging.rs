//! Logging setup: to the systemd journal when started by systemd, readable stderr otherwise.
//!
//! `RUST_LOG` (the usual `tracing_subscriber::EnvFilter` syntax) overrides the config's
//! level. rumqttc logs through the `log` crate; `tracing-subscriber`'s `tracing-log` bridge
//! makes those messages appear here too.

use crate::config::LogLevel;
use tracing_subscriber::{EnvFilter, layer::SubscriberExt, util::SubscriberInitExt};

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Journald,
    Stderr,
}

/// systemd sets `JOURNAL_STREAM` when stdout/stderr are connected to the journal.
pub fn detect_sink() -> Sink {
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        Sink::Journald
    } else {
        Sink::Stderr
    }
}

/// Install the global subscriber. Safe to call once; later calls are ignored.
pub fn init(level: LogLevel) -> Sink {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{},rumqttc=warn", level.as_str())));
    let sink = detect_sink();
    let registry = tracing_subscriber::registry().with(filter);
    let result = match sink {
        Sink::Journald => match tracing_journald::layer() {
            Ok(layer) => registry.with(layer).try_init(),
            // The journal socket can be missing in odd setups; stderr still reaches it.
            Err(_) => registry.with(stderr_layer()).try_init(),
        },
        Sink::Stderr => registry.with(stderr_layer()).try_init(),
    };
    let _ = result;
    sink
}

fn stderr_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
}
