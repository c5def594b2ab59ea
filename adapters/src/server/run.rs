//! The async server, written once over [`Runtime`](crate::runtime::Runtime): the accept loop
//! (connection limit, backoff on accept errors, stop), one task per connection (the handshake,
//! the core's decision, then the session), the services' sweep timers, and `stop`.

use super::builder::{Peer, ServerBuilder, Shared, Upgrade, MAX_ACCEPT_BACKOFF, MIN_ACCEPT_BACKOFF};
use super::pump::{abnormal, Pump};
use super::service::{Route, Service};
use super::sessions::Sessions;
use crate::runtime::driver::{Driver, Io, Timer};
use crate::runtime::{RuntimeIo, TcpRuntime};
use crate::Error;
use laputa_core::handshake::{HandshakeError, ServerHandshake};
use laputa_core::server::RouteError;
use laputa_core::CloseCode;
use std::future::{poll_fn, Future};
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

/// What the server needs of a runtime beyond [`TcpRuntime`]: a stream's own address and its
/// `TCP_NODELAY` switch. Implemented for every runtime of this crate.
pub trait ServerRuntime: TcpRuntime {
    /// The local address of an accepted stream.
    fn stream_local_addr(stream: &Self::TcpStream) -> io::Result<SocketAddr>;
    /// Sets `TCP_NODELAY` on an accepted stream.
    fn set_nodelay(stream: &Self::TcpStream, nodelay: bool) -> io::Result<()>;
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
    pub async fn start<R: ServerRuntime>(self) -> io::Result<Server<R>> {
        let listener = R::bind(&self.addr).await?;
        let local_addr = R::local_addr(&listener)?;
        let shared = self.into_shared(local_addr);
        for route in shared.routes() {
            start_service::<R>(&shared, &route);
        }
        tracing::info!(%local_addr, "server listening");
        drop(R::spawn(accept_loop::<R>(listener, shared.clone())));
        Ok(Server { shared, _runtime: PhantomData })
    }
}

/// A running server on runtime `R`. Services can be added and removed while it runs;
/// [`stop`](Self::stop) closes every session and waits for the close handshakes. Dropping the
/// handle leaves the server running.
pub struct Server<R> {
    shared: Arc<Shared>,
    _runtime: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for Server<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("local_addr", &self.shared.local_addr).finish_non_exhaustive()
    }
}

impl<R> Clone for Server<R> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone(), _runtime: PhantomData }
    }
}

impl Server<()> {
    /// A builder for a server.
    ///
    /// ```
    /// let builder = laputa::server::Server::builder().bind("127.0.0.1:4649");
    /// # let _ = builder;
    /// ```
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }
}

impl<R: ServerRuntime> Server<R> {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// How many connections are open (handshakes included).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Mounts `service` at `path` while the server runs; returns its sessions.
    pub fn add_service(&self, path: &str, service: Service) -> Result<Sessions, RouteError> {
        let route = self.shared.add_service(path, service)?;
        start_service::<R>(&self.shared, &route);
        Ok(route.0.sessions.clone())
    }

    /// Removes the service at `path`: new requests get 404, and its sessions are closed with
    /// 1001 (going away). False if there was none.
    pub fn remove_service(&self, path: &str) -> bool {
        self.shared.remove_service(path)
    }

    /// The sessions of the service at `path`.
    pub fn sessions(&self, path: &str) -> Option<Sessions> {
        self.shared.sessions(path)
    }

    /// The paths of the services.
    pub fn paths(&self) -> Vec<String> {
        self.shared.paths()
    }

