//! The WebSocket connection after the opening handshake: framing, message assembly, control
//! frames and the close handshake (RFC 6455 sections 5 and 7), as a sans-IO state machine.

use crate::close::{CloseCode, CloseFrame, MAX_REASON_LEN};
use crate::deflate::{DeflateParams, PerMessageDeflate};
use crate::error::{Error, ProtocolError};
use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::idle::IdleTimer;
use crate::input::InputBuffer;
use crate::keepalive::{self, KeepaliveTimer};
use crate::mask::apply_mask;
use crate::message::{Closed, Event, Message, MessageKind, Utf8Bytes};
use crate::prepared::PreparedMessage;
use crate::room_ahead::RoomAhead;
use crate::transmit::{TransmitQueue, SHARE_MIN};
use crate::utf8::{self, Utf8Validator};
use crate::write_stall::WriteStall;
use crate::{Config, Rng};
use bytes::buf::Limit;
use bytes::{Buf, Bytes, BytesMut};
use std::collections::VecDeque;
use std::time::Instant;
use tracing::{debug, trace};

/// Largest empty buffer kept for reuse; larger ones are released once drained.
const KEEP_BUFFER: usize = 16 * 1024;

/// Most answers to pings in the transmit queue and not yet written (see `on_ping`).
const MAX_QUEUED_PONGS: usize = 16;

/// Which end of the connection this endpoint is.
///
/// ```
/// use laputa_core::{Config, Connection, Message, Role};
/// use std::time::Instant;
///
/// let mut client = Connection::new(Role::Client, Config::default());
/// let mut server = Connection::new(Role::Server, Config::default());
/// let (mut from_client, mut from_server) = (Vec::new(), Vec::new());
/// client.send(Message::from("hi"))?;
/// client.poll_transmit(Instant::now(), &mut from_client);
/// server.send(Message::from("hi"))?;
/// server.poll_transmit(Instant::now(), &mut from_server);
/// assert_eq!(from_client[1], 0x80 | 2, "a client masks: the mask bit, then a 4-byte key");
/// assert_eq!(from_client.len(), 2 + 4 + 2);
/// assert_eq!(from_server, [0x81, 0x02, b'h', b'i'], "a server does not");
/// # Ok::<(), laputa_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The endpoint that opened the connection; it masks every frame it sends.
    Client,
    /// The endpoint that accepted it; it closes the TCP connection first.
    Server,
}

/// Where a connection stands in its life. (Before this, the opening handshake is the
/// `Connecting` state; it is represented by the [`handshake`](crate::handshake) types.)
///
/// ```
/// use laputa_core::{CloseCode, Config, Connection, Role, State};
/// # use std::time::Instant;
///
/// let mut client = Connection::new(Role::Client, Config::default());
/// # let mut server = Connection::new(Role::Server, Config::default());
/// assert_eq!(client.state(), State::Open);
/// client.close(CloseCode::NORMAL, "")?;
/// assert_eq!(client.state(), State::Closing);
/// # let mut from_client = Vec::new();
/// # client.poll_transmit(Instant::now(), &mut from_client);
/// # server.handle_input(&from_client);
/// # while server.poll_event().is_some() {}
/// # let mut from_server = Vec::new();
/// # server.poll_transmit(Instant::now(), &mut from_server);
/// // The server's close frame answers ours.
/// client.handle_input(&from_server);
/// while client.poll_event().is_some() {}
/// assert_eq!(client.state(), State::Closed);
/// # Ok::<(), laputa_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's.
    Closing,
    /// The WebSocket connection is over; only TCP teardown remains.
    Closed,
}

/// A WebSocket connection, as a state machine that never blocks and never touches a socket.
///
/// Its methods fall in four groups, as in quinn-proto:
/// - **input**: [`handle_input`](Self::handle_input) (bytes read from the peer),
///   [`handle_eof`](Self::handle_eof) (the peer closed its side), and
///   [`handle_timeout`](Self::handle_timeout) (the deadline from `poll_timeout` passed);
/// - **commands** from the application: [`send`](Self::send), [`send_fragment`](Self::send_fragment),
///   [`ping`](Self::ping), [`pong`](Self::pong), [`close`](Self::close);
/// - **output**, polled in this order after every input or command:
///   [`poll_event`](Self::poll_event) until `None`, [`poll_transmit`](Self::poll_transmit) (write
///   what it gives), [`poll_shutdown`](Self::poll_shutdown) (shut down the TCP write side once
///   everything taken so far is written), [`poll_timeout`](Self::poll_timeout) (re-arm the one
///   timer), and [`is_finished`](Self::is_finished) (drop the socket);
/// - **getters**: [`role`](Self::role), [`state`](Self::state),
///   [`pending_transmit`](Self::pending_transmit).
///
/// The core answers pings, assembles fragments, validates UTF-8, enforces the limits of
/// [`Config`] and runs the close handshake; a driver only moves bytes and time.
///
/// ```
/// use laputa_core::{Config, Connection, Event, Message, Role};
/// use std::time::Instant;
///
/// let mut server = Connection::new(Role::Server, Config::default());
/// // A masked text frame "Hello" from RFC 6455 section 5.7.
/// server.handle_input(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// assert_eq!(server.poll_event(), Some(Event::Message(Message::from("Hello"))));
/// server.send(Message::from("Hello")).unwrap();
/// let mut out = Vec::new();
/// server.poll_transmit(Instant::now(), &mut out);
/// assert_eq!(out, [0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
/// ```
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    rng: Rng,
    /// Received bytes not yet consumed: at most one partial frame.
    inbuf: InputBuffer,
    /// The frame whose header has been read and whose payload is arriving.
    frame: Option<PartialFrame>,
    /// The data message being received.
    incoming: Option<Incoming>,
    /// Room to lend for the next frames before their header arrives, after a large frame.
    ahead: RoomAhead,
    events: VecDeque<Event>,
    /// Bytes for the peer not yet written: the handshake's 101 response, then frames.
    transmit: TransmitQueue,
    /// Where in the transmit queue each answer to a ping not yet written ends, oldest first: at
    /// most [`MAX_QUEUED_PONGS`].
    queued_pongs: VecDeque<u64>,
    /// The newest answer to a ping that found [`MAX_QUEUED_PONGS`] answers unwritten: the one
    /// pending pong.
    waiting_pong: Option<Bytes>,
    /// The fragmented message being sent, if one is unfinished: its kind and whether it is
    /// compressed.
    outgoing: Option<(MessageKind, bool)>,
    /// Where the UTF-8 of the fragmented text being sent stands: a code point may be split
    /// between fragments.
    outgoing_text: Utf8Validator,
    /// permessage-deflate, when negotiated.
    deflate: Option<Box<PerMessageDeflate>>,
    /// Compressed payloads on their way into `out`.
    scratch: Vec<u8>,
    close: State,
    /// Our close frame is queued but not yet taken by `poll_transmit`.
    close_queued: bool,
    close_deadline: Option<Instant>,
    keepalive: KeepaliveTimer,
    idle: IdleTimer,
    /// The write-stall deadline: output waiting with none of it written.
    stall: WriteStall,
    /// The peer's FIN arrived; it takes effect once the input before it is read.
    eof: bool,
    shutdown: Shutdown,
    finished: bool,
}

#[derive(Debug, Clone, Copy)]
struct PartialFrame {
    header: FrameHeader,
    /// How much of the payload at the front of `inbuf` is already unmasked (and validated).
    unmasked: usize,
}

#[derive(Debug)]
struct Incoming {
    kind: MessageKind,
    /// RSV1 was set on the first frame: the payload is deflated.
    compressed: bool,
    fragments: usize,
    /// Payload bytes received so far.
    size: usize,
    /// Fragments joined so far; empty for a message of one frame.
    data: BytesMut,
    utf8: Utf8Validator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shutdown {
    NotYet,
    Due,
    Done,
}

impl Connection {
    /// A connection in the `Open` state, for a stream whose upgrade is already done (by the
    /// [`handshake`](crate::handshake) types, or by another HTTP stack such as hyper). A client
    /// masks with keys from the operating system's CSPRNG.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Role, State};
    ///
    /// // Another HTTP stack (such as hyper) answered the upgrade with 101 already.
    /// let server = Connection::new(Role::Server, Config::default());
    /// assert_eq!(server.state(), State::Open);
    /// assert_eq!(server.pending_transmit(), 0, "no handshake response to send");
    /// ```
    pub fn new(role: Role, config: Config) -> Self {
        Self::with_rng(role, config, Rng::os())
    }

    /// Like [`new`](Self::new), with the source of masking keys given (seeded in tests).
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Message, Rng, Role};
    /// use std::time::Instant;
    ///
    /// let mut wires = [Vec::new(), Vec::new()];
    /// for wire in &mut wires {
    ///     let mut client = Connection::with_rng(Role::Client, Config::default(), Rng::seeded(7));
    ///     client.send(Message::from("Hello"))?;
    ///     client.poll_transmit(Instant::now(), wire);
    /// }
    /// assert_eq!(wires[0], wires[1], "seeded alike, two clients mask alike");
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn with_rng(role: Role, config: Config, rng: Rng) -> Self {
        let keepalive = KeepaliveTimer::new(config.keepalive);
        Self {
            role,
            config,
            rng,
            inbuf: InputBuffer::default(),
            frame: None,
            incoming: None,
            ahead: RoomAhead::default(),
            events: VecDeque::new(),
            transmit: TransmitQueue::default(),
            queued_pongs: VecDeque::new(),
            waiting_pong: None,
            outgoing: None,
            outgoing_text: Utf8Validator::default(),
            deflate: None,
            scratch: Vec::new(),
            close: State::Open,
            close_queued: false,
            close_deadline: None,
            keepalive,
            idle: IdleTimer::new(),
            stall: WriteStall::new(),
            eof: false,
            shutdown: Shutdown::NotYet,
            finished: false,
        }
    }

