//! What every server shares, async or threaded: the builder, the table of services, the
//! connection count, the stop flag, and the one accept decision (the core's routing and
//! admission, then its answer).

use super::http::{HttpHandler, HttpRoutes};
use super::pump::Opening;
use super::relay::Relay;
use super::service::{Mounted, Route, Service};
use super::sessions::Sessions;
use super::signal::Signal;
use http::Method;
use laputa_core::handshake::{Answer, HandshakeError, IncomingRequest, Reject};
use laputa_core::http1::ServerLimits;
use laputa_core::server::{Admission, RouteError, Router};
use laputa_core::{CloseCode, Config, Connection};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The most connections served at once by default; more wait in the kernel's accept queue.
///
/// ```
/// use laputa::server::{ServerBuilder, DEFAULT_MAX_CONNECTIONS};
///
/// // Half the default, for a small machine.
/// let builder = ServerBuilder::default().max_connections(DEFAULT_MAX_CONNECTIONS / 2);
/// # let _ = builder;
/// ```
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// The first wait after a failed accept; it doubles up to [`MAX_ACCEPT_BACKOFF`].
pub(crate) const MIN_ACCEPT_BACKOFF: Duration = Duration::from_millis(5);

/// The longest wait between two accept attempts after errors (too many open files: the
/// server waits for descriptors to come back instead of stopping).
pub(crate) const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Builds a server: the address, the services, the limits. Start it on an async runtime with
/// [`start`](Self::start).
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use laputa::server::{Server, Service, Session};
/// use laputa::tokio::Tokio;
/// use laputa::Message;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let server = Server::builder()
///     .bind("127.0.0.1:0")
///     .service("/Echo", Service::new(|| |session: &Session, message: Message| {
///         session.send(message);
///     }))?
///     .start::<Tokio>()
///     .await?;
/// let url = format!("ws://{}/Echo", server.local_addr());
/// let (mut ws, _) = laputa::tokio::connect(url.as_str()).await?;
/// ws.send("BALUS").await?;
/// assert_eq!(ws.recv().await?.as_text(), Some("BALUS"));
/// server.stop(laputa::CloseCode::GOING_AWAY, "bye").await;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap(); }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until started"]
pub struct ServerBuilder {
    pub(crate) addr: String,
    pub(crate) router: Router<Route>,
    pub(crate) max_connections: usize,
    pub(crate) handshake: Config,
    pub(crate) http: HttpRoutes,
    pub(crate) http_limits: ServerLimits,
    pub(crate) http_admission: Option<Admission>,
    /// `bind` was given a `wss://` URL.
    pub(crate) wants_tls: bool,
    #[cfg(feature = "rustls")]
    pub(crate) tls: Option<crate::tls::TlsAcceptor>,
    /// The backplane the services' session managers span (feature `redis`).
    #[cfg(feature = "redis")]
    pub(crate) cluster: Option<crate::cluster::Cluster>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        Self {
            addr: "0.0.0.0:80".into(),
            router: Router::new(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            handshake: Config::default(),
            http: HttpRoutes::default(),
            http_limits: ServerLimits::default(),
            http_admission: None,
            wants_tls: false,
            #[cfg(feature = "rustls")]
            tls: None,
            #[cfg(feature = "redis")]
            cluster: None,
        }
    }
}

impl ServerBuilder {
    /// Where to listen: `HOST:PORT`, a port alone (every address), or a `ws://` URL. The
    /// listener has `SO_REUSEADDR` (Rust's and tokio's default on Unix), so a restarted server
    /// binds again at once.
    ///
    /// ```
    /// use laputa::server::ServerBuilder;
    ///
    /// let builder = ServerBuilder::default().bind("ws://127.0.0.1:4649/");
    /// # let _ = builder;
    /// ```
    pub fn bind(mut self, addr: impl AsRef<str>) -> Self {
        self.addr = listen_addr(addr.as_ref());
        self.wants_tls = addr.as_ref().starts_with("wss://");
        self
    }

