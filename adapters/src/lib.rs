//! # laputa
//!
//! A WebSocket client and server (RFC 6455, with permessage-deflate per RFC 7692) for every Rust
//! runtime. The protocol lives once, in the sans-IO crate [`laputa_core`] (re-exported here as
//! [`core`]); this crate drives it over sockets:
//!
//! - [`blocking`] (feature `blocking`, on by default): `std::net` sockets and threads.
//! - [`tokio`] (feature `tokio`), [`smol`] (feature `smol`) and [`async_std`] (feature
//!   `async-std`, discontinued upstream: prefer smol): async, over one generic driver,
//!   [`runtime`]. Each has the blocking adapter's functions, made `async`; the `WebSocket` is a
//!   `Stream` and a `Sink` of messages and splits into halves for two tasks.
//! - [`hyper`] (feature `hyper`): turns an upgrade that hyper 1.x or axum performed into a
//!   tokio `WebSocket`, with the handshake checked and answered by the core.
//! - [`tls`] (feature `rustls`): `wss://` for clients with rustls, on every runtime enabled
//!   beside it, trusting the platform's roots; with the feature `webpki-roots`, Mozilla's roots
//!   compiled in instead.
//! - [`files`]: a document root (`DocumentRoot`), the file I/O around the core's decisions on
//!   static files (paths, symbolic links, conditional and range requests).
//!
//! ```no_run
//! # #[cfg(feature = "blocking")] {
//! use laputa::{blocking, Message};
//!
//! let (mut ws, _response) = blocking::connect("ws://127.0.0.1:9001/Laputa")?;
//! ws.send(Message::from("BALUS"))?;
//! let reply = ws.read()?;
//! println!("Laputa says: {}", reply.as_text().unwrap_or("<binary>"));
//! ws.close()?;
//! # }
//! # Ok::<(), laputa::Error>(())
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "async-std")]
pub mod async_std;
#[cfg(feature = "blocking")]
pub mod blocking;
mod client;
#[cfg(feature = "redis")]
pub mod cluster;
mod error;
pub mod files;
#[cfg(feature = "hyper")]
pub mod hyper;
mod maybe_tls;
#[cfg(feature = "_async")]
pub mod runtime;
#[cfg(any(feature = "blocking", feature = "_async"))]
pub mod server;
#[cfg(feature = "smol")]
pub mod smol;
#[cfg(feature = "rustls")]
pub mod tls;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use client::{ClientBuilder, IntoClientRequest, TlsSettings};
pub use error::Error;
/// The `http` crate, whose types appear in the client and handshake APIs.
pub use http;
pub use laputa_core as core;
pub use laputa_core::handshake::{self, Accept, ClientRequest, HandshakeError, IncomingRequest, Reject};
pub use laputa_core::{
    CloseCode, CloseFrame, Closed, Config, DeflateConfig, Event, IdleTimeout, Keepalive, Message, MessageKind,
    ProtocolError, Role, Utf8Bytes,
};
pub use maybe_tls::{MaybeTls, NoTls};

/// How many bytes may wait to be written before sending writes them, or waits for the socket
/// to take them: the default of the async adapters' `set_high_water_mark`, and the point at
/// which the blocking adapter's `feed` writes.
///
/// Large enough that answers to several 64 KiB messages that arrived in one read go out in one
/// write (at 64 KiB each one was written on its own: pipelined 64 KiB echoes cost 0.86-1.31x of
/// the best peer's CPU, and 0.79-0.87x at 256 KiB), small enough that a peer that does not read
/// holds little: the buffered bytes are the messages themselves, shared, not copies.
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use laputa::core::{Connection, Role};
/// use laputa::{tokio::WebSocket, Config, DEFAULT_HIGH_WATER_MARK};
///
/// # let (stream, _peer) = tokio::io::duplex(64 * 1024);
/// let mut ws = WebSocket::from_upgraded(stream, Connection::new(Role::Server, Config::default()));
/// assert_eq!(ws.high_water_mark(), DEFAULT_HIGH_WATER_MARK);
/// // A bulk transfer to a fast reader: let four times as much wait before `send` waits.
/// ws.set_high_water_mark(4 * DEFAULT_HIGH_WATER_MARK);
/// # }
/// ```
pub const DEFAULT_HIGH_WATER_MARK: usize = 256 * 1024;

/// The README's examples, compiled with the doc tests so that they stay true.
#[cfg(all(doctest, feature = "blocking", feature = "tokio", feature = "rustls", feature = "redis"))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
