//! The async server, written once over [`Runtime`](crate::runtime::Runtime): the accept loop
//! (connection limit, backoff on accept errors, stop), one task per connection (the handshake,
//! the core's decision, then the session), the services' sweep timers, and `stop`.

#[cfg(feature = "rustls")]
use super::builder::ClientCertificates;
use super::builder::{Peer, ServerBuilder, Shared, Upgrade, MAX_ACCEPT_BACKOFF, MIN_ACCEPT_BACKOFF};
use super::exchange::{Exchange, Step};
use super::handle::Server;
use super::pump::{abnormal, Pump};
use super::service::{Route, Service};
use super::sessions::Sessions;
use crate::runtime::driver::{Driver, Io, Slot, Timer};
use crate::runtime::{Runtime, RuntimeIo, ServerTransport, TcpRuntime};
use crate::Error;
use laputa_core::server::RouteError;
use laputa_core::CloseCode;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

/// What the server needs of a runtime beyond [`TcpRuntime`] and [`ServerTransport`] (TLS): a
/// stream's own address, its `TCP_NODELAY` switch, and what TLS learnt of the client.
/// Implemented for every runtime of this crate.
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use laputa::server::ServerRuntime;
/// use laputa::runtime::Runtime;
/// use laputa::tokio::Tokio;
///
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let listener = Tokio::bind("127.0.0.1:0").await?;
/// let addr = Tokio::local_addr(&listener)?;
/// let client = Tokio::connect("127.0.0.1", addr.port()).await?;
/// let (stream, _) = Tokio::accept(&listener).await?;
/// assert_eq!(Tokio::stream_local_addr(&stream)?, addr);
/// Tokio::set_nodelay(&stream, false)?;
/// # drop(client);
/// # Ok::<(), std::io::Error>(())
/// # })?; }
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait ServerRuntime: TcpRuntime + ServerTransport {
    /// The local address of an accepted stream.
    fn stream_local_addr(stream: &Self::TcpStream) -> io::Result<SocketAddr>;
    /// Sets `TCP_NODELAY` on an accepted stream.
    fn set_nodelay(stream: &Self::TcpStream, nodelay: bool) -> io::Result<()>;
    /// The TCP stream beneath a TLS stream, and the client's certificate chain if it sent one.
    #[cfg(feature = "rustls")]
    fn tls_parts(stream: &Self::TlsServerStream) -> (&Self::TcpStream, Option<ClientCertificates>);
}

macro_rules! impl_server_runtime {
    ($runtime:ty) => {
        impl ServerRuntime for $runtime {
            fn stream_local_addr(stream: &Self::TcpStream) -> io::Result<SocketAddr> {
                stream.local_addr()
            }
            fn set_nodelay(stream: &Self::TcpStream, nodelay: bool) -> io::Result<()> {
                stream.set_nodelay(nodelay)
            }
            #[cfg(feature = "rustls")]
            fn tls_parts(stream: &Self::TlsServerStream) -> (&Self::TcpStream, Option<ClientCertificates>) {
                use crate::tls::ServerTlsStream;
                (stream.io(), stream.peer_certificates().map(Arc::from))
            }
        }
    };
}

#[cfg(feature = "tokio")]
impl_server_runtime!(crate::tokio::Tokio);
#[cfg(feature = "smol")]
impl_server_runtime!(crate::smol::Smol);
#[cfg(feature = "async-std")]
impl_server_runtime!(crate::async_std::AsyncStd);

impl ServerBuilder {
    /// Listens and starts accepting on runtime `R`; call from within the runtime.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use laputa::server::{Server, Service, Session};
    /// use laputa::tokio::Tokio;
    ///
    /// let server = Server::builder()
    ///     .bind("127.0.0.1:0") // port 0: the system chooses one
    ///     .service("/Echo", Service::new(|| |session: &Session, message: laputa::Message| {
    ///         session.send(message);
    ///     }))?
    ///     .start::<Tokio>()
    ///     .await?;
    /// println!("listening on ws://{}/Echo", server.local_addr());
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn start<R: ServerRuntime>(self) -> io::Result<Server<R>> {
        self.check_tls()?;
        let listener = R::bind(&self.addr).await?;
        let local_addr = R::local_addr(&listener)?;
        let shared = self.into_shared(local_addr);
        for route in shared.routes() {
            start_service::<R>(&shared, &route);
        }
        tracing::info!(%local_addr, "server listening");
        drop(R::spawn(accept_loop::<R>(listener, shared.clone())));
        Ok(Server::new(shared))
    }
}

