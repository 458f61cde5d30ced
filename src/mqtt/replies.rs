//! The reply queue: replies to commands and requests wait here for the publisher, bounded
//! in count and in bytes (counted as memory). When it is full the oldest replies make room
//! and are dropped, counted in `status`: a flood costs the flooder its old answers, never
//! the daemon its memory or a later client its answer.

use super::publish::Publisher;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Notify;

/// Replies waiting to be published; when full, the oldest are dropped (logged and counted
/// in `status`). The bound that matters is [`REPLY_QUEUE_BYTES`].
pub const REPLY_QUEUE: usize = 65_536;
/// Bytes of replies waiting (topics and payloads; history answers can be large): past this,
/// the oldest are dropped and counted like a full queue. Part of the daemon's memory bound
/// under a flood (BENCHMARKS.md). The replies to tests/event_flood.rs's 50 000 commands fit,
/// so the reply to a command sent right behind them is not lost. With 2 MiB, or with 64
/// bytes of overhead counted per reply, it was lost in some runs, and the flood's peak RSS
/// was still 18 MiB.
pub const REPLY_QUEUE_BYTES: usize = 8 * 1024 * 1024;

/// A reply on its way: topic and payload.
pub type Reply = (String, Vec<u8>);

/// The sending side of the reply queue, bounded in count and in bytes. Cheap to clone.
pub struct Replies {
    shared: Arc<Shared>,
}

/// The receiving side of the reply queue.
pub struct ReplyReceiver {
    shared: Arc<Shared>,
}

struct Shared {
    waiting: std::sync::Mutex<Waiting>,
    /// Replies at most (besides [`REPLY_QUEUE_BYTES`]).
    count: usize,
    /// Wakes the receiver: a reply queued, or the last sender gone.
    notify: Notify,
    senders: AtomicUsize,
}

#[derive(Default)]
struct Waiting {
    replies: VecDeque<Reply>,
    bytes: usize,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clone for Replies {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Replies {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.notify.notify_one();
        }
    }
}

impl ReplyReceiver {
    /// The oldest waiting reply; `None` once every sender is gone and nothing waits.
    pub async fn recv(&mut self) -> Option<Reply> {
        loop {
            {
                let mut w = self.shared.lock();
                if let Some(reply) = w.replies.pop_front() {
                    w.bytes -= reply_bytes(&reply);
                    return Some(reply);
                }
                if self.shared.senders.load(Ordering::Acquire) == 0 {
                    return None;
                }
            }
            // A notify_one with nobody waiting leaves a permit: no wake-up is lost.
            self.shared.notify.notified().await;
        }
    }
}

/// A reply queue of at most `count` replies and [`REPLY_QUEUE_BYTES`] bytes.
pub fn reply_queue(count: usize) -> (Replies, ReplyReceiver) {
    let shared = Arc::new(Shared {
        waiting: std::sync::Mutex::new(Waiting::default()),
        count: count.max(1),
        notify: Notify::new(),
        senders: AtomicUsize::new(1),
    });
    (
        Replies {
            shared: shared.clone(),
        },
        ReplyReceiver { shared },
    )
}

fn reply_bytes((topic, payload): &Reply) -> usize {
    topic.len() + payload.len()
}

/// Publish replies in the order they were queued.
pub async fn run_replies(publisher: Publisher, mut queue: ReplyReceiver) {
    while let Some((topic, payload)) = queue.recv().await {
        if !publisher.publish(&topic, payload, false).await {
            REPLIES_DROPPED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(topic, "reply dropped: the broker is not connected");
        }
    }
}

/// Queue a reply without waiting. When the queue is full (in count or bytes) the OLDEST
/// replies make room and are dropped (counted, logged ever more rarely): under a flood the
/// newest answer is the one a client still waits for, and the command intake never stalls.
pub fn queue_reply(queue: &Replies, topic: impl Into<String>, payload: Vec<u8>) {
    let reply = (topic.into(), payload);
    let mut dropped = Vec::new();
    {
        let mut w = queue.shared.lock();
        w.bytes += reply_bytes(&reply);
        w.replies.push_back(reply);
        while w.bytes > REPLY_QUEUE_BYTES || w.replies.len() > queue.shared.count {
            let Some(old) = w.replies.pop_front() else {
                break;
            };
            w.bytes -= reply_bytes(&old);
            dropped.push(old.0);
        }
    }
    queue.shared.notify.notify_one();
    for topic in dropped {
        let before = REPLIES_DROPPED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The first drop and then ever more rarely: a flood must not flood the log too.
        if before == 0 || (before + 1).is_power_of_two() {
            tracing::warn!(topic = %topic, dropped = before + 1, "reply dropped: too many replies waiting");
        }
    }
}

/// Replies dropped because the reply queue was full: the documented loss under a flood,
/// reported in `status` so a client can account for every command it sent.
static REPLIES_DROPPED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn replies_dropped() -> u64 {
    REPLIES_DROPPED.load(std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(rx: &mut ReplyReceiver) -> Vec<String> {
        let mut w = rx.shared.lock();
        let out = w.replies.iter().map(|r| r.0.clone()).collect();
        w.replies.clear();
        w.bytes = 0;
        out
    }

    #[test]
    fn a_full_queue_drops_the_oldest_replies_and_keeps_the_newest() {
        let (tx, mut rx) = reply_queue(3);
        let before = replies_dropped();
        for i in 0..5 {
            queue_reply(&tx, format!("r{i}"), vec![0; 10]);
        }
        assert_eq!(topics(&mut rx), ["r2", "r3", "r4"]);
        assert!(replies_dropped() >= before + 2, "counted in status");
    }

    #[test]
    fn the_byte_bound_counts_topics_and_payloads() {
        let (tx, mut rx) = reply_queue(REPLY_QUEUE);
        let big = REPLY_QUEUE_BYTES / 4;
        for i in 0..5 {
            queue_reply(&tx, format!("r{i}"), vec![0; big]);
        }
        // Four would be just over the bound once the topics are counted: three stay.
        assert_eq!(topics(&mut rx), ["r2", "r3", "r4"]);
        // A reply larger than the whole bound is dropped itself.
        queue_reply(&tx, "huge", vec![0; REPLY_QUEUE_BYTES + 1]);
        assert!(topics(&mut rx).is_empty());
    }

    #[tokio::test]
    async fn replies_come_out_in_order_and_the_queue_ends_with_its_last_sender() {
        let (tx, mut rx) = reply_queue(16);
        let other = tx.clone();
        queue_reply(&tx, "a", b"1".to_vec());
        queue_reply(&other, "b", b"2".to_vec());
        drop(tx);
        assert_eq!(rx.recv().await.unwrap().0, "a");
        drop(other);
        assert_eq!(rx.recv().await.unwrap().0, "b");
        assert!(rx.recv().await.is_none());
        assert_eq!(rx.shared.lock().bytes, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_receiver_wakes_for_a_new_reply() {
        let (tx, mut rx) = reply_queue(16);
        let waiter = tokio::spawn(async move { rx.recv().await });
        tokio::task::yield_now().await;
        queue_reply(&tx, "late", b"x".to_vec());
        assert_eq!(waiter.await.unwrap().unwrap().0, "late");
    }
}
