//! The challenge and credentials grammar of RFC 9110 section 11:
//!
//! ```text
//! WWW-Authenticate = #challenge                                    (11.6.1)
//! challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]     (11.3)
//! credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]     (11.4)
//! auth-param  = token BWS "=" BWS ( token / quoted-string )        (11.2)
//! token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```
//!
//! A list of challenges is ambiguous at each comma: what follows is either the next parameter of
//! the current challenge or the next challenge. The parser looks past the comma once: `token BWS
//! "=" BWS (token / quoted-string)` is a parameter, anything else starts a challenge. It reads each
//! byte at most twice (once in that look-ahead, once for real), so its time is linear in the
//! header's length whatever the header holds: on a client the header comes from any server or
//! proxy on the way.

use http::HeaderValue;
use std::fmt;

/// At most this many challenges are taken from all the header lines of one response; the rest
/// are ignored. Real servers send one to four.
pub(crate) const MAX_CHALLENGES: usize = 16;

/// A challenge with more parameters than this is skipped (a Digest challenge defines nine).
pub(crate) const MAX_PARAMS: usize = 24;

/// An authentication scheme. RFC 9110 section 11.1: "It uses a case-insensitive token to identify
/// the authentication scheme".
///
/// ```
/// use laputa_core::auth::{Challenge, Scheme};
/// use laputa_core::http::HeaderValue;
///
/// let value = HeaderValue::from_static("NEGOTIATE, digest realm=\"a\", nonce=\"b\", BASIC realm=\"c\"");
/// let schemes: Vec<Scheme> = Challenge::parse_all([&value]).into_iter().map(|c| c.scheme().clone()).collect();
/// assert_eq!(schemes, [Scheme::Other("negotiate".into()), Scheme::Digest, Scheme::Basic]);
/// assert_eq!(Scheme::Other("negotiate".into()).name(), "negotiate");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `Basic` (RFC 7617).
    Basic,
    /// `Digest` (RFC 7616).
    Digest,
    /// Any other scheme (`Negotiate`, `NTLM`, `Bearer`, ...), lower-cased; never answered.
    Other(String),
}

impl Scheme {
    fn from_token(token: &str) -> Self {
        if token.eq_ignore_ascii_case("basic") {
            Self::Basic
        } else if token.eq_ignore_ascii_case("digest") {
            Self::Digest
        } else {
            Self::Other(token.to_ascii_lowercase())
        }
    }

