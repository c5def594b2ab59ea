//! The server side: challenges, and the check of a client's `Authorization`.

use super::basic;
use super::challenge::{Challenge, Scheme};
use super::digest::{constant_time_eq, decode_ext_value, push_quoted, DigestAlgorithm, Qop, ResponseInput};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, Method};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

/// How long a Digest nonce is good for, by default: five minutes (see
/// [`ServerAuth::with_nonce_lifetime`]).
///
/// ```
/// use laputa_core::auth::{basic, Challenge, ClientAuth, Credentials, ServerAuth, Verdict, DEFAULT_NONCE_LIFETIME_SECS};
/// use laputa_core::http::header::AUTHORIZATION;
/// use laputa_core::http::{HeaderMap, Method};
/// use laputa_core::Rng;
///
/// let server = ServerAuth::digest("chat", &[7; 32]);
/// let mut client = ClientAuth::new(&Challenge::parse_all(&server.challenge(0, false))[0]).unwrap();
/// let mut headers = HeaderMap::new();
/// let value = client.answer(&Credentials::new("u", "p"), &Method::GET, "/", &mut Rng::seeded(1));
/// headers.insert(AUTHORIZATION, value);
/// let late = server.verify(&headers, &Method::GET, "/", DEFAULT_NONCE_LIFETIME_SECS + 1, |_| Some("p".into()));
/// assert_eq!(late, Verdict::Challenge { stale: true });
/// ```
pub const DEFAULT_NONCE_LIFETIME_SECS: u64 = 300;

/// How many (nonce, client nonce) pairs the replay check remembers.
const REPLAY_CAPACITY: usize = 4096;

/// A client nonce longer than this is refused as a bad request (ours are 32 bytes, RFC 7616's
/// example 44); it bounds what the replay check stores.
const MAX_CNONCE_LEN: usize = 256;

/// The algorithms a Digest server offers, in order of preference: SHA-256, which RFC 7616 makes
/// mandatory, then MD5 for older clients (RFC 7616 section 3.7's example offers the same two).
const OFFERED: [DigestAlgorithm; 2] = [DigestAlgorithm::Sha256, DigestAlgorithm::Md5];

/// What [`ServerAuth::verify`] decided about a request.
///
/// ```
/// use laputa_core::auth::{ServerAuth, Verdict};
/// use laputa_core::http::{HeaderMap, Method};
///
/// let auth = ServerAuth::basic("chat");
/// let verdict = auth.verify(&HeaderMap::new(), &Method::GET, "/", 0, |_| None);
/// assert_eq!(verdict, Verdict::Challenge { stale: false });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The credentials are good: serve the request as this user.
    Authenticated {
        /// The user name the client sent.
        user: String,
    },
    /// No credentials, or ones that are refused: answer `401 Unauthorized` with
    /// [`ServerAuth::challenge`]`(now, stale)`. `stale` is true when the client knows the
    /// password but its nonce has expired, so that it retries without asking its user.
    Challenge {
        /// Whether the challenge says `stale=true`.
        stale: bool,
    },
    /// The `Authorization` header is malformed (several of them, a broken grammar, a Digest
    /// answer without a required parameter, or for another URI): answer `400 Bad Request`.
    BadRequest,
}

/// A server's HTTP authentication, Basic or Digest, for one realm (websocket-sharp's
/// `AuthenticationSchemes` with `Realm` and `UserCredentialsFinder`).
///
/// Stateless Digest nonces: a nonce is the base64 of the time it was issued (seconds, given by
/// the caller) and an HMAC-SHA-256, under the server's secret, of that time and the realm. The
/// server keeps no table of issued nonces; it checks the HMAC and the age of what comes back.
/// A nonce older than the lifetime (five minutes by default) with an otherwise correct answer
/// gets `stale=true`.
///
/// Replays: a bounded table remembers, for each (nonce, client nonce) pair used, the highest
/// `nc` seen, and refuses one that does not increase (RFC 7616 section 3.4: the server can
/// "detect request replays by maintaining its own copy of this count"). It holds 4096 pairs;
/// when full, expired pairs go first, then the oldest, and every nonce issued at or before an
/// evicted one is treated as stale unless its pair is still known: its client gets a new nonce
/// and retries once, and a captured answer cannot be replayed after its pair was forgotten.
/// The table sits behind a mutex, so one `ServerAuth` can be shared by every connection (in an
/// `Arc`); it only changes after a correct answer, so unauthenticated clients cannot fill it.
///
/// ```
/// use laputa_core::auth::{choose, Challenge, ClientAuth, Credentials, ServerAuth, Verdict};
/// use laputa_core::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
/// use laputa_core::http::{HeaderMap, Method};
/// use laputa_core::Rng;
///
/// let server = ServerAuth::digest("chat", b"a secret of 32 random bytes.....");
/// let password = |user: &str| (user == "alice").then(|| "wonderland".to_owned());
/// let now = 1_700_000_000;
///
/// // The client asks without credentials and gets a 401 with two challenges.
/// let verdict = server.verify(&HeaderMap::new(), &Method::GET, "/chat", now, password);
/// assert_eq!(verdict, Verdict::Challenge { stale: false });
/// let challenge_lines = server.challenge(now, false);
/// assert_eq!(challenge_lines.len(), 2, "SHA-256, then MD5");
///
/// // The client chooses, answers, and is let in.
/// let challenges = Challenge::parse_all(&challenge_lines);
/// let mut client = ClientAuth::new(choose(&challenges).unwrap()).unwrap();
/// let mut request = HeaderMap::new();
/// let credentials = Credentials::new("alice", "wonderland");
/// request.insert(AUTHORIZATION, client.answer(&credentials, &Method::GET, "/chat", &mut Rng::seeded(1)));
/// let verdict = server.verify(&request, &Method::GET, "/chat", now + 1, password);
/// assert_eq!(verdict, Verdict::Authenticated { user: "alice".into() });
///
/// // The same header again is a replay.
/// let verdict = server.verify(&request, &Method::GET, "/chat", now + 2, password);
/// assert_eq!(verdict, Verdict::Challenge { stale: false });
/// ```
pub struct ServerAuth {
    realm: String,
    /// Whether Basic is offered (and accepted).
    basic: bool,
    digest: Option<DigestServer>,
}

