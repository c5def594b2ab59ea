//! The async adapters' behaviour, one test body per scenario, run on every runtime
//! (`tokio::`, `smol::`, `async_std::` test modules at the end): text, binary, fragments,
//! ping/pong, close from either side, limits, timeouts, split halves used concurrently (and
//! woken after waiting for a full socket), cancellation, and backpressure against a peer that
//! does not read.
#![cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]

use futures::{SinkExt, StreamExt};
use laputa::runtime::{self, TcpRuntime, WebSocket};
use laputa::{Accept, ClientRequest, CloseCode, Config, Error, Event, Keepalive, Message, MessageKind, Reject};
use std::future::Future;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

mod common;

use common::{sleep, timeout, Harness};

/// A client connection, as `connect` opens it.
type Ws<R> = WebSocket<<R as laputa::runtime::ClientTransport>::ClientStream, R>;

/// A server on a free loopback port that runs `serve` on its first connection; the URL to
/// connect to and the server's task.
async fn serve_one<R, F, Fut>(serve: F) -> (String, R::JoinHandle<Fut::Output>)
where
    R: TcpRuntime,
    F: FnOnce(R::TcpStream) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let listener = R::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/chat?name=sheeta", R::local_addr(&listener).unwrap());
    let task = R::spawn(async move {
        let (stream, _) = R::accept(&listener).await.unwrap();
        serve(stream).await
    });
    (url, task)
}

/// An echo server for one connection, with `config`; ends with how its connection ended.
async fn echo_server<R: TcpRuntime>(config: Config) -> (String, R::JoinHandle<Error>) {
    serve_one::<R, _, _>(move |stream| async move {
        let mut ws = runtime::accept_with::<_, R, _>(stream, config, |_| Ok(Accept::new())).await.unwrap();
        loop {
            match ws.recv().await {
                Ok(message) => {
                    if let Err(e) = ws.send(message).await {
                        return e;
                    }
                }
                Err(e) => return e,
            }
        }
    })
    .await
}

fn closed(error: Error) -> laputa::Closed {
    match error {
        Error::Closed(closed) => closed,
        other => panic!("expected Closed, got {other:?}"),
    }
}

/// A blocking raw-TCP client in a thread: completes the opening handshake, then runs `then`
/// on the socket (to be a peer that misbehaves).
fn raw_peer(url: &str, then: impl FnOnce(std::net::TcpStream) + Send + 'static) -> std::thread::JoinHandle<()> {
    let addr = url.trim_start_matches("ws://").split('/').next().unwrap().to_owned();
    std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .write_all(
                b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            )
            .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        assert!(head.starts_with(b"HTTP/1.1 101"));
        then(stream);
    })
}

// ---- the scenarios ----

async fn text_and_binary<R: TcpRuntime>() {
    let (url, server) = echo_server::<R>(Config::default()).await;
    let (mut ws, response) = runtime::connect::<R>(&url).await.unwrap();
    assert_eq!(response.status(), 101);
    ws.send("Balse").await.unwrap();
    assert_eq!(ws.recv().await.unwrap(), Message::from("Balse"));
    let binary: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
    ws.send(binary.clone()).await.unwrap();
    assert_eq!(ws.recv().await.unwrap(), Message::from(binary));
    ws.send("").await.unwrap();
    assert_eq!(ws.recv().await.unwrap(), Message::from(""));
    // The same through Sink and Stream.
    ws.send_all(&mut futures::stream::iter(["a", "b", "c"].map(|t| Ok(Message::from(t))))).await.unwrap();
    let echoed: Vec<Message> = (&mut ws).take(3).map(Result::unwrap).collect().await;
    assert_eq!(echoed, ["a", "b", "c"].map(Message::from));
    ws.close().await.unwrap();
    assert!(closed(server.await).clean);
}

