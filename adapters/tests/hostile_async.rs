//! Hostile peers against the async adapters, one test body per scenario, run on every runtime
//! (`tokio::`, `smol::`, `async_std::` test modules at the end): a peer that never reads, a ping
//! flood, peers that ignore or half-finish the close handshake, resets mid-handshake, mid-frame
//! and mid-inflate, and 1,000 slowloris handshakes. The server side is the adapter; the peer a raw
//! `std::net::TcpStream` in a thread (or a stream wrapper that stops taking writes).
//!
//! Nothing asserts on time: every wait is bounded by a short `Config` timeout, a watchdog read
//! timeout on the raw peer, or the test's own watchdog, so that a bug fails instead of hanging.
//! The tests run one at a time, since several of them count the open descriptors of the process.
#![cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]

use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use laputa::runtime::{self, Runtime, TcpRuntime, WebSocket};
use laputa::{Accept, CloseCode, Closed, DeflateConfig, Error, Event, HandshakeError, Message, ProtocolError};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;
use tracing::instrument::WithSubscriber;

mod common;
mod raw_peer;
#[path = "../../core/src/test_log.rs"]
mod test_log;

use common::{timeout, Harness};
use raw_peer::{abnormal, client_frame, config, read_to_eof, reset, upgrade, DEFLATE_REQUEST, REQUEST, WATCHDOG};

type Ws<S, R> = WebSocket<S, R>;

/// A listener on a free loopback port.
async fn listen<R: TcpRuntime>() -> (R::TcpListener, SocketAddr) {
    let listener = R::bind("127.0.0.1:0").await.unwrap();
    let addr = R::local_addr(&listener).unwrap();
    (listener, addr)
}

/// A raw peer connected to `addr`, its reads bounded by the watchdog.
fn raw_connect(addr: SocketAddr) -> TcpStream {
    let peer = TcpStream::connect(addr).unwrap();
    peer.set_read_timeout(Some(WATCHDOG)).unwrap();
    peer
}

/// Open descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// How a server connection ended, as its application saw it through `recv_event`.
#[derive(Debug)]
struct Ending {
    /// The `Event::Closed` events seen.
    closed_events: Vec<Closed>,
    /// What `recv_event` returned last: `Error::Closed`.
    last: Closed,
    /// I/O errors returned before the end (a reset).
    io_errors: Vec<ErrorKind>,
    messages: usize,
    /// `Event::Ping`s seen (with `Config::emit_pings`).
    pings: usize,
    /// The most output ever waiting to be written, sampled after each event.
    max_buffered: usize,
}

/// Receives events until the connection is over.
async fn read_to_end<S, R: runtime::RuntimeIo<S>>(ws: &mut Ws<S, R>) -> Ending {
    let mut ending = Ending {
        closed_events: Vec::new(),
        last: abnormal(),
        io_errors: Vec::new(),
        messages: 0,
        pings: 0,
        max_buffered: 0,
    };
    for _ in 0..1_000_000 {
        let event = ws.recv_event().await;
        ending.max_buffered = ending.max_buffered.max(ws.buffered_amount());
        match event {
            Ok(Event::Closed(closed)) => ending.closed_events.push(closed),
            Ok(Event::Message(_)) => ending.messages += 1,
            Ok(Event::Ping(_)) => ending.pings += 1,
            Ok(_) => {}
            Err(Error::Closed(closed)) => {
                ending.last = closed;
                return ending;
            }
            Err(Error::Io(e)) => ending.io_errors.push(e.kind()),
            Err(e) => panic!("{e}"),
        }
    }
    panic!("never ended: {ending:?}");
}

fn eof() -> Closed {
    Closed::new(CloseCode::ABNORMAL, "", false).with_error(ProtocolError::UnexpectedEof)
}

/// An echo loop until the connection ends.
async fn echo<S, R: runtime::RuntimeIo<S>>(mut ws: Ws<S, R>) {
    while let Ok(message) = ws.recv().await {
        if ws.send(message).await.is_err() {
            break;
        }
    }
}

