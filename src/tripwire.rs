//! The tripwire the essential tasks hold: each carries a guard that trips it when the task
//! ends for any reason (returned, failed, panicked or aborted: the guard is dropped in every
//! case), naming the task. The supervisor waits on it instead of polling, so an idle house
//! wakes nobody, and a dead task is acted on at once.

use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Shared by the supervisor and every essential task. Cheap to clone.
#[derive(Clone, Default)]
pub struct Tripwire {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The first task that ended.
    ended: Mutex<Option<&'static str>>,
    notify: Notify,
}

/// Held by one essential task; dropping it trips the wire with the task's name.
pub struct Guard {
    name: &'static str,
    inner: Arc<Inner>,
}

impl Tripwire {
    pub fn guard(&self, name: &'static str) -> Guard {
        Guard {
            name,
            inner: self.inner.clone(),
        }
    }

    /// `fut` holding a guard named `name`: the wire trips when it ends or is dropped, and
    /// before anything `fut` owns is dropped, so a task that others depend on is named
    /// before they notice it is gone and end too.
    pub fn arm<F: Future>(&self, name: &'static str, fut: F) -> Armed<F> {
        Armed {
            guard: self.guard(name),
            fut: Box::pin(fut),
        }
    }

    /// The name of the first task that ended, if one has.
    pub fn ended(&self) -> Option<&'static str> {
        *self.inner.ended.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The name of the first task that ended, once one has.
    pub async fn tripped(&self) -> &'static str {
        loop {
            // Registered before the check, so a trip between the two is not missed.
            let notified = self.inner.notify.notified();
            if let Some(name) = self.ended() {
                return name;
            }
            notified.await;
        }
    }
}

/// A future holding a guard: see [`Tripwire::arm`].
pub struct Armed<F> {
    // Fields drop in this order: the guard first.
    guard: Guard,
    fut: std::pin::Pin<Box<F>>,
}

impl<F: Future> Future for Armed<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let out = self.fut.as_mut().poll(cx);
        if out.is_ready() {
            // Ended: trip now, not only when the task's output is dropped.
            self.guard.trip();
        }
        out
    }
}

impl Guard {
    fn trip(&self) {
        self.inner
            .ended
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(self.name);
        self.inner.notify.notify_waiters();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.trip();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_returned_task_trips_the_wire_with_its_name() {
        let wire = Tripwire::default();
        tokio::spawn(wire.arm("quick", async {})).await.unwrap();
        assert_eq!(wire.tripped().await, "quick");
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicked_or_aborted_task_trips_it_too_and_the_first_name_stays() {
        let wire = Tripwire::default();
        let waiting = tokio::spawn({
            let wire = wire.clone();
            async move { wire.tripped().await }
        });
        let sleeper = tokio::spawn(wire.arm("aborted", std::future::pending::<()>()));
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "nothing ended yet");
        let panicked = tokio::spawn(wire.arm("panicked", async { panic!("drill") }));
        assert!(panicked.await.is_err());
        sleeper.abort();
        let _ = sleeper.await;
        assert_eq!(waiting.await.unwrap(), "panicked");
    }

    #[tokio::test(start_paused = true)]
    async fn the_task_that_died_is_named_before_what_it_owned_is_dropped() {
        // What a task owns (a channel's sender, say) may end other tasks as it is dropped;
        // by then the wire must already name the task that died, not the ones it took along.
        struct Owned {
            wire: Tripwire,
            seen: Arc<Mutex<Option<Option<&'static str>>>>,
        }
        impl Drop for Owned {
            fn drop(&mut self) {
                let named = *self.wire.inner.ended.lock().unwrap();
                *self.seen.lock().unwrap() = Some(named);
            }
        }
        let wire = Tripwire::default();
        let seen = Arc::new(Mutex::new(None));
        let owned = Owned {
            wire: wire.clone(),
            seen: seen.clone(),
        };
        let task = tokio::spawn(wire.arm("owner", async move {
            let _owned = owned;
            std::future::pending::<()>().await
        }));
        tokio::task::yield_now().await;
        task.abort();
        let _ = task.await;
        assert_eq!(*seen.lock().unwrap(), Some(Some("owner")));
    }

    #[tokio::test(start_paused = true)]
    async fn a_thread_holding_a_guard_trips_it_when_it_ends() {
        let wire = Tripwire::default();
        let guard = wire.guard("thread");
        std::thread::spawn(move || drop(guard)).join().unwrap();
        assert_eq!(wire.tripped().await, "thread");
    }
}
