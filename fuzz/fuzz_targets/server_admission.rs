//! The server's decisions on arbitrary requests: bytes -> `ServerHandshake` -> `Router::decide`
//! over a router of four services -> `IncomingRequest::answer`.
//!
//! Input: `mode`, then the bytes from the client. The services: `/secure` (Digest auth),
//! `/web` (an `Origin` check), `/chat` (subprotocols, an extra header, a cookie check that sets
//! a cookie) and `/broken` (an extra header the handshake sets itself, so that every accept
//! fails). `mode` bits 0-2 move the clock (by 100 s steps, past the nonce lifetime of 300 s);
//! bit 3 has the target answer a `401` as a real client would (`ClientAuth` on the challenge,
//! SHA-256 or MD5 by bit 4, with the password or a wrong one by bit 5) and decide again on the
//! request with that `Authorization`, so that authenticated requests are reached too; bit 6
//! replays that request once more.
//!
//! Checked: no panic; every refusal is a complete HTTP response that parses, whose status is
//! that of the decision (400, 401, 403, 404 from the router; 500 only for a failed accept, and
//! only on `/broken`; 400/405/426/431/505 from the handshake itself), a `401` carries
//! challenges; an upgrade starts with the 101; a replayed answer is never let in.
#![no_main]

use laputa_core::auth::{Challenge, ClientAuth, Credentials, ServerAuth};
use laputa_core::cookies::Cookie;
use laputa_core::handshake::{Answer, HandshakeError, ServerHandshake};
use laputa_core::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use laputa_core::http::{HeaderName, HeaderValue, Method, StatusCode};
use laputa_core::http1::{Limits, ResponseReader};
use laputa_core::server::{Admission, Router, UserSecret};
use laputa_core::{Config, Rng};
use libfuzzer_sys::fuzz_target;
use std::time::Instant;

const NOW: u64 = 1_700_000_000;

/// The services, made for each input so that the replay table starts empty every time.
fn services() -> Router<Admission> {
    {
        let mut router = Router::new();
        let auth = ServerAuth::digest("secure", b"fuzz secret of 32 bytes.........");
        let secure = Admission::new().auth(auth, |user| (user == "alice").then(|| UserSecret::password("pw")));
        router.insert("/secure", secure).unwrap();
        router.insert("/web", Admission::new().origin(|origin| origin == Some("https://example.com"))).unwrap();
        let chat = Admission::new()
            .protocols(["chat", "superchat"])
            .header(HeaderName::from_static("x-service"), HeaderValue::from_static("chat"))
            .cookies(|sent, set| {
                set.push(Cookie::new("seen", "1"));
                sent.get("banned").is_none()
            });
        router.insert("/chat", chat).unwrap();
        let broken = Admission::new().header(HeaderName::from_static("upgrade"), HeaderValue::from_static("h2c"));
        router.insert("/broken", broken).unwrap();
        router
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, input @ ..] = data else { return };
    let now = NOW + u64::from(mode & 7) * 100;
    let router = services();
    let Some((target, status)) = decide(&router, input, now) else { return };
    if mode & 8 == 0 || status != Some(StatusCode::UNAUTHORIZED) {
        return;
    }
    // Answer the challenge as a client would, and ask again.
    let Some(authorization) = answer_challenge(&target, *mode, now) else { return };
    let Some(with_auth) = splice_header(input, &authorization) else { return };
    let Some((_, status)) = decide(&router, &with_auth, now) else { return };
    if status.is_none() && mode & 0x40 != 0 {
        let (_, again) = decide(&router, &with_auth, now).expect("the same request");
        assert_eq!(again, Some(StatusCode::UNAUTHORIZED), "a replayed answer was let in");
    }
});

/// Reads, decides and answers `input`; the request target (for a second round) and the status
/// of a refusal (`None`: upgraded). `None` when the head is incomplete.
fn decide(router: &Router<Admission>, input: &[u8], now: u64) -> Option<(String, Option<StatusCode>)> {
    let mut handshake = ServerHandshake::new(Config::default(), Instant::now());
    let request = match handshake.handle_input(input) {
        Ok(None) => return None,
        Ok(Some(request)) => request,
        Err(error) => {
            let status = error.http_status().expect("a rejection has a status");
            assert!([400, 405, 426, 431, 505].contains(&status.as_u16()), "{error:?}");
            check_response(&error.response_bytes().expect("a rejection has a response"), status);
            return Some((String::new(), Some(status)));
        }
    };
    let target = request.request().uri().to_string();
    let path = request.path().to_owned();
    let decision = router.decide(&request, now);
    let broken_service = router.route("/broken").expect("a service");
    let broken = matches!(&decision, Ok((service, _)) if std::ptr::eq(*service, broken_service));
    if let Err(reject) = &decision {
        let routed = router.route(&path).is_some();
        let expected: &[u16] = if routed { &[400, 401, 403] } else { &[404] };
        assert!(expected.contains(&reject.status().as_u16()), "{path}: {}", reject.status());
    }
    match request.answer(decision.map(|(_, admitted)| admitted.accept)) {
        Answer::Upgrade { mut connection, response, .. } => {
            assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
            assert!(!broken, "{path}: the broken service's accept went through");
            let mut out = Vec::new();
            connection.poll_transmit(Instant::now(), &mut out);
            assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
            Some((target, None))
        }
        Answer::Refuse { response, error } => {
            let status = check_response(&response, StatusCode::OK);
            match &error {
                HandshakeError::InvalidAccept(_) => {
                    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
                    assert!(broken, "{path}: {error:?}");
                }
                HandshakeError::Rejected { status: rejected, .. } => assert_eq!(*rejected, status),
                other => panic!("{other:?}"),
            }
            Some((target, Some(status)))
        }
    }
}

/// Parses `response` as an HTTP response; its status (checked to be `expected` unless that is
/// 200, which no refusal has).
fn check_response(response: &[u8], expected: StatusCode) -> StatusCode {
    let mut reader = ResponseReader::new(Limits::default());
    let (head, used) = reader.push(response).expect("a refusal parses").expect("a complete head");
    assert!(head.status.is_client_error() || head.status.is_server_error(), "{}", head.status);
    if expected != StatusCode::OK {
        assert_eq!(head.status, expected);
    }
    if head.status == StatusCode::UNAUTHORIZED {
        assert!(!Challenge::parse_all(head.headers.get_all(WWW_AUTHENTICATE)).is_empty());
    }
    let length: usize = head.headers["content-length"].to_str().unwrap().parse().unwrap();
    assert_eq!(response.len() - used, length, "the body is all that follows the head");
    head.status
}

/// The `Authorization` a client sends after the `401` to the request whose target is `uri`.
fn answer_challenge(uri: &str, mode: u8, now: u64) -> Option<HeaderValue> {
    let auth = ServerAuth::digest("secure", b"fuzz secret of 32 bytes.........");
    let challenges = Challenge::parse_all(&auth.challenge(now, false));
    let mut client = ClientAuth::new(&challenges[usize::from(mode & 0x10 != 0)])?;
    let password = if mode & 0x20 == 0 { "pw" } else { "wrong" };
    Some(client.answer(&Credentials::new("alice", password), &Method::GET, uri, &mut Rng::seeded(u64::from(mode))))
}

/// `input` with the header `Authorization: value` added before the end of its head.
fn splice_header(input: &[u8], value: &HeaderValue) -> Option<Vec<u8>> {
    let end = input.windows(4).position(|w| w == b"\r\n\r\n")? + 2;
    let mut out = input[..end].to_vec();
    out.extend_from_slice(AUTHORIZATION.as_str().as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&input[end..]);
    Some(out)
}
