//! The Digest scheme's computations (RFC 7616 section 3.4), shared by the client's answer and
//! the server's check, and the quoting of its header values.

use super::challenge::{Challenge, Scheme};
use md5::Md5;
use sha2::Sha256;
use std::borrow::Cow;
use std::fmt::Write as _;

/// A Digest hash algorithm (RFC 7616 section 3.3, `algorithm`). RFC 7616 section 3.7: "This
/// specification defines the following algorithms: SHA-256 (mandatory to implement), SHA-512/256
/// (as a backup algorithm), MD5 (for backward compatibility)" (as corrected by erratum 5801),
/// each with a `-sess` form.
///
/// SHA-512-256 is not answered: the RFC's own example of it was computed with SHA-512 truncated
/// to 256 bits rather than with SHA-512/256 (erratum 4897), so servers may disagree on what it
/// means; a server that offers it offers SHA-256 too, since that one is mandatory.
///
/// ```
/// use laputa_core::auth::DigestAlgorithm;
///
/// assert_eq!(DigestAlgorithm::from_name("sha-256-SESS"), Some(DigestAlgorithm::Sha256Sess));
/// assert_eq!(DigestAlgorithm::from_name("SHA-512-256"), None);
/// assert_eq!(DigestAlgorithm::Md5.name(), "MD5");
/// assert!(DigestAlgorithm::Md5Sess.is_session());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// `MD5`, the default when a challenge names none.
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl DigestAlgorithm {
    /// The algorithm called `name` (case-insensitive), if it is one of ours.
    ///
    /// ```
    /// use laputa_core::auth::DigestAlgorithm;
    ///
    /// assert_eq!(DigestAlgorithm::from_name("md5"), Some(DigestAlgorithm::Md5));
    /// assert_eq!(DigestAlgorithm::from_name("SHA-1"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Md5, Self::Md5Sess, Self::Sha256, Self::Sha256Sess]
            .into_iter()
            .find(|algorithm| algorithm.name().eq_ignore_ascii_case(name))
    }

    /// The name as written in a header.
    ///
    /// ```
    /// use laputa_core::auth::DigestAlgorithm;
    ///
    /// assert_eq!(DigestAlgorithm::Sha256Sess.name(), "SHA-256-sess");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Whether this is a `-sess` algorithm, whose `A1` also covers the nonce and the client's
    /// nonce (RFC 7616 section 3.4.2).
    ///
    /// ```
    /// use laputa_core::auth::DigestAlgorithm;
    ///
    /// assert!(DigestAlgorithm::Sha256Sess.is_session());
    /// assert!(!DigestAlgorithm::Sha256.is_session());
    /// ```
    pub fn is_session(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }

    /// How strong the hash is, for choosing between challenges: SHA-256 above MD5.
    pub(crate) fn strength(self) -> u8 {
        match self {
            Self::Md5 | Self::Md5Sess => 0,
            Self::Sha256 | Self::Sha256Sess => 1,
        }
    }

    /// `H` of the parts joined with `:`, in lower-case hex (RFC 7616 section 3.2: "the
    /// hexadecimal representation ... in lowercase").
    pub(crate) fn h(self, parts: &[&[u8]]) -> String {
        match self {
            Self::Md5 | Self::Md5Sess => hex(&joined::<Md5>(parts)),
            Self::Sha256 | Self::Sha256Sess => hex(&joined::<Sha256>(parts)),
        }
    }
}