    /// Serves `wss://`: every accepted connection runs `acceptor`'s TLS handshake (within the
    /// handshake timeout) before its upgrade request is read. A `wss://` address given to
    /// [`bind`](Self::bind) needs it.
    ///
    /// ```no_run
    /// use laputa::server::{Server, Service, Session};
    /// use laputa::tls::TlsAcceptor;
    /// use laputa::Message;
    ///
    /// let acceptor = TlsAcceptor::from_pem_files("cert.pem", "key.pem")?;
    /// let builder = Server::builder()
    ///     .bind("wss://0.0.0.0:443/")
    ///     .tls(acceptor)
    ///     .service("/Echo", Service::new(|| |session: &Session, message: Message| { session.send(message); }))?;
    /// # let _ = builder;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "rustls")]
    pub fn tls(mut self, acceptor: crate::tls::TlsAcceptor) -> Self {
        self.tls = Some(acceptor);
        self
    }

    /// Mounts `service` at `path`; a second service at the same path is an error.
    ///
    /// ```
    /// use laputa::server::{ServerBuilder, Service, Session};
    /// use laputa::Message;
    ///
    /// let echo = || Service::new(|| |session: &Session, message: Message| { session.send(message); });
    /// let builder = ServerBuilder::default().service("/Echo", echo())?;
    /// assert!(builder.service("/Echo/", echo()).is_err(), "the same path");
    /// # Ok::<(), laputa::core::server::RouteError>(())
    /// ```
    pub fn service(mut self, path: &str, service: Service) -> Result<Self, RouteError> {
        let mounted = Mounted { path: path.to_owned(), service, sessions: Sessions::default() };
        self.router.insert(path, Route(Arc::new(mounted)))?;
        Ok(self)
    }

    /// At most this many connections at once ([`DEFAULT_MAX_CONNECTIONS`]); the next wait in
    /// the kernel's accept queue until one ends.
    ///
    /// ```
    /// let builder = laputa::server::ServerBuilder::default().max_connections(1000);
    /// # let _ = builder;
    /// ```
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// The limits and timeouts of the opening handshake (its head size, its deadline, the
    /// close timeout that bounds writing a refusal); each session then runs with its service's
    /// `Config` ([`Admission::config`](laputa_core::server::Admission::config)).
    ///
    /// ```
    /// use laputa::Config;
    /// use std::time::Duration;
    ///
    /// let mut config = Config::default();
    /// config.handshake_timeout = Duration::from_secs(5);
    /// let builder = laputa::server::ServerBuilder::default().handshake_config(config);
    /// # let _ = builder;
    /// ```
    pub fn handshake_config(mut self, config: Config) -> Self {
        self.handshake = config;
        self
    }

    /// Answers plain HTTP requests with `method` by `handler` (websocket-sharp's `OnGet`,
    /// `OnPost`, ... events): requests that are not WebSocket upgrades to a service. A `HEAD`
    /// without a handler of its own gets `GET`'s answer without the body.
    ///
    /// ```
    /// use laputa::server::{HttpResponse, ServerBuilder};
    /// use http::Method;
    ///
    /// let builder = ServerBuilder::default()
    ///     .on(Method::GET, |_: &laputa::server::HttpRequest| HttpResponse::text("hello"))
    ///     .on(Method::POST, |request: &laputa::server::HttpRequest| {
    ///         HttpResponse::text(format!("{} bytes received", request.body().len()))
    ///     });
    /// # let _ = builder;
    /// ```
    pub fn on(mut self, method: Method, handler: impl HttpHandler) -> Self {
        self.http.set_handler(method, Arc::new(handler));
        self
    }

