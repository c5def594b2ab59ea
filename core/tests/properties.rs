//! Property tests of the core's public API, on inputs from a seeded generator (every run sees the
//! same cases; a failure names its seed):
//!
//! - messages of every size and fragmentation survive a client→server and a server→client trip;
//! - any split of the input gives the same events (random conversations, random splits);
//! - the opening handshake round-trips: `ClientHandshake` → `ServerHandshake` → accept → the 101
//!   from the server connection's `poll_transmit` back to the client, then messages flow;
//! - the operation-sequence model of the `ops` fuzz target holds on random operation lists.

mod common;
#[path = "common/ops.rs"]
mod ops;

use common::*;
use laputa_core::handshake::{Accept, ClientHandshake, ClientRequest, ServerHandshake};
use laputa_core::http::{header, HeaderValue, StatusCode};
use laputa_core::{CloseCode, Config, Connection, Event, Message, MessageKind, Rng, Role};
use std::time::Instant;

fn pair(seed: u64) -> (Connection, Connection) {
    let client = Connection::with_rng(Role::Client, Config::default(), Rng::seeded(seed));
    let server = Connection::with_rng(Role::Server, Config::default(), Rng::seeded(seed ^ 1));
    (client, server)
}

/// A random message.
fn message(prng: &mut Prng) -> Message {
    let len = prng.payload_len();
    if prng.chance(1, 2) {
        Message::Text(prng.text(len).into())
    } else {
        Message::Binary(prng.bytes(len).into())
    }
}

/// Sends `message` from `conn`, whole or in random fragments (cut anywhere, even inside a
/// character; empty fragments too), with pings between fragments. Returns the pings sent.
fn send_fragmented(conn: &mut Connection, message: &Message, prng: &mut Prng) -> Vec<Vec<u8>> {
    let mut pings = Vec::new();
    if prng.chance(1, 3) {
        conn.send(message.clone()).unwrap();
        return pings;
    }
    let payload = message.payload();
    let count = prng.below(6);
    let cuts = prng.cuts(payload.len(), count);
    let pieces = pieces(payload, &cuts);
    let last = pieces.len() - 1;
    for (i, piece) in pieces.into_iter().enumerate() {
        conn.send_fragment(message.kind(), piece, i == last).unwrap();
        if prng.chance(1, 4) {
            let ping = {
                let len = prng.below(126);
                prng.bytes(len)
            };
            conn.ping(&ping).unwrap();
            pings.push(ping);
        }
    }
    pings
}

/// Feeds `bytes` to `conn` in random pieces, draining the events after each, as a driver does.
fn feed_randomly(conn: &mut Connection, bytes: &[u8], prng: &mut Prng) -> Vec<Event> {
    let count = prng.below(8);
    let cuts = prng.cuts(bytes.len(), count);
    let mut out = Vec::new();
    for piece in pieces(bytes, &cuts) {
        conn.handle_input(piece);
        out.extend(events(conn));
    }
    out
}

fn messages(events: &[Event]) -> Vec<Message> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Message(message) => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn messages_of_any_size_and_fragmentation_round_trip_both_ways() {
    for seed in 0..120 {
        let mut prng = Prng::new(seed);
        let (mut client, mut server) = pair(seed);
        let sent: Vec<Message> = (0..1 + prng.below(6)).map(|_| message(&mut prng)).collect();
        let mut pings = Vec::new();
        for message in &sent {
            pings.extend(send_fragmented(&mut client, message, &mut prng));
        }
        let wire = transmit(&mut client);
        // Every frame a client sends is masked (`read_frames` also refuses non-minimal lengths).
        assert!(read_frames(&wire).iter().all(|f| f.header.mask.is_some()), "seed {seed}");
        let received = feed_randomly(&mut server, &wire, &mut prng);
        assert_eq!(messages(&received), sent, "seed {seed}: client to server");
        // Each ping is answered with a pong carrying its payload (at most 16 pending, and we
        // transmit once, so compare only when there are few).
        let pongs: Vec<Vec<u8>> = read_frames(&transmit(&mut server)).into_iter().map(|f| f.payload).collect();
        if pings.len() <= 16 {
            assert_eq!(pongs, pings, "seed {seed}");
        }

        // And back: the server echoes every message, fragmented its own way.
        for message in &sent {
            send_fragmented(&mut server, message, &mut prng);
        }
        let wire = transmit(&mut server);
        assert!(read_frames(&wire).iter().all(|f| f.header.mask.is_none()), "seed {seed}: server frames unmasked");
        let received = feed_randomly(&mut client, &wire, &mut prng);
        assert_eq!(messages(&received), sent, "seed {seed}: server to client");
    }
}

