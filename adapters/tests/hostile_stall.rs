//! Peers that stop reading or go quiet (issue 22), against the blocking adapter and every async
//! runtime over real loopback sockets: a ping flood then silence is let go by keepalive or by the
//! write-stall deadline (the server's thread or task ends, its descriptors are closed), a close
//! towards a peer that never reads returns at the close timeout, a peer that only answers pings
//! is kept, and a slow reader that keeps taking a little is never cut off.
//!
//! The raw peer announces a 4 KiB receive window (its buffer set before it connects), so that the
//! server's output backs up after a few KiB instead of megabytes. Every wait is bounded by a short
//! `Config` timeout or the watchdog; nothing asserts on time.

use laputa::{Accept, CloseCode, Closed, Config, Error, Event, IdleTimeout, Keepalive, Message, ProtocolError};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

#[cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]
mod common;
mod raw_peer;

use raw_peer::{client_frame, upgrade, REQUEST, WATCHDOG};

/// Keepalive of the tests: a ping after 300 ms without input, the peer gone 300 ms later.
const KEEPALIVE: Keepalive = Keepalive { interval: Duration::from_millis(300), timeout: Duration::from_millis(300) };

/// A short close timeout, and the given keepalive and write-stall deadline.
fn config(keepalive: Option<Keepalive>, write_stall: Option<Duration>) -> Config {
    let mut config = raw_peer::config();
    config.keepalive = keepalive;
    config.write_stall_timeout = write_stall;
    config
}

/// A raw peer connected to `addr` with a 4 KiB receive buffer, its reads bounded by the
/// watchdog, upgraded.
fn small_window_peer(addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let mut peer: TcpStream = socket.into();
    peer.set_read_timeout(Some(WATCHDOG)).unwrap();
    upgrade(&mut peer, REQUEST);
    peer
}

/// Pings as fast as the server takes them, reading nothing, until a write waits 200 ms (the
/// server stopped taking them) or fails (it let the connection go), or 10,000 pings are out.
fn flood_pings(peer: &mut TcpStream) {
    peer.set_write_timeout(Some(Duration::from_millis(200))).unwrap();
    let batch = client_frame(0x89, b"ping").repeat(100);
    for _ in 0..100 {
        if peer.write_all(&batch).is_err() {
            return;
        }
    }
}

/// What the peer finds once it reads again: the server let the connection go (a FIN after what
/// was written, or a reset since it dropped unread input).
fn assert_released(peer: &mut TcpStream) {
    let mut sink = Vec::new();
    match peer.read_to_end(&mut sink) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the server did not let the connection go: {e}"),
    }
}

/// One test at a time: the descriptor counts are the whole process's, and the timeouts are
/// short.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Open descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// How a connection that a silent peer made fail ends: `error`, unclean.
fn assert_ended_by(closed: &Closed, error: ProtocolError) {
    assert_eq!(
        (closed.code, closed.clean, closed.error.as_ref()),
        (error.close_code(), false, Some(&error)),
        "{closed:?}"
    );
}

/// A 1 MiB message, sent to a peer that reads 1 KiB every 100 ms for 2 s (four write-stall
/// timeouts of 500 ms) and then the rest at once; returns the payload it read.
fn read_slowly_then_all(peer: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 1024];
    for _ in 0..20 {
        let n = peer.read(&mut chunk).unwrap();
        assert!(n > 0, "the server let a reading peer go");
        received.extend_from_slice(&chunk[..n]);
        thread::sleep(Duration::from_millis(100));
    }
    while received.len() < SLOW_MESSAGE + 10 {
        let n = peer.read(&mut chunk).unwrap();
        assert!(n > 0, "the server let a reading peer go");
        received.extend_from_slice(&chunk[..n]);
    }
    // A binary frame with the 64-bit length form, unmasked.
    assert_eq!(received[..2], [0x82, 127]);
    assert_eq!(u64::from_be_bytes(received[2..10].try_into().unwrap()), SLOW_MESSAGE as u64);
    received.split_off(10)
}

const SLOW_MESSAGE: usize = 1 << 20;

/// The write-stall timeout of the slow reader's server.
const SLOW_STALL: Duration = Duration::from_millis(500);

fn slow_message() -> Message {
    Message::from((0..SLOW_MESSAGE).map(|i| (i % 251) as u8).collect::<Vec<u8>>())
}

fn assert_slow_message(payload: &[u8]) {
    assert!(payload.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8), "the message arrived damaged");
}

// ---- blocking ----

