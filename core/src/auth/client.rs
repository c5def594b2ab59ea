//! The client side: choosing a challenge and answering it.

use super::basic::basic;
use super::challenge::{Challenge, Scheme};
use super::digest::{
    encode_ext_value, header_safe_uri, hex, is_plain_ascii, push_quoted, DigestChallenge, ResponseInput,
};
use super::{Credentials, DigestAlgorithm};
use crate::Rng;
use http::{HeaderValue, Method};

/// The challenge to answer among those of a `401` or `407`: the strongest one this crate
/// supports, Digest with SHA-256 (or SHA-256-sess) above Digest with MD5 (or MD5-sess) above
/// Basic; the first of equals, since a server lists its preference first. Schemes this crate does
/// not speak (`Negotiate`, `NTLM`, `Bearer`, ...) and Digest challenges it cannot answer (an
/// unknown algorithm, a `qop` without `auth` or `auth-int`, no `nonce` or `realm`) are passed
/// over. `None` if nothing is left.
///
/// RFC 2617 section 4.6: "A user agent MUST choose to use the strongest auth-scheme it
/// understands and request credentials from the user based upon that challenge."
///
/// ```
/// use laputa_core::auth::{choose, Challenge, Scheme};
/// use laputa_core::http::HeaderValue;
///
/// // What a corporate proxy sends (websocket-sharp fails on it): Basic is the one we speak.
/// let proxy = HeaderValue::from_static(r#"Negotiate, NTLM, Basic realm="corp""#);
/// let challenges = Challenge::parse_all([&proxy]);
/// assert_eq!(choose(&challenges).map(Challenge::scheme), Some(&Scheme::Basic));
///
/// let server = HeaderValue::from_static(
///     r#"Basic realm="a", Digest realm="a", nonce="1", Digest realm="a", nonce="2", algorithm=SHA-256"#,
/// );
/// let challenges = Challenge::parse_all([&server]);
/// assert_eq!(choose(&challenges).and_then(|c| c.param("nonce")), Some("2"));
///
/// let unsupported = HeaderValue::from_static("Bearer, Digest realm=a, nonce=n, algorithm=SHA-3");
/// assert_eq!(choose(&Challenge::parse_all([&unsupported])), None);
/// ```
pub fn choose(challenges: &[Challenge]) -> Option<&Challenge> {
    let mut best: Option<(u8, &Challenge)> = None;
    for challenge in challenges {
        let Some(rank) = rank(challenge) else { continue };
        if best.is_none_or(|(best_rank, _)| rank > best_rank) {
            best = Some((rank, challenge));
        }
    }
    best.map(|(_, challenge)| challenge)
}

/// How much a supported challenge is preferred; `None` if it is not supported.
fn rank(challenge: &Challenge) -> Option<u8> {
    match challenge.scheme() {
        Scheme::Basic => Some(0),
        Scheme::Digest => DigestChallenge::from_challenge(challenge).map(|d| 1 + d.algorithm.strength()),
        Scheme::Other(_) => None,
    }
}

/// The client's side of one protection space (an origin server, or a proxy): answers the chosen
/// challenge, and counts the Digest nonce's uses.
///
/// One `ClientAuth` answers each request sent under the same challenge: a Digest answer carries
/// `nc`, "the hexadecimal count of the number of requests (including the current request) that
/// the client has sent with the nonce value in this request" (RFC 7616 section 3.4), which it
/// keeps. The connect flow answers each challenge once: a second `401` for the same credentials
/// means they were refused, unless it says the nonce was only stale ([`renew_stale`]).
///
/// [`renew_stale`]: ClientAuth::renew_stale
///
/// ```
/// use laputa_core::auth::{choose, Challenge, ClientAuth, Credentials, Scheme};
/// use laputa_core::http::{HeaderValue, Method};
/// use laputa_core::Rng;
///
/// let header = HeaderValue::from_static(r#"Digest realm="chat", nonce="abc", qop="auth", algorithm=SHA-256"#);
/// let challenges = Challenge::parse_all([&header]);
/// let mut auth = ClientAuth::new(choose(&challenges).expect("a supported challenge")).expect("supported");
/// assert_eq!(auth.scheme(), Scheme::Digest);
/// let credentials = Credentials::new("alice", "secret");
/// let first = auth.answer(&credentials, &Method::GET, "/chat", &mut Rng::seeded(1));
/// let second = auth.answer(&credentials, &Method::GET, "/chat", &mut Rng::seeded(2));
/// let nc = |v: &HeaderValue| Challenge::parse_credentials(v).unwrap().param("nc").unwrap().to_owned();
/// assert_eq!((nc(&first), nc(&second)), ("00000001".to_owned(), "00000002".to_owned()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuth {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Basic,
    Digest {
        challenge: DigestChallenge,
        /// Answers sent with this nonce.
        nc: u32,
    },
}

