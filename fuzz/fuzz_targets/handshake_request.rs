//! A `ServerHandshake` fed arbitrary bytes, whole and split in three where the input says, then
//! the request (if one results) accepted or rejected as the input says.
//!
//! Input: `mode`, two split bytes, then the bytes from the client. `mode` picks the limits (so
//! that 431 is reachable in short inputs), the application's decision (bits 3-4), and whether
//! permessage-deflate is on (bit 5, so that the server parses extension offers).
//!
//! Checked: no panic; a rejection carries a status among 400/405/426/431/505 and a response
//! starting with that status line; after a result the handshake is spent; an accepted request
//! yields a 101 with the right `Sec-WebSocket-Accept` followed by the connection's frames; a
//! subprotocol not offered is refused; and splitting the input changes nothing but which pings
//! get their own pong: an answer that finds 16 unwritten waits and is replaced by a newer one
//! (RFC 6455 section 5.5.3 allows answering only the latest ping), so the number of pongs
//! depends on the writes between reads. Pongs are compared apart: with `Ping` events on (bit
//! 6), each run's pongs answer the pings in their order; the rest of the output must be
//! identical.
#![no_main]

use laputa_core::frame::{FrameHeader, OpCode};
use laputa_core::handshake::{accept_key, Accept, HandshakeError, Reject, ServerHandshake};
use laputa_core::http::{header, HeaderValue, Method, StatusCode};
use laputa_core::{Config, Event};
use libfuzzer_sys::fuzz_target;
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    let [mode, split_a, split_b, input @ ..] = data else { return };
    let a = (usize::from(*split_a) * input.len()) / 256;
    let b = a + (usize::from(*split_b) * (input.len() - a)) / 256;
    let whole = outcome(*mode, &[input]);
    let split = outcome(*mode, &[&input[..a], &input[a..b], &input[b..]]);
    assert_eq!(whole, split, "splitting at {a} and {b} changed the outcome");
});

#[derive(Debug, PartialEq)]
enum Outcome {
    /// The head is not complete.
    Pending,
    /// The handshake refused the request with this response.
    Rejected(StatusCode, Vec<u8>),
    /// The application's `Accept` was refused.
    AcceptRefused(HandshakeError),
    /// The application rejected the request with this response.
    AppRejected(Vec<u8>),
    /// Upgraded: the bytes the connection sent (101 first) but its pongs, and its events.
    Upgraded(Vec<u8>, Vec<Event>),
}

/// Takes the pong frames out of `out` (a server's head and then its unmasked frames): the
/// rest, and the pongs' payloads in order.
fn take_pongs(out: &[u8], head_end: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let (mut rest, mut pongs) = (out[..head_end].to_vec(), Vec::new());
    let mut frames = &out[head_end..];
    while !frames.is_empty() {
        let (header, len) = FrameHeader::parse(frames).expect("a valid header").expect("a whole frame");
        assert!(header.mask.is_none(), "a server frame is not masked");
        let (frame, more) = frames.split_at(len + header.len as usize);
        if header.opcode == OpCode::Pong {
            pongs.push(frame[len..].to_vec());
        } else {
            rest.extend_from_slice(frame);
        }
        frames = more;
    }
    (rest, pongs)
}

fn outcome(mode: u8, pieces: &[&[u8]]) -> Outcome {
    let mut config = Config::default();
    config.max_handshake_size = [16 << 10, 1024, 256, 64][usize::from(mode & 3)];
    config.max_headers = [64, 8][usize::from((mode >> 2) & 1)];
    if mode & 0x20 != 0 {
        config.deflate = Some(laputa_core::DeflateConfig::default());
    }
    config.emit_pings = mode & 0x40 != 0;
    let mut handshake = ServerHandshake::new(config, Instant::now());
    let mut pieces = pieces.iter();
    let request = loop {
        let Some(piece) = pieces.next() else { return Outcome::Pending };
        match handshake.handle_input(piece) {
            Ok(None) => {}
            Ok(Some(request)) => break request,
            Err(err) => {
                let status = err.http_status().expect("a rejection has a status");
                assert!([400, 405, 426, 431, 505].contains(&status.as_u16()), "{err:?}");
                let response = err.response_bytes().expect("a rejection has a response");
                assert!(response.starts_with(format!("HTTP/1.1 {} ", status.as_str()).as_bytes()));
                assert_eq!(handshake.handle_input(b"x").unwrap_err(), HandshakeError::Finished);
                return Outcome::Rejected(status, response);
            }
        }
    };
    assert_eq!(handshake.handle_input(b"x").unwrap_err(), HandshakeError::Finished);
    assert_eq!(request.request().method(), Method::GET);
    assert!(request.path().starts_with('/'));
    let key = request.headers()[header::SEC_WEBSOCKET_KEY].to_str().expect("a valid key is ASCII");
    let accept_line = format!("\r\nSec-WebSocket-Accept: {}\r\n", accept_key(key.trim_matches([' ', '\t']).as_bytes()));
    let offered: Vec<String> = request.protocols().map(str::to_owned).collect();
    assert!(offered.iter().all(|p| !p.is_empty() && !p.contains(',')));
    let _ = (request.origin(), request.query(), request.cookies().count(), request.extension_offers().count());
    let accept = match (mode >> 3) & 3 {
        0 => Accept::new(),
        1 => match offered.first() {
            Some(protocol) => Accept::new().protocol(protocol.clone()),
            None => Accept::new(),
        },
        2 => Accept::new().protocol("not-offered-by-anyone"),
        _ => {
            let reject = Reject::new(StatusCode::FORBIDDEN)
                .header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"))
                .body("no");
            let response = request.reject(reject);
            assert!(response.starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
            return Outcome::AppRejected(response);
        }
    };
    let not_offered = accept.protocol.as_ref().is_some_and(|p| !offered.contains(p));
    let mut conn = match request.accept(accept) {
        Ok(conn) => conn,
        Err(err) => {
            assert!(not_offered, "{err:?}");
            assert_eq!(err, HandshakeError::InvalidAccept("subprotocol not offered by the client"));
            return Outcome::AcceptRefused(err);
        }
    };
    assert!(!not_offered, "accepted a subprotocol the client did not offer");
    // The drive loop: the rest of the input goes to the connection.
    let mut events = Vec::new();
    let mut out = Vec::new();
    for piece in std::iter::once(&&b""[..]).chain(pieces) {
        conn.handle_input(piece);
        events.extend(std::iter::from_fn(|| conn.poll_event()));
        conn.poll_transmit(Instant::now(), &mut out);
    }
    conn.handle_eof();
    events.extend(std::iter::from_fn(|| conn.poll_event()));
    conn.poll_transmit(Instant::now(), &mut out);
    assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    let head_end = out.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head") + 4;
    let head = std::str::from_utf8(&out[..head_end]).expect("an ASCII head");
    assert!(head.contains(&accept_line), "{head}");
    assert_eq!(events.iter().filter(|e| matches!(e, Event::Closed(_))).count(), 1);
    let (rest, pongs) = take_pongs(&out, head_end);
    assert!(pongs.iter().all(|p| p.len() <= 125));
    if mode & 0x40 != 0 {
        let mut pings = events.iter().filter_map(|e| match e {
            Event::Ping(payload) => Some(&payload[..]),
            _ => None,
        });
        for pong in &pongs {
            assert!(pings.any(|ping| ping == &pong[..]), "a pong that answers no later ping: {pong:?}");
        }
    }
    Outcome::Upgraded(rest, events)
}
