//! Helpers shared by the core's integration tests: a seeded PRNG, frame builders, a frame reader
//! for what a connection transmits, and the standard drive steps.
#![allow(dead_code)]

use laputa_core::frame::FrameHeader;
use laputa_core::mask::apply_mask;
use laputa_core::{Connection, Event};
use std::time::Instant;

/// A small deterministic generator (splitmix64): every test run sees the same inputs.
pub(crate) struct Prng(u64);

impl Prng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `num / den`.
    pub(crate) fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }

    /// Text of about `len` bytes made of 1- to 4-byte characters.
    pub(crate) fn text(&mut self, len: usize) -> String {
        const CHARS: [char; 8] = ['a', 'z', ' ', '\u{e9}', '\u{20ac}', '\u{4e2d}', '\u{1f600}', '\u{10ffff}'];
        let mut out = String::with_capacity(len + 4);
        while out.len() < len {
            out.push(CHARS[self.below(CHARS.len())]);
        }
        out
    }

    /// A length for a payload: mostly small, sometimes in the 16-bit and 64-bit length forms.
    pub(crate) fn payload_len(&mut self) -> usize {
        match self.below(20) {
            0 => 0,
            1 => 125 + self.below(3),
            2 => 65_535 + self.below(3),
            3 => 126 + self.below(4000),
            _ => self.below(126),
        }
    }

    /// Fewer than `max` cut points (see [`Self::cuts`]).
    pub(crate) fn some_cuts(&mut self, len: usize, max: usize) -> Vec<usize> {
        let count = self.below(max);
        self.cuts(len, count)
    }

    /// Cut points that split `len` bytes into random pieces (sorted, within `0..=len`, possibly
    /// repeated, which gives empty pieces).
    pub(crate) fn cuts(&mut self, len: usize, count: usize) -> Vec<usize> {
        let mut cuts: Vec<usize> = (0..count).map(|_| self.below(len + 1)).collect();
        cuts.sort_unstable();
        cuts
    }
}

/// Splits `data` at `cuts` (sorted).
pub(crate) fn pieces<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for &cut in cuts {
        out.push(&data[start..cut]);
        start = cut;
    }
    out.push(&data[start..]);
    out
}

/// The masking key of RFC 6455 section 5.7.
pub(crate) const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Opcodes, for building frames by hand.
pub(crate) const CONT: u8 = 0x0;
pub(crate) const TEXT: u8 = 0x1;
pub(crate) const BINARY: u8 = 0x2;
pub(crate) const CLOSE: u8 = 0x8;
pub(crate) const PING: u8 = 0x9;
pub(crate) const PONG: u8 = 0xA;
pub(crate) const FIN: u8 = 0x80;

/// The header of a frame whose first byte is `b0` (FIN, RSV bits and opcode as given), with a
/// payload length of `len` in the shortest form, masked with `mask` if given.
pub(crate) fn header(b0: u8, len: u64, mask: Option<[u8; 4]>) -> Vec<u8> {
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let mut out = vec![b0];
    match len {
        0..=125 => out.push(mask_bit | len as u8),
        126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
    out
}

/// A whole frame, masked with [`KEY`] if `masked` (as a client sends it).
pub(crate) fn frame(b0: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mask = masked.then_some(KEY);
    let mut out = header(b0, payload.len() as u64, mask);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
    out
}

/// A frame from a client (masked).
pub(crate) fn client_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, payload, true)
}

/// A frame from a server (unmasked).
pub(crate) fn server_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, payload, false)
}

/// Every event available now.
pub(crate) fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// Everything the connection has to send now.
pub(crate) fn transmit(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    conn.poll_transmit(Instant::now(), &mut out);
    out
}

/// A frame read back from transmitted bytes, payload unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireFrame {
    pub(crate) header: FrameHeader,
    pub(crate) payload: Vec<u8>,
}

impl WireFrame {
    pub(crate) fn opcode(&self) -> u8 {
        let mut out = Vec::new();
        self.header.encode(&mut out);
        out[0] & 0x0F
    }

    /// The code of a close frame with a body.
    pub(crate) fn close_code(&self) -> Option<u16> {
        (self.opcode() == CLOSE && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// Reads complete frames from `bytes`; panics on trailing garbage.
pub(crate) fn read_frames(mut bytes: &[u8]) -> Vec<WireFrame> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (header, len) = FrameHeader::parse(bytes).expect("valid header").expect("complete header");
        let end = len + header.len as usize;
        let mut payload = bytes[len..end].to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        out.push(WireFrame { header, payload });
        bytes = &bytes[end..];
    }
    out
}
