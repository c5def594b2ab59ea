//! A message encoded once for many connections (a broadcast): the server frame (header and
//! payload in one buffer) is built once and shared, and with permessage-deflate the compressed frame is built once
//! per group of connections that would compress it to the same bytes. Queued with
//! [`Connection::send_prepared`](crate::Connection::send_prepared).

use crate::deflate::SHARED_GROUPS;
use crate::frame::{FrameHeader, OpCode};
use crate::message::{Message, MessageKind, Utf8Bytes};
use bytes::{Bytes, BytesMut};
use std::fmt;
use std::sync::OnceLock;

/// The longest header of a server frame: 2 bytes and 8 of extended length, no mask.
const SERVER_HEADER_LEN: usize = 10;

/// A whole message prepared once to be sent on many connections, a broadcast's unit: the same
/// `PreparedMessage` (shared in an [`Arc`](std::sync::Arc) across threads if need be) is queued
/// on each with [`Connection::send_prepared`](crate::Connection::send_prepared).
///
/// On a server connection without permessage-deflate, each queue holds the frame built here
/// once, header and payload in one [`Bytes`]: no copy per connection, and one plain write of
/// one buffer where a header apart from its payload would need a vectored write of two (the
/// kernel's cheaper path: about a tenth less server CPU per delivery when broadcasting 1 KiB
/// to 10,000 sessions one message at a time). The payload is copied once, here. On a server that
/// compresses without context takeover, the compressed frame is built the first time a
/// connection of its group (window bits and level) needs it, then shared by every other one.
/// Other connections (clients, which mask each frame with their own key, and servers that keep
/// their compression context) encode it as [`send`](crate::Connection::send) does.
///
/// ```
/// use laputa_core::bytes::Buf;
/// use laputa_core::{Config, Connection, PreparedMessage, Role};
/// use std::time::Instant;
///
/// let news = PreparedMessage::new(format!("{{\"news\": \"{}\"}}", "x".repeat(300)));
/// let mut sessions: Vec<Connection> =
///     (0..3).map(|_| Connection::new(Role::Server, Config::default())).collect();
/// for session in &mut sessions {
///     assert!(session.shares_prepared());
///     session.send_prepared(&news)?;
///     assert_eq!(session.pending_transmit(), news.wire_len());
/// }
/// // Every queue holds the one frame, not a copy of it.
/// for session in &mut sessions {
///     let queue = session.transmit(Instant::now());
///     let frame = queue.copy_to_bytes(queue.chunk().len());
///     assert_eq!(frame[..4], [0x81, 126, 0x01, 0x38], "FIN, text, 312 bytes");
///     assert_eq!(frame[4..].as_ptr(), news.payload().as_ptr());
/// }
/// # Ok::<(), laputa_core::Error>(())
/// ```
pub struct PreparedMessage {
    /// The message, whose payload is a slice of `frame`.
    message: Message,
    /// The uncompressed server frame: header, then payload.
    frame: Bytes,
    /// Compressed frames (header and payload), one per group (`PerMessageDeflate::shared_group`:
    /// window bits and level), made on first use; the table itself is allocated only once a compressing connection
    /// asks.
    compressed: OnceLock<Box<[OnceLock<Bytes>]>>,
}

impl PreparedMessage {
    /// Prepares `message`: builds its server frame header. Compressed frames are built later,
    /// by the first connection that needs each.
    ///
    /// ```
    /// use laputa_core::{MessageKind, PreparedMessage};
    ///
    /// let text = PreparedMessage::new("hello");
    /// assert_eq!(text.kind(), MessageKind::Text);
    /// let binary = PreparedMessage::new(vec![1u8, 2, 3]);
    /// assert_eq!(binary.kind(), MessageKind::Binary);
    /// ```
    pub fn new(message: impl Into<Message>) -> Self {
        let message = message.into();
        let payload = message.payload();
        let (header, header_len) = server_header(message.kind(), false, payload.len() as u64).encode_array();
        let mut frame = BytesMut::with_capacity(header_len + payload.len());
        frame.extend_from_slice(&header[..header_len]);
        frame.extend_from_slice(payload);
        let frame = frame.freeze();
        let payload = frame.slice(header_len..);
        let message = match message {
            // Valid UTF-8: the same bytes as the text's.
            Message::Text(_) => Message::Text(Utf8Bytes::from_validated(payload)),
            Message::Binary(_) => Message::Binary(payload),
        };
        Self { message, frame, compressed: OnceLock::new() }
    }