fn joined<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
    let mut hasher = D::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update(b":");
        }
        hasher.update(part);
    }
    hasher.finalize().to_vec()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The quality of protection (RFC 7616 section 3.3, `qop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Qop {
    /// `auth`: the method and the URI are covered.
    Auth,
    /// `auth-int`: the body too. The requests this crate authenticates (an upgrade `GET`, a
    /// `CONNECT`) have none, so the body's hash is that of the empty string.
    AuthInt,
}

impl Qop {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::AuthInt => "auth-int",
        }
    }
}

/// A Digest challenge that this crate can answer, with what the answer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DigestChallenge {
    pub(crate) algorithm: DigestAlgorithm,
    /// Whether the challenge named the algorithm; the answer names it only then, as RFC 2617
    /// clients do.
    pub(crate) algorithm_named: bool,
    pub(crate) realm: String,
    pub(crate) nonce: String,
    pub(crate) opaque: Option<String>,
    /// `None`: the RFC 2069 form, for servers that offer no `qop`.
    pub(crate) qop: Option<Qop>,
    pub(crate) userhash: bool,
}

impl DigestChallenge {
    /// The challenge, if it is a Digest challenge we can answer: `realm` and `nonce` present, an
    /// algorithm of ours (RFC 7616 section 3.3: "If the algorithm is not understood, the
    /// challenge SHOULD be ignored (and a different one used, if there is more than one)"), and
    /// either no `qop` or one that lists `auth` or `auth-int`. A `-sess` algorithm needs a `qop`,
    /// since its `A1` covers the client's nonce, which is only sent with one.
    pub(crate) fn from_challenge(challenge: &Challenge) -> Option<Self> {
        if challenge.scheme() != &Scheme::Digest {
            return None;
        }
        let (algorithm, algorithm_named) = match challenge.param("algorithm") {
            None => (DigestAlgorithm::Md5, false),
            Some(name) => (DigestAlgorithm::from_name(name)?, true),
        };
        let qop = match challenge.param("qop") {
            None => None,
            Some(list) => {
                let offered: Vec<&str> = list.split(',').map(|q| q.trim_matches([' ', '\t'])).collect();
                let has = |q: Qop| offered.iter().any(|o| o.eq_ignore_ascii_case(q.name()));
                Some(if has(Qop::Auth) {
                    Qop::Auth
                } else if has(Qop::AuthInt) {
                    Qop::AuthInt
                } else {
                    return None;
                })
            }
        };
        if algorithm.is_session() && qop.is_none() {
            return None;
        }
        Some(Self {
            algorithm,
            algorithm_named,
            realm: challenge.realm()?.to_owned(),
            nonce: challenge.param("nonce")?.to_owned(),
            opaque: challenge.param("opaque").map(str::to_owned),
            qop,
            userhash: challenge.param("userhash").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        })
    }
}

/// What a Digest response covers besides the secret (RFC 7616 section 3.4.1).
pub(crate) struct ResponseInput<'a> {
    pub(crate) algorithm: DigestAlgorithm,
    pub(crate) user: &'a str,
    pub(crate) realm: &'a str,
    pub(crate) password: &'a str,
    pub(crate) nonce: &'a str,
    /// `nc`, `cnonce` and `qop`, absent in the RFC 2069 form.
    pub(crate) protection: Option<(&'a str, &'a str, Qop)>,
    pub(crate) method: &'a str,
    pub(crate) uri: &'a str,
}

impl ResponseInput<'_> {
    /// The `response` value, in lower-case hex.
    ///
    /// ```text
    /// A1       = unq(username) ":" unq(realm) ":" passwd
    ///            (-sess: H( unq(username) ":" unq(realm) ":" passwd ) ":" unq(nonce) ":" unq(cnonce))
    /// A2       = Method ":" request-uri            (auth-int: ... ":" H(entity-body))
    /// response = KD( H(A1), unq(nonce) ":" nc ":" unq(cnonce) ":" unq(qop) ":" H(A2) )
    ///            (no qop, RFC 2069: KD( H(A1), unq(nonce) ":" H(A2) ))
    /// KD(secret, data) = H(concat(secret, ":", data))
    /// ```
    pub(crate) fn response(&self) -> String {
        let ha1 = self.algorithm.h(&[self.user.as_bytes(), self.realm.as_bytes(), self.password.as_bytes()]);
        self.response_with_ha1(ha1)
    }

    /// The `response` value from `H(username:realm:password)` computed beforehand (a server
    /// that stores hashes rather than passwords); `password` is not used.
    pub(crate) fn response_with_ha1(&self, mut ha1: String) -> String {
        let h = |parts: &[&[u8]]| self.algorithm.h(parts);
        if self.algorithm.is_session() {
            let cnonce = self.protection.map_or("", |(_, cnonce, _)| cnonce);
            ha1 = h(&[ha1.as_bytes(), self.nonce.as_bytes(), cnonce.as_bytes()]);
        }
        let ha2 = match self.protection {
            Some((_, _, Qop::AuthInt)) => h(&[self.method.as_bytes(), self.uri.as_bytes(), h(&[b""]).as_bytes()]),
            _ => h(&[self.method.as_bytes(), self.uri.as_bytes()]),
        };
        match self.protection {
            Some((nc, cnonce, qop)) => h(&[
                ha1.as_bytes(),
                self.nonce.as_bytes(),
                nc.as_bytes(),
                cnonce.as_bytes(),
                qop.name().as_bytes(),
                ha2.as_bytes(),
            ]),
            None => h(&[ha1.as_bytes(), self.nonce.as_bytes(), ha2.as_bytes()]),
        }
    }
}

