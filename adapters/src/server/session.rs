//! A session: one accepted WebSocket connection of a service, as the application sees it. The
//! handle is `Send + Sync + Clone` and works from any thread or task: sending only queues (into
//! the session's bounded [`outbox`](super::outbox)), and the session's driver writes.

use super::outbox::{Outbox, Outgoing, Sent};
use super::sessions::Sessions;
use laputa_core::bytes::Bytes;
use laputa_core::server::User;
use laputa_core::{CloseCode, Message, PreparedMessage};
use std::fmt;
use std::future::Future;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

/// A session's id: 128 random bits from the OS, as 32 lowercase hex digits (websocket-sharp's
/// `ID`, a GUID). Unique without coordination, across servers too.
///
/// ```
/// use laputa::server::SessionId;
///
/// let (a, b) = (SessionId::random(), SessionId::random());
/// assert_ne!(a, b);
/// assert_eq!(a.as_str().len(), 32);
/// assert_eq!(SessionId::from(a.as_str()), a);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(Arc<str>);

impl SessionId {
    /// A fresh random id.
    ///
    /// ```
    /// use laputa::server::SessionId;
    ///
    /// let id = SessionId::random();
    /// assert_eq!(id.as_str().len(), 32);
    /// ```
    pub fn random() -> Self {
        thread_local! {
            static RNG: std::cell::RefCell<laputa_core::Rng> = std::cell::RefCell::new(laputa_core::Rng::os());
        }
        let mut bytes = [0u8; 16];
        RNG.with(|rng| rng.borrow_mut().fill(&mut bytes));
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        SessionId(hex.into())
    }

    /// The id as text.
    ///
    /// ```
    /// use laputa::server::SessionId;
    ///
    /// let id = SessionId::random();
    /// // Hand the id to the client, which names itself with it later.
    /// let text: String = id.as_str().to_owned();
    /// assert_eq!(SessionId::from(text.as_str()), id);
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SessionId {
    fn from(id: &str) -> Self {
        SessionId(id.into())
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.0)
    }
}

/// What is known of a session from its opening handshake and its socket (websocket-sharp's
/// `WebSocketContext`).
///
/// ```
/// use laputa::server::{Service, Session};
/// use laputa::Message;
///
/// let service = Service::new(|| |session: &Session, _: Message| {
///     let context = session.context();
///     println!(
///         "{} from {} (origin {:?}, user {:?}) on {}",
///         context.path(),
///         context.remote_addr(),
///         context.origin(),
///         context.user().map(|user| user.name()),
///         if context.is_secure() { "wss" } else { "ws" },
///     );
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
#[derive(Debug, Clone)]
pub struct SessionContext {
    pub(crate) request: http::Request<()>,
    pub(crate) user: Option<User>,
    pub(crate) remote_addr: SocketAddr,
    pub(crate) local_addr: SocketAddr,
    pub(crate) secure: bool,
    #[cfg(feature = "rustls")]
    pub(crate) certificates: Option<super::builder::ClientCertificates>,
    pub(crate) protocol: Option<String>,
    pub(crate) extensions: Option<String>,
    pub(crate) started: SystemTime,
}

impl SessionContext {
    /// The upgrade request (method, URI, headers).
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// struct Greeter;
    ///
    /// impl Behavior for Greeter {
    ///     fn on_open(&mut self, session: &Session) {
    ///         let request = session.context().request();
    ///         session.send(format!("{} {}", request.method(), request.uri()));
    ///     }
    ///
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    /// }
    ///
    /// let service = Service::new(|| Greeter);
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
    pub fn request(&self) -> &http::Request<()> {
        &self.request
    }

    /// The request's path, such as `/chat`.
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// struct Greeter;
    ///
    /// impl Behavior for Greeter {
    ///     fn on_open(&mut self, session: &Session) {
    ///         // The path the client asked for: one service may be mounted where several paths lead.
    ///         session.send(format!("welcome to {}", session.context().path()));
    ///     }
    ///
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    /// }
    ///
    /// let service = Service::new(|| Greeter);
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
    pub fn path(&self) -> &str {
        self.request.uri().path()
    }