    /// Answers plain requests with `method` by `handler`, taking their bodies as a stream: from
    /// a request's head (its `body()` empty), `handler` gives a [`BodySink`](super::BodySink) that receives the
    /// body piece by piece as it arrives and then makes the response, or refuses at once with a
    /// response (a `100 Continue` is sent only once it took the request). For uploads too
    /// large to hold whole; the body is still bounded by [`http_limits`](Self::http_limits)'s
    /// `max_body`. It takes precedence over [`on`](Self::on) for the same method.
    ///
    /// ```
    /// use laputa::server::{BodySink, HttpRequest, HttpResponse, ServerBuilder};
    /// use std::io::Write;
    ///
    /// /// Writes an upload to a file as it arrives.
    /// struct ToFile(std::fs::File);
    ///
    /// impl BodySink for ToFile {
    ///     fn data(&mut self, chunk: &[u8]) {
    ///         let _ = self.0.write_all(chunk);
    ///     }
    ///     fn finish(self: Box<Self>) -> HttpResponse {
    ///         HttpResponse::text("stored").status(http::StatusCode::CREATED)
    ///     }
    /// }
    ///
    /// let builder = ServerBuilder::default().on_stream(http::Method::PUT, |request: &HttpRequest| {
    ///     match std::fs::File::create(std::env::temp_dir().join("upload.bin")) {
    ///         Ok(file) if request.path() == "/upload" => Ok(Box::new(ToFile(file)) as Box<dyn BodySink>),
    ///         _ => Err(HttpResponse::new(http::StatusCode::FORBIDDEN)),
    ///     }
    /// });
    /// # let _ = builder;
    /// ```
    pub fn on_stream(
        mut self,
        method: Method,
        handler: impl Fn(&super::HttpRequest) -> Result<Box<dyn super::BodySink>, super::HttpResponse>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.http.set_stream_handler(method, Arc::new(handler));
        self
    }

    /// [`on`](Self::on) `GET`.
    ///
    /// ```
    /// use laputa::server::{HttpRequest, HttpResponse, ServerBuilder};
    ///
    /// let builder = ServerBuilder::default().on_get(|request: &HttpRequest| match request.path() {
    ///     "/health" => HttpResponse::text("ok"),
    ///     _ => HttpResponse::new(http::StatusCode::NOT_FOUND),
    /// });
    /// # let _ = builder;
    /// ```
    pub fn on_get(self, handler: impl HttpHandler) -> Self {
        self.on(Method::GET, handler)
    }

    /// [`on`](Self::on) `HEAD`.
    pub fn on_head(self, handler: impl HttpHandler) -> Self {
        self.on(Method::HEAD, handler)
    }

    /// [`on`](Self::on) `POST`.
    pub fn on_post(self, handler: impl HttpHandler) -> Self {
        self.on(Method::POST, handler)
    }

    /// [`on`](Self::on) `PUT`.
    pub fn on_put(self, handler: impl HttpHandler) -> Self {
        self.on(Method::PUT, handler)
    }

    /// [`on`](Self::on) `DELETE`.
    pub fn on_delete(self, handler: impl HttpHandler) -> Self {
        self.on(Method::DELETE, handler)
    }

    /// [`on`](Self::on) `OPTIONS`.
    pub fn on_options(self, handler: impl HttpHandler) -> Self {
        self.on(Method::OPTIONS, handler)
    }

    /// [`on`](Self::on) `CONNECT` (websocket-sharp's `OnConnect`). This server opens no
    /// tunnels: a `2xx` answer to `CONNECT` is refused by the core and the connection closed;
    /// answer with an error status (`405`, `403`, a `407` challenge).
    ///
    /// ```
    /// use laputa::server::{HttpRequest, HttpResponse, ServerBuilder};
    ///
    /// let builder = ServerBuilder::default()
    ///     .on_connect(|_: &HttpRequest| HttpResponse::text("not a proxy").status(http::StatusCode::FORBIDDEN));
    /// # let _ = builder;
    /// ```
    pub fn on_connect(self, handler: impl HttpHandler) -> Self {
        self.on(Method::CONNECT, handler)
    }

    /// [`on`](Self::on) `TRACE`.
    pub fn on_trace(self, handler: impl HttpHandler) -> Self {
        self.on(Method::TRACE, handler)
    }

