//! Arbitrary compressed data through the inflater, as the payload of a compressed message: the
//! first byte sets the message limit and how the data is cut into frames. No input may panic; the
//! message is delivered whole or the connection fails (1009 past the limit, 1002/1007 for a
//! corrupt stream), and a delivered message never exceeds the limit.
#![no_main]

use laputa_core::{CloseCode, Config, Connection, DeflateConfig, Event, Rng, Role};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [shape, compressed @ ..] = data else { return };
    let limit = 1usize << (8 + (shape & 0x0f)); // 256 B to 8 MiB
    let frames = 1 + usize::from(shape >> 4);
    let mut config = Config::default();
    config.max_message_size = limit;
    let offers = laputa_core::extensions::parse_extensions("permessage-deflate").unwrap();
    let (params, _) = laputa_core::deflate::server_negotiate(&offers, &DeflateConfig::default()).unwrap();
    let mut server = Connection::with_deflate(Role::Server, config, Rng::seeded(0), params);
    let step = compressed.len().div_ceil(frames).max(1);
    let pieces: Vec<&[u8]> = if compressed.is_empty() { vec![&[][..]] } else { compressed.chunks(step).collect() };
    let mut events = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let (first, last) = (i == 0, i + 1 == pieces.len());
        let mut frame = vec![(u8::from(last) << 7) | (u8::from(first) << 6) | (u8::from(first) * 2)];
        frame.push(0xff);
        frame.extend_from_slice(&(piece.len() as u64).to_be_bytes());
        if piece.len() <= 0xffff {
            // Shortest length form, as the core insists.
            frame.truncate(1);
            if piece.len() < 126 {
                frame.push(0x80 | piece.len() as u8);
            } else {
                frame.push(0xfe);
                frame.extend_from_slice(&(piece.len() as u16).to_be_bytes());
            }
        }
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(piece);
        server.handle_input(&frame);
        events.extend(std::iter::from_fn(|| server.poll_event()));
    }
    match events.as_slice() {
        [Event::Message(message)] => assert!(message.payload().len() <= limit),
        [Event::Closed(closed)] => assert!(
            [CloseCode::MESSAGE_TOO_BIG, CloseCode::PROTOCOL_ERROR, CloseCode::INVALID_PAYLOAD].contains(&closed.code),
            "{closed:?}"
        ),
        other => panic!("unexpected events {other:?}"),
    }
});
