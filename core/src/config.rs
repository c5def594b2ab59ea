//! Limits and behaviour switches shared by the handshake and the connection.

use crate::close::CloseCode;
use crate::deflate::DeflateConfig;
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
    /// Ping the peer after a quiet interval and fail the connection (close code 1011) when
    /// nothing arrives within the timeout after the ping (default on: a ping after 20 s without
    /// input, the connection failed 20 s later if still nothing arrived, as Python `websockets`
    /// does). `None` turns it off.
    pub keepalive: Option<Keepalive>,
    /// Close the connection after a time with no data frame received, pings and pongs not
    /// counting (default off; uWebSockets closes after 120 s). The close handshake starts with
    /// the configured code, 1001 by default, and the close timeout bounds it.
    pub idle_timeout: Option<IdleTimeout>,
    /// Fail the connection when output has been waiting this long with none of it written
    /// (default 30 s): a peer that stops reading is let go instead of holding the connection
    /// and its buffered output forever. Any progress restarts the wait, so a slow reader that
    /// takes a little at a time is never cut off. The connection ends at once with 1006 and
    /// [`ProtocolError::WriteStalled`](crate::ProtocolError::WriteStalled): no close frame can
    /// reach a peer that reads nothing. `None` turns it off.
    pub write_stall_timeout: Option<Duration>,
    /// permessage-deflate (RFC 7692): a client offers it and a server accepts offers with these
    /// settings (default off). See [`DeflateConfig`] for each parameter and the memory it costs.
    pub deflate: Option<DeflateConfig>,
}

/// Keepalive settings: after `interval` without any input the core sends a ping; if nothing
/// arrives within `timeout` after it, the peer is considered gone. The default is 20 s and 20 s.
///
/// ```
/// use laputa_core::{Config, Keepalive};
/// use std::time::Duration;
/// let mut config = Config::default();
/// assert_eq!(config.keepalive, Some(Keepalive::default()));
/// config.keepalive = Some(Keepalive { interval: Duration::from_secs(30), timeout: Duration::from_secs(10) });
/// // Or no keepalive at all:
/// config.keepalive = None;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Quiet time before a ping is sent.
    pub interval: Duration,
    /// Time the peer has to answer (with anything) once the ping is sent.
    pub timeout: Duration,
}

impl Default for Keepalive {
    /// A ping after 20 s without input; the peer is gone if nothing arrives within 20 s more.
    ///
    /// ```
    /// use laputa_core::Keepalive;
    /// use std::time::Duration;
    /// let keepalive = Keepalive::default();
    /// assert_eq!((keepalive.interval, keepalive.timeout), (Duration::from_secs(20), Duration::from_secs(20)));
    /// ```
    fn default() -> Self {
        Self { interval: Duration::from_secs(20), timeout: Duration::from_secs(20) }
    }
}

/// Idle timeout settings: after `after` without a data frame from the peer, the core starts the
/// close handshake with `code`.
///
/// ```
/// use laputa_core::{CloseCode, Config, IdleTimeout};
/// use std::time::Duration;
/// let mut config = Config::default();
/// config.idle_timeout = Some(IdleTimeout::new(Duration::from_secs(120)));
/// assert_eq!(config.idle_timeout.unwrap().code, CloseCode::GOING_AWAY);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleTimeout {
    /// Time without a data frame received before the connection is closed.
    pub after: Duration,
    /// The close code sent (1001, going away, by default).
    pub code: CloseCode,
}

impl IdleTimeout {
    /// Closes with 1001 (going away) after `after` without a data frame.
    ///
    /// ```
    /// use laputa_core::{CloseCode, IdleTimeout};
    /// use std::time::Duration;
    /// let idle = IdleTimeout { code: CloseCode::POLICY_VIOLATION, ..IdleTimeout::new(Duration::from_secs(60)) };
    /// assert_eq!(idle.after, Duration::from_secs(60));
    /// ```
    pub fn new(after: Duration) -> Self {
        Self { after, code: CloseCode::GOING_AWAY }
    }
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
            keepalive: Some(Keepalive::default()),
            idle_timeout: None,
            write_stall_timeout: Some(Duration::from_secs(30)),
            deflate: None,
        }
    }
}
