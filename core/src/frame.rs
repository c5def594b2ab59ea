//! The frame header codec (RFC 6455 section 5.2).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! ```
//!
//! This module only reads and writes headers; which combinations a connection accepts (masking
//! by role, RSV bits by extension, control frame rules) is decided by the connection.

use crate::error::ProtocolError;

/// Frame opcodes (RFC 6455 section 5.2); the reserved values are kept as `Reserved`.
///
/// ```
/// use laputa_core::frame::{FrameHeader, OpCode};
///
/// let (header, _) = FrameHeader::parse(&[0x89, 0x00])?.expect("a complete header");
/// assert_eq!(header.opcode, OpCode::Ping);
/// // The codec reports reserved opcodes; refusing them is the connection's job.
/// let (header, _) = FrameHeader::parse(&[0x83, 0x00])?.expect("a complete header");
/// assert_eq!(header.opcode, OpCode::Reserved(0x3));
/// # Ok::<(), laputa_core::ProtocolError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: first frame of a text message.
    Text,
    /// 0x2: first frame of a binary message.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
    /// 0x3-0x7 and 0xB-0xF: reserved for future use.
    Reserved(u8),
}

impl OpCode {
    fn from_bits(bits: u8) -> Self {
        match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            other => Self::Reserved(other),
        }
    }

    fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
            Self::Reserved(bits) => bits & 0xF,
        }
    }

    /// Control frames (close, ping, pong and reserved 0xB-0xF) have the top opcode bit set.
    ///
    /// ```
    /// use laputa_core::frame::OpCode;
    ///
    /// assert!(OpCode::Close.is_control());
    /// assert!(OpCode::Reserved(0xB).is_control());
    /// assert!(!OpCode::Text.is_control());
    /// assert!(!OpCode::Reserved(0x3).is_control());
    /// ```
    pub fn is_control(self) -> bool {
        self.bits() & 0x8 != 0
    }
}

/// A decoded frame header.
///
/// ```
/// use laputa_core::frame::{FrameHeader, OpCode};
///
/// // The header of an unmasked 256-byte binary frame, as a server sends it.
/// let header = FrameHeader { fin: true, rsv: [false; 3], opcode: OpCode::Binary, mask: None, len: 256 };
/// let mut out = Vec::new();
/// header.encode(&mut out);
/// assert_eq!(out, [0x82, 0x7E, 0x01, 0x00]);
/// assert_eq!(FrameHeader::parse(&out)?, Some((header, 4)));
/// # Ok::<(), laputa_core::ProtocolError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Last frame of its message.
    pub fin: bool,
    /// RSV1 (used by permessage-deflate), RSV2, RSV3.
    pub rsv: [bool; 3],
    /// The frame type.
    pub opcode: OpCode,
    /// The masking key, present on every client-to-server frame.
    pub mask: Option<[u8; 4]>,
    /// Payload length.
    pub len: u64,
}

/// The longest header: 2 bytes, 8 of extended length, 4 of mask.
///
/// ```
/// use laputa_core::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
///
/// // A client's frame with a 64-bit length has the longest header.
/// let mask = Some([1, 2, 3, 4]);
/// let header = FrameHeader { fin: true, rsv: [false; 3], opcode: OpCode::Binary, mask, len: 1 << 16 };
/// let mut out = Vec::with_capacity(MAX_HEADER_LEN);
/// header.encode(&mut out);
/// assert_eq!(out.len(), MAX_HEADER_LEN);
/// ```
pub const MAX_HEADER_LEN: usize = 14;

impl FrameHeader {
    /// Parses a header from the start of `buf`. Returns the header and its encoded length, or
    /// `None` if more bytes are needed. Rejects lengths that are not in their shortest form or
    /// that set the top bit of the 64-bit form (RFC 6455 section 5.2: "the minimal number of bytes
    /// MUST be used to encode the length"; "the most significant bit MUST be 0").
    ///
    /// ```
    /// use laputa_core::frame::{FrameHeader, OpCode};
    /// use laputa_core::mask::apply_mask;
    /// use laputa_core::ProtocolError;
    ///
    /// // A masked text frame "Hello" from RFC 6455 section 5.7.
    /// let frame = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    /// assert_eq!(FrameHeader::parse(&frame[..4])?, None, "the mask has not all arrived");
    /// let (header, header_len) = FrameHeader::parse(&frame)?.expect("a complete header");
    /// assert_eq!((header.fin, header.opcode, header.len), (true, OpCode::Text, 5));
    /// let mut payload = frame[header_len..].to_vec();
    /// apply_mask(&mut payload, header.mask.expect("a client frame is masked"), 0);
    /// assert_eq!(payload, b"Hello");
    /// // 5 in the 16-bit length form is not the shortest encoding.
    /// assert_eq!(FrameHeader::parse(&[0x82, 0x7E, 0x00, 0x05]), Err(ProtocolError::InvalidLength));
    /// # Ok::<(), ProtocolError>(())
    /// ```
    #[inline]
    pub fn parse(buf: &[u8]) -> Result<Option<(Self, usize)>, ProtocolError> {
        let [b0, b1, rest @ ..] = buf else { return Ok(None) };
        let masked = b1 & 0x80 != 0;
        let (len, len_bytes) = match b1 & 0x7F {
            126 => match rest {
                [a, b, ..] => match u16::from_be_bytes([*a, *b]) {
                    n if n < 126 => return Err(ProtocolError::InvalidLength),
                    n => (u64::from(n), 2),
                },
                _ => return Ok(None),
            },
            127 => match rest.get(..8) {
                Some(bytes) => {
                    let mut be = [0u8; 8];
                    be.copy_from_slice(bytes);
                    match u64::from_be_bytes(be) {
                        n if n >> 63 != 0 || n <= 0xFFFF => return Err(ProtocolError::InvalidLength),
                        n => (n, 8),
                    }
                }
                None => return Ok(None),
            },
            n => (u64::from(n), 0),
        };
        let header_len = 2 + len_bytes + if masked { 4 } else { 0 };
        if buf.len() < header_len {
            return Ok(None);
        }
        let mask = masked.then(|| {
            let m = &buf[2 + len_bytes..header_len];
            [m[0], m[1], m[2], m[3]]
        });
        let header = Self {
            fin: b0 & 0x80 != 0,
            rsv: [b0 & 0x40 != 0, b0 & 0x20 != 0, b0 & 0x10 != 0],
            opcode: OpCode::from_bits(b0 & 0x0F),
            mask,
            len,
        };
        Ok(Some((header, header_len)))
    }

