//! Arbitrary bytes fed to a server-role and a client-role connection, with and without
//! permessage-deflate, whole and split where the first two bytes say: no input may panic, the connection must end in exactly one `Closed`
//! event, and the split must not change the events.
#![no_main]

use laputa_core::{Config, Connection, DeflateConfig, Event, Rng, Role};
use libfuzzer_sys::fuzz_target;
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    let [split_a, split_b, input @ ..] = data else { return };
    let a = (usize::from(*split_a) * input.len()) / 256;
    let b = a + (usize::from(*split_b) * (input.len() - a)) / 256;
    for role in [Role::Server, Role::Client] {
        for deflate in [false, true] {
            let whole = run(role, deflate, &[input]);
            let split = run(role, deflate, &[&input[..a], &input[a..b], &input[b..]]);
            assert_eq!(whole, split, "{role:?} (deflate {deflate}): splitting at {a} and {b} changed the events");
        }
    }
});

/// Feeds `pieces` as a driver does (events drained, then output taken, after each), then the EOF.
fn run(role: Role, deflate: bool, pieces: &[&[u8]]) -> Vec<Event> {
    let mut config = Config::default();
    config.max_frame_size = 1 << 16;
    config.max_message_size = 1 << 17;
    config.max_fragments = 64;
    let mut conn = if deflate {
        let offers = laputa_core::extensions::parse_extensions("permessage-deflate").unwrap();
        let (params, _) = laputa_core::deflate::server_negotiate(&offers, &DeflateConfig::default()).unwrap();
        Connection::with_deflate(role, config, Rng::seeded(0), params)
    } else {
        Connection::with_rng(role, config, Rng::seeded(0))
    };
    let mut events = Vec::new();
    let mut out = Vec::new();
    for piece in pieces {
        conn.handle_input(piece);
        events.extend(std::iter::from_fn(|| conn.poll_event()));
        conn.poll_transmit(Instant::now(), &mut out);
        out.clear();
    }
    conn.handle_eof();
    events.extend(std::iter::from_fn(|| conn.poll_event()));
    let closed = events.iter().filter(|e| matches!(e, Event::Closed(_))).count();
    assert_eq!(closed, 1, "exactly one Closed event");
    let after = events.iter().skip_while(|e| !matches!(e, Event::Closed(_))).count();
    assert_eq!(after, 1, "nothing after Closed");
    assert!(conn.is_finished());
    events
}
