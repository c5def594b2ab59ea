//! Throughput of the core's byte-crunching paths on one core, beside their references, for the
//! targets of issue 5 that need no socket: masking (target at least 8 GB/s) and UTF-8 validation
//! of received text (target: simdutf8's speed). The Criterion benches of `core/benches/core.rs`
//! measure the same paths with statistics; this is the quick figure the benchmark run prints.
//!
//! `core-speed [--secs 1]` prints one `key=value` line per measurement.

use laputa_bench::Args;
use laputa_core::mask::apply_mask;
use laputa_core::{Config, Connection, Event, Message, Rng, Role};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn main() {
    let args = Args::parse(&[]);
    let secs = Duration::from_secs_f64(args.get("secs", 1.0));

    for size in [1024usize, 16 << 10, 1 << 20] {
        let mut data = vec![0x5au8; size];
        let rate = bytes_per_second(secs, size, || apply_mask(black_box(&mut data), [1, 2, 3, 4], 0));
        println!("kind=core what=mask size={size} gb_per_s={:.2}", rate / 1e9);
    }

    // UTF-8: one 1 MiB message, mixed ASCII and two-byte characters, received as text and as
    // binary through a server connection; the difference is the validation. simdutf8 alone on
    // the same bytes is the reference.
    let size = 1 << 20;
    let text: String = "laputa é ".repeat(size / 10 + 1)[..size].to_owned();
    let text = text.char_indices().take_while(|(i, c)| i + c.len_utf8() <= size).map(|(_, c)| c).collect::<String>();
    let text_frames = client_frame(Message::from(text.clone()));
    let binary_frames = client_frame(Message::from(text.clone().into_bytes()));
    let receive = |frames: &[u8]| {
        let mut server = Connection::new(Role::Server, big_config());
        server.handle_input(frames);
        match server.poll_event() {
            Some(Event::Message(m)) => black_box(m.payload().len()),
            other => panic!("expected a message, got {other:?}"),
        }
    };
    let text_rate = bytes_per_second(secs, text.len(), || {
        receive(&text_frames);
    });
    let binary_rate = bytes_per_second(secs, text.len(), || {
        receive(&binary_frames);
    });
    let simd_rate = bytes_per_second(secs, text.len(), || {
        let _ = black_box(simdutf8::basic::from_utf8(black_box(text.as_bytes())));
    });
    // Time per byte of validation inside the connection = text receive - binary receive.
    let validation = 1.0 / (1.0 / text_rate - 1.0 / binary_rate);
    println!(
        "kind=core what=receive_1MiB text_gb_per_s={:.2} binary_gb_per_s={:.2} validation_gb_per_s={:.2} \
         simdutf8_gb_per_s={:.2}",
        text_rate / 1e9,
        binary_rate / 1e9,
        validation / 1e9,
        simd_rate / 1e9
    );
}

fn big_config() -> Config {
    let mut config = Config::default();
    config.max_message_size = 16 << 20;
    config.max_frame_size = 16 << 20;
    config
}

fn client_frame(message: Message) -> Vec<u8> {
    let mut client = Connection::with_rng(Role::Client, big_config(), Rng::seeded(1));
    client.send(message).unwrap_or_else(|e| laputa_bench::fail(e));
    let mut out = Vec::new();
    client.poll_transmit(Instant::now(), &mut out);
    out
}

/// Runs `f` repeatedly for about `secs` and returns the bytes per second for `bytes` per call.
fn bytes_per_second(secs: Duration, bytes: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..10 {
        f();
    }
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < secs {
        for _ in 0..16 {
            f();
        }
        calls += 16;
    }
    (calls * bytes as u64) as f64 / start.elapsed().as_secs_f64()
}
