//! Arbitrary bytes fed to a server-role and a client-role connection, split where the first
//! byte says: no input may panic, and the connection must end in at most one `Closed` event.
#![no_main]

use laputa_core::{Config, Connection, Event, Rng, Role};
use libfuzzer_sys::fuzz_target;
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    let Some((&split, input)) = data.split_first() else { return };
    for role in [Role::Server, Role::Client] {
        let mut config = Config::default();
        config.max_frame_size = 1 << 16;
        config.max_message_size = 1 << 17;
        config.max_fragments = 64;
        let mut conn = Connection::with_rng(role, config, Rng::seeded(0));
        let cut = (split as usize * input.len()) / 256;
        let mut closed = 0;
        let mut out = Vec::new();
        for chunk in [&input[..cut], &input[cut..]] {
            conn.handle_input(chunk);
            while let Some(event) = conn.poll_event() {
                closed += usize::from(matches!(event, Event::Closed(_)));
            }
            conn.poll_transmit(Instant::now(), &mut out);
        }
        conn.handle_eof();
        while let Some(event) = conn.poll_event() {
            closed += usize::from(matches!(event, Event::Closed(_)));
        }
        assert_eq!(closed, 1, "exactly one Closed event");
        assert!(conn.is_finished());
    }
});
