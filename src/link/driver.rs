//! The one task that drives an MQTT link, local or cloud: polls rumqttc's event loop,
//! throws away whatever rumqttc still holds before every connection attempt, waits the
//! jittered backoff after a failure, keeps the [`LinkState`], notices client-id takeovers,
//! and on stop sends DISCONNECT. What a session does on connect and with each inbound
//! message is its owner's [`Session`].
//!
//! This task only moves packets and reports the link state. It never decides what a
//! message means and never publishes by itself.

use super::LinkState;
use super::backoff::Backoff;
use super::client::{Client, EventLoop, LinkEvent, Message};
use hearth_model::UnixMillis;
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;

/// How long a clean stop waits for DISCONNECT to be written.
const DISCONNECT_GRACE: Duration = Duration::from_secs(1);

/// What differs between links once connected.
pub trait Session: Send {
    /// A new session is up (the link state already says so): subscribe here.
    fn connected(&mut self, client: &Client);
    /// A message the broker delivered. Waiting here holds up the link (backpressure).
    fn message(&mut self, message: Message) -> impl Future<Output = ()> + Send;
}

/// Who is at the other end, for the logs.
#[derive(Debug, Clone)]
pub struct Peer {
    /// E.g. "the local MQTT broker", "cloud alexa".
    pub name: String,
    /// What the admin should do when another client takes hearth's client id.
    pub takeover_advice: &'static str,
}

/// One link, ready to run.
pub struct Link<S> {
    pub client: Client,
    pub eventloop: EventLoop,
    pub backoff: Backoff,
    pub peer: Peer,
    pub session: S,
}

/// Poll the link until `stop`, publishing its state on `state`. A live connection is sent
/// DISCONNECT on stop (after anything its owner queued before setting `stop`).
pub async fn run<S: Session>(
    link: Link<S>,
    state: watch::Sender<LinkState>,
    mut stop: watch::Receiver<bool>,
) {
    let Link {
        client,
        mut eventloop,
        mut backoff,
        peer,
        mut session,
    } = link;
    let broker = eventloop.broker();
    let mut connected = false;
    // The last connection was closed by the broker without a reason, and no attempt has
    // failed since: if the next one succeeds at once, another client likely took the id.
    let mut suspect_takeover = false;
    // The next poll is a connection attempt: at the start and after every failure. Not
    // simply "while not connected": rumqttc may hand back events buffered from the lost
    // connection after a new CONNACK has already been read, and discarding then would drop
    // the new connection too.
    let mut attempt_next = true;
    loop {
        if std::mem::take(&mut attempt_next) {
            // Nothing made while the link was down may leave after it comes back.
            let dropped = eventloop.discard_pending();
            if dropped > 0 {
                tracing::debug!(peer = %peer.name, dropped, "discarded requests made while disconnected");
            }
        }
        let event = tokio::select! {
            biased;
            _ = crate::shutdown::wait(&mut stop) => {
                if connected {
                    say_goodbye(&client, &mut eventloop).await;
                }
                break;
            }
            event = eventloop.next() => event,
        };
        match event {
            LinkEvent::Connected { max_packet } => {
                connected = true;
                backoff.reset();
                tracing::info!(%broker, "connected to {}", peer.name);
                let inferred = std::mem::take(&mut suspect_takeover);
                if inferred {
                    tracing::error!(
                        %broker,
                        "{} closed hearth's connection without a reason and took it back at \
                         once: another client probably connected with hearth's client id and \
                         took over its session. {}",
                        peer.name,
                        peer.takeover_advice
                    );
                }
                state.send_modify(|l| {
                    l.connected = true;
                    l.session += 1;
                    l.connected_since = Some(UnixMillis::now());
                    l.max_packet = max_packet;
                    if inferred {
                        l.takeovers += 1;
                    }
                });
                session.connected(&client);
            }
            LinkEvent::Message(m) => session.message(m).await,
            LinkEvent::DisconnectSent | LinkEvent::Other => {}
            LinkEvent::Lost {
                message,
                takeover,
                closed_by_peer,
            } => {
                suspect_takeover = connected && closed_by_peer && !takeover;
                if takeover {
                    tracing::error!(
                        %broker,
                        "another client connected to {} with hearth's client id and took over \
                         its session. {}",
                        peer.name,
                        peer.takeover_advice
                    );
                } else if connected {
                    tracing::warn!(%broker, "lost {}: {message}", peer.name);
                } else {
                    tracing::debug!(%broker, "cannot reach {}: {message}", peer.name);
                }
                state.send_modify(|l| {
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
                attempt_next = true;
                tokio::select! {
                    _ = tokio::time::sleep(backoff.next_delay()) => {}
                    _ = crate::shutdown::wait(&mut stop) => break,
                }
            }
        }
    }
    state.send_modify(|l| {
        l.connected = false;
        l.connected_since = None;
    });
}

/// Queue DISCONNECT and keep polling until it has gone out (or the connection ends), at
/// most [`DISCONNECT_GRACE`].
async fn say_goodbye(client: &Client, eventloop: &mut EventLoop) {
    let drain = async {
        loop {
            match eventloop.next().await {
                LinkEvent::DisconnectSent | LinkEvent::Lost { .. } => return,
                _ => {}
            }
        }
    };
    let goodbye = async {
        if let Err(e) = client.disconnect().await {
            tracing::debug!("DISCONNECT not queued: {e}");
        }
    };
    let both = async { tokio::join!(goodbye, drain) };
    if tokio::time::timeout(DISCONNECT_GRACE, both).await.is_err() {
        tracing::warn!("the broker did not take hearth's DISCONNECT in time");
    }
}

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;
