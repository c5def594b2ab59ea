//! Micro-benchmarks of the core's hot paths: masking, UTF-8 validation, frame decoding and
//! encoding through a connection, handshake parsing, permessage-deflate, and a broadcast encoded
//! once. `cargo bench -p laputa-core` (one group: `cargo bench -p laputa-core -- broadcast`).
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use laputa_core::handshake::ServerHandshake;
use laputa_core::mask::apply_mask;
use laputa_core::{Config, Connection, Message, Rng, Role};
use std::hint::black_box;
use std::time::Instant;

fn masking(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    for size in [20usize, 1024, 16 * 1024, 1 << 20] {
        let mut data = vec![0x5a; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(|| apply_mask(black_box(&mut data), [1, 2, 3, 4], 0))
        });
    }
    group.finish();
}

/// Client-to-server frames carrying `count` messages of `size` bytes, produced by a client.
fn client_frames(size: usize, count: usize, text: bool) -> Vec<u8> {
    let mut client = Connection::with_rng(Role::Client, Config::default(), Rng::seeded(1));
    for _ in 0..count {
        let message = if text { Message::from("é".repeat(size / 2)) } else { Message::from(vec![7u8; size]) };
        client.send(message).unwrap();
    }
    let mut out = Vec::new();
    client.poll_transmit(Instant::now(), &mut out);
    out
}

fn receive(c: &mut Criterion) {
    let mut group = c.benchmark_group("receive");
    for (size, count) in [(20usize, 1000usize), (1024, 100), (64 * 1024, 4)] {
        for text in [false, true] {
            let input = client_frames(size, count, text);
            group.throughput(Throughput::Bytes(input.len() as u64));
            let name = format!("{}/{size}x{count}", if text { "text" } else { "binary" });
            group.bench_function(name, |b| {
                b.iter(|| {
                    let mut server = Connection::new(Role::Server, Config::default());
                    server.handle_input(black_box(&input));
                    let mut n = 0;
                    while server.poll_event().is_some() {
                        n += 1;
                    }
                    assert_eq!(n, count);
                })
            });
        }
    }
    group.finish();
}

fn send(c: &mut Criterion) {
    let mut group = c.benchmark_group("send");
    for size in [20usize, 1024, 64 * 1024] {
        let payload = vec![7u8; size];
        for role in [Role::Server, Role::Client] {
            group.throughput(Throughput::Bytes(size as u64 * 100));
            let mut conn = Connection::with_rng(role, Config::default(), Rng::seeded(2));
            let mut out = Vec::new();
            group.bench_function(format!("{role:?}/{size}x100"), |b| {
                b.iter(|| {
                    for _ in 0..100 {
                        conn.send_message(laputa_core::MessageKind::Binary, &payload).unwrap();
                    }
                    out.clear();
                    conn.poll_transmit(Instant::now(), &mut out);
                    black_box(&out);
                })
            });
        }
    }
    group.finish();
}

fn utf8(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8_text_receive");
    let ascii = client_frames(1 << 20, 1, false);
    group.throughput(Throughput::Bytes(1 << 20));
    group.bench_function("binary_1MiB_baseline", |b| {
        b.iter(|| {
            let mut server = Connection::new(Role::Server, Config::default());
            server.handle_input(black_box(&ascii));
            black_box(server.poll_event());
        })
    });
    let text = client_frames(1 << 20, 1, true);
    group.bench_function("text_1MiB_mixed", |b| {
        b.iter(|| {
            let mut server = Connection::new(Role::Server, Config::default());
            server.handle_input(black_box(&text));
            black_box(server.poll_event());
        })
    });
    group.finish();
}

fn handshake(c: &mut Criterion) {
    let request = b"GET /chat?name=nobita HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\
        User-Agent: bench\r\nCookie: a=1; b=2\r\n\r\n";
    c.bench_function("handshake/server_parse_and_accept", |b| {
        b.iter(|| {
            let mut hs = ServerHandshake::new(Config::default(), Instant::now());
            let incoming = hs.handle_input(black_box(request)).unwrap().unwrap();
            black_box(incoming.accept(Default::default()).unwrap());
        })
    });
}

