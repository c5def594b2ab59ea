//! The server (`laputa::server`) on the blocking adapter's threads (`start_blocking`), with
//! laputa's blocking client: the scenarios of `server.rs` (services by path, 404, broadcast,
//! sessions by id, topics, hooks, services added and removed, stop), and what threads add: a
//! send from another thread while the session's thread waits in `read`, a peer that floods
//! pings and never reads let go at the close timeout, a slow reader that holds up no one.

#![cfg(feature = "blocking")]

mod raw_peer;
#[cfg(feature = "rustls")]
#[allow(dead_code, unreachable_pub)]
mod tls_support;

use laputa::blocking::{self, ClientStream, WebSocket};
use laputa::core::server::Admission;
use laputa::server::{Behavior, BlockingServer, Server, Service, Session, SessionId, SlowConsumer};
use laputa::{CloseCode, Closed, Config, Error, Message};
use raw_peer::{client_frame, upgrade, REQUEST};
use std::io::Write;
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// No scenario takes this long unless it hangs. Below the default write-stall timeout (30 s),
/// so that a peer let go only by that deadline fails the flood test.
const WATCHDOG: Duration = Duration::from_secs(20);

type Client = WebSocket<ClientStream>;

/// Runs `scenario` on a thread, failing if it panics or outlives the watchdog.
fn run(scenario: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let scenario = thread::spawn(move || {
        scenario();
        let _ = done.send(());
    });
    match finished.recv_timeout(WATCHDOG) {
        Ok(()) => scenario.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => std::panic::resume_unwind(scenario.join().unwrap_err()),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test timed out"),
    }
}

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

fn start(services: Vec<(&str, Service)>) -> BlockingServer {
    let mut builder = Server::builder().bind("127.0.0.1:0");
    for (path, service) in services {
        builder = builder.service(path, service).unwrap();
    }
    builder.start_blocking().unwrap()
}

fn connect(server: &BlockingServer, path: &str) -> Client {
    let url = format!("ws://{}{path}", server.local_addr());
    blocking::connect(url.as_str()).unwrap().0
}

/// Waits until `ready` holds (polling: sessions open and end on their own threads).
fn until(mut ready: impl FnMut() -> bool) {
    while !ready() {
        thread::sleep(Duration::from_millis(5));
    }
}

fn text(ws: &mut Client) -> String {
    ws.read().unwrap().as_text().unwrap().to_owned()
}

fn closed(ws: &mut Client) -> Closed {
    match ws.read() {
        Err(Error::Closed(closed)) => closed,
        other => panic!("not closed: {other:?}"),
    }
}

/// Stops `server` while `clients` read (so that they answer its close frame at once), and
/// checks that each was closed with 1001.
fn stop(server: &BlockingServer, clients: Vec<Client>) {
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut ws| {
            thread::spawn(move || loop {
                match ws.read() {
                    Ok(_) => {}
                    Err(Error::Closed(closed)) => return closed,
                    Err(error) => panic!("{error}"),
                }
            })
        })
        .collect();
    server.stop(CloseCode::GOING_AWAY, "done");
    for reader in readers {
        let closed = reader.join().unwrap();
        assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::GOING_AWAY, "done"));
    }
}

/// A session config with a short close timeout and no keepalive, so that nothing but the
/// close timeout (or `write_stall`) ends a session whose peer stopped reading.
fn short_close(write_stall: Duration) -> Config {
    let mut config = Config::default();
    config.close_timeout = Duration::from_millis(300);
    config.write_stall_timeout = Some(write_stall);
    config.keepalive = None;
    config
}

/// A raw peer with a small receive buffer, upgraded at `path`, that the test lets read nothing.
fn raw_peer_at(server: &BlockingServer, path: &str) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(16 * 1024).unwrap();
    socket.connect(&server.local_addr().into()).unwrap();
    let mut peer: TcpStream = socket.into();
    let request = String::from_utf8(REQUEST.to_vec()).unwrap().replace("GET /chat ", &format!("GET {path} "));
    upgrade(&mut peer, request.as_bytes());
    peer
}

#[test]
fn services_answer_by_path_and_others_get_404() {
    run(|| {
        let server = start(vec![("/Echo", echo()), ("/Chat", chat())]);
        let mut ws = connect(&server, "/Echo/");
        ws.send("BALUS").unwrap();
        assert_eq!(text(&mut ws), "BALUS");
        let url = format!("ws://{}/nowhere", server.local_addr());
        let refused = blocking::connect(url.as_str()).map(drop).unwrap_err();
        assert_eq!(refused.http_status(), Some(http::StatusCode::NOT_FOUND), "{refused}");
        ws.close().unwrap();
        server.stop(CloseCode::GOING_AWAY, "");
    });
}

