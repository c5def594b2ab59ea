//! The error type shared by every adapter.

use laputa_core::handshake::HandshakeError;
use laputa_core::{Closed, ProtocolError};
use std::{fmt, io};

/// What can go wrong when driving a WebSocket over a socket.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed (or a read/write timeout set on it expired; the connection stays usable
    /// after a timeout and nothing read or written so far is lost).
    Io(io::Error),
    /// The connection is over. [`Closed`] says how: the close code and reason, whether the close
    /// handshake completed, and the protocol error if the peer broke the protocol.
    Closed(Closed),
    /// The core refused: a failed handshake, or local misuse such as an invalid close code.
    Ws(laputa_core::Error),
}

impl Error {
    /// True when the connection is over (normally or not), as opposed to a failure of the call.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }

    /// The protocol error the peer committed, if that is why the connection ended.
    pub fn protocol_error(&self) -> Option<&ProtocolError> {
        match self {
            Self::Closed(closed) => closed.error.as_ref(),
            Self::Ws(laputa_core::Error::Protocol(e)) => Some(e),
            _ => None,
        }
    }

    /// The handshake error, if the opening handshake failed (for example a 401 to a client).
    pub fn handshake_error(&self) -> Option<&HandshakeError> {
        match self {
            Self::Ws(laputa_core::Error::Handshake(e)) => Some(e),
            _ => None,
        }
    }

    /// True for a timeout set on the socket (`WouldBlock` or `TimedOut`): retry the call.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Io(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::Closed(closed) => {
                write!(f, "connection closed with code {}", closed.code)?;
                if !closed.reason.is_empty() {
                    write!(f, " ({})", closed.reason)?;
                }
                match &closed.error {
                    Some(e) => write!(f, ": {e}"),
                    None => Ok(()),
                }
            }
            Self::Ws(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Closed(closed) => closed.error.as_ref().map(|e| e as _),
            Self::Ws(e) => Some(e),
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<laputa_core::Error> for Error {
    fn from(e: laputa_core::Error) -> Self {
        Self::Ws(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Self::Ws(e.into())
    }
}
