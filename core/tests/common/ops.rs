//! An operation-sequence model: a client and a server [`Connection`] wired together in memory,
//! driven by a byte string read as a list of operations (sends of whole messages, plain or
//! prepared, and fragments, pings, pongs, closes, partial deliveries, transmits, clock jumps),
//! with the invariants of the protocol checked after every step and at the end:
//!
//! - nothing panics, and every command returns exactly the documented result;
//! - every message sent arrives whole and in order, and none arrives after `Closed`;
//! - every ping is seen by the peer in order (with `emit_pings`), every pong answers a ping or is
//!   an unsolicited pong of the peer;
//! - `Event::Closed` happens exactly once per side and both sides finish;
//! - when no close timeout fired, both sides report a clean close with the expected code and
//!   reason, no error, and every message sent was delivered.
//!
//! Shared by the `ops` fuzz target (`fuzz/fuzz_targets/ops.rs`, through `#[path]`) and
//! `core/tests/properties.rs`, so it depends on `laputa_core` and `std` only. Adding a feature
//! (permessage-deflate, say) means adding an operation and, where needed, a `Config` bit read
//! from the header byte.

use laputa_core::bytes::{Buf, BufMut};
use laputa_core::{
    CloseCode, Closed, Config, Connection, Error, Event, Message, MessageKind, PreparedMessage, Rng, Role, State,
};
use std::time::{Duration, Instant};

/// Stops big sends once this many payload bytes were sent in one run, to keep runs fast.
const BYTE_BUDGET: usize = 256 << 10;

/// Characters text payloads are made of: 1 to 4 bytes each, so fragments split them.
const CHARS: [char; 10] =
    ['a', 'Z', ' ', '\u{e9}', '\u{df}', '\u{20ac}', '\u{4e2d}', '\u{1f600}', '\u{fffd}', '\u{10ffff}'];

/// Close codes a side may try: sendable ones, "no status", and ones `close` must refuse.
const CODES: [u16; 8] = [1000, 1001, 1005, 3000, 4999, 1011, 1006, 999];

/// What a run did, for tests that check the model is not vacuous and that a fixed scenario took
/// the path it describes.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Operations run (each with its argument bytes).
    pub(crate) ops: usize,
    /// Messages delivered, both ways.
    pub(crate) messages: usize,
    /// A close timeout fired.
    pub(crate) timeout_fired: bool,
    /// How each side ended: the client's `Closed`, then the server's (empty for no operations).
    pub(crate) closed: Vec<Closed>,
}

/// Runs the operations encoded in `data` and checks every invariant; panics on a violation.
pub(crate) fn run(data: &[u8]) -> Stats {
    let Some((&header, ops)) = data.split_first() else { return Stats::default() };
    let mut model = Model::new(header);
    let mut input = Input { data: ops, pos: 0 };
    let mut count = 0;
    while let Some(op) = input.next() {
        model.step(op, &mut input);
        model.check_drops();
        count += 1;
    }
    model.finish();
    Stats {
        ops: count,
        messages: model.sides.iter().map(|side| side.received.len()).sum(),
        timeout_fired: model.timeout_fired,
        closed: model.sides.iter().map(|side| side.closed[0].clone()).collect(),
    }
}

/// The operation bytes; missing bytes read as 0.
struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn next(&mut self) -> Option<u8> {
        let byte = self.data.get(self.pos).copied();
        self.pos += 1;
        byte
    }

    fn byte(&mut self) -> u8 {
        self.next().unwrap_or(0)
    }
}

/// splitmix64, for payload contents.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// One endpoint with its outgoing half of the wire and what the checks need to know.
struct Side {
    name: &'static str,
    conn: Connection,
    /// Bytes taken from `conn` and not yet delivered to the peer.
    wire: Vec<u8>,
    /// Our TCP write side is shut down (or the socket dropped): the peer reads EOF once `wire`
    /// is delivered.
    fin: bool,
    /// The peer has been told about the EOF.
    fin_delivered: bool,
    /// The socket was dropped after `is_finished`: input for it is discarded.
    dropped: bool,
    /// Whole messages sent, in order.
    sent: Vec<Message>,
    /// The fragmented message being sent: its kind and the bytes sent so far.
    building: Option<(MessageKind, Vec<u8>)>,
    /// The rest of a character a text fragment cut in two.
    carry: Vec<u8>,
    received: Vec<Message>,
    pings_sent: Vec<Vec<u8>>,
    pongs_sent: Vec<Vec<u8>>,
    pings_seen: usize,
    closed: Vec<Closed>,
    /// The code and reason of the close handshake this side started, if it did (1005 for a
    /// close frame without a body).
    initiated: Option<(CloseCode, String)>,
}