/// `feed` queues without writing (corking); the next call that writes sends all of it, and
/// `recv` writes what is queued before it waits.
async fn feed_corks_until_a_call_writes<R: TcpRuntime>() {
    let (url, server) = echo_server::<R>(Config::default()).await;
    let (mut ws, _) = runtime::connect::<R>(&url).await.unwrap();
    for text in ["one", "two", "three"] {
        ws.feed(text).await.unwrap();
    }
    assert_eq!(ws.buffered_amount(), 3 * 6 + 3 + 3 + 5, "three masked frames queued, none written");
    assert_eq!(ws.recv().await.unwrap(), Message::from("one"));
    assert_eq!(ws.buffered_amount(), 0);
    ws.feed("four").await.unwrap();
    ws.flush().await.unwrap();
    assert_eq!(ws.buffered_amount(), 0);
    for text in ["two", "three", "four"] {
        assert_eq!(ws.recv().await.unwrap(), Message::from(text));
    }
    ws.close().await.unwrap();
    assert!(closed(server.await).clean);
}

async fn fragments<R: TcpRuntime>() {
    let (url, server) = serve_one::<R, _, _>(|stream| async move {
        let mut ws = runtime::accept::<_, R>(stream).await.unwrap();
        let whole = ws.recv().await.unwrap();
        ws.send_fragment(MessageKind::Text, "Lapu".as_bytes(), false).await.unwrap();
        ws.ping(b"between").await.unwrap();
        ws.send_fragment(MessageKind::Text, "ta".as_bytes(), true).await.unwrap();
        let _ = ws.recv().await;
        whole
    })
    .await;
    let (mut ws, _) = runtime::connect::<R>(&url).await.unwrap();
    for (i, chunk) in [&b"one "[..], b"two ", b"three"].iter().enumerate() {
        ws.send_fragment(MessageKind::Binary, chunk, i == 2).await.unwrap();
    }
    assert_eq!(ws.recv().await.unwrap(), Message::from("Laputa"));
    ws.close().await.unwrap();
    assert_eq!(server.await, Message::from(b"one two three".to_vec()));
}

async fn ping_pong<R: TcpRuntime>() {
    let mut config = Config::default();
    config.emit_pings = true;
    let (url, server) = serve_one::<R, _, _>(move |stream| async move {
        let mut ws = runtime::accept_with::<_, R, _>(stream, config, |_| Ok(Accept::new())).await.unwrap();
        let mut events = Vec::new();
        loop {
            match ws.recv_event().await {
                Ok(event) => events.push(event),
                Err(_) => return events,
            }
        }
    })
    .await;
    let (mut ws, _) = runtime::connect::<R>(&url).await.unwrap();
    ws.ping(b"Pazu").await.unwrap();
    match ws.recv_event().await.unwrap() {
        Event::Pong(payload) => assert_eq!(&payload[..], b"Pazu"),
        other => panic!("{other:?}"),
    }
    ws.close().await.unwrap();
    let events = server.await;
    assert!(matches!(&events[0], Event::Ping(p) if &p[..] == b"Pazu"), "{events:?}");
}

async fn close_from_client<R: TcpRuntime>() {
    // Both ends shut down TCP at once: nobody waits for the close timeout, made longer than
    // TEST_TIMEOUT so that waiting for it fails the test (no wall-time bound to race).
    let mut config = Config::default();
    config.close_timeout = 3 * TEST_TIMEOUT;
    let (url, server) = echo_server::<R>(config.clone()).await;
    let (mut ws, _) = runtime::connect_with::<R>(ClientRequest::new(&url).unwrap(), config).await.unwrap();
    ws.close_with(CloseCode::NORMAL, "bye").await.unwrap();
    let mine = ws.closed().unwrap();
    assert!(mine.clean && mine.code == CloseCode::NORMAL, "{mine:?}");
    let theirs = closed(server.await);
    assert!(theirs.clean);
    assert_eq!((theirs.code, theirs.reason.as_str()), (CloseCode::NORMAL, "bye"));
    // Once closed, sending fails and receiving reports the close again.
    assert!(ws.send("late").await.unwrap_err().is_closed());
    assert!(ws.recv().await.unwrap_err().is_closed());
}