/// What a server knows of a user's secret, to check what the client sends: the password, or
/// only the Digest hashes `H(username:realm:password)` (`HA1`, RFC 7616 section 3.4.2) for MD5
/// and SHA-256, so that no password is stored. Hashes serve Basic too: the password a Basic
/// client sends is hashed the same way (SHA-256) and compared in constant time. `Debug` prints
/// neither.
///
/// ```
/// use laputa_core::auth::{digest_ha1, DigestAlgorithm, Secret};
///
/// let md5 = digest_ha1(DigestAlgorithm::Md5, "alice", "chat", "wonderland");
/// let sha256 = digest_ha1(DigestAlgorithm::Sha256, "alice", "chat", "wonderland");
/// let stored = Secret::digest_hashes(md5, sha256);
/// assert_eq!(format!("{stored:?}"), "Secret::DigestHashes(<redacted>)");
/// assert_eq!(format!("{:?}", Secret::password("wonderland")), "Secret::Password(<redacted>)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(SecretKind);

#[derive(Clone, PartialEq, Eq)]
enum SecretKind {
    Password(String),
    /// Lower-case hex of `HA1` for MD5 and for SHA-256.
    Hashes {
        md5: String,
        sha256: String,
    },
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            SecretKind::Password(_) => f.write_str("Secret::Password(<redacted>)"),
            SecretKind::Hashes { .. } => f.write_str("Secret::DigestHashes(<redacted>)"),
        }
    }
}

impl Secret {
    /// The user's password.
    ///
    /// ```
    /// use laputa_core::auth::Secret;
    ///
    /// let secret = Secret::password("wonderland");
    /// assert_eq!(secret, Secret::password(String::from("wonderland")));
    /// ```
    pub fn password(password: impl Into<String>) -> Self {
        Self(SecretKind::Password(password.into()))
    }

    /// The hashes `H(username:realm:password)` in hex, for MD5 and SHA-256 (see
    /// [`digest_ha1`]); upper-case hex is accepted. They hold for one realm: a server whose
    /// realm changes needs new ones.
    ///
    /// ```
    /// use laputa_core::auth::{digest_ha1, DigestAlgorithm, Secret};
    ///
    /// // RFC 7616 section 3.9.1's user "Mufasa", password "Circle of Life", realm
    /// // "http-auth@example.org", hashed once and stored.
    /// let secret = Secret::digest_hashes(
    ///     "3d78807defe7de2157e2b0b6573a855f",
    ///     "7987C64C30E25F1B74BE53F966B49B90F2808AA92FAF9A00262392D7B4794232",
    /// );
    /// let sha256 = digest_ha1(DigestAlgorithm::Sha256, "Mufasa", "http-auth@example.org", "Circle of Life");
    /// let md5 = digest_ha1(DigestAlgorithm::Md5, "Mufasa", "http-auth@example.org", "Circle of Life");
    /// assert_eq!(secret, Secret::digest_hashes(md5, sha256));
    /// ```
    pub fn digest_hashes(md5_hex: impl Into<String>, sha256_hex: impl Into<String>) -> Self {
        let lower = |hex: String| hex.to_ascii_lowercase();
        Self(SecretKind::Hashes { md5: lower(md5_hex.into()), sha256: lower(sha256_hex.into()) })
    }

    /// Whether `sent`, a password from a Basic client, is this one (constant time).
    fn matches_password(&self, user: &str, realm: &str, sent: &str) -> bool {
        match &self.0 {
            SecretKind::Password(password) => constant_time_eq(password.as_bytes(), sent.as_bytes()),
            SecretKind::Hashes { sha256, .. } => {
                let hashed = digest_ha1(DigestAlgorithm::Sha256, user, realm, sent);
                constant_time_eq(hashed.as_bytes(), sha256.as_bytes())
            }
        }
    }

    /// `HA1` for `algorithm` (MD5 or SHA-256, the ones offered).
    fn ha1(&self, algorithm: DigestAlgorithm, user: &str, realm: &str) -> String {
        match &self.0 {
            SecretKind::Password(password) => digest_ha1(algorithm, user, realm, password),
            SecretKind::Hashes { md5, sha256 } => match algorithm {
                DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => md5.clone(),
                DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => sha256.clone(),
            },
        }
    }
}

/// `H(username:realm:password)` in lower-case hex: the `HA1` of RFC 7616 section 3.4.2 that a
/// server may store instead of the password ([`Secret::digest_hashes`]). The realm is the one
/// [`ServerAuth::realm`] sends.
///
/// ```
/// use laputa_core::auth::{digest_ha1, DigestAlgorithm};
///
/// // RFC 2617 section 3.5's example: "Mufasa", "testrealm@host.com", "Circle Of Life".
/// let ha1 = digest_ha1(DigestAlgorithm::Md5, "Mufasa", "testrealm@host.com", "Circle Of Life");
/// assert_eq!(ha1, "939e7578ed9e3c518a452acee763bce9");
/// ```
pub fn digest_ha1(algorithm: DigestAlgorithm, user: &str, realm: &str, password: &str) -> String {
    algorithm.h(&[user.as_bytes(), realm.as_bytes(), password.as_bytes()])
}

struct DigestServer {
    /// The HMAC key.
    secret: Box<[u8]>,
    opaque: String,
    lifetime: u64,
    replay: Mutex<Replay>,
}

/// The replay check's memory (see [`ServerAuth`]).
struct Replay {
    /// The highest `nc` seen per (nonce, client nonce), with the nonce's issue time.
    seen: HashMap<(String, String), (u32, u64)>,
    /// Nonces issued at or before this time whose pair is not in `seen` are stale: some pair of
    /// that age was forgotten.
    floor: Option<u64>,
    capacity: usize,
}

impl fmt::Debug for ServerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("ServerAuth");
        s.field("realm", &self.realm);
        if self.basic {
            s.field("basic", &true);
        }
        if let Some(digest) = &self.digest {
            s.field("digest", &true).field("nonce_lifetime", &digest.lifetime);
        }
        s.finish_non_exhaustive()
    }
}

impl ServerAuth {
    /// Basic authentication (RFC 7617) for `realm`. Control characters in `realm` are replaced
    /// with spaces, so that it fits in a header.
    ///
    /// ```
    /// use laputa_core::auth::ServerAuth;
    ///
    /// let auth = ServerAuth::basic("chat");
    /// assert_eq!(auth.challenge(0, false), ["Basic realm=\"chat\", charset=\"UTF-8\""]);
    /// ```
    pub fn basic(realm: &str) -> Self {
        Self { realm: clean_realm(realm), basic: true, digest: None }
    }

