//! The envelope of a message between cluster nodes and its wire format.
//!
//! All integers are big-endian; every string is UTF-8 after its length.
//!
//! ```text
//! magic     4 bytes   "LPTC"
//! version   u8        1
//! node      u8 length + bytes
//! epoch     u64
//! seq       u64       from 1 per (node, epoch, path); 0 when unsequenced
//! path      u16 length + bytes
//! kind      u8        1 Deliver, 2 Close, 3 Query, 4 Answer
//! then, per kind:
//!   Deliver   target u8 (0 All, 1 Except, 2 Topic, 3 Session),
//!             for 1 to 3 an id (u8 length + bytes);
//!             message kind u8 (1 text, 2 binary); payload u32 length + bytes (UTF-8 for text)
//!   Close     session id (u8 length + bytes); code u16 (one a peer may send);
//!             reason (u8 length, at most 123, + bytes)
//!   Query     id u64
//!   Answer    id u64; count u32; that many session ids (u8 length + bytes each)
//! ```
//!
//! Nothing may follow the body. The version byte lets a later format be told apart from this
//! one during a rolling upgrade: a node refuses what it cannot read
//! ([`DecodeError::UnknownVersion`]) instead of misreading it.

use crate::close::{CloseCode, MAX_REASON_LEN};
use crate::message::{Message, Utf8Bytes};
use bytes::{BufMut, Bytes};
use std::fmt;

/// The longest node id, session id or topic an envelope carries, in bytes (one length byte).
///
/// ```
/// use laputa_core::bytes::Bytes;
/// use laputa_core::cluster::{Body, Envelope, MAX_ID_LEN};
///
/// let envelope = Envelope {
///     node: "n".repeat(MAX_ID_LEN),
///     epoch: 1,
///     seq: 0,
///     path: "/chat".into(),
///     body: Body::Query { id: 7 },
/// };
/// assert_eq!(Envelope::decode(&Bytes::from(envelope.encode())), Ok(envelope));
/// ```
pub const MAX_ID_LEN: usize = 255;

const MAGIC: &[u8; 4] = b"LPTC";
const VERSION: u8 = 1;

const KIND_DELIVER: u8 = 1;
const KIND_CLOSE: u8 = 2;
const KIND_QUERY: u8 = 3;
const KIND_ANSWER: u8 = 4;

const TARGET_ALL: u8 = 0;
const TARGET_EXCEPT: u8 = 1;
const TARGET_TOPIC: u8 = 2;
const TARGET_SESSION: u8 = 3;

const MESSAGE_TEXT: u8 = 1;
const MESSAGE_BINARY: u8 = 2;

/// Who a [`Body::Deliver`] is for, on the receiving node's service.
///
/// ```
/// use laputa_core::bytes::Bytes;
/// use laputa_core::cluster::{Body, Envelope, Target};
/// use laputa_core::Message;
///
/// // Everyone in the chat but the sender, whose own node already delivered it.
/// let envelope = Envelope {
///     node: "a".into(),
///     epoch: 9,
///     seq: 1,
///     path: "/chat".into(),
///     body: Body::Deliver { target: Target::Except("a-17".into()), message: Message::from("hi") },
/// };
/// let decoded = Envelope::decode(&Bytes::from(envelope.encode()))?;
/// assert!(matches!(decoded.body, Body::Deliver { target: Target::Except(id), .. } if id == "a-17"));
/// # Ok::<(), laputa_core::cluster::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every session of the path.
    All,
    /// Every session of the path but the one with this id.
    Except(String),
    /// The sessions of the path subscribed to this topic.
    Topic(String),
    /// The session with this id.
    Session(String),
}

impl Target {
    fn kind(&self) -> u8 {
        match self {
            Self::All => TARGET_ALL,
            Self::Except(_) => TARGET_EXCEPT,
            Self::Topic(_) => TARGET_TOPIC,
            Self::Session(_) => TARGET_SESSION,
        }
    }

    fn id(&self) -> Option<&str> {
        match self {
            Self::All => None,
            Self::Except(id) | Self::Topic(id) | Self::Session(id) => Some(id),
        }
    }
}

