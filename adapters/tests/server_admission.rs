//! A service's admission rules (`laputa::core::server::Admission`) as the server runs them over
//! real sockets: Basic, Digest (SHA-256 and MD5) and both offered together answered by laputa's
//! client, a wrong password, the user and roles in the session's context (every runtime: that
//! part is the adapter's); Digest replays sent as raw requests (the same `Authorization` twice,
//! a forged nonce, a decreasing `nc`, an expired nonce with `stale=true`); Origin, Host and
//! cookie checks, a cookie set on the 101, extra headers, `ignore_extensions`, the subprotocol
//! chosen (tokio: those are the core's decisions, the same on every runtime).

#![cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]

mod common;

use common::{timeout, Harness};
use laputa::core::auth::{Challenge, Scheme, ServerAuth};
use laputa::core::server::{Admission, UserSecret};
use laputa::http::header::AUTHORIZATION;
use laputa::http::StatusCode;
use laputa::runtime;
use laputa::server::{Behavior, Server, ServerRuntime, Service, Session, SessionContext};
use laputa::{ClientBuilder, CloseCode, Message};
use std::time::Duration;

/// No scenario takes this long unless it hangs.
const WATCHDOG: Duration = Duration::from_secs(30);
/// The realm of every service here.
const REALM: &str = "laputa tests";
/// The Digest nonces' key.
const SECRET: &[u8; 32] = b"thirty-two bytes of test secret.";

type Client<R> = runtime::WebSocket<<R as runtime::ClientTransport>::ClientStream, R>;

/// Tells the client, as its first message, who the server let in, how, and with which
/// subprotocol (`user=NAME[ROLES] auth=SCHEME protocol=P`, `-` for none); then echoes.
struct Report;

impl Behavior for Report {
    fn on_open(&mut self, session: &Session) {
        session.send(report(session.context()));
    }

    fn on_message(&mut self, session: &Session, message: Message) {
        session.send(message);
    }
}

fn report(context: &SessionContext) -> String {
    let user = context.user().map_or("-".to_owned(), |user| format!("{}[{}]", user.name(), user.roles().join(",")));
    let auth = context.headers().get(AUTHORIZATION).and_then(Challenge::parse_credentials).map_or(
        "-".to_owned(),
        |credentials| match credentials.scheme() {
            Scheme::Digest => format!("Digest {}", credentials.param("algorithm").unwrap_or("MD5")),
            scheme => scheme.name().to_owned(),
        },
    );
    format!("user={user} auth={auth} protocol={}", context.protocol().unwrap_or("-"))
}

/// `nobita` (password `password`, role `gunfighter`) and `muska` (`balse`, no roles).
fn users(name: &str) -> Option<UserSecret> {
    match name {
        "nobita" => Some(UserSecret::password("password").roles(["gunfighter"])),
        "muska" => Some(UserSecret::password("balse")),
        _ => None,
    }
}

fn service(admission: Admission) -> Service {
    Service::new(|| Report).admission(admission)
}

fn with_auth(auth: ServerAuth) -> Admission {
    Admission::new().auth(auth, users)
}

async fn start<R: ServerRuntime>(services: Vec<(&str, Service)>) -> Server<R> {
    let mut builder = Server::builder().bind("127.0.0.1:0");
    for (path, service) in services {
        builder = builder.service(path, service).unwrap();
    }
    builder.start::<R>().await.unwrap()
}

fn builder<R: ServerRuntime>(server: &Server<R>, path: &str) -> ClientBuilder {
    ClientBuilder::new(&format!("ws://{}{path}", server.local_addr())).unwrap()
}

/// Connects and returns the server's report (its first message) and the 101.
async fn report_of<R: ServerRuntime>(builder: ClientBuilder) -> (String, laputa::http::Response<()>, Client<R>) {
    let (mut ws, response) = runtime::connect::<R>(builder).await.expect("let in");
    let report = ws.recv().await.expect("the report").as_text().expect("text").to_owned();
    (report, response, ws)
}

/// The status a refused connect got.
async fn refused<R: ServerRuntime>(builder: ClientBuilder) -> StatusCode {
    let error = runtime::connect::<R>(builder).await.map(drop).expect_err("refused");
    error.http_status().unwrap_or_else(|| panic!("not an HTTP refusal: {error}"))
}

mod scenarios {
    use super::*;

