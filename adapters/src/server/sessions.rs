//! The sessions of one service (websocket-sharp's `WebSocketSessionManager`): lookup by id,
//! broadcast encoded once, topics, pings and the sweep, counters.

use super::counters::{Counters, Stats};
use super::outbox::{Outgoing, Sent};
use super::relay::Relay;
use super::session::{check_close, Session, SessionId};
use super::signal::Signal;
use laputa_core::bytes::Bytes;
use laputa_core::cluster::{Body, Target};
use laputa_core::{CloseCode, Message, PreparedMessage};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// How a message handed to many sessions fared, session by session.
///
/// ```
/// use laputa::server::Delivery;
///
/// let delivery = Delivery::default();
/// assert_eq!(delivery.queued + delivery.dropped + delivery.closing, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Delivery {
    /// Sessions that queued it.
    pub queued: usize,
    /// Sessions whose full queue dropped it ([`SlowConsumer::Drop`](super::SlowConsumer::Drop)).
    pub dropped: usize,
    /// Sessions closed for being slow ([`SlowConsumer::Close`](super::SlowConsumer::Close)).
    pub closing: usize,
}

impl Delivery {
    fn count(&mut self, sent: Sent) {
        match sent {
            Sent::Queued => self.queued += 1,
            Sent::Dropped => self.dropped += 1,
            Sent::Closing => self.closing += 1,
            Sent::Closed | Sent::Forwarded => {}
        }
    }
}

#[derive(Default)]
struct Inner {
    sessions: RwLock<HashMap<SessionId, Session>>,
    topics: RwLock<HashMap<Arc<str>, HashMap<SessionId, Session>>>,
    counters: Arc<Counters>,
    /// The server's, told when a session ends.
    changed: std::sync::OnceLock<Arc<Signal>>,
    /// Set once the service is removed or the server stops: the close of every session, those
    /// that join later included.
    closing: std::sync::OnceLock<(CloseCode, String)>,
    /// The backplane that carries broadcasts, topics and sends by id to the other nodes, and
    /// this service's path there.
    relay: std::sync::OnceLock<(Arc<dyn Relay>, Arc<str>)>,
}

/// The sessions of one service. On a server in a cluster (feature `redis`:
/// [`ServerBuilder::cluster`](super::ServerBuilder::cluster)), `broadcast`, `broadcast_except`,
/// `broadcast_prepared`, `broadcast_from`, `publish`, `send_to` and `close_session` reach the
/// sessions of the same path on every node (the [`Delivery`] counts this node's); the others
/// (`count`, `ids`, `get`, `broadcast_wait`, pings, the sweep) are this node's.
///
/// Cheap to clone (a shared handle); every method works from any
/// thread or task and never waits for a session's peer.
///
/// Broadcasts are encoded once: the frame is built once ([`PreparedMessage`]) and every
/// session's queue holds the same bytes. With permessage-deflate, sessions that negotiated no
/// server context takeover share one compressed frame per window size; others compress the
/// message on their own.
///
/// ```
/// use laputa::server::{Behavior, Service, Session};
/// use laputa::Message;
///
/// /// websocket-sharp's `Chat`: every message goes to every session, the sender included.
/// struct Chat;
///
/// impl Behavior for Chat {
///     fn on_message(&mut self, session: &Session, message: Message) {
///         let delivery = session.sessions().broadcast(message);
///         if delivery.dropped > 0 {
///             tracing::warn!(dropped = delivery.dropped, "some readers fall behind");
///         }
///     }
/// }
///
/// let service = Service::new(|| Chat);
/// # #[cfg(feature = "tokio")]
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// #     let server = laputa::server::Server::builder().bind("127.0.0.1:0").service("/chat", service)?;
/// #     let server = server.start::<laputa::tokio::Tokio>().await?;
/// #     let url = format!("ws://{}/chat?name=Sheeta", server.local_addr());
/// #     let (mut ws, _) = laputa::tokio::connect(url.as_str()).await?;
/// #     ws.send("hello").await?;
/// #     let _reply = ws.recv().await?;
/// #     server.stop(laputa::CloseCode::GOING_AWAY, "").await;
/// #     Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct Sessions(Arc<Inner>);

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions").field("count", &self.count()).finish_non_exhaustive()
    }
}

