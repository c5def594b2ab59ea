//! What the server promises about a session's outbound messages, on every async runtime: a
//! queue longer than the connection's high-water mark drains with nothing else happening on
//! the session, and senders waiting for room are let go at their own deadlines.
//!
//! Every session here has keepalive and the write-stall deadline off, so that no timer of the
//! core wakes its driver: what moves must be moved by the server itself.

#![cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]

mod common;

use common::{sleep, timeout, Harness};
use laputa::core::server::Admission;
use laputa::runtime;
use laputa::server::{Behavior, Sent, Server, ServerRuntime, Service, Session};
use laputa::{CloseCode, Config, Message};
use std::future::Future;
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

on_every_runtime!(a_queue_past_the_high_water_mark_drains_on_its_own, waiting_senders_are_let_go_each_at_its_deadline);