    /// Serves the files under `path` to `GET` and `HEAD` requests that no handler takes
    /// (websocket-sharp's `DocumentRootPath`): content types, `ETag` and `Last-Modified` with
    /// conditional requests, single byte ranges, `index.html` for directories; nothing outside
    /// the root, and no hidden file (see `SECURITY.md`, "Document root").
    ///
    /// ```no_run
    /// let builder = laputa::server::ServerBuilder::default().document_root("public")?;
    /// # let _ = builder;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn document_root(self, path: impl AsRef<std::path::Path>) -> std::io::Result<Self> {
        Ok(self.serve_files(crate::files::DocumentRoot::new(path)?))
    }

    /// Serves the files of `root` as [`document_root`](Self::document_root) does, with the
    /// root's own settings: to serve hidden files too, for one.
    ///
    /// ```no_run
    /// use laputa::files::DocumentRoot;
    ///
    /// let root = DocumentRoot::new("public")?.serve_hidden(true);
    /// let builder = laputa::server::ServerBuilder::default().serve_files(root);
    /// # let _ = builder;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn serve_files(mut self, root: crate::files::DocumentRoot) -> Self {
        self.http.set_document_root(root);
        self
    }

    /// The limits of plain HTTP requests and of the upgrade request: request line, head and
    /// body sizes, pipelining, the time a head may take, the keep-alive timeout
    /// ([`ServerLimits`]'s defaults).
    ///
    /// ```
    /// use laputa::core::http1::ServerLimits;
    ///
    /// let mut limits = ServerLimits::default();
    /// limits.max_body = 16 << 20; // uploads of 16 MiB
    /// let builder = laputa::server::ServerBuilder::default().http_limits(limits);
    /// # let _ = builder;
    /// ```
    pub fn http_limits(mut self, limits: ServerLimits) -> Self {
        self.http_limits = limits;
        self
    }

    /// Checks every plain HTTP request with `admission` before its handler (or the document
    /// root) sees it, as a service checks its upgrades (the core's
    /// [`Admission::admit_request`]): `Host` (400), HTTP authentication (401 with the
    /// challenges, Basic or Digest, stale nonces and replays refused), `Origin` (403), cookies
    /// (400, and the cookies it sets go out with the response). A refusal is the response,
    /// sent before the request's body is read; the connection stays open when the core can
    /// keep it. The authenticated user is [`HttpRequest::user`](super::HttpRequest::user).
    /// WebSocket upgrades are checked by their service's own admission instead.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// use laputa::core::auth::ServerAuth;
    /// use laputa::core::server::{Admission, UserSecret};
    /// use laputa::server::{HttpRequest, HttpResponse, Server};
    /// use std::io::{Read, Write};
    ///
    /// let users = |name: &str| (name == "alice").then(|| UserSecret::password("wonderland"));
    /// let server = Server::builder()
    ///     .bind("127.0.0.1:0")
    ///     .http_admission(Admission::new().auth(ServerAuth::basic("files"), users))
    ///     .on_get(|request: &HttpRequest| {
    ///         HttpResponse::text(format!("hello, {}", request.user().map_or("?", |user| user.name())))
    ///     })
    ///     .start_blocking()?;
    ///
    /// let get = |authorization: &str| -> std::io::Result<String> {
    ///     let mut client = std::net::TcpStream::connect(server.local_addr())?;
    ///     write!(client, "GET / HTTP/1.1\r\nHost: h\r\n{authorization}Connection: close\r\n\r\n")?;
    ///     let mut response = String::new();
    ///     client.read_to_string(&mut response)?;
    ///     Ok(response)
    /// };
    /// assert!(get("")?.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
    /// // alice:wonderland
    /// let response = get("Authorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\n")?;
    /// assert!(response.starts_with("HTTP/1.1 200 OK\r\n") && response.ends_with("hello, alice"));
    /// server.stop(laputa::CloseCode::GOING_AWAY, "");
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn http_admission(mut self, admission: Admission) -> Self {
        self.http_admission = Some(admission);
        self
    }

    /// A `wss://` address without a TLS acceptor is an error.
    pub(crate) fn check_tls(&self) -> std::io::Result<()> {
        #[cfg(feature = "rustls")]
        let missing = self.wants_tls && self.tls.is_none();
        #[cfg(not(feature = "rustls"))]
        let missing = self.wants_tls;
        if missing {
            let message = "a wss:// server needs a TLS acceptor (ServerBuilder::tls, feature rustls)";
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, message));
        }
        Ok(())
    }

    /// Makes every service's session manager span the nodes of `cluster`: broadcasts, topics,
    /// and sends and closes by id reach the sessions of the same path on every node that
    /// shares its Redis (see [`laputa::cluster`](crate::cluster)).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use laputa::cluster::Cluster;
    /// use laputa::server::{Server, Service, Session};
    /// use laputa::Message;
    ///
    /// let cluster = Cluster::builder("redis://127.0.0.1:6379/").start()?;
    /// let chat = Service::new(|| |session: &Session, message: Message| {
    ///     // Every session of /chat on every node.
    ///     session.sessions().broadcast(message);
    /// });
    /// let server = Server::builder()
    ///     .bind("127.0.0.1:4649")
    ///     .service("/chat", chat)?
    ///     .cluster(&cluster)
    ///     .start::<laputa::tokio::Tokio>()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "redis")]
    pub fn cluster(mut self, cluster: &crate::cluster::Cluster) -> Self {
        self.cluster = Some(cluster.clone());
        self
    }

    pub(crate) fn into_shared(self, local_addr: SocketAddr) -> Arc<Shared> {
        #[cfg(feature = "redis")]
        let relay = self.cluster.as_ref().map(crate::cluster::Cluster::relay);
        #[cfg(not(feature = "redis"))]
        let relay = None;
        let shared = Arc::new(Shared {
            #[cfg(feature = "rustls")]
            tls: self.tls,
            router: RwLock::new(self.router),
            local_addr,
            handshake: self.handshake,
            http: Arc::new(self.http),
            http_limits: self.http_limits,
            http_admission: self.http_admission,
            max_connections: self.max_connections,
            connections: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            listening: AtomicBool::new(true),
            stop: Signal::default(),
            changed: Arc::new(Signal::default()),
            relay,
        });
        for route in shared.routes() {
            shared.attach(&route);
        }
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.cluster {
            cluster.serve(Arc::downgrade(&shared));
        }
        shared
    }
}

