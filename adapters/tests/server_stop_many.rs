//! `Server::stop` with 1,000 sessions (tokio, the clients tasks of this process): every one
//! ends with the close frame `stop` was given, and the close handshake completes.

#![cfg(feature = "tokio")]

mod common;

use common::{sleep, timeout, Harness};
use laputa::runtime::{self, Runtime};
use laputa::server::{Server, Service, Session};
use laputa::tokio::Tokio;
use laputa::{CloseCode, Error, Message};
use std::time::Duration;

const SESSIONS: usize = 1000;
/// No scenario takes this long unless it hangs.
const WATCHDOG: Duration = Duration::from_secs(60);

#[test]
fn stop_ends_every_one_of_1000_sessions_with_a_close_frame() {
    Tokio::block_on(async {
        timeout::<Tokio, _>(WATCHDOG, async {
            let echo = Service::new(|| {
                |session: &Session, message: Message| {
                    session.send(message);
                }
            });
            let server =
                Server::builder().bind("127.0.0.1:0").service("/Echo", echo).unwrap().start::<Tokio>().await.unwrap();
            let url = format!("ws://{}/Echo", server.local_addr());
            let mut clients = Vec::new();
            for _ in 0..SESSIONS {
                let (ws, _) = runtime::connect::<Tokio>(url.as_str()).await.unwrap();
                clients.push(ws);
            }
            let sessions = server.sessions("/Echo").unwrap();
            while sessions.count() < SESSIONS {
                sleep::<Tokio>(Duration::from_millis(5)).await;
            }
            assert_eq!(sessions.count(), SESSIONS);
            // Each client waits for the server's close frame.
            let clients: Vec<_> = clients
                .into_iter()
                .map(|mut ws| {
                    Tokio::spawn(async move {
                        match ws.recv().await {
                            Err(Error::Closed(closed)) => Ok(closed),
                            other => Err(format!("{other:?}")),
                        }
                    })
                })
                .collect();
            server.stop(CloseCode::GOING_AWAY, "shutting down").await;
            assert_eq!(sessions.count(), 0, "stop waits for every session");
            assert_eq!(server.connections(), 0);
            for client in clients {
                let closed = client.await.expect("the client saw a close");
                assert_eq!(
                    (closed.code, closed.reason.as_str(), closed.clean),
                    (CloseCode::GOING_AWAY, "shutting down", true),
                    "{closed:?}"
                );
            }
        })
        .await
        .expect("the test timed out");
    });
}