#[test]
fn a_broadcast_reaches_every_session_the_sender_included() {
    run(|| {
        let server = start(vec![("/Chat", chat())]);
        let mut clients: Vec<Client> = (0..5).map(|_| connect(&server, "/Chat")).collect();
        let sessions = server.sessions("/Chat").unwrap();
        until(|| sessions.count() == 5);
        clients[2].send("hello all").unwrap();
        for ws in &mut clients {
            assert_eq!(text(ws), "hello all");
        }
        let stats = sessions.stats();
        assert_eq!((stats.sessions, stats.messages_in, stats.messages_out), (5, 1, 5));
        stop(&server, clients);
    });
}

#[test]
fn sessions_are_reached_and_closed_by_id() {
    run(|| {
        let server = start(vec![("/Echo", echo())]);
        let mut a = connect(&server, "/Echo");
        let mut b = connect(&server, "/Echo");
        let sessions = server.sessions("/Echo").unwrap();
        until(|| sessions.count() == 2);
        // Each session is sent its own id.
        for id in sessions.ids() {
            assert!(sessions.send_to(&id, id.to_string()).unwrap().is_queued());
        }
        let a_id = SessionId::from(text(&mut a).as_str());
        let b_id = SessionId::from(text(&mut b).as_str());
        assert_ne!(a_id, b_id);
        assert_eq!(sessions.get(&b_id).unwrap().id(), &b_id);
        assert!(sessions.send_to(&SessionId::from("no such id"), "x").is_none());
        sessions.close_session(&b_id, CloseCode(4000), "by id").unwrap().unwrap();
        let closed = closed(&mut b);
        assert_eq!((closed.code, closed.reason.as_str(), closed.clean), (CloseCode(4000), "by id", true));
        until(|| sessions.count() == 1);
        assert_eq!(sessions.ids(), [a_id]);
        stop(&server, vec![a]);
    });
}

#[test]
fn topics_reach_their_subscribers_only() {
    run(|| {
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
        let server = start(vec![("/rooms", rooms)]);
        let (mut a, mut b, mut c) =
            (connect(&server, "/rooms"), connect(&server, "/rooms"), connect(&server, "/rooms"));
        for (ws, room) in [(&mut a, "laputa"), (&mut b, "laputa"), (&mut c, "tedis")] {
            ws.send(format!("join {room}")).unwrap();
            assert_eq!(text(ws), "joined");
        }
        let sessions = server.sessions("/rooms").unwrap();
        assert_eq!((sessions.subscribers("laputa"), sessions.subscribers("tedis")), (2, 1));
        c.send("laputa: balus").unwrap();
        assert_eq!(text(&mut a), "balus");
        assert_eq!(text(&mut b), "balus");
        c.send("tedis: hi").unwrap();
        assert_eq!(text(&mut c), "hi", "c got only its own room's message");
        // A session that ends leaves its topics.
        a.close().unwrap();
        until(|| sessions.subscribers("laputa") == 1);
        stop(&server, vec![b, c]);
    });
}

/// Tells every hook it gets (and echoes).
struct Recorder(mpsc::Sender<String>);

impl Behavior for Recorder {
    fn on_open(&mut self, session: &Session) {
        let context = session.context();
        let name = context.query_param("name").unwrap_or_default();
        let origin = context.origin().unwrap_or("-").to_owned();
        let protocol = context.protocol().unwrap_or("-").to_owned();
        let remote_is_loopback = context.remote_addr().ip().is_loopback();
        let _ = self.0.send(format!("open {name} {origin} {protocol} {remote_is_loopback} {}", context.is_secure()));
    }

    fn on_message(&mut self, session: &Session, message: Message) {
        session.send(message);
    }

    fn on_error(&mut self, _: &Session, _: &Error) {
        let _ = self.0.send("error".to_owned());
    }

    fn on_close(&mut self, _: &Session, closed: &Closed) {
        let _ = self.0.send(format!("close {} {}", closed.code, closed.clean));
    }
}