impl ClientAuth {
    /// The state for answering `challenge`; `None` if this crate cannot answer it (see
    /// [`choose`], which only picks challenges for which this is `Some`).
    ///
    /// ```
    /// use laputa_core::auth::{Challenge, ClientAuth, Scheme};
    /// use laputa_core::http::HeaderValue;
    ///
    /// let value = HeaderValue::from_static(r#"Basic realm="x", NTLM, Digest realm="x""#);
    /// let challenges = Challenge::parse_all([&value]);
    /// assert_eq!(ClientAuth::new(&challenges[0]).map(|a| a.scheme()), Some(Scheme::Basic));
    /// assert_eq!(ClientAuth::new(&challenges[1]), None);
    /// assert_eq!(ClientAuth::new(&challenges[2]), None, "no nonce");
    /// ```
    pub fn new(challenge: &Challenge) -> Option<Self> {
        let kind = match challenge.scheme() {
            Scheme::Basic => Kind::Basic,
            Scheme::Digest => Kind::Digest { challenge: DigestChallenge::from_challenge(challenge)?, nc: 0 },
            Scheme::Other(_) => return None,
        };
        Some(Self { kind })
    }

    /// The scheme answered: Basic or Digest.
    ///
    /// ```
    /// use laputa_core::auth::{Challenge, ClientAuth, Scheme};
    /// use laputa_core::http::HeaderValue;
    ///
    /// let value = HeaderValue::from_static("Basic realm=x");
    /// let auth = ClientAuth::new(&Challenge::parse_all([&value])[0]).unwrap();
    /// assert_eq!(auth.scheme(), Scheme::Basic);
    /// ```
    pub fn scheme(&self) -> Scheme {
        match self.kind {
            Kind::Basic => Scheme::Basic,
            Kind::Digest { .. } => Scheme::Digest,
        }
    }

    /// The Digest algorithm answered with; `None` for Basic.
    ///
    /// ```
    /// use laputa_core::auth::{Challenge, ClientAuth, DigestAlgorithm};
    /// use laputa_core::http::HeaderValue;
    ///
    /// let value = HeaderValue::from_static("Digest realm=x, nonce=n");
    /// let auth = ClientAuth::new(&Challenge::parse_all([&value])[0]).unwrap();
    /// assert_eq!(auth.digest_algorithm(), Some(DigestAlgorithm::Md5), "the default");
    /// ```
    pub fn digest_algorithm(&self) -> Option<DigestAlgorithm> {
        match &self.kind {
            Kind::Basic => None,
            Kind::Digest { challenge, .. } => Some(challenge.algorithm),
        }
    }

    /// The value of the `Authorization` header (or `Proxy-Authorization`, for a proxy's `407`)
    /// answering the challenge, for a request with `method` to `uri`, marked sensitive.
    ///
    /// `uri` is the Digest `uri` parameter: the request target (path and query) for a `401`, and
    /// `host:port` for a proxy's `407` to `CONNECT` (RFC 9112 section 3.2.3's authority form, the
    /// request target of a `CONNECT`). Basic ignores `method`, `uri` and `rng`.
    ///
    /// Digest (RFC 7616 section 3.4): a fresh client nonce (`cnonce`, 16 bytes from `rng`, in
    /// hex) and the next `nc` when the challenge offers a `qop` (`auth` if offered, else
    /// `auth-int` over the empty body these requests have), or the RFC 2069 form without them
    /// when it offers none; `opaque` echoed; with `userhash=true` in the challenge, the user
    /// name is sent hashed (section 3.4.4: `username = H( unq(username) ":" unq(realm) )`) and
    /// `userhash=true`; otherwise a user name that is not visible ASCII goes as `username*`, an
    /// RFC 8187 `ext-value` in UTF-8. Quoted values are escaped; control bytes in `uri` (no
    /// request target has any) are percent-encoded, so any input gives a valid header.
    ///
    /// ```
    /// use laputa_core::auth::{Challenge, ClientAuth, Credentials};
    /// use laputa_core::http::{HeaderValue, Method};
    /// use laputa_core::Rng;
    ///
    /// // A proxy's challenge to CONNECT: the digest URI is the authority.
    /// let header = HeaderValue::from_static(r#"Digest realm="proxy", nonce="n1", qop="auth""#);
    /// let mut auth = ClientAuth::new(&Challenge::parse_all([&header])[0]).unwrap();
    /// let value = auth.answer(&Credentials::new("bob", "pw"), &Method::CONNECT, "example.com:443", &mut Rng::seeded(3));
    /// let sent = Challenge::parse_credentials(&value).unwrap();
    /// assert_eq!(sent.param("username"), Some("bob"));
    /// assert_eq!(sent.param("uri"), Some("example.com:443"));
    /// assert_eq!(sent.param("qop"), Some("auth"));
    /// assert_eq!(sent.param("cnonce").map(str::len), Some(32));
    /// assert!(value.is_sensitive());
    /// ```
    pub fn answer(&mut self, credentials: &Credentials, method: &Method, uri: &str, rng: &mut Rng) -> HeaderValue {
        let mut cnonce = [0u8; 16];
        if matches!(self.kind, Kind::Digest { .. }) {
            rng.fill(&mut cnonce);
        }
        self.answer_with_cnonce(credentials, method, uri, &hex(&cnonce))
    }

