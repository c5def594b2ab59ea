//! Close codes and close frames (RFC 6455 sections 5.5.1 and 7.4).

use crate::error::ProtocolError;
use bytes::{BufMut, Bytes};
use std::fmt;

/// A close status code (RFC 6455 section 7.4).
///
/// The named constants cover the registered codes; any other `u16` can be wrapped, and
/// [`CloseCode::is_sendable`] says whether it may appear on the wire.
///
/// ```
/// use laputa_core::CloseCode;
/// assert_eq!(u16::from(CloseCode::NORMAL), 1000);
/// assert!(!CloseCode::ABNORMAL.is_sendable());
/// assert!(CloseCode(4000).is_sendable());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: Self = Self(1000);
    /// 1001: the endpoint is going away (server shutting down, page navigated away).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: the peer violated the protocol.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: the endpoint received a type of data it cannot accept.
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1005: no status code was present. Never sent on the wire.
    pub const NO_STATUS: Self = Self(1005);
    /// 1006: the connection closed without a close frame. Never sent on the wire.
    pub const ABNORMAL: Self = Self(1006);
    /// 1007: a message's data was inconsistent with its type (invalid UTF-8 in text).
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: a message was too big to process.
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1010: the client expected the server to negotiate an extension it did not.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: Self = Self(1011);
    /// 1012: the service is restarting.
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013: try again later.
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014: a gateway received an invalid response from upstream.
    pub const BAD_GATEWAY: Self = Self(1014);
    /// 1015: the TLS handshake failed. Never sent on the wire.
    pub const TLS_HANDSHAKE: Self = Self(1015);

    /// Whether the code may be sent in a close frame: the registered codes 1000-1003 and
    /// 1007-1014, and the ranges 3000-3999 (registered with IANA) and 4000-4999 (private use).
    /// 1005, 1006 and 1015 are only reported locally; everything else is reserved.
    ///
    /// ```
    /// use laputa_core::CloseCode;
    ///
    /// assert!(CloseCode::GOING_AWAY.is_sendable());
    /// assert!(CloseCode(4001).is_sendable(), "private use");
    /// assert!(!CloseCode::NO_STATUS.is_sendable(), "only reported locally");
    /// assert!(!CloseCode(1004).is_sendable(), "reserved");
    /// ```
    pub fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        Self(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The content of a close frame: a code and a UTF-8 reason of at most 123 bytes.
///
/// ```
/// use laputa_core::{CloseCode, CloseFrame, Config, Connection, Event, Role};
/// # use std::time::Instant;
///
/// let mut server = Connection::new(Role::Server, Config::default());
/// # let mut client = Connection::new(Role::Client, Config::default());
/// # client.close(CloseCode::GOING_AWAY, "restarting")?;
/// # let mut from_client = Vec::new();
/// # client.poll_transmit(Instant::now(), &mut from_client);
/// // The client closes with 1001 "restarting".
/// server.handle_input(&from_client);
/// let frame = CloseFrame { code: CloseCode::GOING_AWAY, reason: "restarting".into() };
/// assert_eq!(server.poll_event(), Some(Event::CloseReceived(Some(frame))));
/// # Ok::<(), laputa_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// Why the connection is closing.
    pub code: CloseCode,
    /// Human-readable explanation; may be empty.
    pub reason: String,
}

/// Longest reason that fits a control frame (125 bytes) beside the 2-byte code.
///
/// ```
/// use laputa_core::{CloseCode, Config, Connection, Error, Role, MAX_REASON_LEN};
///
/// let mut server = Connection::new(Role::Server, Config::default());
/// let reason = "x".repeat(MAX_REASON_LEN + 1);
/// assert_eq!(server.close(CloseCode::NORMAL, &reason), Err(Error::ControlPayloadTooLong));
/// server.close(CloseCode::NORMAL, &reason[..MAX_REASON_LEN])?;
/// # Ok::<(), Error>(())
/// ```
pub const MAX_REASON_LEN: usize = 123;

impl CloseFrame {
    /// Parses the payload of a received close frame.
    ///
    /// An empty payload means "no status" (`Ok(None)`). A 1-byte payload and codes that may not
    /// be sent are protocol errors (1002); a reason that is not UTF-8 is 1007.
    ///
    /// ```
    /// use laputa_core::{CloseCode, CloseFrame, ProtocolError};
    ///
    /// let frame = CloseFrame::parse(b"\x03\xe8bye")?.expect("the payload has a code");
    /// assert_eq!((frame.code, frame.reason.as_str()), (CloseCode::NORMAL, "bye"));
    /// assert_eq!(CloseFrame::parse(b"")?, None, "no status");
    /// assert_eq!(CloseFrame::parse(b"\x03\xed"), Err(ProtocolError::InvalidCloseCode(1005)));
    /// # Ok::<(), ProtocolError>(())
    /// ```
    pub fn parse(payload: &[u8]) -> Result<Option<Self>, ProtocolError> {
        match payload {
            [] => Ok(None),
            [_] => Err(ProtocolError::InvalidClosePayload),
            [hi, lo, reason @ ..] => {
                let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
                if !code.is_sendable() {
                    return Err(ProtocolError::InvalidCloseCode(code.0));
                }
                let reason = simdutf8::basic::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?.to_owned();
                Ok(Some(Self { code, reason }))
            }
        }
    }

    /// The frame's payload: the code in network order followed by the reason.
    ///
    /// ```
    /// use laputa_core::{CloseCode, CloseFrame};
    ///
    /// let frame = CloseFrame { code: CloseCode::GOING_AWAY, reason: "restarting".into() };
    /// let payload = frame.encode();
    /// assert_eq!(&payload[..], b"\x03\xe9restarting");
    /// assert_eq!(CloseFrame::parse(&payload)?, Some(frame));
    /// # Ok::<(), laputa_core::ProtocolError>(())
    /// ```
    pub fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(2 + self.reason.len());
        out.put_u16(self.code.0);
        out.extend_from_slice(self.reason.as_bytes());
        out.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendable_codes_follow_section_7_4() {
        for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999] {
            assert!(CloseCode(code).is_sendable(), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            assert!(!CloseCode(code).is_sendable(), "{code}");
        }
    }

    #[test]
    fn parse_close_payloads() {
        assert_eq!(CloseFrame::parse(&[]), Ok(None));
        assert_eq!(CloseFrame::parse(&[3]), Err(ProtocolError::InvalidClosePayload));
        assert_eq!(CloseFrame::parse(&[0x03, 0xe7]), Err(ProtocolError::InvalidCloseCode(999)));
        assert_eq!(CloseFrame::parse(&[0x03, 0xed]), Err(ProtocolError::InvalidCloseCode(1005)));
        assert_eq!(CloseFrame::parse(&[0x03, 0xe8, 0xff]), Err(ProtocolError::InvalidUtf8));
        let frame = CloseFrame { code: CloseCode::NORMAL, reason: "bye".into() };
        assert_eq!(CloseFrame::parse(&frame.encode()), Ok(Some(frame)));
    }
}