#[test]
fn hooks_see_the_context_and_run_once_each() {
    run(|| {
        let (tx, rx) = mpsc::channel();
        let service = Service::new(move || Recorder(tx.clone())).admission(Admission::new().protocols(["chat"]));
        let server = start(vec![("/rec", service)]);
        let url = format!("ws://{}/rec?name=Sheeta%20L", server.local_addr());
        let request = laputa::ClientRequest::new(url.as_str()).unwrap().protocol("superchat").protocol("chat");
        let request = request.origin("http://pazu.example");
        let (mut ws, response) = blocking::connect(request).unwrap();
        assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
        ws.send("x").unwrap();
        assert_eq!(text(&mut ws), "x");
        ws.close_with(CloseCode::NORMAL, "bye").unwrap();
        let sessions = server.sessions("/rec").unwrap();
        until(|| sessions.count() == 0);
        let events: Vec<String> = rx.try_iter().collect();
        assert_eq!(events, ["open Sheeta L http://pazu.example chat true false", "close 1000 true"]);
        server.stop(CloseCode::GOING_AWAY, "");
    });
}

#[test]
fn services_are_added_and_removed_while_running() {
    run(|| {
        let server = start(vec![("/Echo", echo())]);
        let url = format!("ws://{}/Later", server.local_addr());
        let refused = blocking::connect(url.as_str()).map(drop).unwrap_err();
        assert_eq!(refused.http_status(), Some(http::StatusCode::NOT_FOUND));
        server.add_service("/Later", echo()).unwrap();
        assert!(server.add_service("/Later", echo()).is_err(), "mounted twice");
        let mut ws = connect(&server, "/Later");
        ws.send("now").unwrap();
        assert_eq!(text(&mut ws), "now");
        assert!(server.remove_service("/Later"));
        assert_eq!(closed(&mut ws).code, CloseCode::GOING_AWAY);
        let refused = blocking::connect(url.as_str()).map(drop).unwrap_err();
        assert_eq!(refused.http_status(), Some(http::StatusCode::NOT_FOUND));
        assert!(!server.remove_service("/Later"));
        assert_eq!(server.paths(), ["/Echo"]);
        server.stop(CloseCode::GOING_AWAY, "");
    });
}

#[test]
fn stop_closes_every_session_with_its_code_and_releases_the_port() {
    run(|| {
        let server = start(vec![("/Echo", echo()), ("/Chat", chat())]);
        let clients: Vec<Client> =
            (0..20).map(|i| connect(&server, if i % 2 == 0 { "/Echo" } else { "/Chat" })).collect();
        let (echo, chat) = (server.sessions("/Echo").unwrap(), server.sessions("/Chat").unwrap());
        until(|| echo.count() + chat.count() == 20);
        let clients: Vec<_> = clients.into_iter().map(|mut ws| thread::spawn(move || closed(&mut ws))).collect();
        server.stop(CloseCode::GOING_AWAY, "shutting down");
        assert_eq!(echo.count() + chat.count(), 0, "stop waits for every session");
        for client in clients {
            let closed = client.join().unwrap();
            assert_eq!(
                (closed.code, closed.reason.as_str(), closed.clean),
                (CloseCode::GOING_AWAY, "shutting down", true)
            );
        }
        let url = format!("ws://{}/Echo", server.local_addr());
        assert!(blocking::connect(url.as_str()).is_err(), "no longer listening");
        until(|| server.connections() == 0);
    });
}

#[test]
fn a_send_from_another_thread_goes_out_while_the_session_waits_in_read() {
    run(|| {
        // The behaviour hands its session out on open, then only waits for the peer.
        let (tx, rx) = mpsc::channel();
        let service = Service::new(move || {
            struct Handout(mpsc::Sender<Session>);
            impl Behavior for Handout {
                fn on_open(&mut self, session: &Session) {
                    let _ = self.0.send(session.clone());
                }
                fn on_message(&mut self, _: &Session, _: Message) {}
            }
            Handout(tx.clone())
        });
        let server = start(vec![("/push", service)]);
        let mut ws = connect(&server, "/push");
        let session = rx.recv().unwrap();
        // The client sends nothing: the session's reader waits in `read` all along.
        for i in 0..3 {
            let session = session.clone();
            thread::spawn(move || assert!(session.send(format!("pushed {i}")).is_queued())).join().unwrap();
            assert_eq!(text(&mut ws), format!("pushed {i}"));
        }
        stop(&server, vec![ws]);
    });
}