impl Sessions {
    fn read(&self) -> RwLockReadGuard<'_, HashMap<SessionId, Session>> {
        self.0.sessions.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<SessionId, Session>> {
        self.0.sessions.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn counters(&self) -> &Arc<Counters> {
        &self.0.counters
    }

    /// How many sessions are open.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// println!("{} online", sessions.count());
    /// assert_eq!(sessions.count(), 1);
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn count(&self) -> usize {
        self.read().len()
    }

    /// The ids of the open sessions.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// for id in sessions.ids() {
    ///     sessions.send_to(&id, format!("your id is {id}"));
    /// }
    /// # ws.recv().await?;
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ids(&self) -> Vec<SessionId> {
        self.read().keys().cloned().collect()
    }

    /// The ids of sessions that received something from their peer since the last
    /// [`ping_all`](Self::ping_all).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// sessions.ping_all("")?;
    /// # ws.send("still here").await?; ws.recv().await?;
    /// // Later: who answered, or sent anything at all.
    /// for id in sessions.active_ids() {
    ///     println!("{id} is alive");
    /// }
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn active_ids(&self) -> Vec<SessionId> {
        self.ids_where(true)
    }

    /// The ids of sessions that received nothing from their peer since the last
    /// [`ping_all`](Self::ping_all).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// sessions.ping_all("")?;
    /// // Later: who has not answered yet (see `sweep` to close them).
    /// for id in sessions.inactive_ids() {
    ///     println!("{id} has not answered");
    /// }
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn inactive_ids(&self) -> Vec<SessionId> {
        self.ids_where(false)
    }

    fn ids_where(&self, active: bool) -> Vec<SessionId> {
        self.read()
            .iter()
            .filter(|(_, session)| session.0.active.load(Ordering::Relaxed) == active)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The session with this id, if it is open.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// # let id = sessions.ids().remove(0);
    /// // An id kept from `on_open`, or sent by another client.
    /// if let Some(session) = sessions.get(&id) {
    ///     println!("{id} came from {}", session.context().remote_addr());
    /// }
    /// assert!(sessions.get(&laputa::server::SessionId::from("gone")).is_none());
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, id: &SessionId) -> Option<Session> {
        self.read().get(id).cloned()
    }

    /// Every open session.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// // A snapshot: sessions that open or end meanwhile are not in it.
    /// for session in sessions.all().iter().filter(|s| s.buffered_amount() == 0) {
    ///     session.send("you are up to date");
    /// }
    /// # ws.recv().await?;
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn all(&self) -> Vec<Session> {
        self.read().values().cloned().collect()
    }

    /// Sends `message` to every session, encoded once.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// let delivery = sessions.broadcast("the castle is in the sky");
    /// println!("{} queued, {} dropped for slow readers", delivery.queued, delivery.dropped);
    /// # ws.recv().await?;
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn broadcast(&self, message: impl Into<Message>) -> Delivery {
        self.broadcast_prepared(&Arc::new(PreparedMessage::new(message)), None)
    }

    /// Sends `message` to every session but `except` (the sender, usually).
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// let service = Service::new(|| |session: &Session, message: Message| {
    ///     // A chat room: the others hear what the sender said; the sender already knows.
    ///     session.sessions().broadcast_except(session.id(), message);
    /// });
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// #     let server = laputa::server::Server::builder().bind("127.0.0.1:0").service("/chat", service)?;
    /// #     let server = server.start::<laputa::tokio::Tokio>().await?;
    /// #     let url = format!("ws://{}/chat?name=Sheeta", server.local_addr());
    /// #     let (mut ws, _) = laputa::tokio::connect(url.as_str()).await?;
    /// #     ws.send("hello").await?;
    /// #     server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// #     Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn broadcast_except(&self, except: &SessionId, message: impl Into<Message>) -> Delivery {
        self.broadcast_prepared(&Arc::new(PreparedMessage::new(message)), Some(except))
    }

