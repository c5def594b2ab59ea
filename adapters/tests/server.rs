//! The server (`laputa::server`) over real sockets, on every async runtime: services by path,
//! 404, broadcast to every session (the sender included), topics, sessions by id, the session
//! context, hooks called once each, services added and removed while running, and `stop`.

#![cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]

mod common;
#[cfg(feature = "rustls")]
#[allow(dead_code, unreachable_pub)]
mod tls_support;

use common::{sleep, timeout, Harness};
use laputa::core::server::Admission;
use laputa::runtime;
use laputa::server::{Behavior, Server, ServerRuntime, Service, Session, SessionId};
use laputa::{CloseCode, Closed, Error, Message};
use std::sync::mpsc;
use std::time::Duration;

/// No scenario takes this long unless it hangs.
const WATCHDOG: Duration = Duration::from_secs(30);

type Client<R> = runtime::WebSocket<<R as runtime::ClientTransport>::ClientStream, R>;

fn echo() -> Service {
    Service::new(|| {
        |session: &Session, message: Message| {
            session.send(message);
        }
    })
}

fn chat() -> Service {
    Service::new(|| {
        |session: &Session, message: Message| {
            session.sessions().broadcast(message);
        }
    })
}

async fn start<R: ServerRuntime>(services: Vec<(&str, Service)>) -> Server<R> {
    let mut builder = Server::builder().bind("127.0.0.1:0");
    for (path, service) in services {
        builder = builder.service(path, service).unwrap();
    }
    builder.start::<R>().await.unwrap()
}

async fn connect<R: ServerRuntime>(server: &Server<R>, path: &str) -> Client<R> {
    let url = format!("ws://{}{path}", server.local_addr());
    runtime::connect::<R>(url.as_str()).await.unwrap().0
}

/// Waits until `ready` holds (polling: the server's sessions open on their own tasks).
async fn until<R: ServerRuntime>(mut ready: impl FnMut() -> bool) {
    while !ready() {
        sleep::<R>(Duration::from_millis(5)).await;
    }
}

async fn text<R: ServerRuntime>(ws: &mut Client<R>) -> String {
    ws.recv().await.unwrap().as_text().unwrap().to_owned()
}

mod scenarios {
    use super::*;

    pub(super) async fn services_answer_by_path_and_others_get_404<R: ServerRuntime>() {
        let server = start::<R>(vec![("/Echo", echo()), ("/Chat", chat())]).await;
        let mut ws = connect(&server, "/Echo/").await;
        ws.send("BALUS").await.unwrap();
        assert_eq!(text(&mut ws).await, "BALUS");
        let url = format!("ws://{}/nowhere", server.local_addr());
        let refused = runtime::connect::<R>(url.as_str()).await.map(drop).unwrap_err();
        assert_eq!(refused.http_status(), Some(http::StatusCode::NOT_FOUND), "{refused}");
        ws.close().await.unwrap();
        server.stop(CloseCode::GOING_AWAY, "").await;
    }

    pub(super) async fn a_broadcast_reaches_every_session_the_sender_included<R: ServerRuntime>() {
        let server = start::<R>(vec![("/Chat", chat())]).await;
        let mut clients = Vec::new();
        for _ in 0..5 {
            clients.push(connect(&server, "/Chat").await);
        }
        let sessions = server.sessions("/Chat").unwrap();
        until::<R>(|| sessions.count() == 5).await;
        clients[2].send("hello all").await.unwrap();
        for ws in &mut clients {
            assert_eq!(text(ws).await, "hello all");
        }
        let stats = sessions.stats();
        assert_eq!((stats.sessions, stats.messages_in, stats.messages_out), (5, 1, 5));
        drop(clients); // gone: `stop` need not wait for their close handshakes
        server.stop(CloseCode::GOING_AWAY, "").await;
    }

    pub(super) async fn sessions_are_reached_and_closed_by_id<R: ServerRuntime>() {
        let server = start::<R>(vec![("/Echo", echo())]).await;
        let mut a = connect(&server, "/Echo").await;
        let mut b = connect(&server, "/Echo").await;
        let sessions = server.sessions("/Echo").unwrap();
        until::<R>(|| sessions.count() == 2).await;
        // Each session is sent its own id.
        for id in sessions.ids() {
            assert!(sessions.send_to(&id, id.to_string()).unwrap().is_queued());
        }
        let a_id = SessionId::from(text(&mut a).await.as_str());
        let b_id = SessionId::from(text(&mut b).await.as_str());
        assert_ne!(a_id, b_id);
        assert_eq!(sessions.get(&b_id).unwrap().id(), &b_id);
        assert!(sessions.send_to(&SessionId::from("no such id"), "x").is_none());
        sessions.close_session(&b_id, CloseCode(4000), "by id").unwrap().unwrap();
        let Err(Error::Closed(closed)) = b.recv().await else { panic!("b not closed") };
        assert_eq!((closed.code, closed.reason.as_str(), closed.clean), (CloseCode(4000), "by id", true));
        until::<R>(|| sessions.count() == 1).await;
        assert_eq!(sessions.ids(), [a_id]);
        drop((a, b));
        server.stop(CloseCode::GOING_AWAY, "").await;
    }