#[test]
fn a_peer_that_floods_pings_and_never_reads_is_let_go_at_the_close_timeout() {
    run(|| {
        let (tx, rx) = mpsc::channel();
        // The default write-stall timeout (30 s), past the watchdog: only the close timeout
        // can end this session in time.
        let config = short_close(Config::default().write_stall_timeout.unwrap());
        let service = Service::new(move || Recorder(tx.clone())).admission(Admission::new().config(config));
        let server = start(vec![("/flood", service)]);
        let peer = raw_peer_at(&server, "/flood");
        let sessions = server.sessions("/flood").unwrap();
        until(|| sessions.count() == 1);
        // Pings as fast as the server takes them; the pongs are never read, so the server's
        // writes back up, and its close frame cannot go out either.
        let batch: Vec<u8> = (0..512).flat_map(|_| client_frame(0x89, &[b'p'; 125])).collect();
        let mut flood = peer.try_clone().unwrap();
        let (flooded_tx, flooded) = mpsc::channel();
        let flooder = thread::spawn(move || {
            let mut sent = 0usize;
            while flood.write_all(&batch).is_ok() {
                sent += batch.len();
                if sent >= 128 << 20 {
                    let _ = flooded_tx.send(());
                }
            }
            sent
        });
        // 128 MiB of pings: the core answers at most 17 of the pings of one read, and that is
        // still more pongs than the socket buffers hold (4 MiB at most here), so the server's
        // writer waits in `write` when the close comes.
        flooded.recv().unwrap();
        sessions.close_session(&sessions.ids()[0], CloseCode::NORMAL, "enough").unwrap().unwrap();
        // Let go at the close timeout: its session ends, and its threads with it.
        until(|| sessions.count() == 0 && server.connections() == 0);
        let sent = flooder.join().unwrap();
        assert!(sent >= 128 << 20);
        let events: Vec<String> = rx.try_iter().collect();
        assert_eq!(events[0], "open  - - true false");
        assert_eq!(events[1..], ["close 1006 false"], "the close handshake timed out");
        server.stop(CloseCode::GOING_AWAY, "");
    });
}

#[test]
fn a_slow_reader_holds_up_no_one_when_its_messages_are_dropped() {
    run(|| {
        let feed = Service::new(|| |_: &Session, _: Message| {})
            .admission(Admission::new().config(short_close(Duration::from_secs(2))))
            .outbox_limit(256 * 1024)
            .slow_consumer(SlowConsumer::Drop);
        let server = start(vec![("/feed", feed)]);
        let slow = raw_peer_at(&server, "/feed");
        let mut fast: Vec<Client> = (0..3).map(|_| connect(&server, "/feed")).collect();
        let sessions = server.sessions("/feed").unwrap();
        until(|| sessions.count() == 4);
        // 100 messages of 128 KiB: 12.5 MiB, far beyond what the slow peer's buffers and its
        // queue hold. The readers get every one, in order.
        for i in 0..100u8 {
            let delivery = sessions.broadcast(vec![i; 128 * 1024]);
            assert!(delivery.queued >= 3, "{delivery:?}");
            for ws in &mut fast {
                assert_eq!(ws.read().unwrap().payload(), &[i; 128 * 1024][..]);
            }
        }
        assert!(sessions.stats().dropped > 0, "the slow reader's messages were dropped");
        server.stop(CloseCode::GOING_AWAY, "");
        for ws in &mut fast {
            assert_eq!(closed(ws).code, CloseCode::GOING_AWAY);
        }
        // The slow reader's close waits behind its queue: it ends at the write-stall deadline.
        until(|| sessions.count() == 0 && server.connections() == 0);
        drop(slow);
    });
}

#[test]
fn a_hook_that_panics_ends_its_session_and_no_other() {
    run(|| {
        let (tx, rx) = mpsc::channel();
        let fragile = Service::new(move || {
            let tx = tx.clone();
            move |session: &Session, message: Message| {
                if message.as_text() == Some("boom") {
                    let _ = tx.send(session.id().clone());
                    panic!("the hook gives up");
                }
                session.send(message);
            }
        });
        let server = start(vec![("/fragile", fragile)]);
        let (mut calm, mut doomed) = (connect(&server, "/fragile"), connect(&server, "/fragile"));
        let sessions = server.sessions("/fragile").unwrap();
        until(|| sessions.count() == 2);
        doomed.send("boom").unwrap();
        let id = rx.recv().unwrap();
        assert!(matches!(doomed.read(), Err(Error::Closed(_) | Error::Io(_))), "the session ended");
        until(|| sessions.count() == 1 && server.connections() == 1);
        assert!(sessions.get(&id).is_none());
        calm.send("still here").unwrap();
        assert_eq!(text(&mut calm), "still here");
        stop(&server, vec![calm]);
    });
}

