//! The blocking server: the services of a [`ServerBuilder`] on `std::net` sockets and threads,
//! no runtime. An accept thread (connection limit, backoff on accept errors, stop), one thread
//! per connection for its HTTP phase (plain requests answered by the server's handlers and
//! document root, then a WebSocket upgrade: the async servers' [`Exchange`], driven with reads
//! and writes bounded by its deadlines), and per session two threads around one core:
//!
//! - the **reader** reads the socket holding no lock, feeds the core under the session's lock,
//!   and hands the core's events to the behaviour outside it;
//! - the **writer** (the connection's own thread) waits for work on a condition variable that
//!   the session's outbound queue wakes (through a [`Waker`] made of an `Arc<impl Wake>`),
//!   moves the queue into the core, writes what the core emits holding no lock (a window copied
//!   out of the core, written with the socket's write timeout at the core's next deadline),
//!   honours the core's timers, and once the connection is finished shuts the socket down both
//!   ways, which ends the reader's `read`.
//!
//! Over `wss://` ([`ServerBuilder::tls`](super::ServerBuilder), feature `rustls`) the TLS
//! handshake runs first, within the handshake timeout; the session's rustls connection then
//! lives under its lock with the core (`wire.rs`), and the raw TCP read still happens with no
//! lock held.
//!
//! So a send from any thread goes out while the reader waits in `read`, a write that waits for
//! a slow peer never stops reading (the core bounds what reading adds to its output), and no
//! thread outlives the core's deadlines: a peer that stops reading is let go at the write-stall
//! deadline or, after a close, at the close timeout.

use super::builder::{ConnectionSlot, Peer, ServerBuilder, Shared, Upgrade, MAX_ACCEPT_BACKOFF, MIN_ACCEPT_BACKOFF};
use super::exchange::{Exchange, Step};
use super::handle::Server;
use super::pump::{abnormal, Pump};
use super::service::{Route, Service};
use super::session::Session;
use super::sessions::Sessions;
use super::signal::Signal;
#[cfg(feature = "rustls")]
use super::wire::Tls;
use super::wire::{Plain, Wire, WRITE_WINDOW};
use crate::blocking::{Direction, Stream, Timeout, READ_CHUNK};
use laputa_core::bytes::Buf;
use laputa_core::server::RouteError;
use laputa_core::{CloseCode, Connection, TransmitQueue};
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

impl ServerBuilder {
    /// Listens and starts accepting on a thread of its own: the blocking server, for programs
    /// without an async runtime. Each connection gets a thread for its HTTP requests and
    /// handshake, and each session a second one, so that a session's thread waiting in `read`
    /// never holds up what other threads send it: two threads per session, so size
    /// `max_connections` for the threads the system allows. With `tls` (feature `rustls`) it
    /// serves `https://` and `wss://`; a `wss://` address without it is an error.
    ///
    /// ```
    /// use laputa::server::{Server, Service, Session};
    /// use laputa::{CloseCode, Message};
    ///
    /// let server = Server::builder()
    ///     .bind("127.0.0.1:0")
    ///     .service("/Echo", Service::new(|| |session: &Session, message: Message| {
    ///         session.send(message);
    ///     }))?
    ///     .start_blocking()?;
    /// let (mut ws, _) = laputa::blocking::connect(format!("ws://{}/Echo", server.local_addr()).as_str())?;
    /// ws.send("BALUS")?;
    /// assert_eq!(ws.read()?.as_text(), Some("BALUS"));
    /// server.stop(CloseCode::GOING_AWAY, "bye");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start_blocking(self) -> io::Result<BlockingServer> {
        self.check_tls()?;
        let listener = TcpListener::bind(&self.addr)?;
        let local_addr = listener.local_addr()?;
        let shared = self.into_shared(local_addr);
        for route in shared.routes() {
            start_service(&shared, &route);
        }
        let accepter = shared.clone();
        thread::Builder::new().name("laputa-accept".into()).spawn(move || accept_loop(listener, &accepter))?;
        tracing::info!(%local_addr, "blocking server listening");
        Ok(Server::new(shared))
    }
}

/// The threads that drive a blocking server: `Server<Threads>`, or [`BlockingServer`]. A name
/// for the type of a server, never a value.
///
/// ```
/// use laputa::server::{Server, Threads};
///
/// let server: Server<Threads> = Server::builder().bind("127.0.0.1:0").start_blocking()?;
/// # server.stop(laputa::CloseCode::GOING_AWAY, "");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub enum Threads {}

