//! A `ClientHandshake` with a fixed seeded `Rng` (so its key, and the accept value it expects,
//! are fixed) fed arbitrary bytes as the server's answer, whole and split in three.
//!
//! Input: `mode`, two split bytes, then the response. Every `@A` in the response is replaced by
//! the accept value the client expects, so that short inputs reach past that check (the seeds
//! use it). `mode` picks the limits, bit 5 turns permessage-deflate on, bit 6 `Ping` events.
//!
//! Checked: no panic; errors are only the response errors; a 101 gives a connection that reads
//! what follows without panicking and ends in exactly one `Closed`; the handshake is spent after
//! a result; splitting the input changes nothing but which pings get their own pong (an answer
//! that finds 16 unwritten waits and is replaced by a newer one, RFC 6455 section 5.5.3), so
//! pongs are compared apart: with `Ping` events on, they answer the pings in their order.
#![no_main]

use laputa_core::frame::FrameHeader;
use laputa_core::handshake::{accept_key, ClientHandshake, ClientRequest, HandshakeError};
use laputa_core::http::StatusCode;
use laputa_core::mask::apply_mask;
use laputa_core::{Config, Event, Rng};
use libfuzzer_sys::fuzz_target;
use std::time::Instant;

const SEED: u64 = 0x1a9_07a;

fuzz_target!(|data: &[u8]| {
    let [mode, split_a, split_b, input @ ..] = data else { return };
    let input = substitute(input, &expected_accept());
    let a = (usize::from(*split_a) * input.len()) / 256;
    let b = a + (usize::from(*split_b) * (input.len() - a)) / 256;
    let whole = outcome(*mode, &[&input]);
    let split = outcome(*mode, &[&input[..a], &input[a..b], &input[b..]]);
    assert_eq!(whole, split, "splitting at {a} and {b} changed the outcome");
});

fn config(mode: u8) -> Config {
    let mut config = Config::default();
    config.max_handshake_size = [16 << 10, 1024, 256, 64][usize::from(mode & 3)];
    config.max_headers = [64, 8][usize::from((mode >> 2) & 1)];
    if mode & 0x20 != 0 {
        config.deflate = Some(laputa_core::DeflateConfig::default());
    }
    config.emit_pings = mode & 0x40 != 0;
    config
}

fn client(mode: u8) -> ClientHandshake {
    let request = ClientRequest::new("ws://example.com/chat")
        .unwrap()
        .protocol("chat")
        .protocol("superchat")
        .extension_offer("permessage-deflate; client_max_window_bits")
        .extension_offer("x-foo");
    ClientHandshake::with_rng(request, config(mode), Rng::seeded(SEED), Instant::now()).unwrap()
}

fn expected_accept() -> String {
    let mut request = Vec::new();
    client(0).poll_transmit(&mut request);
    let request = String::from_utf8(request).unwrap();
    let key = request.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ")).unwrap();
    accept_key(key.as_bytes())
}

fn substitute(input: &[u8], accept: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + 64);
    let mut rest = input;
    while let Some(i) = rest.windows(2).position(|w| w == b"@A") {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(accept.as_bytes());
        rest = &rest[i + 2..];
    }
    out.extend_from_slice(rest);
    out
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Pending,
    /// An error; for a non-101 status, only the status and headers (the body kept depends on how
    /// much of it came with the head).
    Failed(String),
    /// Upgraded: the response's subprotocol, the connection's events, and the frames it sent
    /// but pongs (first byte and unmasked payload: masking keys are drawn when a frame is
    /// encoded, which for pongs is when the output is taken, so the keys depend on the split).
    Upgraded(Option<String>, Vec<Event>, Vec<(u8, Vec<u8>)>),
}

fn outcome(mode: u8, pieces: &[&[u8]]) -> Outcome {
    let mut handshake = client(mode);
    let mut request = Vec::new();
    handshake.poll_transmit(&mut request);
    let mut pieces = pieces.iter();
    let (mut conn, response) = loop {
        let Some(piece) = pieces.next() else { return Outcome::Pending };
        match handshake.handle_input(piece) {
            Ok(None) => {}
            Ok(Some(done)) => break done,
            Err(err) => {
                assert_eq!(handshake.handle_input(b"x").unwrap_err(), HandshakeError::Finished);
                return Outcome::Failed(match err {
                    HandshakeError::UnexpectedStatus { status, headers, body } => {
                        assert_ne!(status, StatusCode::SWITCHING_PROTOCOLS);
                        assert!(body.len() <= config(mode).max_handshake_size);
                        format!("{status} {headers:?}")
                    }
                    HandshakeError::InvalidResponse(_) | HandshakeError::ResponseTooLarge => format!("{err:?}"),
                    other => panic!("not a response error: {other:?}"),
                });
            }
        }
    };
    assert_eq!(handshake.handle_input(b"x").unwrap_err(), HandshakeError::Finished);
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    // The chosen subprotocol, as the elements of the header's list (the client accepts empty
    // list elements around it). Every value must be visible ASCII: an accepted response never
    // names a subprotocol the client cannot read.
    let values = response.headers().get_all("sec-websocket-protocol");
    assert!(values.iter().all(|v| v.to_str().is_ok()), "non-ASCII subprotocol accepted");
    let elements: Vec<String> = values
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|e| e.trim_matches([' ', '\t']).to_owned())
        .filter(|e| !e.is_empty())
        .collect();
    assert!(elements.len() <= 1 && elements.iter().all(|p| p == "chat" || p == "superchat"), "{elements:?}");
    let protocol = elements.into_iter().next();
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
    assert_eq!(events.iter().filter(|e| matches!(e, Event::Closed(_))).count(), 1);
    let (pongs, frames): (Vec<_>, Vec<_>) = unmasked_frames(&out).into_iter().partition(|(b0, _)| b0 & 0x0f == 0xA);
    if mode & 0x40 != 0 {
        let mut pings = events.iter().filter_map(|e| match e {
            Event::Ping(payload) => Some(&payload[..]),
            _ => None,
        });
        for (_, pong) in &pongs {
            assert!(pings.any(|ping| ping == &pong[..]), "a pong that answers no later ping: {pong:?}");
        }
    }
    Outcome::Upgraded(protocol, events, frames)
}

/// The frames a client sent, each checked to be masked.
fn unmasked_frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let (header, len) = FrameHeader::parse(bytes).expect("a valid header").expect("a whole frame");
        let key = header.mask.expect("client frames are masked");
        let end = len + header.len as usize;
        let mut payload = bytes[len..end].to_vec();
        apply_mask(&mut payload, key, 0);
        frames.push((bytes[0], payload));
        bytes = &bytes[end..];
    }
    frames
}
