//! Errors, grouped by who misbehaved, and their mapping to close codes.

use crate::close::CloseCode;
use std::fmt;

/// The peer broke RFC 6455 or one of our limits. Each variant maps to the close code sent to the
/// peer ([`ProtocolError::close_code`]); this is the one place that mapping lives.
///
/// ```
/// use laputa_core::{CloseCode, Config, Connection, Event, ProtocolError, Role};
/// use std::time::Instant;
///
/// let mut server = Connection::new(Role::Server, Config::default());
/// server.handle_input(&[0x81, 0x02, b'h', b'i']); // a text frame, but not masked
/// let Some(Event::Closed(closed)) = server.poll_event() else { panic!("the connection fails") };
/// assert_eq!(closed.error, Some(ProtocolError::UnmaskedFrame));
/// assert_eq!(closed.code, CloseCode::PROTOCOL_ERROR);
/// // The close frame to the client carries the same code.
/// let mut out = Vec::new();
/// server.poll_transmit(Instant::now(), &mut out);
/// assert_eq!(&out[2..4], &1002u16.to_be_bytes());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// RSV1, RSV2 or RSV3 was set without an extension that defines it.
    ReservedBits,
    /// An opcode reserved for future use (0x3-0x7, 0xB-0xF).
    ReservedOpcode(u8),
    /// A client sent a frame without a mask (RFC 6455 section 5.1).
    UnmaskedFrame,
    /// A server sent a masked frame (RFC 6455 section 5.1).
    MaskedFrame,
    /// A control frame had FIN clear.
    FragmentedControlFrame,
    /// A control frame carried more than 125 bytes.
    ControlFrameTooLong,
    /// A payload length was not in its shortest form, or used the 64-bit form's top bit.
    InvalidLength,
    /// A continuation frame arrived with no message in progress.
    UnexpectedContinuation,
    /// A new text or binary frame arrived while a fragmented message was in progress.
    ExpectedContinuation,
    /// Text (or a close reason) was not valid UTF-8.
    InvalidUtf8,
    /// A close frame had a 1-byte payload.
    InvalidClosePayload,
    /// A close frame carried a code that may not be sent.
    InvalidCloseCode(u16),
    /// A frame announced a payload above [`Config::max_frame_size`](crate::Config::max_frame_size).
    FrameTooLarge {
        /// The length the frame header announced.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A message grew past [`Config::max_message_size`](crate::Config::max_message_size).
    MessageTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// A message was split into more frames than
    /// [`Config::max_fragments`](crate::Config::max_fragments).
    TooManyFragments {
        /// The configured limit.
        limit: usize,
    },
    /// A compressed message could not be inflated.
    Decompression(String),
    /// The peer closed the TCP connection without a close handshake.
    UnexpectedEof,
    /// Nothing arrived within the keepalive timeout after our ping: the peer is gone.
    KeepaliveTimeout,
    /// Output waited longer than
    /// [`Config::write_stall_timeout`](crate::Config::write_stall_timeout) with none of it
    /// written: the peer stopped reading. No close frame can reach it, so the code reported is
    /// 1006, never sent.
    WriteStalled,
}