async fn close_from_server<R: TcpRuntime>() {
    let (url, server) = serve_one::<R, _, _>(|stream| async move {
        let mut ws = runtime::accept_with::<_, R, _>(stream, Config::default(), |request| {
            assert_eq!((request.path(), request.query()), ("/chat", Some("name=sheeta")));
            Ok(Accept::new().protocol("chat"))
        })
        .await
        .unwrap();
        ws.send(vec![1, 2, 3]).await.unwrap();
        ws.close_with(CloseCode::GOING_AWAY, "the castle falls").await
    })
    .await;
    let request = ClientRequest::new(&url).unwrap().protocol("chat");
    let (mut ws, response) = runtime::connect_with::<R>(request, Config::default()).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::from(vec![1, 2, 3]));
    // A clean close ends the stream.
    assert!(ws.next().await.is_none());
    let closed = ws.closed().unwrap();
    assert!(closed.clean && closed.code == CloseCode::GOING_AWAY && closed.reason == "the castle falls");
    server.await.unwrap();
}

async fn rejection<R: TcpRuntime>() {
    let (url, server) = serve_one::<R, _, _>(|stream| async move {
        runtime::accept_with::<_, R, _>(stream, Config::default(), |_| {
            Err(Reject::new(http::StatusCode::FORBIDDEN).body("not you"))
        })
        .await
        .map(drop)
    })
    .await;
    let error = runtime::connect::<R>(&url).await.unwrap_err();
    assert_eq!(error.http_status(), Some(http::StatusCode::FORBIDDEN));
    assert!(server.await.is_err());
}

async fn limits<R: TcpRuntime>() {
    let mut config = Config::default();
    config.max_message_size = 1000;
    let (url, server) = echo_server::<R>(config).await;
    let (mut ws, _) = runtime::connect::<R>(&url).await.unwrap();
    ws.send(vec![0u8; 1000]).await.unwrap();
    assert_eq!(ws.recv().await.unwrap().payload().len(), 1000);
    ws.send(vec![0u8; 1001]).await.unwrap();
    let mine = closed(ws.recv().await.unwrap_err());
    assert_eq!(mine.code, CloseCode::MESSAGE_TOO_BIG);
    let theirs = closed(server.await);
    assert_eq!(theirs.code, CloseCode::MESSAGE_TOO_BIG);
    assert!(matches!(theirs.error, Some(laputa::ProtocolError::MessageTooLarge { .. })), "{theirs:?}");
}

/// Whether a wait of `elapsed` was for a timeout `configured` much shorter than its `default`.
/// No bound here races a loaded machine: a timer never ends early, so the wait is at least the
/// configured value, and one that used the default instead would be at least the default; only
/// a stall of nearly the default (seconds) can make a right wait look wrong. A timeout that
/// never fires trips TEST_TIMEOUT.
fn waited(elapsed: Duration, configured: Duration, default: Duration) -> bool {
    configured <= elapsed && elapsed < default
}

async fn handshake_timeout<R: TcpRuntime>() {
    let default = Config::default().handshake_timeout;
    let mut config = Config::default();
    config.handshake_timeout = Duration::from_millis(200);
    let configured = config.handshake_timeout;
    // A server whose client says nothing.
    let server_config = config.clone();
    let (url, server) = serve_one::<R, _, _>(move |stream| async move {
        let config = server_config;
        let start = Instant::now();
        let result = runtime::accept_with::<_, R, _>(stream, config, |_| Ok(Accept::new())).await;
        (result.map(drop), start.elapsed())
    })
    .await;
    let addr = url.trim_start_matches("ws://").split('/').next().unwrap().to_owned();
    let silent = std::net::TcpStream::connect(&addr).unwrap();
    let (result, elapsed) = server.await;
    let error = result.unwrap_err();
    assert!(matches!(error.handshake_error(), Some(laputa::HandshakeError::Timeout)), "{error}");
    assert!(waited(elapsed, configured, default), "{elapsed:?}");
    drop(silent);

    // A client whose server accepts TCP and says nothing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let start = Instant::now();
    let error = runtime::connect_with::<R>(ClientRequest::new(&url).unwrap(), config).await.unwrap_err();
    assert!(matches!(error.handshake_error(), Some(laputa::HandshakeError::Timeout)), "{error}");
    assert!(waited(start.elapsed(), configured, default), "{:?}", start.elapsed());
}