/// A running blocking server ([`ServerBuilder::start_blocking`]): the async servers' type,
/// [`Server`], on threads, with the same methods; `stop` blocks.
///
/// ```
/// use laputa::server::{BlockingServer, Server, Service, Session};
/// use laputa::{CloseCode, Message};
///
/// let chat = Service::new(|| |session: &Session, message: Message| {
///     session.sessions().broadcast(message);
/// });
/// let server: BlockingServer = Server::builder().bind("127.0.0.1:0").service("/Chat", chat)?.start_blocking()?;
/// let url = format!("ws://{}/Chat", server.local_addr());
/// let (mut a, _) = laputa::blocking::connect(url.as_str())?;
/// let (mut b, _) = laputa::blocking::connect(url.as_str())?;
/// # while server.sessions("/Chat").unwrap().count() < 2 { std::thread::yield_now(); }
/// a.send("hello all")?;
/// assert_eq!(b.read()?.as_text(), Some("hello all"));
/// assert_eq!(a.read()?.as_text(), Some("hello all"), "the sender too");
/// server.stop(CloseCode::GOING_AWAY, "bye");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type BlockingServer = Server<Threads>;

impl Server<Threads> {
    /// Mounts `service` at `path` while the server runs; returns its sessions. A second
    /// service at the same path is an error.
    ///
    /// ```
    /// use laputa::server::{Server, Service, Session};
    ///
    /// let server = Server::builder().bind("127.0.0.1:0").start_blocking()?;
    /// let echo = || Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// let sessions = server.add_service("/Later", echo())?;
    /// assert!(server.add_service("/Later", echo()).is_err(), "mounted twice");
    /// assert_eq!(sessions.count(), 0);
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_service(&self, path: &str, service: Service) -> Result<Sessions, RouteError> {
        let route = self.shared.add_service(path, service)?;
        start_service(&self.shared, &route);
        Ok(route.0.sessions.clone())
    }

    /// Stops the server: no more connections are accepted (the listener is closed when this
    /// returns), every session is closed with `code` and `reason`, and this blocks until every
    /// session ended or the longest close timeout of the services passed (a connection still
    /// open then ends at its own close timeout).
    ///
    /// ```
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// use laputa::{CloseCode, Error};
    ///
    /// let server = Server::builder().bind("127.0.0.1:0").service("/Echo", echo)?.start_blocking()?;
    /// let url = format!("ws://{}/Echo", server.local_addr());
    /// let (mut ws, _) = laputa::blocking::connect(url.as_str())?;
    /// # while server.sessions("/Echo").unwrap().count() < 1 { std::thread::yield_now(); }
    /// server.stop(CloseCode::GOING_AWAY, "maintenance");
    /// let Err(Error::Closed(closed)) = ws.read() else { panic!("not closed") };
    /// assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::GOING_AWAY, "maintenance"));
    /// assert!(laputa::blocking::connect(url.as_str()).is_err(), "no longer listening");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stop(&self, code: CloseCode, reason: &str) {
        let shared = &self.shared;
        let (routes, wait) = shared.begin_stop(code, reason);
        let deadline = Some(Instant::now() + wait);
        // An accept thread waiting at the connection limit looks again; one waiting in
        // `accept` takes a connection of ours, sees the stop and closes the listener.
        shared.changed.notify();
        let accept_woken = wake_accept(shared.local_addr);
        let wakeup = Arc::new(Wakeup::default());
        wait_for(&shared.changed, &wakeup, deadline, || {
            (!accept_woken || !shared.listening.load(Ordering::SeqCst))
                && routes.iter().all(|route| route.0.sessions.count() == 0)
        });
    }
}

/// Connects to the listener at `addr` (its loopback when it listens on every address), so
/// that an accept thread waiting in `accept` wakes up. False if that failed.
fn wake_accept(addr: SocketAddr) -> bool {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

/// Wakes a thread that waits for something: a session's writer for its outbound queue and
/// its input (as the queue's [`Waker`]), `stop` and the accept thread for the server's
/// [`Signal`]s. A wake before the wait is not lost.
#[derive(Debug, Default)]
struct Wakeup {
    woken: Mutex<bool>,
    condvar: Condvar,
}

impl Wake for Wakeup {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        *self.woken.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.condvar.notify_one();
    }
}

