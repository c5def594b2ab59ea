//! Streaming UTF-8 validation that fails at the first invalid byte, even in the middle of a
//! frame (Autobahn 6.4.*), built on simdutf8.

use simdutf8::compat::from_utf8;

/// Validates text that arrived whole, in one pass (simdutf8's fastest check, which reports only
/// whether it is valid). Below 64 bytes simdutf8 hands over to `std`, whose check of a short
/// ASCII text costs more than `is_ascii`.
pub(crate) fn validate(data: &[u8]) -> Result<(), InvalidUtf8> {
    if data.len() < 64 && data.is_ascii() {
        return Ok(());
    }
    simdutf8::basic::from_utf8(data).map(|_| ()).map_err(|_| InvalidUtf8)
}

/// Validates text that arrives in pieces. A code point may be split between pieces; an invalid
/// byte is reported as soon as the piece holding it is fed.
#[derive(Debug, Default, Clone)]
pub(crate) struct Utf8Validator {
    /// The start of a code point split at the end of the previous piece (at most 3 bytes).
    partial: [u8; 4],
    partial_len: usize,
}

/// The text was not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidUtf8;

impl Utf8Validator {
    /// Checks the next piece.
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            let taken = self.complete_partial(data)?;
            data = &data[taken..];
            if self.partial_len > 0 {
                return Ok(());
            }
        }
        match from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                // A code point that is valid so far but cut off by the end of the piece.
                let tail = &data[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len();
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Tops up the split code point from `data`; returns how many bytes of `data` it took.
    fn complete_partial(&mut self, data: &[u8]) -> Result<usize, InvalidUtf8> {
        let mut joined = [0u8; 8];
        let have = self.partial_len;
        let take = data.len().min(4 - have);
        joined[..have].copy_from_slice(&self.partial[..have]);
        joined[have..have + take].copy_from_slice(&data[..take]);
        match from_utf8(&joined[..have + take]) {
            Ok(_) => {
                self.partial_len = 0;
                Ok(take)
            }
            Err(e) if e.valid_up_to() > 0 => {
                self.partial_len = 0;
                Ok(e.valid_up_to() - have)
            }
            Err(e) if e.error_len().is_none() => {
                self.partial[..have + take].copy_from_slice(&joined[..have + take]);
                self.partial_len = have + take;
                Ok(take)
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Ends the text: a code point left unfinished is an error.
    pub(crate) fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let unfinished = self.partial_len > 0;
        self.partial_len = 0;
        if unfinished {
            Err(InvalidUtf8)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_all_splits(text: &[u8]) -> bool {
        let whole = std::str::from_utf8(text).is_ok();
        for cut in 0..=text.len() {
            for cut2 in cut..=text.len() {
                let mut v = Utf8Validator::default();
                let r = v
                    .feed(&text[..cut])
                    .and_then(|_| v.feed(&text[cut..cut2]))
                    .and_then(|_| v.feed(&text[cut2..]))
                    .and_then(|_| v.finish());
                assert_eq!(r.is_ok(), whole, "{text:x?} cut at {cut},{cut2}");
            }
        }
        whole
    }

    #[test]
    fn agrees_with_std_at_every_split() {
        assert!(check_all_splits("κόσμε Hello-µ@ßöäüàá-UTF-8!! 𝄞".as_bytes()));
        assert!(!check_all_splits(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"));
        assert!(!check_all_splits(b"\xf4\x90\x80\x80"));
        assert!(!check_all_splits(b"ab\xc0\xaf"));
        assert!(!check_all_splits(b"ab\xe2\x82"));
    }

    #[test]
    fn whole_text_check_agrees_with_std_on_both_sides_of_64_bytes() {
        let mut long_invalid = "x".repeat(70).into_bytes();
        long_invalid.extend(b"\xed\xa0\x80");
        let long = "κόσμε ascii ".repeat(8);
        let texts: [&[u8]; 5] = [b"plain ascii", "κόσμε".as_bytes(), long.as_bytes(), b"ab\xc0\xaf", &long_invalid];
        for text in texts {
            for end in 0..=text.len() {
                let piece = &text[..end];
                assert_eq!(validate(piece).is_ok(), std::str::from_utf8(piece).is_ok(), "{piece:x?}");
            }
        }
    }

    #[test]
    fn fails_at_the_first_invalid_byte() {
        let mut v = Utf8Validator::default();
        // F4 90 can never start a valid code point: rejected before the rest arrives.
        assert_eq!(v.feed(b"ok \xf4"), Ok(()));
        assert_eq!(v.feed(b"\x90"), Err(InvalidUtf8));
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(b"\xce\xba\xed\xa0"), Err(InvalidUtf8));
    }
}
