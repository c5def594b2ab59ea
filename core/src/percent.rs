//! Percent-decoding (RFC 3986 section 2.1), lenient as browsers are: a `%` not followed by two
//! hex digits stays as it is. Shared by the credentials of a URL and by query parameters.

/// The bytes `encoded` stands for; with `plus_is_space`, a `+` is a space (query strings,
/// `application/x-www-form-urlencoded`).
pub(crate) fn decode(encoded: &str, plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded.len());
    let mut rest = encoded.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        match byte {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => match tail {
                [high, low, after @ ..] if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() => {
                    out.push(hex_value(*high) << 4 | hex_value(*low));
                    rest = after;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
    }
    out
}

/// The value of an ASCII hex digit (checked by the caller).
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn escapes_and_plus() {
        assert_eq!(decode("a%2Bb+c%zz%4", false), b"a+b+c%zz%4");
        assert_eq!(decode("a%2Bb+c", true), b"a+b c");
        assert_eq!(decode("%e3%83%a9%FF", false), b"\xe3\x83\xa9\xff");
    }
}