impl<R: ServerRuntime> Server<R> {
    /// Mounts `service` at `path` while the server runs; returns its sessions.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// // A room opened while the server runs; its sessions are returned to reach them.
    /// let room = server.add_service("/rooms/42", Service::new(|| |session: &Session, message: laputa::Message| {
    ///     session.sessions().broadcast(message);
    /// }))?;
    /// assert_eq!(room.count(), 0);
    /// assert!(server.add_service("/rooms/42", echo_again()).is_err(), "the path is taken");
    /// # fn echo_again() -> Service { Service::new(|| |_: &Session, _: laputa::Message| {}) }
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_service(&self, path: &str, service: Service) -> Result<Sessions, RouteError> {
        let route = self.shared.add_service(path, service)?;
        start_service::<R>(&self.shared, &route);
        Ok(route.0.sessions.clone())
    }

    /// Stops the server: no more connections are accepted (the port is released), every
    /// session is closed with `code` and `reason`, and this waits until the listener is closed
    /// and every connection ended (sessions, and handshakes under way, answered 503), or the
    /// longest close timeout of the services passed (a connection still open then ends at its
    /// own close timeout).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/Echo", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// use laputa::CloseCode;
    ///
    /// // On SIGTERM, say: clients hear 1001 with the reason, and can come back elsewhere.
    /// server.stop(CloseCode::GOING_AWAY, "restarting").await;
    /// assert_eq!(server.connections(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn stop(&self, code: CloseCode, reason: &str) {
        let (_, wait) = self.shared.begin_stop(code, reason);
        let mut sleep = pin!(R::sleep_until(Instant::now() + wait));
        poll_fn(|cx| loop {
            let seen = self.shared.changed.generation();
            if self.shared.is_done() || sleep.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            std::task::ready!(self.shared.changed.poll_changed(cx, seen));
        })
        .await;
    }
}

/// Starts a service's sweep timer, if it has one.
fn start_service<R: ServerRuntime>(shared: &Arc<Shared>, route: &Route) {
    route.0.sessions.set_changed(shared.changed.clone());
    let Some(interval) = route.0.service.keep_clean else { return };
    let mounted = Arc::downgrade(&route.0);
    let shared = Arc::downgrade(shared);
    // Detached: it ends when the service is removed or the server stops.
    drop(R::spawn(async move {
        loop {
            R::sleep_until(Instant::now() + interval).await;
            let (Some(mounted), Some(shared)) = (mounted.upgrade(), shared.upgrade()) else { return };
            if !shared.keep_clean(&mounted) {
                return;
            }
        }
    }));
}

/// Polls `future` until it completes or the server stops (`None`).
async fn unless_stopped<F: Future>(shared: &Shared, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    poll_fn(|cx| {
        // The stop signal moves only once, after `stopping` is set: either it moved, or this
        // task is registered to hear it.
        if shared.is_stopping() || shared.stop.poll_changed(cx, 0).is_ready() {
            return Poll::Ready(None);
        }
        future.as_mut().poll(cx).map(Some)
    })
    .await
}

async fn accept_loop<R: ServerRuntime>(listener: R::TcpListener, shared: Arc<Shared>) {
    let mut backoff = MIN_ACCEPT_BACKOFF;
    loop {
        // The connection limit: wait for one to end.
        let below_limit = poll_fn(|cx| loop {
            let seen = shared.changed.generation();
            if !shared.at_connection_limit() {
                return Poll::Ready(());
            }
            std::task::ready!(shared.changed.poll_changed(cx, seen));
        });
        if unless_stopped(&shared, below_limit).await.is_none() {
            break;
        }
        match unless_stopped(&shared, R::accept(&listener)).await {
            None => break,
            Some(Ok((stream, remote_addr))) => {
                backoff = MIN_ACCEPT_BACKOFF;
                let slot = shared.connection_slot();
                drop(R::spawn(async move {
                    let slot = slot;
                    serve_tcp::<R>(stream, remote_addr, &slot.0).await;
                }));
            }
            Some(Err(error)) => {
                // Out of descriptors, or a connection reset before it was accepted: wait and
                // go on; the server never stops on its own.
                tracing::warn!(%error, ?backoff, "accept failed; retrying");
                unless_stopped(&shared, R::sleep_until(Instant::now() + backoff)).await;
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
            }
        }
    }
    drop(listener);
    shared.stopped_listening();
    tracing::info!(local_addr = %shared.local_addr, "server stopped accepting");
}

