//! Compressing and inflating message payloads (RFC 7692 section 7.2).

use super::params::DeflateParams;
use crate::{ProtocolError, Role};
use bytes::BytesMut;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The end of a sync flush, an empty stored block: removed from a compressed message by the
/// sender and appended again by the receiver (RFC 7692 section 7.2.1).
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Most bytes the inflater produces in one step, and so the most by which it could pass the
/// caller's limit were it not also capped by the room left under that limit.
pub(crate) const INFLATE_CHUNK: usize = 32 << 10;
/// The first step's output for a message: small, since most messages are.
const FIRST_INFLATE_STEP: usize = 256;
/// Growth step of the compressor's output buffer.
const DEFLATE_CHUNK: usize = 16 << 10;
/// The window zlib compresses raw deflate with at least; see
/// [`DeflateConfig::server_max_window_bits`](super::DeflateConfig::server_max_window_bits).
pub(super) const MIN_ZLIB_WINDOW_BITS: u8 = 9;
/// The largest stored block's payload.
const MAX_STORED: usize = 0xffff;

/// Compresses the messages one endpoint sends.
pub(crate) struct Deflater {
    compress: Compress,
    /// Reset after every message: `*_no_context_takeover` for our side.
    no_context_takeover: bool,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater").field("no_context_takeover", &self.no_context_takeover).finish_non_exhaustive()
    }
}

impl Deflater {
    /// A compressor for the messages that `role` sends under `params`, at zlib `level` (0-9).
    pub(crate) fn new(params: &DeflateParams, role: Role, level: u32) -> Self {
        let bits = params.send_window_bits(role).clamp(MIN_ZLIB_WINDOW_BITS, 15);
        Self {
            compress: Compress::new_with_window_bits(Compression::new(level.min(9)), false, bits),
            no_context_takeover: params.send_no_context_takeover(role),
        }
    }

    /// Appends the payload of a whole compressed message to `out`: deflate with a sync flush,
    /// minus the trailing `00 00 ff ff`. An empty message gives `00`.
    #[cfg(test)]
    pub(crate) fn compress_message(&mut self, payload: &[u8], out: &mut Vec<u8>) {
        self.compress_fragment(payload, true, out);
    }

    /// Appends the payload of one frame of a message sent in fragments.
    ///
    /// Every fragment is flushed, so the receiver can inflate it on arrival; only the final one
    /// loses its trailing `00 00 ff ff`. A final fragment with nothing left to flush becomes the
    /// single byte `00`, RFC 7692 section 7.2.3.6's empty fragment: with the tail the receiver
    /// appends it is a complete empty stored block. (zlib emits nothing for a sync flush right
    /// after another, so a bare `00 00 ff ff` appended by the receiver would open a stored block
    /// that never ends.)
    pub(crate) fn compress_fragment(&mut self, data: &[u8], is_final: bool, out: &mut Vec<u8>) {
        let start = out.len();
        if !self.deflate_sync(data, out) {
            // zlib refuses only misuse, which the calls above cannot make; should it happen,
            // stored blocks are still a valid message, and a fresh compressor a valid window.
            out.truncate(start);
            write_stored(data, out);
            self.compress.reset();
        }
        if is_final {
            if out[start..].ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            } else {
                debug_assert_eq!(out.len(), start, "a sync flush ends with an empty stored block");
                out.push(0x00);
            }
            if self.no_context_takeover {
                self.compress.reset();
            }
        }
    }

    /// Compresses all of `data` with a sync flush into `out`, growing it in chunks. Returns
    /// `false` if zlib failed.
    fn deflate_sync(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> bool {
        out.reserve(data.len().min(DEFLATE_CHUNK) + 64);
        loop {
            if out.len() == out.capacity() {
                out.reserve(DEFLATE_CHUNK);
            }
            let before = self.compress.total_in();
            if self.compress.compress_vec(data, out, FlushCompress::Sync).is_err() {
                return false;
            }
            let consumed = (self.compress.total_in() - before) as usize;
            data = &data[consumed..];
            // zlib stops only when it runs out of input or of room: with room left over and no
            // input, the flush is complete.
            if data.is_empty() && out.len() < out.capacity() {
                return true;
            }
        }
    }
}

