//! Connection tests, by RFC 6455 section, asserting exact events and bytes.

use super::*;
use crate::room_ahead::{AHEAD_MAX, AHEAD_MIN, MAX_FRAMES_AHEAD};
use bytes::{Buf, BufMut};
use std::time::Duration;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
/// A seed whose first masking key is `KEY`, the key of RFC 6455 section 5.7's masked examples
/// (splitmix64's output function inverted), so that a client's frames are the RFC's bytes.
const KEY_SEED: u64 = 0xc934_7627_967d_6199;

fn server() -> Connection {
    Connection::with_rng(Role::Server, Config::default(), Rng::seeded(1))
}

fn client() -> Connection {
    Connection::with_rng(Role::Client, Config::default(), Rng::seeded(2))
}

/// A client whose first frame is masked with `KEY`.
fn rfc_client() -> Connection {
    assert_eq!(Rng::seeded(KEY_SEED).mask_key(), KEY);
    Connection::with_rng(Role::Client, Config::default(), Rng::seeded(KEY_SEED))
}

/// A frame as a client would send it (masked with `KEY` unless `mask` is false).
fn frame(fin: bool, rsv1: bool, opcode: u8, payload: &[u8], mask: bool) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | (u8::from(rsv1) << 6) | opcode];
    let len = payload.len();
    let mask_bit = if mask { 0x80 } else { 0 };
    match len {
        0..=125 => out.push(mask_bit | len as u8),
        126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    let start = out.len();
    if mask {
        out.extend_from_slice(&KEY);
    }
    let body = out.len();
    out.extend_from_slice(payload);
    if mask {
        apply_mask(&mut out[body..], KEY, 0);
    }
    let _ = start;
    out
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

fn transmit(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    conn.poll_transmit(Instant::now(), &mut out);
    out
}

/// The close frame a server sends when it fails the connection with `error`: unmasked, FIN,
/// the length byte, the code and the reason its `Closed` carries.
fn failure_close_frame(error: &ProtocolError) -> Vec<u8> {
    let reason = truncate_reason(&error.to_string());
    let code = error.close_code().0.to_be_bytes();
    let mut out = vec![0x88, (2 + reason.len()) as u8, code[0], code[1]];
    out.extend_from_slice(reason.as_bytes());
    out
}

fn closed(code: CloseCode, clean: bool, error: Option<ProtocolError>) -> Closed {
    let reason = error.as_ref().map(|e| truncate_reason(&e.to_string())).unwrap_or_default();
    Closed { code, reason, clean, error }
}

/// Asserts that `input` makes the server fail with `error`, sending a close frame with its code.
fn assert_fails(input: &[u8], error: ProtocolError) {
    let mut conn = server();
    conn.handle_input(input);
    let code = error.close_code();
    let evs = events(&mut conn);
    assert!(!evs.iter().any(|e| matches!(e, Event::Message(_))), "{evs:?}");
    assert_eq!(evs.last(), Some(&Event::Closed(closed(code, false, Some(error.clone())))), "{evs:?}");
    let out = transmit(&mut conn);
    assert_eq!(out, failure_close_frame(&error), "close frame for {error:?}");
    assert!(conn.poll_shutdown());
    conn.handle_eof();
    assert_eq!(events(&mut conn), []);
    assert!(conn.is_finished());
}

// ---- RFC 6455 section 5.7: the examples ----

#[test]
fn section_5_7_single_frame_texts() {
    let mut c = client();
    c.handle_input(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(events(&mut c), [Event::Message(Message::from("Hello"))]);
    let mut s = server();
    s.handle_input(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    assert_eq!(events(&mut s), [Event::Message(Message::from("Hello"))]);
    // And sent: the server's frame unmasked, the client's masked with the RFC's key.
    s.send(Message::from("Hello")).unwrap();
    assert_eq!(transmit(&mut s), [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    let mut c = rfc_client();
    c.send(Message::from("Hello")).unwrap();
    assert_eq!(transmit(&mut c), [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
}

#[test]
fn section_5_7_fragmented_text() {
    let mut c = client();
    c.handle_input(&[0x01, 0x03, 0x48, 0x65, 0x6c]);
    assert_eq!(events(&mut c), []);
    c.handle_input(&[0x80, 0x02, 0x6c, 0x6f]);
    assert_eq!(events(&mut c), [Event::Message(Message::from("Hello"))]);
    // And sent, by a server.
    let mut s = server();
    s.send_fragment(MessageKind::Text, b"Hel", false).unwrap();
    s.send_fragment(MessageKind::Text, b"lo", true).unwrap();
    assert_eq!(transmit(&mut s), [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]);
}

#[test]
fn section_5_7_ping_is_answered_with_the_masked_pong() {
    // The RFC's unmasked ping, as a server sends it ...
    let mut s = server();
    s.ping(b"Hello").unwrap();
    let ping = transmit(&mut s);
    assert_eq!(ping, [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    // ... and the RFC's masked pong, as the client answers it with the RFC's key.
    let mut c = rfc_client();
    c.handle_input(&ping);
    assert_eq!(events(&mut c), []);
    assert_eq!(transmit(&mut c), [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    // The same pong received.
    let mut s = server();
    s.handle_input(&[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    assert_eq!(events(&mut s), [Event::Pong(Bytes::from_static(b"Hello"))]);
}

#[test]
fn section_5_7_binary_256_bytes_and_64_kib() {
    for len in [256usize, 65536] {
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut s = server();
        s.send(Message::from(payload.clone())).unwrap();
        let out = transmit(&mut s);
        let header: &[u8] = if len == 256 { &[0x82, 0x7E, 0x01, 0x00] } else { &[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0] };
        assert_eq!(&out[..header.len()], header);
        assert_eq!(&out[header.len()..], &payload[..]);
        let mut c = client();
        c.handle_input(&out);
        assert_eq!(events(&mut c), [Event::Message(Message::from(payload))]);
    }
}

// ---- splitting ----

/// A conversation that touches every receive path: fragments with interleaved control frames,
/// all three length forms, an empty message, and the close.
fn conversation() -> Vec<u8> {
    let mut input = Vec::new();
    input.extend(frame(true, false, 0x1, "κόσμε".as_bytes(), true));
    input.extend(frame(false, false, 0x1, b"Hel", true));
    input.extend(frame(true, false, 0x9, b"ping", true));
    input.extend(frame(false, false, 0x0, &[0xce], true));
    input.extend(frame(true, false, 0xA, b"", true));
    input.extend(frame(true, false, 0x0, &[0xba, b'!'], true));
    input.extend(frame(true, false, 0x2, &[7; 300], true));
    input.extend(frame(true, false, 0x2, &[], true));
    input.extend(frame(true, false, 0x2, &vec![9; 70_000], true));
    input.extend(frame(true, false, 0x8, &[0x03, 0xe8, b'o', b'k'], true));
    input
}

fn run(input: &[u8], cuts: &[usize]) -> (Vec<Event>, Vec<u8>) {
    let mut conn = Connection::with_rng(Role::Server, Config { emit_pings: true, ..Config::default() }, Rng::seeded(1));
    let mut start = 0;
    let mut out = Vec::new();
    let mut evs = Vec::new();
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        conn.handle_input(&input[start..cut]);
        evs.extend(events(&mut conn));
        conn.poll_transmit(Instant::now(), &mut out);
        start = cut;
    }
    (evs, out)
}

#[test]
fn every_split_gives_the_same_events() {
    let input = conversation();
    let (expected, expected_out) = run(&input, &[]);
    assert_eq!(expected.len(), 9, "{expected:?}");
    assert_eq!(expected[1], Event::Ping(Bytes::from_static(b"ping")));
    assert_eq!(expected[3], Event::Message(Message::from("Helκ!")));
    // Every split point in and around the headers; a stride inside the 70 KB payload.
    let near_edge = |cut: usize| cut < 1000 || cut + 1000 > input.len() || cut % 509 == 0;
    for cut in (0..=input.len()).filter(|&cut| near_edge(cut)) {
        assert_eq!(run(&input, &[cut]), (expected.clone(), expected_out.clone()), "split at {cut}");
    }
    let bytewise: Vec<usize> = (1..input.len()).collect();
    assert_eq!(run(&input, &bytewise), (expected, expected_out));
}

// ---- a client/server pair without sockets ----

struct Pair {
    client: Connection,
    server: Connection,
    now: Instant,
}

impl Pair {
    fn new() -> Self {
        Self { client: client(), server: server(), now: Instant::now() }
    }

    /// Moves bytes both ways until neither side has anything to send; returns the events.
    fn drive(&mut self) -> (Vec<Event>, Vec<Event>) {
        let (mut from_client, mut from_server) = (Vec::new(), Vec::new());
        loop {
            let mut buf = Vec::new();
            self.client.poll_transmit(self.now, &mut buf);
            self.server.handle_input(&buf);
            let mut back = Vec::new();
            self.server.poll_transmit(self.now, &mut back);
            self.client.handle_input(&back);
            from_client.extend(events(&mut self.server));
            from_server.extend(events(&mut self.client));
            if self.server.poll_shutdown() {
                self.client.handle_eof();
                self.server.handle_eof(); // the client closes after seeing the server's FIN
            }
            if buf.is_empty() && back.is_empty() {
                return (from_client, from_server);
            }
        }
    }
}

#[test]
fn pair_exchanges_messages_pings_and_fragments() {
    let mut pair = Pair::new();
    pair.client.send(Message::from("BALUS")).unwrap();
    pair.client.send_fragment(MessageKind::Binary, b"ab", false).unwrap();
    pair.client.ping(b"are you there").unwrap();
    assert_eq!(pair.client.send(Message::from("no")), Err(Error::FragmentMismatch));
    assert_eq!(pair.client.send_fragment(MessageKind::Text, b"x", true), Err(Error::FragmentMismatch));
    pair.client.send_fragment(MessageKind::Binary, b"cd", true).unwrap();
    pair.server.send(Message::from("I've been balused already...")).unwrap();
    let (at_server, at_client) = pair.drive();
    assert_eq!(at_server, [Event::Message(Message::from("BALUS")), Event::Message(Message::from(b"abcd".to_vec()))]);
    assert_eq!(
        at_client,
        [
            Event::Message(Message::from("I've been balused already...")),
            Event::Pong(Bytes::from_static(b"are you there"))
        ]
    );
}

#[test]
fn text_that_is_not_utf8_is_refused_before_anything_is_queued() {
    let mut pair = Pair::new();
    assert_eq!(pair.client.send_message(MessageKind::Text, b"ok \xc0\xaf"), Err(Error::InvalidUtf8));
    assert_eq!(pair.client.send_fragment(MessageKind::Text, b"\xed\xa0\x80", false), Err(Error::InvalidUtf8));
    assert_eq!(pair.client.pending_transmit(), 0, "nothing of a refused text is queued");
    pair.client.send_message(MessageKind::Binary, b"\xff").unwrap();
    // "\u{1d11e}" (4 bytes) split over three fragments; a bad continuation and an unfinished
    // end are refused, and the message goes on with the right bytes.
    pair.client.send_fragment(MessageKind::Text, b"G clef: \xf0", false).unwrap();
    assert_eq!(pair.client.send_fragment(MessageKind::Text, b"\x41", false), Err(Error::InvalidUtf8));
    pair.client.send_fragment(MessageKind::Text, b"\x9d", false).unwrap();
    assert_eq!(pair.client.send_fragment(MessageKind::Text, b"\x84", true), Err(Error::InvalidUtf8));
    pair.client.send_fragment(MessageKind::Text, b"\x84\x9e", true).unwrap();
    // The next text starts afresh: nothing of the last one's state is left.
    pair.client.send_fragment(MessageKind::Text, b"\xc3", false).unwrap();
    pair.client.send_fragment(MessageKind::Text, b"\xa9", true).unwrap();
    let (at_server, _) = pair.drive();
    assert_eq!(
        at_server,
        [
            Event::Message(Message::from(b"\xff".to_vec())),
            Event::Message(Message::from("G clef: \u{1d11e}")),
            Event::Message(Message::from("\u{e9}")),
        ]
    );
}

#[test]
fn client_initiated_close_is_clean_and_server_closes_tcp_first() {
    let mut pair = Pair::new();
    pair.client.close(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(pair.client.state(), State::Closing);
    assert_eq!(pair.client.send(Message::from("late")), Err(Error::Closed));
    let (at_server, at_client) = pair.drive();
    let frame = CloseFrame { code: CloseCode::NORMAL, reason: "bye".into() };
    assert_eq!(
        at_server,
        [
            Event::CloseReceived(Some(frame.clone())),
            Event::Closed(Closed { code: CloseCode::NORMAL, reason: "bye".into(), clean: true, error: None })
        ]
    );
    assert_eq!(
        at_client,
        [
            Event::CloseReceived(Some(CloseFrame { code: CloseCode::NORMAL, reason: String::new() })),
            Event::Closed(Closed { code: CloseCode::NORMAL, reason: String::new(), clean: true, error: None })
        ]
    );
    assert!(pair.client.is_finished() && pair.server.is_finished());
}

#[test]
fn server_initiated_close_without_status() {
    let mut pair = Pair::new();
    pair.server.close(CloseCode::NO_STATUS, "").unwrap();
    let (at_server, at_client) = pair.drive();
    let no_status = Closed { code: CloseCode::NO_STATUS, reason: String::new(), clean: true, error: None };
    assert_eq!(at_client, [Event::CloseReceived(None), Event::Closed(no_status.clone())]);
    assert_eq!(at_server, [Event::CloseReceived(None), Event::Closed(no_status)]);
}

#[test]
fn client_waits_for_the_server_fin_until_the_close_timeout() {
    let mut c = client();
    c.handle_input(&[0x88, 0x02, 0x03, 0xe8]);
    assert_eq!(events(&mut c).len(), 2);
    let t0 = Instant::now();
    let out = transmit(&mut c);
    assert_eq!(out[0], 0x88);
    assert!(!c.poll_shutdown(), "the client leaves closing TCP to the server");
    let mut out = Vec::new();
    c.poll_transmit(t0, &mut out);
    assert!(!c.is_finished());
    let deadline = c.poll_timeout().expect("close timer armed");
    assert!(deadline >= t0);
    c.handle_timeout(deadline + Duration::from_millis(1));
    assert!(c.is_finished());
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn peer_ignoring_our_close_is_dropped_at_the_timeout_with_1006() {
    let mut s = server();
    s.close(CloseCode::GOING_AWAY, "").unwrap();
    let t0 = Instant::now();
    let mut out = Vec::new();
    s.poll_transmit(t0, &mut out);
    assert_eq!(out, [0x88, 0x02, 0x03, 0xe9]);
    assert_eq!(s.poll_timeout(), Some(t0 + Config::default().close_timeout));
    s.handle_timeout(t0 + Duration::from_secs(1));
    assert!(!s.is_finished());
    s.handle_timeout(t0 + Config::default().close_timeout);
    assert!(s.is_finished());
    assert_eq!(events(&mut s), [Event::Closed(closed(CloseCode::ABNORMAL, false, None))]);
}

#[test]
fn eof_without_close_is_abnormal_and_reported_once() {
    let mut s = server();
    s.handle_input(&frame(false, false, 0x1, b"half", true)[..5]);
    s.handle_eof();
    assert!(!s.is_finished(), "EOF takes effect when the input before it is read");
    s.handle_eof();
    let abnormal = Closed {
        code: CloseCode::ABNORMAL,
        reason: String::new(),
        clean: false,
        error: Some(ProtocolError::UnexpectedEof),
    };
    assert_eq!(events(&mut s), [Event::Closed(abnormal)]);
    assert!(s.is_finished());
}

#[test]
fn data_after_peer_close_is_discarded() {
    let mut s = server();
    let mut input = frame(true, false, 0x8, &[], true);
    input.extend(frame(true, false, 0x1, b"late", true));
    s.handle_input(&input);
    assert_eq!(
        events(&mut s),
        [
            Event::CloseReceived(None),
            Event::Closed(Closed { code: CloseCode::NO_STATUS, reason: String::new(), clean: true, error: None })
        ]
    );
    assert_eq!(transmit(&mut s), [0x88, 0x00]);
    assert!(s.poll_shutdown());
}

#[test]
fn local_close_validates_code_and_reason() {
    let mut s = server();
    for code in [999, 1005, 1006, 1015, 2000, 5000] {
        assert_eq!(s.close(CloseCode(code), "x"), Err(Error::InvalidCloseCode(code)));
    }
    assert_eq!(s.close(CloseCode::NORMAL, &"a".repeat(124)), Err(Error::ControlPayloadTooLong));
    assert_eq!(s.ping(&[0; 126]), Err(Error::ControlPayloadTooLong));
    assert_eq!(s.close(CloseCode(4000), &"a".repeat(123)), Ok(()));
    assert_eq!(s.close(CloseCode::NORMAL, ""), Ok(()), "closing twice is harmless");
    let out = transmit(&mut s);
    assert_eq!(out.len(), 2 + 125);
}

#[test]
fn many_pings_leave_one_pong() {
    let mut s = server();
    let mut input = Vec::new();
    for i in 0..1000u32 {
        input.extend(frame(true, false, 0x9, &i.to_be_bytes(), true));
    }
    s.handle_input(&input);
    assert_eq!(events(&mut s), []);
    // The first 16 answers went straight into the transmit queue; one more waits, the answer to
    // the newest ping.
    assert_eq!(s.pending_transmit(), 6 * MAX_QUEUED_PONGS + 6);
    let out = transmit(&mut s);
    // The first pings are answered in order; the newest answer replaced the last one.
    assert_eq!(&out[..12], [0x8a, 0x04, 0, 0, 0, 0, 0x8a, 0x04, 0, 0, 0, 1]);
    assert_eq!(&out[out.len() - 6..], [0x8a, 0x04, 0, 0, 0x03, 0xe7]);
}

#[test]
fn answers_to_pings_wait_while_earlier_answers_are_unwritten() {
    let mut s = server();
    let pings = |s: &mut Connection, from: u32| {
        let input: Vec<u8> =
            (from..from + 1000).flat_map(|i| frame(true, false, 0x9, &i.to_be_bytes(), true)).collect();
        s.handle_input(&input);
        assert_eq!(events(s), []);
    };
    // The first 16 answers go straight into the queue; the socket takes nothing.
    pings(&mut s, 0);
    assert_eq!(s.transmit(Instant::now()).remaining(), 6 * MAX_QUEUED_PONGS);
    // One answer waits, the newest replacing it; the queue stays as it is.
    pings(&mut s, 1000);
    assert_eq!(s.transmit(Instant::now()).remaining(), 6 * MAX_QUEUED_PONGS);
    pings(&mut s, 2000);
    assert_eq!(s.transmit(Instant::now()).remaining(), 6 * MAX_QUEUED_PONGS);
    assert_eq!(s.pending_transmit(), 6 * MAX_QUEUED_PONGS + 6);
    assert!(s.wants_transmit());
    // Once one queued answer is written, the waiting one (to the latest ping) joins.
    s.transmit(Instant::now()).advance(6);
    assert!(s.wants_transmit(), "an answer waits to join the queue");
    let out = transmit(&mut s);
    assert_eq!(out.len(), 6 * MAX_QUEUED_PONGS);
    assert_eq!(&out[..6], [0x8a, 0x04, 0, 0, 0, 1]);
    assert_eq!(&out[out.len() - 6..], [0x8a, 0x04, 0, 0, 0x0b, 0xb7]);
    assert_eq!(s.pending_transmit(), 0);
    assert!(!s.wants_transmit());
}

#[test]
fn waiting_answers_to_pings_go_out_before_our_close_frame() {
    let mut s = server();
    s.handle_input(&frame(true, false, 0x9, b"a", true));
    assert_eq!(events(&mut s), []);
    s.transmit(Instant::now()); // "a" is queued, not written.
    s.handle_input(&frame(true, false, 0x9, b"b", true));
    assert_eq!(events(&mut s), []);
    s.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(transmit(&mut s), [0x8a, 0x01, b'a', 0x8a, 0x01, b'b', 0x88, 0x02, 0x03, 0xe8]);
}

#[test]
fn a_large_unmasked_payload_is_queued_without_a_copy() {
    let payload = Bytes::from(vec![7u8; 64 * 1024]);
    let mut s = server();
    s.send(Message::Binary(payload.clone())).unwrap();
    s.send(Message::from("small")).unwrap();
    let queue = s.transmit(Instant::now());
    let mut slices = [std::io::IoSlice::new(&[]); 4];
    assert_eq!(queue.chunks_vectored(&mut slices), 3);
    assert_eq!(&slices[0][..], [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert_eq!(slices[1].as_ptr(), payload.as_ptr(), "the payload is the message's own memory");
    assert_eq!(&slices[2][..], [0x81, 5, b's', b'm', b'a', b'l', b'l']);
    // A client masks, which needs a copy: one chunk.
    let mut c = client();
    c.send(Message::Binary(payload)).unwrap();
    assert_eq!(c.transmit(Instant::now()).chunks_vectored(&mut slices), 1);
}

#[test]
fn a_large_frame_can_be_read_straight_into_the_core() {
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let wire = frame(true, false, 0x2, &payload, true);
    let mut s = server();
    assert!(s.input_room().is_none(), "no frame is arriving");
    s.handle_input(&wire[..1000]);
    assert_eq!(events(&mut s), []);
    let mut at = 1000;
    while at < wire.len() {
        let room = s.input_room().expect("the rest of the frame is large");
        assert_eq!(room.len(), wire.len() - at, "room for exactly the rest of the frame");
        let n = room.len().min(7000);
        room[..n].copy_from_slice(&wire[at..at + n]);
        s.handle_input_read(n);
        at += n;
        assert_eq!(events(&mut s), []);
        if wire.len() - at < Connection::LEND_MIN {
            assert!(s.input_room().is_none(), "a small rest is read the usual way");
            s.handle_input(&wire[at..]);
            at = wire.len();
        }
    }
    assert_eq!(events(&mut s), [Event::Message(Message::Binary(payload.into()))]);
    assert!(s.input_room().is_none());
}

#[test]
fn a_large_frame_can_be_appended_to_the_spare_room_of_the_core() {
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let wire = frame(true, false, 0x2, &payload, true);
    let mut s = server();
    assert!(s.input_room_buf().is_none(), "no frame is arriving");
    // The first read is large: the buffer is sized for the whole frame at once, and never
    // moves while the rest arrives.
    s.handle_input(&wire[..Connection::LEND_MIN]);
    assert!(s.inbuf.capacity() >= wire.len());
    assert_eq!(events(&mut s), []);
    let start = s.inbuf.data().as_ptr();
    let mut at = Connection::LEND_MIN;
    while wire.len() - at >= Connection::LEND_MIN {
        let mut room = s.input_room_buf().expect("the rest of the frame is large");
        assert_eq!(room.remaining_mut(), wire.len() - at, "room for exactly the rest of the frame");
        let n = room.remaining_mut().min(50_000);
        room.put_slice(&wire[at..at + n]);
        s.handle_input_read(n);
        at += n;
        assert_eq!(events(&mut s), []);
        assert_eq!(s.inbuf.data().as_ptr(), start, "no reallocation");
    }
    assert!(s.input_room_buf().is_none(), "a small rest is read the usual way");
    s.handle_input(&wire[at..]);
    assert_eq!(events(&mut s), [Event::Message(Message::Binary(payload.into()))]);
}

/// A server that has received one masked binary frame of `payload`, and that frame's bytes.
fn server_after_frame(payload: &[u8]) -> (Connection, Vec<u8>) {
    let wire = frame(true, false, 0x2, payload, true);
    let mut s = server();
    s.handle_input(&wire);
    assert_eq!(events(&mut s).len(), 1);
    (s, wire)
}

#[test]
fn after_a_large_frame_room_for_the_next_is_lent_before_its_header() {
    let payload = vec![3u8; 100_000];
    let (mut s, wire) = server_after_frame(&payload);
    // The next frame of the same size goes straight into the core, header and all; the room
    // holds two, for frames that arrive back to back.
    let mut room = s.input_room_buf().expect("room ahead of the next frame");
    assert_eq!(room.remaining_mut(), 2 * (100_000 + crate::frame::MAX_HEADER_LEN));
    room.put_slice(&wire);
    s.handle_input_read(wire.len());
    assert_eq!(events(&mut s), [Event::Message(Message::Binary(payload.clone().into()))]);
    // A read that finds nothing gives the room back.
    assert!(s.input_room_buf().is_some());
    s.release_input_room();
    assert_eq!(s.inbuf.capacity(), 0, "no buffer held while waiting");
    // The zeroed room is never lent ahead, nor after a small frame or a very large one.
    assert!(s.input_room().is_none());
    s.handle_input(&frame(true, false, 0x2, b"small", true));
    assert_eq!(events(&mut s).len(), 1);
    assert!(s.input_room_buf().is_none());
    s.handle_input(&frame(true, false, 0x2, &vec![0; AHEAD_MAX + 1], true));
    assert_eq!(events(&mut s).len(), 1);
    assert!(s.input_room_buf().is_none());
}

#[test]
fn after_a_mid_sized_frame_the_next_is_read_straight_into_the_core() {
    let payload = vec![5u8; 16 * 1024];
    let (mut s, wire) = server_after_frame(&payload);
    for _ in 0..3 {
        let mut room = s.input_room_buf().expect("room ahead of a 16 KiB frame");
        assert_eq!(room.remaining_mut(), payload.len() + crate::frame::MAX_HEADER_LEN);
        room.put_slice(&wire);
        s.handle_input_read(wire.len());
        assert_eq!(events(&mut s), [Event::Message(Message::Binary(payload.clone().into()))]);
        s.release_input_room();
    }
    // Below the threshold the next frame is read the usual way.
    s.handle_input(&frame(true, false, 0x2, &vec![0; AHEAD_MIN - 1], true));
    assert_eq!(events(&mut s).len(), 1);
    assert!(s.input_room_buf().is_none());
}

#[test]
fn room_ahead_of_large_frames_takes_two_arriving_back_to_back_in_one_read() {
    let payload = vec![9u8; 40_000];
    let (mut s, wire) = server_after_frame(&payload);
    let mut room = s.input_room_buf().expect("room ahead");
    assert!(room.remaining_mut() >= 2 * wire.len());
    room.put_slice(&wire);
    room.put_slice(&wire);
    s.handle_input_read(2 * wire.len());
    let message = Event::Message(Message::Binary(payload.into()));
    assert_eq!(events(&mut s), [message.clone(), message]);
}

#[test]
fn room_ahead_grows_while_reads_fill_it_so_that_frames_in_flight_take_few_reads() {
    let payload = vec![4u8; 64 * 1024];
    let (mut s, wire) = server_after_frame(&payload);
    let message = Event::Message(Message::Binary(payload.into()));
    // A peer with many frames in flight: each read fills the room lent (frames of a masked
    // 64 KiB payload have the longest header), which doubles.
    let mut frames_per_read = Vec::new();
    for _ in 0..4 {
        let mut room = s.input_room_buf().expect("room ahead");
        let frames = room.remaining_mut() / wire.len();
        for _ in 0..frames {
            room.put_slice(&wire);
        }
        assert_eq!(room.remaining_mut(), 0, "filled");
        s.handle_input_read(frames * wire.len());
        assert_eq!(events(&mut s), vec![message.clone(); frames]);
        frames_per_read.push(frames);
    }
    assert_eq!(frames_per_read, [2, 4, MAX_FRAMES_AHEAD, MAX_FRAMES_AHEAD]);
    // One message at a time takes the room back down to two frames.
    for _ in 0..3 {
        s.input_room_buf().unwrap().put_slice(&wire);
        s.handle_input_read(wire.len());
        assert_eq!(events(&mut s), std::slice::from_ref(&message));
    }
    assert_eq!(s.input_room_buf().unwrap().remaining_mut() / wire.len(), 2);
}

#[test]
fn room_for_the_rest_of_an_arriving_frame_is_kept_by_release() {
    let wire = frame(true, false, 0x2, &vec![1u8; 100_000], true);
    let mut s = server();
    s.handle_input(&wire[..40_000]);
    assert_eq!(events(&mut s), []);
    assert!(s.input_room_buf().is_some());
    s.release_input_room();
    s.handle_input(&wire[40_000..]);
    assert_eq!(events(&mut s).len(), 1);
}

#[test]
fn a_large_frame_refused_by_its_header_reserves_nothing() {
    let config = Config { max_frame_size: 100_000, ..Config::default() };
    let mut s = Connection::with_rng(Role::Server, config, Rng::seeded(1));
    let wire = frame(true, false, 0x2, &vec![0; 200_000], true);
    s.handle_input(&wire[..Connection::LEND_MIN]);
    assert!(s.inbuf.capacity() < 2 * Connection::LEND_MIN, "not sized for the frame");
    assert!(matches!(
        events(&mut s).last(),
        Some(Event::Closed(Closed { error: Some(ProtocolError::FrameTooLarge { .. }), .. }))
    ));
}

#[test]
fn handshake_response_goes_out_before_any_frame() {
    let mut s = server();
    s.queue_raw(b"HTTP/1.1 101 Switching Protocols\r\n\r\n");
    s.handle_input(&frame(true, false, 0x9, b"p", true));
    assert_eq!(events(&mut s), []);
    s.send(Message::from("x")).unwrap();
    let out = transmit(&mut s);
    assert!(out.starts_with(b"HTTP/1.1 101"));
    assert_eq!(&out[36..], [0x8a, 0x01, b'p', 0x81, 0x01, b'x']);
}

// ---- section 5: protocol errors fail the connection with the right code ----

#[test]
fn framing_violations_fail_with_1002() {
    assert_fails(&frame(true, false, 0x1, b"x", false), ProtocolError::UnmaskedFrame);
    assert_fails(&frame(true, true, 0x1, b"x", true), ProtocolError::ReservedBits);
    let mut rsv2 = frame(true, false, 0x1, b"x", true);
    rsv2[0] |= 0x20;
    assert_fails(&rsv2, ProtocolError::ReservedBits);
    assert_fails(&frame(true, false, 0x3, b"", true), ProtocolError::ReservedOpcode(3));
    assert_fails(&frame(true, false, 0xB, b"", true), ProtocolError::ReservedOpcode(0xB));
    assert_fails(&frame(true, false, 0x9, &[0; 126], true), ProtocolError::ControlFrameTooLong);
    assert_fails(&frame(false, false, 0x9, b"", true), ProtocolError::FragmentedControlFrame);
    assert_fails(&frame(true, false, 0x0, b"x", true), ProtocolError::UnexpectedContinuation);
    let mut nested = frame(false, false, 0x1, b"a", true);
    nested.extend(frame(true, false, 0x1, b"b", true));
    assert_fails(&nested, ProtocolError::ExpectedContinuation);
    assert_fails(&[0x82, 0xFE, 0x00, 0x10, 1, 2, 3, 4], ProtocolError::InvalidLength);
}

#[test]
fn masked_frame_to_a_client_fails_with_1002() {
    let mut c = client();
    c.handle_input(&frame(true, false, 0x1, b"secret", true));
    let evs = events(&mut c);
    assert_eq!(evs, [Event::Closed(closed(CloseCode::PROTOCOL_ERROR, false, Some(ProtocolError::MaskedFrame)))]);
}

#[test]
fn close_payload_violations() {
    assert_fails(&frame(true, false, 0x8, &[0x03], true), ProtocolError::InvalidClosePayload);
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        assert_fails(&frame(true, false, 0x8, &code.to_be_bytes(), true), ProtocolError::InvalidCloseCode(code));
    }
    assert_fails(&frame(true, false, 0x8, &[0x03, 0xe8, 0xce, 0xba, 0xff], true), ProtocolError::InvalidUtf8);
}

#[test]
fn invalid_utf8_fails_fast_mid_frame_and_across_fragments() {
    // The frame announces 20 bytes; the invalid sequence arrives before the rest of it.
    let full = frame(true, false, 0x1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80hello", true);
    let mut s = server();
    s.handle_input(&full[..6 + 13]);
    assert!(matches!(events(&mut s).last(), Some(Event::Closed(c)) if c.code == CloseCode::INVALID_PAYLOAD));
    let mut split = frame(false, false, 0x1, b"ok\xce", true);
    split.extend(frame(true, false, 0x0, b"\x41", true));
    assert_fails(&split, ProtocolError::InvalidUtf8);
    assert_fails(&frame(true, false, 0x1, b"ends mid code point \xe2\x82", true), ProtocolError::InvalidUtf8);
}

// ---- limits ----

fn limited() -> Connection {
    let config = Config { max_frame_size: 100, max_message_size: 250, max_fragments: 5, ..Config::default() };
    Connection::with_rng(Role::Server, config, Rng::seeded(3))
}

#[test]
fn frame_over_the_limit_is_refused_at_its_header() {
    let mut s = limited();
    // Header of a 101-byte frame, payload never sent.
    s.handle_input(&frame(true, false, 0x2, &[0; 101], true)[..8]);
    let evs = events(&mut s);
    assert_eq!(evs.len(), 1);
    assert!(matches!(&evs[0], Event::Closed(c) if c.code == CloseCode::MESSAGE_TOO_BIG));
    let mut s = server();
    s.handle_input(&[0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
    s.handle_input(&KEY);
    assert!(matches!(events(&mut s)[..], [Event::Closed(ref c)] if c.code == CloseCode::MESSAGE_TOO_BIG));
}

#[test]
fn message_of_exactly_the_limit_passes_and_one_more_byte_fails() {
    let fragments = |last: usize| {
        let mut input = frame(false, false, 0x2, &[1; 100], true);
        input.extend(frame(false, false, 0x0, &[2; 100], true));
        input.extend(frame(true, false, 0x0, &vec![3; last], true));
        input
    };
    let mut s = limited();
    s.handle_input(&fragments(50));
    assert!(matches!(&events(&mut s)[..], [Event::Message(m)] if m.payload().len() == 250));
    let mut s = limited();
    s.handle_input(&fragments(51));
    let evs = events(&mut s);
    assert_eq!(
        evs,
        [Event::Closed(closed(CloseCode::MESSAGE_TOO_BIG, false, Some(ProtocolError::MessageTooLarge { limit: 250 })))]
    );
}

/// A whole single-frame message takes the fast path (`read_whole_message`); its edges must
/// behave as the general path does.
#[test]
fn whole_single_frame_messages_keep_the_general_rules() {
    // Invalid UTF-8 in one complete frame: 1007.
    assert_fails(&frame(true, false, 0x1, b"ok \xf4\x90\x80\x80 no", true), ProtocolError::InvalidUtf8);
    // Over the message limit, within the frame limit: 1009, with no message.
    let config = Config { max_frame_size: 100, max_message_size: 50, ..Config::default() };
    let mut s = Connection::with_rng(Role::Server, config, Rng::seeded(3));
    s.handle_input(&frame(true, false, 0x2, &[7; 51], true));
    let too_large = closed(CloseCode::MESSAGE_TOO_BIG, false, Some(ProtocolError::MessageTooLarge { limit: 50 }));
    assert_eq!(events(&mut s), [Event::Closed(too_large)]);
    // No fragment allowed at all: even one frame is too many, as on the general path.
    let config = Config { max_fragments: 0, ..Config::default() };
    let mut s = Connection::with_rng(Role::Server, config, Rng::seeded(3));
    s.handle_input(&frame(true, false, 0x2, b"x", true));
    assert!(
        matches!(&events(&mut s)[..], [Event::Closed(c)] if c.error == Some(ProtocolError::TooManyFragments { limit: 0 }))
    );
    // Unmasked to a server: still refused.
    assert_fails(&frame(true, false, 0x2, b"x", false), ProtocolError::UnmaskedFrame);
    // The same text whole, in pieces (the general path) and after a whole binary message in one
    // read: the same events, one per call.
    let text = "κόσμε and more text".as_bytes();
    let whole = frame(true, false, 0x1, text, true);
    for cut in 0..whole.len() {
        let mut s = server();
        s.handle_input(&whole[..cut]);
        let mut evs = events(&mut s);
        s.handle_input(&whole[cut..]);
        evs.extend(events(&mut s));
        assert_eq!(evs, [Event::Message(Message::Text(Utf8Bytes::from_validated(Bytes::from(text))))], "cut at {cut}");
    }
    let mut s = server();
    let mut input = frame(true, false, 0x2, b"bin", true);
    input.extend(&whole);
    input.extend(frame(true, false, 0x1, b"", true));
    s.handle_input(&input);
    assert_eq!(s.poll_event(), Some(Event::Message(Message::Binary(Bytes::from_static(b"bin")))));
    assert_eq!(s.inbuf.len(), whole.len() + 6, "frames are read one per event");
    assert_eq!(s.poll_event(), Some(Event::Message(Message::Text(Utf8Bytes::from_validated(Bytes::from(text))))));
    assert_eq!(s.poll_event(), Some(Event::Message(Message::from(""))));
    assert_eq!(s.poll_event(), None);
}

#[test]
fn endless_empty_continuations_hit_the_fragment_limit() {
    let mut s = limited();
    let mut input = frame(false, false, 0x2, b"", true);
    for _ in 0..10 {
        input.extend(frame(false, false, 0x0, b"", true));
    }
    s.handle_input(&input);
    let evs = events(&mut s);
    assert_eq!(
        evs,
        [Event::Closed(closed(CloseCode::MESSAGE_TOO_BIG, false, Some(ProtocolError::TooManyFragments { limit: 5 })))]
    );
}

#[test]
fn messages_that_arrive_while_closing_are_delivered() {
    let mut c = client();
    c.close(CloseCode::NORMAL, "").unwrap();
    transmit(&mut c);
    c.handle_input(&[0x81, 0x05, b'h', b'e', b'l', b'l', b'o', 0x88, 0x02, 0x03, 0xe8]);
    let evs = events(&mut c);
    assert_eq!(evs[0], Event::Message(Message::from("hello")));
    assert!(matches!(&evs[2], Event::Closed(c) if c.clean));
}

#[test]
fn answer_to_a_message_goes_out_before_a_later_error_fails_the_connection() {
    // Autobahn 3.2: a message, then a frame with RSV2, then a ping, all in one read.
    let mut s = server();
    let mut input = frame(true, false, 0x1, b"Hello", true);
    let second = input.len();
    input.extend(frame(true, false, 0x1, b"bad", true));
    input[second] |= 0x20;
    input.extend(frame(true, false, 0x9, b"", true));
    s.handle_input(&input);
    assert_eq!(s.poll_event(), Some(Event::Message(Message::from("Hello"))));
    s.send(Message::from("Hello")).unwrap();
    assert!(matches!(s.poll_event(), Some(Event::Closed(c)) if c.code == CloseCode::PROTOCOL_ERROR));
    let out = transmit(&mut s);
    assert_eq!(&out[..8], [0x81, 0x05, b'H', b'e', b'l', b'l', b'o', 0x88]);
    assert_eq!(&out[9..11], [0x03, 0xea]);
}

#[test]
fn frames_before_eof_are_read_before_it() {
    let mut s = server();
    let mut input = frame(true, false, 0x1, b"last words", true);
    input.extend(frame(true, false, 0x8, &[0x03, 0xe8], true));
    s.handle_input(&input);
    s.handle_eof();
    let evs = events(&mut s);
    assert_eq!(evs[0], Event::Message(Message::from("last words")));
    assert!(matches!(&evs[2], Event::Closed(c) if c.clean && c.code == CloseCode::NORMAL));
    assert!(s.is_finished());
}

#[test]
fn keepalive_pings_a_quiet_peer_and_fails_a_silent_one() {
    let keepalive = crate::Keepalive { interval: Duration::from_secs(10), timeout: Duration::from_secs(5) };
    let config = Config { keepalive: Some(keepalive), ..Config::default() };
    let mut s = Connection::with_rng(Role::Server, config, Rng::seeded(1));
    let t0 = Instant::now();
    let mut out = Vec::new();
    s.poll_transmit(t0, &mut out);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    // Input resets the quiet interval.
    s.handle_input(&frame(true, false, 0xA, b"", true));
    assert_eq!(events(&mut s), [Event::Pong(Bytes::new())]);
    s.poll_transmit(t0 + Duration::from_secs(3), &mut out);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(13)));
    s.handle_timeout(t0 + Duration::from_secs(13));
    s.poll_transmit(t0 + Duration::from_secs(13), &mut out);
    assert_eq!(out, [0x89, 0x00], "a ping after the quiet interval");
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(18)));
    s.handle_timeout(t0 + Duration::from_secs(18));
    let evs = events(&mut s);
    assert!(
        matches!(&evs[..], [Event::Closed(c)] if c.code == CloseCode::INTERNAL_ERROR && c.error == Some(ProtocolError::KeepaliveTimeout))
    );
    out.clear();
    s.poll_transmit(t0 + Duration::from_secs(18), &mut out);
    assert_eq!(out, failure_close_frame(&ProtocolError::KeepaliveTimeout));
    assert_eq!(out[2..4], [0x03, 0xf3], "1011");
}

/// A server with a keepalive of 10 s (pong within 5 s) that has just sent its first ping, at
/// the instant returned plus 10 s.
fn pinged_keepalive_server() -> (Connection, Instant) {
    let keepalive = crate::Keepalive { interval: Duration::from_secs(10), timeout: Duration::from_secs(5) };
    let config = Config { keepalive: Some(keepalive), ..Config::default() };
    let mut s = Connection::with_rng(Role::Server, config, Rng::seeded(1));
    let t0 = Instant::now();
    let mut out = Vec::new();
    s.poll_transmit(t0, &mut out);
    s.handle_timeout(t0 + Duration::from_secs(10));
    s.poll_transmit(t0 + Duration::from_secs(10), &mut out);
    assert_eq!(out, [0x89, 0x00], "the ping");
    (s, t0)
}

#[test]
fn keepalive_answered_in_time_keeps_the_connection() {
    let (mut s, t0) = pinged_keepalive_server();
    let mut out = Vec::new();
    s.handle_input(&frame(true, false, 0xA, b"", true));
    assert_eq!(events(&mut s), [Event::Pong(Bytes::new())]);
    s.poll_transmit(t0 + Duration::from_secs(12), &mut out);
    s.handle_timeout(t0 + Duration::from_secs(15));
    assert_eq!(events(&mut s), []);
    assert_eq!(s.state(), State::Open);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(22)));
}

#[test]
fn keepalive_counts_input_even_when_the_timeout_comes_before_the_next_transmit() {
    let (mut s, t0) = pinged_keepalive_server();
    // The pong arrives, but the driver hands over the pong deadline before it transmits again.
    s.handle_input(&frame(true, false, 0xA, b"", true));
    assert_eq!(events(&mut s), [Event::Pong(Bytes::new())]);
    s.handle_timeout(t0 + Duration::from_secs(15));
    assert_eq!(events(&mut s), []);
    assert_eq!(s.state(), State::Open);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(25)), "the interval starts again");
}

#[test]
fn timeouts_too_large_to_represent_mean_no_deadline() {
    let keepalive = crate::Keepalive { interval: Duration::MAX, timeout: Duration::MAX };
    let config = Config { keepalive: Some(keepalive), close_timeout: Duration::MAX, ..Config::default() };
    let mut s = Connection::with_rng(Role::Server, config, Rng::seeded(1));
    let mut out = Vec::new();
    s.poll_transmit(Instant::now(), &mut out);
    assert_eq!(s.poll_timeout(), None, "no ping is ever due");
    s.handle_input(&frame(true, false, 0xA, b"", true));
    events(&mut s);
    s.poll_transmit(Instant::now(), &mut out);
    s.close(CloseCode::NORMAL, "").unwrap();
    s.poll_transmit(Instant::now(), &mut out);
    assert_eq!(s.poll_timeout(), None, "the close handshake waits for the peer");
    assert_eq!(s.state(), State::Closing);
}

#[test]
fn client_answers_the_server_fin_with_its_own() {
    let mut c = client();
    c.handle_input(&[0x88, 0x02, 0x03, 0xe8]);
    assert_eq!(events(&mut c).len(), 2);
    transmit(&mut c);
    assert!(!c.poll_shutdown());
    c.handle_eof();
    assert_eq!(events(&mut c), []);
    assert!(c.is_finished());
    assert!(c.poll_shutdown());
    assert!(!c.poll_shutdown(), "only once");
}

#[test]
fn idle_connection_is_small() {
    // Issue 5 targets a few KiB per idle connection; the state machine itself must stay small.
    // 728 bytes with the idle and write-stall timers (issue 22), whose settings stay in the
    // config rather than being copied into each timer.
    let size = std::mem::size_of::<Connection>();
    println!("size_of::<Connection>() = {size}");
    assert!(size <= 736, "{size}");
}

// ---- permessage-deflate (RFC 7692) ----

fn deflate_pair(params: crate::DeflateParams) -> (Connection, Connection) {
    let client = Connection::with_deflate(Role::Client, Config::default(), Rng::seeded(4), params);
    let server = Connection::with_deflate(Role::Server, Config::default(), Rng::seeded(5), params);
    (client, server)
}

fn negotiated(offer: &str) -> crate::DeflateParams {
    let offers = crate::extensions::parse_extensions(offer).unwrap();
    crate::deflate::server_negotiate(&offers, &crate::DeflateConfig::default()).unwrap().0
}

#[test]
fn rfc_7692_section_7_2_3_1_compressed_hello_is_received() {
    let (mut client, _) = deflate_pair(negotiated("permessage-deflate"));
    // A server's single-frame compressed "Hello".
    client.handle_input(&[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    assert_eq!(events(&mut client), [Event::Message(Message::from("Hello"))]);
    // Section 7.2.3.3: "Hello" in a stored (uncompressed) deflate block, still with RSV1.
    client.handle_input(&[0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00]);
    assert_eq!(events(&mut client), [Event::Message(Message::from("Hello"))]);
    // Section 7.2.3.1, fragmented: RSV1 on the first frame only.
    client.handle_input(&[0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00]);
    assert_eq!(events(&mut client), [Event::Message(Message::from("Hello"))]);
}

#[test]
fn rfc_7692_section_7_2_3_compressed_hello_is_sent() {
    // "Hello" is below the default threshold; level 6 is the one that gives 7.2.3.2's bytes.
    let sender = |offer: &str, level: u32| {
        let deflate = crate::DeflateConfig { min_compress_size: 0, compression_level: level, ..Default::default() };
        let config = Config { deflate: Some(deflate), ..Config::default() };
        Connection::with_deflate(Role::Server, config, Rng::seeded(5), negotiated(offer))
    };
    let one_block = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let mut s = sender("permessage-deflate", 6);
    // 7.2.3.1: one compressed block.
    s.send(Message::from("Hello")).unwrap();
    assert_eq!(transmit(&mut s), one_block);
    // 7.2.3.2: the second "Hello" refers to the first through the shared window.
    s.send(Message::from("Hello")).unwrap();
    assert_eq!(transmit(&mut s), [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00]);
    // Without context takeover the second message is the first one again.
    let mut s = sender("permessage-deflate; server_no_context_takeover", 6);
    for _ in 0..2 {
        s.send(Message::from("Hello")).unwrap();
        assert_eq!(transmit(&mut s), one_block);
    }
    // 7.2.3.3: level 0 sends a stored block.
    let mut s = sender("permessage-deflate", 0);
    s.send(Message::from("Hello")).unwrap();
    assert_eq!(transmit(&mut s), [0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00]);
}

#[test]
fn compressed_messages_round_trip_with_interleaved_control_frames() {
    for offer in ["permessage-deflate", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"] {
        let (mut client, mut server) = deflate_pair(negotiated(offer));
        let text = "Laputa ".repeat(1000);
        client.send(Message::from(text.clone())).unwrap();
        client.send_fragment(MessageKind::Binary, &[1; 5000], false).unwrap();
        client.ping(b"mid").unwrap();
        client.send_fragment(MessageKind::Binary, &[2; 5000], true).unwrap();
        client.send(Message::from("tiny")).unwrap();
        let wire = transmit(&mut client);
        assert!(wire.len() < 2000, "compressed: {} bytes", wire.len());
        assert_eq!(wire[0], 0xc1, "RSV1 on a compressed text frame");
        server.handle_input(&wire);
        let mut expected_binary = vec![1; 5000];
        expected_binary.extend([2; 5000]);
        assert_eq!(
            events(&mut server),
            [
                Event::Message(Message::from(text.clone())),
                Event::Message(Message::from(expected_binary)),
                Event::Message(Message::from("tiny"))
            ]
        );
        // And back, twice, so that context takeover (or its absence) is exercised.
        for _ in 0..2 {
            server.send(Message::from(text.clone())).unwrap();
        }
        client.handle_input(&transmit(&mut server));
        assert_eq!(events(&mut client).len(), 3, "two messages and the pong");
    }
}

#[test]
fn small_and_secret_messages_go_uncompressed() {
    let (mut client, mut server) = deflate_pair(negotiated("permessage-deflate"));
    server.send(Message::from("short")).unwrap();
    server.send_uncompressed(Message::from("secret ".repeat(20))).unwrap();
    let wire = transmit(&mut server);
    assert_eq!(wire[..2], [0x81, 0x05], "below the threshold: no RSV1");
    assert_eq!(wire[7], 0x81, "send_uncompressed: no RSV1");
    client.handle_input(&wire);
    assert_eq!(events(&mut client).len(), 2);
}

#[test]
fn rsv1_is_refused_where_permessage_deflate_gives_it_no_meaning() {
    let (_, mut server) = deflate_pair(negotiated("permessage-deflate"));
    let mut input = frame(false, true, 0x1, &[0xf2, 0x48], true);
    input.extend(frame(true, true, 0x0, &[0xcd], true));
    server.handle_input(&input);
    assert!(matches!(&events(&mut server)[..], [Event::Closed(c)] if c.error == Some(ProtocolError::ReservedBits)));
    let (_, mut server) = deflate_pair(negotiated("permessage-deflate"));
    server.handle_input(&frame(true, true, 0x9, b"", true));
    assert!(matches!(&events(&mut server)[..], [Event::Closed(c)] if c.error == Some(ProtocolError::ReservedBits)));
}

#[test]
fn inflating_past_the_message_limit_fails_with_1009() {
    let params = negotiated("permessage-deflate");
    let mut sender = Connection::with_deflate(Role::Client, Config::default(), Rng::seeded(1), params);
    let config = Config { max_message_size: 100_000, ..Config::default() };
    let mut receiver = Connection::with_deflate(Role::Server, config, Rng::seeded(2), params);
    sender.send(Message::from(vec![0u8; 100_000])).unwrap();
    sender.send(Message::from(vec![0u8; 100_001])).unwrap();
    let wire = transmit(&mut sender);
    assert!(wire.len() < 10_000, "{}", wire.len());
    receiver.handle_input(&wire);
    let evs = events(&mut receiver);
    assert!(matches!(&evs[0], Event::Message(m) if m.payload().len() == 100_000), "exactly the limit passes");
    assert!(matches!(&evs[1], Event::Closed(c) if c.code == CloseCode::MESSAGE_TOO_BIG));
}

#[test]
fn corrupt_compressed_data_fails_the_connection() {
    let (_, mut server) = deflate_pair(negotiated("permessage-deflate"));
    server.handle_input(&frame(true, true, 0x2, &[0xff, 0xff, 0xff, 0xff], true));
    assert!(
        matches!(&events(&mut server)[..], [Event::Closed(c)] if matches!(c.error, Some(ProtocolError::Decompression(_))))
    );
    let (_, mut server) = deflate_pair(negotiated("permessage-deflate"));
    // Compressed text that inflates to invalid UTF-8 (a stored block holding 0xff).
    server.handle_input(&frame(true, true, 0x1, &[0x00, 0x01, 0x00, 0xfe, 0xff, 0xff, 0x00], true));
    assert!(matches!(&events(&mut server)[..], [Event::Closed(c)] if c.code == CloseCode::INVALID_PAYLOAD));
}

// ---- logs ----

#[test]
fn a_failed_connection_logs_why_and_the_code_sent() {
    let logs = crate::test_log::logs_of(|| {
        let mut c = client();
        c.handle_input(&frame(true, false, 0x1, b"secret", true));
        events(&mut c);
    });
    assert!(logs.contains("TRACE"), "{logs}");
    assert!(logs.contains("frame received opcode=Text fin=true len=6"), "{logs}");
    assert!(logs.contains("DEBUG"), "{logs}");
    assert!(logs.contains(&format!("failing the connection code=1002 error={}", ProtocolError::MaskedFrame)), "{logs}");
    assert!(logs.contains("connection closed code=1002"), "{logs}");
    assert!(logs.contains("clean=false"), "{logs}");
}

#[test]
fn the_close_handshake_and_its_timeout_are_logged() {
    let logs = crate::test_log::logs_of(|| {
        let mut s = server();
        s.close(CloseCode::GOING_AWAY, "restart").unwrap();
        let now = Instant::now();
        s.poll_transmit(now, &mut Vec::new());
        let deadline = s.poll_timeout().expect("close timer armed");
        s.handle_timeout(deadline);
        events(&mut s);
    });
    assert!(logs.contains("closing: close frame queued code=1001 reason=\"restart\""), "{logs}");
    assert!(logs.contains("close handshake timed out"), "{logs}");
    assert!(logs.contains("connection closed code=1006"), "{logs}");
    let logs = crate::test_log::logs_of(|| {
        let mut s = server();
        s.handle_input(&frame(true, false, 0x8, &[0x03, 0xe8, b'b', b'y', b'e'], true));
        events(&mut s);
    });
    assert!(logs.contains("close frame received code=1000 reason=\"bye\""), "{logs}");
    assert!(logs.contains("connection closed code=1000 reason=\"bye\" clean=true"), "{logs}");
}

#[test]
fn a_peer_gone_without_a_close_frame_is_logged() {
    let logs = crate::test_log::logs_of(|| {
        let mut s = server();
        s.handle_eof();
        events(&mut s);
    });
    assert!(logs.contains("the peer ended the TCP connection without a close frame"), "{logs}");
    assert!(logs.contains("connection closed code=1006"), "{logs}");
}
