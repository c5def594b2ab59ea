//! HTTP authentication (RFC 9110 section 11): challenges and credentials for the Basic
//! (RFC 7617) and Digest (RFC 7616) schemes, for clients and servers.
//!
//! Everything here is computation: no I/O, no clock (times are arguments, in seconds), no
//! randomness of its own (a [`Rng`](crate::Rng) is passed in for Digest's client nonce).
//!
//! # The client's flow
//!
//! A request comes back `401 Unauthorized` (or `407 Proxy Authentication Required` from a
//! proxy): parse every `WWW-Authenticate` (or `Proxy-Authenticate`) line into [`Challenge`]s,
//! [`choose`] the strongest one this crate speaks, and send the request again with the
//! [`ClientAuth::answer`] in `Authorization` (or `Proxy-Authorization`). One answer per
//! challenge: a second `401` means the credentials were refused, unless
//! [`ClientAuth::renew_stale`] says the nonce had only expired. [`basic`] gives the Basic value
//! to send up front, before any challenge.
//!
//! ```
//! use laputa_core::auth::{choose, Challenge, ClientAuth, Credentials, Scheme};
//! use laputa_core::http::header::WWW_AUTHENTICATE;
//! use laputa_core::http::{HeaderMap, Method};
//! use laputa_core::Rng;
//!
//! // The 401's headers: three challenges on two lines, and a scheme we do not speak.
//! let mut response = HeaderMap::new();
//! response.append(WWW_AUTHENTICATE, "Negotiate, Basic realm=\"chat\"".parse()?);
//! response.append(
//!     WWW_AUTHENTICATE,
//!     r#"Digest realm="chat", qop="auth", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv", opaque="FQhe""#.parse()?,
//! );
//!
//! // 401 -> choose: Digest with SHA-256 is the strongest.
//! let challenges = Challenge::parse_all(response.get_all(WWW_AUTHENTICATE));
//! let chosen = choose(&challenges).expect("a challenge we can answer");
//! assert_eq!(chosen.scheme(), &Scheme::Digest);
//!
//! // -> answer, for the same request as the one refused.
//! let mut auth = ClientAuth::new(chosen).expect("chosen challenges are supported");
//! let credentials = Credentials::new("alice", "wonderland");
//! let authorization = auth.answer(&credentials, &Method::GET, "/chat", &mut Rng::os());
//! let sent = Challenge::parse_credentials(&authorization).expect("one credential");
//! assert_eq!(sent.param("username"), Some("alice"));
//! assert_eq!(sent.param("uri"), Some("/chat"));
//! assert_eq!(sent.param("algorithm"), Some("SHA-256"));
//! assert_eq!(sent.param("nc"), Some("00000001"));
//! assert_eq!(sent.param("opaque"), Some("FQhe"));
//! // The password is not in it.
//! assert!(!authorization.to_str()?.contains("wonderland"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The server's side
//!
//! [`ServerAuth`] makes the challenges of a `401` and checks a request's `Authorization`,
//! returning a [`Verdict`]: authenticated, challenge again (perhaps with `stale=true`), or bad
//! request. Its Digest nonces need no table (they carry their issue time under an HMAC); a
//! bounded table refuses replayed answers.

mod basic;
mod challenge;
mod client;
mod digest;
mod server;

pub use basic::basic;
pub use challenge::{Challenge, Scheme};
pub use client::{choose, ClientAuth};
pub use digest::DigestAlgorithm;
pub use server::{digest_ha1, Secret, ServerAuth, Verdict, DEFAULT_NONCE_LIFETIME_SECS};

use http::Uri;
use std::fmt;

/// A user name and password. `Debug` does not print the password.
///
/// ```
/// use laputa_core::auth::Credentials;
///
/// let credentials = Credentials::new("Aladdin", "open sesame");
/// assert_eq!((credentials.user(), credentials.password()), ("Aladdin", "open sesame"));
/// assert_eq!(format!("{credentials:?}"), r#"Credentials { user: "Aladdin", password: "<redacted>" }"#);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).field("password", &"<redacted>").finish()
    }
}

