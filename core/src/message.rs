//! Messages and the events a connection emits.

use crate::close::{CloseCode, CloseFrame};
use crate::error::ProtocolError;
use bytes::Bytes;
use std::fmt;

/// UTF-8 text held in [`Bytes`]: cheap to clone and to slice, guaranteed valid UTF-8.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Wraps bytes already known to be UTF-8; fails (returning them) otherwise.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Self, Bytes> {
        match simdutf8::basic::from_utf8(&bytes) {
            Ok(_) => Ok(Self(bytes)),
            Err(_) => Err(bytes),
        }
    }

    /// Wraps bytes the caller has validated (the frame decoder does so while receiving).
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Self(bytes)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // The invariant of the type: the bytes were validated when the value was built.
        match std::str::from_utf8(&self.0) {
            Ok(s) => s,
            Err(_) => unreachable!("Utf8Bytes holds valid UTF-8"),
        }
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives back the underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl std::ops::Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl From<&'static str> for Utf8Bytes {
    fn from(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Whether a message carries text or binary data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Arbitrary bytes (opcode 0x2).
    Binary,
}

/// A complete data message.
///
/// ```
/// use laputa_core::Message;
/// let m = Message::from("BALUS");
/// assert_eq!(m.as_text(), Some("BALUS"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// Text or binary.
    pub fn kind(&self) -> MessageKind {
        match self {
            Self::Text(_) => MessageKind::Text,
            Self::Binary(_) => MessageKind::Binary,
        }
    }

    /// The payload bytes, whatever the kind.
    pub fn payload(&self) -> &[u8] {
        match self {
            Self::Text(t) => t.as_bytes(),
            Self::Binary(b) => b,
        }
    }

    /// The payload as the [`Bytes`] it is kept in, whatever the kind: cloning it shares the
    /// memory.
    pub fn payload_bytes(&self) -> &Bytes {
        match self {
            Self::Text(t) => t.as_bytes(),
            Self::Binary(b) => b,
        }
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t.as_str()),
            Self::Binary(_) => None,
        }
    }

    /// The payload as [`Bytes`], whatever the kind.
    pub fn into_payload(self) -> Bytes {
        match self {
            Self::Text(t) => t.into_bytes(),
            Self::Binary(b) => b,
        }
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Self::Text(s.into())
    }
}

impl From<&'static str> for Message {
    fn from(s: &'static str) -> Self {
        Self::Text(s.into())
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Self::Binary(b.into())
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Self::Binary(b)
    }
}

/// How a connection ended. Emitted exactly once, as [`Event::Closed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The code received from the peer (or sent, if we failed the connection); 1005 when the
    /// peer's close frame had no code, 1006 when no close frame was exchanged.
    pub code: CloseCode,
    /// The reason that came with `code`.
    pub reason: String,
    /// True when both close frames were exchanged (the WebSocket `wasClean`).
    pub clean: bool,
    /// Set when the connection was failed because the peer broke the protocol or a limit.
    pub error: Option<ProtocolError>,
}

/// What a [`Connection`](crate::Connection) reports to its driver, in order of arrival.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete text or binary message.
    Message(Message),
    /// A ping arrived (only with [`Config::emit_pings`](crate::Config::emit_pings)); the pong is
    /// already queued.
    Ping(Bytes),
    /// A pong arrived.
    Pong(Bytes),
    /// The peer started or answered the close handshake; `None` when its frame had no code.
    CloseReceived(Option<CloseFrame>),
    /// The connection is over at the WebSocket level. The driver keeps polling transmit and
    /// shutdown until [`Connection::is_finished`](crate::Connection::is_finished).
    Closed(Closed),
}