    /// A connection whose handshake negotiated permessage-deflate with `params` (from the
    /// [`handshake`](crate::handshake) types, or from another HTTP stack's negotiation with
    /// [`deflate::server_negotiate`](crate::deflate::server_negotiate) /
    /// [`deflate::client_accept`](crate::deflate::client_accept)). Compression level and
    /// threshold come from [`Config::deflate`], or its defaults.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, DeflateParams, Event, Message, Rng, Role};
    /// use std::time::Instant;
    ///
    /// // Both ends agreed on permessage-deflate without parameters.
    /// let params = DeflateParams::default();
    /// let mut server = Connection::with_deflate(Role::Server, Config::default(), Rng::os(), params);
    /// let mut client = Connection::with_deflate(Role::Client, Config::default(), Rng::os(), params);
    /// let text = "All work and no play makes Jack a dull boy. ".repeat(20);
    /// server.send(Message::from(text.clone()))?;
    /// let mut wire = Vec::new();
    /// server.poll_transmit(Instant::now(), &mut wire);
    /// assert_eq!(wire[0], 0x80 | 0x40 | 0x1, "FIN, RSV1 (compressed), text");
    /// assert!(wire.len() < text.len() / 4);
    /// client.handle_input(&wire);
    /// assert_eq!(client.poll_event(), Some(Event::Message(Message::from(text))));
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn with_deflate(role: Role, config: Config, rng: Rng, params: DeflateParams) -> Self {
        let deflate = PerMessageDeflate::new(role, params, config.deflate.as_ref());
        let mut connection = Self::with_rng(role, config, rng);
        connection.deflate = Some(Box::new(deflate));
        connection
    }

    /// Whether permessage-deflate is on for this connection.
    ///
    /// ```
    /// use laputa_core::handshake::{Accept, ServerHandshake};
    /// use laputa_core::{Config, DeflateConfig};
    /// use std::time::Instant;
    ///
    /// let mut config = Config::default();
    /// config.deflate = Some(DeflateConfig::default());
    /// let mut handshake = ServerHandshake::new(config, Instant::now());
    /// let request = b"GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    ///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
    ///     Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
    /// let incoming = handshake.handle_input(request)?.expect("the head is complete");
    /// let connection = incoming.accept(Accept::new())?;
    /// assert!(connection.is_compressed(), "the client offered it and the server allows it");
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn is_compressed(&self) -> bool {
        self.deflate.is_some()
    }

    /// Queues bytes to go out before any frame (the handshake's 101 response).
    pub(crate) fn queue_raw(&mut self, bytes: &[u8]) {
        self.transmit.push_slice(bytes);
    }

    // ---- getters ----

    /// Client or server.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Role};
    ///
    /// let client = Connection::new(Role::Client, Config::default());
    /// assert_eq!(client.role(), Role::Client);
    /// ```
    pub fn role(&self) -> Role {
        self.role
    }

    /// Open, closing or closed.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Role, State};
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// assert_eq!(server.state(), State::Open);
    /// server.handle_input(&[0x81, 0x02, b'h', b'i']); // not masked: the client broke the protocol
    /// assert_eq!(server.state(), State::Open, "input is read as events are polled");
    /// while server.poll_event().is_some() {}
    /// assert_eq!(server.state(), State::Closed);
    /// ```
    pub fn state(&self) -> State {
        self.close
    }

    /// The settings this connection runs with.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Role};
    ///
    /// let mut config = Config::default();
    /// config.max_message_size = 1 << 20;
    /// let server = Connection::new(Role::Server, config);
    /// assert_eq!(server.config().max_message_size, 1 << 20);
    /// ```
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Bytes queued for sending and not yet taken by [`poll_transmit`](Self::poll_transmit);
    /// drivers apply backpressure on it.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Message, Role};
    /// use std::time::Instant;
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// server.send(Message::from(vec![0u8; 1000]))?;
    /// assert_eq!(server.pending_transmit(), 4 + 1000);
    /// let mut socket = Vec::new(); // stands in for a socket
    /// server.poll_transmit(Instant::now(), &mut socket);
    /// assert_eq!(server.pending_transmit(), 0);
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn pending_transmit(&self) -> usize {
        self.transmit.remaining() + self.waiting_pong.as_ref().map_or(0, |p| p.len() + 2)
    }

    /// Bytes of output the driver has taken from [`transmit`](Self::transmit) (advanced past)
    /// since the connection was made. With [`transmit_end`](Self::transmit_end) it tells when
    /// a given message is written: a driver notes `transmit_end()` after queueing it, and the
    /// message is out once `transmitted()` reaches that.
    ///
    /// ```
    /// use laputa_core::bytes::Buf;
    /// use laputa_core::{Config, Connection, Message, Role};
    /// use std::time::Instant;
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// server.send(Message::from("Hello"))?;
    /// let end = server.transmit_end();
    /// assert_eq!((server.transmitted(), end), (0, 7));
    /// server.transmit(Instant::now()).advance(3);
    /// assert!(server.transmitted() < end, "written in part");
    /// server.transmit(Instant::now()).advance(4);
    /// assert_eq!(server.transmitted(), end, "written whole");
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn transmitted(&self) -> u64 {
        self.transmit.written()
    }

    /// The position, counted as [`transmitted`](Self::transmitted) counts, just after the last
    /// byte queued in the transmit queue.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Role};
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// server.ping(b"")?;
    /// assert_eq!(server.transmit_end(), 2);
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn transmit_end(&self) -> u64 {
        self.transmit.end_position()
    }

    /// Whether [`transmit`](Self::transmit) has anything to do: bytes to hand over, an answer to
    /// a ping waiting to join the queue, or a clock reading to take (the keepalive interval
    /// restarts after input). Lets a driver skip reading the clock on a connection with
    /// nothing to send; see [`TransmitQueue`] for the loop that writes until it is false.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Message, Role};
    /// use std::time::Instant;
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// let mut socket = Vec::new(); // stands in for a socket
    /// assert!(server.wants_transmit(), "a first clock reading starts the keepalive interval");
    /// server.poll_transmit(Instant::now(), &mut socket);
    /// assert!(!server.wants_transmit(), "nothing to do: no need to read the clock");
    /// server.send(Message::from("Hello"))?;
    /// assert!(server.wants_transmit());
    /// let mut socket = Vec::new(); // stands in for a socket
    /// server.poll_transmit(Instant::now(), &mut socket);
    /// assert!(!server.wants_transmit());
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn wants_transmit(&self) -> bool {
        self.transmit.has_remaining()
            || self.waiting_pong.is_some()
            || self.close_queued
            || self.keepalive.wants_clock()
            || self.idle.wants_clock(self.idle_settings())
    }

    /// True once nothing more will happen on this connection: the driver flushes what
    /// `poll_transmit` gives and drops the socket. Reached at the peer's EOF after the close
    /// handshake, or when the close timeout expires.
    ///
    /// ```
    /// use laputa_core::{CloseCode, Config, Connection, Role};
    /// use std::time::Instant;
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// # let mut client = Connection::new(Role::Client, Config::default());
    /// # client.close(CloseCode::NORMAL, "")?;
    /// # let mut from_client = Vec::new();
    /// # client.poll_transmit(Instant::now(), &mut from_client);
    /// // The client closes: the close handshake completes, then the TCP connection.
    /// server.handle_input(&from_client);
    /// while server.poll_event().is_some() {}
    /// let mut socket = Vec::new(); // stands in for a socket
    /// server.poll_transmit(Instant::now(), &mut socket);
    /// assert!(server.poll_shutdown());
    /// assert!(!server.is_finished(), "the client's FIN has not arrived");
    /// server.handle_eof();
    /// assert_eq!(server.poll_event(), None);
    /// assert!(server.is_finished());
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    // ---- input ----

    /// Feeds bytes received from the peer. Frames are read as [`poll_event`](Self::poll_event)
    /// is called, one event at a time, so that the application's answer to a message goes out
    /// before a protocol error later in the same read fails the connection. A violation queues
    /// the close frame with the matching code and ends in [`Event::Closed`] with its error.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Event, Message, Role};
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// // A masked text frame "Hello" from RFC 6455 section 5.7, in two reads.
    /// let frame = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    /// server.handle_input(&frame[..6]);
    /// assert_eq!(server.poll_event(), None, "the frame is incomplete");
    /// server.handle_input(&frame[6..]);
    /// assert_eq!(server.poll_event(), Some(Event::Message(Message::from("Hello"))));
    /// ```
    pub fn handle_input(&mut self, data: &[u8]) {
        if self.close == State::Closed || self.eof {
            return; // After the close handshake, a failure or EOF, input is discarded.
        }
        if data.len() >= Self::LEND_MIN && self.frame.is_none() && self.inbuf.len() == 0 {
            self.reserve_for_frame(data);
        }
        self.inbuf.extend(data);
        self.keepalive.on_input();
    }