    /// Sends `len` bytes read from `reader` to every session as one binary message, encoded
    /// once (websocket-sharp's `Broadcast(Stream, int)`); fewer bytes than `len` is an
    /// `UnexpectedEof` error and nothing is sent.
    ///
    /// ```
    /// use laputa::server::Sessions;
    ///
    /// let sessions = Sessions::default(); // a service's, in a server
    /// let delivery = sessions.broadcast_from(&b"\x00\x01\x02 and more"[..], 3)?;
    /// assert_eq!(delivery.queued, 0, "no session yet");
    /// assert!(sessions.broadcast_from(&b"ab"[..], 3).is_err(), "short");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn broadcast_from(&self, mut reader: impl std::io::Read, len: usize) -> std::io::Result<Delivery> {
        let mut buf = vec![0; len];
        reader.read_exact(&mut buf)?;
        Ok(self.broadcast(buf))
    }

    /// Sends a prepared message to every session but `except`.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// use laputa::core::PreparedMessage;
    /// use std::sync::Arc;
    ///
    /// // Encoded once, sent by two services (or twice, to the same sessions).
    /// let news = Arc::new(PreparedMessage::new("Laputa sighted"));
    /// sessions.broadcast_prepared(&news, None);
    /// # ws.recv().await?;
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn broadcast_prepared(&self, message: &Arc<PreparedMessage>, except: Option<&SessionId>) -> Delivery {
        let target = except.map_or(Target::All, |id| Target::Except(id.as_str().to_owned()));
        self.relay(|| Body::Deliver { target, message: message.message() });
        self.broadcast_local(message, except)
    }

    /// Sends a prepared message to this node's sessions but `except`, and to no other node.
    pub(crate) fn broadcast_local(&self, message: &Arc<PreparedMessage>, except: Option<&SessionId>) -> Delivery {
        let mut delivery = Delivery::default();
        for (id, session) in self.read().iter() {
            if Some(id) != except {
                delivery.count(session.send_prepared(message));
            }
        }
        delivery
    }

    /// Sends `message` to every session, encoded once, waiting for room in the queues that are
    /// full, each up to its service's [`send_timeout`](super::Service::send_timeout): the
    /// awaited form of [`broadcast`](Self::broadcast) (websocket-sharp's `Broadcast`, where
    /// `broadcast` is its `BroadcastAsync`). The sessions are waited for together, so one that
    /// reads nothing delays the result by its timeout at most and the others not at all; those
    /// still full at their deadline count as dropped.
    ///
    /// ```no_run
    /// # async fn tick(sessions: &laputa::server::Sessions) {
    /// let delivery = sessions.broadcast_wait("tick").await;
    /// println!("{} queued, {} too slow", delivery.queued, delivery.dropped);
    /// # }
    /// ```
    pub fn broadcast_wait(&self, message: impl Into<Message>) -> BroadcastWait {
        let message = Arc::new(PreparedMessage::new(message));
        let now = std::time::Instant::now();
        let pending = self
            .all()
            .into_iter()
            .map(|session| (now + session.0.send_timeout, Some(Outgoing::Prepared(message.clone())), session))
            .collect();
        BroadcastWait { pending, delivery: Delivery::default() }
    }

    /// Sends `message` to the session with this id: `None` if there is no such session. On a
    /// server in a cluster ([`ServerBuilder::cluster`](super::ServerBuilder::cluster)), an id
    /// not on this node answers [`Sent::Forwarded`]: the node that holds it sends it, and no
    /// node does if the id is nowhere.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// # let id = sessions.ids().remove(0);
    /// // A direct message, by the id the recipient was known by.
    /// match sessions.send_to(&id, "psst") {
    ///     Some(sent) => println!("{sent:?}"),
    ///     None => println!("{id} has left"),
    /// }
    /// # ws.recv().await?;
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_to(&self, id: &SessionId, message: impl Into<Message>) -> Option<Sent> {
        let message = message.into();
        match self.get(id) {
            Some(session) => Some(session.send(message)),
            None => self.relay(|| Body::Deliver { target: Target::Session(id.as_str().to_owned()), message }),
        }
    }

    /// Closes the session with this id: `None` if there is no such session. In a cluster, an
    /// id not on this node answers `Some(Ok(Sent::Forwarded))`, as [`send_to`](Self::send_to).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// use laputa::CloseCode;
    ///
    /// # let id = sessions.ids().remove(0);
    /// // A moderator kicks a user out by id.
    /// sessions.close_session(&id, CloseCode::POLICY_VIOLATION, "kicked").transpose()?;
    /// # let _ = ws.recv().await;
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close_session(
        &self,
        id: &SessionId,
        code: CloseCode,
        reason: &str,
    ) -> Option<Result<Sent, laputa_core::Error>> {
        match self.get(id) {
            Some(session) => Some(session.close_with(code, reason)),
            None => {
                if let Err(error) = check_close(code, reason) {
                    return self.0.relay.get().map(|_| Err(error));
                }
                // A close without a status (1005) is said as a normal one across nodes.
                let code = if code.is_sendable() { code } else { CloseCode::NORMAL };
                let session = id.as_str().to_owned();
                self.relay(|| Body::Close { session, code, reason: reason.to_owned() }).map(Ok)
            }
        }
    }

    /// Pings the session with this id.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// # let id = sessions.ids().remove(0);
    /// sessions.ping(&id, "are you there?").transpose()?;
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ping(&self, id: &SessionId, payload: impl Into<Bytes>) -> Option<Result<Sent, laputa_core::Error>> {
        Some(self.get(id)?.ping(payload))
    }

    /// Pings every session, and marks them all inactive until their peer sends something (a
    /// pong, or anything else): [`sweep`](Self::sweep) later closes those still inactive.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// // One round of a keep-clean timer of one's own: close who did not answer the last
    /// // round, then ping everyone (`Service::keep_clean` does this on a timer).
    /// let closed = sessions.sweep();
    /// sessions.ping_all("")?;
    /// println!("{closed} sessions did not answer");
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ping_all(&self, payload: impl Into<Bytes>) -> Result<Delivery, laputa_core::Error> {
        let payload = payload.into();
        if payload.len() > 125 {
            return Err(laputa_core::Error::ControlPayloadTooLong);
        }
        let mut delivery = Delivery::default();
        for session in self.read().values() {
            session.0.active.store(false, Ordering::Relaxed);
            delivery.count(session.0.outbox.push_control(Outgoing::Ping(payload.clone())));
        }
        Ok(delivery)
    }

    /// Closes (1001, going away) every session that received nothing since the last
    /// [`ping_all`](Self::ping_all); returns how many it closed (sessions closing already are
    /// not counted). A session that answered, or sent
    /// anything at all, is never swept (websocket-sharp's sweep could dispose live sessions).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// sessions.ping_all("")?;
    /// # ws.send("here").await?; ws.recv().await?;
    /// // A round later: the client above sent something, so it stays.
    /// assert_eq!(sessions.sweep(), 0);
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sweep(&self) -> usize {
        let stale: Vec<Session> =
            self.read().values().filter(|s| !s.0.active.load(Ordering::Relaxed)).cloned().collect();
        let swept = stale.iter().filter(|session| {
            let closed = session.close_with(CloseCode::GOING_AWAY, "no answer to ping");
            let swept = closed.is_ok_and(Sent::is_queued);
            if swept {
                tracing::debug!(id = %session.id(), "sweep: no answer to the last ping");
            }
            swept
        });
        swept.count()
    }

    /// Closes every session with `code` and `reason`; returns how many it closed (sessions
    /// closing already are not counted), or an error for a code that may not be sent or a
    /// reason over 123 bytes.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// use laputa::CloseCode;
    ///
    /// // Everyone out, the service stays mounted (`Server::stop` also stops accepting).
    /// let closed = sessions.close_all(CloseCode::TRY_AGAIN_LATER, "maintenance")?;
    /// assert_eq!(closed, 1);
    /// # let _ = ws.recv().await;
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close_all(&self, code: CloseCode, reason: &str) -> Result<usize, laputa_core::Error> {
        let mut closed = 0;
        for session in self.all() {
            closed += usize::from(session.close_with(code, reason)?.is_queued());
        }
        Ok(closed)
    }

    /// Sends `message` to every session subscribed to `topic`, encoded once.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// # sessions.all()[0].subscribe("weather");
    /// // Sessions subscribed themselves (`Session::subscribe`); the others hear nothing.
    /// let delivery = sessions.publish("weather", "rain over Tedis");
    /// assert_eq!(delivery.queued, 1);
    /// # ws.recv().await?;
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn publish(&self, topic: &str, message: impl Into<Message>) -> Delivery {
        let message = Arc::new(PreparedMessage::new(message));
        self.relay(|| Body::Deliver { target: Target::Topic(topic.to_owned()), message: message.message() });
        self.publish_local(topic, &message)
    }

    /// Sends a prepared message to this node's subscribers of `topic`, and to no other node.
    pub(crate) fn publish_local(&self, topic: &str, message: &Arc<PreparedMessage>) -> Delivery {
        let mut delivery = Delivery::default();
        let topics = self.0.topics.read().unwrap_or_else(PoisonError::into_inner);
        for session in topics.get(topic).into_iter().flat_map(HashMap::values) {
            delivery.count(session.send_prepared(message));
        }
        delivery
    }

    /// How many sessions are subscribed to `topic`.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// # sessions.all()[0].subscribe("weather");
    /// if sessions.subscribers("weather") > 0 {
    ///     sessions.publish("weather", "sunny");
    /// }
    /// # ws.recv().await?;
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscribers(&self, topic: &str) -> usize {
        self.0.topics.read().unwrap_or_else(PoisonError::into_inner).get(topic).map_or(0, HashMap::len)
    }

    /// The topics with at least one subscriber.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// # sessions.all()[0].subscribe("weather");
    /// println!("rooms: {}", sessions.topics().join(", "));
    /// assert_eq!(sessions.topics(), ["weather"]);
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn topics(&self) -> Vec<String> {
        self.0.topics.read().unwrap_or_else(PoisonError::into_inner).keys().map(|t| t.to_string()).collect()
    }

    /// A snapshot of the service's counters.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// # ws.send("hi").await?; ws.recv().await?;
    /// let stats = sessions.stats();
    /// println!("{} open, {} messages in, {} dropped", stats.sessions, stats.messages_in, stats.dropped);
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.0.counters.snapshot()
    }

    pub(crate) fn subscribe(&self, session: &Session, topic: &str) -> bool {
        let mut topics = self.0.topics.write().unwrap_or_else(PoisonError::into_inner);
        // Checked under the topics' lock, which `remove` takes after the session ended: a
        // session that ended is never left in a topic.
        if session.0.outbox.is_ended() {
            return false;
        }
        let key = topics.get_key_value(topic).map_or_else(|| Arc::from(topic), |(key, _)| key.clone());
        let added = topics.entry(key.clone()).or_default().insert(session.id().clone(), session.clone()).is_none();
        if added {
            session.0.topics.lock().unwrap_or_else(PoisonError::into_inner).push(key);
        }
        added
    }

    pub(crate) fn unsubscribe(&self, session: &Session, topic: &str) -> bool {
        let mut topics = self.0.topics.write().unwrap_or_else(PoisonError::into_inner);
        let Some(members) = topics.get_mut(topic) else { return false };
        let removed = members.remove(session.id()).is_some();
        if members.is_empty() {
            topics.remove(topic);
        }
        if removed {
            session.0.topics.lock().unwrap_or_else(PoisonError::into_inner).retain(|t| &**t != topic);
        }
        removed
    }

    /// Carries what this service does for every node to the other nodes, once the server is
    /// part of a cluster: `Some(Sent::Forwarded)` then, `None` on a lone server.
    fn relay(&self, body: impl FnOnce() -> Body) -> Option<Sent> {
        let (relay, path) = self.0.relay.get()?;
        relay.relay(path, body());
        Some(Sent::Forwarded)
    }

    /// Joins the service at `path` to a cluster (once; a second call changes nothing).
    pub(crate) fn attach_relay(&self, relay: Arc<dyn Relay>, path: &str) {
        let _ = self.0.relay.set((relay, path.into()));
    }

    /// A new session joins.
    pub(crate) fn insert(&self, session: &Session) {
        self.write().insert(session.id().clone(), session.clone());
        self.0.counters.opened();
        // Its upgrade was decided before the service was removed or the server stopped.
        if let Some((code, reason)) = self.0.closing.get() {
            let _ = session.close_with(*code, reason);
        }
    }

    /// Closes every session with `code` and `reason` (1001 if they cannot be sent), and every
    /// session that joins later: the service is removed or the server stops.
    pub(crate) fn close_for_good(&self, code: CloseCode, reason: &str) {
        let (code, reason) = match check_close(code, reason) {
            Ok(()) => (code, reason),
            Err(_) => (CloseCode::GOING_AWAY, ""),
        };
        {
            // Under the map's lock, which `insert` takes: a session joins either before (and
            // is among those closed below) or after (and sees this).
            let _map = self.write();
            let _ = self.0.closing.set((code, reason.to_owned()));
        }
        let _ = self.close_all(code, reason);
    }

    /// Tells `changed` whenever a session ends.
    pub(crate) fn set_changed(&self, changed: Arc<Signal>) {
        let _ = self.0.changed.set(changed);
    }

    /// A session is over (its outbox ended): it leaves the map and its topics.
    pub(crate) fn remove(&self, session: &Session) {
        if self.write().remove(session.id()).is_none() {
            return;
        }
        self.0.counters.ended();
        if let Some(changed) = self.0.changed.get() {
            changed.notify();
        }
        let mut map = self.0.topics.write().unwrap_or_else(PoisonError::into_inner);
        let topics = std::mem::take(&mut *session.0.topics.lock().unwrap_or_else(PoisonError::into_inner));
        for topic in topics {
            if let Some(members) = map.get_mut(&topic) {
                members.remove(session.id());
                if members.is_empty() {
                    map.remove(&topic);
                }
            }
        }
    }
}

/// The future of [`Sessions::broadcast_wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct BroadcastWait {
    pending: Vec<(std::time::Instant, Option<Outgoing>, Session)>,
    delivery: Delivery,
}

impl fmt::Debug for BroadcastWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastWait").field("pending", &self.pending.len()).field("delivery", &self.delivery).finish()
    }
}

impl std::future::Future for BroadcastWait {
    type Output = Delivery;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Delivery> {
        let this = &mut *self;
        let delivery = &mut this.delivery;
        this.pending.retain_mut(|(deadline, item, session)| {
            match session.0.outbox.poll_push_wait(cx, item, *deadline) {
                std::task::Poll::Ready(sent) => {
                    delivery.count(sent);
                    false
                }
                std::task::Poll::Pending => true,
            }
        });
        if this.pending.is_empty() {
            std::task::Poll::Ready(this.delivery)
        } else {
            std::task::Poll::Pending
        }
    }
}
