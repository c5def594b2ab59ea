//! The cookie jar fed arbitrary `Set-Cookie` values from a set of URLs, with time moving on.
//!
//! Input: a list of operations, each an operation byte and a line (up to `\n`). The byte's low
//! four bits pick one of the URLs in `URLS`; its high bits pick the operation: store the line
//! as a `Set-Cookie` of the answer from that URL, add it as the application's cookie for that
//! URL, move time on by the line's length in seconds, or make the `Cookie` header for that URL.
//! The jar's limits are small (4 per domain, 12 in all, 64 bytes) so that eviction runs.
//!
//! Checked: no panic; the jar stays within its limits; every cookie's domain is a host that
//! stored or added a cookie, or a domain above such a host name, and a cookie that is not
//! host-only has a domain with a dot that is no IP address; a `Cookie` header sends exactly the
//! cookies that match the URL, as checked here apart from the jar (domain-match of RFC 6265
//! section 5.1.3, path-match of section 5.1.4, secure only over wss://, not expired): never a
//! cookie to a host it does not domain-match.
#![no_main]

use laputa_core::cookies::{Cookie, Jar, JarLimits, StoredCookie};
use laputa_core::http::{HeaderValue, Uri};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, SystemTime};

/// URL, its host as the jar compares it, whether that is an IP address, its path, whether it
/// is secure.
const URLS: [(&str, &str, bool, &str, bool); 12] = [
    ("ws://example.com/", "example.com", false, "/", false),
    ("wss://example.com/a/b", "example.com", false, "/a/b", true),
    ("ws://a.example.com/a", "a.example.com", false, "/a", false),
    ("wss://B.A.Example.com/a/", "b.a.example.com", false, "/a/", true),
    ("ws://example.org/", "example.org", false, "/", false),
    ("ws://notexample.com/x/y/z", "notexample.com", false, "/x/y/z", false),
    ("wss://com/", "com", false, "/", true),
    ("ws://10.0.0.1/", "10.0.0.1", true, "/", false),
    ("wss://x.0.0.1/", "x.0.0.1", false, "/", true),
    ("ws://[::1]:9000/", "::1", true, "/", false),
    ("wss://[0:0::1]/p", "::1", true, "/p", true),
    ("ws://localhost/p/q", "localhost", false, "/p/q", false),
];

fuzz_target!(|data: &[u8]| {
    let mut limits = JarLimits::default();
    limits.per_domain = 4;
    limits.total = 12;
    limits.cookie_size = 64;
    let mut jar = Jar::with_limits(limits);
    let mut now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    // Hosts that stored or added a cookie.
    let mut setters: Vec<(&str, bool)> = Vec::new();

    let mut rest = data;
    while let [op, tail @ ..] = rest {
        let end = tail.iter().position(|&b| b == b'\n').unwrap_or(tail.len());
        let line = &tail[..end];
        rest = tail.get(end + 1..).unwrap_or_default();
        let (url, host, is_ip, path, secure) = URLS[usize::from(op & 0x0f) % URLS.len()];
        let uri: Uri = url.parse().expect("the URLs parse");
        match op >> 4 {
            0..=7 => {
                let Ok(value) = HeaderValue::from_bytes(line) else { continue };
                jar.store(&uri, &value, now);
                setters.push((host, is_ip));
            }
            8..=9 => {
                let Ok(text) = std::str::from_utf8(line) else { continue };
                let Ok(cookie) = Cookie::parse(text) else { continue };
                jar.add(&uri, cookie, now);
                setters.push((host, is_ip));
            }
            10..=11 => now += Duration::from_secs(line.len() as u64),
            _ => check_header(&jar, &uri, host, is_ip, path, secure, now),
        }
        check_jar(&jar, &limits, &setters);
    }
    for (url, host, is_ip, path, secure) in URLS {
        check_header(&jar, &url.parse().unwrap(), host, is_ip, path, secure, now);
    }
});

fn check_jar(jar: &Jar, limits: &JarLimits, setters: &[(&str, bool)]) {
    assert!(jar.len() <= limits.total, "{} cookies", jar.len());
    for cookie in jar.iter() {
        let same_domain = jar.iter().filter(|c| c.domain() == cookie.domain()).count();
        assert!(same_domain <= limits.per_domain, "{same_domain} cookies for {}", cookie.domain());
        assert!(
            cookie.name().len() + cookie.value().len() + cookie.domain().len() + cookie.path().len()
                <= limits.cookie_size
        );
        assert!(
            setters.iter().any(|&(host, is_ip)| domain_match(host, is_ip, cookie.domain())),
            "{:?} has a domain no setter domain-matches",
            cookie
        );
        if !cookie.host_only() {
            assert!(cookie.domain().contains('.'), "{cookie:?}");
            assert!(cookie.domain().parse::<std::net::IpAddr>().is_err(), "{cookie:?}");
        }
        assert!(cookie.path().starts_with('/'));
    }
}

/// The header for `uri` holds exactly the cookies that match it, checked here apart from the jar.
fn check_header(jar: &Jar, uri: &Uri, host: &str, is_ip: bool, path: &str, secure: bool, now: SystemTime) {
    let matching = |c: &&StoredCookie| {
        let domain_ok = if c.host_only() { c.domain() == host } else { domain_match(host, is_ip, c.domain()) };
        domain_ok
            && path_match(path, c.path())
            && (!c.secure() || secure)
            && c.expires().is_none_or(|expires| expires > now)
    };
    let expected = jar.iter().filter(matching).count();
    let Some(header) = jar.cookie_header(uri, now) else {
        assert_eq!(expected, 0, "no Cookie header for {uri}, yet {expected} cookies match");
        return;
    };
    let header = std::str::from_utf8(header.as_bytes()).expect("names and values come from UTF-8");
    let pairs: Vec<&str> = header.split("; ").collect();
    assert_eq!(pairs.len(), expected, "{header:?} for {uri}");
    for pair in pairs {
        let (name, value) = pair.split_once('=').expect("name=value");
        assert!(
            jar.iter().filter(matching).any(|c| c.name() == name && c.value() == value),
            "{pair:?} sent to {uri} does not match it"
        );
    }
}

/// RFC 6265 section 5.1.3.
fn domain_match(host: &str, is_ip: bool, domain: &str) -> bool {
    host == domain
        || (!is_ip
            && host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

/// RFC 6265 section 5.1.4.
fn path_match(request: &str, cookie: &str) -> bool {
    request == cookie
        || (request.starts_with(cookie)
            && (cookie.ends_with('/') || request.as_bytes().get(cookie.len()) == Some(&b'/')))
}
