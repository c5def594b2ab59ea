//! Randomness for handshake keys and masking keys.
//!
//! By default bytes come from the operating system's CSPRNG, fetched in blocks so that masking a
//! frame costs no system call. Tests use [`Rng::seeded`] for exact, repeatable bytes.

/// Source of random bytes used by a client (keys, masks).
#[derive(Clone)]
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

impl Default for Rng {
    fn default() -> Self {
        Self::os()
    }
}

impl Rng {
    /// Bytes from the operating system's CSPRNG.
    pub fn os() -> Self {
        Self { inner: Source::Os, pool: None, pos: POOL }
    }

    /// A deterministic stream (splitmix64) for tests; never use it on a real connection, since
    /// masking keys must be unpredictable (RFC 6455 section 5.3).
    pub fn seeded(seed: u64) -> Self {
        Self { inner: Source::Seeded(seed), pool: None, pos: POOL }
    }

    /// Fills `out` with random bytes.
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
}