    /// Appends the encoded header to `out`, using the shortest length form.
    ///
    /// ```
    /// use laputa_core::frame::{FrameHeader, OpCode};
    ///
    /// // A client's masked ping with a 4-byte payload: the length fits in the first 7 bits.
    /// let header = FrameHeader { fin: true, rsv: [false; 3], opcode: OpCode::Ping, mask: Some([1, 2, 3, 4]), len: 4 };
    /// let mut out = Vec::new();
    /// header.encode(&mut out);
    /// assert_eq!(out, [0x89, 0x84, 1, 2, 3, 4]);
    /// ```
    pub fn encode(&self, out: &mut impl bytes::BufMut) {
        let (bytes, len) = self.encode_array();
        out.put_slice(&bytes[..len]);
    }

    /// The encoded header in a stack array, with its length, using the shortest length form.
    /// Inlined so that a sender writes the header and payload with one reserve and two copies,
    /// rather than checking capacity once per header field.
    #[inline]
    pub(crate) fn encode_array(&self) -> ([u8; MAX_HEADER_LEN], usize) {
        let mut out = [0u8; MAX_HEADER_LEN];
        out[0] = u8::from(self.fin) << 7
            | u8::from(self.rsv[0]) << 6
            | u8::from(self.rsv[1]) << 5
            | u8::from(self.rsv[2]) << 4
            | self.opcode.bits();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let len = match self.len {
            len @ 0..=125 => {
                out[1] = mask_bit | len as u8;
                2
            }
            len @ 126..=0xFFFF => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        match self.mask {
            Some(mask) => {
                out[len..len + 4].copy_from_slice(&mask);
                (out, len + 4)
            }
            None => (out, len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(fin: bool, opcode: OpCode, mask: Option<[u8; 4]>, len: u64) -> FrameHeader {
        FrameHeader { fin, rsv: [false; 3], opcode, mask, len }
    }

    /// RFC 6455 section 5.7, the header part of each example.
    #[test]
    fn rfc_6455_section_5_7_headers() {
        let key = Some([0x37, 0xfa, 0x21, 0x3d]);
        let cases: [(&[u8], FrameHeader); 7] = [
            (&[0x81, 0x05], header(true, OpCode::Text, None, 5)),
            (&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d], header(true, OpCode::Text, key, 5)),
            (&[0x01, 0x03], header(false, OpCode::Text, None, 3)),
            (&[0x80, 0x02], header(true, OpCode::Continuation, None, 2)),
            (&[0x89, 0x05], header(true, OpCode::Ping, None, 5)),
            (&[0x82, 0x7E, 0x01, 0x00], header(true, OpCode::Binary, None, 256)),
            (&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0], header(true, OpCode::Binary, None, 65536)),
        ];
        for (bytes, expected) in cases {
            assert_eq!(FrameHeader::parse(bytes), Ok(Some((expected, bytes.len()))));
            let mut out = Vec::new();
            expected.encode(&mut out);
            assert_eq!(out, bytes);
            for cut in 0..bytes.len() {
                assert_eq!(FrameHeader::parse(&bytes[..cut]), Ok(None));
            }
        }
    }

    #[test]
    fn rejects_non_minimal_and_top_bit_lengths() {
        assert_eq!(FrameHeader::parse(&[0x82, 0x7E, 0x00, 0x7D]), Err(ProtocolError::InvalidLength));
        assert_eq!(FrameHeader::parse(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]), Err(ProtocolError::InvalidLength));
        assert_eq!(FrameHeader::parse(&[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]), Err(ProtocolError::InvalidLength));
        let max = FrameHeader::parse(&[0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(max, Ok(Some((header(true, OpCode::Binary, None, (1 << 63) - 1), 10))));
    }

    #[test]
    fn reserved_bits_and_opcodes_are_reported_not_judged() {
        let (h, _) = FrameHeader::parse(&[0xF3, 0x00]).unwrap().unwrap();
        assert_eq!(h.rsv, [true, true, true]);
        assert_eq!(h.opcode, OpCode::Reserved(3));
        assert!(!h.opcode.is_control());
        assert!(OpCode::Reserved(0xB).is_control());
    }
}