    /// The request's query, without the `?`.
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// struct Greeter;
    ///
    /// impl Behavior for Greeter {
    ///     fn on_open(&mut self, session: &Session) {
    ///         session.send(format!("query: {}", session.context().query().unwrap_or("none")));
    ///     }
    ///
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    /// }
    ///
    /// let service = Service::new(|| Greeter);
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
    pub fn query(&self) -> Option<&str> {
        self.request.uri().query()
    }

    /// The value of a query parameter, percent-decoded (`+` is a space): `?name=Sheeta` gives
    /// `Some("Sheeta")` for `name`.
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// struct Greeter;
    ///
    /// impl Behavior for Greeter {
    ///     fn on_open(&mut self, session: &Session) {
    ///         // ws://host/chat?name=Sheeta
    ///         let name = session.context().query_param("name").unwrap_or_else(|| "anonymous".into());
    ///         session.send(format!("hello, {name}"));
    ///     }
    ///
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    /// }
    ///
    /// let service = Service::new(|| Greeter);
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
    pub fn query_param(&self, name: &str) -> Option<String> {
        Some(laputa_core::server::query::param(self.query()?, name)?.into_owned())
    }

    /// The request's headers.
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// struct Greeter;
    ///
    /// impl Behavior for Greeter {
    ///     fn on_open(&mut self, session: &Session) {
    ///         let agent = session.context().headers().get("user-agent").and_then(|v| v.to_str().ok());
    ///         session.send(format!("your client: {}", agent.unwrap_or("unknown")));
    ///     }
    ///
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    /// }
    ///
    /// let service = Service::new(|| Greeter);
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
    pub fn headers(&self) -> &http::HeaderMap {
        self.request.headers()
    }

    /// The `Origin` header.
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// struct Greeter;
    ///
    /// impl Behavior for Greeter {
    ///     fn on_open(&mut self, session: &Session) {
    ///         // The page that opened the connection, if a browser did (checked by the service's
    ///         // `Admission::origin` before the session opened).
    ///         session.send(format!("origin: {}", session.context().origin().unwrap_or("none")));
    ///     }
    ///
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    /// }
    ///
    /// let service = Service::new(|| Greeter);
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
    pub fn origin(&self) -> Option<&str> {
        self.headers().get(http::header::ORIGIN)?.to_str().ok()
    }