/// What an [`Envelope`] carries.
///
/// ```
/// use laputa_core::bytes::Bytes;
/// use laputa_core::cluster::{Body, Envelope};
/// use laputa_core::CloseCode;
///
/// let close = Envelope {
///     node: "a".into(),
///     epoch: 9,
///     seq: 2,
///     path: "/chat".into(),
///     body: Body::Close { session: "b-4".into(), code: CloseCode::POLICY_VIOLATION, reason: "spam".into() },
/// };
/// assert_eq!(Envelope::decode(&Bytes::from(close.encode())), Ok(close));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// A message for the sessions of [`Envelope::path`] that `target` names.
    Deliver {
        /// Which sessions.
        target: Target,
        /// The message, as sent to each of them.
        message: Message,
    },
    /// Close the session with this id (on whichever node holds it).
    Close {
        /// The session's id.
        session: String,
        /// The close code: one a peer may send ([`CloseCode::is_sendable`]).
        code: CloseCode,
        /// The close reason: at most [`MAX_REASON_LEN`](crate::MAX_REASON_LEN) bytes.
        reason: String,
    },
    /// "Answer with your sessions of [`Envelope::path`]": the answer goes to the asking node
    /// ([`Envelope::node`]).
    Query {
        /// The asking node's number for this query, repeated in the answers.
        id: u64,
    },
    /// A node's answer to query `id`: the ids of its sessions of [`Envelope::path`].
    Answer {
        /// The query answered.
        id: u64,
        /// The answering node's sessions.
        sessions: Vec<String>,
    },
}

/// One message from a node to the others: who sent it, its place in the sender's sequence, the
/// service it concerns and what it carries.
///
/// ```
/// use laputa_core::bytes::Bytes;
/// use laputa_core::cluster::{Body, Envelope};
///
/// let answer = Envelope {
///     node: "b".into(),
///     epoch: 0x1234,
///     seq: 0,
///     path: "/chat".into(),
///     body: Body::Answer { id: 3, sessions: vec!["b-1".into(), "b-2".into()] },
/// };
/// let bytes = answer.encode();
/// assert!(bytes.starts_with(b"LPTC\x01"));
/// assert_eq!(Envelope::decode(&Bytes::from(bytes)), Ok(answer));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The publishing node's id (at most [`MAX_ID_LEN`] bytes).
    pub node: String,
    /// The publishing node's epoch: random, chosen when the node starts, so that a node restarted
    /// with the same id starts a new sequence.
    pub epoch: u64,
    /// This message's number in the (node, epoch, path) sequence, from 1; 0 for the unsequenced
    /// bodies ([`Body::Query`], [`Body::Answer`]).
    pub seq: u64,
    /// The service path (`"/chat"`), at most `u16::MAX` bytes.
    pub path: String,
    /// What it carries.
    pub body: Body,
}