    pub(super) async fn topics_reach_their_subscribers_only<R: ServerRuntime>() {
        let rooms = Service::new(|| {
            |session: &Session, message: Message| {
                let text = message.as_text().unwrap_or_default();
                if let Some(room) = text.strip_prefix("join ") {
                    session.subscribe(room);
                    session.send("joined");
                } else if let Some((room, said)) = text.split_once(": ") {
                    session.sessions().publish(room, said.to_owned());
                }
            }
        });
        let server = start::<R>(vec![("/rooms", rooms)]).await;
        let (mut a, mut b, mut c) =
            (connect(&server, "/rooms").await, connect(&server, "/rooms").await, connect(&server, "/rooms").await);
        for (ws, room) in [(&mut a, "laputa"), (&mut b, "laputa"), (&mut c, "tedis")] {
            ws.send(format!("join {room}")).await.unwrap();
            assert_eq!(text(ws).await, "joined");
        }
        let sessions = server.sessions("/rooms").unwrap();
        assert_eq!((sessions.subscribers("laputa"), sessions.subscribers("tedis")), (2, 1));
        c.send("laputa: balus").await.unwrap();
        assert_eq!(text(&mut a).await, "balus");
        assert_eq!(text(&mut b).await, "balus");
        c.send("tedis: hi").await.unwrap();
        assert_eq!(text(&mut c).await, "hi", "c got only its own room's message");
        // A session that ends leaves its topics.
        a.close().await.unwrap();
        until::<R>(|| sessions.subscribers("laputa") == 1).await;
        drop((b, c));
        server.stop(CloseCode::GOING_AWAY, "").await;
    }

    /// Counts the messages a client receives, checking their order, until it closes.
    fn count_in_order<R: ServerRuntime>(mut ws: Client<R>) -> R::JoinHandle<u64> {
        R::spawn(async move {
            let mut count = 0u64;
            while let Ok(message) = ws.recv().await {
                assert_eq!(message.payload()[..8], count.to_be_bytes(), "in order");
                count += 1;
            }
            count
        })
    }

    fn numbered(n: u64) -> Vec<u8> {
        let mut payload = vec![0u8; 256 * 1024];
        payload[..8].copy_from_slice(&n.to_be_bytes());
        payload
    }

    /// The awaited broadcast waits for a session whose queue is full (where `broadcast` would
    /// drop) and goes through once it reads; a session that never reads is given up at its
    /// send timeout and counted dropped. The readers get every message, in order.
    pub(super) async fn broadcast_wait_waits_for_room_up_to_the_send_timeout<R: ServerRuntime>() {
        let service =
            |timeout| Service::new(|| |_: &Session, _: Message| {}).outbox_limit(64 * 1024).send_timeout(timeout);
        let patient = service(Duration::from_secs(60));
        let impatient = service(Duration::from_millis(200));
        let server = start::<R>(vec![("/patient", patient), ("/impatient", impatient)]).await;
        for (path, gives_up) in [("/patient", false), ("/impatient", true)] {
            let reader = count_in_order::<R>(connect(&server, path).await);
            let slow = connect(&server, path).await; // reads nothing until told to
            let sessions = server.sessions(path).unwrap();
            until::<R>(|| sessions.count() == 2).await;
            let mut slow = Some(slow);
            let mut slow_reader = None;
            let mut sent = 0u64;
            loop {
                assert!(sent < 1000, "{path}: the slow session never filled up");
                let mut waiting = std::pin::pin!(sessions.broadcast_wait(numbered(sent)));
                sent += 1;
                if let std::task::Poll::Ready(delivery) = futures::poll!(waiting.as_mut()) {
                    assert_eq!((delivery.queued, delivery.dropped), (2, 0), "{path}");
                    continue;
                }
                // Waiting for the slow session's room.
                if !gives_up {
                    slow_reader = Some(count_in_order::<R>(slow.take().unwrap()));
                }
                let delivery = waiting.await;
                if gives_up && delivery.dropped == 0 {
                    // The slow session's driver was still moving its queue into the kernel's
                    // buffer: room came. Go on until it is full for good.
                    assert_eq!(delivery.queued, 2, "{path}");
                    continue;
                }
                let expected = if gives_up { (1, 1) } else { (2, 0) };
                assert_eq!((delivery.queued, delivery.dropped), expected, "{path}");
                break;
            }
            server.remove_service(path);
            assert_eq!(reader.await, sent, "{path}: the reader got every message");
            if let Some(slow_reader) = slow_reader {
                assert_eq!(slow_reader.await, sent, "{path}: the slow reader too, once it read");
            }
            drop(slow);
        }
        server.stop(CloseCode::GOING_AWAY, "").await;
    }