#[cfg(feature = "blocking")]
mod blocking {
    use super::*;
    use laputa::blocking::{self, WebSocket};
    use std::net::TcpListener;

    /// A server thread that accepts one connection with `config` and runs `serve` on it, and the
    /// raw peer connected to it.
    fn setup<T: Send + 'static>(
        config: Config,
        serve: impl FnOnce(WebSocket<TcpStream>) -> T + Send + 'static,
    ) -> (TcpStream, mpsc::Receiver<T>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        thread::spawn(move || {
            let stream = listener.accept().unwrap().0;
            // Closed before the test can count descriptors after `done` says the end.
            drop(listener);
            let ws = blocking::accept_with(stream, config, |_| Ok(Accept::new())).unwrap();
            let _ = done_tx.send(serve(ws));
        });
        (small_window_peer(addr), done_rx)
    }

    /// An echo loop until the connection ends; how it ended.
    fn echo(mut ws: WebSocket<TcpStream>) -> Closed {
        loop {
            match ws.read() {
                Ok(message) => match ws.send(message) {
                    Ok(()) => {}
                    Err(Error::Closed(closed)) => return ws.closed().cloned().unwrap_or(closed),
                    // The peer reset the connection, which ended it too.
                    Err(Error::Io(_)) => return ws.closed().cloned().unwrap_or_else(raw_peer::abnormal),
                    Err(e) => panic!("{e}"),
                },
                Err(Error::Closed(closed)) => return closed,
                Err(e) => panic!("{e}"),
            }
        }
    }

    fn flood_then_silence(config: Config) -> Closed {
        let (mut peer, done) = setup(config, echo);
        flood_pings(&mut peer);
        // The server thread ends by itself, its write no longer parked.
        let closed = done.recv_timeout(WATCHDOG).expect("the server thread is still held");
        assert_released(&mut peer);
        closed
    }

    #[test]
    fn a_ping_flood_then_silence_is_let_go_by_keepalive() {
        let _serial = serial();
        let before = open_fds();
        let closed = flood_then_silence(super::config(Some(KEEPALIVE), None));
        assert_ended_by(&closed, ProtocolError::KeepaliveTimeout);
        assert_eq!(open_fds(), before, "descriptors leaked");
    }

    #[test]
    fn a_send_to_a_peer_that_never_reads_ends_at_the_write_stall_deadline() {
        let _serial = serial();
        let (_peer, done) = setup(super::config(None, Some(Duration::from_millis(300))), |mut ws| {
            let message = Message::from(vec![7u8; 64 << 10]);
            let error = loop {
                if let Err(error) = ws.send(message.clone()) {
                    break error;
                }
            };
            (error.is_closed(), ws.read_event().ok(), ws.closed().cloned())
        });
        let (closed_error, event, closed) = done.recv_timeout(WATCHDOG).expect("send is still held");
        assert!(closed_error, "send ended with another error");
        let Some(Event::Closed(event)) = event else { panic!("{event:?}") };
        assert_ended_by(&event, ProtocolError::WriteStalled);
        assert_eq!(closed, Some(event));
    }

    #[test]
    fn close_towards_a_peer_that_never_reads_returns_at_the_close_timeout() {
        let _serial = serial();
        // No keepalive and no write-stall deadline: only the close timeout ends it.
        let (_peer, done) = setup(super::config(None, None), |mut ws| {
            // The application's own write timeout lets it see that the peer reads nothing.
            ws.get_mut().set_write_timeout(Some(Duration::from_millis(300))).unwrap();
            let message = Message::from(vec![7u8; 64 << 10]);
            while ws.send(message.clone()).is_ok() {}
            (ws.close_with(CloseCode::GOING_AWAY, "bye").map_err(|e| e.to_string()), ws.closed().cloned())
        });
        let (closing, closed) = done.recv_timeout(WATCHDOG).expect("close is still held");
        assert_eq!(closing, Ok(()));
        assert_eq!(closed.map(|c| (c.code, c.clean)), Some((CloseCode::ABNORMAL, false)));
    }

    #[test]
    fn a_peer_that_answers_pings_but_sends_nothing_is_kept() {
        let _serial = serial();
        let mut config = super::config(Some(Keepalive { interval: Duration::from_millis(50), ..KEEPALIVE }), None);
        config.write_stall_timeout = Some(Duration::from_millis(300));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let mut ws = blocking::accept_with(listener.accept().unwrap().0, config, |_| Ok(Accept::new())).unwrap();
            // A second, 20 keepalive intervals: the client's pongs are all that arrives.
            ws.get_mut().set_read_timeout(Some(Duration::from_millis(100))).unwrap();
            let (mut pongs, start) = (0, std::time::Instant::now());
            while start.elapsed() < Duration::from_secs(1) {
                match ws.read_event() {
                    Ok(Event::Pong(_)) => pongs += 1,
                    Err(e) if e.is_timeout() => {}
                    other => panic!("{other:?}"),
                }
            }
            ws.close_with(CloseCode::NORMAL, "done").unwrap();
            (pongs, ws.closed().cloned())
        });
        // A laputa client that only reads (answering pings as it does) and sends nothing.
        let (mut client, _) = blocking::connect(format!("ws://{addr}/")).unwrap();
        let end = client.read();
        let (pongs, closed) = server.join().unwrap();
        assert!(pongs >= 5, "{pongs} pongs: keepalive never pinged");
        assert!(closed.is_some_and(|c| c.clean), "the server did not end cleanly");
        let Err(Error::Closed(closed)) = end else { panic!("{end:?}") };
        assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::NORMAL, "done"));
    }

    #[test]
    fn a_slow_reader_that_keeps_taking_a_little_is_never_cut_off() {
        let _serial = serial();
        let (mut peer, done) = setup(super::config(Some(KEEPALIVE), Some(SLOW_STALL)), |mut ws| {
            ws.send(slow_message()).map_err(|e| e.to_string())
        });
        let payload = read_slowly_then_all(&mut peer);
        assert_eq!(done.recv_timeout(WATCHDOG).expect("the server thread"), Ok(()));
        assert_slow_message(&payload);
    }

    #[test]
    fn the_idle_timeout_closes_a_peer_that_only_answers_pings() {
        let _serial = serial();
        let mut config = super::config(Some(Keepalive { interval: Duration::from_millis(50), ..KEEPALIVE }), None);
        config.idle_timeout = Some(IdleTimeout::new(Duration::from_millis(500)));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let mut ws = blocking::accept_with(listener.accept().unwrap().0, config, |_| Ok(Accept::new())).unwrap();
            let mut pongs = 0;
            loop {
                match ws.read_event() {
                    Ok(Event::Pong(_)) => pongs += 1,
                    Ok(Event::CloseReceived(_)) => {}
                    Ok(Event::Closed(closed)) => return (pongs, closed),
                    other => panic!("{other:?}"),
                }
            }
        });
        let (mut client, _) = blocking::connect(format!("ws://{addr}/")).unwrap();
        let end = client.read();
        let (pongs, closed) = server.join().unwrap();
        assert!(pongs >= 3, "{pongs}");
        assert_eq!((closed.code, closed.clean), (CloseCode::GOING_AWAY, true));
        let Err(Error::Closed(closed)) = end else { panic!("{end:?}") };
        assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::GOING_AWAY, "idle timeout"));
    }
}

