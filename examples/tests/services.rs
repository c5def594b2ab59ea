//! The `services` example end to end, started as a program on loopback: each of websocket-sharp's
//! services answers as the seed's do (laputa's client, the server on every runtime), 404
//! elsewhere; Python `websockets` sees the Origin check, the subprotocol choice and Basic
//! credentials taken from the URL (`tests/python/services_check.py`); laputa's client answers
//! the Digest challenge; `--tls-cert` and `--tls-key` serve wss.

mod support;

use laputa::http::StatusCode;
use laputa::{ClientBuilder, Message};
use laputa_tests::{free_port, out_dir, python_script, ChildGuard};
use std::future::Future;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;
use support::run_args;

const SERVICES: &str = env!("CARGO_BIN_EXE_services");
/// No check takes this long unless it hangs.
const WATCHDOG: Duration = Duration::from_secs(30);

type Client = laputa::tokio::WebSocket<laputa::tokio::ClientStream>;

/// The `services` program listening on a free loopback port, killed when dropped.
struct Services {
    addr: SocketAddr,
    _child: ChildGuard,
}

impl Services {
    fn start(name: &str, args: &[&str]) -> Self {
        let addr = free_port();
        let dir = out_dir(&format!("examples-services-{name}"));
        let mut child = ChildGuard::spawn(
            Command::new(SERVICES).args(["--addr", &addr.to_string()]).args(args),
            &dir.join("services.log"),
        );
        child.wait_for_output(&format!("services listening on ws://{addr}"), WATCHDOG);
        Services { addr, _child: child }
    }

    fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }
}

/// Runs `check` on a tokio runtime, failing if it takes longer than [`WATCHDOG`].
fn block_on(check: impl Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(async {
        tokio::time::timeout(WATCHDOG, check).await.expect("the check hung");
    });
}

async fn connect(url: impl laputa::IntoClientRequest) -> Client {
    laputa::tokio::connect(url).await.expect("connected").0
}

async fn text(ws: &mut Client) -> String {
    match ws.recv().await.expect("a message") {
        Message::Text(text) => text.to_string(),
        other => panic!("not a text message: {other:?}"),
    }
}

/// The status a refused connect got.
async fn refused(builder: ClientBuilder) -> StatusCode {
    let error = laputa::tokio::connect(builder).await.map(drop).expect_err("refused");
    error.http_status().unwrap_or_else(|| panic!("not an HTTP refusal: {error}"))
}

async fn laputa_answers(ws: &mut Client, said: &'static str) -> String {
    ws.send(said).await.expect("sent");
    text(ws).await
}