    /// On the first read of a large frame, sizes the input buffer for the whole frame at once,
    /// so that the room lent for the rest does not move what came first. A header that the
    /// limits refuse reserves nothing (it fails when read).
    fn reserve_for_frame(&mut self, data: &[u8]) {
        if let Ok(Some((header, header_len))) = FrameHeader::parse(data) {
            let frame_len = usize::try_from(header.len).ok().filter(|&len| len <= self.config.max_frame_size);
            if let Some(total) = frame_len.map(|len| header_len + len).filter(|&total| total > data.len()) {
                self.inbuf.reserve(total);
            }
        }
    }

    /// Room inside the core's input buffer to read the next bytes into, while a frame of at
    /// least [`LEND_MIN`](Self::LEND_MIN) more bytes is arriving: reading there instead of into
    /// a buffer of the driver's saves copying the payload in [`handle_input`](Self::handle_input).
    /// The room holds exactly the rest of the frame (bounded by `max_frame_size`, checked at its
    /// header), zeroed. After reading `n` bytes into its front, call
    /// [`handle_input_read`](Self::handle_input_read). `None` otherwise: read anywhere and call
    /// `handle_input`.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Event, Role};
    /// use std::io::Read;
    ///
    /// // A client receiving an unmasked 100 KB binary frame from a server.
    /// let mut wire = vec![0x82, 127, 0, 0, 0, 0, 0, 1, 0x86, 0xa0];
    /// wire.extend(std::iter::repeat(7u8).take(100_000));
    /// let mut socket = &wire[..]; // stands in for a socket
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// let mut scratch = [0u8; 4096];
    /// let message = loop {
    ///     if let Some(event) = client.poll_event() {
    ///         break event;
    ///     }
    ///     match client.input_room() {
    ///         Some(room) => {
    ///             let n = socket.read(room).unwrap();
    ///             client.handle_input_read(n);
    ///         }
    ///         None => {
    ///             let n = socket.read(&mut scratch).unwrap();
    ///             client.handle_input(&scratch[..n]);
    ///         }
    ///     }
    /// };
    /// let Event::Message(message) = message else { panic!("{message:?}") };
    /// assert_eq!(message.payload().len(), 100_000);
    /// ```
    pub fn input_room(&mut self) -> Option<&mut [u8]> {
        let rest = self.lendable_rest()?;
        Some(self.inbuf.room(rest))
    }

    /// The same room as [`input_room`](Self::input_room), as spare capacity for a reader that
    /// appends through [`BufMut`](bytes::BufMut) (such as tokio's `AsyncReadExt::read_buf`): it
    /// is not zeroed, so a large frame costs no pass over its memory before it is read. Append
    /// at most its [`limit`](Limit::limit) (its `remaining_mut`), through `BufMut` only, then call
    /// [`handle_input_read`](Self::handle_input_read) with the number of bytes appended.
    ///
    /// ```
    /// use laputa_core::bytes::BufMut;
    /// use laputa_core::{Config, Connection, Event, Role};
    ///
    /// // A client receiving an unmasked 100 KB binary frame from a server.
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// client.handle_input(&[0x82, 127, 0, 0, 0, 0, 0, 1, 0x86, 0xa0]);
    /// assert_eq!(client.poll_event(), None, "the payload has not arrived yet");
    /// let mut room = client.input_room_buf().expect("a large frame is arriving");
    /// assert_eq!(room.remaining_mut(), 100_000);
    /// room.put_bytes(7, 100_000); // stands in for a read from the socket
    /// client.handle_input_read(100_000);
    /// let Some(Event::Message(message)) = client.poll_event() else { panic!() };
    /// assert_eq!(message.payload().len(), 100_000);
    /// ```
    #[inline]
    pub fn input_room_buf(&mut self) -> Option<Limit<&mut BytesMut>> {
        // Between small frames (the usual case) there is nothing to lend.
        if self.frame.is_none() && !self.ahead.is_some() {
            return None;
        }
        let rest = self.lendable_rest().or_else(|| self.room_ahead())?;
        Some(self.inbuf.spare_room(rest))
    }

    /// Room for a whole next frame, lent by [`input_room_buf`](Self::input_room_buf) before its
    /// header arrives when the last frame was large (spare capacity costs nothing to lend, so
    /// a peer that keeps sending large frames has them read straight into the core, header and
    /// all). A driver whose read finds nothing gives it back with
    /// [`release_input_room`](Self::release_input_room).
    fn room_ahead(&self) -> Option<usize> {
        let idle = self.frame.is_none() && self.inbuf.len() == 0;
        let open = self.close != State::Closed && !self.eof && self.events.is_empty();
        (idle && open && self.ahead.is_some()).then(|| self.ahead.room())
    }

    /// The read into [`input_room_buf`](Self::input_room_buf) found nothing yet (it would
    /// block): room lent ahead of a frame that has not begun is released, so that a connection
    /// waiting for its peer holds no buffer. Room for the rest of a frame already arriving is
    /// kept.
    ///
    /// ```
    /// use laputa_core::bytes::BufMut;
    /// use laputa_core::{Config, Connection, Event, Role};
    ///
    /// // A client that has just received `frame`, a 64 KiB binary frame from a server.
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// # let mut frame = vec![0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0];
    /// # frame.resize(10 + 65_536, 7);
    /// # client.handle_input(&frame);
    /// # assert!(matches!(client.poll_event(), Some(Event::Message(_))));
    /// // The core lends room for the next frame, header and all, before it arrives...
    /// let room = client.input_room_buf().expect("room ahead after a large frame");
    /// assert!(room.remaining_mut() >= frame.len());
    /// // ...but the socket has nothing yet (the read would block): the room goes back.
    /// client.release_input_room();
    /// // Later the next frame arrives, and is read into room lent again.
    /// let mut room = client.input_room_buf().expect("room ahead after a large frame");
    /// room.put_slice(&frame);
    /// client.handle_input_read(frame.len());
    /// let Some(Event::Message(message)) = client.poll_event() else { panic!() };
    /// assert_eq!(message.payload().len(), 65_536);
    /// ```
    pub fn release_input_room(&mut self) {
        if self.frame.is_none() {
            self.inbuf.release_if_empty_and_large();
        }
    }

    /// The rest of the frame arriving, when it is large enough to be read into the core.
    fn lendable_rest(&self) -> Option<usize> {
        if self.close == State::Closed || self.eof || !self.events.is_empty() {
            return None;
        }
        let frame = self.frame.as_ref()?;
        let rest = usize::try_from(frame.header.len).ok()?.checked_sub(self.inbuf.len())?;
        (rest >= Self::LEND_MIN).then_some(rest)
    }

    /// Smallest rest of a frame that [`input_room`](Self::input_room) lends room for: below
    /// it, a read into the driver's own buffer costs as little.
    pub const LEND_MIN: usize = 32 * 1024;

    /// Counts `n` bytes read into the front of [`input_room`](Self::input_room) (or appended to
    /// [`input_room_buf`](Self::input_room_buf)) as received.
    ///
    /// # Panics
    /// If `n` is larger than the room lent, or than the bytes appended.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Event, Role};
    ///
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// // The header of an unmasked 100 KB binary frame from a server.
    /// client.handle_input(&[0x82, 127, 0, 0, 0, 0, 0, 1, 0x86, 0xa0]);
    /// assert_eq!(client.poll_event(), None);
    /// let room = client.input_room().expect("a large frame is arriving");
    /// room[..60_000].fill(7); // stands in for a read of 60 000 bytes from the socket
    /// client.handle_input_read(60_000);
    /// let room = client.input_room().expect("the rest of the frame");
    /// assert_eq!(room.len(), 40_000);
    /// room.fill(7);
    /// client.handle_input_read(40_000);
    /// let Some(Event::Message(message)) = client.poll_event() else { panic!() };
    /// assert_eq!(message.payload().len(), 100_000);
    /// ```
    pub fn handle_input_read(&mut self, n: usize) {
        // Only the room ahead is lent with no frame begun (`input_room_buf`).
        if self.frame.is_none() && self.inbuf.len() == 0 {
            self.ahead.on_read(n);
        }
        self.inbuf.commit(n);
        self.keepalive.on_input();
    }

