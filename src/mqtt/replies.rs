//! The reply queue: replies to commands and requests wait here for the publisher, bounded
//! in count and in bytes of memory. Replies are kept apart by where the question came from
//! (thermostat commands, lock commands, requests, simulator control): when the queue is full,
//! the oldest reply of the source holding the most bytes makes room, counted in `status`.
//! A flood costs the flooder its old answers, never the daemon its memory, and never a
//! client of another source its answer (the lock command sent behind 50 000 thermostat
//! commands is answered).

use super::publish::Publisher;
use hearth_api::CommandTarget;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Notify;

/// Replies waiting to be published at most, all sources together.
pub const REPLY_QUEUE: usize = 65_536;
/// Bytes of memory the waiting replies may hold (topics and payloads as allocated, plus
/// [`PER_REPLY`]): past this, replies are dropped as above. Part of the daemon's memory
/// bound under a flood (BENCHMARKS.md): 512 KiB is ~4 000 short replies (a command's `ok`,
/// with its slot), or 8 full history pages of 500 rollup buckets, waiting for a broker that
/// is slower than hearth.
pub const REPLY_QUEUE_BYTES: usize = 512 * 1024;
/// Memory a waiting reply costs besides its topic and payload: its slot in the queue and
/// the allocator's headers of its two buffers.
const PER_REPLY: usize = 64;

/// Where the question came from: each source's replies wait in their own line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplySource {
    Thermostat,
    Lock,
    /// `<base>/request/...`, known or not.
    Request,
    /// The simulator's control topic.
    Sim,
}

impl From<CommandTarget> for ReplySource {
    fn from(target: CommandTarget) -> Self {
        match target {
            CommandTarget::Thermostat => ReplySource::Thermostat,
            CommandTarget::Lock => ReplySource::Lock,
        }
    }
}

const SOURCES: usize = 4;

impl ReplySource {
    fn index(self) -> usize {
        self as usize
    }
}

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

/// One source's waiting replies, each with its place in the order of arrival.
#[derive(Default)]
struct Line {
    replies: VecDeque<(u64, Reply)>,
    bytes: usize,
}

#[derive(Default)]
struct Waiting {
    lines: [Line; SOURCES],
    /// All lines together.
    bytes: usize,
    count: usize,
    next: u64,
}

impl Waiting {
    /// The oldest reply of any source.
    fn pop_oldest(&mut self) -> Option<Reply> {
        let line = (0..SOURCES)
            .filter_map(|i| self.lines[i].replies.front().map(|(seq, _)| (*seq, i)))
            .min()?
            .1;
        self.pop_front(line)
    }

    /// The oldest reply of the source holding the most bytes.
    fn pop_from_largest(&mut self) -> Option<Reply> {
        let line = (0..SOURCES)
            .filter(|i| !self.lines[*i].replies.is_empty())
            .max_by_key(|i| self.lines[*i].bytes)?;
        self.pop_front(line)
    }

    fn pop_front(&mut self, line: usize) -> Option<Reply> {
        let (_, reply) = self.lines[line].replies.pop_front()?;
        let bytes = reply_bytes(&reply);
        self.lines[line].bytes -= bytes;
        self.bytes -= bytes;
        self.count -= 1;
        Some(reply)
    }