/// Every service as the seed describes it, through laputa's tokio client.
async fn check_services(services: &Services) {
    let mut laputa = connect(services.url("/Laputa")).await;
    assert_eq!(laputa_answers(&mut laputa, "BALUS").await, "Are you kidding? I've been balused already...");
    assert_eq!(laputa_answers(&mut laputa, "Hello").await, "I'm not available now.");
    laputa.close().await.expect("closed");

    let mut echo = connect(services.url("/Echo/")).await;
    for message in [Message::from("BALUS"), Message::from(vec![0, 1, 2, 255]), Message::from("")] {
        echo.send(message.clone()).await.expect("sent");
        assert!(echo.recv().await.expect("an echo") == message, "{message:?} echoed differently");
    }
    echo.close().await.expect("closed");

    for (path, suffix) in [("/Chat", ""), ("/ChatWithNyan", " Nyan!")] {
        let mut pazu = connect(services.url(&format!("{path}?name=Pazu"))).await;
        let mut sheeta = connect(services.url(&format!("{path}?name=Sheeta%20%26%20Dola"))).await;
        let mut anonymous = connect(services.url(path)).await;
        pazu.send("BALUS").await.expect("sent");
        let expected = format!("Pazu: BALUS{suffix}");
        for ws in [&mut pazu, &mut sheeta, &mut anonymous] {
            assert_eq!(text(ws).await, expected, "{path}: every session, the sender included");
        }
        sheeta.send("Hello").await.expect("sent");
        for ws in [&mut pazu, &mut sheeta, &mut anonymous] {
            assert_eq!(text(ws).await, format!("Sheeta & Dola: Hello{suffix}"), "{path}");
        }
        anonymous.send("hi").await.expect("sent");
        let said = text(&mut pazu).await;
        let name = said.strip_suffix(&format!(": hi{suffix}")).unwrap_or_else(|| panic!("{path}: {said:?}"));
        assert!(name.strip_prefix("anon#").is_some_and(|n| n.parse::<u32>().is_ok()), "{path}: {name:?}");
        assert_eq!(text(&mut anonymous).await, said);
        assert_eq!(text(&mut sheeta).await, said);
        anonymous.close().await.expect("closed");
        let logged_off = format!("{name} got logged off...");
        assert_eq!(text(&mut pazu).await, logged_off, "{path}");
        assert_eq!(text(&mut sheeta).await, logged_off, "{path}");
        pazu.close().await.expect("closed");
        sheeta.close().await.expect("closed");
    }

    // The chat services speak `chat`; the others none.
    let (chat, response) = laputa::tokio::connect(
        ClientBuilder::new(&services.url("/Chat")).unwrap().protocol("superchat").protocol("chat"),
    )
    .await
    .expect("connected");
    assert_eq!(response.headers().get("sec-websocket-protocol").map(|v| v.as_bytes()), Some(&b"chat"[..]));
    drop(chat);
    let (echo, response) = laputa::tokio::connect(ClientBuilder::new(&services.url("/Echo")).unwrap().protocol("chat"))
        .await
        .expect("connected");
    assert!(response.headers().get("sec-websocket-protocol").is_none());
    drop(echo);

    for path in ["/", "/Nowhere", "/Chat/more", "/echo"] {
        let status = refused(ClientBuilder::new(&services.url(path)).unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[test]
fn every_service_answers_as_the_seed_says_on_every_runtime() {
    for runtime in ["tokio", "smol", "async-std"] {
        let services = Services::start(runtime, &["--runtime", runtime]);
        block_on(check_services(&services));
    }
}

const ORIGIN: &str = "http://example.com";
const GUARDED: [&str; 8] =
    ["--allow-origin", ORIGIN, "--auth", "basic-digest", "--user", "nobita:password", "--user", "muska:balse"];

#[test]
fn python_sees_the_origin_check_the_subprotocol_and_basic_credentials_from_the_url() {
    let services = Services::start("python", &GUARDED);
    let output = python_script("services_check.py")
        .arg(services.url(""))
        .args(["--origin", ORIGIN, "--user", "nobita", "--password", "password"])
        .output()
        .expect("cannot run services_check.py");
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "services_check.py failed:\n{text}");
    for check in ["ok: origin", "ok: subprotocol", "ok: basic credentials in the URL"] {
        assert!(text.lines().any(|line| line == check), "no {check:?} in:\n{text}");
    }
}

#[test]
fn laputa_answers_the_digest_challenge_and_sends_the_origin() {
    let services = Services::start("digest", &GUARDED);
    block_on(async {
        let builder = |path: &str, origin: &str, password: &str| {
            ClientBuilder::new(&services.url(path)).unwrap().origin(origin).credentials("muska", password, false)
        };
        // Without preauth the client waits for the 401 and answers the strongest challenge,
        // Digest SHA-256: the server offers it first.
        let (mut ws, _) = laputa::tokio::connect(builder("/Laputa", ORIGIN, "balse")).await.expect("let in");
        assert_eq!(laputa_answers(&mut ws, "BALUS").await, "Are you kidding? I've been balused already...");
        ws.close().await.expect("closed");
        assert_eq!(refused(builder("/Laputa", ORIGIN, "balus")).await, StatusCode::UNAUTHORIZED);
        assert_eq!(refused(builder("/Laputa", "http://evil.example", "balse")).await, StatusCode::FORBIDDEN);
        let anonymous = ClientBuilder::new(&services.url("/Echo")).unwrap();
        assert_eq!(refused(anonymous).await, StatusCode::UNAUTHORIZED);
    });
}

#[test]
fn wss_serves_every_service_with_the_given_certificate() {
    let dir = out_dir("examples-services-tls");
    let key = rcgen::KeyPair::generate().expect("a key");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("names");
    let cert = params.self_signed(&key).expect("a certificate");
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, cert.pem()).expect("cert written");
    std::fs::write(&key_file, key.serialize_pem()).expect("key written");
    let (cert_arg, key_arg) = (cert_file.to_string_lossy(), key_file.to_string_lossy());
    let addr = free_port();
    let mut child = ChildGuard::spawn(
        Command::new(SERVICES).args(["--addr", &addr.to_string(), "--tls-cert", &cert_arg, "--tls-key", &key_arg]),
        &dir.join("services.log"),
    );
    child.wait_for_output(&format!("services listening on wss://{addr}"), WATCHDOG);
    let connector = laputa::tls::TlsConnector::builder()
        .add_root_der(cert.der().clone())
        .only_added_roots()
        .build()
        .expect("a connector");
    block_on(async move {
        let url = format!("wss://localhost:{}/Laputa", addr.port());
        let (mut ws, _) = laputa::tokio::connect(ClientBuilder::new(&url).expect("url").tls(connector.clone()))
            .await
            .expect("wss connect");
        assert_eq!(laputa_answers(&mut ws, "BALUS").await, "Are you kidding? I've been balused already...");
        // Plain ws to the TLS port fails; the server goes on.
        let plain = format!("ws://127.0.0.1:{}/Echo", addr.port());
        assert!(laputa::tokio::connect(plain.as_str()).await.is_err());
        let url = format!("wss://localhost:{}/Echo", addr.port());
        let (mut ws, _) =
            laputa::tokio::connect(ClientBuilder::new(&url).expect("url").tls(connector)).await.expect("wss connect");
        assert_eq!(laputa_answers(&mut ws, "hello").await, "hello");
    });
    drop(child);
    // A key file that is not one is named.
    let port = free_port().to_string();
    let finished = run_args(SERVICES, &["--addr", &port, "--tls-cert", &cert_arg, "--tls-key", &cert_arg]);
    assert_eq!(finished.status.code(), Some(1), "{}", finished.stderr);
    assert!(finished.stderr.contains("--tls-key"), "{}", finished.stderr);
}
