//! `NO_PROXY`: the hosts reached directly even when a proxy is configured from the environment.

use std::net::IpAddr;

/// A parsed `NO_PROXY` list: which targets bypass the proxy.
///
/// There is no standard for this variable; curl, reqwest and Go each read it a little
/// differently. What laputa does, and whose behaviour each rule follows:
///
/// - Entries are separated by commas; whitespace around them is trimmed and empty entries are
///   skipped (all three).
/// - `*` matches every host (reqwest: anywhere in the list; curl only honours it as the whole
///   list).
/// - A name matches itself and every name below it on a label boundary: `example.com` matches
///   `example.com` and `a.example.com`, never `notexample.com`. A leading `.` (or `*.`) changes
///   nothing: `.example.com` matches `example.com` too. curl and reqwest agree on this (Go's
///   `.example.com` leaves `example.com` itself proxied). Names compare case-insensitively and a
///   trailing `.` is ignored.
/// - IPv4 and IPv6 addresses match exactly, IPv6 with or without brackets (`::1`, `[::1]`), and
///   CIDR ranges (`10.0.0.0/8`, `fe80::/10`) match every address inside them (curl since 7.86,
///   reqwest, Go). Address entries only match targets given as addresses, and name entries only
///   names: no DNS lookup happens here, and `0.1` is not a suffix of `10.0.0.1`.
/// - A port in an entry (`example.com:8080`, `10.0.0.1:8080`, `[::1]:8080`) restricts it to that
///   port, as Go does (reqwest keeps the whole entry as a name that then never matches). An entry
///   whose port is not a number is skipped rather than widened to every port.
/// - `localhost` and loopback addresses are not special: list them to reach them directly
///   (reqwest and curl; Go always bypasses them).
/// - Entries that are none of the above (`10.0.0.0/99`, `[::1`) are skipped.
///
/// ```
/// use laputa_core::proxy::NoProxy;
///
/// let no_proxy = NoProxy::parse("localhost, .internal, 10.0.0.0/8, [::1], example.com:8080");
/// assert!(no_proxy.matches("localhost", 80));
/// assert!(no_proxy.matches("db.internal", 443));
/// assert!(no_proxy.matches("10.1.2.3", 443));
/// assert!(no_proxy.matches("[::1]", 9000));
/// assert!(no_proxy.matches("example.com", 8080));
/// assert!(!no_proxy.matches("example.com", 443), "another port");
/// assert!(!no_proxy.matches("notinternal", 443));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    /// A `*` entry: everything bypasses the proxy.
    all: bool,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A domain name, lower-cased, without leading `.`/`*.` or trailing `.`.
    Name { name: String, port: Option<u16> },
    /// An address with the number of leading bits that must match (the full length for an
    /// exact address).
    Ip { addr: IpAddr, prefix: u8, port: Option<u16> },
}

impl NoProxy {
    /// Parses a comma-separated list such as the value of `NO_PROXY`. Never fails: entries that
    /// cannot be understood are skipped.
    ///
    /// ```
    /// use laputa_core::proxy::NoProxy;
    ///
    /// assert!(NoProxy::parse("*").matches("anything.example", 443));
    /// assert!(NoProxy::parse(" , ,").is_empty());
    /// // A broken entry is skipped; the others still count.
    /// let no_proxy = NoProxy::parse("10.0.0.0/99, example.com");
    /// assert!(!no_proxy.matches("10.0.0.1", 80));
    /// assert!(no_proxy.matches("www.example.com", 80));
    /// ```
    pub fn parse(list: &str) -> Self {
        let mut no_proxy = Self::default();
        for entry in list.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
            if entry == "*" {
                no_proxy.all = true;
            } else if let Some(entry) = parse_entry(entry) {
                no_proxy.entries.push(entry);
            }
        }
        no_proxy
    }

    /// Whether nothing bypasses the proxy: the list had no usable entry.
    ///
    /// ```
    /// use laputa_core::proxy::NoProxy;
    ///
    /// assert!(NoProxy::parse("").is_empty());
    /// assert!(!NoProxy::parse("*").is_empty());
    /// assert!(!NoProxy::parse("example.com").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        !self.all && self.entries.is_empty()
    }

    /// Whether a connection to `host:port` goes direct. `host` is a name or an IP address, an
    /// IPv6 address with or without brackets (as [`http::Uri::host`] gives it, with them).
    ///
    /// ```
    /// use laputa_core::proxy::NoProxy;
    ///
    /// let no_proxy = NoProxy::parse("example.com, fe80::/10");
    /// assert!(no_proxy.matches("EXAMPLE.com.", 443), "case and a trailing dot do not matter");
    /// assert!(no_proxy.matches("a.b.example.com", 443));
    /// assert!(!no_proxy.matches("notexample.com", 443));
    /// assert!(no_proxy.matches("[fe80::1]", 443));
    /// assert!(no_proxy.matches("fe80::1", 443));
    /// assert!(!no_proxy.matches("[2001:db8::1]", 443));
    /// ```
    pub fn matches(&self, host: &str, port: u16) -> bool {
        if self.all {
            return true;
        }
        let unbracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let port_ok = |entry_port: Option<u16>| entry_port.is_none_or(|p| p == port);
        if let Ok(addr) = unbracketed.parse::<IpAddr>() {
            return self.entries.iter().any(|entry| match entry {
                Entry::Ip { addr: net, prefix, port } => port_ok(*port) && in_prefix(*net, *prefix, addr),
                Entry::Name { .. } => false,
            });
        }
        let host = host.strip_suffix('.').unwrap_or(host);
        self.entries.iter().any(|entry| match entry {
            Entry::Name { name, port } => port_ok(*port) && name_matches(name, host),
            Entry::Ip { .. } => false,
        })
    }
}