    /// The peer closed its side of the TCP connection (read returned 0). Takes effect once the
    /// frames that arrived before it are read.
    ///
    /// ```
    /// use laputa_core::{CloseCode, Config, Connection, Event, Message, ProtocolError, Role};
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// // A masked text frame "Hello" from RFC 6455 section 5.7, then the client vanishes.
    /// server.handle_input(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    /// server.handle_eof();
    /// assert_eq!(server.poll_event(), Some(Event::Message(Message::from("Hello"))));
    /// let Some(Event::Closed(closed)) = server.poll_event() else { panic!() };
    /// assert_eq!((closed.code, closed.clean), (CloseCode::ABNORMAL, false));
    /// assert_eq!(closed.error, Some(ProtocolError::UnexpectedEof));
    /// assert!(server.is_finished());
    /// ```
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    /// Advances time: sends a keepalive ping or fails a silent peer when those are due, starts
    /// the close handshake at the idle timeout, fails the connection when its output stalled
    /// (nothing written for [`Config::write_stall_timeout`]: [`ProtocolError::WriteStalled`],
    /// finished at once), and finishes the connection once the close deadline passes.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Event, Keepalive, ProtocolError, Role};
    /// use std::time::{Duration, Instant};
    ///
    /// let mut config = Config::default();
    /// config.keepalive = Some(Keepalive { interval: Duration::from_secs(20), timeout: Duration::from_secs(10) });
    /// let mut server = Connection::new(Role::Server, config);
    /// let mut socket = Vec::new(); // stands in for a socket
    /// server.poll_transmit(Instant::now(), &mut socket);
    /// // 20 quiet seconds later: a ping.
    /// let deadline = server.poll_timeout().expect("the keepalive timer runs");
    /// server.handle_timeout(deadline);
    /// server.poll_transmit(deadline, &mut socket);
    /// assert_eq!(socket, [0x89, 0x00]);
    /// // 10 more seconds without a word from the client: it is gone.
    /// let deadline = server.poll_timeout().expect("waiting for the client");
    /// server.handle_timeout(deadline);
    /// let Some(Event::Closed(closed)) = server.poll_event() else { panic!() };
    /// assert_eq!(closed.error, Some(ProtocolError::KeepaliveTimeout));
    ///
    /// // A client that stops reading: the server's output waits, none of it written.
    /// let mut config = Config::default();
    /// config.keepalive = None; // else its ping, due at 20 s, comes first
    /// let mut server = Connection::new(Role::Server, config);
    /// server.send(laputa_core::Message::from(vec![0; 1 << 20]))?;
    /// let t0 = Instant::now();
    /// server.transmit(t0); // the socket takes nothing
    /// let deadline = server.poll_timeout().expect("the write-stall deadline");
    /// assert_eq!(deadline, t0 + Duration::from_secs(30));
    /// server.handle_timeout(deadline);
    /// let Some(Event::Closed(closed)) = server.poll_event() else { panic!() };
    /// assert_eq!(closed.error, Some(ProtocolError::WriteStalled));
    /// assert!(server.is_finished(), "drop the socket now");
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn handle_timeout(&mut self, now: Instant) {
        let (stall_timeout, written) = (self.config.write_stall_timeout, self.transmit.written());
        if self.stall.on_timeout(stall_timeout, now, written, self.transmit.has_remaining()) {
            self.fail_stalled();
            return;
        }
        let idle = self.idle_settings();
        if let Some(code) = self.idle.on_timeout(now, idle) {
            debug!(%code, "idle timeout: no data frame arrived in time, closing");
            // Only an open connection has a running idle timer.
            let _ = self.close(code, "idle timeout");
        }
        match self.keepalive.on_timeout(now) {
            keepalive::Action::Ping => {
                trace!("keepalive: the peer was quiet, pinging it");
                self.queue_frame(true, OpCode::Ping, b"");
            }
            keepalive::Action::PeerGone => self.fail(ProtocolError::KeepaliveTimeout),
            keepalive::Action::None => {}
        }
        if self.close_deadline.is_some_and(|deadline| now >= deadline) {
            self.close_deadline = None;
            if self.close != State::Closed {
                // We sent a close frame and the peer never answered.
                debug!("close handshake timed out: the peer never answered our close frame");
                self.discard_input();
                self.finish_close(CloseCode::ABNORMAL, String::new(), false, None);
            }
            self.finished = true;
        }
    }

    // ---- output ----

