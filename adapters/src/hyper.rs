//! WebSockets over an HTTP upgrade that hyper 1.x performed (feature `hyper`), and so over
//! axum, which serves with hyper.
//!
//! The other stack parses the request and writes the response; the core still checks the
//! request ([`IncomingRequest::from_request`]), lets the application decide, and makes the
//! 101 response ([`IncomingRequest::accept_response`]), so subprotocol (and extension)
//! negotiation is the same as with [`tokio::accept_with`](crate::tokio::accept_with).
//!
//! ```no_run
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//!
//! async fn handle(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
//!     let (response, upgrade) = match laputa::hyper::upgrade(&mut request) {
//!         Ok(accepted) => accepted,
//!         Err(refusal) => return Ok(refusal),
//!     };
//!     tokio::spawn(async move {
//!         let mut ws = upgrade.await?;
//!         while let Ok(message) = ws.recv().await {
//!             ws.send(message).await?;
//!         }
//!         Ok::<(), laputa::Error>(())
//!     });
//!     Ok(response)
//! }
//! ```

use crate::Error;
use hyper_util::rt::TokioIo;
use laputa_core::handshake::{Accept, HandshakeError, IncomingRequest, Reject};
use laputa_core::{Config, Connection};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The stream of an upgraded hyper connection, as tokio sees it.
///
/// ```
/// use laputa::hyper::{PendingUpgrade, UpgradedStream};
///
/// // The hyper WebSocket is a tokio one over this stream: code written for tokio's takes it.
/// async fn greet(ws: &mut laputa::tokio::WebSocket<UpgradedStream>) -> Result<(), laputa::Error> {
///     ws.send("welcome to Laputa").await
/// }
///
/// // `upgrade` is what `laputa::hyper::upgrade` returned with the 101 response.
/// async fn on_upgrade(upgrade: PendingUpgrade) -> Result<(), laputa::Error> {
///     let mut ws = upgrade.await?;
///     greet(&mut ws).await
/// }
/// # async fn handle(
/// #     mut request: hyper::Request<hyper::body::Incoming>,
/// # ) -> Result<hyper::Response<http_body_util::Full<hyper::body::Bytes>>, hyper::Error> {
/// #     let (response, upgrade) = match laputa::hyper::upgrade(&mut request) {
/// #         Ok(accepted) => accepted,
/// #         Err(refusal) => return Ok(refusal),
/// #     };
/// #     tokio::spawn(on_upgrade(upgrade));
/// #     Ok(response)
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), laputa::Error> {
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = listener.local_addr()?;
/// # tokio::spawn(async move {
/// #     let (stream, _) = listener.accept().await.unwrap();
/// #     hyper::server::conn::http1::Builder::new()
/// #         .serve_connection(hyper_util::rt::TokioIo::new(stream), hyper::service::service_fn(handle))
/// #         .with_upgrades()
/// #         .await
/// #         .unwrap();
/// # });
/// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{addr}/")).await?;
///
/// // `ws`, a client of a hyper server whose upgrades run `on_upgrade`, is greeted.
/// assert_eq!(ws.recv().await?.as_text(), Some("welcome to Laputa"));
/// # Ok(()) }
/// ```
pub type UpgradedStream = TokioIo<hyper::upgrade::Upgraded>;

/// A WebSocket over an upgraded hyper connection.
///
/// ```
/// use laputa::hyper::{PendingUpgrade, WebSocket};
///
/// // Echoes until the connection ends.
/// async fn echo(mut ws: WebSocket) -> Result<(), laputa::Error> {
///     while let Ok(message) = ws.recv().await {
///         ws.send(message).await?;
///     }
///     Ok(())
/// }
///
/// // `upgrade` is what `laputa::hyper::upgrade` returned with the 101 response.
/// fn on_upgrade(upgrade: PendingUpgrade) {
///     tokio::spawn(async move { echo(upgrade.await?).await });
/// }
/// # async fn handle(
/// #     mut request: hyper::Request<hyper::body::Incoming>,
/// # ) -> Result<hyper::Response<http_body_util::Full<hyper::body::Bytes>>, hyper::Error> {
/// #     let (response, upgrade) = match laputa::hyper::upgrade(&mut request) {
/// #         Ok(accepted) => accepted,
/// #         Err(refusal) => return Ok(refusal),
/// #     };
/// #     on_upgrade(upgrade);
/// #     Ok(response)
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), laputa::Error> {
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = listener.local_addr()?;
/// # tokio::spawn(async move {
/// #     let (stream, _) = listener.accept().await.unwrap();
/// #     hyper::server::conn::http1::Builder::new()
/// #         .serve_connection(hyper_util::rt::TokioIo::new(stream), hyper::service::service_fn(handle))
/// #         .with_upgrades()
/// #         .await
/// #         .unwrap();
/// # });
/// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{addr}/")).await?;
///
/// // `ws`, a client of a hyper server whose upgrades run `on_upgrade`, gets its messages back.
/// ws.send("Balse").await?;
/// assert_eq!(ws.recv().await?.as_text(), Some("Balse"));
/// # Ok(()) }
/// ```
pub type WebSocket = crate::tokio::WebSocket<UpgradedStream>;

/// Checks an upgrade request and accepts it with the default [`Config`]; see
/// [`upgrade_with`].
///
/// ```
/// use http_body_util::Full;
/// use hyper::body::Bytes;
/// use hyper::{Request, Response, StatusCode};
///
/// let mut request = Request::get("/chat")
///     .header("host", "example.com")
///     .header("upgrade", "websocket")
///     .header("connection", "Upgrade")
///     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
///     .header("sec-websocket-version", "13")
///     .body(())?;
/// let accepted: Result<(Response<Full<Bytes>>, _), _> = laputa::hyper::upgrade(&mut request);
/// let (response, _upgrade) = accepted.expect("a valid upgrade request");
/// assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
/// assert_eq!(response.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
///
/// // A plain GET is no upgrade: answer it with the refusal.
/// let mut plain = Request::get("/chat").header("host", "example.com").body(())?;
/// let refusal: Response<Full<Bytes>> = laputa::hyper::upgrade(&mut plain).unwrap_err();
/// assert_eq!(refusal.status(), StatusCode::BAD_REQUEST);
/// # Ok::<(), http::Error>(())
/// ```
#[allow(clippy::result_large_err)]
pub fn upgrade<B, T: From<Vec<u8>>>(
    request: &mut http::Request<B>,
) -> Result<(http::Response<T>, PendingUpgrade), http::Response<T>> {
    upgrade_with(request, Config::default(), |_| Ok(Accept::default()))
}

/// Checks an upgrade request (RFC 6455 section 4.2.1) and lets `decide` accept or reject it.
///
/// On success, answer the request with the returned 101 response and await the
/// [`PendingUpgrade`] (in a task of its own: hyper completes the upgrade only after the
/// response is sent) to get the [`WebSocket`]. Otherwise answer with the returned response:
/// the HTTP error for an invalid upgrade (400, 405, 426, 505), or the application's
/// [`Reject`]. `T` is the response body type (`http_body_util::Full<Bytes>`, axum's `Body`).
///
/// ```
/// use http_body_util::Full;
/// use hyper::body::Bytes;
/// use hyper::{Request, Response, StatusCode};
/// use laputa::{Accept, Config, IncomingRequest, Reject};
///
/// // The "chat" subprotocol, on /chat only.
/// fn decide(request: &IncomingRequest) -> Result<Accept, Reject> {
///     if request.path() != "/chat" {
///         return Err(Reject::new(StatusCode::NOT_FOUND).body("no such service"));
///     }
///     if !request.protocols().any(|protocol| protocol == "chat") {
///         return Err(Reject::new(StatusCode::BAD_REQUEST).body("speak chat"));
///     }
///     Ok(Accept::new().protocol("chat"))
/// }
///
/// # let upgrade_request = |path: &str| {
/// #     Request::get(path)
/// #         .header("host", "example.com")
/// #         .header("upgrade", "websocket")
/// #         .header("connection", "Upgrade")
/// #         .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
/// #         .header("sec-websocket-version", "13")
/// #         .header("sec-websocket-protocol", "superchat, chat")
/// #         .body(())
/// # };
/// // Upgrade requests offering the subprotocols "superchat, chat":
/// let mut request = upgrade_request("/chat")?;
/// let accepted: Result<(Response<Full<Bytes>>, _), _> =
///     laputa::hyper::upgrade_with(&mut request, Config::default(), decide);
/// let (response, _upgrade) = accepted.expect("accepted");
/// assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
///
/// let mut request = upgrade_request("/admin")?;
/// let refusal: Response<Full<Bytes>> =
///     laputa::hyper::upgrade_with(&mut request, Config::default(), decide).unwrap_err();
/// assert_eq!(refusal.status(), StatusCode::NOT_FOUND);
/// # Ok::<(), http::Error>(())
/// ```
#[allow(clippy::result_large_err)]
pub fn upgrade_with<B, T, F>(
    request: &mut http::Request<B>,
    config: Config,
    decide: F,
) -> Result<(http::Response<T>, PendingUpgrade), http::Response<T>>
where
    T: From<Vec<u8>>,
    F: FnOnce(&IncomingRequest) -> Result<Accept, Reject>,
{
    let mut head = http::Request::new(());
    *head.method_mut() = request.method().clone();
    *head.uri_mut() = request.uri().clone();
    *head.version_mut() = request.version();
    *head.headers_mut() = request.headers().clone();
    let refusal = |error: HandshakeError| match error.response() {
        Some(response) => response.map(T::from),
        None => {
            let mut response = http::Response::new(T::from(error.to_string().into_bytes()));
            *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            response
        }
    };
    let incoming = IncomingRequest::from_request(head, config).map_err(refusal)?;
    let accept = decide(&incoming).map_err(|reject| reject.into_response().map(T::from))?;
    let (response, connection) = incoming.accept_response(accept).map_err(refusal)?;
    let on_upgrade = hyper::upgrade::on(request);
    Ok((response.map(|()| T::from(Vec::new())), PendingUpgrade { on_upgrade, connection: Some(connection) }))
}

/// The upgrade hyper completes once the 101 response is sent; resolves to the [`WebSocket`].
///
/// ```
/// use http_body_util::Full;
/// use hyper::body::{Bytes, Incoming};
/// use hyper::{Request, Response};
///
/// async fn handle(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
///     let (response, upgrade) = match laputa::hyper::upgrade(&mut request) {
///         Ok(accepted) => accepted,
///         Err(refusal) => return Ok(refusal),
///     };
///     // Await it in a task of its own: the upgrade happens once `response` is sent.
///     tokio::spawn(async move {
///         let mut ws = upgrade.await?;
///         let message = ws.recv().await?;
///         ws.send(message).await?;
///         Ok::<(), laputa::Error>(())
///     });
///     Ok(response)
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), laputa::Error> {
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = listener.local_addr()?;
/// # tokio::spawn(async move {
/// #     let (stream, _) = listener.accept().await.unwrap();
/// #     hyper::server::conn::http1::Builder::new()
/// #         .serve_connection(hyper_util::rt::TokioIo::new(stream), hyper::service::service_fn(handle))
/// #         .with_upgrades()
/// #         .await
/// #         .unwrap();
/// # });
/// # let (mut ws, _) = laputa::tokio::connect(format!("ws://{addr}/")).await?;
/// # ws.send("Balse").await?;
/// # assert_eq!(ws.recv().await?.as_text(), Some("Balse"));
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "the WebSocket exists only once this future is awaited"]
pub struct PendingUpgrade {
    on_upgrade: hyper::upgrade::OnUpgrade,
    connection: Option<Connection>,
}

impl Future for PendingUpgrade {
    type Output = Result<WebSocket, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let upgraded = std::task::ready!(Pin::new(&mut self.on_upgrade).poll(cx)).map_err(io::Error::other)?;
        let connection = self.connection.take().expect("PendingUpgrade polled after completion");
        Poll::Ready(Ok(WebSocket::from_upgraded(TokioIo::new(upgraded), connection)))
    }
}
