//! Cookies of the opening handshake (RFC 6265): a jar that keeps `Set-Cookie` answers and picks
//! the cookies to send to a URL, with domain, path and secure matching.
