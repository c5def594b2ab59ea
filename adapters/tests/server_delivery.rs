//! What the server promises about a session's outbound messages, on every async runtime: a
//! queue longer than the connection's high-water mark drains with nothing else happening on
//! the session; senders waiting for room are let go at their own deadlines, or as soon as the
//! session closes; a closing session takes nothing more; and a completion says `false` of a
//! message that never left.
//!
//! Sessions here have keepalive and the write-stall deadline off (unless a test needs one), so
//! that no timer of the core wakes their driver: what moves must be moved by the server itself.

#![cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]

mod common;

use common::{sleep, timeout, Harness};
use laputa::core::server::Admission;
use laputa::runtime;
use laputa::server::{Behavior, Sent, Server, ServerRuntime, Service, Session, SlowConsumer};
use laputa::{CloseCode, Config, IdleTimeout, Message};
use std::future::Future;
use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::Duration;

/// No scenario takes this long unless it hangs.
const WATCHDOG: Duration = Duration::from_secs(30);

/// A session config with no timer of its own running while the session is quiet.
fn quiet_config() -> Config {
    let mut config = Config::default();
    config.keepalive = None;
    config.write_stall_timeout = None;
    config
}

async fn start<R: ServerRuntime>(path: &str, service: Service) -> Server<R> {
    let service = service.admission(Admission::new().config(quiet_config()));
    Server::builder().bind("127.0.0.1:0").service(path, service).unwrap().start::<R>().await.unwrap()
}

/// Waits until `ready` holds (the server's sessions open and end on their own tasks).
async fn until<R: ServerRuntime>(mut ready: impl FnMut() -> bool) {
    while !ready() {
        sleep::<R>(Duration::from_millis(5)).await;
    }
}

/// Messages queued at once by [`Burst`]: 4 MiB in all, sixteen times the high-water mark.
const BURST: usize = 64;
const BURST_LEN: usize = 64 * 1024;

/// Queues [`BURST`] messages of 64 KiB as the session opens, then does nothing.
struct Burst;

impl Behavior for Burst {
    fn on_open(&mut self, session: &Session) {
        for i in 0..BURST {
            assert!(session.send(vec![i as u8; BURST_LEN]).is_queued());
        }
    }

    fn on_message(&mut self, _: &Session, _: Message) {}
}

mod scenarios {
    use super::*;

    /// Fails (the watchdog fires) until the session's driver goes back to its queue once the
    /// socket took what the connection held: the queue is moved into the connection up to the
    /// high-water mark, the socket takes all of it at once, and the driver waited for input
    /// from a client that sends nothing.
    pub(super) async fn a_queue_past_the_high_water_mark_drains_on_its_own<R: ServerRuntime>() {
        let service = Service::new(|| Burst).outbox_limit(2 * BURST * BURST_LEN);
        let server = start::<R>("/burst", service).await;
        let url = format!("ws://{}/burst", server.local_addr());
        let (mut ws, _) = runtime::connect::<R>(url.as_str()).await.unwrap();
        for i in 0..BURST {
            let message = ws.recv().await.unwrap();
            assert_eq!(message.payload().len(), BURST_LEN);
            assert_eq!(message.payload()[0], i as u8, "in order");
        }
        ws.close().await.unwrap();
        server.stop(CloseCode::GOING_AWAY, "").await;
    }

    /// Fails (the watchdog fires) until the session's driver re-arms its timer for the next
    /// waiting sender once the first one's deadline passed: the second `send_wait` waited for
    /// room that never comes, past its deadline, with nothing to wake the session.
    pub(super) async fn waiting_senders_are_let_go_each_at_its_deadline<R: ServerRuntime>() {
        let (tx, rx) = mpsc::channel::<Session>();
        let service = Service::new(move || {
            let tx = tx.clone();
            move |session: &Session, _: Message| {
                let _ = tx.send(session.clone());
            }
        })
        .outbox_limit(1024)
        .send_timeout(Duration::from_millis(200));
        let server = start::<R>("/wait", service).await;
        let url = format!("ws://{}/wait", server.local_addr());
        let (mut ws, _) = runtime::connect::<R>(url.as_str()).await.unwrap();
        ws.send("hand me the session").await.unwrap();
        let mut session = None;
        until::<R>(|| {
            session = rx.try_recv().ok();
            session.is_some()
        })
        .await;
        let session = session.unwrap();
        // The client reads nothing. The filler is more than the socket's buffers take (8 MiB),
        // so the connection holds more than its high-water mark and the next message stays
        // in the queue, which then has no room for another.
        assert!(session.send(vec![0u8; 8 << 20]).is_queued());
        until::<R>(|| session.buffered_amount() == 0).await;
        assert!(session.send(vec![0u8; 1000]).is_queued(), "queued behind the filler");
        // Each sender on a task of its own, so that the first one's wakeup polls only it.
        let waiting = |session: Session| R::spawn(async move { session.send_wait(vec![1u8; 1000]).await });
        let first = waiting(session.clone());
        // Later, so that its deadline is later.
        sleep::<R>(Duration::from_millis(50)).await;
        let second = waiting(session.clone());
        let (first, second) = (first.await, second.await);
        assert_eq!((first, second), (Sent::Dropped, Sent::Dropped));
        drop(ws);
        server.stop(CloseCode::GOING_AWAY, "").await;
    }