    struct Recorder(mpsc::Sender<String>);

    impl Behavior for Recorder {
        fn on_open(&mut self, session: &Session) {
            let context = session.context();
            let name = context.query_param("name").unwrap_or_default();
            let origin = context.origin().unwrap_or("-").to_owned();
            let protocol = context.protocol().unwrap_or("-").to_owned();
            let remote_is_loopback = context.remote_addr().ip().is_loopback();
            let _ =
                self.0.send(format!("open {name} {origin} {protocol} {remote_is_loopback} {}", context.is_secure()));
        }

        fn on_message(&mut self, session: &Session, message: Message) {
            session.send(message);
        }

        fn on_close(&mut self, _: &Session, closed: &Closed) {
            let _ = self.0.send(format!("close {} {}", closed.code, closed.clean));
        }
    }

    pub(super) async fn hooks_see_the_context_and_run_once_each<R: ServerRuntime>() {
        let (tx, rx) = mpsc::channel();
        let service = Service::new(move || Recorder(tx.clone())).admission(Admission::new().protocols(["chat"]));
        let server = start::<R>(vec![("/rec", service)]).await;
        let url = format!("ws://{}/rec?name=Sheeta%20L", server.local_addr());
        let request = laputa::ClientRequest::new(url.as_str()).unwrap().protocol("superchat").protocol("chat");
        let request = request.origin("http://pazu.example");
        let (mut ws, response) = runtime::connect::<R>(request).await.unwrap();
        assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
        ws.send("x").await.unwrap();
        assert_eq!(text(&mut ws).await, "x");
        ws.close_with(CloseCode::NORMAL, "bye").await.unwrap();
        let sessions = server.sessions("/rec").unwrap();
        until::<R>(|| sessions.count() == 0).await;
        let events: Vec<String> = rx.try_iter().collect();
        assert_eq!(events, ["open Sheeta L http://pazu.example chat true false", "close 1000 true"]);
        server.stop(CloseCode::GOING_AWAY, "").await;
    }

    pub(super) async fn services_are_added_and_removed_while_running<R: ServerRuntime>() {
        let server = start::<R>(vec![("/Echo", echo())]).await;
        let url = format!("ws://{}/Later", server.local_addr());
        let refused = runtime::connect::<R>(url.as_str()).await.map(drop).unwrap_err();
        assert_eq!(refused.http_status(), Some(http::StatusCode::NOT_FOUND));
        server.add_service("/Later", echo()).unwrap();
        assert!(server.add_service("/Later", echo()).is_err(), "mounted twice");
        let mut ws = connect(&server, "/Later").await;
        ws.send("now").await.unwrap();
        assert_eq!(text(&mut ws).await, "now");
        assert!(server.remove_service("/Later"));
        let Err(Error::Closed(closed)) = ws.recv().await else { panic!("not closed") };
        assert_eq!(closed.code, CloseCode::GOING_AWAY);
        let refused = runtime::connect::<R>(url.as_str()).await.map(drop).unwrap_err();
        assert_eq!(refused.http_status(), Some(http::StatusCode::NOT_FOUND));
        assert!(!server.remove_service("/Later"));
        assert_eq!(server.paths(), ["/Echo"]);
        server.stop(CloseCode::GOING_AWAY, "").await;
    }