    /// Basic and Digest offered together: laputa's client answers the strongest (Digest
    /// SHA-256), or Basic up front with preauth; the session's context holds the user, its
    /// roles and the subprotocol.
    pub(super) async fn the_user_roles_and_protocol_are_in_the_session_context<R: ServerRuntime>() {
        let admission = with_auth(ServerAuth::basic_and_digest(REALM, SECRET)).protocols(["chat"]);
        let server = start::<R>(vec![("/Report", service(admission))]).await;
        let nobita = || builder(&server, "/Report").credentials("nobita", "password", false).protocol("chat");
        let (said, _, mut ws) = report_of::<R>(nobita()).await;
        assert_eq!(said, "user=nobita[gunfighter] auth=Digest SHA-256 protocol=chat");
        ws.close().await.unwrap();
        let preauth = builder(&server, "/Report").credentials("muska", "balse", true);
        let (said, _, mut ws) = report_of::<R>(preauth).await;
        assert_eq!(said, "user=muska[] auth=Basic protocol=-");
        ws.close().await.unwrap();
        let wrong = builder(&server, "/Report").credentials("nobita", "passw0rd", false);
        assert_eq!(refused::<R>(wrong).await, StatusCode::UNAUTHORIZED);
        assert_eq!(refused::<R>(builder(&server, "/Report")).await, StatusCode::UNAUTHORIZED);
        server.stop(CloseCode::GOING_AWAY, "").await;
    }
}

fn run<R: Harness + ServerRuntime, F: std::future::Future<Output = ()>>(scenario: impl FnOnce() -> F) {
    R::block_on(async {
        timeout::<R, _>(WATCHDOG, scenario()).await.expect("the test timed out");
    });
}

macro_rules! on_runtime {
    ($feature:literal, $module:ident, $runtime:ty; $($scenario:ident),* $(,)?) => {
        #[cfg(feature = $feature)]
        mod $module {
            $(
                #[test]
                fn $scenario() {
                    super::run::<$runtime, _>(super::scenarios::$scenario::<$runtime>);
                }
            )*
        }
    };
}

on_runtime!("tokio", tokio, laputa::tokio::Tokio; the_user_roles_and_protocol_are_in_the_session_context);
on_runtime!("smol", smol, laputa::smol::Smol; the_user_roles_and_protocol_are_in_the_session_context);
on_runtime!("async-std", async_std, laputa::async_std::AsyncStd; the_user_roles_and_protocol_are_in_the_session_context);

/// The core's decisions, once, on tokio.
#[cfg(feature = "tokio")]
mod decisions {
    use super::*;
    use ::tokio::io::{AsyncReadExt, AsyncWriteExt};
    use ::tokio::net::TcpStream;
    use laputa::core::auth::{choose, ClientAuth, Credentials};
    use laputa::core::cookies::Cookie;
    use laputa::core::Rng;
    use laputa::http::{HeaderName, HeaderValue, Method};
    use laputa::tokio::Tokio;
    use laputa::{Config, DeflateConfig};
    use std::net::SocketAddr;
    use std::time::{SystemTime, UNIX_EPOCH};

    fn test(scenario: impl std::future::Future<Output = ()>) {
        run::<Tokio, _>(|| scenario);
    }

    /// What a raw upgrade request got: the status, the header lines, and (after a 101) the
    /// first message the server sent.
    struct Raw {
        status: u16,
        headers: Vec<(String, String)>,
        first_message: Option<String>,
    }

    impl Raw {
        fn header_values(&self, name: &str) -> Vec<&str> {
            self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
        }

        /// The challenges of a 401.
        fn challenges(&self) -> Vec<Challenge> {
            let values: Vec<HeaderValue> =
                self.header_values("www-authenticate").into_iter().map(|v| HeaderValue::from_str(v).unwrap()).collect();
            Challenge::parse_all(&values)
        }
    }