// ---- async, on every runtime ----

#[cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]
mod on_async {
    use super::*;
    use laputa::runtime::{self, TcpRuntime, WebSocket};

    use crate::common::{timeout, Harness};

    /// A server task that accepts one connection with `config` and runs `serve` on it, and the
    /// raw peer (in a thread, running `peer`) connected to it.
    async fn with_server<R, T, P>(
        config: Config,
        serve: impl FnOnce(WebSocket<R::TcpStream, R>) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>
            + Send
            + 'static,
        peer: impl FnOnce(TcpStream) -> P + Send + 'static,
    ) -> (T, P)
    where
        R: TcpRuntime,
        T: Send + 'static,
        P: Send + 'static,
    {
        let listener = R::bind("127.0.0.1:0").await.unwrap();
        let addr = R::local_addr(&listener).unwrap();
        let server = R::spawn(async move {
            let (stream, _) = R::accept(&listener).await.unwrap();
            // Closed before the test can count descriptors after the task's end.
            drop(listener);
            let ws = runtime::accept_with::<_, R, _>(stream, config, |_| Ok(Accept::new())).await.unwrap();
            serve(ws).await
        });
        let peer = thread::spawn(move || peer(small_window_peer(addr)));
        let served = timeout::<R, _>(WATCHDOG, server).await.expect("the server task is still held");
        (served, peer.join().unwrap())
    }

    /// An echo loop until the connection ends; how it ended.
    async fn echo<S, R: runtime::RuntimeIo<S>>(mut ws: WebSocket<S, R>) -> Closed {
        loop {
            match ws.recv().await {
                Ok(message) => match ws.send(message).await {
                    Ok(()) => {}
                    Err(Error::Closed(closed)) => return ws.closed().cloned().unwrap_or(closed),
                    // The peer reset the connection, which ended it too.
                    Err(Error::Io(_)) => return ws.closed().cloned().unwrap_or_else(raw_peer::abnormal),
                    Err(e) => panic!("{e}"),
                },
                Err(Error::Closed(closed)) => return closed,
                Err(e) => panic!("{e}"),
            }
        }
    }

