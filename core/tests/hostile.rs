//! Hostile input against the core's public API, each with an exact expectation: the close code
//! in the close frame the core emits, the `Event::Closed` it reports, or the HTTP status and
//! response bytes of `HandshakeError::response_bytes()`. Where the danger is resource use, the
//! work is bounded by counting (heap bytes and allocator calls on the test's thread, bytes and
//! calls fed), never by timing.
//!
//! The permessage-deflate cases are at the end of the file (the 1 GiB bomb is in
//! `deflate_bomb.rs`).

mod common;

use common::*;
use laputa_core::bytes::BufMut;
use laputa_core::handshake::{Accept, ClientHandshake, ClientRequest, HandshakeError, ServerHandshake};
use laputa_core::http::StatusCode;
use laputa_core::{
    CloseCode, Closed, Config, Connection, DeflateConfig, Event, IdleTimeout, Message, MessageKind, ProtocolError, Rng,
    Role, State,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

// ---- a counting allocator, per thread so that tests running in parallel do not mix ----

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static CALLS: Cell<usize> = const { Cell::new(0) };
}

fn record(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
    if delta > 0 {
        let _ = CALLS.try_with(|calls| calls.set(calls.get() + 1));
    }
}

// SAFETY: every call is forwarded to `System` unchanged; the counters are plain thread-locals
// without destructors, so touching them never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            record(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) };
        record(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            record(new_size as isize - layout.size() as isize);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap use of this thread while a closure ran.
#[derive(Debug, Clone, Copy)]
struct Heap {
    /// Most live heap bytes above the level at the start.
    peak: usize,
    /// Allocations and reallocations made.
    calls: usize,
}

fn measure<R>(f: impl FnOnce() -> R) -> (R, Heap) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    let calls = CALLS.with(Cell::get);
    let result = f();
    let peak = (PEAK.with(Cell::get) - start).max(0) as usize;
    (result, Heap { peak, calls: CALLS.with(Cell::get) - calls })
}

// ---- helpers ----

const MIB: usize = 1 << 20;

fn connection(role: Role) -> Connection {
    Connection::with_rng(role, Config::default(), Rng::seeded(7))
}

/// What a connection reports when it fails for `error`.
fn failed(error: ProtocolError) -> Closed {
    Closed::new(error.close_code(), error.to_string(), false).with_error(error)
}

/// Asserts that `conn` failed for `error` with close code `code`: no message was delivered, the
/// last event is the one `Closed`, the only frame sent is a close frame with `code` and the
/// error's text as reason, and the TCP write side is to be shut down.
fn assert_failed(conn: &mut Connection, evs: &[Event], error: ProtocolError, code: u16) {
    assert_eq!(error.close_code(), CloseCode(code), "{error:?}");
    assert!(!evs.iter().any(|e| matches!(e, Event::Message(_))), "a message was delivered: {evs:?}");
    assert_eq!(evs.iter().filter(|e| matches!(e, Event::Closed(_))).count(), 1, "{evs:?}");
    assert_eq!(evs.last(), Some(&Event::Closed(failed(error.clone()))), "{evs:?}");
    let frames = read_frames(&transmit(conn));
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0].close_code(), Some(code), "{frames:?}");
    assert_eq!(&frames[0].payload[2..], error.to_string().as_bytes());
    assert!(conn.poll_shutdown());
    assert_eq!(conn.state(), State::Closed);
}

/// Feeds `input` to a fresh connection of `role` and asserts it fails for `error` with `code`.
fn fails(role: Role, input: &[u8], error: ProtocolError, code: u16) {
    let mut conn = connection(role);
    conn.handle_input(input);
    let evs = events(&mut conn);
    assert_failed(&mut conn, &evs, error, code);
}