    /// Fails (the watchdog fires) until a sender waiting for room hears that the session is
    /// closing: `close_with` shut the queue without waking it, so it waited out its deadline
    /// (an hour here) and would then have said `Dropped`.
    pub(super) async fn a_waiting_sender_hears_the_session_close<R: ServerRuntime>() {
        let (tx, rx) = mpsc::channel::<Session>();
        let service = Service::new(move || {
            let tx = tx.clone();
            move |session: &Session, _: Message| {
                let _ = tx.send(session.clone());
            }
        })
        .outbox_limit(1024)
        .send_timeout(Duration::from_secs(3600));
        let server = start::<R>("/wait", service).await;
        let url = format!("ws://{}/wait", server.local_addr());
        let (mut ws, _) = runtime::connect::<R>(url.as_str()).await.unwrap();
        ws.send("hand me the session").await.unwrap();
        let mut session = None;
        until::<R>(|| {
            session = rx.try_recv().ok();
            session.is_some()
        })
        .await;
        let session = session.unwrap();
        // As above: the client reads nothing, and the queue has no room.
        assert!(session.send(vec![0u8; 8 << 20]).is_queued());
        until::<R>(|| session.buffered_amount() == 0).await;
        assert!(session.send(vec![0u8; 1000]).is_queued(), "queued behind the filler");
        let waiting = {
            let session = session.clone();
            R::spawn(async move { session.send_wait(vec![1u8; 1000]).await })
        };
        // Let it start waiting (should the close come first, it says `Closed` all the same).
        sleep::<R>(Duration::from_millis(20)).await;
        session.close_with(CloseCode::NORMAL, "bye").unwrap();
        assert_eq!(waiting.await, Sent::Closed);
        drop(ws);
        server.stop(CloseCode::GOING_AWAY, "").await;
    }

    /// Fails until a completion dropped by the slow-consumer policy is told on the session's
    /// driver, as `send_with` promises: it ran on the thread whose broadcast overflowed the
    /// queue, inside the broadcast and its lock on the sessions (a completion that subscribed
    /// or removed a service there deadlocked).
    pub(super) async fn a_completion_dropped_by_the_policy_runs_on_the_driver<R: ServerRuntime>() {
        let (tx, rx) = mpsc::channel::<Session>();
        let service = Service::new(move || {
            let tx = tx.clone();
            move |session: &Session, _: Message| {
                let _ = tx.send(session.clone());
            }
        })
        .outbox_limit(1024)
        .slow_consumer(SlowConsumer::Close(CloseCode::TRY_AGAIN_LATER));
        let server = start::<R>("/slow", service).await;
        let sessions = server.sessions("/slow").unwrap();
        let url = format!("ws://{}/slow", server.local_addr());
        let (mut ws, _) = runtime::connect::<R>(url.as_str()).await.unwrap();
        ws.send("hand me the session").await.unwrap();
        let mut session = None;
        until::<R>(|| {
            session = rx.try_recv().ok();
            session.is_some()
        })
        .await;
        let session = session.unwrap();
        // As above: the client reads nothing, and the queue holds one message.
        assert!(session.send(vec![0u8; 8 << 20]).is_queued());
        until::<R>(|| session.buffered_amount() == 0).await;
        let (done_tx, done_rx) = mpsc::channel();
        let sent = session.send_with(vec![0u8; 1000], move |written| {
            done_tx.send((written, std::thread::current().id())).unwrap();
        });
        assert!(sent.is_queued());
        let delivery = sessions.broadcast(vec![0u8; 1000]);
        assert_eq!(delivery.closing, 1, "the queue overflowed: the session is closed");
        let mut done = None;
        until::<R>(|| {
            done = done_rx.try_recv().ok();
            done.is_some()
        })
        .await;
        let (written, thread) = done.unwrap();
        assert!(!written, "discarded");
        assert_ne!(thread, std::thread::current().id(), "told on the session's driver, not in the broadcast");
        drop(ws);
        server.stop(CloseCode::GOING_AWAY, "").await;
    }

