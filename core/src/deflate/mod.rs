//! permessage-deflate (RFC 7692): negotiating it in the handshake, and compressing the messages.
//!
//! # Negotiation
//!
//! A client sends [`client_offer`] in `Sec-WebSocket-Extensions` and checks the server's answer
//! with [`client_accept`]; a server picks an offer with [`server_negotiate`], which also builds
//! its answer. Both ends come out with the same [`DeflateParams`], from which the connection
//! builds its compressor and decompressor. What each end asks for and allows is a
//! [`DeflateConfig`].
//!
//! # On the wire
//!
//! A compressed message has RSV1 set on its first frame only; control frames are never
//! compressed. Its payload is raw deflate ending with a sync flush, minus the flush's final
//! `00 00 ff ff`, which the receiver appends again before inflating. Any message may also be sent
//! uncompressed, with RSV1 clear: messages shorter than [`DeflateConfig::min_compress_size`] are.
//!
//! The decompressor enforces the message size limit while inflating, a chunk at a time, so a
//! small compressed message that would inflate to gigabytes fails as soon as it passes the limit
//! and costs no more memory than the limit.
//!
//! # Memory per connection
//!
//! A negotiated connection holds one compressor and one decompressor for its whole life
//! (zlib-rs through flate2, which always uses zlib's default `memLevel` of 8). Measured with
//! flate2 1.1 and zlib-rs 0.6, by window size of the compressor:
//!
//! | window bits | window   | compressor | decompressor | both    |
//! |-------------|----------|-----------:|-------------:|--------:|
//! | 9           | 512 B    | 245 KiB    | 46 KiB       | 292 KiB |
//! | 10          | 1 KiB    | 247 KiB    | 46 KiB       | 294 KiB |
//! | 11          | 2 KiB    | 251 KiB    | 46 KiB       | 298 KiB |
//! | 12          | 4 KiB    | 259 KiB    | 46 KiB       | 306 KiB |
//! | 13          | 8 KiB    | 275 KiB    | 46 KiB       | 322 KiB |
//! | 14          | 16 KiB   | 307 KiB    | 46 KiB       | 354 KiB |
//! | 15          | 32 KiB   | 371 KiB    | 46 KiB       | 418 KiB |
//!
//! The compressor is `4 << bits` bytes of window and chain table, plus 240 KiB that do not
//! depend on the window (a 64 Ki-entry hash table, 128 KiB, where C zlib's is `1 << (memLevel +
//! 9)`, and 112 KiB of block buffers), plus 3 KiB of state. For comparison, C zlib documents
//! `(1 << (windowBits + 2)) + (1 << (memLevel + 9))` for deflate, 256 KiB at 15 bits, and
//! `(1 << windowBits)` plus about 7 KiB for inflate. zlib-rs's decompressor always holds a
//! 32 KiB window, so a smaller negotiated window saves memory only on the sending side, and
//! no-context-takeover saves none: it resets the state rather than freeing it. Ten thousand
//! connections with compression at 15 bits hold about 4 GiB.
//!
//! Small windows cost CPU instead: zlib-rs slides its window, and rescans its fixed-size hash
//! table, every few hundred bytes. At level 1 on large JSON-like messages it compressed about
//! 1.4 GB/s at 15 bits, 0.9 GB/s at 12 and 0.26 GB/s at 9 (release build, one core of the
//! development machine), for nearly the same ratio.

mod codec;
mod params;

pub(crate) use codec::{Deflater, Inflater};
pub use params::{
    client_accept, client_offer, server_negotiate, DeflateConfig, DeflateParams, NegotiationError, PERMESSAGE_DEFLATE,
};

/// How many [`PerMessageDeflate::shared_group`]s there are: one per window (9 to 15 bits, as the
/// codec compresses) and zlib level (0 to 9).
pub(crate) const SHARED_GROUPS: usize = 7 * 10;

/// The group of a server compressing without context takeover with `bits` (clamped as the codec
/// does: 8 compresses as 9) at `level` (above 9 means 9).
fn shared_group(bits: u8, level: u32) -> usize {
    let bits = usize::from(bits.clamp(codec::MIN_ZLIB_WINDOW_BITS, 15) - codec::MIN_ZLIB_WINDOW_BITS);
    bits * 10 + level.min(9) as usize
}

/// The permessage-deflate state of one connection that negotiated it. The compressor and the
/// decompressor are created on first use, so a connection that never sends (or never receives)
/// a compressed message never holds their few hundred KiB.
#[derive(Debug)]
pub(crate) struct PerMessageDeflate {
    role: crate::Role,
    params: DeflateParams,
    level: u32,
    min_compress_size: usize,
    deflater: Option<Deflater>,
    inflater: Option<Inflater>,
}

impl PerMessageDeflate {
    pub(crate) fn new(role: crate::Role, params: DeflateParams, config: Option<&DeflateConfig>) -> Self {
        let defaults = DeflateConfig::default();
        let config = config.unwrap_or(&defaults);
        Self {
            role,
            params,
            level: config.compression_level,
            min_compress_size: config.min_compress_size,
            deflater: None,
            inflater: None,
        }
    }

    /// The group of connections that compress a whole message to the same bytes, when this one
    /// does so for every message: a server without context takeover resets its compressor after
    /// each message, so its output depends only on the window and the level. `None` for a
    /// client (a [`PreparedMessage`](crate::PreparedMessage) is masked per connection anyway) and
    /// for a server that keeps its context.
    pub(crate) fn shared_group(&self) -> Option<usize> {
        (self.role == crate::Role::Server && self.params.server_no_context_takeover)
            .then(|| shared_group(self.params.server_max_window_bits, self.level))
    }

    /// Whether a whole message of `len` bytes is worth compressing.
    pub(crate) fn worth_compressing(&self, len: usize) -> bool {
        len >= self.min_compress_size
    }

    /// Appends the compressed payload of one frame (a whole message when `is_final` and it is
    /// the first) to `out`.
    pub(crate) fn compress(&mut self, data: &[u8], is_final: bool, out: &mut Vec<u8>) {
        let (params, role, level) = (&self.params, self.role, self.level);
        let deflater = self.deflater.get_or_insert_with(|| Deflater::new(params, role, level));
        deflater.compress_fragment(data, is_final, out);
    }

    /// Inflates one frame of a compressed message onto `out`, bounded by `max_total`.
    pub(crate) fn inflate(
        &mut self,
        data: &[u8],
        is_final: bool,
        out: &mut bytes::BytesMut,
        max_total: usize,
    ) -> Result<(), crate::ProtocolError> {
        let (params, role) = (&self.params, self.role);
        let inflater = self.inflater.get_or_insert_with(|| Inflater::new(params, role));
        inflater.inflate(data, is_final, out, max_total)
    }
}