    fn push(&mut self, source: ReplySource, reply: Reply) {
        let bytes = reply_bytes(&reply);
        let line = &mut self.lines[source.index()];
        line.replies.push_back((self.next, reply));
        line.bytes += bytes;
        self.next += 1;
        self.bytes += bytes;
        self.count += 1;
    }
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
                if let Some(reply) = w.pop_oldest() {
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

/// The memory a waiting reply holds: its buffers as allocated, not just as long as their
/// contents (serde_json grows a payload by doubling, so a 148-byte reply sat in 256 bytes).
fn reply_bytes((topic, payload): &Reply) -> usize {
    topic.capacity() + payload.capacity() + PER_REPLY
}

/// The largest payload a reply on `topic` may have to wait in the queue at all (alone).
pub fn room(topic: &str) -> usize {
    REPLY_QUEUE_BYTES.saturating_sub(topic.len() + PER_REPLY)
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

/// Queue a reply to a question from `source` without waiting. When the queue is full (in
/// count or bytes) the oldest replies of the source holding the most make room and are
/// dropped (counted, logged ever more rarely): under a flood the newest answer is the one a
/// client still waits for, a quiet source keeps its answers, and the intake never stalls.
pub fn queue_reply(
    queue: &Replies,
    source: ReplySource,
    topic: impl Into<String>,
    mut payload: Vec<u8>,
) {
    let mut topic = topic.into();
    topic.shrink_to_fit();
    payload.shrink_to_fit();
    let mut dropped = Vec::new();
    {
        let mut w = queue.shared.lock();
        w.push(source, (topic, payload));
        while w.bytes > REPLY_QUEUE_BYTES || w.count > queue.shared.count {
            let Some(old) = w.pop_from_largest() else {
                break;
            };
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
    use ReplySource::{Lock, Request, Thermostat};

    /// Take every waiting reply, oldest first.
    fn drain(rx: &mut ReplyReceiver) -> Vec<String> {
        let mut w = rx.shared.lock();
        let out = std::iter::from_fn(|| w.pop_oldest()).map(|r| r.0).collect();
        assert_eq!((w.bytes, w.count), (0, 0), "the totals follow the lines");
        out
    }

    #[test]
    fn a_full_queue_drops_the_oldest_replies_and_keeps_the_newest() {
        let (tx, mut rx) = reply_queue(3);
        let before = replies_dropped();
        for i in 0..5 {
            queue_reply(&tx, Thermostat, format!("r{i}"), vec![0; 10]);
        }
        assert_eq!(drain(&mut rx), ["r2", "r3", "r4"]);
        assert!(replies_dropped() >= before + 2, "counted in status");
    }

    #[test]
    fn a_flood_from_one_source_does_not_drop_another_sources_reply() {
        let (tx, mut rx) = reply_queue(4);
        queue_reply(&tx, Thermostat, "t0", vec![0; 10]);
        queue_reply(&tx, Lock, "lock", vec![0; 10]);
        for i in 1..10 {
            queue_reply(&tx, Thermostat, format!("t{i}"), vec![0; 10]);
        }
        // The lock's reply is the second oldest, yet the thermostat flood pays for itself.
        assert_eq!(drain(&mut rx), ["lock", "t7", "t8", "t9"]);
    }

    #[test]
    fn the_byte_bound_counts_the_memory_replies_hold() {
        let (tx, mut rx) = reply_queue(REPLY_QUEUE);
        let big = REPLY_QUEUE_BYTES / 4;
        for i in 0..5 {
            queue_reply(&tx, Request, format!("r{i}"), vec![0; big]);
        }
        // Four would be just over the bound once topics and overheads are counted.
        assert_eq!(drain(&mut rx), ["r2", "r3", "r4"]);
        // A payload's spare capacity is given back, not counted as if it were used.
        let mut roomy = Vec::with_capacity(4096);
        roomy.extend_from_slice(b"{}");
        queue_reply(&tx, Request, "small", roomy);
        assert_eq!(rx.shared.lock().bytes, "small".len() + 2 + PER_REPLY);
        drain(&mut rx);
        // A reply larger than the whole bound is dropped itself.
        queue_reply(&tx, Request, "huge", vec![0; REPLY_QUEUE_BYTES + 1]);
        assert!(drain(&mut rx).is_empty());
    }

    #[tokio::test]
    async fn replies_come_out_in_order_across_sources_and_the_queue_ends_with_its_last_sender() {
        let (tx, mut rx) = reply_queue(16);
        let other = tx.clone();
        queue_reply(&tx, Lock, "a", b"1".to_vec());
        queue_reply(&other, Request, "b", b"2".to_vec());
        queue_reply(&other, Lock, "c", b"3".to_vec());
        drop(tx);
        assert_eq!(rx.recv().await.unwrap().0, "a");
        drop(other);
        assert_eq!(rx.recv().await.unwrap().0, "b");
        assert_eq!(rx.recv().await.unwrap().0, "c");
        assert!(rx.recv().await.is_none());
        assert_eq!(rx.shared.lock().bytes, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_receiver_wakes_for_a_new_reply() {
        let (tx, mut rx) = reply_queue(16);
        let waiter = tokio::spawn(async move { rx.recv().await });
        tokio::task::yield_now().await;
        queue_reply(&tx, Thermostat, "late", b"x".to_vec());
        assert_eq!(waiter.await.unwrap().unwrap().0, "late");
    }
}
