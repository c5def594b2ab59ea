//! A deflate bomb through a server connection: about 1 MiB of compressed frame that would
//! inflate to 1 GiB. (1 KiB cannot: deflate's best ratio is about 1:1032.) The connection must
//! close with 1009 as soon as the inflated message passes the limit, with peak heap use bounded
//! by the limit plus the compressed frame, measured by a counting allocator.

use laputa_core::{CloseCode, Config, Connection, DeflateConfig, Event, Rng, Role};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers to the system allocator; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const MIB: usize = 1 << 20;

/// Raw deflate of 1 GiB of zeros without ever holding them: one MiB of zeros compressed with a
/// sync flush, repeated (each copy only refers back to zeros, so the repetition is valid), minus
/// the final `00 00 ff ff` as RFC 7692 sends it.
fn bomb() -> Vec<u8> {
    let mut chunk = Vec::with_capacity(4096);
    let mut compress = flate2::Compress::new_with_window_bits(flate2::Compression::best(), false, 15);
    compress.compress_vec(&vec![0u8; MIB], &mut chunk, flate2::FlushCompress::Sync).unwrap();
    assert!(chunk.ends_with(&[0, 0, 0xff, 0xff]) && chunk.len() < 2048, "{}", chunk.len());
    let mut bomb = chunk.repeat(1024);
    bomb.truncate(bomb.len() - 4);
    bomb
}

#[test]
fn deflate_bomb_closes_with_1009_in_bounded_memory() {
    let payload = bomb();
    let mut frame = vec![0xc2, 0xff]; // FIN, RSV1, binary; masked, 64-bit length
    frame.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 0]); // an all-zero mask leaves the payload as it is
    frame.extend_from_slice(&payload);

    let offers = laputa_core::extensions::parse_extensions("permessage-deflate").unwrap();
    let (params, _) = laputa_core::deflate::server_negotiate(&offers, &DeflateConfig::default()).unwrap();
    let mut config = Config::default();
    config.max_message_size = MIB;
    let mut server = Connection::with_deflate(Role::Server, config, Rng::seeded(1), params);

    let baseline = LIVE.load(Relaxed);
    PEAK.store(baseline, Relaxed);
    let mut closed = None;
    for chunk in frame.chunks(64 * 1024) {
        server.handle_input(chunk);
        while let Some(event) = server.poll_event() {
            match event {
                Event::Closed(c) => closed = Some(c),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let closed = closed.expect("the connection closed");
    assert_eq!(closed.code, CloseCode::MESSAGE_TOO_BIG);
    let peak = PEAK.load(Relaxed) - baseline;
    // The buffered frame (about 1 MiB), the message up to its 1 MiB limit (grown by doubling)
    // and the decompressor: a few MiB, against 1 GiB unbounded.
    assert!(peak < 6 * MIB, "peak heap {peak} bytes");
    println!("compressed {} bytes; peak heap {:.1} MiB", payload.len(), peak as f64 / MIB as f64);
}