    /// The cookies the client sent, as (name, value) pairs.
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// struct Greeter;
    ///
    /// impl Behavior for Greeter {
    ///     fn on_open(&mut self, session: &Session) {
    ///         let theme = session.context().cookies().find(|(name, _)| *name == "theme").map(|(_, value)| value);
    ///         session.send(format!("theme: {}", theme.unwrap_or("light")));
    ///     }
    ///
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    /// }
    ///
    /// let service = Service::new(|| Greeter);
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
    pub fn cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        cookie_pairs(self.headers())
    }

    /// The authenticated user, when the service asks for authentication.
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// struct Greeter;
    ///
    /// impl Behavior for Greeter {
    ///     fn on_open(&mut self, session: &Session) {
    ///         // Set when the service's `Admission::auth` let a user in.
    ///         let name = session.context().user().map_or("guest", |user| user.name());
    ///         session.send(format!("hello, {name}"));
    ///     }
    ///
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    /// }
    ///
    /// let service = Service::new(|| Greeter);
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
    pub fn user(&self) -> Option<&User> {
        self.user.as_ref()
    }

    /// The client's address.
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// struct Greeter;
    ///
    /// impl Behavior for Greeter {
    ///     fn on_open(&mut self, session: &Session) {
    ///         tracing::info!(remote = %session.context().remote_addr(), "session opened");
    ///         session.send("hello");
    ///     }
    ///
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    /// }
    ///
    /// let service = Service::new(|| Greeter);
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
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote_addr
    }

    /// The server's address for this connection.
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// struct Greeter;
    ///
    /// impl Behavior for Greeter {
    ///     fn on_open(&mut self, session: &Session) {
    ///         // Which of the server's addresses the client reached (a server bound to 0.0.0.0).
    ///         session.send(format!("you reached {}", session.context().local_addr()));
    ///     }
    ///
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    /// }
    ///
    /// let service = Service::new(|| Greeter);
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
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether the connection is over TLS (`wss`).
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// struct Greeter;
    ///
    /// impl Behavior for Greeter {
    ///     fn on_open(&mut self, session: &Session) {
    ///         if !session.context().is_secure() {
    ///             session.send("note: this connection is not encrypted");
    ///         }
    ///     }
    ///
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    /// }
    ///
    /// let service = Service::new(|| Greeter);
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
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The certificate chain the client presented over TLS, when the server's
    /// [`TlsAcceptor`](crate::tls::TlsAcceptor) asks for one (end entity first).
    ///
    /// ```no_run
    /// # fn show(session: &laputa::server::Session) {
    /// match session.context().peer_certificates() {
    ///     Some(chain) => println!("client certificate of {} bytes", chain[0].len()),
    ///     None => println!("no client certificate"),
    /// }
    /// # }
    /// ```
    #[cfg(feature = "rustls")]
    pub fn peer_certificates(&self) -> Option<&[rustls::pki_types::CertificateDer<'static>]> {
        self.certificates.as_deref()
    }

    /// The subprotocol chosen, if any.
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// struct Greeter;
    ///
    /// impl Behavior for Greeter {
    ///     fn on_open(&mut self, session: &Session) {
    ///         // The subprotocol the service's `Admission::protocols` chose among the client's offers.
    ///         match session.context().protocol() {
    ///             Some("chat.v2") => session.send("v2"),
    ///             _ => session.send("v1"),
    ///         };
    ///     }
    ///
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    /// }
    ///
    /// let service = Service::new(|| Greeter);
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
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The extensions negotiated (the 101's `Sec-WebSocket-Extensions`), if any.
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// struct Greeter;
    ///
    /// impl Behavior for Greeter {
    ///     fn on_open(&mut self, session: &Session) {
    ///         let compressed = session.context().extensions().is_some_and(|e| e.contains("permessage-deflate"));
    ///         session.send(if compressed { "compressed" } else { "plain" });
    ///     }
    ///
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    /// }
    ///
    /// let service = Service::new(|| Greeter);
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
    pub fn extensions(&self) -> Option<&str> {
        self.extensions.as_deref()
    }

    /// When the session opened.
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// struct Greeter;
    ///
    /// impl Behavior for Greeter {
    ///     fn on_open(&mut self, session: &Session) {
    ///         let since = session.context().started().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    ///         session.send(format!("connected at {} s past the epoch", since.as_secs()));
    ///     }
    ///
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    /// }
    ///
    /// let service = Service::new(|| Greeter);
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
    pub fn started(&self) -> SystemTime {
        self.started
    }
}

/// Whether a close frame with `code` and `reason` may be sent: a code an endpoint may send (or
/// 1005, no code, with no reason), and a reason that fits a control frame.
pub(crate) fn check_close(code: CloseCode, reason: &str) -> Result<(), laputa_core::Error> {
    let no_status = code == CloseCode::NO_STATUS && reason.is_empty();
    if !code.is_sendable() && !no_status {
        return Err(laputa_core::Error::InvalidCloseCode(code.0));
    }
    if reason.len() > 123 {
        return Err(laputa_core::Error::ControlPayloadTooLong);
    }
    Ok(())
}

/// The (name, value) pairs of a request's `Cookie` headers.
pub(crate) fn cookie_pairs(headers: &http::HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
}

pub(crate) struct Shared {
    pub(crate) id: SessionId,
    pub(crate) context: SessionContext,
    pub(crate) outbox: Outbox,
    pub(crate) sessions: Sessions,
    /// Something arrived from the peer since the last [`Sessions::ping_all`].
    pub(crate) active: AtomicBool,
    /// Topics this session is subscribed to, so that its end unsubscribes it.
    pub(crate) topics: Mutex<Vec<Arc<str>>>,
    /// How long [`Session::send_wait`] waits for room.
    pub(crate) send_timeout: Duration,
}