/// Appends `value` as a quoted-string: `"` and `\` escaped as quoted-pairs (RFC 9110 section
/// 5.6.4).
pub(crate) fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Whether a user name can be sent as a quoted-string that every server reads the same: visible
/// ASCII and spaces. Anything else goes as `username*` (RFC 7616 section 3.4.4).
pub(crate) fn is_plain_ascii(value: &str) -> bool {
    value.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// `attr-char` of RFC 8187 section 3.2.1.
fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(b, b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

/// An RFC 8187 `ext-value` in UTF-8 without a language: `UTF-8''` and the percent-encoded bytes.
pub(crate) fn encode_ext_value(value: &str) -> String {
    let mut out = String::from("UTF-8''");
    for b in value.bytes() {
        if is_attr_char(b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Decodes an RFC 8187 `ext-value` (`charset "'" [ language ] "'" value-chars`) in UTF-8 or
/// ISO-8859-1, the two charsets it defines.
pub(crate) fn decode_ext_value(ext: &str) -> Option<String> {
    let (charset, rest) = ext.split_once('\'')?;
    let (_language, encoded) = rest.split_once('\'')?;
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut input = encoded.bytes();
    while let Some(b) = input.next() {
        if b == b'%' {
            let hi = char::from(input.next()?).to_digit(16)?;
            let lo = char::from(input.next()?).to_digit(16)?;
            bytes.push((hi * 16 + lo) as u8);
        } else if is_attr_char(b) {
            bytes.push(b);
        } else {
            return None;
        }
    }
    if charset.eq_ignore_ascii_case("UTF-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case("ISO-8859-1") {
        Some(bytes.into_iter().map(char::from).collect())
    } else {
        None
    }
}

/// The URI as it goes into the hash and the header: control bytes, which no request target holds
/// and no header may, are percent-encoded, so that any input gives a valid header.
pub(crate) fn header_safe_uri(uri: &str) -> Cow<'_, str> {
    if !uri.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Cow::Borrowed(uri);
    }
    let mut out = String::with_capacity(uri.len() + 8);
    for c in uri.chars() {
        if c < ' ' || c == '\x7f' {
            let _ = write!(out, "%{:02X}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Compares two byte strings in time that depends only on their lengths, so that an attacker
/// timing the comparison of a response or password learns nothing of where it first differs.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// RFC 7616 section 3.9.1, both algorithms, exactly as printed.
    #[test]
    fn rfc7616_section_3_9_1() {
        let input = |algorithm| ResponseInput {
            algorithm,
            user: "Mufasa",
            realm: "http-auth@example.org",
            password: "Circle of Life",
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            protection: Some(("00000001", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", Qop::Auth)),
            method: "GET",
            uri: "/dir/index.html",
        };
        assert_eq!(input(DigestAlgorithm::Md5).response(), "8ca523f5e9506fed4657c9700eebdbec");
        assert_eq!(
            input(DigestAlgorithm::Sha256).response(),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    /// RFC 2617 section 3.5's example: MD5, qop=auth, a different nonce and cnonce.
    #[test]
    fn rfc2617_section_3_5() {
        let input = ResponseInput {
            algorithm: DigestAlgorithm::Md5,
            user: "Mufasa",
            realm: "testrealm@host.com",
            password: "Circle Of Life",
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            protection: Some(("00000001", "0a4f113b", Qop::Auth)),
            method: "GET",
            uri: "/dir/index.html",
        };
        assert_eq!(input.response(), "6629fae49393a05397450978507c4ef1");
    }

    /// The `-sess`, `auth-int` and RFC 2069 forms, against values computed independently with
    /// Python's hashlib from the formulas of RFC 7616 section 3.4.
    #[test]
    fn sess_auth_int_and_rfc2069_forms() {
        let base = ResponseInput {
            algorithm: DigestAlgorithm::Sha256Sess,
            user: "u",
            realm: "r",
            password: "p",
            nonce: "n",
            protection: Some(("00000001", "c", Qop::Auth)),
            method: "GET",
            uri: "/x",
        };
        assert_eq!(base.response(), "203435f0e3f59800bcc823a3cc777e26d10adbdb6e4ebef111fe48f2fdcdc0cf");
        let md5_sess = ResponseInput { algorithm: DigestAlgorithm::Md5Sess, ..base };
        assert_eq!(md5_sess.response(), "0223f74a821f39096c53860f14848b13");
        let auth_int = ResponseInput {
            algorithm: DigestAlgorithm::Md5,
            protection: Some(("00000002", "c", Qop::AuthInt)),
            ..base
        };
        assert_eq!(auth_int.response(), "a6257b504593c7e59e6a3c8fd833cc0f");
        let rfc2069 = ResponseInput { algorithm: DigestAlgorithm::Md5, protection: None, ..base };
        assert_eq!(rfc2069.response(), "3042aef13752cb1d63f6787a080ffdfc");
    }

    #[test]
    fn challenge_requirements() {
        let digest = |value: &str| {
            let value = HeaderValue::from_str(value).unwrap();
            DigestChallenge::from_challenge(&Challenge::parse_all([&value])[0])
        };
        let ok = digest(r#"Digest realm="r", nonce="n", qop="auth-int, auth", opaque="o", userhash=TRUE"#).unwrap();
        assert_eq!(
            ok,
            DigestChallenge {
                algorithm: DigestAlgorithm::Md5,
                algorithm_named: false,
                realm: "r".into(),
                nonce: "n".into(),
                opaque: Some("o".into()),
                qop: Some(Qop::Auth),
                userhash: true,
            }
        );
        assert_eq!(digest(r#"Digest realm=r, nonce=n, qop="auth-int""#).unwrap().qop, Some(Qop::AuthInt));
        assert_eq!(digest("Digest realm=r, nonce=n").unwrap().qop, None);
        assert_eq!(digest("Digest realm=r, nonce=n, algorithm=sha-256").unwrap().algorithm, DigestAlgorithm::Sha256);
        assert!(!digest("Digest realm=r, nonce=n, userhash=false").unwrap().userhash);
        for refused in [
            "Digest nonce=n",
            "Digest realm=r",
            "Digest realm=r, nonce=n, algorithm=SHA-512-256",
            "Digest realm=r, nonce=n, algorithm=SHA-256-sess",
            r#"Digest realm=r, nonce=n, qop="auth-conf""#,
            r#"Digest realm=r, nonce=n, qop="""#,
            "Basic realm=r, nonce=n",
            "Digest abc==",
        ] {
            assert_eq!(digest(refused), None, "{refused}");
        }
    }

    #[test]
    fn ext_values() {
        // RFC 7616 section 3.9.2 (the same in the original and in erratum 4897).
        assert_eq!(encode_ext_value("J\u{e4}s\u{f8}n Doe"), "UTF-8''J%C3%A4s%C3%B8n%20Doe");
        assert_eq!(decode_ext_value("UTF-8''J%C3%A4s%C3%B8n%20Doe").as_deref(), Some("J\u{e4}s\u{f8}n Doe"));
        // RFC 8187 section 3.2.3's examples.
        assert_eq!(decode_ext_value("iso-8859-1'en'%A3%20rates").as_deref(), Some("\u{a3} rates"));
        assert_eq!(
            decode_ext_value("UTF-8''%c2%a3%20and%20%e2%82%ac%20rates").as_deref(),
            Some("\u{a3} and \u{20ac} rates")
        );
        for bad in ["UTF-8'%41", "UTF-16''a", "UTF-8''%4", "UTF-8''%zz", "UTF-8''a b", "UTF-8''%FF", "abc"] {
            assert_eq!(decode_ext_value(bad), None, "{bad}");
        }
        let all: String = (1..=0x7f_u8).map(char::from).chain(['\u{e9}', '\u{1f600}']).collect();
        assert_eq!(decode_ext_value(&encode_ext_value(&all)), Some(all));
    }

    #[test]
    fn quoting_and_uris() {
        let mut out = String::new();
        push_quoted(&mut out, r#"a"b\c"#);
        assert_eq!(out, r#""a\"b\\c""#);
        assert!(is_plain_ascii("Mufasa ~!\"\\"));
        assert!(!is_plain_ascii("J\u{e4}son"));
        assert!(!is_plain_ascii("a\tb"));
        assert_eq!(header_safe_uri("/a?b=c"), "/a?b=c");
        assert_eq!(header_safe_uri("/a\r\nb\x7f\u{e9}"), "/a%0D%0Ab%7F\u{e9}");
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"\x00", b"\x80"));
    }
}
