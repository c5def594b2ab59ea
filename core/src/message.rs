//! Messages and the events a connection emits.

use crate::close::{CloseCode, CloseFrame};
use crate::error::ProtocolError;
use bytes::Bytes;
use std::fmt;

/// UTF-8 text held in [`Bytes`]: cheap to clone and to slice, guaranteed valid UTF-8.
///
/// ```
/// use laputa_core::Utf8Bytes;
///
/// let text = Utf8Bytes::from("BALUS");
/// let copy = text.clone();
/// assert_eq!(copy.as_bytes().as_ptr(), text.as_bytes().as_ptr(), "clones share the bytes");
/// // It derefs to `str`.
/// assert!(text.starts_with("BAL"));
/// assert_eq!(text.to_lowercase(), "balus");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Wraps bytes already known to be UTF-8; fails (returning them) otherwise.
    ///
    /// ```
    /// use laputa_core::bytes::Bytes;
    /// use laputa_core::Utf8Bytes;
    ///
    /// let text = Utf8Bytes::try_from_bytes(Bytes::from("Laputa ✓")).expect("valid UTF-8");
    /// assert_eq!(text, "Laputa ✓");
    /// // Invalid bytes are given back.
    /// let bytes = Bytes::from_static(b"\xff\xfe");
    /// assert_eq!(Utf8Bytes::try_from_bytes(bytes.clone()), Err(bytes));
    /// ```
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
    ///
    /// ```
    /// use laputa_core::Utf8Bytes;
    ///
    /// let text = Utf8Bytes::from(String::from("hello"));
    /// let s: &str = text.as_str();
    /// assert_eq!(s, "hello");
    /// ```
    pub fn as_str(&self) -> &str {
        // The invariant of the type: the bytes were validated when the value was built.
        match std::str::from_utf8(&self.0) {
            Ok(s) => s,
            Err(_) => unreachable!("Utf8Bytes holds valid UTF-8"),
        }
    }

    /// The underlying bytes.
    ///
    /// ```
    /// use laputa_core::Utf8Bytes;
    ///
    /// let text = Utf8Bytes::from("hello");
    /// assert_eq!(text.as_bytes(), &b"hello"[..]);
    /// // Cloning the `Bytes` shares them.
    /// let shared = text.as_bytes().clone();
    /// assert_eq!(shared.as_ptr(), text.as_ptr());
    /// ```
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives back the underlying bytes.
    ///
    /// ```
    /// use laputa_core::Utf8Bytes;
    ///
    /// let bytes = Utf8Bytes::from("hello").into_bytes();
    /// assert_eq!(bytes, &b"hello"[..]);
    /// ```
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
///
/// ```
/// use laputa_core::{Config, Connection, MessageKind, Role};
/// use std::time::Instant;
///
/// let mut server = Connection::new(Role::Server, Config::default());
/// server.send_message(MessageKind::Binary, &[1, 2, 3])?;
/// server.send_message(MessageKind::Text, b"hi")?;
/// let mut out = Vec::new();
/// server.poll_transmit(Instant::now(), &mut out);
/// assert_eq!(out, [0x82, 0x03, 1, 2, 3, 0x81, 0x02, b'h', b'i']);
/// # Ok::<(), laputa_core::Error>(())
/// ```
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
    ///
    /// ```
    /// use laputa_core::{Message, MessageKind};
    ///
    /// assert_eq!(Message::from("hi").kind(), MessageKind::Text);
    /// assert_eq!(Message::from(vec![1, 2, 3]).kind(), MessageKind::Binary);
    /// ```
    pub fn kind(&self) -> MessageKind {
        match self {
            Self::Text(_) => MessageKind::Text,
            Self::Binary(_) => MessageKind::Binary,
        }
    }

    /// The payload bytes, whatever the kind.
    ///
    /// ```
    /// use laputa_core::Message;
    ///
    /// assert_eq!(Message::from("hi").payload(), b"hi");
    /// assert_eq!(Message::from(vec![b'h', b'i']).payload(), b"hi");
    /// ```
    pub fn payload(&self) -> &[u8] {
        match self {
            Self::Text(t) => t.as_bytes(),
            Self::Binary(b) => b,
        }
    }

    /// The payload as the [`Bytes`] it is kept in, whatever the kind: cloning it shares the
    /// memory.
    ///
    /// ```
    /// use laputa_core::bytes::Bytes;
    /// use laputa_core::Message;
    ///
    /// let data = Bytes::from(vec![7u8; 1024]);
    /// let message = Message::from(data.clone());
    /// let kept = message.payload_bytes().clone();
    /// assert_eq!(kept.as_ptr(), data.as_ptr(), "no copy");
    /// ```
    pub fn payload_bytes(&self) -> &Bytes {
        match self {
            Self::Text(t) => t.as_bytes(),
            Self::Binary(b) => b,
        }
    }

    /// The text, if this is a text message.
    ///
    /// ```
    /// use laputa_core::Message;
    ///
    /// assert_eq!(Message::from("hi").as_text(), Some("hi"));
    /// assert_eq!(Message::from(b"hi".to_vec()).as_text(), None);
    /// ```
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t.as_str()),
            Self::Binary(_) => None,
        }
    }

    /// The payload as [`Bytes`], whatever the kind.
    ///
    /// ```
    /// use laputa_core::Message;
    ///
    /// let payload = Message::from(String::from("hi")).into_payload();
    /// assert_eq!(payload, &b"hi"[..]);
    /// ```
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
///
/// ```
/// use laputa_core::{CloseCode, CloseFrame, Closed, Config, Connection, Event, ProtocolError, Role};
///
/// let mut server = Connection::new(Role::Server, Config::default());
/// // The client closes with 1000 and "bye" (masked with a zero key).
/// server.handle_input(&[0x88, 0x85, 0, 0, 0, 0, 0x03, 0xe8, b'b', b'y', b'e']);
/// let frame = CloseFrame { code: CloseCode::NORMAL, reason: "bye".into() };
/// assert_eq!(server.poll_event(), Some(Event::CloseReceived(Some(frame))));
/// assert_eq!(server.poll_event(), Some(Event::Closed(Closed::new(CloseCode::NORMAL, "bye", true))));
///
/// // A client that does not mask its frames breaks the protocol: the server fails the connection.
/// let mut server = Connection::new(Role::Server, Config::default());
/// server.handle_input(&[0x81, 0x02, b'h', b'i']);
/// let Some(Event::Closed(closed)) = server.poll_event() else { panic!("expected Closed") };
/// assert_eq!((closed.code, closed.clean), (CloseCode::PROTOCOL_ERROR, false));
/// assert_eq!(closed.error, Some(ProtocolError::UnmaskedFrame));
/// ```
///
/// Fields may be added, so it is built with [`Closed::new`] outside this crate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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