/// A handle to one session: `Send + Sync + Clone`, usable from any thread or task. Sending
/// queues the message in the session's bounded outbound queue and returns at once; the
/// service's [`SlowConsumer`](super::SlowConsumer) policy says what happens when the queue is
/// full. The behaviour's hooks receive it; [`Sessions`] finds it by id.
///
/// ```
/// use laputa::server::{Behavior, Service, Session};
/// use laputa::Message;
///
/// struct Echo;
///
/// impl Behavior for Echo {
///     fn on_message(&mut self, session: &Session, message: Message) {
///         session.send(message); // queued; written as the peer reads
///     }
/// }
///
/// let service = Service::new(|| Echo);
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
#[derive(Clone)]
pub struct Session(pub(crate) Arc<Shared>);

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("id", &self.0.id).field("path", &self.0.context.path()).finish_non_exhaustive()
    }
}

impl Session {
    /// The session's id.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// // Keep the id to reach the session later, from anywhere.
    /// let id = sessions.all()[0].id().clone();
    /// sessions.send_to(&id, "found you");
    /// # ws.recv().await?;
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> &SessionId {
        &self.0.id
    }

    /// What the handshake and the socket told of the session.
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// let service = Service::new(|| |session: &Session, message: Message| {
    ///     let context = session.context();
    ///     session.send(format!("{} says {message:?} from {}", context.path(), context.remote_addr()));
    /// });
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
    pub fn context(&self) -> &SessionContext {
        &self.0.context
    }

    /// The authenticated user, if the service asks for authentication.
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// let service = Service::new(|| |session: &Session, message: Message| {
    ///     let name = session.user().map_or("guest", |user| user.name()).to_owned();
    ///     session.send(format!("{name}: {message:?}"));
    /// });
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
    pub fn user(&self) -> Option<&User> {
        self.0.context.user()
    }

    /// The sessions of this session's service (to broadcast from a hook).
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// let service = Service::new(|| |session: &Session, message: Message| {
    ///     // Everyone else in the room hears it.
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
    pub fn sessions(&self) -> &Sessions {
        &self.0.sessions
    }

    /// Whether the session takes messages (it is not closing or closed).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// let session = sessions.all().remove(0);
    /// assert!(session.is_open());
    /// session.close();
    /// assert!(!session.is_open(), "closing: nothing more is taken");
    /// # let _ = ws.recv().await;
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_open(&self) -> bool {
        !self.0.outbox.is_closed()
    }

    /// Bytes of messages queued and not yet handed to the connection.
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// let service = Service::new(|| |session: &Session, message: Message| {
    ///     // A price feed: a client that is behind gets no more ticks until it catches up.
    ///     if session.buffered_amount() < 64 * 1024 {
    ///         session.send(message);
    ///     }
    /// });
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
    pub fn buffered_amount(&self) -> usize {
        self.0.outbox.queued_bytes()
    }

    /// Sends a message: queues it and returns at once.
    ///
    /// ```
    /// use laputa::server::{Sent, Service, Session};
    /// use laputa::Message;
    ///
    /// let service = Service::new(|| |session: &Session, message: Message| {
    ///     match session.send(message) {
    ///         Sent::Queued => {}
    ///         Sent::Dropped => tracing::debug!(id = %session.id(), "a slow reader missed a message"),
    ///         Sent::Closing | Sent::Closed => {}
    ///         _ => {}
    ///     }
    /// });
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
    pub fn send(&self, message: impl Into<Message>) -> Sent {
        let message = message.into();
        self.0.outbox.push_data(Outgoing::Message(message))
    }

    /// Sends a message prepared once for many sessions (see [`Sessions::broadcast`]).
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
    /// // Encoded once, queued for the sessions chosen here.
    /// let news = Arc::new(PreparedMessage::new("Laputa sighted"));
    /// for session in sessions.all().iter().filter(|s| s.user().is_none()) {
    ///     session.send_prepared(&news);
    /// }
    /// # ws.recv().await?;
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_prepared(&self, message: &Arc<PreparedMessage>) -> Sent {
        self.0.outbox.push_data(Outgoing::Prepared(message.clone()))
    }

