//! Redirects (RFC 9110 section 15.4): where a `Location` leads, and whether it is the same
//! origin as before (which decides what credentials may follow).

use super::RedirectError;
use crate::handshake::ClientRequest;
use http::{HeaderValue, Uri};

/// The request for `location`, resolved against the current request's URL (RFC 3986 section
/// 5: absolute, scheme-relative, absolute-path and relative references). `http` and `https`
/// map to `ws` and `wss`; a fragment is dropped; `wss` to `ws` is refused.
pub(super) fn resolve(current: &ClientRequest, location: &HeaderValue) -> Result<ClientRequest, RedirectError> {
    let location = location.to_str().map_err(|_| RedirectError::InvalidLocation)?.trim();
    let location = location.split('#').next().unwrap_or_default();
    let uri = current.uri();
    let scheme = if current.is_secure() { "wss" } else { "ws" };
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    let url = match location.split_once("://") {
        Some((given, rest)) if !given.contains(['/', '?']) => {
            let scheme = match given.to_ascii_lowercase().as_str() {
                "ws" | "http" => "ws",
                "wss" | "https" => "wss",
                _ => return Err(RedirectError::InvalidLocation),
            };
            format!("{scheme}://{rest}")
        }
        _ if location.starts_with("//") => format!("{scheme}:{location}"),
        _ if location.starts_with('/') => format!("{scheme}://{authority}{location}"),
        _ if location.is_empty() => return Err(RedirectError::InvalidLocation),
        _ => {
            // A relative reference: beside the last segment of the current path.
            let path = uri.path();
            let base = &path[..path.rfind('/').map_or(0, |i| i + 1)];
            let base = if base.is_empty() { "/" } else { base };
            format!("{scheme}://{authority}{base}{location}")
        }
    };
    let next = current.redirected(&url).map_err(|_| RedirectError::InvalidLocation)?;
    if current.is_secure() && !next.is_secure() {
        return Err(RedirectError::Downgrade);
    }
    Ok(next)
}

/// Whether two requests go to the same origin: scheme, host and port (RFC 6454).
pub(super) fn same_origin(a: &ClientRequest, b: &ClientRequest) -> bool {
    a.is_secure() == b.is_secure() && a.host().eq_ignore_ascii_case(b.host()) && a.port() == b.port()
}

/// A URL for logs: scheme, host, port and path, never credentials or the query.
pub(super) fn describe(uri: &Uri) -> String {
    let host = uri.host().unwrap_or_default();
    let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{}://{host}{port}{}", uri.scheme_str().unwrap_or_default(), uri.path())
}