    /// [`answer`](Self::answer) with a given client nonce, for exact tests.
    pub(crate) fn answer_with_cnonce(
        &mut self,
        credentials: &Credentials,
        method: &Method,
        uri: &str,
        cnonce: &str,
    ) -> HeaderValue {
        let (challenge, nc) = match &mut self.kind {
            Kind::Basic => return basic(credentials),
            Kind::Digest { challenge, nc } => (&*challenge, nc),
        };
        let uri = header_safe_uri(uri);
        let nc = challenge.qop.map(|_| {
            *nc = nc.saturating_add(1);
            format!("{nc:08x}")
        });
        let algorithm = challenge.algorithm;
        let user = credentials.user();
        let response = ResponseInput {
            algorithm,
            user,
            realm: &challenge.realm,
            password: credentials.password(),
            nonce: &challenge.nonce,
            protection: challenge.qop.zip(nc.as_deref()).map(|(qop, nc)| (nc, cnonce, qop)),
            method: method.as_str(),
            uri: &uri,
        }
        .response();

        let mut out = String::with_capacity(256);
        out.push_str("Digest ");
        if challenge.userhash {
            out.push_str("username=");
            push_quoted(&mut out, &algorithm.h(&[user.as_bytes(), challenge.realm.as_bytes()]));
        } else if is_plain_ascii(user) {
            out.push_str("username=");
            push_quoted(&mut out, user);
        } else {
            out.push_str("username*=");
            out.push_str(&encode_ext_value(user));
        }
        out.push_str(", realm=");
        push_quoted(&mut out, &challenge.realm);
        out.push_str(", uri=");
        push_quoted(&mut out, &uri);
        if challenge.algorithm_named {
            out.push_str(", algorithm=");
            out.push_str(algorithm.name());
        }
        out.push_str(", nonce=");
        push_quoted(&mut out, &challenge.nonce);
        if let (Some(qop), Some(nc)) = (challenge.qop, nc) {
            out.push_str(", nc=");
            out.push_str(&nc);
            out.push_str(", cnonce=");
            push_quoted(&mut out, cnonce);
            out.push_str(", qop=");
            out.push_str(qop.name());
        }
        out.push_str(", response=");
        push_quoted(&mut out, &response);
        if let Some(opaque) = &challenge.opaque {
            out.push_str(", opaque=");
            push_quoted(&mut out, opaque);
        }
        if challenge.userhash {
            out.push_str(", userhash=true");
        }
        // Every part is either from a header value (the challenge's), visible ASCII, or made
        // header-safe above, so the conversion cannot fail; the fallback only avoids a panic.
        let mut value = HeaderValue::try_from(out).unwrap_or_else(|_| {
            debug_assert!(false, "a Digest answer that is not a header value");
            HeaderValue::from_static("Digest")
        });
        value.set_sensitive(true);
        value
    }