async fn serve_tcp<R: ServerRuntime>(stream: R::TcpStream, remote_addr: SocketAddr, shared: &Arc<Shared>) {
    let local_addr = R::stream_local_addr(&stream).unwrap_or(shared.local_addr);
    let peer = Peer::plain(remote_addr, local_addr);
    #[cfg(feature = "rustls")]
    if let Some(acceptor) = &shared.tls {
        // Boxed: the task of a plain connection keeps no room for a TLS stream.
        return Box::pin(serve_tls::<R>(stream, peer, acceptor, shared)).await;
    }
    serve_stream::<R::TcpStream, R>(stream, peer, shared, nodelay::<R>).await;
}

/// A `wss://` (and `https://`) connection: the TLS handshake within the handshake timeout,
/// then the connection as over TCP.
#[cfg(feature = "rustls")]
async fn serve_tls<R: ServerRuntime>(
    stream: R::TcpStream,
    mut peer: Peer,
    acceptor: &crate::tls::TlsAcceptor,
    shared: &Arc<Shared>,
) {
    let deadline = Instant::now().checked_add(shared.handshake.handshake_timeout);
    let tls = match R::tls_accept(acceptor, stream, deadline).await {
        Ok(tls) => tls,
        Err(error) => return tracing::debug!(%error, remote = %peer.remote_addr, "TLS handshake failed"),
    };
    peer.secure = true;
    peer.certificates = R::tls_parts(&tls).1;
    let prepare = |stream: &R::TlsServerStream, service: &Service| nodelay::<R>(R::tls_parts(stream).0, service);
    serve_stream::<R::TlsServerStream, R>(tls, peer, shared, prepare).await;
}

/// The service's `TCP_NODELAY` (the runtime's accept turned it on).
fn nodelay<R: ServerRuntime>(stream: &R::TcpStream, service: &Service) {
    if !service.nodelay {
        let _ = R::set_nodelay(stream, false);
    }
}

/// One connection: the handshake, the core's decision, then the session.
async fn serve_stream<S: Unpin, R: RuntimeIo<S>>(
    stream: S,
    peer: Peer,
    shared: &Arc<Shared>,
    prepare: impl FnOnce(&S, &Service),
) {
    // Boxed: the handshake's state is freed before the session starts, so that a task that
    // holds a session for hours keeps no room for it. The session's future is made outside
    // this one's frame, so that what it takes (the driver, the session) is held once.
    let opened = Box::pin(handshake::<S, R>(stream, peer, shared)).await;
    let Some(session) = opened.map(|(io, upgrade)| open_session(io, upgrade, prepare)) else { return };
    session.await;
}

/// The session of an accepted upgrade: its socket options, its driver and its hooks.
fn open_session<S: Unpin, R: RuntimeIo<S>>(
    io: Io<S, R>,
    upgrade: Upgrade,
    prepare: impl FnOnce(&S, &Service),
) -> impl Future<Output = ()> {
    prepare(io.stream(), &upgrade.route.0.service);
    let driver = Driver::new(io, upgrade.connection);
    let pump = Pump::open(&upgrade.route.0, upgrade.opening);
    run_session(driver, pump)
}

