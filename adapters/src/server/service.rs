//! A service: what a path of the server does (websocket-sharp's `AddWebSocketService<T>(path)`):
//! a factory of behaviours, the admission rules of its requests, and its sessions' options.

use super::behavior::Behavior;
use super::outbox::SlowConsumer;
use super::sessions::Sessions;
use laputa_core::server::Admission;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Default bound of a session's outbound queue: 1 MiB of messages waiting for a slow reader,
/// beyond what the connection holds (its high-water mark) and the kernel's socket buffer.
///
/// ```
/// use laputa::server::{Service, Session, DEFAULT_OUTBOX_LIMIT};
///
/// // Room for four times the default backlog, for a service whose clients read in bursts.
/// let service = Service::new(|| |_: &Session, _: laputa::Message| {}).outbox_limit(4 * DEFAULT_OUTBOX_LIMIT);
/// # let _ = service;
/// ```
pub const DEFAULT_OUTBOX_LIMIT: usize = 1024 * 1024;

type Factory = Arc<dyn Fn() -> Box<dyn Behavior> + Send + Sync>;

/// A WebSocket service, to mount at a path of a server.
///
/// ```
/// use laputa::core::server::Admission;
/// use laputa::server::{Service, Session, SlowConsumer};
/// use laputa::{CloseCode, Message};
/// use std::time::Duration;
///
/// let chat = Service::new(|| |session: &Session, message: Message| {
///     session.sessions().broadcast(message);
/// })
/// .admission(Admission::new().origin(|origin| origin == Some("https://example.com")))
/// .outbox_limit(512 * 1024)
/// .slow_consumer(SlowConsumer::Close(CloseCode::POLICY_VIOLATION))
/// .keep_clean(Some(Duration::from_secs(60)));
/// # let _ = chat;
/// ```
#[derive(Clone)]
pub struct Service {
    pub(crate) factory: Factory,
    pub(crate) admission: Admission,
    pub(crate) outbox_limit: usize,
    pub(crate) slow_consumer: SlowConsumer,
    pub(crate) send_timeout: Duration,
    pub(crate) nodelay: bool,
    pub(crate) keep_clean: Option<Duration>,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("admission", &self.admission)
            .field("outbox_limit", &self.outbox_limit)
            .field("slow_consumer", &self.slow_consumer)
            .field("send_timeout", &self.send_timeout)
            .field("nodelay", &self.nodelay)
            .field("keep_clean", &self.keep_clean)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A service whose sessions each get a behaviour made by `factory` (the initializer form of
    /// websocket-sharp's `AddWebSocketService`). Any request to its path is accepted until
    /// [`admission`](Self::admission) says otherwise.
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// // The factory runs once per session: state made here is the session's own.
    /// let counter = Service::new(|| {
    ///     let mut received = 0;
    ///     move |session: &Session, _: Message| {
    ///         received += 1;
    ///         session.send(format!("message {received}"));
    ///     }
    /// });
    /// # let _ = counter;
    /// ```
    pub fn new<B: Behavior, F: Fn() -> B + Send + Sync + 'static>(factory: F) -> Self {
        Self {
            factory: Arc::new(move || Box::new(factory())),
            admission: Admission::new(),
            outbox_limit: DEFAULT_OUTBOX_LIMIT,
            slow_consumer: SlowConsumer::Drop,
            send_timeout: Duration::from_secs(30),
            nodelay: true,
            keep_clean: None,
        }
    }

    /// Who may open a session, and on what terms: Host and Origin checks, cookies,
    /// authentication, subprotocols offered, extensions, extra response headers and the
    /// sessions' [`Config`](crate::Config) (limits, timeouts, `emit_pings`).
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// use laputa::core::server::Admission;
    ///
    /// let service = Service::new(|| |session: &Session, message: Message| { session.send(message); })
    ///     .admission(Admission::new().origin(|origin| origin == Some("https://example.com")).protocols(["chat"]));
    /// # let _ = service;
    /// ```
    pub fn admission(mut self, admission: Admission) -> Self {
        self.admission = admission;
        self
    }

    /// The bound of each session's outbound queue, in bytes ([`DEFAULT_OUTBOX_LIMIT`]).
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// // Small updates, many clients: 64 KiB of backlog per session at most.
    /// let service = Service::new(|| |_: &Session, _: Message| {}).outbox_limit(64 * 1024);
    /// # let _ = service;
    /// ```
    pub fn outbox_limit(mut self, bytes: usize) -> Self {
        self.outbox_limit = bytes;
        self
    }

    /// What happens to a message for a session whose queue is full ([`SlowConsumer::Drop`]).
    ///
    /// ```
    /// use laputa::server::{Service, Session, SlowConsumer};
    /// use laputa::{CloseCode, Message};
    ///
    /// // Every message matters (a game's state): a client that falls behind is let go, to
    /// // reconnect and start from a snapshot, instead of missing some.
    /// let service = Service::new(|| |_: &Session, _: Message| {})
    ///     .slow_consumer(SlowConsumer::Close(CloseCode::TRY_AGAIN_LATER));
    /// # let _ = service;
    /// ```
    pub fn slow_consumer(mut self, policy: SlowConsumer) -> Self {
        self.slow_consumer = policy;
        self
    }

    /// How long [`Session::send_wait`](super::Session::send_wait) waits for room (30 s).
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// use std::time::Duration;
    ///
    /// // `send_wait` gives up on a reader after 5 s.
    /// let service = Service::new(|| |_: &Session, _: Message| {}).send_timeout(Duration::from_secs(5));
    /// # let _ = service;
    /// ```
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// Whether sessions' sockets have `TCP_NODELAY` (on by default: messages go out at once).
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// // Many small messages where latency matters less than packets: let the kernel gather them.
    /// let service = Service::new(|| |_: &Session, _: Message| {}).nodelay(false);
    /// # let _ = service;
    /// ```
    pub fn nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// websocket-sharp's `KeepClean`: every `interval`, the sessions that sent nothing since
    /// the last round are closed ([`Sessions::sweep`]) and the others pinged
    /// ([`Sessions::ping_all`]). Off by default: each connection's keepalive already lets go of
    /// a silent peer.
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// use std::time::Duration;
    ///
    /// // Clients that keep a connection open without answering pings are let go within a minute.
    /// let service = Service::new(|| |_: &Session, _: Message| {}).keep_clean(Some(Duration::from_secs(30)));
    /// # let _ = service;
    /// ```
    pub fn keep_clean(mut self, interval: Option<Duration>) -> Self {
        self.keep_clean = interval;
        self
    }

    pub(crate) fn behavior(&self) -> Box<dyn Behavior> {
        (self.factory)()
    }
}

/// A service mounted at a path: the service and its sessions.
#[derive(Debug)]
pub(crate) struct Mounted {
    pub(crate) path: String,
    pub(crate) service: Service,
    pub(crate) sessions: Sessions,
}

/// What the server's router holds (a newtype so that it can lend the core the admission rules).
#[derive(Debug, Clone)]
pub(crate) struct Route(pub(crate) Arc<Mounted>);

impl AsRef<Admission> for Route {
    fn as_ref(&self) -> &Admission {
        &self.0.service.admission
    }
}