    /// The scheme's name: `Basic`, `Digest`, or the other scheme's name in lower case.
    ///
    /// ```
    /// use laputa_core::auth::Scheme;
    ///
    /// assert_eq!(Scheme::Digest.name(), "Digest");
    /// assert_eq!(Scheme::Basic.to_string(), "Basic");
    /// ```
    pub fn name(&self) -> &str {
        match self {
            Self::Basic => "Basic",
            Self::Digest => "Digest",
            Self::Other(name) => name,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One parsed challenge of a `WWW-Authenticate` or `Proxy-Authenticate` header, or the
/// credentials of an `Authorization` or `Proxy-Authorization` header, which have the same
/// grammar: a scheme and either a token68 or parameters.
///
/// Parameter names are lower-cased (RFC 9110 section 11.2: "Parameter names are matched
/// case-insensitively"); values are kept as sent, quoted strings unescaped. A value that is not
/// UTF-8 once unescaped makes the challenge malformed.
///
/// ```
/// use laputa_core::auth::{Challenge, Scheme};
/// use laputa_core::http::HeaderValue;
///
/// // RFC 9110 section 11.6.1's example: two challenges in one header line, with a quoted comma.
/// let value = HeaderValue::from_static(
///     r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#,
/// );
/// let challenges = Challenge::parse_all([&value]);
/// assert_eq!(challenges.len(), 2);
/// assert_eq!(challenges[0].scheme(), &Scheme::Other("newauth".into()));
/// assert_eq!(challenges[0].param("TITLE"), Some(r#"Login to "apps""#));
/// assert_eq!(challenges[0].param("type"), Some("1"));
/// assert_eq!(challenges[1].realm(), Some("simple"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    scheme: Scheme,
    token68: Option<String>,
    params: Vec<(String, String)>,
}

impl Challenge {
    /// Parses every challenge in the given header values (all the `WWW-Authenticate` lines of a
    /// response, or all its `Proxy-Authenticate` lines), in order.
    ///
    /// RFC 9110 section 11.6.1: "User agents are advised to take special care in parsing the
    /// field value, as it might contain more than one challenge, and each challenge can contain a
    /// comma-separated list of authentication parameters. Furthermore, the header field itself
    /// can occur multiple times." A malformed challenge (a parameter without a value, an
    /// unterminated quoted string, a repeated parameter name, which section 11.2 forbids: "Each
    /// parameter name MUST only occur once per challenge") is skipped with the parameters that
    /// follow it, and parsing goes on with the next challenge; a header with none that parses
    /// gives none. At most 16 challenges are returned, each with at most 24 parameters.
    ///
    /// ```
    /// use laputa_core::auth::{Challenge, Scheme};
    /// use laputa_core::http::header::WWW_AUTHENTICATE;
    /// use laputa_core::http::HeaderMap;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.append(WWW_AUTHENTICATE, "Negotiate abc==, NTLM".parse()?);
    /// headers.append(WWW_AUTHENTICATE, r#"Basic realm=@, Digest realm="a", nonce="b""#.parse()?);
    /// let challenges = Challenge::parse_all(headers.get_all(WWW_AUTHENTICATE));
    /// // `Basic realm=@` has a parameter without a valid value: skipped, the others kept.
    /// let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme().name()).collect();
    /// assert_eq!(schemes, ["negotiate", "ntlm", "Digest"]);
    /// assert_eq!(challenges[0].token68(), Some("abc=="));
    /// assert_eq!(challenges[2].param("nonce"), Some("b"));
    /// # Ok::<(), laputa_core::http::header::InvalidHeaderValue>(())
    /// ```
    pub fn parse_all<'a>(values: impl IntoIterator<Item = &'a HeaderValue>) -> Vec<Challenge> {
        let mut out = Vec::new();
        for value in values {
            if out.len() >= MAX_CHALLENGES {
                break;
            }
            parse_list(value.as_bytes(), &mut out);
        }
        out
    }

    /// Parses the credentials of an `Authorization` or `Proxy-Authorization` value (RFC 9110
    /// section 11.4), which must hold exactly one (empty list elements aside): `None` if the
    /// value is anything else.
    ///
    /// ```
    /// use laputa_core::auth::{Challenge, Scheme};
    /// use laputa_core::http::HeaderValue;
    ///
    /// let value = HeaderValue::from_static("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    /// let credentials = Challenge::parse_credentials(&value).expect("one credential");
    /// assert_eq!(credentials.scheme(), &Scheme::Basic);
    /// assert_eq!(credentials.token68(), Some("QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
    /// let two = HeaderValue::from_static("Basic QWxh, Basic QWxh");
    /// assert_eq!(Challenge::parse_credentials(&two), None);
    /// ```
    pub fn parse_credentials(value: &HeaderValue) -> Option<Challenge> {
        let mut p = Parser { bytes: value.as_bytes(), pos: 0 };
        p.skip_ows();
        let credentials = p.challenge().ok()?;
        p.skip_ows_and_commas(); // trailing empty list elements
        p.at_end().then_some(credentials)
    }

    /// A challenge built from parts (names are lower-cased).
    #[cfg(test)]
    pub(crate) fn new(scheme: Scheme, params: Vec<(String, String)>) -> Self {
        let params = params.into_iter().map(|(name, value)| (name.to_ascii_lowercase(), value)).collect();
        Self { scheme, token68: None, params }
    }

    /// The authentication scheme.
    ///
    /// ```
    /// use laputa_core::auth::{Challenge, Scheme};
    /// use laputa_core::http::HeaderValue;
    ///
    /// let value = HeaderValue::from_static("bAsIc realm=x");
    /// assert_eq!(Challenge::parse_all([&value])[0].scheme(), &Scheme::Basic);
    /// ```
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The token68 form's value (`Negotiate abc==`), if the challenge has that form.
    ///
    /// ```
    /// use laputa_core::auth::Challenge;
    /// use laputa_core::http::HeaderValue;
    ///
    /// let value = HeaderValue::from_static("Negotiate YIIB/w==, Basic realm=x");
    /// let challenges = Challenge::parse_all([&value]);
    /// assert_eq!(challenges[0].token68(), Some("YIIB/w=="));
    /// assert_eq!(challenges[1].token68(), None);
    /// ```
    pub fn token68(&self) -> Option<&str> {
        self.token68.as_deref()
    }

    /// The value of the parameter called `name` (compared case-insensitively), unquoted.
    ///
    /// ```
    /// use laputa_core::auth::Challenge;
    /// use laputa_core::http::HeaderValue;
    ///
    /// let value = HeaderValue::from_static(r#"Digest Realm = "a \"b\"", nonce=n, opaque="""#);
    /// let challenge = &Challenge::parse_all([&value])[0];
    /// assert_eq!(challenge.param("realm"), Some(r#"a "b""#));
    /// assert_eq!(challenge.param("NONCE"), Some("n"));
    /// assert_eq!(challenge.param("opaque"), Some(""));
    /// assert_eq!(challenge.param("qop"), None);
    /// ```
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every parameter in the order sent: lower-cased name and unquoted value.
    ///
    /// ```
    /// use laputa_core::auth::Challenge;
    /// use laputa_core::http::HeaderValue;
    ///
    /// let value = HeaderValue::from_static("Basic Realm=x, charset=\"UTF-8\"");
    /// let challenges = Challenge::parse_all([&value]);
    /// let params: Vec<_> = challenges[0].params().collect();
    /// assert_eq!(params, [("realm", "x"), ("charset", "UTF-8")]);
    /// ```
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The `realm` parameter, which names the protection space (RFC 9110 section 11.5).
    ///
    /// ```
    /// use laputa_core::auth::Challenge;
    /// use laputa_core::http::HeaderValue;
    ///
    /// let value = HeaderValue::from_static("Basic realm=\"WallyWorld\"");
    /// assert_eq!(Challenge::parse_all([&value])[0].realm(), Some("WallyWorld"));
    /// ```
    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }
}