impl Wakeup {
    /// Waits until woken or until `deadline`; false when the deadline passed first.
    fn wait(&self, deadline: Option<Instant>) -> bool {
        let mut woken = self.woken.lock().unwrap_or_else(PoisonError::into_inner);
        while !*woken {
            let timeout = match deadline {
                None => None,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return false,
                },
            };
            woken = match timeout {
                None => self.condvar.wait(woken).unwrap_or_else(PoisonError::into_inner),
                Some(left) => self.condvar.wait_timeout(woken, left).unwrap_or_else(PoisonError::into_inner).0,
            };
        }
        *woken = false;
        true
    }
}

/// Blocks until `ready` holds, looking again whenever `signal` moves, or until `deadline`;
/// whether it holds.
fn wait_for(signal: &Signal, wakeup: &Arc<Wakeup>, deadline: Option<Instant>, mut ready: impl FnMut() -> bool) -> bool {
    let waker = Waker::from(wakeup.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        let seen = signal.generation();
        if ready() {
            return true;
        }
        if signal.poll_changed(&mut cx, seen).is_pending() && !wakeup.wait(deadline) {
            return ready();
        }
    }
}

/// Starts a service's keep-clean thread, if it has one.
fn start_service(shared: &Arc<Shared>, route: &Route) {
    route.0.sessions.set_changed(shared.changed.clone());
    let Some(interval) = route.0.service.keep_clean else { return };
    let (mounted, shared) = (Arc::downgrade(&route.0), Arc::downgrade(shared));
    let timer = move || {
        let wakeup = Arc::new(Wakeup::default());
        // It ends when the service is removed or the server stops.
        while let (Some(mounted), Some(shared)) = (mounted.upgrade(), shared.upgrade()) {
            let until = Some(Instant::now() + interval);
            if wait_for(&shared.stop, &wakeup, until, || shared.is_stopping()) || !shared.keep_clean(&mounted) {
                return;
            }
        }
    };
    if let Err(error) = thread::Builder::new().name("laputa-keep-clean".into()).spawn(timer) {
        tracing::warn!(%error, path = %route.0.path, "no thread for the keep-clean timer");
    }
}

/// Accepts until the server stops, within the connection limit; errors (out of descriptors, a
/// connection reset before it was accepted) are waited out, doubling the wait up to
/// [`MAX_ACCEPT_BACKOFF`]: the server never stops on its own.
fn accept_loop(listener: TcpListener, shared: &Arc<Shared>) {
    let wakeup = Arc::new(Wakeup::default());
    let mut backoff = MIN_ACCEPT_BACKOFF;
    loop {
        wait_for(&shared.changed, &wakeup, None, || shared.is_stopping() || !shared.at_connection_limit());
        if shared.is_stopping() {
            break;
        }
        let accepted = listener.accept();
        if shared.is_stopping() {
            break;
        }
        let error = match accepted {
            Ok((stream, remote_addr)) => {
                backoff = MIN_ACCEPT_BACKOFF;
                let slot = shared.connection_slot();
                let spawned = thread::Builder::new()
                    .name("laputa-connection".into())
                    .spawn(move || serve_tcp(stream, remote_addr, slot));
                match spawned {
                    Ok(_) => continue,
                    // The connection and its slot went with the closure.
                    Err(error) => error,
                }
            }
            Err(error) => error,
        };
        tracing::warn!(%error, ?backoff, "blocking server: accept failed; retrying");
        wait_for(&shared.stop, &wakeup, Some(Instant::now() + backoff), || shared.is_stopping());
        backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
    }
    drop(listener);
    shared.stopped_listening();
    tracing::info!(local_addr = %shared.local_addr, "blocking server stopped accepting");
}

/// One connection on its own thread: the HTTP phase, the core's decision on an upgrade, then
/// the session.
fn serve_tcp(mut stream: TcpStream, remote_addr: SocketAddr, slot: ConnectionSlot) {
    let shared = &slot.0;
    let local_addr = stream.local_addr().unwrap_or(shared.local_addr);
    let peer = Peer::plain(remote_addr, local_addr);
    #[cfg(feature = "rustls")]
    if let Some(acceptor) = &shared.tls {
        return serve_tls(acceptor, stream, peer, shared);
    }
    let Some(upgrade) = http_phase(&mut stream, &peer, shared) else { return };
    run_session(stream, Plain, upgrade);
}

