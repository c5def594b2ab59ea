//! The one accept flow (`IncomingRequest::answer`) over real loopback sockets, on the blocking
//! adapter and on every async runtime: an accept the core cannot answer (a subprotocol the
//! client did not offer, a header the handshake sets itself) is answered `500` and the
//! connection closed, rather than dropped silently; a refusal to a client that never reads is
//! given up at the close timeout, so that the accept returns.
//!
//! Nothing asserts on time: every wait is bounded by a short `Config` timeout, a watchdog read
//! timeout on the raw peer, or the test's own watchdog.

use laputa::{Accept, Config, Error, HandshakeError, Reject};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

mod common;
mod raw_peer;

use raw_peer::{config, read_to_eof, REQUEST, WATCHDOG};

/// The accepts that cannot be answered: a subprotocol `REQUEST` does not offer, a header the
/// handshake writes itself.
fn unanswerable() -> [Accept; 2] {
    let reserved = Accept::new().header(http::header::SEC_WEBSOCKET_ACCEPT, http::HeaderValue::from_static("x"));
    [Accept::new().protocol("x"), reserved]
}

/// A raw peer connected to `addr`, its reads bounded by the watchdog.
fn raw_connect(addr: SocketAddr) -> TcpStream {
    let peer = TcpStream::connect(addr).unwrap();
    peer.set_read_timeout(Some(WATCHDOG)).unwrap();
    peer
}

/// Sends the upgrade request and reads everything until the server closes.
fn request_and_read_all(addr: SocketAddr) -> String {
    let mut peer = raw_connect(addr);
    peer.write_all(REQUEST).unwrap();
    String::from_utf8(read_to_eof(&mut peer).expect("a FIN, not a reset")).unwrap()
}

/// The accept's error is the invalid accept, and the peer read a whole 500 and then the FIN.
fn assert_answered_500(result: Result<(), Error>, response: &str) {
    match result {
        Err(error) => assert!(matches!(error.handshake_error(), Some(HandshakeError::InvalidAccept(_))), "{error:?}"),
        Ok(()) => panic!("accepted"),
    }
    assert!(response.starts_with("HTTP/1.1 500 Internal Server Error\r\n"), "{response}");
    let (head, body) = response.split_once("\r\n\r\n").expect("a whole head");
    assert!(head.contains(&format!("Content-Length: {}", body.len())), "{response}");
}

/// A refusal far larger than the socket buffers, so that a client that reads nothing leaves
/// most of it unwritten.
fn huge_refusal() -> Reject {
    Reject::new(http::StatusCode::FORBIDDEN).body(vec![b'x'; 64 << 20])
}

/// The refusal's error names its status.
fn assert_refused_403(result: Result<(), Error>) {
    match result {
        Err(error) => assert_eq!(error.http_status(), Some(http::StatusCode::FORBIDDEN), "{error:?}"),
        Ok(()) => panic!("accepted"),
    }
}

/// Config with a short close timeout, the deadline of a refusal.
fn short_close() -> Config {
    let mut config = config();
    config.close_timeout = Duration::from_millis(100);
    config
}

#[cfg(feature = "blocking")]
mod blocking {
    use super::*;
    use laputa::blocking;
    use std::net::TcpListener;
    use std::thread;

    /// A listener, and a thread that accepts one connection with `decide`.
    fn serve(
        config: Config,
        decide: impl FnOnce(&laputa::IncomingRequest) -> Result<Accept, Reject> + Send + 'static,
    ) -> (SocketAddr, thread::JoinHandle<Result<(), Error>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            blocking::accept_with(stream, config, decide).map(drop)
        });
        (addr, server)
    }

    #[test]
    fn a_failed_accept_answers_500_and_closes() {
        for accept in unanswerable() {
            let (addr, server) = serve(config(), move |_| Ok(accept));
            let response = request_and_read_all(addr);
            assert_answered_500(server.join().unwrap(), &response);
        }
    }

    #[test]
    fn a_refusal_to_a_client_that_never_reads_ends_at_the_close_timeout() {
        let (addr, server) = serve(short_close(), |_| Err(huge_refusal()));
        let mut peer = raw_connect(addr);
        peer.write_all(REQUEST).unwrap();
        // The peer reads nothing and stays connected until the accept has returned.
        assert_refused_403(server.join().unwrap());
        drop(peer);
    }
}

#[cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]
mod on_async {
    use super::*;
    use common::{timeout, Harness};
    use laputa::runtime::{self, TcpRuntime};

    /// A listener, and a task that accepts one connection with `decide`.
    async fn serve<R: TcpRuntime>(
        config: Config,
        decide: impl FnOnce(&laputa::IncomingRequest) -> Result<Accept, Reject> + Send + 'static,
    ) -> (SocketAddr, R::JoinHandle<Result<(), Error>>) {
        let listener = R::bind("127.0.0.1:0").await.unwrap();
        let addr = R::local_addr(&listener).unwrap();
        let server = R::spawn(async move {
            let (stream, _) = R::accept(&listener).await.unwrap();
            runtime::accept_with::<_, R, _>(stream, config, decide).await.map(drop)
        });
        (addr, server)
    }

    /// Runs a blocking peer on a thread of its own, so that the runtime keeps serving.
    async fn on_thread<R: TcpRuntime, T: Send + 'static>(peer: impl FnOnce() -> T + Send + 'static) -> T {
        let handle = std::thread::spawn(peer);
        while !handle.is_finished() {
            common::sleep::<R>(Duration::from_millis(5)).await;
        }
        handle.join().unwrap()
    }

    pub(super) async fn a_failed_accept_answers_500_and_closes<R: TcpRuntime>() {
        for accept in unanswerable() {
            let (addr, server) = serve::<R>(config(), move |_| Ok(accept)).await;
            let response = on_thread::<R, _>(move || request_and_read_all(addr)).await;
            assert_answered_500(server.await, &response);
        }
    }

    pub(super) async fn a_refusal_to_a_client_that_never_reads_ends_at_the_close_timeout<R: TcpRuntime>() {
        let (addr, server) = serve::<R>(short_close(), |_| Err(huge_refusal())).await;
        let peer = on_thread::<R, _>(move || {
            let mut peer = raw_connect(addr);
            peer.write_all(REQUEST).unwrap();
            peer
        })
        .await;
        // The peer reads nothing and stays connected until the accept has returned.
        assert_refused_403(server.await);
        drop(peer);
    }

    /// Every test gives up after this long instead of hanging.
    const TEST_TIMEOUT: Duration = Duration::from_secs(30);

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

    macro_rules! on_every_runtime {
        ($($scenario:ident),* $(,)?) => {
            on_runtime!("tokio", tokio, laputa::tokio::Tokio; $($scenario),*);
            on_runtime!("smol", smol, laputa::smol::Smol; $($scenario),*);
            on_runtime!("async-std", async_std, laputa::async_std::AsyncStd; $($scenario),*);
        };
    }

    on_every_runtime!(
        a_failed_accept_answers_500_and_closes,
        a_refusal_to_a_client_that_never_reads_ends_at_the_close_timeout,
    );
}