/// A random conversation a client could send to a server: whole and fragmented messages with
/// control frames between fragments, random masks, and an ending: a close frame, a protocol
/// violation, or nothing (then the EOF ends it). Returns the bytes and the number of pings.
fn conversation(prng: &mut Prng) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut pings = 0;
    let masked = |b0: u8, payload: &[u8], prng: &mut Prng| {
        let key = [prng.below(256) as u8, prng.below(256) as u8, prng.below(256) as u8, prng.below(256) as u8];
        let mut frame = header(b0, payload.len() as u64, Some(key));
        let start = frame.len();
        frame.extend_from_slice(payload);
        laputa_core::mask::apply_mask(&mut frame[start..], key, 0);
        frame
    };
    for _ in 0..prng.below(10) {
        let message = message(prng);
        let opcode = if message.kind() == MessageKind::Text { TEXT } else { BINARY };
        let payload = message.payload();
        let cuts = prng.some_cuts(payload.len(), 4);
        let pieces = pieces(payload, &cuts);
        let last = pieces.len() - 1;
        for (i, piece) in pieces.into_iter().enumerate() {
            let op = if i == 0 { opcode } else { CONT };
            out.extend(masked(op | if i == last { FIN } else { 0 }, piece, prng));
            if prng.chance(1, 5) {
                let control = if prng.chance(1, 2) { PING } else { PONG };
                pings += usize::from(control == PING);
                let payload = {
                    let len = prng.below(126);
                    prng.bytes(len)
                };
                out.extend(masked(FIN | control, &payload, prng));
            }
        }
    }
    match prng.below(4) {
        0 => out.extend(masked(FIN | CLOSE, &[0x03, 0xe8, b'o', b'k'], prng)),
        1 => {
            let violations: [&[u8]; 5] = [
                &[FIN | 0x3, 0x80, 0, 0, 0, 0],              // reserved opcode
                &[FIN | TEXT, 0x02, b'h', b'i'],             // unmasked
                &[FIN | TEXT | 0x40, 0x80, 0, 0, 0, 0],      // RSV1
                &[FIN | TEXT, 0x82, 0, 0, 0, 0, 0xc3, 0x28], // invalid UTF-8
                &[FIN | PING, 0xFE, 0x00, 0x7E, 0, 0, 0, 0], // 126-byte ping
            ];
            out.extend_from_slice(violations[prng.below(violations.len())]);
            // Whatever follows a violation is never read.
            out.extend(masked(FIN | TEXT, b"after", prng));
        }
        _ => {}
    }
    (out, pings)
}

/// Runs `input` through a server in the given pieces, draining events and taking the output
/// after each piece, then the EOF.
fn run_pieces(input: &[u8], cuts: &[usize]) -> (Vec<Event>, Vec<u8>) {
    let mut server = Connection::with_rng(Role::Server, Config::default(), Rng::seeded(0));
    let mut evs = Vec::new();
    let mut out = Vec::new();
    for piece in pieces(input, cuts) {
        server.handle_input(piece);
        evs.extend(events(&mut server));
        server.poll_transmit(Instant::now(), &mut out);
    }
    server.handle_eof();
    evs.extend(events(&mut server));
    server.poll_transmit(Instant::now(), &mut out);
    assert!(server.is_finished());
    (evs, out)
}