/// One trimmed, non-empty entry other than `*`.
fn parse_entry(entry: &str) -> Option<Entry> {
    // `[v6]`, `[v6]:port`, `[v6]/prefix`.
    if let Some(rest) = entry.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        let addr = IpAddr::V6(inner.parse().ok()?);
        return if after.is_empty() {
            Some(Entry::Ip { addr, prefix: 128, port: None })
        } else if let Some(port) = after.strip_prefix(':') {
            Some(Entry::Ip { addr, prefix: 128, port: Some(parse_port(port)?) })
        } else {
            let prefix = parse_prefix(after.strip_prefix('/')?, 128)?;
            Some(Entry::Ip { addr, prefix, port: None })
        };
    }
    // `v4/prefix`, `v6/prefix`.
    if let Some((addr, prefix)) = entry.split_once('/') {
        let addr: IpAddr = addr.parse().ok()?;
        let prefix = parse_prefix(prefix, max_prefix(addr))?;
        return Some(Entry::Ip { addr, prefix, port: None });
    }
    // `v4`, or a bare `v6` (its colons are not a port separator).
    if let Ok(addr) = entry.parse::<IpAddr>() {
        return Some(Entry::Ip { addr, prefix: max_prefix(addr), port: None });
    }
    // `name`, `name:port`, `v4:port`.
    let (host, port) = match entry.rsplit_once(':') {
        Some((host, port)) => (host, Some(parse_port(port)?)),
        None => (entry, None),
    };
    if let Ok(addr) = host.parse::<IpAddr>() {
        return match addr {
            IpAddr::V4(_) => Some(Entry::Ip { addr, prefix: 32, port }),
            // `::1:80` parsed above as one address; a v6 with a port needs brackets.
            IpAddr::V6(_) => None,
        };
    }
    let name = host.strip_prefix("*.").or_else(|| host.strip_prefix('.')).unwrap_or(host);
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.contains(':') {
        return None;
    }
    Some(Entry::Name { name: name.to_ascii_lowercase(), port })
}

fn parse_port(port: &str) -> Option<u16> {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    port.parse().ok()
}