    /// Sends an upgrade request for `path` with `Host: host` and `extra` header lines, and
    /// reads the answer (and the first message after a 101: a short unmasked text frame).
    async fn raw(addr: SocketAddr, path: &str, host: &str, extra: &[(&str, &str)]) -> Raw {
        let mut head = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        );
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut input = Vec::new();
        let end = loop {
            if let Some(at) = input.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let mut buf = [0; 4096];
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the server closed before its answer: {:?}", String::from_utf8_lossy(&input));
            input.extend_from_slice(&buf[..n]);
        };
        let text = String::from_utf8(input[..end].to_vec()).unwrap();
        let mut lines = text.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
            .collect();
        let mut first_message = None;
        if status == 101 {
            let mut frame = input[end..].to_vec();
            while frame.len() < 2 || frame.len() < 2 + usize::from(frame[1] & 0x7f) {
                let mut buf = [0; 4096];
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "the server closed before its first message");
                frame.extend_from_slice(&buf[..n]);
            }
            assert_eq!(frame[0], 0x81, "a whole text frame");
            let len = usize::from(frame[1]);
            assert!(len < 126, "a short message");
            first_message = Some(String::from_utf8(frame[2..2 + len].to_vec()).unwrap());
        }
        Raw { status, headers, first_message }
    }

    /// A Digest answer for `challenge` as nobita, drawing its client nonce from `rng`.
    fn answer(client: &mut ClientAuth, rng: &mut Rng, uri: &str) -> String {
        let value = client.answer(&Credentials::new("nobita", "password"), &Method::GET, uri, rng);
        value.to_str().unwrap().to_owned()
    }

    fn digest_challenge(raw: &Raw, algorithm: &str) -> Challenge {
        assert_eq!(raw.status, 401);
        let challenges = raw.challenges();
        let found =
            challenges.iter().find(|c| c.scheme() == &Scheme::Digest && c.param("algorithm") == Some(algorithm));
        found.unwrap_or_else(|| panic!("no {algorithm} challenge in {:?}", raw.headers)).clone()
    }

    #[test]
    fn digest_sha256_with_laputas_client_and_md5_answered_by_the_core() {
        test(async {
            let server = start::<Tokio>(vec![("/Report", service(with_auth(ServerAuth::digest(REALM, SECRET))))]).await;
            let nobita = builder(&server, "/Report").credentials("nobita", "password", false);
            let (said, _, mut ws) = report_of::<Tokio>(nobita).await;
            assert_eq!(said, "user=nobita[gunfighter] auth=Digest SHA-256 protocol=-");
            ws.close().await.unwrap();
            // MD5, the second challenge: laputa's client chooses SHA-256 itself, so the answer
            // to MD5 is made with the core's ClientAuth and sent as a header of the request.
            let host = server.local_addr().to_string();
            let unauthenticated = raw(server.local_addr(), "/Report", &host, &[]).await;
            let challenges = unauthenticated.challenges();
            assert_eq!(choose(&challenges).and_then(|c| c.param("algorithm")), Some("SHA-256"));
            let mut client = ClientAuth::new(&digest_challenge(&unauthenticated, "MD5")).unwrap();
            let md5 = answer(&mut client, &mut Rng::os(), "/Report");
            let request = builder(&server, "/Report").header(AUTHORIZATION, HeaderValue::from_str(&md5).unwrap());
            let (said, _, mut ws) = report_of::<Tokio>(request).await;
            assert_eq!(said, "user=nobita[gunfighter] auth=Digest MD5 protocol=-");
            ws.close().await.unwrap();
            let wrong = builder(&server, "/Report").credentials("nobita", "Password", false);
            assert_eq!(refused::<Tokio>(wrong).await, StatusCode::UNAUTHORIZED);
            let unknown = builder(&server, "/Report").credentials("dola", "password", false);
            assert_eq!(refused::<Tokio>(unknown).await, StatusCode::UNAUTHORIZED);
            server.stop(CloseCode::GOING_AWAY, "").await;
        });
    }

    #[test]
    fn basic_lets_the_right_password_in_and_answers_a_wrong_one_401() {
        test(async {
            let server = start::<Tokio>(vec![("/Report", service(with_auth(ServerAuth::basic(REALM))))]).await;
            let (said, _, mut ws) =
                report_of::<Tokio>(builder(&server, "/Report").credentials("nobita", "password", false)).await;
            assert_eq!(said, "user=nobita[gunfighter] auth=Basic protocol=-");
            ws.close().await.unwrap();
            let wrong = builder(&server, "/Report").credentials("nobita", "password ", true);
            assert_eq!(refused::<Tokio>(wrong).await, StatusCode::UNAUTHORIZED);
            let host = server.local_addr().to_string();
            let unauthenticated = raw(server.local_addr(), "/Report", &host, &[]).await;
            assert_eq!(unauthenticated.status, 401);
            assert_eq!(
                unauthenticated.header_values("www-authenticate"),
                [r#"Basic realm="laputa tests", charset="UTF-8""#]
            );
            server.stop(CloseCode::GOING_AWAY, "").await;
        });
    }

    #[test]
    fn digest_replays_forgeries_and_expired_nonces_are_refused() {
        test(async {
            let digest = || service(with_auth(ServerAuth::digest(REALM, SECRET)));
            let expiring = service(with_auth(ServerAuth::digest(REALM, SECRET).with_nonce_lifetime(0)));
            let server = start::<Tokio>(vec![("/Report", digest()), ("/Expiring", expiring)]).await;
            let (addr, host) = (server.local_addr(), server.local_addr().to_string());
            let challenge = digest_challenge(&raw(addr, "/Report", &host, &[]).await, "SHA-256");

            // The same Authorization header twice: the second is a replay.
            let once = answer(&mut ClientAuth::new(&challenge).unwrap(), &mut Rng::os(), "/Report");
            let first = raw(addr, "/Report", &host, &[("Authorization", &once)]).await;
            assert_eq!(first.status, 101);
            assert_eq!(first.first_message.as_deref(), Some("user=nobita[gunfighter] auth=Digest SHA-256 protocol=-"));
            let replayed = raw(addr, "/Report", &host, &[("Authorization", &once)]).await;
            assert_eq!(replayed.status, 401, "a replay");
            assert!(replayed.header_values("www-authenticate").iter().all(|v| !v.contains("stale=true")));

            // A decreasing nc for one (nonce, cnonce): the same client nonce drawn twice.
            let mut client = ClientAuth::new(&challenge).unwrap();
            let nc1 = answer(&mut client, &mut Rng::seeded(7), "/Report");
            let nc2 = answer(&mut client, &mut Rng::seeded(7), "/Report");
            assert!(nc1.contains("nc=00000001") && nc2.contains("nc=00000002"), "{nc1}\n{nc2}");
            assert_eq!(raw(addr, "/Report", &host, &[("Authorization", &nc2)]).await.status, 101);
            assert_eq!(raw(addr, "/Report", &host, &[("Authorization", &nc1)]).await.status, 401, "nc went down");

            // A forged nonce: not one the server's key made.
            let nonce = challenge.param("nonce").unwrap();
            let forged_nonce: String = nonce.chars().rev().collect();
            let forged_line = format!(
                r#"Digest realm="{REALM}", qop="auth", algorithm=SHA-256, nonce="{forged_nonce}", opaque="{}""#,
                challenge.param("opaque").unwrap_or_default()
            );
            let forged_challenge = &Challenge::parse_all([&HeaderValue::from_str(&forged_line).unwrap()])[0];
            let forged = answer(&mut ClientAuth::new(forged_challenge).unwrap(), &mut Rng::os(), "/Report");
            let refused = raw(addr, "/Report", &host, &[("Authorization", &forged)]).await;
            assert_eq!(refused.status, 401, "a forged nonce");
            assert!(refused.header_values("www-authenticate").iter().all(|v| !v.contains("stale=true")));

            // An expired nonce (a lifetime of 0 s: expired once the second it was issued in is
            // over), with an otherwise correct answer: 401 with stale=true.
            let issued_by = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
            let challenge = digest_challenge(&raw(addr, "/Expiring", &host, &[]).await, "SHA-256");
            while SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() <= issued_by + 1 {
                common::sleep::<Tokio>(Duration::from_millis(50)).await;
            }
            let late = answer(&mut ClientAuth::new(&challenge).unwrap(), &mut Rng::os(), "/Expiring");
            let stale = raw(addr, "/Expiring", &host, &[("Authorization", &late)]).await;
            assert_eq!(stale.status, 401);
            let challenges = stale.challenges();
            assert!(
                !challenges.is_empty() && challenges.iter().all(|c| c.param("stale") == Some("true")),
                "{:?}",
                stale.headers
            );
            server.stop(CloseCode::GOING_AWAY, "").await;
        });
    }

    #[test]
    fn origin_and_host_checks() {
        test(async {
            let origin = Admission::new().origin(|origin| origin == Some("https://laputa.example"));
            let host = Admission::new().host(|host| host == Some("laputa.example"));
            let server = start::<Tokio>(vec![("/Origin", service(origin)), ("/Host", service(host))]).await;
            let (said, _, mut ws) =
                report_of::<Tokio>(builder(&server, "/Origin").origin("https://laputa.example")).await;
            assert_eq!(said, "user=- auth=- protocol=-");
            ws.close().await.unwrap();
            assert_eq!(
                refused::<Tokio>(builder(&server, "/Origin").origin("https://evil.example")).await,
                StatusCode::FORBIDDEN
            );
            assert_eq!(refused::<Tokio>(builder(&server, "/Origin")).await, StatusCode::FORBIDDEN, "no Origin");
            // laputa's client sends the URL's host: 127.0.0.1:PORT.
            assert_eq!(refused::<Tokio>(builder(&server, "/Host")).await, StatusCode::BAD_REQUEST);
            let allowed = raw(server.local_addr(), "/Host", "laputa.example", &[]).await;
            assert_eq!(allowed.status, 101);
            server.stop(CloseCode::GOING_AWAY, "").await;
        });
    }

    #[test]
    fn cookies_headers_extensions_and_subprotocols_shape_the_101() {
        test(async {
            let cookies = Admission::new().cookies(|sent, set| {
                if sent.get("session").is_none() {
                    set.push(Cookie::build(("session", "new")).http_only(true).build());
                }
                sent.get("banned").is_none()
            });
            let headers = Admission::new()
                .header(HeaderName::from_static("x-server"), HeaderValue::from_static("laputa"))
                .header(HeaderName::from_static("x-island"), HeaderValue::from_static("floating"));
            let mut deflate = Config::default();
            deflate.deflate = Some(DeflateConfig::default());
            let compressing = Admission::new().config(deflate.clone());
            let ignoring = Admission::new().config(deflate.clone()).ignore_extensions(true);
            let protocols = Admission::new().protocols(["chat.v2", "chat"]);
            let server = start::<Tokio>(vec![
                ("/Cookies", service(cookies)),
                ("/Headers", service(headers)),
                ("/Deflate", service(compressing)),
                ("/Plain", service(ignoring)),
                ("/Protocols", service(protocols)),
            ])
            .await;
            let header = |response: &laputa::http::Response<()>, name: &str| {
                response.headers().get_all(name).iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>()
            };

            let (_, response, _) = report_of::<Tokio>(builder(&server, "/Cookies")).await;
            assert_eq!(header(&response, "set-cookie"), ["session=new; HttpOnly"]);
            let (_, response, _) = report_of::<Tokio>(builder(&server, "/Cookies").cookie("session", "old")).await;
            assert!(header(&response, "set-cookie").is_empty());
            assert_eq!(
                refused::<Tokio>(builder(&server, "/Cookies").cookie("banned", "1")).await,
                StatusCode::BAD_REQUEST
            );

            let (_, response, _) = report_of::<Tokio>(builder(&server, "/Headers")).await;
            assert_eq!(
                (header(&response, "x-server"), header(&response, "x-island")),
                (vec!["laputa".to_owned()], vec!["floating".to_owned()])
            );

            let offering = |path| builder(&server, path).config(deflate.clone());
            let (_, response, mut ws) = report_of::<Tokio>(offering("/Deflate")).await;
            assert!(header(&response, "sec-websocket-extensions").iter().any(|v| v.starts_with("permessage-deflate")));
            ws.send("compressed").await.unwrap();
            assert_eq!(ws.recv().await.unwrap().as_text(), Some("compressed"));
            let (_, response, mut ws) = report_of::<Tokio>(offering("/Plain")).await;
            assert!(header(&response, "sec-websocket-extensions").is_empty(), "ignore_extensions declines the offer");
            ws.send("plain").await.unwrap();
            assert_eq!(ws.recv().await.unwrap().as_text(), Some("plain"));

            // The client's first that the service speaks; none in common: no subprotocol.
            let (said, response, _) =
                report_of::<Tokio>(builder(&server, "/Protocols").protocol("chat").protocol("chat.v2")).await;
            assert_eq!(header(&response, "sec-websocket-protocol"), ["chat"]);
            assert_eq!(said, "user=- auth=- protocol=chat");
            let (said, _, _) = report_of::<Tokio>(builder(&server, "/Protocols").protocol("chat.v2")).await;
            assert_eq!(said, "user=- auth=- protocol=chat.v2");
            let (said, response, _) = report_of::<Tokio>(builder(&server, "/Protocols").protocol("superchat")).await;
            assert!(header(&response, "sec-websocket-protocol").is_empty());
            assert_eq!(said, "user=- auth=- protocol=-");
            server.stop(CloseCode::GOING_AWAY, "").await;
        });
    }
}
