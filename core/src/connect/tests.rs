//! The connect flow without sockets: each test plays the proxy and the server, answering what
//! the flow sends, and checks every decision (where it connects, what it sends, what it
//! strips).

use super::*;
use crate::cookies::Cookie;
use crate::handshake::{Accept, ServerHandshake};
use crate::proxy::ProxyEnv;
use std::time::Duration;

fn start(url: &str, options: Options) -> ConnectFlow {
    let request = ClientRequest::new(url).unwrap();
    ConnectFlow::with_rng(request, options, Config::default(), Rng::seeded(3), Instant::now(), SystemTime::now())
        .unwrap()
}

fn with_proxy(proxy: &str) -> Options {
    Options { proxy: ProxyConfig::Fixed(Proxy::parse(proxy).unwrap()), ..Options::default() }
}

fn with_credentials(user: &str, password: &str) -> Options {
    Options { credentials: Some(Credentials::new(user, password)), ..Options::default() }
}

fn connect_to(host: &str, port: u16) -> Option<Action> {
    Some(Action::Connect { host: host.into(), port })
}

/// What the flow has to send, as text.
fn sent(flow: &mut ConnectFlow) -> String {
    let mut out = Vec::new();
    flow.poll_transmit(&mut out);
    String::from_utf8(out).unwrap()
}

/// The value of header `name` in a request head, if it has one.
fn header<'a>(request: &'a str, name: &str) -> Option<&'a str> {
    request.lines().find_map(|line| {
        let (n, v) = line.split_once(": ")?;
        n.eq_ignore_ascii_case(name).then_some(v)
    })
}