/// `HOST:PORT` from what [`ServerBuilder::bind`] takes.
fn listen_addr(addr: &str) -> String {
    if let Ok(port) = addr.parse::<u16>() {
        return format!("0.0.0.0:{port}");
    }
    let Some(rest) = addr.strip_prefix("ws://").or_else(|| addr.strip_prefix("wss://")) else {
        return addr.to_owned();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let has_port =
        authority.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok()) && !authority.ends_with(']');
    if has_port {
        authority.to_owned()
    } else {
        let default_port = if addr.starts_with("wss://") { 443 } else { 80 };
        format!("{authority}:{default_port}")
    }
}

/// The state every handle of one server shares.
pub(crate) struct Shared {
    #[cfg(feature = "rustls")]
    pub(crate) tls: Option<crate::tls::TlsAcceptor>,
    pub(crate) router: RwLock<Router<Route>>,
    pub(crate) local_addr: SocketAddr,
    pub(crate) handshake: Config,
    /// What plain HTTP requests get.
    pub(crate) http: Arc<HttpRoutes>,
    pub(crate) http_limits: ServerLimits,
    /// The checks plain requests pass before their handlers.
    pub(crate) http_admission: Option<Admission>,
    pub(crate) max_connections: usize,
    pub(crate) connections: AtomicUsize,
    pub(crate) stopping: AtomicBool,
    /// The accept loop runs: the listener is open.
    pub(crate) listening: AtomicBool,
    /// Notified when the server stops.
    pub(crate) stop: Signal,
    /// Notified when a connection or a session ends.
    pub(crate) changed: Arc<Signal>,
    /// The backplane of a clustered server (feature `redis`).
    pub(crate) relay: Option<Arc<dyn Relay>>,
}

/// An accepted upgrade, ready to become a session.
pub(crate) struct Upgrade {
    pub(crate) route: Route,
    pub(crate) connection: Connection,
    pub(crate) opening: Opening,
}

