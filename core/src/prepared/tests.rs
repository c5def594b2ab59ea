use super::*;
use crate::deflate::Deflater;
use crate::{
    CloseCode, Config, Connection, DeflateConfig, DeflateParams, Error, Event, ProtocolError, Rng, Role, State,
};
use bytes::Buf;
use std::sync::Arc;
use std::time::Instant;

/// Bytes that do not compress (xorshift).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Text whose repeats lie 1,000 bytes apart: a 15-bit window finds them, a 9-bit one (512 bytes)
/// cannot, so the two groups compress it differently.
fn far_repeats(len: usize) -> String {
    let block: String = noise(1000, 3).iter().map(|b| char::from(b'a' + b % 26)).collect();
    block.repeat(len / 1000 + 1)[..len].to_owned()
}

fn messages(len: usize) -> [Message; 2] {
    let text: String = "laputa ".repeat(len / 7 + 1)[..len].to_owned();
    [Message::from(text), Message::from(noise(len, len as u64 + 1))]
}

fn params(no_context_takeover: bool, bits: u8) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: no_context_takeover,
        server_max_window_bits: bits,
        ..Default::default()
    }
}

fn server() -> Connection {
    Connection::with_rng(Role::Server, Config::default(), Rng::seeded(1))
}

fn deflate_server(params: DeflateParams) -> Connection {
    Connection::with_deflate(Role::Server, Config::default(), Rng::seeded(1), params)
}

fn deflate_client(params: DeflateParams) -> Connection {
    Connection::with_deflate(Role::Client, Config::default(), Rng::seeded(2), params)
}

fn wire(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    conn.poll_transmit(Instant::now(), &mut out);
    out
}

/// The queue's chunks, each taken as `Bytes` (shared with the queue where it can be).
fn chunks(conn: &mut Connection) -> Vec<Bytes> {
    let queue = conn.transmit(Instant::now());
    let mut out = Vec::new();
    while queue.has_remaining() {
        let len = queue.chunk().len();
        out.push(queue.copy_to_bytes(len));
    }
    out
}