/// A server's `101` to `request`, with `extra` header lines.
fn accept(request: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let now = Instant::now();
    let incoming = ServerHandshake::new(Config::default(), now).handle_input(request.as_bytes()).unwrap().unwrap();
    let mut answer = Accept::new();
    for (name, value) in extra {
        answer = answer
            .header(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }
    let mut out = Vec::new();
    incoming.accept(answer).unwrap().poll_transmit(now, &mut out);
    out
}

/// Feeds `answer`, expects the upgrade to complete.
fn established(flow: &mut ConnectFlow, answer: &[u8]) -> Established {
    flow.handle_input(answer).unwrap().expect("the upgrade completed")
}

// ---- routes ----

#[test]
fn a_direct_ws_connect_opens_tcp_then_upgrades() {
    let mut flow = start("ws://example.com:9001/chat?room=1", Options::default());
    assert_eq!(flow.poll_action(), connect_to("example.com", 9001));
    assert_eq!(sent(&mut flow), "", "nothing before the connection is open");
    flow.connected();
    assert_eq!(flow.poll_action(), None, "no TLS for ws://");
    let request = sent(&mut flow);
    assert!(request.starts_with("GET /chat?room=1 HTTP/1.1\r\nHost: example.com:9001\r\n"), "{request}");
    let done = established(&mut flow, &accept(&request, &[]));
    assert_eq!(done.response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(done.url, "ws://example.com:9001/chat?room=1");
    assert!(matches!(flow.handle_input(b"more"), Err(ConnectError::Finished)));
}

#[test]
fn wss_starts_tls_for_the_url_host_before_the_upgrade() {
    let mut flow = start("wss://[::1]/chat", Options::default());
    assert_eq!(flow.poll_action(), connect_to("::1", 443));
    flow.connected();
    assert_eq!(flow.poll_action(), Some(Action::StartTls { server_name: "::1".into() }));
    assert_eq!(sent(&mut flow), "", "nothing in the clear");
    flow.tls_established();
    assert!(sent(&mut flow).starts_with("GET /chat HTTP/1.1\r\nHost: [::1]\r\n"));
}

#[test]
fn a_proxy_tunnel_carries_the_upgrade_and_keeps_bytes_after_its_200() {
    let mut flow = start("ws://example.com/chat", with_proxy("http://proxy.test:3128"));
    assert_eq!(flow.poll_action(), connect_to("proxy.test", 3128));
    flow.connected();
    assert_eq!(sent(&mut flow), "CONNECT example.com:80 HTTP/1.1\r\nHost: example.com:80\r\n\r\n");
    // The proxy's 200 arrives in pieces.
    assert!(flow.handle_input(b"HTTP/1.1 200 Connection est").unwrap().is_none());
    assert_eq!(sent(&mut flow), "");
    assert!(flow.handle_input(b"ablished\r\n\r\n").unwrap().is_none());
    let request = sent(&mut flow);
    assert!(request.starts_with("GET /chat HTTP/1.1\r\nHost: example.com\r\n"), "{request}");
    assert_eq!(header(&request, "proxy-authorization"), None);
}

#[test]
fn a_server_answer_in_the_same_read_as_the_proxys_200_is_not_lost() {
    // Seeded alike, a second flow sends the same upgrade request, so its 101 can be made first.
    let mut twin = start("ws://example.com/chat", with_proxy("http://proxy.test:3128"));
    twin.poll_action();
    twin.connected();
    sent(&mut twin);
    twin.handle_input(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
    let answer = accept(&sent(&mut twin), &[]);

    let mut flow = start("ws://example.com/chat", with_proxy("http://proxy.test:3128"));
    flow.poll_action();
    flow.connected();
    sent(&mut flow);
    let mut input = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    input.extend_from_slice(&answer);
    assert!(flow.handle_input(&input).unwrap().is_some());
}

#[test]
fn wss_through_a_proxy_starts_tls_inside_the_tunnel() {
    let mut flow = start("wss://example.com/chat", with_proxy("proxy.test:8080"));
    assert_eq!(flow.poll_action(), connect_to("proxy.test", 8080));
    flow.connected();
    assert!(sent(&mut flow).starts_with("CONNECT example.com:443 HTTP/1.1\r\n"));
    flow.handle_input(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
    assert_eq!(flow.poll_action(), Some(Action::StartTls { server_name: "example.com".into() }));
    flow.tls_established();
    assert!(sent(&mut flow).starts_with("GET /chat HTTP/1.1\r\n"));
}

#[test]
fn bytes_before_tls_inside_a_tunnel_fail_the_connect() {
    let mut flow = start("wss://example.com/chat", with_proxy("proxy.test:8080"));
    flow.poll_action();
    flow.connected();
    sent(&mut flow);
    let err = flow.handle_input(b"HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 101").unwrap_err();
    assert!(matches!(err, ConnectError::ProxyResponse(_)), "{err}");
    assert_eq!(flow.poll_action(), None);
}

#[test]
fn the_environment_chooses_the_proxy_by_scheme_and_no_proxy() {
    let env = ProxyEnv::from_vars([
        ("HTTP_PROXY", "http://plain.proxy:3128"),
        ("HTTPS_PROXY", "http://tls.proxy:3129"),
        ("NO_PROXY", "internal.test"),
    ]);
    let options = Options { proxy: ProxyConfig::FromEnv(env), ..Options::default() };
    let first = |url: &str| start(url, options.clone()).poll_action();
    assert_eq!(first("ws://example.com/"), connect_to("plain.proxy", 3128));
    assert_eq!(first("wss://example.com/"), connect_to("tls.proxy", 3129));
    assert_eq!(first("wss://a.internal.test/"), connect_to("a.internal.test", 443));
}

// ---- proxy authentication ----

#[test]
fn a_407_is_answered_with_basic_on_the_same_connection_once_its_body_is_read() {
    let proxy = Proxy::parse("http://alice:s3cret@proxy.test:3128").unwrap();
    let mut flow = start("ws://example.com/", Options { proxy: ProxyConfig::Fixed(proxy), ..Options::default() });
    flow.poll_action();
    flow.connected();
    let first = sent(&mut flow);
    assert_eq!(header(&first, "proxy-authorization"), None, "not sent before the proxy asks");
    flow.handle_input(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate, NTLM, Basic realm=\"corp\"\r\n\
          Transfer-Encoding: chunked\r\n\r\n5\r\nhel",
    )
    .unwrap();
    assert_eq!(sent(&mut flow), "", "the body is not read yet");
    flow.handle_input(b"lo\r\n0\r\n\r\n").unwrap();
    assert_eq!(flow.poll_action(), None, "the same connection");
    let retry = sent(&mut flow);
    assert!(retry.starts_with("CONNECT example.com:80 HTTP/1.1\r\n"));
    // Basic was chosen over Negotiate and NTLM, which are not supported.
    assert_eq!(header(&retry, "proxy-authorization"), Some("Basic YWxpY2U6czNjcmV0"));
    flow.handle_input(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
    let request = sent(&mut flow);
    assert_eq!(header(&request, "proxy-authorization"), None, "never inside the tunnel");
}

#[test]
fn a_407_that_closes_the_connection_is_answered_on_a_new_one() {
    let proxy = Proxy::parse("http://proxy.test:3128").unwrap().with_credentials("bob", "pw");
    let mut flow = start("wss://example.com/", Options { proxy: ProxyConfig::Fixed(proxy), ..Options::default() });
    flow.poll_action();
    flow.connected();
    sent(&mut flow);
    flow.handle_input(b"HTTP/1.1 407 No\r\nProxy-Authenticate: Basic realm=\"r\"\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(flow.poll_action(), connect_to("proxy.test", 3128));
    flow.connected();
    let retry = sent(&mut flow);
    assert_eq!(header(&retry, "proxy-authorization"), Some("Basic Ym9iOnB3"));
}

#[test]
fn a_407_with_digest_is_answered_for_the_connect_target() {
    let proxy = Proxy::parse("http://proxy.test:3128").unwrap().with_credentials("Mufasa", "Circle of Life");
    let mut flow = start("ws://example.com:8080/", Options { proxy: ProxyConfig::Fixed(proxy), ..Options::default() });
    flow.poll_action();
    flow.connected();
    sent(&mut flow);
    flow.handle_input(
        b"HTTP/1.1 407 Auth\r\nProxy-Authenticate: Digest realm=\"squid\", nonce=\"abc\", qop=\"auth\", algorithm=MD5, \
          Basic realm=\"squid\"\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    let retry = sent(&mut flow);
    let answer = header(&retry, "proxy-authorization").unwrap();
    let parsed = Challenge::parse_credentials(&HeaderValue::from_str(answer).unwrap()).unwrap();
    assert_eq!(parsed.scheme(), &auth::Scheme::Digest, "Digest is stronger than Basic");
    assert_eq!(parsed.param("uri"), Some("example.com:8080"));
    assert_eq!(parsed.param("username"), Some("Mufasa"));
    assert_eq!(parsed.param("nc"), Some("00000001"));
}

#[test]
fn a_wrong_proxy_password_fails_with_the_proxys_answer_after_one_try() {
    let proxy = Proxy::parse("http://proxy.test:3128").unwrap().with_credentials("bob", "wrong");
    let mut flow = start("ws://example.com/", Options { proxy: ProxyConfig::Fixed(proxy), ..Options::default() });
    flow.poll_action();
    flow.connected();
    sent(&mut flow);
    let challenge: &[u8] =
        b"HTTP/1.1 407 Auth\r\nProxy-Authenticate: Basic realm=\"r\"\r\nContent-Length: 6\r\n\r\ndenied";
    flow.handle_input(challenge).unwrap();
    sent(&mut flow);
    let err = flow.handle_input(challenge).unwrap_err();
    let ConnectError::Proxy { status, body, .. } = err else { panic!("{err}") };
    assert_eq!((status, &body[..]), (StatusCode::PROXY_AUTHENTICATION_REQUIRED, &b"denied"[..]));
}

#[test]
fn a_407_without_proxy_credentials_fails_at_once() {
    let mut flow = start("ws://example.com/", with_proxy("proxy.test"));
    flow.poll_action();
    flow.connected();
    sent(&mut flow);
    let err = flow.handle_input(b"HTTP/1.1 407 Auth\r\nProxy-Authenticate: Basic realm=\"r\"\r\n\r\n").unwrap_err();
    assert_eq!(err.http_status(), Some(StatusCode::PROXY_AUTHENTICATION_REQUIRED));
}

// ---- server authentication ----

/// A flow for `url` with `options`, connected, its first request sent and returned.
fn upgrading(url: &str, options: Options) -> (ConnectFlow, String) {
    let mut flow = start(url, options);
    flow.poll_action();
    flow.connected();
    let request = sent(&mut flow);
    (flow, request)
}

#[test]
fn a_401_is_answered_once_and_the_retry_gets_the_101() {
    let (mut flow, first) = upgrading("ws://example.com/chat", with_credentials("Aladdin", "open sesame"));
    assert_eq!(header(&first, "authorization"), None, "no credentials before the server asks");
    flow.handle_input(
        b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"chat\"\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    assert_eq!(flow.poll_action(), None, "the same connection");
    let retry = sent(&mut flow);
    assert_eq!(header(&retry, "authorization"), Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
    let done = established(&mut flow, &accept(&retry, &[]));
    assert_eq!(done.response.status(), 101);
}

#[test]
fn each_upgrade_request_has_its_own_key_even_from_a_seeded_source() {
    let (mut flow, first) = upgrading("ws://example.com/", with_credentials("u", "p"));
    flow.handle_input(b"HTTP/1.1 401 No\r\nWWW-Authenticate: Basic realm=\"r\"\r\nContent-Length: 0\r\n\r\n").unwrap();
    let retry = sent(&mut flow);
    let key = |request: &str| header(request, "sec-websocket-key").unwrap().to_owned();
    assert_ne!(key(&first), key(&retry));
}

#[test]
fn a_second_401_fails_with_its_status_headers_and_body() {
    let (mut flow, _) = upgrading("ws://example.com/chat", with_credentials("u", "wrong"));
    let challenge: &[u8] =
        b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"chat\"\r\nContent-Length: 2\r\n\r\nno";
    flow.handle_input(challenge).unwrap();
    sent(&mut flow);
    let err = flow.handle_input(challenge).unwrap_err();
    let ConnectError::Status { status, headers, body } = err else { panic!("{err}") };
    assert_eq!((status, &body[..]), (StatusCode::UNAUTHORIZED, &b"no"[..]));
    assert!(headers.contains_key(WWW_AUTHENTICATE));
}

#[test]
fn digest_is_answered_for_the_request_target_and_stale_is_retried_once() {
    let (mut flow, _) = upgrading("ws://example.com/dir/index.html?x=1", with_credentials("Mufasa", "Circle of Life"));
    let challenge = |nonce: &str, stale: bool| {
        format!(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"http-auth@example.org\", qop=\"auth\", \
             algorithm=SHA-256, nonce=\"{nonce}\", opaque=\"op\"{}\r\nContent-Length: 0\r\n\r\n",
            if stale { ", stale=true" } else { "" }
        )
    };
    let answer_of = |flow: &mut ConnectFlow| {
        let retry = sent(flow);
        Challenge::parse_credentials(&HeaderValue::from_str(header(&retry, "authorization").unwrap()).unwrap()).unwrap()
    };
    flow.handle_input(challenge("n1", false).as_bytes()).unwrap();
    let first = answer_of(&mut flow);
    assert_eq!(first.param("uri"), Some("/dir/index.html?x=1"));
    assert_eq!(
        (first.param("nonce"), first.param("opaque"), first.param("algorithm")),
        (Some("n1"), Some("op"), Some("SHA-256"))
    );
    // The nonce went stale: one more try with the new one.
    flow.handle_input(challenge("n2", true).as_bytes()).unwrap();
    let second = answer_of(&mut flow);
    assert_eq!((second.param("nonce"), second.param("nc")), (Some("n2"), Some("00000001")));
    // Stale again: no loop.
    let err = flow.handle_input(challenge("n3", true).as_bytes()).unwrap_err();
    assert_eq!(err.http_status(), Some(StatusCode::UNAUTHORIZED));
}

#[test]
fn preauth_sends_basic_with_the_first_request() {
    let options = Options { preauth: true, ..with_credentials("Aladdin", "open sesame") };
    let (_, first) = upgrading("ws://example.com/", options);
    assert_eq!(header(&first, "authorization"), Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
}

#[test]
fn credentials_in_the_url_answer_a_401() {
    let (mut flow, first) = upgrading("ws://Aladdin:open%20sesame@example.com/", Options::default());
    assert_eq!(header(&first, "host"), Some("example.com"), "no credentials in the Host header");
    flow.handle_input(b"HTTP/1.1 401 No\r\nWWW-Authenticate: Basic realm=\"r\"\r\nContent-Length: 0\r\n\r\n").unwrap();
    assert_eq!(header(&sent(&mut flow), "authorization"), Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
}

#[test]
fn a_401_without_credentials_fails_at_once() {
    let (mut flow, _) = upgrading("ws://example.com/", Options::default());
    let err = flow.handle_input(b"HTTP/1.1 401 No\r\nWWW-Authenticate: Basic realm=\"r\"\r\n\r\n").unwrap_err();
    assert_eq!(err.http_status(), Some(StatusCode::UNAUTHORIZED));
}

#[test]
fn a_401_read_until_close_is_answered_on_a_new_connection() {
    let (mut flow, _) = upgrading("ws://example.com/", with_credentials("u", "p"));
    flow.handle_input(b"HTTP/1.1 401 No\r\nWWW-Authenticate: Basic realm=\"r\"\r\n\r\nwhatever").unwrap();
    assert_eq!(flow.poll_action(), connect_to("example.com", 80));
    flow.connected();
    assert_eq!(header(&sent(&mut flow), "authorization"), Some("Basic dTpw"));
}

// ---- redirects ----

#[test]
fn redirects_are_failures_unless_enabled() {
    let (mut flow, _) = upgrading("ws://example.com/", Options::default());
    let err = flow.handle_input(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n\r\n").unwrap_err();
    assert_eq!(err.http_status(), Some(StatusCode::FOUND));
}

fn redirecting(url: &str, mut options: Options) -> (ConnectFlow, String) {
    options.max_redirects = Some(DEFAULT_MAX_REDIRECTS);
    upgrading(url, options)
}

/// Feeds a redirect to `location`, then connects where the flow asks; the next request.
fn redirect(flow: &mut ConnectFlow, status: u16, location: &str, expect: Option<Action>) -> String {
    let answer = format!("HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n");
    assert!(flow.handle_input(answer.as_bytes()).unwrap().is_none());
    assert_eq!(flow.poll_action(), expect);
    flow.connected();
    if matches!(flow.poll_action(), Some(Action::StartTls { .. })) {
        flow.tls_established();
    }
    sent(flow)
}

#[test]
fn each_redirect_status_is_followed_and_locations_resolve() {
    for status in [301, 302, 303, 307, 308] {
        let (mut flow, _) = redirecting("ws://example.com/a/b?q", Options::default());
        let next = redirect(&mut flow, status, "/root", connect_to("example.com", 80));
        assert!(next.starts_with("GET /root HTTP/1.1\r\nHost: example.com\r\n"), "{status}: {next}");
    }
    let (mut flow, _) = redirecting("ws://example.com/a/b?q", Options::default());
    assert!(redirect(&mut flow, 302, "c?d", connect_to("example.com", 80)).starts_with("GET /a/c?d HTTP/1.1\r\n"));
    let next = redirect(&mut flow, 302, "//other.test:81/x", connect_to("other.test", 81));
    assert!(next.starts_with("GET /x HTTP/1.1\r\nHost: other.test:81\r\n"), "{next}");
    let next = redirect(&mut flow, 301, "https://secure.test/y#frag", connect_to("secure.test", 443));
    assert!(next.starts_with("GET /y HTTP/1.1\r\nHost: secure.test\r\n"), "{next}");
}

#[test]
fn the_connect_ends_where_the_redirects_lead() {
    let (mut flow, _) = redirecting("ws://example.com/", Options::default());
    let next = redirect(&mut flow, 307, "ws://other.test:9000/chat", connect_to("other.test", 9000));
    let done = established(&mut flow, &accept(&next, &[]));
    assert_eq!(done.url, "ws://other.test:9000/chat");
}

#[test]
fn another_origin_gets_no_credentials_cookies_or_proxy_credentials() {
    let request = ClientRequest::new("ws://example.com/")
        .unwrap()
        .header(AUTHORIZATION, HeaderValue::from_static("Bearer token"))
        .header(COOKIE, HeaderValue::from_static("session=1"))
        .header(PROXY_AUTHORIZATION, HeaderValue::from_static("Basic eDp5"))
        .header(http::HeaderName::from_static("x-trace"), HeaderValue::from_static("7"));
    let mut options = with_credentials("u", "p");
    options.preauth = true;
    options.max_redirects = Some(5);
    let mut flow =
        ConnectFlow::with_rng(request, options, Config::default(), Rng::seeded(3), Instant::now(), SystemTime::now())
            .unwrap();
    flow.poll_action();
    flow.connected();
    let first = sent(&mut flow);
    assert_eq!(header(&first, "authorization"), Some("Basic dTpw"), "preauth replaces the header given");
    assert_eq!(header(&first, "cookie"), Some("session=1"));
    assert_eq!(header(&first, "proxy-authorization"), None, "never to the server");
    // Same origin, another path: everything stays.
    let same = redirect(&mut flow, 302, "/two", connect_to("example.com", 80));
    assert_eq!((header(&same, "authorization"), header(&same, "cookie")), (Some("Basic dTpw"), Some("session=1")));
    // Another port is another origin: credentials and cookies stay behind; other headers go.
    let other = redirect(&mut flow, 302, "ws://example.com:8080/", connect_to("example.com", 8080));
    assert_eq!((header(&other, "authorization"), header(&other, "cookie")), (None, None));
    assert_eq!(header(&other, "x-trace"), Some("7"));
    // And a 401 there finds no credentials to answer with.
    let err = flow.handle_input(b"HTTP/1.1 401 No\r\nWWW-Authenticate: Basic realm=\"r\"\r\n\r\n").unwrap_err();
    assert_eq!(err.http_status(), Some(StatusCode::UNAUTHORIZED));
}

#[test]
fn another_scheme_is_another_origin() {
    let (mut flow, _) = redirecting("ws://example.com/", Options { preauth: true, ..with_credentials("u", "p") });
    let next = redirect(&mut flow, 302, "wss://example.com/", connect_to("example.com", 443));
    assert_eq!(header(&next, "authorization"), None);
}

#[test]
fn wss_is_never_redirected_to_ws() {
    let mut flow = start("wss://example.com/", Options { max_redirects: Some(3), ..Options::default() });
    flow.poll_action();
    flow.connected();
    flow.tls_established();
    sent(&mut flow);
    let err = flow.handle_input(b"HTTP/1.1 302 Found\r\nLocation: ws://example.com/\r\n\r\n").unwrap_err();
    assert_eq!(err, ConnectError::Redirect(RedirectError::Downgrade));
    let mut flow = start("wss://example.com/", Options { max_redirects: Some(3), ..Options::default() });
    flow.poll_action();
    flow.connected();
    flow.tls_established();
    sent(&mut flow);
    let err = flow.handle_input(b"HTTP/1.1 302 Found\r\nLocation: http://example.com/\r\n\r\n").unwrap_err();
    assert_eq!(err, ConnectError::Redirect(RedirectError::Downgrade));
}

#[test]
fn redirects_stop_at_the_limit_and_at_invalid_locations() {
    let (mut flow, _) = upgrading("ws://example.com/", Options { max_redirects: Some(2), ..Options::default() });
    redirect(&mut flow, 302, "/1", connect_to("example.com", 80));
    redirect(&mut flow, 302, "/2", connect_to("example.com", 80));
    let err = flow.handle_input(b"HTTP/1.1 302 Found\r\nLocation: /3\r\n\r\n").unwrap_err();
    assert_eq!(err, ConnectError::Redirect(RedirectError::TooMany(2)));
    for location in ["ftp://example.com/", "", "ws://", "ws://exa mple.com/"] {
        let (mut flow, _) = redirecting("ws://example.com/", Options::default());
        let answer = format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\n\r\n");
        let err = flow.handle_input(answer.as_bytes()).unwrap_err();
        assert_eq!(err, ConnectError::Redirect(RedirectError::InvalidLocation), "{location:?}");
    }
}

#[test]
fn a_host_that_cannot_be_tunnelled_to_is_refused_before_its_route() {
    // `http::Uri` takes "exa*mple.com" as a host; a CONNECT request cannot name it. Found by
    // the connect_flow fuzz target: the flow sent nothing to the proxy and waited for its
    // answer.
    let request = || ClientRequest::new("ws://exa*mple.com/").unwrap();
    let now = Instant::now();
    let err =
        ConnectFlow::new(request(), with_proxy("proxy.test"), Config::default(), now, SystemTime::now()).unwrap_err();
    assert!(matches!(err, ConnectError::Handshake(HandshakeError::InvalidUrl(_))), "{err}");
    // Without a proxy the name goes to the resolver, which decides.
    assert!(ConnectFlow::new(request(), Options::default(), Config::default(), now, SystemTime::now()).is_ok());
    // Redirected there: the redirect is refused.
    let options = Options { max_redirects: Some(3), ..with_proxy("proxy.test") };
    let (mut flow, _) = upgrading("ws://example.com/", options);
    flow.handle_input(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
    sent(&mut flow);
    let err = flow.handle_input(b"HTTP/1.1 302 Found\r\nLocation: https://secure.tes*/\r\n\r\n").unwrap_err();
    assert_eq!(err, ConnectError::Redirect(RedirectError::InvalidLocation));
}

#[test]
fn a_redirect_chooses_the_proxy_again() {
    let env = ProxyEnv::from_vars([("HTTP_PROXY", "http://proxy.test:3128"), ("NO_PROXY", "internal.test")]);
    let options = Options { proxy: ProxyConfig::FromEnv(env), max_redirects: Some(3), ..Options::default() };
    let mut flow = start("ws://internal.test/", options);
    assert_eq!(flow.poll_action(), connect_to("internal.test", 80));
    flow.connected();
    sent(&mut flow);
    flow.handle_input(b"HTTP/1.1 302 Found\r\nLocation: ws://example.com/\r\nContent-Length: 0\r\n\r\n").unwrap();
    assert_eq!(flow.poll_action(), connect_to("proxy.test", 3128));
    flow.connected();
    assert!(sent(&mut flow).starts_with("CONNECT example.com:80 HTTP/1.1\r\n"));
}

// ---- cookies ----

#[test]
fn cookies_go_where_they_match_and_set_cookie_is_kept_across_redirects() {
    let wall = SystemTime::now();
    let mut jar = Jar::new();
    let origin: Uri = "ws://example.com/".parse().unwrap();
    assert!(jar.add(&origin, Cookie::new("app", "1"), wall));
    let options = Options { cookies: jar, max_redirects: Some(3), ..Options::default() };
    let (mut flow, first) = upgrading("ws://example.com/chat", options);
    assert_eq!(header(&first, "cookie"), Some("app=1"));
    // The redirect sets a cookie for the domain, one only for wss, and one for another path.
    let answer = b"HTTP/1.1 302 Found\r\nLocation: /room\r\nSet-Cookie: sid=42; Domain=example.com; Path=/\r\n\
        Set-Cookie: tls=1; Secure\r\nSet-Cookie: admin=1; Path=/admin\r\nContent-Length: 0\r\n\r\n";
    flow.handle_input(answer).unwrap();
    flow.poll_action();
    flow.connected();
    let next = sent(&mut flow);
    assert_eq!(header(&next, "cookie"), Some("app=1; sid=42"));
    let done = established(&mut flow, &accept(&next, &[("set-cookie", "last=1")]));
    let names: Vec<&str> = done.cookies.iter().map(|c| c.name()).collect();
    assert!(names.contains(&"last") && names.contains(&"sid"), "{names:?}");
    assert!(!names.contains(&"tls"), "a Secure cookie set over ws:// is refused: {names:?}");
    assert_eq!(crate::cookies::response_cookies(done.response.headers())[0].name(), "last");
}

#[test]
fn the_applications_cookie_header_and_the_jars_cookies_go_in_one_header() {
    let request = ClientRequest::new("ws://example.com/").unwrap().header(COOKIE, HeaderValue::from_static("app=1"));
    let mut jar = Jar::new();
    jar.add(&"ws://example.com/".parse().unwrap(), Cookie::new("jar", "2"), SystemTime::now());
    let options = Options { cookies: jar, ..Options::default() };
    let mut flow =
        ConnectFlow::with_rng(request, options, Config::default(), Rng::seeded(3), Instant::now(), SystemTime::now())
            .unwrap();
    flow.poll_action();
    flow.connected();
    let request = sent(&mut flow);
    // RFC 6265 section 5.4: no more than one Cookie header field.
    assert_eq!(request.matches("\r\ncookie: ").count(), 1, "{request}");
    assert_eq!(header(&request, "cookie"), Some("app=1; jar=2"));
}

#[test]
fn a_redirect_to_another_host_sends_only_its_own_cookies() {
    let wall = SystemTime::now();
    let mut jar = Jar::new();
    jar.add(&"ws://example.com/".parse().unwrap(), Cookie::new("app", "1"), wall);
    let options = Options { cookies: jar, max_redirects: Some(3), ..Options::default() };
    let (mut flow, _) = upgrading("ws://example.com/", options);
    let next = redirect(&mut flow, 302, "ws://other.test/", connect_to("other.test", 80));
    assert_eq!(header(&next, "cookie"), None);
}

// ---- answers of every kind ----

#[test]
fn interim_responses_before_the_101_are_skipped() {
    let (mut flow, request) = upgrading("ws://example.com/", Options::default());
    let mut answer = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n".to_vec();
    answer.extend_from_slice(&accept(&request, &[]));
    // In one read, and split at every byte.
    for split in 0..answer.len() {
        let mut flow = start("ws://example.com/", Options::default());
        flow.poll_action();
        flow.connected();
        sent(&mut flow);
        let (a, b) = answer.split_at(split);
        let done = match flow.handle_input(a).unwrap() {
            Some(done) => done,
            None => flow.handle_input(b).unwrap().expect("complete"),
        };
        assert_eq!(done.response.status(), 101, "split at {split}");
    }
    assert!(flow.handle_input(&answer).unwrap().is_some());
}

#[test]
fn every_split_of_a_proxied_authenticated_exchange_gives_the_same_result() {
    let proxy = Proxy::parse("http://proxy.test:3128").unwrap().with_credentials("p", "q");
    let options = || Options { proxy: ProxyConfig::Fixed(proxy.clone()), ..with_credentials("u", "v") };
    // Each answer comes after the request it answers.
    let answers: [&[u8]; 3] = [
        b"HTTP/1.1 407 Auth\r\nProxy-Authenticate: Basic realm=\"r\"\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n",
        b"HTTP/1.1 401 Auth\r\nWWW-Authenticate: Basic realm=\"s\"\r\nContent-Length: 3\r\n\r\nxyz",
    ];
    // The answers, the one at `split.0` cut at `split.1`.
    let run = |split: Option<(usize, usize)>| {
        let mut flow = start("ws://example.com/", options());
        flow.poll_action();
        flow.connected();
        let mut out = sent(&mut flow);
        for (i, answer) in answers.iter().enumerate() {
            let at = split.filter(|(which, _)| *which == i).map_or(answer.len(), |(_, at)| at);
            for piece in [&answer[..at], &answer[at..]] {
                assert!(flow.handle_input(piece).unwrap().is_none());
                out.push_str(&sent(&mut flow));
            }
        }
        assert_eq!(flow.poll_action(), None, "one connection throughout");
        out
    };
    let whole = run(None);
    assert_eq!(whole.matches("CONNECT ").count(), 2);
    assert_eq!(header(whole.rsplit("GET ").next().unwrap(), "authorization"), Some("Basic dTp2"), "{whole}");
    for (i, answer) in answers.iter().enumerate() {
        for at in 0..answer.len() {
            assert_eq!(run(Some((i, at))), whole, "answer {i} split at {at}");
        }
    }
}

#[test]
fn a_proxys_200_before_the_retry_is_sent_gets_no_proxy_credentials_into_the_tunnel() {
    // Found by the connect_flow fuzz target: a 407 and a 200 in one read. The 200 cannot answer
    // the retry, which is not sent yet; read as its answer, the retry's CONNECT with
    // Proxy-Authorization went into the tunnel (to the target, or under its TLS).
    let challenge: &[u8] =
        b"HTTP/1.1 407 Auth\r\nProxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 0\r\n\r\n";
    let tunnel: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\n";
    for url in ["ws://example.com/", "wss://example.com/"] {
        // In one read, and in two with no write in between: the same.
        for pieces in [vec![[challenge, tunnel].concat()], vec![challenge.to_vec(), tunnel.to_vec()]] {
            let proxy = Proxy::parse("http://alice:s3cret@proxy.test:3128").unwrap();
            let mut flow = start(url, Options { proxy: ProxyConfig::Fixed(proxy), ..Options::default() });
            flow.poll_action();
            flow.connected();
            sent(&mut flow);
            let (last, first) = pieces.split_last().unwrap();
            for piece in first {
                assert!(flow.handle_input(piece).unwrap().is_none());
            }
            let err = flow.handle_input(last).unwrap_err();
            assert!(matches!(err, ConnectError::ProxyResponse(_)), "{url}: {err}");
            assert_eq!(sent(&mut flow), "", "{url}: the retry never goes out");
            assert_eq!(flow.poll_action(), None, "{url}: no TLS, no new connection");
        }
    }
}

#[test]
fn a_challenge_body_that_breaks_means_a_new_connection_in_whichever_read_it_breaks() {
    // The chunk of 3 bytes is followed by "X" where its CRLF must be: the body cannot be read
    // to its end, so the retry cannot use this connection. Found by the connect_flow fuzz
    // target: when the bad chunk came in a read after the head's, the connect failed instead.
    let body = b"3\r\nabcX\r\n0\r\n\r\n";
    let proxy = Proxy::parse("http://proxy.test:3128").unwrap().with_credentials("p", "q");
    let proxied = || Options { proxy: ProxyConfig::Fixed(proxy.clone()), ..Options::default() };
    let cases: [(Options, &[u8], &str); 2] = [
        (with_credentials("u", "v"), b"HTTP/1.1 401 No\r\nWWW-Authenticate: Basic realm=\"r\"\r\n", "authorization"),
        (proxied(), b"HTTP/1.1 407 No\r\nProxy-Authenticate: Basic realm=\"r\"\r\n", "proxy-authorization"),
    ];
    for (options, head, answer) in cases {
        let challenge = [head, b"Transfer-Encoding: chunked\r\n\r\n", body].concat();
        for split in 0..=challenge.len() {
            let (mut flow, _) = upgrading("ws://example.com/", options.clone());
            let (a, b) = challenge.split_at(split);
            assert!(flow.handle_input(a).unwrap().is_none(), "split at {split}");
            if flow.poll_action().is_none() {
                assert!(flow.handle_input(b).unwrap().is_none(), "split at {split}");
                assert_eq!(sent(&mut flow), "", "no retry on this connection (split at {split})");
                assert!(flow.poll_action().is_some(), "split at {split}");
            }
            flow.connected();
            assert!(header(&sent(&mut flow), answer).is_some(), "the retry, split at {split}");
        }
    }
}

#[test]
fn nothing_is_left_to_send_once_the_flow_failed() {
    // The 401's body ends and its retry is queued; the connect then fails (here at its
    // deadline) before the driver took the retry: it must not go out after the failure. Found
    // by the connect_flow fuzz target.
    let now = Instant::now();
    let request = ClientRequest::new("ws://example.com/").unwrap();
    let mut flow = ConnectFlow::with_rng(
        request,
        with_credentials("u", "p"),
        Config::default(),
        Rng::seeded(3),
        now,
        SystemTime::now(),
    )
    .unwrap();
    flow.poll_action();
    flow.connected();
    sent(&mut flow);
    flow.handle_input(b"HTTP/1.1 401 No\r\nWWW-Authenticate: Basic realm=\"r\"\r\nContent-Length: 0\r\n\r\n").unwrap();
    let deadline = flow.poll_timeout().unwrap();
    assert!(matches!(flow.handle_timeout(deadline), Err(ConnectError::Timeout)));
    assert_eq!(sent(&mut flow), "");
}

#[test]
fn an_answer_before_the_retry_was_taken_fails_the_connect() {
    // Nothing can answer a retry that is not sent yet: whatever follows a challenge's body
    // before the driver took the retry (garbage, or an answer the peer made up) fails the
    // connect, and the retry never goes out.
    let (mut flow, first) = upgrading("ws://example.com/", with_credentials("u", "p"));
    let mut answer = b"HTTP/1.1 401 No\r\nWWW-Authenticate: Basic realm=\"r\"\r\nContent-Length: 0\r\n\r\n".to_vec();
    answer.extend_from_slice(&accept(&first, &[]));
    let err = flow.handle_input(&answer).unwrap_err();
    assert!(matches!(err, ConnectError::Handshake(HandshakeError::InvalidResponse(_))), "{err}");
    assert_eq!(sent(&mut flow), "");
    let proxy = Proxy::parse("http://proxy.test:3128").unwrap().with_credentials("p", "q");
    let (mut flow, _) =
        upgrading("ws://example.com/", Options { proxy: ProxyConfig::Fixed(proxy), ..Options::default() });
    let answer =
        b"HTTP/1.1 407 No\r\nProxy-Authenticate: Basic realm=\"r\"\r\nContent-Length: 0\r\n\r\nSSH-2.0\r\n\r\n";
    assert!(matches!(flow.handle_input(answer), Err(ConnectError::ProxyResponse(_))));
    assert_eq!(sent(&mut flow), "");
    // Once the driver took the retry, what arrives is its answer.
    let (mut flow, _) = upgrading("ws://example.com/", with_credentials("u", "p"));
    flow.handle_input(b"HTTP/1.1 401 No\r\nWWW-Authenticate: Basic realm=\"r\"\r\nContent-Length: 0\r\n\r\n").unwrap();
    let retry = sent(&mut flow);
    assert!(flow.handle_input(&accept(&retry, &[])).unwrap().is_some());
}

#[test]
fn the_deadline_covers_the_whole_connect() {
    let config = Config { handshake_timeout: Duration::from_secs(5), ..Config::default() };
    let now = Instant::now();
    let request = ClientRequest::new("ws://example.com/").unwrap();
    let mut flow =
        ConnectFlow::with_rng(request, with_proxy("proxy.test"), config, Rng::seeded(1), now, SystemTime::now())
            .unwrap();
    flow.poll_action();
    flow.connected();
    flow.handle_input(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
    assert_eq!(flow.poll_timeout(), Some(now + Duration::from_secs(5)), "one deadline, not one per step");
    assert!(flow.handle_timeout(now + Duration::from_secs(4)).is_ok());
    assert_eq!(flow.handle_timeout(now + Duration::from_secs(5)), Err(ConnectError::Timeout));
    assert!(matches!(flow.handle_input(b"HTTP/1.1 101"), Err(ConnectError::Finished)));
}

#[test]
fn a_connection_closed_before_the_answer_fails() {
    let (mut flow, _) = upgrading("ws://example.com/", Options::default());
    flow.handle_input(b"HTTP/1.1 101 Swi").unwrap();
    assert!(matches!(flow.handle_eof(), Err(ConnectError::UnexpectedEof)));
}

#[test]
fn a_closed_connection_while_reading_a_challenge_body_means_a_new_one() {
    let (mut flow, _) = upgrading("ws://example.com/", with_credentials("u", "p"));
    flow.handle_input(b"HTTP/1.1 401 No\r\nWWW-Authenticate: Basic realm=\"r\"\r\nContent-Length: 100\r\n\r\nabc")
        .unwrap();
    assert_eq!(flow.poll_action(), None);
    assert!(flow.handle_eof().unwrap().is_none());
    assert_eq!(flow.poll_action(), connect_to("example.com", 80));
}

#[test]
fn invalid_answers_fail_with_their_own_errors() {
    let (mut flow, _) = upgrading("ws://example.com/", Options::default());
    let err = flow.handle_input(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n").unwrap_err();
    assert!(matches!(err, ConnectError::Handshake(HandshakeError::InvalidResponse(_))), "{err}");
    let (mut flow, _) = upgrading("ws://example.com/", Options::default());
    let err = flow.handle_input(b"SSH-2.0-OpenSSH\r\n\r\n").unwrap_err();
    assert!(matches!(err, ConnectError::Handshake(_)), "{err}");
    let mut flow = start("ws://example.com/", with_proxy("proxy.test"));
    flow.poll_action();
    flow.connected();
    let err = flow.handle_input(&vec![b'x'; 20 << 10]).unwrap_err();
    assert!(matches!(err, ConnectError::ProxyResponse(Http1Error::HeadTooLarge)), "{err}");
}

#[test]
fn invalid_builder_input_is_refused_at_the_start() {
    let request = ClientRequest::new("ws://example.com/").unwrap().protocol("not a token");
    let err = ConnectFlow::new(request, Options::default(), Config::default(), Instant::now(), SystemTime::now())
        .unwrap_err();
    assert!(matches!(err, ConnectError::Handshake(HandshakeError::InvalidRequest(_))));
}