/// Appends the challenges of one header value to `out`, up to [`MAX_CHALLENGES`] in all.
fn parse_list(bytes: &[u8], out: &mut Vec<Challenge>) {
    let mut p = Parser { bytes, pos: 0 };
    loop {
        p.skip_ows_and_commas();
        if p.at_end() || out.len() >= MAX_CHALLENGES {
            return;
        }
        match p.challenge() {
            Ok(challenge) => out.push(challenge),
            Err(Malformed) => p.skip_malformed(),
        }
    }
}

/// A challenge that does not follow the grammar; the parser skips it.
struct Malformed;

/// `tchar` of RFC 9110 section 5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        )
}

/// The characters of a token68 before its trailing `=`s.
fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// A cursor over one header value. Nothing is read more than twice (see the module doc).
struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// `OWS = *( SP / HTAB )`; also serves for `BWS`.
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Whitespace and empty list elements. RFC 9110 section 5.6.1: "a recipient MUST accept
    /// empty list elements".
    fn skip_ows_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
    }

    /// A non-empty token, as text (tokens are ASCII).
    fn token(&mut self) -> Result<String, Malformed> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(Malformed);
        }
        Ok(String::from_utf8_lossy(&self.bytes[start..self.pos]).into_owned())
    }

    /// One challenge (or credentials), starting at its scheme. Stops before the comma that ends
    /// it, or at the end of the value.
    fn challenge(&mut self) -> Result<Challenge, Malformed> {
        let scheme = Scheme::from_token(&self.token()?);
        let mut challenge = Challenge { scheme, token68: None, params: Vec::new() };
        let after_scheme = self.pos;
        self.skip_ows();
        match self.peek() {
            None => return Ok(challenge),
            // A scheme alone; parameters may still follow the comma (an empty first element of
            // its `#auth-param` list).
            Some(b',') => {}
            Some(_) if self.pos == after_scheme => return Err(Malformed),
            Some(_) => {
                if let Some(token68) = self.token68() {
                    challenge.token68 = Some(token68);
                    return Ok(challenge);
                }
                self.param(&mut challenge)?;
            }
        }
        // After each parameter: the end, or a comma followed by another parameter (then it is
        // ours) or by anything else (then it is the next challenge's, and ours is complete).
        loop {
            self.skip_ows();
            match self.peek() {
                None => return Ok(challenge),
                Some(b',') => {
                    let comma = self.pos;
                    self.skip_ows_and_commas();
                    if !self.param_ahead() {
                        self.pos = comma;
                        return Ok(challenge);
                    }
                    self.param(&mut challenge)?;
                }
                Some(_) => return Err(Malformed),
            }
        }
    }

    /// A token68 that makes up the rest of the challenge (followed by whitespace and then a
    /// comma or the end); `None`, with the position unchanged, if there is none.
    fn token68(&mut self) -> Option<String> {
        let start = self.pos;
        let mut end = start;
        while self.bytes.get(end).copied().is_some_and(is_token68_char) {
            end += 1;
        }
        if end == start {
            return None;
        }
        while self.bytes.get(end) == Some(&b'=') {
            end += 1;
        }
        let mut after = end;
        while matches!(self.bytes.get(after), Some(b' ' | b'\t')) {
            after += 1;
        }
        if !matches!(self.bytes.get(after), None | Some(b',')) {
            return None;
        }
        self.pos = end;
        Some(String::from_utf8_lossy(&self.bytes[start..end]).into_owned())
    }

    /// Whether `token BWS "=" BWS ( token / quoted-string )` starts here (a parameter), without
    /// moving.
    fn param_ahead(&self) -> bool {
        let mut at = self.pos;
        let start = at;
        while self.bytes.get(at).copied().is_some_and(is_tchar) {
            at += 1;
        }
        if at == start {
            return false;
        }
        while matches!(self.bytes.get(at), Some(b' ' | b'\t')) {
            at += 1;
        }
        if self.bytes.get(at) != Some(&b'=') {
            return false;
        }
        at += 1;
        while matches!(self.bytes.get(at), Some(b' ' | b'\t')) {
            at += 1;
        }
        self.bytes.get(at).is_some_and(|&b| b == b'"' || is_tchar(b))
    }

    /// `auth-param = token BWS "=" BWS ( token / quoted-string )`, added to `challenge`.
    fn param(&mut self, challenge: &mut Challenge) -> Result<(), Malformed> {
        let name = self.token()?.to_ascii_lowercase();
        self.skip_ows();
        if self.peek() != Some(b'=') {
            return Err(Malformed);
        }
        self.pos += 1;
        self.skip_ows();
        let value = if self.peek() == Some(b'"') { self.quoted_string()? } else { self.token()? };
        if challenge.params.len() >= MAX_PARAMS || challenge.params.iter().any(|(n, _)| *n == name) {
            return Err(Malformed);
        }
        challenge.params.push((name, value));
        Ok(())
    }

    /// `quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE`, unescaped. Header values hold
    /// no control characters but HTAB, so every byte up to the closing quote is `qdtext` or
    /// escaped.
    fn quoted_string(&mut self) -> Result<String, Malformed> {
        self.pos += 1; // the opening quote
        let mut value = Vec::new();
        loop {
            let byte = self.peek().ok_or(Malformed)?;
            self.pos += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    value.push(self.peek().ok_or(Malformed)?);
                    self.pos += 1;
                }
                _ => value.push(byte),
            }
        }
        String::from_utf8(value).map_err(|_| Malformed)
    }

    /// After a malformed challenge: skips to the end of the list element where parsing failed,
    /// then over every element that looks like a parameter (they belong to the malformed
    /// challenge), up to the next challenge.
    fn skip_malformed(&mut self) {
        loop {
            self.skip_element();
            self.skip_ows_and_commas();
            if !self.param_ahead() {
                return;
            }
        }
    }

    /// Skips to the next comma outside a quoted string, or to the end.
    fn skip_element(&mut self) {
        let mut quoted = false;
        while let Some(byte) = self.peek() {
            match byte {
                b',' if !quoted => return,
                b'"' => quoted = !quoted,
                b'\\' if quoted => self.pos += 1,
                _ => {}
            }
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Vec<Challenge> {
        let values: Vec<HeaderValue> = values.iter().map(|v| HeaderValue::from_str(v).unwrap()).collect();
        Challenge::parse_all(&values)
    }

    fn challenge(scheme: Scheme, params: &[(&str, &str)]) -> Challenge {
        Challenge::new(scheme, params.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect())
    }

    fn other(name: &str) -> Scheme {
        Scheme::Other(name.to_owned())
    }

    #[test]
    fn proxy_offering_negotiate_ntlm_basic() {
        // The header websocket-sharp fails on.
        assert_eq!(
            parse(&[r#"Negotiate, NTLM, Basic realm="x""#]),
            [
                challenge(other("negotiate"), &[]),
                challenge(other("ntlm"), &[]),
                challenge(Scheme::Basic, &[("realm", "x")])
            ]
        );
    }

    #[test]
    fn digest_with_quoted_comma_then_basic() {
        let parsed =
            parse(&[r#"Digest realm="a", nonce="b", qop="auth,auth-int", algorithm=SHA-256, Basic realm="c""#]);
        assert_eq!(
            parsed,
            [
                challenge(
                    Scheme::Digest,
                    &[("realm", "a"), ("nonce", "b"), ("qop", "auth,auth-int"), ("algorithm", "SHA-256")]
                ),
                challenge(Scheme::Basic, &[("realm", "c")]),
            ]
        );
    }

    #[test]
    fn several_header_lines_in_order() {
        let parsed = parse(&["Negotiate", r#"Digest realm="a", nonce="n""#, "Basic realm=b"]);
        let schemes: Vec<_> = parsed.iter().map(|c| c.scheme().clone()).collect();
        assert_eq!(schemes, [other("negotiate"), Scheme::Digest, Scheme::Basic]);
    }

    #[test]
    fn token68_forms() {
        let parsed =
            parse(&["Negotiate abc==, Bearer x.y-z_~+/0", "NTLM TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA= "]);
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[0].token68(), Some("abc=="));
        assert_eq!(parsed[1].token68(), Some("x.y-z_~+/0"));
        assert_eq!(parsed[2].token68(), Some("TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA="));
        assert!(parsed.iter().all(|c| c.params().next().is_none()));
        // `a=b` is a parameter, not a token68 followed by junk.
        assert_eq!(parse(&["X a=b"]), [challenge(other("x"), &[("a", "b")])]);
        // A token68 ends its challenge: a parameter after it is the next, malformed challenge.
        assert_eq!(parse(&["X abc, Basic realm=r"])[1], challenge(Scheme::Basic, &[("realm", "r")]));
        let parsed = parse(&["X abc==, y=z, Basic realm=r"]);
        assert_eq!(parsed.len(), 2, "{parsed:?}");
        assert_eq!(parsed[0].token68(), Some("abc=="));
        assert_eq!(parsed[1].scheme(), &Scheme::Basic);
    }

    #[test]
    fn whitespace_case_and_empty_elements() {
        let parsed = parse(&[" ,, BASIC\tREALM = \"x\" ,, , CharSet=UTF-8 ,,Digest   NONCE=n , "]);
        assert_eq!(
            parsed,
            [
                challenge(Scheme::Basic, &[("realm", "x"), ("charset", "UTF-8")]),
                challenge(Scheme::Digest, &[("nonce", "n")])
            ]
        );
        // Values keep their case; names do not.
        assert_eq!(parsed[0].param("CHARSET"), Some("UTF-8"));
        // A scheme, a comma, then parameters: they are the scheme's.
        assert_eq!(parse(&["Basic, realm=x"]), [challenge(Scheme::Basic, &[("realm", "x")])]);
        // Empty quoted values are values.
        assert_eq!(parse(&[r#"Digest opaque="", realm="""#])[0].param("realm"), Some(""));
    }

    #[test]
    fn quoted_pairs_are_unescaped() {
        let parsed = parse(&[r#"X a="\"q\" \\ \x, y""#]);
        assert_eq!(parsed[0].param("a"), Some(r#""q" \ x, y"#));
        let utf8 = HeaderValue::from_bytes("X realm=\"caf\u{e9}\"".as_bytes()).unwrap();
        assert_eq!(Challenge::parse_all([&utf8])[0].realm(), Some("caf\u{e9}"));
        // obs-text that is not UTF-8: the challenge is skipped, the next one kept.
        let latin1 = HeaderValue::from_bytes(b"X realm=\"caf\xe9\", Basic realm=b").unwrap();
        assert_eq!(Challenge::parse_all([&latin1]), [challenge(Scheme::Basic, &[("realm", "b")])]);
    }

    #[test]
    fn malformed_challenges_are_skipped_with_their_parameters() {
        let cases: &[(&str, &[Scheme])] = &[
            ("Basic realm=@, Digest realm=a", &[Scheme::Digest]),
            // `realm=` alone is a token68 (`1*tchar68 *"="`), as the grammar has it.
            ("Basic realm=, Digest realm=a", &[Scheme::Basic, Scheme::Digest]),
            ("Basic realm=x y, nonce=n, Digest realm=a", &[Scheme::Digest]),
            (r#"Basic realm="x" y, Digest realm=a"#, &[Scheme::Digest]),
            (r#"Digest realm="a", realm="b", Basic realm=c"#, &[Scheme::Basic]),
            ("Digest realm=@, nonce=\"b, c\", Basic realm=c", &[Scheme::Basic]),
            ("Digest realm=a, b, Basic realm=c", &[Scheme::Digest, other("b"), Scheme::Basic]),
            ("Digest realm=a b=c, Basic realm=c", &[Scheme::Basic]),
            ("Digest =x, Basic", &[Scheme::Basic]),
            ("Basic realm=a;b", &[]),
            (r#"Basic realm="unterminated, Digest realm=a"#, &[]),
            (r#"Basic realm="ends in escape\"#, &[]),
            ("=, @, \"x\"", &[]),
            ("Basic\trealm=a", &[Scheme::Basic]),
            ("Basic(realm=a), Digest realm=a", &[Scheme::Digest]),
        ];
        for (value, schemes) in cases {
            let parsed: Vec<_> = parse(&[value]).into_iter().map(|c| c.scheme).collect();
            assert_eq!(&parsed, schemes, "{value}");
        }
    }

    #[test]
    fn bounded_counts() {
        let many = "A, ".repeat(40);
        assert_eq!(parse(&[&many]).len(), MAX_CHALLENGES);
        let lines: Vec<String> = (0..40).map(|i| format!("S{i}")).collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let parsed = parse(&lines);
        assert_eq!(parsed.len(), MAX_CHALLENGES);
        assert_eq!(parsed[15].scheme(), &other("s15"));
        let params = |n: usize| (0..n).map(|i| format!("p{i}=v")).collect::<Vec<_>>().join(", ");
        assert_eq!(parse(&[&format!("Digest {}", params(MAX_PARAMS))])[0].params().count(), MAX_PARAMS);
        assert_eq!(parse(&[&format!("Digest {}, Basic", params(MAX_PARAMS + 1))]), [challenge(Scheme::Basic, &[])]);
    }

    #[test]
    fn hostile_inputs_are_linear() {
        // Shapes that make backtracking parsers explode; a quadratic parser takes minutes on
        // these. No timing assertion: the test's own run time is the measure.
        const N: usize = 200_000;
        let shapes = [
            format!("X {}", "a=b, ".repeat(N / 5)),
            format!("X {}", "a=".repeat(N / 2)),
            format!("X {}", ",".repeat(N)),
            format!("X a=\"{}", "\\a".repeat(N / 2)),
            format!("X {}", "a ".repeat(N / 2)),
            "a=".repeat(N / 2),
            format!("X {}", "a, =b, ".repeat(N / 7)),
            format!("X {}", "=".repeat(N)),
            format!("X a{}", "=".repeat(N)),
            "\"".repeat(N),
        ];
        for shape in &shapes {
            let parsed = parse(&[shape]);
            assert!(parsed.len() <= MAX_CHALLENGES);
        }
    }

    #[test]
    fn credentials_are_exactly_one() {
        let one = |v: &str| Challenge::parse_credentials(&HeaderValue::from_str(v).unwrap());
        let digest = one(r#" Digest username="Mufasa", realm="r", nc=00000001 "#).unwrap();
        assert_eq!(digest.param("username"), Some("Mufasa"));
        assert_eq!(digest.param("nc"), Some("00000001"));
        assert_eq!(one("Basic"), Some(challenge(Scheme::Basic, &[])));
        assert_eq!(one("Basic abc, Basic def"), None);
        assert_eq!(one("Digest a=b, ,").unwrap().param("a"), Some("b"), "empty list elements");
        assert_eq!(one("Digest a=b, Basic"), None);
        assert_eq!(one("Digest a=\"b"), None);
        assert_eq!(one("Digest a=").unwrap().token68(), Some("a="));
        assert_eq!(one(""), None);
        assert_eq!(one(","), None);
    }
}
