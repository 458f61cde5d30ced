//! The connection to the local broker: the task that polls rumqttc's event loop (either
//! protocol, see `link.rs`) with hearth's own capped exponential backoff (rumqttc itself
//! retries at once, in a busy loop), reports the link state and notices session takeovers.
//! The options it connects with are built in `options.rs`.
//!
//! This task only moves packets and reports the link state. It never decides what a message
//! means and never publishes by itself.

use super::link::{EventLoop, LinkEvent, Message};
use hearth_model::UnixMillis;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// What to do about a client-id takeover, for the logs.
const TAKEOVER_ADVICE: &str = "hearth reconnects, but two clients with one id knock each other \
     off: give the other client its own id, and let only hearth's broker user use hearth's id \
     (see the README's Mosquitto ACL)";
/// How long a clean shutdown waits for DISCONNECT to be written.
const DISCONNECT_GRACE: Duration = Duration::from_secs(1);

/// What the rest of the MQTT task knows about the broker connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkState {
    pub connected: bool,
    /// Increases with every CONNACK, so watchers can tell a new session from an old one.
    pub session: u64,
    /// When the current connection was made (wall clock).
    pub connected_since: Option<UnixMillis>,
    /// Connections lost since start.
    pub disconnects: u64,
    /// Why the last connection attempt or connection failed.
    pub last_error: Option<String>,
    /// Times another client connected with hearth's client id: said by the broker (MQTT 5
    /// reason code), or inferred when the broker closed a live connection without a reason
    /// and took hearth back at once (a broker that went down refuses the first retry).
    pub takeovers: u64,
    /// The largest packet the broker takes from hearth (its CONNACK; `None`: no limit).
    pub max_packet: Option<u32>,
}

/// Capped exponential backoff with a little jitter, so many clients restarted together do
/// not reconnect in step.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            next: min,
        }
    }

    /// The delay before the next attempt (without jitter), and doubles the one after.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    /// Called on a successful connection: the next failure waits `min` again.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// Up to +10 % so restarts spread out; never below the configured delay.
fn with_jitter(d: Duration) -> Duration {
    d + d.mul_f64(fastrand::f64() * 0.1)
}

/// Poll the event loop until `stop`, reporting the link state and handing every incoming
/// message to `incoming`. After a failure it waits the backoff delay before polling again.
/// Set `stop` after queueing the DISCONNECT: a live connection is polled until it is sent.
pub async fn run(
    mut eventloop: EventLoop,
    mut backoff: Backoff,
    link: watch::Sender<LinkState>,
    incoming: mpsc::Sender<Message>,
    mut stop: watch::Receiver<bool>,
) {
    let mut connected = false;
    // The last connection was closed by the broker without a reason, and no attempt has
    // failed since: if the next one succeeds at once, another client likely took the id.
    let mut suspect_takeover = false;
    loop {
        let event = tokio::select! {
            biased;
            // Once asked to stop, a live connection keeps being polled so the `offline`
            // publish and DISCONNECT are written (bounded below); a dead one just ends.
            _ = crate::shutdown::wait(&mut stop) => {
                if connected {
                    drain_until_disconnect(&mut eventloop).await;
                }
                return;
            }
            event = eventloop.next() => event,
        };
        match event {
            LinkEvent::Connected { max_packet } => {
                connected = true;
                backoff.reset();
                tracing::info!(
                    broker = %eventloop.broker(),
                    "connected to the local MQTT broker"
                );
                let inferred = std::mem::take(&mut suspect_takeover);
                if inferred {
                    tracing::error!(
                        broker = %eventloop.broker(),
                        "the broker closed hearth's connection without a reason and took it back \
                         at once: another client probably connected with hearth's client id and \
                         took over its session. {TAKEOVER_ADVICE}"
                    );
                }
                link.send_modify(|l| {
                    l.connected = true;
                    l.session += 1;
                    l.connected_since = Some(UnixMillis::now());
                    l.max_packet = max_packet;
                    if inferred {
                        l.takeovers += 1;
                    }
                });
            }
            LinkEvent::Message(m) => {
                // Once the intake has stopped, messages are dropped; polling goes on until
                // `stop` so that `offline` and DISCONNECT still go out.
                let _ = incoming.send(m).await;
            }
            LinkEvent::DisconnectSent | LinkEvent::Other => {}
            LinkEvent::Lost {
                message,
                takeover,
                closed_by_peer,
            } => {
                suspect_takeover = connected && closed_by_peer && !takeover;
                if takeover {
                    tracing::error!(
                        broker = %eventloop.broker(),
                        "another client connected to the broker with hearth's client id and \
                         took over its session. {TAKEOVER_ADVICE}"
                    );
                } else if connected {
                    tracing::warn!(broker = %eventloop.broker(), "lost the local MQTT broker: {message}");
                } else {
                    tracing::debug!(broker = %eventloop.broker(), "cannot reach the local MQTT broker: {message}");
                }
                link.send_modify(|l| {
                    if l.connected {
                        l.disconnects += 1;
                    }
                    if takeover {
                        l.takeovers += 1;
                    }
                    l.connected = false;
                    l.connected_since = None;
                    l.last_error = Some(message);
                });
                connected = false;
                let delay = with_jitter(backoff.next_delay());
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = crate::shutdown::wait(&mut stop) => return,
                }
            }
        }
    }
}

/// Keep polling until our DISCONNECT has gone out (or the connection ends), at most
/// [`DISCONNECT_GRACE`].
async fn drain_until_disconnect(eventloop: &mut EventLoop) {
    let drain = async {
        loop {
            match eventloop.next().await {
                LinkEvent::DisconnectSent | LinkEvent::Lost { .. } => return,
                _ => {}
            }
        }
    };
    if tokio::time::timeout(DISCONNECT_GRACE, drain).await.is_err() {
        tracing::warn!("the broker did not take hearth's DISCONNECT in time");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(4));
        let delays: Vec<_> = (0..6).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 4000, 4000]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(500));
    }

    #[test]
    fn jitter_stays_within_ten_percent_above() {
        for _ in 0..100 {
            let d = with_jitter(Duration::from_secs(10));
            assert!(
                d >= Duration::from_secs(10) && d <= Duration::from_secs(11),
                "{d:?}"
            );
        }
    }
}