/// Writes `data` as uncompressed non-final stored blocks, starting on a byte boundary.
fn write_stored(data: &[u8], out: &mut Vec<u8>) {
    out.reserve(data.len() + (data.len() / MAX_STORED + 1) * 5 + TAIL.len() + 1);
    for block in data.chunks(MAX_STORED) {
        let len = block.len() as u16;
        out.push(0x00); // BFINAL 0, BTYPE 00, padding
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.push(0x00);
    out.extend_from_slice(&TAIL);
}

/// Inflates the messages one endpoint receives.
///
/// The decompressor always has a 15-bit window, whatever was negotiated for the peer: a larger
/// window decodes everything a smaller one does, zlib-rs allocates the full 32 KiB window anyway,
/// and flate2 can only reset a decompressor in place (without allocating) at 15 bits.
pub(crate) struct Inflater {
    decompress: Decompress,
    /// Reset after every message: the peer's `*_no_context_takeover`.
    no_context_takeover: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater").field("no_context_takeover", &self.no_context_takeover).finish_non_exhaustive()
    }
}

impl Inflater {
    /// A decompressor for the messages that `role` receives under `params`.
    pub(crate) fn new(params: &DeflateParams, role: Role) -> Self {
        Self {
            decompress: Decompress::new_with_window_bits(false, 15),
            no_context_takeover: params.recv_no_context_takeover(role),
        }
    }

    /// Inflates the payload of one frame of a compressed message and appends it to `out`, which
    /// holds what the message's earlier frames gave.
    ///
    /// With `is_final` (the frame with FIN), the `00 00 ff ff` tail is fed after `compressed`
    /// and the message is complete. The limit is enforced while inflating: as soon as `out`
    /// would grow past `max_total` bytes, this fails with [`ProtocolError::MessageTooLarge`]
    /// having produced at most one byte more than `max_total`, so a deflate bomb costs no more
    /// memory than the limit allows. A message of exactly `max_total` bytes passes. A corrupt
    /// stream fails with [`ProtocolError::Decompression`]. After an error the decompressor's state
    /// is unspecified and the connection must fail.
    pub(crate) fn inflate(
        &mut self,
        compressed: &[u8],
        is_final: bool,
        out: &mut BytesMut,
        max_total: usize,
    ) -> Result<(), ProtocolError> {
        self.inflate_part(compressed, out, max_total)?;
        if is_final {
            self.inflate_part(&TAIL, out, max_total)?;
            if self.no_context_takeover {
                self.decompress.reset(false);
            }
        }
        Ok(())
    }

    fn inflate_part(&mut self, mut input: &[u8], out: &mut BytesMut, max_total: usize) -> Result<(), ProtocolError> {
        if input.is_empty() {
            // Every call leaves zlib with nothing pending (it stopped with room to spare), so
            // an empty frame adds nothing.
            return Ok(());
        }
        let too_large = ProtocolError::MessageTooLarge { limit: max_total };
        // Output steps grow from small (most messages are) to INFLATE_CHUNK, so that zeroing
        // the room handed to zlib costs about as much as the output itself.
        let mut step = input.len().saturating_mul(4).clamp(FIRST_INFLATE_STEP, INFLATE_CHUNK);
        loop {
            // Never offer zlib more room than one byte past the limit: that byte, if written,
            // proves the message too large without producing more of it.
            let room = max_total.saturating_add(1).saturating_sub(out.len());
            if room == 0 {
                return Err(too_large);
            }
            let chunk = step.min(room);
            let start = out.len();
            out.resize(start + chunk, 0);
            let (in_before, out_before) = (self.decompress.total_in(), self.decompress.total_out());
            let result = self.decompress.decompress(input, &mut out[start..], FlushDecompress::Sync);
            let consumed = (self.decompress.total_in() - in_before) as usize;
            let produced = (self.decompress.total_out() - out_before) as usize;
            out.truncate(start + produced);
            input = &input[consumed..];
            let status = result
                .map_err(|e| ProtocolError::Decompression(e.message().unwrap_or("invalid deflate data").to_owned()))?;
            if out.len() > max_total {
                return Err(too_large);
            }
            if status == Status::StreamEnd {
                // A block with BFINAL set ends the deflate stream; RFC 7692 section 7.2.3.4 lets
                // more blocks follow in the same message (and later messages need a stream
                // too), so start a new one. Back-references across that boundary fail as
                // corrupt rather than decode wrongly.
                self.decompress.reset(false);
                if input.is_empty() {
                    return Ok(());
                }
                continue;
            }
            // zlib stops when it runs out of input or of room: with room left over and no
            // input, everything this input holds has been produced.
            if input.is_empty() && produced < chunk {
                return Ok(());
            }
            if consumed == 0 && produced == 0 {
                return Err(ProtocolError::Decompression("inflate made no progress".to_owned()));
            }
            step = (step * 2).min(INFLATE_CHUNK);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &[u8] = b"Hello";

    fn params(snct: bool, cnct: bool, sbits: u8, cbits: u8) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: snct,
            client_no_context_takeover: cnct,
            server_max_window_bits: sbits,
            client_max_window_bits: cbits,
        }
    }