impl Credentials {
    /// Credentials from a user name and a password, both sent in UTF-8.
    ///
    /// ```
    /// use laputa_core::auth::{basic, Credentials};
    ///
    /// let credentials = Credentials::new("user", String::from("pass"));
    /// assert_eq!(basic(&credentials), "Basic dXNlcjpwYXNz");
    /// ```
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self { user: user.into(), password: password.into() }
    }

    /// The credentials in a URI's user information (`ws://user:password@host/`),
    /// percent-decoded (RFC 3986 section 3.2.1); a missing password is empty. `None` if the URI
    /// has none, or if they are not UTF-8 once decoded.
    ///
    /// RFC 3986 section 3.2.1 deprecates `user:password` in a URI, but clients accept it, and
    /// websocket-sharp takes credentials from it. The caller removes it from the URI it sends
    /// (in `Host` and in the request target).
    ///
    /// ```
    /// use laputa_core::auth::Credentials;
    /// use laputa_core::http::Uri;
    ///
    /// let uri: Uri = "wss://Aladdin:open%20sesame@example.com/chat".parse()?;
    /// assert_eq!(Credentials::from_uri(&uri), Some(Credentials::new("Aladdin", "open sesame")));
    /// let uri: Uri = "ws://bob@example.com/".parse()?;
    /// assert_eq!(Credentials::from_uri(&uri), Some(Credentials::new("bob", "")));
    /// assert_eq!(Credentials::from_uri(&"ws://example.com/".parse()?), None);
    /// # Ok::<(), laputa_core::http::uri::InvalidUri>(())
    /// ```
    pub fn from_uri(uri: &Uri) -> Option<Self> {
        let (userinfo, _host) = uri.authority()?.as_str().rsplit_once('@')?;
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        Some(Self::new(percent_decode(user)?, percent_decode(password)?))
    }

    /// The user name.
    ///
    /// ```
    /// use laputa_core::auth::Credentials;
    ///
    /// assert_eq!(Credentials::new("J\u{e4}s\u{f8}n Doe", "").user(), "J\u{e4}s\u{f8}n Doe");
    /// ```
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The password.
    ///
    /// ```
    /// use laputa_core::auth::Credentials;
    ///
    /// assert_eq!(Credentials::new("u", "Circle of Life").password(), "Circle of Life");
    /// ```
    pub fn password(&self) -> &str {
        &self.password
    }
}

/// Percent-decoded userinfo; `None` if the result is not UTF-8.
fn percent_decode(encoded: &str) -> Option<String> {
    String::from_utf8(crate::percent::decode(encoded, false)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_from_uris() {
        let from = |uri: &str| Credentials::from_uri(&uri.parse().unwrap());
        assert_eq!(from("ws://u:p@h/"), Some(Credentials::new("u", "p")));
        assert_eq!(from("ws://u:p:q@h:8080/x"), Some(Credentials::new("u", "p:q")));
        assert_eq!(from("ws://J%C3%A4s%C3%B8n:%40%3A%2f@h/"), Some(Credentials::new("J\u{e4}s\u{f8}n", "@:/")));
        assert_eq!(from("ws://:p@h/"), Some(Credentials::new("", "p")));
        assert_eq!(from("ws://u%@h/"), Some(Credentials::new("u%", "")));
        assert_eq!(from("ws://u%4@h/"), Some(Credentials::new("u%4", "")));
        assert_eq!(from("ws://%FF@h/"), None, "not UTF-8");
        assert_eq!(from("ws://h/"), None);
        assert_eq!(from("/path"), None);
    }

    #[test]
    fn debug_hides_the_password() {
        let debug = format!("{:?}", Credentials::new("alice", "hunter2"));
        assert!(debug.contains("alice") && !debug.contains("hunter2"), "{debug}");
    }
}
