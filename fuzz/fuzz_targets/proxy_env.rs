//! Proxy selection fed arbitrary `NO_PROXY` lists, target hosts and proxy URLs.
//!
//! Input: two bytes of target port (big-endian), then UTF-8 text: the target host, a newline,
//! the `NO_PROXY` list, a newline, a proxy URL (missing parts are empty).
//!
//! Checked: no panic; a list with `*` appended matches every target; a list with the target
//! host appended matches it on every port, when the host is a name (letters, digits, `-`, `_`,
//! `.`, not only dots) or an IP address (IPv6 with or without brackets); the environment never
//! picks a proxy for a target its `NO_PROXY` matches; a proxy URL that parses gives a proxy
//! whose `Display` parses again to the same host and port; a `CONNECT` request that is written
//! has exactly its three line ends and names the target in brackets when it is IPv6.
#![no_main]

use laputa_core::proxy::{connect_request, NoProxy, Proxy, ProxyEnv};
use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;

fuzz_target!(|data: &[u8]| {
    let [high, low, text @ ..] = data else { return };
    let port = u16::from_be_bytes([*high, *low]);
    let Ok(text) = std::str::from_utf8(text) else { return };
    let mut parts = text.splitn(3, '\n');
    let (host, list, url) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));

    let no_proxy = NoProxy::parse(list);
    let direct = no_proxy.matches(host, port);
    assert!(NoProxy::parse(&format!("{list},*")).matches(host, port), "`*` matches {host:?}");
    if is_plain_host(host) {
        let with_host = NoProxy::parse(&format!("{list},{host}"));
        assert!(with_host.matches(host, port), "{host:?} appended to {list:?}");
        assert!(with_host.matches(host, port.wrapping_add(1)), "{host:?} appended, on every port");
    }

    let env = ProxyEnv::from_vars([("ALL_PROXY", url), ("NO_PROXY", list)]);
    for secure in [false, true] {
        let chosen = env.select(host, port, secure);
        if direct {
            assert!(chosen.is_none(), "NO_PROXY={list:?} matches {host:?}, yet a proxy was chosen");
        }
    }

    if let Ok(proxy) = Proxy::parse(url) {
        assert_ne!(proxy.port(), 0);
        let again = Proxy::parse(&proxy.to_string()).expect("a proxy's Display parses");
        assert_eq!((again.host(), again.port()), (proxy.host(), proxy.port()));
        assert!(again.credentials().is_none(), "Display never shows credentials");
    }

    if let Ok(request) = connect_request(host, port, None) {
        let text = std::str::from_utf8(&request).expect("the request is ASCII");
        assert_eq!(text.matches("\r\n").count(), 3, "{text:?}");
        assert_eq!(text.matches('\n').count(), 3, "{text:?}");
        assert!(text.ends_with("\r\n\r\n"));
        let unbracketed = host.trim_start_matches('[').trim_end_matches(']');
        if unbracketed.parse::<std::net::Ipv6Addr>().is_ok() {
            assert!(text.starts_with(&format!("CONNECT [{unbracketed}]:{port} HTTP/1.1\r\n")), "{text:?}");
        } else {
            assert!(text.starts_with(&format!("CONNECT {host}:{port} HTTP/1.1\r\n")), "{text:?}");
        }
    }
});

/// A host that, as a `NO_PROXY` entry, names itself: an IP address, or a name of letters,
/// digits, `-`, `_` and `.` that is not only dots.
fn is_plain_host(host: &str) -> bool {
    let unbracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    if let Some(v6) = unbracketed {
        return v6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    if host.parse::<IpAddr>().is_ok() {
        return true;
    }
    host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && host.bytes().any(|b| b != b'.')
}
