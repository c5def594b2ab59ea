//! A running server, whatever drives it: one type, [`Server<R>`], on an async runtime `R`
//! (`Server<Tokio>`, `Server<Smol>`, `Server<AsyncStd>`) or on threads (`Server<Threads>`,
//! [`BlockingServer`](super::BlockingServer)). What does not depend on the driver is written
//! here once; starting, adding a service (its timer) and stopping are each driver's.

use super::builder::{ServerBuilder, Shared};
use super::sessions::Sessions;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;

/// A running server, driven by `R`: an async runtime (started with [`ServerBuilder`]'s
/// `start`, features `tokio`, `smol`, `async-std`) or threads (`Threads`, started with its
/// `start_blocking`, feature `blocking`). Services can be added and removed while it runs; `stop` closes every session
/// and waits for the close handshakes (`async` on a runtime, blocking on threads). Dropping
/// the handle leaves the server running; clones share it.
///
/// ```
/// # #[cfg(feature = "blocking")] {
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
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Server<R> {
    pub(crate) shared: Arc<Shared>,
    _driver: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for Server<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("local_addr", &self.shared.local_addr).finish_non_exhaustive()
    }
}

impl<R> Clone for Server<R> {
    fn clone(&self) -> Self {
        Self::new(self.shared.clone())
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

impl<R> Server<R> {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared, _driver: PhantomData }
    }

    /// The address the server listens on.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// let server = laputa::server::Server::builder().bind("127.0.0.1:0").start_blocking()?;
    /// assert!(server.local_addr().ip().is_loopback());
    /// assert_ne!(server.local_addr().port(), 0, "the port the system chose");
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "");
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// How many connections are open, handshakes included. On threads, a connection counts
    /// until both of its threads have ended.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// let server = Server::builder().bind("127.0.0.1:0").service("/Echo", echo)?.start_blocking()?;
    /// assert_eq!(server.connections(), 0);
    /// let (mut ws, _) = laputa::blocking::connect(format!("ws://{}/Echo", server.local_addr()).as_str())?;
    /// assert_eq!(server.connections(), 1, "counted from its accept");
    /// ws.close()?;
    /// # while server.connections() > 0 { std::thread::yield_now(); }
    /// server.stop(laputa::CloseCode::GOING_AWAY, "");
    /// assert_eq!(server.connections(), 0);
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connections(&self) -> usize {
        self.shared.connections.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Removes the service at `path`: new requests get 404, and its sessions are closed with
    /// 1001 (going away). False if there was none.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// let server = Server::builder().bind("127.0.0.1:0").service("/Echo", echo)?.start_blocking()?;
    /// assert!(server.remove_service("/Echo"));
    /// assert!(!server.remove_service("/Echo"), "already removed");
    /// let refused = laputa::blocking::connect(format!("ws://{}/Echo", server.local_addr()).as_str()).unwrap_err();
    /// assert_eq!(refused.http_status(), Some(http::StatusCode::NOT_FOUND));
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "");
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove_service(&self, path: &str) -> bool {
        self.shared.remove_service(path)
    }

    /// The sessions of the service at `path`.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// let server = Server::builder().bind("127.0.0.1:0").service("/Echo", echo)?.start_blocking()?;
    /// let (_ws, _) = laputa::blocking::connect(format!("ws://{}/Echo", server.local_addr()).as_str())?;
    /// let sessions = server.sessions("/Echo").expect("mounted");
    /// # while sessions.count() < 1 { std::thread::yield_now(); }
    /// assert_eq!(sessions.count(), 1);
    /// assert!(server.sessions("/nowhere").is_none());
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "");
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sessions(&self, path: &str) -> Option<Sessions> {
        self.shared.sessions(path)
    }

    /// The paths of the services.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// # use laputa::server::{Server, Service, Session};
    /// # let service = || Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// let server = Server::builder().bind("127.0.0.1:0").service("/Echo", service())?.start_blocking()?;
    /// server.add_service("/Chat", service())?;
    /// let mut paths = server.paths();
    /// paths.sort();
    /// assert_eq!(paths, ["/Chat", "/Echo"]);
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "");
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn paths(&self) -> Vec<String> {
        self.shared.paths()
    }
}
