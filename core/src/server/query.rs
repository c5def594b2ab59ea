//! The query of a request URI read as `name=value` pairs, the way browsers write forms and
//! links (`application/x-www-form-urlencoded`): pairs split on `&`, name and value on the
//! first `=`, `+` is a space and `%XX` an escaped byte.
//!
//! Reading is lenient, as browsers and most servers are: a `%` that starts no two-digit escape
//! stays as written, empty pairs (`a=1&&b=2`) are skipped, a pair without `=` has an empty
//! value, and decoded bytes that are not UTF-8 become U+FFFD. Nothing is allocated for a
//! component with nothing to decode.
//!
//! ```
//! use laputa_core::server::query;
//!
//! let q = "name=Sheeta+Lusheeta&city=Laputa%21&flag";
//! assert_eq!(query::param(q, "name").as_deref(), Some("Sheeta Lusheeta"));
//! assert_eq!(query::param(q, "city").as_deref(), Some("Laputa!"));
//! assert_eq!(query::param(q, "flag").as_deref(), Some(""));
//! assert_eq!(query::param(q, "robot"), None);
//! ```

use std::borrow::Cow;

/// The decoded `(name, value)` pairs of `query` (without its `?`), in order, repeated names
/// included.
///
/// ```
/// use laputa_core::server::query;
///
/// let pairs: Vec<_> = query::pairs("tag=a&tag=b&&x%3Dy=1").collect();
/// assert_eq!(pairs, [("tag".into(), "a".into()), ("tag".into(), "b".into()), ("x=y".into(), "1".into())]);
/// ```
pub fn pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    query.split('&').filter(|pair| !pair.is_empty()).map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(name), decode(value))
    })
}

/// The decoded value of the first pair of `query` named `name` (compared once decoded).
///
/// ```
/// use laputa_core::server::query;
///
/// assert_eq!(query::param("caf%C3%A9=1&x=2", "café").as_deref(), Some("1"));
/// assert_eq!(query::param("x=1&x=2", "x").as_deref(), Some("1"));
/// ```
pub fn param<'q>(query: &'q str, name: &str) -> Option<Cow<'q, str>> {
    pairs(query).find_map(|(key, value)| (key == name).then_some(value))
}

/// Decodes one query component: `+` is a space, `%XX` (two hex digits, either case) the byte
/// it names; a `%` that starts no such escape stays as it is. Borrows `component` when it
/// holds neither `+` nor `%`.
///
/// ```
/// use laputa_core::server::query;
/// use std::borrow::Cow;
///
/// assert_eq!(query::decode("a+b%2Bc%zz%4"), "a b+c%zz%4");
/// assert_eq!(query::decode("%E3%83%A9%FF"), "ラ\u{fffd}");
/// assert!(matches!(query::decode("plain"), Cow::Borrowed("plain")));
/// ```
pub fn decode(component: &str) -> Cow<'_, str> {
    if !component.bytes().any(|byte| byte == b'+' || byte == b'%') {
        return Cow::Borrowed(component);
    }
    let out = crate::percent::decode(component, true);
    match String::from_utf8(out) {
        Ok(text) => Cow::Owned(text),
        Err(error) => Cow::Owned(String::from_utf8_lossy(error.as_bytes()).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_to_bytes_and_broken_ones_stay() {
        for (input, expected) in [
            ("", ""),
            ("%41%62", "Ab"),
            ("%4a%4A", "JJ"),
            ("%", "%"),
            ("%4", "%4"),
            ("%%41", "%A"),
            ("%+1", "% 1"),
            ("%-1", "%-1"),
            ("Sheeta%20%26%20Pazu+!", "Sheeta & Pazu !"),
            ("%e3%83%a9", "ラ"),
            ("%g1", "%g1"),
            ("100%", "100%"),
            ("a+%2B+b", "a + b"),
            ("%00", "\0"),
            ("%C3%A9t%C3%A9", "été"),
            ("%C3", "\u{fffd}"),
        ] {
            assert_eq!(decode(input), expected, "{input:?}");
        }
    }

    #[test]
    fn only_components_with_something_to_decode_allocate() {
        assert!(matches!(decode("Sheeta"), Cow::Borrowed(_)));
        assert!(matches!(decode("a+b"), Cow::Owned(_)));
        assert!(matches!(decode("%41"), Cow::Owned(_)));
    }

    #[test]
    fn pairs_split_on_the_first_equals_and_skip_empty_ones() {
        let pairs: Vec<_> = pairs("&a=1=2&&b&=c&d=").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let expected = [("a", "1=2"), ("b", ""), ("", "c"), ("d", "")];
        assert_eq!(pairs, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
        assert_eq!(super::pairs("").count(), 0);
    }

    #[test]
    fn a_parameter_is_found_by_its_decoded_name() {
        assert_eq!(param("user%20name=x", "user name").as_deref(), Some("x"));
        assert_eq!(param("a=1", "A"), None, "case-sensitive");
        assert_eq!(param("=v", "").as_deref(), Some("v"));
        assert_eq!(param("", ""), None);
    }
}
