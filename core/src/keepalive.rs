//! Keepalive: a ping after a quiet interval, and a deadline for the peer to be heard from again
//! (websocket-sharp's `WaitTime` and `IsAlive`). Runs on the connection's one timer.

use crate::config::Keepalive;
use std::time::Instant;

/// What the keepalive timer asks of the connection when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Nothing is due.
    None,
    /// The peer has been quiet for the interval: send a ping.
    Ping,
    /// Nothing arrived within the timeout after our ping: the peer is gone.
    PeerGone,
}

#[derive(Debug, Clone)]
pub(crate) struct KeepaliveTimer {
    settings: Option<Keepalive>,
    /// Input arrived since the timer was last anchored to a clock reading.
    heard: bool,
    awaiting_pong: bool,
    deadline: Option<Instant>,
}

impl KeepaliveTimer {
    pub(crate) fn new(settings: Option<Keepalive>) -> Self {
        Self { settings, heard: true, awaiting_pong: false, deadline: None }
    }

    /// Any input proves the peer alive.
    pub(crate) fn on_input(&mut self) {
        self.heard = true;
    }

    /// Anchors the interval to `now` when input arrived since the last call. The core reads no
    /// clock, so this runs when the driver next hands it the time (`poll_transmit`).
    pub(crate) fn on_transmit(&mut self, now: Instant) {
        if let Some(settings) = self.settings.filter(|_| self.heard) {
            self.heard = false;
            self.awaiting_pong = false;
            // An interval too large to represent means no ping.
            self.deadline = now.checked_add(settings.interval);
        }
    }

    /// Whether `on_transmit` would re-anchor the interval.
    pub(crate) fn wants_clock(&self) -> bool {
        self.heard && self.settings.is_some()
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    pub(crate) fn on_timeout(&mut self, now: Instant) -> Action {
        let Some(settings) = self.settings else { return Action::None };
        if self.heard {
            // Input arrived since the clock was last given: the peer is alive, whatever the
            // deadline says (a driver may hand over a timeout before its next transmit).
            self.on_transmit(now);
            return Action::None;
        }
        match self.deadline {
            Some(deadline) if now >= deadline && self.awaiting_pong => {
                self.deadline = None;
                Action::PeerGone
            }
            Some(deadline) if now >= deadline => {
                self.awaiting_pong = true;
                self.deadline = now.checked_add(settings.timeout);
                Action::Ping
            }
            _ => Action::None,
        }
    }

    /// Stops the timer once the connection is closing.
    pub(crate) fn stop(&mut self) {
        self.settings = None;
        self.deadline = None;
    }
}