/// A `wss://` (and `https://`) connection: the TLS handshake within the handshake timeout,
/// then as over TCP, with the session's rustls connection under its lock.
#[cfg(feature = "rustls")]
fn serve_tls(acceptor: &crate::tls::TlsAcceptor, stream: TcpStream, mut peer: Peer, shared: &Shared) {
    use crate::tls::ServerTlsStream;
    let deadline = Instant::now().checked_add(shared.handshake.handshake_timeout);
    let mut tls = match acceptor.accept_blocking(stream, deadline) {
        Ok(tls) => tls,
        Err(error) => return tracing::debug!(%error, remote = %peer.remote_addr, "TLS handshake failed"),
    };
    peer.secure = true;
    peer.certificates = tls.peer_certificates().map(Arc::from);
    let Some(upgrade) = http_phase(&mut tls, &peer, shared) else { return };
    let (session, stream) = tls.into_parts();
    run_session(stream, Tls::new(session), upgrade);
}

/// The connection's HTTP phase on this thread, as [`Exchange`] decides it: plain requests
/// answered by the server's routes, every read and write waiting at most until the exchange's
/// next deadline (the core's timers, the write-stall deadline). Then an upgrade request's
/// decision: the session, or `None` once the refusal is written within the close timeout (or
/// the connection ended).
fn http_phase<S: Stream>(stream: &mut S, peer: &Peer, shared: &Shared) -> Option<Upgrade> {
    let mut exchange = Exchange::new(shared, peer.clone(), Instant::now());
    let mut buf = vec![0; READ_CHUNK];
    let request = loop {
        let moved = match exchange.step(crate::DEFAULT_HIGH_WATER_MARK) {
            Step::Write => {
                let deadline = exchange.poll_timeout();
                write_buf(stream, exchange.conn.transmit(Instant::now()), deadline)
            }
            Step::Shutdown => {
                exchange.shut_down();
                stream.shutdown_write().map(|()| true)
            }
            Step::Wait => read_into(stream, &mut exchange, &mut buf),
            Step::Upgrade(request) => break request,
            Step::Done => return None,
        };
        match moved {
            Ok(true) => {}
            Ok(false) => exchange.handle_timeout(Instant::now()),
            Err(error) => {
                tracing::debug!(%error, remote = %peer.remote_addr, "HTTP connection failed");
                return None;
            }
        }
    };
    let deadline = Instant::now().checked_add(shared.handshake.close_timeout);
    match shared.upgrade(*request, peer) {
        Ok(upgrade) => Some(upgrade),
        Err(response) => {
            // Best effort: a client that reads nothing holds the thread until the deadline.
            let mut rest = response.as_slice();
            while rest.has_remaining() && matches!(write_buf(stream, &mut rest, deadline), Ok(true)) {}
            let _ = stream.shutdown_write();
            None
        }
    }
}

/// Writes from `out` once (vectored; then flushes once it is empty), advancing it past what
/// the stream took, waiting at most until `deadline`: `Ok(false)` when that passed first.
fn write_buf<S: Stream>(stream: &mut S, out: &mut impl Buf, deadline: Option<Instant>) -> io::Result<bool> {
    let Some(timeout) = Timeout::apply(stream, Direction::Write, deadline)? else { return Ok(false) };
    let mut slices = [IoSlice::new(&[]); TransmitQueue::MAX_WRITE_SLICES];
    let count = out.chunks_vectored(&mut slices);
    let written = loop {
        match stream.write_vectored(&slices[..count]) {
            Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => break Ok(n),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => break Err(error),
        }
    };
    let written = match written {
        Ok(n) => {
            out.advance(n);
            if out.has_remaining() {
                Ok(())
            } else {
                stream.flush()
            }
        }
        Err(error) => Err(error),
    };
    Ok(timeout.finish(stream, written)?.is_some())
}

/// Reads once into the exchange's connection while it wants input, waiting at most until its
/// next deadline: `Ok(false)` when that passed first.
fn read_into<S: Stream>(stream: &mut S, exchange: &mut Exchange, buf: &mut [u8]) -> io::Result<bool> {
    let deadline = exchange.poll_timeout();
    if !exchange.conn.wants_input() {
        // Only time moves a connection that reads nothing and has nothing to write.
        let Some(deadline) = deadline else { return Err(io::ErrorKind::InvalidInput.into()) };
        thread::sleep(deadline.saturating_duration_since(Instant::now()));
        return Ok(false);
    }
    let Some(timeout) = Timeout::apply(stream, Direction::Read, deadline)? else { return Ok(false) };
    let read = loop {
        match stream.read(buf) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            other => break other,
        }
    };
    match timeout.finish(stream, read)? {
        None => Ok(false),
        Some(0) => {
            exchange.conn.handle_eof();
            Ok(true)
        }
        Some(n) => {
            exchange.conn.handle_input(&buf[..n]);
            Ok(true)
        }
    }
}