fn parse_prefix(prefix: &str, max: u8) -> Option<u8> {
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    prefix.parse().ok().filter(|&bits| bits <= max)
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// Whether the first `prefix` bits of `addr` are those of `net` (of the same family).
fn in_prefix(net: IpAddr, prefix: u8, addr: IpAddr) -> bool {
    match (net, addr) {
        (IpAddr::V4(net), IpAddr::V4(addr)) => {
            // A shift by the full width (prefix 0) is None: no bit has to match.
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(net) & mask == u32::from(addr) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(addr)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(net) & mask == u128::from(addr) & mask
        }
        _ => false,
    }
}

/// `host` is `name` or ends with `.name` (ASCII case-insensitively).
fn name_matches(name: &str, host: &str) -> bool {
    let (host, name) = (host.as_bytes(), name.as_bytes());
    if host.len() < name.len() {
        return false;
    }
    let split = host.len() - name.len();
    host[split..].eq_ignore_ascii_case(name) && (split == 0 || host[split - 1] == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry kind against every kind of target: `(list, host, port, expected)`.
    #[test]
    fn matrix() {
        let cases: &[(&str, &str, u16, bool)] = &[
            // Names: exact, below on a label boundary, never a bare suffix.
            ("example.com", "example.com", 443, true),
            ("example.com", "a.example.com", 443, true),
            ("example.com", "a.b.example.com", 443, true),
            ("example.com", "notexample.com", 443, false),
            ("example.com", "example.com.evil", 443, false),
            ("example.com", "com", 443, false),
            ("a.example.com", "example.com", 443, false),
            // A leading dot or `*.` is the same entry.
            (".example.com", "example.com", 443, true),
            (".example.com", "a.example.com", 443, true),
            (".example.com", "notexample.com", 443, false),
            ("*.example.com", "example.com", 443, true),
            ("*.example.com", "a.example.com", 443, true),
            // Case and trailing dots.
            ("Example.COM", "www.EXAMPLE.com", 443, true),
            ("example.com.", "example.com", 443, true),
            ("example.com", "example.com.", 443, true),
            // The wildcard, alone or anywhere in the list.
            ("*", "anything", 1, true),
            ("*", "10.0.0.1", 1, true),
            ("*", "[::1]", 1, true),
            ("a.test, *", "b.test", 1, true),
            ("*.", "b.test", 1, false),
            // localhost is only what it is listed as.
            ("", "localhost", 80, false),
            ("localhost", "localhost", 80, true),
            ("localhost", "127.0.0.1", 80, false),
            ("127.0.0.1", "localhost", 80, false),
            // IPv4: exact and CIDR, host bits of the network ignored.
            ("10.0.0.1", "10.0.0.1", 80, true),
            ("10.0.0.1", "10.0.0.2", 80, false),
            ("10.0.0.0/8", "10.255.1.2", 80, true),
            ("10.0.0.0/8", "11.0.0.1", 80, false),
            ("10.42.1.1/24", "10.42.1.200", 80, true),
            ("10.42.1.1/24", "10.42.2.1", 80, false),
            ("192.168.1.7/32", "192.168.1.7", 80, true),
            ("192.168.1.7/32", "192.168.1.8", 80, false),
            ("0.0.0.0/0", "203.0.113.9", 80, true),
            ("0.0.0.0/0", "[::1]", 80, false),
            // An address entry is not a name suffix, nor a name an address.
            ("0.1", "10.0.0.1", 80, false),
            ("1", "10.0.0.1", 80, false),
            // IPv6: with or without brackets on either side, CIDR.
            ("::1", "[::1]", 80, true),
            ("::1", "::1", 80, true),
            ("[::1]", "[::1]", 80, true),
            ("[::1]", "::1", 80, true),
            ("::1", "[::2]", 80, false),
            ("[0:0::1]", "[::1]", 80, true),
            ("fe80::/10", "[fe80::1234]", 80, true),
            ("fe80::/10", "[febf::1]", 80, true),
            ("fe80::/10", "[fec0::1]", 80, false),
            ("[fe80::]/10", "[fe80::1]", 80, true),
            ("2001:db8::/32", "2001:db8:ffff::1", 80, true),
            ("2001:db8::/32", "2001:db9::1", 80, false),
            ("::/0", "[2001:db8::1]", 80, true),
            ("::/0", "10.0.0.1", 80, false),
            ("::ffff:10.0.0.1", "10.0.0.1", 80, false),
            // Ports restrict an entry to that port.
            ("example.com:8080", "example.com", 8080, true),
            ("example.com:8080", "example.com", 443, false),
            ("example.com:8080", "a.example.com", 8080, true),
            ("10.0.0.1:8080", "10.0.0.1", 8080, true),
            ("10.0.0.1:8080", "10.0.0.1", 80, false),
            ("[::1]:8080", "[::1]", 8080, true),
            ("[::1]:8080", "[::1]", 80, false),
            ("example.com", "example.com", 1, true),
            // A port that is not one skips the entry instead of widening it.
            ("example.com:http", "example.com", 80, false),
            ("example.com:99999", "example.com", 80, false),
            ("example.com:", "example.com", 80, false),
            // Whitespace and empty entries.
            ("  a.test ,, \t b.test  ,", "b.test", 1, true),
            (" , ", "a.test", 1, false),
            ("", "a.test", 1, false),
            // Broken entries are skipped, the rest kept.
            ("10.0.0.0/33, b.test", "10.0.0.1", 1, false),
            ("10.0.0.0/33, b.test", "b.test", 1, true),
            ("fe80::/129", "[fe80::1]", 1, false),
            ("10.0.0.0/x", "10.0.0.1", 1, false),
            ("10.0.0.0/", "10.0.0.1", 1, false),
            ("[::1", "[::1]", 1, false),
            ("[::1]x", "[::1]", 1, false),
            ("[10.0.0.1]", "10.0.0.1", 1, false),
            (".", "a.test", 1, false),
            ("*.", "a.test", 1, false),
            ("::1:80", "[::1:80]", 80, true),
        ];
        for &(list, host, port, expected) in cases {
            assert_eq!(NoProxy::parse(list).matches(host, port), expected, "NO_PROXY={list:?} for {host}:{port}");
        }
    }

    #[test]
    fn prefix_edges() {
        let v4 = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_prefix(v4("0.0.0.0"), 0, v4("255.255.255.255")));
        assert!(in_prefix(v4("128.0.0.0"), 1, v4("255.0.0.0")));
        assert!(!in_prefix(v4("128.0.0.0"), 1, v4("127.255.255.255")));
        assert!(in_prefix(v4("::"), 0, v4("ffff::")));
        assert!(!in_prefix(v4("::"), 0, v4("0.0.0.0")), "families never mix");
        assert!(in_prefix(v4("::1"), 128, v4("::1")));
        assert!(!in_prefix(v4("::1"), 127, v4("::2")));
        assert!(in_prefix(v4("::2"), 127, v4("::3")));
    }

    #[test]
    fn what_is_kept() {
        assert_eq!(
            NoProxy::parse(".Example.com:81, 10.1.2.3/8, *").entries,
            [
                Entry::Name { name: "example.com".into(), port: Some(81) },
                Entry::Ip { addr: "10.1.2.3".parse().unwrap(), prefix: 8, port: None },
            ]
        );
        assert!(NoProxy::parse("*").all);
        assert!(NoProxy::parse("bad/entry, [::").is_empty());
    }
}