    /// wss: the TLS handshake before the upgrade, the client's certificate in the context, and
    /// a plaintext client let go while the server goes on.
    #[cfg(feature = "rustls")]
    pub(super) async fn wss_sessions_see_the_client_certificate<R: ServerRuntime>() {
        use laputa::tls::{TlsAcceptor, TlsConnector};
        let pki = tls_support::Pki::new();
        let acceptor = TlsAcceptor::builder()
            .cert_chain_pem(pki.leaf.chain_pem.as_bytes())
            .unwrap()
            .key_pem(pki.leaf.key_pem.as_bytes())
            .unwrap()
            .client_cert_root_der(pki.client_ca.clone())
            .client_cert_optional()
            .build()
            .unwrap();
        let who = Service::new(|| {
            |session: &Session, _: Message| {
                let context = session.context();
                let chain = context.peer_certificates().map_or(0, <[_]>::len);
                session.send(format!("secure={} chain={chain}", context.is_secure()));
            }
        });
        let server = Server::builder().bind("wss://127.0.0.1:0").tls(acceptor).service("/who", who).unwrap();
        let server = server.start::<R>().await.unwrap();
        let url = format!("wss://localhost:{}/who", server.local_addr().port());
        let with_certificate = TlsConnector::builder()
            .add_root_der(pki.ca.clone())
            .only_added_roots()
            .client_auth_pem(pki.client.chain_pem.as_bytes(), pki.client.key_pem.as_bytes())
            .unwrap()
            .build()
            .unwrap();
        for (connector, expected) in
            [(pki.connector(), "secure=true chain=0"), (with_certificate, "secure=true chain=1")]
        {
            let builder = laputa::ClientBuilder::new(&url).unwrap().tls(connector);
            let (mut ws, _) = runtime::connect::<R>(builder).await.unwrap();
            ws.send("who am I").await.unwrap();
            assert_eq!(text(&mut ws).await, expected);
            ws.close().await.unwrap();
        }
        let plain = format!("ws://127.0.0.1:{}/who", server.local_addr().port());
        assert!(runtime::connect::<R>(plain.as_str()).await.is_err(), "plaintext to a TLS port");
        let builder = laputa::ClientBuilder::new(&url).unwrap().tls(pki.connector());
        assert!(runtime::connect::<R>(builder).await.is_ok(), "the server goes on");
        assert!(Server::builder().bind("wss://127.0.0.1:0").start::<R>().await.is_err(), "wss without TLS");
        server.stop(CloseCode::GOING_AWAY, "").await;
    }

    pub(super) async fn stop_closes_every_session_with_its_code_and_releases_the_port<R: ServerRuntime>() {
        let server = start::<R>(vec![("/Echo", echo()), ("/Chat", chat())]).await;
        let mut clients = Vec::new();
        for i in 0..20 {
            clients.push(connect(&server, if i % 2 == 0 { "/Echo" } else { "/Chat" }).await);
        }
        let (echo, chat) = (server.sessions("/Echo").unwrap(), server.sessions("/Chat").unwrap());
        until::<R>(|| echo.count() + chat.count() == 20).await;
        let clients = clients.into_iter().map(|mut ws| {
            R::spawn(async move {
                match ws.recv().await {
                    Err(Error::Closed(closed)) => closed,
                    other => panic!("{other:?}"),
                }
            })
        });
        let clients: Vec<_> = clients.collect();
        server.stop(CloseCode::GOING_AWAY, "shutting down").await;
        assert_eq!(echo.count() + chat.count(), 0, "stop waits for every session");
        for client in clients {
            let closed = client.await;
            assert_eq!(
                (closed.code, closed.reason.as_str(), closed.clean),
                (CloseCode::GOING_AWAY, "shutting down", true)
            );
        }
        let url = format!("ws://{}/Echo", server.local_addr());
        assert!(runtime::connect::<R>(url.as_str()).await.is_err(), "no longer listening");
    }

    /// Fails until `stop` waits for the accept loop to close the listener: it returned as soon
    /// as no session was left, and binding the port again failed (address in use) while the
    /// accept loop's task had not yet run.
    pub(super) async fn the_port_is_free_once_stop_returns<R: ServerRuntime>() {
        for _ in 0..20 {
            let server = start::<R>(vec![("/Echo", echo())]).await;
            let addr = server.local_addr();
            server.stop(CloseCode::GOING_AWAY, "").await;
            let again = std::net::TcpListener::bind(addr);
            assert!(again.is_ok(), "{addr} still in use: {again:?}");
        }
    }
}

fn run<R: Harness + ServerRuntime, F: std::future::Future<Output = ()>>(scenario: impl FnOnce() -> F) {
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
    services_answer_by_path_and_others_get_404,
    a_broadcast_reaches_every_session_the_sender_included,
    sessions_are_reached_and_closed_by_id,
    topics_reach_their_subscribers_only,
    hooks_see_the_context_and_run_once_each,
    services_are_added_and_removed_while_running,
    stop_closes_every_session_with_its_code_and_releases_the_port,
    the_port_is_free_once_stop_returns,
    broadcast_wait_waits_for_room_up_to_the_send_timeout,
);

#[cfg(feature = "rustls")]
mod wss {
    use super::{run, scenarios};
    on_every_runtime!(wss_sessions_see_the_client_certificate);
}
