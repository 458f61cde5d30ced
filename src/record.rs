//! The daemon's link to history: the writer task and what the house task records.
//!
//! Turns controller results into history records (samples, commands with their verdict,
//! lock changes, faults). Recording never blocks and never fails the caller: history is
//! not on the control path.

use hearth_control::{ControlEvent, Refusal};
use hearth_history::{Event, EventKind, HistoryConfig, HistoryError, HistoryHandle, WriterStats};
use hearth_model::{Command, HouseState, UnixMillis};
use tokio::task::JoinHandle;

/// The running history writer.
pub struct HistoryTask {
    handle: HistoryHandle,
    /// Awaits the writer, holding the daemon's tripwire guard.
    join: JoinHandle<Result<WriterStats, tokio::task::JoinError>>,
    /// The writer task itself, for drills.
    writer: tokio::task::AbortHandle,
}

impl HistoryTask {
    /// Start the writer; `tripwire` trips when it ends.
    pub fn spawn(
        cfg: &HistoryConfig,
        tripwire: &crate::tripwire::Tripwire,
    ) -> Result<Self, HistoryError> {
        let (handle, writer) = hearth_history::spawn_writer(cfg.clone())?;
        let abort = writer.abort_handle();
        let join = tokio::spawn(tripwire.arm(crate::daemon::ESSENTIAL_TASKS[2], writer));
        Ok(Self {
            handle,
            join,
            writer: abort,
        })
    }

    pub fn recorder(&self) -> HouseRecorder {
        HouseRecorder {
            history: self.handle.clone(),
        }
    }

    pub fn handle(&self) -> HistoryHandle {
        self.handle.clone()
    }

    /// Abort the writer, as if it had died (supervision drills).
    #[doc(hidden)]
    pub fn abort_for_drill(&self) {
        self.writer.abort();
    }

    /// Flush what is buffered and wait for the writer to end.
    pub async fn finish(self) -> Option<WriterStats> {
        self.handle.shutdown();
        match self.join.await {
            Ok(Ok(stats)) => {
                tracing::info!(?stats, "history flushed");
                Some(stats)
            }
            Ok(Err(e)) | Err(e) => {
                tracing::error!("the history writer failed: {e}");
                None
            }
        }
    }
}

/// What the house task records through: control results turned into history events (not
/// to be confused with `hearth_history`'s writer-side filter). Cheap to clone; never blocks.
#[derive(Clone)]
pub struct HouseRecorder {
    history: HistoryHandle,
}

impl HouseRecorder {
    /// Whether a command's events can be queued now (see `HistoryHandle::has_event_room`).
    pub fn has_event_room(&self) -> bool {
        self.history.has_event_room()
    }

    pub fn state(&self, state: &HouseState, at: UnixMillis) {
        self.history.record_state(state, at);
    }

    pub fn command(&self, command: &Command, result: &Result<(), Refusal>, at: UnixMillis) {
        // Refusal's Display: "<message> (<code>)".
        let refusal = result.as_ref().err().map(Refusal::to_string);
        let verdict = match &refusal {
            None => Ok(()),
            Some(reason) => Err(reason.as_str()),
        };
        self.history
            .record_event(Event::command(at, command, verdict));
    }

    pub fn control_event(&self, event: &ControlEvent, at: UnixMillis) {
        let record = match event {
            ControlEvent::FaultRaised { fault, detail } => Event::fault(at, *fault, true, detail),
            ControlEvent::FaultCleared { fault } => Event::fault(at, *fault, false, ""),
            ControlEvent::LockChanged { from, to, source } => {
                Event::lock_change(at, *from, *to, source.clone())
            }
            ControlEvent::FreezeProtection {
                engaged,
                temperature,
            } => Event {
                at,
                kind: EventKind::System,
                source: Some(hearth_model::Source::System),
                detail: match (engaged, temperature) {
                    (true, Some(t)) => format!("freeze protection engaged at {t:.1} °C"),
                    (true, None) => "freeze protection engaged".into(),
                    (false, Some(t)) => format!("freeze protection released at {t:.1} °C"),
                    (false, None) => "freeze protection released: no valid reading".into(),
                },
            },
            ControlEvent::LockAborted {
                action,
                source,
                reason,
            } => Event {
                at,
                kind: EventKind::System,
                source: Some(source.clone()),
                detail: format!(
                    "{} run stopped: {}",
                    action.as_str(),
                    serde_json::to_string(reason)
                        .unwrap_or_default()
                        .trim_matches('"')
                ),
            },
        };
        self.history.record_event(record);
    }
}