#[test]
fn any_split_of_the_input_gives_the_same_events() {
    for seed in 0..150 {
        let mut prng = Prng::new(1000 + seed);
        let (input, pings) = conversation(&mut prng);
        let (expected_events, expected_out) = run_pieces(&input, &[]);
        let closes = expected_events.iter().filter(|e| matches!(e, Event::Closed(_))).count();
        assert_eq!(closes, 1, "seed {seed}: {expected_events:?}");
        for _ in 0..8 {
            let count = 1 + prng.below(20);
            let cuts = prng.cuts(input.len(), count);
            let (evs, out) = run_pieces(&input, &cuts);
            assert_eq!(evs, expected_events, "seed {seed}, cuts {cuts:?}");
            // Pongs are coalesced past 16 pending, which depends on when output is taken.
            if pings <= 16 {
                assert_eq!(out, expected_out, "seed {seed}, cuts {cuts:?}");
            }
        }
        if input.len() < 4096 {
            let every_byte: Vec<usize> = (1..input.len()).collect();
            assert_eq!(run_pieces(&input, &every_byte).0, expected_events, "seed {seed}, byte by byte");
        }
    }
}

const TOKENS: [&str; 6] = ["chat", "superchat", "v2.json", "mqtt", "x-a_b", "Graphql-WS"];