/// permessage-deflate through a connection pair beside flate2's raw deflate and inflate of the
/// same data, so that the cost of our framing around zlib is visible.
fn deflate(c: &mut Criterion) {
    use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
    let params = {
        let offers = laputa_core::extensions::parse_extensions("permessage-deflate").unwrap();
        laputa_core::deflate::server_negotiate(&offers, &laputa_core::DeflateConfig::default()).unwrap().0
    };
    let mut group = c.benchmark_group("deflate");
    for size in [64usize, 1024, 16 * 1024, 256 * 1024] {
        let text: String = (0..size).map(|i| ["laputa ", "balus ", "{\"id\": 42} "][i % 3]).collect::<String>();
        let payload = &text.as_bytes()[..size];
        group.throughput(Throughput::Bytes(size as u64));
        let mut sender = Connection::with_deflate(Role::Server, Config::default(), Rng::seeded(1), params);
        let mut out = Vec::new();
        group.bench_with_input(BenchmarkId::new("laputa_compress", size), &size, |b, _| {
            b.iter(|| {
                sender.send_message(laputa_core::MessageKind::Binary, payload).unwrap();
                out.clear();
                sender.poll_transmit(Instant::now(), &mut out);
            })
        });
        let mut raw = Compress::new_with_window_bits(Compression::new(1), false, 15);
        let mut raw_out = Vec::with_capacity(size + 64);
        group.bench_with_input(BenchmarkId::new("flate2_compress", size), &size, |b, _| {
            b.iter(|| {
                raw_out.clear();
                raw.compress_vec(payload, &mut raw_out, FlushCompress::Sync).unwrap();
            })
        });
        // One compressed message, received again and again by a fresh receiver each time.
        let mut fresh = Connection::with_deflate(Role::Client, Config::default(), Rng::seeded(1), params);
        fresh.send_message(laputa_core::MessageKind::Binary, payload).unwrap();
        let mut wire = Vec::new();
        fresh.poll_transmit(Instant::now(), &mut wire);
        group.bench_with_input(BenchmarkId::new("laputa_inflate", size), &size, |b, _| {
            b.iter(|| {
                let mut receiver = Connection::with_deflate(Role::Server, Config::default(), Rng::seeded(2), params);
                receiver.handle_input(&wire);
                black_box(receiver.poll_event());
            })
        });
        let mut compressed = Vec::with_capacity(size + 64);
        Compress::new_with_window_bits(Compression::new(1), false, 15)
            .compress_vec(payload, &mut compressed, FlushCompress::Sync)
            .unwrap();
        let mut inflated = Vec::with_capacity(size + 64);
        group.bench_with_input(BenchmarkId::new("flate2_inflate", size), &size, |b, _| {
            b.iter(|| {
                let mut raw = Decompress::new_with_window_bits(false, 15);
                inflated.clear();
                raw.decompress_vec(&compressed, &mut inflated, FlushDecompress::Sync).unwrap();
            })
        });
    }
    group.finish();
}

/// One 1 KiB text message to 1,000 server connections (issue 19's broadcast): `send` on each
/// (a copy of the payload per connection, and with permessage-deflate a compression each) against
/// one `PreparedMessage` queued with `send_prepared` (the payload, or the compressed frame,
/// shared). Each connection's queue is then emptied as a socket that took everything would,
/// which drops what it held.
fn broadcast(c: &mut Criterion) {
    use laputa_core::bytes::Buf;
    use laputa_core::{DeflateParams, PreparedMessage};
    const SESSIONS: usize = 1000;
    let text: String =
        (0..).map(|i| format!("{{\"id\":{i},\"user\":\"user{}\",\"ok\":true}},", i * 7919 % 1000)).take(40).collect();
    let text = text[..1024].to_owned();
    let mut params = DeflateParams::default();
    params.server_no_context_takeover = true;
    let mut group = c.benchmark_group("broadcast");
    group.throughput(Throughput::Elements(SESSIONS as u64));
    for deflate in [false, true] {
        let sessions = || -> Vec<Connection> {
            (0..SESSIONS)
                .map(|_| match deflate {
                    true => Connection::with_deflate(Role::Server, Config::default(), Rng::seeded(1), params),
                    false => Connection::new(Role::Server, Config::default()),
                })
                .collect()
        };
        let now = Instant::now();
        let drain = |conn: &mut Connection| {
            let queue = conn.transmit(now);
            let len = queue.remaining();
            queue.advance(len);
        };
        let name = if deflate { "deflate_no_context_takeover" } else { "plain" };
        let message = Message::from(text.clone());
        let mut conns = sessions();
        group.bench_function(format!("{name}/send"), |b| {
            b.iter(|| {
                for conn in &mut conns {
                    conn.send(black_box(message.clone())).unwrap();
                    drain(conn);
                }
            })
        });
        let mut conns = sessions();
        group.bench_function(format!("{name}/send_prepared"), |b| {
            b.iter(|| {
                let prepared = PreparedMessage::new(black_box(message.clone()));
                for conn in &mut conns {
                    conn.send_prepared(&prepared).unwrap();
                    drain(conn);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, masking, receive, send, utf8, handshake, deflate, broadcast);
criterion_main!(benches);
