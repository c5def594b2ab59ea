//! Randomness for handshake keys and masking keys.
//!
//! By default bytes come from the operating system's CSPRNG, fetched in blocks so that masking a
//! frame costs no system call. Tests use [`Rng::seeded`] for exact, repeatable bytes.

/// Source of random bytes used by a client (keys, masks).
///
/// ```
/// use laputa_core::frame::FrameHeader;
/// use laputa_core::{Config, Connection, Message, Rng, Role};
/// use std::time::Instant;
///
/// let mut client = Connection::with_rng(Role::Client, Config::default(), Rng::seeded(7));
/// client.send(Message::from("Hello"))?;
/// let mut out = Vec::new();
/// client.poll_transmit(Instant::now(), &mut out);
/// // The frame is masked with the first key the client's source gives.
/// let (header, _) = FrameHeader::parse(&out)?.expect("a complete header");
/// assert_eq!(header.mask, Some(Rng::seeded(7).mask_key()));
/// # Ok::<(), laputa_core::Error>(())
/// ```
///
/// A clone of an OS source draws its own bytes from the operating system (it does not repeat
/// the bytes the original has fetched and not yet used: two connections must not share
/// masking keys); a clone of a seeded source continues the same stream, as a test expects.
pub struct Rng {
    inner: Source,
    /// Allocated on first use: a server never masks, so never pays for it.
    pool: Option<Box<[u8; POOL]>>,
    pos: usize,
}

const POOL: usize = 256;

#[derive(Clone)]
enum Source {
    Os,
    Seeded(u64),
}

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.inner {
            Source::Os => f.write_str("Rng::Os"),
            Source::Seeded(_) => f.write_str("Rng::Seeded"),
        }
    }
}

impl Clone for Rng {
    fn clone(&self) -> Self {
        match self.inner {
            Source::Os => Self::os(),
            Source::Seeded(_) => Self { inner: self.inner.clone(), pool: self.pool.clone(), pos: self.pos },
        }
    }
}

impl Default for Rng {
    fn default() -> Self {
        Self::os()
    }
}

impl Rng {
    /// Bytes from the operating system's CSPRNG.
    ///
    /// ```
    /// use laputa_core::Rng;
    ///
    /// let mut rng = Rng::os();
    /// let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
    /// rng.fill(&mut a);
    /// rng.fill(&mut b);
    /// assert_ne!(a, b);
    /// ```
    pub fn os() -> Self {
        Self { inner: Source::Os, pool: None, pos: POOL }
    }

    /// A deterministic stream (splitmix64) for tests; never use it on a real connection, since
    /// masking keys must be unpredictable (RFC 6455 section 5.3).
    ///
    /// ```
    /// use laputa_core::Rng;
    ///
    /// let (mut a, mut b, mut c) = (Rng::seeded(1), Rng::seeded(1), Rng::seeded(2));
    /// let key = a.mask_key();
    /// assert_eq!(b.mask_key(), key, "the same seed gives the same bytes");
    /// assert_ne!(c.mask_key(), key);
    /// ```
    pub fn seeded(seed: u64) -> Self {
        Self { inner: Source::Seeded(seed), pool: None, pos: POOL }
    }

    /// Fills `out` with random bytes.
    ///
    /// ```
    /// use laputa_core::Rng;
    ///
    /// // The bytes form one stream, however they are asked for.
    /// let mut whole = [0u8; 16];
    /// Rng::seeded(3).fill(&mut whole);
    /// let mut rng = Rng::seeded(3);
    /// let (mut front, mut back) = ([0u8; 10], [0u8; 6]);
    /// rng.fill(&mut front);
    /// rng.fill(&mut back);
    /// assert_eq!([&front[..], &back[..]].concat(), whole);
    /// ```
    pub fn fill(&mut self, out: &mut [u8]) {
        for byte in out {
            if self.pos == POOL {
                self.refill();
            }
            *byte = self.pool.as_ref().map_or(0, |pool| pool[self.pos]);
            self.pos += 1;
        }
    }

    /// A fresh 4-byte masking key.
    ///
    /// ```
    /// use laputa_core::mask::apply_mask;
    /// use laputa_core::Rng;
    ///
    /// let mut rng = Rng::seeded(7);
    /// let key = rng.mask_key();
    /// assert_ne!(rng.mask_key(), key, "each frame gets a fresh key");
    /// let mut payload = *b"Hello";
    /// apply_mask(&mut payload, key, 0);
    /// assert_ne!(&payload, b"Hello");
    /// apply_mask(&mut payload, key, 0);
    /// assert_eq!(&payload, b"Hello");
    /// ```
    pub fn mask_key(&mut self) -> [u8; 4] {
        let mut key = [0; 4];
        self.fill(&mut key);
        key
    }

    fn refill(&mut self) {
        let pool = self.pool.get_or_insert_with(|| Box::new([0; POOL]));
        match &mut self.inner {
            Source::Os => {
                // The OS CSPRNG failing is not a condition any caller can handle; it means the
                // process cannot produce secure keys at all.
                getrandom::fill(&mut pool[..]).expect("the operating system's CSPRNG failed");
            }
            Source::Seeded(state) => {
                for chunk in pool.chunks_exact_mut(8) {
                    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let mut z = *state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                    chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
                }
            }
        }
        self.pos = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_repeatable_and_os_differs() {
        let (mut a, mut b) = (Rng::seeded(7), Rng::seeded(7));
        let (mut x, mut y) = ([0u8; 600], [0u8; 600]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        let mut os = Rng::os();
        let (mut p, mut q) = ([0u8; 16], [0u8; 16]);
        os.fill(&mut p);
        os.fill(&mut q);
        assert_ne!(p, q);
    }

    /// A clone of a used OS source must not repeat the original's pooled bytes (masking keys
    /// of two connections would then be the same); a seeded clone continues the stream.
    #[test]
    fn os_clones_draw_their_own_bytes_and_seeded_clones_continue() {
        let mut os = Rng::os();
        os.mask_key();
        let mut copy = os.clone();
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        os.fill(&mut a);
        copy.fill(&mut b);
        assert_ne!(a, b);

        let mut seeded = Rng::seeded(9);
        seeded.mask_key();
        let mut copy = seeded.clone();
        assert_eq!(copy.mask_key(), seeded.mask_key());
    }
}
