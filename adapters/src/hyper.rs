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
pub type UpgradedStream = TokioIo<hyper::upgrade::Upgraded>;

/// A WebSocket over an upgraded hyper connection.
pub type WebSocket = crate::tokio::WebSocket<UpgradedStream>;

/// Checks an upgrade request and accepts it with the default [`Config`]; see
/// [`upgrade_with`].
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
