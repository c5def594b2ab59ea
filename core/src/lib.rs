//! Sans-IO WebSocket protocol core of laputa (RFC 6455, RFC 7692).
#![forbid(unsafe_code)]

mod close;
mod config;
mod connection;
pub mod deflate;
mod error;
pub mod extensions;
pub mod handshake;
mod message;
mod rng;

pub use close::{CloseCode, CloseFrame, MAX_REASON_LEN};
pub use config::Config;
pub use connection::{Connection, Role};
pub use deflate::{DeflateConfig, DeflateParams};
pub use error::{Error, ProtocolError};
pub use message::{Closed, Event, Message, MessageKind, Utf8Bytes};
pub use rng::Rng;