    /// Digest authentication (RFC 7616) for `realm`, with nonces authenticated by `secret`.
    /// Control characters in `realm` are replaced with spaces.
    ///
    /// `secret` should be 32 random bytes, kept for as long as nonces must stay valid (servers
    /// that share it accept each other's nonces); anyone who knows it can mint nonces.
    ///
    /// ```
    /// use laputa_core::auth::ServerAuth;
    ///
    /// let auth = ServerAuth::digest("chat", &[7; 32]);
    /// let lines = auth.challenge(1_700_000_000, false);
    /// assert!(lines[0].to_str()?.starts_with(r#"Digest realm="chat", qop="auth", algorithm=SHA-256, nonce=""#));
    /// assert!(lines[1].to_str()?.contains("algorithm=MD5,"));
    /// # Ok::<(), laputa_core::http::header::ToStrError>(())
    /// ```
    pub fn digest(realm: &str, secret: &[u8]) -> Self {
        let realm = clean_realm(realm);
        let opaque = URL_SAFE_NO_PAD.encode(&hmac_sha256(secret, &[b"opaque", realm.as_bytes()])[..16]);
        let replay = Replay { seen: HashMap::new(), floor: None, capacity: REPLAY_CAPACITY };
        let digest = DigestServer {
            secret: secret.into(),
            opaque,
            lifetime: DEFAULT_NONCE_LIFETIME_SECS,
            replay: Mutex::new(replay),
        };
        Self { realm, basic: false, digest: Some(digest) }
    }

    /// Digest (as [`digest`](Self::digest)) and Basic offered together: the `401` carries the
    /// two Digest challenges and then a Basic one, as separate `WWW-Authenticate` values, so
    /// that each client answers the strongest scheme it speaks; either answer is checked.
    ///
    /// Basic sends the password itself (in base64): offer it only over TLS.
    ///
    /// ```
    /// use laputa_core::auth::{choose, Challenge, ServerAuth, Scheme};
    ///
    /// let auth = ServerAuth::basic_and_digest("chat", &[7; 32]);
    /// let challenges = Challenge::parse_all(&auth.challenge(0, false));
    /// let schemes: Vec<_> = challenges.iter().map(|c| c.scheme().name().to_owned()).collect();
    /// assert_eq!(schemes, ["Digest", "Digest", "Basic"]);
    /// assert_eq!(choose(&challenges).map(Challenge::scheme), Some(&Scheme::Digest));
    /// ```
    pub fn basic_and_digest(realm: &str, secret: &[u8]) -> Self {
        Self { basic: true, ..Self::digest(realm, secret) }
    }

    /// [`digest`](Self::digest) with a secret of 32 bytes from the operating system's CSPRNG:
    /// for one server whose nonces need not outlive it (after a restart, every nonce issued
    /// before is refused and its client gets a new challenge). Servers behind one load
    /// balancer share a secret instead.
    ///
    /// ```
    /// use laputa_core::auth::ServerAuth;
    ///
    /// let (a, b) = (ServerAuth::digest_with_os_key("chat"), ServerAuth::digest_with_os_key("chat"));
    /// assert_ne!(a.challenge(0, false), b.challenge(0, false), "each has its own key");
    /// ```
    pub fn digest_with_os_key(realm: &str) -> Self {
        Self::digest(realm, &os_key())
    }

    /// [`basic_and_digest`](Self::basic_and_digest) with a secret from the operating system's
    /// CSPRNG, as [`digest_with_os_key`](Self::digest_with_os_key).
    ///
    /// ```
    /// let auth = laputa_core::auth::ServerAuth::basic_and_digest_with_os_key("chat");
    /// assert_eq!(auth.challenge(0, false).len(), 3);
    /// ```
    pub fn basic_and_digest_with_os_key(realm: &str) -> Self {
        Self::basic_and_digest(realm, &os_key())
    }

    /// Sets how many seconds a Digest nonce stays valid (default
    /// [`DEFAULT_NONCE_LIFETIME_SECS`]); no effect on Basic.
    ///
    /// ```
    /// use laputa_core::auth::ServerAuth;
    ///
    /// let auth = ServerAuth::digest("chat", &[7; 32]).with_nonce_lifetime(60);
    /// assert!(format!("{auth:?}").contains("nonce_lifetime: 60"));
    /// ```
    #[must_use]
    pub fn with_nonce_lifetime(mut self, secs: u64) -> Self {
        if let Some(digest) = &mut self.digest {
            digest.lifetime = secs;
        }
        self
    }