    async fn flood_then_silence<R: TcpRuntime>(config: Config) -> Closed {
        let (closed, mut peer) = with_server::<R, _, _>(
            config,
            |ws| Box::pin(echo(ws)),
            |mut peer| {
                flood_pings(&mut peer);
                peer
            },
        )
        .await;
        // The peer reads again only once the server let it go.
        assert_released(&mut peer);
        closed
    }

    pub(super) async fn a_ping_flood_then_silence_is_let_go_by_keepalive<R: TcpRuntime>() {
        let before = open_fds();
        let closed = flood_then_silence::<R>(super::config(Some(KEEPALIVE), None)).await;
        assert_ended_by(&closed, ProtocolError::KeepaliveTimeout);
        assert_eq!(open_fds(), before, "descriptors leaked");
    }

    /// Nobody receives: the sending side alone meets the deadline.
    pub(super) async fn a_send_to_a_peer_that_never_reads_ends_at_the_write_stall_deadline<R: TcpRuntime>() {
        let ((error, closed), _peer) = with_server::<R, _, _>(
            super::config(None, Some(Duration::from_millis(300))),
            |mut ws| {
                Box::pin(async move {
                    let message = Message::from(vec![7u8; 64 << 10]);
                    let error = loop {
                        if let Err(error) = ws.send(message.clone()).await {
                            break error;
                        }
                    };
                    (error.is_closed(), ws.recv_event().await.ok())
                })
            },
            // The peer stays connected, reading nothing, until the test ends.
            |peer| peer,
        )
        .await;
        assert!(error, "send ended with another error");
        let Some(Event::Closed(closed)) = closed else { panic!("{closed:?}") };
        assert_ended_by(&closed, ProtocolError::WriteStalled);
    }

    /// `SinkExt::close` on an unsplit connection ends at the close timeout.
    pub(super) async fn sink_close_towards_a_peer_that_never_reads_returns_at_the_close_timeout<R: TcpRuntime>() {
        use futures::SinkExt;
        let ((closing, closed), _peer) = with_server::<R, _, _>(
            super::config(None, None),
            |mut ws| {
                Box::pin(async move {
                    let message = Message::from(vec![7u8; 16 << 10]);
                    // Queue until sending waits 300 ms: the output is stuck.
                    while let Some(sent) = timeout::<R, _>(Duration::from_millis(300), ws.feed(message.clone())).await {
                        sent.unwrap();
                    }
                    let closing = SinkExt::close(&mut ws).await.map_err(|e| e.to_string());
                    // How it ended comes with the events that were waiting.
                    let closed = loop {
                        match ws.recv_event().await {
                            Ok(_) => {}
                            Err(Error::Closed(closed)) => break Some(closed),
                            Err(e) => panic!("{e}"),
                        }
                    };
                    (closing, closed)
                })
            },
            // The peer stays connected, reading nothing, until the test ends.
            |peer| peer,
        )
        .await;
        assert_eq!(closing, Ok(()));
        assert_eq!(closed.map(|c| (c.code, c.clean)), Some((CloseCode::ABNORMAL, false)));
    }

    /// `SinkExt::close` on the sending half of a split connection ends at the close timeout too,
    /// with nobody receiving meanwhile.
    pub(super) async fn sink_close_on_a_write_half_towards_a_peer_that_never_reads_returns_at_the_close_timeout<
        R: TcpRuntime,
    >() {
        use futures::SinkExt;
        let ((closing, closed), _peer) = with_server::<R, _, _>(
            super::config(None, None),
            |ws| {
                Box::pin(async move {
                    let (mut reader, mut writer) = ws.split();
                    let message = Message::from(vec![7u8; 16 << 10]);
                    // Queue until sending waits 300 ms: the output is stuck.
                    while let Some(sent) =
                        timeout::<R, _>(Duration::from_millis(300), writer.feed(message.clone())).await
                    {
                        sent.unwrap();
                    }
                    let closing = SinkExt::close(&mut writer).await.map_err(|e| e.to_string());
                    let closed = loop {
                        match reader.recv_event().await {
                            Ok(_) => {}
                            Err(Error::Closed(closed)) => break Some(closed),
                            Err(e) => panic!("{e}"),
                        }
                    };
                    (closing, closed)
                })
            },
            // The peer stays connected, reading nothing, until the test ends.
            |peer| peer,
        )
        .await;
        assert_eq!(closing, Ok(()));
        assert_eq!(closed.map(|c| (c.code, c.clean)), Some((CloseCode::ABNORMAL, false)));
    }