impl ProtocolError {
    /// The close code sent to the peer for this error. For
    /// [`UnexpectedEof`](Self::UnexpectedEof) and [`WriteStalled`](Self::WriteStalled), where no
    /// close frame can be sent, it is 1006
    /// ([`CloseCode::ABNORMAL`]): the code [`Closed`](crate::Closed) reports, never sent.
    ///
    /// ```
    /// use laputa_core::{CloseCode, ProtocolError};
    ///
    /// assert_eq!(ProtocolError::InvalidUtf8.close_code(), CloseCode::INVALID_PAYLOAD);
    /// assert_eq!(ProtocolError::MessageTooLarge { limit: 1 << 20 }.close_code(), CloseCode::MESSAGE_TOO_BIG);
    /// assert_eq!(ProtocolError::ReservedOpcode(0x3).close_code(), CloseCode::PROTOCOL_ERROR);
    /// ```
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
            Self::FrameTooLarge { .. } | Self::MessageTooLarge { .. } | Self::TooManyFragments { .. } => {
                CloseCode::MESSAGE_TOO_BIG
            }
            Self::UnexpectedEof | Self::WriteStalled => CloseCode::ABNORMAL,
            Self::KeepaliveTimeout => CloseCode::INTERNAL_ERROR,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedBits => f.write_str("reserved bits set without a negotiated extension"),
            Self::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            Self::UnmaskedFrame => f.write_str("client frame was not masked"),
            Self::MaskedFrame => f.write_str("server frame was masked"),
            Self::FragmentedControlFrame => f.write_str("control frame was fragmented"),
            Self::ControlFrameTooLong => f.write_str("control frame payload over 125 bytes"),
            Self::InvalidLength => f.write_str("payload length not minimally encoded"),
            Self::UnexpectedContinuation => f.write_str("continuation frame without a message in progress"),
            Self::ExpectedContinuation => f.write_str("new message started inside a fragmented message"),
            Self::InvalidUtf8 => f.write_str("invalid UTF-8 in text"),
            Self::InvalidClosePayload => f.write_str("close frame payload of 1 byte"),
            Self::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            Self::FrameTooLarge { size, limit } => write!(f, "frame of {size} bytes exceeds the limit of {limit}"),
            Self::MessageTooLarge { limit } => write!(f, "message exceeds the limit of {limit} bytes"),
            Self::TooManyFragments { limit } => write!(f, "message split into more than {limit} frames"),
            Self::Decompression(why) => write!(f, "could not inflate message: {why}"),
            Self::UnexpectedEof => f.write_str("connection closed without a close frame"),
            Self::KeepaliveTimeout => f.write_str("keepalive ping timed out"),
            Self::WriteStalled => f.write_str("the peer stopped reading: output stalled"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Everything that can go wrong in the core.
///
/// ```
/// use laputa_core::{CloseCode, Config, Connection, Error, Message, ProtocolError, Role};
///
/// let mut server = Connection::new(Role::Server, Config::default());
/// assert_eq!(server.ping(&[0; 126]), Err(Error::ControlPayloadTooLong));
/// server.close(CloseCode::NORMAL, "done")?;
/// assert_eq!(server.send(Message::from("late")), Err(Error::Closed));
/// // A protocol error converts (as `?` does) and stays reachable as the source.
/// let error = Error::from(ProtocolError::InvalidUtf8);
/// assert_eq!(error.to_string(), "protocol error: invalid UTF-8 in text");
/// assert!(std::error::Error::source(&error).is_some());
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The peer violated the protocol; the close frame is already queued.
    Protocol(ProtocolError),
    /// The opening handshake failed.
    Handshake(crate::handshake::HandshakeError),
    /// The connection is closing or closed: no more messages can be sent.
    Closed,
    /// Local misuse: a close code that may not be sent (1005, 1006, 1015, reserved ranges).
    InvalidCloseCode(u16),
    /// Local misuse: a close reason over 123 bytes, or a ping payload over 125 bytes.
    ControlPayloadTooLong,
    /// Local misuse: a fragment of a different kind than the message in progress, or a whole
    /// message sent while a fragmented one is unfinished.
    FragmentMismatch,
    /// Local misuse: text to send that is not UTF-8 (the peer would fail the connection).
    InvalidUtf8,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
            Self::Handshake(e) => write!(f, "handshake failed: {e}"),
            Self::Closed => f.write_str("the connection is closed"),
            Self::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            Self::ControlPayloadTooLong => f.write_str("control frame payload over 125 bytes"),
            Self::FragmentMismatch => f.write_str("fragment does not continue the message in progress"),
            Self::InvalidUtf8 => f.write_str("text to send is not UTF-8"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Protocol(e) => Some(e),
            Self::Handshake(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}

impl From<crate::handshake::HandshakeError> for Error {
    fn from(e: crate::handshake::HandshakeError) -> Self {
        Self::Handshake(e)
    }
}