/// Every message `peer` reads from `wire`.
fn receive(peer: &mut Connection, wire: &[u8]) -> Vec<Message> {
    peer.handle_input(wire);
    let mut out = Vec::new();
    while let Some(event) = peer.poll_event() {
        match event {
            Event::Message(message) => out.push(message),
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

/// A fresh server compressor's frame for `payload`: what a group's shared frame must be.
fn fresh_frame(kind: MessageKind, payload: &[u8], params: &DeflateParams, level: u32) -> Vec<u8> {
    let mut compressed = Vec::new();
    Deflater::new(params, Role::Server, level).compress_message(payload, &mut compressed);
    let mut frame = Vec::new();
    server_header(kind, true, compressed.len() as u64).encode(&mut frame);
    frame.extend_from_slice(&compressed);
    frame
}

const LENGTHS: [usize; 7] = [0, 1, 125, 126, 1024, 65_535, 65_536];

#[test]
fn a_prepared_message_is_send_safe_and_describes_its_frame() {
    fn shareable<T: Send + Sync>() {}
    shareable::<PreparedMessage>();
    for len in LENGTHS {
        for message in messages(len) {
            let prepared = PreparedMessage::new(message.clone());
            assert_eq!((prepared.kind(), prepared.len(), prepared.is_empty()), (message.kind(), len, len == 0));
            let frame = prepared.frame();
            assert_eq!(prepared.payload().as_ptr(), frame[frame.len() - len..].as_ptr(), "the frame's payload");
            assert_eq!(prepared.message(), message);
            let header_len = match len {
                0..=125 => 2,
                126..=65_535 => 4,
                _ => 10,
            };
            assert_eq!(prepared.wire_len(), header_len + len);
            let debug = format!("{prepared:?}");
            assert!(debug.contains(&format!("len: {len}")) && debug.contains("compressed_frames: 0"), "{debug}");
        }
    }
}

#[test]
fn a_server_without_deflate_queues_the_frame_send_would_and_shares_the_payload() {
    for len in LENGTHS {
        for message in messages(len) {
            let prepared = PreparedMessage::new(message.clone());
            let mut twin = server();
            twin.send(message.clone()).unwrap();
            let expected = wire(&mut twin);

            let mut sessions = [server(), server()];
            for session in &mut sessions {
                assert!(session.shares_prepared());
                session.send_prepared(&prepared).unwrap();
                assert_eq!(session.pending_transmit(), prepared.wire_len());
                let taken = chunks(session);
                assert_eq!(taken.concat(), expected, "{len} bytes: the frame `send` makes");
                if prepared.wire_len() >= crate::transmit::PREPARED_SHARE_MIN {
                    assert_eq!(taken.len(), 1, "one chunk: one plain write");
                    assert_eq!(taken[0].as_ptr(), prepared.frame().as_ptr(), "{len} bytes: the frame, not a copy");
                } else {
                    assert_eq!(taken.len(), 1, "a small frame is gathered");
                }
            }
            let mut client = Connection::new(Role::Client, Config::default());
            assert_eq!(receive(&mut client, &expected), [message]);
        }
    }
}

#[test]
fn prepared_frames_keep_their_place_between_other_frames() {
    let prepared = PreparedMessage::new(vec![9u8; 4000]);
    let mut session = server();
    session.send(Message::from("before")).unwrap();
    session.send_prepared(&prepared).unwrap();
    session.ping(b"p").unwrap();
    session.send_prepared(&PreparedMessage::new("small")).unwrap();
    let out = wire(&mut session);
    let mut client = Connection::new(Role::Client, Config::default());
    client.handle_input(&out);
    let events: Vec<Event> = std::iter::from_fn(|| client.poll_event()).collect();
    assert_eq!(
        events,
        [
            Event::Message(Message::from("before")),
            Event::Message(prepared.message()),
            Event::Message(Message::from("small")),
        ]
    );
    // The ping was answered: it arrived between the two prepared messages.
    assert_eq!(wire(&mut client)[0], 0x8a);
}

#[test]
fn servers_without_context_takeover_share_one_compressed_frame_per_window() {
    let text = far_repeats(20_000);
    let prepared = PreparedMessage::new(text.clone());
    let mut frames = Vec::new();
    for bits in [9, 15] {
        let params = params(true, bits);
        let expected = fresh_frame(MessageKind::Text, text.as_bytes(), &params, 1);
        let mut taken = Vec::new();
        for _ in 0..3 {
            let mut session = deflate_server(params);
            assert!(session.shares_prepared());
            session.send_prepared(&prepared).unwrap();
            let chunks = chunks(&mut session);
            assert_eq!(chunks.len(), 1, "the frame is one buffer, header and all");
            assert_eq!(chunks[0], expected, "{bits} bits: what a fresh compressor makes");
            taken.push(chunks[0].clone());
        }
        assert!(taken.iter().all(|frame| frame.as_ptr() == taken[0].as_ptr()), "{bits} bits: one frame, shared");
        let mut client = deflate_client(params);
        assert_eq!(receive(&mut client, &taken[0]), [Message::from(text.clone())]);
        frames.push(taken[0].clone());
    }
    assert_ne!(frames[0], frames[1], "a 9-bit window cannot reach repeats 1,000 bytes back");
    assert!(frames[1].len() < frames[0].len());
    assert!(format!("{prepared:?}").contains("compressed_frames: 2"));
}

#[test]
fn every_length_round_trips_through_a_shared_compressed_frame() {
    let params = params(true, 15);
    for len in LENGTHS {
        for message in messages(len) {
            let prepared = PreparedMessage::new(message.clone());
            let mut sessions = [deflate_server(params), deflate_server(params)];
            let wires: Vec<Vec<u8>> = sessions
                .iter_mut()
                .map(|session| {
                    session.send_prepared(&prepared).unwrap();
                    wire(session)
                })
                .collect();
            assert_eq!(wires[0], wires[1]);
            let compressed = len >= DeflateConfig::default().min_compress_size;
            assert_eq!(wires[0][0] & 0x40 != 0, compressed, "{len} bytes: RSV1 as worth_compressing says");
            if compressed {
                assert_eq!(wires[0], fresh_frame(message.kind(), message.payload(), &params, 1));
            } else {
                assert_eq!(wires[0].len(), prepared.wire_len());
            }
            let mut client = deflate_client(params);
            assert_eq!(receive(&mut client, &wires[0]), [message], "{len} bytes");
        }
    }
}

#[test]
fn a_compressor_that_sent_before_still_makes_the_fresh_frame() {
    let params = params(true, 12);
    let text = far_repeats(5000);
    let prepared = PreparedMessage::new(text.clone());
    let mut session = deflate_server(params);
    session.send(Message::from(far_repeats(3000))).unwrap();
    session.send(Message::from(noise(2000, 5))).unwrap();
    let mut client = deflate_client(params);
    assert_eq!(receive(&mut client, &wire(&mut session)).len(), 2);
    session.send_prepared(&prepared).unwrap();
    let out = wire(&mut session);
    assert_eq!(out, fresh_frame(MessageKind::Text, text.as_bytes(), &params, 1));
    assert_eq!(receive(&mut client, &out), [Message::from(text)]);
}

#[test]
fn compression_levels_are_groups_of_their_own() {
    let text = far_repeats(20_000);
    let prepared = PreparedMessage::new(text.clone());
    let params = params(true, 15);
    let mut frames = Vec::new();
    for level in [1, 9] {
        let deflate = DeflateConfig { compression_level: level, ..Default::default() };
        let config = Config { deflate: Some(deflate), ..Default::default() };
        let mut session = Connection::with_deflate(Role::Server, config, Rng::seeded(1), params);
        session.send_prepared(&prepared).unwrap();
        let chunk = chunks(&mut session).remove(0);
        assert_eq!(chunk, fresh_frame(MessageKind::Text, text.as_bytes(), &params, level), "level {level}");
        frames.push(chunk);
    }
    assert_ne!(frames[0].as_ptr(), frames[1].as_ptr());
}

#[test]
fn a_server_with_context_takeover_compresses_on_its_own_as_send_does() {
    let params = params(false, 15);
    let text = far_repeats(3000);
    let prepared = PreparedMessage::new(text.clone());
    let mut session = deflate_server(params);
    let mut twin = deflate_server(params);
    assert!(!session.shares_prepared());
    let mut client = deflate_client(params);
    for _ in 0..3 {
        session.send_prepared(&prepared).unwrap();
        twin.send(Message::from(text.clone())).unwrap();
    }
    let out = wire(&mut session);
    assert_eq!(out, wire(&mut twin));
    // The second and third copies refer back to the first: far smaller than one alone.
    let alone = fresh_frame(MessageKind::Text, text.as_bytes(), &params, 1).len();
    assert!(out.len() < alone + alone / 2, "{} bytes for three, {alone} for one", out.len());
    assert_eq!(receive(&mut client, &out), vec![Message::from(text); 3]);
    assert_eq!(prepared.compressed_count(), 0, "nothing shared was built");
}

#[test]
fn a_client_masks_each_prepared_message_with_its_own_key() {
    for deflate in [None, Some(params(true, 15))] {
        let text = far_repeats(2000);
        let prepared = PreparedMessage::new(text.clone());
        let client = |seed| match deflate {
            Some(params) => Connection::with_deflate(Role::Client, Config::default(), Rng::seeded(seed), params),
            None => Connection::with_rng(Role::Client, Config::default(), Rng::seeded(seed)),
        };
        let (mut one, mut other, mut twin) = (client(1), client(2), client(1));
        assert!(!one.shares_prepared());
        one.send_prepared(&prepared).unwrap();
        other.send_prepared(&prepared).unwrap();
        twin.send(Message::from(text.clone())).unwrap();
        let out = wire(&mut one);
        assert_eq!(out, wire(&mut twin), "as `send` masks it");
        assert_ne!(out, wire(&mut other), "another key");
        let mut server = match deflate {
            Some(params) => Connection::with_deflate(Role::Server, Config::default(), Rng::seeded(3), params),
            None => server(),
        };
        assert_eq!(receive(&mut server, &out), [Message::from(text)]);
    }
}

/// Connections of every kind `send_prepared` handles.
fn every_kind() -> Vec<Connection> {
    vec![
        server(),
        deflate_server(params(true, 15)),
        deflate_server(params(false, 15)),
        Connection::with_rng(Role::Client, Config::default(), Rng::seeded(1)),
    ]
}

#[test]
fn a_closing_or_closed_connection_refuses_a_prepared_message() {
    let prepared = PreparedMessage::new("x".repeat(500));
    for mut conn in every_kind() {
        conn.close(CloseCode::NORMAL, "").unwrap();
        let queued = conn.pending_transmit();
        assert_eq!(conn.send_prepared(&prepared), Err(Error::Closed), "{:?}", conn.role());
        assert_eq!(conn.pending_transmit(), queued, "nothing queued");
    }
    for mut conn in every_kind() {
        // A frame with a reserved opcode: the peer broke the protocol.
        let bad = if conn.role() == Role::Server { vec![0x83, 0x80, 0, 0, 0, 0] } else { vec![0x83, 0x00] };
        conn.handle_input(&bad);
        while conn.poll_event().is_some() {}
        assert_eq!(conn.state(), State::Closed);
        assert_eq!(conn.send_prepared(&prepared), Err(Error::Closed));
    }
}

#[test]
fn a_fragmented_message_in_progress_refuses_a_prepared_message() {
    let prepared = PreparedMessage::new("x".repeat(500));
    for mut conn in every_kind() {
        conn.send_fragment(MessageKind::Text, b"part", false).unwrap();
        let queued = conn.pending_transmit();
        assert_eq!(conn.send_prepared(&prepared), Err(Error::FragmentMismatch), "{:?}", conn.role());
        assert_eq!(conn.pending_transmit(), queued, "nothing queued");
        conn.send_fragment(MessageKind::Text, b" end", true).unwrap();
        conn.send_prepared(&prepared).unwrap();
    }
}

#[test]
fn prepared_output_that_is_never_written_meets_the_timers_as_sent_output_does() {
    let message = Message::from(vec![1u8; 1 << 20]);
    let prepared = PreparedMessage::new(message.clone());
    for (mut conn, mut twin) in every_kind().into_iter().zip(every_kind()) {
        conn.send_prepared(&prepared).unwrap();
        twin.send(message.clone()).unwrap();
        let mut now = Instant::now();
        conn.transmit(now); // the socket takes nothing
        twin.transmit(now);
        // Keepalive pings at 20 s, then the write stall at 30 s: the same deadlines, the same end.
        let mut events = Vec::new();
        while let Some(deadline) = conn.poll_timeout() {
            assert_eq!(Some(deadline), twin.poll_timeout(), "{:?}", conn.role());
            now = deadline;
            conn.handle_timeout(now);
            twin.handle_timeout(now);
            let step: Vec<Event> = std::iter::from_fn(|| conn.poll_event()).collect();
            assert_eq!(step, std::iter::from_fn(|| twin.poll_event()).collect::<Vec<_>>());
            events.extend(step);
            assert!(events.len() < 10, "the connection never ended");
        }
        assert_eq!(twin.poll_timeout(), None);
        assert!(conn.is_finished() && twin.is_finished());
        let Some(Event::Closed(closed)) = events.last() else { panic!("{events:?}") };
        assert_eq!(closed.error, Some(ProtocolError::WriteStalled));
    }
}

#[test]
fn threads_racing_for_a_group_build_one_frame() {
    let prepared = Arc::new(PreparedMessage::new(far_repeats(10_000)));
    let params = params(true, 15);
    let frames: Vec<Bytes> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let prepared = Arc::clone(&prepared);
                scope.spawn(move || {
                    let mut session = deflate_server(params);
                    session.send_prepared(&prepared).unwrap();
                    chunks(&mut session).remove(0)
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    });
    assert!(frames.iter().all(|frame| frame.as_ptr() == frames[0].as_ptr()));
    assert_eq!(prepared.compressed_count(), 1);
}