impl Side {
    fn new(name: &'static str, conn: Connection) -> Self {
        Self {
            name,
            conn,
            wire: Vec::new(),
            fin: false,
            fin_delivered: false,
            dropped: false,
            sent: Vec::new(),
            building: None,
            carry: Vec::new(),
            received: Vec::new(),
            pings_sent: Vec::new(),
            pongs_sent: Vec::new(),
            pings_seen: 0,
            closed: Vec::new(),
            initiated: None,
        }
    }

    fn is_open(&self) -> bool {
        self.conn.state() == State::Open
    }
}

struct Model {
    sides: [Side; 2],
    now: Instant,
    close_timeout: Duration,
    prng: Prng,
    bytes_sent: usize,
    /// A close deadline passed during a clock jump: the outcome may be 1006.
    timeout_fired: bool,
}

impl Model {
    fn new(header: u8) -> Self {
        let mut config = Config::default();
        config.emit_pings = header & 1 != 0;
        // The model predicts the close timeout's outcomes, not keepalive pings nor the
        // write-stall deadline, which a clock jump would set off (both are on by default; their
        // cases are in hostile.rs).
        config.keepalive = None;
        config.write_stall_timeout = None;
        let close_timeout = config.close_timeout;
        let client = Connection::with_rng(Role::Client, config.clone(), Rng::seeded(u64::from(header)));
        let server = Connection::with_rng(Role::Server, config, Rng::seeded(0));
        Self {
            sides: [Side::new("client", client), Side::new("server", server)],
            now: Instant::now(),
            close_timeout,
            prng: Prng(u64::from(header)),
            bytes_sent: 0,
            timeout_fired: false,
        }
    }

    /// A payload length from one byte: mostly small, sometimes over 125 and 65535 (the 16- and
    /// 64-bit length forms), within the byte budget.
    fn length(&self, byte: u8) -> usize {
        let len = match byte {
            0..=199 => usize::from(byte),
            200..=249 => 126 + usize::from(byte - 200) * 97,
            _ => 65_530 + usize::from(byte - 250) * 3000,
        };
        if self.bytes_sent + len > BYTE_BUDGET {
            len % 126
        } else {
            len
        }
    }

    fn binary(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.prng.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }

    /// `len` bytes of text for side `s`, cutting a character at the end unless `whole`; with
    /// `whole` the cut character is completed (so the result may be a few bytes longer).
    fn text(&mut self, s: usize, len: usize, whole: bool) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.sides[s].carry);
        out.reserve(len + 4);
        let mut buf = [0; 4];
        while out.len() < len {
            let c = CHARS[(self.prng.next() % CHARS.len() as u64) as usize];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        if !whole && out.len() > len {
            self.sides[s].carry = out.split_off(len);
        }
        out
    }

    fn step(&mut self, op: u8, input: &mut Input<'_>) {
        let s = usize::from(op & 1);
        match (op >> 1) % 9 {
            0 => self.send_message(s, input),
            1 => self.send_fragment(s, input),
            2 => self.control(s, input, true),
            3 => self.control(s, input, false),
            4 => self.close(s, input),
            5 => self.transmit(s, input.byte() & 1 == 1),
            6 | 7 => {
                let n = input.byte();
                self.deliver(s, if n == 0 { usize::MAX } else { usize::from(n) * 7 });
            }
            _ => self.jump_clock(),
        }
    }

    fn send_message(&mut self, s: usize, input: &mut Input<'_>) {
        let kind_byte = input.byte();
        let len = self.length(input.byte());
        let kind = if kind_byte & 1 == 0 { MessageKind::Binary } else { MessageKind::Text };
        let message = match kind {
            MessageKind::Binary => Message::Binary(self.binary(len).into()),
            MessageKind::Text => {
                // A whole message never cuts a character: use a fresh carry.
                let saved = std::mem::take(&mut self.sides[s].carry);
                let text = self.text(s, len, true);
                self.sides[s].carry = saved;
                Message::Text(String::from_utf8(text).expect("generated text is UTF-8").into())
            }
        };
        let side = &mut self.sides[s];
        let expected = if !side.is_open() {
            Err(Error::Closed)
        } else if side.building.is_some() {
            Err(Error::FragmentMismatch)
        } else {
            Ok(())
        };
        // Bit 1: sent as a `PreparedMessage`, as a broadcast would (shared on the server,
        // masked on the client).
        let result = if kind_byte & 2 == 0 {
            side.conn.send(message.clone())
        } else {
            side.conn.send_prepared(&PreparedMessage::new(message.clone()))
        };
        assert_eq!(result, expected, "{}: send", side.name);
        if result.is_ok() {
            self.bytes_sent += message.payload().len();
            side.sent.push(message);
        }
    }

    fn send_fragment(&mut self, s: usize, input: &mut Input<'_>) {
        let flags = input.byte();
        let len = self.length(input.byte());
        let is_final = flags & 1 != 0;
        let current = self.sides[s].building.as_ref().map(|(kind, _)| *kind);
        // Usually continue the message in progress; bit 1 flips to the other kind.
        let base = current.unwrap_or(if flags & 4 == 0 { MessageKind::Binary } else { MessageKind::Text });
        let kind = match (flags & 2 != 0, base) {
            (false, kind) => kind,
            (true, MessageKind::Binary) => MessageKind::Text,
            (true, MessageKind::Text) => MessageKind::Binary,
        };
        let expected = if !self.sides[s].is_open() {
            Err(Error::Closed)
        } else if current.is_some_and(|c| c != kind) {
            Err(Error::FragmentMismatch)
        } else {
            Ok(())
        };
        let data = match (kind, expected.is_ok()) {
            (MessageKind::Text, true) => self.text(s, len, is_final),
            _ => self.binary(len),
        };
        let side = &mut self.sides[s];
        let result = side.conn.send_fragment(kind, &data, is_final);
        assert_eq!(result, expected, "{}: send_fragment", side.name);
        if result.is_err() {
            return;
        }
        self.bytes_sent += data.len();
        let (_, buffer) = side.building.get_or_insert_with(|| (kind, Vec::new()));
        buffer.extend_from_slice(&data);
        if is_final {
            let (kind, bytes) = side.building.take().expect("a message in progress");
            let message = match kind {
                MessageKind::Binary => Message::Binary(bytes.into()),
                MessageKind::Text => Message::Text(String::from_utf8(bytes).expect("fragments form UTF-8").into()),
            };
            side.sent.push(message);
        }
    }

    fn control(&mut self, s: usize, input: &mut Input<'_>, ping: bool) {
        let len = usize::from(input.byte() % 127);
        let payload = self.binary(len);
        let side = &mut self.sides[s];
        let expected = if !side.is_open() {
            Err(Error::Closed)
        } else if len > 125 {
            Err(Error::ControlPayloadTooLong)
        } else {
            Ok(())
        };
        let result = if ping { side.conn.ping(&payload) } else { side.conn.pong(&payload) };
        assert_eq!(result, expected, "{}: ping/pong", side.name);
        if result.is_ok() {
            if ping {
                side.pings_sent.push(payload);
            } else {
                side.pongs_sent.push(payload);
            }
        }
    }

    fn close(&mut self, s: usize, input: &mut Input<'_>) {
        let choice = input.byte();
        let code = CloseCode(CODES[usize::from(choice) % CODES.len()]);
        let reason_len = usize::from(input.byte() % 126);
        let reason: String = std::iter::repeat_n('r', reason_len).collect();
        let side = &mut self.sides[s];
        // `close` accepts a sendable code, or "no status" without a reason.
        let no_status = code == CloseCode::NO_STATUS && reason.is_empty();
        let expected = if !(code.is_sendable() || no_status) {
            Err(Error::InvalidCloseCode(code.0))
        } else if reason.len() > 123 {
            Err(Error::ControlPayloadTooLong)
        } else {
            Ok(())
        };
        let was_open = side.is_open();
        let result = side.conn.close(code, &reason);
        assert_eq!(result, expected, "{}: close({code}, {reason_len} bytes)", side.name);
        if result.is_ok() && was_open {
            assert_eq!(side.conn.state(), State::Closing, "{}: close starts the handshake", side.name);
            side.initiated = Some((code, reason));
            side.building = None;
            side.carry.clear();
        }
    }

    /// The driver's step 3 and 4: take the output, then shut down the write side if asked.
    /// `as_bytes`: the first half is taken as `Bytes` (`copy_to_bytes`), as a completion-based
    /// driver does, instead of through the vectored view.
    fn transmit(&mut self, s: usize, as_bytes: bool) {
        let now = self.now;
        let side = &mut self.sides[s];
        if side.dropped {
            return;
        }
        // Written from the transmit queue in two goes, as a socket taking part of it would: what
        // is not advanced past stays queued (and answers to pings wait behind it).
        let queue = side.conn.transmit(now);
        let half = queue.remaining() / 2;
        if as_bytes {
            take_bytes_from(queue, half, &mut side.wire);
        } else {
            write_from(queue, half, &mut side.wire);
        }
        side.conn.poll_transmit(now, &mut side.wire);
        assert_eq!(side.conn.pending_transmit(), 0, "{}: poll_transmit takes everything", side.name);
        if side.conn.poll_shutdown() {
            assert!(!side.fin, "{}: poll_shutdown is true once", side.name);
            side.fin = true;
        }
    }

    /// Moves up to `n` bytes from side `s` to its peer, then the EOF once everything is there.
    fn deliver(&mut self, s: usize, n: usize) {
        let (from, to) = if s == 0 {
            let [a, b] = &mut self.sides;
            (a, b)
        } else {
            let [a, b] = &mut self.sides;
            (b, a)
        };
        let n = n.min(from.wire.len());
        let chunk: Vec<u8> = from.wire.drain(..n).collect();
        if to.dropped {
            return;
        }
        if !chunk.is_empty() {
            // Every fourth chunk comes after a read that found nothing: the room lent for it is
            // given back first (and lent again below).
            if n % 4 == 0 && to.conn.input_room_buf().is_some() {
                to.conn.release_input_room();
            }
            // While a large frame arrives, the bytes go straight into the room the core lends:
            // zeroed room on odd chunks, spare capacity (appended through `BufMut`) on even.
            let lent = if n % 2 == 1 {
                to.conn.input_room().map(|room| {
                    let lent = room.len().min(chunk.len());
                    room[..lent].copy_from_slice(&chunk[..lent]);
                    lent
                })
            } else {
                to.conn.input_room_buf().map(|mut room| {
                    let lent = room.remaining_mut().min(chunk.len());
                    room.put_slice(&chunk[..lent]);
                    lent
                })
            };
            let lent = lent.unwrap_or(0);
            if lent > 0 {
                to.conn.handle_input_read(lent);
            }
            to.conn.handle_input(&chunk[lent..]);
            drain(to, from);
        }
        if from.fin && from.wire.is_empty() && !from.fin_delivered {
            from.fin_delivered = true;
            to.conn.handle_eof();
            drain(to, from);
        }
    }

    fn jump_clock(&mut self) {
        self.now += self.close_timeout + Duration::from_millis(1);
        for s in 0..2 {
            let now = self.now;
            let (a, b) = self.sides.split_at_mut(1);
            let (side, peer) = if s == 0 { (&mut a[0], &mut b[0]) } else { (&mut b[0], &mut a[0]) };
            if side.dropped {
                continue;
            }
            if side.conn.poll_timeout().is_some_and(|deadline| deadline <= now) {
                self.timeout_fired = true;
            }
            side.conn.handle_timeout(now);
            drain(side, peer);
        }
    }

    /// A finished side flushes what is left and drops its socket.
    fn check_drops(&mut self) {
        for s in 0..2 {
            if self.sides[s].conn.is_finished() && !self.sides[s].dropped {
                self.transmit(s, false);
                let side = &mut self.sides[s];
                side.dropped = true;
                side.fin = true;
            }
        }
    }

    /// Completes the close handshake (started by the client if nobody started it) without
    /// touching the clock, then checks the outcome.
    fn finish(&mut self) {
        if self.sides.iter().all(|side| side.is_open()) {
            let client = &mut self.sides[0];
            client.conn.close(CloseCode::NORMAL, "end").expect("close an open connection");
            client.initiated = Some((CloseCode::NORMAL, "end".into()));
        }
        for _ in 0..16 {
            for s in 0..2 {
                self.transmit(s, true);
            }
            for s in 0..2 {
                self.deliver(s, usize::MAX);
            }
            self.check_drops();
            if self.sides.iter().all(|side| side.dropped) {
                break;
            }
        }
        for side in &self.sides {
            assert!(
                side.conn.is_finished(),
                "{} never finished without a clock jump: state {:?}, closed {:?}",
                side.name,
                side.conn.state(),
                side.closed
            );
            assert_eq!(side.closed.len(), 1, "{}: exactly one Closed event", side.name);
        }
        if self.timeout_fired {
            for side in &self.sides {
                let closed = &side.closed[0];
                let abnormal = closed.code == CloseCode::ABNORMAL && !closed.clean;
                assert!(closed.clean || abnormal, "{}: {closed:?}", side.name);
            }
            return;
        }
        for s in 0..2 {
            let (side, peer) = (&self.sides[s], &self.sides[1 - s]);
            let closed = &side.closed[0];
            assert!(closed.clean && closed.error.is_none(), "{}: not clean: {closed:?}", side.name);
            // We read the peer's close frame: its own code and reason if it started the
            // handshake, else the echo of ours (code only).
            let (code, reason) = match (&peer.initiated, &side.initiated) {
                (Some((code, reason)), _) => (*code, reason.as_str()),
                (None, Some((code, _))) => (*code, ""),
                (None, None) => panic!("nobody started the close handshake"),
            };
            assert_eq!((closed.code, closed.reason.as_str()), (code, reason), "{}", side.name);
            assert_eq!(side.received.len(), peer.sent.len(), "{}: every message of the peer arrived", side.name);
        }
    }
}

