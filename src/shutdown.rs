//! Process signals turned into one shutdown signal and a reload signal.
//!
//! SIGTERM and SIGINT begin a graceful shutdown (stop intake, drive outputs off, flush
//! history, publish `offline`); SIGHUP asks for a policy reload. Tasks watch a
//! `watch::Receiver<bool>` that flips to `true` once; nothing here touches hardware.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

/// The sending half, held by the daemon's supervisor.
#[derive(Debug, Clone)]
pub struct Shutdown {
    tx: watch::Sender<bool>,
}

impl Shutdown {
    pub fn new() -> Self {
        Self {
            tx: watch::channel(false).0,
        }
    }

    /// Begin shutdown. Idempotent.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.tx.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

/// Resolves when shutdown has been triggered (or the sender is gone).
pub(crate) async fn wait(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Install the signal handlers: SIGTERM/SIGINT trigger `shutdown`, SIGHUP sends on `reload`.
pub(crate) fn listen(shutdown: Shutdown, reload: mpsc::Sender<()>) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => { tracing::info!("SIGTERM received, shutting down"); shutdown.trigger(); }
                _ = int.recv() => { tracing::info!("SIGINT received, shutting down"); shutdown.trigger(); }
                _ = hup.recv() => {
                    tracing::info!("SIGHUP received, reloading the policy");
                    // A full queue means a reload is already pending; one is enough.
                    let _ = reload.try_send(());
                }
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_subscriber_sees_the_trigger() {
        let s = Shutdown::new();
        let mut a = s.subscribe();
        let mut b = s.subscribe();
        s.trigger();
        wait(&mut a).await;
        wait(&mut b).await;
        assert!(s.is_triggered());
    }
}
