//! Which service a request path goes to.

use super::admission::{Admission, Admitted};
use crate::handshake::{IncomingRequest, Reject};
use http::StatusCode;
use std::collections::BTreeMap;
use std::fmt;

/// The services of a server by path (websocket-sharp's `WebSocketServer.AddWebSocketService`),
/// each a `T` (an [`Admission`], or the application's type holding one).
///
/// Paths are compared after one normalization, the same for the paths inserted and the
/// request paths routed:
///
/// - A `%XX` triple is decoded when it stands for an unreserved character (`A-Z a-z 0-9 - . _ ~`,
///   which RFC 3986 section 6.2.2.2 makes equivalent to their encoded form) or for a byte of a
///   non-ASCII UTF-8 character; every other triple (`%2F`, `%3F`, `%25`, controls...) stays
///   encoded, its hex digits upper-cased, so that `/a%2Fb` is not `/a/b`. A path whose decoded
///   bytes are not UTF-8, or with a `%` that starts no triple, routes nowhere.
/// - One trailing `/` is dropped, except from the root: `/chat/` routes to `/chat`.
/// - A path with a `.` or `..` segment (once decoded: `/%2e%2e/admin`), or an empty segment
///   (`//chat`), routes nowhere, rather than be resolved to another service's path.
/// - The comparison is otherwise exact (case-sensitive).
///
/// ```
/// use laputa_core::server::Router;
///
/// let mut router = Router::new();
/// router.insert("/chat", "chat")?;
/// router.insert("/caf\u{e9}/", "cafe")?; // stored as "/caf\u{e9}"
/// assert_eq!(router.route("/chat"), Some(&"chat"));
/// assert_eq!(router.route("/chat/"), Some(&"chat"));
/// assert_eq!(router.route("/%63hat"), Some(&"chat"));
/// assert_eq!(router.route("/caf%C3%A9"), Some(&"cafe"));
/// assert_eq!(router.route("/Chat"), None);
/// assert_eq!(router.route("/x/../chat"), None);
/// assert_eq!(router.paths().collect::<Vec<_>>(), ["/caf\u{e9}", "/chat"]);
/// # Ok::<(), laputa_core::server::RouteError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Router<T> {
    routes: BTreeMap<String, T>,
}

impl<T> Default for Router<T> {
    fn default() -> Self {
        Self { routes: BTreeMap::new() }
    }
}

/// Why [`Router::insert`] refused a path.
///
/// ```
/// use laputa_core::server::{RouteError, Router};
///
/// let mut router = Router::new();
/// assert!(matches!(router.insert("chat", ()), Err(RouteError::Invalid { .. })));
/// router.insert("/chat", ())?;
/// assert_eq!(router.insert("/chat/", ()), Err(RouteError::Duplicate("/chat".into())));
/// # Ok::<(), RouteError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteError {
    /// The path is not one a request can route to.
    Invalid {
        /// The path given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A service already has this path (as normalized).
    Duplicate(String),
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid { path, reason } => write!(f, "invalid service path {path:?}: {reason}"),
            Self::Duplicate(path) => write!(f, "a service already has the path {path:?}"),
        }
    }
}

impl std::error::Error for RouteError {}

