//! The server's decisions end to end: a request read by `ServerHandshake`, decided by a
//! `Router`, answered by `IncomingRequest::answer`; authentication with the real `ClientAuth`.

use super::*;
use crate::auth::{choose, digest_ha1, Challenge, ClientAuth, Credentials, DigestAlgorithm, Scheme, ServerAuth};
use crate::cookies::Cookie;
use crate::handshake::{Accept, Answer, HandshakeError, IncomingRequest, Reject, ServerHandshake};
use crate::http1::{Limits, ResponseHead, ResponseReader};
use crate::{Config, DeflateConfig, Rng};
use http::header::{AUTHORIZATION, SEC_WEBSOCKET_ACCEPT, WWW_AUTHENTICATE};
use http::{HeaderName, HeaderValue, Method, StatusCode};
use std::sync::Arc;
use std::time::Instant;

const NOW: u64 = 1_700_000_000;
const SECRET: &[u8] = b"a server secret of 32 bytes.....";

/// An upgrade request for `path` with extra header lines.
fn request_with(config: Config, path: &str, extra: &[(&str, &str)]) -> IncomingRequest {
    let mut head = format!(
        "GET {path} HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    ServerHandshake::new(config, Instant::now()).handle_input(head.as_bytes()).unwrap().expect("a complete request")
}

fn request(path: &str, extra: &[(&str, &str)]) -> IncomingRequest {
    request_with(Config::default(), path, extra)
}

/// The 101 an accept writes, as text.
fn response_101(request: IncomingRequest, accept: Accept) -> String {
    let mut connection = request.accept(accept).unwrap();
    let mut out = Vec::new();
    connection.poll_transmit(Instant::now(), &mut out);
    String::from_utf8(out).unwrap()
}

fn status(decision: Result<Admitted, Reject>) -> u16 {
    decision.map(|_| 101).unwrap_or_else(|reject| reject.status().as_u16())
}

fn user(decision: Result<Admitted, Reject>) -> Option<User> {
    decision.expect("admitted").user
}

#[test]
fn routing_and_404() {
    let mut router = Router::new();
    router.insert("/echo", Admission::new()).unwrap();
    router.insert("/chat/", Admission::new().protocols(["chat"])).unwrap();
    let decide = |path: &str| router.decide(&request(path, &[("Sec-WebSocket-Protocol", "chat")]), NOW);
    assert_eq!(decide("/echo").unwrap().1.accept.protocol, None);
    assert_eq!(decide("/chat").unwrap().1.accept.protocol.as_deref(), Some("chat"));
    assert_eq!(decide("/chat/?room=1").unwrap().1.accept.protocol.as_deref(), Some("chat"));
    assert_eq!(decide("ws://example.com/%65cho").unwrap().1.accept.protocol, None);
    for missing in ["/", "/ech", "/echo/x", "/Echo", "/x/../echo", "/echo%2F"] {
        let reject = decide(missing).unwrap_err();
        assert_eq!(reject.status(), StatusCode::NOT_FOUND, "{missing}");
    }
    // The service itself comes back with the decision.
    let mut named = Router::new();
    named.insert("/a", Named("a", Admission::new())).unwrap();
    assert_eq!(named.decide(&request("/a", &[]), NOW).unwrap().0 .0, "a");
}

struct Named(&'static str, Admission);

impl AsRef<Admission> for Named {
    fn as_ref(&self) -> &Admission {
        &self.1
    }
}

#[test]
fn each_validator_answers_its_status() {
    let host = Admission::new().host(|host| host == Some("example.com"));
    assert_eq!(status(host.admit(&request("/", &[]), NOW)), 101);
    let other_host = Admission::new().host(|host| host == Some("other.example"));
    assert_eq!(status(other_host.admit(&request("/", &[]), NOW)), 400);

    let origin = Admission::new().origin(|origin| origin == Some("https://example.com"));
    assert_eq!(status(origin.admit(&request("/", &[("Origin", "https://example.com")]), NOW)), 101);
    assert_eq!(status(origin.admit(&request("/", &[("Origin", "https://evil.example")]), NOW)), 403);
    assert_eq!(status(origin.admit(&request("/", &[]), NOW)), 403, "no Origin is None");

    let cookies = Admission::new().cookies(|sent, _| sent.get("session") == Some("ok"));
    assert_eq!(status(cookies.admit(&request("/", &[("Cookie", "a=1; session=ok")]), NOW)), 101);
    assert_eq!(status(cookies.admit(&request("/", &[("Cookie", "session=bad")]), NOW)), 400);
    assert_eq!(status(cookies.admit(&request("/", &[]), NOW)), 400);

    // The order: Host, then authentication, then Origin, then cookies.
    let all = Admission::new()
        .host(|host| host == Some("example.com"))
        .auth(ServerAuth::basic("r"), |_| None)
        .origin(|_| false)
        .cookies(|_, _| false);
    assert_eq!(status(all.admit(&request("/", &[]), NOW)), 401);
    let all = all.host(|_| false);
    assert_eq!(status(all.admit(&request("/", &[]), NOW)), 400);
    let no_auth = Admission::new().origin(|_| false).cookies(|_, _| false);
    assert_eq!(status(no_auth.admit(&request("/", &[]), NOW)), 403);
}

#[test]
fn refusals_are_complete_responses() {
    let admission = Admission::new().origin(|_| false);
    let request = request("/", &[("Origin", "https://evil.example")]);
    let reject = admission.admit(&request, NOW).unwrap_err();
    let Answer::Refuse { response, error } = request.answer(Err(reject)) else { panic!("refused") };
    assert_eq!(error.http_status(), Some(StatusCode::FORBIDDEN));
    let text = String::from_utf8(response).unwrap();
    assert!(text.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\norigin not allowed\n"), "{text}");
}

#[test]
fn subprotocol_choice() {
    let offered = [("Sec-WebSocket-Protocol", "v3, v2"), ("Sec-WebSocket-Protocol", "v1")];
    let protocol = |ours: &[&str]| {
        let admission = Admission::new().protocols(ours.iter().copied());
        admission.admit(&request("/", &offered), NOW).unwrap().accept.protocol
    };
    // The client's first offer that we speak, whatever our order.
    assert_eq!(protocol(&["v1", "v2"]).as_deref(), Some("v2"));
    assert_eq!(protocol(&["v1"]).as_deref(), Some("v1"));
    assert_eq!(protocol(&["v4"]), None, "none in common: accepted without one");
    assert_eq!(protocol(&[]), None);
    let accept = Admission::new().protocols(["v1"]).admit(&request("/", &offered), NOW).unwrap().accept;
    assert!(response_101(request("/", &offered), accept).contains("\r\nSec-WebSocket-Protocol: v1\r\n"));
    // No offer at all.
    let admitted = Admission::new().protocols(["v1"]).admit(&request("/", &[]), NOW).unwrap();
    assert!(!response_101(request("/", &[]), admitted.accept).contains("Sec-WebSocket-Protocol"));
}

#[test]
fn ignore_extensions_and_service_config() {
    let config = Config { deflate: Some(DeflateConfig::default()), ..Config::default() };
    let offer = [("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")];
    let answered = |admission: Admission| {
        let accept = admission.admit(&request_with(config.clone(), "/", &offer), NOW).unwrap().accept;
        response_101(request_with(config.clone(), "/", &offer), accept).to_ascii_lowercase()
    };
    assert!(answered(Admission::new()).contains("\r\nsec-websocket-extensions: permessage-deflate"));
    assert!(!answered(Admission::new().ignore_extensions(true)).contains("sec-websocket-extensions"));
    assert!(answered(Admission::new().ignore_extensions(false)).contains("sec-websocket-extensions"));
    // A service's own Config decides deflate and runs the connection.
    let plain = Config { max_message_size: 1234, ..Config::default() };
    assert!(!answered(Admission::new().config(plain.clone())).contains("sec-websocket-extensions"));
    let accept = Admission::new().config(plain).admit(&request("/", &[]), NOW).unwrap().accept;
    let connection = request("/", &[]).accept(accept).unwrap();
    assert_eq!(connection.config().max_message_size, 1234);
    // And the other way: deflate for a service though the handshake's Config has none.
    let accept = Admission::new().config(config.clone()).admit(&request("/", &offer), NOW).unwrap().accept;
    assert!(response_101(request("/", &offer), accept).contains("sec-websocket-extensions: permessage-deflate"));
}

#[test]
fn extra_headers_and_cookies_on_the_101() {
    let admission = Admission::new()
        .header(HeaderName::from_static("x-served-by"), HeaderValue::from_static("laputa"))
        .cookies(|sent, set| {
            if sent.get("session").is_none() {
                set.push(Cookie::build(("session", "s1")).http_only(true).build());
                set.push(Cookie::new("seen", "1"));
            }
            true
        });
    let accept = admission.admit(&request("/", &[]), NOW).unwrap().accept;
    let text = response_101(request("/", &[]), accept);
    assert!(text.contains("\r\nx-served-by: laputa\r\n"), "{text}");
    assert!(text.contains("\r\nset-cookie: session=s1; HttpOnly\r\nset-cookie: seen=1\r\n"), "{text}");
    let accept = admission.admit(&request("/", &[("Cookie", "session=s1")]), NOW).unwrap().accept;
    assert!(!response_101(request("/", &[]), accept).contains("set-cookie"));
}

#[test]
fn a_failed_accept_answers_500() {
    let refused = |accept: Accept| match request("/", &[]).answer(Ok(accept)) {
        Answer::Refuse { response, error } => (String::from_utf8(response).unwrap(), error),
        Answer::Upgrade { .. } => panic!("accepted"),
    };
    let (response, error) = refused(Accept::new().protocol("x"));
    assert!(response.starts_with("HTTP/1.1 500 Internal Server Error\r\n"), "{response}");
    assert_eq!(error, HandshakeError::InvalidAccept("subprotocol not offered by the client"));
    let (response, error) = refused(Accept::new().header(SEC_WEBSOCKET_ACCEPT, HeaderValue::from_static("x")));
    assert!(response.starts_with("HTTP/1.1 500 "), "{response}");
    assert!(matches!(error, HandshakeError::InvalidAccept(_)));
    let (response, _) = refused(Accept::new().cookie(Cookie::new("a", "line\nbreak")));
    assert!(response.starts_with("HTTP/1.1 500 "), "{response}");
    // An admission's reserved header is the server's mistake too.
    let admission = Admission::new().header(http::header::UPGRADE, HeaderValue::from_static("h2c"));
    let accept = admission.admit(&request("/", &[]), NOW).unwrap().accept;
    assert!(matches!(request("/", &[]).answer(Ok(accept)), Answer::Refuse { .. }));
    // A rejection keeps its status.
    let Answer::Refuse { response, error } = request("/", &[]).answer(Err(Reject::new(StatusCode::IM_A_TEAPOT))) else {
        panic!("refused")
    };
    assert!(response.starts_with(b"HTTP/1.1 418 "));
    assert_eq!(error.http_status(), Some(StatusCode::IM_A_TEAPOT));
}

// Authentication, with the real client.

type FindUser = fn(&str) -> Option<UserSecret>;

fn password_of(user: &str) -> Option<UserSecret> {
    (user == "alice").then(|| UserSecret::password("wonderland").roles(["admin", "chat"]))
}

fn hashes_of(user: &str) -> Option<UserSecret> {
    (user == "alice").then(|| {
        UserSecret::digest_hashes(
            digest_ha1(DigestAlgorithm::Md5, "alice", "chat", "wonderland"),
            digest_ha1(DigestAlgorithm::Sha256, "alice", "chat", "wonderland"),
        )
        .roles(["hashed"])
    })
}

/// The challenges of a 401, checked to be one.
fn challenges(reject: Reject) -> Vec<Challenge> {
    assert_eq!(reject.status(), StatusCode::UNAUTHORIZED);
    let response = reject.into_response();
    Challenge::parse_all(response.headers().get_all(WWW_AUTHENTICATE))
}

fn client_for(challenges: &[Challenge], pick: impl Fn(&Challenge) -> bool) -> ClientAuth {
    ClientAuth::new(challenges.iter().find(|c| pick(c)).expect("the challenge")).expect("answerable")
}

fn authorized(client: &mut ClientAuth, password: &str, seed: u64) -> IncomingRequest {
    let credentials = Credentials::new("alice", password);
    let value = client.answer(&credentials, &Method::GET, "/secure?x=1", &mut Rng::seeded(seed));
    request("/secure?x=1", &[("Authorization", value.to_str().unwrap())])
}

fn algorithm(name: &'static str) -> impl Fn(&Challenge) -> bool {
    move |c| c.param("algorithm") == Some(name)
}

#[test]
fn digest_sha256_and_md5_with_passwords_and_hashes() {
    let finds: [(FindUser, &[&str]); 2] = [(password_of, &["admin", "chat"]), (hashes_of, &["hashed"])];
    for (find, roles) in finds {
        let admission = Admission::new().auth(ServerAuth::digest("chat", SECRET), find);
        // Seeds differ by algorithm: the nonce depends on the time only, so a repeated client
        // nonce would be a replay.
        for (name, seed) in [("SHA-256", 10), ("MD5", 20)] {
            let challenges = challenges(admission.admit(&request("/secure?x=1", &[]), NOW).unwrap_err());
            assert_eq!(challenges.len(), 2);
            let mut client = client_for(&challenges, algorithm(name));
            let user = user(admission.admit(&authorized(&mut client, "wonderland", seed), NOW + 1)).unwrap();
            assert_eq!(user.name(), "alice");
            assert_eq!(user.roles().iter().map(String::as_str).collect::<Vec<_>>(), roles, "{name}");
            // The next request of the same client (nc 2) is let in too.
            assert!(admission.admit(&authorized(&mut client, "wonderland", seed + 1), NOW + 2).is_ok());
            // A wrong password is challenged again, not stale.
            let refused = admission.admit(&authorized(&mut client, "nope", seed + 2), NOW + 3).unwrap_err();
            assert!(challenges_stale(refused).is_some_and(|stale| !stale), "{name}");
        }
    }
}

/// `Some(stale)` for a 401.
fn challenges_stale(reject: Reject) -> Option<bool> {
    (reject.status() == StatusCode::UNAUTHORIZED)
        .then(|| challenges(reject).iter().any(|c| c.param("stale") == Some("true")))
}

#[test]
fn basic_with_passwords_and_hashes() {
    for find in [password_of as FindUser, hashes_of] {
        let admission = Admission::new().auth(ServerAuth::basic("chat"), find);
        let challenges = challenges(admission.admit(&request("/secure?x=1", &[]), NOW).unwrap_err());
        assert_eq!(challenges.len(), 1);
        let mut client = client_for(&challenges, |c| c.scheme() == &Scheme::Basic);
        assert_eq!(user(admission.admit(&authorized(&mut client, "wonderland", 0), NOW)).unwrap().name(), "alice");
        assert_eq!(status(admission.admit(&authorized(&mut client, "wonderland!", 0), NOW)), 401);
        let malformed = request("/", &[("Authorization", "Basic !!!")]);
        assert_eq!(status(admission.admit(&malformed, NOW)), 400);
        let unknown = request("/", &[("Authorization", "Basic Ym9iOndvbmRlcmxhbmQ=")]); // bob:wonderland
        assert_eq!(status(admission.admit(&unknown, NOW)), 401);
    }
}

#[test]
fn basic_and_digest_offered_together() {
    let admission = Admission::new().auth(ServerAuth::basic_and_digest("chat", SECRET), hashes_of);
    let challenges = challenges(admission.admit(&request("/secure?x=1", &[]), NOW).unwrap_err());
    let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme().name()).collect();
    assert_eq!(schemes, ["Digest", "Digest", "Basic"]);
    assert_eq!(choose(&challenges).and_then(|c| c.param("algorithm")), Some("SHA-256"));
    for (pick, seed) in [(algorithm("SHA-256"), 7), (algorithm("MD5"), 8)] {
        let mut client = client_for(&challenges, pick);
        assert!(admission.admit(&authorized(&mut client, "wonderland", seed), NOW).is_ok());
    }
    let mut basic = client_for(&challenges, |c| c.scheme() == &Scheme::Basic);
    assert!(admission.admit(&authorized(&mut basic, "wonderland", 0), NOW).is_ok());
    assert_eq!(status(admission.admit(&authorized(&mut basic, "x", 0), NOW)), 401);
    // Stale: the Digest challenges say so; the Basic one has no such parameter.
    let admission =
        Admission::new().auth(ServerAuth::basic_and_digest("chat", SECRET).with_nonce_lifetime(10), hashes_of);
    let mut client = client_for(&challenges, algorithm("SHA-256"));
    let late = admission.admit(&authorized(&mut client, "wonderland", 9), NOW + 11).unwrap_err();
    let late = self::challenges(late);
    assert_eq!(late.iter().filter(|c| c.param("stale") == Some("true")).count(), 2);
    assert_eq!(late[2].scheme(), &Scheme::Basic);
}

#[test]
fn digest_stale_replay_forgery_and_nc() {
    let auth = Arc::new(ServerAuth::digest("chat", SECRET).with_nonce_lifetime(60));
    let admission = Admission::new().auth(auth.clone(), password_of);
    let first = challenges(admission.admit(&request("/secure?x=1", &[]), NOW).unwrap_err());
    assert!(first.iter().all(|c| c.param("stale").is_none()));

    // Stale: a correct answer on an expired nonce gets stale=true, and the client, renewing,
    // gets in without asking its user.
    let mut client = client_for(&first, algorithm("SHA-256"));
    let late = admission.admit(&authorized(&mut client, "wonderland", 1), NOW + 61).unwrap_err();
    let renewed = challenges(late);
    assert!(renewed.iter().all(|c| c.param("stale") == Some("true")));
    assert!(client.renew_stale(&renewed));
    assert!(admission.admit(&authorized(&mut client, "wonderland", 2), NOW + 62).is_ok());

    // Replay: the very same header twice.
    let mut client = client_for(&first, algorithm("SHA-256"));
    let once = authorized(&mut client, "wonderland", 3);
    let header = once.headers()[AUTHORIZATION].to_str().unwrap().to_owned();
    assert!(admission.admit(&once, NOW).is_ok());
    let again = request("/secure?x=1", &[("Authorization", &header)]);
    assert_eq!(challenges_stale(admission.admit(&again, NOW).unwrap_err()), Some(false));

    // A non-increasing nc: the same client nonce (same seed), nc 1 after nc 2.
    let mut client = client_for(&first, algorithm("MD5"));
    let nc1 = authorized(&mut client, "wonderland", 4);
    let nc2 = authorized(&mut client, "wonderland", 4);
    assert!(nc2.headers()[AUTHORIZATION].to_str().unwrap().contains("nc=00000002"));
    assert!(admission.admit(&nc2, NOW).is_ok());
    assert_eq!(status(admission.admit(&nc1, NOW)), 401);

    // A forged nonce: the time changed, the MAC kept; and a nonce of another secret.
    let nonce = first[0].param("nonce").unwrap();
    let mut forged_nonce = nonce.to_owned();
    forged_nonce.replace_range(..2, if nonce.starts_with("AA") { "AB" } else { "AA" });
    let forged = first[0].to_string_with_nonce(&forged_nonce);
    let mut client = ClientAuth::new(&forged).unwrap();
    assert_eq!(
        challenges_stale(admission.admit(&authorized(&mut client, "wonderland", 5), NOW).unwrap_err()),
        Some(false)
    );
    let foreign = Admission::new().auth(ServerAuth::digest("chat", b"another secret"), password_of);
    let mut client = client_for(&challenges(foreign.admit(&request("/", &[]), NOW).unwrap_err()), algorithm("SHA-256"));
    assert_eq!(status(admission.admit(&authorized(&mut client, "wonderland", 6), NOW)), 401);

    // A malformed Authorization is a bad request.
    let malformed = request("/", &[("Authorization", "Digest realm=\"chat")]);
    assert_eq!(status(admission.admit(&malformed, NOW)), 400);
}

/// A challenge like `self` with another nonce (what an attacker would hand a client).
trait WithNonce {
    fn to_string_with_nonce(&self, nonce: &str) -> Challenge;
}

impl WithNonce for Challenge {
    fn to_string_with_nonce(&self, nonce: &str) -> Challenge {
        let mut value = String::from("Digest ");
        for (i, (name, param)) in self.params().enumerate() {
            if i > 0 {
                value.push_str(", ");
            }
            let param = if name == "nonce" { nonce } else { param };
            value.push_str(&format!("{name}=\"{param}\""));
        }
        Challenge::parse_all([&HeaderValue::try_from(value).unwrap()]).remove(0)
    }
}

#[test]
fn refusals_parse_as_responses() {
    // Each refusal is a whole response a client reads: status, headers, framing.
    let admission = Admission::new().auth(ServerAuth::basic_and_digest("chat", SECRET), hashes_of);
    let request = request("/", &[]);
    let reject = admission.admit(&request, NOW).unwrap_err();
    let Answer::Refuse { response, .. } = request.answer(Err(reject)) else { panic!("refused") };
    let mut reader = ResponseReader::new(Limits::default());
    let (head, _): (ResponseHead, usize) = reader.push(&response).unwrap().expect("a complete head");
    assert_eq!(head.status, StatusCode::UNAUTHORIZED);
    assert_eq!(head.headers.get_all(WWW_AUTHENTICATE).iter().count(), 3);
}

#[test]
fn admission_is_shareable() {
    fn shared<T: Send + Sync + Clone + std::fmt::Debug>(_: &T) {}
    let admission = Admission::new().auth(ServerAuth::digest("chat", SECRET), password_of).origin(|_| true);
    shared(&admission);
    let debug = format!("{admission:?}");
    assert!(!debug.contains("wonderland") && debug.contains("origin_check: true"), "{debug}");
}

// Plain requests (`Admission::admit_request`): the same checks, on any method.

/// A plain request with extra header lines.
fn plain(method: Method, target: &str, extra: &[(&str, &str)]) -> http::Request<()> {
    let mut builder = http::Request::builder().method(method).uri(target).header("Host", "example.com");
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

fn plain_status(decision: Result<AdmittedRequest, Reject>) -> u16 {
    decision.map(|_| 200).unwrap_or_else(|reject| reject.status().as_u16())
}

/// `request`, answered by `client` for `method` and `target`.
fn plain_authorized(client: &mut ClientAuth, method: Method, target: &str, seed: u64) -> http::Request<()> {
    let value = client.answer(&Credentials::new("alice", "wonderland"), &method, target, &mut Rng::seeded(seed));
    plain(method, target, &[("Authorization", value.to_str().unwrap())])
}

#[test]
fn plain_requests_get_each_check_in_order() {
    let host = Admission::new().host(|host| host == Some("other.example"));
    assert_eq!(plain_status(host.admit_request(&plain(Method::GET, "/", &[]), NOW)), 400);
    let origin = Admission::new().origin(|origin| origin.is_none_or(|o| o == "https://example.com"));
    assert_eq!(plain_status(origin.admit_request(&plain(Method::POST, "/", &[]), NOW)), 200);
    let evil = plain(Method::POST, "/", &[("Origin", "https://evil.example")]);
    assert_eq!(plain_status(origin.admit_request(&evil, NOW)), 403);

    let cookies = Admission::new().cookies(|sent, set| {
        set.push(Cookie::new("seen", "1"));
        sent.get("banned").is_none()
    });
    let admitted = cookies.admit_request(&plain(Method::GET, "/", &[("Cookie", "a=1")]), NOW).unwrap();
    assert_eq!(admitted.cookies.iter().map(ToString::to_string).collect::<Vec<_>>(), ["seen=1"]);
    assert_eq!(plain_status(cookies.admit_request(&plain(Method::GET, "/", &[("Cookie", "banned=1")]), NOW)), 400);

    // Host, then authentication, then Origin, then cookies, as for upgrades.
    let all = Admission::new().auth(ServerAuth::basic("r"), |_| None).origin(|_| false).cookies(|_, _| false);
    assert_eq!(plain_status(all.admit_request(&plain(Method::DELETE, "/x", &[]), NOW)), 401);
    let all = all.host(|_| false);
    assert_eq!(plain_status(all.admit_request(&plain(Method::DELETE, "/x", &[]), NOW)), 400);
    // None of the upgrade's settings refuse a plain request.
    let upgrade_only = Admission::new().protocols(["chat"]).ignore_extensions(true);
    assert!(upgrade_only.admit_request(&plain(Method::OPTIONS, "*", &[]), NOW).unwrap().user.is_none());
}

#[test]
fn plain_requests_with_basic() {
    let admission = Admission::new().auth(ServerAuth::basic("chat"), password_of);
    let challenges = challenges(admission.admit_request(&plain(Method::PUT, "/notes", &[]), NOW).unwrap_err());
    let mut client = client_for(&challenges, |c| c.scheme() == &Scheme::Basic);
    let admitted = admission.admit_request(&plain_authorized(&mut client, Method::PUT, "/notes", 0), NOW).unwrap();
    assert_eq!(admitted.user, Some(User::new("alice", ["admin", "chat"])));
    let wrong = plain(Method::PUT, "/notes", &[("Authorization", "Basic YWxpY2U6bm9wZQ==")]); // alice:nope
    assert_eq!(plain_status(admission.admit_request(&wrong, NOW)), 401);
    let malformed = plain(Method::PUT, "/notes", &[("Authorization", "Basic !!!")]);
    assert_eq!(plain_status(admission.admit_request(&malformed, NOW)), 400);
}

#[test]
fn plain_requests_with_digest_method_target_stale_and_replay() {
    let admission = Admission::new().auth(ServerAuth::digest("chat", SECRET).with_nonce_lifetime(60), hashes_of);
    let first = challenges(admission.admit_request(&plain(Method::POST, "/up?x=1", &[]), NOW).unwrap_err());
    let mut client = client_for(&first, algorithm("SHA-256"));

    // The method and the target as sent are covered.
    let request = plain_authorized(&mut client, Method::POST, "/up?x=1", 1);
    let admitted = admission.admit_request(&request, NOW + 1).unwrap();
    assert_eq!(admitted.user.map(|user| user.name().to_owned()).as_deref(), Some("alice"));
    let answer = |client: &mut ClientAuth, method: Method, seed| {
        client.answer(&Credentials::new("alice", "wonderland"), &method, "/up?x=1", &mut Rng::seeded(seed))
    };
    // Answered for POST, sent as PUT: the response does not match.
    let value = answer(&mut client, Method::POST, 2);
    let as_put = plain(Method::PUT, "/up?x=1", &[("Authorization", value.to_str().unwrap())]);
    assert_eq!(plain_status(admission.admit_request(&as_put, NOW + 2)), 401);
    // Answered for /up?x=1, sent to /up?x=2: Digest's uri is not the target.
    let value = answer(&mut client, Method::POST, 3);
    let elsewhere = plain(Method::POST, "/up?x=2", &[("Authorization", value.to_str().unwrap())]);
    assert_eq!(plain_status(admission.admit_request(&elsewhere, NOW + 3)), 400);

    // Replay: the very same request again.
    assert_eq!(challenges_stale(admission.admit_request(&request, NOW + 4).unwrap_err()), Some(false));

    // Stale: a correct answer on an expired nonce; renewed, the client gets in.
    let mut client = client_for(&first, algorithm("MD5"));
    let late = admission.admit_request(&plain_authorized(&mut client, Method::POST, "/up?x=1", 5), NOW + 61);
    let renewed = challenges(late.unwrap_err());
    assert!(renewed.iter().all(|c| c.param("stale") == Some("true")));
    assert!(client.renew_stale(&renewed));
    let again = plain_authorized(&mut client, Method::POST, "/up?x=1", 6);
    assert!(admission.admit_request(&again, NOW + 62).is_ok());
}
