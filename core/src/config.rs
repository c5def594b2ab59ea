//! Limits and behaviour switches shared by the handshake and the connection.

use std::time::Duration;

/// Settings of one endpoint. Every limit is on by default and sized so that a server on the open
/// internet is safe without tuning; raise them for trusted peers that send large messages.
///
/// Construct with [`Config::default`] and change the fields you need:
///
/// ```
/// let mut config = laputa_core::Config::default();
/// config.max_message_size = 64 << 20;
/// config.max_frame_size = 64 << 20;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Largest payload of a single frame, in bytes (default 16 MiB). A larger frame is refused at
    /// its header, before any of its payload is buffered, with close code 1009.
    pub max_frame_size: usize,
    /// Largest message, in bytes, after reassembly of its fragments and after decompression
    /// (default 16 MiB). A message that would exceed it fails the connection with 1009; a message
    /// of exactly this size is delivered.
    pub max_message_size: usize,
    /// Most frames one message may be split into (default 4096). Bounds the work a peer can
    /// cause with endless empty continuation frames; over it the connection fails with 1009.
    pub max_fragments: usize,
    /// Largest HTTP upgrade request or response head, in bytes (default 16 KiB). Over it a server
    /// answers 431.
    pub max_handshake_size: usize,
    /// Most header lines in the upgrade request or response (default 64). Over it a server answers
    /// 431.
    pub max_headers: usize,
    /// How long to wait for the peer's part of the close handshake before dropping the TCP
    /// connection (default 5 s).
    pub close_timeout: Duration,
    /// How long the opening handshake may take in all (default 10 s).
    pub handshake_timeout: Duration,
    /// Also hand received pings to the application as [`Event::Ping`](crate::Event::Ping)
    /// (websocket-sharp's `EmitOnPing`). Pings are always answered with a pong by the core.
    pub emit_pings: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_size: 16 << 20,
            max_message_size: 16 << 20,
            max_fragments: 4096,
            max_handshake_size: 16 << 10,
            max_headers: 64,
            close_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(10),
            emit_pings: false,
        }
    }
}