/// A laputa client that sends `count` messages to the echo server at `addr` and checks that
/// each comes back, then closes cleanly.
async fn echo_client<R: TcpRuntime>(addr: SocketAddr, count: usize) {
    let (mut ws, _) = runtime::connect::<R>(format!("ws://{addr}/echo")).await.unwrap();
    for i in 0..count {
        ws.send(format!("still here {i}")).await.unwrap();
        assert_eq!(ws.recv().await.unwrap(), Message::from(format!("still here {i}")));
    }
    ws.close().await.unwrap();
    assert!(ws.closed().unwrap().clean);
}

// ---- the scenarios ----

/// A server sending to a peer that never reads: sending waits at the high-water mark (the queue
/// stays bounded), the application's send timeout fires, it drops the connection; another
/// client keeps echoing meanwhile, and the peer finally sees the end of the connection.
async fn a_peer_that_never_reads_makes_sending_wait_at_the_high_water_mark<R: TcpRuntime>() {
    const CHUNK: usize = 16 * 1024;
    const HIGH_WATER: usize = 64 * 1024;
    let fds_before = open_fds();
    let (listener, addr) = listen::<R>().await;
    let (blocked_tx, blocked_rx) = oneshot::channel::<()>();
    let (proceed_tx, proceed_rx) = oneshot::channel::<()>();
    let server = R::spawn(async move {
        let (stream, _) = R::accept(&listener).await.unwrap();
        let mut flood = runtime::accept_with::<_, R, _>(stream, config(), |_| Ok(Accept::new())).await.unwrap();
        flood.set_high_water_mark(HIGH_WATER);
        let flooding = R::spawn(async move {
            let message = Message::from(vec![7u8; CHUNK]);
            let (mut queued, mut max_buffered) = (0usize, 0usize);
            // The application's policy: a message that cannot be queued within 300 ms means
            // the peer is not reading; drop the connection.
            while let Some(result) = timeout::<R, _>(Duration::from_millis(300), flood.feed(message.clone())).await {
                result.unwrap();
                queued += 1;
                max_buffered = max_buffered.max(flood.buffered_amount());
                assert!(queued < 10_000, "sending never waited");
            }
            let at_timeout = flood.buffered_amount();
            blocked_tx.send(()).unwrap();
            proceed_rx.await.unwrap();
            drop(flood);
            (queued, max_buffered, at_timeout)
        });
        // Every other connection is echoed.
        let (stream, _) = R::accept(&listener).await.unwrap();
        echo(runtime::accept::<_, R>(stream).await.unwrap()).await;
        flooding.await
    });
    let (read_tx, read_rx) = std::sync::mpsc::channel::<()>();
    let peer = thread::spawn(move || {
        let mut peer = raw_connect(addr);
        upgrade(&mut peer, REQUEST);
        // Reads nothing until told to, then everything until the end.
        read_rx.recv_timeout(WATCHDOG).unwrap();
        read_to_eof(&mut peer).map(|bytes| bytes.len())
    });
    blocked_rx.await.unwrap();
    // The flooding connection waits; another client is served meanwhile.
    echo_client::<R>(addr, 100).await;
    proceed_tx.send(()).unwrap();
    let (queued, max_buffered, at_timeout) = server.await;
    read_tx.send(()).unwrap();
    let received = peer.join().unwrap();
    // The queue filled up to the mark (feeding writes nothing below it), and never held more
    // than one message beyond it.
    assert!(max_buffered > HIGH_WATER, "{max_buffered}");
    assert!(max_buffered <= HIGH_WATER + CHUNK + 14, "{max_buffered}");
    assert!(at_timeout <= HIGH_WATER + CHUNK + 14, "{at_timeout}");
    // What left was what the kernel's buffers took.
    assert!(queued * CHUNK < 64 << 20, "{queued} messages queued for a peer that reads nothing");
    // The peer finally reads what had left, then the end (a FIN or, with data unsent, a reset).
    match received {
        Ok(bytes) => assert!(bytes > 0 && bytes <= queued * (CHUNK + 4), "{bytes}"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
    }
    assert_eq!(open_fds(), fds_before, "descriptors leaked");
}

/// The close handshake with a peer that never reads while our output is stuck: `close` gives up
/// at the close timeout (as documented) instead of waiting for the output forever. (It once
/// waited forever: the flush before the close frame never completed, and the close deadline was
/// watched only by the receiving side.)
async fn closing_while_the_peer_never_reads_ends_at_the_close_timeout<R: TcpRuntime>() {
    const CHUNK: usize = 16 * 1024;
    let (listener, addr) = listen::<R>().await;
    let server = R::spawn(async move {
        let (stream, _) = R::accept(&listener).await.unwrap();
        let mut ws = runtime::accept_with::<_, R, _>(stream, config(), |_| Ok(Accept::new())).await.unwrap();
        let message = Message::from(vec![7u8; CHUNK]);
        let mut queued = 0;
        while let Some(result) = timeout::<R, _>(Duration::from_millis(300), ws.feed(message.clone())).await {
            result.unwrap();
            queued += 1;
            assert!(queued < 10_000, "sending never waited");
        }
        // The output is stuck; the close frame cannot leave either.
        let closing = timeout::<R, _>(WATCHDOG, ws.close_with(CloseCode::GOING_AWAY, "")).await;
        (closing.map(|r| r.map_err(|e| e.to_string())), ws.closed().cloned())
    });
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let peer = thread::spawn(move || {
        let mut peer = raw_connect(addr);
        upgrade(&mut peer, REQUEST);
        let _ = done_rx.recv_timeout(WATCHDOG * 2);
    });
    let (closing, closed) = server.await;
    done_tx.send(()).unwrap();
    peer.join().unwrap();
    assert!(closing.is_some(), "close() still waiting after {WATCHDOG:?} (close timeout: 200 ms)");
    assert_eq!(closed.map(|c| (c.code, c.clean)), Some((CloseCode::ABNORMAL, false)));
}

/// A stream that stops taking writes once `stalled` is set (a peer that never reads, with no
/// kernel buffer in between); reads pass through.
struct Stalled<S> {
    inner: S,
    stalled: Arc<AtomicBool>,
}

#[cfg(feature = "tokio")]
impl<S: ::tokio::io::AsyncRead + Unpin> ::tokio::io::AsyncRead for Stalled<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ::tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

#[cfg(feature = "tokio")]
impl<S: ::tokio::io::AsyncWrite + Unpin> ::tokio::io::AsyncWrite for Stalled<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.stalled.load(Ordering::Relaxed) {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.stalled.load(Ordering::Relaxed) {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S: futures::io::AsyncRead + Unpin> futures::io::AsyncRead for Stalled<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: futures::io::AsyncWrite + Unpin> futures::io::AsyncWrite for Stalled<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.stalled.load(Ordering::Relaxed) {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.stalled.load(Ordering::Relaxed) {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

#[cfg(feature = "async-std")]
impl<S: laputa::async_std::Stream> laputa::async_std::Stream for Stalled<S> {
    fn poll_shutdown_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.stalled.load(Ordering::Relaxed) {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_shutdown_write(cx)
    }
}

/// Sends 100,000 pings (then a close frame and a FIN) to a server whose writes make no progress
/// at all (its application receives events with `Config::emit_pings`); how the server's
/// connection ended.
async fn ping_flood<R>() -> Ending
where
    R: TcpRuntime + runtime::RuntimeIo<Stalled<<R as Runtime>::TcpStream>>,
{
    let (listener, addr) = listen::<R>().await;
    let server = R::spawn(async move {
        let (stream, _) = R::accept(&listener).await.unwrap();
        let stalled = Arc::new(AtomicBool::new(false));
        let stream = Stalled { inner: stream, stalled: stalled.clone() };
        let mut config = config();
        config.emit_pings = true;
        let mut ws = runtime::accept_with::<_, R, _>(stream, config, |_| Ok(Accept::new())).await.unwrap();
        // The 101 is out; from now on nothing the server writes leaves.
        stalled.store(true, Ordering::Relaxed);
        read_to_end(&mut ws).await
    });
    let mut peer = raw_connect(addr);
    upgrade(&mut peer, REQUEST);
    let ping = client_frame(0x89, b"ping");
    peer.write_all(&ping.repeat(PINGS)).unwrap();
    peer.write_all(&client_frame(0x88, &[0x03, 0xe8])).unwrap();
    peer.shutdown(Shutdown::Write).unwrap();
    let ending = server.await;
    drop(peer);
    ending
}

const PINGS: usize = 100_000;

/// 100,000 pings from a peer that never reads: every one is read (reading goes on while the
/// answers cannot be written), and the close that follows ends the connection once.
async fn a_hundred_thousand_pings_from_a_peer_that_never_reads_are_all_read<R>()
where
    R: TcpRuntime + runtime::RuntimeIo<Stalled<<R as Runtime>::TcpStream>>,
{
    let ending = ping_flood::<R>().await;
    assert_eq!(ending.pings, PINGS, "{ending:?}");
    assert_eq!(ending.closed_events.len(), 1, "{ending:?}");
    assert_eq!(ending.closed_events[0].code, CloseCode::NORMAL, "{ending:?}");
    assert_eq!(ending.last.code, CloseCode::NORMAL, "{ending:?}");
}

/// 100,000 pings from a peer that never reads: the answers waiting to be written stay bounded
/// (RFC 6455 lets an endpoint answer only the latest ping). The core queues at most 16 answers
/// unwritten; past that one answer is pending, each newer one replacing it.
async fn a_hundred_thousand_pings_from_a_peer_that_never_reads_keep_the_output_bounded<R>()
where
    R: TcpRuntime + runtime::RuntimeIo<Stalled<<R as Runtime>::TcpStream>>,
{
    let ending = ping_flood::<R>().await;
    assert_eq!(ending.pings, PINGS, "{ending:?}");
    // At most 16 pongs of 6 bytes unwritten in the transmit queue, one pending in the core, and
    // the close echo, whatever the number of pings.
    assert!(ending.max_buffered <= 17 * 6 + 4, "{} bytes waiting to be written", ending.max_buffered);
}

/// A peer that ignores our close frame (and reads nothing) is disconnected at the close timeout,
/// with one `Closed` of 1006; it sees our close frame, then the end of the TCP connection.
async fn a_peer_ignoring_our_close_is_disconnected_at_the_close_timeout<R: TcpRuntime>() {
    let fds_before = open_fds();
    let (listener, addr) = listen::<R>().await;
    let server = R::spawn(async move {
        let (stream, _) = R::accept(&listener).await.unwrap();
        let mut ws = runtime::accept_with::<_, R, _>(stream, config(), |_| Ok(Accept::new())).await.unwrap();
        ws.send_close(CloseCode::NORMAL, "bye").await.unwrap();
        read_to_end(&mut ws).await
    });
    let peer = thread::spawn(move || {
        let mut peer = raw_connect(addr);
        upgrade(&mut peer, REQUEST);
        read_to_eof(&mut peer)
    });
    let ending = server.await;
    assert_eq!(ending.closed_events, [abnormal()]);
    assert_eq!(ending.last, abnormal());
    assert!(ending.io_errors.is_empty(), "{ending:?}");
    assert_eq!(peer.join().unwrap().unwrap(), [0x88, 0x05, 0x03, 0xe8, b'b', b'y', b'e']);
    assert_eq!(open_fds(), fds_before, "descriptors leaked");
}

/// A peer that sends its close frame but never its FIN: the close is clean, the server shuts
/// down its side and drops the connection at the close timeout.
async fn a_peer_that_closes_but_never_sends_fin_is_disconnected_at_the_close_timeout<R: TcpRuntime>() {
    let fds_before = open_fds();
    let (listener, addr) = listen::<R>().await;
    let server = R::spawn(async move {
        let (stream, _) = R::accept(&listener).await.unwrap();
        let mut ws = runtime::accept_with::<_, R, _>(stream, config(), |_| Ok(Accept::new())).await.unwrap();
        read_to_end(&mut ws).await
    });
    let peer = thread::spawn(move || {
        let mut peer = raw_connect(addr);
        upgrade(&mut peer, REQUEST);
        peer.write_all(&client_frame(0x88, &[0x03, 0xe8])).unwrap();
        // Never our FIN: the server's close echo, its FIN, and it is gone.
        let received = read_to_eof(&mut peer);
        // Still not closed on our side: the server must not wait for us.
        (received, peer)
    });
    let ending = server.await;
    let clean = Closed::new(CloseCode::NORMAL, "", true);
    assert_eq!(ending.closed_events, std::slice::from_ref(&clean));
    assert_eq!(ending.last, clean);
    let (received, peer) = peer.join().unwrap();
    assert_eq!(received.unwrap(), [0x88, 0x02, 0x03, 0xe8]);
    drop(peer);
    assert_eq!(open_fds(), fds_before, "descriptors leaked");
}

/// A reset (or FIN) in the middle of the opening handshake fails the accept with the I/O error;
/// the task ends and nothing leaks.
async fn a_reset_mid_handshake_fails_the_accept<R: TcpRuntime>() {
    for hard in [true, false] {
        let fds_before = open_fds();
        let (listener, addr) = listen::<R>().await;
        let server = R::spawn(async move {
            let (stream, _) = R::accept(&listener).await.unwrap();
            runtime::accept_with::<_, R, _>(stream, config(), |_| Ok(Accept::new())).await.map(drop)
        });
        let mut peer = raw_connect(addr);
        peer.write_all(&REQUEST[..40]).unwrap();
        if hard {
            reset(peer);
        } else {
            drop(peer);
        }
        match server.await {
            Err(Error::Io(e)) => {
                let expected = if hard { ErrorKind::ConnectionReset } else { ErrorKind::UnexpectedEof };
                assert_eq!(e.kind(), expected, "hard reset: {hard}");
            }
            other => panic!("hard reset {hard}: {other:?}"),
        }
        assert_eq!(open_fds(), fds_before, "descriptors leaked (hard reset: {hard})");
    }
}

/// A reset (or FIN) in the middle of a frame: one `Closed` with 1006 and `UnexpectedEof`, then
/// the end (a reset is also reported once as an I/O error before it); nothing leaks.
async fn a_reset_mid_frame_ends_the_connection_once_with_1006<R: TcpRuntime>() {
    for hard in [true, false] {
        let fds_before = open_fds();
        let (listener, addr) = listen::<R>().await;
        let logs = test_log::Logs::default();
        let server = R::spawn(
            async move {
                let (stream, _) = R::accept(&listener).await.unwrap();
                let mut ws = runtime::accept_with::<_, R, _>(stream, config(), |_| Ok(Accept::new())).await.unwrap();
                read_to_end(&mut ws).await
            }
            .with_subscriber(logs.subscriber()),
        );
        let mut peer = raw_connect(addr);
        upgrade(&mut peer, REQUEST);
        // A text frame announcing 10 bytes, 3 of them sent.
        let frame = client_frame(0x81, b"0123456789");
        peer.write_all(&frame[..9]).unwrap();
        if hard {
            reset(peer);
        } else {
            drop(peer);
        }
        let ending = server.await;
        assert_reset_ending(&ending, hard);
        assert_eq!(ending.messages, 0);
        let logs = logs.text();
        assert!(logs.contains("upgrade accepted path=\"/chat\""), "{logs}");
        assert_eq!(logs.contains("socket failed: the connection ends"), hard, "{logs}");
        assert!(logs.contains("connection closed code=1006"), "{logs}");
        assert_eq!(open_fds(), fds_before, "descriptors leaked (hard reset: {hard})");
    }
}

fn assert_reset_ending(ending: &Ending, hard: bool) {
    assert_eq!(ending.closed_events, [eof()], "hard reset: {hard}; {ending:?}");
    assert_eq!(ending.last.code, CloseCode::ABNORMAL, "hard reset: {hard}; {ending:?}");
    assert!(!ending.last.clean, "hard reset: {hard}; {ending:?}");
    let expected: &[ErrorKind] = if hard { &[ErrorKind::ConnectionReset] } else { &[] };
    assert_eq!(ending.io_errors, expected, "hard reset: {hard}; {ending:?}");
}

/// A raw DEFLATE stored block (not final) holding `data`: compressed data whose inflation is
/// exact, written by hand. The `last` block of a message is followed by the header byte of an
/// empty stored block, whose `00 00 ff ff` the receiver appends (RFC 7692 section 7.2.1).
fn stored_block(data: &[u8], last: bool) -> Vec<u8> {
    let len = u16::try_from(data.len()).unwrap();
    let mut out = vec![0x00];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    if last {
        out.push(0x00);
    }
    out
}

/// With permessage-deflate negotiated, a reset (or FIN) in the middle of a compressed message,
/// its first fragment inflated and the second cut short: one `Closed` with 1006, the end,
/// nothing delivered, nothing leaked. A whole compressed message first shows that the stream
/// inflates.
async fn a_reset_mid_inflate_ends_the_connection_once_with_1006<R: TcpRuntime>() {
    for hard in [true, false] {
        let fds_before = open_fds();
        let (listener, addr) = listen::<R>().await;
        let (first_tx, first_rx) = oneshot::channel::<Message>();
        let server = R::spawn(async move {
            let (stream, _) = R::accept(&listener).await.unwrap();
            let mut config = config();
            config.deflate = Some(DeflateConfig::default());
            let mut ws = runtime::accept_with::<_, R, _>(stream, config, |_| Ok(Accept::new())).await.unwrap();
            first_tx.send(ws.recv().await.unwrap()).unwrap();
            read_to_end(&mut ws).await
        });
        let mut peer = raw_connect(addr);
        let head = upgrade(&mut peer, DEFLATE_REQUEST);
        assert!(head.to_ascii_lowercase().contains("sec-websocket-extensions: permessage-deflate"), "{head}");
        // A whole compressed message (RSV1, text), inflated and delivered.
        peer.write_all(&client_frame(0xc1, &stored_block(b"Laputa", true))).unwrap();
        assert_eq!(first_rx.await.unwrap(), Message::from("Laputa"));
        // A compressed message in two fragments: the first whole, the second cut short.
        peer.write_all(&client_frame(0x41, &stored_block(&[b'a'; 1000], false))).unwrap();
        let second = client_frame(0x80, &stored_block(&[b'b'; 1000], true));
        peer.write_all(&second[..second.len() / 2]).unwrap();
        if hard {
            reset(peer);
        } else {
            drop(peer);
        }
        let ending = server.await;
        assert_reset_ending(&ending, hard);
        assert_eq!(ending.messages, 0, "{ending:?}");
        assert_eq!(open_fds(), fds_before, "descriptors leaked (hard reset: {hard})");
    }
}

/// 1,000 sockets trickling an upgrade request one byte at a time are all dropped at the
/// handshake deadline; a real client is served meanwhile; nothing leaks.
async fn a_thousand_slowloris_handshakes_are_dropped_at_the_handshake_timeout<R: TcpRuntime>() {
    const SLOW: usize = 1000;
    let fds_before = open_fds();
    let (listener, addr) = listen::<R>().await;
    let (results_tx, mut results_rx) = mpsc::unbounded::<Result<(), Error>>();
    let server = R::spawn(async move {
        for _ in 0..=SLOW {
            let (stream, _) = R::accept(&listener).await.unwrap();
            let results = results_tx.clone();
            drop(R::spawn(async move {
                match runtime::accept_with::<_, R, _>(stream, config(), |_| Ok(Accept::new())).await {
                    Ok(ws) => {
                        echo(ws).await;
                        let _ = results.unbounded_send(Ok(()));
                    }
                    Err(e) => {
                        let _ = results.unbounded_send(Err(e));
                    }
                }
            }));
        }
    });
    let (connected_tx, connected_rx) = oneshot::channel::<()>();
    let trickler = thread::spawn(move || {
        let mut peers: Vec<Option<TcpStream>> = (0..SLOW)
            .map(|_| {
                let mut peer = raw_connect(addr);
                peer.write_all(b"GET / HTTP/1.1\r\nX-Slow: ").unwrap();
                peer.set_nonblocking(true).unwrap();
                Some(peer)
            })
            .collect();
        connected_tx.send(()).unwrap();
        // One byte every 20 ms on each socket, until the server has dropped every one of them.
        let mut byte = [0u8; 64];
        for _ in 0..WATCHDOG.as_millis() / 20 {
            for slot in &mut peers {
                let Some(peer) = slot else { continue };
                let gone = match peer.read(&mut byte) {
                    Ok(0) => true,
                    Ok(_) => panic!("the server answered a head that never ended"),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => peer.write_all(b"a").is_err(),
                    Err(_) => true,
                };
                if gone {
                    *slot = None;
                }
            }
            if peers.iter().all(Option::is_none) {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(20));
        }
        Err(peers.iter().flatten().count())
    });
    connected_rx.await.unwrap();
    // A real client meanwhile.
    echo_client::<R>(addr, 10).await;
    let (mut timeouts, mut served) = (0, 0);
    while timeouts + served < SLOW + 1 {
        match results_rx.next().await.expect("every connection reports") {
            Ok(()) => served += 1,
            Err(e) => {
                assert_eq!(e.handshake_error(), Some(&HandshakeError::Timeout), "{e}");
                timeouts += 1;
            }
        }
    }
    assert_eq!((timeouts, served), (SLOW, 1));
    assert_eq!(trickler.join().unwrap(), Ok(()), "sockets the server never dropped");
    server.await;
    assert_eq!(open_fds(), fds_before, "descriptors leaked");
}

/// A peer that keeps the socket full does not hold up the other connections of its task: the
/// receiving side yields every so many steps. Both server connections are driven by one future
/// (`join`), the flooded one working a while on each message, so that without the yield the
/// other would not even be accepted until the flood stopped. The other client starts once the
/// flood is under way; the flood stops once its echo arrives, or when a write of the flooder
/// fails (the flag `flooding` says which came first).
async fn a_peer_that_never_stops_sending_does_not_hold_up_other_connections<R: TcpRuntime>() {
    let (flood_listener, flood_addr) = listen::<R>().await;
    let (echo_listener, echo_addr) = listen::<R>().await;
    let flooding = Arc::new(AtomicBool::new(true));
    let flooder = thread::spawn({
        let flooding = flooding.clone();
        move || {
            let mut peer = raw_connect(flood_addr);
            upgrade(&mut peer, REQUEST);
            let batch: Vec<u8> = (0..1000).flat_map(|_| client_frame(0x82, &[1; 100])).collect();
            while flooding.load(Ordering::SeqCst) && peer.write_all(&batch).is_ok() {}
            // Stopped by the echo client, or by a failed write: the flood is over either way.
            flooding.store(false, Ordering::SeqCst);
            reset(peer);
        }
    });
    let (flood_under_way, start) = std::sync::mpsc::channel::<()>();
    let echo_client = thread::spawn(move || {
        start.recv().unwrap();
        let mut peer = raw_connect(echo_addr);
        peer.write_all(REQUEST).unwrap();
        peer.write_all(&client_frame(0x81, b"still here")).unwrap();
        // The 101 response, then the echo; a read that times out ends it.
        let mut wire = Vec::new();
        let mut buf = [0u8; 512];
        while !wire.ends_with(b"\x81\x0astill here") {
            match peer.read(&mut buf) {
                Ok(n) if n > 0 => wire.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        // Whether the flood was still going when the echo came back.
        let during_flood = flooding.swap(false, Ordering::SeqCst);
        (wire.ends_with(b"\x81\x0astill here"), during_flood)
    });
    let flooded = async {
        let (stream, _) = R::accept(&flood_listener).await.unwrap();
        let mut ws = runtime::accept_with::<_, R, _>(stream, config(), |_| Ok(Accept::new())).await.unwrap();
        let mut received = 0usize;
        while ws.recv().await.is_ok() {
            received += 1;
            if received == 1000 {
                flood_under_way.send(()).unwrap();
            }
            // Slower than the peer sends: the socket never runs dry while the flood lasts.
            let until = std::time::Instant::now() + Duration::from_micros(20);
            while std::time::Instant::now() < until {
                std::hint::spin_loop();
            }
        }
        received
    };
    let other = async {
        let (stream, _) = R::accept(&echo_listener).await.unwrap();
        if let Ok(ws) = runtime::accept_with::<_, R, _>(stream, config(), |_| Ok(Accept::new())).await {
            echo(ws).await;
        }
    };
    let (received, ()) = futures::join!(flooded, other);
    let (echoed, during_flood) = echo_client.join().unwrap();
    flooder.join().unwrap();
    assert!(received >= 1000, "{received}");
    assert!(echoed, "the other connection was never echoed");
    assert!(during_flood, "the other connection was echoed only once the flood stopped");
}

/// Every test gives up after this long instead of hanging.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One test at a time: the descriptor counts are the whole process's.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Instantiates each scenario as a `#[test]` on one runtime.
macro_rules! on_runtime {
    ($feature:literal, $module:ident, $runtime:ty; $($(#[$attr:meta])* $scenario:ident),* $(,)?) => {
        #[cfg(feature = $feature)]
        mod $module {
            use super::*;
            $(
                #[test]
                $(#[$attr])*
                fn $scenario() {
                    let _serial = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    <$runtime as Harness>::block_on(async {
                        // A listener first, so that descriptors the runtime opens on first use
                        // (async-io's reactor) are open before a scenario counts them.
                        drop(listen::<$runtime>().await);
                        timeout::<$runtime, _>(TEST_TIMEOUT, super::$scenario::<$runtime>())
                            .await
                            .expect("the test timed out")
                    });
                }
            )*
        }
    };
}

/// The scenarios, on every runtime.
macro_rules! on_every_runtime {
    ($($(#[$attr:meta])* $scenario:ident),* $(,)?) => {
        on_runtime!("tokio", tokio, laputa::tokio::Tokio; $($(#[$attr])* $scenario),*);
        on_runtime!("smol", smol, laputa::smol::Smol; $($(#[$attr])* $scenario),*);
        on_runtime!("async-std", async_std, laputa::async_std::AsyncStd; $($(#[$attr])* $scenario),*);
    };
}

on_every_runtime!(
    a_peer_that_never_reads_makes_sending_wait_at_the_high_water_mark,
    closing_while_the_peer_never_reads_ends_at_the_close_timeout,
    a_hundred_thousand_pings_from_a_peer_that_never_reads_are_all_read,
    a_hundred_thousand_pings_from_a_peer_that_never_reads_keep_the_output_bounded,
    a_peer_ignoring_our_close_is_disconnected_at_the_close_timeout,
    a_peer_that_closes_but_never_sends_fin_is_disconnected_at_the_close_timeout,
    a_reset_mid_handshake_fails_the_accept,
    a_reset_mid_frame_ends_the_connection_once_with_1006,
    a_reset_mid_inflate_ends_the_connection_once_with_1006,
    a_thousand_slowloris_handshakes_are_dropped_at_the_handshake_timeout,
    a_peer_that_never_stops_sending_does_not_hold_up_other_connections,
);