impl Envelope {
    /// The envelope's bytes, in one allocation sized up front.
    ///
    /// Ids (node, session, topic) longer than [`MAX_ID_LEN`] bytes, a path longer than
    /// `u16::MAX`, a payload longer than `u32::MAX`, a close reason longer than
    /// [`MAX_REASON_LEN`](crate::MAX_REASON_LEN) and a close code that may not be sent are the
    /// caller's bug (the adapters check them before): debug builds panic on them; release builds
    /// cut what is too long at a character boundary, and a receiver refuses the close code
    /// ([`DecodeError::InvalidCloseCode`]). Everything else encodes to bytes that
    /// [`decode`](Self::decode) gives back as the same envelope.
    ///
    /// ```
    /// use laputa_core::cluster::{Body, Envelope, Target};
    /// use laputa_core::Message;
    ///
    /// let envelope = Envelope {
    ///     node: "a".into(),
    ///     epoch: 1,
    ///     seq: 1,
    ///     path: "/chat".into(),
    ///     body: Body::Deliver { target: Target::All, message: Message::from(vec![1, 2, 3]) },
    /// };
    /// let bytes = envelope.encode();
    /// assert_eq!(bytes.len(), bytes.capacity(), "sized up front");
    /// assert!(bytes.ends_with(&[2, 0, 0, 0, 3, 1, 2, 3]), "binary, 3 bytes");
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let node = clamp(&self.node, MAX_ID_LEN);
        let path = clamp(&self.path, usize::from(u16::MAX));
        let len = MAGIC.len() + 1 + 1 + node.len() + 8 + 8 + 2 + path.len() + self.body_len();
        let mut out = Vec::with_capacity(len);
        out.put_slice(MAGIC);
        out.put_u8(VERSION);
        put_id(&mut out, node);
        out.put_u64(self.epoch);
        out.put_u64(self.seq);
        out.put_u16(path.len() as u16);
        out.put_slice(path.as_bytes());
        match &self.body {
            Body::Deliver { target, message } => {
                out.put_u8(KIND_DELIVER);
                out.put_u8(target.kind());
                if let Some(id) = target.id() {
                    put_id(&mut out, clamp(id, MAX_ID_LEN));
                }
                let (kind, payload) = payload(message);
                out.put_u8(kind);
                out.put_u32(payload.len() as u32);
                out.put_slice(payload);
            }
            Body::Close { session, code, reason } => {
                debug_assert!(code.is_sendable(), "close code {code} may not be sent");
                out.put_u8(KIND_CLOSE);
                put_id(&mut out, clamp(session, MAX_ID_LEN));
                out.put_u16(code.0);
                put_id(&mut out, clamp(reason, MAX_REASON_LEN));
            }
            Body::Query { id } => {
                out.put_u8(KIND_QUERY);
                out.put_u64(*id);
            }
            Body::Answer { id, sessions } => {
                out.put_u8(KIND_ANSWER);
                out.put_u64(*id);
                let sessions = answer_sessions(sessions);
                out.put_u32(sessions.len() as u32);
                for session in sessions {
                    put_id(&mut out, clamp(session, MAX_ID_LEN));
                }
            }
        }
        debug_assert_eq!(out.len(), len, "the size computed up front");
        out
    }

    /// The length of the body's encoding, kind byte included, with the same cuts as `encode`.
    fn body_len(&self) -> usize {
        1 + match &self.body {
            Body::Deliver { target, message } => {
                let id = target.id().map_or(0, |id| 1 + clamp(id, MAX_ID_LEN).len());
                1 + id + 1 + 4 + payload(message).1.len()
            }
            Body::Close { session, reason, .. } => {
                1 + clamp(session, MAX_ID_LEN).len() + 2 + 1 + clamp(reason, MAX_REASON_LEN).len()
            }
            Body::Query { .. } => 8,
            Body::Answer { sessions, .. } => {
                8 + 4 + answer_sessions(sessions).iter().map(|s| 1 + clamp(s, MAX_ID_LEN).len()).sum::<usize>()
            }
        }
    }

    /// Reads an envelope from received bytes, checking every field. A [`Body::Deliver`]'s
    /// payload is a slice of `bytes` (shared, not copied).
    ///
    /// Never panics; lengths are checked against the bytes left before anything is allocated,
    /// so hostile input costs at most memory in proportion to its own length.
    ///
    /// ```
    /// use laputa_core::bytes::Bytes;
    /// use laputa_core::cluster::{Body, DecodeError, Envelope, Target};
    /// use laputa_core::Message;
    ///
    /// let envelope = Envelope {
    ///     node: "a".into(),
    ///     epoch: 1,
    ///     seq: 4,
    ///     path: "/chat".into(),
    ///     body: Body::Deliver { target: Target::Topic("news".into()), message: Message::from("extra") },
    /// };
    /// let bytes = Bytes::from(envelope.encode());
    /// let decoded = Envelope::decode(&bytes)?;
    /// let Body::Deliver { message, .. } = &decoded.body else { panic!("a delivery") };
    /// assert_eq!(message.payload_bytes().as_ptr(), bytes[bytes.len() - 5..].as_ptr(), "no copy");
    ///
    /// assert_eq!(Envelope::decode(&bytes.slice(..bytes.len() - 1)), Err(DecodeError::Truncated));
    /// assert_eq!(Envelope::decode(&Bytes::from_static(b"HTTP/1.1")), Err(DecodeError::BadMagic));
    /// # Ok::<(), DecodeError>(())
    /// ```
    pub fn decode(bytes: &Bytes) -> Result<Envelope, DecodeError> {
        if bytes.len() < MAGIC.len() {
            return Err(if MAGIC.starts_with(bytes) { DecodeError::Truncated } else { DecodeError::BadMagic });
        }
        if bytes[..MAGIC.len()] != MAGIC[..] {
            return Err(DecodeError::BadMagic);
        }
        let mut reader = Reader { bytes, pos: MAGIC.len() };
        let version = reader.u8()?;
        if version != VERSION {
            return Err(DecodeError::UnknownVersion(version));
        }
        let node = reader.id()?;
        let epoch = reader.u64()?;
        let seq = reader.u64()?;
        let path_len = reader.u16()?;
        let path = reader.string(usize::from(path_len))?;
        let body = match reader.u8()? {
            KIND_DELIVER => reader.deliver()?,
            KIND_CLOSE => reader.close()?,
            KIND_QUERY => Body::Query { id: reader.u64()? },
            KIND_ANSWER => reader.answer()?,
            kind => return Err(DecodeError::UnknownKind(kind)),
        };
        if reader.remaining() > 0 {
            return Err(DecodeError::TrailingBytes);
        }
        Ok(Envelope { node, epoch, seq, path, body })
    }

    /// The publishing node's id (its bytes) of an encoded envelope, read without decoding the
    /// rest: a node drops its own publishes, which Redis sends back on its subscription, before
    /// copying them. `None` if the bytes do not start as an envelope of this version does.
    ///
    /// ```
    /// use laputa_core::cluster::{Body, Envelope};
    ///
    /// let envelope = Envelope { node: "a".into(), epoch: 1, seq: 0, path: "/chat".into(), body: Body::Query { id: 7 } };
    /// let bytes = envelope.encode();
    /// assert_eq!(Envelope::publisher(&bytes), Some(&b"a"[..]));
    /// assert_eq!(Envelope::publisher(b"LPTC"), None, "too short");
    /// assert_eq!(Envelope::publisher(b"HTTP/1.1 200 OK"), None);
    /// ```
    pub fn publisher(bytes: &[u8]) -> Option<&[u8]> {
        let rest = bytes.strip_prefix(&MAGIC[..])?.strip_prefix(&[VERSION])?;
        let (&len, rest) = rest.split_first()?;
        rest.get(..usize::from(len))
    }
}