    /// The next event, in order of arrival.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Event, Message, Role};
    /// use std::time::Instant;
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// # let mut client = Connection::new(Role::Client, Config::default());
    /// # client.send(Message::from("one"))?;
    /// # client.ping(b"")?;
    /// # client.send(Message::from("two"))?;
    /// # let mut from_client = Vec::new();
    /// # client.poll_transmit(Instant::now(), &mut from_client);
    /// // One read brings "one", a ping and "two".
    /// server.handle_input(&from_client);
    /// assert_eq!(server.poll_event(), Some(Event::Message(Message::from("one"))));
    /// assert_eq!(server.poll_event(), Some(Event::Message(Message::from("two"))));
    /// assert_eq!(server.poll_event(), None);
    /// // The core answered the ping by itself.
    /// let mut socket = Vec::new(); // stands in for a socket
    /// server.poll_transmit(Instant::now(), &mut socket);
    /// assert_eq!(socket, [0x8a, 0x00]);
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.events.is_empty() && self.close != State::Closed {
            if let Err(error) = self.read_frames() {
                self.fail(error);
            }
            self.inbuf.release_if_empty_and_large();
        }
        if self.events.is_empty() && self.eof && !self.finished {
            self.on_eof();
        }
        self.events.pop_front()
    }

    /// The bytes waiting to be sent, for the driver to write: see [`TransmitQueue`]. What the
    /// driver advances past is gone; the rest stays for the next call and counts in
    /// [`pending_transmit`](Self::pending_transmit). `now` starts the close timeout when our close
    /// frame is handed over, and anchors the keepalive interval.
    ///
    /// An answer to a ping waits outside the queue while 16 earlier answers are unwritten (so
    /// that a peer that pings without reading cannot grow it), and joins it at the next call:
    /// after writing everything, call again while [`wants_transmit`](Self::wants_transmit) is
    /// true.
    ///
    /// ```
    /// use laputa_core::bytes::Buf;
    /// use laputa_core::{Config, Connection, Message, Role};
    /// use std::time::Instant;
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// server.send(Message::from("Hello"))?;
    /// let queue = server.transmit(Instant::now());
    /// assert_eq!(queue.chunk(), [0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
    /// queue.advance(3); // the socket took only 3 bytes
    /// assert_eq!(server.pending_transmit(), 4);
    /// assert_eq!(server.transmit(Instant::now()).chunk(), b"ello");
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn transmit(&mut self, now: Instant) -> &mut TransmitQueue {
        // The answer to a ping that waited joins once earlier answers are written.
        self.forget_written_pongs();
        if self.queued_pongs.len() < MAX_QUEUED_PONGS {
            self.queue_waiting_pong();
        }
        if self.close_queued {
            self.close_queued = false;
            // A timeout too large to represent (`Duration::MAX`) means no deadline.
            self.close_deadline = now.checked_add(self.config.close_timeout);
        }
        self.keepalive.on_transmit(now);
        let idle = self.idle_settings();
        self.idle.on_clock(now, idle);
        let stall_timeout = self.config.write_stall_timeout;
        self.stall.on_clock(stall_timeout, now, self.transmit.written(), self.transmit.has_remaining());
        &mut self.transmit
    }

    /// Moves every byte [`transmit`](Self::transmit) holds to the end of `buf` and returns how
    /// many: for drivers that want one contiguous buffer (this copies; writing from the queue
    /// does not).
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Message, Role};
    /// use std::time::Instant;
    ///
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// client.send(Message::from("Hello"))?;
    /// client.ping(b"")?;
    /// let mut out = b"earlier bytes".to_vec();
    /// let n = client.poll_transmit(Instant::now(), &mut out);
    /// assert_eq!(n, (2 + 4 + 5) + (2 + 4), "two masked frames, appended");
    /// assert!(out.starts_with(b"earlier bytes"));
    /// assert_eq!(client.pending_transmit(), 0);
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> usize {
        let start = buf.len();
        // Taking all of the queue makes room for the answers to pings still waiting.
        while self.transmit(now).has_remaining() {
            let queue = &mut self.transmit;
            buf.reserve(queue.remaining());
            while queue.has_remaining() {
                let step = queue.chunk().len();
                buf.extend_from_slice(queue.chunk());
                queue.advance(step);
            }
        }
        buf.len() - start
    }

    /// Returns true once, when the driver should shut down the TCP write side: after the close
    /// handshake on a server (RFC 6455 section 7.1.1: "the server MUST close the underlying TCP
    /// connection" first), after failing the connection, or on a client once the server's FIN
    /// arrived; and only when every byte from `poll_transmit` has been taken.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Role};
    /// use std::time::Instant;
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// server.handle_input(&[0x81, 0x02, b'h', b'i']); // not masked: the client broke the protocol
    /// while server.poll_event().is_some() {}
    /// assert!(!server.poll_shutdown(), "the close frame is not written yet");
    /// let mut socket = Vec::new(); // stands in for a socket
    /// server.poll_transmit(Instant::now(), &mut socket);
    /// assert!(server.poll_shutdown(), "now shut down the write side");
    /// assert!(!server.poll_shutdown(), "only once");
    /// ```
    pub fn poll_shutdown(&mut self) -> bool {
        if self.shutdown == Shutdown::Due && self.pending_transmit() == 0 {
            self.shutdown = Shutdown::Done;
            return true;
        }
        false
    }

    /// When the driver must call [`handle_timeout`](Self::handle_timeout) next, if at all.
    ///
    /// ```
    /// use laputa_core::{CloseCode, Config, Connection, Role};
    /// use std::time::Instant;
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// assert_eq!(server.poll_timeout(), None, "no keepalive and no close handshake: no timer");
    /// server.close(CloseCode::NORMAL, "")?;
    /// let sent = Instant::now();
    /// let mut socket = Vec::new(); // stands in for a socket
    /// server.poll_transmit(sent, &mut socket);
    /// let deadline = server.poll_timeout().expect("the close timeout runs");
    /// assert_eq!(deadline, sent + server.config().close_timeout);
    /// // The client never answers.
    /// server.handle_timeout(deadline);
    /// assert!(server.is_finished());
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn poll_timeout(&self) -> Option<Instant> {
        let deadlines = [
            self.close_deadline,
            self.keepalive.poll_timeout(),
            self.idle.poll_timeout(),
            self.stall.poll_timeout(self.config.write_stall_timeout, self.transmit.has_remaining()),
        ];
        deadlines.into_iter().flatten().min().filter(|_| !self.finished)
    }

    // ---- commands ----

    /// Sends a whole message in one frame.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Event, Message, Role};
    /// # use std::time::Instant;
    ///
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// # let mut server = Connection::new(Role::Server, Config::default());
    /// client.send(Message::from("Hello"))?;
    /// client.send(Message::from(vec![1u8, 2, 3]))?;
    /// # let mut from_client = Vec::new();
    /// # client.poll_transmit(Instant::now(), &mut from_client);
    /// # server.handle_input(&from_client);
    /// assert_eq!(server.poll_event(), Some(Event::Message(Message::from("Hello"))));
    /// assert_eq!(server.poll_event(), Some(Event::Message(Message::from(vec![1u8, 2, 3]))));
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        self.send_data(message.kind(), message.payload(), Some(message.payload_bytes()), true)
    }

    /// Sends a whole message from borrowed bytes. Text is checked to be UTF-8
    /// ([`Error::InvalidUtf8`] otherwise, and nothing is sent): a peer fails the connection on
    /// invalid text. [`send`](Self::send) skips the check, since a [`Message`]'s text is
    /// valid by construction.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Error, MessageKind, Role};
    /// use std::time::Instant;
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// let buf = [1, 2, 3, 4, 5, 6]; // the application's own buffer
    /// server.send_message(MessageKind::Binary, &buf[..3])?;
    /// server.send_message(MessageKind::Text, "hi".as_bytes())?;
    /// let mut out = Vec::new();
    /// server.poll_transmit(Instant::now(), &mut out);
    /// assert_eq!(out, [0x82, 0x03, 1, 2, 3, 0x81, 0x02, b'h', b'i']);
    /// assert_eq!(server.send_message(MessageKind::Text, b"\xff"), Err(Error::InvalidUtf8));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn send_message(&mut self, kind: MessageKind, payload: &[u8]) -> Result<(), Error> {
        if kind == MessageKind::Text {
            utf8::validate(payload).map_err(|_| Error::InvalidUtf8)?;
        }
        self.send_data(kind, payload, None, true)
    }

    /// Sends a whole message without compressing it, even when permessage-deflate is on: for
    /// secrets sent alongside data an attacker controls (RFC 7692 section 8; CRIME and BREACH
    /// recover secrets from compressed sizes).
    ///
    /// ```
    /// use laputa_core::{Config, Connection, DeflateParams, Message, Rng, Role};
    /// use std::time::Instant;
    ///
    /// let params = DeflateParams::default();
    /// let mut server = Connection::with_deflate(Role::Server, Config::default(), Rng::os(), params);
    /// let secret = Message::from(format!("token={}", "x".repeat(100)));
    /// server.send_uncompressed(secret.clone())?;
    /// let mut out = Vec::new();
    /// server.poll_transmit(Instant::now(), &mut out);
    /// assert_eq!(out[0], 0x81, "FIN and text, RSV1 clear: not compressed");
    /// assert_eq!(&out[2..], secret.payload());
    /// // `send` compresses the same message.
    /// server.send(secret)?;
    /// out.clear();
    /// server.poll_transmit(Instant::now(), &mut out);
    /// assert_eq!(out[0], 0x80 | 0x40 | 0x1, "FIN, RSV1 (compressed), text");
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn send_uncompressed(&mut self, message: Message) -> Result<(), Error> {
        self.send_data(message.kind(), message.payload(), Some(message.payload_bytes()), false)
    }

    /// Queues a message prepared once for many connections (a broadcast): on a server, the
    /// frame [`PreparedMessage`] holds, shared with every other connection it is queued on.
    ///
    /// - A server without permessage-deflate queues the header (held inline in the transmit
    ///   queue) and the message's payload as its [`Bytes`]: no copy and no allocation for this
    ///   connection (payloads of 125 bytes or less are copied among the frames gathered for one
    ///   write, as `send` does).
    /// - A server that compresses without context takeover (`server_no_context_takeover`)
    ///   queues the compressed frame of its group (window bits and compression level), built
    ///   by the first connection of the group that sends it (with its own compressor, created
    ///   on first use as [`send`](Self::send) does; reset after every message, it compresses as
    ///   a fresh one) and shared by the others. A message shorter than
    ///   [`DeflateConfig::min_compress_size`](crate::DeflateConfig::min_compress_size) goes
    ///   uncompressed, as with `send`.
    /// - A server that keeps its compression context compresses it itself, and a client masks
    ///   it with its own key, both as `send` does: see [`shares_prepared`](Self::shares_prepared).
    ///
    /// The bytes join the same transmit queue as `send`'s, so backpressure and the write-stall
    /// deadline see them alike. Errors are `send`'s: [`Error::Closed`] once closing, and
    /// [`Error::FragmentMismatch`] while a fragmented message is being sent.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, DeflateParams, Event, Message, PreparedMessage, Rng, Role};
    /// use std::time::Instant;
    ///
    /// let news = PreparedMessage::new("All work and no play makes Jack a dull boy. ".repeat(20));
    /// // Two sessions that negotiated permessage-deflate without server context takeover.
    /// let mut params = DeflateParams::default();
    /// params.server_no_context_takeover = true;
    /// let mut wires = Vec::new();
    /// for _ in 0..2 {
    ///     let mut session = Connection::with_deflate(Role::Server, Config::default(), Rng::os(), params);
    ///     session.send_prepared(&news)?; // compressed by the first session, shared by the second
    ///     let mut wire = Vec::new();
    ///     session.poll_transmit(Instant::now(), &mut wire);
    ///     wires.push(wire);
    /// }
    /// assert_eq!(wires[0], wires[1]);
    /// assert_eq!(wires[0][0], 0x80 | 0x40 | 0x1, "FIN, RSV1 (compressed), text");
    /// let mut client = Connection::with_deflate(Role::Client, Config::default(), Rng::os(), params);
    /// client.handle_input(&wires[0]);
    /// assert_eq!(client.poll_event(), Some(Event::Message(news.message())));
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        let payload = message.payload();
        let Some(group) = self.prepared_sharing() else {
            return self.send_data(message.kind(), payload, Some(payload), true);
        };
        self.ensure_open()?;
        if self.outgoing.is_some() {
            return Err(Error::FragmentMismatch);
        }
        let compress = group.filter(|_| self.deflate.as_ref().is_some_and(|d| d.worth_compressing(payload.len())));
        if let (Some(group), Some(deflate)) = (compress, self.deflate.as_deref_mut()) {
            let frame = message.compressed_frame(group, |data, out| deflate.compress(data, true, out));
            if tracing::level_enabled!(tracing::Level::TRACE) {
                trace_frame("prepared frame queued", data_opcode(message.kind()), true, frame.len() as u64);
            }
            self.transmit.push_prepared(frame);
        } else {
            if tracing::level_enabled!(tracing::Level::TRACE) {
                trace_frame("prepared frame queued", data_opcode(message.kind()), true, payload.len() as u64);
            }
            self.transmit.push_prepared(message.frame());
        }
        Ok(())
    }

    /// Whether [`send_prepared`](Self::send_prepared) queues the bytes a [`PreparedMessage`]
    /// shares on this connection: on a server without permessage-deflate, or compressing
    /// without context takeover. A client masks each frame with its own key and a server that
    /// keeps its compression context compresses each message against its own history, so those
    /// encode the message themselves.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, DeflateParams, Rng, Role};
    ///
    /// assert!(Connection::new(Role::Server, Config::default()).shares_prepared());
    /// assert!(!Connection::new(Role::Client, Config::default()).shares_prepared());
    /// let mut params = DeflateParams::default(); // context takeover
    /// let server = Connection::with_deflate(Role::Server, Config::default(), Rng::os(), params);
    /// assert!(!server.shares_prepared());
    /// params.server_no_context_takeover = true;
    /// let server = Connection::with_deflate(Role::Server, Config::default(), Rng::os(), params);
    /// assert!(server.shares_prepared());
    /// ```
    pub fn shares_prepared(&self) -> bool {
        self.prepared_sharing().is_some()
    }

    /// How `send_prepared` queues here: `None` to encode the message as `send` does, else
    /// shared, with the group of its compressed frame when this connection compresses.
    fn prepared_sharing(&self) -> Option<Option<usize>> {
        if self.role != Role::Server {
            return None;
        }
        match &self.deflate {
            None => Some(None),
            Some(deflate) => deflate.shared_group().map(Some),
        }
    }

    /// Queues a whole message as one frame, compressed when allowed and worth it.
    fn send_data(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        shared: Option<&Bytes>,
        may_compress: bool,
    ) -> Result<(), Error> {
        self.ensure_open()?;
        if self.outgoing.is_some() {
            return Err(Error::FragmentMismatch);
        }
        let compress = may_compress && self.deflate.as_ref().is_some_and(|d| d.worth_compressing(payload.len()));
        self.queue_data(kind, true, true, compress, payload, shared);
        Ok(())
    }

    /// Sends one fragment of a message, so that a large message can be streamed without holding
    /// it whole. The first call starts a message of `kind`; later calls must give the same kind;
    /// `is_final` ends it. Control frames may be sent between fragments.
    ///
    /// Text is checked to be UTF-8 as it goes: a code point may be split between fragments, but
    /// a fragment with an invalid byte, or a final one that leaves a code point unfinished, is
    /// refused with [`Error::InvalidUtf8`]; nothing of it is sent and the message stays open.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Error, MessageKind, Role};
    /// use std::time::Instant;
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// server.send_fragment(MessageKind::Text, b"Hel", false)?;
    /// server.ping(b"")?; // control frames may come between fragments
    /// assert_eq!(server.send_fragment(MessageKind::Binary, b"?", true), Err(Error::FragmentMismatch));
    /// server.send_fragment(MessageKind::Text, b"lo", true)?;
    /// let mut out = Vec::new();
    /// server.poll_transmit(Instant::now(), &mut out);
    /// assert_eq!(out, [0x01, 0x03, b'H', b'e', b'l', 0x89, 0x00, 0x80, 0x02, b'l', b'o']);
    /// // "é" is two bytes: split between fragments, it is still text.
    /// server.send_fragment(MessageKind::Text, b"caf\xc3", false)?;
    /// assert_eq!(server.send_fragment(MessageKind::Text, b"", true), Err(Error::InvalidUtf8));
    /// server.send_fragment(MessageKind::Text, b"\xa9", true)?;
    /// # Ok::<(), Error>(())
    /// ```
    pub fn send_fragment(&mut self, kind: MessageKind, data: &[u8], is_final: bool) -> Result<(), Error> {
        self.ensure_open()?;
        let (first, compress) = match self.outgoing {
            None => (true, self.deflate.is_some()),
            Some((current, compress)) if current == kind => (false, compress),
            Some(_) => return Err(Error::FragmentMismatch),
        };
        if kind == MessageKind::Text {
            self.check_text_fragment(first, data, is_final)?;
        }
        self.outgoing = if is_final { None } else { Some((kind, compress)) };
        self.queue_data(kind, first, is_final, compress, data, None);
        Ok(())
    }

    /// Checks the next fragment of text being sent, keeping a code point split at its end; on
    /// error the state is left as it was, so that the caller may send a corrected fragment.
    fn check_text_fragment(&mut self, first: bool, data: &[u8], is_final: bool) -> Result<(), Error> {
        let mut text = if first { Utf8Validator::default() } else { self.outgoing_text.clone() };
        text.feed(data).map_err(|_| Error::InvalidUtf8)?;
        if is_final {
            text.finish().map_err(|_| Error::InvalidUtf8)?;
        }
        self.outgoing_text = text;
        Ok(())
    }

    /// Sends a ping; payloads are at most 125 bytes.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Error, Event, Role};
    /// # use std::time::Instant;
    ///
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// # let mut server = Connection::new(Role::Server, Config::default());
    /// client.ping(b"are you there?")?;
    /// assert_eq!(client.ping(&[0; 126]), Err(Error::ControlPayloadTooLong));
    /// # let mut from_client = Vec::new();
    /// # client.poll_transmit(Instant::now(), &mut from_client);
    /// # server.handle_input(&from_client);
    /// # while server.poll_event().is_some() {}
    /// # let mut from_server = Vec::new();
    /// # server.poll_transmit(Instant::now(), &mut from_server);
    /// // The server's core answers by itself.
    /// client.handle_input(&from_server);
    /// assert_eq!(client.poll_event(), Some(Event::Pong("are you there?".into())));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Sends an unsolicited pong (a one-way heartbeat); payloads are at most 125 bytes.
    ///
    /// ```
    /// use laputa_core::{Config, Connection, Event, Role};
    /// use std::time::Instant;
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// # let mut client = Connection::new(Role::Client, Config::default());
    /// server.pong(b"heartbeat")?;
    /// # let mut from_server = Vec::new();
    /// # server.poll_transmit(Instant::now(), &mut from_server);
    /// # client.handle_input(&from_server);
    /// assert_eq!(client.poll_event(), Some(Event::Pong("heartbeat".into())));
    /// let mut from_client = Vec::new();
    /// assert_eq!(client.poll_transmit(Instant::now(), &mut from_client), 0, "a pong is not answered");
    /// # Ok::<(), laputa_core::Error>(())
    /// ```
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_control(OpCode::Pong, payload)
    }

    /// Starts the close handshake. `code` must be sendable ([`CloseCode::is_sendable`]), or
    /// [`CloseCode::NO_STATUS`] with an empty reason to send a close frame without a body; the
    /// reason is at most 123 bytes. Calling it again while closing, or once closed, does nothing
    /// and returns `Ok` (the connection is ending as asked), where sending returns
    /// [`Error::Closed`].
    ///
    /// ```
    /// use laputa_core::{CloseCode, CloseFrame, Closed, Config, Connection, Error, Event, Role};
    /// # use std::time::Instant;
    ///
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// # let mut server = Connection::new(Role::Server, Config::default());
    /// assert_eq!(client.close(CloseCode::ABNORMAL, ""), Err(Error::InvalidCloseCode(1006)));
    /// client.close(CloseCode::NORMAL, "bye")?;
    /// let queued = client.pending_transmit();
    /// client.close(CloseCode::GOING_AWAY, "")?;
    /// assert_eq!(client.pending_transmit(), queued, "already closing: nothing more is queued");
    /// # let mut from_client = Vec::new();
    /// # client.poll_transmit(Instant::now(), &mut from_client);
    /// # server.handle_input(&from_client);
    /// let frame = CloseFrame { code: CloseCode::NORMAL, reason: "bye".into() };
    /// assert_eq!(server.poll_event(), Some(Event::CloseReceived(Some(frame))));
    /// let closed = Closed::new(CloseCode::NORMAL, "bye", true);
    /// assert_eq!(server.poll_event(), Some(Event::Closed(closed)));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let no_status = code == CloseCode::NO_STATUS && reason.is_empty();
        if !code.is_sendable() && !no_status {
            return Err(Error::InvalidCloseCode(code.0));
        }
        if reason.len() > MAX_REASON_LEN {
            return Err(Error::ControlPayloadTooLong);
        }
        if self.close == State::Open {
            debug!(%code, reason, "closing: close frame queued");
            let frame = (!no_status).then(|| CloseFrame { code, reason: reason.to_owned() });
            self.queue_close(frame.as_ref());
            self.close = State::Closing;
        }
        Ok(())
    }

    // ---- receiving ----

    /// Consumes every complete frame in `inbuf`, unmasking (and validating text) as the payload
    /// of an incomplete frame arrives, so that invalid UTF-8 fails fast.
    fn read_frames(&mut self) -> Result<(), ProtocolError> {
        while self.close != State::Closed {
            let mut frame = match self.frame.take() {
                Some(frame) => frame,
                None => match FrameHeader::parse(self.inbuf.data())? {
                    None => return Ok(()),
                    Some((header, header_len)) => {
                        if self.is_whole_message(&header, header_len) {
                            // It queued its message: one event per call, as below.
                            return self.read_whole_message(&header, header_len);
                        }
                        if tracing::level_enabled!(tracing::Level::TRACE) {
                            trace_frame("frame received", header.opcode, header.fin, header.len);
                        }
                        self.check_header(&header)?;
                        self.inbuf.advance(header_len);
                        PartialFrame { header, unmasked: 0 }
                    }
                },
            };
            // `check_header` bounded the length by `max_frame_size`, a `usize`.
            let len = frame.header.len as usize;
            let available = self.inbuf.len().min(len);
            if available > frame.unmasked {
                let fresh = &mut self.inbuf.data_mut()[frame.unmasked..available];
                if let Some(key) = frame.header.mask {
                    apply_mask(fresh, key, frame.unmasked);
                }
                if let Some(incoming) = self.incoming.as_mut().filter(|_| !frame.header.opcode.is_control()) {
                    if incoming.kind == MessageKind::Text && !incoming.compressed {
                        incoming.utf8.feed(fresh).map_err(|_| ProtocolError::InvalidUtf8)?;
                    }
                }
                frame.unmasked = available;
            }
            if available < len {
                self.frame = Some(frame);
                return Ok(());
            }
            let payload = self.inbuf.split_to(len);
            self.ahead.note_frame(len);
            self.handle_frame(frame.header, payload)?;
            if !self.events.is_empty() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Applies the rules of RFC 6455 section 5 and the limits to a header, before any of its
    /// payload is buffered; starts a new incoming message on a text or binary frame.
    fn check_header(&mut self, header: &FrameHeader) -> Result<(), ProtocolError> {
        let compressed = self.check_frame_rules(header)?;
        if !header.opcode.is_control() {
            self.idle.on_data();
        }
        match header.opcode {
            OpCode::Text | OpCode::Binary => {
                self.incoming = Some(Incoming {
                    kind: data_kind(header.opcode),
                    compressed,
                    fragments: 0,
                    size: 0,
                    data: BytesMut::new(),
                    utf8: Utf8Validator::default(),
                });
                self.count_fragment(header.len)
            }
            OpCode::Continuation => self.count_fragment(header.len),
            _ => Ok(()),
        }
    }

    /// The rules of RFC 6455 section 5 and the frame size limit, for any frame; returns whether
    /// the frame starts a compressed message.
    fn check_frame_rules(&self, header: &FrameHeader) -> Result<bool, ProtocolError> {
        // "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values"
        // permessage-deflate gives RSV1 a meaning on the first frame of a data message only.
        let compressed_start = header.rsv[0]
            && self.deflate.is_some()
            && matches!(header.opcode, OpCode::Text | OpCode::Binary)
            && self.incoming.is_none();
        if header.rsv[1] || header.rsv[2] || (header.rsv[0] && !compressed_start) {
            return Err(ProtocolError::ReservedBits);
        }
        match (self.role, header.mask) {
            (Role::Server, None) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, Some(_)) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        if header.len > self.config.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooLarge { size: header.len, limit: self.config.max_frame_size });
        }
        match header.opcode {
            OpCode::Reserved(bits) => Err(ProtocolError::ReservedOpcode(bits)),
            // "All control frames MUST have a payload length of 125 bytes or less and MUST NOT
            // be fragmented."
            OpCode::Close | OpCode::Ping | OpCode::Pong if !header.fin => Err(ProtocolError::FragmentedControlFrame),
            OpCode::Close | OpCode::Ping | OpCode::Pong if header.len > 125 => Err(ProtocolError::ControlFrameTooLong),
            OpCode::Text | OpCode::Binary if self.incoming.is_some() => Err(ProtocolError::ExpectedContinuation),
            OpCode::Continuation if self.incoming.is_none() => Err(ProtocolError::UnexpectedContinuation),
            _ => Ok(compressed_start),
        }
    }

    fn count_fragment(&mut self, len: u64) -> Result<(), ProtocolError> {
        let Some(incoming) = self.incoming.as_mut() else { return Err(ProtocolError::UnexpectedContinuation) };
        incoming.fragments += 1;
        incoming.size = incoming.size.saturating_add(len as usize);
        let (fragments, size, compressed) = (incoming.fragments, incoming.size, incoming.compressed);
        self.check_message_limits(fragments, size, compressed)
    }

    /// The limits on a data message of `fragments` frames and `size` payload bytes so far. A
    /// compressed message is bounded after inflating, by the inflater.
    fn check_message_limits(&self, fragments: usize, size: usize, compressed: bool) -> Result<(), ProtocolError> {
        let (max_fragments, max_message) = (self.config.max_fragments, self.config.max_message_size);
        if fragments > max_fragments {
            return Err(ProtocolError::TooManyFragments { limit: max_fragments });
        }
        if size > max_message && !compressed {
            return Err(ProtocolError::MessageTooLarge { limit: max_message });
        }
        Ok(())
    }

    /// The common case: an uncompressed text or binary message of one frame, outside any other
    /// message, with all of its payload buffered. `read_whole_message` reads it without
    /// assembling an [`Incoming`]; anything else takes the general path.
    fn is_whole_message(&self, header: &FrameHeader, header_len: usize) -> bool {
        header.fin
            && !header.rsv[0]
            && matches!(header.opcode, OpCode::Text | OpCode::Binary)
            && self.incoming.is_none()
            && header.len <= (self.inbuf.len() - header_len) as u64
    }

    /// Reads a frame that `is_whole_message` accepted: the checks of `check_header` (in its
    /// order, so the same error wins), then the payload is unmasked and validated in one pass
    /// and split off with its header, which the message's bytes skip by a pointer bump.
    fn read_whole_message(&mut self, header: &FrameHeader, header_len: usize) -> Result<(), ProtocolError> {
        if tracing::level_enabled!(tracing::Level::TRACE) {
            trace_frame("frame received", header.opcode, header.fin, header.len);
        }
        self.check_frame_rules(header)?;
        self.idle.on_data();
        // `check_frame_rules` bounded the length by `max_frame_size`, a `usize`.
        let len = header.len as usize;
        self.check_message_limits(1, len, false)?;
        let frame_len = header_len + len;
        let payload = &mut self.inbuf.data_mut()[header_len..frame_len];
        if let Some(key) = header.mask {
            apply_mask(payload, key, 0);
        }
        let kind = data_kind(header.opcode);
        if kind == MessageKind::Text {
            utf8::validate(payload).map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        let mut whole = self.inbuf.split_to(frame_len);
        self.ahead.note_frame(len);
        whole.advance(header_len);
        let message = match kind {
            MessageKind::Binary => Message::Binary(whole),
            MessageKind::Text => Message::Text(Utf8Bytes::from_validated(whole)),
        };
        self.events.push_back(Event::Message(message));
        Ok(())
    }

    fn handle_frame(&mut self, header: FrameHeader, payload: Bytes) -> Result<(), ProtocolError> {
        match header.opcode {
            OpCode::Close => self.on_close(&payload),
            OpCode::Ping => {
                self.on_ping(payload);
                Ok(())
            }
            OpCode::Pong => {
                self.events.push_back(Event::Pong(payload));
                Ok(())
            }
            _ => self.on_data(header.fin, payload),
        }
    }

    fn on_data(&mut self, fin: bool, payload: Bytes) -> Result<(), ProtocolError> {
        let Some(incoming) = self.incoming.as_mut() else { return Err(ProtocolError::UnexpectedContinuation) };
        if incoming.compressed {
            return self.on_compressed_data(fin, &payload);
        }
        if !fin {
            incoming.data.extend_from_slice(&payload);
            return Ok(());
        }
        let whole = if incoming.fragments == 1 {
            payload // One frame: handed out without a copy.
        } else {
            incoming.data.extend_from_slice(&payload);
            incoming.data.split().freeze()
        };
        self.finish_message(whole)
    }

    /// Inflates a frame of a compressed message (bounded by the message limit while inflating)
    /// and validates the text it yields.
    fn on_compressed_data(&mut self, fin: bool, payload: &[u8]) -> Result<(), ProtocolError> {
        let max_message = self.config.max_message_size;
        let (Some(incoming), Some(deflate)) = (self.incoming.as_mut(), self.deflate.as_mut()) else {
            return Err(ProtocolError::ReservedBits);
        };
        let before = incoming.data.len();
        deflate.inflate(payload, fin, &mut incoming.data, max_message)?;
        if incoming.kind == MessageKind::Text {
            incoming.utf8.feed(&incoming.data[before..]).map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        if !fin {
            return Ok(());
        }
        let whole = incoming.data.split().freeze();
        self.finish_message(whole)
    }

    /// Emits the message in progress, whose payload (already validated as far as it went) is
    /// `whole`.
    fn finish_message(&mut self, whole: Bytes) -> Result<(), ProtocolError> {
        let mut incoming = self.incoming.take().ok_or(ProtocolError::UnexpectedContinuation)?;
        let message = match incoming.kind {
            MessageKind::Binary => Message::Binary(whole),
            MessageKind::Text => {
                incoming.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
                Message::Text(Utf8Bytes::from_validated(whole))
            }
        };
        self.events.push_back(Event::Message(message));
        Ok(())
    }

    fn on_ping(&mut self, payload: Bytes) {
        // "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, unless
        // it already received a Close frame." We also stay silent once our close is sent, since
        // nothing may follow it.
        if self.close == State::Open {
            // "If an endpoint receives a Ping frame and has not yet sent Pong frame(s) in response
            // to previous Ping frame(s), the endpoint MAY elect to send a Pong frame for only the
            // most recently processed Ping frame." The answer goes straight into the transmit
            // queue (ahead of the application's answer to what follows) while fewer than
            // `MAX_QUEUED_PONGS` answers there are unwritten; past that, a peer that pings
            // without reading gets only its latest ping answered: one answer waits, each newer
            // one replacing it, so a flood costs no memory.
            self.forget_written_pongs();
            if self.queued_pongs.len() < MAX_QUEUED_PONGS {
                self.queue_pong(&payload);
            } else {
                trace!("answers to earlier pings are unwritten: only the latest ping will be answered");
                self.waiting_pong = Some(payload.clone());
            }
        }
        if self.config.emit_pings {
            self.events.push_back(Event::Ping(payload));
        }
    }

    fn on_close(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        let frame = CloseFrame::parse(payload)?;
        match &frame {
            Some(frame) => debug!(code = %frame.code, reason = frame.reason, "close frame received"),
            None => debug!("close frame received, with no status code"),
        }
        self.events.push_back(Event::CloseReceived(frame.clone()));
        if self.close == State::Open {
            // "the endpoint typically echos the status code it received"
            let echo = frame.as_ref().map(|f| CloseFrame { code: f.code, reason: String::new() });
            self.queue_close(echo.as_ref());
        }
        self.discard_input();
        let (code, reason) = frame.map_or((CloseCode::NO_STATUS, String::new()), |f| (f.code, f.reason));
        self.finish_close(code, reason, true, None);
        Ok(())
    }

    /// Fails the connection (RFC 6455 section 7.1.7): sends a close frame with the code of the
    /// error unless one was sent already, then ends it.
    fn fail(&mut self, error: ProtocolError) {
        let code = error.close_code();
        let reason = truncate_reason(&error.to_string());
        debug!(%code, %error, "failing the connection");
        if self.close == State::Open {
            self.queue_close(Some(&CloseFrame { code, reason: reason.clone() }));
        }
        self.discard_input();
        self.finish_close(code, reason, false, Some(error));
        self.shutdown = Shutdown::Due;
    }

    /// The idle timeout, while it runs: only on an open connection.
    fn idle_settings(&self) -> Option<crate::IdleTimeout> {
        self.config.idle_timeout.filter(|_| self.close == State::Open)
    }

    /// Ends a connection whose peer stopped reading: nothing queued can reach it, a close frame
    /// included, so the output is dropped and the connection finishes at once with 1006.
    fn fail_stalled(&mut self) {
        debug!("the peer stopped reading: output stalled past the write-stall timeout");
        self.transmit.clear();
        self.queued_pongs.clear();
        self.waiting_pong = None;
        self.close_queued = false;
        self.close_deadline = None;
        self.keepalive.stop();
        self.discard_input();
        if self.close != State::Closed {
            let error = ProtocolError::WriteStalled;
            self.finish_close(error.close_code(), String::new(), false, Some(error));
        }
        self.finished = true;
    }

    /// Enters `Closed` and emits the one `Closed` event.
    fn finish_close(&mut self, code: CloseCode, reason: String, clean: bool, error: Option<ProtocolError>) {
        debug!(%code, reason, clean, "connection closed");
        self.close = State::Closed;
        self.outgoing = None;
        if self.role == Role::Server {
            self.shutdown = Shutdown::Due;
        }
        self.events.push_back(Event::Closed(Closed { code, reason, clean, error }));
    }

    fn on_eof(&mut self) {
        if self.close != State::Closed {
            debug!("the peer ended the TCP connection without a close frame");
            self.discard_input();
            self.waiting_pong = None;
            self.finish_close(CloseCode::ABNORMAL, String::new(), false, Some(ProtocolError::UnexpectedEof));
        }
        // The peer's FIN ends the TCP connection too: answer it with ours.
        if self.shutdown == Shutdown::NotYet {
            self.shutdown = Shutdown::Due;
        }
        self.finished = true;
    }

    fn discard_input(&mut self) {
        self.inbuf.clear();
        self.frame = None;
        self.incoming = None;
    }

    // ---- sending ----

    fn ensure_open(&self) -> Result<(), Error> {
        match self.close {
            State::Open => Ok(()),
            State::Closing | State::Closed => Err(Error::Closed),
        }
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), Error> {
        self.ensure_open()?;
        if payload.len() > 125 {
            return Err(Error::ControlPayloadTooLong);
        }
        self.queue_frame(true, opcode, payload);
        Ok(())
    }

    /// Queues the answer to a ping, remembering where it ends.
    fn queue_pong(&mut self, payload: &[u8]) {
        self.encode_frame(true, false, OpCode::Pong, payload, None);
        self.queued_pongs.push_back(self.transmit.end_position());
    }

    /// Queues the answer that waited, if one did.
    fn queue_waiting_pong(&mut self) {
        if let Some(payload) = self.waiting_pong.take() {
            self.queue_pong(&payload);
        }
    }

    /// Forgets the answers to pings that the driver has written.
    fn forget_written_pongs(&mut self) {
        let written = self.transmit.written();
        while self.queued_pongs.front().is_some_and(|&end| end <= written) {
            self.queued_pongs.pop_front();
        }
    }

    fn queue_close(&mut self, frame: Option<&CloseFrame>) {
        self.keepalive.stop();
        self.queue_waiting_pong(); // Nothing may follow the close frame.
        let payload = frame.map(CloseFrame::encode).unwrap_or_default();
        self.queue_frame(true, OpCode::Close, &payload);
        self.close_queued = true;
    }

    /// Queues one frame of a data message, compressing it when asked: RSV1 marks the first
    /// frame of a compressed message only (RFC 7692 section 6.1). `shared` is `payload` as
    /// [`Bytes`] when the caller has it, so that a large one can be queued without a copy.
    #[inline]
    fn queue_data(
        &mut self,
        kind: MessageKind,
        first: bool,
        fin: bool,
        compress: bool,
        payload: &[u8],
        shared: Option<&Bytes>,
    ) {
        let opcode = if first { data_opcode(kind) } else { OpCode::Continuation };
        if compress {
            self.queue_compressed(first, fin, opcode, payload);
        } else {
            self.encode_frame(fin, false, opcode, payload, shared);
        }
    }

    /// The compressing half of [`queue_data`](Self::queue_data), kept out of line so that the
    /// uncompressed path inlines into its callers.
    fn queue_compressed(&mut self, first: bool, fin: bool, opcode: OpCode, payload: &[u8]) {
        let Some(deflate) = self.deflate.as_mut() else {
            return self.encode_frame(fin, false, opcode, payload, None);
        };
        let mut compressed = std::mem::take(&mut self.scratch);
        compressed.clear();
        deflate.compress(payload, fin, &mut compressed);
        self.encode_frame(fin, first, opcode, &compressed, None);
        if compressed.capacity() <= KEEP_BUFFER {
            self.scratch = compressed;
        }
    }

    fn queue_frame(&mut self, fin: bool, opcode: OpCode, payload: &[u8]) {
        self.encode_frame(fin, false, opcode, payload, None);
    }

    /// Queues one frame, masked with a fresh key when we are the client ("a client MUST mask all
    /// frames that it sends to the server"). An unmasked payload given as `shared` bytes is
    /// queued as they are, beside its header.
    #[inline(always)]
    fn encode_frame(&mut self, fin: bool, rsv1: bool, opcode: OpCode, payload: &[u8], shared: Option<&Bytes>) {
        if tracing::level_enabled!(tracing::Level::TRACE) {
            trace_frame("frame queued", opcode, fin, payload.len() as u64);
        }
        if self.role == Role::Server && payload.len() <= 125 {
            // The common case, a server's small frame: with no key and a one-byte length known
            // here, the header folds to two stores and this inlines into the sender.
            let header = FrameHeader { fin, rsv: [rsv1, false, false], opcode, mask: None, len: payload.len() as u64 };
            let out = self.transmit.tail_mut();
            out.reserve(2 + payload.len());
            out.extend_from_slice(&header.encode_array().0[..2]);
            return out.extend_from_slice(payload);
        }
        self.encode_any_frame(fin, rsv1, opcode, payload, shared);
    }

    /// [`encode_frame`](Self::encode_frame) for any role and length; out of line, so that the
    /// small server path stays small enough to inline.
    #[inline(never)]
    fn encode_any_frame(&mut self, fin: bool, rsv1: bool, opcode: OpCode, payload: &[u8], shared: Option<&Bytes>) {
        let mask = (self.role == Role::Client).then(|| self.rng.mask_key());
        let header = FrameHeader { fin, rsv: [rsv1, false, false], opcode, mask, len: payload.len() as u64 };
        let (header_bytes, head_len) = header.encode_array();
        if let (None, Some(shared)) = (mask, shared.filter(|shared| shared.len() >= SHARE_MIN)) {
            return self.transmit.push_shared(&header_bytes[..head_len], shared);
        }
        // Reserved once for both copies. The whole array is copied and the unused end cut
        // off again: a fixed-size copy is a few moves, where `head` alone would call `memcpy`.
        let out = self.transmit.tail_mut();
        let start = out.len() + head_len;
        out.reserve(MAX_HEADER_LEN + payload.len());
        out.extend_from_slice(&header_bytes);
        out.truncate(start);
        out.extend_from_slice(payload);
        if let Some(key) = mask {
            apply_mask(&mut out[start..], key, 0);
        }
    }
}

/// Logs a frame at trace level. Callers check `level_enabled!(TRACE)` first and pass scalars,
/// and this is out of line and cold, so that the receive and send paths keep their shape when
/// tracing is off. Measured with callgrind on a server echoing through the core alone: an inline
/// `trace!` of the received header cost 37 instructions per 1 KiB echo (of about 1,380), even
/// unreached; this way both directions cost 9 (11 of 775 at 20 B).
#[cold]
#[inline(never)]
fn trace_frame(what: &'static str, opcode: OpCode, fin: bool, len: u64) {
    trace!(?opcode, fin, len, "{what}");
}

/// The kind of message a text or binary frame starts.
fn data_kind(opcode: OpCode) -> MessageKind {
    if opcode == OpCode::Text {
        MessageKind::Text
    } else {
        MessageKind::Binary
    }
}

fn data_opcode(kind: MessageKind) -> OpCode {
    match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    }
}

/// Cuts a reason to what fits a close frame, on a character boundary.
fn truncate_reason(reason: &str) -> String {
    let mut end = reason.len().min(MAX_REASON_LEN);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

#[cfg(test)]
mod tests;
