//! Masking of frame payloads (RFC 6455 section 5.3).
//!
//! XOR with a 4-byte key, eight bytes at a time. The loop is written in safe code that the
//! compiler vectorises; there is no `unsafe` here.

/// XORs `buf` with `key`, as if `buf` started `offset` bytes into the masked payload (so a payload
/// that arrives in pieces can be unmasked piece by piece).
///
/// ```
/// use laputa_core::mask::apply_mask;
/// let mut data = *b"Hello";
/// apply_mask(&mut data, [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// ```
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // Byte `i` of the little-endian word is `key[(i + offset) % 4]`.
    let k = u32::from_le_bytes(key).rotate_right(8 * (offset % 4) as u32).to_le_bytes();
    let key_word = u32::from_ne_bytes(k);
    let wide = u64::from(key_word) << 32 | u64::from(key_word); // `k` twice, in either byte order
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    // The rest (under 8 bytes) starts on a key boundary: a word, then bytes, with no `% 4`.
    let rest = chunks.into_remainder();
    let (word, rest) = rest.split_at_mut(rest.len() & 4);
    if let Ok(four) = <&mut [u8; 4]>::try_from(word) {
        *four = (u32::from_ne_bytes(*four) ^ key_word).to_ne_bytes();
    }
    for (byte, k) in rest.iter_mut().zip(k) {
        *byte ^= k;
    }
}

/// The byte-at-a-time definition from the RFC; the reference the fast path is tested against.
#[cfg(test)]
fn apply_mask_bytewise(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(i + offset) % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_bytewise_for_every_length_and_offset() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..80 {
            for offset in 0..8 {
                let data: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(31)).collect();
                let (mut fast, mut slow) = (data.clone(), data.clone());
                apply_mask(&mut fast, key, offset);
                apply_mask_bytewise(&mut slow, key, offset);
                assert_eq!(fast, slow, "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn piecewise_equals_whole() {
        let key = [1, 2, 3, 4];
        let data: Vec<u8> = (0..100).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        let mut pieces = data.clone();
        let (a, rest) = pieces.split_at_mut(7);
        let (b, c) = rest.split_at_mut(30);
        apply_mask(a, key, 0);
        apply_mask(b, key, 7);
        apply_mask(c, key, 37);
        assert_eq!(whole, pieces);
    }
}
