//! One session that stops reading never slows the others (tokio): 100 sessions of a broadcast
//! service, one of them a client with a tiny receive buffer that never reads. The server
//! broadcasts messages of 1 KiB until that session's socket, connection and bounded queue are
//! full, and then 1,024 more; the 99 others receive every one, in order. With
//! `SlowConsumer::Drop` the stalled session's queue stays within its bound and drops; with
//! `SlowConsumer::Close` that session is closed and counted in `closed_slow`.
//!
//! The broadcasts go out in rounds that fit the queue's bound, each waiting for the 99 readers
//! to have them all, so that only the session that does not read can fall behind. Nothing here
//! depends on how long anything takes.

#![cfg(feature = "tokio")]

mod common;

use common::{sleep, timeout, Harness};
use laputa::core::server::Admission;
use laputa::runtime::{self, Runtime};
use laputa::server::{Server, Service, Session, SessionId, Sessions, SlowConsumer, Stats};
use laputa::tokio::Tokio;
use laputa::{ClientRequest, CloseCode, Config, Message};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// No scenario takes this long unless it hangs.
const WATCHDOG: Duration = Duration::from_secs(60);
/// Sessions of the service, the stalled one included.
const SESSIONS: usize = 100;
/// Messages broadcast after the stalled session's queue first overflowed. Before that, the
/// session takes what its socket buffers (the kernel grows the send buffer up to
/// `net.ipv4.tcp_wmem`'s maximum, 4 MiB by default), its connection (the 256 KiB high-water
/// mark) and its 16 KiB queue hold: how many messages that is depends on the kernel, so the
/// broadcast goes on until the queue overflowed, and then overflows it this many times.
const OVERFLOWS: usize = 1024;
/// The broadcast fails past this many messages (16 MiB) without an overflow.
const MAX_MESSAGES: usize = 16 * 1024;
const MESSAGE_LEN: usize = 1024;
/// The last message, after which the readers stop.
const END: &str = "end";
/// Each session's queue bound.
const OUTBOX_LIMIT: usize = 16 * 1024;
/// Broadcasts per round: well within the bound, so that a reader never overflows.
const ROUND: usize = 8;
/// The stalled client's receive buffer (the kernel's minimum is about this).
const TINY_RCVBUF: usize = 2048;

/// Message `i`: its number in eight digits, then filler up to 1 KiB.
fn message(i: usize) -> Message {
    let mut text = format!("{i:08}");
    text.extend(std::iter::repeat_n('.', MESSAGE_LEN - text.len()));
    Message::from(text)
}

/// A client whose socket has a tiny receive buffer, and which never reads.
async fn stalled_client(url: &str) -> runtime::WebSocket<::tokio::net::TcpStream, Tokio> {
    let addr: std::net::SocketAddr = url.trim_start_matches("ws://").trim_end_matches("/Broadcast").parse().unwrap();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(TINY_RCVBUF).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.set_nonblocking(true).unwrap();
    let stream = ::tokio::net::TcpStream::from_std(socket.into()).unwrap();
    let request = ClientRequest::new(url).unwrap();
    runtime::client::<_, Tokio>(stream, request, Config::default()).await.unwrap().0
}

/// Waits until `ready` holds (the server's sessions open and end on their own tasks).
async fn until(mut ready: impl FnMut() -> bool) {
    while !ready() {
        sleep::<Tokio>(Duration::from_millis(2)).await;
    }
}

/// What a run left: the service's counters, the stalled session's largest queue seen, the
/// sessions open once the 99 readers had everything (and the stalled one, if closed, ended),
/// and whether the stalled one was among them.
struct Outcome {
    stats: Stats,
    largest_queue: usize,
    sessions_at_end: usize,
    stalled_open: bool,
}

