//! Sans-IO WebSocket protocol core of laputa (RFC 6455, RFC 7692).
#![forbid(unsafe_code)]

pub mod auth;
mod close;
pub mod cluster;
mod config;
pub mod connect;
mod connection;
pub mod cookies;
pub mod deflate;
mod error;
pub mod extensions;
pub mod files;
pub mod frame;
pub mod handshake;
pub mod http1;
mod idle;
mod input;
mod keepalive;
pub mod mask;
mod message;
mod percent;
mod prepared;
pub mod proxy;
mod rng;
mod room_ahead;
pub mod server;
#[cfg(test)]
mod test_log;
mod transmit;
mod utf8;
mod write_stall;

/// The `bytes` crate: payloads are [`bytes::Bytes`] and [`TransmitQueue`] is a [`bytes::Buf`].
pub use bytes;
pub use close::{CloseCode, CloseFrame, MAX_REASON_LEN};
pub use config::{Config, IdleTimeout, Keepalive};
pub use connection::{Connection, Role, State};
pub use deflate::{DeflateConfig, DeflateParams};
pub use error::{Error, ProtocolError};
/// The `http` crate, whose types ([`http::StatusCode`], [`http::HeaderMap`], ...) appear in the
/// handshake API.
pub use http;
pub use message::{Closed, Event, Message, MessageKind, Utf8Bytes};
pub use prepared::PreparedMessage;
pub use rng::Rng;
pub use transmit::TransmitQueue;