    /// Sends a message without waiting, and calls `done` once it is written to the socket
    /// (`true`) or once the session ends before it is (`false`); `done` runs on the session's
    /// driver, so it must not block. Not called at all when the message was not queued.
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// let service = Service::new(|| |session: &Session, message: Message| {
    ///     let id = session.id().clone();
    ///     session.send_with(message, move |written| {
    ///         // On the session's driver: log or count, never block.
    ///         tracing::debug!(%id, written, "the echo is out or the session ended first");
    ///     });
    /// });
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
    pub fn send_with(&self, message: impl Into<Message>, done: impl FnOnce(bool) + Send + 'static) -> Sent {
        let sent = self.send(message);
        if sent.is_queued() && self.0.outbox.push_control(Outgoing::Completion(Box::new(done))) != Sent::Queued {
            return Sent::Closed;
        }
        sent
    }

    /// Sends `len` bytes read from `reader` as one binary message (websocket-sharp's
    /// `Send(Stream, int)`); fewer bytes than `len` is an `UnexpectedEof` error and nothing is sent.
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// let service = Service::new(|| |session: &Session, message: Message| {
    ///     // The first 4 bytes of a source, as one binary message.
    ///     let source: &[u8] = b"BALUS and more";
    ///     if let Err(error) = session.send_from(source, 4) {
    ///         tracing::warn!(%error, "short source: nothing sent");
    ///     }
    /// });
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
    pub fn send_from(&self, mut reader: impl Read, len: usize) -> io::Result<Sent> {
        let mut buf = vec![0; len];
        reader.read_exact(&mut buf)?;
        Ok(self.send(Message::from(buf)))
    }

    /// Sends a file's contents as one binary message.
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// let service = Service::new(|| |session: &Session, message: Message| {
    /// #   let path = std::env::temp_dir().join("laputa-doc-send-file.txt");
    /// #   std::fs::write(&path, "the map to Laputa").unwrap();
    ///     if let Err(error) = session.send_file(&path) {
    ///         session.send(format!("no file: {error}"));
    ///     }
    /// });
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
    pub fn send_file(&self, path: impl AsRef<Path>) -> io::Result<Sent> {
        Ok(self.send(Message::from(std::fs::read(path)?)))
    }