    /// The realm, as sent in challenges.
    ///
    /// ```
    /// use laputa_core::auth::ServerAuth;
    ///
    /// assert_eq!(ServerAuth::basic("a\r\nb").realm(), "a  b");
    /// ```
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The `WWW-Authenticate` values of a `401` at time `now_secs` (seconds since any fixed
    /// epoch, the same for [`verify`](Self::verify)), with `stale=true` if `stale`.
    ///
    /// Basic: one challenge with the realm and `charset="UTF-8"` (RFC 7617 section 2.1). Digest:
    /// one for SHA-256 and one for MD5, each with `qop="auth"`, a fresh nonce, the `opaque` value
    /// and `charset=UTF-8`. Both ([`basic_and_digest`](Self::basic_and_digest)): the Digest
    /// ones, then the Basic one (which has no `stale`).
    ///
    /// ```
    /// use laputa_core::auth::{Challenge, ServerAuth};
    ///
    /// let auth = ServerAuth::digest("chat", &[7; 32]);
    /// let challenges = Challenge::parse_all(&auth.challenge(100, true));
    /// assert_eq!(challenges[0].param("algorithm"), Some("SHA-256"));
    /// assert_eq!(challenges[1].param("algorithm"), Some("MD5"));
    /// assert!(challenges.iter().all(|c| c.param("stale") == Some("true") && c.realm() == Some("chat")));
    /// // The nonce depends on the time only, so the server needs no table of them.
    /// assert_eq!(Challenge::parse_all(&auth.challenge(100, true))[0].param("nonce"), challenges[0].param("nonce"));
    /// ```
    pub fn challenge(&self, now_secs: u64, stale: bool) -> Vec<HeaderValue> {
        let mut realm = String::new();
        push_quoted(&mut realm, &self.realm);
        let basic = self.basic.then(|| header_value(format!("Basic realm={realm}, charset=\"UTF-8\"")));
        let Some(digest) = &self.digest else { return basic.into_iter().collect() };
        let nonce = digest.nonce(&self.realm, now_secs);
        OFFERED
            .iter()
            .map(|algorithm| {
                let mut value = format!(
                    "Digest realm={realm}, qop=\"auth\", algorithm={}, nonce=\"{nonce}\", opaque=\"{}\", charset=UTF-8",
                    algorithm.name(),
                    digest.opaque
                );
                if stale {
                    value.push_str(", stale=true");
                }
                header_value(value)
            })
            .chain(basic)
            .collect()
    }

    /// Checks the `Authorization` header of a request with `method` to the request target
    /// `uri` (as it appears in the request line), at time `now_secs`. `password` gives a user's
    /// password, or `None` for an unknown user; it is called at most once, and an unknown user
    /// costs the same hashing as a known one.
    ///
    /// Basic: the decoded user and password must match. Digest: the realm, `opaque` and the
    /// nonce's HMAC must be ours, `qop=auth`, the algorithm one of those offered, the `uri` equal
    /// to `uri` (RFC 7616 section 3.4.6 has the server check that they identify the same
    /// resource; a mismatch is a bad request), the `response` correct (compared in constant
    /// time), the nonce within its lifetime (else `stale`), and `nc` above any seen for the same
    /// nonce and client nonce (see [`ServerAuth`] on replays). A user name sent hashed
    /// (`userhash=true`) is refused: this server does not offer it. `username*` (RFC 8187) is
    /// decoded.
    ///
    /// ```
    /// use laputa_core::auth::{basic, Credentials, ServerAuth, Verdict};
    /// use laputa_core::http::header::AUTHORIZATION;
    /// use laputa_core::http::{HeaderMap, HeaderValue, Method};
    ///
    /// let auth = ServerAuth::basic("chat");
    /// let password = |user: &str| (user == "Aladdin").then(|| "open sesame".to_owned());
    /// let mut headers = HeaderMap::new();
    /// headers.insert(AUTHORIZATION, basic(&Credentials::new("Aladdin", "open sesame")));
    /// let verdict = auth.verify(&headers, &Method::GET, "/", 0, password);
    /// assert_eq!(verdict, Verdict::Authenticated { user: "Aladdin".into() });
    ///
    /// headers.insert(AUTHORIZATION, basic(&Credentials::new("Aladdin", "open says me")));
    /// assert_eq!(auth.verify(&headers, &Method::GET, "/", 0, password), Verdict::Challenge { stale: false });
    /// headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic !!"));
    /// assert_eq!(auth.verify(&headers, &Method::GET, "/", 0, password), Verdict::BadRequest);
    /// ```
    pub fn verify(
        &self,
        headers: &HeaderMap,
        method: &Method,
        uri: &str,
        now_secs: u64,
        password: impl FnOnce(&str) -> Option<String>,
    ) -> Verdict {
        self.verify_secret(headers, method, uri, now_secs, |user| password(user).map(Secret::password))
    }

    /// [`verify`](Self::verify) with the user's [`Secret`]: a password, or Digest hashes
    /// computed beforehand. `find` is called at most once; an unknown user (`None`) costs the
    /// same hashing as a known one.
    ///
    /// ```
    /// use laputa_core::auth::{basic, digest_ha1, Credentials, DigestAlgorithm, Secret, ServerAuth, Verdict};
    /// use laputa_core::http::header::AUTHORIZATION;
    /// use laputa_core::http::{HeaderMap, Method};
    ///
    /// let auth = ServerAuth::basic_and_digest("chat", &[7; 32]);
    /// // Only hashes are stored.
    /// let stored = Secret::digest_hashes(
    ///     digest_ha1(DigestAlgorithm::Md5, "alice", "chat", "wonderland"),
    ///     digest_ha1(DigestAlgorithm::Sha256, "alice", "chat", "wonderland"),
    /// );
    /// let find = |user: &str| (user == "alice").then(|| stored.clone());
    /// let mut headers = HeaderMap::new();
    /// headers.insert(AUTHORIZATION, basic(&Credentials::new("alice", "wonderland")));
    /// let verdict = auth.verify_secret(&headers, &Method::GET, "/", 0, find);
    /// assert_eq!(verdict, Verdict::Authenticated { user: "alice".into() });
    /// ```
    pub fn verify_secret(
        &self,
        headers: &HeaderMap,
        method: &Method,
        uri: &str,
        now_secs: u64,
        find: impl FnOnce(&str) -> Option<Secret>,
    ) -> Verdict {
        let mut values = headers.get_all(AUTHORIZATION).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return if headers.contains_key(AUTHORIZATION) {
                Verdict::BadRequest
            } else {
                Verdict::Challenge { stale: false }
            };
        };
        let Some(credentials) = Challenge::parse_credentials(value) else { return Verdict::BadRequest };
        match (&self.digest, credentials.scheme()) {
            (_, Scheme::Basic) if self.basic => verify_basic(&self.realm, &credentials, find),
            (Some(digest), Scheme::Digest) => digest.verify(&self.realm, &credentials, method, uri, now_secs, find),
            _ => Verdict::Challenge { stale: false },
        }
    }
}

/// 32 bytes from the operating system's CSPRNG.
fn os_key() -> [u8; 32] {
    let mut key = [0; 32];
    crate::Rng::os().fill(&mut key);
    key
}

fn verify_basic(realm: &str, credentials: &Challenge, find: impl FnOnce(&str) -> Option<Secret>) -> Verdict {
    let Some((user, sent)) = credentials.token68().and_then(basic::decode) else { return Verdict::BadRequest };
    let known = find(&user);
    // An unknown user is compared with an empty password, so that it costs the same.
    let unknown = Secret::password("");
    let matches = known.as_ref().unwrap_or(&unknown).matches_password(&user, realm, &sent);
    if known.is_some() && matches {
        Verdict::Authenticated { user }
    } else {
        Verdict::Challenge { stale: false }
    }
}

