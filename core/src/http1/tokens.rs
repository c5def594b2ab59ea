//! Header value helpers: comma-separated lists, tokens and optional whitespace (RFC 9110
//! section 5.6).

use http::{HeaderMap, HeaderName};

/// The elements of the comma-separated lists in every `name` header (RFC 9110 section 5.6.1),
/// trimmed of spaces and tabs, empty elements dropped ("a recipient MUST accept empty list
/// elements"). Values that are not visible ASCII are skipped.
///
/// Elements are split at every comma, so this is for lists of tokens (`Connection`, `Upgrade`,
/// `Transfer-Encoding`), not for values that may quote a comma.
///
/// ```
/// use laputa_core::http::{header::CONNECTION, HeaderMap, HeaderValue};
/// use laputa_core::http1::list_elements;
///
/// let mut headers = HeaderMap::new();
/// headers.append(CONNECTION, HeaderValue::from_static("keep-alive, ,Upgrade"));
/// headers.append(CONNECTION, HeaderValue::from_static("\tclose "));
/// assert_eq!(list_elements(&headers, &CONNECTION).collect::<Vec<_>>(), ["keep-alive", "Upgrade", "close"]);
/// ```
pub fn list_elements<'a>(headers: &'a HeaderMap, name: &'a HeaderName) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(trim_ows)
        .filter(|element| !element.is_empty())
}

/// Whether some `name` header lists `token`, compared ASCII case-insensitively.
///
/// ```
/// use laputa_core::http::{header::CONNECTION, HeaderMap, HeaderValue};
/// use laputa_core::http1::has_token;
///
/// let mut headers = HeaderMap::new();
/// headers.insert(CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
/// assert!(has_token(&headers, &CONNECTION, "upgrade"));
/// assert!(!has_token(&headers, &CONNECTION, "close"));
/// ```
pub fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    list_elements(headers, name).any(|element| element.eq_ignore_ascii_case(token))
}

/// The value of a header that must appear exactly once, as text trimmed of optional
/// whitespace; `None` if it is missing, repeated, or not visible ASCII.
///
/// ```
/// use laputa_core::http::{header::SEC_WEBSOCKET_ACCEPT, HeaderMap, HeaderValue};
/// use laputa_core::http1::single_value;
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(single_value(&headers, &SEC_WEBSOCKET_ACCEPT), None);
/// headers.append(SEC_WEBSOCKET_ACCEPT, HeaderValue::from_static(" abc "));
/// assert_eq!(single_value(&headers, &SEC_WEBSOCKET_ACCEPT), Some("abc"));
/// headers.append(SEC_WEBSOCKET_ACCEPT, HeaderValue::from_static("abc"));
/// assert_eq!(single_value(&headers, &SEC_WEBSOCKET_ACCEPT), None, "repeated");
/// ```
pub fn single_value<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().ok().map(trim_ows),
        _ => None,
    }
}

/// Strips optional whitespace (`OWS`: spaces and tabs, RFC 9110 section 5.6.3) from both ends.
///
/// ```
/// use laputa_core::http1::trim_ows;
/// assert_eq!(trim_ows(" \tchunked \t"), "chunked");
/// assert_eq!(trim_ows("a b"), "a b");
/// ```
pub fn trim_ows(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

/// Whether `s` is a non-empty HTTP token (RFC 9110 section 5.6.2):
/// `1*( "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
/// / DIGIT / ALPHA )`.
///
/// ```
/// use laputa_core::http1::is_token;
/// assert!(is_token("chat.v2+json"));
/// assert!(!is_token(""));
/// assert!(!is_token("a b"));
/// assert!(!is_token("a\r\nX-Injected: 1"));
/// ```
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// Whether `b` is a `tchar` (RFC 9110 section 5.6.2).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{CONNECTION, SEC_WEBSOCKET_PROTOCOL, UPGRADE};
    use http::HeaderValue;

    #[test]
    fn token_lists_are_case_insensitive_and_comma_separated() {
        let mut headers = HeaderMap::new();
        headers.append(CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        headers.append(UPGRADE, HeaderValue::from_static("h2c"));
        headers.append(UPGRADE, HeaderValue::from_static(" WebSocket\t"));
        assert!(has_token(&headers, &CONNECTION, "upgrade"));
        assert!(has_token(&headers, &UPGRADE, "websocket"));
        assert!(!has_token(&headers, &CONNECTION, "close"));
        assert!(!has_token(&headers, &SEC_WEBSOCKET_PROTOCOL, "chat"));
        headers.insert(CONNECTION, HeaderValue::from_static("upgrades,,x"));
        assert!(!has_token(&headers, &CONNECTION, "upgrade"));
        assert_eq!(list_elements(&headers, &CONNECTION).collect::<Vec<_>>(), ["upgrades", "x"]);
    }

    #[test]
    fn values_that_are_not_visible_ascii_are_skipped() {
        let mut headers = HeaderMap::new();
        headers.append(CONNECTION, HeaderValue::from_bytes(b"upgrade\xff").unwrap());
        headers.append(CONNECTION, HeaderValue::from_static("close"));
        assert_eq!(list_elements(&headers, &CONNECTION).collect::<Vec<_>>(), ["close"]);
        headers.remove(CONNECTION);
        headers.append(CONNECTION, HeaderValue::from_bytes(b"x\xff").unwrap());
        assert_eq!(single_value(&headers, &CONNECTION), None);
    }

    #[test]
    fn tokens() {
        assert!(is_token("chat.v2+json"));
        assert!(is_token("!#$%&'*+-.^_`|~09azAZ"));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
        assert!(!is_token("a,b"));
        assert!(!is_token("a\r\nX: y"));
        for separator in "\"(),/:;<=>?@[\\]{}".chars() {
            assert!(!is_token(&separator.to_string()), "{separator}");
        }
        assert!(!is_token("\u{e9}"));
    }
}