    /// Sends a message, waiting while the queue is full, up to the service's
    /// [`send_timeout`](super::Service::send_timeout): [`Sent::Dropped`] when it passes. This is
    /// the only way a sender waits for a slow reader.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// use laputa::server::Sent;
    ///
    /// let session = sessions.all().remove(0);
    /// // A task that produces as fast as the client reads, waiting when its queue is full.
    /// tokio::spawn(async move {
    ///     for i in 0..3 {
    ///         if session.send_wait(format!("chunk {i}")).await != Sent::Queued {
    ///             break; // too slow for the service's send_timeout, or closed
    ///         }
    ///     }
    /// });
    /// # for _ in 0..3 { ws.recv().await?; }
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_wait(&self, message: impl Into<Message>) -> SendWait<'_> {
        let item = Some(Outgoing::Message(message.into()));
        let deadline = Instant::now() + self.0.send_timeout;
        SendWait { session: self, item, deadline }
    }

    /// Sends a ping with `payload` (at most 125 bytes); pings are never dropped.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::server::{Server, Service, Session};
    /// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
    /// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
    /// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
    /// # let sessions = server.sessions("/chat").unwrap();
    /// let session = sessions.all().remove(0);
    /// // The pong comes back to the session (counted as activity, see `Sessions::sweep`).
    /// session.ping("are you there?")?;
    /// assert!(session.ping(vec![0; 126]).is_err(), "a control frame holds 125 bytes");
    /// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ping(&self, payload: impl Into<Bytes>) -> Result<Sent, laputa_core::Error> {
        let payload = payload.into();
        if payload.len() > 125 {
            return Err(laputa_core::Error::ControlPayloadTooLong);
        }
        Ok(self.0.outbox.push_control(Outgoing::Ping(payload)))
    }

    /// Starts the close handshake with 1000 (normal closure) and no reason, after the messages
    /// already queued; [`close_with`](Self::close_with) gives a code and a reason. Named as
    /// the connections' `close()` and `close_with(code, reason)` are.
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// let service = Service::new(|| |session: &Session, _: Message| {
    ///     session.send("bye");
    ///     session.close(); // after "bye"
    /// });
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
    pub fn close(&self) -> Sent {
        self.close_with(CloseCode::NORMAL, "").unwrap_or(Sent::Closed)
    }

    /// Starts the close handshake with `code` and `reason`, after the messages already queued:
    /// an error for a code that may not be sent or a reason over 123 bytes.
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::{CloseCode, Message};
    ///
    /// let service = Service::new(|| |session: &Session, message: Message| {
    ///     if message.as_text().is_some_and(|text| text.contains("buy now")) {
    ///         // A code the peer may receive and a reason of at most 123 bytes, or an error.
    ///         session.close_with(CloseCode::POLICY_VIOLATION, "spam").expect("a valid close");
    ///     }
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
    pub fn close_with(&self, code: CloseCode, reason: &str) -> Result<Sent, laputa_core::Error> {
        check_close(code, reason)?;
        Ok(self.0.outbox.push_control(Outgoing::Close(code, reason.to_owned())))
    }

    /// Subscribes the session to `topic` (see [`Sessions::publish`]); true if it was not yet.
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// let service = Service::new(|| |session: &Session, message: Message| {
    ///     // "join laputa" joins the room; then `publish` reaches it.
    ///     if let Some(room) = message.as_text().and_then(|text| text.strip_prefix("join ")) {
    ///         session.subscribe(room);
    ///         session.sessions().publish(room, format!("{} joined", session.id()));
    ///     }
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
    pub fn subscribe(&self, topic: &str) -> bool {
        self.0.sessions.subscribe(self, topic)
    }

    /// Unsubscribes the session from `topic`; true if it was subscribed.
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// let service = Service::new(|| |session: &Session, message: Message| {
    ///     if let Some(room) = message.as_text().and_then(|text| text.strip_prefix("leave ")) {
    ///         if !session.unsubscribe(room) {
    ///             session.send("you were not there");
    ///         }
    ///     }
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
    pub fn unsubscribe(&self, topic: &str) -> bool {
        self.0.sessions.unsubscribe(self, topic)
    }

    /// The topics the session is subscribed to.
    ///
    /// ```
    /// use laputa::server::{Service, Session};
    /// use laputa::Message;
    ///
    /// let service = Service::new(|| |session: &Session, message: Message| {
    ///     session.subscribe("laputa");
    ///     session.send(format!("your rooms: {}", session.topics().join(", ")));
    /// });
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
    pub fn topics(&self) -> Vec<String> {
        self.0.topics.lock().unwrap_or_else(PoisonError::into_inner).iter().map(|t| t.to_string()).collect()
    }

    pub(crate) fn mark_active(&self) {
        self.0.active.store(true, Ordering::Relaxed);
    }
}

/// The future of [`Session::send_wait`].
///
/// ```
/// # #[cfg(feature = "tokio")]
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// # use laputa::server::{Server, Service, Session};
/// # let echo = Service::new(|| |session: &Session, message: laputa::Message| { session.send(message); });
/// # let server = Server::builder().bind("127.0.0.1:0").service("/chat", echo)?.start::<laputa::tokio::Tokio>().await?;
/// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{}/chat", server.local_addr()).as_str()).await?;
/// # let sessions = server.sessions("/chat").unwrap();
/// let session = sessions.all().remove(0);
/// // Awaited where a sender may wait for a slow reader, up to the service's `send_timeout`.
/// let sent: laputa::server::Sent = session.send_wait("hello").await;
/// assert!(sent.is_queued());
/// # ws.recv().await?;
/// # server.stop(laputa::CloseCode::GOING_AWAY, "").await;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct SendWait<'a> {
    session: &'a Session,
    item: Option<Outgoing>,
    deadline: Instant,
}

impl fmt::Debug for SendWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendWait")
            .field("session", self.session.id())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Future for SendWait<'_> {
    type Output = Sent;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Sent> {
        let this = &mut *self;
        this.session.0.outbox.poll_push_wait(cx, &mut this.item, this.deadline)
    }
}