impl DigestServer {
    /// A nonce: the issue time and its HMAC, in URL-safe base64 (54 characters).
    fn nonce(&self, realm: &str, issued: u64) -> String {
        let mut raw = [0u8; 40];
        raw[..8].copy_from_slice(&issued.to_be_bytes());
        raw[8..].copy_from_slice(&self.nonce_mac(realm, issued));
        URL_SAFE_NO_PAD.encode(raw)
    }

    fn nonce_mac(&self, realm: &str, issued: u64) -> [u8; 32] {
        hmac_sha256(&self.secret, &[b"nonce", &issued.to_be_bytes(), realm.as_bytes()])
    }

    /// The issue time of a nonce this server made; `None` for any other string.
    fn nonce_issued(&self, realm: &str, nonce: &str) -> Option<u64> {
        let raw = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        let (issued, mac) = raw.split_first_chunk::<8>()?;
        let issued = u64::from_be_bytes(*issued);
        constant_time_eq(mac, &self.nonce_mac(realm, issued)).then_some(issued)
    }

    fn verify(
        &self,
        realm: &str,
        credentials: &Challenge,
        method: &Method,
        uri: &str,
        now: u64,
        find: impl FnOnce(&str) -> Option<Secret>,
    ) -> Verdict {
        let refused = Verdict::Challenge { stale: false };
        let param = |name| credentials.param(name);
        // RFC 7616 section 3.4.4: "Sending the username* parameter with the username parameter
        // MUST be considered as invalid."
        let user = match (param("username"), param("username*")) {
            (Some(user), None) => user.to_owned(),
            (None, Some(ext)) => match decode_ext_value(ext) {
                Some(user) => user,
                None => return Verdict::BadRequest,
            },
            _ => return Verdict::BadRequest,
        };
        let (Some(sent_realm), Some(nonce), Some(sent_uri), Some(response)) =
            (param("realm"), param("nonce"), param("uri"), param("response"))
        else {
            return Verdict::BadRequest;
        };
        // We offer qop="auth", so RFC 7616 section 3.4 has the client send qop, cnonce and nc.
        let (Some(qop), Some(cnonce), Some(nc)) = (param("qop"), param("cnonce"), param("nc")) else {
            return Verdict::BadRequest;
        };
        // RFC 7616 section 3.4: "The nc value is the hexadecimal count", 8 digits.
        let nc = match u32::from_str_radix(nc, 16) {
            Ok(nc)
                if nc > 0 && param("nc").is_some_and(|s| s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit())) =>
            {
                nc
            }
            _ => return Verdict::BadRequest,
        };
        if cnonce.len() > MAX_CNONCE_LEN {
            return Verdict::BadRequest;
        }
        if sent_uri != uri {
            return Verdict::BadRequest;
        }
        let algorithm = match param("algorithm") {
            None => Some(DigestAlgorithm::Md5),
            Some(name) => DigestAlgorithm::from_name(name).filter(|a| OFFERED.contains(a)),
        };
        let hashed_user = param("userhash").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let (Some(algorithm), true, false) = (algorithm, qop.eq_ignore_ascii_case("auth"), hashed_user) else {
            return refused;
        };
        if sent_realm != realm
            || !param("opaque").is_some_and(|o| constant_time_eq(o.as_bytes(), self.opaque.as_bytes()))
        {
            return refused;
        }
        let Some(issued) = self.nonce_issued(realm, nonce) else { return refused };

        let known = find(&user);
        // An unknown user is hashed with an empty password, so that it costs the same.
        let ha1 = known.as_ref().unwrap_or(&Secret::password("")).ha1(algorithm, &user, realm);
        let expected = ResponseInput {
            algorithm,
            user: &user,
            realm,
            password: "",
            nonce,
            protection: Some((param("nc").unwrap_or_default(), cnonce, Qop::Auth)),
            method: method.as_str(),
            uri,
        }
        .response_with_ha1(ha1);
        if !(constant_time_eq(expected.as_bytes(), response.to_ascii_lowercase().as_bytes()) && known.is_some()) {
            return refused;
        }
        // RFC 7616 section 3.3: "The server SHOULD only set stale to true if it receives a
        // request for which the nonce is invalid." The answer is right: only the nonce is old.
        if now.saturating_sub(issued) > self.lifetime {
            return Verdict::Challenge { stale: true };
        }
        let mut replay = self.replay.lock().unwrap_or_else(PoisonError::into_inner);
        match replay.check(nonce, cnonce, nc, issued, now, self.lifetime) {
            Some(verdict) => verdict,
            None => Verdict::Authenticated { user },
        }
    }
}

impl Replay {
    /// `None` if `nc` is new for the pair (and now remembered), else the verdict to give.
    fn check(&mut self, nonce: &str, cnonce: &str, nc: u32, issued: u64, now: u64, lifetime: u64) -> Option<Verdict> {
        let key = (nonce.to_owned(), cnonce.to_owned());
        if let Some((highest, _)) = self.seen.get_mut(&key) {
            if nc <= *highest {
                return Some(Verdict::Challenge { stale: false });
            }
            *highest = nc;
            return None;
        }
        let forgotten = |floor: Option<u64>| floor.is_some_and(|floor| issued <= floor);
        if forgotten(self.floor) {
            return Some(Verdict::Challenge { stale: true });
        }
        if self.seen.len() >= self.capacity {
            self.seen.retain(|_, (_, issued)| now.saturating_sub(*issued) <= lifetime);
            if self.seen.len() >= self.capacity {
                let oldest = self.seen.values().map(|(_, issued)| *issued).min().unwrap_or_default();
                self.seen.retain(|_, (_, issued)| *issued > oldest);
                self.floor = Some(self.floor.map_or(oldest, |floor| floor.max(oldest)));
            }
        }
        // The new pair's nonce may be as old as the pairs just forgotten.
        if forgotten(self.floor) {
            return Some(Verdict::Challenge { stale: true });
        }
        self.seen.insert(key, (nc, issued));
        None
    }
}

/// HMAC-SHA-256 (RFC 2104) of the concatenated parts.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn clean_realm(realm: &str) -> String {
    realm.chars().map(|c| if c.is_ascii_control() { ' ' } else { c }).collect()
}