    pub(super) async fn a_slow_reader_that_keeps_taking_a_little_is_never_cut_off<R: TcpRuntime>() {
        let (sent, payload) = with_server::<R, _, _>(
            super::config(Some(KEEPALIVE), Some(SLOW_STALL)),
            |mut ws| {
                Box::pin(async move {
                    ws.send(slow_message()).await?;
                    ws.flush().await
                })
            },
            |mut peer| read_slowly_then_all(&mut peer),
        )
        .await;
        sent.unwrap();
        assert_slow_message(&payload);
    }

    pub(super) async fn a_peer_that_answers_pings_but_sends_nothing_is_kept<R: TcpRuntime>() {
        let mut config = super::config(Some(Keepalive { interval: Duration::from_millis(50), ..KEEPALIVE }), None);
        config.write_stall_timeout = Some(Duration::from_millis(300));
        let listener = R::bind("127.0.0.1:0").await.unwrap();
        let addr = R::local_addr(&listener).unwrap();
        let server = R::spawn(async move {
            let (stream, _) = R::accept(&listener).await.unwrap();
            let mut ws = runtime::accept_with::<_, R, _>(stream, config, |_| Ok(Accept::new())).await.unwrap();
            // A second, 20 keepalive intervals: the client's pongs are all that arrives.
            let mut pongs = 0;
            let watching = async {
                loop {
                    match ws.recv_event().await {
                        Ok(Event::Pong(_)) => pongs += 1,
                        other => panic!("{other:?}"),
                    }
                }
            };
            assert!(timeout::<R, _>(Duration::from_secs(1), watching).await.is_none());
            ws.close_with(CloseCode::NORMAL, "done").await.unwrap();
            (pongs, ws.closed().cloned())
        });
        // A laputa client that only receives (answering pings as it does) and sends nothing.
        let client = thread::spawn(move || {
            let (mut client, _) = laputa::blocking::connect(format!("ws://{addr}/")).unwrap();
            client.read()
        });
        let (pongs, closed) = server.await;
        assert!(pongs >= 5, "{pongs} pongs: keepalive never pinged");
        assert!(closed.is_some_and(|c| c.clean), "the server did not end cleanly");
        let end = client.join().unwrap();
        let Err(Error::Closed(closed)) = end else { panic!("{end:?}") };
        assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::NORMAL, "done"));
    }

    /// Runs `scenario` on `R`, after opening (and closing) a listener so that descriptors the
    /// runtime opens on first use are open before a scenario counts them.
    pub(super) fn run<R: Harness, F: std::future::Future<Output = ()>>(scenario: impl FnOnce() -> F) {
        let _serial = serial();
        R::block_on(async {
            drop(R::bind("127.0.0.1:0").await.unwrap());
            timeout::<R, _>(WATCHDOG * 3, scenario()).await.expect("the test timed out");
        });
    }
}

/// Instantiates each async scenario as a `#[test]` on one runtime.
#[cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]
macro_rules! on_runtime {
    ($feature:literal, $module:ident, $runtime:ty; $($scenario:ident),* $(,)?) => {
        #[cfg(feature = $feature)]
        mod $module {
            $(
                #[test]
                fn $scenario() {
                    super::on_async::run::<$runtime, _>(super::on_async::$scenario::<$runtime>);
                }
            )*
        }
    };
}

#[cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]
macro_rules! on_every_runtime {
    ($($scenario:ident),* $(,)?) => {
        on_runtime!("tokio", tokio, laputa::tokio::Tokio; $($scenario),*);
        on_runtime!("smol", smol, laputa::smol::Smol; $($scenario),*);
        on_runtime!("async-std", async_std, laputa::async_std::AsyncStd; $($scenario),*);
    };
}

#[cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]
on_every_runtime!(
    a_ping_flood_then_silence_is_let_go_by_keepalive,
    a_send_to_a_peer_that_never_reads_ends_at_the_write_stall_deadline,
    sink_close_towards_a_peer_that_never_reads_returns_at_the_close_timeout,
    sink_close_on_a_write_half_towards_a_peer_that_never_reads_returns_at_the_close_timeout,
    a_slow_reader_that_keeps_taking_a_little_is_never_cut_off,
    a_peer_that_answers_pings_but_sends_nothing_is_kept,
);
