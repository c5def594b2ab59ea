//! The Basic scheme (RFC 7617).

use super::Credentials;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::HeaderValue;

/// The `Authorization` (or `Proxy-Authorization`) value for Basic: `Basic` and the base64 of
/// `user:password` in UTF-8 (RFC 7617 section 2 and 2.1). Sent up front when the user asked for
/// it (websocket-sharp's `preAuth`), or as the answer to a Basic challenge.
///
/// RFC 7617 section 2: "a user-id containing a colon character is invalid", since the server
/// splits at the first colon; "The user-id and password MUST NOT contain any control
/// characters". Such credentials are encoded all the same (base64 carries any byte), and the
/// server refuses them. The value is marked sensitive, so that `Debug` does not print it.
///
/// ```
/// use laputa_core::auth::{basic, Credentials};
///
/// // RFC 7617 section 2's example.
/// let value = basic(&Credentials::new("Aladdin", "open sesame"));
/// assert_eq!(value, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
/// assert!(value.is_sensitive());
/// assert_eq!(format!("{value:?}"), "Sensitive");
/// ```
pub fn basic(credentials: &Credentials) -> HeaderValue {
    let pair = format!("{}:{}", credentials.user(), credentials.password());
    let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(pair)))
        .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
    value.set_sensitive(true);
    value
}

/// The user and password of Basic credentials (the token68 after `Basic`); `None` if they are
/// not base64 of UTF-8 `user:password`.
pub(crate) fn decode(token68: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(token68).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7617_examples() {
        // Section 2.
        assert_eq!(basic(&Credentials::new("Aladdin", "open sesame")), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        // Section 2.1: "test" and "123£" in UTF-8 (the pound sign is C2 A3).
        assert_eq!(basic(&Credentials::new("test", "123\u{a3}")), "Basic dGVzdDoxMjPCow==");
    }

    #[test]
    fn decodes_what_it_encodes() {
        for (user, password) in
            [("Aladdin", "open sesame"), ("", ""), ("u", "pass:with:colons"), ("J\u{e4}s\u{f8}n", "\u{1f600}")]
        {
            let value = basic(&Credentials::new(user, password));
            let token68 = value.to_str().unwrap().strip_prefix("Basic ").unwrap();
            assert_eq!(decode(token68), Some((user.to_owned(), password.to_owned())));
        }
        assert_eq!(decode("bm8gY29sb24="), None, "no colon");
        assert_eq!(decode("not base64!"), None);
        assert_eq!(decode("/w=="), None, "not UTF-8");
    }
}