/// Step 2 of the drive loop on `side`, checking each event against what `peer` sent.
fn drain(side: &mut Side, peer: &Side) {
    while let Some(event) = side.conn.poll_event() {
        assert!(side.closed.is_empty(), "{}: {event:?} after Closed", side.name);
        match event {
            Event::Message(message) => {
                let index = side.received.len();
                assert!(index < peer.sent.len(), "{}: a message nobody sent: {message:?}", side.name);
                assert!(message == peer.sent[index], "{}: message {index} differs from the one sent", side.name);
                side.received.push(message);
            }
            Event::Ping(payload) => {
                let index = side.pings_seen;
                assert_eq!(
                    peer.pings_sent.get(index).map(Vec::as_slice),
                    Some(&payload[..]),
                    "{}: ping {index}",
                    side.name
                );
                side.pings_seen += 1;
            }
            Event::Pong(payload) => {
                let known = side.pings_sent.iter().chain(&peer.pongs_sent).any(|p| p[..] == payload[..]);
                assert!(known, "{}: a pong that answers nothing: {payload:?}", side.name);
            }
            Event::CloseReceived(_) => {}
            Event::Closed(closed) => side.closed.push(closed),
            other => panic!("{}: an event this test does not know: {other:?}", side.name),
        }
    }
}

/// Appends `n` bytes of `queue` to `wire` taken as `Bytes`, a chunk at a time and across chunks
/// in turn (held until the end, as writes in flight would be).
fn take_bytes_from(queue: &mut impl Buf, mut n: usize, wire: &mut Vec<u8>) {
    let mut taken = Vec::new();
    while n > 0 {
        let len = if taken.len() % 2 == 0 { queue.chunk().len().min(n) } else { n };
        taken.push(queue.copy_to_bytes(len));
        n -= len;
    }
    for bytes in taken {
        wire.extend_from_slice(&bytes);
    }
}

/// Appends `n` bytes of `queue` to `wire` through its vectored view, as a socket would take them.
fn write_from(queue: &mut impl Buf, mut n: usize, wire: &mut Vec<u8>) {
    while n > 0 {
        let mut slices = [std::io::IoSlice::new(&[]); 3];
        let count = queue.chunks_vectored(&mut slices);
        let mut taken = 0;
        for slice in &slices[..count] {
            let take = slice.len().min(n - taken);
            wire.extend_from_slice(&slice[..take]);
            taken += take;
        }
        queue.advance(taken);
        n -= taken;
    }
}