/// A message's kind byte and payload, the payload cut at `u32::MAX` bytes.
fn payload(message: &Message) -> (u8, &[u8]) {
    const MAX: usize = u32::MAX as usize;
    match message {
        Message::Text(text) => (MESSAGE_TEXT, clamp(text, MAX).as_bytes()),
        Message::Binary(data) => {
            debug_assert!(data.len() <= MAX, "a payload of {} bytes does not fit an envelope", data.len());
            (MESSAGE_BINARY, &data[..data.len().min(MAX)])
        }
    }
}

/// An answer's sessions, at most `u32::MAX` of them.
fn answer_sessions(sessions: &[String]) -> &[String] {
    const MAX: usize = u32::MAX as usize;
    debug_assert!(sessions.len() <= MAX, "{} sessions do not fit an answer", sessions.len());
    &sessions[..sessions.len().min(MAX)]
}

/// `s` if it is at most `max` bytes long (the caller's promise, asserted in debug builds), else
/// its longest prefix of at most `max` bytes that ends at a character boundary.
fn clamp(s: &str, max: usize) -> &str {
    debug_assert!(s.len() <= max, "{} bytes where at most {max} fit an envelope", s.len());
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Writes a string of at most 255 bytes after its length byte.
fn put_id(out: &mut Vec<u8>, id: &str) {
    out.put_u8(id.len() as u8);
    out.put_slice(id.as_bytes());
}

/// Reads the fields of an envelope in order; every read checks what is left first.
struct Reader<'a> {
    bytes: &'a Bytes,
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The next `n` bytes, or `Truncated` when fewer are left.
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated);
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.bytes[start..self.pos])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        self.array().map(u16::from_be_bytes)
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        self.array().map(u32::from_be_bytes)
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        self.array().map(u64::from_be_bytes)
    }

    /// A UTF-8 string of `len` bytes.
    fn string(&mut self, len: usize) -> Result<String, DecodeError> {
        let bytes = self.take(len)?;
        simdutf8::basic::from_utf8(bytes).map(str::to_owned).map_err(|_| DecodeError::InvalidUtf8)
    }

    /// A string after its length byte.
    fn id(&mut self) -> Result<String, DecodeError> {
        let len = self.u8()?;
        self.string(usize::from(len))
    }

    fn deliver(&mut self) -> Result<Body, DecodeError> {
        let target = match self.u8()? {
            TARGET_ALL => Target::All,
            TARGET_EXCEPT => Target::Except(self.id()?),
            TARGET_TOPIC => Target::Topic(self.id()?),
            TARGET_SESSION => Target::Session(self.id()?),
            kind => return Err(DecodeError::UnknownKind(kind)),
        };
        let kind = self.u8()?;
        if kind != MESSAGE_TEXT && kind != MESSAGE_BINARY {
            return Err(DecodeError::UnknownKind(kind));
        }
        // A length that does not fit a usize cannot fit what is left either.
        let len = usize::try_from(self.u32()?).map_err(|_| DecodeError::Truncated)?;
        self.take(len)?;
        let payload = self.bytes.slice(self.pos - len..self.pos);
        let message = if kind == MESSAGE_TEXT {
            crate::utf8::validate(&payload).map_err(|_| DecodeError::InvalidUtf8)?;
            Message::Text(Utf8Bytes::from_validated(payload))
        } else {
            Message::Binary(payload)
        };
        Ok(Body::Deliver { target, message })
    }

    fn close(&mut self) -> Result<Body, DecodeError> {
        let session = self.id()?;
        let code = CloseCode(self.u16()?);
        if !code.is_sendable() {
            return Err(DecodeError::InvalidCloseCode(code.0));
        }
        let reason_len = usize::from(self.u8()?);
        if reason_len > MAX_REASON_LEN {
            return Err(DecodeError::TooLong);
        }
        let reason = self.string(reason_len)?;
        Ok(Body::Close { session, code, reason })
    }

    fn answer(&mut self) -> Result<Body, DecodeError> {
        let id = self.u64()?;
        // Each session id takes at least its length byte: a count above what is left is a lie,
        // refused before the vector is allocated.
        let count = usize::try_from(self.u32()?).map_err(|_| DecodeError::Truncated)?;
        if count > self.remaining() {
            return Err(DecodeError::Truncated);
        }
        let mut sessions = Vec::with_capacity(count);
        for _ in 0..count {
            sessions.push(self.id()?);
        }
        Ok(Body::Answer { id, sessions })
    }
}