async fn close_timeout<R: TcpRuntime>() {
    let mut config = Config::default();
    config.close_timeout = Duration::from_millis(200);
    let (url, server) = serve_one::<R, _, _>(move |stream| async move {
        let mut ws = runtime::accept_with::<_, R, _>(stream, config, |_| Ok(Accept::new())).await.unwrap();
        let start = Instant::now();
        ws.close().await.unwrap();
        (ws.closed().cloned(), start.elapsed())
    })
    .await;
    // The peer reads nothing and never answers the close frame.
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let peer = raw_peer(&url, move |_stream| {
        let _ = wait.recv_timeout(Duration::from_secs(10));
    });
    let (closed, elapsed) = server.await;
    let closed = closed.unwrap();
    assert!(!closed.clean && closed.code == CloseCode::ABNORMAL, "{closed:?}");
    assert!(waited(elapsed, Duration::from_millis(200), Config::default().close_timeout), "{elapsed:?}");
    done.send(()).unwrap();
    peer.join().unwrap();
}

async fn keepalive<R: TcpRuntime>() {
    // A live peer (a laputa client receiving) answers every ping, and the connection outlives
    // many intervals: quiet for longer than interval + timeout, which is what a keepalive that
    // fails a live peer needs to show. The timeout is wide (1 s) because the driver reads a pong
    // only after it has looked at the deadline: a stall of the whole timeout between a ping and
    // its pong would fail even a live connection, and only that much may not.
    let mut config = Config::default();
    config.keepalive = Some(Keepalive { interval: Duration::from_millis(50), timeout: Duration::from_secs(1) });
    let quiet = Duration::from_millis(1250);
    let live_config = config.clone();
    let (url, server) = serve_one::<R, _, _>(move |stream| async move {
        let mut ws = runtime::accept_with::<_, R, _>(stream, live_config, |_| Ok(Accept::new())).await.unwrap();
        let during = timeout::<R, _>(quiet, ws.recv()).await;
        assert!(during.is_none(), "{during:?}");
        ws.send("still here").await.unwrap();
        ws.recv().await.unwrap_err()
    })
    .await;
    let mut client_config = Config::default();
    client_config.emit_pings = true;
    let (mut ws, _) = runtime::connect_with::<R>(ClientRequest::new(&url).unwrap(), client_config).await.unwrap();
    let mut pings = 0;
    loop {
        match ws.recv_event().await.unwrap() {
            Event::Ping(_) => pings += 1,
            Event::Message(message) => {
                assert_eq!(message, Message::from("still here"));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    // The server did ping, again and again (every 50 ms of quiet, so about 25 times).
    assert!(pings >= 3, "{pings} pings");
    ws.close().await.unwrap();
    assert!(closed(server.await).clean);

    // A silent peer is found out: after the interval and the timeout, and not before.
    let keepalive = Keepalive { interval: Duration::from_millis(50), timeout: Duration::from_millis(200) };
    config.keepalive = Some(keepalive);
    // The close frame that follows goes unanswered too: do not wait the default 5 s for it.
    config.close_timeout = Duration::from_millis(100);
    let (url, server) = serve_one::<R, _, _>(move |stream| async move {
        // Before the connection exists, so that its first interval cannot start earlier.
        let start = Instant::now();
        let mut ws = runtime::accept_with::<_, R, _>(stream, config, |_| Ok(Accept::new())).await.unwrap();
        (ws.recv().await.unwrap_err(), start.elapsed())
    })
    .await;
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let peer = raw_peer(&url, move |_stream| {
        let _ = wait.recv_timeout(Duration::from_secs(10));
    });
    let (error, elapsed) = server.await;
    let closed = closed(error);
    assert_eq!(closed.error, Some(laputa::ProtocolError::KeepaliveTimeout), "{closed:?}");
    // Nothing to race from above: a keepalive that never fires trips TEST_TIMEOUT.
    assert!(elapsed >= keepalive.interval + keepalive.timeout, "{elapsed:?}");
    done.send(()).unwrap();
    peer.join().unwrap();
}

async fn split_halves_concurrently<R: TcpRuntime>() {
    const COUNT: usize = 2000;
    let (url, server) = echo_server::<R>(Config::default()).await;
    let (ws, _) = runtime::connect::<R>(&url).await.unwrap();
    let (mut reader, mut writer) = ws.split();
    let receiving = R::spawn(async move {
        let mut received = Vec::new();
        while received.len() < COUNT {
            received.push(reader.recv().await.unwrap());
        }
        // The close handshake that the writer starts completes on the reader.
        let end = reader.recv().await.unwrap_err();
        (received, end, reader)
    });
    let sending = R::spawn(async move {
        for i in 0..COUNT {
            writer.send(format!("message {i}")).await.unwrap();
        }
        writer
    });
    let mut writer = sending.await;
    // The echoes of everything sent arrive before the server's answer to this close frame.
    writer.close_with(CloseCode::NORMAL, "done").await.unwrap();
    let (received, end, reader) = receiving.await;
    for (i, message) in received.iter().enumerate() {
        assert_eq!(message.as_text(), Some(format!("message {i}").as_str()));
    }
    assert!(closed(end).clean);
    let ws: Ws<R> = reader.reunite(writer).unwrap();
    assert!(ws.closed().unwrap().clean);
    assert!(closed(server.await).clean);
}

/// A sending half that waits for a full socket (the peer reads nothing for a while), while the
/// receiving half waits for input, is woken once the peer reads: everything arrives, in order.
async fn sends_that_waited_for_a_full_socket_resume_when_the_peer_reads<R: TcpRuntime>() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    const COUNT: usize = 512;
    const SIZE: usize = 64 * 1024; // 32 MiB in all: far more than the socket buffers hold
    let sent_all = Arc::new(AtomicBool::new(false));
    let flag = sent_all.clone();
    let (url, server) = serve_one::<R, _, _>(|stream| async move {
        let ws = runtime::accept::<_, R>(stream).await.unwrap();
        let (mut reader, mut writer) = ws.split();
        let receiving = R::spawn(async move { reader.recv().await.unwrap_err() });
        for i in 0..COUNT {
            writer.send(Message::from(vec![i as u8; SIZE])).await.unwrap();
        }
        flag.store(true, Ordering::SeqCst);
        receiving.await
    })
    .await;
    let (mut ws, _) = runtime::connect::<R>(&url).await.unwrap();
    sleep::<R>(Duration::from_millis(200)).await;
    // The sending half is waiting for the socket: it cannot have sent everything unread.
    assert!(!sent_all.load(Ordering::SeqCst));
    for i in 0..COUNT {
        let message = ws.recv().await.unwrap();
        assert_eq!(message.payload().len(), SIZE);
        assert!(message.payload().iter().all(|&b| b == i as u8), "message {i}");
    }
    ws.close().await.unwrap();
    assert!(closed(server.await).clean);
    assert!(sent_all.load(Ordering::SeqCst));
}

async fn recv_is_cancellation_safe<R: TcpRuntime>() {
    let (url, server) = serve_one::<R, _, _>(|stream| async move {
        let mut ws = runtime::accept::<_, R>(stream).await.unwrap();
        sleep::<R>(Duration::from_millis(150)).await;
        for i in 0..100 {
            ws.send(format!("{i}")).await.unwrap();
        }
        ws.recv().await.unwrap_err()
    })
    .await;
    let (mut ws, _) = runtime::connect::<R>(&url).await.unwrap();
    // Receives interrupted again and again lose nothing.
    let mut received = Vec::new();
    let mut timeouts = 0;
    while received.len() < 100 {
        match timeout::<R, _>(Duration::from_millis(1), ws.recv()).await {
            Some(message) => received.push(message.unwrap()),
            None => timeouts += 1,
        }
    }
    assert!(timeouts > 0);
    assert_eq!(received, (0..100).map(|i| Message::from(format!("{i}"))).collect::<Vec<_>>());
    ws.close().await.unwrap();
    assert!(closed(server.await).clean);
}

async fn answers_fed_below_the_default_mark_wait_for_one_write<R: TcpRuntime>() {
    const CHUNK: usize = 64 * 1024;
    const FRAME: usize = CHUNK + 10; // an unmasked 64 KiB frame has a 10-byte header
    let (url, server) = serve_one::<R, _, _>(|stream| async move {
        let mut ws = runtime::accept::<_, R>(stream).await.unwrap();
        assert_eq!(ws.high_water_mark(), laputa::DEFAULT_HIGH_WATER_MARK);
        // Three answers to large messages stay queued (corked) until the next write...
        for n in 1..=3 {
            ws.feed(Message::from(vec![n as u8; CHUNK])).await.unwrap();
            assert_eq!(ws.buffered_amount(), n * FRAME, "fed, not written");
        }
        // ...which takes them all.
        ws.flush().await.unwrap();
        assert_eq!(ws.buffered_amount(), 0);
    })
    .await;
    let peer = raw_peer(&url, |mut stream| {
        let mut wire = vec![0u8; 3 * FRAME];
        stream.read_exact(&mut wire).unwrap();
        for (n, frame) in wire.chunks(FRAME).enumerate() {
            assert_eq!(frame[..2], [0x82, 127]);
            assert!(frame[10..].iter().all(|&b| b == n as u8 + 1));
        }
    });
    server.await;
    peer.join().unwrap();
}

async fn backpressure<R: TcpRuntime>() {
    const CHUNK: usize = 64 * 1024;
    const HIGH_WATER: usize = 256 * 1024;
    let (url, server) = serve_one::<R, _, _>(|stream| async move {
        let mut ws = runtime::accept::<_, R>(stream).await.unwrap();
        ws.set_high_water_mark(HIGH_WATER);
        let message = Message::from(vec![7u8; CHUNK]);
        let mut sent = 0usize;
        let mut max_buffered = 0;
        // Send until a send waits (the peer reads nothing), interrupting the waiting send.
        while let Some(result) = timeout::<R, _>(Duration::from_millis(300), ws.send(message.clone())).await {
            result.unwrap();
            sent += 1;
            max_buffered = max_buffered.max(ws.buffered_amount());
            assert!(sent < 2000, "sending never waited");
        }
        // Still waiting a while later: nothing more went out.
        let still = timeout::<R, _>(Duration::from_millis(200), ws.send(message.clone())).await;
        assert!(still.is_none());
        (sent, max_buffered, ws.buffered_amount())
    })
    .await;
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let peer = raw_peer(&url, move |stream| {
        let _ = wait.recv_timeout(Duration::from_secs(15));
        drop(stream);
    });
    let (sent, max_buffered, buffered) = server.await;
    // The sender waited with bounded memory: what the kernel took plus at most one message
    // over the high-water mark.
    assert!(max_buffered <= HIGH_WATER + CHUNK + 16, "{max_buffered}");
    assert!(buffered <= HIGH_WATER + 2 * (CHUNK + 16), "{buffered}");
    assert!(sent * CHUNK < 64 << 20, "{sent} messages sent to a peer that reads nothing");
    done.send(()).unwrap();
    peer.join().unwrap();
}

/// Every test gives up after this long instead of hanging.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Instantiates each scenario as a `#[test]` on one runtime.
macro_rules! on_runtime {
    ($feature:literal, $module:ident, $runtime:ty; $($scenario:ident),* $(,)?) => {
        #[cfg(feature = $feature)]
        mod $module {
            use super::*;
            $(
                #[test]
                fn $scenario() {
                    <$runtime as Harness>::block_on(async {
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
    ($($scenario:ident),* $(,)?) => {
        on_runtime!("tokio", tokio, laputa::tokio::Tokio; $($scenario),*);
        on_runtime!("smol", smol, laputa::smol::Smol; $($scenario),*);
        on_runtime!("async-std", async_std, laputa::async_std::AsyncStd; $($scenario),*);
    };
}

on_every_runtime!(
    text_and_binary,
    feed_corks_until_a_call_writes,
    fragments,
    ping_pong,
    close_from_client,
    close_from_server,
    rejection,
    limits,
    handshake_timeout,
    close_timeout,
    keepalive,
    split_halves_concurrently,
    recv_is_cancellation_safe,
    sends_that_waited_for_a_full_socket_resume_when_the_peer_reads,
    backpressure,
    answers_fed_below_the_default_mark_wait_for_one_write,
);