/// A header announcing a 64-bit length given as raw bytes (not checked for minimality).
fn long_header(b0: u8, len: [u8; 8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![b0, 127 | if mask.is_some() { 0x80 } else { 0 }];
    out.extend_from_slice(&len);
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
    out
}

// ---- frame lengths ----

#[test]
fn length_2_pow_63_minus_1_is_refused_at_the_header_with_1009_before_any_allocation() {
    let junk = vec![0x5a; 64 << 10];
    for role in [Role::Server, Role::Client] {
        let mask = (role == Role::Server).then_some(KEY);
        let input = long_header(FIN | BINARY, ((1u64 << 63) - 1).to_be_bytes(), mask);
        let (_, heap) = measure(|| {
            let mut conn = connection(role);
            conn.handle_input(&input);
            let evs = events(&mut conn);
            let error = ProtocolError::FrameTooLarge { size: (1 << 63) - 1, limit: 16 * MIB };
            assert_failed(&mut conn, &evs, error, 1009);
            // The payload that follows is never buffered.
            for _ in 0..16 {
                conn.handle_input(&junk);
                assert_eq!(events(&mut conn), []);
            }
            assert_eq!(conn.pending_transmit(), 0);
        });
        assert!(heap.peak < 4096, "{role:?}: {heap:?}");
    }
}

#[test]
fn length_with_the_top_bit_set_is_refused_with_1002_before_any_allocation() {
    let junk = vec![0x5a; 64 << 10];
    for role in [Role::Server, Role::Client] {
        let mask = (role == Role::Server).then_some(KEY);
        for len in [u64::MAX, 1 << 63, (1 << 63) | 5] {
            let input = long_header(FIN | BINARY, len.to_be_bytes(), mask);
            let (_, heap) = measure(|| {
                let mut conn = connection(role);
                conn.handle_input(&input);
                let evs = events(&mut conn);
                assert_failed(&mut conn, &evs, ProtocolError::InvalidLength, 1002);
                for _ in 0..16 {
                    conn.handle_input(&junk);
                    assert_eq!(events(&mut conn), []);
                }
            });
            assert!(heap.peak < 4096, "{role:?} {len:#x}: {heap:?}");
        }
    }
}

#[test]
fn lengths_not_in_their_shortest_form_are_refused_with_1002() {
    // 5 in the 16-bit form; 200 and 65535 in the 64-bit form.
    fails(Role::Server, &[FIN | BINARY, 0x80 | 126, 0x00, 0x05, 0, 0, 0, 0], ProtocolError::InvalidLength, 1002);
    fails(
        Role::Server,
        &long_header(FIN | BINARY, 200u64.to_be_bytes(), Some(KEY)),
        ProtocolError::InvalidLength,
        1002,
    );
    fails(Role::Client, &long_header(FIN | TEXT, 0xFFFFu64.to_be_bytes(), None), ProtocolError::InvalidLength, 1002);
}

#[test]
fn frame_of_max_plus_one_announced_and_never_sent_is_refused_at_its_header() {
    let max = Config::default().max_frame_size;
    let (_, heap) = measure(|| {
        fails(
            Role::Server,
            &header(FIN | BINARY, max as u64 + 1, Some(KEY)),
            ProtocolError::FrameTooLarge { size: max as u64 + 1, limit: max },
            1009,
        );
    });
    assert!(heap.peak < 4096, "{heap:?}");
    // Exactly the limit is accepted: the connection waits for the payload.
    let mut conn = connection(Role::Server);
    conn.handle_input(&header(FIN | BINARY, max as u64, Some(KEY)));
    assert_eq!(events(&mut conn), []);
    assert_eq!(conn.state(), State::Open);
    assert_eq!(transmit(&mut conn), []);
}

/// `count` masked frames from a client carrying `total` bytes of binary message in all (the last
/// one final unless `unfinished`).
fn fragmented(total: usize, count: usize, unfinished: bool) -> Vec<u8> {
    let payload = vec![0xa5; total.div_ceil(count)];
    let mut out = Vec::with_capacity(total + 14 * count);
    let mut left = total;
    for i in 0..count {
        let len = left.min(payload.len());
        left -= len;
        let fin = if i == count - 1 && !unfinished { FIN } else { 0 };
        let opcode = if i == 0 { BINARY } else { CONT };
        out.extend(client_frame(fin | opcode, &payload[..len]));
    }
    out
}

/// Feeds `input` in driver-sized chunks, draining the events after each.
fn feed(conn: &mut Connection, input: &[u8]) -> Vec<Event> {
    let mut evs = Vec::new();
    for chunk in input.chunks(64 << 10) {
        conn.handle_input(chunk);
        evs.extend(events(conn));
    }
    evs
}

#[test]
fn fragments_totalling_exactly_the_max_message_are_accepted_and_one_more_byte_is_1009() {
    let max = Config::default().max_message_size;
    assert_eq!(max, 16 * MIB);
    let mut conn = connection(Role::Server);
    let evs = feed(&mut conn, &fragmented(max, 16, false));
    match &evs[..] {
        [Event::Message(Message::Binary(data))] => assert!(data.len() == max && data.iter().all(|&b| b == 0xa5)),
        other => panic!("{:?}", other.iter().map(std::mem::discriminant).collect::<Vec<_>>()),
    }

    // The same 16 MiB unfinished, then a final fragment of 1 byte: refused at its header.
    let mut conn = connection(Role::Server);
    let mut input = fragmented(max, 16, true);
    input.extend(client_frame(FIN | CONT, &[1]));
    let evs = feed(&mut conn, &input);
    assert_failed(&mut conn, &evs, ProtocolError::MessageTooLarge { limit: max }, 1009);

    // Or one byte more spread over the fragments.
    let mut conn = connection(Role::Server);
    let evs = feed(&mut conn, &fragmented(max + 1, 16, false));
    assert_failed(&mut conn, &evs, ProtocolError::MessageTooLarge { limit: max }, 1009);
}

/// Sends one million continuation frames of `payload` after an unfinished binary frame, in 4 KiB
/// reads, and returns the events and how many bytes were fed before the connection closed.
fn endless_continuations(payload: &[u8]) -> (Vec<Event>, usize, Heap, Connection) {
    let first = client_frame(BINARY, payload);
    let frame = client_frame(CONT, payload);
    let per_chunk = 4096 / frame.len();
    let block: Vec<u8> = frame.repeat(per_chunk);
    let mut conn = connection(Role::Server);
    let ((evs, consumed), heap) = measure(|| {
        let mut evs = Vec::new();
        let mut consumed = None;
        let mut fed = 0;
        conn.handle_input(&first);
        fed += first.len();
        let mut frames = 0;
        while frames < 1_000_000 {
            conn.handle_input(&block);
            fed += block.len();
            frames += per_chunk;
            for event in std::iter::from_fn(|| conn.poll_event()) {
                if matches!(event, Event::Closed(_)) {
                    consumed.get_or_insert(fed);
                }
                evs.push(event);
            }
        }
        (evs, consumed.expect("closed"))
    });
    (evs, consumed, heap, conn)
}

#[test]
fn a_million_one_byte_continuations_hit_the_fragment_limit_with_bounded_heap() {
    let limit = Config::default().max_fragments;
    let (evs, consumed, heap, mut conn) = endless_continuations(b"x");
    assert_failed(&mut conn, &evs, ProtocolError::TooManyFragments { limit }, 1009);
    // Closed at the 4097th frame, read in the 4 KiB chunk that held it.
    assert!(consumed < (limit + 1) * 7 + 4096, "{consumed}");
    assert!(heap.peak < consumed, "{heap:?} for {consumed} bytes consumed");
}

#[test]
fn a_million_empty_continuations_hit_the_fragment_limit_with_bounded_heap() {
    let limit = Config::default().max_fragments;
    let (evs, consumed, heap, mut conn) = endless_continuations(&[]);
    assert_failed(&mut conn, &evs, ProtocolError::TooManyFragments { limit }, 1009);
    assert!(consumed < (limit + 1) * 6 + 4096, "{consumed}");
    assert!(heap.peak < consumed, "{heap:?} for {consumed} bytes consumed");
}

// ---- masking ----

#[test]
fn unmasked_frame_to_a_server_is_1002_and_never_delivered() {
    fails(Role::Server, &server_frame(FIN | TEXT, b"Hello"), ProtocolError::UnmaskedFrame, 1002);
    fails(Role::Server, &server_frame(FIN | PING, b"x"), ProtocolError::UnmaskedFrame, 1002);
    // A valid first fragment, then an unmasked continuation: the message is never delivered.
    let mut input = client_frame(TEXT, b"Hel");
    input.extend(server_frame(FIN | CONT, b"lo"));
    fails(Role::Server, &input, ProtocolError::UnmaskedFrame, 1002);
}

#[test]
fn masked_frame_to_a_client_is_1002_and_never_delivered() {
    fails(Role::Client, &client_frame(FIN | TEXT, b"Hello"), ProtocolError::MaskedFrame, 1002);
    fails(Role::Client, &client_frame(FIN | CLOSE, &[0x03, 0xe8]), ProtocolError::MaskedFrame, 1002);
}

// ---- framing rules ----

#[test]
fn control_frames_of_126_bytes_are_1002() {
    for opcode in [PING, PONG, CLOSE] {
        let mut payload = vec![b'p'; 126];
        payload[..2].copy_from_slice(&[0x03, 0xe8]);
        fails(Role::Server, &client_frame(FIN | opcode, &payload), ProtocolError::ControlFrameTooLong, 1002);
    }
    // 125 is fine.
    let mut conn = connection(Role::Server);
    conn.handle_input(&client_frame(FIN | PONG, &[b'p'; 125]));
    assert_eq!(events(&mut conn), [Event::Pong(vec![b'p'; 125].into())]);
}

#[test]
fn fragmented_control_frames_are_1002() {
    for opcode in [PING, PONG, CLOSE] {
        fails(Role::Server, &client_frame(opcode, b""), ProtocolError::FragmentedControlFrame, 1002);
    }
    // Also in the middle of a fragmented message.
    let mut input = client_frame(TEXT, b"a");
    input.extend(client_frame(PING, b"p"));
    fails(Role::Server, &input, ProtocolError::FragmentedControlFrame, 1002);
}

#[test]
fn rsv_bits_without_an_extension_are_1002() {
    for rsv in [0x40, 0x20, 0x10, 0x70] {
        fails(Role::Server, &client_frame(FIN | rsv | TEXT, b"a"), ProtocolError::ReservedBits, 1002);
        fails(Role::Server, &client_frame(FIN | rsv | PING, b""), ProtocolError::ReservedBits, 1002);
        fails(Role::Client, &server_frame(FIN | rsv | BINARY, b""), ProtocolError::ReservedBits, 1002);
        let mut input = client_frame(TEXT, b"a");
        input.extend(client_frame(FIN | rsv | CONT, b"b"));
        fails(Role::Server, &input, ProtocolError::ReservedBits, 1002);
    }
}

#[test]
fn every_reserved_opcode_is_1002() {
    for opcode in (0x3..=0x7).chain(0xB..=0xF) {
        fails(Role::Server, &client_frame(FIN | opcode, b"x"), ProtocolError::ReservedOpcode(opcode), 1002);
        fails(Role::Server, &client_frame(opcode, b""), ProtocolError::ReservedOpcode(opcode), 1002);
        fails(Role::Client, &server_frame(FIN | opcode, b""), ProtocolError::ReservedOpcode(opcode), 1002);
    }
}

#[test]
fn continuation_without_a_start_is_1002() {
    fails(Role::Server, &client_frame(FIN | CONT, b"x"), ProtocolError::UnexpectedContinuation, 1002);
    fails(Role::Server, &client_frame(CONT, b""), ProtocolError::UnexpectedContinuation, 1002);
    // Also right after a complete message.
    let mut conn = connection(Role::Server);
    conn.handle_input(&client_frame(FIN | TEXT, b"done"));
    conn.handle_input(&client_frame(FIN | CONT, b"more"));
    assert_eq!(conn.poll_event(), Some(Event::Message(Message::from("done"))));
    let evs = events(&mut conn);
    assert_failed(&mut conn, &evs, ProtocolError::UnexpectedContinuation, 1002);
}

#[test]
fn new_message_inside_a_fragmented_one_is_1002() {
    for (first, second) in [(TEXT, TEXT), (TEXT, BINARY), (BINARY, TEXT), (BINARY, BINARY)] {
        let mut input = client_frame(first, b"a");
        input.extend(client_frame(FIN | second, b"b"));
        fails(Role::Server, &input, ProtocolError::ExpectedContinuation, 1002);
    }
}

// ---- UTF-8 and close payloads ----

#[test]
fn invalid_utf8_split_across_fragments_is_1007() {
    // E2 82 then 28: the continuation byte is missing.
    let mut input = client_frame(TEXT, &[0xe2, 0x82]);
    input.extend(client_frame(FIN | CONT, &[0x28]));
    fails(Role::Server, &input, ProtocolError::InvalidUtf8, 1007);
    // A 4-byte character cut short by the end of the message.
    let mut input = client_frame(TEXT, &[0xf0, 0x9f]);
    input.extend(client_frame(CONT, &[0x98]));
    input.extend(client_frame(FIN | CONT, &[]));
    fails(Role::Server, &input, ProtocolError::InvalidUtf8, 1007);
    // Surrogates and overlong forms, split over fragments.
    for bad in [[0xed, 0xa0, 0x80], [0xc0, 0xaf, 0x41], [0xf4, 0x90, 0x80]] {
        let mut input = client_frame(TEXT, &bad[..1]);
        input.extend(client_frame(FIN | CONT, &bad[1..]));
        fails(Role::Server, &input, ProtocolError::InvalidUtf8, 1007);
    }
    // The same split of a valid character is delivered.
    let mut conn = connection(Role::Server);
    for (i, byte) in "\u{20ac}".bytes().enumerate() {
        let b0 = if i == 0 { TEXT } else { CONT } | if i == 2 { FIN } else { 0 };
        conn.handle_input(&client_frame(b0, &[byte]));
    }
    assert_eq!(events(&mut conn), [Event::Message(Message::from("\u{20ac}"))]);
}

#[test]
fn invalid_utf8_fails_before_the_rest_of_a_large_frame_arrives() {
    let mut conn = connection(Role::Server);
    let mut input = header(FIN | TEXT, MIB as u64, Some([0; 4]));
    input.extend_from_slice(b"ok \xff");
    conn.handle_input(&input);
    let evs = events(&mut conn);
    assert_failed(&mut conn, &evs, ProtocolError::InvalidUtf8, 1007);
}

#[test]
fn invalid_utf8_in_a_close_reason_is_1007() {
    fails(Role::Server, &client_frame(FIN | CLOSE, &[0x03, 0xe8, 0xff, 0xfe]), ProtocolError::InvalidUtf8, 1007);
    fails(Role::Client, &server_frame(FIN | CLOSE, &[0x03, 0xe8, b'o', 0xc3]), ProtocolError::InvalidUtf8, 1007);
}

#[test]
fn close_payload_of_one_byte_and_unsendable_codes_are_1002() {
    fails(Role::Server, &client_frame(FIN | CLOSE, &[0x03]), ProtocolError::InvalidClosePayload, 1002);
    for code in [999u16, 1005, 1006, 1015, 5000, 0, 1004, 1016, 2999, 65535] {
        let payload = code.to_be_bytes();
        fails(Role::Server, &client_frame(FIN | CLOSE, &payload), ProtocolError::InvalidCloseCode(code), 1002);
    }
    // The boundaries that are sendable close cleanly.
    for code in [1000u16, 1003, 1007, 1014, 3000, 4999] {
        let mut conn = connection(Role::Server);
        conn.handle_input(&client_frame(FIN | CLOSE, &code.to_be_bytes()));
        let evs = events(&mut conn);
        let closed = Closed::new(CloseCode(code), "", true);
        assert_eq!(evs.last(), Some(&Event::Closed(closed)), "{code}");
        assert_eq!(read_frames(&transmit(&mut conn))[0].close_code(), Some(code), "echoed");
    }
}

// ---- floods ----

#[test]
fn a_hundred_thousand_pings_unread_leave_one_pending_pong() {
    let pings: Vec<u8> = (0..100_000u32).flat_map(|i| client_frame(FIN | PING, &i.to_be_bytes())).collect();
    let mut conn = connection(Role::Server);
    let (_, heap) = measure(|| {
        for chunk in pings.chunks(32 << 10) {
            conn.handle_input(chunk);
            assert_eq!(events(&mut conn), []);
            // The peer never reads, so the driver never writes the output: 16 answers sit in
            // the transmit queue unwritten, and one more is pending, the newest replacing it.
            assert!(conn.pending_transmit() <= 17 * (4 + 2), "{}", conn.pending_transmit());
        }
    });
    assert!(heap.peak < 128 << 10, "{heap:?}");
    // The first 16 answers, then the one pending: the answer to the last ping.
    let pongs: Vec<u32> = read_frames(&transmit(&mut conn))
        .iter()
        .map(|f| u32::from_be_bytes(f.payload[..].try_into().unwrap()))
        .collect();
    let mut expected: Vec<u32> = (0..16).collect();
    expected.push(99_999);
    assert_eq!(pongs, expected);
}

// ---- peers that stop reading or go quiet (issue 22) ----

/// Everything `conn` has for the peer at `now`, written.
fn transmit_at(conn: &mut Connection, now: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    conn.poll_transmit(now, &mut out);
    out
}

/// A clock reading for `conn` at `now`, with a socket that takes nothing.
fn transmit_nothing(conn: &mut Connection, now: Instant) {
    write_some(conn, now, 0);
}

/// Writes at most `n` bytes of what `conn` has for the peer at `now`, as a socket whose send
/// buffer has room for `n` more would; returns how many.
fn write_some(conn: &mut Connection, now: Instant, n: usize) -> usize {
    use laputa_core::bytes::Buf;
    let queue = conn.transmit(now);
    let n = n.min(queue.remaining());
    queue.advance(n);
    n
}

#[test]
fn a_ping_flood_never_read_then_silence_is_let_go_at_the_write_stall_deadline() {
    let stall = Config::default().write_stall_timeout.expect("on by default");
    let mut conn = connection(Role::Server);
    let start = Instant::now();
    let mut now = start;
    // The peer pings for a while and reads a little at first, then nothing at all.
    for i in 0..1000u32 {
        conn.handle_input(&client_frame(FIN | PING, &i.to_be_bytes()));
        assert_eq!(events(&mut conn), []);
        write_some(&mut conn, now, if i < 100 { 6 } else { 0 });
        now += Duration::from_millis(10);
    }
    // The last bytes were written at 0.99 s; the wait counts from the next reading, at 1 s.
    // Keepalive pings (20 s after the last input, at 10 s) join the stuck output meanwhile.
    let released = loop {
        let deadline = conn.poll_timeout().expect("a deadline runs");
        conn.handle_timeout(deadline);
        transmit_nothing(&mut conn, deadline);
        if conn.is_finished() {
            break deadline;
        }
        assert_eq!(events(&mut conn), [], "at {:?}", deadline - start);
    };
    assert_eq!(released, start + Duration::from_secs(1) + stall);
    let evs = events(&mut conn);
    assert_eq!(
        evs,
        [Event::Closed(Closed::new(CloseCode::ABNORMAL, "", false).with_error(ProtocolError::WriteStalled))]
    );
    assert!(conn.is_finished(), "the driver drops the socket");
    assert_eq!(conn.pending_transmit(), 0, "what could not be written is dropped");
    assert_eq!(conn.poll_timeout(), None);
    assert!(conn.send(Message::from("late")).is_err());
}

#[test]
fn a_slow_reader_that_keeps_taking_a_little_is_never_cut_off() {
    // 10 MiB towards a peer that reads 1 KiB every 100 ms (the socket takes that much): it
    // would take about 17 minutes, far past the 30 s write-stall timeout; the first 10 simulated
    // minutes are enough to show the deadline keeps moving.
    let mut conn = connection(Role::Server);
    conn.send(Message::from(vec![7u8; 10 * MIB])).unwrap();
    let mut now = Instant::now();
    let mut written = 0;
    for _ in 0..6000 {
        written += write_some(&mut conn, now, 1024);
        now += Duration::from_millis(100);
        while conn.poll_timeout().is_some_and(|deadline| deadline <= now) {
            conn.handle_timeout(now);
        }
        // The peer answers keepalive pings (its pong, as anything it sends, proves it alive).
        if written % (10 << 10) == 0 {
            conn.handle_input(&client_frame(FIN | PONG, b""));
        }
        let evs = events(&mut conn);
        assert!(evs.iter().all(|e| matches!(e, Event::Pong(_))), "at {written} bytes: {evs:?}");
    }
    assert!(!conn.is_finished());
    assert_eq!(conn.state(), State::Open);
    assert_eq!(written, 6000 * 1024);
}

#[test]
fn keepalive_is_on_by_default_and_lets_a_silent_peer_go_within_forty_seconds() {
    let mut conn = connection(Role::Server);
    let t0 = Instant::now();
    transmit_at(&mut conn, t0);
    let ping_at = conn.poll_timeout().expect("keepalive runs by default");
    assert_eq!(ping_at, t0 + Duration::from_secs(20));
    conn.handle_timeout(ping_at);
    assert_eq!(read_frames(&transmit_at(&mut conn, ping_at))[0].opcode(), PING & 0x0f);
    let gone_at = conn.poll_timeout().expect("waiting for the peer");
    assert_eq!(gone_at, t0 + Duration::from_secs(40));
    conn.handle_timeout(gone_at);
    let evs = events(&mut conn);
    assert_failed(&mut conn, &evs, ProtocolError::KeepaliveTimeout, 1011);
}

#[test]
fn a_peer_that_answers_pings_but_sends_nothing_is_kept_without_an_idle_timeout() {
    let mut conn = connection(Role::Server);
    let mut now = Instant::now();
    transmit_at(&mut conn, now);
    // An hour of pings, each answered.
    for _ in 0..180 {
        now = conn.poll_timeout().expect("keepalive runs");
        conn.handle_timeout(now);
        assert_eq!(read_frames(&transmit_at(&mut conn, now)).len(), 1, "a ping");
        conn.handle_input(&client_frame(FIN | PONG, b""));
        assert_eq!(events(&mut conn), [Event::Pong(Default::default())]);
        transmit_at(&mut conn, now);
    }
    assert_eq!(conn.state(), State::Open);
}

#[test]
fn the_idle_timeout_closes_a_peer_that_only_answers_pings_with_1001() {
    let mut config = Config::default();
    config.idle_timeout = Some(IdleTimeout::new(Duration::from_secs(120)));
    let mut conn = Connection::with_rng(Role::Server, config, Rng::seeded(7));
    let t0 = Instant::now();
    transmit_at(&mut conn, t0);
    // A message at 100 s restarts the wait.
    let mut closed_at = None;
    for step in 1..=60 {
        let now = t0 + Duration::from_secs(step * 5);
        if step == 20 {
            conn.handle_input(&client_frame(FIN | TEXT, b"hi"));
            assert_eq!(events(&mut conn), [Event::Message(Message::from("hi"))]);
        } else {
            conn.handle_input(&client_frame(FIN | PONG, b""));
            assert_eq!(events(&mut conn), [Event::Pong(Default::default())]);
        }
        if conn.poll_timeout().is_some_and(|deadline| deadline <= now) {
            conn.handle_timeout(now);
        }
        let frames = read_frames(&transmit_at(&mut conn, now));
        if let Some(close) = frames.iter().find(|f| f.close_code().is_some()) {
            assert_eq!(close.close_code(), Some(1001));
            assert_eq!(&close.payload[2..], b"idle timeout");
            closed_at = Some(now);
            break;
        }
    }
    assert_eq!(closed_at, Some(t0 + Duration::from_secs(100 + 120)), "120 s after the last message");
    assert_eq!(conn.state(), State::Closing);
}

// ---- the opening handshake ----

/// The request of RFC 6455 section 1.2, without its final empty line.
const REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/// [`REQUEST`] with `extra` header lines (each ending in CRLF) and the final empty line.
fn request_with(extra: &str) -> Vec<u8> {
    format!("{REQUEST}{extra}\r\n").into_bytes()
}

/// [`REQUEST`] with the line starting with `name:` replaced by `line` (removed if empty).
fn request_replacing(name: &str, line: &str) -> Vec<u8> {
    let mut out = String::new();
    for l in REQUEST.split_terminator("\r\n") {
        match l.starts_with(&format!("{name}:")) {
            true if line.is_empty() => {}
            true => out.push_str(&format!("{line}\r\n")),
            false => out.push_str(&format!("{l}\r\n")),
        }
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// The default configuration with room for a head of `max` bytes.
fn head_limit(max: usize) -> Config {
    let mut config = Config::default();
    config.max_handshake_size = max;
    config
}

fn server_handshake(config: Config) -> ServerHandshake {
    ServerHandshake::new(config, Instant::now())
}

/// The error for `request` fed whole to a server with `config`.
fn rejection(config: Config, request: &[u8]) -> HandshakeError {
    match server_handshake(config).handle_input(request) {
        Err(err) => err,
        Ok(result) => panic!("not rejected: {result:?}"),
    }
}

/// Asserts that `err` is the rejection with `status` and `reason`, and that its response is
/// exactly the status line, `headers` (lines without CRLF), `Connection: close` unless `headers`
/// has a `connection:` line, the length and the reason as body.
fn assert_response(err: &HandshakeError, status: u16, reason: &str, headers: &[&str]) {
    let status = StatusCode::from_u16(status).unwrap();
    assert_eq!(err, &HandshakeError::Rejected { status, reason: leak(reason) });
    assert_eq!(err.http_status(), Some(status));
    let mut expected = format!("HTTP/1.1 {} {}\r\n", status.as_str(), status.canonical_reason().unwrap());
    for header in headers {
        expected.push_str(&format!("{header}\r\n"));
    }
    if !headers.iter().any(|header| header.starts_with("connection:")) {
        expected.push_str("Connection: close\r\n");
    }
    expected.push_str(&format!("Content-Length: {}\r\n\r\n{reason}\n", reason.len() + 1));
    let actual = err.response_bytes().expect("a response");
    assert_eq!(String::from_utf8(actual).unwrap(), expected);
}

/// `HandshakeError::Rejected` holds a `&'static str`; the few test strings may leak.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

const TOO_LARGE: &str = "request head too large or too many headers";

#[test]
fn a_20_mb_header_line_is_431_at_the_first_chunk_over_the_limit() {
    let chunk = vec![b'a'; 64 << 10];
    for chunk_len in [64 << 10, 1024] {
        let chunk = &chunk[..chunk_len];
        let ((err, fed, calls), heap) = measure(|| {
            let mut handshake = server_handshake(Config::default());
            assert!(handshake.handle_input(b"GET / HTTP/1.1\r\nX-Long: ").unwrap().is_none());
            let (mut fed, mut calls) = (0usize, 0usize);
            loop {
                assert!(fed < 20_000_000, "never rejected");
                calls += 1;
                match handshake.handle_input(chunk) {
                    Ok(None) => fed += chunk.len(),
                    Ok(Some(_)) => panic!("accepted"),
                    Err(err) => break (err, fed, calls),
                }
            }
        });
        assert_response(&err, 431, TOO_LARGE, &[]);
        let max = Config::default().max_handshake_size;
        assert!(fed <= max && fed + chunk_len > max - 24, "{chunk_len}: rejected after {fed} bytes");
        assert_eq!(calls, fed / chunk_len + 1);
        assert!(heap.peak <= 2 * max + 1024, "{chunk_len}: {heap:?}");
    }
    // The client refuses a 20 MB response line the same way.
    let mut client = client_handshake(Config::default(), &[]);
    assert!(client.handle_input(b"HTTP/1.1 101 Switching Protocols\r\nX-Long: ").unwrap().is_none());
    assert_eq!(client.handle_input(&chunk).unwrap_err(), HandshakeError::ResponseTooLarge);
}

#[test]
fn a_64_kib_head_trickled_one_byte_at_a_time_is_431_after_the_limit_with_linear_work() {
    let padding = format!("X-Padding: {}\r\n", "p".repeat(64 << 10));
    let request = request_with(&padding);
    let max = Config::default().max_handshake_size;
    let ((err, calls), heap) = measure(|| {
        let mut handshake = server_handshake(Config::default());
        for (i, byte) in request.iter().enumerate() {
            match handshake.handle_input(std::slice::from_ref(byte)) {
                Ok(None) => {}
                Ok(Some(_)) => panic!("accepted"),
                Err(err) => return (err, i + 1),
            }
        }
        panic!("never rejected")
    });
    assert_response(&err, 431, TOO_LARGE, &[]);
    assert_eq!(calls, max + 1, "refused at the first byte over the limit");
    // Buffer growth is amortised: a few dozen allocations, not one per byte.
    assert!(heap.calls < 64 && heap.peak <= 2 * max + 1024, "{heap:?}");

    // With the limit raised, the same trickle is accepted with the same amortised work.
    let config = head_limit(80 << 10);
    let (incoming, heap) = measure(|| {
        let mut handshake = server_handshake(config);
        let (last, init) = request.split_last().unwrap();
        for byte in init {
            assert!(handshake.handle_input(std::slice::from_ref(byte)).unwrap().is_none());
        }
        handshake.handle_input(&[*last]).unwrap().unwrap()
    });
    assert_eq!(incoming.headers()["x-padding"].len(), 64 << 10);
    assert!(heap.calls < 128, "{heap:?}");
}

#[test]
fn too_many_headers_are_431_with_bounded_work() {
    for count in [129, 2001] {
        // Short distinct names (hex numbers, empty values) keep 2001 lines under the size limit.
        let extra: String = (0..count).map(|i| format!("{i:x}:\r\n")).collect();
        let request = request_with(&extra);
        assert!(request.len() < Config::default().max_handshake_size, "the count is what is over");
        let (err, heap) = measure(|| rejection(Config::default(), &request));
        assert_response(&err, 431, TOO_LARGE, &[]);
        assert!(heap.calls < 64, "{count}: {heap:?}");
    }
    // The same name repeated counts as many headers.
    let extra = "Cookie: a=1\r\n".repeat(200);
    assert_response(&rejection(Config::default(), &request_with(&extra)), 431, TOO_LARGE, &[]);
    // Exactly the limit (64 lines in all) is accepted.
    let extra: String = (0..64 - 5).map(|i| format!("X-{i}: v\r\n")).collect();
    assert!(server_handshake(Config::default()).handle_input(&request_with(&extra)).unwrap().is_some());
    let extra: String = (0..64 - 4).map(|i| format!("X-{i}: v\r\n")).collect();
    assert_response(&rejection(Config::default(), &request_with(&extra)), 431, TOO_LARGE, &[]);
}

/// 100 KB header values shaped like inputs that make backtracking parsers explode.
fn redos_values() -> Vec<(&'static str, String)> {
    let n = 50_000;
    vec![
        ("Sec-WebSocket-Protocol", "a,".repeat(n)),
        ("Sec-WebSocket-Protocol", ",".repeat(2 * n)),
        ("Sec-WebSocket-Protocol", format!("\"{}", "a".repeat(2 * n))),
        ("Sec-WebSocket-Protocol", " ,\t".repeat(n * 2 / 3)),
        ("Sec-WebSocket-Extensions", "a,".repeat(n)),
        ("Sec-WebSocket-Extensions", ";".repeat(2 * n)),
        ("Sec-WebSocket-Extensions", "a;".repeat(n)),
        ("Sec-WebSocket-Extensions", format!("permessage-deflate; server_max_window_bits=\"{}", "9".repeat(2 * n))),
        ("Sec-WebSocket-Extensions", "x=\"\\".repeat(n * 2 / 3)),
        ("Sec-WebSocket-Extensions", format!("permessage-deflate{}", "; a=b".repeat(n / 3))),
    ]
}

#[test]
fn redos_shaped_protocol_and_extension_values_are_handled_with_bounded_work() {
    let big = head_limit(256 << 10);
    for (name, value) in redos_values() {
        let request = request_with(&format!("{name}: {value}\r\n"));
        // Under the default limit: refused by size alone.
        assert_response(&rejection(Config::default(), &request), 431, TOO_LARGE, &[]);
        // With room for it: accepted, the value exposed as sent, the upgrade answered without
        // any extension or subprotocol (none is chosen), all in a bounded number of allocations.
        let (head, heap) = measure(|| {
            let incoming = server_handshake(big.clone()).handle_input(&request).unwrap().unwrap();
            let protocols = incoming.protocols().count();
            let expected = match value.as_str() {
                v if v.starts_with("a,") => 50_000,
                // A quoted string is not a token: no subprotocol.
                _ => 0,
            };
            if name == "Sec-WebSocket-Protocol" {
                assert_eq!(protocols, expected, "{name}: {:.20}", value);
            } else {
                assert_eq!(incoming.extension_offers().collect::<Vec<_>>(), [value.as_str()]);
            }
            let mut conn = incoming.accept(Accept::new()).unwrap();
            transmit(&mut conn)
        });
        let head = String::from_utf8(head).unwrap();
        assert!(!head.contains("Sec-WebSocket-Protocol") && !head.to_ascii_lowercase().contains("extensions"));
        assert!(heap.calls < 64, "{name}: {:.20}: {heap:?}", value);

        // With permessage-deflate enabled the server parses the offers: linear work too (a few
        // allocations per list element at most), and no offer here is one it accepts.
        let mut deflate = big.clone();
        deflate.deflate = Some(DeflateConfig::default());
        let (head, heap) = measure(|| {
            let incoming = server_handshake(deflate).handle_input(&request).unwrap().unwrap();
            let mut conn = incoming.accept(Accept::new()).unwrap();
            transmit(&mut conn)
        });
        let head = String::from_utf8(head).unwrap();
        assert!(!head.to_ascii_lowercase().contains("extensions"), "{name}: {:.20}: {head}", value);
        assert!(heap.calls < 64 + 4 * value.len() / 2, "{name}: {:.20}: {heap:?}", value);
    }
}

#[test]
fn a_subprotocol_from_a_50000_element_offer_can_be_chosen() {
    let big = head_limit(256 << 10);
    let request = request_with(&format!("Sec-WebSocket-Protocol: {}chat\r\n", "a,".repeat(50_000)));
    let incoming = server_handshake(big.clone()).handle_input(&request).unwrap().unwrap();
    let mut conn = incoming.accept(Accept::new().protocol("chat")).unwrap();
    let head = String::from_utf8(transmit(&mut conn)).unwrap();
    assert!(head.contains("\r\nSec-WebSocket-Protocol: chat\r\n"), "{head}");
    let incoming = server_handshake(big).handle_input(&request).unwrap().unwrap();
    let err = incoming.accept(Accept::new().protocol("b")).unwrap_err();
    assert_eq!(err, HandshakeError::InvalidAccept("subprotocol not offered by the client"));
}

#[test]
fn prototype_shaped_extension_and_protocol_names_are_plain_strings() {
    let names = "constructor, __proto__; __proto__=1, prototype; toString, hasOwnProperty";
    let request = request_with(&format!(
        "Sec-WebSocket-Extensions: {names}\r\nSec-WebSocket-Protocol: __proto__, constructor\r\n"
    ));
    let incoming = server_handshake(Config::default()).handle_input(&request).unwrap().unwrap();
    assert_eq!(incoming.extension_offers().collect::<Vec<_>>(), [names]);
    assert_eq!(incoming.protocols().collect::<Vec<_>>(), ["__proto__", "constructor"]);
    let mut conn = incoming.accept(Accept::new().protocol("__proto__")).unwrap();
    let head = String::from_utf8(transmit(&mut conn)).unwrap();
    assert!(head.contains("\r\nSec-WebSocket-Protocol: __proto__\r\n") && !head.contains("xtensions"));
    // A client that offered nothing refuses a server choosing them.
    for extra in ["Sec-WebSocket-Extensions: __proto__\r\n", "Sec-WebSocket-Extensions: constructor\r\n"] {
        let err = respond(&[], extra).unwrap_err();
        assert_eq!(err, HandshakeError::InvalidResponse("server chose an extension that was not offered"));
    }
    let err = respond(&[], "Sec-WebSocket-Protocol: __proto__\r\n").unwrap_err();
    assert_eq!(err, HandshakeError::InvalidResponse("server chose a subprotocol that was not offered"));
}

/// A client offering `protocols` and the permessage-deflate extension, with room for 256 KiB
/// responses.
fn client_handshake(config: Config, protocols: &[&str]) -> ClientHandshake {
    let mut request = ClientRequest::new("ws://server.example.com/chat").unwrap().extension_offer("permessage-deflate");
    for protocol in protocols {
        request = request.protocol(*protocol);
    }
    ClientHandshake::with_rng(request, config, Rng::seeded(9), Instant::now()).unwrap()
}

/// The client's result for a 101 response (with the right accept value) plus `extra` lines.
fn respond(protocols: &[&str], extra: &str) -> Result<(), HandshakeError> {
    respond_bytes(protocols, extra.as_bytes())
}

/// [`respond`] with header bytes that need not be UTF-8.
fn respond_bytes(protocols: &[&str], extra: &[u8]) -> Result<(), HandshakeError> {
    let config = head_limit(256 << 10);
    let mut client = client_handshake(config, protocols);
    let mut request = Vec::new();
    client.poll_transmit(&mut request);
    let request = String::from_utf8(request).unwrap();
    let key = request.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ")).unwrap();
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n",
        laputa_core::handshake::accept_key(key.as_bytes())
    )
    .into_bytes();
    response.extend_from_slice(extra);
    response.extend_from_slice(b"\r\n");
    client.handle_input(&response).map(|done| assert!(done.is_some()))
}

#[test]
fn redos_shaped_values_in_a_response_are_handled_with_bounded_work() {
    let n = 50_000;
    let several = HandshakeError::InvalidResponse("server chose several subprotocols");
    let not_offered = HandshakeError::InvalidResponse("server chose an extension that was not offered");
    let malformed = HandshakeError::InvalidResponse("invalid Sec-WebSocket-Extensions");
    let cases: Vec<(String, Result<(), HandshakeError>)> = vec![
        (format!("Sec-WebSocket-Protocol: {}", "chat,".repeat(n)), Err(several)),
        (format!("Sec-WebSocket-Protocol: {}", ",".repeat(2 * n)), Ok(())),
        (format!("Sec-WebSocket-Extensions: {}", "a,".repeat(n)), Err(not_offered.clone())),
        (format!("Sec-WebSocket-Extensions: {}permessage-deflate", "a;".repeat(n)), Err(not_offered)),
        (format!("Sec-WebSocket-Extensions: {}", ";".repeat(2 * n)), Err(malformed.clone())),
        (format!("Sec-WebSocket-Extensions: permessage-deflate{}", ";".repeat(2 * n)), Err(malformed)),
    ];
    for (line, expected) in cases {
        let (result, heap) = measure(|| respond(&["chat"], &format!("{line}\r\n")));
        assert_eq!(result, expected, "{line:.40}");
        assert!(heap.calls < 64, "{line:.40}: {heap:?}");
    }
}

/// Found by the `handshake_response` fuzz target.
#[test]
fn a_response_with_a_non_ascii_subprotocol_fails_the_handshake() {
    for extra in [
        &b"Sec-WebSocket-Protocol: \xff\r\n"[..],
        b"Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: ch\x9aat\r\n",
    ] {
        let result = respond_bytes(&["chat"], extra);
        assert!(
            matches!(result, Err(HandshakeError::InvalidResponse(_))),
            "{:?}: {result:?}",
            String::from_utf8_lossy(extra)
        );
    }
    // For comparison, the same value in Sec-WebSocket-Extensions is refused.
    let result = respond_bytes(&["chat"], b"Sec-WebSocket-Extensions: \xff\r\n");
    assert_eq!(result, Err(HandshakeError::InvalidResponse("invalid Sec-WebSocket-Extensions")));
}

// ---- malformed upgrade requests: status and exact response ----

#[test]
fn bad_missing_or_duplicate_key_is_400() {
    let missing = "missing or duplicate Sec-WebSocket-Key";
    let bad = "Sec-WebSocket-Key is not 16 bytes in base64";
    let cases: [(&str, &str); 9] = [
        ("", missing),
        ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", missing),
        ("Sec-WebSocket-Key:", bad),
        ("Sec-WebSocket-Key: c2hvcnQ=", bad),                    // 5 bytes
        ("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAA", bad),    // 18 bytes
        ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ", bad),      // no padding
        ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==AA", bad),  // trailing data
        ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ!==", bad),    // not base64
        ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==, x", bad), // a list
    ];
    for (line, reason) in cases {
        let err = rejection(Config::default(), &request_replacing("Sec-WebSocket-Key", line));
        assert_response(&err, 400, reason, &[]);
    }
}

#[test]
fn version_other_than_13_is_426_naming_13() {
    let reason = "Sec-WebSocket-Version must be 13";
    for line in [
        "Sec-WebSocket-Version: 12",
        "Sec-WebSocket-Version: 8",
        "Sec-WebSocket-Version: 13, 8",
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13",
        "",
    ] {
        let err = rejection(Config::default(), &request_replacing("Sec-WebSocket-Version", line));
        // RFC 9110 section 15.5.22: a 426 names the protocol to upgrade to.
        let headers = ["sec-websocket-version: 13", "upgrade: websocket", "connection: Upgrade, close"];
        assert_response(&err, 426, reason, &headers);
    }
}

#[test]
fn post_is_405_allowing_get() {
    for method in ["POST", "PUT", "HEAD", "CONNECT", "get"] {
        let request = request_with("").strip_prefix(b"GET").unwrap().to_vec();
        let request = [method.as_bytes(), &request].concat();
        let err = rejection(Config::default(), &request);
        assert_response(&err, 405, "method must be GET", &["allow: GET"]);
    }
}

#[test]
fn http_1_0_is_505() {
    let request = String::from_utf8(request_with("")).unwrap().replacen("HTTP/1.1", "HTTP/1.0", 1);
    assert_response(&rejection(Config::default(), request.as_bytes()), 505, "WebSocket needs HTTP/1.1", &[]);
    // A POST over HTTP/1.0 is answered about the version first.
    let request = request.replacen("GET", "POST", 1);
    assert_response(&rejection(Config::default(), request.as_bytes()), 505, "WebSocket needs HTTP/1.1", &[]);
}

// ---- permessage-deflate ----
// The 1 GiB bomb is in `deflate_bomb.rs` (it needs a process-wide allocator); RSV1 on control and
// continuation frames is in the connection's unit tests.

/// A compressing client and a server that negotiated permessage-deflate (with context takeover
/// unless `no_takeover`), the server limited to `limit` bytes per message.
fn deflate_pair(limit: usize, no_takeover: bool) -> (Connection, Connection) {
    let offer = if no_takeover { "permessage-deflate; client_no_context_takeover" } else { "permessage-deflate" };
    let offers = laputa_core::extensions::parse_extensions(offer).unwrap();
    let (params, _) = laputa_core::deflate::server_negotiate(&offers, &DeflateConfig::default()).unwrap();
    let mut config = Config::default();
    config.max_message_size = limit;
    let client = Connection::with_deflate(Role::Client, Config::default(), Rng::seeded(1), params);
    (client, Connection::with_deflate(Role::Server, config, Rng::seeded(2), params))
}

#[test]
fn compressed_message_of_exactly_the_limit_passes_and_one_or_two_more_bytes_are_1009() {
    let limit = 100_000;
    for no_takeover in [false, true] {
        for fragments in [1, 7] {
            for extra in [0, 1, 2] {
                let (mut client, mut server) = deflate_pair(limit, no_takeover);
                // A first message, so that the limit is also tested with context carried over.
                client.send(Message::from(vec![1u8; 1000])).unwrap();
                let text = "Laputa ".repeat(limit / 7 + 1)[..limit + extra].to_owned();
                let chunk = text.len().div_ceil(fragments);
                let pieces: Vec<&[u8]> = text.as_bytes().chunks(chunk).collect();
                for (i, piece) in pieces.iter().enumerate() {
                    client.send_fragment(MessageKind::Text, piece, i + 1 == pieces.len()).unwrap();
                }
                let evs = feed(&mut server, &transmit(&mut client));
                assert_eq!(evs[0], Event::Message(Message::from(vec![1u8; 1000])));
                if extra == 0 {
                    assert_eq!(evs[1..], [Event::Message(Message::from(text))], "exactly the limit");
                } else {
                    assert_failed(&mut server, &evs[1..], ProtocolError::MessageTooLarge { limit }, 1009);
                }
            }
        }
    }
}

#[test]
fn corrupt_deflate_streams_fail_the_connection() {
    let cases: [(&str, &[u8]); 4] = [
        ("reserved block type 11", &[0x07, 0x00]),
        ("stored block whose length check fails", &[0x00, 0x05, 0x00, 0x00, 0x00, b'H']),
        // RFC 7692 section 7.2.3.2's second "Hello", which refers back to a first one this
        // receiver never saw.
        ("distance further back than anything inflated", &[0xf2, 0x00, 0x11, 0x00, 0x00]),
        ("a final block, then more data", &[0x03, 0x00, 0xff, 0xff, 0xff]),
    ];
    for (what, payload) in cases {
        let (_, mut server) = deflate_pair(MIB, false);
        let mut frame = vec![0xc2, 0x80 | payload.len() as u8, 0, 0, 0, 0];
        frame.extend_from_slice(payload);
        let evs = feed(&mut server, &frame);
        let [Event::Closed(closed)] = &evs[..] else { panic!("{what}: {evs:?}") };
        assert!(matches!(closed.error, Some(ProtocolError::Decompression(_))), "{what}: {closed:?}");
        assert_eq!(closed.code, CloseCode::PROTOCOL_ERROR, "{what}");
    }
}

#[test]
fn malformed_deflate_answers_fail_the_client_handshake() {
    for answer in [
        "permessage-deflate;;;;",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=\"9",
        "permessage-deflate; client_max_window_bits=15abc",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; x-unknown",
        "permessage-deflate, permessage-deflate",
    ] {
        let result = respond(&[], &format!("Sec-WebSocket-Extensions: {answer}\r\n"));
        assert!(matches!(result, Err(HandshakeError::InvalidResponse(_))), "{answer}: {result:?}");
    }
}

#[test]
fn malformed_deflate_offers_are_answered_without_the_extension() {
    let mut config = Config::default();
    config.deflate = Some(DeflateConfig::default());
    for offer in [
        "permessage-deflate;;;;",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=\"9",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; constructor=1",
    ] {
        let request = request_with(&format!("Sec-WebSocket-Extensions: {offer}\r\n"));
        let incoming = server_handshake(config.clone()).handle_input(&request).unwrap().unwrap();
        let mut server = incoming.accept(Accept::default()).unwrap();
        assert!(!server.is_compressed(), "{offer}");
        let response = String::from_utf8(transmit(&mut server)).unwrap();
        assert!(!response.to_ascii_lowercase().contains("sec-websocket-extensions"), "{offer}: {response}");
    }
}

/// Heap bytes live on this thread now.
fn live() -> isize {
    LIVE.with(Cell::get)
}

#[test]
fn an_idle_connection_keeps_no_buffer_of_the_large_messages_it_received() {
    let mut server = connection(Role::Server);
    let wire = common::frame(0x82, &vec![5; MIB], true);
    let mut burst = common::frame(0x82, &[1; 100_000], true);
    burst.extend(common::frame(0x82, b"small", true));
    let before = live();
    // One large frame, partly fed and partly appended to the spare room the core lends.
    server.handle_input(&wire[..100_000]);
    assert!(server.poll_event().is_none());
    let mut room = server.input_room_buf().expect("the rest of a large frame");
    room.put_slice(&wire[100_000..]);
    server.handle_input_read(wire.len() - 100_000);
    let Some(Event::Message(message)) = server.poll_event() else { panic!("no message") };
    assert_eq!(message.payload().len(), MIB);
    drop(message);
    assert!(live() - before < 1024, "{} bytes held after a 1 MiB message", live() - before);
    // A large frame and a small one in one read: the small payload is the last of the buffer.
    server.handle_input(&burst);
    assert_eq!(events(&mut server).len(), 2);
    assert!(live() - before < 1024, "{} bytes held after a read of 100 KB", live() - before);
}