impl<T> Router<T> {
    /// A router with no service.
    ///
    /// ```
    /// use laputa_core::server::Router;
    ///
    /// let router = Router::<()>::new();
    /// assert!(router.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the service `value` at `path`: it starts with `/`, has no query or fragment (`?`,
    /// `#`), no spaces or control characters, no `.`, `..` or empty segment; it is normalized
    /// as described on [`Router`]. A path already present is an error.
    ///
    /// ```
    /// use laputa_core::server::Router;
    ///
    /// let mut router = Router::new();
    /// router.insert("/", "root")?;
    /// router.insert("/echo/", "echo")?;
    /// assert!(router.insert("/echo?x=1", "query").is_err());
    /// assert!(router.insert("/echo", "again").is_err());
    /// assert_eq!(router.paths().collect::<Vec<_>>(), ["/", "/echo"]);
    /// # Ok::<(), laputa_core::server::RouteError>(())
    /// ```
    pub fn insert(&mut self, path: &str, value: T) -> Result<(), RouteError> {
        let invalid = |reason| RouteError::Invalid { path: path.to_owned(), reason };
        if !path.starts_with('/') {
            return Err(invalid("a service path starts with '/'"));
        }
        if path.contains(['?', '#']) {
            return Err(invalid("a service path has no query or fragment"));
        }
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("a service path has no spaces or control characters"));
        }
        let normalized = normalize(path).map_err(invalid)?;
        if self.routes.contains_key(&normalized) {
            return Err(RouteError::Duplicate(normalized));
        }
        self.routes.insert(normalized, value);
        Ok(())
    }

    /// Removes the service at `path` (normalized as on insertion), returning it.
    ///
    /// ```
    /// use laputa_core::server::Router;
    ///
    /// let mut router = Router::new();
    /// router.insert("/chat", 1)?;
    /// assert_eq!(router.remove("/chat/"), Some(1));
    /// assert_eq!(router.remove("/chat"), None);
    /// # Ok::<(), laputa_core::server::RouteError>(())
    /// ```
    pub fn remove(&mut self, path: &str) -> Option<T> {
        self.routes.remove(&normalize(path).ok()?)
    }

    /// The service for a request target's path ([`IncomingRequest::path`]: without the query),
    /// normalized as described on [`Router`]; `None` when no service has it.
    ///
    /// ```
    /// use laputa_core::server::Router;
    ///
    /// let mut router = Router::new();
    /// router.insert("/a b", "spaced").unwrap_err(); // a request path has no raw space
    /// router.insert("/files/a%2Fb", "one segment")?;
    /// assert_eq!(router.route("/files/a%2fb"), Some(&"one segment"));
    /// assert_eq!(router.route("/files/a/b"), None);
    /// # Ok::<(), laputa_core::server::RouteError>(())
    /// ```
    pub fn route(&self, request_path: &str) -> Option<&T> {
        self.routes.get(&normalize(request_path).ok()?)
    }

    /// The paths served, normalized, in order.
    ///
    /// ```
    /// use laputa_core::server::Router;
    ///
    /// let mut router = Router::new();
    /// router.insert("/b/", ())?;
    /// router.insert("/a", ())?;
    /// assert_eq!(router.paths().collect::<Vec<_>>(), ["/a", "/b"]);
    /// # Ok::<(), laputa_core::server::RouteError>(())
    /// ```
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.routes.keys().map(String::as_str)
    }

    /// How many services there are.
    ///
    /// ```
    /// use laputa_core::server::Router;
    ///
    /// let mut router = Router::new();
    /// router.insert("/a", ())?;
    /// assert_eq!(router.len(), 1);
    /// # Ok::<(), laputa_core::server::RouteError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether there is no service.
    ///
    /// ```
    /// use laputa_core::server::Router;
    ///
    /// assert!(Router::<()>::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The decision on an upgrade request: `404 Not Found` (before any upgrade) when no service
    /// has its path, else the service and what its [`Admission::admit`] says.
    ///
    /// ```
    /// use laputa_core::handshake::ServerHandshake;
    /// use laputa_core::server::{Admission, Router};
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let mut router = Router::new();
    /// router.insert("/chat", Admission::new().protocols(["chat"]))?;
    /// let request = |path: &str| {
    ///     let head = format!(
    ///         "GET {path} HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    ///          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
    ///          Sec-WebSocket-Protocol: chat\r\n\r\n"
    ///     );
    ///     ServerHandshake::new(Config::default(), Instant::now()).handle_input(head.as_bytes()).unwrap().unwrap()
    /// };
    /// let (_service, admitted) = router.decide(&request("/chat/"), 0).expect("served");
    /// assert_eq!(admitted.accept.protocol.as_deref(), Some("chat"));
    /// assert_eq!(router.decide(&request("/other"), 0).unwrap_err().status(), 404);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decide(&self, request: &IncomingRequest, now_secs: u64) -> Result<(&T, Admitted), Reject>
    where
        T: AsRef<Admission>,
    {
        let Some(service) = self.route(request.path()) else {
            tracing::debug!(path = request.path(), "no service at this path: 404");
            return Err(Reject::new(StatusCode::NOT_FOUND).body("no such service\n"));
        };
        let admitted = service.as_ref().admit(request, now_secs)?;
        Ok((service, admitted))
    }
}