    /// Fails (the watchdog fires) until the session's queue refuses messages once its
    /// connection started closing on its own (here at the idle timeout): `is_open` said true,
    /// sending said `Queued`, and the completion said written, of a message the connection
    /// refused.
    pub(super) async fn nothing_is_taken_once_the_connection_closes<R: ServerRuntime>() {
        let mut config = quiet_config();
        config.idle_timeout = Some(IdleTimeout::new(Duration::from_millis(100)));
        // The server waits this long for the client's answer to its close frame: the client
        // below gives none.
        config.close_timeout = Duration::from_secs(600);
        let service = Service::new(|| |_: &Session, _: Message| {}).admission(Admission::new().config(config));
        let server = Server::builder().bind("127.0.0.1:0").service("/idle", service).unwrap();
        let server = server.start::<R>().await.unwrap();
        let sessions = server.sessions("/idle").unwrap();
        let mut raw = RawClient::connect(server.local_addr(), "/idle");
        until::<R>(|| sessions.count() == 1).await;
        let session = sessions.all().remove(0);
        // The idle timeout's close frame: 1001, "idle timeout".
        let head = raw.read(2);
        assert_eq!(head[0], 0x88);
        assert_eq!(raw.read(usize::from(head[1]))[..2], [0x03, 0xe9]);
        // The session's driver learns it once the frame is written.
        until::<R>(|| !session.is_open()).await;
        let (tx, rx) = mpsc::channel();
        assert_eq!(session.send_with("too late", move |written| tx.send(written).unwrap()), Sent::Closed);
        assert_eq!(session.ping("too late").unwrap(), Sent::Closed);
        drop(raw);
        until::<R>(|| sessions.count() == 0).await;
        assert_eq!(rx.try_recv().ok(), None, "a message not queued has no completion");
        server.stop(CloseCode::GOING_AWAY, "").await;
    }

    /// Fails until the core's transmit queue, dropped when the peer stopped reading, no longer
    /// counts its bytes as written: the completion of a message that never left said `true`.
    pub(super) async fn a_message_dropped_with_a_stalled_peer_is_not_written<R: ServerRuntime>() {
        let (tx, rx) = mpsc::channel();
        let mut config = quiet_config();
        config.write_stall_timeout = Some(Duration::from_millis(200));
        let service = Service::new(move || {
            let tx = tx.clone();
            move |session: &Session, _: Message| {
                let tx = tx.clone();
                // Far more than the sockets' buffers take from a client that reads nothing.
                let sent = session.send_with(vec![0u8; 32 << 20], move |written| tx.send(written).unwrap());
                assert!(sent.is_queued());
            }
        })
        .admission(Admission::new().config(config));
        let server = Server::builder().bind("127.0.0.1:0").service("/stall", service).unwrap();
        let server = server.start::<R>().await.unwrap();
        let url = format!("ws://{}/stall", server.local_addr());
        let (mut ws, _) = runtime::connect::<R>(url.as_str()).await.unwrap();
        ws.send("send me 32 MiB").await.unwrap();
        // The client reads nothing: the session fails at its write-stall deadline.
        let mut written = None;
        until::<R>(|| {
            written = rx.try_recv().ok();
            written.is_some()
        })
        .await;
        assert_eq!(written, Some(false), "the message never left");
        drop(ws);
        server.stop(CloseCode::GOING_AWAY, "").await;
    }
}

/// A client speaking raw bytes over a blocking socket, to do what laputa's client does not:
/// keep its socket open after the close handshake.
struct RawClient(std::net::TcpStream);

impl RawClient {
    /// Connects and completes the opening handshake.
    fn connect(addr: std::net::SocketAddr, path: &str) -> Self {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0];
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
        Self(stream)
    }

    fn read(&mut self, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.0.read_exact(&mut buf).unwrap();
        buf
    }
}

fn run<R: Harness + ServerRuntime, F: Future<Output = ()>>(scenario: impl FnOnce() -> F) {
    R::block_on(async {
        timeout::<R, _>(WATCHDOG, scenario()).await.expect("the test timed out");
    });
}

macro_rules! on_runtime {
    ($feature:literal, $module:ident, $runtime:ty; $($scenario:ident),* $(,)?) => {
        #[cfg(feature = $feature)]
        mod $module {
            $(
                #[test]
                fn $scenario() {
                    super::run::<$runtime, _>(super::scenarios::$scenario::<$runtime>);
                }
            )*
        }
    };
}

macro_rules! on_every_runtime {
    ($($scenario:ident),* $(,)?) => {
        on_runtime!("tokio", tokio, laputa::tokio::Tokio; $($scenario),*);
        on_runtime!("smol", smol, laputa::smol::Smol; $($scenario),*);
        on_runtime!("async-std", async_std, laputa::async_std::AsyncStd; $($scenario),*);
    };
}

on_every_runtime!(
    a_queue_past_the_high_water_mark_drains_on_its_own,
    waiting_senders_are_let_go_each_at_its_deadline,
    a_waiting_sender_hears_the_session_close,
    a_completion_dropped_by_the_policy_runs_on_the_driver,
    nothing_is_taken_once_the_connection_closes,
    a_message_dropped_with_a_stalled_peer_is_not_written,
);