/// What the session's lock guards: the core and the wire beside it.
struct Core<W> {
    connection: Connection,
    wire: W,
    /// The socket failed: what was queued is dropped and nothing more is written.
    broken: bool,
    /// The core is done writing: the TCP write side is shut down once the wire's last bytes
    /// (TLS `close_notify`) are out.
    closing: bool,
}

/// One session, shared by its reader and writer threads. Locks are taken in one order, the
/// behaviour's before the core's, and the core's is never held across a read, a write or a
/// hook.
struct Link<W> {
    core: Mutex<Core<W>>,
    /// The behaviour and what waits for bytes to be written; held while a hook runs.
    pump: Mutex<Pump>,
    /// The session, for its queue's waiting senders without the behaviour's lock.
    session: Session,
    /// Wakes the writer: the queue's `Waker`, and the reader's signal after input.
    wakeup: Arc<Wakeup>,
    waker: Waker,
    high_water: usize,
    /// The longest a write waits before the writer looks at the session again: a quarter of
    /// the shorter of the close and write-stall timeouts. A deadline that starts during the
    /// write (a close frame the reader moved into the core) is then never missed; a close
    /// queued while the reader is idle too enters the core at most this late.
    write_cap: Duration,
}

impl<W: Wire> Link<W> {
    fn core(&self) -> MutexGuard<'_, Core<W>> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the outbound queue into the core and hands the core's events to the behaviour,
    /// the core's lock released while each hook runs. Then hands the output over, so that a
    /// close frame just queued starts its close timeout now, whatever the writer is doing.
    fn deliver(&self) {
        let mut pump = self.pump.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let event = {
                let mut core = self.core();
                pump.drain(&mut core.connection, self.high_water, Some(&self.waker));
                let event = core.connection.poll_event();
                if event.is_none() && core.connection.wants_transmit() {
                    core.connection.transmit(Instant::now());
                }
                event
            };
            match event {
                Some(event) => pump.event(event),
                None => return,
            }
        }
    }

    /// The socket failed, reading or writing: the session ends as an abnormal closure.
    fn fail(&self, error: io::Error) {
        let mut pump = self.pump.lock().unwrap_or_else(PoisonError::into_inner);
        if self.break_socket() {
            tracing::debug!(%error, id = %self.session.id(), "socket failed: the session ends");
            pump.closed(&abnormal(), Some(error.into()));
        }
    }

    /// Nothing more crosses the socket: what is queued is dropped, the core sees the end of
    /// its input, and the writer wakes up to finish. False if that was done already.
    fn break_socket(&self) -> bool {
        let mut core = self.core();
        if core.connection.is_finished() || core.broken {
            return false;
        }
        core.connection.transmit(Instant::now()).clear();
        core.connection.handle_eof();
        core.broken = true;
        self.waker.wake_by_ref();
        true
    }

    /// Runs one side of the session (or its last events). A hook that panics there ends the
    /// session as a broken socket, so that the other side does not wait for it.
    fn guarded(&self, side: impl FnOnce(&Self)) {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| side(self))).is_err() {
            tracing::warn!(id = %self.session.id(), "a hook panicked: the session ends");
            self.break_socket();
        }
    }

    /// The reader: reads with no lock held, feeds the core, hands over the events, wakes the
    /// writer; until the peer's EOF, a socket error, or the end of the connection.
    fn read_loop(&self, mut stream: impl Read) {
        let mut buf = vec![0; READ_CHUNK];
        loop {
            let read = stream.read(&mut buf);
            let mut core = self.core();
            if core.connection.is_finished() || core.broken {
                return;
            }
            let eof = match read {
                Ok(0) => {
                    core.connection.handle_eof();
                    true
                }
                Ok(n) => {
                    let Core { connection, wire, .. } = &mut *core;
                    if let Err(error) = wire.input(connection, &buf[..n]) {
                        drop(core);
                        return self.fail(error);
                    }
                    false
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    drop(core);
                    return self.fail(error);
                }
            };
            drop(core);
            self.deliver();
            self.waker.wake_by_ref();
            if eof {
                return;
            }
        }
    }

    /// The writer: moves the outbound queue into the core, writes what the core emits with no
    /// lock held, shuts down the write side when the core says so, honours the core's timers,
    /// and waits for work; until the connection is finished or the socket broke.
    fn write_loop(&self, stream: &mut TcpStream) {
        let mut window = Vec::with_capacity(WRITE_WINDOW);
        loop {
            self.deliver();
            let deadline = {
                let mut core = self.core();
                if core.connection.is_finished() || core.broken {
                    return;
                }
                window.clear();
                let Core { connection, wire, .. } = &mut *core;
                wire.stage(connection, Instant::now(), &mut window);
                if window.is_empty() && connection.poll_shutdown() {
                    wire.close();
                    wire.stage(connection, Instant::now(), &mut window);
                    core.closing = true;
                }
                if window.is_empty() && std::mem::take(&mut core.closing) {
                    if let Err(error) = stream.shutdown(Shutdown::Write) {
                        tracing::debug!(%error, "shutting down the write side failed");
                    }
                }
                core.connection.poll_timeout()
            };
            if window.is_empty() {
                self.wait(deadline);
                continue;
            }
            let until = earliest(deadline, Instant::now().checked_add(self.write_cap));
            match write_within(stream, &window, until) {
                Ok(Some(n)) => {
                    let mut core = self.core();
                    if !core.broken {
                        let Core { connection, wire, .. } = &mut *core;
                        wire.written(connection, n);
                    }
                }
                Ok(None) => self.timeout(deadline),
                Err(error) => self.fail(error),
            }
        }
    }

    /// Waits for a push, input, or the next deadline (the core's, or a waiting sender's).
    fn wait(&self, deadline: Option<Instant>) {
        let outbox = &self.session.0.outbox;
        let waiter = outbox.earliest_waiter();
        if self.wakeup.wait(earliest(deadline, waiter)) {
            return;
        }
        if waiter.is_some_and(|waiter| waiter <= Instant::now()) {
            outbox.expire_waiters(Instant::now());
        }
        self.timeout(deadline);
    }

    /// Tells the core the time once its deadline has passed.
    fn timeout(&self, deadline: Option<Instant>) {
        let now = Instant::now();
        if deadline.is_some_and(|deadline| deadline <= now) {
            self.core().connection.handle_timeout(now);
        }
    }
}

