//! A service's counters: lock-free, updated by every session, read as a [`Stats`] snapshot.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of a service's counters ([`Sessions::stats`](super::Sessions::stats)).
///
/// ```
/// use laputa::server::Stats;
///
/// let stats = Stats::default();
/// assert_eq!(stats.sessions, 0);
/// println!("{} messages in, {} dropped for slow readers", stats.messages_in, stats.dropped);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Sessions open now.
    pub sessions: u64,
    /// Sessions opened since the service was added.
    pub opened: u64,
    /// Messages received from clients.
    pub messages_in: u64,
    /// Payload bytes received from clients.
    pub bytes_in: u64,
    /// Messages handed to the core for sending (a broadcast counts once per session).
    pub messages_out: u64,
    /// Payload bytes handed to the core for sending.
    pub bytes_out: u64,
    /// Messages not queued because a session's outbound queue was full.
    pub dropped: u64,
    /// Sessions closed because their outbound queue was full ([`SlowConsumer::Close`](super::SlowConsumer::Close)).
    pub closed_slow: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    sessions: AtomicU64,
    opened: AtomicU64,
    messages_in: AtomicU64,
    bytes_in: AtomicU64,
    messages_out: AtomicU64,
    bytes_out: AtomicU64,
    dropped: AtomicU64,
    closed_slow: AtomicU64,
}

impl Counters {
    pub(crate) fn opened(&self) {
        self.sessions.fetch_add(1, Relaxed);
        self.opened.fetch_add(1, Relaxed);
    }

    pub(crate) fn ended(&self) {
        self.sessions.fetch_sub(1, Relaxed);
    }

    pub(crate) fn received(&self, bytes: usize) {
        self.messages_in.fetch_add(1, Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Relaxed);
    }

    pub(crate) fn sent(&self, bytes: usize) {
        self.messages_out.fetch_add(1, Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Relaxed);
    }

    pub(crate) fn add_dropped(&self) {
        self.dropped.fetch_add(1, Relaxed);
    }

    pub(crate) fn add_closed_slow(&self) {
        self.closed_slow.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            sessions: self.sessions.load(Relaxed),
            opened: self.opened.load(Relaxed),
            messages_in: self.messages_in.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            messages_out: self.messages_out.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            closed_slow: self.closed_slow.load(Relaxed),
        }
    }
}