    /// Stops the server: no more connections are accepted (the port is released), every
    /// session is closed with `code` and `reason`, and this waits until every session ended or
    /// the longest close timeout of the services passed (a connection still open then ends at
    /// its own close timeout).
    pub async fn stop(&self, code: CloseCode, reason: &str) {
        let (routes, wait) = self.shared.begin_stop(code, reason);
        let mut sleep = pin!(R::sleep_until(Instant::now() + wait));
        poll_fn(|cx| loop {
            let seen = self.shared.changed.generation();
            if routes.iter().all(|route| route.0.sessions.count() == 0) || sleep.as_mut().poll(cx).is_ready() {
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
        if shared.is_stopping() {
            return Poll::Ready(None);
        }
        let _ = shared.stop.poll_changed(cx, 0);
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
    tracing::info!(local_addr = %shared.local_addr, "server stopped accepting");
}

async fn serve_tcp<R: ServerRuntime>(stream: R::TcpStream, remote_addr: SocketAddr, shared: &Arc<Shared>) {
    let local_addr = R::stream_local_addr(&stream).unwrap_or(shared.local_addr);
    let peer = Peer { remote_addr, local_addr, secure: false };
    let prepare = |stream: &R::TcpStream, service: &Service| {
        if !service.nodelay {
            let _ = R::set_nodelay(stream, false);
        }
    };
    serve_stream::<R::TcpStream, R>(stream, peer, shared, prepare).await;
}

/// One connection: the handshake, the core's decision, then the session.
async fn serve_stream<S, R: RuntimeIo<S>>(
    stream: S,
    peer: Peer,
    shared: &Arc<Shared>,
    prepare: impl FnOnce(&S, &Service),
) {
    // Boxed: the handshake's state is freed before the session starts, so that a task that
    // holds a session for hours keeps no room for it.
    let Some((io, upgrade)) = Box::pin(handshake::<S, R>(stream, peer, shared)).await else { return };
    prepare(io.stream(), &upgrade.route.0.service);
    let driver = Driver::new(io, upgrade.connection);
    let pump = Pump::open(&upgrade.route.0, upgrade.opening);
    drop(upgrade.route);
    run_session(driver, pump).await;
}

/// Reads the upgrade request and answers it as the core decides; `None` once a refusal or a
/// failed handshake is dealt with.
async fn handshake<S, R: RuntimeIo<S>>(stream: S, peer: Peer, shared: &Shared) -> Option<(Io<S, R>, Upgrade)> {
    let mut handshake = ServerHandshake::new(shared.handshake.clone(), Instant::now());
    let mut io = Io::<S, R>::new(stream);
    let refusal_deadline = Instant::now().checked_add(shared.handshake.close_timeout);
    let request = match io.handshake(&mut handshake).await {
        Ok(request) => request,
        Err(error) => {
            tracing::debug!(%error, remote = %peer.remote_addr, "handshake failed");
            if let Some(response) = error.handshake_error().and_then(HandshakeError::response_bytes) {
                io.write_and_shut(response, refusal_deadline).await;
            }
            return None;
        }
    };
    match shared.decide(request, peer) {
        Ok(upgrade) => Some((io, upgrade)),
        Err((response, _)) => {
            io.write_and_shut(response, Instant::now().checked_add(shared.handshake.close_timeout)).await;
            None
        }
    }
}

/// Drives a session until it ends: the outbound queue into the core, the core's events to the
/// behaviour, senders waiting for room let go at their deadline.
async fn run_session<S, R: RuntimeIo<S>>(mut driver: Driver<S, R>, mut pump: Pump) {
    let mut waiters = Timer::<R>::default();
    let high_water = driver.high_water;
    let (closed, error) = poll_fn(|cx| loop {
        pump.drain(&mut driver.connection, high_water, Some(cx.waker()));
        if let Some(deadline) = pump.session.0.outbox.earliest_waiter() {
            let now = Instant::now();
            if now >= deadline || waiters.poll(cx, deadline).is_ready() {
                pump.session.0.outbox.expire_waiters(now.max(deadline));
            }
        }
        match driver.poll_event(cx) {
            Poll::Ready(Ok(event)) => pump.event(event),
            Poll::Ready(Err(Error::Closed(closed))) => return Poll::Ready((closed, None)),
            Poll::Ready(Err(error)) => {
                return Poll::Ready((driver.closed.clone().unwrap_or_else(abnormal), Some(error)));
            }
            Poll::Pending => {
                pump.settle(&driver.connection);
                return Poll::Pending;
            }
        }
    })
    .await;
    pump.settle(&driver.connection);
    pump.closed(&closed, error);
}
