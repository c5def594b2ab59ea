//! A server's decisions on upgrade requests, sans-IO: which service a request goes to
//! ([`Router`]), what that service checks and how it accepts ([`Admission`]: `Host`,
//! authentication, `Origin`, cookies, subprotocol, extra headers, its [`Config`](crate::Config)),
//! and every HTTP answer on the way (`404`, `400`, `401` with its challenges, `403`). The same
//! checks apply to plain HTTP requests with [`Admission::admit_request`] (HTTP authentication of
//! a server's pages and handlers); [`route_method`] says which handler answers a plain request,
//! or whether it gets `404` or `405`, and [`query`] reads a request's query parameters.
//!
//! An adapter reads the request with [`ServerHandshake`](crate::handshake::ServerHandshake),
//! asks [`Router::decide`], and hands the decision to
//! [`IncomingRequest::answer`](crate::handshake::IncomingRequest::answer), which says what to
//! write: the 101 and a connection, or a refusal (a `500` when the accept itself cannot be
//! answered). Nothing here reads a clock or a socket: the time comes in as seconds, for the
//! Digest nonces.
//!
//! ```
//! use laputa_core::auth::ServerAuth;
//! use laputa_core::handshake::{Answer, ServerHandshake};
//! use laputa_core::server::{Admission, Router, UserSecret};
//! use laputa_core::Config;
//! use std::time::Instant;
//!
//! let mut router = Router::new();
//! router.insert("/echo", Admission::new())?;
//! router.insert(
//!     "/admin",
//!     Admission::new().auth(ServerAuth::digest("admin", &[7; 32]), |user| {
//!         (user == "root").then(|| UserSecret::password("hunter2").roles(["admin"]))
//!     }),
//! )?;
//!
//! let answer = |path: &str| {
//!     let head = format!(
//!         "GET {path} HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
//!          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
//!     );
//!     let request = ServerHandshake::new(Config::default(), Instant::now())
//!         .handle_input(head.as_bytes())
//!         .unwrap()
//!         .expect("a complete request");
//!     let decision = router.decide(&request, 1_700_000_000).map(|(_service, admitted)| admitted.accept);
//!     request.answer(decision)
//! };
//! assert!(matches!(answer("/echo"), Answer::Upgrade { .. }));
//! let Answer::Refuse { response, .. } = answer("/admin") else { panic!("no credentials") };
//! assert!(response.starts_with(b"HTTP/1.1 401 Unauthorized\r\n"));
//! let Answer::Refuse { response, .. } = answer("/nowhere") else { panic!("no such service") };
//! assert!(response.starts_with(b"HTTP/1.1 404 Not Found\r\n"));
//! # Ok::<(), laputa_core::server::RouteError>(())
//! ```

mod admission;
mod methods;
pub mod query;
mod router;

pub use admission::{Admission, Admitted, AdmittedRequest, CookieView, User, UserSecret};
pub use methods::{route_method, MethodRoute};
pub use router::{RouteError, Router};

#[cfg(test)]
mod tests;