impl Closed {
    /// How a connection ended, with no [`ProtocolError`]: for a driver that reports an end the
    /// core did not see (a socket that failed is 1006, not clean), and for tests that compare
    /// what a connection emitted.
    ///
    /// ```
    /// use laputa_core::{CloseCode, Closed};
    ///
    /// let closed = Closed::new(CloseCode::ABNORMAL, "", false);
    /// assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::ABNORMAL, ""));
    /// assert_eq!((closed.clean, closed.error), (false, None));
    /// ```
    pub fn new(code: CloseCode, reason: impl Into<String>, clean: bool) -> Self {
        Self { code, reason: reason.into(), clean, error: None }
    }

    /// The same end, failed because of `error`.
    ///
    /// ```
    /// use laputa_core::{CloseCode, Closed, ProtocolError};
    ///
    /// let error = ProtocolError::UnmaskedFrame;
    /// let closed = Closed::new(error.close_code(), error.to_string(), false).with_error(error);
    /// assert_eq!(closed.error, Some(ProtocolError::UnmaskedFrame));
    /// ```
    pub fn with_error(mut self, error: ProtocolError) -> Self {
        self.error = Some(error);
        self
    }
}

/// What a [`Connection`](crate::Connection) reports to its driver, in order of arrival.
///
/// ```
/// use laputa_core::{Config, Connection, Event, Role, State};
/// use std::time::Instant;
///
/// let mut server = Connection::new(Role::Server, Config::default());
/// // A ping, a text message "Hello" and a close frame with code 1000, all masked.
/// server.handle_input(&[0x89, 0x80, 0, 0, 0, 0]);
/// server.handle_input(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// server.handle_input(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
/// let mut clean = false;
/// while let Some(event) = server.poll_event() {
///     match event {
///         Event::Message(message) => server.send(message)?, // echo it
///         Event::Ping(_) | Event::Pong(_) => {}             // the core answers pings itself
///         Event::CloseReceived(_) => {}                     // and close frames
///         Event::Closed(closed) => clean = closed.clean,
///         _ => {} // events added later
///     }
/// }
/// assert!(clean);
/// assert_eq!(server.state(), State::Closed);
/// let mut out = Vec::new();
/// server.poll_transmit(Instant::now(), &mut out);
/// // The pong, the echo, then the close frame echoing 1000.
/// assert_eq!(out, [0x8a, 0x00, 0x81, 0x05, b'H', b'e', b'l', b'l', b'o', 0x88, 0x02, 0x03, 0xe8]);
/// # Ok::<(), laputa_core::Error>(())
/// ```
///
/// Events may be added, so a `match` on it outside this crate has a `_` arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