/// wss on threads: the TLS handshake before the upgrade, the client's certificate in the
/// context, messages of many TLS records both ways, a send from another thread, the close
/// handshake and stop; a plaintext client let go while the server goes on.
#[cfg(feature = "rustls")]
#[test]
fn wss_sessions_see_the_client_certificate_and_carry_large_messages() {
    use laputa::tls::{TlsAcceptor, TlsConnector};
    run(|| {
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
            |session: &Session, message: Message| {
                let context = session.context();
                let chain = context.peer_certificates().map_or(0, <[_]>::len);
                if message.as_text() == Some("who am I") {
                    session.send(format!("secure={} chain={chain}", context.is_secure()));
                } else {
                    session.send(message);
                }
            }
        });
        let server = Server::builder().bind("wss://127.0.0.1:0").tls(acceptor).service("/who", who).unwrap();
        let server = server.start_blocking().unwrap();
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
            let (mut ws, _) = blocking::connect(builder).unwrap();
            ws.send("who am I").unwrap();
            assert_eq!(text(&mut ws), expected);
            // 1 MiB each way: 64 TLS records.
            let large: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
            ws.send(large.clone()).unwrap();
            assert_eq!(ws.read().unwrap().payload(), &large[..]);
            ws.close().unwrap();
        }
        let plain = format!("ws://127.0.0.1:{}/who", server.local_addr().port());
        assert!(blocking::connect(plain.as_str()).is_err(), "plaintext to a TLS port");
        let (mut ws, _) = blocking::connect(laputa::ClientBuilder::new(&url).unwrap().tls(pki.connector())).unwrap();
        let sessions = server.sessions("/who").unwrap();
        until(|| sessions.count() == 1);
        let session = sessions.all().remove(0);
        thread::spawn(move || session.send("from another thread")).join().unwrap();
        assert_eq!(text(&mut ws), "from another thread");
        assert!(Server::builder().bind("wss://127.0.0.1:0").start_blocking().is_err(), "wss without TLS");
        stop(&server, vec![ws]);
        until(|| server.connections() == 0);
    });
}

#[test]
fn keep_clean_sweeps_a_session_that_answers_no_ping() {
    run(|| {
        let service = echo().keep_clean(Some(Duration::from_millis(100)));
        let server = start(vec![("/Echo", service)]);
        let mut idle = connect(&server, "/Echo");
        let sessions = server.sessions("/Echo").unwrap();
        until(|| sessions.count() == 1);
        let session = sessions.all().remove(0);
        // The client reads nothing, so it answers no ping: the second round closes it.
        until(|| !session.is_open());
        let closed = closed(&mut idle);
        assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::GOING_AWAY, "no answer to ping"));
        until(|| sessions.count() == 0);
        server.stop(CloseCode::GOING_AWAY, "");
    });
}

#[test]
fn sweep_and_close_all_count_only_the_sessions_they_close() {
    run(|| {
        let server = start(vec![("/Echo", echo())]);
        let mut quiet = [connect(&server, "/Echo"), connect(&server, "/Echo")];
        let sessions = server.sessions("/Echo").unwrap();
        until(|| sessions.count() == 2);
        sessions.ping_all("").unwrap();
        // The clients read nothing, so they answer neither the ping nor the close: both stay
        // in the map, closing.
        assert_eq!(sessions.sweep(), 2);
        assert_eq!(sessions.sweep(), 0, "closing already");
        let mut fresh = connect(&server, "/Echo");
        until(|| sessions.count() == 3);
        assert_eq!(sessions.close_all(CloseCode::TRY_AGAIN_LATER, "later").unwrap(), 1, "the fresh one only");
        for ws in &mut quiet {
            assert_eq!(closed(ws).reason, "no answer to ping");
        }
        assert_eq!(closed(&mut fresh).code, CloseCode::TRY_AGAIN_LATER);
        server.stop(CloseCode::GOING_AWAY, "");
    });
}

#[test]
fn past_the_connection_limit_a_client_waits_until_one_ends() {
    run(|| {
        let server = Server::builder().bind("127.0.0.1:0").max_connections(1).service("/Echo", echo()).unwrap();
        let server = server.start_blocking().unwrap();
        let mut first = connect(&server, "/Echo");
        let url = format!("ws://{}/Echo", server.local_addr());
        let (upgraded, second) = mpsc::channel();
        let waiting = thread::spawn(move || {
            let ws = blocking::connect(url.as_str()).unwrap().0;
            upgraded.send(()).unwrap();
            ws
        });
        // The second waits in the kernel's accept queue while the first is served.
        for i in 0..10 {
            first.send(format!("{i}")).unwrap();
            assert_eq!(text(&mut first), format!("{i}"));
            assert_eq!(server.connections(), 1);
        }
        assert!(second.try_recv().is_err(), "not accepted while the first is open");
        first.close().unwrap();
        second.recv().unwrap();
        let mut ws = waiting.join().unwrap();
        ws.send("now").unwrap();
        assert_eq!(text(&mut ws), "now");
        stop(&server, vec![ws]);
    });
}