/// Runs the broadcast with `policy` and checks that the 99 readers got everything, in order.
async fn broadcast_past_a_stalled_session(policy: SlowConsumer) -> Outcome {
    let mut config = Config::default();
    // A session closed for being slow cannot finish its close handshake with a peer that
    // never reads: it ends at the close timeout. The write-stall deadline (30 s) is off, so
    // that the close timeout alone has to end it.
    config.close_timeout = Duration::from_millis(500);
    config.write_stall_timeout = None;
    let service = Service::new(|| |_: &Session, _: Message| {})
        .admission(Admission::new().config(config))
        .outbox_limit(OUTBOX_LIMIT)
        .slow_consumer(policy);
    let server =
        Server::builder().bind("127.0.0.1:0").service("/Broadcast", service).unwrap().start::<Tokio>().await.unwrap();
    let url = format!("ws://{}/Broadcast", server.local_addr());
    let sessions: Sessions = server.sessions("/Broadcast").unwrap();

    let stalled = stalled_client(&url).await;
    until(|| sessions.count() == 1).await;
    let stalled_id: SessionId = sessions.ids().remove(0);
    let stalled_session = sessions.get(&stalled_id).unwrap();

    let received = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for _ in 1..SESSIONS {
        let (mut ws, _) = runtime::connect::<Tokio>(url.as_str()).await.unwrap();
        let received = received.clone();
        readers.push(Tokio::spawn(async move {
            // How many arrived before `END`, and the numbers out of order, if any.
            let (mut count, mut out_of_order) = (0, Vec::new());
            loop {
                let message = ws.recv().await.unwrap();
                let text = message.as_text().unwrap();
                if text == END {
                    return (count, out_of_order, ws);
                }
                if text.len() != MESSAGE_LEN || text[..8].parse::<usize>().ok() != Some(count) {
                    out_of_order.push((count, text[..8.min(text.len())].to_owned()));
                }
                count += 1;
                received.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    until(|| sessions.count() == SESSIONS).await;

    // Rounds until the stalled session overflowed, then `OVERFLOWS` messages more.
    let (mut largest_queue, mut sent, mut first_overflow) = (0, 0, None);
    while first_overflow.is_none_or(|first| sent < first + OVERFLOWS) {
        assert!(sent < MAX_MESSAGES, "the stalled session never overflowed: {:?}", sessions.stats());
        for _ in 0..ROUND {
            sessions.broadcast(message(sent));
            sent += 1;
            largest_queue = largest_queue.max(stalled_session.buffered_amount());
        }
        until(|| {
            largest_queue = largest_queue.max(stalled_session.buffered_amount());
            received.load(Ordering::Relaxed) == (SESSIONS - 1) * sent
        })
        .await;
        let stats = sessions.stats();
        if first_overflow.is_none() && (stats.dropped > 0 || stats.closed_slow > 0) {
            first_overflow = Some(sent);
        }
    }
    sessions.broadcast(END);
    let mut clients = Vec::new();
    for reader in readers {
        let (count, out_of_order, ws) = reader.await;
        assert_eq!(out_of_order, [], "a reader got messages out of order");
        assert_eq!(count, sent, "a reader missed messages");
        clients.push(ws);
    }
    // A stalled session closed for being slow ends at its close timeout; one that drops stays.
    if matches!(policy, SlowConsumer::Close(_)) {
        until(|| sessions.count() == SESSIONS - 1).await;
    }
    let sessions_at_end = sessions.count();
    let stalled_open = sessions.get(&stalled_id).is_some();
    let stats = sessions.stats();
    for mut ws in clients {
        ws.close().await.unwrap();
    }
    drop(stalled);
    server.stop(CloseCode::GOING_AWAY, "").await;
    Outcome { stats, largest_queue, sessions_at_end, stalled_open }
}

fn run<F: std::future::Future<Output = ()>>(scenario: F) {
    Tokio::block_on(async {
        timeout::<Tokio, _>(WATCHDOG, scenario).await.expect("the test timed out");
    });
}

#[test]
fn a_stalled_session_drops_within_its_bound_and_the_others_get_everything() {
    run(async {
        let outcome = broadcast_past_a_stalled_session(SlowConsumer::Drop).await;
        assert!(outcome.largest_queue <= OUTBOX_LIMIT, "{} queued", outcome.largest_queue);
        assert!(outcome.largest_queue > OUTBOX_LIMIT / 2, "the queue filled: {}", outcome.largest_queue);
        // The stalled session is still open, having dropped most of the broadcast.
        assert_eq!(outcome.sessions_at_end, SESSIONS);
        assert!(outcome.stalled_open);
        assert!(outcome.stats.dropped >= OVERFLOWS as u64, "{:?}", outcome.stats);
        assert_eq!(outcome.stats.closed_slow, 0);
    });
}

/// Fails (the watchdog fires) until `Pump::drain` hands control items to the core past the
/// high-water mark: the session's close waits in its queue behind a connection that holds more
/// than 256 KiB for a peer that never reads, so the close timeout never starts and only the
/// write-stall deadline (off here; 30 s by default) would end the session.
#[test]
fn a_stalled_session_is_closed_and_the_others_get_everything() {
    run(async {
        let outcome = broadcast_past_a_stalled_session(SlowConsumer::Close(CloseCode::TRY_AGAIN_LATER)).await;
        assert_eq!(outcome.sessions_at_end, SESSIONS - 1, "the stalled session was closed");
        assert!(!outcome.stalled_open);
        assert_eq!(outcome.stats.closed_slow, 1, "{:?}", outcome.stats);
        assert!(outcome.largest_queue <= OUTBOX_LIMIT, "{} queued", outcome.largest_queue);
    });
}