/// The connection's HTTP phase: plain requests answered by the server's routes (the core's
/// `ServerConn` keeps the protocol; [`Exchange`] decides what comes next), until a WebSocket
/// upgrade, then the core's decision on it. `None` once the connection is over or refused.
async fn handshake<S, R: RuntimeIo<S>>(stream: S, peer: Peer, shared: &Shared) -> Option<(Io<S, R>, Upgrade)> {
    let mut io = Io::<S, R>::new(stream);
    let mut exchange = Exchange::new(shared, peer.clone(), Instant::now());
    let mut timer = Timer::<R>::default();
    let failed = |error: io::Error| {
        tracing::debug!(%error, remote = %peer.remote_addr, "HTTP connection failed");
        Poll::Ready(None)
    };
    let upgrade = poll_fn(|cx| loop {
        match exchange.step(crate::DEFAULT_HIGH_WATER_MARK) {
            Step::Write => match io.poll_write_buf(cx, Slot::Reader, exchange.conn.transmit(Instant::now())) {
                Poll::Ready(Ok(())) => continue, // a streamed body may go on, requests be answered
                Poll::Ready(Err(error)) => return failed(error),
                // Reading goes on meanwhile: the core bounds what it takes in.
                Poll::Pending => {}
            },
            Step::Shutdown => match io.poll_shutdown(cx, Slot::Reader) {
                Poll::Ready(_) => {
                    exchange.shut_down();
                    continue;
                }
                Poll::Pending => {}
            },
            Step::Upgrade(upgrade) => return Poll::Ready(Some(upgrade)),
            Step::Done => return Poll::Ready(None),
            Step::Wait => {}
        }
        if let Some(deadline) = exchange.poll_timeout() {
            let now = Instant::now();
            if now >= deadline || timer.poll(cx, deadline).is_ready() {
                exchange.handle_timeout(now.max(deadline));
                continue;
            }
        }
        let conn = &mut exchange.conn;
        if conn.wants_input() {
            match io.poll_read(cx, |input| conn.handle_input(input)) {
                Poll::Ready(Ok(Some(()))) => continue,
                Poll::Ready(Ok(None)) => {
                    conn.handle_eof();
                    continue;
                }
                Poll::Ready(Err(error)) => return failed(error),
                Poll::Pending => {}
            }
        }
        return Poll::Pending;
    })
    .await?;
    let refusal_deadline = Instant::now().checked_add(shared.handshake.close_timeout);
    match shared.upgrade(*upgrade, &peer) {
        Ok(upgrade) => Some((io, upgrade)),
        Err(response) => {
            io.write_and_shut(response, refusal_deadline).await;
            None
        }
    }
}

/// Drives a session until it ends: the outbound queue into the core, the core's events to the
/// behaviour, senders waiting for room let go at their deadline. A future written by hand, so
/// that the driver and the session are held once (an `async fn` keeps its arguments twice),
/// for the idle memory of a session.
struct SessionTask<S, R: Runtime> {
    driver: Driver<S, R>,
    pump: Pump,
    waiters: Timer<R>,
}

fn run_session<S, R: RuntimeIo<S>>(driver: Driver<S, R>, pump: Pump) -> SessionTask<S, R> {
    SessionTask { driver, pump, waiters: Timer::default() }
}

impl<S: Unpin, R: RuntimeIo<S>> Future for SessionTask<S, R> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Nothing here is pinned structurally: the driver and the timer box what must not move.
        let this = self.get_mut();
        let (driver, pump) = (&mut this.driver, &mut this.pump);
        let high_water = driver.high_water;
        let (closed, error) = loop {
            pump.drain(&mut driver.connection, high_water, Some(cx.waker()));
            // Every deadline that passed lets its sender go, and the timer is left armed for the
            // next one: a timer that fired holds no wakeup.
            while let Some(deadline) = pump.session.0.outbox.earliest_waiter() {
                let now = Instant::now();
                if now < deadline && this.waiters.poll(cx, deadline).is_pending() {
                    break;
                }
                pump.session.0.outbox.expire_waiters(now.max(deadline));
            }
            match driver.poll_event(cx) {
                Poll::Ready(Ok(event)) => pump.event(event),
                Poll::Ready(Err(Error::Closed(closed))) => break (closed, None),
                Poll::Ready(Err(error)) => break (driver.closed.clone().unwrap_or_else(abnormal), Some(error)),
                Poll::Pending => {
                    pump.settle(&driver.connection);
                    // The socket took everything while the queue still holds items that did not
                    // fit under the high-water mark: no push and no write readiness will wake this
                    // task for them, so come back for them (after the runtime's other tasks).
                    if driver.connection.pending_transmit() <= high_water && pump.session.0.outbox.has_items() {
                        cx.waker().wake_by_ref();
                    }
                    return Poll::Pending;
                }
            }
        };
        pump.settle(&driver.connection);
        pump.closed(&closed, error);
        Poll::Ready(())
    }
}

#[cfg(all(test, feature = "tokio"))]
mod tests {
    /// A session's task holds its driver and its session once: idle memory per session is
    /// mostly this future (BENCHMARKS.md, "Broadcast": 3.7 KB per idle session in all). An
    /// `async fn` that took the driver as an argument kept it twice (3,640 bytes).
    #[test]
    fn a_connection_task_holds_its_driver_once() {
        use crate::tokio::Tokio;
        let driver = std::mem::size_of::<crate::runtime::driver::Driver<tokio::net::TcpStream, Tokio>>();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let shared = crate::server::ServerBuilder::default().into_shared(addr);
            let task = super::serve_tcp::<Tokio>(stream, addr, &shared);
            let size = std::mem::size_of_val(&task);
            assert!(size < driver + 512, "{size} bytes for a driver of {driver}");
        });
    }
}