/// The realm is clean and the rest ASCII, so the conversion cannot fail; the fallback only
/// avoids a panic.
fn header_value(value: String) -> HeaderValue {
    HeaderValue::try_from(value).unwrap_or_else(|_| {
        debug_assert!(false, "a challenge that is not a header value");
        HeaderValue::from_static("Basic")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::digest::hex;
    use crate::auth::{basic, choose, ClientAuth, Credentials};
    use crate::Rng;

    const NOW: u64 = 1_700_000_000;

    fn password(user: &str) -> Option<String> {
        match user {
            "alice" => Some("wonderland".into()),
            "J\u{e4}s\u{f8}n Doe" => Some("Secret, or not?".into()),
            _ => None,
        }
    }

    fn with_authorization(value: HeaderValue) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        headers
    }

    fn client_for(server: &ServerAuth, now: u64) -> ClientAuth {
        let challenges = Challenge::parse_all(&server.challenge(now, false));
        ClientAuth::new(choose(&challenges).unwrap()).unwrap()
    }

    fn answer(client: &mut ClientAuth, user: &str, pass: &str, uri: &str, seed: u64) -> HeaderMap {
        let credentials = Credentials::new(user, pass);
        with_authorization(client.answer(&credentials, &Method::GET, uri, &mut Rng::seeded(seed)))
    }

    /// A Digest answer built field by field, for the checks a real client never fails.
    fn digest_header(fields: &[(&str, &str)]) -> HeaderMap {
        let mut value = String::from("Digest ");
        for (i, (name, field)) in fields.iter().enumerate() {
            if i > 0 {
                value.push_str(", ");
            }
            value.push_str(name);
            value.push('=');
            push_quoted(&mut value, field);
        }
        with_authorization(HeaderValue::try_from(value).unwrap())
    }

    #[test]
    fn hmac_rfc4231_vectors() {
        // Test cases 1 and 6 of RFC 4231.
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], &[b"Hi ", b"There"])),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&hmac_sha256(&[0xaa; 131], &[b"Test Using Larger Than Block-Size Key - Hash Key First"])),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn digest_round_trip_with_each_algorithm() {
        let server = ServerAuth::digest("chat", b"secret");
        let lines = server.challenge(NOW, false);
        for (line, seed) in lines.iter().zip([0, 10]) {
            let mut client = ClientAuth::new(&Challenge::parse_all([line])[0]).unwrap();
            for (i, now) in [NOW, NOW + 10, NOW + 300].into_iter().enumerate() {
                let headers = answer(&mut client, "alice", "wonderland", "/chat?room=1", seed + i as u64);
                let verdict = server.verify(&headers, &Method::GET, "/chat?room=1", now, password);
                assert_eq!(verdict, Verdict::Authenticated { user: "alice".into() }, "{line:?} {i}");
            }
        }
    }

    #[test]
    fn digest_refusals() {
        let server = ServerAuth::digest("chat", b"secret");
        let get = |headers: &HeaderMap, uri: &str, now: u64| server.verify(headers, &Method::GET, uri, now, password);
        let refused = Verdict::Challenge { stale: false };

        let mut client = client_for(&server, NOW);
        assert_eq!(get(&answer(&mut client, "alice", "wrong", "/", 1), "/", NOW), refused);
        assert_eq!(get(&answer(&mut client, "mallory", "wonderland", "/", 2), "/", NOW), refused);
        // Signed for another method.
        let headers = answer(&mut client, "alice", "wonderland", "/", 3);
        assert_eq!(server.verify(&headers, &Method::POST, "/", NOW, password), refused);
        // For another URI: a bad request.
        assert_eq!(get(&answer(&mut client, "alice", "wonderland", "/a", 4), "/b", NOW), Verdict::BadRequest);
        // A nonce from another secret, or another realm.
        let mut foreign = client_for(&ServerAuth::digest("chat", b"other secret"), NOW);
        assert_eq!(get(&answer(&mut foreign, "alice", "wonderland", "/", 5), "/", NOW), refused);
        let mut foreign = client_for(&ServerAuth::digest("other", b"secret"), NOW);
        assert_eq!(get(&answer(&mut foreign, "alice", "wonderland", "/", 6), "/", NOW), refused);
        // Basic credentials to a Digest server.
        let headers = with_authorization(basic(&Credentials::new("alice", "wonderland")));
        assert_eq!(get(&headers, "/", NOW), refused);
    }

    #[test]
    fn digest_stale_nonce() {
        let server = ServerAuth::digest("chat", b"secret").with_nonce_lifetime(60);
        let mut client = client_for(&server, NOW);
        let headers = answer(&mut client, "alice", "wonderland", "/", 1);
        assert_eq!(server.verify(&headers, &Method::GET, "/", NOW + 61, password), Verdict::Challenge { stale: true });
        // A wrong password with an old nonce is not stale: it is refused.
        let headers = answer(&mut client, "alice", "nope", "/", 2);
        assert_eq!(server.verify(&headers, &Method::GET, "/", NOW + 61, password), Verdict::Challenge { stale: false });
        // The client renews on the stale challenge and gets in.
        assert!(client.renew_stale(&Challenge::parse_all(&server.challenge(NOW + 61, true))));
        let headers = answer(&mut client, "alice", "wonderland", "/", 3);
        assert_eq!(
            server.verify(&headers, &Method::GET, "/", NOW + 62, password),
            Verdict::Authenticated { user: "alice".into() }
        );
    }

    #[test]
    fn digest_replays() {
        let server = ServerAuth::digest("chat", b"secret");
        let mut client = client_for(&server, NOW);
        let first = answer(&mut client, "alice", "wonderland", "/", 1);
        let second = answer(&mut client, "alice", "wonderland", "/", 1); // same cnonce, nc 2
        let ok = Verdict::Authenticated { user: "alice".into() };
        assert_eq!(server.verify(&second, &Method::GET, "/", NOW, password), ok);
        assert_eq!(server.verify(&first, &Method::GET, "/", NOW, password), Verdict::Challenge { stale: false });
        assert_eq!(server.verify(&second, &Method::GET, "/", NOW, password), Verdict::Challenge { stale: false });
        // Another client nonce with the same nonce is another pair.
        let other = answer(&mut client_for(&server, NOW), "alice", "wonderland", "/", 2);
        assert_eq!(server.verify(&other, &Method::GET, "/", NOW, password), ok);
    }

    #[test]
    fn replay_table_is_bounded_and_forgets_safely() {
        let server = ServerAuth::digest("chat", b"secret");
        server.digest.as_ref().unwrap().replay.lock().unwrap().capacity = 4;
        let ok = Verdict::Authenticated { user: "alice".into() };
        // Four pairs from nonces issued at NOW, NOW+1, NOW+2, NOW+3.
        let mut clients: Vec<ClientAuth> = (0..4).map(|i| client_for(&server, NOW + i)).collect();
        let mut replays = Vec::new();
        for (i, client) in clients.iter_mut().enumerate() {
            let headers = answer(client, "alice", "wonderland", "/", i as u64);
            assert_eq!(server.verify(&headers, &Method::GET, "/", NOW + 4, password), ok);
            replays.push(headers);
        }
        // A fifth evicts the oldest pair (NOW): that nonce is stale from now on, so the
        // captured answer cannot be replayed, and its client gets a new nonce.
        let mut fifth = client_for(&server, NOW + 4);
        assert_eq!(
            server.verify(&answer(&mut fifth, "alice", "wonderland", "/", 9), &Method::GET, "/", NOW + 4, password),
            ok
        );
        assert_eq!(
            server.verify(&replays[0], &Method::GET, "/", NOW + 5, password),
            Verdict::Challenge { stale: true }
        );
        let next = answer(&mut clients[0], "alice", "wonderland", "/", 0);
        assert_eq!(server.verify(&next, &Method::GET, "/", NOW + 5, password), Verdict::Challenge { stale: true });
        // The remembered pairs still refuse replays and accept a higher nc.
        assert_eq!(
            server.verify(&replays[1], &Method::GET, "/", NOW + 5, password),
            Verdict::Challenge { stale: false }
        );
        let next = answer(&mut clients[1], "alice", "wonderland", "/", 1);
        assert_eq!(server.verify(&next, &Method::GET, "/", NOW + 5, password), ok);
        let table = server.digest.as_ref().unwrap().replay.lock().unwrap();
        assert!(table.seen.len() <= 4);
        assert_eq!(table.floor, Some(NOW));
        drop(table);
        // Expired pairs are dropped first, without moving the floor.
        let server = ServerAuth::digest("chat", b"secret").with_nonce_lifetime(10);
        server.digest.as_ref().unwrap().replay.lock().unwrap().capacity = 2;
        for i in 0..2 {
            let headers = answer(&mut client_for(&server, NOW), "alice", "wonderland", "/", i);
            assert_eq!(server.verify(&headers, &Method::GET, "/", NOW, password), ok);
        }
        let headers = answer(&mut client_for(&server, NOW + 20), "alice", "wonderland", "/", 5);
        assert_eq!(server.verify(&headers, &Method::GET, "/", NOW + 20, password), ok);
        let table = server.digest.as_ref().unwrap().replay.lock().unwrap();
        assert_eq!((table.seen.len(), table.floor), (1, None));
    }

    #[test]
    fn digest_malformed_answers() {
        let server = ServerAuth::digest("chat", b"secret");
        let nonce = Challenge::parse_all(&server.challenge(NOW, false))[0].param("nonce").unwrap().to_owned();
        let opaque = server.digest.as_ref().unwrap().opaque.clone();
        let good: Vec<(&str, &str)> = vec![
            ("username", "alice"),
            ("realm", "chat"),
            ("uri", "/"),
            ("algorithm", "SHA-256"),
            ("nonce", &nonce),
            ("nc", "00000001"),
            ("cnonce", "c"),
            ("qop", "auth"),
            ("response", "0"),
            ("opaque", &opaque),
        ];
        let verify = |fields: &[(&str, &str)]| server.verify(&digest_header(fields), &Method::GET, "/", NOW, password);
        let without = |name: &str| good.iter().copied().filter(|(n, _)| *n != name).collect::<Vec<_>>();
        let with = |name: &str, value: &'static str| {
            good.iter().map(|&(n, v)| if n == name { (n, value) } else { (n, v) }).collect::<Vec<_>>()
        };
        // A wrong response over otherwise good fields is refused, not malformed.
        assert_eq!(verify(&good), Verdict::Challenge { stale: false });
        for name in ["username", "realm", "uri", "nonce", "nc", "cnonce", "qop", "response"] {
            assert_eq!(verify(&without(name)), Verdict::BadRequest, "without {name}");
        }
        for (name, value) in
            [("nc", "1"), ("nc", "0000000g"), ("nc", "00000000"), ("nc", "+0000001"), ("uri", "/other")]
        {
            assert_eq!(verify(&with(name, value)), Verdict::BadRequest, "{name}={value}");
        }
        let long = "c".repeat(MAX_CNONCE_LEN + 1);
        let long_cnonce: Vec<_> =
            good.iter().map(|&(n, v)| if n == "cnonce" { (n, long.as_str()) } else { (n, v) }).collect();
        assert_eq!(verify(&long_cnonce), Verdict::BadRequest);
        let mut both = good.clone();
        both.push(("username*", "UTF-8''alice"));
        assert_eq!(verify(&both), Verdict::BadRequest);
        let mut bad_ext = without("username");
        bad_ext.push(("username*", "UTF-8''%zz"));
        assert_eq!(verify(&bad_ext), Verdict::BadRequest);
        for (name, value) in [
            ("algorithm", "SHA-256-sess"),
            ("algorithm", "SHA-512-256"),
            ("qop", "auth-int"),
            ("realm", "other"),
            ("opaque", "other"),
            ("nonce", "AAAAAAAAAAA"),
            ("nonce", "not base64!"),
        ] {
            assert_eq!(verify(&with(name, value)), Verdict::Challenge { stale: false }, "{name}={value}");
        }
        assert_eq!(verify(&without("opaque")), Verdict::Challenge { stale: false });
        let mut hashed = good.clone();
        hashed.push(("userhash", "true"));
        assert_eq!(verify(&hashed), Verdict::Challenge { stale: false });
        // Two Authorization headers, a token68, garbage.
        let mut two = digest_header(&good);
        two.append(AUTHORIZATION, HeaderValue::from_static("Basic YTpi"));
        assert_eq!(server.verify(&two, &Method::GET, "/", NOW, password), Verdict::BadRequest);
        for value in ["Digest abc==", "Digest realm=\"x", ",", "Digest a=b, Basic"] {
            let headers = with_authorization(HeaderValue::from_static(value));
            let verdict = server.verify(&headers, &Method::GET, "/", NOW, password);
            assert_eq!(verdict, Verdict::BadRequest, "{value}");
        }
    }

    #[test]
    fn digest_username_star_and_md5_default() {
        let server = ServerAuth::digest("api@example.org", b"secret");
        let lines = server.challenge(NOW, false);
        // The MD5 challenge, with its algorithm removed: MD5 is the default.
        let md5 = lines[1].to_str().unwrap().replace("algorithm=MD5, ", "");
        let mut client = ClientAuth::new(&Challenge::parse_all([&HeaderValue::try_from(md5).unwrap()])[0]).unwrap();
        let headers = answer(&mut client, "J\u{e4}s\u{f8}n Doe", "Secret, or not?", "/doe.json", 1);
        assert!(headers[AUTHORIZATION].to_str().unwrap().contains("username*=UTF-8''J%C3%A4s%C3%B8n%20Doe"));
        assert!(!headers[AUTHORIZATION].to_str().unwrap().contains("algorithm"));
        let verdict = server.verify(&headers, &Method::GET, "/doe.json", NOW, password);
        assert_eq!(verdict, Verdict::Authenticated { user: "J\u{e4}s\u{f8}n Doe".into() });
    }

    #[test]
    fn basic_verification() {
        let server = ServerAuth::basic("chat");
        let verify = |value: HeaderValue| server.verify(&with_authorization(value), &Method::GET, "/", NOW, password);
        let refused = Verdict::Challenge { stale: false };
        assert_eq!(
            verify(basic(&Credentials::new("alice", "wonderland"))),
            Verdict::Authenticated { user: "alice".into() }
        );
        assert_eq!(verify(basic(&Credentials::new("alice", "wonderland "))), refused);
        assert_eq!(verify(basic(&Credentials::new("alice", ""))), refused);
        assert_eq!(verify(basic(&Credentials::new("bob", ""))), refused);
        // A password may hold colons; the user name may not (it ends at the first).
        assert_eq!(verify(basic(&Credentials::new("alice:wonder", "land"))), refused);
        assert_eq!(verify(HeaderValue::from_static("Basic YWxpY2U=")), Verdict::BadRequest, "no colon");
        assert_eq!(verify(HeaderValue::from_static("Basic realm=x")), Verdict::BadRequest);
        assert_eq!(verify(HeaderValue::from_static("Basic")), Verdict::BadRequest);
        assert_eq!(verify(HeaderValue::from_static("Bearer abc")), refused);
        assert_eq!(server.verify(&HeaderMap::new(), &Method::GET, "/", NOW, password), refused);
        // Digest answers to a Basic server are refused.
        let mut client = client_for(&ServerAuth::digest("chat", b"s"), NOW);
        assert_eq!(
            server.verify(&answer(&mut client, "alice", "wonderland", "/", 1), &Method::GET, "/", NOW, password),
            refused
        );
    }

    #[test]
    fn precomputed_hashes_verify_digest_and_basic() {
        let hashes = Secret::digest_hashes(
            digest_ha1(DigestAlgorithm::Md5, "alice", "chat", "wonderland").to_ascii_uppercase(),
            digest_ha1(DigestAlgorithm::Sha256, "alice", "chat", "wonderland"),
        );
        let find = |user: &str| (user == "alice").then(|| hashes.clone());
        let ok = Verdict::Authenticated { user: "alice".into() };
        let server = ServerAuth::basic_and_digest("chat", b"secret");
        let lines = server.challenge(NOW, false);
        assert_eq!(lines.len(), 3);
        for (challenge, seed) in Challenge::parse_all(&lines).iter().zip(1..) {
            let mut client = ClientAuth::new(challenge).unwrap();
            let good = answer(&mut client, "alice", "wonderland", "/", seed);
            assert_eq!(server.verify_secret(&good, &Method::GET, "/", NOW, find), ok, "{challenge:?}");
            let bad = answer(&mut client, "alice", "wonderlant", "/", seed + 10);
            let verdict = server.verify_secret(&bad, &Method::GET, "/", NOW, find);
            assert_eq!(verdict, Verdict::Challenge { stale: false }, "{challenge:?}");
        }
        // Hashes for another realm are another secret.
        let other = ServerAuth::basic("other");
        let headers = with_authorization(basic(&Credentials::new("alice", "wonderland")));
        assert_eq!(other.verify_secret(&headers, &Method::GET, "/", NOW, find), Verdict::Challenge { stale: false });
        // Basic to a Digest-only server, Digest to a Basic-only one: refused.
        let digest_only = ServerAuth::digest("chat", b"secret");
        assert_eq!(
            digest_only.verify_secret(&headers, &Method::GET, "/", NOW, find),
            Verdict::Challenge { stale: false }
        );
        assert_eq!(server.verify_secret(&headers, &Method::GET, "/", NOW, find), ok);
    }

    #[test]
    fn basic_and_digest_challenges() {
        let server = ServerAuth::basic_and_digest("chat", b"secret");
        let stale = Challenge::parse_all(&server.challenge(NOW, true));
        let schemes: Vec<_> = stale.iter().map(|c| (c.scheme().clone(), c.param("stale"))).collect();
        assert_eq!(schemes, [(Scheme::Digest, Some("true")), (Scheme::Digest, Some("true")), (Scheme::Basic, None)]);
        let debug = format!("{server:?}");
        assert!(debug.contains("basic: true") && debug.contains("digest: true"), "{debug}");
    }

    #[test]
    fn challenges_are_parseable_and_clean() {
        let server = ServerAuth::digest("a \"quoted\" \\ realm\r\n", b"hunter2");
        assert_eq!(server.realm(), "a \"quoted\" \\ realm  ");
        let challenges = Challenge::parse_all(&server.challenge(NOW, false));
        assert_eq!(challenges.len(), 2);
        for challenge in &challenges {
            assert_eq!(challenge.realm(), Some(server.realm()));
            assert_eq!(challenge.param("qop"), Some("auth"));
            assert_eq!(challenge.param("stale"), None);
            assert_eq!(challenge.param("nonce").map(str::len), Some(54));
        }
        assert_eq!(challenges[0].param("nonce"), challenges[1].param("nonce"));
        assert_ne!(
            Challenge::parse_all(&server.challenge(NOW + 1, false))[0].param("nonce"),
            challenges[0].param("nonce")
        );
        let debug = format!("{server:?}");
        assert!(!debug.contains("hunter2") && !debug.contains("104"), "{debug}");
        fn shared<T: Send + Sync>(_: &T) {}
        shared(&server);
    }
}
