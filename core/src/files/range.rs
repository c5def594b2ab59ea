//! The `Range` header (RFC 9110 section 14.2), for one range of bytes.

/// Bytes of the file to send: `len` bytes from `offset`. Always within the file's length as
/// [`FileMeta`](super::FileMeta) gave it.
///
/// ```
/// use laputa_core::files::ByteRange;
///
/// let range = ByteRange { offset: 10, len: 5 };
/// assert_eq!(range.end(), 15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// The first byte.
    pub offset: u64,
    /// How many bytes.
    pub len: u64,
}

impl ByteRange {
    /// The offset after the last byte.
    ///
    /// ```
    /// use laputa_core::files::ByteRange;
    ///
    /// assert_eq!(ByteRange { offset: 0, len: 0 }.end(), 0);
    /// ```
    pub fn end(self) -> u64 {
        self.offset + self.len
    }
}

/// What a `Range` value asks of a file of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RangeAsk {
    /// Serve the whole file: not a single range of bytes we understand (another unit, a
    /// syntax error, `last < first`, several ranges). RFC 9110 lets a server ignore `Range`.
    Whole,
    /// One satisfiable range (`206`).
    Part(ByteRange),
    /// One range that starts past the end, or a suffix of none (`416`).
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` (the unit in any case, spaces around the
/// range) against a file of `len` bytes. A `last` past the end is cut to the end; a suffix
/// longer than the file is the whole file, as a `206`. Numbers too large for a `u64`
/// saturate, so that they are past any end.
pub(super) fn parse(value: &str, len: u64) -> RangeAsk {
    let Some((unit, set)) = value.split_once('=') else { return RangeAsk::Whole };
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return RangeAsk::Whole;
    }
    let Some((first, last)) = set.trim().split_once('-') else { return RangeAsk::Whole };
    let (first, last) = (first.trim(), last.trim());
    match (number(first), number(last)) {
        (Some(first), None) if last.is_empty() => part(first, len.saturating_sub(1), len),
        (Some(first), Some(last)) if last >= first => part(first, last.min(len.saturating_sub(1)), len),
        (None, Some(suffix)) if first.is_empty() => match suffix.min(len) {
            0 => RangeAsk::Unsatisfiable,
            n => RangeAsk::Part(ByteRange { offset: len - n, len: n }),
        },
        _ => RangeAsk::Whole,
    }
}

/// `first..=last` of a file of `len` bytes, `last` already within it when `len > 0`.
fn part(first: u64, last: u64, len: u64) -> RangeAsk {
    if first >= len {
        RangeAsk::Unsatisfiable
    } else {
        RangeAsk::Part(ByteRange { offset: first, len: last - first + 1 })
    }
}

/// Decimal digits only (no sign, no space), saturating at `u64::MAX`.
fn number(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.bytes().fold(0u64, |n, d| n.saturating_mul(10).saturating_add(u64::from(d - b'0'))))
}