/// Why bytes are not an [`Envelope`]. Decoding checks every field, never panics, and allocates
/// only after checking a length against the bytes left.
///
/// ```
/// use laputa_core::bytes::Bytes;
/// use laputa_core::cluster::{DecodeError, Envelope};
///
/// let error = Envelope::decode(&Bytes::from_static(b"LPTC\x02")).unwrap_err();
/// assert_eq!(error, DecodeError::UnknownVersion(2));
/// assert_eq!(error.to_string(), "unknown cluster envelope version 2");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes do not start with the envelope's magic (`LPTC`).
    BadMagic,
    /// A format version this node cannot read (a newer node, during a rolling upgrade).
    UnknownVersion(u8),
    /// The bytes end before a field does, or a length or count runs past the end.
    Truncated,
    /// A body, target or message kind byte that names no kind.
    UnknownKind(u8),
    /// A close reason over [`MAX_REASON_LEN`](crate::MAX_REASON_LEN) bytes.
    TooLong,
    /// A string or a text payload that is not UTF-8.
    InvalidUtf8,
    /// A close code that may not be sent ([`CloseCode::is_sendable`]).
    InvalidCloseCode(u16),
    /// Bytes follow the body.
    TrailingBytes,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => f.write_str("not a cluster envelope (bad magic)"),
            Self::UnknownVersion(version) => write!(f, "unknown cluster envelope version {version}"),
            Self::Truncated => f.write_str("cluster envelope truncated"),
            Self::UnknownKind(kind) => write!(f, "unknown kind {kind} in a cluster envelope"),
            Self::TooLong => write!(f, "close reason over {MAX_REASON_LEN} bytes in a cluster envelope"),
            Self::InvalidUtf8 => f.write_str("invalid UTF-8 in a cluster envelope"),
            Self::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            Self::TrailingBytes => f.write_str("bytes after the body of a cluster envelope"),
        }
    }
}

impl std::error::Error for DecodeError {}