#[test]
fn handshake_round_trip_then_messages_flow() {
    for seed in 0..100 {
        let mut prng = Prng::new(2000 + seed);
        let host = ["example.com", "127.0.0.1", "[::1]", "h"][prng.below(4)];
        let port = [None, Some(80), Some(9001)][prng.below(3)];
        let path = ["", "/", "/chat", "/a/b%20c"][prng.below(4)];
        let query = [None, Some("room=1"), Some("a=b&c=%2F")][prng.below(3)];
        let mut url = format!("ws://{host}");
        if let Some(port) = port {
            url.push_str(&format!(":{port}"));
        }
        url.push_str(path);
        if let Some(query) = query {
            url.push_str(&format!("?{query}"));
        }
        let mut request = ClientRequest::new(&url).unwrap();
        let mut offered = Vec::new();
        for token in TOKENS {
            if prng.chance(1, 3) {
                request = request.protocol(token);
                offered.push(token);
            }
        }
        let origin = prng.chance(1, 2).then_some("https://example.com");
        if let Some(origin) = origin {
            request = request.origin(origin);
        }
        if prng.chance(1, 2) {
            request = request.header(header::AUTHORIZATION, HeaderValue::from_static("Bearer t0k3n"));
        }
        let config = Config::default();
        let now = Instant::now();
        let mut client = ClientHandshake::with_rng(request, config.clone(), Rng::seeded(seed), now).unwrap();
        let mut request_bytes = Vec::new();
        client.poll_transmit(&mut request_bytes);

        // The server reads the request in random pieces; only the last completes it.
        let mut server = ServerHandshake::new(config, now);
        let cuts = prng.some_cuts(request_bytes.len() - 1, 6);
        let mut incoming = None;
        for piece in pieces(&request_bytes, &cuts) {
            assert!(incoming.is_none(), "seed {seed}: complete before the end of the head");
            incoming = server.handle_input(piece).unwrap();
        }
        let incoming = incoming.unwrap_or_else(|| panic!("seed {seed}: request incomplete"));
        let expected_path = if path.is_empty() { "/" } else { path };
        assert_eq!((incoming.path(), incoming.query()), (expected_path, query), "seed {seed}");
        assert_eq!(incoming.protocols().collect::<Vec<_>>(), offered, "seed {seed}");
        assert_eq!(incoming.origin(), origin, "seed {seed}");
        let chosen = (!offered.is_empty() && prng.chance(2, 3)).then(|| offered[prng.below(offered.len())]);
        let mut accept = Accept::new().header(header::SET_COOKIE, HeaderValue::from_static("s=1"));
        if let Some(protocol) = chosen {
            accept = accept.protocol(protocol);
        }
        let mut server = incoming.accept(accept).unwrap();
        // The server may speak first: its frame follows the 101 in the same output.
        server.send(Message::from("welcome")).unwrap();
        let response_bytes = transmit(&mut server);
        assert!(response_bytes.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"), "seed {seed}");

        let cuts = prng.some_cuts(response_bytes.len(), 6);
        let mut done = None;
        let mut client_events = Vec::new();
        for piece in pieces(&response_bytes, &cuts) {
            match &mut done {
                None => done = client.handle_input(piece).unwrap(),
                Some((conn, _)) => conn.handle_input(piece),
            }
            if let Some((conn, _)) = &mut done {
                client_events.extend(events(conn));
            }
        }
        let (mut client, response) = done.unwrap_or_else(|| panic!("seed {seed}: no connection"));
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(
            response.headers().get(header::SEC_WEBSOCKET_PROTOCOL).map(|v| v.to_str().unwrap()),
            chosen,
            "seed {seed}"
        );
        assert_eq!(response.headers()[header::SET_COOKIE], "s=1");
        assert_eq!(messages(&client_events), [Message::from("welcome")], "seed {seed}");

        // A message each way, then a clean close started by the client.
        let text = {
            let len = prng.payload_len();
            prng.text(len)
        };
        client.send(Message::from(text.clone())).unwrap();
        client.close(CloseCode::NORMAL, "bye").unwrap();
        let wire = transmit(&mut client);
        let server_events = feed_randomly(&mut server, &wire, &mut prng);
        assert_eq!(messages(&server_events), [Message::from(text)], "seed {seed}");
        assert!(matches!(server_events.last(), Some(Event::Closed(c)) if c.clean && c.code == CloseCode::NORMAL));
        let wire = transmit(&mut server);
        let client_events = feed_randomly(&mut client, &wire, &mut prng);
        assert!(matches!(client_events.last(), Some(Event::Closed(c)) if c.clean && c.code == CloseCode::NORMAL));
    }
}

/// A random operation list for [`ops::run`], weighted towards sends and deliveries so that
/// conversations get long before a close (uniform bytes close within a few operations).
fn operation_list(prng: &mut Prng) -> Vec<u8> {
    let mut out = vec![prng.below(256) as u8];
    for _ in 0..prng.below(300) {
        let side = prng.below(2) as u8;
        let kind = match prng.below(100) {
            0..=24 => 0,  // send
            25..=44 => 1, // fragment
            45..=49 => 2, // ping
            50..=51 => 3, // pong
            52 => 4,      // close
            53..=69 => 5, // transmit
            70..=98 => 6, // deliver
            _ => 8,       // jump past the close timeout
        };
        out.push((kind << 1) | side);
        let arguments = [2, 2, 1, 1, 2, 1, 1, 0, 0][usize::from(kind)];
        for _ in 0..arguments {
            out.push(prng.below(256) as u8);
        }
    }
    out
}

#[test]
fn operation_model_holds_on_random_operation_lists() {
    let (mut delivered, mut clean) = (0, 0);
    for seed in 0..300 {
        let mut prng = Prng::new(3000 + seed);
        let data = if seed % 4 == 0 {
            let len = 1 + prng.below(400);
            prng.bytes(len)
        } else {
            operation_list(&mut prng)
        };
        let result = std::panic::catch_unwind(|| ops::run(&data));
        match result {
            Ok(stats) => {
                delivered += stats.messages;
                clean += usize::from(!stats.timeout_fired);
            }
            Err(panic) => {
                eprintln!("seed {seed}: input {data:02x?}");
                std::panic::resume_unwind(panic);
            }
        }
    }
    // The model is not vacuous: conversations carry messages.
    assert!(delivered > 3000 && clean > 100, "{delivered} messages delivered, {clean} clean runs");
}

/// A fixed operation list and what it must end with.
struct Scenario {
    name: &'static str,
    ops: &'static [u8],
    /// Operations it runs: a miscounted argument byte changes it.
    count: usize,
    /// Messages delivered, both ways.
    messages: usize,
    timeout_fired: bool,
    /// How the client and the server end: code, reason, clean.
    endings: [(u16, &'static str, bool); 2],
}

#[test]
fn operation_model_fixed_scenarios() {
    // First byte: bit 0 turns on emit_pings. Then each op is (kind << 1) | side and its
    // argument bytes; kinds: 0 send (first argument: bit 0 text, bit 1 as a `PreparedMessage`;
    // second: the length), 1 fragment, 2 ping, 3 pong, 4 close, 5 transmit (1 = the
    // first half as Bytes, 0 = through the vectored view), 6 deliver (0 = all, else 7 * n
    // bytes), 8 jump past the close timeout. The same lists are the `ops` fuzz target's seeds
    // of the same names (fuzz/seeds/make_seeds.py).
    let scenarios = [
        // The client sends 40 bytes of text, the server pings, both transmit and deliver, the
        // client closes (1000, "r"); the server's echo carries the code only.
        Scenario {
            name: "text_ping_close",
            ops: &[1, 0, 1, 40, 5, 3, 10, 1, 11, 0, 12, 0, 13, 0, 8, 0, 1],
            count: 7,
            messages: 1,
            timeout_fired: false,
            endings: [(1000, "", true), (1000, "r", true)],
        },
        // Fragmented binary from the server with a ping between fragments, delivered 7 bytes at
        // a time; nobody closes, so the model's finish closes from the client (1000, "end").
        Scenario {
            name: "fragments_trickled",
            ops: &[0, 3, 0, 200, 5, 30, 3, 1, 100, 11, 1, 13, 1, 13, 1, 13, 1, 13, 1],
            count: 8,
            messages: 1,
            timeout_fired: false,
            endings: [(1000, "", true), (1000, "end", true)],
        },
        // Both close at once, the client 1000 with a reason, the server 1001 without: each reads
        // the other's own close frame.
        Scenario {
            name: "both_close",
            ops: &[0, 8, 0, 5, 9, 1, 0, 10, 1, 11, 0, 12, 0, 13, 0],
            count: 6,
            messages: 0,
            timeout_fired: false,
            endings: [(1001, "", true), (1000, "rrrrr", true)],
        },
        // The server closes without a status; the client reads it and queues its answer but
        // never transmits it, and the clock jumps past the close timeout: the server gives up
        // (1006, not clean) while the client, which answered, ends clean with 1005.
        Scenario {
            name: "close_timeout",
            ops: &[0, 9, 2, 0, 11, 1, 13, 0, 16],
            count: 4,
            messages: 0,
            timeout_fired: true,
            endings: [(1005, "", true), (1006, "", false)],
        },
        // The server sends 611 bytes of text and 65,530 of binary, the client 40 bytes of text,
        // each as a `PreparedMessage`; the server's output is taken as `Bytes` (the shared
        // payloads among it), the client's through the vectored view.
        Scenario {
            name: "prepared_sends",
            ops: &[0, 1, 3, 205, 1, 2, 250, 0, 3, 40, 11, 1, 10, 0, 13, 0, 12, 0],
            count: 7,
            messages: 3,
            timeout_fired: false,
            endings: [(1000, "", true), (1000, "end", true)],
        },
    ];
    for scenario in scenarios {
        let stats = ops::run(scenario.ops);
        let endings: Vec<(u16, &str, bool)> =
            stats.closed.iter().map(|c| (c.code.0, c.reason.as_str(), c.clean)).collect();
        assert_eq!(
            (stats.ops, stats.messages, stats.timeout_fired, &endings[..]),
            (scenario.count, scenario.messages, scenario.timeout_fired, &scenario.endings[..]),
            "{}",
            scenario.name
        );
    }
}
