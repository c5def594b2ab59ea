//! The write-stall deadline: output that waits with none of it written for
//! [`Config::write_stall_timeout`](crate::Config::write_stall_timeout) fails the connection, so
//! that a peer that stops reading cannot hold it, and what it buffered, forever. The core learns
//! what was written from the transmit queue's `advance`; any progress restarts the wait. Runs on
//! the connection's one timer; the timeout stays in the connection's [`Config`](crate::Config)
//! and is passed in, so the timer itself is small.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub(crate) struct WriteStall {
    /// Since when the output has waited without progress, and how much had been written then.
    waiting: Option<Waiting>,
}

#[derive(Debug, Clone, Copy)]
struct Waiting {
    written: u64,
    since: Instant,
}

impl WriteStall {
    pub(crate) fn new() -> Self {
        Self { waiting: None }
    }

    /// Takes the state of the output at `now`: `written` bytes written in all, `pending` whether
    /// some wait. Output that waits and made progress since the last reading (or just arrived)
    /// starts a new wait at `now`.
    pub(crate) fn on_clock(&mut self, timeout: Option<Duration>, now: Instant, written: u64, pending: bool) {
        if timeout.is_none() {
            return;
        }
        self.waiting = match self.waiting {
            _ if !pending => None,
            Some(waiting) if waiting.written == written => Some(waiting),
            _ => Some(Waiting { written, since: now }),
        };
    }

    /// When the output, if it is still waiting, stalls. A deadline that progress has made stale
    /// only costs one call to [`on_timeout`](Self::on_timeout), which moves it.
    pub(crate) fn poll_timeout(&self, timeout: Option<Duration>, pending: bool) -> Option<Instant> {
        let waiting = self.waiting.filter(|_| pending)?;
        waiting.since.checked_add(timeout?)
    }

    /// Whether the output has stalled at `now`; otherwise the wait is brought up to date.
    pub(crate) fn on_timeout(&mut self, timeout: Option<Duration>, now: Instant, written: u64, pending: bool) -> bool {
        let stalled = match (self.waiting, timeout) {
            (Some(waiting), Some(timeout)) if pending && waiting.written == written => {
                waiting.since.checked_add(timeout).is_some_and(|deadline| now >= deadline)
            }
            _ => false,
        };
        if stalled {
            self.waiting = None;
        } else {
            self.on_clock(timeout, now, written, pending);
        }
        stalled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(30);
    const T: Option<Duration> = Some(TIMEOUT);

    #[test]
    fn output_that_makes_no_progress_stalls_at_the_timeout() {
        let t0 = Instant::now();
        let mut stall = WriteStall::new();
        stall.on_clock(T, t0, 0, true);
        assert_eq!(stall.poll_timeout(T, true), Some(t0 + TIMEOUT));
        assert!(!stall.on_timeout(T, t0 + TIMEOUT - Duration::from_millis(1), 0, true));
        assert!(stall.on_timeout(T, t0 + TIMEOUT, 0, true));
    }

    #[test]
    fn progress_restarts_the_wait() {
        let t0 = Instant::now();
        let mut stall = WriteStall::new();
        stall.on_clock(T, t0, 0, true);
        // One byte left at some point: at the (stale) deadline the wait starts again.
        assert!(!stall.on_timeout(T, t0 + TIMEOUT, 1, true));
        assert_eq!(stall.poll_timeout(T, true), Some(t0 + TIMEOUT * 2));
        // Readings without progress keep the start of the wait.
        stall.on_clock(T, t0 + TIMEOUT + Duration::from_secs(1), 1, true);
        assert_eq!(stall.poll_timeout(T, true), Some(t0 + TIMEOUT * 2));
        assert!(stall.on_timeout(T, t0 + TIMEOUT * 2, 1, true));
    }

    #[test]
    fn nothing_waiting_means_no_deadline() {
        let t0 = Instant::now();
        let mut stall = WriteStall::new();
        stall.on_clock(T, t0, 0, false);
        assert_eq!(stall.poll_timeout(T, false), None);
        stall.on_clock(T, t0, 0, true);
        // Everything was written since: the deadline is gone without a clock reading.
        assert_eq!(stall.poll_timeout(T, false), None);
        assert!(!stall.on_timeout(T, t0 + TIMEOUT, 10, false));
        // New output, long after: a new wait from the reading that sees it.
        let t1 = t0 + TIMEOUT * 10;
        stall.on_clock(T, t1, 10, true);
        assert_eq!(stall.poll_timeout(T, true), Some(t1 + TIMEOUT));
    }

    #[test]
    fn off_or_too_large_to_represent_means_no_deadline() {
        let t0 = Instant::now();
        for timeout in [None, Some(Duration::MAX)] {
            let mut stall = WriteStall::new();
            stall.on_clock(timeout, t0, 0, true);
            assert_eq!(stall.poll_timeout(timeout, true), None);
            assert!(!stall.on_timeout(timeout, t0 + TIMEOUT * 1000, 0, true));
        }
    }
}
