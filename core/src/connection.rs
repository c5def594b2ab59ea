//! STUB: replaced by the real connection.
use crate::{Config, Rng};

/// Which end of the connection this endpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The endpoint that opened the connection; masks its frames.
    Client,
    /// The endpoint that accepted it.
    Server,
}

/// A WebSocket connection after the handshake.
#[derive(Debug)]
pub struct Connection {}

impl Connection {
    /// A connection on a stream that is already upgraded.
    pub fn new(role: Role, config: Config) -> Self {
        let _ = (role, config);
        Self {}
    }
    /// Same with a given random source (clients mask with it).
    pub fn with_rng(role: Role, config: Config, rng: Rng) -> Self {
        let _ = (role, config, rng);
        Self {}
    }
    /// Queues raw bytes (the handshake's 101 response) ahead of every frame.
    pub(crate) fn queue_raw(&mut self, bytes: &[u8]) {
        let _ = bytes;
    }
    /// Feeds bytes received from the peer.
    pub fn handle_input(&mut self, data: &[u8]) {
        let _ = data;
    }
}