    /// After a Digest answer was refused with a new challenge: whether that challenge says only
    /// that the nonce was stale, so that answering once more with the new nonce is worth it. If
    /// so, the state moves to the new nonce (and `nc` starts again) and the next
    /// [`answer`](Self::answer) uses it.
    ///
    /// RFC 7616 section 3.3, `stale`: "If stale is true, the client may wish to simply retry the
    /// request with a new encrypted response, without reprompting the user for a new username and
    /// password. [...] If stale is false, or anything other than true, or the stale parameter is
    /// not present, the username and/or password are invalid, and new values MUST be obtained."
    /// A stale challenge counts only for the same realm and with a new nonce (the same nonce
    /// again would be refused again); one with the algorithm already in use is preferred, then
    /// the strongest. The connect flow allows this once per connection attempt, so a server that
    /// always says stale cannot keep it busy.
    ///
    /// ```
    /// use laputa_core::auth::{Challenge, ClientAuth, Credentials};
    /// use laputa_core::http::{HeaderValue, Method};
    /// use laputa_core::Rng;
    ///
    /// let parse = |v: &'static str| Challenge::parse_all([&HeaderValue::from_static(v)]);
    /// let mut auth = ClientAuth::new(&parse(r#"Digest realm="r", nonce="old", qop="auth""#)[0]).unwrap();
    /// auth.answer(&Credentials::new("u", "p"), &Method::GET, "/", &mut Rng::seeded(1));
    /// assert!(!auth.renew_stale(&parse(r#"Digest realm="r", nonce="new", qop="auth""#)), "not stale: refused");
    /// assert!(auth.renew_stale(&parse(r#"Digest realm="r", nonce="new", qop="auth", stale=TRUE"#)));
    /// let value = auth.answer(&Credentials::new("u", "p"), &Method::GET, "/", &mut Rng::seeded(1));
    /// let sent = Challenge::parse_credentials(&value).unwrap();
    /// assert_eq!((sent.param("nonce"), sent.param("nc")), (Some("new"), Some("00000001")));
    /// ```
    pub fn renew_stale(&mut self, challenges: &[Challenge]) -> bool {
        let Kind::Digest { challenge: current, nc } = &mut self.kind else { return false };
        let mut best: Option<((bool, u8), DigestChallenge)> = None;
        for challenge in challenges {
            if !challenge.param("stale").is_some_and(|s| s.eq_ignore_ascii_case("true")) {
                continue;
            }
            let Some(renewed) = DigestChallenge::from_challenge(challenge) else { continue };
            if renewed.realm != current.realm || renewed.nonce == current.nonce {
                continue;
            }
            let key = (renewed.algorithm == current.algorithm, renewed.algorithm.strength());
            if best.as_ref().is_none_or(|(best_key, _)| key > *best_key) {
                best = Some((key, renewed));
            }
        }
        let Some((_, renewed)) = best else { return false };
        *current = renewed;
        *nc = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Vec<Challenge> {
        Challenge::parse_all([&HeaderValue::from_str(value).unwrap()])
    }

    fn rfc_challenge(algorithm: &str) -> ClientAuth {
        // RFC 7616 section 3.9.1's challenge.
        let header = format!(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#
        );
        ClientAuth::new(&parse(&header)[0]).unwrap()
    }

    /// RFC 7616 section 3.9.1: the whole Authorization value, byte for byte but for the line
    /// folding of the RFC's layout.
    #[test]
    fn rfc7616_section_3_9_1_headers() {
        let credentials = Credentials::new("Mufasa", "Circle of Life");
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        for (algorithm, response) in [
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
            ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
        ] {
            let value =
                rfc_challenge(algorithm).answer_with_cnonce(&credentials, &Method::GET, "/dir/index.html", cnonce);
            let expected = format!(
                r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm={algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="{cnonce}", qop=auth, response="{response}", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#
            );
            assert_eq!(value.to_str().unwrap(), expected);
            assert!(value.is_sensitive());
        }
    }

    #[test]
    fn nc_counts_per_nonce_and_cnonce_is_fresh() {
        let mut auth = rfc_challenge("SHA-256");
        let credentials = Credentials::new("Mufasa", "Circle of Life");
        let mut rng = Rng::seeded(5);
        let sent: Vec<Challenge> = (0..3)
            .map(|_| Challenge::parse_credentials(&auth.answer(&credentials, &Method::GET, "/", &mut rng)).unwrap())
            .collect();
        let ncs: Vec<_> = sent.iter().map(|c| c.param("nc").unwrap()).collect();
        assert_eq!(ncs, ["00000001", "00000002", "00000003"]);
        assert_ne!(sent[0].param("cnonce"), sent[1].param("cnonce"));
        assert_ne!(sent[0].param("response"), sent[1].param("response"));
        assert!(sent.iter().all(|c| c.param("cnonce").unwrap().bytes().all(|b| b.is_ascii_hexdigit())));
    }

    #[test]
    fn rfc2069_form_without_qop() {
        let mut auth = ClientAuth::new(&parse(r#"Digest realm="r", nonce="n""#)[0]).unwrap();
        let value = auth.answer_with_cnonce(&Credentials::new("u", "p"), &Method::GET, "/x", "c");
        // The response computed independently (Python hashlib): MD5 of H(A1):nonce:H(A2).
        assert_eq!(
            value.to_str().unwrap(),
            r#"Digest username="u", realm="r", uri="/x", nonce="n", response="3042aef13752cb1d63f6787a080ffdfc""#
        );
    }

    #[test]
    fn auth_int_only_hashes_the_empty_body() {
        let mut auth = ClientAuth::new(&parse(r#"Digest realm="r", nonce="n", qop="auth-int""#)[0]).unwrap();
        auth.answer_with_cnonce(&Credentials::new("u", "p"), &Method::GET, "/x", "c");
        let value = auth.answer_with_cnonce(&Credentials::new("u", "p"), &Method::GET, "/x", "c");
        let sent = Challenge::parse_credentials(&value).unwrap();
        assert_eq!(sent.param("qop"), Some("auth-int"));
        assert_eq!(sent.param("nc"), Some("00000002"));
        // Python hashlib, from RFC 7616 section 3.4.3's A2 with H(entity-body) = H("").
        assert_eq!(sent.param("response"), Some("a6257b504593c7e59e6a3c8fd833cc0f"));
    }

    #[test]
    fn userhash_and_username_star() {
        // RFC 7616 section 3.9.2's user, realm and nonce, answered with SHA-256: the RFC's own
        // values are for SHA-512-256 (and wrong, erratum 4897). The hashes below were computed
        // independently with Python's hashlib.
        let header = r#"Digest realm="api@example.org", qop="auth", algorithm=SHA-256, nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8"#;
        let credentials = Credentials::new("J\u{e4}s\u{f8}n Doe", "Secret, or not?");
        let cnonce = "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v";
        let response = "b6d5cb9c3000ea2385250005e294d7132b260b8fd08940d2377373493cee8cc4";

        let hashed = format!("{header}, userhash=true");
        let mut auth = ClientAuth::new(&parse(&hashed)[0]).unwrap();
        let sent =
            Challenge::parse_credentials(&auth.answer_with_cnonce(&credentials, &Method::GET, "/doe.json", cnonce))
                .unwrap();
        assert_eq!(sent.param("username"), Some("5a1a8a47df5c298551b9b42ba9b05835174a5bd7d511ff7fe9191d8e946fc4e7"));
        assert_eq!(sent.param("userhash"), Some("true"));
        assert_eq!(sent.param("username*"), None);
        // The response is over the clear user name either way (section 3.4.4).
        assert_eq!(sent.param("response"), Some(response));

        let mut auth = ClientAuth::new(&parse(header)[0]).unwrap();
        let value = auth.answer_with_cnonce(&credentials, &Method::GET, "/doe.json", cnonce);
        assert!(value.to_str().unwrap().starts_with("Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm="));
        let sent = Challenge::parse_credentials(&value).unwrap();
        assert_eq!(sent.param("username"), None);
        assert_eq!(sent.param("userhash"), None);
        assert_eq!(sent.param("response"), Some(response));
    }

    #[test]
    fn quoting_of_hostile_values() {
        let header = r#"Digest realm="a\"b\\c", nonce="n\"", opaque="o,\"p", qop=auth"#;
        let mut auth = ClientAuth::new(&parse(header)[0]).unwrap();
        let credentials = Credentials::new(r#"us"er\"#, "p");
        let value = auth.answer(&credentials, &Method::GET, "/a\"b\r\n", &mut Rng::seeded(1));
        let sent = Challenge::parse_credentials(&value).unwrap();
        assert_eq!(sent.param("realm"), Some(r#"a"b\c"#));
        assert_eq!(sent.param("nonce"), Some("n\""));
        assert_eq!(sent.param("opaque"), Some(r#"o,"p"#));
        assert_eq!(sent.param("username"), Some(r#"us"er\"#));
        assert_eq!(sent.param("uri"), Some("/a\"b%0D%0A"));
    }

    #[test]
    fn basic_answers_ignore_the_request() {
        let mut auth = ClientAuth::new(&parse("Basic realm=x")[0]).unwrap();
        let value = auth.answer(&Credentials::new("Aladdin", "open sesame"), &Method::GET, "/", &mut Rng::seeded(1));
        assert_eq!(value, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert!(value.is_sensitive());
        assert_eq!(auth.digest_algorithm(), None);
    }

    #[test]
    fn choose_ranks_and_keeps_server_order() {
        let pick = |value: &str| {
            let challenges = parse(value);
            choose(&challenges).map(|c| (c.scheme().clone(), c.param("nonce").map(str::to_owned)))
        };
        let digest = |nonce: &str| Some((Scheme::Digest, Some(nonce.to_owned())));
        assert_eq!(pick("Negotiate, NTLM, Basic realm=x"), Some((Scheme::Basic, None)));
        assert_eq!(pick("Basic realm=x, Digest realm=x, nonce=md5"), digest("md5"));
        assert_eq!(
            pick(
                "Digest realm=x, nonce=md5, algorithm=MD5-sess, qop=auth, Digest realm=x, nonce=sha, algorithm=SHA-256"
            ),
            digest("sha")
        );
        assert_eq!(
            pick(
                "Digest realm=x, nonce=a, algorithm=SHA-256, Digest realm=x, nonce=b, algorithm=SHA-256-sess, qop=auth"
            ),
            digest("a"),
            "the first of equals"
        );
        assert_eq!(
            pick("Digest realm=x, nonce=u, algorithm=SHA-512-256, Digest realm=x, nonce=m, Basic realm=x"),
            digest("m"),
            "unknown algorithms are skipped"
        );
        assert_eq!(pick("Digest realm=x, nonce=i, qop=\"auth-conf\", Basic realm=x"), Some((Scheme::Basic, None)));
        assert_eq!(pick("Negotiate abc==, Bearer realm=x"), None);
        assert_eq!(pick(""), None);
    }

    #[test]
    fn renew_stale_rules() {
        let mut auth = ClientAuth::new(&parse(r#"Digest realm="r", nonce="1", qop=auth, algorithm=MD5"#)[0]).unwrap();
        let mut basic = ClientAuth::new(&parse("Basic realm=r")[0]).unwrap();
        assert!(!basic.renew_stale(&parse("Digest realm=r, nonce=2, stale=true")));
        assert!(!auth.renew_stale(&parse("Digest realm=r, nonce=1, stale=true")), "same nonce");
        assert!(!auth.renew_stale(&parse("Digest realm=other, nonce=2, stale=true")), "another realm");
        assert!(!auth.renew_stale(&parse("Digest realm=r, nonce=2, stale=false")));
        assert!(!auth.renew_stale(&parse("Digest realm=r, nonce=2, stale=true, algorithm=SHA-3")));
        assert!(!auth.renew_stale(&parse("Basic realm=r, stale=true")));
        // The same algorithm is preferred over a stronger one; then the strongest.
        let offers = "Digest realm=r, nonce=s, stale=true, algorithm=SHA-256, Digest realm=r, nonce=m, stale=true";
        let before = auth.clone();
        assert!(auth.renew_stale(&parse(offers)));
        assert_ne!(auth, before);
        assert_eq!(auth.digest_algorithm(), Some(DigestAlgorithm::Md5));
        let sent =
            Challenge::parse_credentials(&auth.answer_with_cnonce(&Credentials::new("u", "p"), &Method::GET, "/", "c"))
                .unwrap();
        assert_eq!(sent.param("nonce"), Some("m"));
        assert_eq!(sent.param("qop"), None, "the new challenge's qop (none) is used");
        let offers = "Digest realm=r, nonce=x, stale=true, algorithm=MD5-sess, qop=auth, Digest realm=r, nonce=y, stale=true, algorithm=SHA-256";
        assert!(auth.renew_stale(&parse(offers)));
        assert_eq!(auth.digest_algorithm(), Some(DigestAlgorithm::Sha256), "MD5-sess is another algorithm than MD5");
        let mut sha = ClientAuth::new(&parse("Digest realm=r, nonce=1, algorithm=SHA-256-sess, qop=auth")[0]).unwrap();
        let offers = "Digest realm=r, nonce=x, stale=true, algorithm=MD5, Digest realm=r, nonce=y, stale=true, algorithm=SHA-256";
        assert!(sha.renew_stale(&parse(offers)));
        assert_eq!(sha.digest_algorithm(), Some(DigestAlgorithm::Sha256), "the strongest when none matches");
    }
}
