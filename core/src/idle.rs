//! The idle timeout: close a connection on which no data frame has arrived for a while
//! (uWebSockets' `idleTimeout`). Pings and pongs do not count, so a peer that only answers our
//! keepalive pings is still idle. Runs on the connection's one timer; the settings stay in the
//! connection's [`Config`](crate::Config) and are passed in (`None` once the connection is
//! closing), so the timer itself is small.

use crate::config::IdleTimeout;
use std::time::Instant;

#[derive(Debug, Clone)]
pub(crate) struct IdleTimer {
    /// A data frame arrived since the timer was last anchored to a clock reading (and, at the
    /// start, the first clock reading is still to come).
    heard: bool,
    deadline: Option<Instant>,
}

impl IdleTimer {
    pub(crate) fn new() -> Self {
        Self { heard: true, deadline: None }
    }

    /// A data frame arrived.
    pub(crate) fn on_data(&mut self) {
        self.heard = true;
    }

    /// Restarts the wait at `now` when a data frame arrived since the last clock reading.
    pub(crate) fn on_clock(&mut self, now: Instant, settings: Option<IdleTimeout>) {
        match settings {
            Some(settings) if self.heard => {
                self.heard = false;
                // A timeout too large to represent means none.
                self.deadline = now.checked_add(settings.after);
            }
            Some(_) => {}
            None => self.deadline = None,
        }
    }

    /// Whether [`on_clock`](Self::on_clock) would restart the wait.
    pub(crate) fn wants_clock(&self, settings: Option<IdleTimeout>) -> bool {
        self.heard && settings.is_some()
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// The close code to close with when the timeout passed at `now`.
    pub(crate) fn on_timeout(&mut self, now: Instant, settings: Option<IdleTimeout>) -> Option<crate::CloseCode> {
        let expired = !self.heard && self.deadline.is_some_and(|deadline| now >= deadline);
        if !expired {
            self.on_clock(now, settings);
            return None;
        }
        self.deadline = None;
        settings.map(|settings| settings.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CloseCode;
    use std::time::Duration;

    #[test]
    fn closes_after_the_timeout_without_data_and_data_restarts_it() {
        let settings = IdleTimeout::new(Duration::from_secs(60));
        let on = Some(settings);
        let t0 = Instant::now();
        let mut idle = IdleTimer::new();
        assert!(idle.wants_clock(on));
        idle.on_clock(t0, on);
        assert_eq!(idle.poll_timeout(), Some(t0 + settings.after));
        // Data at 59 s: the deadline passes, but the data counts.
        idle.on_data();
        assert_eq!(idle.on_timeout(t0 + settings.after, on), None);
        assert_eq!(idle.poll_timeout(), Some(t0 + settings.after * 2));
        assert_eq!(idle.on_timeout(t0 + settings.after * 2, on), Some(CloseCode::GOING_AWAY));
        assert_eq!(idle.poll_timeout(), None, "it fires once");
    }

    #[test]
    fn off_means_no_deadline() {
        let t0 = Instant::now();
        let mut idle = IdleTimer::new();
        assert!(!idle.wants_clock(None));
        idle.on_clock(t0, None);
        assert_eq!(idle.poll_timeout(), None);
        assert_eq!(idle.on_timeout(t0 + Duration::from_secs(3600), None), None);
        let never = IdleTimeout::new(Duration::MAX);
        idle.on_clock(t0, Some(never));
        assert_eq!(idle.poll_timeout(), None, "too large to represent");
    }
}
