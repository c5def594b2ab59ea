//! HTTP authentication (`laputa_core::auth`) fed arbitrary header values: the input is split at
//! `\n` into lines, each a `WWW-Authenticate` value and an `Authorization` value.
//!
//! Checked: no panic; at most 16 challenges; every challenge the client can answer gives an
//! answer that parses back as one credential carrying the challenge's realm, nonce and opaque
//! unchanged (quoting round trip); the chosen challenge is one the client can answer; no line
//! authenticates with a Digest server (it would need a nonce under the server's secret). Then a
//! round trip through the server: with the first lines as realm, user, password and request
//! target, a Basic and a Digest server challenge, the client chooses and answers, and the server
//! lets the user in (Basic refuses a user name with a colon, as RFC 7617 does), and says stale
//! once the nonce has expired.
#![no_main]

use laputa_core::auth::{choose, Challenge, ClientAuth, Credentials, Scheme, ServerAuth, Verdict};
use laputa_core::http::header::AUTHORIZATION;
use laputa_core::http::{HeaderMap, HeaderValue, Method};
use laputa_core::Rng;
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzzing secret, 32 bytes long...";

fuzz_target!(|data: &[u8]| {
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let values: Vec<HeaderValue> = lines.iter().filter_map(|line| HeaderValue::from_bytes(line).ok()).collect();
    let text = |i: usize| lines.get(i).map(|l| String::from_utf8_lossy(l).into_owned()).unwrap_or_default();
    let credentials = Credentials::new(text(1), text(2));

    let challenges = Challenge::parse_all(&values);
    assert!(challenges.len() <= 16);
    for challenge in &challenges {
        answer_parses_back(challenge, &credentials);
    }
    if let Some(chosen) = choose(&challenges) {
        assert!(ClientAuth::new(chosen).is_some(), "chose {chosen:?}");
    }

    let digest = ServerAuth::digest("fuzz", SECRET);
    let basic = ServerAuth::basic("fuzz");
    for value in &values {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value.clone());
        let password = |_: &str| Some(text(2));
        let verdict = digest.verify(&headers, &Method::GET, "/", 1000, password);
        assert!(!matches!(verdict, Verdict::Authenticated { .. }), "{value:?}");
        let _ = basic.verify(&headers, &Method::GET, "/", 1000, password);
    }

    round_trip(&text(0), &credentials, &text(3), data.len() as u64);
});

fn answer_parses_back(challenge: &Challenge, credentials: &Credentials) {
    let Some(mut auth) = ClientAuth::new(challenge) else { return };
    let uri = "/chat?room=\"1\"";
    let value = auth.answer(credentials, &Method::GET, uri, &mut Rng::seeded(1));
    let sent = Challenge::parse_credentials(&value).expect("an answer is one credential");
    assert_eq!(sent.scheme(), challenge.scheme());
    match auth.scheme() {
        Scheme::Basic => assert!(sent.token68().is_some()),
        _ => {
            for name in ["realm", "nonce", "opaque"] {
                assert_eq!(sent.param(name), challenge.param(name), "{name} of {value:?}");
            }
            assert_eq!(sent.param("uri"), Some(uri));
            assert!(sent.param("username").is_some() != sent.param("username*").is_some(), "{value:?}");
            assert!(sent.param("response").map(str::len).is_some_and(|n| n == 32 || n == 64), "{value:?}");
        }
    }
}

fn round_trip(realm: &str, credentials: &Credentials, target: &str, now: u64) {
    // A request target has no control characters or spaces.
    let uri: String = target.chars().filter(|c| c.is_ascii_graphic()).collect();
    let uri = if uri.is_empty() { "/".to_owned() } else { uri };
    let password = |user: &str| (user == credentials.user()).then(|| credentials.password().to_owned());
    for server in [ServerAuth::basic(realm), ServerAuth::digest(realm, SECRET).with_nonce_lifetime(60)] {
        let lines = server.challenge(now, false);
        let challenges = Challenge::parse_all(&lines);
        let chosen = choose(&challenges).expect("a server's own challenge can be answered");
        assert_eq!(chosen.realm(), Some(server.realm()));
        let mut client = ClientAuth::new(chosen).expect("chosen");
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, client.answer(credentials, &Method::GET, &uri, &mut Rng::seeded(now)));
        let verdict = server.verify(&headers, &Method::GET, &uri, now + 1, password);
        let expected = if client.scheme() == Scheme::Basic && credentials.user().contains(':') {
            Verdict::Challenge { stale: false }
        } else {
            Verdict::Authenticated { user: credentials.user().to_owned() }
        };
        assert_eq!(verdict, expected, "{:?} for {credentials:?} at {uri:?}", headers[AUTHORIZATION].to_str());
        if client.scheme() == Scheme::Digest {
            let next = client.answer(credentials, &Method::GET, &uri, &mut Rng::seeded(now + 1));
            headers.insert(AUTHORIZATION, next);
            let verdict = server.verify(&headers, &Method::GET, &uri, now + 61, password);
            assert_eq!(verdict, Verdict::Challenge { stale: true });
        }
    }
}