    fn takeover() -> DeflateParams {
        DeflateParams::default()
    }

    fn no_takeover() -> DeflateParams {
        params(true, true, 15, 15)
    }

    /// A client inflater (receiving what a server sends).
    fn inflater(p: DeflateParams) -> Inflater {
        Inflater::new(&p, Role::Client)
    }

    fn inflate_all(inf: &mut Inflater, frames: &[&[u8]], limit: usize) -> Result<Vec<u8>, ProtocolError> {
        let mut out = BytesMut::new();
        for (i, frame) in frames.iter().enumerate() {
            inf.inflate(frame, i + 1 == frames.len(), &mut out, limit)?;
        }
        Ok(out.to_vec())
    }

    fn compress(def: &mut Deflater, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        def.compress_message(payload, &mut out);
        out
    }

    /// Text that compresses like JSON traffic.
    fn text(len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 64);
        let mut i = 0u64;
        while out.len() < len {
            out.extend_from_slice(format!(r#"{{"id":{i},"name":"user{}","ok":true}},"#, i * 7919 % 1000).as_bytes());
            i += 1;
        }
        out.truncate(len);
        out
    }

    /// Bytes that do not compress (xorshift).
    fn binary(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    // RFC 7692 section 7.2.3: the examples, byte for byte.

    #[test]
    fn rfc_7_2_3_1_one_block() {
        let mut def = Deflater::new(&takeover(), Role::Server, 1);
        assert_eq!(compress(&mut def, HELLO), [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        let frame = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(inflate_all(&mut inflater(takeover()), &[&frame], 100).unwrap(), HELLO);
        // The same message in two frames: "0xf2 0x48 0xcd" then "0xc9 0xc9 0x07 0x00".
        let frames: [&[u8]; 2] = [&[0xf2, 0x48, 0xcd], &[0xc9, 0xc9, 0x07, 0x00]];
        assert_eq!(inflate_all(&mut inflater(takeover()), &frames, 100).unwrap(), HELLO);
    }

    #[test]
    fn rfc_7_2_3_2_sharing_the_window() {
        // zlib's level 6 reproduces the RFC's bytes; level 1 (quick) finds the match too.
        let mut def = Deflater::new(&takeover(), Role::Server, 6);
        assert_eq!(compress(&mut def, HELLO), [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        assert_eq!(compress(&mut def, HELLO), [0xf2, 0x00, 0x11, 0x00, 0x00]);
        let mut quick = Deflater::new(&takeover(), Role::Server, 1);
        compress(&mut quick, HELLO);
        let second = compress(&mut quick, HELLO);
        assert!(second.len() <= 5, "{second:02x?}");

        let mut inf = inflater(takeover());
        assert_eq!(inflate_all(&mut inf, &[&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]], 100).unwrap(), HELLO);
        assert_eq!(inflate_all(&mut inf, &[&[0xf2, 0x00, 0x11, 0x00, 0x00]], 100).unwrap(), HELLO);
        assert_eq!(inflate_all(&mut inf, &[&second], 100).unwrap(), HELLO);

        // Without context takeover the second message refers to a window the receiver dropped.
        let mut inf = inflater(no_takeover());
        assert_eq!(inflate_all(&mut inf, &[&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]], 100).unwrap(), HELLO);
        let err = inflate_all(&mut inf, &[&[0xf2, 0x00, 0x11, 0x00, 0x00]], 100).unwrap_err();
        assert!(matches!(err, ProtocolError::Decompression(_)), "{err:?}");
        // ... and a sender without context takeover does not refer to it: each "Hello" is the
        // RFC's first one.
        let mut def = Deflater::new(&no_takeover(), Role::Server, 6);
        for _ in 0..2 {
            assert_eq!(compress(&mut def, HELLO), [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        }
    }

    #[test]
    fn rfc_7_2_3_3_stored_block() {
        let frame = [0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00];
        assert_eq!(inflate_all(&mut inflater(takeover()), &[&frame], 100).unwrap(), HELLO);
        // Level 0 stores, in the same shape.
        let mut def = Deflater::new(&takeover(), Role::Server, 0);
        assert_eq!(compress(&mut def, HELLO), frame);
    }

    #[test]
    fn rfc_7_2_3_4_bfinal_block() {
        let frame = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        let mut inf = inflater(takeover());
        assert_eq!(inflate_all(&mut inf, &[&frame], 100).unwrap(), HELLO);
        // The stream ended inside the message; the next message starts a new one.
        assert_eq!(inflate_all(&mut inf, &[&frame], 100).unwrap(), HELLO);
        assert_eq!(inflate_all(&mut inf, &[&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]], 100).unwrap(), HELLO);
        // The final block's last byte closing one frame, and the padding byte in the next.
        let frames: [&[u8]; 3] = [&frame[..7], &[], &[0x00]];
        assert_eq!(inflate_all(&mut inf, &frames, 100).unwrap(), HELLO);
    }

    #[test]
    fn rfc_7_2_3_5_two_blocks() {
        let frame = [0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(inflate_all(&mut inflater(takeover()), &[&frame], 100).unwrap(), HELLO);
    }

    #[test]
    fn rfc_7_2_3_6_empty_fragment() {
        // "0x00" alone: an empty stored block once the tail is appended.
        assert_eq!(inflate_all(&mut inflater(takeover()), &[&[0x00]], 0).unwrap(), b"");
        // A message whose data all went out in earlier fragments ends with that byte.
        let mut def = Deflater::new(&takeover(), Role::Server, 1);
        let (mut first, mut last) = (Vec::new(), Vec::new());
        def.compress_fragment(HELLO, false, &mut first);
        def.compress_fragment(b"", true, &mut last);
        assert_eq!(first, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff]);
        assert_eq!(last, [0x00]);
        let mut inf = inflater(takeover());
        assert_eq!(inflate_all(&mut inf, &[&first, &last], 100).unwrap(), HELLO);
        // The stream is left between blocks: the next message still inflates.
        let next = compress(&mut def, HELLO);
        assert_eq!(inflate_all(&mut inf, &[&next], 100).unwrap(), HELLO);

        // An empty message compresses to 0x00, fresh or after others, with or without takeover.
        for p in [takeover(), no_takeover()] {
            let mut def = Deflater::new(&p, Role::Server, 1);
            let mut inf = inflater(p);
            for payload in [&b""[..], HELLO, b"", b"", HELLO, b""] {
                let c = compress(&mut def, payload);
                if payload.is_empty() {
                    assert_eq!(c, [0x00]);
                }
                assert_eq!(inflate_all(&mut inf, &[&c], 100).unwrap(), payload);
            }
        }
    }

    #[test]
    fn empty_frames_anywhere() {
        let mut def = Deflater::new(&takeover(), Role::Client, 1);
        let mut inf = Inflater::new(&takeover(), Role::Server);
        let pieces: [&[u8]; 6] = [b"", b"Hel", b"", b"", b"lo", b""];
        let frames: Vec<Vec<u8>> = pieces
            .iter()
            .enumerate()
            .map(|(i, piece)| {
                let mut out = Vec::new();
                def.compress_fragment(piece, i + 1 == pieces.len(), &mut out);
                out
            })
            .collect();
        let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        assert_eq!(inflate_all(&mut inf, &refs, 100).unwrap(), HELLO);
        // Empty frames on the receiving side too.
        let c = compress(&mut def, HELLO);
        assert_eq!(inflate_all(&mut inf, &[&[], &c, &[], &[]], 100).unwrap(), HELLO);
    }

    #[test]
    fn window_bits_10_from_the_server() {
        // A server limited to server_max_window_bits=10; the client inflates what it sends.
        let p = params(false, false, 10, 15);
        let mut def = Deflater::new(&p, Role::Server, 9);
        let mut inf = Inflater::new(&p, Role::Client);
        // Repeats 600 bytes apart fit in a 1 KiB window; 5000 bytes apart do not.
        let near = [binary(600, 1), binary(600, 1), binary(600, 1)].concat();
        let far = [binary(5000, 2), binary(5000, 2)].concat();
        let c = compress(&mut def, &near);
        assert!(c.len() < 700, "{}", c.len());
        assert_eq!(inflate_all(&mut inf, &[&c], 1 << 20).unwrap(), near);
        let c = compress(&mut def, &far);
        assert!(c.len() > 9000, "{}", c.len());
        assert_eq!(inflate_all(&mut inf, &[&c], 1 << 20).unwrap(), far);
    }

    #[test]
    fn window_of_9_bits_stays_within_256_bytes() {
        // zlib matches reach back at most window - 262 bytes: 250 for 9 bits. So what we send
        // with 9 bits when 8 was negotiated is valid for an 8-bit decompressor. Random blocks
        // repeated at distances over 250 must not be matched: the copies would then shrink the
        // output to about a third.
        let p = params(false, false, 8, 8);
        for level in [1, 6, 9] {
            let mut def = Deflater::new(&p, Role::Server, level);
            for distance in [251, 256, 257, 300, 511] {
                let block = binary(distance, distance as u64);
                let data = [block.clone(), block.clone(), block].concat();
                let c = compress(&mut def, &data);
                assert!(c.len() > data.len() * 9 / 10, "level {level} distance {distance}: {} bytes", c.len());
                assert_eq!(inflate_all(&mut inflater(p), &[&c], 1 << 20).unwrap(), data);
            }
            // Within 250 bytes the copies are matched, so the check above means something.
            let block = binary(200, 7);
            let data = [block.clone(), block.clone(), block].concat();
            let mut def = Deflater::new(&p, Role::Server, level);
            let c = compress(&mut def, &data);
            assert!(c.len() < 400, "level {level}: {} bytes", c.len());
        }
    }

    /// Compresses `messages` from `role` under `p`, whole or in fragments of `fragment` bytes,
    /// and checks that the peer inflates each back.
    fn round_trip(p: DeflateParams, role: Role, messages: &[Vec<u8>], fragment: Option<usize>) {
        let peer = match role {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        };
        let mut def = Deflater::new(&p, role, 1);
        let mut inf = Inflater::new(&p, peer);
        for message in messages {
            let frames: Vec<Vec<u8>> = match fragment {
                None => vec![compress(&mut def, message)],
                Some(size) => {
                    let mut pieces: Vec<&[u8]> = message.chunks(size).collect();
                    if pieces.is_empty() {
                        pieces.push(&[]);
                    }
                    let n = pieces.len();
                    pieces
                        .into_iter()
                        .enumerate()
                        .map(|(i, piece)| {
                            let mut out = Vec::new();
                            def.compress_fragment(piece, i + 1 == n, &mut out);
                            out
                        })
                        .collect()
                }
            };
            let mut out = BytesMut::new();
            for (i, frame) in frames.iter().enumerate() {
                inf.inflate(frame, i + 1 == frames.len(), &mut out, message.len()).unwrap();
            }
            assert!(out[..] == message[..], "{p:?} {role:?} {} bytes, fragment {fragment:?}", message.len());
        }
    }

    #[test]
    fn round_trip_every_parameter_combination() {
        let small = vec![text(300), binary(300, 3), Vec::new(), text(1), text(300), Vec::new()];
        for snct in [false, true] {
            for cnct in [false, true] {
                for sbits in [8, 9, 12, 15] {
                    for cbits in [8, 9, 12, 15] {
                        let p = params(snct, cnct, sbits, cbits);
                        for role in [Role::Client, Role::Server] {
                            round_trip(p, role, &small, None);
                            round_trip(p, role, &small, Some(7));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn round_trip_one_mebibyte() {
        // Large messages over a few representative settings (every combination is covered with
        // small ones above): a 9-bit window compresses slowly, all the more in a debug build.
        let big = vec![text(1 << 20), binary(1 << 20, 5)];
        for p in [params(false, false, 15, 15), params(true, true, 9, 12), params(false, true, 12, 15)] {
            for role in [Role::Client, Role::Server] {
                round_trip(p, role, &big, None);
                round_trip(p, role, &big, Some(100_000));
            }
        }
    }

    #[test]
    fn limit_is_exact() {
        for len in [0, 1, 255, 256, 257, 5000, 100_000, 300_000] {
            for data in [text(len), binary(len, 9)] {
                let mut def = Deflater::new(&takeover(), Role::Server, 1);
                let c = compress(&mut def, &data);
                assert_eq!(inflate_all(&mut inflater(no_takeover()), &[&c], len).unwrap(), data);
                if len == 0 {
                    continue;
                }
                for limit in [len - 1, len.saturating_sub(2)] {
                    let mut out = BytesMut::new();
                    let err = inflater(no_takeover()).inflate(&c, true, &mut out, limit).unwrap_err();
                    assert_eq!(err, ProtocolError::MessageTooLarge { limit });
                    assert!(out.len() <= limit + 1, "{} > {limit} + 1", out.len());
                }
            }
        }
        // The limit counts what earlier frames of the message produced.
        let mut def = Deflater::new(&takeover(), Role::Server, 1);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        def.compress_fragment(&text(1000), false, &mut a);
        def.compress_fragment(&text(1000), true, &mut b);
        let mut inf = inflater(takeover());
        assert_eq!(inflate_all(&mut inf, &[&a, &b], 2000).unwrap().len(), 2000);
        let err = inflate_all(&mut inflater(takeover()), &[&a, &b], 1999).unwrap_err();
        assert_eq!(err, ProtocolError::MessageTooLarge { limit: 1999 });
    }

    /// A compressed message that inflates to `copies` MiB of zeros, built without ever holding
    /// the zeros: one MiB compressed on its own (1 KiB of output; deflate cannot beat about
    /// 1:1032) and repeated. Each copy starts and ends on a block boundary and refers back only
    /// to its own bytes, so the copies chain into one valid stream.
    fn zero_bomb(copies: usize) -> Vec<u8> {
        let mut def = Deflater::new(&takeover(), Role::Server, 9);
        let mut one = Vec::new();
        def.compress_fragment(&vec![0; 1 << 20], false, &mut one);
        assert!(one.len() < 1100, "{}", one.len());
        let mut bomb = one.repeat(copies);
        bomb.truncate(bomb.len() - TAIL.len());
        bomb
    }

    #[test]
    fn deflate_bomb_fails_fast() {
        let bomb = zero_bomb(1024); // 1 GiB inflated, about 1 MiB compressed
        let limit = 16 << 20;
        let mut out = BytesMut::new();
        let err = inflater(takeover()).inflate(&bomb, true, &mut out, limit).unwrap_err();
        assert_eq!(err, ProtocolError::MessageTooLarge { limit });
        assert!(out.len() <= limit + INFLATE_CHUNK, "{}", out.len());
        assert!(out.len() <= limit + 1, "{}", out.len());
        assert!(out.iter().all(|&b| b == 0));

        // The same bomb in 1 KiB frames fails in the frame that crosses the limit.
        let mut inf = inflater(takeover());
        let mut out = BytesMut::new();
        let mut failed_at = None;
        for (i, frame) in bomb.chunks(1024).enumerate() {
            if let Err(e) = inf.inflate(frame, false, &mut out, limit) {
                assert_eq!(e, ProtocolError::MessageTooLarge { limit });
                failed_at = Some(i);
                break;
            }
        }
        assert!(failed_at.is_some_and(|i| i < 20), "{failed_at:?}");
        assert!(out.len() <= limit + 1);

        // Exactly the limit passes; one and two bytes less of limit fail.
        let bomb = zero_bomb(16);
        let mut out = BytesMut::new();
        inflater(takeover()).inflate(&bomb, true, &mut out, limit).unwrap();
        assert_eq!(out.len(), limit);
        for limit in [limit - 1, limit - 2] {
            let mut out = BytesMut::new();
            let err = inflater(takeover()).inflate(&bomb, true, &mut out, limit).unwrap_err();
            assert_eq!(err, ProtocolError::MessageTooLarge { limit });
            assert!(out.len() <= limit + 1);
        }
    }

    #[test]
    fn corrupt_input_is_an_error() {
        let limit = 1 << 20;
        let cases: [&[u8]; 5] = [
            &[0xff; 16],                     // reserved block type 11
            &[0x07, 0x00],                   // BTYPE 11 after BFINAL
            &[0x00, 0x05, 0x00, 0x00, 0x00], // stored block whose NLEN is not ~LEN
            &[0xfc, 0xff, 0xff, 0xff],       // dynamic block with bad code lengths
            &[0x02, 0xff, 0x0f],             // fixed block, distance beyond the window
        ];
        for case in cases {
            let result = inflate_all(&mut inflater(takeover()), &[case], limit);
            match result {
                Err(ProtocolError::Decompression(why)) => assert!(!why.is_empty()),
                other => {
                    // Some prefixes are merely incomplete, not wrong: never a panic, never data.
                    assert!(matches!(other, Ok(ref v) if v.is_empty()), "{case:02x?}: {other:?}")
                }
            }
        }
        // A message that lost its last bytes, or carries the tail it should not.
        let mut def = Deflater::new(&takeover(), Role::Server, 1);
        let good = compress(&mut def, &text(10_000));
        let mut with_tail = good.clone();
        with_tail.extend_from_slice(&TAIL);
        let doubled = inflate_all(&mut inflater(takeover()), &[&with_tail], limit);
        assert_eq!(doubled.unwrap(), text(10_000), "an extra empty stored block is harmless");
        let bad_tail = [&good[..], &[0x00, 0x00, 0xff, 0xfe]].concat();
        assert!(inflate_all(&mut inflater(takeover()), &[&bad_tail], limit).is_err());
        // Every truncation and every single-byte corruption: no panic, no more than the limit.
        for cut in 0..good.len().min(300) {
            let mut out = BytesMut::new();
            let _ = inflater(takeover()).inflate(&good[..cut], true, &mut out, 20_000);
            assert!(out.len() <= 20_001);
        }
        for i in (0..good.len()).step_by(7) {
            let mut bad = good.clone();
            bad[i] ^= 0x5a;
            let mut out = BytesMut::new();
            let _ = inflater(takeover()).inflate(&bad, true, &mut out, 20_000);
            assert!(out.len() <= 20_001);
        }
        // Pseudo-random garbage.
        for seed in 1..200 {
            let garbage = binary(64 + seed as usize, seed);
            let mut out = BytesMut::new();
            let _ = inflater(takeover()).inflate(&garbage, true, &mut out, 4096);
            assert!(out.len() <= 4097);
        }
    }

    #[test]
    fn stored_fallback_is_valid() {
        for len in [0, 1, MAX_STORED, MAX_STORED + 1, 3 * MAX_STORED + 17] {
            let data = binary(len, 11);
            let mut out = Vec::new();
            write_stored(&data, &mut out);
            assert!(out.ends_with(&TAIL));
            out.truncate(out.len() - TAIL.len());
            assert_eq!(inflate_all(&mut inflater(takeover()), &[&out], len).unwrap(), data);
        }
    }

    #[test]
    fn codec_moves_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Deflater>();
        send_sync::<Inflater>();
    }

    #[test]
    fn output_is_appended() {
        let mut def = Deflater::new(&takeover(), Role::Server, 1);
        let mut out = b"prefix".to_vec();
        def.compress_message(HELLO, &mut out);
        assert_eq!(&out[..6], b"prefix");
        let mut inf = inflater(takeover());
        let mut buf = BytesMut::from(&b"earlier"[..]);
        inf.inflate(&out[6..], true, &mut buf, 12).unwrap();
        assert_eq!(&buf[..], b"earlierHello");
    }
}
