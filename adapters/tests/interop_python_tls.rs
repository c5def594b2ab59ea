//! wss:// interoperability: laputa's TLS clients (blocking, tokio, smol) against Python
//! `websockets` over the `ssl` module (OpenSSL), `tests/python/wss_echo_server.py` in the venv
//! that `./scripts/test.sh` makes. The certificates are made at test time (rcgen).
#![cfg(all(feature = "rustls", feature = "blocking"))]

#[allow(dead_code, unreachable_pub)]
mod tls_support;

use laputa::tls::{self, MaybeTls, TlsConnector};
use laputa::{ClientRequest, CloseCode, Config, Message};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The Python server, killed when dropped, and the lines it printed after READY.
struct PythonServer {
    child: Child,
    port: u16,
    lines: mpsc::Receiver<String>,
    dir: PathBuf,
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl PythonServer {
    fn start(identity: &tls_support::Identity) -> Self {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
        let python = workspace.join(".venv/bin/python");
        assert!(python.exists(), "{python:?} is missing: run ./scripts/test.sh to create the venv");
        let dir = std::env::temp_dir().join(format!("laputa-wss-{}-{:?}", std::process::id(), Instant::now()));
        std::fs::create_dir_all(&dir).unwrap();
        let (certfile, keyfile) = (dir.join("chain.pem"), dir.join("key.pem"));
        std::fs::write(&certfile, &identity.chain_pem).unwrap();
        std::fs::write(&keyfile, &identity.key_pem).unwrap();
        let mut child = Command::new(python)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .arg("-u")
            .arg(workspace.join("tests/python/wss_echo_server.py"))
            .args(["--port", "0", "--certfile"])
            .arg(&certfile)
            .arg("--keyfile")
            .arg(&keyfile)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot run wss_echo_server.py");
        let stdout = child.stdout.take().unwrap();
        let (line_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = line_tx.send(line);
            }
        });
        let mut server = Self { child, port: 0, lines, dir };
        let ready = server.line();
        server.port = ready
            .strip_prefix("READY ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("wss_echo_server.py said {ready:?}, not READY PORT"));
        server
    }

    fn line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(60)).expect("a line from wss_echo_server.py")
    }
}

fn deadline() -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(10))
}

/// Text and binary messages, small and 1 MiB: TLS records of every size.
fn messages() -> Vec<Message> {
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    vec![Message::from("BALUS"), Message::from(big), Message::from("é€😀".repeat(50_000)), Message::from(Vec::new())]
}

#[test]
fn blocking_client_against_python_wss() {
    let pki = tls_support::Pki::new();
    let server = PythonServer::start(&pki.leaf);
    let connector =
        TlsConnector::builder().add_roots_pem(pki.ca_pem.as_bytes()).unwrap().only_added_roots().build().unwrap();
    let request = ClientRequest::new(&format!("wss://localhost:{}/", server.port)).unwrap();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let stream = tls::handshake_blocking(tcp, request.host(), &connector, deadline()).unwrap();
    let stream: tls::BlockingStream = MaybeTls::Tls(Box::new(stream));
    let (mut ws, response) = laputa::blocking::client(stream, request, Config::default()).unwrap();
    assert_eq!(response.status(), 101);
    assert_eq!(server.line(), "TLS TLSv1.3 ALPN http/1.1 SNI localhost");
    for message in messages() {
        ws.send(message.clone()).unwrap();
        assert!(ws.read().unwrap() == message, "an echo differs");
    }
    ws.close_with(CloseCode::NORMAL, "done").unwrap();
    assert!(ws.closed().unwrap().clean, "{:?}", ws.closed());
}

#[cfg(feature = "tokio")]
#[test]
fn tokio_client_against_python_wss_by_ip() {
    let pki = tls_support::Pki::new();
    let server = PythonServer::start(&pki.leaf);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let request = ClientRequest::new(&format!("wss://127.0.0.1:{}/", server.port)).unwrap();
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
        let stream = tls::handshake_tokio(tcp, request.host(), &pki.connector(), deadline()).await.unwrap();
        let stream: tls::TokioStream = MaybeTls::Tls(Box::new(stream));
        let (mut ws, _) = laputa::tokio::client(stream, request, Config::default()).await.unwrap();
        for message in messages() {
            ws.send(message.clone()).await.unwrap();
            assert!(ws.recv().await.unwrap() == message, "an echo differs");
        }
        ws.close_with(CloseCode::NORMAL, "done").await.unwrap();
        assert!(ws.closed().unwrap().clean, "{:?}", ws.closed());
    });
    // An IP address: no SNI.
    assert_eq!(server.line(), "TLS TLSv1.3 ALPN http/1.1 SNI -");
}

#[cfg(feature = "smol")]
#[test]
fn smol_client_against_python_wss() {
    let pki = tls_support::Pki::new();
    let server = PythonServer::start(&pki.leaf);
    smol::block_on(async {
        let request = ClientRequest::new(&format!("wss://localhost:{}/", server.port)).unwrap();
        let tcp = smol::net::TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
        let stream = tls::handshake_futures(tcp, request.host(), &pki.connector(), deadline()).await.unwrap();
        let stream: tls::FuturesStream<_> = MaybeTls::Tls(Box::new(stream));
        let (mut ws, _) = laputa::smol::client(stream, request, Config::default()).await.unwrap();
        for message in messages() {
            ws.send(message.clone()).await.unwrap();
            assert!(ws.recv().await.unwrap() == message, "an echo differs");
        }
        ws.close_with(CloseCode::NORMAL, "done").await.unwrap();
        assert!(ws.closed().unwrap().clean, "{:?}", ws.closed());
    });
    assert_eq!(server.line(), "TLS TLSv1.3 ALPN http/1.1 SNI localhost");
}

/// OpenSSL's server with a certificate for another name: refused by our client, with the
/// reason rustls gives.
#[test]
fn python_wss_with_a_certificate_for_another_name_is_refused() {
    let pki = tls_support::Pki::new();
    let server = PythonServer::start(&pki.other_name);
    let tcp = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let error = tls::handshake_blocking(tcp, "localhost", &pki.connector(), deadline()).unwrap_err();
    assert!(
        matches!(
            tls::rustls_error(&error),
            Some(tls::rustls::Error::InvalidCertificate(
                tls::rustls::CertificateError::NotValidForName
                    | tls::rustls::CertificateError::NotValidForNameContext { .. }
            ))
        ),
        "{error:?}"
    );
}
