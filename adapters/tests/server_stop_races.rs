//! `Server::stop` against an upgrade being decided (tokio): the service's admission holds the
//! upgrade (its Origin check waits for the test) while the server stops, then lets it through.
//! The session that opens then must be closed like the others, not left open on a stopped
//! server. (`remove_service` waits for the router's lock, which a decision holds, so the same
//! window is not reached from a test there; the fix covers both.)
//!
//! The gate blocks a worker of the runtime, which may be the one that was driving timers and
//! sockets: until the gate opens, the test waits on its own thread with `std::thread::sleep`,
//! never on a runtime timer (one that no worker drives would never fire, and the test would
//! hang instead of failing). The gate gives up at the watchdog, so a failing test ends.

#![cfg(feature = "tokio")]

mod common;

use common::{timeout, Harness};
use laputa::core::server::Admission;
use laputa::runtime::{self, Runtime};
use laputa::server::{Server, Service, Session};
use laputa::tokio::Tokio;
use laputa::{CloseCode, Closed, Config, Error, Message};
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

/// No scenario takes this long unless it hangs.
const WATCHDOG: Duration = Duration::from_secs(30);

/// An upgrade held in the service's admission until the test lets it go.
#[derive(Clone, Default)]
struct Gate {
    entered: Arc<AtomicBool>,
    open: Arc<AtomicBool>,
}

impl Gate {
    /// An echo service whose Origin check waits at the gate (on a thread of the runtime), up
    /// to the watchdog.
    fn service(&self) -> Service {
        let gate = self.clone();
        let mut config = Config::default();
        config.close_timeout = Duration::from_secs(1);
        let admission = Admission::new().config(config).origin(move |_| {
            gate.entered.store(true, Ordering::SeqCst);
            wait_for(&gate.open, "the test to open the gate");
            true
        });
        Service::new(|| {
            |session: &Session, message: Message| {
                session.send(message);
            }
        })
        .admission(admission)
    }

    /// Waits on the test's thread, not on a runtime timer (see the module's comment).
    fn entered(&self) {
        wait_for(&self.entered, "the upgrade to reach the gate");
    }

    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// Waits until `flag` is set, a millisecond at a time, up to the watchdog.
fn wait_for(flag: &AtomicBool, what: &str) {
    let deadline = Instant::now() + WATCHDOG;
    while !flag.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "waited {WATCHDOG:?} for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A client that connects through the gate and reports how the server closed it.
fn client(url: String) -> impl Future<Output = Closed> {
    Tokio::spawn(async move {
        let (mut ws, _) = runtime::connect::<Tokio>(url.as_str()).await.unwrap();
        match ws.recv().await {
            Err(Error::Closed(closed)) => closed,
            other => panic!("{other:?}"),
        }
    })
}

async fn start(gate: &Gate) -> Server<Tokio> {
    let mut handshake = Config::default();
    handshake.close_timeout = Duration::from_secs(1);
    let builder = Server::builder().bind("127.0.0.1:0").handshake_config(handshake);
    builder.service("/gate", gate.service()).unwrap().start::<Tokio>().await.unwrap()
}

fn run(scenario: impl Future<Output = ()>) {
    Tokio::block_on(async {
        timeout::<Tokio, _>(WATCHDOG, scenario).await.expect("the test timed out");
    });
}

/// Fails until a session that joins its service after `stop` closed the service's sessions
/// is closed too: it stayed open, and `stop` returned at its deadline with the session
/// counted (left: 1, right: 0).
#[test]
fn a_session_opened_while_the_server_stops_is_closed() {
    run(async {
        let gate = Gate::default();
        let server = start(&gate).await;
        let sessions = server.sessions("/gate").unwrap();
        let client = client(format!("ws://{}/gate", server.local_addr()));
        gate.entered();
        let mut stop = pin!(server.stop(CloseCode::GOING_AWAY, "shutting down"));
        // Its first poll closes the sessions there are (none yet).
        poll_fn(|cx| {
            let _ = stop.as_mut().poll(cx);
            Poll::Ready(())
        })
        .await;
        gate.open();
        stop.await;
        assert_eq!(sessions.count(), 0, "stop waited for the late session too");
        let closed = client.await;
        assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::GOING_AWAY, "shutting down"));
    });
}
