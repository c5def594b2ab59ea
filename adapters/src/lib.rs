//! # laputa
//!
//! A WebSocket client and server (RFC 6455, with permessage-deflate per RFC 7692) for every Rust
//! runtime. The protocol lives once, in the sans-IO crate [`laputa_core`] (re-exported here as
//! [`core`]); this crate drives it over sockets:
//!
//! - [`blocking`] (feature `blocking`, on by default): `std::net` sockets and threads.
//!
//! ```no_run
//! use laputa::{blocking, CloseCode, Message};
//!
//! let (mut ws, _response) = blocking::connect("ws://127.0.0.1:9001/Laputa")?;
//! ws.send(Message::from("BALUS"))?;
//! let reply = ws.read()?;
//! println!("Laputa says: {}", reply.as_text().unwrap_or("<binary>"));
//! ws.close(CloseCode::NORMAL, "")?;
//! # Ok::<(), laputa::Error>(())
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "blocking")]
pub mod blocking;
mod error;

pub use error::Error;
pub use laputa_core as core;
pub use laputa_core::handshake::{self, Accept, ClientRequest, HandshakeError, IncomingRequest, Reject};
pub use laputa_core::{
    CloseCode, CloseFrame, Closed, Config, DeflateConfig, Event, Keepalive, Message, MessageKind, ProtocolError, Role,
    Utf8Bytes,
};