/// The path as compared (see [`Router`]), or why it routes nowhere.
fn normalize(path: &str) -> Result<String, &'static str> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let hex = |at: usize| bytes.get(at).and_then(|&b| char::from(b).to_digit(16));
        let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) else {
            return Err("a '%' that starts no percent-encoded byte");
        };
        let byte = (hi * 16 + lo) as u8;
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') || byte >= 0x80 {
            out.push(byte);
        } else {
            out.extend_from_slice(format!("%{byte:02X}").as_bytes());
        }
        i += 3;
    }
    let mut path = String::from_utf8(out).map_err(|_| "percent-encoded bytes that are not UTF-8")?;
    if path.len() > 1 && path.ends_with('/') && !path.ends_with("//") {
        path.pop();
    }
    if !path.starts_with('/') {
        return Err("a path starts with '/'");
    }
    if path.len() > 1 && path[1..].split('/').any(|segment| matches!(segment, "" | "." | "..")) {
        return Err("a path has no empty, '.' or '..' segment");
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization() {
        let ok = |path: &str| normalize(path).unwrap();
        assert_eq!(ok("/"), "/");
        assert_eq!(ok("/chat/"), "/chat");
        assert_eq!(ok("/%7Euser/%41-%5f"), "/~user/A-_");
        assert_eq!(ok("/a%2fb"), "/a%2Fb");
        assert_eq!(ok("/a%3f%25%20"), "/a%3F%25%20");
        assert_eq!(ok("/caf%c3%a9"), "/caf\u{e9}");
        for bad in ["", "chat", "//", "/a//b", "/chat//", "/./a", "/a/..", "/%2E%2e/x", "/%", "/%4", "/%zz", "/%ff"] {
            assert!(normalize(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn insert_route_remove() {
        let mut router = Router::new();
        router.insert("/", 0).unwrap();
        router.insert("/chat/", 1).unwrap();
        router.insert("/chat/room", 2).unwrap();
        assert_eq!(router.insert("/chat", 9), Err(RouteError::Duplicate("/chat".into())));
        assert_eq!(router.insert("/%63hat", 9), Err(RouteError::Duplicate("/chat".into())));
        for bad in ["", "chat", "/a?b", "/a#b", "/a b", "/a\tb", "/a/../b", "//"] {
            assert!(matches!(router.insert(bad, 9), Err(RouteError::Invalid { .. })), "{bad:?}");
        }
        assert_eq!(router.len(), 3);
        assert_eq!(router.route("/"), Some(&0));
        assert_eq!(router.route("/chat"), Some(&1));
        assert_eq!(router.route("/chat/"), Some(&1));
        assert_eq!(router.route("/chat/room/"), Some(&2));
        assert_eq!(router.route("/chat/ro%6Fm"), Some(&2));
        assert_eq!(router.route("/chat%2Froom"), None);
        assert_eq!(router.route("/CHAT"), None);
        assert_eq!(router.route("/chat/room/../room"), None);
        assert_eq!(router.route("/chat//"), None);
        assert_eq!(router.route("/nothing"), None);
        assert_eq!(router.paths().collect::<Vec<_>>(), ["/", "/chat", "/chat/room"]);
        assert_eq!(router.remove("/chat/"), Some(1));
        assert_eq!(router.route("/chat"), None);
        assert_eq!(router.route("/chat/room"), Some(&2));
        assert_eq!(router.remove("/bad/../"), None);
        assert!(!router.is_empty());
        assert!(format!("{router:?}").contains("/chat/room"));
    }
}