    /// Text or binary.
    ///
    /// ```
    /// use laputa_core::{MessageKind, PreparedMessage};
    ///
    /// assert_eq!(PreparedMessage::new("hi").kind(), MessageKind::Text);
    /// ```
    pub fn kind(&self) -> MessageKind {
        self.message.kind()
    }

    /// The payload, uncompressed: a slice of the frame that uncompressed server frames share.
    ///
    /// ```
    /// use laputa_core::PreparedMessage;
    ///
    /// let prepared = PreparedMessage::new(vec![7u8; 4096]);
    /// assert_eq!(prepared.payload()[..], [7u8; 4096]);
    /// assert_eq!(prepared.wire_len(), 4 + 4096, "a 4-byte header before it");
    /// ```
    pub fn payload(&self) -> &Bytes {
        self.message.payload_bytes()
    }

    /// The payload's length in bytes.
    ///
    /// ```
    /// use laputa_core::PreparedMessage;
    ///
    /// assert_eq!(PreparedMessage::new("héllo").len(), 6);
    /// ```
    pub fn len(&self) -> usize {
        self.message.payload().len()
    }

    /// Whether the payload is empty.
    ///
    /// ```
    /// use laputa_core::PreparedMessage;
    ///
    /// assert!(PreparedMessage::new("").is_empty());
    /// assert!(!PreparedMessage::new("x").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the uncompressed server frame, header and payload: what a server's queue holds
    /// for this message when it is not compressed, for an outbox to account.
    ///
    /// ```
    /// use laputa_core::PreparedMessage;
    ///
    /// assert_eq!(PreparedMessage::new(vec![0u8; 125]).wire_len(), 2 + 125);
    /// assert_eq!(PreparedMessage::new(vec![0u8; 126]).wire_len(), 4 + 126);
    /// assert_eq!(PreparedMessage::new(vec![0u8; 65_536]).wire_len(), 10 + 65_536);
    /// ```
    pub fn wire_len(&self) -> usize {
        self.frame.len()
    }

    /// The message again, sharing the payload's memory.
    ///
    /// ```
    /// use laputa_core::{Message, PreparedMessage};
    ///
    /// let prepared = PreparedMessage::new("hello");
    /// assert_eq!(prepared.message(), Message::from("hello"));
    /// ```
    pub fn message(&self) -> Message {
        self.message.clone()
    }

    /// The uncompressed server frame, header and payload.
    pub(crate) fn frame(&self) -> &Bytes {
        &self.frame
    }

    /// The compressed server frame of `group`, made with `compress` (which appends the
    /// compressed payload of the whole message to the vector it is given) by the first caller of
    /// the group; every other caller, on any thread, gets the same bytes.
    pub(crate) fn compressed_frame(&self, group: usize, compress: impl FnOnce(&[u8], &mut Vec<u8>)) -> &Bytes {
        let table = self.compressed.get_or_init(|| (0..SHARED_GROUPS).map(|_| OnceLock::new()).collect());
        table[group].get_or_init(|| {
            // The payload is compressed behind room for the longest header, which is then
            // written just before it: the frame is one buffer, with no copy of the payload.
            let mut frame = vec![0; SERVER_HEADER_LEN];
            compress(self.message.payload(), &mut frame);
            let len = (frame.len() - SERVER_HEADER_LEN) as u64;
            // RSV1: a compressed message (RFC 7692 section 6).
            let (encoded, header_len) = server_header(self.kind(), true, len).encode_array();
            let start = SERVER_HEADER_LEN - header_len;
            frame[start..SERVER_HEADER_LEN].copy_from_slice(&encoded[..header_len]);
            Bytes::from(frame).slice(start..)
        })
    }

    /// How many compressed frames were built so far.
    fn compressed_count(&self) -> usize {
        self.compressed.get().map_or(0, |table| table.iter().filter(|frame| frame.get().is_some()).count())
    }
}

/// The header of a server's frame holding a whole message of `kind`.
fn server_header(kind: MessageKind, compressed: bool, len: u64) -> FrameHeader {
    let opcode = match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    };
    FrameHeader { fin: true, rsv: [compressed, false, false], opcode, mask: None, len }
}

impl From<Message> for PreparedMessage {
    fn from(message: Message) -> Self {
        Self::new(message)
    }
}

impl fmt::Debug for PreparedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedMessage")
            .field("kind", &self.kind())
            .field("len", &self.len())
            .field("wire_len", &self.wire_len())
            .field("compressed_frames", &self.compressed_count())
            .finish()
    }
}

#[cfg(test)]
mod tests;