/// Where a connection comes from.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) remote_addr: SocketAddr,
    pub(crate) local_addr: SocketAddr,
    pub(crate) secure: bool,
    /// The client's certificate chain, when TLS asked for one.
    #[cfg(feature = "rustls")]
    pub(crate) certificates: Option<ClientCertificates>,
}

/// A client's certificate chain, as its TLS handshake presented it.
#[cfg(feature = "rustls")]
pub(crate) type ClientCertificates = Arc<[rustls::pki_types::CertificateDer<'static>]>;

impl Peer {
    /// A connection over plain TCP.
    pub(crate) fn plain(remote_addr: SocketAddr, local_addr: SocketAddr) -> Self {
        Self {
            remote_addr,
            local_addr,
            secure: false,
            #[cfg(feature = "rustls")]
            certificates: None,
        }
    }
}

impl Shared {
    pub(crate) fn routes(&self) -> Vec<Route> {
        let router = self.router.read().unwrap_or_else(PoisonError::into_inner);
        router.paths().filter_map(|path| router.route(path).cloned()).collect()
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// The one accept decision: `503` while stopping, else the core's routing and admission,
    /// then its answer. `Err` holds the refusal to write (within the close timeout) and why.
    pub(crate) fn decide(&self, request: IncomingRequest, peer: &Peer) -> Result<Upgrade, (Vec<u8>, HandshakeError)> {
        let now_secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let decision = if self.is_stopping() {
            Err(Reject::new(http::StatusCode::SERVICE_UNAVAILABLE))
        } else {
            let router = self.router.read().unwrap_or_else(PoisonError::into_inner);
            router.decide(&request, now_secs).map(|(route, admitted)| (route.clone(), admitted))
        };
        let path = request.path().to_owned();
        let (route, user, answer) = match decision {
            Ok((route, admitted)) => (Some(route), admitted.user, request.answer(Ok(admitted.accept))),
            Err(reject) => (None, None, request.answer(Err(reject))),
        };
        match (answer, route) {
            (Answer::Upgrade { connection, response, request }, Some(route)) => {
                let opening = Opening {
                    request,
                    response,
                    user,
                    remote_addr: peer.remote_addr,
                    local_addr: peer.local_addr,
                    secure: peer.secure,
                    #[cfg(feature = "rustls")]
                    certificates: peer.certificates.clone(),
                };
                Ok(Upgrade { route, connection, opening })
            }
            (Answer::Refuse { response, error }, _) => {
                tracing::debug!(%error, remote = %peer.remote_addr, path, "upgrade refused");
                Err((response, error))
            }
            (Answer::Upgrade { .. }, None) => unreachable!("a refusal never upgrades"),
        }
    }

    /// An upgrade request from the HTTP phase: checked as a WebSocket handshake, then
    /// [`decide`](Self::decide)d; the bytes that came after it go to the connection. `Err` holds
    /// the refusal to write.
    pub(crate) fn upgrade(
        &self,
        (request, leftover): super::exchange::UpgradeRequest,
        peer: &Peer,
    ) -> Result<Upgrade, Vec<u8>> {
        let incoming = match IncomingRequest::from_request(request, self.handshake.clone()) {
            Ok(incoming) => incoming,
            Err(error) => {
                tracing::debug!(%error, remote = %peer.remote_addr, "upgrade request refused");
                return Err(error.response_bytes().unwrap_or_default());
            }
        };
        let mut upgrade = self.decide(incoming, peer).map_err(|(response, _)| response)?;
        if !leftover.is_empty() {
            upgrade.connection.handle_input(&leftover);
        }
        Ok(upgrade)
    }

    /// Mounts a service while the server runs.
    pub(crate) fn add_service(&self, path: &str, service: Service) -> Result<Route, RouteError> {
        let route = Route(Arc::new(Mounted { path: path.to_owned(), service, sessions: Sessions::default() }));
        self.attach(&route);
        self.router.write().unwrap_or_else(PoisonError::into_inner).insert(path, route.clone())?;
        Ok(route)
    }

    /// Joins a service's sessions to the cluster, if the server is part of one.
    fn attach(&self, route: &Route) {
        if let Some(relay) = &self.relay {
            route.0.sessions.attach_relay(relay.clone(), &route.0.path);
        }
    }

    /// Unmounts a service and closes its sessions with 1001.
    pub(crate) fn remove_service(&self, path: &str) -> bool {
        let removed = self.router.write().unwrap_or_else(PoisonError::into_inner).remove(path);
        let Some(route) = removed else { return false };
        route.0.sessions.close_for_good(CloseCode::GOING_AWAY, "service removed");
        true
    }

    pub(crate) fn sessions(&self, path: &str) -> Option<Sessions> {
        let router = self.router.read().unwrap_or_else(PoisonError::into_inner);
        router.route(path).map(|route| route.0.sessions.clone())
    }

    pub(crate) fn paths(&self) -> Vec<String> {
        self.router.read().unwrap_or_else(PoisonError::into_inner).paths().map(str::to_owned).collect()
    }

    /// Starts stopping: no more accepts, every session closed with `code` and `reason`.
    /// Returns the services and how long their close handshakes may take.
    pub(crate) fn begin_stop(&self, code: CloseCode, reason: &str) -> (Vec<Route>, Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        self.stop.notify();
        let routes = self.routes();
        let mut close_timeout = self.handshake.close_timeout;
        for route in &routes {
            if let Some(config) = route.0.service.admission.session_config() {
                close_timeout = close_timeout.max(config.close_timeout);
            }
            route.0.sessions.close_for_good(code, reason);
        }
        (routes, close_timeout + Duration::from_millis(100))
    }

    /// One round of a service's keep-clean timer: closes the sessions that answered nothing
    /// since the last round and pings the others. False once the service is removed or the
    /// server stops: the timer ends.
    pub(crate) fn keep_clean(&self, mounted: &Arc<Mounted>) -> bool {
        let still_mounted = {
            let router = self.router.read().unwrap_or_else(PoisonError::into_inner);
            router.route(&mounted.path).is_some_and(|route| Arc::ptr_eq(&route.0, mounted))
        };
        if !still_mounted || self.is_stopping() {
            return false;
        }
        let swept = mounted.sessions.sweep();
        let _ = mounted.sessions.ping_all(laputa_core::bytes::Bytes::new());
        tracing::debug!(path = %mounted.path, swept, "keep clean");
        true
    }

    /// Stopped: the listener is closed and no connection is left (both notify `changed`).
    #[cfg(feature = "_async")]
    pub(crate) fn is_done(&self) -> bool {
        !self.listening.load(Ordering::SeqCst) && self.connections.load(Ordering::Acquire) == 0
    }

    /// The accept loop ended and closed the listener.
    pub(crate) fn stopped_listening(&self) {
        self.listening.store(false, Ordering::SeqCst);
        self.changed.notify();
    }

    /// Counts a new connection; the slot frees it when dropped.
    pub(crate) fn connection_slot(self: &Arc<Self>) -> ConnectionSlot {
        self.connections.fetch_add(1, Ordering::AcqRel);
        ConnectionSlot(self.clone())
    }

    pub(crate) fn at_connection_limit(&self) -> bool {
        self.connections.load(Ordering::Acquire) >= self.max_connections
    }
}

/// Counts a connection while it lives.
pub(crate) struct ConnectionSlot(pub(crate) Arc<Shared>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify();
    }
}

#[cfg(test)]
mod tests {
    use super::listen_addr;

    #[test]
    fn listen_addresses_from_ports_addresses_and_urls() {
        assert_eq!(listen_addr("4649"), "0.0.0.0:4649");
        assert_eq!(listen_addr("127.0.0.1:4649"), "127.0.0.1:4649");
        assert_eq!(listen_addr("ws://127.0.0.1:4649/chat"), "127.0.0.1:4649");
        assert_eq!(listen_addr("ws://localhost"), "localhost:80");
        assert_eq!(listen_addr("wss://[::1]"), "[::1]:443");
        assert_eq!(listen_addr("wss://[::1]:8443/"), "[::1]:8443");
    }
}