/// The earlier of two deadlines, either of which may be absent.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Writes once from `window`, waiting at most until `deadline`: `Ok(None)` when it passed.
fn write_within(stream: &mut TcpStream, window: &[u8], deadline: Option<Instant>) -> io::Result<Option<usize>> {
    let Some(timeout) = Timeout::apply(stream, Direction::Write, deadline)? else { return Ok(None) };
    let written = loop {
        match stream.write(window) {
            Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            other => break other,
        }
    };
    timeout.finish(stream, written)
}

/// Runs an accepted session on this thread (the writer) and a reader thread, until both end.
fn run_session<W: Wire>(mut stream: TcpStream, wire: W, upgrade: Upgrade) {
    if let Err(error) = stream.set_nodelay(upgrade.route.0.service.nodelay) {
        tracing::debug!(%error, "TCP_NODELAY not set");
    }
    let config = upgrade.connection.config();
    let stall = config.write_stall_timeout.unwrap_or(Duration::MAX);
    let write_cap = (config.close_timeout.min(stall) / 4).max(Duration::from_millis(1));
    let pump = Pump::open(&upgrade.route.0, upgrade.opening);
    let wakeup = Arc::new(Wakeup::default());
    let link = Arc::new(Link {
        core: Mutex::new(Core { connection: upgrade.connection, wire, broken: false, closing: false }),
        session: pump.session.clone(),
        pump: Mutex::new(pump),
        waker: Waker::from(wakeup.clone()),
        wakeup,
        high_water: crate::DEFAULT_HIGH_WATER_MARK,
        write_cap,
    });
    drop(upgrade.route);
    // What the wire holds from the handshake (TLS records rustls read ahead) goes in first.
    let buffered = {
        let mut core = link.core();
        let Core { connection, wire, .. } = &mut *core;
        wire.input(connection, &[])
    };
    if let Err(error) = buffered {
        link.fail(error);
    }
    let reader = stream.try_clone().and_then(|read_half| {
        let link = link.clone();
        let read = move || link.guarded(|link| link.read_loop(read_half));
        thread::Builder::new().name("laputa-reader".into()).spawn(read)
    });
    match reader {
        Ok(reader) => {
            link.guarded(|link| link.write_loop(&mut stream));
            // The reader's `read` returns.
            let _ = stream.shutdown(Shutdown::Both);
            let _ = reader.join();
        }
        Err(error) => link.fail(error),
    }
    link.guarded(Link::deliver);
}
